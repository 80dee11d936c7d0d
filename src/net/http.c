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

/* begin: marks r answered (once) and counts it; false if it was answered already (a bug). */
static bool begin(struct http_req *r, int status)
{
    if (r->responded) {
        log_err("http", "req=%" PRIu64 " answered twice (bug)", r->id);
        return false;
    }
    r->responded = true;
    r->status = status;
    if (server_on_response)
        server_on_response(r, status, clock_mono_ns() - r->start_ns);
    return true;
}

static void log_response(struct http_req *r)
{
    if (r->status >= 500)
        log_warn("http", "req=%" PRIu64 " %s %.*s status=%d", r->id, r->method_name,
                 (int)r->path.len, r->path.p, r->status);
    else
        log_debug("http", "req=%" PRIu64 " %s %.*s status=%d", r->id, r->method_name,
                  (int)r->path.len, r->path.p, r->status);
}

/* keep_alive: whether the connection carries on after this answer. Not after an answer to a head
 * whose body was never read (a precheck's 401): the connection lingers, draining what the client
 * still sends, so that it reads the answer instead of a reset. */
static bool keep_alive(struct http_req *r, struct conn *c)
{
    if (r->prechecking) {
        c->linger = true;
        return false;
    }
    return r->keep_alive && !c->srv->shutting_down;
}

/* put_head: the status line, Content-Length, Content-Type, Connection and the handler's extra
 * headers, then the blank line. */
static void put_head(struct buf *out, struct http_req *r, int status, const char *content_type,
                     uint64_t len, bool keep)
{
    char head[512];
    int h =
        snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %" PRIu64 "\r\n%s%s%s%s",
                 status, http_status_str((enum http_status)status), len,
                 content_type ? "Content-Type: " : "", content_type ? content_type : "",
                 content_type ? "\r\n" : "", keep ? "" : "Connection: close\r\n");
    buf_append(out, head, (size_t)h);
    buf_append(out, r->resp_headers.p ? r->resp_headers.p : "", r->resp_headers.len);
    buf_append(out, "\r\n", 2);
}

void http_respond(struct http_req *r, int status, const char *content_type, const void *body,
                  size_t len)
{
    if (!begin(r, status))
        return;
    struct conn *c = r->conn;
    if (c && !conn__closing(c)) {
        bool keep = keep_alive(r, c);
        /* Assemble head, extra headers and body into one write. */
        struct buf out;
        buf_init(&out, SIZE_MAX / 2);
        put_head(&out, r, status, content_type, len, keep);
        if (r->method != HTTP_HEAD && status != 304 && status != 204)
            buf_append(&out, body, len);
        conn__write(c, out.p, out.len);
        buf_release(&out);
        if (!keep)
            c->close_after_write = true;
    }
    log_response(r);
    http__finish(r);
}

void http_respond_file(struct http_req *r, int status, const char *content_type, int fd,
                       uint64_t offset, uint64_t length)
{
    if (!begin(r, status)) {
        http__close_fd(r->srv, fd);
        return;
    }
    struct conn *c = r->conn;
    bool body = false;
    if (c && !conn__closing(c)) {
        bool keep = keep_alive(r, c);
        struct buf out;
        buf_init(&out, SIZE_MAX / 2);
        put_head(&out, r, status, content_type, length, keep);
        conn__write(c, out.p, out.len);
        buf_release(&out);
        if (!keep)
            c->close_after_write = true;
        body = !conn__closing(c) && r->method != HTTP_HEAD && length > 0;
    }
    log_response(r);
    if (body) {
        http__send_file(r, fd, offset, length); /* it finishes the request */
        return;
    }
    http__close_fd(r->srv, fd);
    http__finish(r);
}

/* digits: a decimal number, saturating (a length past any file is as good as UINT64_MAX). */
static bool digits(struct span s, uint64_t *out)
{
    if (s.len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return true;
}

enum http_range http_range_parse(struct span v, uint64_t size, uint64_t *off, uint64_t *len)
{
    v = span_trim(v);
    if (v.len < 6 || strncasecmp(v.p, "bytes=", 6) != 0)
        return HTTP_RANGE_NONE; /* another unit, or not a range at all */
    struct span spec = span_trim((struct span){v.p + 6, v.len - 6});
    if (memchr(spec.p, ',', spec.len))
        return HTTP_RANGE_NONE; /* several ranges: the whole file is a valid answer */
    const char *dash = memchr(spec.p, '-', spec.len);
    if (!dash)
        return HTTP_RANGE_NONE;
    struct span a = {spec.p, (size_t)(dash - spec.p)};
    struct span b = {dash + 1, spec.len - a.len - 1};
    uint64_t first = 0, last = 0;
    if ((a.len && !digits(a, &first)) || (b.len && !digits(b, &last)) || (!a.len && !b.len))
        return HTTP_RANGE_NONE;
    if (!a.len) { /* bytes=-n: the last n bytes */
        if (last == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *len = MIN(last, size);
        *off = size - *len;
        return HTTP_RANGE_OK;
    }
    if (b.len && last < first)
        return HTTP_RANGE_NONE; /* invalid: ignored (RFC 9110 14.1.1) */
    if (first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    uint64_t end = b.len ? MIN(last, size - 1) : size - 1;
    *off = first;
    *len = end - first + 1;
    return HTTP_RANGE_OK;
}

/* If-Range: the range applies only while the representation is the one the client has; we can
 * tell only by the (strong) entity tag. */
static bool if_range_holds(const struct http_req *r, const char *etag)
{
    struct span ir = span_trim(http_header(r, "If-Range"));
    if (!ir.len)
        return true;
    return etag && etag[0] == '"' && span_eq_cstr(ir, etag);
}

void http_serve_file(struct http_req *r, const char *content_type, int fd, uint64_t size,
                     const char *etag)
{
    http_add_header(r, "Accept-Ranges: bytes");
    struct span range = http_header(r, "Range");
    uint64_t off = 0, len = size;
    if (!range.len || r->method != HTTP_GET || !if_range_holds(r, etag)) {
        http_respond_file(r, 200, content_type, fd, 0, size);
        return;
    }
    switch (http_range_parse(range, size, &off, &len)) {
    case HTTP_RANGE_OK:
        http_add_header(r, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off,
                        off + len - 1, size);
        http_respond_file(r, 206, content_type, fd, off, len);
        return;
    case HTTP_RANGE_UNSATISFIABLE:
        http__close_fd(r->srv, fd);
        http_add_header(r, "Content-Range: bytes */%" PRIu64, size);
        http_respond_error(r, ERR_RANGE, NULL, NULL);
        return;
    case HTTP_RANGE_NONE:
        http_respond_file(r, 200, content_type, fd, 0, size);
        return;
    }
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
