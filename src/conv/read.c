/* read.c: read marks (agents' and visitors'), and the unread count they reset. */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "store/store.h"

/* ---- read ---- */

int conv_read_fn(struct store_tx *tx, void *arg)
{
    struct conv_read *cr = arg;
    event_batch_reset(&cr->events);
    const struct conv_actor *a = &cr->actor;
    /* The message must be in a conversation the reader may see (public, for visitors). */
    struct store_rows rows;
    int rc;
    if (a->visitor)
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id FROM messages m"
                      " JOIN conversations c ON c.id = m.conversation_id"
                      " WHERE m.id = $1 AND m.account_id = $2 AND m.private = 0"
                      " AND c.contact_id = $3 AND c.inbox_id = $4",
                      "iiii", cr->message_id, a->account_id, a->contact_id, a->inbox_id);
    else
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id FROM messages m"
                      " JOIN conversations c ON c.id = m.conversation_id"
                      " WHERE " CONV_ACL " AND m.id = $4 AND m.conversation_id = $5",
                      "iiiii", a->account_id, (int64_t)a->role, a->user_id, cr->message_id,
                      cr->conversation_id);
    if (rc < 0)
        return rc;
    int64_t cid = 0, inbox_id = 0, contact_id = 0;
    if ((rc = rows_next(&rows)) == 1) {
        cid = rows_i64(&rows, 0);
        inbox_id = rows_i64(&rows, 1);
        contact_id = rows_i64(&rows, 2);
    }
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    cr->conversation_id = cid;
    /* An agent's read recounts what is still unread once (a later message may exist); sends keep
     * the count after that. */
    rc = tx_exec(tx,
                 a->visitor ? "UPDATE conversations SET contact_last_read_id = $1"
                              " WHERE id = $2 AND contact_last_read_id < $1"
                            : "UPDATE conversations SET agent_last_read_id = $1, unread_count ="
                              " (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = $2"
                              " AND x.id > $1 AND x.sender_type = 'contact')"
                              " WHERE id = $2 AND agent_last_read_id < $1",
                 "ii", cr->message_id, cid);
    if (rc <= 0)
        return rc; /* nothing new read: no event */
    json_t *data =
        json_pack("{s:I, s:s, s:I}", "conversation_id", (json_int_t)cid, "reader",
                  a->visitor ? "contact" : "agent", "message_id", (json_int_t)cr->message_id);
    if (!a->visitor) {
        int64_t unread;
        rc = tx_query_i64(tx, &unread, "SELECT unread_count FROM conversations WHERE id = $1", "i",
                          cid);
        if (rc < 0) {
            json_decref(data);
            return rc;
        }
        json_object_set_new(data, "user_id", json_integer(a->user_id));
        json_object_set_new(data, "unread_count", json_integer(unread));
    }
    return event_emit(tx, &cr->events, a->account_id, "conversation.read", inbox_id, cid,
                      contact_id, false, data);
}
