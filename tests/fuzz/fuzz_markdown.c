/* fuzz_markdown.c: src/model/markdown.c, which turns help-center articles (written by agents, read
 * by anyone on the public help pages) into HTML. The input is the article's Markdown.
 *
 * markdown.h promises that every character of the source is escaped and that only HTML the
 * renderer writes itself reaches the page, with links only to http(s) and local paths. So the
 * output is checked as HTML, not searched for bad words:
 *   - every '<' opens a tag of the renderer's own set (p, h1..h6, ul, ol, li, pre, code,
 *     blockquote, strong, em, hr, a), and tags nest and close properly;
 *   - the only attributes are a's href and rel="noopener nofollow"; no "on...=" anywhere in a tag;
 *   - an href, decoded as a browser does (entities, tabs and newlines dropped, '\' as '/'), is
 *     http:, https:, mailto: or a path on this site (not "//host"): never javascript:;
 *   - text has no raw '"' or '\'' and every '&' starts one of the entities html_escape writes;
 *   - no "<script" at all;
 *   - valid UTF-8 in, valid UTF-8 out (markdown_html and markdown_text). */
#include "base/sys.h"
#include "base/buf.h"
#include "base/str.h"

#include <strings.h>

#include "model/markdown.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

static const char *out_text; /* for the report */
static size_t out_len;

NO_COVERAGE static void bad(const char *what, size_t at)
{
    fprintf(stderr, "fuzz_markdown: %s at byte %zu of the output:\n%.*s\n", what, at, (int)out_len,
            out_text);
    abort();
}

static const char *const ENTITIES[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

NO_COVERAGE static size_t entity_len(const char *p, size_t n)
{
    for (size_t i = 0; i < ARRAY_SIZE(ENTITIES); i++) {
        size_t l = strlen(ENTITIES[i]);
        if (n >= l && memcmp(p, ENTITIES[i], l) == 0)
            return l;
    }
    return 0;
}

/* The URL a browser follows for an href value as written (entities decoded, ASCII tab and
 * newlines removed, '\' read as '/', leading spaces and controls dropped). */
NO_COVERAGE static size_t browser_url(const char *p, size_t n, char *out, size_t cap)
{
    static const char dec[] = {'&', '<', '>', '"', '\''};
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t el = p[i] == '&' ? entity_len(p + i, n - i) : 0;
        char c = p[i];
        if (el) {
            for (size_t k = 0; k < ARRAY_SIZE(ENTITIES); k++)
                if (strlen(ENTITIES[k]) == el && memcmp(p + i, ENTITIES[k], el) == 0)
                    c = dec[k];
            i += el;
        } else {
            i++;
        }
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (o == 0 && (unsigned char)c <= ' ')
            continue;
        out[o++] = c == '\\' ? '/' : c;
    }
    out[o] = '\0';
    return o;
}

NO_COVERAGE static void check_href(const char *p, size_t n, size_t at)
{
    char url[16384];
    size_t ul = browser_url(p, n, url, sizeof(url));
    bool ok = (ul >= 7 && strncasecmp(url, "http://", 7) == 0) ||
              (ul >= 8 && strncasecmp(url, "https://", 8) == 0) ||
              (ul >= 7 && strncasecmp(url, "mailto:", 7) == 0) ||
              (ul >= 1 && url[0] == '/' && (ul == 1 || url[1] != '/'));
    if (!ok)
        bad("a link that is not http(s), mailto or a path on this site", at);
}

