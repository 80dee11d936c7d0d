/* net_harness.c: the in-process server and its loopback clients (see net_harness.h). */
#include "base/sys.h"
#include "base/log.h"

#include "net/conn.h"
#include "net_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

struct server nh_srv;
uv_loop_t *nh_loop;

enum { MAX_CLIENTS = 8, SETTLE_MAX = 400, QUIET_ROUNDS = 3 };
static struct nh_client *clients[MAX_CLIENTS];
static bool trace; /* NH_TRACE=1: print what the server sends, to see what an input does */

void nh_rng_seed(struct nh_rng *r, const uint8_t *p, size_t n)
{
    r->s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++)
        r->s = (r->s ^ p[i]) * 0x100000001b3ull;
}

uint32_t nh_rand(struct nh_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((z ^ (z >> 31)) >> 16);
}

size_t nh_chunk(struct nh_rng *r)
{
    static const uint32_t span[] = {1, 2, 3, 8, 8, 64, 512, 4096};
    uint32_t most = span[nh_rand(r) % ARRAY_SIZE(span)];
    return 1 + nh_rand(r) % most;
}

/* ---- closed connections stay out of the timeout lists ----
 *
 * server.c once put a connection that was already closing back into a timeout list when the write
 * of an answer failed, and freed it there: the next operation on that list was a use-after-free
 * (docs/security.md). The connection state machine makes that impossible; the harness checks it:
 * it sees every close of a connection (link-time --wrap of uv_close and uv_tcp_close_reset,
 * tests/fuzz/CMakeLists.txt) and stops, with a message, if server.c's close callback is about to
 * free one that is still linked. (ASan would find it a little later, on the list's next use.) */

void __real_uv_close(uv_handle_t *h, uv_close_cb cb);
void __wrap_uv_close(uv_handle_t *h, uv_close_cb cb);
int __real_uv_tcp_close_reset(uv_tcp_t *h, uv_close_cb cb);
int __wrap_uv_tcp_close_reset(uv_tcp_t *h, uv_close_cb cb);

static struct {
    uv_handle_t *h;
    uv_close_cb cb;
} closing[64];

static struct conn *conn_of(uv_handle_t *h)
{
    struct map_entry *e;
    for (size_t it = 0; map_next(&nh_srv.conns, &it, &e);) {
        struct conn *c = e->val;
        if ((uv_handle_t *)&c->tcp == h)
            return c;
    }
    return NULL;
}

static void on_conn_closed(uv_handle_t *h)
{
    uv_close_cb cb = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(closing); i++)
        if (closing[i].h == h) {
            cb = closing[i].cb;
            closing[i].h = NULL;
            break;
        }
    struct conn *c = conn_of(h);
    if (c && (c->tl.list != T_NONE || c->tp.list != T_NONE)) {
        fprintf(stderr,
                "net_harness: connection %" PRIu64 " is freed while still in a timeout list (a "
                "closing connection was put back in a list)\n",
                c->id);
        abort();
    }
    if (cb)
        cb(h);
}

static uv_close_cb watch(uv_handle_t *h, uv_close_cb cb)
{
    if (!cb || !conn_of(h))
        return cb;
    for (size_t i = 0; i < ARRAY_SIZE(closing); i++)
        if (!closing[i].h) {
            closing[i].h = h;
            closing[i].cb = cb;
            return on_conn_closed;
        }
    fprintf(stderr, "net_harness: more than %zu connections closing at once\n",
            ARRAY_SIZE(closing));
    abort();
}

void __wrap_uv_close(uv_handle_t *h, uv_close_cb cb)
{
    __real_uv_close(h, watch(h, cb));
}

int __wrap_uv_tcp_close_reset(uv_tcp_t *h, uv_close_cb cb)
{
    uv_close_cb w = watch((uv_handle_t *)h, cb);
    int rc = __real_uv_tcp_close_reset(h, w);
    if (rc != 0 && w == on_conn_closed) /* not closed: forget it again */
        for (size_t i = 0; i < ARRAY_SIZE(closing); i++)
            if (closing[i].h == (uv_handle_t *)h)
                closing[i].h = NULL;
    return rc;
}

/* ---- the server ---- */

void nh_start(struct router *rt, const struct server_limits *lim)
{
    char err[256] = "";
    log_level = LOG_ERR;
    signal(SIGPIPE,
           SIG_IGN); /* as parleyd does: a write to a reset socket is an error, not death */
    trace = getenv("NH_TRACE") != NULL;
    nh_loop = xcalloc(1, sizeof(*nh_loop));
    if (uv_loop_init(nh_loop) != 0 || server_init(&nh_srv, nh_loop, rt, lim) < 0 ||
        server_listen(&nh_srv, "127.0.0.1:0", err, sizeof(err)) < 0) {
        fprintf(stderr, "net_harness: cannot start the server: %s\n", err);
        abort();
    }
}

