/* str.c: span helpers, URL decoding, hex and UTF-8 checks. */
#include "base/sys.h"
#include "base/str.h"

#include <ctype.h>
#include <strings.h>

bool span_eq(struct span a, struct span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool span_eq_cstr(struct span a, const char *s)
{
    return span_eq(a, span_of(s));
}

bool span_case_eq(struct span a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool span_starts_with(struct span a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && (n == 0 || memcmp(a.p, prefix, n) == 0);
}

bool span_to_i64(struct span s, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s.len && s.p[0] == '-')
        neg = true, i = 1;
    if (i == s.len || s.len - i > 19)
        return false;
    uint64_t v = 0;
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

struct span span_split(struct span *s, char sep)
{
    const char *q = s->len ? memchr(s->p, sep, s->len) : NULL;
    struct span head;
    if (!q) {
        head = *s;
        if (s->len) /* an empty span may be SPAN_NULL: NULL + 0 is undefined behaviour */
            s->p += s->len;
        s->len = 0;
        return head;
    }
    head.p = s->p;
    head.len = (size_t)(q - s->p);
    s->len -= head.len + 1;
    s->p = q + 1;
    return head;
}

struct span span_trim(struct span s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long url_decode(struct span in, char *out, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        int c = (unsigned char)in.p[i];
        if (c == '%') {
            if (i + 2 >= in.len)
                return -1;
            int h = hexval((unsigned char)in.p[i + 1]), l = hexval((unsigned char)in.p[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (c == 0)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

bool utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned min;
        if ((c & 0xE0) == 0xC0)
            need = 1, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0)
            need = 2, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0)
            need = 3, min = 0x10000, c &= 0x07;
        else
            return false;
        if (i + need >= n)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

size_t utf8_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

static unsigned hidden_kind(uint32_t c)
{
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029)
        return UTF8_CONTROL;
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        return UTF8_BIDI;
    if (c == 0xad || c == 0x34f || c == 0x61c || c == 0x115f || c == 0x1160 || c == 0x17b4 ||
        c == 0x17b5 || c == 0x180e || (c >= 0x200b && c <= 0x200f) ||
        (c >= 0x2060 && c <= 0x2064) || (c >= 0x206a && c <= 0x206f) || c == 0x3164 ||
        c == 0xfeff || c == 0xffa0 || (c >= 0xfff9 && c <= 0xfffb) ||
        (c >= 0xe0000 && c <= 0xe007f))
        return UTF8_INVISIBLE;
    return 0;
}

int32_t utf8_find_hidden(const char *str, size_t n, unsigned kinds)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i];
        size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (len > 1) {
            c &= 0x3fu >> (len - 1);
            for (size_t k = 1; k < len && i + k < n; k++)
                c = (c << 6) | (s[i + k] & 0x3fu);
        }
        if (hidden_kind(c) & kinds)
            return (int32_t)c;
        i += len;
    }
    return -1;
}