/* One tag at o[i] == '<'; returns its length. Pushes or pops the open-tag stack. */
NO_COVERAGE static size_t check_tag(const char *o, size_t n, size_t i, const char **stack,
                                    size_t *depth)
{
    static const char *const tags[] = {"p",          "h1",     "h2", "h3", "h4",  "h5",
                                       "h6",         "ul",     "ol", "li", "pre", "code",
                                       "blockquote", "strong", "em", "hr", "a"};
    const char *end = memchr(o + i, '>', n - i);
    if (!end)
        bad("a '<' that opens no tag", i);
    size_t len = (size_t)(end - (o + i)) + 1;
    const char *t = o + i + 1;
    size_t tl = len - 2;
    if (memmem(t, tl, "<", 1) || memmem(t, tl, "\n", 1))
        bad("a tag with '<' or a line break inside", i);
    bool closing = tl && t[0] == '/';
    if (closing)
        t++, tl--;
    size_t nl = 0;
    while (nl < tl && t[nl] != ' ')
        nl++;
    const char *name = NULL;
    for (size_t k = 0; k < ARRAY_SIZE(tags); k++)
        if (strlen(tags[k]) == nl && memcmp(t, tags[k], nl) == 0)
            name = tags[k];
    if (!name)
        bad("a tag the renderer does not write", i);
    if (nl < tl) { /* attributes: only <a href="..." rel="noopener nofollow"> */
        static const char href[] = " href=\"", rel[] = "\" rel=\"noopener nofollow\"";
        size_t hl = sizeof(href) - 1, rl = sizeof(rel) - 1;
        if (closing || strcmp(name, "a") != 0 || tl < nl + hl + rl ||
            memcmp(t + nl, href, hl) != 0 || memcmp(t + tl - rl, rel, rl) != 0)
            bad("a tag with attributes other than a's href and rel", i);
        const char *v = t + nl + hl;
        size_t vl = tl - nl - hl - rl;
        if (memchr(v, '"', vl) || memchr(v, '\'', vl))
            bad("a quote inside an href", i);
        for (size_t k = 0; k < vl; k++)
            if (v[k] == '&' && !entity_len(v + k, vl - k))
                bad("a bare '&' inside an href", i);
        check_href(v, vl, i);
    } else if (strcmp(name, "a") == 0 && !closing) {
        bad("a link without an href", i);
    }
    if (strcmp(name, "hr") == 0) {
        if (closing)
            bad("a closing </hr>", i);
        return len;
    }
    if (!closing) {
        if (*depth == 64)
            bad("tags nested over 64 deep", i);
        stack[(*depth)++] = name;
    } else if (*depth == 0 || strcmp(stack[*depth - 1], name) != 0) {
        bad("a closing tag that does not close the open one", i);
    } else {
        (*depth)--;
    }
    return len;
}

NO_COVERAGE static void check_html(const char *o, size_t n)
{
    out_text = o;
    out_len = n;
    for (size_t i = 0; i + 7 <= n; i++)
        if (strncasecmp(o + i, "<script", 7) == 0)
            bad("\"<script\"", i);
    const char *stack[64];
    size_t depth = 0;
    for (size_t i = 0; i < n;) {
        char c = o[i];
        if (c == '<') {
            i += check_tag(o, n, i, stack, &depth);
            continue;
        }
        if (c == '>' || c == '"' || c == '\'')
            bad("a raw '>', '\"' or '\\'' in text", i);
        if (c == '&') {
            size_t el = entity_len(o + i, n - i);
            if (!el)
                bad("a bare '&' in text", i);
            i += el;
            continue;
        }
        i++;
    }
    if (depth)
        bad("a tag left open at the end", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    bool valid = utf8_valid(src, size);
    struct buf out;
    buf_init(&out, 64 * size + 4096); /* the help page's cap is far above what an article makes */
    int rc = markdown_html(src, size, &out);
    if (rc != 0) {
        fprintf(stderr, "fuzz_markdown: markdown_html failed (%d) under a generous cap\n", rc);
        abort();
    }
    check_html(out.p ? out.p : "", out.len);
    if (valid && !utf8_valid(out.p ? out.p : "", out.len))
        bad("invalid UTF-8 from valid UTF-8", 0);
    buf_release(&out);

    /* Under a tight cap: ERR_TOOBIG, never more than the cap. */
    buf_init(&out, size / 2 + 1);
    rc = markdown_html(src, size, &out);
    if ((rc != 0 && rc != ERR_TOOBIG) || out.len > out.max) {
        fprintf(stderr, "fuzz_markdown: under a tight cap: rc=%d len=%zu cap=%zu\n", rc, out.len,
                out.max);
        abort();
    }
    buf_release(&out);

    /* The plain text for snippets: valid UTF-8 stays valid, and no markup characters are left. */
    buf_init(&out, size + 1);
    rc = markdown_text(src, size, &out);
    if (rc != 0) {
        fprintf(stderr, "fuzz_markdown: markdown_text failed (%d)\n", rc);
        abort();
    }
    out_text = out.p ? out.p : "";
    out_len = out.len;
    if (valid && !utf8_valid(out_text, out_len))
        bad("markdown_text: invalid UTF-8 from valid UTF-8", 0);
    if (memchr(out_text, '*', out_len) || memchr(out_text, '`', out_len) ||
        memchr(out_text, '#', out_len))
        bad("markdown_text left markup in", 0);
    buf_release(&out);

    /* html_escape alone: nothing but the five entities and the other bytes. */
    buf_init(&out, 6 * size + 1);
    html_escape(&out, src, size);
    out_text = out.p ? out.p : "";
    out_len = out.len;
    for (size_t i = 0; i < out_len; i++) {
        char c = out_text[i];
        if (c == '<' || c == '>' || c == '"' || c == '\'')
            bad("html_escape left a special character", i);
        if (c == '&' && !entity_len(out_text + i, out_len - i))
            bad("html_escape left a bare '&'", i);
    }
    buf_release(&out);
    return 0;
}
