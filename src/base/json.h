/* json.h: jansson helpers for request bodies: strict parsing (UTF-8, no duplicate keys, an object
 * at the top) and typed field access that names the field at fault, so every bad input gets a 422
 * that says which field and why. */
#ifndef PARLEY_JSON_H
#define PARLEY_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct jfail {
    char field[48]; /* the field at fault ("" if none): a copy, so it outlives the input */
    char msg[192];
};

/* json_parse_object: ERR_JSON (message in f) if p is not one JSON object. Returns owned in *out. */
int json_parse_object(const char *p, size_t len, json_t **out, struct jfail *f);

/* Field getters: ERR_VALIDATION with f filled when the field is missing (and required), has the
 * wrong type, or is out of bounds. A missing optional field leaves *out untouched and returns 0; a
 * JSON null counts as missing. String bounds are in characters (code points). */
int json_get_str(json_t *obj, const char *key, bool required, size_t min_chars, size_t max_chars,
                 const char **out, struct jfail *f);
int json_get_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
                 int64_t *out, struct jfail *f);
int json_get_bool(json_t *obj, const char *key, bool required, bool *out, struct jfail *f);
/* json_get_enum: a string that must be one of the NULL-terminated `allowed`; *out is its index. */
int json_get_enum(json_t *obj, const char *key, bool required, const char *const *allowed, int *out,
                  struct jfail *f);

int json_fail(struct jfail *f, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* json_time: an ISO-8601 string for a wall-clock time in ms, or JSON null for 0. Returns a new ref.
 */
json_t *json_time(int64_t ms);
/* json_loads_or: the JSON text parsed, or dflt when it does not parse (takes dflt either way). */
json_t *json_loads_or(const char *text, json_t *dflt);
/* json_dump_compact: the serialized object, malloc'ed; len set. */
char *json_dump_compact(const json_t *v, size_t *len);

#endif
