/* assign.c: who may be given a conversation, and the assignment history. */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "store/store.h"

int conv_check_assignee(struct store_tx *tx, int64_t account_id, int64_t user_id, int64_t inbox_id,
                        int64_t team_id, struct jfail *f)
{
    int64_t ok;
    int rc = tx_query_i64(
        tx, &ok,
        "SELECT 1 FROM account_users au WHERE au.account_id = $1 AND au.user_id = $2"
        " AND (au.role <> 'agent' OR EXISTS (SELECT 1 FROM inbox_members m"
        " WHERE m.inbox_id = $3 AND m.user_id = $2) OR EXISTS (SELECT 1 FROM team_members tm"
        " WHERE tm.team_id = $4 AND tm.user_id = $2))",
        "iiii", account_id, user_id, inbox_id, team_id);
    if (rc == ERR_NOTFOUND)
        return json_fail(f, "assignee_id",
                         "user %" PRId64 " cannot take conversations of this inbox; add them to"
                         " the inbox (or the conversation's team) first.",
                         user_id);
    return rc;
}

int conv_history_add(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                     int64_t assignee_id, int64_t previous_id, const char *actor_type,
                     int64_t actor_id, const char *reason, const char *note)
{
    /* the team is the conversation's as it is now (after the change) */
    return tx_exec(tx,
                   "INSERT INTO conversation_assignments (account_id, conversation_id, assignee_id,"
                   " team_id, previous_assignee_id, actor_type, actor_id, reason, note, created_at)"
                   " VALUES ($1, $2, $3, (SELECT team_id FROM conversations WHERE id = $2),"
                   " $4, $5, $6, $7, $8, $9)",
                   "iinntntti", account_id, conversation_id, assignee_id, previous_id, actor_type,
                   actor_id, reason, note ? note : "", clock_wall_ms());
}

int conv_check_team(struct store_tx *tx, int64_t account_id, int64_t team_id, const char *field,
                    struct jfail *f)
{
    int64_t one;
    int rc = tx_query_i64(tx, &one,
                          "SELECT 1 FROM teams WHERE id = $1 AND account_id = $2"
                          " AND deleted_at IS NULL",
                          "ii", team_id, account_id);
    if (rc == ERR_NOTFOUND)
        return json_fail(f, field, "team %" PRId64 " does not exist; create it or pick another.",
                         team_id);
    return rc;
}
