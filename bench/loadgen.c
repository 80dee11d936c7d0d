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
 *   throughput  the same set-up, then a closed loop: --window messages in flight over all
 *            visitors for D seconds (a new one as soon as one is acked). Reports durable
 *            messages/s (acked after the commit) and delivered to the agent, with latencies.
 *   fanout   opens --agents A WebSockets of the admin (an admin sees every event of the account)
 *            and V visitors; the visitors send at --rate (or each of --rates, ascending, stopping
 *            at the first that fails) open loop. Every message is A deliveries: counted per second,
 *            send -> receive latency over all copies, lost = sent x A - received.
 *   storm    V visitors, one widget session each, open their conversations (one message each) and
 *            keep the highest event seq they saw; all close; the agent posts --missed K replies
 *            into every conversation (its WebSocket, --window in flight); then all V reconnect at
 *            once with since=<their seq>. Measures the time until every visitor has all K missed
 *            message.created events, and checks exactly once and in order per visitor. A visitor
 *            turned away before its hello (1013 "server busy; reconnect") tries again after
 *            100 ms, as the widget does, up to 20 times; those are counted (busy_closes).
 *            --inject N reconnects N visitors with an older since (the server must replay what
 *            they saw: counted as duplicates) and N with a since beyond the end (nothing comes:
 *            missing), to show the checks catch both; the run then passes only if they do.
 *   slow     the latency set-up with one reading agent; a baseline phase, then --slow S more
 *            agent WebSockets with a small SO_RCVBUF that never read after their hello, and the
 *            same phase again. Reports both phases' latency, the server's RSS before, during and
 *            after, and the slow clients the server closed (its /metrics).
 *   idle     opens N visitor WebSockets, answers pings, holds them for --hold seconds; reports
 *            how many were established, failures, the time taken and, with --pid, the server's
 *            RSS per connection (and the kernel slab growth per connection).
 *   selftest feeds the frame parser batched, split and fragmented frames with 7, 16 and 64-bit
 *            lengths and checks what comes out, that a ping is answered by a masked pong, and the
 *            seq and storm bookkeeping (gaps, duplicates, order) on made-up frames.
 *
 * Checks on every event stream: an admin sees every event of the account and seq has no gaps, so
 * each agent WebSocket counts gaps (missing events) and repeats (seq not above the last); a
 * visitor counts repeats. Phase lines, fanout and storm print them (seq_gaps, seq_dups).
 *
 * Design: one thread, one level-triggered epoll set, non-blocking sockets and one shared read
 * buffer. A connection keeps only the bytes of an incomplete response or frame and whatever the
 * kernel did not take. The send schedule is a timerfd armed at the next send's absolute time;
 * the lag of each send behind its schedule is reported, so a load generator that falls behind
 * shows instead of hiding the server's tail. WebSockets come in groups (agents, visitors, slow
 * agents) opened with at most --conc-ws handshakes in flight in all.
 * Client frames are masked with a xorshift PRNG; the Sec-WebSocket-Key is a fixed nonce and the
 * accept header is not checked (the status line is). With many connections the client sockets
 * bind to 127.0.0.1, 127.0.0.2, ... (IP_BIND_ADDRESS_NO_PORT, one address per 5,000 by default)
 * so one server port can take more than the ~28k ephemeral ports of one source address, and
 * connect() does not crawl as they fill (19,000 connections: 4.2 s from one address, 1.2 s from
 * four). A connection costs its 72-byte struct here, plus its share of a token (storm adds 40
 * bytes per visitor).
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
#define STORM_RETRIES 20             /* reconnects of one visitor turned away, at most */
#define STORM_BACKOFF_NS 100000000LL /* and the pause before each */

enum mode {
    MODE_LATENCY,
    MODE_SWEEP,
    MODE_THROUGHPUT,
    MODE_FANOUT,
    MODE_STORM,
    MODE_SLOW,
    MODE_IDLE,
    MODE_SELFTEST
};
enum kind { K_HTTP, K_AGENT, K_VISITOR, K_SLOW, K_TEST, K_COUNT };
enum state { S_CONNECTING, S_HTTP, S_OPEN, S_CLOSED };
enum purpose { P_NONE, P_LOGIN, P_INBOXES, P_SESSION, P_METRICS };
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
    uint32_t idx;  /* index in its group */
    uint32_t sent; /* messages sent (the client_id's suffix) */
    uint32_t seq;  /* the highest event seq seen (from hello on) */
    struct buf in, out, frag;
};

/* A set of WebSockets of one kind, opened together. */
struct group {
    struct conn *c;
    int n, next, pending, upgraded, hello, failed, dropped, rejected;
};

/* storm: one visitor's bookkeeping. */
struct svis {
    uint64_t mask;      /* which of the K missed replies arrived */
    uint32_t conv;      /* its conversation */
    uint32_t seen;      /* the highest seq it saw before it left */
    uint32_t since;     /* the seq it reconnects with (seen, unless --inject says otherwise) */
    uint32_t done_us;   /* us after the first reconnect when it had all K (0: not yet) */
    uint16_t got, dups; /* missed replies received; ones received again */
    uint16_t srep;      /* event frames whose seq was not above the last one it had */
    uint8_t order;      /* replies that came after a later one */
    uint8_t foreign;    /* replies meant for another visitor */
    uint8_t maxk;       /* 1 + the highest k received */
    uint8_t retries;    /* reconnects refused before a hello (1013 busy), tried again */
};

/* storm: message.send jobs kept --window in flight (the visitors' first messages, the agent's
 * replies); a job refused with `busy` goes again. */
struct jobs {
    int kind; /* 0 none, 1 first messages, 2 replies */
    uint32_t total, next, done, inflight, window, nretry;
    uint32_t *retry;
    uint64_t busy, errors;
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
    uint64_t copies; /* receiving agents: each message is this many deliveries */
    bool closed;     /* closed loop: --window in flight until `secs` have passed */
    int64_t secs_ns, last_ack, last_rx;
    uint64_t frames, bytes, created_bytes, gaps0, dups0, vdups0, busy0;
    uint64_t acked_in, received_in; /* closed loop: answered before the sending stopped */
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
    int agents, slow, slow_rcvbuf, missed, window, inject;
    double rate, duration, drain, hold, timeout, p99_ms;
    const char *rates;
    bool rates_set, conc_ws_set, visitors_set;
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
    bool agent_lost, login_done;
    struct conn **owned; /* conn_new's, freed at exit */
    int nowned;

    char **tokens;
    int ntokens, tokens_want, tokens_asked;

    struct group grp[K_COUNT]; /* agents, visitors, slow agents */
    int last_status;

    uint64_t pings, pongs, closes_in, total_sent, total_acked, total_received, total_errors;
    uint64_t total_expect; /* agent copies expected of what was sent */
    uint64_t seq_gaps, seq_dups, vseq_dups, busy;
    int errors_printed;
    struct phase *ph;

    /* storm */
    struct svis *sv;
    struct jobs jobs;
    bool reconnecting;
    int64_t reconnect_at;
    struct {
        uint32_t idx;
        int64_t at;
    } * again; /* visitors to reconnect again (FIFO, `at` ascending) */
    int again_head, again_tail;
    uint64_t retries, busy_closes;
    int storm_done;
    uint64_t storm_other;

    /* server RSS watched while a phase runs (slow) */
    bool rss_watch;
    int64_t rss_next;
    long rss_max, tcp_max;

    /* a /metrics answer */
    char *metrics;
    bool metrics_done;

    uint64_t test_msgs, test_bytes;
} G;

#define AGENTS (&G.grp[K_AGENT])
#define VISITORS (&G.grp[K_VISITOR])
#define SLOWS (&G.grp[K_SLOW])

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

/* jnum: the non-negative integer value of the first "key" in p, or -1. */
static int64_t jnum(const char *p, size_t n, const char *key)
{
    char pat[64];
    int pl = snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *end = p + n, *q = memmem(p, n, pat, (size_t)pl);
    if (!q)
        return -1;
    q += pl;
    if (q >= end || *q < '0' || *q > '9')
        return -1;
    int64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9')
        v = v * 10 + (*q++ - '0');
    return v;
}

