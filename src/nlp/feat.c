/* feat.c: tokeniser and hashed n-gram features (see feat.h for what they are).
 *
 * The tokeniser decodes UTF-8 by hand: it needs only to tell Latin letters and digits, CJK
 * characters and separators apart, and to fold ASCII case and full-width forms. Tokens go into
 * one scratch buffer, each as "raw\0stem\0", so the char view sees the word as written and the
 * word view sees its stem. */
#include "base/sys.h"

#include "nlp/feat.h"

#include "base/alloc.h"

#define MAX_TOKEN 64 /* longer runs are cut: nothing useful is learnt from a 200-letter "word" */
#define SKIP_WINDOW 5

void feat_buf_init(struct feat_buf *fb)
{
    memset(fb, 0, sizeof(*fb));
}

void feat_buf_release(struct feat_buf *fb)
{
    free(fb->f);
    free(fb->norm);
    free(fb->tok);
    free(fb->cjk);
    free(fb->ht);
    memset(fb, 0, sizeof(*fb));
}

/* ---- UTF-8 and character classes ---- */

/* Decodes one code point; invalid or truncated sequences give U+FFFD and consume one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned c = s[*i];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        n = 1;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        n = 2;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        n = 3;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (*i + n >= len) { /* truncated sequence */
        (*i)++;
        return 0xFFFD;
    }
    for (size_t k = 1; k <= n; k++) {
        unsigned cc = s[*i + k];
        if ((cc & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    *i += n + 1;
    return cp;
}

static bool is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x3040 && cp <= 0x30FF) ||
           (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

/* Separators outside ASCII: general punctuation, CJK symbols and punctuation, full-width
 * punctuation, and the replacement character. */
static bool is_sep(uint32_t cp)
{
    return (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
           (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
           (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0xFFFD ||
           cp == 0x00A0 || cp == 0x00B7 || (cp >= 0xFE30 && cp <= 0xFE4F);
}

/* ---- token buffer ---- */

static void norm_reserve(struct feat_buf *fb, size_t need)
{
    if (need <= fb->norm_cap)
        return;
    size_t cap = fb->norm_cap ? fb->norm_cap : 256;
    while (cap < need)
        cap *= 2;
    fb->norm = xrealloc(fb->norm, cap);
    fb->norm_cap = cap;
}

static void tok_push(struct feat_buf *fb, const char *w, size_t len, bool cjk, size_t *used)
{
    if (len == 0)
        return;
    if (len > MAX_TOKEN)
        len = MAX_TOKEN;
    if (fb->ntok == fb->tok_cap) {
        fb->tok_cap = fb->tok_cap ? fb->tok_cap * 2 : 64;
        fb->tok = xrealloc(fb->tok, fb->tok_cap * sizeof(*fb->tok));
        fb->cjk = xrealloc(fb->cjk, fb->tok_cap);
    }
    norm_reserve(fb, *used + 2 * len + 2);
    char *raw = fb->norm + *used;
    memcpy(raw, w, len);
    raw[len] = 0;
    char *stem = raw + len + 1;
    memcpy(stem, w, len);
    size_t slen = len;
    bool digits = true;
    for (size_t i = 0; i < len; i++)
        if (w[i] < '0' || w[i] > '9')
            digits = false;
    if (digits) {
        stem[0] = '0';
        slen = 1;
    } else if (!cjk) {
        slen = feat_stem(stem, len);
    }
    stem[slen] = 0;
    fb->tok[fb->ntok] = (uint32_t)*used;
    fb->cjk[fb->ntok] = cjk;
    fb->ntok++;
    *used += len + 1 + slen + 1;
}

/* Contractions: "can't" is "ca" + "not" (as "n't" splits), "I'm" is "i" + "am", and so on. */
static const char *contraction(const char *suf, size_t n)
{
    static const struct {
        const char *suf, *word;
    } map[] = {{"s", "s"},     {"m", "am"},    {"re", "are"},
               {"ve", "have"}, {"ll", "will"}, {"d", "would"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i].suf) == n && memcmp(map[i].suf, suf, n) == 0)
            return map[i].word;
    return NULL;
}

size_t feat_stem(char *w, size_t len)
{
    static const struct {
        const char *suf;
        const char *repl;
    } rules[] = {{"ations", ""}, {"ation", ""}, {"ing", ""}, {"ied", "y"}, {"ies", "y"},
                 {"ed", ""},     {"es", ""},    {"s", ""},   {"ly", ""},   {"ment", ""}};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        size_t sl = strlen(rules[i].suf);
        if (len > sl + 2 && memcmp(w + len - sl, rules[i].suf, sl) == 0) {
            size_t rl = strlen(rules[i].repl);
            memcpy(w + len - sl, rules[i].repl, rl);
            return len - sl + rl;
        }
    }
    return len;
}

/* After an apostrophe at s[*i] ends the letters in word: "n't" becomes the word without its n plus
 * "not"; 's, 'm, 're, 've, 'll and 'd become a word of their own. Returns false (nothing consumed)
 * when what follows is not one of these. */
static bool apostrophe(struct feat_buf *fb, const unsigned char *s, size_t len, size_t *i,
                       char *word, size_t *wl, size_t *used)
{
    size_t j = *i, n = 0;
    char suf[5];
#define LETTER(c) (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
    while (j < len && n < sizeof(suf) && LETTER(s[j]))
        suf[n++] = (char)(s[j++] | 0x20);
    if (n == 0 || n == sizeof(suf))
        return false;
#undef LETTER
    const char *exp;
    if (n == 1 && suf[0] == 't' && *wl > 1 && word[*wl - 1] == 'n') {
        (*wl)--;
        exp = "not";
    } else if (!(exp = contraction(suf, n))) {
        return false;
    }
    tok_push(fb, word, *wl, false, used);
    *wl = 0;
    tok_push(fb, exp, strlen(exp), false, used);
    *i = j;
    return true;
}

size_t feat_tokens(struct feat_buf *fb, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    if (len > FEAT_MAX_TEXT)
        len = FEAT_MAX_TEXT;
    fb->ntok = 0;
    size_t used = 0;
    norm_reserve(fb, 256);
    char word[MAX_TOKEN * 4 + 8];
    size_t wl = 0;
    int wkind = 0; /* 0 none, 1 letters, 2 digits */
    size_t i = 0;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        tok_push(fb, word, wl, false, &used);                                                      \
        wl = 0;                                                                                    \
        wkind = 0;                                                                                 \
    } while (0)
    while (i < len) {
        size_t start = i;
        uint32_t cp = utf8_next(s, len, &i);
        if (cp >= 0xFF10 && cp <= 0xFF5A && !is_sep(cp)) /* full-width digits and letters */
            cp -= 0xFEE0;
        if (cp < 0x80) {
            int kind = 0;
            char c = (char)cp;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c >= 'a' && c <= 'z')
                kind = 1;
            else if (c >= '0' && c <= '9')
                kind = 2;
            if (kind) {
                if (wkind && wkind != kind)
                    FLUSH();
                if (wl < MAX_TOKEN)
                    word[wl++] = c;
                wkind = kind;
                continue;
            }
            if (c == '\'' && wkind == 1 && apostrophe(fb, s, len, &i, word, &wl, &used)) {
                wkind = 0;
                continue;
            }
            if (wl)
                FLUSH();
            continue;
        }
        if (cp == 0x2019 && wkind == 1 && apostrophe(fb, s, len, &i, word, &wl, &used)) {
            wkind = 0; /* ’ used as an apostrophe */
            continue;
        }
        if (is_cjk(cp)) {
            if (wl)
                FLUSH();
            tok_push(fb, text + start, i - start, true, &used);
            continue;
        }
        if (is_sep(cp)) {
            if (wl)
                FLUSH();
            continue;
        }
        /* another letter (accented Latin, Cyrillic ...): part of a word */
        if (wkind == 2)
            FLUSH();
        if (wl + (i - start) <= sizeof(word) - 1 && wl < MAX_TOKEN) {
            memcpy(word + wl, text + start, i - start);
            wl += i - start;
        }
        wkind = 1;
    }
    if (wl)
        FLUSH();
#undef FLUSH
    return fb->ntok;
}

/* ---- features ---- */

static inline uint32_t h_start(uint8_t salt)
{
    return (2166136261u ^ salt) * 16777619u;
}

static inline uint32_t h_add(uint32_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return h;
}

static inline uint32_t h_end(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
}

static void push(struct feat_buf *fb, uint32_t hash, uint8_t view)
{
    if (fb->n == fb->cap) {
        fb->cap = fb->cap ? fb->cap * 2 : 512;
        fb->f = xrealloc(fb->f, fb->cap * sizeof(*fb->f));
    }
    fb->f[fb->n].hash = hash;
    fb->f[fb->n].view = view;
    fb->f[fb->n].count = 1;
    fb->n++;
}

static const char *tok_raw(const struct feat_buf *fb, size_t i)
{
    return fb->norm + fb->tok[i];
}

static const char *tok_stem(const struct feat_buf *fb, size_t i)
{
    const char *raw = tok_raw(fb, i);
    return raw + strlen(raw) + 1;
}

size_t feat_extract(struct feat_buf *fb, const char *text, size_t len)
{
    size_t nt = feat_tokens(fb, text, len);
    fb->n = 0;
    /* words view */
    for (size_t i = 0; i < nt; i++) {
        const char *a = tok_stem(fb, i);
        size_t al = strlen(a);
        push(fb, h_end(h_add(h_start(1), a, al)), FEAT_WORDS);
        if (i + 1 < nt) {
            const char *b = tok_stem(fb, i + 1);
            uint32_t h = h_add(h_start(2), a, al);
            h = h_add(h, " ", 1);
            push(fb, h_end(h_add(h, b, strlen(b))), FEAT_WORDS);
        }
        for (size_t j = i + 2; j < nt && j <= i + SKIP_WINDOW; j++) {
            const char *b = tok_stem(fb, j);
            uint32_t h = h_add(h_start(3), a, al);
            h = h_add(h, "|", 1);
            push(fb, h_end(h_add(h, b, strlen(b))), FEAT_WORDS);
        }
    }
    /* chars view, CJK: 1..3-grams along each run of CJK characters. Tokens of a run are
     * consecutive CJK tokens (separators between them do not break a run; a Latin word does). */
    for (size_t i = 0; i < nt; i++) {
        if (!fb->cjk[i])
            continue;
        for (size_t n = 1; n <= 3 && i + n <= nt; n++) {
            if (!fb->cjk[i + n - 1])
                break;
            uint32_t h = h_start(5);
            for (size_t k = 0; k < n; k++) {
                const char *c = tok_raw(fb, i + k);
                h = h_add(h, c, strlen(c));
            }
            push(fb, h_end(h), FEAT_CHARS);
        }
    }
    /* chars view, the rest: char_wb 2..5-grams of each chunk of the text between white space,
     * CJK characters and CJK punctuation, lower-cased and padded with spaces. ASCII punctuation
     * stays in its chunk ("card?", "hasn't"), as in scikit-learn's char_wb: a question mark or
     * an apostrophe says something about the request. */
    char pad[MAX_TOKEN + 3];
    size_t pl = 0, cur = 0;
    const unsigned char *s = (const unsigned char *)text;
    if (len > FEAT_MAX_TEXT)
        len = FEAT_MAX_TEXT;
    for (;;) {
        size_t start = cur;
        uint32_t cp = cur < len ? utf8_next(s, len, &cur) : ' '; /* a space ends the last chunk */
        if (cp >= 0xFF01 && cp <= 0xFF5E)                        /* full-width forms */
            cp -= 0xFEE0;
        bool brk = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' ||
                   cp == '\v' || is_cjk(cp) || (cp >= 0x80 && is_sep(cp));
        if (!brk) {
            if (pl < MAX_TOKEN) {
                if (cp < 0x80) {
                    pad[1 + pl++] = (char)(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp);
                } else if (pl + (cur - start) <= MAX_TOKEN) {
                    memcpy(pad + 1 + pl, text + start, cur - start);
                    pl += cur - start;
                }
            }
            continue;
        }
        if (pl == 0) {
            if (start == len)
                break;
            continue;
        }
        pad[0] = ' ';
        pad[pl + 1] = ' ';
        size_t n_all = pl + 2;
        for (size_t n = 2; n <= 5; n++) {
            if (n_all < n) {
                push(fb, h_end(h_add(h_start(4), pad, n_all)), FEAT_CHARS);
                continue;
            }
            for (size_t off = 0; off + n <= n_all; off++)
                push(fb, h_end(h_add(h_start(4), pad + off, n)), FEAT_CHARS);
        }
        pl = 0;
        if (start == len)
            break;
    }
    if (fb->n == 0)
        return 0;
    /* Merge repeats with a scratch hash table (slot -> index + 1), keeping first-seen order: words
     * were pushed before chars, so the views stay grouped. Linear in the features; a sort was
     * most of the time of a long text. */
    size_t cap = 64;
    while (cap < fb->n * 2)
        cap *= 2;
    if (cap > fb->ht_cap) {
        free(fb->ht);
        fb->ht = xmalloc(cap * sizeof(*fb->ht));
        fb->ht_cap = cap;
    }
    memset(fb->ht, 0, cap * sizeof(*fb->ht));
    size_t out = 0;
    for (size_t i = 0; i < fb->n; i++) {
        const struct feat *f = &fb->f[i];
        size_t slot = (f->hash ^ ((uint32_t)f->view * 0x9e3779b9u)) & (cap - 1);
        for (;;) {
            uint32_t at = fb->ht[slot];
            if (at == 0) {
                fb->f[out] = *f;
                fb->ht[slot] = (uint32_t)++out;
                break;
            }
            struct feat *g = &fb->f[at - 1];
            if (g->hash == f->hash && g->view == f->view) {
                if (g->count < UINT16_MAX)
                    g->count++;
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
    }
    fb->n = out;
    return out;
}
