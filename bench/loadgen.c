/* loadgen.c: the load generator behind Parley's conversation benchmarks (bench/bench.sh runs it).
 *
 * Modes (--mode):
 *   latency  logs an agent in and opens its WebSocket, creates N widget sessions, opens N visitor
 *            WebSockets and waits for every hello, then sends message.send at a fixed total rate
 *            (open loop: a timer schedule, never waiting for acks) for D seconds. It measures
 *            send -> ack at the visitor and send -> message.created at the agent. The send time
 *            travels in the message ("content":"t<ns>"), so matching needs no table.
 *   sweep    the same set-up, then one latency phase per rate (--rates), stopping at the first
 *            rate that fails, then bisecting; reports the largest rate whose p99 send -> agent
 *            stays under --p99-ms with nothing lost.
 *   idle     opens N visitor WebSockets, answers pings, holds them for --hold seconds; reports
 *            how many were established, failures, the time taken and, with --pid, the server's
 *            RSS per connection (and the kernel slab growth per connection).
 *   selftest feeds the frame parser batched, split and fragmented frames with 7, 16 and 64-bit
 *            lengths and checks what comes out, and that a ping is answered by a masked pong.
 *
 * Design: one thread, one level-triggered epoll set, non-blocking sockets and one shared read
 * buffer. A connection keeps only the bytes of an incomplete response or frame and whatever the
 * kernel did not take. The send schedule is a timerfd armed at the next send's absolute time;
 * the lag of each send behind its schedule is reported, so a load generator that falls behind
 * shows instead of hiding the server's tail.
 * Client frames are masked with a xorshift PRNG; the Sec-WebSocket-Key is a fixed nonce and the
 * accept header is not checked (the status line is). With many connections the client sockets
 * bind to 127.0.0.1, 127.0.0.2, ... (IP_BIND_ADDRESS_NO_PORT, one address per 5,000 by default)
 * so one server port can take more than the ~28k ephemeral ports of one source address, and
 * connect() does not crawl as they fill (19,000 connections: 4.2 s from one address, 1.2 s from
 * four). A connection costs its 72-byte struct here, plus its share of a token.
 *
 * Output: one `key=value` line per phase on stdout; progress and errors on stderr. Exit status 0
 * when the run completed, 1 when it completed with failures, 2 on a set-up error, 3 on the hard
 * timeout. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_MSG (16u << 20)   /* largest server message accepted */
#define MAX_HEAD (64u << 10)  /* largest HTTP response head */
#define READ_BUF (256u << 10) /* the shared read buffer */
#define MAX_THREADS 128       /* server threads sampled for CPU */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="

enum mode { MODE_LATENCY, MODE_SWEEP, MODE_IDLE, MODE_SELFTEST };
enum kind { K_HTTP, K_AGENT, K_VISITOR, K_TEST };
enum state { S_CONNECTING, S_HTTP, S_OPEN, S_CLOSED };
enum purpose { P_NONE, P_LOGIN, P_INBOXES, P_SESSION };
enum { OP_CONT = 0, OP_TEXT = 1, OP_BIN = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

struct buf {
    char *p;
    uint32_t len, cap;
};

struct conn {
    int fd;
    uint8_t kind, state, purpose;
    bool pollout, hello;
    uint8_t frag_op;
    uint32_t idx;  /* visitor index */
    uint32_t sent; /* messages sent (the client_id's suffix) */
    struct buf in, out, frag;
};

struct samples {
    uint64_t *v;
    size_t n, cap;
};

/* One measured stretch: `total` sends at `rate`, or one per visitor (warm-up). */
struct phase {
    const char *name;
    double rate;
    bool once;
    uint64_t total, next;
    int64_t start, send_end, end;
    uint64_t sent, acked, received, errors, skipped, late, agent_events;
    struct samples ack, agent, lag;
};

struct cpu_snap {
    int64_t at;
    double self_s;
    uint64_t busy, steal; /* the whole machine, from /proc/stat */
    uint64_t total;
    int n;
    int tid[MAX_THREADS];
    uint64_t ticks[MAX_THREADS];
};

struct opts {
    enum mode mode;
    const char *host;
    int port;
    const char *email, *password, *widget_token;
    int visitors, sessions, conc_ws, conc_http, src_addrs, warmup, refine, retries;
    double rate, duration, drain, hold, timeout, p99_ms;
    const char *rates;
    int pid;
};

static struct {
    struct opts o;
    struct sockaddr_in addr;
    int ep, tfd;
    int64_t timer_at, deadline;
    char *rbuf;
    uint64_t rng;
    uint32_t run_id;
    bool stopping;

    char agent_token[256], widget_token[128];
    bool agent_ready, agent_lost, login_done;
    struct conn *agent;
    struct conn **owned; /* conn_new's, freed at exit */
    int nowned;

    char **tokens;
    int ntokens, tokens_want, tokens_asked;

    struct conn *vis;
    int nvis, vis_next, vis_pending, vis_upgraded, vis_hello, vis_failed, vis_dropped;
    int vis_rejected, last_status;

    uint64_t pings, pongs, closes_in, total_sent, total_acked, total_received, total_errors;
    int errors_printed;
    struct phase *ph;

    uint64_t test_msgs, test_bytes;
} G;

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("error=setup reason=\"%s\"\n", msg);
    fprintf(stderr, "loadgen: %s\n", msg);
    fflush(stdout);
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n)
        die("out of memory (%zu bytes)", n);
    return q;
}

static uint32_t rnd(void)
{
    uint64_t x = G.rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    G.rng = x;
    return (uint32_t)(x >> 32);
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if ((size_t)b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < (size_t)b->len + n)
            cap *= 2;
        if (cap > UINT32_MAX)
            die("buffer over 4 GiB");
        b->p = xrealloc(b->p, cap);
        b->cap = (uint32_t)cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += (uint32_t)n;
}

