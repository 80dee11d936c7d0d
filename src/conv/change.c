/* change.c: changes to a conversation other than a message: the bot's state and handoff, the
 * recognised intent. Each runs in the caller's write job and emits its event there. */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "store/store.h"

int conv_set_bot_state(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                       const char *state, json_t *data)
{
    char *d = data ? json_dump_compact(data, NULL) : NULL;
    int rc = tx_exec(tx,
                     "UPDATE conversations SET bot_state = $1, bot_data = $2"
                     " WHERE id = $3 AND account_id = $4",
                     "ttii", state, d, conversation_id, account_id);
    free(d);
    return rc < 0 ? rc : 0;
}

int conv_set_intent(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                    const char *intent)
{
    int rc = tx_exec(tx, "UPDATE conversations SET intent = $1 WHERE id = $2 AND account_id = $3",
                     "tii", intent, conversation_id, account_id);
    return rc < 0 ? rc : 0;
}

int conv_bot_handoff(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                     int64_t conversation_id, const char *intent, int64_t team_id, int64_t skill_id)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT status, inbox_id, contact_id FROM conversations"
                      " WHERE id = $1 AND account_id = $2",
                      "ii", conversation_id, account_id);
    if (rc < 0)
        return rc;
    char status[16] = "";
    int64_t inbox = 0, contact = 0;
    if ((rc = rows_next(&rows)) == 1) {
        snprintf(status, sizeof(status), "%s", rows_text(&rows, 0));
        inbox = rows_i64(&rows, 1);
        contact = rows_i64(&rows, 2);
    }
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    /* open and waiting from now, out of the bot's hands; a team or skill the bot chose routes it */
    int64_t now = clock_wall_ms();
    rc = tx_exec(tx,
                 "UPDATE conversations SET status = 'open', bot_state = 'handed_off', intent = $1,"
                 " waiting_since = $2, snoozed_until = NULL, updated_at = $2"
                 " WHERE id = $3 AND account_id = $4",
                 "tiii", intent ? intent : "", now, conversation_id, account_id);
    if (rc >= 0 && team_id)
        rc = tx_exec(tx, "UPDATE conversations SET team_id = $1 WHERE id = $2", "ii", team_id,
                     conversation_id);
    if (rc >= 0 && skill_id)
        rc = tx_exec(tx, "UPDATE conversations SET skill_id = $1, skill_level = 1 WHERE id = $2",
                     "ii", skill_id, conversation_id);
    json_t *conv = NULL;
    if (rc >= 0)
        rc = conv_load(tx, account_id, conversation_id, &conv);
    if (rc >= 0)
        rc = event_emit(tx, ev, account_id, "conversation.status_changed", inbox, conversation_id,
                        contact, true,
                        json_pack("{s:o, s:s, s:s}", "conversation", conv, "previous_status",
                                  status, "reason", "bot_handoff"));
    return rc < 0 ? rc : 0;
}
