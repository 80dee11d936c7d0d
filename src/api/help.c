/* help.c: the public help center, server-rendered HTML that works without JavaScript.
 *
 *   /help/{slug}                    categories with their published articles, and a search box
 *   /help/{slug}/search?q=          BM25 results over the published articles
 *   /help/{slug}/articles/{id}      one article (Markdown rendered by model/markdown.c)
 *
 * ?lang=zh|en picks the articles' language and the page's words (default: every article, the
 * words in Chinese unless the browser prefers English). Everything from the database is escaped. */
#include "base/sys.h"

#include "api/app.h"
#include "base/alloc.h"
#include "model/conversation.h"
#include "model/markdown.h"

enum { HELP_PAGE_MAX = 4 << 20 };

struct help_job {
    struct http_req *r;
    enum { HP_HOME, HP_SEARCH, HP_ARTICLE } page;
    char slug[64];
    const char *q;
    char lang[4]; /* "" for all */
    bool en;      /* page words in English */
    int64_t article_id;
    struct buf html;
    bool viewed; /* an article was shown: count the view after answering */
};

static const char *T(const struct help_job *j, const char *zh, const char *en)
{
    return j->en ? en : zh;
}

static void esc(struct buf *b, const char *s)
{
    html_escape(b, s, strlen(s));
}

static void head(struct help_job *j, const char *account, const char *title)
{
    struct buf *b = &j->html;
    buf_printf(b,
               "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
               j->en ? "en" : "zh-CN");
    esc(b, title);
    buf_append_str(b, " · ");
    esc(b, account);
    buf_append_str(
        b, "</title><style>"
           "body{font:16px/1.6 -apple-system,'PingFang SC','Microsoft "
           "YaHei',sans-serif;margin:0;color:#1f2328;background:#f6f8fa}"
           "header{background:#1f6feb;color:#fff;padding:24px 16px}header "
           "a{color:#fff;text-decoration:none}"
           "main{max-width:820px;margin:0 auto;padding:16px}"
           "form{display:flex;gap:8px;margin:12px "
           "0}input[type=search]{flex:1;padding:10px;font-size:16px;border:1px solid "
           "#d0d7de;border-radius:6px}"
           "button{padding:10px "
           "16px;border:0;border-radius:6px;background:#1a7f37;color:#fff;font-size:16px}"
           "section,article{background:#fff;border:1px solid "
           "#d0d7de;border-radius:8px;padding:16px;margin:12px 0}"
           "h2{margin:0 0 "
           "8px;font-size:18px}ul.a{margin:0;padding-left:20px}.muted{color:#57606a;font-size:14px}"
           "pre{background:#f6f8fa;padding:12px;overflow:auto}nav.lang "
           "a{color:#fff;margin-left:12px;font-size:14px}"
           "</style></head><body><header><a href=\"/help/");
    esc(b, j->slug);
    buf_append_str(b, "\"><strong>");
    esc(b, account);
    buf_printf(
        b,
        "</strong> · %s</a><nav class=\"lang\" style=\"float:right\"><a href=\"?lang=zh\">中文</a>"
        "<a href=\"?lang=en\">English</a></nav>",
        T(j, "帮助中心", "Help center"));
    buf_append_str(b, "<form action=\"/help/");
    esc(b, j->slug);
    buf_printf(
        b, "/search\" method=\"get\"><input type=\"search\" name=\"q\" placeholder=\"%s\" value=\"",
        T(j, "搜索帮助文章…", "Search articles…"));
    if (j->q)
        esc(b, j->q);
    buf_printf(b, "\" aria-label=\"%s\">", T(j, "搜索", "Search"));
    if (j->lang[0])
        buf_printf(b, "<input type=\"hidden\" name=\"lang\" value=\"%s\">", j->lang);
    buf_printf(b, "<button type=\"submit\">%s</button></form></header><main>\n",
               T(j, "搜索", "Search"));
}

static void foot(struct help_job *j)
{
    buf_printf(&j->html,
               "</main><footer class=\"muted\" "
               "style=\"text-align:center;padding:24px\">%s</footer></body></html>\n",
               T(j, "由 Parley 提供支持", "Powered by Parley"));
}

static void article_link(struct help_job *j, int64_t id, const char *title)
{
    buf_append_str(&j->html, "<a href=\"/help/");
    esc(&j->html, j->slug);
    buf_printf(&j->html, "/articles/%" PRId64 "%s%s\">", id, j->lang[0] ? "?lang=" : "", j->lang);
    esc(&j->html, title);
    buf_append_str(&j->html, "</a>");
}

