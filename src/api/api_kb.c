/* api_kb.c: what the bot knows. Help-center categories and articles, FAQ entries and intents.
 * Everyone in the account reads them; admins and supervisors write them. Every change emits an
 * event (kb.category.*, kb.article.*, faq.*, intent.*), which is also what makes the bot retrain
 * (event/on_bot.c). An intent's action is answer, route, collect, or flow (start a guided flow,
 * api_flows.c). */
#include "base/sys.h"

#include "api/app.h"
#include "conv/conv.h"
#include "base/clock.h"
#include "event/event.h"
#include "model/conversation.h"
#include "model/user.h"
#include <ctype.h>

enum {
    NAME_MAX_CH = 100,
    DESC_MAX = 500,
    TITLE_MAX = 200,
    BODY_MAX = 100000,
    QUESTION_MAX = 500,
    ANSWER_MAX = 5000,
    PHRASINGS_MAX = 50,
    EXAMPLES_MAX = 200,
    FIELDS_MAX = 10,
    INTENT_NAME_MAX = 64
};

static const char *const LOCALES[] = {"zh", "en", NULL};
static const char *const ART_STATUS[] = {"draft", "published", NULL};
static const char *const ACTIONS[] = {"answer", "route", "collect", "flow", NULL};

enum kind { K_CATEGORY, K_ARTICLE, K_FAQ, K_INTENT };
static const char *const KIND_EVENT[] = {"kb.category", "kb.article", "faq", "intent"};
static const char *const KIND_TABLE[] = {"kb_categories", "kb_articles", "faqs", "intents"};

struct kb_job {
    struct http_req *r;
    enum kind kind;
    int64_t account_id, user_id, id, limit, offset;
    /* validated input; strings borrow from `in` */
    json_t *in;
    const char *name, *description, *title, *body, *question, *answer, *action;
    int locale, status, action_i;
    int64_t position, category_id, team_id, skill_id, flow_id;
    bool has_position, has_category, has_team, has_skill, has_flow, has_enabled, enabled;
    char *list_json;   /* phrasings / examples, as stored */
    char *fields_json; /* intents: fields */
    /* list filters */
    const char *q, *filter_status, *filter_locale;
    int64_t filter_category;
    json_t *out;
    int http_status;
    struct jfail fail;
    struct event_batch events;
    char slug[64];
};

/* ---- JSON of each kind ---- */

#define CAT_COLS                                                                                   \
    "c.id, c.name, c.description, c.locale, c.position, c.created_at, c.updated_at,"               \
    " (SELECT COUNT(*) FROM kb_articles a WHERE a.category_id = c.id)"
#define ART_COLS                                                                                   \
    "a.id, a.category_id, a.title, a.body, a.locale, a.status, a.author_id, a.views,"              \
    " a.created_at, a.updated_at, a.published_at, (SELECT slug FROM accounts WHERE id = "          \
    "a.account_id)"
#define FAQ_COLS                                                                                   \
    "f.id, f.question, f.phrasings, f.answer, f.locale, f.enabled, f.hits, f.created_at, "         \
    "f.updated_at"
#define INTENT_COLS                                                                                \
    "i.id, i.name, i.examples, i.action, i.answer, i.team_id, i.skill_id, i.fields, i.created_at," \
    " i.updated_at, i.flow_id"

static json_t *opt_id(struct store_rows *rows, int col)
{
    return rows_null(rows, col) ? json_null() : json_integer(rows_i64(rows, col));
}

static json_t *cat_json(struct store_rows *rows)
{
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:I}", "id", (json_int_t)rows_i64(rows, 0), "name",
        rows_text(rows, 1), "description", rows_text(rows, 2), "locale", rows_text(rows, 3),
        "position", (json_int_t)rows_i64(rows, 4), "created_at", json_time(rows_i64(rows, 5)),
        "updated_at", json_time(rows_i64(rows, 6)), "article_count", (json_int_t)rows_i64(rows, 7));
}

