/* markdown.c: a small, safe Markdown renderer (see markdown.h). Blocks are found line by line;
 * inline markup is rendered from the escaped text of one block at a time. */
#include "base/sys.h"

#include "model/markdown.h"

#include "base/err.h"

int html_escape(struct buf *out, const char *s, size_t len)
{
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i < len && rc == 0; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        rc = buf_append(out, s + start, i - start);
        if (rc == 0)
            rc = buf_append_str(out, rep);
        start = i + 1;
    }
    if (rc == 0)
        rc = buf_append(out, s + start, len - start);
    return rc;
}

static bool safe_url(const char *u, size_t n)
{
    /* Browsers drop tabs and line breaks inside a URL and read '\' as '/': "/\evil.example" and
     * "/<tab>/evil.example" are "//evil.example", another site. None of them belongs in a link. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f || u[i] == '\\')
            return false;
    if (n >= 7 && strncasecmp(u, "http://", 7) == 0)
        return true;
    if (n >= 8 && strncasecmp(u, "https://", 8) == 0)
        return true;
    if (n >= 7 && strncasecmp(u, "mailto:", 7) == 0)
        return true;
    return n >= 1 && u[0] == '/' && (n == 1 || u[1] != '/');
}

/* Inline markup of one block's text. */
static int inline_html(struct buf *out, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        if (s[i] == '`') {
            const char *e = memchr(s + i + 1, '`', n - i - 1);
            if (e) {
                rc = buf_append_str(out, "<code>");
                if (rc == 0)
                    rc = html_escape(out, s + i + 1, (size_t)(e - s - i - 1));
                if (rc == 0)
                    rc = buf_append_str(out, "</code>");
                i = (size_t)(e - s) + 1;
                continue;
            }
        }
        if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            const char *e = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '*') {
                    e = s + k;
                    break;
                }
            if (e && e > s + i + 2) {
                rc = buf_append_str(out, "<strong>");
                if (rc == 0)
                    rc = inline_html(out, s + i + 2, (size_t)(e - s - i - 2));
                if (rc == 0)
                    rc = buf_append_str(out, "</strong>");
                i = (size_t)(e - s) + 2;
                continue;
            }
        }
        if ((s[i] == '*' || s[i] == '_') && i + 1 < n && s[i + 1] != ' ') {
            const char *e = memchr(s + i + 1, s[i], n - i - 1);
            if (e && e > s + i + 1 && e[-1] != ' ') {
                rc = buf_append_str(out, "<em>");
                if (rc == 0)
                    rc = inline_html(out, s + i + 1, (size_t)(e - s - i - 1));
                if (rc == 0)
                    rc = buf_append_str(out, "</em>");
                i = (size_t)(e - s) + 1;
                continue;
            }
        }
        if (s[i] == '[') {
            const char *close = memchr(s + i, ']', n - i);
            if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
                const char *end = memchr(close, ')', n - (size_t)(close - s));
                if (end) {
                    const char *u = close + 2;
                    size_t ul = (size_t)(end - u);
                    if (safe_url(u, ul) && !memchr(u, ' ', ul)) {
                        rc = buf_append_str(out, "<a href=\"");
                        if (rc == 0)
                            rc = html_escape(out, u, ul);
                        if (rc == 0)
                            rc = buf_append_str(out, "\" rel=\"noopener nofollow\">");
                        if (rc == 0)
                            rc = inline_html(out, s + i + 1, (size_t)(close - s - i - 1));
                        if (rc == 0)
                            rc = buf_append_str(out, "</a>");
                        i = (size_t)(end - s) + 1;
                        continue;
                    }
                }
            }
        }
        rc = html_escape(out, s + i, 1);
        i++;
    }
    return rc;
}

static size_t indent(const char *l, size_t n)
{
    size_t k = 0;
    while (k < n && l[k] == ' ')
        k++;
    return k;
}

/* Which kind of list item starts the line, and where its text starts. 0: none, 'u', 'o'. */
static char list_item(const char *l, size_t n, size_t *text)
{
    size_t k = indent(l, n);
    if (k + 1 < n && (l[k] == '-' || l[k] == '*' || l[k] == '+') && l[k + 1] == ' ') {
        *text = k + 2;
        return 'u';
    }
    size_t d = k;
    while (d < n && l[d] >= '0' && l[d] <= '9')
        d++;
    if (d > k && d - k <= 9 && d + 1 < n && (l[d] == '.' || l[d] == ')') && l[d + 1] == ' ') {
        *text = d + 2;
        return 'o';
    }
    return 0;
}

static bool is_rule(const char *l, size_t n)
{
    size_t c = 0;
    char ch = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] == ' ')
            continue;
        if (l[i] != '-' && l[i] != '*' && l[i] != '_')
            return false;
        if (ch && l[i] != ch)
            return false;
        ch = l[i];
        c++;
    }
    return c >= 3;
}