static void buf_drop(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        if (b->cap > 65536) { /* give back what a burst took */
            free(b->p);
            b->p = NULL;
            b->cap = 0;
        }
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= (uint32_t)n;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void sample_add(struct samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void samples_sort(struct samples *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
}

/* pct: the nearest-rank percentile of sorted samples, in microseconds. */
static uint64_t pct(const struct samples *s, double p)
{
    if (!s->n)
        return 0;
    size_t k = (size_t)(p * (double)s->n);
    if ((double)k < p * (double)s->n)
        k++;
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    return s->v[k - 1] / 1000;
}

/* has: whether the span contains the NUL-terminated needle. */
static bool has(const char *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

/* jstr: copies the string value of the first "key" in p (no escapes expected: tokens). */
static bool jstr(const char *p, size_t n, const char *key, char *out, size_t cap)
{
    char pat[64];
    int pl = snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char *end = p + n, *q = memmem(p, n, pat, (size_t)pl);
    if (!q)
        return false;
    q += pl;
    while (q < end && (*q == ' ' || *q == ':'))
        q++;
    if (q >= end || *q != '"')
        return false;
    q++;
    size_t i = 0;
    while (q < end && *q != '"' && *q != '\\' && i + 1 < cap)
        out[i++] = *q++;
    if (q >= end || *q != '"')
        return false;
    out[i] = 0;
    return true;
}

/* content_ns: the send time in a message this program sent ("content":"t<ns>"), or 0. */
static int64_t content_ns(const char *p, size_t n)
{
    static const char pat[] = "\"content\":\"t";
    const char *q = memmem(p, n, pat, sizeof(pat) - 1), *end = p + n;
    if (!q)
        return 0;
    q += sizeof(pat) - 1;
    int64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9')
        v = v * 10 + (*q++ - '0');
    return q < end && *q == '"' ? v : 0;
}

/* json_end: p is at '{' or '['; returns the byte after the matching close, or NULL. */
static const char *json_end(const char *p, const char *end)
{
    int depth = 0;
    bool str = false;
    for (; p < end; p++) {
        char ch = *p;
        if (str) {
            if (ch == '\\')
                p++;
            else if (ch == '"')
                str = false;
        } else if (ch == '"') {
            str = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* ---- /proc readings (the server is given by --pid) ---- */

static long proc_status_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), pid ? "/proc/%d/status" : "/proc/self/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long meminfo_kb(const char *field)
{
    char line[256];
    size_t fl = strlen(field);
    long v = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* stat_ticks: utime + stime from a /proc stat file. */
static uint64_t stat_ticks(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

/* machine_ticks: busy (not idle or iowait) and steal ticks of all CPUs. */
static void machine_ticks(uint64_t *busy, uint64_t *steal)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    *busy = *steal = 0;
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) == 8) {
        *busy = v[0] + v[1] + v[2] + v[5] + v[6];
        *steal = v[7];
    }
    fclose(f);
}

static void cpu_snap(struct cpu_snap *s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    machine_ticks(&s->busy, &s->steal);
    s->at = now_ns();
    s->self_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    s->n = 0;
    s->total = 0;
    if (!G.o.pid)
        return;
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/stat", G.o.pid);
    s->total = stat_ticks(path);
    snprintf(path, sizeof(path), "/proc/%d/task", G.o.pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && s->n < MAX_THREADS) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char tp[320];
        snprintf(tp, sizeof(tp), "/proc/%d/task/%s/stat", G.o.pid, e->d_name);
        s->tid[s->n] = atoi(e->d_name);
        s->ticks[s->n++] = stat_ticks(tp);
    }
    closedir(d);
}

/* cpu_report: appends the CPU use between two snapshots (100 = one core) to a result line. */
static void cpu_report(const struct cpu_snap *a, const struct cpu_snap *b)
{
    double dt = (double)(b->at - a->at) / 1e9, hz = (double)sysconf(_SC_CLK_TCK);
    if (dt <= 0)
        return;
    double self = (b->self_s - a->self_s) / dt * 100;
    double machine = (double)(b->busy - a->busy) / hz / dt * 100;
    printf(" loadgen_cpu_pct=%.0f", self);
    if (!G.o.pid) {
        printf(" machine_cpu_pct=%.0f steal_pct=%.0f", machine,
               (double)(b->steal - a->steal) / hz / dt * 100);
        return;
    }
    double busiest = 0;
    for (int i = 0; i < b->n; i++)
        for (int j = 0; j < a->n; j++)
            if (a->tid[j] == b->tid[i]) {
                double p = (double)(b->ticks[i] - a->ticks[j]) / hz / dt * 100;
                if (p > busiest)
                    busiest = p;
            }
    double server = (double)(b->total - a->total) / hz / dt * 100;
    /* others: what else ran on the machine meanwhile (a build, a test): it competes for the cores
     */
    printf(" server_cpu_pct=%.0f server_busiest_thread_pct=%.0f others_cpu_pct=%.0f steal_pct=%.0f",
           server, busiest, machine - server - self > 0 ? machine - server - self : 0,
           (double)(b->steal - a->steal) / hz / dt * 100);
}

/* ---- connections ---- */

static void set_pollout(struct conn *c, bool on)
{
    if (c->pollout == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->pollout = on;
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->state == S_CLOSED)
        return;
    bool failed = why != NULL && !G.stopping;
    if (c->kind == K_VISITOR) {
        if (c->hello) {
            G.vis_dropped += failed;
        } else {
            G.vis_failed++;
            G.vis_pending--;
        }
    } else if (c->kind == K_AGENT && failed) {
        G.agent_lost = true;
    }
    if (failed && G.errors_printed < 5) {
        G.errors_printed++;
        fprintf(stderr, "loadgen: %s connection %u closed: %s\n",
                c->kind == K_VISITOR ? "visitor"
                : c->kind == K_AGENT ? "agent"
                                     : "http",
                c->idx, why);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->frag);
}

static void conn_flush(struct conn *c)
{
    while (c->out.len) {
        ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            conn_close(c, strerror(errno));
            return;
        }
        buf_drop(&c->out, (size_t)w);
    }
    set_pollout(c, c->out.len > 0);
}

static void conn_write(struct conn *c, const void *p, size_t n)
{
    const char *s = p;
    if (c->state == S_CLOSED)
        return;
    if (c->kind != K_TEST && c->state != S_CONNECTING && !c->out.len) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                conn_close(c, strerror(errno));
                return;
            }
            w = 0;
        }
        s += w;
        n -= (size_t)w;
        if (!n)
            return;
    }
    buf_add(&c->out, s, n);
    if (c->state != S_CONNECTING)
        set_pollout(c, true);
}

/* conn_open: starts a non-blocking connect; the request written meanwhile goes out when it is up.
 */