static json_t *art_json(struct store_rows *rows)
{
    char url[200];
    snprintf(url, sizeof(url), "/help/%s/articles/%" PRId64, rows_text(rows, 11),
             rows_i64(rows, 0));
    return json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:s}", "id",
                     (json_int_t)rows_i64(rows, 0), "category_id", opt_id(rows, 1), "title",
                     rows_text(rows, 2), "body", rows_text(rows, 3), "locale", rows_text(rows, 4),
                     "status", rows_text(rows, 5), "author_id", (json_int_t)rows_i64(rows, 6),
                     "views", (json_int_t)rows_i64(rows, 7), "created_at",
                     json_time(rows_i64(rows, 8)), "updated_at", json_time(rows_i64(rows, 9)),
                     "published_at", json_time(rows_i64(rows, 10)), "url", url);
}

static json_t *faq_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:o, s:s, s:s, s:b, s:I, s:o, s:o}", "id",
                     (json_int_t)rows_i64(rows, 0), "question", rows_text(rows, 1), "phrasings",
                     json_loads_or(rows_text(rows, 2), json_array()), "answer", rows_text(rows, 3),
                     "locale", rows_text(rows, 4), "enabled", (int)rows_i64(rows, 5), "hits",
                     (json_int_t)rows_i64(rows, 6), "created_at", json_time(rows_i64(rows, 7)),
                     "updated_at", json_time(rows_i64(rows, 8)));
}

static json_t *intent_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)rows_i64(rows, 0), "name", rows_text(rows, 1), "examples",
                     json_loads_or(rows_text(rows, 2), json_array()), "action", rows_text(rows, 3),
                     "answer", rows_text(rows, 4), "team_id", opt_id(rows, 5), "skill_id",
                     opt_id(rows, 6), "fields", json_loads_or(rows_text(rows, 7), json_array()),
                     "created_at", json_time(rows_i64(rows, 8)), "updated_at",
                     json_time(rows_i64(rows, 9)), "flow_id", opt_id(rows, 10));
}

static const char *const KIND_SELECT[] = {
    "SELECT " CAT_COLS " FROM kb_categories c WHERE c.id = $1 AND c.account_id = $2",
    "SELECT " ART_COLS " FROM kb_articles a WHERE a.id = $1 AND a.account_id = $2",
    "SELECT " FAQ_COLS " FROM faqs f WHERE f.id = $1 AND f.account_id = $2",
    "SELECT " INTENT_COLS " FROM intents i WHERE i.id = $1 AND i.account_id = $2",
};
static row_json_fn const KIND_JSON[] = {cat_json, art_json, faq_json, intent_json};

static int load(struct store_tx *tx, struct kb_job *j)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows, KIND_SELECT[j->kind], "ii", j->id, j->account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        json_decref(j->out);
        j->out = KIND_JSON[j->kind](&rows);
    }
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

static int emit(struct store_tx *tx, struct kb_job *j, const char *verb)
{
    char type[48];
    snprintf(type, sizeof(type), "%s.%s", KIND_EVENT[j->kind], verb);
    json_t *data = strcmp(verb, "deleted") == 0 ? json_pack("{s:I}", "id", (json_int_t)j->id)
                                                : json_incref(j->out);
    return event_emit(tx, &j->events, j->account_id, type, 0, 0, 0, true, data);
}

/* ---- jobs ---- */

