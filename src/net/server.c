/* server.c: accepting connections, reading into one shared buffer, parsing HTTP/1.1 with
 * http-parser, coalesced writes, and the timeout lists.
 *
 * Timeouts: each connection sits in at most one list per class (header, body, idle keep-alive,
 * WebSocket idle), and every list has one fixed duration, so appending at the tail keeps each list
 * ordered by deadline. A sweep timer only looks at list heads: O(expired), not O(connections),
 * which matters at 100k idle WebSockets. WebSockets are also in a ping list ordered by their last
 * ping or read. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/router.h"

#include <arpa/inet.h>
#include <assert.h>

server_metric_fn server_on_response;

/* HTTP_WQ_LOW: a keep-alive connection reads its next request once at most this much of the last
 * answer is still queued (an HTTP answer is already built in memory, so it is not capped: the cap
 * of the queue is the WebSocket slow-client limit and applies after an upgrade). */
enum { READ_BUF = 64 * 1024, WQ_KEEP = 2048, HTTP_WQ_LOW = 64 * 1024 };
static char read_buf[READ_BUF];
static bool read_buf_busy;

static void start_request(struct conn *c);
static void finish_request(struct http_req *r);
static void next_request(struct conn *c);
static bool waits(const struct conn *c);
static void precheck(struct conn *c);
static void file_pump(struct conn *c);
static void file_abort(struct conn *c);
static void free_request(struct http_req *r);
static void dispatch(struct conn *c);

/* ---- time and timeout lists ---- */

uint64_t conn__now(struct conn *c)
{
    return uv_now(c->srv->loop);
}

static void tl_unlink(struct tlist *l, struct conn *c, struct tlink *k, size_t off)
{
#define LINK(conn) ((struct tlink *)((char *)(conn) + off))
    if (k->prev)
        LINK(k->prev)->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        LINK(k->next)->prev = k->prev;
    else
        l->tail = k->prev;
    k->prev = k->next = NULL;
    UNUSED(c);
}

static void tl_append(struct tlist *l, struct conn *c, struct tlink *k, size_t off)
{
    k->prev = l->tail;
    k->next = NULL;
    if (l->tail)
        LINK(l->tail)->next = c;
    else
        l->head = c;
    l->tail = c;
#undef LINK
}

/* The timeout list of each state (conn.h). */
static const int8_t state_list[] = {
    [CS_READING_HEAD] = T_HEADER, [CS_READING_BODY] = T_BODY, [CS_HANDLING] = T_NONE,
    [CS_WRITING] = T_SEND,        [CS_IDLE] = T_IDLE,         [CS_LINGERING] = T_LINGER,
    [CS_WS] = T_WS_IDLE,          [CS_WS_DRAINING] = T_SLOW,  [CS_CLOSING] = T_NONE,
};

/* tl_set / tp_set: the only code that links a connection into a list. A closing connection is
 * about to be freed by on_close: linking it would leave a dangling pointer in the list. */
static void tl_set(struct conn *c, int list)
{
    struct server *srv = c->srv;
    assert(!conn__closing(c) || list == T_NONE);
    if (conn__closing(c) && list != T_NONE)
        return;
    if (c->tl.list != T_NONE)
        tl_unlink(&srv->tl[c->tl.list], c, &c->tl, offsetof(struct conn, tl));
    c->tl.list = (int8_t)list;
    c->tl.t = conn__now(c);
    if (list != T_NONE)
        tl_append(&srv->tl[list], c, &c->tl, offsetof(struct conn, tl));
}

static void tp_set(struct conn *c, bool in)
{
    struct server *srv = c->srv;
    assert(!conn__closing(c) || !in);
    if (conn__closing(c) && in)
        return;
    if (c->tp.list != T_NONE)
        tl_unlink(&srv->ws_ping, c, &c->tp, offsetof(struct conn, tp));
    c->tp.list = in ? 0 : T_NONE;
    c->tp.t = conn__now(c);
    if (in)
        tl_append(&srv->ws_ping, c, &c->tp, offsetof(struct conn, tp));
}

void conn__set_state(struct conn *c, enum conn_state s)
{
    assert(!conn__closing(c));
    if (conn__closing(c))
        return;
    c->state = s;
    tl_set(c, state_list[s]);
    tp_set(c, s == CS_WS);
}

void conn__touch(struct conn *c)
{
    if (!conn__closing(c))
        conn__set_state(c, c->state);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);
static void conn__end(struct conn *c);
static void close_handle(struct conn *c, bool reset);

static void send_simple_error(struct conn *c, int err)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                     err_name(err), err_str(err));
    char head[256];
    int h = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n%s\r\n",
                     err_http_status(err), http_status_str((enum http_status)err_http_status(err)),
                     n, err == ERR_BUSY || err == ERR_CONNS ? "Retry-After: 1\r\n" : "");
    conn__write(c, head, (size_t)h);
    conn__write(c, body, (size_t)n);
    if (conn__closing(c))
        return; /* the write failed: the peer is gone */
    c->close_after_write = true;
    /* The peer may still be sending (a body over max-body): closing with unread data makes the
     * kernel send RST, and the client may never see our answer. Linger instead (RFC 9112 9.6). */
    c->linger = c->got_bytes;
    if (c->writing)
        conn__set_state(c, CS_WRITING); /* on_write ends it once the answer is out */
    else
        conn__end(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    free(req);
    c->shut = NULL;
    if (status < 0 || conn__closing(c)) {
        conn__close(c);
        return;
    }
    conn__set_state(c, CS_LINGERING); /* refreshed on every read; closes after a quiet period */
}

