/* ws.c: WebSocket connections: wslay parses what clients send; frames to clients are built here.
 *
 * Memory is the point of the split. A wslay server context is ~8.8 KB (two 4 KB input buffers),
 * and an idle visitor's page holds its socket for hours, so the context exists only while input
 * is being parsed: it is created when bytes arrive and freed again once they formed whole frames
 * and whole messages, and nothing wslay queued (a pong, a close reply) is left to send. Whether
 * the parser holds part of a frame is known by counting: bytes handed to it against the sizes of
 * the frames it reported (header + payload). An idle WebSocket is then its connection struct and
 * the application's state, not a parser.
 *
 * Server frames (text, ping, close) are never masked and are a 2-10 byte header in front of the
 * payload, so they are written directly, with conn__write_later: every frame a loop iteration
 * produces for one connection leaves in one write. wslay still sends the control frames it
 * answers by itself (pongs, close replies, protocol-error closes), through send_callback. */
#include "base/sys.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

struct ws {
    wslay_event_context_ptr ctx; /* NULL while idle */
    const struct ws_handler *h;
    void *user;
    uint64_t fed;    /* bytes handed to the parser since ctx was created */
    uint64_t framed; /* header + payload bytes of the frames it has started */
    uint8_t frame_op;
    bool frame_fin, in_frame, msg_open; /* a frame, or a fragmented message, not yet complete */
    bool in_recv, close_queued;
};

enum { OP_TEXT = 1, OP_CLOSE = 8, OP_PING = 9 };

static size_t frame_head(uint8_t *h, int op, size_t len)
{
    h[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static void write_frame(struct conn *c, int op, const void *p, size_t len)
{
    uint8_t h[10];
    conn__write_later(c, h, frame_head(h, op, len), p, len);
}

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
    c->ws->fed += n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud)
{
    UNUSED(flags);
    struct conn *c = ud;
    if (conn__closing(c)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    conn__write_later(c, data, len, NULL, 0);
    if (conn__closing(c)) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud)
{
    struct conn *c = ud;
    struct ws *ws = c->ws;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        if (ws->h->on_text)
            ws->h->on_text(c->srv, c->id, ws->user, (const char *)arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        wslay_event_queue_close(ctx, 1003, (const uint8_t *)"binary frames are not supported", 31);
        ws->close_queued = true;
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        ws->close_queued = true; /* wslay queues the reply; nothing else may follow it */
    }
    /* ping: wslay queues the pong; pong: counts as activity (read time already updated). */
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
    struct ws *ws = c->ws;
    uint64_t len = arg->payload_length;
    /* Client frames are always masked (wslay rejects others): 2 + extended length + 4. */
    ws->framed += 2 + (len < 126 ? 0 : len <= 0xffff ? 2 : 8) + 4 + len;
    ws->frame_op = arg->opcode;
    ws->frame_fin = arg->fin;
    ws->in_frame = true;
    if (arg->opcode == WSLAY_CONNECTION_CLOSE && arg->payload_length == 1) {
        wslay_event_queue_close(ctx, 1002, NULL, 0);
        wslay_event_shutdown_read(ctx);
        ws->close_queued = true;
    }
}

static void on_frame_end(wslay_event_context_ptr ctx, void *ud)
{
    UNUSED(ctx);
    struct ws *ws = ((struct conn *)ud)->ws;
    ws->in_frame = false;
    if (!(ws->frame_op & 8)) /* data or continuation; control frames sit between fragments */
        ws->msg_open = !ws->frame_fin;
}

static int parser_open(struct conn *c)
{
    struct ws *ws = c->ws;
    static const struct wslay_event_callbacks cbs = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .on_frame_recv_start_callback = on_frame_start,
        .on_frame_recv_end_callback = on_frame_end,
        .on_msg_recv_callback = on_msg,
    };
    if (wslay_event_context_server_init(&ws->ctx, &cbs, c) != 0) {
        ws->ctx = NULL;
        return ERR_INTERNAL;
    }
    wslay_event_config_set_max_recv_msg_length(ws->ctx, c->srv->lim.ws_max_message);
    ws->fed = ws->framed = 0;
    ws->in_frame = ws->msg_open = false;
    return 0;
}

/* The parser goes once it holds nothing: no partial frame or message, nothing left to send. */
static void parser_maybe_free(struct ws *ws)
{
    if (!ws->ctx || ws->in_recv || ws->close_queued || ws->in_frame || ws->msg_open ||
        ws->fed != ws->framed || !wslay_event_want_read(ws->ctx) || wslay_event_want_write(ws->ctx))
        return;
    wslay_event_context_free(ws->ctx);
    ws->ctx = NULL;
}

void ws__flush(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws || !ws->ctx || conn__closing(c) || ws->in_recv)
        return;
    if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) < 0) {
        conn__close(c);
        return;
    }
    if (conn__closing(c))
        return;
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        /* Close handshake done (or we gave up on the peer): close once the bytes are out. */
        conn__finish(c);
        return;
    }
    parser_maybe_free(ws);
}

