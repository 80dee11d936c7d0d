/* senti_eval.h: the `parleyd senti-eval` command (senti_eval.c). */
#ifndef PARLEY_NLP_SENTI_EVAL_H
#define PARLEY_NLP_SENTI_EVAL_H

/* senti_eval_main: argv[1] is "senti-eval"; returns the exit status (0, 1 failed, 2 usage). */
int senti_eval_main(int argc, char **argv);

#endif
