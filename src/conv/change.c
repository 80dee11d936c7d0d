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

/* ---- what agents change (REST), and the server's own timers ---- */

/* emit: a conversation.* event about conv (the JSON after the change), with extra keys. */
static int emit(struct store_tx *tx, struct event_batch *ev, int64_t account_id, int64_t id,
                const char *type, json_t *conv, json_t *extra)
{
    json_t *data = json_pack("{s:O}", "conversation", conv);
    if (extra)
        json_object_update_new(data, extra);
    return event_emit(
        tx, ev, account_id, type, json_integer_value(json_object_get(conv, "inbox_id")), id,
        json_integer_value(json_object_get(json_object_get(conv, "contact"), "id")), true, data);
}

static json_t *opt_id(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

int conv_update(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                const struct conv_patch *p, struct event_batch *ev, json_t **out, struct jfail *f)
{
    *out = NULL;
    json_t *old;
    int rc = conv_get(tx, a, id, &old);
    if (rc < 0)
        return rc;
    struct conv_facts was = {
        .status = json_string_value(json_object_get(old, "status")),
        .priority = json_string_value(json_object_get(old, "priority")),
        .assignee_id = json_integer_value(json_object_get(old, "assignee_id")),
        .team_id = json_integer_value(json_object_get(old, "team_id")),
    };
    const char *snoozed = json_string_value(json_object_get(old, "snoozed_until"));
    if (snoozed && clock_parse_iso8601(snoozed, &was.snoozed_until) < 0)
        was.snoozed_until = 0;
    int64_t inbox_id = json_integer_value(json_object_get(old, "inbox_id"));
    struct conv_facts now_;
    unsigned changes = conv_patch_apply(&was, p, &now_);
    if (p->set_assignee && p->assignee_id &&
        (rc = conv_check_assignee(tx, a->account_id, p->assignee_id, inbox_id, now_.team_id, f)) <
            0)
        goto out;
    if (p->set_team && p->team_id &&
        (rc = conv_check_team(tx, a->account_id, p->team_id, "team_id", f)) < 0)
        goto out;
    if (!changes) {
        *out = old;
        return 0;
    }
    int64_t t = clock_wall_ms();
    rc = tx_exec(tx,
                 "UPDATE conversations SET status = $1, snoozed_until = $2, assignee_id = $3,"
                 " team_id = $4, priority = $5, updated_at = $6 WHERE id = $7 AND account_id = $8",
                 "tnnntiii", now_.status, now_.snoozed_until, now_.assignee_id, now_.team_id,
                 now_.priority, t, id, a->account_id);
    /* when it was (un)assigned and resolved: for routing and reports */
    if (rc >= 0 && (changes & CONV_CHANGED_ASSIGNEE))
        rc = tx_exec(tx, "UPDATE conversations SET assigned_at = $1 WHERE id = $2", "ni",
                     now_.assignee_id ? t : (int64_t)0, id);
    if (rc >= 0 && (changes & CONV_CHANGED_STATUS) && strcmp(now_.status, "resolved") == 0)
        rc = tx_exec(tx, "UPDATE conversations SET resolved_at = $1 WHERE id = $2", "ii", t, id);
    if (rc >= 0 && (changes & (CONV_CHANGED_ASSIGNEE | CONV_CHANGED_TEAM)))
        rc = conv_history_add(
            tx, a->account_id, id, now_.assignee_id, was.assignee_id, "user", a->user_id,
            (changes & CONV_CHANGED_ASSIGNEE) ? (now_.assignee_id ? "manual" : "unassign") : "team",
            "");
    if (rc < 0 || (rc = conv_load(tx, a->account_id, id, out)) < 0)
        goto out;
    if (changes & CONV_CHANGED_STATUS)
        rc = emit(tx, ev, a->account_id, id, "conversation.status_changed", *out,
                  json_pack("{s:s}", "previous_status", was.status));
    if (rc >= 0 && (changes & CONV_CHANGED_ASSIGNEE))
        rc = emit(tx, ev, a->account_id, id, "conversation.assigned", *out,
                  json_pack("{s:o, s:s}", "previous_assignee_id", opt_id(was.assignee_id), "reason",
                            now_.assignee_id ? "manual" : "unassign"));
    if (rc >= 0 && (changes & (CONV_CHANGED_PRIORITY | CONV_CHANGED_TEAM)))
        rc = emit(tx, ev, a->account_id, id, "conversation.updated", *out, NULL);
out:
    json_decref(old);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc < 0 ? rc : 0;
}

int conv_labels_add(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                    char *const *labels, size_t n, struct event_batch *ev, json_t **out,
                    struct jfail *f)
{
    *out = NULL;
    json_t *conv;
    int rc = conv_get(tx, a, id, &conv);
    if (rc < 0)
        return rc;
    json_decref(conv);
    int added = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        rc = tx_exec(tx,
                     "INSERT INTO conversation_labels (account_id, conversation_id, label)"
                     " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                     "iit", a->account_id, id, labels[i]);
        if (rc > 0)
            added += rc;
    }
    if (rc < 0)
        return rc;
    int64_t count;
    if ((rc = tx_query_i64(tx, &count,
                           "SELECT COUNT(*) FROM conversation_labels WHERE conversation_id = $1",
                           "i", id)) < 0)
        return rc;
    if (count > LABELS_PER_CONV)
        return json_fail(f, "labels", "a conversation has at most %d labels.", LABELS_PER_CONV);
    if ((rc = conv_load(tx, a->account_id, id, out)) < 0)
        return rc;
    return added ? emit(tx, ev, a->account_id, id, "conversation.updated", *out, NULL) : 0;
}

int conv_label_remove(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                      const char *label, struct event_batch *ev, json_t **out)
{
    *out = NULL;
    json_t *conv;
    int rc = conv_get(tx, a, id, &conv);
    if (rc < 0)
        return rc;
    json_decref(conv);
    rc = tx_exec(tx, "DELETE FROM conversation_labels WHERE conversation_id = $1 AND label = $2",
                 "it", id, label);
    if (rc < 0)
        return rc;
    int changed = rc;
    if ((rc = conv_load(tx, a->account_id, id, out)) < 0)
        return rc;
    return changed ? emit(tx, ev, a->account_id, id, "conversation.updated", *out, NULL) : 0;
}

int conv_transfer(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                  const struct conv_transfer_to *to, struct event_batch *ev, json_t **out,
                  struct jfail *f)
{
    *out = NULL;
    json_t *old;
    int rc = conv_get(tx, a, id, &old);
    if (rc < 0)
        return rc;
    int64_t inbox_id = json_integer_value(json_object_get(old, "inbox_id"));
    int64_t old_assignee = json_integer_value(json_object_get(old, "assignee_id"));
    bool resolved = strcmp(json_string_value(json_object_get(old, "status")), "resolved") == 0;
    json_decref(old);
    if (resolved)
        return json_fail(f, "status",
                         "this conversation is resolved; reopen it before transferring it.");
    if (to->team_id && (rc = conv_check_team(tx, a->account_id, to->team_id, "team_id", f)) < 0)
        return rc;
    if (to->assignee_id && (rc = conv_check_assignee(tx, a->account_id, to->assignee_id, inbox_id,
                                                     to->team_id, f)) < 0)
        return rc;
    int64_t now = clock_wall_ms();
    rc = tx_exec(tx,
                 "UPDATE conversations SET assignee_id = $1, assigned_at = $2, updated_at = $3"
                 " WHERE id = $4 AND account_id = $5",
                 "nniii", to->assignee_id, to->assignee_id ? now : (int64_t)0, now, id,
                 a->account_id);
    if (rc >= 0 && to->team_id)
        rc = tx_exec(tx, "UPDATE conversations SET team_id = $1 WHERE id = $2", "ii", to->team_id,
                     id);
    if (rc < 0)
        return rc;
    const char *note = to->note ? to->note : "";
    if ((rc = conv_history_add(tx, a->account_id, id, to->assignee_id, old_assignee, "user",
                               a->user_id, "transfer", note)) < 0)
        return rc;
    if ((rc = conv_load(tx, a->account_id, id, out)) < 0)
        return rc;
    rc = emit(tx, ev, a->account_id, id, "conversation.assigned", *out,
              json_pack("{s:o, s:s, s:s}", "previous_assignee_id", opt_id(old_assignee), "reason",
                        "transfer", "note", note));
    if (rc >= 0 && *note) {
        /* the note also goes into the thread, as a private note */
        struct msg_send ms = {0};
        ms.actor = *a;
        ms.conversation_id = id;
        ms.sender_type = "user";
        ms.content = xstrdup(note);
        ms.private = true;
        rc = msg_send_fn(tx, &ms);
        event_batch_splice(ev, &ms.events);
        msg_send_release(&ms);
    }
    return rc < 0 ? rc : 0;
}

int conv_wake_snoozed(struct store_tx *tx, int64_t now, size_t most, struct event_batch *ev)
{
    struct store_rows rows;
    /* Across accounts: this is the server's own job, not a tenant's request. */
    int rc = tx_query(tx, &rows,
                      "SELECT id, account_id FROM conversations WHERE status = 'snoozed'"
                      " AND snoozed_until IS NOT NULL AND snoozed_until <= $1"
                      " ORDER BY snoozed_until LIMIT $2",
                      "ii", now, (int64_t)most);
    if (rc < 0)
        return rc;
    int64_t(*ids)[2] = xcalloc(most ? most : 1, sizeof(*ids));
    size_t n = 0;
    while ((rc = rows_next(&rows)) == 1 && n < most) {
        ids[n][0] = rows_i64(&rows, 0);
        ids[n][1] = rows_i64(&rows, 1);
        n++;
    }
    rows_close(&rows);
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        rc = tx_exec(tx,
                     "UPDATE conversations SET status = 'open', snoozed_until = NULL,"
                     " updated_at = $1 WHERE id = $2",
                     "ii", now, ids[i][0]);
        json_t *conv;
        if (rc >= 0 && (rc = conv_load(tx, ids[i][1], ids[i][0], &conv)) >= 0) {
            rc = emit(tx, ev, ids[i][1], ids[i][0], "conversation.status_changed", conv,
                      json_pack("{s:s}", "previous_status", "snoozed"));
            json_decref(conv);
        }
    }
    free(ids);
    return rc < 0 ? rc : 0;
}