/* event_seq: the seq of an event frame ({"type":"event","seq":N,...}), or -1 for any other. */
static int64_t event_seq(const char *p, size_t n)
{
    static const char pre[] = "{\"type\":\"event\",\"seq\":";
    if (n > sizeof(pre) && !memcmp(p, pre, sizeof(pre) - 1)) {
        int64_t v = 0;
        const char *q = p + sizeof(pre) - 1, *end = p + n;
        while (q < end && *q >= '0' && *q <= '9')
            v = v * 10 + (*q++ - '0');
        return v;
    }
    if (n < 200 ? !has(p, n, "\"type\":\"event\"") : !has(p, 200, "\"type\":\"event\""))
        return -1;
    return jnum(p, n, "seq");
}

/* seq_check: an event with this seq arrived on c; counts gaps (with `gapless`: an admin sees every
 * event of the account) and repeats. */
static void seq_check(struct conn *c, int64_t seq, bool gapless)
{
    if (seq <= (int64_t)c->seq) {
        if (gapless)
            G.seq_dups++;
        else
            G.vseq_dups++;
        return;
    }
    if (gapless && seq > (int64_t)c->seq + 1)
        G.seq_gaps += (uint64_t)(seq - (int64_t)c->seq - 1);
    c->seq = (uint32_t)seq;
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

/* tcp_mem_kb: the kernel's TCP buffer memory (/proc/net/sockstat "TCP: ... mem PAGES"). */
static long tcp_mem_kb(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/net/sockstat", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char *m = strstr(line, " mem ");
        if (!strncmp(line, "TCP:", 4) && m) {
            v = strtol(m + 5, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024);
            break;
        }
    }
    fclose(f);
    return v;
}

