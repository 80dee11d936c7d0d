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

/* Characters a name or an identifier may not hold, because they cannot be seen or they change
 * how the text around them is shown (a label "\u202Eelif" reads as "file"). */
enum {
    UTF8_CONTROL = 1u << 0, /* C0 and C1 controls and DEL (U+0000..U+001F, U+007F..U+009F), and the
                             * line and paragraph separators U+2028, U+2029 */
    UTF8_BIDI = 1u << 1,    /* bidi embeddings and overrides U+202A..U+202E, isolates
                             * U+2066..U+2069 */
    UTF8_INVISIBLE = 1u << 2, /* format characters that show nothing: soft hyphen U+00AD, U+034F,
                               * the bidi marks U+061C, U+200E, U+200F, zero-width U+200B..U+200D,
                               * U+2060..U+2064, U+206A..U+206F, U+FEFF, U+180E, U+FFF9..U+FFFB,
                               * fillers U+115F, U+1160, U+17B4, U+17B5, U+3164, U+FFA0, tags
                               * U+E0000..U+E007F */
    UTF8_NAME = UTF8_CONTROL | UTF8_BIDI,   /* display names: people's, contacts' */
    UTF8_IDENT = UTF8_NAME | UTF8_INVISIBLE /* identifiers: labels, short codes, names of teams,
                                             * skills, intents and flows, attribute keys */
};
/* utf8_find_hidden: the first code point of s (valid UTF-8, n bytes) of one of the `kinds`, or -1
 * if there is none. Free text (messages, articles) keeps these: RTL writing needs some. */
int32_t utf8_find_hidden(const char *s, size_t n, unsigned kinds);

#endif