int conv_forget(struct store_tx *tx, int64_t account_id, enum conv_ref what, int64_t id)
{
    static const char *const sql[] = {
        [CONV_REF_TEAM] = "UPDATE conversations SET team_id = NULL WHERE team_id = $1"
                          " AND account_id = $2",
        [CONV_REF_SKILL] = "UPDATE conversations SET skill_id = NULL, skill_level = 0"
                           " WHERE skill_id = $1 AND account_id = $2",
        [CONV_REF_RULE] = "UPDATE conversations SET rule_id = NULL WHERE rule_id = $1"
                          " AND account_id = $2",
    };
    int rc = tx_exec(tx, sql[what], "ii", id, account_id);
    return rc < 0 ? rc : 0;
}

int conv_set_message_sentiment(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                               int64_t message_id, double score)
{
    int rc = tx_exec(tx, "UPDATE messages SET sentiment = $1 WHERE id = $2 AND account_id = $3",
                     "dii", score, message_id, account_id);
    /* the conversation shows its newest customer message's sentiment */
    if (rc >= 0)
        rc = tx_exec(tx,
                     "UPDATE conversations SET sentiment = $1, updated_at = $2"
                     " WHERE id = $3 AND account_id = $4 AND $5 = (SELECT MAX(id) FROM messages"
                     " WHERE conversation_id = $3 AND account_id = $4 AND sender_type = 'contact')",
                     "diiii", score, clock_wall_ms(), conversation_id, account_id, message_id);
    return rc < 0 ? rc : 0;
}
