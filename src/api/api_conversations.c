/* api_conversations.c: the agent REST API for conversations, their messages and labels, contacts,
 * and message search. Agents see the conversations of their inboxes; admins and supervisors see
 * all (conv.c holds the rule). Changes emit conversation.* and message.created events after their
 * commit. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "conv/conv.h"
#include "model/conversation.h"
#include "model/user.h"

struct cjob {
    struct http_req *r;
    struct conv_actor actor;
    int64_t id, limit, offset, after, before;
    /* list filters */
    const char *status, *label, *q, *fts;
    int64_t inbox_id;
    int assignee; /* 0 all, 1 me, 2 unassigned */
    /* patch */
    int new_status, new_priority; /* -1: not given */
    int64_t snoozed_until;
    bool set_assignee, set_team;
    int64_t assignee_id, team_id; /* 0 = null */
    char **labels;
    size_t nlabels;
    struct contact_input contact;
    char email[USER_EMAIL_MAX + 1];
    json_t *attributes;
    json_t *body;
    int status_code;
    struct event_batch events;
    struct jfail fail;
};

static struct cjob *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct cjob *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->actor.account_id = p->account_id;
    j->actor.user_id = p->user_id;
    j->actor.role = p->role;
    j->new_status = j->new_priority = -1;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_done(void *arg, int rc)
{
    struct cjob *j = arg;
    json_decref(j->attributes);
    app_finish(j->r, rc, j->body, j->status_code, &j->events, &j->fail);
}

static int64_t query_id(struct http_req *r, const char *name, bool *bad)
{
    const char *v = http_query(r, name);
    int64_t id = 0;
    if (v && *v && (!span_to_i64(span_of(v), &id) || id <= 0)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be a positive integer id.", name);
        http_respond_error(r, ERR_VALIDATION, name, msg);
        *bad = true;
    }
    return id;
}

/* fts_phrase: q as one FTS5 phrase ("..." with quotes doubled), in the arena. */
static const char *fts_phrase(struct http_req *r, const char *q)
{
    size_t n = strlen(q);
    char *out = arena_alloc(&r->arena, 2 * n + 3), *o = out;
    *o++ = '"';
    for (; *q; q++) {
        if (*q == '"')
            *o++ = '"';
        *o++ = *q;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

/* ---- list ---- */

/* $1..$3 are the access rule's; $4 status, $5 inbox, $6 label, $7 FTS phrase, $8 raw q, $9
 * assignee mode, $10 limit, $11 offset. The q clause comes in three fixed forms. */
#define LIST_FROM                                                                                  \
    " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.account_id = $1"       \
    " AND ($2 > 0 OR EXISTS (SELECT 1 FROM inbox_members mm WHERE mm.inbox_id = c.inbox_id"        \
    " AND mm.user_id = $3)) AND ($4 = 'all' OR c.status = $4) AND ($5 = 0 OR c.inbox_id = $5)"     \
    " AND ($6 = '' OR EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id"  \
    " AND l.label = $6))"
#define Q_CONTACT                                                                                  \
    " AND (instr(lower(ct.name), lower($8)) > 0 OR instr(lower(ct.email), lower($8)) > 0"          \
    " OR instr(ct.phone, $8) > 0"
static const char *const q_clause[] = {
    "",
    Q_CONTACT " OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.account_id = $1"
              " AND " MSG_MATCH("$7", "$8") "))",
    Q_CONTACT " OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
              " AND instr(m.content, $8) > 0))",
};
#define ASSIGNEE_CLAUSE                                                                            \
    " AND ($9 = 0 OR ($9 = 1 AND c.assignee_id = $3) OR ($9 = 2 AND c.assignee_id IS NULL))"

static int list_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    int qf = !j->q ? 0 : j->fts ? 1 : 2;
    char sql[4096];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.assignee_id = $3 THEN 1 ELSE 0 END), 0),"
             " COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0)" LIST_FROM "%s",
             q_clause[qf]);