static long server_rss_kb(void)
{
    return G.o.pid ? proc_status_kb(G.o.pid, "VmRSS") : -1;
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

/* A slow client stops reading after its hello: it keeps only EPOLLRDHUP (and the implicit HUP
 * and ERR). */
static uint32_t read_events(const struct conn *c)
{
    return c->kind == K_SLOW && c->hello ? EPOLLRDHUP : EPOLLIN | EPOLLRDHUP;
}

static void set_pollout(struct conn *c, bool on)
{
    if (c->pollout == on || c->fd < 0)
        return;
    struct epoll_event ev = {.events = read_events(c) | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->pollout = on;
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->state == S_CLOSED)
        return;
    bool failed = why != NULL && !G.stopping;
    if (c->kind == K_VISITOR && G.reconnecting && failed && !c->hello &&
        G.sv[c->idx].retries < STORM_RETRIES) {
        /* A widget tries again when it is turned away (1013 "server busy; reconnect"). */
        G.sv[c->idx].retries++;
        G.retries++;
        G.busy_closes += strstr(why, "code 1013") != NULL;
        G.again[G.again_tail].idx = c->idx;
        G.again[G.again_tail++].at = now_ns() + STORM_BACKOFF_NS;
        G.grp[K_VISITOR].pending--;
        failed = false;
        why = NULL;
    } else if (c->kind == K_VISITOR || c->kind == K_AGENT || c->kind == K_SLOW) {
        struct group *g = &G.grp[c->kind];
        if (c->hello) {
            g->dropped += failed;
        } else {
            g->failed++;
            g->pending--;
        }
    }
    if (c->kind == K_AGENT && failed)
        G.agent_lost = true;
    if (failed && G.errors_printed < 5) {
        G.errors_printed++;
        fprintf(stderr, "loadgen: %s connection %u closed: %s\n",
                c->kind == K_VISITOR ? "visitor"
                : c->kind == K_AGENT ? "agent"
                : c->kind == K_SLOW  ? "slow agent"
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
    if (kind == K_SLOW && G.o.slow_rcvbuf > 0) /* before connect(), so the window is small too */
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &G.o.slow_rcvbuf, sizeof(G.o.slow_rcvbuf));
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

/* ws_request: the upgrade request; since >= 0 asks for the events after it. */
static void ws_request(struct conn *c, const char *token, int64_t since)
{
    char req[1024], sq[32] = "";
    if (since >= 0)
        snprintf(sq, sizeof(sq), "&since=%lld", (long long)since);
    int n = snprintf(req, sizeof(req),
                     "GET /ws?token=%s%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     token, sq, G.o.host, G.o.port);
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

/* jobs_answer: a storm job was acked, or refused (busy: it goes again). */
static void jobs_answer(uint32_t item, bool ok, bool busy)
{
    struct jobs *j = &G.jobs;
    if (item >= j->total || !j->inflight)
        return;
    j->inflight--;
    if (busy) {
        j->busy++;
        j->retry[j->nretry++] = item;
        return;
    }
    j->errors += !ok;
    j->done++;
}

/* client_item: the job number in a client_id "r<run>j<item>", or UINT32_MAX. */
static uint32_t client_item(const char *p, size_t len)
{
    char cid[80];
    if (!jstr(p, len, "client_id", cid, sizeof(cid)))
        return UINT32_MAX;
    const char *j = strchr(cid, 'j');
    return j && isdigit((unsigned char)j[1]) ? (uint32_t)strtoul(j + 1, NULL, 10) : UINT32_MAX;
}

/* storm_reply: a message.created event reached visitor c after its reconnect; the agent's
 * replies say "m<visitor>.<k>". */
static void storm_reply(struct conn *c, const char *p, size_t len, int64_t now)
{
    static const char pat[] = "\"content\":\"m";
    const char *q = memmem(p, len, pat, sizeof(pat) - 1), *end = p + len;
    if (!q) {
        G.storm_other++;
        return;
    }
    q += sizeof(pat) - 1;
    uint64_t i = 0, k = 0;
    while (q < end && isdigit((unsigned char)*q))
        i = i * 10 + (uint64_t)(*q++ - '0');
    if (q < end && *q == '.')
        q++;
    while (q < end && isdigit((unsigned char)*q))
        k = k * 10 + (uint64_t)(*q++ - '0');
    struct svis *v = &G.sv[c->idx];
    if (i != c->idx || k >= (uint64_t)G.o.missed) {
        if (v->foreign < UINT8_MAX)
            v->foreign++;
        return;
    }
    if (v->mask & (1ull << k)) {
        if (v->dups < UINT16_MAX)
            v->dups++;
        return;
    }
    v->mask |= 1ull << k;
    v->got++;
    if (k + 1 < v->maxk && v->order < UINT8_MAX)
        v->order++;
    if (k + 1 > v->maxk)
        v->maxk = (uint8_t)(k + 1);
    if (v->got == G.o.missed) {
        int64_t us = (now - G.reconnect_at) / 1000;
        v->done_us = us > 0 ? (uint32_t)us : 1;
        G.storm_done++;
    }
}

/* agent_answer: a frame to the agent that is not an event: acks and errors of its replies. */
static void agent_answer(const char *p, size_t len)
{
    if (G.jobs.kind != 2)
        return;
    if (has(p, len, "\"type\":\"ack\"")) {
        jobs_answer(client_item(p, len), true, false);
    } else if (has(p, len, "\"type\":\"error\"")) {
        bool busy = has(p, len, "\"code\":\"busy\"");
        if (!busy && G.errors_printed++ < 5)
            fprintf(stderr, "loadgen: agent: %.*s\n", (int)(len > 300 ? 300 : len), p);
        jobs_answer(client_item(p, len), false, busy);
    }
}

static void on_hello(struct conn *c, const char *p, size_t len)
{
    struct group *g = &G.grp[c->kind];
    c->hello = true;
    g->hello++;
    g->pending--;
    /* A reconnecting visitor keeps the seq it had: what the server replays is below the hello's. */
    int64_t seq = jnum(p, len, "seq");
    if (seq > 0 && !(c->kind == K_VISITOR && G.reconnecting))
        c->seq = (uint32_t)seq;
    if (c->kind == K_SLOW) { /* from now on it never reads */
        struct epoll_event ev = {.events = read_events(c) | (c->pollout ? EPOLLOUT : 0),
                                 .data.ptr = c};
        epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void on_message(struct conn *c, const char *p, size_t len)
{
    if (c->kind == K_TEST) {
        G.test_msgs++;
        G.test_bytes += len;
    }
    if (!c->hello && has(p, len, "\"type\":\"hello\"")) {
        on_hello(c, p, len);
        return;
    }
    if (c->kind == K_SLOW)
        return;
    int64_t now = now_ns(), seq = event_seq(p, len);
    if (c->kind == K_AGENT || c->kind == K_TEST) {
        struct phase *ph = G.ph;
        if (ph) {
            ph->frames++;
            ph->bytes += len;
        }
        if (seq < 0) {
            agent_answer(p, len);
            return;
        }
        seq_check(c, seq, true);
        if (ph)
            ph->agent_events++;
        if (!has(p, len < 100 ? len : 100, "\"event\":\"message.created\""))
            return;
        int64_t t = content_ns(p, len);
        if (!t)
            return;
        G.total_received++;
        if (ph) {
            ph->last_rx = now;
            ph->created_bytes += len;
        }
        phase_sample(true, t, now);
        return;
    }
    if (seq >= 0) {
        if (G.reconnecting && seq <= (int64_t)c->seq && G.sv[c->idx].srep < UINT16_MAX)
            G.sv[c->idx].srep++;
        seq_check(c, seq, false);
        if (G.reconnecting && has(p, len < 100 ? len : 100, "\"event\":\"message.created\""))
            storm_reply(c, p, len, now);
        return;
    }
    if (has(p, len, "\"type\":\"ack\"")) {
        if (G.jobs.kind == 1) { /* storm: the first message opened this visitor's conversation */
            int64_t conv = jnum(p, len, "conversation_id");
            G.sv[c->idx].conv = conv > 0 ? (uint32_t)conv : 0;
            jobs_answer(c->idx, conv > 0, false);
            return;
        }
        G.total_acked++;
        if (G.ph)
            G.ph->last_ack = now;
        phase_sample(false, content_ns(p, len), now);
    } else if (has(p, len, "\"type\":\"error\"")) {
        bool busy = has(p, len, "\"code\":\"busy\"");
        G.busy += busy;
        if (G.jobs.kind == 1) {
            jobs_answer(c->idx, false, busy);
            if (busy)
                return;
        } else {
            G.total_errors++;
            if (G.ph) {
                G.ph->errors++;
                G.total_expect -= G.total_expect >= G.ph->copies ? G.ph->copies : G.total_expect;
            }
        }
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
            G.grp[c->kind].rejected++;
            G.last_status = status;
            conn_close(c, why);
            return 0;
        }
        c->state = S_OPEN;
        G.grp[c->kind].upgraded++;
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
        if (c->state == S_CLOSED || (size_t)n < READ_BUF || (c->kind == K_SLOW && c->hello))
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
    if (c->kind == K_SLOW && c->hello) { /* it does not read: only learn that it was closed */
        if (e->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            G.grp[K_SLOW].dropped++;
            conn_close(c, NULL);
        }
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
    case P_METRICS:
        free(G.metrics);
        G.metrics = NULL;
        if (status == 200) {
            G.metrics = xrealloc(NULL, len + 2);
            G.metrics[0] = '\n'; /* so every name follows a newline */
            memcpy(G.metrics + 1, body, len);
            G.metrics[len + 1] = 0;
        }
        G.metrics_done = true;
        conn_close(c, NULL);
        return;
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
    struct group *g = VISITORS;
    if (ph->once) {
        struct conn *c = &g->c[ph->next];
        return c->state == S_OPEN && c->hello ? c : NULL;
    }
    for (int tries = 0; tries < g->n; tries++) {
        struct conn *c = &g->c[(ph->next + (uint64_t)tries) % (uint64_t)g->n];
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

/* open_ws: starts connection i of a group. */
static void open_ws(int kind, int i)
{
    struct conn *c = &G.grp[kind].c[i];
    conn_open(c, (enum kind)kind, (uint32_t)i);
    if (kind != K_VISITOR) {
        ws_request(c, G.agent_token, -1);
        return;
    }
    int64_t since = -1;
    if (G.reconnecting) {
        since = G.sv[i].since;
        c->seq = G.sv[i].seen;
    }
    ws_request(c, G.tokens[(uint32_t)i % (uint32_t)G.ntokens], since);
}

/* jobs_send: one storm job: a visitor's first message (kind 1) or reply k to visitor i (kind 2,
 * job k * V + i). */
static void jobs_send(uint32_t item)
{
    char js[256];
    int n;
    struct group *g = VISITORS;
    if (G.jobs.kind == 1) {
        struct conn *c = &g->c[item];
        n = snprintf(js, sizeof(js),
                     "{\"type\":\"message.send\",\"client_id\":\"r%08xo%u\",\"content\":\"o%u\"}",
                     G.run_id, item, item);
        ws_send(c, OP_TEXT, js, (size_t)n);
    } else {
        uint32_t i = item % (uint32_t)g->n, k = item / (uint32_t)g->n;
        n = snprintf(js, sizeof(js),
                     "{\"type\":\"message.send\",\"conversation_id\":%u,\"client_id\":"
                     "\"r%08xj%u\",\"content\":\"m%u.%u\"}",
                     G.sv[i].conv, G.run_id, item, i, k);
        ws_send(&AGENTS->c[0], OP_TEXT, js, (size_t)n);
    }
    G.jobs.inflight++;
}

/* pump_phase: the sends that are due: on the schedule (open loop) or to refill the window. */
static void pump_phase(struct phase *ph)
{
    if (ph->closed) {
        int64_t now = now_ns(), end = ph->start + ph->secs_ns;
        if (now < ph->start) {
            timer_arm(ph->start);
            return;
        }
        while (now < end && ph->sent - ph->acked - ph->errors < (uint64_t)G.o.window) {
            struct conn *c = pick_visitor(ph);
            if (!c)
                break;
            send_message(c);
            ph->sent++;
            G.total_sent++;
            G.total_expect += ph->copies;
            ph->next++;
        }
        if (now < end) {
            timer_arm(end);
            return;
        }
        ph->total = ph->next;
        if (!ph->send_end) {
            ph->send_end = now;
            ph->acked_in = ph->acked;
            ph->received_in = ph->received;
        }
        return;
    }
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
            G.total_expect += ph->copies;
            sample_add(&ph->lag, (uint64_t)(now - at));
        } else {
            ph->skipped++;
        }
        ph->next++;
    }
    if (!ph->send_end)
        ph->send_end = now_ns();
}

/* pump: what is due now: connections to start, scheduled sends, storm jobs. */
static void pump(void)
{
    static const int order[] = {K_AGENT, K_SLOW, K_VISITOR};
    int pending = 0;
    for (int k = 0; k < K_COUNT; k++)
        pending += G.grp[k].pending;
    while (G.again_head < G.again_tail && pending < G.o.conc_ws &&
           G.again[G.again_head].at <= now_ns()) {
        VISITORS->pending++;
        pending++;
        open_ws(K_VISITOR, (int)G.again[G.again_head++].idx);
    }
    if (G.again_head < G.again_tail)
        timer_arm(G.again[G.again_head].at);
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        struct group *g = &G.grp[order[k]];
        while (g->next < g->n && pending < G.o.conc_ws) {
            g->pending++;
            pending++;
            open_ws(order[k], g->next++);
        }
    }
    if (G.ph)
        pump_phase(G.ph);
    struct jobs *j = &G.jobs;
    while (j->kind && j->inflight < j->window && (j->nretry || j->next < j->total))
        jobs_send(j->nretry ? j->retry[--j->nretry] : j->next++);
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
        if (G.rss_watch && now >= G.rss_next) {
            long r = server_rss_kb(), t = tcp_mem_kb();
            G.rss_max = r > G.rss_max ? r : G.rss_max;
            G.tcp_max = t > G.tcp_max ? t : G.tcp_max;
            G.rss_next = now + 100000000;
        }
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

static bool sessions_done(void)
{
    return G.ntokens >= G.tokens_want;
}

static bool group_settled(const struct group *g)
{
    return g->next >= g->n && g->pending == 0;
}

static bool agents_settled(void)
{
    return group_settled(AGENTS);
}

static bool visitors_settled(void)
{
    return group_settled(VISITORS);
}

static bool slows_settled(void)
{
    return group_settled(SLOWS);
}

static bool metrics_done(void)
{
    return G.metrics_done;
}

static bool jobs_done(void)
{
    return G.jobs.done >= G.jobs.total;
}

static bool phase_sent(void)
{
    return G.ph->next >= G.ph->total;
}

static bool phase_drained(void)
{
    struct phase *ph = G.ph;
    return ph->acked + ph->errors >= ph->sent &&
           (ph->received >= (ph->sent - ph->errors) * ph->copies ||
            (G.agent_lost && ph->copies < 2));
}

static bool all_drained(void)
{
    return G.total_acked + G.total_errors >= G.total_sent &&
           (G.agent_lost || G.total_received >= G.total_expect);
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

/* group_start: (re)opens the n connections of a group; pump() starts them. */
static void group_start(int kind, int n)
{
    struct group *g = &G.grp[kind];
    if (!g->c) {
        g->c = xrealloc(NULL, sizeof(*g->c) * (size_t)n);
        memset(g->c, 0, sizeof(*g->c) * (size_t)n);
        for (int i = 0; i < n; i++)
            g->c[i].state = S_CLOSED;
    }
    struct conn *c = g->c;
    memset(g, 0, sizeof(*g));
    g->c = c;
    g->n = n;
}

/* group_open: opens a group and waits until each connection said hello or failed. */
static double group_open(int kind, int n, bool (*settled)(void), const char *what)
{
    int64_t t0 = now_ns();
    group_start(kind, n);
    run_until(settled, G.deadline);
    struct group *g = &G.grp[kind];
    double s = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "loadgen: %d of %d %s said hello in %.2f s (%d failed)\n", g->hello, n, what, s,
            g->failed);
    return s;
}

static double setup_agents(int n)
{
    double s = group_open(K_AGENT, n, agents_settled, "agent WebSockets");
    if (AGENTS->hello == 0)
        die("the agent WebSocket did not say hello");
    G.agent_lost = false; /* failed connects are reported (agents_failed), not a lost agent */
    return s;
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
    return group_open(K_VISITOR, n, visitors_settled, "visitor WebSockets");
}

/* metric: one value from the server's /metrics, or -1. */
static double metric(const char *name)
{
    G.metrics_done = false;
    struct conn *c = conn_new(K_HTTP, 0);
    c->purpose = P_METRICS;
    http_request(c, "GET", "/metrics", NULL, NULL);
    if (!run_until(metrics_done, now_ns() + 5000000000LL) || !G.metrics)
        return -1;
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *q = strstr(G.metrics, pat);
    return q ? strtod(q + strlen(pat), NULL) : -1;
}

/* ---- phases ---- */

static double per_s(uint64_t n, int64_t from, int64_t to)
{
    return to > from ? (double)n * 1e9 / (double)(to - from) : 0;
}

/* phase_window_end: the end of the time deliveries are counted over. Open loop: the last copy's
 * arrival, but not before the schedule's nominal end (total / rate), so a server that keeps up
 * delivers exactly the offered rate and one that falls behind delivers less by its deficit. */
static int64_t phase_window_end(const struct phase *ph)
{
    if (ph->closed || ph->rate <= 0)
        return ph->last_rx;
    int64_t nominal = ph->start + (int64_t)((double)ph->total * 1e9 / ph->rate);
    return ph->last_rx > nominal ? ph->last_rx : nominal;
}

static double phase_deliveries(const struct phase *ph)
{
    return ph->closed ? per_s(ph->received_in, ph->start, ph->send_end)
                      : per_s(ph->received, ph->start, phase_window_end(ph));
}

/* phase_offered: deliveries/s asked for: the schedule's rate times the receivers (closed loop:
 * what was sent over the sending time). */
static double phase_offered(const struct phase *ph)
{
    double send_s = (double)(ph->send_end - ph->start) / 1e9;
    if (!ph->closed && ph->rate > 0)
        return ph->rate * (double)ph->copies;
    return send_s > 0 ? (double)(ph->sent * ph->copies) / send_s : 0;
}

static void phase_print(const struct phase *ph, const struct cpu_snap *a, const struct cpu_snap *b)
{
    double send_s = (double)(ph->send_end - ph->start) / 1e9;
    uint64_t unacked = ph->sent > ph->acked + ph->errors ? ph->sent - ph->acked - ph->errors : 0;
    uint64_t want = (ph->sent - ph->errors) * ph->copies;
    uint64_t lost = want > ph->received ? want - ph->received : 0;
    printf("mode=%s visitors=%d rate=%.0f duration_s=%.1f sent=%llu acked=%llu received=%llu "
           "errors=%llu unacked=%llu lost=%llu skipped=%llu achieved_rate=%.0f",
           ph->name, VISITORS->hello - VISITORS->dropped, ph->rate, send_s,
           (unsigned long long)ph->sent, (unsigned long long)ph->acked,
           (unsigned long long)ph->received, (unsigned long long)ph->errors,
           (unsigned long long)unacked, (unsigned long long)lost, (unsigned long long)ph->skipped,
           send_s > 0 ? (double)ph->sent / send_s : 0);
    printf(" p50_us=%llu p90_us=%llu p99_us=%llu p999_us=%llu max_us=%llu",
           (unsigned long long)pct(&ph->agent, 0.50), (unsigned long long)pct(&ph->agent, 0.90),
           (unsigned long long)pct(&ph->agent, 0.99), (unsigned long long)pct(&ph->agent, 0.999),
           (unsigned long long)pct(&ph->agent, 1.0));
    printf(" ack_p50_us=%llu ack_p90_us=%llu ack_p99_us=%llu ack_max_us=%llu",
           (unsigned long long)pct(&ph->ack, 0.50), (unsigned long long)pct(&ph->ack, 0.90),
           (unsigned long long)pct(&ph->ack, 0.99), (unsigned long long)pct(&ph->ack, 1.0));
    printf(" lag_p99_us=%llu lag_max_us=%llu late=%llu agent_events=%llu dropped=%d",
           (unsigned long long)pct(&ph->lag, 0.99), (unsigned long long)pct(&ph->lag, 1.0),
           (unsigned long long)ph->late, (unsigned long long)ph->agent_events, VISITORS->dropped);
    /* Deliveries: message.created copies at the agents per second, from the phase's start to the
     * last copy (so a server that falls behind shows as fewer per second, not as more time). */
    /* Closed loop: what was answered while the window was kept full, over that time. */
    double deliveries = phase_deliveries(ph);
    double durable = ph->closed ? per_s(ph->acked_in, ph->start, ph->send_end)
                                : per_s(ph->acked, ph->start, ph->last_ack);
    printf(" copies=%llu deliveries_per_s=%.0f offered_deliveries_per_s=%.0f events_per_s=%.0f "
           "frames=%llu rx_frame_b=%.0f created_frame_b=%.0f rx_mbytes_per_s=%.1f "
           "durable_per_s=%.0f window=%d "
           "agents_dropped=%d "
           "seq_gaps=%llu seq_dups=%llu visitor_seq_dups=%llu busy=%llu",
           (unsigned long long)ph->copies, deliveries, phase_offered(ph),
           per_s(ph->agent_events, ph->start, phase_window_end(ph)), (unsigned long long)ph->frames,
           ph->frames ? (double)ph->bytes / (double)ph->frames : 0,
           ph->received ? (double)ph->created_bytes / (double)ph->received : 0,
           per_s(ph->bytes, ph->start, ph->end) / 1e6, durable, ph->closed ? G.o.window : 0,
           AGENTS->dropped, (unsigned long long)(G.seq_gaps - ph->gaps0),
           (unsigned long long)(G.seq_dups - ph->dups0),
           (unsigned long long)(G.vseq_dups - ph->vdups0),
           (unsigned long long)(G.busy - ph->busy0));
    cpu_report(a, b);
    printf("\n");
    fflush(stdout);
}

/* phase_run: waits for earlier messages to land, sends on schedule (or, closed, keeps --window in
 * flight for `secs`), waits for the answers. */
static void phase_run(struct phase *ph, const char *name, double rate, double secs, bool once,
                      bool closed)
{
    memset(ph, 0, sizeof(*ph));
    ph->name = name;
    ph->rate = rate;
    ph->once = once;
    ph->closed = closed;
    ph->secs_ns = (int64_t)(secs * 1e9);
    ph->copies = (uint64_t)(AGENTS->hello - AGENTS->dropped);
    ph->total = once ? (uint64_t)VISITORS->n : closed ? UINT64_MAX : (uint64_t)(rate * secs + 0.5);
    if (!run_until(all_drained, now_ns() + 30000000000LL))
        fprintf(stderr, "loadgen: earlier messages still unanswered after 30 s\n");
    struct cpu_snap a, b;
    cpu_snap(&a);
    ph->gaps0 = G.seq_gaps;
    ph->dups0 = G.seq_dups;
    ph->vdups0 = G.vseq_dups;
    ph->busy0 = G.busy;
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

/* phase_ok: the sweep's and fanout's pass rule; *why names the first failed condition. */
static bool phase_ok(const struct phase *ph, const char **why)
{
    double send_s = (double)(ph->send_end - ph->start) / 1e9;
    if (ph->errors || ph->skipped || G.agent_lost)
        *why = "errors";
    else if (ph->received < ph->sent * ph->copies || ph->acked < ph->sent)
        *why = "lost";
    else if (G.seq_gaps != ph->gaps0 || G.seq_dups != ph->dups0)
        *why = "seq";
    else if (send_s > 0 && (double)ph->sent / send_s < 0.95 * ph->rate)
        *why = "loadgen_behind";
    else if (ph->copies > 1 && phase_deliveries(ph) < 0.95 * phase_offered(ph))
        *why = "behind";
    else if ((double)pct(&ph->agent, 0.99) >= G.o.p99_ms * 1000)
        *why = "p99";
    else
        return true;
    return false;
}

static void conversations_setup(void)
{
    setup_login();
    setup_agents(1);
    setup_sessions(G.o.visitors);
    setup_visitors(G.o.visitors);
    if (VISITORS->hello < G.o.visitors)
        die("%d of %d visitor WebSockets failed", G.o.visitors - VISITORS->hello, G.o.visitors);
    if (G.o.warmup) { /* every visitor opens its conversation, so phases measure steady chat */
        struct phase w;
        double r = G.o.mode == MODE_SWEEP ? atof(G.o.rates) : G.o.rate;
        phase_run(&w, "warmup", r > 0 ? r : 500, 0, true, false);
        phase_release(&w);
    }
}

static int mode_latency(void)
{
    struct phase ph;
    conversations_setup();
    phase_run(&ph, "latency", G.o.rate, G.o.duration, false, false);
    bool ok = ph.errors == 0 && ph.received == ph.sent && ph.acked == ph.sent && !G.agent_lost &&
              G.seq_gaps == 0 && G.seq_dups == 0;
    phase_release(&ph);
    return ok ? 0 : 1;
}

static int mode_throughput(void)
{
    struct phase ph;
    conversations_setup();
    phase_run(&ph, "throughput", 0, G.o.duration, false, true);
    bool ok = ph.errors == 0 && ph.received == ph.sent && ph.acked == ph.sent && !G.agent_lost &&
              G.seq_gaps == 0 && G.seq_dups == 0;
    phase_release(&ph);
    return ok ? 0 : 1;
}

/* sweep_step: one rate; a rate that misses only the p99 limit runs again (--retries), since one
 * stall of the shared VM (a checkpoint, the hypervisor) can spoil a few seconds of samples.
 * *deliveries gets the step's deliveries/s. */
static bool sweep_step(double rate, const char **why, const char *name, const char *again,
                       double *deliveries)
{
    for (int attempt = 0;; attempt++) {
        struct phase ph;
        phase_run(&ph, attempt ? again : name, rate, G.o.duration, false, false);
        bool ok = phase_ok(&ph, why);
        if (deliveries)
            *deliveries = phase_deliveries(&ph);
        phase_release(&ph);
        if (ok || strcmp(*why, "p99") != 0 || attempt >= G.o.retries)
            return ok;
    }
}

static int parse_rates(double *rates, int max)
{
    int nr = 0;
    for (char *p = (char *)G.o.rates, *end; *p && nr < max; p = end) {
        rates[nr] = strtod(p, &end);
        if (end == p || rates[nr] <= 0)
            die("--rates must be a list of positive numbers: %s", G.o.rates);
        nr++;
        while (*end == ',' || *end == ' ')
            end++;
    }
    return nr;
}

/* ladder: steps up the rates until one fails, then bisects (--refine); the largest that passed.
 */
static double ladder(const double *rates, int nr, const char *name, const char *again, double *fail,
                     const char **reason, double *best_deliveries)
{
    double best = 0, d = 0;
    *fail = 0;
    *reason = "none";
    for (int i = 0; i < nr && !*fail; i++) {
        if (sweep_step(rates[i], reason, name, again, &d)) {
            best = rates[i];
            *best_deliveries = d;
        } else {
            *fail = rates[i];
        }
    }
    double step = rates[0] >= 100 ? 100 : 1; /* bisect to whole hundreds (or messages) */
    for (int k = 0; k<G.o.refine && * fail> 0; k++) {
        double mid = (double)(long)((best + *fail) / 2 / step + 0.5) * step;
        if (mid <= best || mid >= *fail)
            break;
        const char *why = "";
        if (sweep_step(mid, &why, name, again, &d)) {
            best = mid;
            *best_deliveries = d;
        } else {
            *fail = mid;
            *reason = why;
        }
    }
    return best;
}

static int mode_sweep(void)
{
    double rates[64], fail, d = 0;
    const char *reason;
    int nr = parse_rates(rates, 64);
    conversations_setup();
    double best = ladder(rates, nr, "sweep_step", "sweep_retry", &fail, &reason, &d);
    printf("mode=sweep visitors=%d p99_limit_ms=%.1f max_rate=%.0f first_fail_rate=%.0f "
           "fail_reason=%s\n",
           G.o.visitors, G.o.p99_ms, best, fail, fail > 0 ? reason : "none");
    return 0;
}

static int mode_fanout(void)
{
    double rates[64], fail, d = 0;
    const char *reason;
    int nr = 1;
    rates[0] = G.o.rate;
    if (G.o.rates_set)
        nr = parse_rates(rates, 64);
    setup_login();
    long rss0 = server_rss_kb();
    double conn_s = setup_agents(G.o.agents);
    long rss1 = server_rss_kb();
    setup_sessions(G.o.visitors);
    setup_visitors(G.o.visitors);
    if (VISITORS->hello < G.o.visitors)
        die("%d of %d visitor WebSockets failed", G.o.visitors - VISITORS->hello, G.o.visitors);
    if (G.o.warmup) { /* one message per visitor, at 10/s: it opens their conversations */
        struct phase w;
        phase_run(&w, "fanout_warmup", 10, 0, true, false);
        phase_release(&w);
    }
    double best = ladder(rates, nr, "fanout_step", "fanout_retry", &fail, &reason, &d);
    printf("mode=fanout agents=%d agents_failed=%d agents_connect_s=%.2f agents_per_s=%.0f "
           "visitors=%d p99_limit_ms=%.1f max_rate=%.0f max_deliveries_per_s=%.0f "
           "first_fail_rate=%.0f fail_reason=%s seq_gaps=%llu seq_dups=%llu",
           AGENTS->hello, AGENTS->failed, conn_s, conn_s > 0 ? AGENTS->hello / conn_s : 0,
           G.o.visitors, G.o.p99_ms, best, best > 0 ? d : 0, fail, fail > 0 ? reason : "none",
           (unsigned long long)G.seq_gaps, (unsigned long long)G.seq_dups);
    if (rss0 > 0 && rss1 > 0)
        printf(" server_rss_kb_before_agents=%ld server_rss_kb_agents=%ld rss_per_agent_b=%.0f",
               rss0, rss1, AGENTS->hello ? (double)(rss1 - rss0) * 1024 / AGENTS->hello : 0);
    printf("\n");
    return AGENTS->failed || G.seq_gaps || G.seq_dups ? 1 : 0;
}

/* ---- storm ---- */

static void jobs_run(int kind, uint32_t total, const char *what)
{
    struct jobs *j = &G.jobs;
    free(j->retry);
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    j->total = total;
    j->window = (uint32_t)G.o.window;
    j->retry = xrealloc(NULL, sizeof(*j->retry) * (j->window + 1));
    int64_t t0 = now_ns();
    if (!run_until(jobs_done, G.deadline))
        die("%s: %u of %u answered before the timeout", what, j->done, total);
    double s = (double)(now_ns() - t0) / 1e9;
    fprintf(stderr, "loadgen: %u %s in %.2f s (%.0f/s), %llu refused busy and sent again\n", total,
            what, s, s > 0 ? total / s : 0, (unsigned long long)j->busy);
    j->kind = 0;
}

static bool storm_complete(void)
{
    struct group *g = VISITORS;
    return g->next >= g->n && g->pending == 0 && G.again_head == G.again_tail &&
           G.storm_done + G.o.inject + g->failed + g->dropped >= g->n;
}

static int mode_storm(void)
{
    int n = G.o.visitors, K = G.o.missed, inj = G.o.inject;
    if (K < 1 || K > 64)
        die("--missed must be 1..64");
    if (2 * inj > n)
        die("--inject N needs at least 2N visitors");
    setup_login();
    setup_agents(1);
    setup_sessions(n);
    setup_visitors(n);
    if (VISITORS->hello < n)
        die("%d of %d visitor WebSockets failed", n - VISITORS->hello, n);
    G.sv = xrealloc(NULL, sizeof(*G.sv) * (size_t)n);
    memset(G.sv, 0, sizeof(*G.sv) * (size_t)n);
    for (int i = 0; i < n; i++)
        G.sv[i].since = VISITORS->c[i].seq; /* before its first message */

    /* Each visitor opens its conversation; its ack names it. */
    int64_t t0 = now_ns();
    jobs_run(1, (uint32_t)n, "first messages");
    double open_s = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < n; i++)
        if (!G.sv[i].conv)
            die("visitor %d got no conversation", i);
    run_until(NULL, now_ns() + 200000000); /* let the last events reach the visitors */

    /* All leave, keeping the highest seq they saw. */
    uint64_t seen_events = 0;
    for (int i = 0; i < n; i++) {
        struct conn *c = &VISITORS->c[i];
        G.sv[i].seen = c->seq;
        seen_events += c->seq > G.sv[i].since;
        if (i >= 2 * inj)
            G.sv[i].since = c->seq;
        else if (i >= inj)
            G.sv[i].since = 4000000000u; /* beyond the end: the server replays nothing */
        /* i < inj: the seq from before its first message, so its own events come again */
        conn_close(c, NULL);
    }
    double closed0 = metric("parley_ws_connections_open");

    /* The agent replies K times into every conversation while nobody is there. */
    t0 = now_ns();
    jobs_run(2, (uint32_t)n * (uint32_t)K, "agent replies");
    double reply_s = (double)(now_ns() - t0) / 1e9;
    uint64_t reply_busy = G.jobs.busy, reply_errors = G.jobs.errors;

    /* Everyone comes back at once. */
    if (!G.o.conc_ws_set)
        G.o.conc_ws = n;
    long rss0 = server_rss_kb();
    struct cpu_snap a, b;
    cpu_snap(&a);
    G.again = xrealloc(NULL, sizeof(*G.again) * (size_t)n * STORM_RETRIES);
    G.reconnecting = true;
    G.reconnect_at = now_ns();
    group_start(K_VISITOR, n);
    int64_t hello_all = 0;
    while (!storm_complete() && now_ns() < G.reconnect_at + (int64_t)(G.o.hold * 1e9)) {
        run_until(storm_complete, now_ns() + 10000000);
        if (!hello_all && VISITORS->hello + VISITORS->failed >= n)
            hello_all = now_ns();
    }
    int64_t done_at = now_ns();
    if (!hello_all && VISITORS->hello + VISITORS->failed >= n)
        hello_all = done_at;
    cpu_snap(&b);
    /* Late repeats would still count: listen a little longer. */
    run_until(NULL, now_ns() + (int64_t)(G.o.drain * 1e9));
    long rss1 = server_rss_kb();

    struct samples done = {0};
    uint64_t missing = 0, dups = 0, order = 0, foreign = 0, srep = 0;
    int incomplete = 0, inj_dup_ok = 0, inj_miss_ok = 0, clean = 0;
    uint32_t max_us = 0;
    for (int i = 0; i < n; i++) {
        struct svis *v = &G.sv[i];
        missing += (uint64_t)(K - v->got);
        dups += v->dups;
        order += v->order;
        foreign += v->foreign;
        srep += v->srep;
        if (v->done_us) {
            sample_add(&done, (uint64_t)v->done_us * 1000);
            max_us = v->done_us > max_us ? v->done_us : max_us;
        } else {
            incomplete++;
        }
        bool ok = v->got == K && !v->dups && !v->order && !v->foreign && !v->srep;
        if (i < inj)
            inj_dup_ok += v->got == K && v->srep > 0;
        else if (i < 2 * inj)
            inj_miss_ok += v->got == 0 && !v->srep;
        else
            clean += ok;
    }
    samples_sort(&done);
    bool injected_ok = inj_dup_ok == inj && inj_miss_ok == inj && clean == n - 2 * inj;
    printf("mode=storm visitors=%d missed_per_visitor=%d open_s=%.2f visitors_with_events=%llu "
           "replies=%d reply_s=%.2f replies_per_s=%.0f reply_busy=%llu reply_errors=%llu "
           "ws_open_while_away=%.0f reconnected=%d reconnect_failed=%d reconnect_dropped=%d "
           "conc_ws=%d retries=%llu busy_closes=%llu hello_all_ms=%.0f complete_ms=%.0f "
           "p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f incomplete=%d missing=%llu duplicates=%llu seq_repeats=%llu "
           "wrong_order=%llu foreign=%llu other_messages=%llu agent_seq_gaps=%llu "
           "agent_seq_dups=%llu inject=%d",
           n, K, open_s, (unsigned long long)seen_events, n * K, reply_s,
           reply_s > 0 ? n * K / reply_s : 0, (unsigned long long)reply_busy,
           (unsigned long long)reply_errors, closed0, VISITORS->hello, VISITORS->failed,
           VISITORS->dropped, G.o.conc_ws, (unsigned long long)G.retries,
           (unsigned long long)G.busy_closes,
           hello_all ? (double)(hello_all - G.reconnect_at) / 1e6 : -1,
           incomplete == 0 ? (double)(done_at - G.reconnect_at) / 1e6 : -1,
           (double)pct(&done, 0.5) / 1000, (double)pct(&done, 0.9) / 1000,
           (double)pct(&done, 0.99) / 1000, (double)max_us / 1000, incomplete,
           (unsigned long long)missing, (unsigned long long)dups, (unsigned long long)srep,
           (unsigned long long)order, (unsigned long long)foreign,
           (unsigned long long)G.storm_other, (unsigned long long)G.seq_gaps,
           (unsigned long long)G.seq_dups, inj);
    if (inj)
        printf(" injected_repeats_caught=%d injected_missing_caught=%d injected_ok=%d", inj_dup_ok,
               inj_miss_ok, injected_ok);
    if (rss0 > 0 && rss1 > 0)
        printf(" server_rss_kb_before=%ld server_rss_kb_after=%ld", rss0, rss1);
    cpu_report(&a, &b);
    printf("\n");
    free(done.v);
    if (inj)
        return injected_ok ? 0 : 1;
    return incomplete || missing || dups || srep || order || foreign || VISITORS->failed ||
                   G.seq_gaps || G.seq_dups
               ? 1
               : 0;
}

/* ---- slow consumers ---- */

static int mode_slow(void)
{
    struct phase base, load;
    conversations_setup();
    long rss0 = server_rss_kb(), tcp0 = tcp_mem_kb();
    double closed0 = metric("parley_slow_clients_closed_total");
    G.rss_watch = true;
    G.rss_max = rss0;
    G.tcp_max = tcp0;
    phase_run(&base, "slow_baseline", G.o.rate, G.o.duration, false, false);
    long rss_base = G.rss_max;

    double conn_s = group_open(K_SLOW, G.o.slow, slows_settled, "slow agent WebSockets");
    long rss_conn = server_rss_kb();
    G.rss_max = rss_conn;
    G.tcp_max = tcp_mem_kb();
    phase_run(&load, "slow_loaded", G.o.rate, G.o.duration, false, false);
    long rss_load = G.rss_max, tcp_load = G.tcp_max;
    double closed1 = metric("parley_slow_clients_closed_total");
    double ws1 = metric("parley_ws_connections_open");

    /* The server closes a client that stays slow after its close frame (2 s without progress). */
    run_until(NULL, now_ns() + (int64_t)(G.o.hold * 1e9));
    long rss_after = server_rss_kb(), tcp_after = tcp_mem_kb();
    double closed2 = metric("parley_slow_clients_closed_total");
    double ws2 = metric("parley_ws_connections_open");
    int slow_open = SLOWS->hello - SLOWS->dropped;
    for (int i = 0; i < SLOWS->n; i++)
        conn_close(&SLOWS->c[i], NULL);
    run_until(NULL, now_ns() + 1000000000);
    long rss_gone = server_rss_kb();
    G.rss_watch = false;

    printf("mode=slow visitors=%d rate=%.0f duration_s=%.1f slow=%d slow_rcvbuf=%d "
           "slow_established=%d slow_failed=%d slow_connect_s=%.2f",
           G.o.visitors, G.o.rate, G.o.duration, G.o.slow, G.o.slow_rcvbuf, SLOWS->hello,
           SLOWS->failed, conn_s);
    printf(" baseline_p50_us=%llu baseline_p99_us=%llu baseline_ack_p99_us=%llu baseline_lost=%llu"
           " loaded_p50_us=%llu loaded_p99_us=%llu loaded_ack_p99_us=%llu loaded_max_us=%llu"
           " loaded_lost=%llu loaded_errors=%llu",
           (unsigned long long)pct(&base.agent, 0.5), (unsigned long long)pct(&base.agent, 0.99),
           (unsigned long long)pct(&base.ack, 0.99),
           (unsigned long long)(base.sent - base.received),
           (unsigned long long)pct(&load.agent, 0.5), (unsigned long long)pct(&load.agent, 0.99),
           (unsigned long long)pct(&load.ack, 0.99), (unsigned long long)pct(&load.agent, 1.0),
           (unsigned long long)(load.sent > load.received ? load.sent - load.received : 0),
           (unsigned long long)load.errors);
    printf(" slow_closed_in_phase=%.0f slow_closed=%.0f server_ws_open_end_of_phase=%.0f "
           "server_ws_open_after=%.0f slow_seen_closed=%d slow_open_after=%d",
           closed1 - closed0, closed2 - closed0, ws1, ws2, SLOWS->dropped, slow_open);
    printf(
        " server_rss_kb_before=%ld server_rss_kb_baseline_max=%ld server_rss_kb_slow_connected=%ld"
        " server_rss_kb_loaded_max=%ld server_rss_kb_after=%ld server_rss_kb_slow_gone=%ld"
        " tcp_mem_kb_before=%ld tcp_mem_kb_loaded_max=%ld tcp_mem_kb_after=%ld\n",
        rss0, rss_base, rss_conn, rss_load, rss_after, rss_gone, tcp0, tcp_load, tcp_after);
    bool ok = base.errors == 0 && load.errors == 0 && base.received == base.sent &&
              load.received == load.sent && !G.agent_lost && G.seq_gaps == 0 && G.seq_dups == 0;
    phase_release(&base);
    phase_release(&load);
    return ok ? 0 : 1;
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
    long rss0 = server_rss_kb();
    long slab0 = meminfo_kb("Slab");
    struct cpu_snap a, b;
    cpu_snap(&a);
    double conn_s = setup_visitors(n);
    cpu_snap(&b);
    int64_t t = now_ns();
    run_until(NULL, t + (int64_t)(G.o.hold * 1e9));
    long rss1 = server_rss_kb();
    long slab1 = meminfo_kb("Slab");
    struct group *g = VISITORS;
    int open = g->hello - g->dropped;
    printf("mode=idle connections=%d established=%d failed=%d rejected=%d last_status=%d "
           "dropped=%d open_after_hold=%d hold_s=%.1f connect_s=%.2f connect_rate=%.0f "
           "src_addrs=%d pings=%llu pongs=%llu server_closes=%llu",
           n, g->hello, g->failed, g->rejected, G.last_status, g->dropped, open, G.o.hold, conn_s,
           conn_s > 0 ? g->hello / conn_s : 0, G.o.src_addrs, (unsigned long long)G.pings,
           (unsigned long long)G.pongs, (unsigned long long)G.closes_in);
    if (G.o.pid && rss0 > 0 && rss1 > 0)
        printf(" server_rss_kb_before=%ld server_rss_kb=%ld rss_per_conn_b=%.0f", rss0, rss1,
               open ? (double)(rss1 - rss0) * 1024 / open : 0);
    if (slab0 > 0 && slab1 > 0)
        printf(" slab_per_conn_b=%.0f", open ? (double)(slab1 - slab0) * 1024 / open : 0);
    printf(" loadgen_rss_kb=%ld", proc_status_kb(0, "VmRSS"));
    cpu_report(&a, &b);
    printf("\n");
    return g->failed || g->dropped ? 1 : 0;
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

/* selftest_feed: one server text frame with this JSON, fed to c. */
static void selftest_feed(struct conn *c, const char *json)
{
    uint8_t f[512];
    size_t n = server_frame(f, true, OP_TEXT, (const uint8_t *)json, strlen(json));
    feed(c, (char *)f, n);
}

/* selftest_seq: the gap and repeat counts of an agent's stream, and a storm visitor's
 * bookkeeping (missing, repeated, out of order, someone else's), on made-up events. */
static int selftest_seq(void)
{
    char js[256];
    struct conn c;
    memset(&c, 0, sizeof(c));
    c.kind = K_TEST;
    c.state = S_OPEN;
    c.fd = -1;
    selftest_feed(&c, "{\"type\":\"hello\",\"user_id\":1,\"account_id\":1,\"seq\":10}");
    static const int seqs[] = {11, 12, 14, 14, 13, 15};
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        snprintf(js, sizeof(js),
                 "{\"type\":\"event\",\"seq\":%d,\"event\":\"message.created\",\"data\":{}}",
                 seqs[i]);
        selftest_feed(&c, js);
    }
    selftest_feed(&c, "{\"event\":\"conversation.updated\",\"seq\":16,\"type\":\"event\"}");
    bool ok1 = c.hello && G.seq_gaps == 1 && G.seq_dups == 2 && c.seq == 16;
    printf("mode=selftest check=seq gaps=%llu dups=%llu last=%u ok=%d\n",
           (unsigned long long)G.seq_gaps, (unsigned long long)G.seq_dups, c.seq, ok1);
    buf_free(&c.in);
    buf_free(&c.out);

    /* A storm visitor (index 0, K = 3) after its reconnect at seq 20. */
    struct svis sv[1];
    memset(sv, 0, sizeof(sv));
    G.sv = sv;
    G.o.missed = 3;
    G.reconnecting = true;
    G.reconnect_at = now_ns();
    memset(&c, 0, sizeof(c));
    c.kind = K_VISITOR;
    c.state = S_OPEN;
    c.fd = -1;
    c.hello = true;
    c.seq = 20;
    static const struct {
        int seq;
        const char *content;
    } ev[] = {{19, "o0"},                 /* a repeat of what it had */
              {21, "m0.1"},               /* k 1 before k 0: out of order */
              {22, "m0.0"}, {23, "m1.2"}, /* someone else's */
              {24, "m0.1"},               /* k 1 again */
              {25, "m0.2"}};
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
        snprintf(js, sizeof(js),
                 "{\"type\":\"event\",\"seq\":%d,\"event\":\"message.created\",\"data\":"
                 "{\"message\":{\"id\":%d,\"content\":\"%s\"}}}",
                 ev[i].seq, ev[i].seq, ev[i].content);
        selftest_feed(&c, js);
    }
    bool ok2 = sv[0].got == 3 && sv[0].dups == 1 && sv[0].order == 1 && sv[0].foreign == 1 &&
               sv[0].srep == 1 && sv[0].done_us > 0 && G.storm_done == 1;
    printf("mode=selftest check=storm got=%u dups=%u order=%u foreign=%u seq_repeats=%u "
           "complete=%d ok=%d\n",
           sv[0].got, sv[0].dups, sv[0].order, sv[0].foreign, sv[0].srep, sv[0].done_us > 0, ok2);
    G.sv = NULL;
    G.reconnecting = false;
    buf_free(&c.in);
    buf_free(&c.out);
    return !ok1 + !ok2;
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
    failures += selftest_seq();
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
            need - G.o.conc_http - 16, need, (unsigned long long)rl.rlim_cur);
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: loadgen --mode latency|sweep|throughput|fanout|storm|slow|idle|selftest\n"
        "               --port PORT [options]\n"
        "  --host ADDR          server address (127.0.0.1)\n"
        "  --email E --password P   an admin of account 1 (all but idle with --widget-token)\n"
        "  --widget-token T     the web inbox's widget token (else read from the inbox list)\n"
        "  --visitors N         visitor WebSockets (1000; fanout 20, storm 10000)\n"
        "  --rate R             messages/s over all visitors (latency, slow: 500; fanout: 30)\n"
        "  --duration S         seconds of sending per phase (10)\n"
        "  --rates LIST         sweep (and fanout, if given) rates, ascending (sweep:\n"
        "                       500,1000,2000,3000,5000,7000,10000,14000,20000)\n"
        "  --p99-ms MS          sweep and fanout pass limit for p99 send -> agent (sweep 10;\n"
        "                       fanout 1000: one event to 10,000 sockets is 10,000 writes, so\n"
        "                       fanout passes a rate mainly by keeping up with it)\n"
        "  --refine K           sweep, fanout: bisection steps after the first failure (2)\n"
        "  --retries K          sweep, fanout: runs again of a rate that missed only the p99 (1)\n"
        "  --warmup 0|1         first one message per visitor, unmeasured (1)\n"
        "  --drain S            seconds to wait for answers after sending (5; storm: listening\n"
        "                       for late repeats after the last visitor completed, 1)\n"
        "  --agents A           fanout: agent WebSockets of the admin, one token (10000)\n"
        "  --window W           throughput: messages in flight (1000); storm: jobs in flight\n"
        "                       (512)\n"
        "  --missed K           storm: agent replies per visitor while it is away, 1..64 (3)\n"
        "  --inject N           storm: N visitors come back with an older since, N with one\n"
        "                       beyond the end; passes only if both are caught (0)\n"
        "  --slow S             slow: agent WebSockets that never read (1000)\n"
        "  --slow-rcvbuf B      slow: their SO_RCVBUF, set before connect (4096)\n"
        "  --hold S             idle: seconds to hold the connections (5); slow: seconds after\n"
        "                       the loaded phase before the RSS 'after' (5); storm: longest\n"
        "                       wait for completion (30)\n"
        "  --sessions K         idle: distinct widget sessions, shared round robin (N)\n"
        "  --conc-ws N          WebSocket handshakes in flight (256; storm reconnect: all)\n"
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
                                       {"agents", 1, 0, 'A'},
                                       {"window", 1, 0, 'x'},
                                       {"missed", 1, 0, 'k'},
                                       {"inject", 1, 0, 'j'},
                                       {"slow", 1, 0, 'S'},
                                       {"slow-rcvbuf", 1, 0, 'b'},
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
                       .agents = 10000,
                       .missed = 3,
                       .slow = 1000,
                       .slow_rcvbuf = 4096,
                       .rates = "500,1000,2000,3000,5000,7000,10000,14000,20000"};
    const char *mode = "latency";
    bool rate_set = false, p99_set = false, drain_set = false, hold_set = false;
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
            o->visitors_set = true;
            break;
        case 'r':
            o->rate = atof(optarg);
            rate_set = true;
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 'R':
            o->rates = optarg;
            o->rates_set = true;
            break;
        case 'l':
            o->p99_ms = atof(optarg);
            p99_set = true;
            break;
        case 'f':
            o->refine = atoi(optarg);
            break;
        case 'W':
            o->warmup = atoi(optarg);
            break;
        case 'D':
            o->drain = atof(optarg);
            drain_set = true;
            break;
        case 'h':
            o->hold = atof(optarg);
            hold_set = true;
            break;
        case 's':
            o->sessions = atoi(optarg);
            break;
        case 'c':
            o->conc_ws = atoi(optarg);
            o->conc_ws_set = true;
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
        case 'A':
            o->agents = atoi(optarg);
            break;
        case 'x':
            o->window = atoi(optarg);
            break;
        case 'k':
            o->missed = atoi(optarg);
            break;
        case 'j':
            o->inject = atoi(optarg);
            break;
        case 'S':
            o->slow = atoi(optarg);
            break;
        case 'b':
            o->slow_rcvbuf = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    static const struct {
        const char *name;
        enum mode mode;
    } modes[] = {
        {"latency", MODE_LATENCY}, {"sweep", MODE_SWEEP},      {"throughput", MODE_THROUGHPUT},
        {"fanout", MODE_FANOUT},   {"storm", MODE_STORM},      {"slow", MODE_SLOW},
        {"idle", MODE_IDLE},       {"selftest", MODE_SELFTEST}};
    size_t m = 0;
    while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(mode, modes[m].name) != 0)
        m++;
    if (m == sizeof(modes) / sizeof(modes[0]))
        usage();
    o->mode = modes[m].mode;
    /* Per-mode defaults. */
    if (o->mode == MODE_FANOUT) {
        if (!o->visitors_set)
            o->visitors = 20;
        if (!rate_set)
            o->rate = 30;
        if (!p99_set)
            o->p99_ms = 1000;
    } else if (o->mode == MODE_STORM) {
        if (!o->visitors_set)
            o->visitors = 10000;
        if (!hold_set)
            o->hold = 30;
        if (!drain_set)
            o->drain = 1;
        if (!o->window)
            o->window = 512;
    } else if (o->mode == MODE_THROUGHPUT && !o->window) {
        o->window = 1000;
    }
    if (o->mode != MODE_FANOUT)
        o->agents = 1;
    if (o->mode != MODE_SLOW)
        o->slow = 0;
    G.rng = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    G.run_id = rnd();
    if (o->mode == MODE_SELFTEST)
        return mode_selftest();
    if (o->port <= 0 || o->port > 65535 || o->visitors < 1 || o->conc_ws < 1 || o->conc_http < 1 ||
        o->rate <= 0 || o->duration <= 0 || o->agents < 1 || o->slow < 0 || o->window < 0 ||
        o->inject < 0)
        usage();
    int conns = o->visitors + (o->mode == MODE_IDLE ? 0 : o->agents) + o->slow;
    if (o->src_addrs <= 0)
        o->src_addrs = 1 + conns / 5000; /* connect() slows as one address's ports fill */

    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)o->timeout + 5); /* the loop's own deadline comes first */
    G.deadline = now_ns() + (int64_t)(o->timeout * 1e9);
    raise_nofile(conns + o->conc_http + 16);

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

    int rc;
    switch (o->mode) {
    case MODE_IDLE:
        rc = mode_idle();
        break;
    case MODE_SWEEP:
        rc = mode_sweep();
        break;
    case MODE_THROUGHPUT:
        rc = mode_throughput();
        break;
    case MODE_FANOUT:
        rc = mode_fanout();
        break;
    case MODE_STORM:
        rc = mode_storm();
        break;
    case MODE_SLOW:
        rc = mode_slow();
        break;
    default:
        rc = mode_latency();
    }
    G.stopping = true;
    fflush(stdout);
    for (int i = 0; i < G.nowned; i++)
        conn_close(G.owned[i], NULL);
    for (int k = 0; k < K_COUNT; k++) {
        for (int i = 0; i < G.grp[k].n; i++)
            conn_close(&G.grp[k].c[i], NULL);
        free(G.grp[k].c);
    }
    for (int i = 0; i < G.nowned; i++)
        free(G.owned[i]);
    for (int i = 0; i < G.ntokens; i++)
        free(G.tokens[i]);
    free(G.owned);
    free(G.tokens);
    free(G.sv);
    free(G.again);
    free(G.jobs.retry);
    free(G.metrics);
    free(G.rbuf);
    return rc;
}
