/* conversation.c: validation rules for conversations, messages, labels, contacts and pre-chat
 * answers. */
#include "base/sys.h"

#include <ctype.h>

#include "base/str.h"
#include "model/conversation.h"
#include "model/user.h"

const char *const conv_status_names[] = {"open", "pending", "snoozed", "resolved", NULL};
const char *const conv_priority_names[] = {"none", "low", "medium", "high", "urgent", NULL};

int label_check(const char *s, size_t max_chars, const char *field, const char *what,
                struct jfail *f)
{
    size_t n = strlen(s);
    if (n == 0)
        return json_fail(f, field, "%s must not be empty.", what);
    if (!utf8_valid(s, n))
        return json_fail(f, field, "%s must be UTF-8 text.", what);
    if (utf8_chars(s, n) > max_chars)
        return json_fail(f, field, "%s must be at most %zu characters.", what, max_chars);
    int rc = json_check_chars(s, field, what, UTF8_IDENT, f);
    if (rc < 0)
        return rc;
    bool ok = true;
    for (const unsigned char *p = (const unsigned char *)s; *p && ok; p++)
        /* letters of other scripts pass (valid UTF-8 checked above) */
        ok = *p >= 0x80 || isalnum(*p) || *p == '-' || *p == '_';
    /* No C1 controls, Latin-1 punctuation (U+0080..U+00BF) or the ideographic space U+3000. */
    if (!ok || memchr(s, 0xc2, n) || strstr(s, "\xe3\x80\x80"))
        return json_fail(f, field, "%s is letters, digits, - or _ (like vip or 退款).", what);
    return 0;
}

bool label_valid(const char *s)
{
    struct jfail f = {0};
    return label_check(s, LABEL_MAX_CHARS, "label", "label", &f) == 0;
}

bool client_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MSG_CLIENT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

bool phone_valid(const char *s)
{
    size_t n = strlen(s), digits = 0;
    if (n < 3 || n > CONTACT_PHONE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (isdigit((unsigned char)s[i]))
            digits++;
        else if (!strchr(" +-().", s[i]))
            return false;
    }
    return digits >= 3;
}

bool text_blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s))
            return false;
    return true;
}

size_t utf8_prefix_len(const char *s, size_t len, size_t max_chars)
{
    size_t i = 0, chars = 0;
    while (i < len && chars < max_chars) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        chars++;
    }
    return i;
}

int contact_parse(json_t *obj, const char *path, struct contact_input *in, char *email_buf,
                  struct jfail *f)
{
    memset(in, 0, sizeof(*in));
    char name[48], email[48], phone[48];
    snprintf(name, sizeof(name), "%s%sname", path ? path : "", path ? "." : "");
    snprintf(email, sizeof(email), "%s%semail", path ? path : "", path ? "." : "");
    snprintf(phone, sizeof(phone), "%s%sphone", path ? path : "", path ? "." : "");
    /* "" clears a field (the name then shows as "Visitor <id>") */
    int rc = json_field_str(obj, name, false, 0, CONTACT_NAME_MAX, &in->name, f);
    if (rc == 1 && *in->name)
        rc = user_name_check(in->name, name, CONTACT_NAME_MAX, f);
    if (rc >= 0 &&
        (rc = json_field_str(obj, email, false, 0, USER_EMAIL_MAX, &in->email, f)) == 1 &&
        *in->email) {
        if (!user_email_normalize(in->email, email_buf))
            rc = json_fail(f, email, "%s must be a valid e-mail address, like ann@example.com.",
                           email);
        else
            in->email = email_buf;
    }
    if (rc >= 0 &&
        (rc = json_field_str(obj, phone, false, 0, CONTACT_PHONE_MAX, &in->phone, f)) == 1 &&
        *in->phone && !phone_valid(in->phone))
        rc = json_fail(f, phone, "%s must be a phone number: digits, spaces and + - ( ).", phone);
    return rc < 0 ? rc : 0;
}

static json_t *find_field(json_t *fields, const char *name)
{
    size_t i;
    json_t *fd;
    json_array_foreach(fields, i, fd)
    {
        const char *n = json_string_value(json_object_get(fd, "name"));
        if (n && strcmp(n, name) == 0)
            return fd;
    }
    return NULL;
}