#define LIST_ARGS                                                                                  \
    j->actor.account_id, (int64_t)j->actor.role, j->actor.user_id, j->status, j->inbox_id,         \
        j->label ? j->label : "", j->fts ? j->fts : "", j->q ? j->q : "", (int64_t)j->assignee,    \
        j->limit, j->offset
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "iiititttiii", LIST_ARGS);
    if (rc < 0)
        return rc;
    int64_t all = 0, mine = 0, unassigned = 0;
    if ((rc = rows_next(&rows)) == 1) {
        all = rows_i64(&rows, 0);
        mine = rows_i64(&rows, 1);
        unassigned = rows_i64(&rows, 2);
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    snprintf(sql, sizeof(sql),
             "%s WHERE c.id IN (SELECT c.id" LIST_FROM "%s" ASSIGNEE_CLAUSE ")"
             " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $10 OFFSET $11",
             CONV_SELECT, q_clause[qf]);
    if ((rc = tx_query(tx, &rows, sql, "iiititttiii", LIST_ARGS)) < 0)
        return rc;
#undef LIST_ARGS
    json_t *data;
    if ((rc = conv_list_rows(tx, &rows, &data)) < 0)
        return rc;
    int64_t total = j->assignee == 1 ? mine : j->assignee == 2 ? unassigned : all;
    j->body = app_list_json(data, total, j->limit, j->offset);
    json_object_set_new(json_object_get(j->body, "meta"), "counts",
                        json_pack("{s:I, s:I, s:I}", "mine", (json_int_t)mine, "unassigned",
                                  (json_int_t)unassigned, "all", (json_int_t)all));
    return 0;
}

static void h_list(struct http_req *r)
{
    struct cjob *j = new_job(r, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    static const char *const statuses[] = {"open", "pending", "snoozed", "resolved", "all"};
    static const char *const assignees[] = {"all", "me", "unassigned"};
    const char *st = http_query(r, "status"), *as = http_query(r, "assignee");
    j->status = "open";
    if (st && *st) {
        j->status = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
            if (strcmp(st, statuses[i]) == 0)
                j->status = statuses[i];
        if (!j->status) {
            http_respond_error(r, ERR_VALIDATION, "status",
                               "status must be open, pending, snoozed, resolved or all.");
            return;
        }
    }
    if (as && *as) {
        j->assignee = -1;
        for (int i = 0; i < (int)ARRAY_SIZE(assignees); i++)
            if (strcmp(as, assignees[i]) == 0)
                j->assignee = i;
        if (j->assignee < 0) {
            http_respond_error(r, ERR_VALIDATION, "assignee",
                               "assignee must be all, me or unassigned.");
            return;
        }
    }
    bool bad = false;
    int64_t inbox_id = query_id(r, "inbox_id", &bad);
    if (bad)
        return;
    j->inbox_id = inbox_id;
    const char *label = http_query(r, "label"), *q = http_query(r, "q");
    if (label && *label)
        j->label = label;
    if (q) {
        while (*q == ' ')
            q++;
        size_t n = strlen(q);
        if (n > 200 || !utf8_valid(q, n)) {
            http_respond_error(r, ERR_VALIDATION, "q", "q must be at most 200 characters of text.");
            return;
        }
        if (n) {
            j->q = q;
            if (utf8_chars(q, n) >= 3)
                j->fts = fts_phrase(r, q);
        }
    }
    app_store_read(r, list_fn, job_done, j);
}

/* ---- get ---- */

static int get_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    return conv_get(tx, &j->actor, j->id, &j->body);
}

static void h_get(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

/* ---- update ---- */

static int update_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    struct conv_patch p = {.status = j->new_status,
                           .priority = j->new_priority,
                           .snoozed_until = j->snoozed_until,
                           .set_assignee = j->set_assignee,
                           .set_team = j->set_team,
                           .assignee_id = j->assignee_id,
                           .team_id = j->team_id};
    return conv_update(tx, &j->actor, j->id, &p, &j->events, &j->body, &j->fail);
}