static struct kb_job *new_job(struct http_req *r, enum kind kind, bool with_id)
{
    struct principal *p = req_principal(r);
    struct kb_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->kind = kind;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    j->locale = j->status = j->action_i = -1;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_done(void *arg, int rc)
{
    struct kb_job *j = arg;
    json_decref(j->in);
    free(j->list_json);
    free(j->fields_json);
    if (rc == ERR_CONFLICT && j->kind == K_INTENT) {
        event_batch_reset(&j->events);
        json_decref(j->out);
        http_respond_error(j->r, rc, "name", "Another intent already has this name.");
        return;
    }
    if (rc == ERR_CONFLICT && j->kind == K_CATEGORY) {
        event_batch_reset(&j->events);
        json_decref(j->out);
        http_respond_error(j->r, rc, NULL,
                           "This category still has articles: move or delete them first.");
        return;
    }
    app_finish(j->r, rc, j->out, j->http_status, &j->events, &j->fail);
}

/* A list of 1..max non-blank strings of at most max_chars each, stored as a JSON array. */
static int string_list(json_t *body, const char *key, bool required, size_t min, size_t max,
                       size_t max_chars, char **out, struct jfail *f)
{
    json_t *v = NULL;
    int rc = json_field_array(body, key, required, min, max, &v, f);
    json_t *given = json_object_get(body, key);
    if (rc < 0 && given) /* there, but not a list of the right size */
        return json_fail(f, key, "%s is a list of %zu to %zu texts%s.", key, min, max,
                         json_is_null(given) ? "; null is not allowed" : "");
    if (rc <= 0)
        return rc;
    size_t i;
    json_t *s;
    json_t *clean = json_array();
    json_array_foreach(v, i, s)
    {
        const char *t = json_string_value(s);
        if (!t || text_blank(t) || utf8_chars(t, strlen(t)) > max_chars) {
            json_decref(clean);
            return json_fail(f, key,
                             "each of %s is a text of 1 to %zu characters (item %zu is not).", key,
                             max_chars, i + 1);
        }
        json_array_append(clean, s);
    }
    *out = json_dump_compact(clean, NULL);
    json_decref(clean);
    return 0;
}

static bool field_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

static int parse_fields(json_t *body, struct kb_job *j)
{
    json_t *v = NULL;
    int rc = json_field_array(body, "fields", false, 0, FIELDS_MAX, &v, &j->fail);
    if (rc < 0)
        return json_fail(&j->fail, "fields", "fields is a list of at most 10 {name, label}.");
    if (rc == 0)
        return 0;
    size_t i;
    json_t *x;
    json_t *clean = json_array();
    json_array_foreach(v, i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        const char *label = json_string_value(json_object_get(x, "label"));
        if (json_object_size(x) != 2 || !name || !field_name_valid(name) || !label ||
            text_blank(label) || utf8_chars(label, strlen(label)) > 100 ||
            utf8_find_hidden(label, strlen(label), UTF8_NAME) >= 0) {
            json_decref(clean);
            return json_fail(
                &j->fail, "fields",
                "field %zu needs a name (letters, digits, _; like order_no) and a label"
                " of 1 to 100 characters.",
                i + 1);
        }
        json_array_append_new(clean, json_pack("{s:s, s:s}", "name", name, "label", label));
    }
    j->fields_json = json_dump_compact(clean, NULL);
    json_decref(clean);
    return 0;
}

/* Optional nullable id: absent leaves has_x false; null sets it to 0. */
static int opt_id_field(json_t *body, const char *key, bool *has, int64_t *out, struct jfail *f)
{
    bool none = false;
    int rc = json_field_int_nullable(body, key, 1, INT64_MAX, out, &none, f);
    if (rc < 0)
        return json_fail(f, key, "%s is a positive id or null.", key);
    *has = rc == 1;
    if (rc == 1 && none)
        *out = 0;
    return 0;
}

static int parse(struct http_req *r, struct kb_job *j, bool create)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return -1;
    j->in = body;
    struct jfail *f = &j->fail;
    int rc = 0;
    static const char *const known[][12] = {
        {"name", "description", "locale", "position", NULL},
        {"title", "body", "locale", "status", "category_id", NULL},
        {"question", "phrasings", "answer", "locale", "enabled", NULL},
        {"name", "examples", "action", "answer", "team_id", "skill_id", "fields", "flow_id", NULL},
    };
    const char *key;
    json_t *x;
    json_object_foreach(body, key, x)
    {
        bool ok = false;
        for (int i = 0; known[j->kind][i]; i++)
            ok = ok || strcmp(known[j->kind][i], key) == 0;
        if (!ok) {
            rc = json_fail(f, key, "%s is not a field here.", key);
            break;
        }
    }
    if (rc >= 0 && j->kind != K_INTENT)
        rc = json_field_enum(body, "locale", false, LOCALES, &j->locale, f);
    switch (j->kind) {
    case K_CATEGORY:
        if (rc >= 0 &&
            (rc = json_field_str(body, "name", create, 1, NAME_MAX_CH, &j->name, f)) == 1)
            rc = user_name_check(j->name, "name", NAME_MAX_CH, f);
        if (rc >= 0)
            rc = json_field_str(body, "description", false, 0, DESC_MAX, &j->description, f);
        if (rc >= 0)
            j->has_position =
                (rc = json_field_int(body, "position", false, 0, 100000, &j->position, f)) == 1;
        break;
    case K_ARTICLE:
        if (rc >= 0)
            rc = json_field_str(body, "title", create, 1, TITLE_MAX, &j->title, f);
        if (rc >= 0)
            rc = json_field_str(body, "body", false, 0, BODY_MAX, &j->body, f);
        if (rc >= 0)
            rc = json_field_enum(body, "status", false, ART_STATUS, &j->status, f);
        if (rc >= 0)
            rc = opt_id_field(body, "category_id", &j->has_category, &j->category_id, f);
        break;
    case K_FAQ:
        if (rc >= 0)
            rc = json_field_str(body, "question", create, 1, QUESTION_MAX, &j->question, f);
        if (rc >= 0)
            rc = string_list(body, "phrasings", false, 0, PHRASINGS_MAX, QUESTION_MAX,
                             &j->list_json, f);
        if (rc >= 0)
            rc = json_field_str(body, "answer", create, 1, ANSWER_MAX, &j->answer, f);
        if (rc >= 0)
            j->has_enabled = (rc = json_field_bool(body, "enabled", false, &j->enabled, f)) == 1;
        break;
    case K_INTENT:
        /* an identifier: the labels' alphabet (letters of any script, digits, - and _) */
        if (rc >= 0 &&
            (rc = json_field_str(body, "name", create, 1, INTENT_NAME_MAX, &j->name, f)) == 1)
            rc = label_check(j->name, INTENT_NAME_MAX, "name", "name", f);
        if (rc >= 0)
            rc = string_list(body, "examples", create, 1, EXAMPLES_MAX, QUESTION_MAX, &j->list_json,
                             f);
        if (rc >= 0)
            rc = json_field_enum(body, "action", false, ACTIONS, &j->action_i, f);
        if (rc >= 0)
            rc = json_field_str(body, "answer", false, 0, ANSWER_MAX, &j->answer, f);
        if (rc >= 0)
            rc = opt_id_field(body, "team_id", &j->has_team, &j->team_id, f);
        if (rc >= 0)
            rc = opt_id_field(body, "skill_id", &j->has_skill, &j->skill_id, f);
        if (rc >= 0)
            rc = opt_id_field(body, "flow_id", &j->has_flow, &j->flow_id, f);
        if (rc >= 0)
            rc = parse_fields(body, j);
        if (rc >= 0 && j->action_i >= 0)
            j->action = ACTIONS[j->action_i];
        break;
    }
    if (rc >= 0 && (j->name && text_blank(j->name)))
        rc = json_fail(f, "name", "name must not be blank.");
    if (rc >= 0 && (j->title && text_blank(j->title)))
        rc = json_fail(f, "title", "title must not be blank.");
    if (rc >= 0 && (j->question && text_blank(j->question)))
        rc = json_fail(f, "question", "question must not be blank.");
    if (rc >= 0 && j->kind == K_FAQ && j->answer && text_blank(j->answer))
        rc = json_fail(f, "answer", "answer must not be blank.");
    if (rc < 0) {
        struct jfail copy = *f; /* answering frees the request's arena, and j with it */
        json_decref(body);
        j->in = NULL;
        free(j->list_json);
        free(j->fields_json);
        j->list_json = j->fields_json = NULL;
        http_respond_jfail(r, rc, &copy);
        return -1;
    }
    return 0;
}

