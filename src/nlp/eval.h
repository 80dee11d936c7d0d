/* eval.h: the `parleyd nlp-eval` command (eval.c). */
#ifndef PARLEY_NLP_EVAL_H
#define PARLEY_NLP_EVAL_H
#include <stdbool.h>
#include <stddef.h>

#include "nlp/model.h"

/* nlp_eval_main: argv[1] is "nlp-eval"; returns the process exit status (0, 1 failed, 2 usage). */
int nlp_eval_main(int argc, char **argv);
/* nlp_eval_read: reads a labelled file (tsv: label<TAB>text; csv: text,label) after its header. */
int nlp_eval_read(const char *path, bool csv, struct nlp_data *d, char *err, size_t errlen);
#endif