/* nullable_id: an id, or null (0: unassign, no team); *set says the key was present. */
static int nullable_id(json_t *body, const char *key, bool *set, int64_t *out, struct jfail *f)
{
    bool none = false;
    int rc = json_field_int_nullable(body, key, 1, INT64_MAX, out, &none, f);
    *set = rc == 1;
    if (rc == 1 && none)
        *out = 0;
    return rc < 0 ? rc : 0;
}

static void h_update(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail *f = &j->fail;
    const char *until = NULL;
    bool forever = false;
    int rc = json_field_enum(body, "status", false, conv_status_names, &j->new_status, f);
    if (rc >= 0)
        rc = json_field_enum(body, "priority", false, conv_priority_names, &j->new_priority, f);
    /* null says no time, as leaving it out does: snoozed until the customer writes */
    if (rc >= 0)
        rc = json_field_str_nullable(body, "snoozed_until", 1, 40, &until, &forever, f);
    if (rc == 1 && !forever) {
        if (j->new_status != CONV_SNOOZED)
            rc = json_fail(f, "snoozed_until", "snoozed_until goes with \"status\": \"snoozed\".");
        else if (clock_parse_iso8601(until, &j->snoozed_until) < 0)
            rc = json_fail(f, "snoozed_until",
                           "snoozed_until must be an ISO-8601 time, like 2026-11-21T09:00:00Z.");
        else if (j->snoozed_until <= clock_wall_ms())
            rc = json_fail(f, "snoozed_until", "snoozed_until must be in the future.");
    }
    if (rc >= 0)
        rc = nullable_id(body, "assignee_id", &j->set_assignee, &j->assignee_id, f);
    if (rc >= 0)
        rc = nullable_id(body, "team_id", &j->set_team, &j->team_id, f);
    static const char *const known[] = {"status", "priority", "snoozed_until", "assignee_id",
                                        "team_id"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (rc >= 0 && !ok)
            rc = json_fail(f, "body",
                           "unknown field \"%.40s\": a conversation takes status, snoozed_until,"
                           " assignee_id, team_id and priority.",
                           key);
    }
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, f);
        return;
    }
    app_store_write(r, update_fn, job_done, j);
}

/* ---- labels ---- */

static int labels_add_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    return conv_labels_add(tx, &j->actor, j->id, j->labels, j->nlabels, &j->events, &j->body,
                           &j->fail);
}

static void h_labels_add(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    json_t *arr = NULL;
    int rc = json_field_array(body, "labels", true, 1, LABELS_PER_CONV, &arr, &j->fail);
    j->labels = arena_alloc(&r->arena, (json_array_size(arr) + 1) * sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s) {
            rc = json_fail(&j->fail, "labels", "labels must be strings (item %zu is not).", i + 1);
            break;
        }
        if ((rc = label_check(s, LABEL_MAX_CHARS, "labels", "label", &j->fail)) < 0)
            break;
        j->labels[j->nlabels++] = arena_strndup(&r->arena, s, strlen(s));
    }
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, labels_add_fn, job_done, j);
}

static int labels_del_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    return conv_label_remove(tx, &j->actor, j->id, j->label, &j->events, &j->body);
}

static void h_labels_del(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    struct span l = http_param(r, "label");
    j->label = arena_strndup(&r->arena, l.p, l.len);
    if (!label_valid(j->label)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    app_store_write(r, labels_del_fn, job_done, j);
}

static json_t *label_row(struct store_rows *rows)
{
    return json_pack("{s:s, s:I}", "name", rows_text(rows, 0), "count",
                     (json_int_t)rows_i64(rows, 1));
}

static int labels_list_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT label, COUNT(*) FROM conversation_labels WHERE account_id = $1"
                      " GROUP BY label ORDER BY COUNT(*) DESC, label LIMIT 500",
                      "i", j->actor.account_id);
    if (rc < 0)
        return rc;
    if ((rc = app_rows_page(&rows, label_row, 0, 500, 0, &j->body)) < 0)
        return rc;
    json_object_del(j->body, "meta");
    return 0;
}

static void h_labels_list(struct http_req *r)
{
    app_store_read(r, labels_list_fn, job_done, new_job(r, false));
}

/* ---- messages ---- */