/* Checks that need the database: the category, team and skill exist in the account, and an
 * intent's action has what it needs (after merging with the stored row on PATCH). */
static int check_refs(struct store_tx *tx, struct kb_job *j)
{
    int rc = 0;
    int64_t x;
    if (j->kind == K_ARTICLE && j->has_category && j->category_id) {
        rc = tx_query_i64(tx, &x, "SELECT id FROM kb_categories WHERE id = $1 AND account_id = $2",
                          "ii", j->category_id, j->account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "category_id", "category %" PRId64 " does not exist.",
                             j->category_id);
    }
    if (j->kind != K_INTENT || rc < 0)
        return rc;
    if (j->has_team && j->team_id &&
        (rc = conv_check_team(tx, j->account_id, j->team_id, "team_id", &j->fail)) < 0)
        return rc;
    if (j->has_skill && j->skill_id) {
        rc = tx_query_i64(tx, &x, "SELECT id FROM skills WHERE id = $1 AND account_id = $2", "ii",
                          j->skill_id, j->account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "skill_id", "skill %" PRId64 " does not exist.",
                             j->skill_id);
        if (rc < 0)
            return rc;
    }
    if (j->has_flow && j->flow_id) {
        rc = tx_query_i64(tx, &x, "SELECT id FROM bot_flows WHERE id = $1 AND account_id = $2",
                          "ii", j->flow_id, j->account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "flow_id", "flow %" PRId64 " does not exist.", j->flow_id);
    }
    return rc;
}

