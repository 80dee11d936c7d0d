/* ws.c: WebSocket framing with wslay, over the connection's coalesced writes.
 *
 * wslay pulls input through recv_callback (we hand it the current read chunk) and pushes output
 * through send_callback (we append to the connection's write queue, so frames queued in one loop
 * iteration leave in one write). Sends are never issued from inside wslay's receive callback: they
 * are queued there and flushed after wslay_event_recv returns. */
#include "base/sys.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

struct ws {
    wslay_event_context_ptr ctx;
    const struct ws_handler *h;
    void *user;
    bool in_recv, close_queued;
};

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud)
{
    UNUSED(flags);
    struct conn *c = ud;
    if (c->rdlen == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = MIN(len, c->rdlen);
    memcpy(buf, c->rd, n);
    c->rd += n;
    c->rdlen -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    UNUSED(flags);
    struct conn *c = ud;
    if (c->closing) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    conn__write(c, data, len);
    if (c->closing) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    UNUSED(ctx);
    struct conn *c = ud;
    struct ws *ws = c->ws;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        if (ws->h->on_text)
            ws->h->on_text(c->srv, c->id, ws->user, (const char *)arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        wslay_event_queue_close(ws->ctx, 1003, (const uint8_t *)"binary frames are not supported",
                                31);
        ws->close_queued = true;
    }
    /* ping: wslay queues the pong; pong: counts as activity (read time already updated); close:
     * wslay queues the reply and stops reading. */
}

/* RFC 6455 5.5.1: a close body starts with a 2-byte code, so a 1-byte body is a protocol error.
 * wslay would echo it without a code; answer 1002 before it does. (Frame-level violations, such as
 * a ping over 125 bytes or a fragmented control frame, are rejected inside wslay's frame parser,
 * which sends a close frame without a status code: allowed, since RFC 6455 7.1.7 says SHOULD, not
 * MUST.) */
static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    struct conn *c = ud;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1) {
        wslay_event_queue_close(ctx, 1002, NULL, 0);
        wslay_event_shutdown_read(ctx);
        if (c->ws)
            c->ws->close_queued = true;
    }
}

void ws__flush(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws || c->closing || ws->in_recv)
        return;
    if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) < 0) {
        conn__close(c);
        return;
    }
    if (c->closing)
        return;
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        /* Close handshake done (or we gave up on the peer): close once the bytes are out. */
        c->close_after_write = true;
        if (!c->writing)
            conn__close(c);
    }
}

void ws__on_read(struct conn *c, const char *p, size_t len)
{
    struct ws *ws = c->ws;
    if (!ws || c->closing || c->write_closed)
        return; /* closed for being slow: what it says no longer matters (the linger timer runs) */
    c->rd = p;
    c->rdlen = len;
    conn__tl_set(c, T_WS_IDLE);
    conn__tp_set(c, true);
    ws->in_recv = true;
    int rc = wslay_event_recv(ws->ctx);
    ws->in_recv = false;
    c->rd = NULL;
    c->rdlen = 0;
    if (rc < 0) {
        /* A protocol error: wslay has queued a close frame (1002, 1007, 1009 ...). Send it, then
         * close. */
        ws->close_queued = true;
        if (wslay_event_want_write(ws->ctx))
            wslay_event_send(ws->ctx);
        if (!c->closing) {
            c->close_after_write = true;
            if (!c->writing)
                conn__close(c);
        }
        return;
    }
    ws__flush(c);
}

void ws__ping(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws || c->closing)
        return;
    struct wslay_event_msg m = {WSLAY_PING, NULL, 0};
    wslay_event_queue_msg(ws->ctx, &m);
    ws__flush(c);
}

void ws__close(struct conn *c, uint16_t code, const char *reason)
{
    struct ws *ws = c->ws;
    if (!ws || ws->close_queued || c->closing) {
        conn__close(c);
        return;
    }
    ws->close_queued = true;
    size_t rl = reason ? MIN(strlen(reason), 123) : 0;
    wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, rl);
    ws__flush(c);
    /* Do not wait for the peer's close reply: close as soon as our frame is out. */
    if (!c->closing) {
        c->close_after_write = true;
        if (!c->writing)
            conn__close(c);
    }
}

