/* user.c: validation of e-mail addresses, names and passwords. */
#include "base/sys.h"
#include "base/str.h"
#include "model/user.h"

bool user_email_normalize(const char *in, char *out)
{
    struct span s = span_trim(span_of(in));
    if (s.len < 3 || s.len > USER_EMAIL_MAX)
        return false;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == ',' || c == ';')
            return false;
        if (c == '@') {
            if (at != SIZE_MAX)
                return false;
            at = i;
        }
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[s.len] = '\0';
    if (at == SIZE_MAX || at == 0 || at == s.len - 1)
        return false;
    /* The local part: no leading or trailing dot, no two dots in a row (RFC 5322 dot-atom). */
    if (out[0] == '.' || out[at - 1] == '.')
        return false;
    for (size_t i = 1; i < at; i++)
        if (out[i] == '.' && out[i - 1] == '.')
            return false;
    const char *domain = out + at + 1;
    const char *dot = strrchr(domain, '.');
    if (!dot || dot == domain || dot[1] == '\0' || domain[0] == '.' || strstr(domain, ".."))
        return false;
    return utf8_valid(out, s.len);
}

bool user_name_valid(const char *name)
{
    struct span s = span_trim(span_of(name));
    if (s.len == 0 || !utf8_valid(s.p, s.len))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < ' ' || c == 0x7f)
            return false;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
        if (c == 0xC2 && i + 1 < s.len && (unsigned char)s.p[i + 1] <= 0x9F)
            return false;
    }
    size_t n = utf8_chars(s.p, s.len);
    return n >= 1 && n <= USER_NAME_MAX;
}

bool user_password_valid(const char *pw)
{
    size_t n = utf8_chars(pw, strlen(pw));
    return n >= USER_PASSWORD_MIN && n <= USER_PASSWORD_MAX;
}