static int check_intent_action(struct kb_job *j)
{
    json_t *o = j->out; /* the row after the change */
    const char *action = json_string_value(json_object_get(o, "action"));
    if (strcmp(action, "answer") == 0 &&
        text_blank(json_string_value(json_object_get(o, "answer"))))
        return json_fail(&j->fail, "answer", "An intent that answers needs the answer text.");
    if (strcmp(action, "route") == 0 && json_is_null(json_object_get(o, "team_id")) &&
        json_is_null(json_object_get(o, "skill_id")))
        return json_fail(&j->fail, "team_id", "An intent that routes needs a team or a skill.");
    if (strcmp(action, "collect") == 0 && json_array_size(json_object_get(o, "fields")) == 0)
        return json_fail(&j->fail, "fields",
                         "An intent that collects details needs at least one field.");
    if (strcmp(action, "flow") == 0 && json_is_null(json_object_get(o, "flow_id")))
        return json_fail(&j->fail, "flow_id", "An intent that starts a flow needs the flow.");
    return 0;
}

/* An intent keeps a flow only while its action is to start it (a flow it no longer starts can be
 * deleted). */
static int intent_flow_only(struct store_tx *tx, struct kb_job *j)
{
    if (j->kind != K_INTENT)
        return 0;
    int rc = tx_exec(tx,
                     "UPDATE intents SET flow_id = NULL WHERE id = $1 AND account_id = $2"
                     " AND action <> 'flow' AND flow_id IS NOT NULL",
                     "ii", j->id, j->account_id);
    return rc < 0 ? rc : 0;
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct kb_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    int rc = check_refs(tx, j);
    if (rc < 0)
        return rc;
    const char *loc = j->locale >= 0 ? LOCALES[j->locale] : "zh";
    switch (j->kind) {
    case K_CATEGORY:
        rc = tx_query_i64(
            tx, &j->id,
            "INSERT INTO kb_categories (account_id, name, description, locale, position,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
            "ittti"
            "i",
            j->account_id, j->name, j->description ? j->description : "", loc, j->position, now);
        break;
    case K_ARTICLE: {
        bool pub = j->status == 1;
        rc = tx_query_i64(
            tx, &j->id,
            "INSERT INTO kb_articles (account_id, category_id, title, body, locale, status,"
            " author_id, created_at, updated_at, published_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
            "inttttiin", j->account_id, j->category_id, j->title, j->body ? j->body : "", loc,
            pub ? "published" : "draft", j->user_id, now, pub ? now : (int64_t)0);
        break;
    }
    case K_FAQ:
        rc = tx_query_i64(
            tx, &j->id,
            "INSERT INTO faqs (account_id, question, phrasings, answer, locale, enabled,"
            " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            "ittttbi", j->account_id, j->question, j->list_json ? j->list_json : "[]", j->answer,
            loc, j->has_enabled ? (int)j->enabled : 1, now);
        break;
    case K_INTENT:
        rc =
            tx_query_i64(tx, &j->id,
                         "INSERT INTO intents (account_id, name, examples, action, answer, team_id,"
                         " skill_id, fields, created_at, updated_at, flow_id)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
                         "itttt"
                         "nntin",
                         j->account_id, j->name, j->list_json, j->action ? j->action : "answer",
                         j->answer ? j->answer : "", j->team_id, j->skill_id,
                         j->fields_json ? j->fields_json : "[]", now, j->flow_id);
        break;
    }
    if (rc < 0 || (rc = intent_flow_only(tx, j)) < 0 || (rc = load(tx, j)) < 0)
        return rc;
    if (j->kind == K_INTENT && (rc = check_intent_action(j)) < 0)
        return rc;
    return emit(tx, j, "created");
}