static void conn_open(struct conn *c, enum kind kind, uint32_t idx)
{
    memset(c, 0, sizeof(*c));
    c->kind = (uint8_t)kind;
    c->idx = idx;
    c->state = S_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_close(c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (G.o.src_addrs > 1) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + idx % (uint32_t)G.o.src_addrs);
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            conn_close(c, strerror(errno));
            return;
        }
    }
    if (connect(c->fd, (struct sockaddr *)&G.addr, sizeof(G.addr)) < 0 && errno != EINPROGRESS) {
        conn_close(c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(G.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        conn_close(c, strerror(errno));
        return;
    }
    c->pollout = true;
}

static struct conn *conn_new(enum kind kind, uint32_t idx)
{
    /* Freed only at exit: a stale epoll event may still name a closed one. */
    struct conn *c = xrealloc(NULL, sizeof(*c));
    G.owned = xrealloc(G.owned, sizeof(*G.owned) * (size_t)(G.nowned + 1));
    G.owned[G.nowned++] = c;
    conn_open(c, kind, idx);
    return c;
}

static void http_request(struct conn *c, const char *method, const char *path, const char *bearer,
                         const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, path,
                     G.o.host, G.o.port);
    if (bearer)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Authorization: Bearer %s\r\n", bearer);
    if (body)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    conn_write(c, head, (size_t)n);
    if (body)
        conn_write(c, body, strlen(body));
}

static void ws_request(struct conn *c, const char *token)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET /ws?token=%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     token, G.o.host, G.o.port);
    conn_write(c, req, (size_t)n);
}

/* ws_send: one masked client frame (RFC 6455 5.3). */
static void ws_send(struct conn *c, int op, const void *payload, size_t len)
{
    uint8_t stack[512], *f = stack;
    size_t h = 2;
    if (len + 14 > sizeof(stack))
        f = xrealloc(NULL, len + 14);
    f[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        f[1] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        f[1] = 0x80 | 126;
        f[2] = (uint8_t)(len >> 8);
        f[3] = (uint8_t)len;
        h = 4;
    } else {
        f[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    uint32_t key = rnd();
    uint8_t *mask = f + h;
    memcpy(mask, &key, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        f[h + i] = p[i] ^ mask[i & 3];
    conn_write(c, f, h + len);
    if (f != stack)
        free(f);
}

/* ---- what arrives ---- */

static void on_http(struct conn *c, int status, const char *body, size_t len);

/* phase_sample: a send time came back (ack or agent event); it counts in the running phase. */
static void phase_sample(bool agent, int64_t sent_at, int64_t now)
{
    struct phase *ph = G.ph;
    if (!ph || !sent_at)
        return;
    if (sent_at < ph->start) {
        ph->late++;
        return;
    }
    if (agent)
        ph->received++;
    else
        ph->acked++;
    sample_add(agent ? &ph->agent : &ph->ack, (uint64_t)(now - sent_at));
}

static void on_message(struct conn *c, const char *p, size_t len)
{
    if (c->kind == K_TEST) {
        G.test_msgs++;
        G.test_bytes += len;
        return;
    }
    if (!c->hello && has(p, len, "\"type\":\"hello\"")) {
        c->hello = true;
        if (c->kind == K_VISITOR) {
            G.vis_hello++;
            G.vis_pending--;
        } else {
            G.agent_ready = true;
        }
        return;
    }
    int64_t now = now_ns();
    if (c->kind == K_AGENT) {
        if (!has(p, len, "\"type\":\"event\""))
            return;
        if (G.ph)
            G.ph->agent_events++;
        if (!has(p, len, "\"event\":\"message.created\""))
            return;
        int64_t t = content_ns(p, len);
        if (!t)
            return;
        G.total_received++;
        phase_sample(true, t, now);
        return;
    }
    if (has(p, len, "\"type\":\"ack\"")) {
        G.total_acked++;
        phase_sample(false, content_ns(p, len), now);
    } else if (has(p, len, "\"type\":\"error\"")) {
        G.total_errors++;
        if (G.ph)
            G.ph->errors++;
        if (G.errors_printed++ < 5)
            fprintf(stderr, "loadgen: visitor %u: %.*s\n", c->idx, (int)(len > 300 ? 300 : len), p);
    }
}

static void on_frame(struct conn *c, bool fin, int op, char *p, size_t len)
{
    switch (op) {
    case OP_TEXT:
    case OP_BIN:
        if (fin && !c->frag.len) {
            on_message(c, p, len);
            return;
        }
        buf_free(&c->frag);
        c->frag_op = (uint8_t)op;
        buf_add(&c->frag, p, len);
        return;
    case OP_CONT:
        if (!c->frag_op) {
            conn_close(c, "continuation frame without a start");
            return;
        }
        if (c->frag.len + len > MAX_MSG) {
            conn_close(c, "fragmented message over the limit");
            return;
        }
        buf_add(&c->frag, p, len);
        if (fin) {
            on_message(c, c->frag.p, c->frag.len);
            buf_free(&c->frag);
            c->frag_op = 0;
        }
        return;
    case OP_PING:
        G.pings++;
        ws_send(c, OP_PONG, p, len);
        G.pongs++;
        return;
    case OP_PONG:
        return;
    case OP_CLOSE: {
        G.closes_in++;
        char why[160];
        int code = len >= 2 ? ((uint8_t)p[0] << 8 | (uint8_t)p[1]) : 0;
        snprintf(why, sizeof(why), "server closed the WebSocket (code %d %.*s)", code,
                 (int)(len > 2 ? (len - 2 > 100 ? 100 : len - 2) : 0), p + 2);
        ws_send(c, OP_CLOSE, p, len >= 2 ? 2 : 0);
        conn_close(c, why);
        return;
    }
    default:
        conn_close(c, "unknown opcode");
    }
}

/* ws_frames: handles every complete frame in p; returns the bytes used. Server frames are not
 * masked; a masked one is unmasked in place all the same. */
static size_t ws_frames(struct conn *c, char *p, size_t n)
{
    size_t off = 0;
    while (n - off >= 2 && c->state == S_OPEN) {
        const uint8_t *h = (const uint8_t *)p + off;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (n - off < 4)
                break;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (n - off < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        bool masked = h[1] & 0x80;
        if (masked)
            hl += 4;
        if (len > MAX_MSG) {
            conn_close(c, "frame over the limit");
            break;
        }
        if (n - off < hl || n - off - hl < len)
            break;
        char *pl = p + off + hl;
        if (masked) {
            const uint8_t *m = h + hl - 4;
            for (size_t i = 0; i < len; i++)
                pl[i] = (char)(pl[i] ^ m[i & 3]);
        }
        bool fin = h[0] & 0x80;
        int op = h[0] & 0x0f;
        off += hl + (size_t)len;
        on_frame(c, fin, op, pl, (size_t)len);
    }
    return off;
}

/* http_response: handles one complete response head (and body); returns the bytes used, 0 when
 * it is not all there yet. A 101 switches the connection to WebSocket frames. */
static size_t http_response(struct conn *c, char *p, size_t n)
{
    const char *e = memmem(p, n, "\r\n\r\n", 4);
    if (!e) {
        if (n > MAX_HEAD)
            conn_close(c, "response head too large");
        return 0;
    }
    size_t head = (size_t)(e + 4 - p);
    if (head < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || !isdigit((unsigned char)p[9])) {
        conn_close(c, "not an HTTP/1.1 response");
        return 0;
    }
    int status = atoi(p + 9);
    size_t clen = 0;
    for (const char *l = memchr(p, '\n', head); l && l + 1 < e;
         l = memchr(l + 1, '\n', (size_t)(e - l - 1)))
        if (!strncasecmp(l + 1, "content-length:", 15))
            clen = strtoul(l + 16, NULL, 10);
    if (c->kind != K_HTTP) {
        if (status != 101) {
            char why[64];
            snprintf(why, sizeof(why), "upgrade refused with HTTP %d", status);
            G.vis_rejected += c->kind == K_VISITOR;
            G.last_status = status;
            conn_close(c, why);
            return 0;
        }
        c->state = S_OPEN;
        G.vis_upgraded += c->kind == K_VISITOR;
        return head;
    }
    if (n - head < clen)
        return 0;
    on_http(c, status, p + head, clen);
    return head + clen;
}

static size_t process(struct conn *c, char *p, size_t n)
{
    size_t off = 0;
    while (off < n && c->state != S_CLOSED) {
        size_t used = c->state == S_HTTP ? http_response(c, p + off, n - off)
                                         : ws_frames(c, p + off, n - off);
        if (!used)
            break;
        off += used;
    }
    return off;
}

/* feed: bytes just read; keeps what does not make a whole response or frame yet. */
static void feed(struct conn *c, char *p, size_t n)
{
    if (c->in.len) {
        buf_add(&c->in, p, n);
        size_t used = process(c, c->in.p, c->in.len);
        if (c->state != S_CLOSED)
            buf_drop(&c->in, used);
        return;
    }
    size_t used = process(c, p, n);
    if (c->state != S_CLOSED && used < n)
        buf_add(&c->in, p + used, n - used);
}

static void on_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, G.rbuf, READ_BUF, 0);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(c, strerror(errno));
            return;
        }
        if (n == 0) {
            conn_close(c, "closed by the server");
            return;
        }
        feed(c, G.rbuf, (size_t)n);
        if (c->state == S_CLOSED || (size_t)n < READ_BUF)
            return;
    }
}

