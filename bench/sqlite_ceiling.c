/* sqlite_ceiling.c: the raw SQLite group-commit ceiling for durable chat messages on this machine.
 *
 * What: one thread inserts chat-message rows into a WAL database through one prepared statement,
 * G rows per transaction (BEGIN IMMEDIATE ... COMMIT), for --seconds per group size, and reports
 * transactions/s, rows/s and the latency of the COMMIT step (where the fsync happens).
 *
 * Why: Parley persists every message before it is acknowledged, so its message rate is bounded by
 * what SQLite can commit durably on this disk. The server's figures are quoted as a ratio of this
 * ceiling; nothing here (no parsing, no JSON, no event loop) can be made faster by the server.
 *
 * Set-up, chosen to match the server's writer connection (src/store/store_sqlite.c):
 * journal_mode=WAL, synchronous=FULL (or NORMAL with --sync normal), cache_size 64 MiB, default WAL
 * autocheckpoint. The table has the shape of a message row with its two indexes. Each group size
 * starts from a fresh, empty database, so a figure does not depend on the order of --groups. The
 * files live in --dir, which must be on a real disk (the default /var/tmp is; /tmp may be tmpfs,
 * where fsync costs nothing and the figure would be the CPU ceiling instead).
 *
 * Run:  sqlite_ceiling [--dir /var/tmp] [--groups 1,10,100,1000] [--seconds 2] [--sync full|normal]
 *                      [--conversations 1000]
 *
 * Output: one `key=value` line per group size and a summary line on stdout; errors on stderr.
 * Exit status 0 on success, 1 on a database error during the run, 2 on a set-up error, 3 on the
 * hard timeout. The database, -wal and -shm files are removed at the end, also on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define MAX_GROUPS 32

static const char SCHEMA[] =
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL,"
    " conversation_id INTEGER NOT NULL, sender_type TEXT NOT NULL, content TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX messages_conv ON messages(conversation_id, id);"
    "CREATE INDEX messages_account ON messages(account_id, id);";

/* The three paths, built before any signal can arrive, so the handler only calls unlink(). */
static char db_path[4096], wal_path[4200], shm_path[4200];

struct result {
    int group;
    uint64_t tx, rows;
    double seconds, commit_p50_us, commit_p99_us;
};