static int update_fn(struct store_tx *tx, void *arg)
{
    struct kb_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    int rc = check_refs(tx, j);
    if (rc < 0)
        return rc;
    const char *loc = j->locale >= 0 ? LOCALES[j->locale] : NULL;
    switch (j->kind) {
    case K_CATEGORY:
        rc = tx_exec(tx,
                     "UPDATE kb_categories SET name = COALESCE($1, name),"
                     " description = COALESCE($2, description), locale = COALESCE($3, locale),"
                     " position = CASE WHEN $4 THEN $5 ELSE position END, updated_at = $6"
                     " WHERE id = $7 AND account_id = $8",
                     "tttbiiii", j->name, j->description, loc, (int)j->has_position, j->position,
                     now, j->id, j->account_id);
        break;
    case K_ARTICLE:
        rc = tx_exec(
            tx,
            "UPDATE kb_articles SET title = COALESCE($1, title), body = COALESCE($2, body),"
            " locale = COALESCE($3, locale),"
            " published_at = CASE WHEN $4 = 'published' AND status <> 'published' THEN $7"
            "  WHEN $4 = 'draft' THEN NULL ELSE published_at END,"
            " status = COALESCE($4, status),"
            " category_id = CASE WHEN $5 THEN $6 ELSE category_id END, updated_at = $7"
            " WHERE id = $8 AND account_id = $9",
            "ttttbniii", j->title, j->body, loc, j->status >= 0 ? ART_STATUS[j->status] : NULL,
            (int)j->has_category, j->category_id, now, j->id, j->account_id);
        break;
    case K_FAQ:
        rc = tx_exec(
            tx,
            "UPDATE faqs SET question = COALESCE($1, question),"
            " phrasings = COALESCE($2, phrasings), answer = COALESCE($3, answer),"
            " locale = COALESCE($4, locale), enabled = CASE WHEN $5 THEN $6 ELSE enabled END,"
            " updated_at = $7 WHERE id = $8 AND account_id = $9",
            "ttttbbiii", j->question, j->list_json, j->answer, loc, (int)j->has_enabled,
            (int)j->enabled, now, j->id, j->account_id);
        break;
    case K_INTENT:
        rc = tx_exec(
            tx,
            "UPDATE intents SET name = COALESCE($1, name), examples = COALESCE($2, examples),"
            " action = COALESCE($3, action), answer = COALESCE($4, answer),"
            " team_id = CASE WHEN $5 THEN $6 ELSE team_id END,"
            " skill_id = CASE WHEN $7 THEN $8 ELSE skill_id END,"
            " fields = COALESCE($9, fields), updated_at = $10,"
            " flow_id = CASE WHEN $13 THEN $14 ELSE flow_id END WHERE id = $11 AND account_id = "
            "$12",
            "ttttbnbntiiibn", j->name, j->list_json, j->action, j->answer, (int)j->has_team,
            j->team_id, (int)j->has_skill, j->skill_id, j->fields_json, now, j->id, j->account_id,
            (int)j->has_flow, j->flow_id);
        break;
    }
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = intent_flow_only(tx, j)) < 0 || (rc = load(tx, j)) < 0)
        return rc;
    if (j->kind == K_INTENT && (rc = check_intent_action(j)) < 0)
        return rc;
    return emit(tx, j, "updated");
}