/* conn__end: close now, or (lingering) shut our side down and drain the peer first. */
static void conn__end(struct conn *c)
{
    if (conn__closing(c))
        return;
    if (!c->linger || c->shut) {
        conn__close(c);
        return;
    }
    c->shut = xcalloc(1, sizeof(*c->shut));
    c->shut->data = c;
    if (uv_shutdown(c->shut, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        free(c->shut);
        c->shut = NULL;
        conn__close(c);
        return;
    }
    /* until on_shutdown lingers, the send timeout bounds it */
    conn__set_state(c, CS_WRITING);
    if (!c->reading) {
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
        c->reading = true;
    }
}

static void on_sweep(uv_timer_t *t)
{
    struct server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    for (int i = 0; i < T_COUNT; i++) {
        struct tlist *l = &srv->tl[i];
        while (l->head && now - l->head->tl.t >= l->timeout) {
            struct conn *c = l->head;
            /* Out of the list first; each action below moves it to another state or closes it.
             */
            tl_set(c, T_NONE);
            if (i == T_WS_IDLE) {
                log_debug("ws", "conn=%" PRIu64 " idle timeout", c->id);
                ws__close(c, 1001, "idle timeout");
            } else if (i == T_SLOW || i == T_SEND) {
                /* A client that stopped reading what we send: reset, so the kernel drops what
                 * it still holds for it at once instead of keeping an orphaned socket. */
                log_debug("net", "conn=%" PRIu64 " send timeout", c->id);
                close_handle(c, true);
            } else if ((i == T_HEADER && c->got_bytes) || i == T_BODY) {
                log_debug("http", "conn=%" PRIu64 " request timeout", c->id);
                send_simple_error(c, ERR_TIMEOUT);
            } else {
                conn__close(c);
            }
        }
    }
    while (srv->ws_ping.head && now - srv->ws_ping.head->tp.t >= srv->lim.ws_ping_interval) {
        struct conn *c = srv->ws_ping.head;
        tp_set(c, true); /* to the tail */
        ws__ping(c);
    }
}

/* ---- writes ---- */

static void on_write(uv_write_t *w, int status);
static void on_flush_idle(uv_idle_t *h)
{
    UNUSED(h); /* exists so that the loop polls without blocking while writes wait */
}

static void start_write(struct conn *c)
{
    struct buf tmp = c->wfly;
    c->wfly = c->wq;
    c->wq = tmp;
    buf_reset(&c->wq);
    uv_buf_t b = uv_buf_init(c->wfly.p, (unsigned)c->wfly.len);
    c->writing = true;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        c->writing = false;
        conn__close(c);
    }
}

static void on_write(uv_write_t *w, int status)
{
    struct conn *c = containerof(w, struct conn, wreq);
    c->writing = false;
    buf_release(&c->wfly);
    if (status < 0 || conn__closing(c)) {
        if (!conn__closing(c))
            conn__close(c);
        return;
    }
    if (c->state == CS_WS_DRAINING || c->state == CS_WRITING)
        conn__touch(c); /* the client reads: its send deadline starts again */
    if (c->wq.len) {
        start_write(c);
        return;
    }
    buf_release(&c->wq);
    if (c->file) {
        file_pump(c); /* the socket took the last chunk: the next one */
    } else if (c->close_after_write) {
        conn__end(c);
    } else if (c->wait_drain) {
        c->wait_drain = false; /* the last response is out: the next request */
        next_request(c);
    }
}

/* write_borrowed: writes bytes that stay valid until the write completes (a file chunk), without
 * copying them into the queue; only with nothing queued or in flight. Returns whether the socket
 * took them all at once; otherwise they are in flight (on_write follows) or the connection closed.
 */
static bool write_borrowed(struct conn *c, const char *p, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)len)
        return true;
    if (n < 0 && n != UV_EAGAIN) {
        conn__close(c);
        return false;
    }
    if (n > 0)
        b = uv_buf_init((char *)p + n, (unsigned)(len - (size_t)n));
    c->writing = true;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        c->writing = false;
        conn__close(c);
    }
    return false;
}

/* Bytes that do not fit under the cap: the stream cannot be continued without them. (WebSocket
 * messages are checked against the cap before they are framed, in ws_send_text, and get a close
 * frame instead: ws.c's slow_close.) */
static void over_cap(struct conn *c)
{
    log_warn("net", "conn=%" PRIu64 " ip=%s write queue over %zu bytes: closing slow client", c->id,
             c->ip, c->wq.max);
    c->srv->stats.ws_closed_slow++;
    conn__close(c);
}

void conn__write(struct conn *c, const void *p, size_t len)
{
    if (conn__closing(c) || c->write_closed || len == 0)
        return;
    if (!c->writing && c->wq.len == 0) {
        /* Nothing queued: try the socket directly, queue only what it does not take. */
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == (int)len)
            return;
        if (n < 0 && n != UV_EAGAIN) {
            conn__close(c);
            return;
        }
        if (n > 0)
            p = (const char *)p + n, len -= (size_t)n;
    }
    if (buf_append(&c->wq, p, len) < 0) {
        over_cap(c);
        return;
    }
    if (!c->writing)
        start_write(c);
}

