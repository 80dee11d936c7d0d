/* embed.h: files compiled into the binary by tools/embed.c (schema migrations, the OpenAPI
 * document, the sentiment seed set). Each table ends with an entry whose name is NULL; data is
 * NUL-terminated. */
#ifndef PARLEY_EMBED_H
#define PARLEY_EMBED_H

#include <stddef.h>

struct embedded_file {
    const char *name;
    const char *data;
    size_t len;
};

extern const struct embedded_file schema_sqlite[];
extern const struct embedded_file schema_pg[];
extern const struct embedded_file docs_embed[];
extern const struct embedded_file nlp_embed[]; /* senti_seed.tsv */
extern const struct embedded_file pw_embed[];  /* model/common_passwords.txt */

#endif
