/* inbox.c: validation of inbox settings: name, channel, greeting, offline message, widget colour
 * and title, and the pre-chat form (up to 10 fields, each {name, label, type, required}). */
#include "base/sys.h"
#include "base/str.h"
#include "model/inbox.h"
#include "model/user.h"

bool inbox_color_valid(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#')
        return false;
    for (int i = 1; i < 7; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

static bool field_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static int parse_prechat(json_t *v, json_t **out, struct jfail *f)
{
    static const char *const types[] = {"text", "email", "phone", "number", NULL};
    json_t *norm = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        const char *name = NULL, *label = NULL;
        int type = 0;
        bool required = false;
        /* each item's fields under their own names; the array is named below */
        int rc = json_is_object(item)
                     ? 0
                     : json_fail(f, "prechat_fields", "each pre-chat field must be an object.");
        static const char *const known[] = {"name", "label", "type", "required", NULL};
        const char *key;
        json_t *x;
        json_object_foreach(item, key, x)
        {
            bool ok = false;
            for (int k = 0; known[k] && !ok; k++)
                ok = strcmp(known[k], key) == 0;
            if (!ok && rc == 0)
                rc = json_fail(f, key,
                               "%.30s is not part of a pre-chat field (name, label, type,"
                               " required).",
                               key);
        }
        if (rc >= 0)
            rc = json_field_str(item, "name", true, 1, 32, &name, f);
        if (rc >= 0 && !field_name_valid(name))
            rc = json_fail(
                f, "name",
                "a pre-chat field name is lower-case letters, digits and _ (like phone_number).");
        if (rc >= 0)
            rc = json_field_str(item, "label", true, 1, 60, &label, f);
        if (rc >= 0)
            rc = user_name_check(label, "label", 60, f);
        if (rc >= 0)
            rc = json_field_enum(item, "type", false, types, &type, f);
        if (rc >= 0)
            rc = json_field_bool(item, "required", false, &required, f);
        for (size_t k = 0; rc >= 0 && k < i; k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(norm, k), "name")), name) ==
                0)
                rc = json_fail(f, "name", "pre-chat field names must be unique ('%s' repeats).",
                               name);
        if (rc < 0) {
            /* Name the array, with the inner reason. */
            char msg[sizeof(f->msg)];
            snprintf(msg, sizeof(msg), "prechat_fields[%zu]: %s", i, f->msg);
            json_decref(norm);
            return json_fail(f, "prechat_fields", "%s", msg);
        }
        json_array_append_new(norm, json_pack("{s:s, s:s, s:s, s:b}", "name", name, "label", label,
                                              "type", types[type], "required", required));
    }
    *out = norm;
    return 0;
}

int inbox_parse(json_t *body, bool create, struct inbox_input *in, struct jfail *f)
{
    static const char *const channels[] = {"web", "api", NULL};
    memset(in, 0, sizeof(*in));
    int channel = -1;
    int rc = json_field_str(body, "name", create, 1, INBOX_NAME_MAX, &in->name, f);
    if (rc == 1)
        rc = user_name_check(in->name, "name", INBOX_NAME_MAX, f);
    if (rc >= 0 && create)
        rc = json_field_enum(body, "channel", true, channels, &channel, f);
    if (rc >= 0 && !create && json_object_get(body, "channel"))
        rc = json_fail(f, "channel", "channel cannot change; create another inbox.");
    if (rc >= 0)
        rc = json_field_str(body, "greeting", false, 0, INBOX_TEXT_MAX, &in->greeting, f);
    if (rc >= 0)
        rc = json_field_str(body, "offline_message", false, 0, INBOX_TEXT_MAX, &in->offline_message,
                            f);
    if (rc >= 0 &&
        (rc = json_field_str(body, "widget_color", false, 0, 7, &in->widget_color, f)) == 1 &&
        !inbox_color_valid(in->widget_color))
        rc = json_fail(f, "widget_color", "widget_color must look like #1f6feb.");
    if (rc >= 0)
        rc = json_field_str(body, "widget_title", false, 0, INBOX_TITLE_MAX, &in->widget_title, f);
    json_t *pf = NULL;
    if (rc >= 0 &&
        (rc = json_field_array(body, "prechat_fields", false, 0, INBOX_PRECHAT_MAX, &pf, f)) == 1)
        rc = parse_prechat(pf, &in->prechat_fields, f);
    if (channel >= 0)
        in->channel = channels[channel];
    if (rc < 0)
        inbox_input_release(in);
    return rc < 0 ? rc : 0;
}

void inbox_input_release(struct inbox_input *in)
{
    json_decref(in->prechat_fields);
    in->prechat_fields = NULL;
}
