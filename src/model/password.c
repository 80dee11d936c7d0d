/* password.c: the strength check for new passwords. The common-password list is parsed once from
 * the embedded file into a sorted array (pthread_once) and searched with bsearch. */
#include "base/sys.h"
#include "base/embed.h"
#include "base/str.h"
#include "model/password.h"

#include <pthread.h>

static const char **common;
static size_t ncommon;
static pthread_once_t common_once = PTHREAD_ONCE_INIT;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void load_common(void)
{
    const char *text = NULL;
    for (const struct embedded_file *f = pw_embed; f->name; f++)
        text = f->data;
    if (!text)
        return;
    size_t cap = 512;
    common = xcalloc(cap, sizeof(*common));
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && p[0] != '#') {
            if (ncommon == cap) {
                cap *= 2;
                common = xrealloc(common, cap * sizeof(*common));
            }
            common[ncommon++] = xstrndup(p, n);
        }
        p += n + (e ? 1 : 0);
    }
    qsort(common, ncommon, sizeof(*common), cmp_str);
}

static bool is_common(const char *s)
{
    pthread_once(&common_once, load_common);
    return *s && ncommon && bsearch(&s, common, ncommon, sizeof(*common), cmp_str) != NULL;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

/* base: what is left after taking off leading and trailing ASCII digits, symbols and spaces, with
 * look-alike characters inside read as letters (one_as: what '1' stands for, 'i' or 'l'). */
static void base_word(const char *low, char one_as, char *out, size_t cap)
{
    const char *b = low, *e = low + strlen(low);
#define EDGE(c) ((unsigned char)(c) < 0x80 && !((c) >= 'a' && (c) <= 'z'))
    while (b < e && EDGE(*b))
        b++;
    while (e > b && EDGE(e[-1]))
        e--;
#undef EDGE
    size_t o = 0;
    for (const char *p = b; p < e && o + 1 < cap; p++) {
        char c = *p;
        switch (c) {
        case '@':
        case '4':
            c = 'a';
            break;
        case '0':
            c = 'o';
            break;
        case '3':
            c = 'e';
            break;
        case '$':
        case '5':
            c = 's';
            break;
        case '7':
            c = 't';
            break;
        case '!':
            c = 'i';
            break;
        case '1':
            c = one_as;
            break;
        default:
            break;
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

static bool in_sequence(const char *low)
{
    static const char *const seqs[] = {
        "abcdefghijklmnopqrstuvwxyz",           "01234567890",
        "qwertyuiopasdfghjklzxcvbnm",           "1234567890qwertyuiop",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "1q2w3e4r5t6y7u8i9o0p",
        "qazwsxedcrfvtgbyhnujmikolp",           "!@#$%^&*()_+",
        "qwertzuiopasdfghjklyxcvbnm",           "azertyuiopqsdfghjklmwxcvbn"};
    size_t n = strlen(low);
    char rev[PASSWORD_MAX * 4 + 1];
    if (n >= sizeof(rev))
        return false;
    for (size_t i = 0; i < n; i++)
        rev[i] = low[n - 1 - i];
    rev[n] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(seqs); i++)
        if (strstr(seqs[i], low) || strstr(seqs[i], rev))
            return true;
    return false;
}

/* repetitive: fewer than 5 different characters, or one unit repeated ("abc12abc12"). */
static bool repetitive(const char *pw)
{
    uint32_t seen[8];
    size_t distinct = 0, len = strlen(pw);
    const char *p = pw, *end = pw + len;
    while (p < end && distinct < 5) {
        /* a code point's bytes, packed: enough to tell characters apart (pw is valid UTF-8) */
        unsigned char c = (unsigned char)*p;
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        k = MIN(k, (size_t)(end - p));
        uint32_t cp = 0;
        for (size_t i = 0; i < k; i++)
            cp = cp << 8 | (unsigned char)p[i];
        bool dup = false;
        for (size_t i = 0; i < distinct; i++)
            dup = dup || seen[i] == cp;
        if (!dup)
            seen[distinct++] = cp;
        p += k;
    }
    if (distinct < 5)
        return true;
    for (size_t unit = 1; unit <= len / 2; unit++) {
        bool rep = true;
        for (size_t i = unit; i < len && rep; i++)
            rep = pw[i] == pw[i - unit];
        if (rep)
            return true;
    }
    return false;
}

/* about_person: the password is the e-mail, its local part or the name, maybe with digits. */
static bool about_person(const char *low, const char *email, const char *name)
{
    char buf[PASSWORD_MAX * 4 + 1], who[512], pb[PASSWORD_MAX * 4 + 1];
    base_word(low, 'i', pb, sizeof(pb));
    if (email && *email) {
        lower(email, who, sizeof(who));
        if (strstr(low, who))
            return true;
        char *at = strchr(who, '@');
        if (at)
            *at = '\0';
        base_word(who, 'i', buf, sizeof(buf));
        if (strlen(buf) >= 3 && strcmp(pb, buf) == 0)
            return true;
    }
    if (name && *name) {
        size_t o = 0;
        for (const char *p = name; *p && o + 1 < sizeof(who); p++)
            if (*p != ' ')
                who[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        who[o] = '\0';
        if (o >= 3 && strcmp(pb, who) == 0)
            return true;
    }
    return false;
}

const char *password_check(const char *pw, const char *email, const char *name)
{
    size_t len = strlen(pw);
    if (!utf8_valid(pw, len))
        return "The password is not valid UTF-8 text.";
    size_t chars = utf8_chars(pw, len);
    if (chars < PASSWORD_MIN)
        return "The password must be at least 10 characters; a few words together make a good one.";
    if (chars > PASSWORD_MAX)
        return "The password must be at most 200 characters.";
    char low[PASSWORD_MAX * 4 + 1], b[PASSWORD_MAX * 4 + 1];
    lower(pw, low, sizeof(low));
    if (repetitive(low))
        return "This password repeats itself too much (like aaaa or abcabc); choose another.";
    if (in_sequence(low))
        return "This password is a keyboard or alphabet sequence; choose another.";
    if (is_common(low))
        return "This is one of the most common passwords, which are guessed first; choose another.";
    base_word(low, 'i', b, sizeof(b));
    bool common_base = is_common(b);
    if (!common_base) {
        base_word(low, 'l', b, sizeof(b));
        common_base = is_common(b);
    }
    if (common_base)
        return "This password is a common password with a few characters added, which is guessed "
               "early; choose another.";
    if (about_person(low, email, name))
        return "The password must not be your e-mail address or name; choose another.";
    return NULL;
}