int prechat_check(json_t *fields, json_t *answers, json_t **norm, struct jfail *f)
{
    *norm = NULL;
    if (!json_is_object(answers))
        return json_fail(f, "prechat", "prechat must be an object of the form's answers.");
    const char *key;
    json_t *v;
    json_object_foreach(answers, key, v)
    {
        if (!find_field(fields, key))
            return json_fail(f, "prechat", "the form has no field \"%.60s\".", key);
        if (!json_is_string(v) && !json_is_number(v))
            return json_fail(f, key, "%.60s must be text%s.", key,
                             json_is_null(v) ? "; null is not allowed (leave it out)" : "");
    }
    json_t *out = json_object();
    size_t i;
    json_t *fd;
    json_array_foreach(fields, i, fd)
    {
        const char *name = json_string_value(json_object_get(fd, "name"));
        const char *label = json_string_value(json_object_get(fd, "label"));
        const char *type = json_string_value(json_object_get(fd, "type"));
        bool required = json_is_true(json_object_get(fd, "required"));
        if (!name) /* a stored form of another shape: skip what cannot be a field */
            continue;
        if (!label)
            label = name;
        json_t *a = json_object_get(answers, name);
        char num[64];
        const char *s = NULL;
        if (json_is_string(a))
            s = json_string_value(a);
        else if (json_is_number(a)) {
            snprintf(num, sizeof(num), "%.15g", json_number_value(a));
            s = num;
        }
        while (s && (*s == ' ' || *s == '\t'))
            s++;
        if (!s || !*s) {
            if (required) {
                json_decref(out);
                return json_fail(f, name, "%.60s is required.", label);
            }
            continue;
        }
        size_t n = strlen(s);
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        char val[501];
        if (n >= sizeof(val) || utf8_chars(s, n) > 500) {
            json_decref(out);
            return json_fail(f, name, "%.60s is too long (at most 500 characters).", label);
        }
        memcpy(val, s, n);
        val[n] = '\0';
        int bad = 0;
        char email[USER_EMAIL_MAX + 1];
        if (type && strcmp(type, "email") == 0) {
            if (!user_email_normalize(val, email))
                bad = json_fail(f, name, "%.60s must be a valid e-mail address.", label);
            else
                snprintf(val, sizeof(val), "%s", email);
        } else if (type && strcmp(type, "phone") == 0 && !phone_valid(val)) {
            bad = json_fail(f, name, "%.60s must be a phone number.", label);
        } else if (type && strcmp(type, "number") == 0) {
            char *end;
            (void)strtod(val, &end);
            if (*end || end == val)
                bad = json_fail(f, name, "%.60s must be a number.", label);
        } else if (strcmp(name, "name") == 0 && utf8_find_hidden(val, n, UTF8_NAME) >= 0) {
            /* the answer becomes the contact's name */
            bad = json_check_chars(val, name, label, UTF8_NAME, f);
        }
        if (bad) {
            json_decref(out);
            return bad;
        }
        json_object_set_new(out, name, json_string(val));
    }
    *norm = out;
    return 0;
}

unsigned conv_patch_apply(const struct conv_facts *was, const struct conv_patch *p,
                          struct conv_facts *now)
{
    now->status = p->status >= 0 ? conv_status_names[p->status] : was->status;
    now->priority = p->priority >= 0 ? conv_priority_names[p->priority] : was->priority;
    now->assignee_id = p->set_assignee ? p->assignee_id : was->assignee_id;
    now->team_id = p->set_team ? p->team_id : was->team_id;
    bool snoozing = p->status == CONV_SNOOZED;
    now->snoozed_until = snoozing ? p->snoozed_until : p->status >= 0 ? 0 : was->snoozed_until;
    unsigned c = 0;
    if (strcmp(now->status, was->status) != 0 || snoozing)
        c |= CONV_CHANGED_STATUS;
    if (strcmp(now->priority, was->priority) != 0)
        c |= CONV_CHANGED_PRIORITY;
    if (now->assignee_id != was->assignee_id)
        c |= CONV_CHANGED_ASSIGNEE;
    if (now->team_id != was->team_id)
        c |= CONV_CHANGED_TEAM;
    return c;
}

bool conv_bot_answering(const struct conv_now *c)
{
    return strcmp(c->bot_state, "active") == 0 || strcmp(c->bot_state, "collecting") == 0;
}

bool conv_may_raise(const struct conv_now *c, double sentiment)
{
    return sentiment <= -0.25 &&
           (strcmp(c->priority, "none") == 0 || strcmp(c->priority, "low") == 0 ||
            strcmp(c->priority, "medium") == 0);
}

unsigned conv_on_message(struct conv_now *c, const struct msg_facts *m)
{
    unsigned what = 0;
    c->last_message_id = m->id;
    if (!m->private)
        c->last_activity_at = m->at;
    switch (m->from) {
    case MSG_FROM_CONTACT:
        if (!conv_bot_answering(c)) {
            if (strcmp(c->status, "open") != 0)
                what |= CONV_MSG_REOPENED;
            snprintf(c->status, sizeof(c->status), "open");
            c->snoozed_until = 0;
            if (!c->waiting_since)
                c->waiting_since = m->at;
        }
        c->unread_count++;
        c->contact_last_read_id = m->id;
        c->sentiment = m->sentiment;
        if (m->raise_on_negative && conv_may_raise(c, m->sentiment)) {
            snprintf(c->priority, sizeof(c->priority), "high");
            what |= CONV_MSG_RAISED;
        }
        break;
    case MSG_FROM_AGENT:
        c->unread_count = 0;
        c->agent_last_read_id = m->id;
        if (m->private)
            break;
        c->waiting_since = 0;
        if (conv_bot_answering(c)) {
            snprintf(c->bot_state, sizeof(c->bot_state), "handed_off");
            what |= CONV_MSG_HANDED_OFF;
        }
        if (!c->first_reply_at)
            c->first_reply_at = m->at;
        if (!c->assignee_id && m->user_id) {
            c->assignee_id = m->user_id;
            c->assigned_at = m->at;
            what |= CONV_MSG_ASSIGNED;
        }
        break;
    case MSG_FROM_BOT:
        break;
    }
    return what;
}
