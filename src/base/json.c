/* json.c: strict request-body parsing and typed field access. */
#include "base/sys.h"
#include "base/json.h"
#include "base/clock.h"
#include "base/str.h"

int json_fail(struct jfail *f, const char *field, const char *fmt, ...)
{
    snprintf(f->field, sizeof(f->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    return ERR_VALIDATION;
}

int json_parse_object(const char *p, size_t len, json_t **out, struct jfail *f)
{
    json_error_t je;
    *out = NULL;
    if (len == 0) {
        f->field[0] = '\0';
        snprintf(f->msg, sizeof(f->msg), "The body is empty; send a JSON object.");
        return ERR_JSON;
    }
    json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        f->field[0] = '\0';
        snprintf(f->msg, sizeof(f->msg), "The body is not valid JSON: %s (line %d, column %d).",
                 je.text, je.line, je.column);
        return ERR_JSON;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        f->field[0] = '\0';
        snprintf(f->msg, sizeof(f->msg), "The body must be a JSON object.");
        return ERR_JSON;
    }
    *out = v;
    return 0;
}

static json_t *field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int json_get_str(json_t *obj, const char *key, bool required, size_t min_chars, size_t max_chars,
                 const char **out, struct jfail *f)
{
    json_t *v = field(obj, key);
    if (!v)
        return required ? json_fail(f, key, "%s is required.", key) : 0;
    if (!json_is_string(v))
        return json_fail(f, key, "%s must be a string.", key);
    size_t n = utf8_chars(json_string_value(v), json_string_length(v));
    if (n < min_chars)
        return json_fail(f, key,
                         min_chars == 1 ? "%s must not be empty."
                                        : "%s must be at least %zu characters.",
                         key, min_chars);
    if (n > max_chars)
        return json_fail(f, key, "%s must be at most %zu characters.", key, max_chars);
    *out = json_string_value(v);
    return 0;
}

int json_get_int(json_t *obj, const char *key, bool required, int64_t min, int64_t max,
                 int64_t *out, struct jfail *f)
{
    json_t *v = field(obj, key);
    if (!v)
        return required ? json_fail(f, key, "%s is required.", key) : 0;
    if (!json_is_integer(v))
        return json_fail(f, key, "%s must be an integer.", key);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return json_fail(f, key, "%s must be between %" PRId64 " and %" PRId64 ".", key, min, max);
    *out = i;
    return 0;
}

int json_get_bool(json_t *obj, const char *key, bool required, bool *out, struct jfail *f)
{
    json_t *v = field(obj, key);
    if (!v)
        return required ? json_fail(f, key, "%s is required.", key) : 0;
    if (!json_is_boolean(v))
        return json_fail(f, key, "%s must be true or false.", key);
    *out = json_is_true(v);
    return 0;
}

int json_get_enum(json_t *obj, const char *key, bool required, const char *const *allowed, int *out,
                  struct jfail *f)
{
    const char *s = NULL;
    int rc = json_get_str(obj, key, required, 0, 64, &s, f);
    if (rc < 0 || !s)
        return rc;
    for (int i = 0; allowed[i]; i++)
        if (strcmp(s, allowed[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[128] = "";
    for (int i = 0; allowed[i]; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
    }
    return json_fail(f, key, "%s must be one of: %s.", key, list);
}

json_t *json_time(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char ts[32];
    clock_iso8601(ms, ts);
    return json_string(ts);
}

json_t *json_loads_or(const char *text, json_t *dflt)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!v)
        return dflt;
    json_decref(dflt);
    return v;
}

char *json_dump_compact(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        s = xstrdup("null");
    if (len)
        *len = strlen(s);
    return s;
}