void conn__write_later(struct conn *c, const void *head, size_t hlen, const void *p, size_t len)
{
    if (conn__closing(c) || c->write_closed || hlen + len == 0)
        return;
    /* one reservation for both: a frame costs at most one allocation */
    if (buf_reserve(&c->wq, hlen + len) < 0 || buf_append(&c->wq, head, hlen) < 0 ||
        buf_append(&c->wq, p, len) < 0) {
        over_cap(c);
        return;
    }
    if (c->writing || c->flush_queued)
        return; /* on_write or the flush takes it */
    struct server *srv = c->srv;
    if (srv->nflush == srv->flush_cap) {
        srv->flush_cap = srv->flush_cap ? srv->flush_cap * 2 : 256;
        srv->flush_ids = xrealloc(srv->flush_ids, srv->flush_cap * sizeof(*srv->flush_ids));
    }
    if (srv->nflush == 0)
        uv_idle_start(&srv->flush_idle, on_flush_idle);
    srv->flush_ids[srv->nflush++] = c->id;
    c->flush_queued = true;
}

void conn__finish(struct conn *c)
{
    if (conn__closing(c))
        return;
    c->close_after_write = true;
    if (!c->writing && c->wq.len == 0)
        conn__close(c);
    else /* on_write, or the flush, closes it once the queue is out; reset if it never is */
        conn__set_state(c, c->kind == CONN_WS ? CS_WS_DRAINING : CS_WRITING);
}

/* One write per connection per loop iteration: try the socket, queue what it does not take. */
static void flush_conn(struct conn *c)
{
    c->flush_queued = false;
    if (conn__closing(c) || c->writing)
        return;
    if (c->wq.len) {
        uv_buf_t b = uv_buf_init(c->wq.p, (unsigned)c->wq.len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            conn__close(c);
            return;
        }
        if (n == (int)c->wq.len) {
            /* A small queue is kept for the next frames (no allocation per event on a busy
             * socket); a large one goes back. */
            if (c->wq.cap <= WQ_KEEP)
                buf_reset(&c->wq);
            else
                buf_release(&c->wq);
        } else {
            if (n > 0)
                buf_consume(&c->wq, (size_t)n);
            start_write(c);
            return;
        }
    }
    if (c->close_after_write)
        conn__end(c);
}

bool conn__room(struct conn *c, size_t need)
{
    if (c->wq.len + need <= c->wq.max)
        return true;
    if (!c->writing && c->wq.len)
        flush_conn(c); /* this iteration's frames so far: to the kernel, or in flight */
    return !conn__closing(c) && c->wq.len + need <= c->wq.max;
}

static void flush_all(struct server *srv)
{
    /* By index: flushing may queue more (appended, and flushed in this same pass). */
    for (size_t i = 0; i < srv->nflush; i++) {
        struct conn *c = map_get(&srv->conns, srv->flush_ids[i]);
        if (c)
            flush_conn(c);
    }
    srv->nflush = 0;
    uv_idle_stop(&srv->flush_idle);
}

static void on_flush(uv_check_t *h)
{
    flush_all(h->data);
}

/* ---- connection life ---- */

static void on_close(uv_handle_t *h)
{
    struct conn *c = containerof((uv_tcp_t *)h, struct conn, tcp);
    struct server *srv = c->srv;
    if (c->file)
        file_abort(c); /* the client left mid-file: its request ends here */
    if (c->req) {
        if ((c->req->dispatched || c->req->prechecking) && !c->req->responded)
            c->req->conn = NULL; /* orphaned: the handler frees it when it answers */
        else
            free_request(c->req);
    }
    ws__free(c);
    buf_release(&c->stash);
    buf_release(&c->wq);
    buf_release(&c->wfly);
    map_del(&srv->conns, c->id);
    srv->nconns--;
    free(c);
    if (srv->shutting_down && srv->inflight == 0 && srv->on_drained) {
        server_idle_fn fn = srv->on_drained;
        srv->on_drained = NULL;
        fn(srv);
    }
}

/* Close the handle; with reset, send RST (SO_LINGER 0) so the kernel drops unsent data at once. */
static void close_handle(struct conn *c, bool reset)
{
    if (conn__closing(c))
        return;
    tl_set(c, T_NONE);
    tp_set(c, false);
    c->state = CS_CLOSING; /* for good: conn__set_state refuses from here on */
    if (c->kind == CONN_WS)
        c->srv->nws--;
    if (!reset || c->shut || uv_tcp_close_reset(&c->tcp, on_close) != 0)
        uv_close((uv_handle_t *)&c->tcp, on_close);
}

void conn__close(struct conn *c)
{
    close_handle(c, false);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    UNUSED(h);
    UNUSED(suggested);
    if (read_buf_busy) { /* cannot happen with one loop thread; be safe anyway */
        *b = uv_buf_init(NULL, 0);
        return;
    }
    read_buf_busy = true;
    *b = uv_buf_init(read_buf, READ_BUF);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct conn *c = containerof((uv_tcp_t *)s, struct conn, tcp);
    if (b->base == read_buf)
        read_buf_busy = false;
    if (n == 0)
        return;
    if (n < 0) {
        conn__close(c);
        return;
    }
    c->last_rx = conn__now(c);
    if (c->close_after_write) {
        /* Answered and closing: discard what the peer still sends (bounded). */
        c->lingered += (size_t)n;
        if (c->state == CS_LINGERING)
            conn__touch(c);
        if (c->lingered > 64u * 1024 * 1024)
            conn__close(c);
        return;
    }
    if (c->kind == CONN_WS)
        ws__on_read(c, b->base, (size_t)n);
    else
        conn__feed(c, b->base, (size_t)n);
}