void ws__free(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws)
        return;
    c->ws = NULL;
    if (ws->h->on_close)
        ws->h->on_close(c->srv, c->id, ws->user);
    wslay_event_context_free(ws->ctx);
    free(ws);
}

static bool header_has_token(struct span v, const char *token)
{
    while (v.len) {
        struct span t = span_trim(span_split(&v, ','));
        if (span_case_eq(t, token))
            return true;
    }
    return false;
}

int ws_accept(struct http_req *r, const struct ws_handler *h, void *user, uint64_t *conn_id)
{
    struct conn *c = r->conn;
    if (!c || c->closing) {
        http_respond(r, 499, NULL, NULL, 0);
        return ERR_CLOSED;
    }
    struct span key = http_header(r, "Sec-WebSocket-Key");
    struct span ver = http_header(r, "Sec-WebSocket-Version");
    if (!r->upgrade || !header_has_token(http_header(r, "Upgrade"), "websocket") ||
        !header_has_token(http_header(r, "Connection"), "upgrade") || key.len != 24) {
        http_add_header(r, "Upgrade: websocket");
        http_respond_error(r, ERR_INVAL, NULL,
                           "This endpoint takes WebSocket upgrades only (Upgrade: websocket).");
        return ERR_INVAL;
    }
    if (!span_eq_cstr(ver, "13")) {
        http_add_header(r, "Sec-WebSocket-Version: 13");
        http_respond_error(r, ERR_INVAL, NULL, "Only WebSocket version 13 is supported.");
        return ERR_INVAL;
    }
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char sha[SHA_DIGEST_LENGTH];
    char in[24 + sizeof(guid)];
    memcpy(in, key.p, 24);
    memcpy(in + 24, guid, sizeof(guid) - 1);
    SHA1((const unsigned char *)in, 24 + sizeof(guid) - 1, sha);
    char accept[32];
    EVP_EncodeBlock((unsigned char *)accept, sha, SHA_DIGEST_LENGTH);

    struct ws *ws = xcalloc(1, sizeof(*ws));
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .on_frame_recv_start_callback = on_frame_start,
        .on_msg_recv_callback = on_msg,
    };
    if (wslay_event_context_server_init(&ws->ctx, &cbs, c) != 0) {
        free(ws);
        http_respond_error(r, ERR_INTERNAL, NULL, NULL);
        return ERR_INTERNAL;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, c->srv->lim.ws_max_message);
    ws->h = h;
    ws->user = user;
    c->ws = ws;
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    conn__write(c, head, (size_t)n);
    r->responded = true;
    r->status = 101;
    if (server_on_response)
        server_on_response(r, 101, 0);
    c->kind = CONN_WS;
    http__finish(r);
    if (conn_id)
        *conn_id = c->id;
    http__upgraded(c);
    return 0;
}

int ws_send_text(struct server *srv, uint64_t conn_id, const char *p, size_t len)
{
    struct conn *c = server_conn(srv, conn_id);
    if (!c || !c->ws || c->ws->close_queued || c->write_closed)
        return ERR_CLOSED;
    /* A client that does not read: decide at a frame boundary, so what it has is whole frames
     * followed by a close frame with the reason. */
    if (c->wq.len + len + 14 > c->wq.max) {
        conn__slow_close(c);
        return ERR_CLOSED;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)p, len};
    if (wslay_event_queue_msg(c->ws->ctx, &m) != 0)
        return ERR_CLOSED;
    ws__flush(c);
    return 0;
}

void ws_close(struct server *srv, uint64_t conn_id, uint16_t code, const char *reason)
{
    struct conn *c = server_conn(srv, conn_id);
    if (c)
        ws__close(c, code, reason);
}
