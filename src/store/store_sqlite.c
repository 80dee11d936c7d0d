/* store_sqlite.c: the SQLite back end. One file in the data directory, WAL mode, synchronous=FULL
 * by default (each group commit is fsynced). Each connection keeps a cache of prepared statements
 * keyed by SQL text. Parameters are written $1..$N in SQL (the PostgreSQL form); SQLite reads "$1"
 * as a named parameter, so they are bound by name, which keeps the two back ends' SQL identical. */
#include "base/sys.h"
#include "base/embed.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "store/store_int.h"

#include <sqlite3.h>

struct store_conn {
    sqlite3 *db;
    struct map stmts; /* sql text -> sqlite3_stmt* */
    bool writer;
};

static int map_rc(sqlite3 *db, int rc, const char *what)
{
    int ext = sqlite3_extended_errcode(db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return ERR_CONFLICT;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return ERR_BUSY;
    log_err("store", "sqlite error=%d (%s) in: %.200s", ext, sqlite3_errmsg(db), what);
    return ERR_STORE;
}

static int sq_connect(const struct store_opts *o, bool writer, struct store_conn **out, char *err,
                      size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(o->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", o->path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return ERR_STORE;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "%s PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
             " PRAGMA cache_size=-%d;",
             writer ? "PRAGMA journal_mode=WAL;" : "", o->sync_full ? "FULL" : "NORMAL",
             writer ? 65536 : 16384);
    char *msg = NULL;
    if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure database %s: %s", o->path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db);
        return ERR_STORE;
    }
    struct store_conn *c = xcalloc(1, sizeof(*c));
    c->db = db;
    c->writer = writer;
    map_init(&c->stmts, true);
    *out = c;
    return 0;
}

static void sq_disconnect(struct store_conn *c)
{
    struct map_entry *e;
    for (size_t it = 0; map_next(&c->stmts, &it, &e);)
        sqlite3_finalize(e->val);
    map_release(&c->stmts);
    sqlite3_close(c->db);
    free(c);
}

static int sq_exec_raw(struct store_conn *c, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int r = map_rc(c->db, rc, sql);
        sqlite3_free(msg);
        return r;
    }
    return 0;
}

static int sq_migrate(struct store_conn *c, char *err, size_t errlen)
{
    if (sq_exec_raw(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                       " name TEXT NOT NULL, applied_at INTEGER NOT NULL)") < 0) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", sqlite3_errmsg(c->db));
        return ERR_STORE;
    }
    for (const struct embedded_file *f = schema_sqlite; f->name; f++) {
        int version = atoi(f->name);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(c->db, "SELECT 1 FROM schema_migrations WHERE version = ?1", -1, &st,
                           NULL);
        sqlite3_bind_int(st, 1, version);
        bool applied = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (applied)
            continue;
        char *msg = NULL;
        if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(c->db, f->data, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "migration %s failed: %s", f->name,
                     msg ? msg : sqlite3_errmsg(c->db));
            sqlite3_free(msg);
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            return ERR_STORE;
        }
        sqlite3_prepare_v2(
            c->db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            -1, &st, NULL);
        sqlite3_bind_int(st, 1, version);
        sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, clock_wall_ms());
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE || sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "migration %s failed to commit: %s", f->name,
                     sqlite3_errmsg(c->db));
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            return ERR_STORE;
        }
        log_info("store", "applied migration %s", f->name);
    }
    return 0;
}