static void pause_reading(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void resume_reading(struct conn *c)
{
    if (!c->reading && !conn__closing(c)) {
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
        c->reading = true;
    }
}

/* ---- the budget of bodies not authenticated yet ---- */

static int unauth_reserve(struct http_req *r, size_t n)
{
    struct server *srv = r->srv;
    if (n > srv->lim.max_unauth_body || srv->unauth_body > srv->lim.max_unauth_body - n) {
        log_warn("http",
                 "req=%" PRIu64 " ip=%s body of %zu bytes over max-unauth-body-total (%zu held)",
                 r->id, r->ip, n, srv->unauth_body);
        return ERR_BUSY;
    }
    srv->unauth_body += n;
    r->unauth_reserved += n;
    return 0;
}

/* start_body: the body may come now: 100 Continue if asked for, and its timeout. */
static int start_body(struct conn *c)
{
    if (c->req->expect_continue && !c->req->upgrade)
        conn__write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (conn__closing(c))
        return -1; /* that write failed: stop parsing, conn__feed sees the close */
    conn__set_state(c, CS_READING_BODY);
    return 0;
}

/* ---- http-parser callbacks ---- */

static struct conn *pconn(http_parser *p)
{
    return containerof(p, struct conn, parser);
}

static int count_head(struct conn *c, size_t n)
{
    c->head_bytes += n;
    if (c->head_bytes > c->srv->lim.max_header) {
        c->early_err = ERR_HEADERS;
        return -1;
    }
    return 0;
}

static void append_span(struct arena *a, struct span *s, const char *p, size_t n)
{
    char *q = arena_alloc(a, s->len + n + 1);
    if (s->len)
        memcpy(q, s->p, s->len);
    memcpy(q + s->len, p, n);
    q[s->len + n] = '\0';
    s->p = q;
    s->len += n;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = pconn(p);
    if (!c->req)
        start_request(c);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    if (count_head(c, n) < 0)
        return -1;
    append_span(&c->req->arena, &c->req->url, at, n);
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    struct http_req *r = c->req;
    if (count_head(c, n) < 0)
        return -1;
    if (c->in_value || r->nheaders == 0 || c->hname.p == NULL) {
        /* ": " and CRLF of each header line count toward max-header too. */
        if (count_head(c, 4) < 0)
            return -1;
        if (r->nheaders == HTTP_MAX_HEADERS) {
            c->early_err = ERR_HEADERS;
            return -1;
        }
        c->in_value = false;
        c->hname = SPAN_NULL;
        r->headers[r->nheaders++] = (struct http_header){SPAN_NULL, SPAN_NULL};
    }
    append_span(&r->arena, &r->headers[r->nheaders - 1].name, at, n);
    c->hname = r->headers[r->nheaders - 1].name;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    struct http_req *r = c->req;
    if (count_head(c, n) < 0)
        return -1;
    c->in_value = true;
    append_span(&r->arena, &r->headers[r->nheaders - 1].value, at, n);
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = pconn(p);
    struct http_req *r = c->req;
    struct server *srv = c->srv;
    if (p->http_major != 1) { /* HTTP/0.9 request lines and anything but 1.x */
        c->early_err = ERR_INVAL;
        return -1;
    }
    r->method = p->method;
    r->method_name = http_method_str((enum http_method)p->method);
    r->keep_alive = http_should_keep_alive(p);
    r->upgrade = p->upgrade;
    /* Split and decode the target. */
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (r->url.len == 0 || http_parser_parse_url(r->url.p, r->url.len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        c->early_err = ERR_INVAL;
        return -1;
    }
    struct span raw_path = {r->url.p + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len};
    if (u.field_set & (1 << UF_QUERY))
        r->query = (struct span){r->url.p + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len};
    char *dec = arena_alloc(&r->arena, raw_path.len + 1);
    long dn = url_decode(raw_path, dec, false);
    if (dn < 0) {
        c->early_err = ERR_INVAL;
        return -1;
    }
    r->path = (struct span){dec, (size_t)dn};
    /* Body limits are known now for Content-Length; chunked bodies are counted as they come.
     * Upload routes take up to max-upload. */
    bool upload = false;
    if (p->method == HTTP_POST) {
        char allow[64];
        upload = router_match(srv->router, r, allow, sizeof(allow)) == ROUTER_FOUND &&
                 (r->route->flags & ROUTE_UPLOAD);
        if (upload)
            r->body.max = MAX(srv->lim.max_upload, srv->lim.max_body);
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->body.max) {
        c->early_err = ERR_TOOBIG;
        return -1;
    }
    if (srv->lim.trust_proxy) {
        struct span xff = http_header(r, "X-Forwarded-For");
        if (xff.len) {
            /* The last hop is the one our proxy added: the address it saw. */
            const char *comma = memrchr(xff.p, ',', xff.len);
            struct span last =
                comma ? (struct span){comma + 1, xff.len - (size_t)(comma + 1 - xff.p)} : xff;
            last = span_trim(last);
            if (last.len && last.len < sizeof(r->ip)) {
                memcpy(r->ip, last.p, last.len);
                r->ip[last.len] = '\0';
            }
        }
    }
    struct span expect = http_header(r, "Expect");
    if (expect.len && span_case_eq(expect, "100-continue"))
        r->expect_continue = true;
    if (upload && srv->router->precheck && !r->upgrade) {
        /* Who calls is decided on the head: the parser stops here (conn__feed runs the precheck),
         * no byte of the body is read, and 100 Continue waits for the verdict. */
        r->prechecking = true;
        http_parser_pause(p, 1);
        return 0;
    }
    /* The body of a request nobody has authenticated yet: the announced length counts against
     * the server-wide budget from now on (a client that announces much and trickles holds it). */
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0 &&
        unauth_reserve(r, (size_t)p->content_length) < 0) {
        c->early_err = ERR_BUSY;
        return -1;
    }
    return start_body(c);
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct conn *c = pconn(p);
    struct http_req *r = c->req;
    /* a chunked body that is not an authenticated upload's counts as it arrives */
    if ((!r->prechecked || r->budgeted) && !(p->flags & F_CONTENTLENGTH) &&
        unauth_reserve(r, n) < 0) {
        c->early_err = ERR_BUSY;
        return -1;
    }
    if (buf_append(&r->body, at, n) < 0) {
        c->early_err = ERR_TOOBIG;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = pconn(p);
    c->req->dispatched = true;
    http_parser_pause(p, 1); /* one request at a time; the rest waits in the stash */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* conn__feed: parses bytes; runs a request when one is complete; stashes what follows it. */
/* close_unhandled: closes a connection whose complete request was never handed to a handler (what
 * came after it does not fit the stash): nobody will answer it, so on_close must free it instead
 * of leaving it to an answer that never comes. */
static void close_unhandled(struct conn *c)
{
    c->req->dispatched = false;
    c->req->prechecking = false;
    conn__close(c);
}

void conn__feed(struct conn *c, const char *p, size_t len)
{
    if (conn__closing(c))
        return;
    if (len && !c->got_bytes) {
        c->got_bytes = true;
        if (c->state == CS_IDLE)
            conn__set_state(c, CS_READING_HEAD);
    }
    if (waits(c)) {
        /* A request is being answered (or its head checked): keep the bytes for later, and read
         * no more for now. */
        if (buf_append(&c->stash, p, len) < 0) {
            conn__close(c);
            return;
        }
        pause_reading(c);
        return;
    }
    size_t done = http_parser_execute(&c->parser, &parser_settings, p, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (conn__closing(c))
        return; /* a write inside a callback failed; on_close frees the request */
    if (e == HPE_PAUSED && c->req && c->req->prechecking) {
        /* Paused at the end of an upload's head: whatever came after it waits, and nothing more
         * is read, until the precheck lets the body come. */
        http_parser_pause(&c->parser, 0);
        if (done < len && buf_append(&c->stash, p + done, len - done) < 0) {
            close_unhandled(c);
            return;
        }
        pause_reading(c);
        precheck(c);
        return;
    }
    if (e == HPE_PAUSED) {
        http_parser_pause(&c->parser, 0);
        /* http-parser stops after the byte that completed the message. Only when more bytes came
         * with it do we stop reading (no epoll churn for the usual one request per read). */
        if (done < len) {
            if (buf_append(&c->stash, p + done, len - done) < 0) {
                close_unhandled(c);
                return;
            }
            pause_reading(c);
        }
        dispatch(c);
        return;
    }
    if (e != HPE_OK) {
        int err = c->early_err ? c->early_err : ERR_INVAL;
        log_debug("http", "conn=%" PRIu64 " parse error %s: %s", c->id, http_errno_name(e),
                  err_name(err));
        send_simple_error(c, err);
        return;
    }
    if (c->parser.upgrade && c->req && !c->req->dispatched) {
        /* An upgrade request without a body: http-parser returns at the end of the head. */
        c->req->dispatched = true;
        if (done < len && buf_append(&c->stash, p + done, len - done) < 0) {
            close_unhandled(c);
            return;
        }
        pause_reading(c);
        dispatch(c);
    }
}

/* precheck: the application sees an upload's head; it answers, or calls http_precheck_pass. While
 * it decides the request is in flight (a shutdown waits for it) and the connection has no timeout:
 * the wait is ours, not the client's. */
static void precheck(struct conn *c)
{
    struct server *srv = c->srv;
    conn__set_state(c, CS_HANDLING);
    srv->inflight++;
    srv->router->precheck(c->req);
}

void http_precheck_pass(struct http_req *r)
{
    struct server *srv = r->srv;
    struct conn *c = r->conn;
    if (!r->prechecking || r->responded) {
        log_err("http", "req=%" PRIu64 " precheck passed twice or after an answer (bug)", r->id);
        return;
    }
    if (c && r->budgeted && (c->parser.flags & F_CONTENTLENGTH) && c->parser.content_length > 0 &&
        unauth_reserve(r, (size_t)c->parser.content_length) < 0) {
        /* still the precheck's answer: the body is never read, the connection lingers */
        http_respond_error(r, ERR_BUSY, NULL, NULL);
        return;
    }
    r->prechecking = false;
    r->prechecked = true;
    srv->inflight--; /* the handler's turn comes with the body (dispatch counts it again) */
    if (!c) {
        /* The client left during the check: nothing will read the body. */
        free_request(r);
        if (srv->shutting_down && srv->inflight == 0 && srv->on_drained) {
            server_idle_fn fn = srv->on_drained;
            srv->on_drained = NULL;
            fn(srv);
        }
        return;
    }
    if (conn__closing(c) || start_body(c) < 0)
        return; /* on_close frees the request */
    if (c->stash.len) {
        /* What came with the head: the start of the body, maybe the whole request. */
        struct buf pending = c->stash;
        buf_init(&c->stash, srv->lim.max_body + srv->lim.max_header);
        conn__feed(c, pending.p, pending.len);
        buf_release(&pending);
    }
    /* (r may be gone: a whole request in the stash was answered at once) */
    if (!conn__closing(c) && !waits(c))
        resume_reading(c);
}

static void dispatch(struct conn *c)
{
    struct http_req *r = c->req;
    struct server *srv = c->srv;
    conn__set_state(c, CS_HANDLING); /* no timeout: the handler answers exactly once */
    srv->inflight++;
    srv->stats.requests++;
    char allow[128];
    switch (router_match(srv->router, r, allow, sizeof(allow))) {
    case ROUTER_FOUND:
        if (srv->router->dispatch)
            srv->router->dispatch(r);
        else
            r->route->fn(r);
        return;
    case ROUTER_BADMETHOD:
        http_add_header(r, "Allow: %s", allow);
        http_respond_error(r, ERR_METHOD, NULL, NULL);
        return;
    case ROUTER_NOTFOUND:
        if (srv->router->fallback && (r->method == HTTP_GET || r->method == HTTP_HEAD) &&
            !span_starts_with(r->path, "/api/"))
            srv->router->fallback(r);
        else
            http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
}

static void start_request(struct conn *c)
{
    struct http_req *r = xcalloc(1, sizeof(*r));
    arena_init(&r->arena);
    buf_init(&r->body, c->srv->lim.max_body);
    buf_init(&r->resp_headers, 64 * 1024);
    r->srv = c->srv;
    r->conn = c;
    r->conn_id = c->id;
    r->id = ++c->srv->next_req_id;
    r->start_ns = clock_mono_ns();
    memcpy(r->ip, c->ip, sizeof(r->ip));
    c->req = r;
    c->head_bytes = 0;
    c->hname = SPAN_NULL;
    c->in_value = false;
    c->early_err = 0;
}

static void free_request(struct http_req *r)
{
    r->srv->unauth_body -= r->unauth_reserved;
    buf_release(&r->body);
    buf_release(&r->resp_headers);
    arena_release(&r->arena);
    free(r);
}

/* next_request: the response is on its way and the connection stays open: parse the next
 * pipelined request, or wait for one. */
/* waits: input must wait in the stash: a request is being answered or its head checked, or the
 * last answer is still going out. */
static bool waits(const struct conn *c)
{
    return (c->req && (c->req->dispatched || c->req->prechecking)) || c->wait_drain;
}

static void next_request(struct conn *c)
{
    struct server *srv = c->srv;
    c->got_bytes = c->stash.len > 0;
    conn__set_state(c, c->got_bytes ? CS_READING_HEAD : CS_IDLE);
    http_parser_init(&c->parser, HTTP_REQUEST);
    if (c->stash.len) {
        /* Pipelined bytes: parse them now; conn__feed re-stashes what it cannot take. */
        struct buf pending = c->stash;
        buf_init(&c->stash, srv->lim.max_body + srv->lim.max_header);
        conn__feed(c, pending.p, pending.len);
        buf_release(&pending);
    }
    if (!conn__closing(c) && !waits(c))
        resume_reading(c);
}

/* finish_request: the request leaves the application (its response is queued, or it was
 * orphaned): the next request, or close. The connection may have closed meanwhile (a write of the
 * response failed): then it only waits for on_close, in no list. */
static void finish_request(struct http_req *r)
{
    struct server *srv = r->srv;
    struct conn *c = r->conn;
    srv->inflight--;
    if (c)
        c->req = NULL;
    bool keep = c && r->keep_alive && !c->close_after_write && !srv->shutting_down;
    free_request(r);
    if (c && !conn__closing(c) && c->kind == CONN_HTTP) {
        if (keep && c->wq.len + (c->writing ? c->wfly.len : 0) > HTTP_WQ_LOW) {
            /* Much of the answer still waits for the client: read the next request only once it
             * is out, so that a client pipelining requests without reading the answers cannot
             * make us queue more than one at a time. */
            c->wait_drain = true;
            conn__set_state(c, CS_WRITING);
        } else if (keep) {
            next_request(c);
        } else {
            c->close_after_write = true;
            if (c->writing)
                conn__set_state(c, CS_WRITING); /* on_write ends it */
            else
                conn__end(c);
        }
    }
    if (srv->shutting_down && srv->inflight == 0 && srv->on_drained) {
        server_idle_fn fn = srv->on_drained;
        srv->on_drained = NULL;
        fn(srv);
    }
}

void http__finish(struct http_req *r)
{
    finish_request(r);
}

/* ws.c takes over a connection after the 101: hand it the stashed bytes. */
void http__upgraded(struct conn *c)
{
    if (conn__closing(c))
        return;
    c->kind = CONN_WS;
    c->wq.max = c->wfly.max = c->srv->lim.ws_max_queue; /* a slow consumer is closed from now on */
    c->srv->nws++;
    c->srv->stats.ws_opened++;
    c->last_rx = conn__now(c);
    conn__set_state(c, CS_WS);
    if (c->stash.len) {
        struct buf pending = c->stash;
        buf_init(&c->stash, c->srv->lim.max_body + c->srv->lim.max_header);
        ws__on_read(c, pending.p, pending.len);
        buf_release(&pending);
    }
    if (!conn__closing(c))
        resume_reading(c);
}

/* ---- file responses ----
 *
 * A file is sent in chunks: one is read on the thread pool (uv_fs_read) into the stream's buffer,
 * handed to the socket without a copy, and the next is read only once the socket has taken it
 * (on_write calls file_pump). So a connection holds one chunk however large the file, a slow
 * reader slows the reads, and the loop never touches the disk. The response is the connection's
 * current request until the last chunk is out; pipelined requests wait in the stash meanwhile. If
 * the client leaves, on_close ends the request and the descriptor is closed, after the read in
 * flight if there is one. */

enum { FILE_CHUNK = 64 * 1024 };

struct file_send {
    uv_fs_t fs;
    struct server *srv;
    struct conn *c; /* NULL once the connection closed */
    struct http_req *r;
    uv_file fd;
    uint64_t off, left; /* the next byte to read; bytes still to read */
    size_t have;        /* bytes in buf the socket has not been given yet */
    bool reading;
    char buf[FILE_CHUNK];
};

static void on_fd_closed(uv_fs_t *req)
{
    uv_fs_req_cleanup(req);
    free(req->data);
}

void http__close_fd(struct server *srv, int fd)
{
    uv_fs_t *req = xcalloc(1, sizeof(*req));
    req->data = req;
    if (uv_fs_close(srv->loop, req, fd, on_fd_closed) < 0)
        free(req);
}

static void file_free(struct file_send *f)
{
    http__close_fd(f->srv, f->fd);
    free(f);
}

static void on_file_read(uv_fs_t *req)
{
    struct file_send *f = containerof(req, struct file_send, fs);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    f->reading = false;
    struct conn *c = f->c;
    if (!c) { /* the client left while this chunk was read */
        file_free(f);
        return;
    }
    if (n <= 0) {
        /* Read error, or the file shrank: the promised length cannot be sent. A reset tells the
         * client the body is cut short (a clean close could pass for the end of the body). */
        log_warn("http", "conn=%" PRIu64 " file read failed at %" PRIu64 ": %s", c->id, f->off,
                 n < 0 ? uv_strerror((int)n) : "end of file");
        close_handle(c, true);
        return;
    }
    f->off += (uint64_t)n;
    f->left -= (uint64_t)n;
    f->have = (size_t)n;
    file_pump(c);
}

/* file_pump: the next step of the stream, once the socket has taken everything before it. */
static void file_pump(struct conn *c)
{
    struct file_send *f = c->file;
    if (conn__closing(c) || f->reading || c->writing || c->wq.len)
        return; /* the read's completion or on_write calls again */
    if (f->have) {
        size_t n = f->have;
        f->have = 0;
        conn__touch(c); /* progress: the send deadline starts again */
        if (!write_borrowed(c, f->buf, n))
            return; /* in flight (buf is busy until on_write), or closed */
    }
    if (f->left == 0) {
        /* All of it is with the kernel: the request is done, the next may come. */
        struct http_req *r = f->r;
        c->file = NULL;
        file_free(f);
        finish_request(r);
        return;
    }
    uv_buf_t b = uv_buf_init(f->buf, (unsigned)MIN(f->left, (uint64_t)FILE_CHUNK));
    f->reading = true;
    if (uv_fs_read(c->srv->loop, &f->fs, f->fd, &b, 1, (int64_t)f->off, on_file_read) < 0) {
        f->reading = false;
        close_handle(c, true);
    }
}

void http__send_file(struct http_req *r, int fd, uint64_t off, uint64_t len)
{
    struct conn *c = r->conn;
    struct file_send *f = xmalloc(sizeof(*f));
    memset(f, 0, offsetof(struct file_send, buf));
    f->srv = c->srv;
    f->c = c;
    f->r = r;
    f->fd = fd;
    f->off = off;
    f->left = len;
    c->file = f;
    conn__set_state(c, CS_WRITING);
    file_pump(c);
}

/* file_abort: on_close with a file being sent: the request ends (orphaned), the descriptor closes
 * now or once the read in flight completes. No write is in flight: uv_close cancelled it. */
static void file_abort(struct conn *c)
{
    struct file_send *f = c->file;
    struct http_req *r = f->r;
    c->file = NULL;
    f->c = NULL;
    f->r = NULL;
    if (c->req == r)
        c->req = NULL;
    r->conn = NULL;
    finish_request(r);
    if (!f->reading)
        file_free(f);
}

/* ---- accepting ---- */

static void free_handle(uv_handle_t *h)
{
    free(containerof((uv_tcp_t *)h, struct conn, tcp));
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct server *srv = ls->data;
    if (status < 0)
        return;
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->tl.list = c->tp.list = T_NONE;
    uv_tcp_init(srv->loop, &c->tcp);
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, free_handle);
        return;
    }
    c->id = ++srv->next_conn_id;
    srv->nconns++;
    srv->stats.accepted++;
    map_put(&srv->conns, c->id, c);
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, c->ip, sizeof(c->ip));
        else
            uv_ip6_name((struct sockaddr_in6 *)&ss, c->ip, sizeof(c->ip));
    }
    buf_init(&c->stash, srv->lim.max_body + srv->lim.max_header);
    buf_init(&c->wq, SIZE_MAX / 2);
    buf_init(&c->wfly, SIZE_MAX / 2);
    http_parser_init(&c->parser, HTTP_REQUEST);
    if (srv->nconns > srv->lim.max_connections || srv->shutting_down) {
        send_simple_error(c, srv->shutting_down ? ERR_SHUTDOWN : ERR_CONNS);
        return;
    }
    conn__set_state(c, CS_READING_HEAD);
    resume_reading(c);
}

int server_init(struct server *srv, uv_loop_t *loop, struct router *router,
                const struct server_limits *lim)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->router = router;
    srv->lim = *lim;
    if (!srv->lim.max_unauth_body)
        srv->lim.max_unauth_body = SIZE_MAX; /* unset: no budget */
    srv->tl[T_HEADER].timeout = lim->header_timeout;
    srv->tl[T_BODY].timeout = lim->body_timeout;
    srv->tl[T_IDLE].timeout = lim->idle_timeout;
    srv->tl[T_WS_IDLE].timeout = lim->ws_idle_timeout;
    srv->tl[T_LINGER].timeout = 2000;
    srv->tl[T_SLOW].timeout = 10000;
    srv->tl[T_SEND].timeout = lim->send_timeout ? lim->send_timeout : 60000;
    map_init(&srv->conns, false);
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    uv_timer_init(loop, &srv->sweep);
    srv->sweep.data = srv;
    uv_check_init(loop, &srv->flush_check);
    srv->flush_check.data = srv;
    uv_check_start(&srv->flush_check, on_flush);
    uv_idle_init(loop, &srv->flush_idle);
    return 0;
}

