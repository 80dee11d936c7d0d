/* str.h: spans, (ptr, len) views of bytes that are not NUL-terminated, and small string helpers. */
#ifndef PARLEY_STR_H
#define PARLEY_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
    const char *p;
    size_t len;
};

#define SPAN_LIT(s) ((struct span){(s), sizeof(s) - 1})
#define SPAN_NULL ((struct span){NULL, 0})

static inline struct span span_of(const char *s)
{
    struct span r = {s, s ? __builtin_strlen(s) : 0};
    return r;
}

bool span_eq(struct span a, struct span b);
bool span_eq_cstr(struct span a, const char *s);
bool span_case_eq(struct span a, const char *s);
bool span_starts_with(struct span a, const char *prefix);
/* span_to_i64: the whole span must be an optional '-' and 1..19 digits in range; returns false if
 * not. */
bool span_to_i64(struct span s, int64_t *out);
/* span_split: cuts *s at the first `sep`; returns the part before it and leaves the rest in *s. */
struct span span_split(struct span *s, char sep);
/* span_trim: without leading and trailing spaces and tabs. */
struct span span_trim(struct span s);

/* url_decode: percent-decodes `in` (and '+' as space when plus_space) into out (capacity >= in.len
 * + 1, NUL-terminated). Returns the decoded length, or -1 on a bad escape or an embedded NUL. */
long url_decode(struct span in, char *out, bool plus_space);

/* hex_encode: 2*n lowercase hex digits plus NUL into out. */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* utf8_valid: true if s is well-formed UTF-8. utf8_chars: the number of code points (s must be
 * valid). */
bool utf8_valid(const char *s, size_t n);
size_t utf8_chars(const char *s, size_t n);

#endif
