/* send_ceiling.c: the raw fan-out ceiling of this machine: how many small WebSocket frames per
 * second one thread can push to N loopback TCP sockets with a plain non-blocking send loop.
 *
 * Why: Parley's fan-out (one event written to every interested socket) is quoted as a ratio of
 * this figure: nothing runs here but the send() calls, so a server cannot beat it on this machine.
 *
 * Design: a listening socket on 127.0.0.1 (ephemeral port) and a forked receiver, a separate
 * process as the real load generator is. It accepts N connections and drains them with one
 * level-triggered epoll set and one read buffer, counting frames per connection (they have a
 * fixed size) and checking that each starts with 0x81 and the expected length byte. The sender
 * opens N connections (TCP_NODELAY) and for --seconds goes round them, writing one block to each:
 * --batch unmasked text frames around a JSON event of --frame-bytes, built once as a server builds
 * an event once for all recipients. --batch 1 is one send() per frame, as a server writes each
 * event when it happens; K > 1 is the coalesced case. When a socket's buffer is full (EAGAIN or a
 * short write: `eagain`) its tail is kept and the socket skipped until epoll reports EPOLLOUT;
 * if all are blocked the sender sleeps in epoll_wait. Both processes share one CLOCK_MONOTONIC
 * window; deliveries_per_s counts frames the receiver read inside it. The sender is pinned to CPU
 * 0 and the receiver to CPU 1 (--pin 0: not). CPU is getrusage over the window; on loopback the
 * receiver's TCP input runs inside the sender's send(), so most kernel receive work is the
 * sender's.
 *
 * Run:  send_ceiling [--conns 10000] [--seconds 5] [--frame-bytes 120] [--batch 1] [--pin 1]
 * Each process needs conns + 16 descriptors (RLIMIT_NOFILE's soft limit is raised to the hard one).
 *
 * Output: one `key=value` line on stdout; progress and errors on stderr. Exit status 0 on
 * success, 1 on a failure during the run, 2 on a set-up error, 3 on the hard timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (256u << 10)
#define MAX_BATCH 1024
#define DRAIN_NS 30000000000LL /* the receiver's limit for draining after the window */

struct sconn {
    int fd;
    uint32_t off; /* bytes of the block already written; the rest is the unsent tail */
    bool blocked, in_epoll;
};

/* What the receiver sends back over the result pipe (same binary, so a raw struct). */
struct rx_result {
    uint64_t frames_window, frames_total, bad_frames, resets;
    double cpu_s, wall_s;
};

struct window {
    int64_t start, end;
};

static struct {
    int conns, frame_bytes, batch, pin;
    double seconds;
    char *block; /* `batch` frames, built once */
    size_t block_len, frame_len;
    pid_t child;
    bool is_child;
    int ep, nblocked;
    uint64_t sends, frames, eagain, skips;
} S;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Kills and reaps the receiver; async-signal-safe, for the alarm handler too. */
static void reap_child(void)
{
    if (S.child > 0) {
        kill(S.child, SIGKILL);
        waitpid(S.child, NULL, 0);
    }
}

/* Ends the process with `code`; the sender also kills and reaps the receiver. */
__attribute__((format(printf, 2, 3), noreturn)) static void die(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "send_ceiling%s: %s\n", S.is_child ? " (receiver)" : "", msg);
    if (S.is_child)
        _exit(code);
    printf("error=%s reason=\"%s\"\n", code == 2 ? "setup" : "run", msg);
    fflush(stdout);
    reap_child();
    exit(code);
}