static int delete_fn(struct store_tx *tx, void *arg)
{
    struct kb_job *j = arg;
    event_batch_reset(&j->events);
    int rc;
    if (j->kind == K_CATEGORY) {
        int64_t n;
        rc = tx_query_i64(
            tx, &n, "SELECT COUNT(*) FROM kb_articles WHERE category_id = $1 AND account_id = $2",
            "ii", j->id, j->account_id);
        if (rc < 0)
            return rc;
        if (n > 0)
            return ERR_CONFLICT;
    }
    static const char *const DEL[] = {
        "DELETE FROM kb_categories WHERE id = $1 AND account_id = $2",
        "DELETE FROM kb_articles WHERE id = $1 AND account_id = $2",
        "DELETE FROM faqs WHERE id = $1 AND account_id = $2",
        "DELETE FROM intents WHERE id = $1 AND account_id = $2",
    };
    rc = tx_exec(tx, DEL[j->kind], "ii", j->id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = emit(tx, j, "deleted")) < 0)
        return rc;
    char action[48];
    snprintf(action, sizeof(action), "%s.deleted", KIND_EVENT[j->kind]);
    return audit_add(tx, j->account_id, j->user_id, action, KIND_TABLE[j->kind], j->id, j->r->ip,
                     NULL);
}

static int get_fn(struct store_tx *tx, void *arg)
{
    return load(tx, arg);
}

static int list_fn(struct store_tx *tx, void *arg)
{
    struct kb_job *j = arg;
    const char *q = j->q ? j->q : "";
    int64_t total;
    struct store_rows rows;
    int rc;
    switch (j->kind) {
    case K_CATEGORY:
        rc = tx_query_i64(tx, &total,
                          "SELECT COUNT(*) FROM kb_categories c WHERE c.account_id = $1 AND ($2 = "
                          "'' OR c.locale = $2)",
                          "it", j->account_id, j->filter_locale ? j->filter_locale : "");
        if (rc == 0)
            rc = tx_query(
                tx, &rows,
                "SELECT " CAT_COLS " FROM kb_categories c WHERE c.account_id = $1"
                " AND ($2 = '' OR c.locale = $2) ORDER BY c.position, c.id LIMIT $3 OFFSET $4",
                "itii", j->account_id, j->filter_locale ? j->filter_locale : "", j->limit,
                j->offset);
        break;
    case K_ARTICLE:
#define ART_WHERE                                                                                  \
    " FROM kb_articles a WHERE a.account_id = $1 AND ($2 = '' OR a.locale = $2)"                   \
    " AND ($3 = '' OR a.status = $3) AND ($4 = 0 OR a.category_id = $4)"                           \
    " AND ($5 = '' OR instr(lower(a.title), lower($5)) > 0 OR instr(lower(a.body), lower($5)) > "  \
    "0)"
        rc = tx_query_i64(tx, &total, "SELECT COUNT(*)" ART_WHERE, "ittit", j->account_id,
                          j->filter_locale ? j->filter_locale : "",
                          j->filter_status ? j->filter_status : "", j->filter_category, q);
        if (rc == 0)
            rc = tx_query(tx, &rows,
                          "SELECT " ART_COLS ART_WHERE " ORDER BY a.updated_at DESC, a.id DESC"
                          " LIMIT $6 OFFSET $7",
                          "ittitii", j->account_id, j->filter_locale ? j->filter_locale : "",
                          j->filter_status ? j->filter_status : "", j->filter_category, q, j->limit,
                          j->offset);
        break;
    case K_FAQ:
#define FAQ_WHERE                                                                                  \
    " FROM faqs f WHERE f.account_id = $1 AND ($2 = '' OR instr(lower(f.question), lower($2)) > 0" \
    " OR instr(lower(f.answer), lower($2)) > 0 OR instr(lower(f.phrasings), lower($2)) > 0)"
        rc = tx_query_i64(tx, &total, "SELECT COUNT(*)" FAQ_WHERE, "it", j->account_id, q);
        if (rc == 0)
            rc = tx_query(tx, &rows,
                          "SELECT " FAQ_COLS FAQ_WHERE " ORDER BY f.id LIMIT $3 OFFSET $4", "itii",
                          j->account_id, q, j->limit, j->offset);
        break;
    case K_INTENT:
    default:
#define INTENT_WHERE                                                                               \
    " FROM intents i WHERE i.account_id = $1 AND ($2 = '' OR instr(lower(i.name), lower($2)) > 0"  \
    " OR instr(lower(i.examples), lower($2)) > 0)"
        rc = tx_query_i64(tx, &total, "SELECT COUNT(*)" INTENT_WHERE, "it", j->account_id, q);
        if (rc == 0)
            rc = tx_query(tx, &rows,
                          "SELECT " INTENT_COLS INTENT_WHERE " ORDER BY i.name LIMIT $3 OFFSET $4",
                          "itii", j->account_id, q, j->limit, j->offset);
        break;
    }
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, KIND_JSON[j->kind], total, j->limit, j->offset, &j->out);
}

