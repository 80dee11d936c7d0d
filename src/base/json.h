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

/* Field getters. `name` is the field as errors name it: a top-level key ("status") or a path
 * ("bot.mode", "steps[2].text"), in which case the key looked up in obj is the part after the last
 * '.'; obj is the object that holds it. Each returns
 *    1  present and valid: *out is set;
 *    0  absent and not required: *out is left as it was, so the caller sets the default first;
 *   <0  ERR_VALIDATION with f naming the field: absent but required, null, the wrong type, or out
 *       of bounds; *out is left as it was.
 * So *out holds the field's value exactly when the getter returned 1. A JSON null is an error
 * ("... null is not allowed") except through the _nullable getters, for the fields where the API
 * documents null (clear it, or "none"): they return 1 with *is_null true and *out untouched, or 1
 * with *is_null false and *out set; absent is 0 with both untouched. String bounds are in
 * characters (code points); a string holds no NUL (the parser refuses \u0000). */
int json_field_str(json_t *obj, const char *name, bool required, size_t min_chars, size_t max_chars,
                   const char **out, struct jfail *f);
int json_field_str_nullable(json_t *obj, const char *name, size_t min_chars, size_t max_chars,
                            const char **out, bool *is_null, struct jfail *f);
/* json_field_int: a JSON integer (1.0 and "1" are not) in [min, max]. */
int json_field_int(json_t *obj, const char *name, bool required, int64_t min, int64_t max,
                   int64_t *out, struct jfail *f);
int json_field_int_nullable(json_t *obj, const char *name, int64_t min, int64_t max, int64_t *out,
                            bool *is_null, struct jfail *f);
/* json_field_num: any JSON number (integer or real) in [min, max]. */
int json_field_num(json_t *obj, const char *name, bool required, double min, double max,
                   double *out, struct jfail *f);
int json_field_bool(json_t *obj, const char *name, bool required, bool *out, struct jfail *f);
/* json_field_enum: a string that must be one of the NULL-terminated `allowed`; *out is its index.
 */
int json_field_enum(json_t *obj, const char *name, bool required, const char *const *allowed,
                    int *out, struct jfail *f);
/* json_field_array: an array of min..max items; *out borrows it from obj. */
int json_field_array(json_t *obj, const char *name, bool required, size_t min, size_t max,
                     json_t **out, struct jfail *f);
/* json_field_object: an object; *out borrows it from obj. */
int json_field_object(json_t *obj, const char *name, bool required, json_t **out, struct jfail *f);

int json_fail(struct jfail *f, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* json_check_chars: ERR_VALIDATION naming `field`, with a message that says which character, when
 * s holds one of the utf8_find_hidden `kinds` (UTF8_IDENT for identifiers, UTF8_NAME for display
 * names); else 0. `what` is the word for s in the message ("label"; NULL: the field). */
int json_check_chars(const char *s, const char *field, const char *what, unsigned kinds,
                     struct jfail *f);

/* json_time: an ISO-8601 string for a wall-clock time in ms, or JSON null for 0. Returns a new ref.
 */
json_t *json_time(int64_t ms);
/* json_loads_or: the JSON text parsed, or dflt when it does not parse (takes dflt either way). */
json_t *json_loads_or(const char *text, json_t *dflt);
/* json_dump_compact: the serialized object, malloc'ed; len set. */
char *json_dump_compact(const json_t *v, size_t *len);

#endif