static void on_alarm(int sig)
{
    (void)sig;
    if (!S.is_child) {
        static const char msg[] = "error=timeout\n";
        ssize_t w = write(1, msg, sizeof(msg) - 1);
        (void)w;
        reap_child();
    }
    _exit(3);
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0)
        fprintf(stderr, "send_ceiling: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

/* One text frame of exactly `payload` bytes of JSON at p; returns its length on the wire. */
static size_t build_frame(char *p, int payload, int seq)
{
    size_t h = 0;
    p[h++] = (char)0x81; /* FIN + text */
    if (payload <= 125) {
        p[h++] = (char)payload;
    } else { /* 16-bit length; --frame-bytes stops at 65535 */
        p[h++] = 126;
        p[h++] = (char)(payload >> 8);
        p[h++] = (char)payload;
    }
    char head[128];
    int n = snprintf(head, sizeof(head),
                     "{\"type\":\"event\",\"seq\":%d,\"event\":\"message.created\","
                     "\"data\":{\"content\":\"",
                     seq);
    if (payload < n + 3)
        die(2, "--frame-bytes must be at least %d", n + 3);
    memcpy(p + h, head, (size_t)n);
    for (int i = n; i < payload - 3; i++)
        p[h + (size_t)i] = (char)('a' + i % 26);
    memcpy(p + h + (size_t)payload - 3, "\"}}", 3);
    return h + (size_t)payload;
}

/* ---- receiver (the child) ---- */

static void receiver(int lfd, int ctl_rd, int res_wr)
{
    S.is_child = true;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the sender */
    alarm((unsigned)S.seconds + 150);
    if (S.pin)
        pin_to(1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    /* Per fd, bytes into its current frame; descriptors are allocated lowest first. */
    int fd_limit = S.conns + 64;
    uint32_t *pos = calloc((size_t)fd_limit, sizeof(*pos));
    char *rbuf = malloc(READ_BUF);
    struct epoll_event evs[1024];
    if (ep < 0 || !pos || !rbuf)
        die(2, "out of memory or epoll: %s", strerror(errno));
    int open;
    for (open = 0; open < S.conns; open++) { /* a blocking accept; the alarm is the backstop */
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (fd < 0 || fd >= fd_limit || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die(2, "accept after %d connections: %s", open, strerror(errno));
    }
    close(lfd);
    struct window w;
    if (write(res_wr, "R", 1) != 1 || read(ctl_rd, &w, sizeof(w)) != (ssize_t)sizeof(w))
        die(1, "lost the sender");
    struct rx_result r = {0};
    const uint8_t len_byte = (uint8_t)S.block[1];
    double cpu0 = cpu_s();
    bool in_window = true;
    int64_t now = now_ns();
    while (open > 0 && now < w.end + DRAIN_NS) {
        int n = epoll_wait(ep, evs, 1024, 100);
        if (n < 0 && errno != EINTR)
            die(1, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            ssize_t got = read(fd, rbuf, READ_BUF);
            if (got > 0) {
                uint32_t p = pos[fd], f = (uint32_t)S.frame_len;
                /* Each frame starting in this read opens with 0x81 and its length byte: one
                 * load per frame, next to the kernel's copy of all of its bytes. */
                for (size_t b = p ? f - p : 0; b < (size_t)got; b += f)
                    if ((uint8_t)rbuf[b] != 0x81 ||
                        (b + 1 < (size_t)got && (uint8_t)rbuf[b + 1] != len_byte))
                        r.bad_frames++;
                r.frames_total += ((uint64_t)p + (uint64_t)got) / f;
                pos[fd] = (uint32_t)(((uint64_t)p + (uint64_t)got) % f);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                if (got < 0)
                    r.resets++;
                close(fd); /* also leaves the epoll set */
                open--;
            }
        }
        now = now_ns();
        if (in_window && (now >= w.end || open == 0)) { /* open == 0: the sender stopped early */
            in_window = false;
            r.frames_window = r.frames_total;
            r.cpu_s = cpu_s() - cpu0;
            r.wall_s = (double)(now - w.start) / 1e9;
        }
    }
    if (open > 0)
        fprintf(stderr, "send_ceiling (receiver): %d sockets still open after draining\n", open);
    if (write(res_wr, &r, sizeof(r)) != (ssize_t)sizeof(r))
        die(1, "cannot report: %s", strerror(errno));
    _exit(0);
}

/* ---- sender (the parent) ---- */

static void set_blocked(struct sconn *c, bool blocked)
{
    struct epoll_event ev = {.events = blocked ? EPOLLOUT : 0, .data.ptr = c};
    int op = c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(S.ep, op, c->fd, &ev) < 0)
        die(1, "epoll_ctl: %s", strerror(errno));
    c->in_epoll = true;
    c->blocked = blocked;
    S.nblocked += blocked ? 1 : -1;
}

/* Writes the rest of the block to c; returns true when all of it is in the kernel. */
static bool push(struct sconn *c)
{
    size_t left = S.block_len - c->off;
    ssize_t r = send(c->fd, S.block + c->off, left, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        die(1, "send: %s", strerror(errno));
    if (r > 0) {
        S.sends++;
        S.frames += (c->off + (size_t)r) / S.frame_len - c->off / S.frame_len;
    }
    if (r == (ssize_t)left) {
        c->off = 0;
        return true;
    }
    S.eagain++; /* the socket buffer is full: keep the tail, wait for EPOLLOUT */
    if (r > 0)
        c->off += (uint32_t)r;
    if (!c->blocked)
        set_blocked(c, true);
    return false;
}

/* Finishes the tails of sockets epoll reports writable; waits up to timeout_ms for one. */
static void service_blocked(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(S.ep, evs, 512, timeout_ms);
    if (n < 0 && errno != EINTR)
        die(1, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        struct sconn *c = evs[i].data.ptr;
        if (c->blocked && push(c))
            set_blocked(c, false);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: send_ceiling [--conns N (10000)] [--seconds S (5)]\n"
            "                    [--frame-bytes B (120)] [--batch K (1)] [--pin 0|1 (1)]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"conns", 1, 0, 0},       {"seconds", 1, 0, 1},
                                       {"frame-bytes", 1, 0, 2}, {"batch", 1, 0, 3},
                                       {"pin", 1, 0, 4},         {0, 0, 0, 0}};
    /* Every option is a number; getopt_long hands back its index in lo[] and v[]. */
    double v[] = {10000, 5, 120, 1, 1};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        char *end = NULL;
        if (ch >= 0 && ch < 5)
            v[ch] = strtod(optarg, &end);
        if (!end || end == optarg || *end)
            usage();
    }
    S.conns = (int)v[0], S.seconds = v[1], S.frame_bytes = (int)v[2], S.batch = (int)v[3];
    S.pin = v[4] != 0;
    if (optind != argc || v[0] < 1 || v[0] > 1e6 || v[1] <= 0 || v[1] > 3600 || v[2] < 1 ||
        v[2] > 65535 || v[3] < 1 || v[3] > MAX_BATCH)
        usage();
    signal(SIGALRM, on_alarm);
    alarm((unsigned)S.seconds + 120); /* backstop; connecting and draining take seconds */

    /* Each process holds N sockets plus a few: raise the soft limit to the hard one. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)S.conns + 16)
        die(2,
            "--conns %d needs %d file descriptors in each process but the hard limit is %llu "
            "(ulimit -Hn); use --conns %lld or fewer",
            S.conns, S.conns + 16, (unsigned long long)rl.rlim_max, (long long)rl.rlim_cur - 16);
    S.pin = S.pin && sysconf(_SC_NPROCESSORS_ONLN) >= 2;

    S.block = malloc((size_t)S.batch * ((size_t)S.frame_bytes + 4)); /* headers: 2 or 4 bytes */
    if (!S.block)
        die(2, "out of memory");
    for (int i = 0; i < S.batch; i++) {
        S.frame_len = build_frame(S.block + S.block_len, S.frame_bytes, i + 1);
        S.block_len += S.frame_len;
    }

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(addr);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0)
        die(2, "listen on 127.0.0.1: %s", strerror(errno));
    int ctl[2], res[2]; /* sender -> receiver: the window; receiver -> sender: ready, results */
    if (pipe2(ctl, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
        die(2, "pipe: %s", strerror(errno));
    fflush(stdout);
    S.child = fork();
    if (S.child < 0)
        die(2, "fork: %s", strerror(errno));
    if (S.child == 0) {
        close(ctl[1]);
        close(res[0]);
        receiver(lfd, ctl[0], res[1]);
    }
    close(lfd);
    close(ctl[0]);
    close(res[1]);
    if (S.pin)
        pin_to(0);

    /* Blocking connects, one at a time: each completes in the kernel; the backlog stays short. */
    struct sconn *conns = calloc((size_t)S.conns, sizeof(*conns));
    if (!conns || (S.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die(2, "out of memory or epoll: %s", strerror(errno));
    int64_t t_conn = now_ns();
    int one = 1;
    for (int i = 0; i < S.conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
            connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
            die(2, "connection %d of %d: %s", i + 1, S.conns, strerror(errno));
        conns[i].fd = fd;
    }
    char ready;
    if (read(res[0], &ready, 1) != 1)
        die(2, "the receiver did not accept the connections");
    fprintf(stderr, "send_ceiling: %d connections in %.2f s, port %d; sending for %.1f s\n",
            S.conns, (double)(now_ns() - t_conn) / 1e9, ntohs(addr.sin_port), S.seconds);

    struct window w = {.start = now_ns()};
    w.end = w.start + (int64_t)(S.seconds * 1e9);
    if (write(ctl[1], &w, sizeof(w)) != (ssize_t)sizeof(w))
        die(1, "cannot start the receiver: %s", strerror(errno));
    double cpu0 = cpu_s();
    int64_t now = w.start;
    uint64_t k = 0;
    while (now < w.end) {
        for (int i = 0; i < S.conns && now < w.end; i++) {
            if (conns[i].blocked)
                S.skips++;
            else
                push(&conns[i]);
            if ((++k & 63) == 0)
                now = now_ns();
        }
        if (S.nblocked) /* sleep only when no socket can take a frame: no busy spin */
            service_blocked(S.nblocked == S.conns ? (int)((w.end - now) / 1000000) + 1 : 0);
        now = now_ns();
    }
    double sender_cpu = cpu_s() - cpu0, wall = (double)(now - w.start) / 1e9;
    for (int i = 0; i < S.conns; i++)
        close(conns[i].fd); /* the receiver drains what the kernel holds, then sees EOF */

    struct rx_result r;
    if (read(res[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
        die(1, "the receiver did not report");
    int status;
    if (waitpid(S.child, &status, 0) != S.child || !WIFEXITED(status) || WEXITSTATUS(status))
        die(1, "the receiver failed (status %d)", status);
    S.child = 0;
    printf("mode=send_ceiling conns=%d frame_bytes=%d batch=%d seconds=%.3f frames_sent=%llu"
           " frames_received=%llu deliveries_per_s=%.0f sends_per_s=%.0f eagain=%llu"
           " sender_cpu_pct=%.1f receiver_cpu_pct=%.1f skips=%llu frames_received_total=%llu"
           " bad_frames=%llu\n",
           S.conns, S.frame_bytes, S.batch, wall, (unsigned long long)S.frames,
           (unsigned long long)r.frames_window, (double)r.frames_window / wall,
           (double)S.sends / wall, (unsigned long long)S.eagain, 100 * sender_cpu / wall,
           100 * r.cpu_s / r.wall_s, (unsigned long long)S.skips,
           (unsigned long long)r.frames_total, (unsigned long long)r.bad_frames);
    free(conns);
    free(S.block);
    return r.bad_frames || r.resets ? 1 : 0;
}