/* ---- handlers ---- */

static void list(struct http_req *r, enum kind kind)
{
    struct kb_job *j = new_job(r, kind, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    j->q = http_query(r, "q");
    if (j->q && strlen(j->q) > 200) {
        http_respond_error(r, ERR_VALIDATION, "q", "q must be at most 200 characters.");
        return;
    }
    const char *loc = http_query(r, "locale"), *st = http_query(r, "status"),
               *cat = http_query(r, "category_id");
    if (loc && *loc && strcmp(loc, "zh") != 0 && strcmp(loc, "en") != 0) {
        http_respond_error(r, ERR_VALIDATION, "locale", "locale is zh or en.");
        return;
    }
    if (st && *st && strcmp(st, "draft") != 0 && strcmp(st, "published") != 0) {
        http_respond_error(r, ERR_VALIDATION, "status", "status is draft or published.");
        return;
    }
    if (cat && *cat) {
        char *e;
        long long v = strtoll(cat, &e, 10);
        if (*e || v <= 0) {
            http_respond_error(r, ERR_VALIDATION, "category_id", "category_id is a positive id.");
            return;
        }
        j->filter_category = v;
    }
    j->filter_locale = loc;
    j->filter_status = st;
    app_store_read(r, list_fn, job_done, j);
}

static void get(struct http_req *r, enum kind kind)
{
    struct kb_job *j = new_job(r, kind, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

static void create(struct http_req *r, enum kind kind)
{
    struct kb_job *j = new_job(r, kind, false);
    if (parse(r, j, true) < 0)
        return;
    j->http_status = 201;
    app_store_write(r, create_fn, job_done, j);
}

static void update(struct http_req *r, enum kind kind)
{
    struct kb_job *j = new_job(r, kind, true);
    if (j && parse(r, j, false) == 0)
        app_store_write(r, update_fn, job_done, j);
}

static void del(struct http_req *r, enum kind kind)
{
    struct kb_job *j = new_job(r, kind, true);
    if (j)
        app_store_write(r, delete_fn, job_done, j);
}

#define HANDLERS(k, K)                                                                             \
    static void h_##k##_list(struct http_req *r)                                                   \
    {                                                                                              \
        list(r, K);                                                                                \
    }                                                                                              \
    static void h_##k##_get(struct http_req *r)                                                    \
    {                                                                                              \
        get(r, K);                                                                                 \
    }                                                                                              \
    static void h_##k##_create(struct http_req *r)                                                 \
    {                                                                                              \
        create(r, K);                                                                              \
    }                                                                                              \
    static void h_##k##_update(struct http_req *r)                                                 \
    {                                                                                              \
        update(r, K);                                                                              \
    }                                                                                              \
    static void h_##k##_delete(struct http_req *r)                                                 \
    {                                                                                              \
        del(r, K);                                                                                 \
    }
HANDLERS(cat, K_CATEGORY)
HANDLERS(art, K_ARTICLE)
HANDLERS(faq, K_FAQ)
HANDLERS(intent, K_INTENT)

#define ROUTES(rt, path, k)                                                                        \
    do {                                                                                           \
        router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/" path, h_##k##_list, R_ACCOUNT);         \
        router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/" path, h_##k##_create,                  \
                   R_ACCOUNT | R_SUPERVISOR);                                                      \
        router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/" path "/{id}", h_##k##_get, R_ACCOUNT);  \
        router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/" path "/{id}", h_##k##_update,         \
                   R_ACCOUNT | R_SUPERVISOR);                                                      \
        router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/" path "/{id}", h_##k##_delete,        \
                   R_ACCOUNT | R_SUPERVISOR);                                                      \
    } while (0)

void api_kb_routes(struct router *rt)
{
    ROUTES(rt, "kb/categories", cat);
    ROUTES(rt, "kb/articles", art);
    ROUTES(rt, "faqs", faq);
    ROUTES(rt, "intents", intent);
}