static int prepare_bind(struct store_conn *c, sqlite3_stmt **out, const char *sql,
                        const char *types, va_list ap)
{
    size_t sl = strlen(sql);
    sqlite3_stmt *st = map_sget(&c->stmts, sql, sl);
    if (!st) {
        int rc = sqlite3_prepare_v3(c->db, sql, (int)sl, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK)
            return map_rc(c->db, rc, sql);
        map_sput(&c->stmts, sql, sl, st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    for (int i = 0; types && types[i]; i++) {
        char name[16];
        snprintf(name, sizeof(name), "$%d", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        int rc = SQLITE_OK;
        switch (types[i]) {
        case 'i': {
            int64_t v = va_arg(ap, int64_t);
            if (idx)
                rc = sqlite3_bind_int64(st, idx, v);
            break;
        }
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            if (idx)
                rc = v ? sqlite3_bind_int64(st, idx, v) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'd': { /* a double; NaN binds NULL */
            double v = va_arg(ap, double);
            if (idx)
                rc = v == v ? sqlite3_bind_double(st, idx, v) : sqlite3_bind_null(st, idx);
            break;
        }
        case 'b': {
            int v = va_arg(ap, int);
            if (idx)
                rc = sqlite3_bind_int(st, idx, v ? 1 : 0);
            break;
        }
        case 't': {
            const char *v = va_arg(ap, const char *);
            if (idx)
                rc = v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, idx);
            break;
        }
        case 's': {
            struct span v = va_arg(ap, struct span);
            if (idx)
                rc = v.p ? sqlite3_bind_text(st, idx, v.p, (int)v.len, SQLITE_TRANSIENT)
                         : sqlite3_bind_null(st, idx);
            break;
        }
        default:
            log_err("store", "bad parameter type '%c' in: %.200s", types[i], sql);
            return ERR_INTERNAL;
        }
        if (rc != SQLITE_OK)
            return map_rc(c->db, rc, sql);
    }
    *out = st;
    return 0;
}

static int sq_query(struct store_conn *c, struct store_rows *rows, const char *sql,
                    const char *types, va_list ap)
{
    sqlite3_stmt *st;
    int rc = prepare_bind(c, &st, sql, types, ap);
    if (rc < 0) {
        rows->state = rc;
        return rc;
    }
    rows->stmt = st;
    rows->state = 0;
    return 0;
}

static int sq_exec(struct store_conn *c, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *st;
    int rc = prepare_bind(c, &st, sql, types, ap);
    if (rc < 0)
        return rc;
    /* Rows changed by this statement only (sqlite3_changes keeps the last INSERT/UPDATE/DELETE's
     * count). */
    sqlite3_int64 before = sqlite3_total_changes64(c->db);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    int out =
        rc == SQLITE_DONE ? (int)(sqlite3_total_changes64(c->db) - before) : map_rc(c->db, rc, sql);
    sqlite3_reset(st);
    return out;
}

static int sq_next(struct store_rows *r)
{
    if (r->state < 0 || r->state == 2)
        return r->state < 0 ? r->state : 0;
    sqlite3_stmt *st = r->stmt;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return r->state = 1;
    if (rc == SQLITE_DONE) {
        r->state = 2;
        return 0;
    }
    r->state = map_rc(sqlite3_db_handle(st), rc, sqlite3_sql(st));
    return r->state;
}

static int64_t sq_i64(struct store_rows *r, int col)
{
    return sqlite3_column_int64(r->stmt, col);
}

static double sq_double(struct store_rows *r, int col)
{
    return sqlite3_column_double(r->stmt, col);
}

static const char *sq_text(struct store_rows *r, int col)
{
    const unsigned char *t = sqlite3_column_text(r->stmt, col);
    return t ? (const char *)t : "";
}

static size_t sq_len(struct store_rows *r, int col)
{
    return (size_t)sqlite3_column_bytes(r->stmt, col);
}

static bool sq_null(struct store_rows *r, int col)
{
    return sqlite3_column_type(r->stmt, col) == SQLITE_NULL;
}

static void sq_close_rows(struct store_rows *r)
{
    if (r->stmt)
        sqlite3_reset(r->stmt);
    r->stmt = NULL;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .migrate = sq_migrate,
    .exec_raw = sq_exec_raw,
    .query = sq_query,
    .exec = sq_exec,
    .next = sq_next,
    .col_i64 = sq_i64,
    .col_double = sq_double,
    .col_text = sq_text,
    .col_len = sq_len,
    .col_null = sq_null,
    .close_rows = sq_close_rows,
    .begin_write = "BEGIN IMMEDIATE",
    .begin_read = "BEGIN",
    .lazy_sync = "PRAGMA synchronous=NORMAL",
    .full_sync = "PRAGMA synchronous=FULL",
};