int server_listen(struct server *srv, const char *hostport, char *err, size_t errlen)
{
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport) {
        snprintf(err, errlen, "listen address '%s' must be HOST:PORT", hostport);
        return ERR_INVAL;
    }
    size_t hl = (size_t)(colon - hostport);
    if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']')
        hostport++, hl -= 2;
    if (hl >= sizeof(srv->host)) {
        snprintf(err, errlen, "listen host too long");
        return ERR_INVAL;
    }
    memcpy(srv->host, hostport, hl);
    srv->host[hl] = '\0';
    int64_t port;
    if (!span_to_i64(span_of(colon + 1), &port) || port < 0 || port > 65535) {
        snprintf(err, errlen, "listen port '%s' must be 0..65535", colon + 1);
        return ERR_INVAL;
    }
    struct sockaddr_storage ss;
    if (uv_ip4_addr(srv->host, (int)port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(srv->host, (int)port, (struct sockaddr_in6 *)&ss) != 0) {
        snprintf(err, errlen, "listen host '%s' is not an IP address", srv->host);
        return ERR_INVAL;
    }
    int rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 4096, on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", hostport, uv_strerror(rc));
        return ERR_IO;
    }
    int sl = sizeof(ss);
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &sl);
    srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    srv->listening = true;
    uint64_t tick = srv->lim.ws_ping_interval;
    for (int i = 0; i < T_COUNT; i++)
        tick = MIN(tick, srv->tl[i].timeout);
    tick = MAX(MIN(tick / 4, 250), 10);
    uv_timer_start(&srv->sweep, on_sweep, tick, tick);
    return 0;
}

