/* ws.h: WebSocket connections (RFC 6455) on wslay. A handler upgrades a request with ws_accept();
 * from then on messages arrive through the ws_handler callbacks and go out with ws_send_text(), by
 * connection id, so other modules never hold a pointer to a connection. */
#ifndef PARLEY_WS_H
#define PARLEY_WS_H

#include <stddef.h>
#include <stdint.h>

struct http_req;
struct server;

struct ws_handler {
    /* on_text: a whole text message (reassembled, UTF-8 checked, at most ws-max-message bytes). */
    void (*on_text)(struct server *srv, uint64_t conn_id, void *user, const char *p, size_t len);
    /* on_close: the connection is gone; free `user` here. Called exactly once after a successful
     * ws_accept. */
    void (*on_close)(struct server *srv, uint64_t conn_id, void *user);
};

/* ws_accept: checks the upgrade headers and answers 101 (or 400/426 and returns < 0). On success
 * the request is finished, and `user` (borrowed until on_close) is attached to the connection. */
int ws_accept(struct http_req *r, const struct ws_handler *h, void *user, uint64_t *conn_id);
/* ws_send_text: queues a text message; ERR_CLOSED when the connection is gone. A client whose queue
 * passes ws-max-queue bytes is closed (slow consumer). */
int ws_send_text(struct server *srv, uint64_t conn_id, const char *p, size_t len);
void ws_close(struct server *srv, uint64_t conn_id, uint16_t code, const char *reason);

#endif