static void track(struct nh_client *c, bool on)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (on && !clients[i]) {
            clients[i] = c;
            return;
        }
        if (!on && clients[i] == c) {
            clients[i] = NULL;
            return;
        }
    }
    if (on) {
        fprintf(stderr, "net_harness: more than %d clients\n", MAX_CLIENTS);
        abort();
    }
}

/* Reads what the server sent to c; returns the bytes read. */
static size_t drain(struct nh_client *c)
{
    if (c->fd < 0 || !c->drain || c->peer_closed)
        return 0;
    size_t total = 0;
    uint8_t b[16384];
    for (;;) {
        ssize_t n = recv(c->fd, b, sizeof(b), 0);
        if (n > 0) {
            total += (size_t)n;
            c->received += (size_t)n;
            if (trace)
                fprintf(stderr, "<<< %.*s\n", (int)n, (const char *)b);
            if (c->on_bytes)
                c->on_bytes(c->user, b, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            c->peer_closed = true;
        break;
    }
    return total;
}

static void count_closing(uv_handle_t *h, void *arg)
{
    if (uv_is_closing(h))
        ++*(int *)arg;
}

static bool loop_busy(void)
{
    int n = 0;
    uv_walk(nh_loop, count_closing, &n);
    return n > 0 || nh_srv.nflush > 0;
}

void nh_settle(void)
{
    int quiet = 0, waits = 0;
    for (int i = 0; i < SETTLE_MAX && quiet < QUIET_ROUNDS; i++) {
        uv_run(nh_loop, UV_RUN_NOWAIT);
        size_t got = 0;
        bool drains = true;
        for (int k = 0; k < MAX_CLIENTS; k++)
            if (clients[k]) {
                got += drain(clients[k]);
                drains = drains && clients[k]->drain;
            }
        if (got || loop_busy()) {
            quiet = 0;
            continue;
        }
        /* Work on the thread pool (static files) or writes in flight: give them a moment (not a
         * blocking loop run: a write waits for this client to read), unless a client does not
         * read (then writes stay in flight on purpose). */
        if (nh_loop->active_reqs.count > 0 && drains && waits < 2000) {
            if (waits++ > 8)
                usleep(20);
            i--;
            quiet = 0;
            continue;
        }
        quiet++;
    }
    if (trace)
        fprintf(stderr, "settle: waits=%d reqs=%u\n", waits, nh_loop->active_reqs.count);
}

/* ---- clients ---- */

int nh_connect(struct nh_client *c, bool drain_it, nh_bytes_fn on_bytes, void *user)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->drain = drain_it;
    c->on_bytes = on_bytes;
    c->user = user;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!drain_it) {
        int small = 4096; /* a client that does not read fills up soon */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)nh_srv.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t before = nh_srv.stats.accepted;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    track(c, true);
    for (int i = 0; i < 100 && nh_srv.stats.accepted == before; i++)
        uv_run(nh_loop, UV_RUN_NOWAIT);
    if (nh_srv.stats.accepted == before) {
        fprintf(stderr, "net_harness: the server did not accept a connection\n");
        abort();
    }
    return 0;
}

size_t nh_send(struct nh_client *c, const uint8_t *p, size_t n)
{
    size_t sent = 0;
    int stuck = 0;
    while (sent < n && c->fd >= 0 && !c->write_failed) {
        ssize_t k = send(c->fd, p + sent, n - sent, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
            stuck = 0;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (++stuck > 4)
                break; /* the server stopped reading (a request in flight): leave the rest */
            nh_settle();
            continue;
        }
        c->write_failed = true; /* EPIPE, ECONNRESET: the server closed */
    }
    return sent;
}

void nh_close(struct nh_client *c, bool reset)
{
    if (c->fd < 0)
        return;
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(c->fd);
    c->fd = -1;
    track(c, false);
}

void nh_half_close(struct nh_client *c)
{
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_WR);
}

void nh_finish(void (*pump)(void))
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i])
            nh_close(clients[i], false);
    for (int round = 0; round < 50; round++) {
        nh_settle();
        if (pump)
            pump();
        if (nh_srv.nconns == 0 && nh_srv.inflight == 0 && !loop_busy()) {
            /* No connection left, so no timeout list may still hold one: a freed connection in a
             * list is a use-after-free when the next one is linked in. */
            bool empty = !nh_srv.ws_ping.head && !nh_srv.ws_ping.tail;
            for (int i = 0; i < T_COUNT; i++)
                empty = empty && !nh_srv.tl[i].head && !nh_srv.tl[i].tail;
            if (!empty) {
                fprintf(stderr, "net_harness: a timeout list still links a closed connection\n");
                abort();
            }
            return;
        }
    }
    fprintf(stderr,
            "net_harness: %zu connection(s) and %zu request(s) still open after every client "
            "closed\n",
            nh_srv.nconns, nh_srv.inflight);
    abort();
}
