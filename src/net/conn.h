/* conn.h: a client connection (module-internal to src/net). HTTP until a WebSocket upgrade, then
 * WS. Writes: one uv_write in flight; whatever is queued meanwhile is merged into one buffer and
 * written next (coalescing). Reads use one shared buffer per server, so an idle connection holds no
 * buffer. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <http_parser.h>
#include <uv.h>

#include "base/buf.h"
#include "net/server.h"
#include "net/http.h"

struct ws;

enum conn_kind { CONN_HTTP, CONN_WS };

struct tlink {
    struct conn *prev, *next;
    uint64_t t;  /* ms: when it entered its list */
    int8_t list; /* index into srv->tl, or T_NONE */
};

struct conn {
    uv_tcp_t tcp;
    struct server *srv;
    uint64_t id;
    enum conn_kind kind;
    http_parser parser;
    struct http_req *req; /* the request being read or answered */
    struct buf stash;     /* bytes read while a request was being answered */
    size_t head_bytes;    /* bytes of the current request head so far */
    struct span hname;    /* header name being accumulated (arena) */
    bool in_value;        /* last callback was a header value */
    bool reading, closing, close_after_write, got_bytes;
    bool write_closed; /* a slow WebSocket's close frame is queued: nothing more goes out */
    bool linger;       /* after an early error: drain the peer's bytes, then close */
    size_t lingered;   /* bytes discarded so far */
    uv_shutdown_t *shut;
    int early_err; /* an error found while parsing, answered at message end */
    /* writes */
    struct buf wq;   /* queued, not yet handed to uv_write */
    struct buf wfly; /* in flight */
    uv_write_t wreq;
    bool writing;
    bool flush_queued; /* in srv->flush_ids */
    /* timeouts */
    struct tlink tl;  /* header/body/idle/ws-idle list */
    struct tlink tp;  /* ws ping list */
    uint64_t last_rx; /* ms */
    /* current read chunk, for wslay's recv callback */
    const char *rd;
    size_t rdlen;
    struct ws *ws;
    char ip[48];
};

void conn__write(struct conn *c, const void *p, size_t len);
/* conn__write_later: queues bytes (head, then p) that go out at the end of this loop iteration,
 * together with whatever else was queued for the connection meanwhile (one write for all the frames
 * an iteration produced, however many events it published). Order with conn__write is kept. */
void conn__write_later(struct conn *c, const void *head, size_t hlen, const void *p, size_t len);
/* conn__room: whether `need` more bytes fit under the write queue's cap, once what is queued has
 * been offered to the socket. */
bool conn__room(struct conn *c, size_t need);
/* conn__finish: close once everything queued is written (now, if nothing is). */
void conn__finish(struct conn *c);
void conn__close(struct conn *c);
void conn__tl_set(struct conn *c, int list);
void conn__tp_set(struct conn *c, bool in);
uint64_t conn__now(struct conn *c);
void conn__feed(struct conn *c, const char *p, size_t len);

void http__finish(struct http_req *r); /* server.c: the response is queued */
void http__upgraded(struct conn *c);   /* server.c: the 101 went out; the conn is a WebSocket */

/* ws.c */
void ws__on_read(struct conn *c, const char *p, size_t len);
void ws__free(struct conn *c);
void ws__ping(struct conn *c);
void ws__close(struct conn *c, uint16_t code, const char *reason);
void ws__flush(struct conn *c);

#endif
