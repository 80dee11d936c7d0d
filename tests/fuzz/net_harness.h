/* net_harness.h: the network driver shared by fuzz_http and fuzz_ws. It runs the real server
 * (src/net/server.c, unchanged, listening on 127.0.0.1 port 0) on a libuv loop in this process,
 * and plays the client over real loopback TCP sockets: the fuzzer's bytes go out in the splits the
 * input chooses, the loop runs until it is quiet after each one, and what the server answers is
 * read back and handed to the harness's checks. A client can end with a FIN, a half-close or a
 * reset (RST) at any point, which is where use-after-free bugs live.
 *
 * Why real sockets and not a test seam in server.c: the connection code is being rewritten on
 * another branch, and a harness that only uses the public server API (server_init, server_listen,
 * the router) keeps working across that rewrite. Loopback delivery is synchronous, so a send() is
 * in the server's socket buffer when it returns and one loop iteration reads it: runs are
 * close to deterministic. */
#ifndef PARLEY_FUZZ_NET_HARNESS_H
#define PARLEY_FUZZ_NET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/router.h"
#include "net/server.h"

/* A small deterministic generator seeded from the input, for split points and decisions. */
struct nh_rng {
    uint64_t s;
};
void nh_rng_seed(struct nh_rng *r, const uint8_t *p, size_t n);
uint32_t nh_rand(struct nh_rng *r);
/* nh_chunk: a chunk length for the next send: often 1..8 bytes, sometimes up to 64 or 4096. */
size_t nh_chunk(struct nh_rng *r);

typedef void (*nh_bytes_fn)(void *user, const uint8_t *p, size_t n);

struct nh_client {
    int fd;           /* -1 once closed */
    bool drain;       /* read what the server sends (false: a client that stops reading) */
    bool peer_closed; /* the server closed or reset its side */
    bool write_failed;
    size_t received;
    nh_bytes_fn on_bytes; /* sees every byte the server sent, in order (may be NULL) */
    void *user;
};

extern struct server nh_srv;
extern uv_loop_t *nh_loop;

/* nh_start: once per process: a loop, the server with these limits and router, listening. */
void nh_start(struct router *rt, const struct server_limits *lim);
/* nh_connect: a new client connection, accepted by the server when this returns (0), or -1. */
int nh_connect(struct nh_client *c, bool drain, nh_bytes_fn on_bytes, void *user);
/* nh_send: sends all of p, running the loop whenever the socket is full (bounded; a server that
 * stops reading for good leaves the rest unsent). Returns the bytes sent. */
size_t nh_send(struct nh_client *c, const uint8_t *p, size_t n);
/* nh_settle: runs the loop until nothing moves for a few iterations, reading every client. */
void nh_settle(void);
/* nh_close: FIN (reset false) or RST (reset true, SO_LINGER 0). nh_half_close: shutdown(SHUT_WR).
 */
void nh_close(struct nh_client *c, bool reset);
void nh_half_close(struct nh_client *c);
/* nh_finish: closes every client still open and runs the loop until the server has no connection
 * left; `pump` (may be NULL) is called between rounds to answer requests still in flight. Aborts if
 * a connection outlives its client: a leak the real server would only clear on a timeout. */
void nh_finish(void (*pump)(void));

#endif
