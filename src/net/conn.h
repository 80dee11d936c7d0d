/* conn.h: a client connection (module-internal to src/net). HTTP until a WebSocket upgrade, then
 * WS. Writes: one uv_write in flight; whatever is queued meanwhile is merged into one buffer and
 * written next (coalescing). Reads use one shared buffer per server, so an idle connection holds no
 * buffer.
 *
 * Its life is a state machine (enum conn_state), and the timeout list a connection sits in follows
 * from its state alone (conn__set_state): nothing links a connection into a list directly. Once it
 * is CS_CLOSING (uv_close called, freed by on_close) no state change is taken any more, so a
 * connection that closed while a caller still held it (a write failed inside a response) can never
 * be linked into a list again and freed while linked. */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <http_parser.h>
#include <uv.h>

#include "base/buf.h"
#include "net/server.h"
#include "net/http.h"

struct ws;
struct file_send;

enum conn_kind { CONN_HTTP, CONN_WS };

/* The lifecycle, with the timeout list of each state. */
enum conn_state {
    CS_READING_HEAD, /* T_HEADER: waiting for (the rest of) a request head */
    CS_READING_BODY, /* T_BODY: the head is in, the body is arriving */
    CS_HANDLING,     /* none: the application has the request and answers exactly once */
    CS_WRITING,      /* T_SEND: a response goes out and the next step waits for the socket (a
                      * file being streamed, a large queue, or closing once written) */
    CS_IDLE,         /* T_IDLE: keep-alive between requests */
    CS_LINGERING,    /* T_LINGER: answered early, our side shut down, draining the peer's bytes */
    CS_WS,           /* T_WS_IDLE and the ping list: an open WebSocket */
    CS_WS_DRAINING,  /* T_SLOW: our close frame is queued; reset if the peer stops draining */
    CS_CLOSING,      /* none, ever again: uv_close was called, on_close frees it */
};

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
    enum conn_state state;
    http_parser parser;
    struct http_req *req; /* the request being read or answered */
    struct buf stash;     /* bytes read while a request was being answered */
    size_t head_bytes;    /* bytes of the current request head so far */
    struct span hname;    /* header name being accumulated (arena) */
    bool in_value;        /* last callback was a header value */
    bool reading, close_after_write, got_bytes;
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
    bool flush_queued;      /* in srv->flush_ids */
    bool wait_drain;        /* keep-alive: the next request waits until the queue is written */
    struct file_send *file; /* the file being streamed as the current response */
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
static inline bool conn__closing(const struct conn *c)
{
    return c->state == CS_CLOSING;
}
/* conn__set_state: moves the connection to a state and into that state's timeout list (at its
 * tail: the deadline restarts). Refused on a closing connection (an assertion in debug builds). */
void conn__set_state(struct conn *c, enum conn_state s);
/* conn__touch: restarts the deadline of the current state (activity). */
void conn__touch(struct conn *c);
uint64_t conn__now(struct conn *c);
void conn__feed(struct conn *c, const char *p, size_t len);

void http__finish(struct http_req *r); /* server.c: the response is queued */
/* http__send_file: server.c: after the head is queued, streams len bytes of fd from off (takes
 * fd), then finishes the request. r's connection is open. */
void http__send_file(struct http_req *r, int fd, uint64_t off, uint64_t len);
/* http__close_fd: closes a descriptor on the thread pool. */
void http__close_fd(struct server *srv, int fd);
void http__upgraded(struct conn *c); /* server.c: the 101 went out; the conn is a WebSocket */

/* ws.c */
void ws__on_read(struct conn *c, const char *p, size_t len);
void ws__free(struct conn *c);
void ws__ping(struct conn *c);
void ws__close(struct conn *c, uint16_t code, const char *reason);
void ws__flush(struct conn *c);

#endif