static int messages_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    json_t *conv;
    int rc = conv_get(tx, &j->actor, j->id, &conv);
    if (rc < 0)
        return rc;
    json_decref(conv);
    return messages_page(tx, j->actor.account_id, j->id, j->after, j->before, j->limit, false,
                         &j->body);
}

/* messages_query: ?limit (1..200, default 50) and one of ?after / ?before. */
static int messages_query(struct http_req *r, struct cjob *j)
{
    int64_t off;
    if (app_page(r, &j->limit, &off) < 0)
        return -1;
    bool bad = false;
    int64_t after = query_id(r, "after", &bad), before = 0;
    if (!bad)
        before = query_id(r, "before", &bad);
    if (bad)
        return -1;
    j->after = after;
    j->before = before;
    if (j->after && j->before) {
        http_respond_error(r, ERR_VALIDATION, "after", "give after or before, not both.");
        bad = true;
    }
    return bad ? -1 : 0;
}

static void h_messages(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (j && messages_query(r, j) == 0)
        app_store_read(r, messages_fn, job_done, j);
}

struct send_job {
    struct http_req *r;
    struct msg_send ms;
};

static int send_fn(struct store_tx *tx, void *arg)
{
    return msg_send_fn(tx, &((struct send_job *)arg)->ms);
}

static void send_done(void *arg, int rc)
{
    struct send_job *sj = arg;
    struct http_req *r = sj->r;
    /* sj lives in the request's arena: release it before answering ends the request. */
    struct jfail fail = sj->ms.fail;
    json_t *msg = json_incref(sj->ms.message);
    int status = sj->ms.duplicate ? 200 : 201;
    if (rc >= 0)
        event_publish(&sj->ms.events);
    msg_send_release(&sj->ms);
    if (rc < 0) {
        json_decref(msg);
        if (rc == ERR_VALIDATION && fail.field[0])
            http_respond_jfail(r, rc, &fail);
        else
            http_respond_error(r, rc, NULL, NULL);
    } else {
        http_respond_json(r, status, msg);
    }
}

static void h_send(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct send_job *sj = arena_calloc(&r->arena, sizeof(*sj));
    sj->r = r;
    sj->ms.actor = j->actor;
    sj->ms.sender_type = "user";
    struct jfail f = {0};
    int rc = msg_send_parse(body, &sj->ms, true, false, &f);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return;
    }
    sj->ms.conversation_id = j->id;
    /* a refused job is answered 503 at once, which frees the request and sj with it */
    char *content = sj->ms.content, *client_id = sj->ms.client_id;
    if (app_store_write(r, send_fn, send_done, sj) < 0) {
        free(content);
        free(client_id);
    }
}

struct read_job {
    struct http_req *r;
    struct conv_read cr;
};

static int read_fn(struct store_tx *tx, void *arg)
{
    return conv_read_fn(tx, &((struct read_job *)arg)->cr);
}

static void read_done(void *arg, int rc)
{
    struct read_job *rj = arg;
    app_finish(rj->r, rc, NULL, 0, &rj->cr.events, NULL);
}

static void h_read(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct read_job *rj = arena_calloc(&r->arena, sizeof(*rj));
    rj->r = r;
    rj->cr.actor = j->actor;
    rj->cr.conversation_id = j->id;
    struct jfail f = {0};
    int rc = json_field_int(body, "message_id", true, 1, INT64_MAX, &rj->cr.message_id, &f);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return;
    }
    app_store_write(r, read_fn, read_done, rj);
}

/* ---- contacts ---- */

static int contact_get_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    return contact_load_for(tx, &j->actor, j->id, &j->body);
}

static void h_contact_get(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (j)
        app_store_read(r, contact_get_fn, job_done, j);
}