int markdown_html(const char *src, size_t len, struct buf *out)
{
    int rc = 0;
    char list = 0;     /* the open list: 'u', 'o' or 0 */
    bool para = false; /* a paragraph is open */
    bool code = false; /* inside a fenced block */
    bool quote = false;
    struct buf pend; /* the open paragraph's text, rendered inline when it closes */
    buf_init(&pend, len + 16);
#define CLOSE_PARA()                                                                               \
    do {                                                                                           \
        if (para) {                                                                                \
            rc = rc ? rc : buf_append_str(out, quote ? "<blockquote><p>" : "<p>");                 \
            rc = rc ? rc : inline_html(out, pend.p, pend.len);                                     \
            rc = rc ? rc : buf_append_str(out, quote ? "</p></blockquote>\n" : "</p>\n");          \
            buf_reset(&pend);                                                                      \
            para = false;                                                                          \
        }                                                                                          \
    } while (0)
#define CLOSE_LIST()                                                                               \
    do {                                                                                           \
        if (list) {                                                                                \
            rc = rc ? rc : buf_append_str(out, list == 'u' ? "</ul>\n" : "</ol>\n");               \
            list = 0;                                                                              \
        }                                                                                          \
    } while (0)
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *l = src + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && l[n - 1] == '\r')
            n--;
        size_t k = indent(l, n);
        if (n - k >= 3 && strncmp(l + k, "```", 3) == 0) {
            CLOSE_PARA();
            CLOSE_LIST();
            rc = rc ? rc : buf_append_str(out, code ? "</code></pre>\n" : "<pre><code>");
            code = !code;
            continue;
        }
        if (code) {
            rc = html_escape(out, l, n);
            if (rc == 0)
                rc = buf_putc(out, '\n');
            continue;
        }
        if (k == n) { /* blank line */
            CLOSE_PARA();
            CLOSE_LIST();
            quote = false;
            continue;
        }
        if (l[k] == '#') {
            size_t h = k;
            while (h < n && l[h] == '#')
                h++;
            if (h - k <= 6 && (h == n || l[h] == ' ')) {
                CLOSE_PARA();
                CLOSE_LIST();
                char tag[8];
                snprintf(tag, sizeof(tag), "h%zu>", h - k);
                size_t t = h;
                while (t < n && l[t] == ' ')
                    t++;
                size_t e = n;
                while (e > t && (l[e - 1] == '#' || l[e - 1] == ' '))
                    e--;
                rc = rc ? rc : buf_putc(out, '<');
                rc = rc ? rc : buf_append_str(out, tag);
                rc = rc ? rc : inline_html(out, l + t, e - t);
                rc = rc ? rc : buf_append_str(out, "</");
                rc = rc ? rc : buf_append_str(out, tag);
                rc = rc ? rc : buf_putc(out, '\n');
                continue;
            }
        }
        if (is_rule(l, n)) {
            CLOSE_PARA();
            CLOSE_LIST();
            rc = rc ? rc : buf_append_str(out, "<hr>\n");
            continue;
        }
        size_t text;
        char li = list_item(l, n, &text);
        if (li) {
            CLOSE_PARA();
            if (list != li) {
                CLOSE_LIST();
                rc = rc ? rc : buf_append_str(out, li == 'u' ? "<ul>\n" : "<ol>\n");
                list = li;
            }
            rc = rc ? rc : buf_append_str(out, "<li>");
            rc = rc ? rc : inline_html(out, l + text, n - text);
            rc = rc ? rc : buf_append_str(out, "</li>\n");
            continue;
        }
        if (l[k] == '>') {
            if (!quote)
                CLOSE_PARA();
            CLOSE_LIST();
            quote = true;
            k++;
            while (k < n && l[k] == ' ')
                k++;
        } else if (list) {
            CLOSE_LIST();
        }
        if (para)
            rc = rc ? rc : buf_putc(&pend, ' ');
        rc = rc ? rc : buf_append(&pend, l + k, n - k);
        para = true;
    }
    CLOSE_PARA();
    CLOSE_LIST();
    if (code && rc == 0)
        rc = buf_append_str(out, "</code></pre>\n");
#undef CLOSE_PARA
#undef CLOSE_LIST
    buf_release(&pend);
    return rc;
}

int markdown_text(const char *src, size_t len, struct buf *out)
{
    int rc = 0;
    bool space = false;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = src[i];
        if (c == '#' || c == '*' || c == '`' || c == '>' || c == '_' || c == '[' || c == ']')
            continue;
        if (c == '(' && i > 0 && src[i - 1] == ']') { /* drop a link's URL */
            const char *e = memchr(src + i, ')', len - i);
            if (e) {
                i = (size_t)(e - src);
                continue;
            }
        }
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            if (!space && out->len)
                rc = buf_putc(out, ' ');
            space = true;
            continue;
        }
        space = false;
        rc = buf_putc(out, c);
    }
    return rc;
}
