/* route.c: the router's writes to conversations (event/on_route.c decides, the conversation
 * service writes). Each write is conditional on the state the router decided from, so a change
 * someone made meanwhile wins and the router's write changes nothing (it then returns 0 and the
 * router gives its reservation back). */
#include "base/sys.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "store/store.h"

/* emit: the conversation.* event of a routing change, with its reason (and previous assignee). */
static int emit(struct store_tx *tx, struct event_batch *ev, int64_t account_id, int64_t id,
                const char *type, json_t *extra)
{
    json_t *conv;
    int rc = conv_load(tx, account_id, id, &conv);
    if (rc < 0) {
        json_decref(extra);
        return rc;
    }
    json_t *data = json_pack("{s:O}", "conversation", conv);
    json_object_update_new(data, extra);
    int64_t inbox = json_integer_value(json_object_get(conv, "inbox_id"));
    int64_t contact = json_integer_value(json_object_get(json_object_get(conv, "contact"), "id"));
    json_decref(conv);
    return event_emit(tx, ev, account_id, type, inbox, id, contact, true, data);
}

int conv_route_assign(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                      int64_t conversation_id, int64_t user_id, const char *reason, int64_t now)
{
    int rc = tx_exec(tx,
                     "UPDATE conversations SET assignee_id = $1, assigned_at = $2, updated_at = $2"
                     " WHERE id = $3 AND account_id = $4 AND status = 'open'"
                     " AND assignee_id IS NULL",
                     "iiii", user_id, now, conversation_id, account_id);
    if (rc <= 0)
        return rc;
    rc = conv_history_add(tx, account_id, conversation_id, user_id, 0, "router", 0, reason, "");
    if (rc >= 0)
        rc = emit(tx, ev, account_id, conversation_id, "conversation.assigned",
                  json_pack("{s:s, s:n}", "reason", reason, "previous_assignee_id"));
    return rc < 0 ? rc : 1;
}

int conv_route_reroute(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                       int64_t conversation_id, int64_t user_id, int64_t now)
{
    /* only if the agent has not replied in public since it was given to them */
    int rc = tx_exec(tx,
                     "UPDATE conversations SET assignee_id = NULL, assigned_at = NULL,"
                     " updated_at = $1 WHERE id = $2 AND account_id = $3 AND status = 'open'"
                     " AND assignee_id = $4 AND NOT EXISTS (SELECT 1 FROM messages m"
                     " WHERE m.conversation_id = $2 AND m.sender_type = 'user' AND m.private = 0"
                     " AND m.sender_id = $4 AND m.created_at >= conversations.assigned_at)",
                     "iiii", now, conversation_id, account_id, user_id);
    if (rc <= 0)
        return rc;
    rc = conv_history_add(tx, account_id, conversation_id, 0, user_id, "router", 0, "reroute", "");
    if (rc >= 0)
        rc = emit(tx, ev, account_id, conversation_id, "conversation.assigned",
                  json_pack("{s:s, s:I}", "reason", "reroute", "previous_assignee_id",
                            (json_int_t)user_id));
    return rc < 0 ? rc : 1;
}

int conv_route_overflow(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                        int64_t conversation_id, int64_t team_id, int64_t now)
{
    int rc = tx_exec(tx,
                     "UPDATE conversations SET team_id = $1, updated_at = $2 WHERE id = $3"
                     " AND account_id = $4 AND status = 'open' AND assignee_id IS NULL"
                     " AND EXISTS (SELECT 1 FROM teams WHERE id = $1 AND account_id = $4"
                     " AND deleted_at IS NULL)",
                     "iiii", team_id, now, conversation_id, account_id);
    if (rc <= 0)
        return rc;
    rc = conv_history_add(tx, account_id, conversation_id, 0, 0, "router", 0, "overflow", "");
    if (rc >= 0)
        rc = emit(tx, ev, account_id, conversation_id, "conversation.updated",
                  json_pack("{s:s}", "reason", "overflow"));
    return rc < 0 ? rc : 1;
}

int conv_route_prepare(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                       int64_t conversation_id, const struct conv_route_prep *p, int64_t now)
{
    int rc = tx_exec(tx,
                     "UPDATE conversations SET team_id = $1, priority = $2, skill_id = $3,"
                     " skill_level = $4, language = $5, rule_id = $6, prepared_at = $7"
                     " WHERE id = $8 AND account_id = $9",
                     "ntnitniii", p->team_id, p->priority, p->skill_id, (int64_t)p->skill_level,
                     p->language, p->rule_id, now, conversation_id, account_id);
    if (rc < 0 || !p->announce)
        return rc < 0 ? rc : 0;
    rc = emit(tx, ev, account_id, conversation_id, "conversation.updated",
              json_pack("{s:s, s:{s:I, s:s}}", "reason", "rule", "rule", "id",
                        (json_int_t)p->rule_id, "name", p->rule_name ? p->rule_name : ""));
    return rc < 0 ? rc : 0;
}