void ws__on_read(struct conn *c, const char *p, size_t len)
{
    struct ws *ws = c->ws;
    if (!ws || conn__closing(c) || c->write_closed)
        return; /* closed for being slow: what it says no longer matters (the linger timer runs) */
    if (!ws->ctx && parser_open(c) < 0) {
        conn__close(c);
        return;
    }
    c->rd = p;
    c->rdlen = len;
    conn__set_state(c, CS_WS); /* heard from: idle and ping deadlines start again */
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
        conn__finish(c);
        return;
    }
    ws__flush(c);
}

void ws__ping(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws || conn__closing(c) || c->write_closed || ws->close_queued)
        return;
    write_frame(c, OP_PING, NULL, 0);
}

/* Our close frame, the last thing written; we do not wait for the peer's reply but close as soon
 * as ours is out. */
static void queue_close(struct conn *c, uint16_t code, const char *reason)
{
    c->ws->close_queued = true;
    size_t rl = reason ? MIN(strlen(reason), 123) : 0;
    uint8_t body[125];
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    if (rl)
        memcpy(body + 2, reason, rl);
    write_frame(c, OP_CLOSE, body, 2 + rl);
    c->write_closed = true;
    conn__finish(c);
}

void ws__close(struct conn *c, uint16_t code, const char *reason)
{
    struct ws *ws = c->ws;
    if (!ws || ws->close_queued || conn__closing(c) || c->write_closed) {
        conn__close(c);
        return;
    }
    queue_close(c, code, reason);
}

/* A client that does not read: what it has is whole frames followed by a close frame with the
 * reason, which it finds if it drains; if no write completes for 10 s (T_SLOW), it is reset. */
static void slow_close(struct conn *c)
{
    log_warn("net", "conn=%" PRIu64 " ip=%s write queue over %zu bytes: closing slow client", c->id,
             c->ip, c->wq.max);
    c->srv->stats.ws_closed_slow++;
    c->wq.max += 2 + 125; /* the close frame goes past the cap */
    /* conn__finish makes it CS_WS_DRAINING: refreshed while it drains, reset if it stops */
    queue_close(c, 1008, "too slow: the server's queue for you is full; reconnect");
}

void ws__free(struct conn *c)
{
    struct ws *ws = c->ws;
    if (!ws)
        return;
    c->ws = NULL;
    if (ws->h->on_close)
        ws->h->on_close(c->srv, c->id, ws->user);
    if (ws->ctx)
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
    if (!c || conn__closing(c)) {
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

    struct ws *ws = xcalloc(1, sizeof(*ws)); /* the parser comes with the first bytes */
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
    /* A client that does not read: decided at a frame boundary. */
    if (!conn__room(c, len + 14)) {
        if (!conn__closing(c))
            slow_close(c);
        return ERR_CLOSED;
    }
    write_frame(c, OP_TEXT, p, len);
    return 0;
}

void ws_close(struct server *srv, uint64_t conn_id, uint16_t code, const char *reason)
{
    struct conn *c = server_conn(srv, conn_id);
    if (c)
        ws__close(c, code, reason);
}