static int contact_update_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    event_batch_reset(&j->events);
    json_t *seen;
    int rc = contact_load_for(tx, &j->actor, j->id, &seen); /* an agent edits only whom they see */
    if (rc < 0)
        return rc;
    json_decref(seen);
    char *attrs = j->attributes ? json_dump_compact(j->attributes, NULL) : NULL;
    rc = tx_exec(tx,
                 "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email),"
                 " phone = COALESCE($3, phone), attributes = COALESCE($4, attributes),"
                 " updated_at = $5 WHERE id = $6 AND account_id = $7",
                 "ttttiii", j->contact.name, j->contact.email, j->contact.phone, attrs,
                 clock_wall_ms(), j->id, j->actor.account_id);
    free(attrs);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = contact_load(tx, j->actor.account_id, j->id, &j->body)) < 0)
        return rc;
    return contact_updated_emit(tx, &j->events, j->actor.account_id, j->id, json_incref(j->body));
}

/* A contact's attributes: null, or an object of at most 8 KB (as JSON) whose keys are names agents
 * read as labels (1..64 characters, none invisible or a direction control). */
static int attributes_check(json_t *attrs, struct jfail *f)
{
    if (json_is_null(attrs))
        return 0;
    if (!json_is_object(attrs))
        return json_fail(f, "attributes", "attributes must be an object (or null to clear them).");
    const char *key;
    json_t *v;
    json_object_foreach(attrs, key, v)
    {
        size_t n = utf8_chars(key, strlen(key));
        if (n < 1 || n > 64)
            return json_fail(f, "attributes",
                             "attributes: each name is 1 to 64 characters (\"%.40s\" is not).",
                             key);
        int rc = json_check_chars(key, "attributes", "an attribute's name", UTF8_IDENT, f);
        if (rc < 0)
            return rc;
    }
    char *text = json_dump_compact(attrs, NULL);
    size_t len = strlen(text);
    free(text);
    if (len > 8192)
        return json_fail(f, "attributes", "attributes must be an object of at most 8 KB.");
    return 0;
}

static void h_contact_update(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    int rc = contact_parse(body, NULL, &j->contact, j->email, &j->fail);
    struct contact_input *c = &j->contact;
    const char **strs[] = {&c->name, &c->email, &c->phone};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        if (*strs[i])
            *strs[i] = arena_strndup(&r->arena, *strs[i], strlen(*strs[i]));
    /* attributes replace the old ones; null clears them */
    json_t *attrs = json_object_get(body, "attributes");
    if (rc >= 0 && attrs)
        rc = attributes_check(attrs, &j->fail);
    if (rc >= 0 && attrs)
        j->attributes = json_is_null(attrs) ? json_object() : json_incref(attrs);
    json_decref(body);
    if (rc < 0) {
        json_decref(j->attributes);
        j->attributes = NULL;
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, contact_update_fn, job_done, j);
}

static int contact_convs_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    json_t *contact;
    int rc = contact_load_for(tx, &j->actor, j->id, &contact);
    if (rc < 0)
        return rc;
    json_decref(contact);
    char sql[4096];
    snprintf(sql, sizeof(sql),
             "%s WHERE c.account_id = $1 AND ($2 > 0 OR EXISTS (SELECT 1 FROM inbox_members mm"
             " WHERE mm.inbox_id = c.inbox_id AND mm.user_id = $3)) AND c.contact_id = $4"
             " ORDER BY c.id DESC LIMIT 100",
             CONV_SELECT);
    struct store_rows rows;
    if ((rc = tx_query(tx, &rows, sql, "iiii", j->actor.account_id, (int64_t)j->actor.role,
                       j->actor.user_id, j->id)) < 0)
        return rc;
    json_t *data;
    if ((rc = conv_list_rows(tx, &rows, &data)) < 0)
        return rc;
    j->body = json_pack("{s:o}", "data", data);
    return 0;
}

static void h_contact_convs(struct http_req *r)
{
    struct cjob *j = new_job(r, true);
    if (j)
        app_store_read(r, contact_convs_fn, job_done, j);
}

/* ---- search ---- */

