/* server.h: the listening server: connections, their timeouts and writes, on one libuv loop. */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/map.h"

struct http_req;
struct router;
struct conn;
struct server;

typedef void (*server_idle_fn)(struct server *srv);

struct server_limits {
    size_t max_body, max_upload, max_header, max_connections, ws_max_message, ws_max_queue;
    size_t max_unauth_body; /* bytes of bodies held at once for requests not authenticated yet */
    uint64_t header_timeout, body_timeout, idle_timeout, ws_idle_timeout, ws_ping_interval; /* ms */
    uint64_t send_timeout; /* ms a response may wait for the client to read before a reset */
    bool trust_proxy;      /* client address from the last X-Forwarded-For hop */
};

/* One intrusive doubly linked list per timeout class; a connection sits in at most one per link. */
struct tlist {
    struct conn *head, *tail;
    uint64_t timeout; /* ms */
};

/* T_SLOW: a WebSocket whose close frame is queued, draining its queue; reset if it stops draining.
 * T_SEND: an HTTP response waiting for the client to read it; reset if no write completes. */
enum tclass { T_NONE = -1, T_HEADER, T_BODY, T_IDLE, T_WS_IDLE, T_LINGER, T_SLOW, T_SEND, T_COUNT };

struct server_stats {
    uint64_t accepted, requests, ws_opened, ws_closed_slow;
};

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t sweep;
    /* Deferred writes (conn__write_later): connections with queued frames, by id, flushed once per
     * loop iteration by flush_check; flush_idle keeps the poll from blocking while any wait. */
    uv_check_t flush_check;
    uv_idle_t flush_idle;
    uint64_t *flush_ids;
    size_t nflush, flush_cap;
    struct router *router;
    struct server_limits lim;
    struct tlist tl[T_COUNT];
    struct tlist ws_ping; /* WebSockets ordered by when they last heard or pinged */
    struct map conns;     /* id -> conn */
    uint64_t next_conn_id, next_req_id;
    size_t nconns, nws, inflight;
    size_t unauth_body; /* bytes held (or announced) by bodies of requests not authenticated yet */
    bool listening, shutting_down;
    server_idle_fn on_drained; /* called once shutting down and no request is in flight */
    struct server_stats stats;
    char host[64];
    int port;
    void *app; /* borrowed */
};

int server_init(struct server *srv, uv_loop_t *loop, struct router *router,
                const struct server_limits *lim);
/* server_listen: binds HOST:PORT (port 0 picks one; srv->port has it after). */
int server_listen(struct server *srv, const char *hostport, char *err, size_t errlen);
/* server_shutdown: stops accepting, closes idle connections, lets in-flight requests finish (their
 * connections close after answering), sends WebSockets a 1001 close. on_drained runs when nothing
 * is in flight. */
void server_shutdown(struct server *srv, server_idle_fn on_drained);
/* server_close: closes every remaining handle; run the loop afterwards to let the closes finish. */
void server_close(struct server *srv);
void server_release(struct server *srv); /* after the loop has run the closes */
struct conn *server_conn(struct server *srv, uint64_t id);

/* metrics hook: called after each response with the route pattern ("unmatched" if none). */
typedef void (*server_metric_fn)(struct http_req *r, int status, uint64_t ns);
extern server_metric_fn server_on_response;

#endif
