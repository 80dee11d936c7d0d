/* http.c: request lookups (headers, query, params, cookies) and building responses. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/router.h"

#include <strings.h>

struct span http_header(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (span_case_eq(r->headers[i].name, name))
            return r->headers[i].value;
    return SPAN_NULL;
}

const char *http_query(struct http_req *r, const char *name)
{
    struct span q = r->query;
    size_t nl = strlen(name);
    while (q.len) {
        struct span pair = span_split(&q, '&');
        struct span key = span_split(&pair, '=');
        if (key.len == nl && memcmp(key.p, name, nl) == 0) {
            char *out = arena_alloc(&r->arena, pair.len + 1);
            if (url_decode(pair, out, true) < 0)
                return NULL;
            return out;
        }
    }
    return NULL;
}

struct span http_param(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (span_eq_cstr(r->param_names[i], name))
            return r->params[i];
    return SPAN_NULL;
}

struct span http_cookie(const struct http_req *r, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < r->nheaders; i++) {
        if (!span_case_eq(r->headers[i].name, "Cookie"))
            continue;
        struct span v = r->headers[i].value;
        while (v.len) {
            struct span pair = span_trim(span_split(&v, ';'));
            struct span key = span_trim(span_split(&pair, '='));
            if (key.len == nl && memcmp(key.p, name, nl) == 0)
                return span_trim(pair);
        }
    }
    return SPAN_NULL;
}

void http_add_header(struct http_req *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 2)
        return;
    /* A header value must never carry a line break (response splitting). */
    for (int i = 0; i < n; i++)
        if (line[i] == '\r' || line[i] == '\n')
            return;
    buf_append(&r->resp_headers, line, (size_t)n);
    buf_append(&r->resp_headers, "\r\n", 2);
}

void http_respond(struct http_req *r, int status, const char *content_type, const void *body,
                  size_t len)
{
    if (r->responded) {
        log_err("http", "req=%" PRIu64 " answered twice (bug)", r->id);
        return;
    }
    r->responded = true;
    r->status = status;
    struct conn *c = r->conn;
    if (server_on_response)
        server_on_response(r, status, clock_mono_ns() - r->start_ns);
    if (c && !conn__closing(c)) {
        bool keep = r->keep_alive && !c->srv->shutting_down;
        char head[512];
        int h = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s",
                         status, http_status_str((enum http_status)status), len,
                         content_type ? "Content-Type: " : "", content_type ? content_type : "",
                         content_type ? "\r\n" : "", keep ? "" : "Connection: close\r\n");
        /* Assemble head, extra headers and body into one write. */
        struct buf out;
        buf_init(&out, SIZE_MAX / 2);
        buf_append(&out, head, (size_t)h);
        buf_append(&out, r->resp_headers.p ? r->resp_headers.p : "", r->resp_headers.len);
        buf_append(&out, "\r\n", 2);
        if (r->method != HTTP_HEAD && status != 304 && status != 204)
            buf_append(&out, body, len);
        conn__write(c, out.p, out.len);
        buf_release(&out);
        if (!keep)
            c->close_after_write = true;
    }
    if (r->status >= 500)
        log_warn("http", "req=%" PRIu64 " %s %.*s status=%d", r->id, r->method_name,
                 (int)r->path.len, r->path.p, status);
    else
        log_debug("http", "req=%" PRIu64 " %s %.*s status=%d", r->id, r->method_name,
                  (int)r->path.len, r->path.p, status);
    http__finish(r);
}

void http_respond_json(struct http_req *r, int status, json_t *v)
{
    size_t len;
    char *s = json_dump_compact(v, &len);
    json_decref(v);
    http_respond(r, status, "application/json", s, len);
    free(s);
}

void http_respond_error(struct http_req *r, int err, const char *field, const char *message)
{
    json_t *e =
        json_pack("{s:s, s:s}", "code", err_name(err), "message", message ? message : err_str(err));
    if (field)
        json_object_set_new(e, "field", json_string(field));
    if (err == ERR_BUSY || err == ERR_SHUTDOWN)
        http_add_header(r, "Retry-After: 1");
    http_respond_json(r, err_http_status(err), json_pack("{s:o}", "error", e));
}

void http_respond_jfail(struct http_req *r, int err, const struct jfail *f)
{
    http_respond_error(r, err, f->field[0] ? f->field : NULL, f->msg[0] ? f->msg : NULL);
}

int http_body_json(struct http_req *r, json_t **out)
{
    struct span ct = http_header(r, "Content-Type");
    struct span mt = span_trim(span_split(&ct, ';'));
    if (!span_case_eq(mt, "application/json")) {
        http_respond_error(r, ERR_MEDIA, NULL, NULL);
        return ERR_MEDIA;
    }
    struct jfail f = {0};
    int rc = json_parse_object(r->body.p ? r->body.p : "", r->body.len, out, &f);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return rc;
    }
    return 0;
}