static int home(struct store_tx *tx, struct help_job *j, int64_t aid)
{
    struct store_rows rows;
    int rc = tx_query(
        tx, &rows,
        "SELECT COALESCE(c.id, 0), COALESCE(c.name, ''), COALESCE(c.description, ''), a.id, a.title"
        " FROM kb_articles a LEFT JOIN kb_categories c ON c.id = a.category_id"
        " WHERE a.account_id = $1 AND a.status = 'published' AND ($2 = '' OR a.locale = $2)"
        " ORDER BY c.id IS NULL, COALESCE(c.position, 0), c.id, a.title",
        "it", aid, j->lang);
    if (rc < 0)
        return rc;
    int64_t cur = -1;
    int shown = 0;
    while ((rc = rows_next(&rows)) == 1) {
        int64_t cat = rows_i64(&rows, 0);
        if (cat != cur) {
            if (cur != -1)
                buf_append_str(&j->html, "</ul></section>\n");
            buf_append_str(&j->html, "<section><h2>");
            esc(&j->html, cat ? rows_text(&rows, 1) : T(j, "其他", "Other"));
            buf_append_str(&j->html, "</h2>");
            if (rows_text(&rows, 2)[0]) {
                buf_append_str(&j->html, "<p class=\"muted\">");
                esc(&j->html, rows_text(&rows, 2));
                buf_append_str(&j->html, "</p>");
            }
            buf_append_str(&j->html, "<ul class=\"a\">");
            cur = cat;
        }
        buf_append_str(&j->html, "<li>");
        article_link(j, rows_i64(&rows, 3), rows_text(&rows, 4));
        buf_append_str(&j->html, "</li>");
        shown++;
    }
    rows_close(&rows);
    if (cur != -1)
        buf_append_str(&j->html, "</ul></section>\n");
    if (shown == 0)
        buf_printf(&j->html, "<section><p>%s</p></section>",
                   T(j, "还没有发布的文章。", "No articles have been published yet."));
    return rc < 0 ? rc : 0;
}

static int search(struct store_tx *tx, struct help_job *j, int64_t aid)
{
    json_t *hits = NULL;
    int rc = kb_search_tx(tx, aid, j->lang, j->q, true, &hits);
    if (rc < 0)
        return rc;
    buf_printf(&j->html, "<section><h2>%s “", T(j, "搜索", "Search"));
    esc(&j->html, j->q);
    buf_printf(&j->html, "” · %zu %s</h2>", json_array_size(hits), T(j, "篇结果", "results"));
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        buf_append_str(&j->html, "<p>");
        article_link(j, json_integer_value(json_object_get(h, "id")),
                     json_string_value(json_object_get(h, "title")));
        buf_append_str(&j->html, "<br><span class=\"muted\">");
        esc(&j->html, json_string_value(json_object_get(h, "snippet")));
        buf_append_str(&j->html, "</span></p>");
    }
    if (json_array_size(hits) == 0)
        buf_printf(&j->html, "<p>%s</p>",
                   T(j, "没有找到相关文章，换个说法试试，或联系在线客服。",
                     "Nothing matched. Try other words, or chat with us."));
    buf_append_str(&j->html, "</section>");
    json_decref(hits);
    return 0;
}

static int article(struct store_tx *tx, struct help_job *j, int64_t aid, const char **title_out)
{
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows,
                 "SELECT a.title, a.body, a.updated_at, COALESCE(c.name, '') FROM kb_articles a"
                 " LEFT JOIN kb_categories c ON c.id = a.category_id"
                 " WHERE a.id = $1 AND a.account_id = $2 AND a.status = 'published'",
                 "ii", j->article_id, aid);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc < 0 ? rc : ERR_NOTFOUND;
    }
    *title_out = xstrdup(rows_text(&rows, 0));
    buf_append_str(&j->html, "<article><p class=\"muted\">");
    esc(&j->html, rows_text(&rows, 3));
    buf_append_str(&j->html, "</p><h1>");
    esc(&j->html, rows_text(&rows, 0));
    buf_append_str(&j->html, "</h1>\n");
    markdown_html(rows_text(&rows, 1), rows_len(&rows, 1), &j->html);
    buf_append_str(&j->html, "</article>");
    rows_close(&rows);
    return 0;
}