static int search_fn(struct store_tx *tx, void *arg)
{
    struct cjob *j = arg;
    /* Trigram FTS for 3+ characters; shorter queries scan the account's newest 20,000 messages. */
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "SELECT " MSG_COLS ", ct.id, ct.name" MSG_FROM
             " JOIN contacts ct ON ct.id = c.contact_id WHERE m.account_id = $1"
             " AND ($2 > 0 OR EXISTS (SELECT 1 FROM inbox_members mm WHERE mm.inbox_id ="
             " c.inbox_id AND mm.user_id = $3)) AND %s ORDER BY m.id DESC LIMIT $6 OFFSET $7",
             j->fts ? MSG_MATCH("$4", "$5")
                    : "m.id IN (SELECT id FROM messages WHERE account_id = $1"
                      " ORDER BY id DESC LIMIT 20000) AND instr(lower(m.content), lower($5)) > 0");
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "iiittii", j->actor.account_id, (int64_t)j->actor.role,
                      j->actor.user_id, j->fts ? j->fts : "", j->q, j->limit, j->offset);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    while ((rc = rows_next(&rows)) == 1) {
        char nb[48];
        int64_t contact = rows_i64(&rows, 14); /* after the 14 MSG_COLS */
        json_t *m = message_json(&rows);
        json_array_append_new(
            data,
            json_pack("{s:o, s:O, s:{s:I, s:s}}", "message", m, "conversation_id",
                      json_object_get(m, "conversation_id"), "contact", "id", (json_int_t)contact,
                      "name", contact_display_name(rows_text(&rows, 15), contact, nb, sizeof(nb))));
    }
    rows_close(&rows);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    j->body = json_pack("{s:o, s:{s:I, s:I}}", "data", data, "meta", "limit", (json_int_t)j->limit,
                        "offset", (json_int_t)j->offset);
    return 0;
}

static void h_search(struct http_req *r)
{
    struct cjob *j = new_job(r, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    const char *q = http_query(r, "q");
    size_t n = q ? strlen(q) : 0;
    if (!n || n > 200 || !utf8_valid(q, n) || text_blank(q)) {
        http_respond_error(r, ERR_VALIDATION, "q",
                           "q is required: 1 to 200 characters to look for.");
        return;
    }
    j->q = q;
    if (utf8_chars(q, n) >= 3)
        j->fts = fts_phrase(r, q);
    app_store_read(r, search_fn, job_done, j);
}

/* ---- snoozed conversations wake up ---- */

enum { SNOOZE_TICK_MS = 5000, SNOOZE_BATCH = 200 };

struct wake_job {
    struct event_batch events;
    bool running;
};

static uv_timer_t snooze_timer;
static struct wake_job wake;

static int wake_fn(struct store_tx *tx, void *arg)
{
    struct wake_job *w = arg;
    event_batch_reset(&w->events);
    return conv_wake_snoozed(tx, clock_wall_ms(), SNOOZE_BATCH, &w->events);
}

static void wake_done(void *arg, int rc)
{
    struct wake_job *w = arg;
    w->running = false;
    if (rc >= 0)
        event_publish(&w->events);
    else
        event_batch_reset(&w->events);
}

static void on_snooze_tick(uv_timer_t *t)
{
    UNUSED(t);
    if (!wake.running && store_write(the_app->store, wake_fn, wake_done, &wake) == 0)
        wake.running = true;
}

void conv_timers_start(uv_loop_t *loop)
{
    uv_timer_init(loop, &snooze_timer);
    uv_timer_start(&snooze_timer, on_snooze_tick, SNOOZE_TICK_MS, SNOOZE_TICK_MS);
}

void conv_timers_stop(void)
{
    uv_timer_stop(&snooze_timer);
    uv_close((uv_handle_t *)&snooze_timer, NULL);
}

void api_conversations_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations", h_list, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations/{id}", h_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/conversations/{id}", h_update, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/conversations/{id}/labels", h_labels_add,
               R_ACCOUNT);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/conversations/{id}/labels/{label}",
               h_labels_del, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/labels", h_labels_list, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations/{id}/messages", h_messages,
               R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/conversations/{id}/messages", h_send,
               R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/conversations/{id}/read", h_read, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/contacts/{id}", h_contact_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/contacts/{id}", h_contact_update, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/contacts/{id}/conversations", h_contact_convs,
               R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/search/messages", h_search, R_ACCOUNT);
}