static void on_event(const struct epoll_event *e)
{
    if (e->data.ptr == &G.tfd) {
        uint64_t x;
        if (read(G.tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
            die("timerfd read: %s", strerror(errno));
        G.timer_at = 0;
        return;
    }
    struct conn *c = e->data.ptr;
    if (c->state == S_CLOSED)
        return;
    if (c->state == S_CONNECTING) {
        if (!(e->events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            conn_close(c, strerror(err));
            return;
        }
        c->state = S_HTTP;
        conn_flush(c);
        return;
    }
    if (e->events & EPOLLOUT)
        conn_flush(c);
    if (c->state != S_CLOSED && (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        on_readable(c);
}

/* ---- set-up over REST ---- */

static void session_next(struct conn *c)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"widget_token\":\"%s\"}", G.widget_token);
    G.tokens_asked++;
    http_request(c, "POST", "/api/v1/widget/sessions", NULL, body);
}

static void on_http(struct conn *c, int status, const char *body, size_t len)
{
    switch (c->purpose) {
    case P_LOGIN:
        if (status != 200 || !jstr(body, len, "token", G.agent_token, sizeof(G.agent_token)))
            die("login as %s failed: HTTP %d %.*s", G.o.email, status, (int)(len > 200 ? 200 : len),
                body);
        if (G.widget_token[0]) {
            G.login_done = true;
            conn_close(c, NULL);
            return;
        }
        c->purpose = P_INBOXES;
        http_request(c, "GET", "/api/v1/accounts/1/inboxes", G.agent_token, NULL);
        return;
    case P_INBOXES: {
        const char *end = body + len, *q = memmem(body, len, "\"data\":[", 8);
        if (status != 200 || !q)
            die("listing inboxes failed: HTTP %d", status);
        for (q += 8; q < end && *q != ']';) {
            if (*q != '{') {
                q++;
                continue;
            }
            const char *oe = json_end(q, end);
            if (!oe)
                break;
            if (has(q, (size_t)(oe - q), "\"channel\":\"web\"") &&
                jstr(q, (size_t)(oe - q), "widget_token", G.widget_token, sizeof(G.widget_token)))
                break;
            q = oe;
        }
        if (!G.widget_token[0])
            die("account 1 has no inbox with channel \"web\"");
        G.login_done = true;
        conn_close(c, NULL);
        return;
    }
    case P_SESSION: {
        char tok[512];
        if (status == 503) { /* store queue full: ask again */
            G.tokens_asked--;
            session_next(c);
            return;
        }
        if (status != 200 || !jstr(body, len, "visitor_token", tok, sizeof(tok)))
            die("creating a widget session failed: HTTP %d %.*s", status,
                (int)(len > 200 ? 200 : len), body);
        G.tokens[G.ntokens++] = strdup(tok);
        if (G.tokens_asked < G.tokens_want)
            session_next(c);
        else
            conn_close(c, NULL);
        return;
    }
    default:
        conn_close(c, "unexpected response");
    }
}

/* ---- the loop ---- */

static void timer_arm(int64_t at)
{
    if (G.timer_at == at)
        return;
    struct itimerspec its = {.it_value = {.tv_sec = at / 1000000000, .tv_nsec = at % 1000000000}};
    timerfd_settime(G.tfd, TFD_TIMER_ABSTIME, &its, NULL);
    G.timer_at = at;
}

static struct conn *pick_visitor(struct phase *ph)
{
    if (ph->once) {
        struct conn *c = &G.vis[ph->next];
        return c->state == S_OPEN && c->hello ? c : NULL;
    }
    for (int tries = 0; tries < G.nvis; tries++) {
        struct conn *c = &G.vis[(ph->next + (uint64_t)tries) % (uint64_t)G.nvis];
        if (c->state == S_OPEN && c->hello)
            return c;
    }
    return NULL;
}

static void send_message(struct conn *c)
{
    char js[192];
    int64_t t = now_ns();
    int n =
        snprintf(js, sizeof(js),
                 "{\"type\":\"message.send\",\"client_id\":\"r%08xv%u.%u\",\"content\":\"t%lld\"}",
                 G.run_id, c->idx, c->sent++, (long long)t);
    ws_send(c, OP_TEXT, js, (size_t)n);
}

/* pump: what is due now: scheduled sends and visitor connections to start. */
static void pump(void)
{
    while (G.vis_next < G.nvis && G.vis_pending < G.o.conc_ws) {
        struct conn *c = &G.vis[G.vis_next];
        G.vis_pending++;
        conn_open(c, K_VISITOR, (uint32_t)G.vis_next);
        G.vis_next++;
        ws_request(c, G.tokens[c->idx % (uint32_t)G.ntokens]);
    }
    struct phase *ph = G.ph;
    if (!ph)
        return;
    while (ph->next < ph->total) {
        int64_t now = now_ns();
        int64_t at = ph->start + (int64_t)((double)ph->next * 1e9 / ph->rate);
        if (at > now) {
            timer_arm(at);
            return;
        }
        struct conn *c = pick_visitor(ph);
        if (c) {
            send_message(c);
            ph->sent++;
            G.total_sent++;
            sample_add(&ph->lag, (uint64_t)(now - at));
        } else {
            ph->skipped++;
        }
        ph->next++;
    }
    if (!ph->send_end)
        ph->send_end = now_ns();
}

/* run_until: runs the loop until done() or the deadline; false on the deadline. */
static bool run_until(bool (*done)(void), int64_t deadline)
{
    static struct epoll_event ev[1024];
    if (deadline > G.deadline)
        deadline = G.deadline;
    for (;;) {
        pump();
        if (done && done())
            return true;
        int64_t now = now_ns();
        if (now >= deadline)
            return false;
        int64_t ms = (deadline - now) / 1000000 + 1;
        int n = epoll_wait(G.ep, ev, 1024, ms > 100 ? 100 : (int)ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            on_event(&ev[i]);
    }
}

static bool login_done(void)
{
    return G.login_done;
}

static bool agent_ready(void)
{
    return G.agent_ready || G.agent_lost;
}

static bool sessions_done(void)
{
    return G.ntokens >= G.tokens_want;
}

static bool visitors_settled(void)
{
    return G.vis_next >= G.nvis && G.vis_pending == 0;
}

static bool phase_sent(void)
{
    return G.ph->next >= G.ph->total;
}

static bool phase_drained(void)
{
    struct phase *ph = G.ph;
    return ph->acked + ph->errors >= ph->sent &&
           (ph->received + ph->errors >= ph->sent || G.agent_lost);
}

static bool all_drained(void)
{
    return G.total_acked + G.total_errors >= G.total_sent &&
           (!G.agent || G.agent_lost || G.total_received + G.total_errors >= G.total_sent);
}

/* ---- set-up steps ---- */

static void setup_login(void)
{
    if (!G.o.email || !G.o.password)
        die("--email and --password are needed (or --widget-token for idle)");
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", G.o.email, G.o.password);
    struct conn *c = conn_new(K_HTTP, 0);
    c->purpose = P_LOGIN;
    http_request(c, "POST", "/api/v1/auth/login", NULL, body);
    if (!run_until(login_done, now_ns() + 10000000000LL))
        die("no answer to login within 10 s (is parleyd on %s:%d?)", G.o.host, G.o.port);
}

static void setup_agent(void)
{
    G.agent = conn_new(K_AGENT, 0);
    ws_request(G.agent, G.agent_token);
    if (!run_until(agent_ready, now_ns() + 10000000000LL) || G.agent_lost)
        die("the agent WebSocket did not say hello");
}

static void setup_sessions(int n)
{
    int64_t t0 = now_ns();
    G.tokens = xrealloc(NULL, sizeof(char *) * (size_t)n);
    G.tokens_want = n;
    for (int i = 0; i < G.o.conc_http && i < n; i++) {
        struct conn *c = conn_new(K_HTTP, (uint32_t)i);
        c->purpose = P_SESSION;
        session_next(c);
    }
    if (!run_until(sessions_done, G.deadline))
        die("only %d of %d widget sessions created before the timeout", G.ntokens, n);
    double s = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "loadgen: %d widget sessions in %.2f s (%.0f/s)\n", n, s, n / s);
}

static double setup_visitors(int n)
{
    int64_t t0 = now_ns();
    G.vis = xrealloc(NULL, sizeof(*G.vis) * (size_t)n);
    memset(G.vis, 0, sizeof(*G.vis) * (size_t)n);
    G.nvis = n;
    run_until(visitors_settled, G.deadline);
    double s = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "loadgen: %d of %d visitor WebSockets said hello in %.2f s (%d failed)\n",
            G.vis_hello, n, s, G.vis_failed);
    return s;
}

/* ---- phases ---- */

static void phase_print(const struct phase *ph, const struct cpu_snap *a, const struct cpu_snap *b)
{
    double send_s = (double)(ph->send_end - ph->start) / 1e9;
    uint64_t unacked = ph->sent > ph->acked + ph->errors ? ph->sent - ph->acked - ph->errors : 0;
    uint64_t lost = ph->sent > ph->received + ph->errors ? ph->sent - ph->received - ph->errors : 0;
    printf("mode=%s visitors=%d rate=%.0f duration_s=%.1f sent=%llu acked=%llu received=%llu "
           "errors=%llu unacked=%llu lost=%llu skipped=%llu achieved_rate=%.0f",
           ph->name, G.vis_hello - G.vis_dropped, ph->rate, send_s, (unsigned long long)ph->sent,
           (unsigned long long)ph->acked, (unsigned long long)ph->received,
           (unsigned long long)ph->errors, (unsigned long long)unacked, (unsigned long long)lost,
           (unsigned long long)ph->skipped, send_s > 0 ? (double)ph->sent / send_s : 0);
    printf(" p50_us=%llu p90_us=%llu p99_us=%llu p999_us=%llu max_us=%llu",
           (unsigned long long)pct(&ph->agent, 0.50), (unsigned long long)pct(&ph->agent, 0.90),
           (unsigned long long)pct(&ph->agent, 0.99), (unsigned long long)pct(&ph->agent, 0.999),
           (unsigned long long)pct(&ph->agent, 1.0));
    printf(" ack_p50_us=%llu ack_p90_us=%llu ack_p99_us=%llu ack_max_us=%llu",
           (unsigned long long)pct(&ph->ack, 0.50), (unsigned long long)pct(&ph->ack, 0.90),
           (unsigned long long)pct(&ph->ack, 0.99), (unsigned long long)pct(&ph->ack, 1.0));
    printf(" lag_p99_us=%llu lag_max_us=%llu late=%llu agent_events=%llu dropped=%d",
           (unsigned long long)pct(&ph->lag, 0.99), (unsigned long long)pct(&ph->lag, 1.0),
           (unsigned long long)ph->late, (unsigned long long)ph->agent_events, G.vis_dropped);
    cpu_report(a, b);
    printf("\n");
    fflush(stdout);
}

/* phase_run: waits for earlier messages to land, sends on schedule, waits for the answers. */
static void phase_run(struct phase *ph, const char *name, double rate, double secs, bool once)
{
    memset(ph, 0, sizeof(*ph));
    ph->name = name;
    ph->rate = rate;
    ph->once = once;
    ph->total = once ? (uint64_t)G.nvis : (uint64_t)(rate * secs + 0.5);
    if (!run_until(all_drained, now_ns() + 30000000000LL))
        fprintf(stderr, "loadgen: earlier messages still unanswered after 30 s\n");
    struct cpu_snap a, b;
    cpu_snap(&a);
    ph->start = now_ns() + 1000000;
    G.ph = ph;
    run_until(phase_sent, G.deadline);
    if (!ph->send_end)
        ph->send_end = now_ns();
    run_until(phase_drained, now_ns() + (int64_t)(G.o.drain * 1e9));
    ph->end = now_ns();
    cpu_snap(&b);
    G.ph = NULL;
    samples_sort(&ph->agent);
    samples_sort(&ph->ack);
    samples_sort(&ph->lag);
    phase_print(ph, &a, &b);
}

static void phase_release(struct phase *ph)
{
    free(ph->ack.v);
    free(ph->agent.v);
    free(ph->lag.v);
}

/* phase_ok: the sweep's pass rule; *why names the first failed condition. */
static bool phase_ok(const struct phase *ph, const char **why)
{
    double send_s = (double)(ph->send_end - ph->start) / 1e9;
    if (ph->errors || ph->skipped || G.agent_lost)
        *why = "errors";
    else if (ph->received < ph->sent || ph->acked < ph->sent)
        *why = "lost";
    else if (send_s > 0 && (double)ph->sent / send_s < 0.95 * ph->rate)
        *why = "loadgen_behind";
    else if ((double)pct(&ph->agent, 0.99) >= G.o.p99_ms * 1000)
        *why = "p99";
    else
        return true;
    return false;
}

static void conversations_setup(void)
{
    setup_login();
    setup_agent();
    setup_sessions(G.o.visitors);
    setup_visitors(G.o.visitors);
    if (G.vis_hello < G.o.visitors)
        die("%d of %d visitor WebSockets failed", G.o.visitors - G.vis_hello, G.o.visitors);
    if (G.o.warmup) { /* every visitor opens its conversation, so phases measure steady chat */
        struct phase w;
        double r = G.o.mode == MODE_SWEEP ? atof(G.o.rates) : G.o.rate;
        phase_run(&w, "warmup", r > 0 ? r : 500, 0, true);
        phase_release(&w);
    }
}

static int mode_latency(void)
{
    struct phase ph;
    conversations_setup();
    phase_run(&ph, "latency", G.o.rate, G.o.duration, false);
    bool ok = ph.errors == 0 && ph.received == ph.sent && ph.acked == ph.sent && !G.agent_lost;
    phase_release(&ph);
    return ok ? 0 : 1;
}

/* sweep_step: one rate; a rate that misses only the p99 limit runs again (--retries), since one
 * stall of the shared VM (a checkpoint, the hypervisor) can spoil a few seconds of samples. */
static bool sweep_step(double rate, const char **why)
{
    for (int attempt = 0;; attempt++) {
        struct phase ph;
        phase_run(&ph, attempt ? "sweep_retry" : "sweep_step", rate, G.o.duration, false);
        bool ok = phase_ok(&ph, why);
        phase_release(&ph);
        if (ok || strcmp(*why, "p99") != 0 || attempt >= G.o.retries)
            return ok;
    }
}

static int mode_sweep(void)
{
    double rates[64];
    int nr = 0;
    for (char *p = (char *)G.o.rates, *end; *p && nr < 64; p = end) {
        rates[nr] = strtod(p, &end);
        if (end == p || rates[nr] <= 0)
            die("--rates must be a list of positive numbers: %s", G.o.rates);
        nr++;
        while (*end == ',' || *end == ' ')
            end++;
    }
    conversations_setup();
    double best = 0, fail = 0;
    const char *reason = "none";
    for (int i = 0; i < nr && !fail; i++) {
        if (sweep_step(rates[i], &reason))
            best = rates[i];
        else
            fail = rates[i];
    }
    for (int k = 0; k < G.o.refine && fail > 0; k++) {
        double mid = (double)(long)((best + fail) / 2 / 100 + 0.5) * 100;
        if (mid <= best || mid >= fail)
            break;
        const char *why = "";
        if (sweep_step(mid, &why)) {
            best = mid;
        } else {
            fail = mid;
            reason = why;
        }
    }
    printf("mode=sweep visitors=%d p99_limit_ms=%.1f max_rate=%.0f first_fail_rate=%.0f "
           "fail_reason=%s\n",
           G.o.visitors, G.o.p99_ms, best, fail, fail > 0 ? reason : "none");
    return 0;
}

static int mode_idle(void)
{
    int n = G.o.visitors;
    if (G.o.widget_token)
        snprintf(G.widget_token, sizeof(G.widget_token), "%s", G.o.widget_token);
    else
        setup_login();
    setup_sessions(G.o.sessions > 0 && G.o.sessions < n ? G.o.sessions : n);
    usleep(500000); /* let the session writes settle before the baseline */
    long rss0 = G.o.pid ? proc_status_kb(G.o.pid, "VmRSS") : -1;
    long slab0 = meminfo_kb("Slab");
    struct cpu_snap a, b;
    cpu_snap(&a);
    double conn_s = setup_visitors(n);
    cpu_snap(&b);
    int64_t t = now_ns();
    run_until(NULL, t + (int64_t)(G.o.hold * 1e9));
    long rss1 = G.o.pid ? proc_status_kb(G.o.pid, "VmRSS") : -1;
    long slab1 = meminfo_kb("Slab");
    int open = G.vis_hello - G.vis_dropped;
    printf("mode=idle connections=%d established=%d failed=%d rejected=%d last_status=%d "
           "dropped=%d open_after_hold=%d hold_s=%.1f connect_s=%.2f connect_rate=%.0f "
           "src_addrs=%d pings=%llu pongs=%llu server_closes=%llu",
           n, G.vis_hello, G.vis_failed, G.vis_rejected, G.last_status, G.vis_dropped, open,
           G.o.hold, conn_s, conn_s > 0 ? G.vis_hello / conn_s : 0, G.o.src_addrs,
           (unsigned long long)G.pings, (unsigned long long)G.pongs,
           (unsigned long long)G.closes_in);
    if (G.o.pid && rss0 > 0 && rss1 > 0)
        printf(" server_rss_kb_before=%ld server_rss_kb=%ld rss_per_conn_b=%.0f", rss0, rss1,
               open ? (double)(rss1 - rss0) * 1024 / open : 0);
    if (slab0 > 0 && slab1 > 0)
        printf(" slab_per_conn_b=%.0f", open ? (double)(slab1 - slab0) * 1024 / open : 0);
    printf(" loadgen_rss_kb=%ld", proc_status_kb(0, "VmRSS"));
    cpu_report(&a, &b);
    printf("\n");
    return G.vis_failed || G.vis_dropped ? 1 : 0;
}

/* ---- self-test of the frame parser ---- */

static size_t server_frame(uint8_t *f, bool fin, int op, const uint8_t *p, size_t len)
{
    size_t h = 2;
    f[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        f[1] = (uint8_t)len;
    } else if (len < 65536) {
        f[1] = 126;
        f[2] = (uint8_t)(len >> 8);
        f[3] = (uint8_t)len;
        h = 4;
    } else {
        f[1] = 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    memcpy(f + h, p, len);
    return h + len;
}

static int mode_selftest(void)
{
    size_t sizes[] = {5, 125, 126, 300, 65535, 65536, 70000};
    size_t ns = sizeof(sizes) / sizeof(sizes[0]), total = 0, cap = 1 << 20, n = 0;
    uint8_t *stream = xrealloc(NULL, cap), *payload = xrealloc(NULL, 70000);
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (uint8_t)('a' + i % 26);
    for (size_t i = 0; i < ns; i++) {
        n += server_frame(stream + n, true, OP_TEXT, payload, sizes[i]);
        total += sizes[i];
    }
    n += server_frame(stream + n, true, OP_PING, (const uint8_t *)"ping!", 5);
    n +=
        server_frame(stream + n, false, OP_TEXT, payload, 1000); /* fragmented: 1000 + ping + 234 */
    n += server_frame(stream + n, true, OP_PING, (const uint8_t *)"mid", 3);
    n += server_frame(stream + n, true, OP_CONT, payload + 1000, 234);
    total += 1234;
    int failures = 0;
    size_t chunks[] = {0, 1, 2, 3, 7, 126, 4096};
    char *copy = xrealloc(NULL, n);
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        struct conn c;
        memset(&c, 0, sizeof(c));
        c.kind = K_TEST;
        c.state = S_OPEN;
        c.fd = -1;
        G.test_msgs = G.test_bytes = G.pings = 0;
        memcpy(copy, stream, n);
        for (size_t off = 0; off < n;) {
            size_t step = chunks[k] ? chunks[k] : n; /* 0: all at once */
            if (chunks[k] == 7)                      /* 7: random sizes */
                step = 1 + rnd() % 3000;
            if (step > n - off)
                step = n - off;
            feed(&c, copy + off, step);
            off += step;
        }
        /* The pongs: two masked frames whose unmasked payloads are the pings'. */
        bool pong_ok = c.out.len == (2 + 4 + 5) + (2 + 4 + 3);
        if (pong_ok) {
            const uint8_t *o = (const uint8_t *)c.out.p;
            pong_ok = o[0] == (0x80 | OP_PONG) && o[1] == (0x80 | 5);
            for (int i = 0; pong_ok && i < 5; i++)
                pong_ok = (o[6 + i] ^ o[2 + (i & 3)]) == "ping!"[i];
        }
        bool ok = G.test_msgs == ns + 1 && G.test_bytes == total && G.pings == 2 && pong_ok &&
                  c.in.len == 0 && c.state == S_OPEN;
        printf("mode=selftest chunk=%zu messages=%llu bytes=%llu pings=%llu pong_ok=%d ok=%d\n",
               chunks[k], (unsigned long long)G.test_msgs, (unsigned long long)G.test_bytes,
               (unsigned long long)G.pings, pong_ok, ok);
        failures += !ok;
        buf_free(&c.in);
        buf_free(&c.out);
        buf_free(&c.frag);
    }
    free(copy);
    free(stream);
    free(payload);
    return failures ? 1 : 0;
}

/* ---- start-up ---- */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "error=timeout\n";
    ssize_t w = write(1, msg, sizeof(msg) - 1);
    (void)w;
    _exit(3);
}

static void raise_nofile(int need)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < (rlim_t)need) { /* needs CAP_SYS_RESOURCE; harmless if refused */
        struct rlimit want = {(rlim_t)need, (rlim_t)need};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)need)
        die("%d connections need %d file descriptors but RLIMIT_NOFILE is %llu and cannot be "
            "raised (the hard limit needs root with CAP_SYS_RESOURCE: ulimit -Hn)",
            G.o.visitors, need, (unsigned long long)rl.rlim_cur);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --mode latency|sweep|idle|selftest --port PORT [options]\n"
            "  --host ADDR          server address (127.0.0.1)\n"
            "  --email E --password P   an admin of account 1 (latency, sweep; idle unless\n"
            "                       --widget-token is given)\n"
            "  --widget-token T     the web inbox's widget token (else read from the inbox list)\n"
            "  --visitors N         visitor WebSockets (1000)\n"
            "  --rate R             messages/s over all visitors (latency; 500)\n"
            "  --duration S         seconds of sending per phase (10)\n"
            "  --rates LIST         sweep rates, ascending (500,1000,2000,3000,5000,7000,10000,\n"
            "                       14000,20000)\n"
            "  --p99-ms MS          sweep pass limit for p99 send -> agent (10)\n"
            "  --refine K           sweep bisection steps after the first failure (2)\n"
            "  --retries K          sweep: runs again of a rate that missed only the p99 (1)\n"
            "  --warmup 0|1         first one message per visitor, unmeasured (1)\n"
            "  --drain S            seconds to wait for answers after sending (5)\n"
            "  --hold S             idle: seconds to hold the connections (5)\n"
            "  --sessions K         idle: distinct widget sessions, shared round robin (N)\n"
            "  --conc-ws N          WebSocket handshakes in flight (256)\n"
            "  --conc-http N        keep-alive connections creating sessions (8)\n"
            "  --src-addrs K        bind clients to 127.0.0.1..K (auto: 1 per 5,000)\n"
            "  --pid PID            the server's pid: CPU and RSS from /proc\n"
            "  --timeout S          hard limit for the whole run (600)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"mode", 1, 0, 'm'},
                                       {"host", 1, 0, 'H'},
                                       {"port", 1, 0, 'p'},
                                       {"email", 1, 0, 'e'},
                                       {"password", 1, 0, 'P'},
                                       {"widget-token", 1, 0, 'w'},
                                       {"visitors", 1, 0, 'n'},
                                       {"rate", 1, 0, 'r'},
                                       {"duration", 1, 0, 'd'},
                                       {"rates", 1, 0, 'R'},
                                       {"p99-ms", 1, 0, 'l'},
                                       {"refine", 1, 0, 'f'},
                                       {"warmup", 1, 0, 'W'},
                                       {"drain", 1, 0, 'D'},
                                       {"hold", 1, 0, 'h'},
                                       {"sessions", 1, 0, 's'},
                                       {"conc-ws", 1, 0, 'c'},
                                       {"conc-http", 1, 0, 'C'},
                                       {"src-addrs", 1, 0, 'a'},
                                       {"pid", 1, 0, 'i'},
                                       {"timeout", 1, 0, 't'},
                                       {"retries", 1, 0, 'y'},
                                       {0, 0, 0, 0}};
    struct opts *o = &G.o;
    *o = (struct opts){.mode = MODE_LATENCY,
                       .host = "127.0.0.1",
                       .visitors = 1000,
                       .conc_ws = 256,
                       .conc_http = 8,
                       .warmup = 1,
                       .refine = 2,
                       .retries = 1,
                       .rate = 500,
                       .duration = 10,
                       .drain = 5,
                       .hold = 5,
                       .timeout = 600,
                       .p99_ms = 10,
                       .rates = "500,1000,2000,3000,5000,7000,10000,14000,20000"};
    const char *mode = "latency";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'm':
            mode = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'e':
            o->email = optarg;
            break;
        case 'P':
            o->password = optarg;
            break;
        case 'w':
            o->widget_token = optarg;
            break;
        case 'n':
            o->visitors = atoi(optarg);
            break;
        case 'r':
            o->rate = atof(optarg);
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 'R':
            o->rates = optarg;
            break;
        case 'l':
            o->p99_ms = atof(optarg);
            break;
        case 'f':
            o->refine = atoi(optarg);
            break;
        case 'W':
            o->warmup = atoi(optarg);
            break;
        case 'D':
            o->drain = atof(optarg);
            break;
        case 'h':
            o->hold = atof(optarg);
            break;
        case 's':
            o->sessions = atoi(optarg);
            break;
        case 'c':
            o->conc_ws = atoi(optarg);
            break;
        case 'C':
            o->conc_http = atoi(optarg);
            break;
        case 'a':
            o->src_addrs = atoi(optarg);
            break;
        case 'i':
            o->pid = atoi(optarg);
            break;
        case 't':
            o->timeout = atof(optarg);
            break;
        case 'y':
            o->retries = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!strcmp(mode, "latency"))
        o->mode = MODE_LATENCY;
    else if (!strcmp(mode, "sweep"))
        o->mode = MODE_SWEEP;
    else if (!strcmp(mode, "idle"))
        o->mode = MODE_IDLE;
    else if (!strcmp(mode, "selftest"))
        o->mode = MODE_SELFTEST;
    else
        usage();
    G.rng = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    G.run_id = rnd();
    if (o->mode == MODE_SELFTEST)
        return mode_selftest();
    if (o->port <= 0 || o->port > 65535 || o->visitors < 1 || o->conc_ws < 1 || o->conc_http < 1 ||
        o->rate <= 0 || o->duration <= 0)
        usage();
    if (o->src_addrs <= 0)
        o->src_addrs = 1 + o->visitors / 5000; /* connect() slows as one address's ports fill */

    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)o->timeout + 5); /* the loop's own deadline comes first */
    G.deadline = now_ns() + (int64_t)(o->timeout * 1e9);
    raise_nofile(o->visitors + o->conc_http + 16);

    G.addr.sin_family = AF_INET;
    G.addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &G.addr.sin_addr) != 1)
        die("--host must be an IPv4 address, not %s", o->host);
    G.rbuf = xrealloc(NULL, READ_BUF);
    if ((G.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1: %s", strerror(errno));
    if ((G.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
        die("timerfd_create: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &G.tfd};
    epoll_ctl(G.ep, EPOLL_CTL_ADD, G.tfd, &ev);

    int rc = o->mode == MODE_IDLE    ? mode_idle()
             : o->mode == MODE_SWEEP ? mode_sweep()
                                     : mode_latency();
    G.stopping = true;
    fflush(stdout);
    for (int i = 0; i < G.nowned; i++)
        conn_close(G.owned[i], NULL);
    for (int i = 0; i < G.nvis; i++)
        conn_close(&G.vis[i], NULL);
    for (int i = 0; i < G.nowned; i++)
        free(G.owned[i]);
    for (int i = 0; i < G.ntokens; i++)
        free(G.tokens[i]);
    free(G.owned);
    free(G.vis);
    free(G.tokens);
    free(G.rbuf);
    return rc;
}