static int help_fn(struct store_tx *tx, void *arg)
{
    struct help_job *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT id, name FROM accounts WHERE slug = $1", "t", j->slug);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc < 0 ? rc : ERR_NOTFOUND;
    }
    int64_t aid = rows_i64(&rows, 0);
    char *account = xstrdup(rows_text(&rows, 1));
    rows_close(&rows);
    /* the body first (to learn an article's title), then the page around it */
    struct buf body = j->html;
    buf_init(&j->html, HELP_PAGE_MAX);
    const char *title = NULL;
    rc = j->page == HP_HOME     ? home(tx, j, aid)
         : j->page == HP_SEARCH ? search(tx, j, aid)
                                : article(tx, j, aid, &title);
    struct buf inner = j->html;
    j->html = body;
    if (rc == 0) {
        head(j, account,
             title                  ? title
             : j->page == HP_SEARCH ? T(j, "搜索", "Search")
                                    : T(j, "帮助中心", "Help center"));
        buf_append(&j->html, inner.p, inner.len);
        foot(j);
        if (j->page == HP_ARTICLE)
            j->viewed = true;
    }
    buf_release(&inner);
    free((char *)title);
    free(account);
    return rc;
}

static int view_fn(struct store_tx *tx, void *arg)
{
    int64_t *id = arg;
    return tx_exec(tx, "UPDATE kb_articles SET views = views + 1 WHERE id = $1", "i", *id) < 0
               ? ERR_STORE
               : 0;
}

static void view_done(void *arg, int rc)
{
    (void)rc;
    free(arg);
}

static void help_done(void *arg, int rc)
{
    struct help_job *j = arg;
    /* answering frees the request's arena (and j in it): take what is needed first */
    struct buf html = j->html;
    int64_t viewed = j->viewed ? j->article_id : 0;
    struct http_req *r = j->r;
    if (rc == ERR_NOTFOUND) {
        static const char page[] =
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>404</title></head>"
            "<body style=\"font-family:sans-serif;padding:40px\"><h1>404</h1>"
            "<p>这个页面不存在。 / This page does not exist.</p></body></html>\n";
        http_respond(r, 404, "text/html; charset=utf-8", page, sizeof(page) - 1);
    } else if (rc < 0) {
        http_respond_error(r, rc, NULL, NULL);
    } else {
        http_add_header(r, "Cache-Control: no-cache");
        http_add_header(r, "Content-Security-Policy: default-src 'none'; style-src "
                           "'unsafe-inline'; img-src https: data:");
        http_respond(r, 200, "text/html; charset=utf-8", html.p, html.len);
    }
    if (viewed) {
        int64_t *id = xmalloc(sizeof(*id));
        *id = viewed;
        if (store_write(the_app->store, view_fn, view_done, id) < 0)
            free(id);
    }
    buf_release(&html);
}

static void start(struct http_req *r, int page)
{
    struct help_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->page = page;
    struct span slug = http_param(r, "slug");
    if (slug.len == 0 || slug.len >= sizeof(j->slug)) {
        help_done(j, ERR_NOTFOUND);
        return;
    }
    memcpy(j->slug, slug.p, slug.len);
    const char *lang = http_query(r, "lang");
    if (lang && (strcmp(lang, "zh") == 0 || strcmp(lang, "en") == 0))
        snprintf(j->lang, sizeof(j->lang), "%s", lang);
    struct span al = http_header(r, "accept-language");
    j->en =
        j->lang[0] ? strcmp(j->lang, "en") == 0 : (al.len >= 2 && strncasecmp(al.p, "en", 2) == 0);
    if (page == HP_ARTICLE && app_id_param(r, "id", &j->article_id) < 0)
        return;
    if (page == HP_SEARCH) {
        j->q = http_query(r, "q");
        if (!j->q || strlen(j->q) > 200 || text_blank(j->q)) {
            j->page = HP_HOME;
            j->q = NULL;
        }
    }
    buf_init(&j->html, HELP_PAGE_MAX);
    app_store_read(r, help_fn, help_done, j);
}

static void h_home(struct http_req *r)
{
    start(r, HP_HOME);
}
static void h_search(struct http_req *r)
{
    start(r, HP_SEARCH);
}
static void h_article(struct http_req *r)
{
    start(r, HP_ARTICLE);
}

void help_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/help/{slug}", h_home, R_PUBLIC);
    router_add(rt, HTTP_GET, "/help/{slug}/search", h_search, R_PUBLIC);
    router_add(rt, HTTP_GET, "/help/{slug}/articles/{id}", h_article, R_PUBLIC);
}
