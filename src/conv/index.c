/* index.c: the message search index, built by the store writer between jobs (msg_index_fn). */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "store/store.h"

int msg_index_fn(struct store_tx *tx, void *arg)
{
    UNUSED(arg);
    enum { ROWS = 256, BUDGET_NS = 1000000 };
    int64_t from;
    int rc = tx_query_i64(tx, &from, "SELECT indexed_to FROM fts_state", "");
    if (rc < 0)
        return rc;
    struct store_rows rows;
    if ((rc = tx_query(tx, &rows,
                       "SELECT id, content FROM messages WHERE id > $1 ORDER BY id LIMIT $2", "ii",
                       from, (int64_t)ROWS)) < 0)
        return rc;
    uint64_t t0 = clock_mono_ns();
    int64_t to = from;
    int n = 0;
    while ((rc = rows_next(&rows)) == 1) {
        int64_t id = rows_i64(&rows, 0);
        struct span text = {rows_text(&rows, 1), rows_len(&rows, 1)};
        if ((rc = tx_exec(tx, "INSERT INTO messages_fts (rowid, content) VALUES ($1, $2)", "is", id,
                          text)) < 0)
            break;
        to = id;
        if (++n % 16 == 0 && clock_mono_ns() - t0 > BUDGET_NS)
            break;
    }
    bool more = rc == 1 || n == ROWS;
    rows_close(&rows);
    if (rc < 0)
        return rc;
    if (to > from && (rc = tx_exec(tx, "UPDATE fts_state SET indexed_to = $1", "i", to)) < 0)
        return rc;
    return more ? 1 : 0;
}
