/* store_int.h: what store.c (queues, threads, group commit) needs from a back end. */
#ifndef PARLEY_STORE_INT_H
#define PARLEY_STORE_INT_H

#include <stdarg.h>
#include "store/store.h"

struct store_conn;

struct store_ops {
    const char *name;
    int (*connect)(const struct store_opts *o, bool writer, struct store_conn **out, char *err,
                   size_t errlen);
    void (*disconnect)(struct store_conn *c);
    int (*migrate)(struct store_conn *c, char *err, size_t errlen);
    /* raw statements without parameters: BEGIN, COMMIT, SAVEPOINT ... */
    int (*exec_raw)(struct store_conn *c, const char *sql);
    int (*query)(struct store_conn *c, struct store_rows *rows, const char *sql, const char *types,
                 va_list ap);
    int (*exec)(struct store_conn *c, const char *sql, const char *types, va_list ap);
    int (*next)(struct store_rows *r);
    int64_t (*col_i64)(struct store_rows *r, int col);
    double (*col_double)(struct store_rows *r, int col);
    const char *(*col_text)(struct store_rows *r, int col);
    size_t (*col_len)(struct store_rows *r, int col);
    bool (*col_null)(struct store_rows *r, int col);
    void (*close_rows)(struct store_rows *r);
    const char *begin_write, *begin_read;
    /* around background transactions (store_opts.background) when commits are durable: their work
     * can be redone, so they skip the flush; the next durable commit covers them (SQLite's WAL is
     * written in order). */
    const char *lazy_sync, *full_sync;
};

struct store_tx {
    struct store *s;
    struct store_conn *conn;
    bool write;
};

extern const struct store_ops store_sqlite_ops;

#endif