struct samples {
    uint32_t *v; /* commit latencies in ns; a commit over 4 s saturates */
    size_t n, cap;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void remove_files(void)
{
    unlink(db_path);
    unlink(wal_path);
    unlink(shm_path);
}

__attribute__((format(printf, 2, 3), noreturn)) static void fail(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("error=%s reason=\"%s\"\n", code == 2 ? "setup" : "run", msg);
    fprintf(stderr, "sqlite_ceiling: %s\n", msg);
    fflush(stdout);
    remove_files();
    exit(code);
}

/* SIGINT/SIGTERM and the backstop alarm: only async-signal-safe calls. */
static void on_signal(int sig)
{
    unlink(db_path);
    unlink(wal_path);
    unlink(shm_path);
    if (sig == SIGALRM) {
        static const char msg[] = "error=timeout\n";
        ssize_t w = write(1, msg, sizeof(msg) - 1);
        (void)w;
        _exit(3);
    }
    _exit(128 + sig);
}

static void exec_or_fail(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail(2, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
}

static sqlite3_stmt *prepare_or_fail(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        fail(2, "prepare %s: %s", sql, sqlite3_errmsg(db));
    return st;
}

/* Steps a statement that returns no rows and resets it; any other outcome ends the run. */
static void step_done(sqlite3 *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        fail(1, "%s: %s", sqlite3_sql(st), sqlite3_errmsg(db));
    sqlite3_reset(st);
}

static void samples_add(struct samples *s, int64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            fail(2, "out of memory for %zu latency samples", s->cap);
    }
    s->v[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile in microseconds (nearest rank), of sorted samples. */
static double quantile_us(const struct samples *s, double q)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(q * (double)s->n);
    return s->v[i < s->n ? i : s->n - 1] / 1e3;
}

/* Opens a fresh database in db_path with the server's writer settings. */
static sqlite3 *open_fresh(const char *sync)
{
    remove_files();
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        fail(2, "cannot open %s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
    char pragmas[160];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-65536;", sync);
    exec_or_fail(db, pragmas);
    exec_or_fail(db, SCHEMA);
    return db;
}

/* Inserts rows `group` at a time for `seconds`, timing each COMMIT. */
static struct result run_group(const char *sync, int group, double seconds, int conversations)
{
    static const char *const senders[] = {"contact", "user"};
    sqlite3 *db = open_fresh(sync);
    sqlite3_stmt *begin = prepare_or_fail(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare_or_fail(db, "COMMIT");
    sqlite3_stmt *ins = prepare_or_fail(
        db, "INSERT INTO messages(account_id, conversation_id, sender_type, content, created_at)"
            " VALUES(1, ?1, ?2, ?3, ?4)");
    struct samples lat = {0};
    struct result r = {.group = group};
    char content[96];
    uint64_t row = 0;
    int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9), t = start;
    while (t < end) {
        step_done(db, begin);
        for (int i = 0; i < group; i++, row++) {
            struct timespec wall;
            clock_gettime(CLOCK_REALTIME, &wall);
            int64_t wall_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
            /* ~40 bytes, shaped like the load generator's timestamped messages. */
            int len = snprintf(content, sizeof(content), "t%lld hello from visitor %llu",
                               (long long)wall_ns, (unsigned long long)(row % 100000));
            sqlite3_bind_int64(ins, 1, 1 + (int64_t)(row % (uint64_t)conversations));
            sqlite3_bind_text(ins, 2, senders[row & 1], -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, content, len, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 4, wall_ns / 1000000);
            step_done(db, ins);
        }
        int64_t c0 = now_ns();
        step_done(db, commit);
        t = now_ns();
        samples_add(&lat, t - c0);
        r.tx++;
        r.rows += (uint64_t)group;
    }
    r.seconds = (double)(t - start) / 1e9;
    if (lat.n) /* at least one commit always runs; the check keeps qsort off NULL */
        qsort(lat.v, lat.n, sizeof(*lat.v), cmp_u32);
    r.commit_p50_us = quantile_us(&lat, 0.50);
    r.commit_p99_us = quantile_us(&lat, 0.99);
    free(lat.v);
    sqlite3_finalize(ins);
    sqlite3_finalize(commit);
    sqlite3_finalize(begin);
    if (sqlite3_close(db) != SQLITE_OK)
        fail(1, "close: %s", sqlite3_errmsg(db));
    remove_files();
    return r;
}

/* Parses "1,10,100" into groups[]; returns the count, or -1 on a bad list. */
static int parse_groups(const char *list, int *groups)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 1000000 || n == MAX_GROUPS)
            return -1;
        groups[n++] = (int)v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n ? n : -1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sqlite_ceiling [options]\n"
            "  --dir DIR            where the temporary database goes; a real disk (/var/tmp)\n"
            "  --groups LIST        rows per transaction, comma separated (1,10,100,1000)\n"
            "  --seconds S          seconds of inserting per group size (2)\n"
            "  --sync full|normal   PRAGMA synchronous (full)\n"
            "  --conversations N    conversation ids the rows are spread over (1000)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"dir", 1, 0, 'd'},           {"groups", 1, 0, 'g'},
                                       {"seconds", 1, 0, 's'},       {"sync", 1, 0, 'y'},
                                       {"conversations", 1, 0, 'c'}, {0, 0, 0, 0}};
    const char *dir = "/var/tmp", *groups_arg = "1,10,100,1000", *sync = "full";
    double seconds = 2;
    int conversations = 1000, ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'g':
            groups_arg = optarg;
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'y':
            sync = optarg;
            break;
        case 'c':
            conversations = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    int groups[MAX_GROUPS];
    int ngroups = parse_groups(groups_arg, groups);
    if (optind != argc || ngroups < 0 || seconds <= 0 || seconds > 3600 || conversations < 1 ||
        (strcmp(sync, "full") && strcmp(sync, "normal")))
        usage();
    const char *sync_pragma = strcmp(sync, "full") ? "NORMAL" : "FULL";

    /* mkstemp reserves a unique name; SQLite takes an empty file as a new database. */
    if (snprintf(db_path, sizeof(db_path), "%s/sqlite_ceiling-XXXXXX", dir) >=
        (int)sizeof(db_path)) {
        db_path[0] = 0; /* a truncated name might be someone else's file */
        fail(2, "--dir is too long");
    }
    int fd = mkstemp(db_path);
    if (fd < 0) {
        db_path[0] = 0; /* nothing of ours to remove */
        fail(2, "cannot create a file in %s: %s", dir, strerror(errno));
    }
    close(fd);
    snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
    snprintf(shm_path, sizeof(shm_path), "%s-shm", db_path);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    /* Backstop: the run should take ngroups * seconds; a stuck disk should not hang a script. */
    alarm((unsigned)(ngroups * seconds) + 60);

    fprintf(stderr, "sqlite_ceiling: SQLite %s, database %s, sync=%s\n", sqlite3_libversion(),
            db_path, sync);
    struct result best = {0}, single = {0};
    for (int i = 0; i < ngroups; i++) {
        struct result r = run_group(sync_pragma, groups[i], seconds, conversations);
        double tx_s = (double)r.tx / r.seconds, rows_s = (double)r.rows / r.seconds;
        printf("mode=sqlite_ceiling sync=%s group=%d tx=%llu rows=%llu seconds=%.3f tx_per_s=%.0f"
               " rows_per_s=%.0f commit_p50_us=%.1f commit_p99_us=%.1f\n",
               sync, r.group, (unsigned long long)r.tx, (unsigned long long)r.rows, r.seconds, tx_s,
               rows_s, r.commit_p50_us, r.commit_p99_us);
        fflush(stdout);
        if (!best.tx || rows_s > (double)best.rows / best.seconds)
            best = r;
        if (r.group == 1 && !single.tx)
            single = r;
    }
    printf("mode=sqlite_ceiling_summary sync=%s ceiling_rows_per_s=%.0f at_group=%d", sync,
           (double)best.rows / best.seconds, best.group);
    if (single.tx)
        printf(" single_tx_per_s=%.0f", (double)single.tx / single.seconds);
    printf("\n");
    remove_files();
    return 0;
}