struct conn *server_conn(struct server *srv, uint64_t id)
{
    struct conn *c = map_get(&srv->conns, id);
    return c && !conn__closing(c) ? c : NULL;
}

void server_shutdown(struct server *srv, server_idle_fn on_drained)
{
    srv->shutting_down = true;
    srv->on_drained = on_drained;
    if (srv->listening) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = false;
    }
    struct map_entry *e;
    struct conn **list = xcalloc(srv->conns.len + 1, sizeof(*list));
    size_t n = 0;
    for (size_t it = 0; map_next(&srv->conns, &it, &e);)
        list[n++] = e->val;
    for (size_t i = 0; i < n; i++) {
        struct conn *c = list[i];
        if (c->kind == CONN_WS)
            ws__close(c, 1001, "server shutting down");
        else if (!c->req || !(c->req->dispatched || c->req->prechecking))
            conn__close(c);
        /* else: it closes after answering (finish_request sees shutting_down) */
    }
    free(list);
    if (srv->inflight == 0 && srv->on_drained) {
        srv->on_drained = NULL;
        on_drained(srv);
    }
}

void server_close(struct server *srv)
{
    flush_all(srv); /* the close frames server_shutdown queued, as far as the sockets take them */
    struct map_entry *e;
    for (size_t it = 0; map_next(&srv->conns, &it, &e);)
        conn__close(e->val);
    if (srv->listening) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = false;
    }
    if (!uv_is_closing((uv_handle_t *)&srv->sweep)) {
        uv_close((uv_handle_t *)&srv->sweep, NULL);
        uv_close((uv_handle_t *)&srv->flush_check, NULL);
        uv_close((uv_handle_t *)&srv->flush_idle, NULL);
    }
}

void server_release(struct server *srv)
{
    free(srv->flush_ids);
    srv->flush_ids = NULL;
    map_release(&srv->conns);
}
