/* json.c: strict request-body parsing and typed field access (see json.h for the getters'
 * contract). */
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

int json_check_chars(const char *s, const char *field, const char *what, unsigned kinds,
                     struct jfail *f)
{
    int32_t c = s ? utf8_find_hidden(s, strlen(s), kinds) : -1;
    if (c < 0)
        return 0;
    return json_fail(f, field,
                     (kinds & UTF8_INVISIBLE)
                         ? "%s must not contain invisible or direction-control characters (U+%04X)."
                         : "%s must not contain control or direction-override characters (U+%04X).",
                     what ? what : field, (unsigned)c);
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

/* The key of a field named by a path: "bot.mode" -> "mode". */
static const char *key_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

/* What every getter does first: 0 (absent, optional), 1 (there, not null: *v set), or the error
 * for absent-but-required. A null is left to the caller (*v set, 1), which knows what to say. */
static int lookup(json_t *obj, const char *name, bool required, json_t **v, struct jfail *f)
{
    *v = json_object_get(obj, key_of(name));
    if (*v)
        return 1;
    return required ? json_fail(f, name, "%s is required.", name) : 0;
}

/* "a positive integer", "an integer between 0 and 100", ... (for the messages) */
static void int_range(char *buf, size_t n, int64_t min, int64_t max)
{
    if (max == INT64_MAX && min == 1)
        snprintf(buf, n, "a positive integer");
    else if (max == INT64_MAX && min == INT64_MIN)
        snprintf(buf, n, "an integer");
    else if (max == INT64_MAX)
        snprintf(buf, n, "an integer of at least %" PRId64, min);
    else
        snprintf(buf, n, "an integer between %" PRId64 " and %" PRId64, min, max);
}

static int check_str(json_t *v, const char *name, size_t min_chars, size_t max_chars,
                     const char **out, struct jfail *f)
{
    if (!json_is_string(v))
        return json_fail(f, name, "%s must be a string%s.", name,
                         json_is_null(v) ? "; null is not allowed" : "");
    size_t n = utf8_chars(json_string_value(v), json_string_length(v));
    if (n < min_chars)
        return json_fail(f, name,
                         min_chars == 1 ? "%s must not be empty."
                                        : "%s must be at least %zu characters.",
                         name, min_chars);
    if (n > max_chars)
        return json_fail(f, name, "%s must be at most %zu characters.", name, max_chars);
    *out = json_string_value(v);
    return 1;
}

int json_field_str(json_t *obj, const char *name, bool required, size_t min_chars, size_t max_chars,
                   const char **out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    return rc <= 0 ? rc : check_str(v, name, min_chars, max_chars, out, f);
}

int json_field_str_nullable(json_t *obj, const char *name, size_t min_chars, size_t max_chars,
                            const char **out, bool *is_null, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, false, &v, f);
    if (rc <= 0)
        return rc;
    if (json_is_null(v)) {
        *is_null = true;
        return 1;
    }
    if (!json_is_string(v))
        return json_fail(f, name, "%s must be a string or null.", name);
    if ((rc = check_str(v, name, min_chars, max_chars, out, f)) == 1)
        *is_null = false;
    return rc;
}

static int check_int(json_t *v, const char *name, int64_t min, int64_t max, const char *or_null,
                     int64_t *out, struct jfail *f)
{
    char range[96];
    int_range(range, sizeof(range), min, max);
    if (!json_is_integer(v))
        return json_fail(f, name, "%s must be %s%s.", name, range,
                         json_is_null(v) ? "; null is not allowed" : or_null);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return json_fail(f, name, "%s must be %s%s.", name, range, or_null);
    *out = i;
    return 1;
}

int json_field_int(json_t *obj, const char *name, bool required, int64_t min, int64_t max,
                   int64_t *out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    return rc <= 0 ? rc : check_int(v, name, min, max, "", out, f);
}

int json_field_int_nullable(json_t *obj, const char *name, int64_t min, int64_t max, int64_t *out,
                            bool *is_null, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, false, &v, f);
    if (rc <= 0)
        return rc;
    if (json_is_null(v)) {
        *is_null = true;
        return 1;
    }
    if ((rc = check_int(v, name, min, max, " or null", out, f)) == 1)
        *is_null = false;
    return rc;
}

int json_field_num(json_t *obj, const char *name, bool required, double min, double max,
                   double *out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    if (rc <= 0)
        return rc;
    /* JSON has no NaN or infinity; a real too big for a double does not parse */
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= min && d <= max))
        return json_fail(f, name, "%s must be a number from %g to %g%s.", name, min, max,
                         json_is_null(v) ? "; null is not allowed" : "");
    *out = d;
    return 1;
}

int json_field_bool(json_t *obj, const char *name, bool required, bool *out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    if (rc <= 0)
        return rc;
    if (!json_is_boolean(v))
        return json_fail(f, name, "%s must be true or false%s.", name,
                         json_is_null(v) ? "; null is not allowed" : "");
    *out = json_is_true(v);
    return 1;
}

int json_field_enum(json_t *obj, const char *name, bool required, const char *const *allowed,
                    int *out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    if (rc <= 0)
        return rc;
    const char *s = json_string_value(v);
    for (int i = 0; s && allowed[i]; i++)
        if (strcmp(s, allowed[i]) == 0) {
            *out = i;
            return 1;
        }
    char list[128] = "";
    for (int i = 0; allowed[i]; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
    }
    return json_fail(f, name, "%s must be one of: %s%s.", name, list,
                     json_is_null(v) ? "; null is not allowed" : "");
}

int json_field_array(json_t *obj, const char *name, bool required, size_t min, size_t max,
                     json_t **out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    if (rc <= 0)
        return rc;
    const char *why = json_is_null(v) ? "; null is not allowed" : "";
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n < min || n > max) {
        if (min == 0)
            return json_fail(f, name, "%s must be a list of at most %zu items%s.", name, max, why);
        return json_fail(f, name, "%s must be a list of %zu to %zu items%s.", name, min, max, why);
    }
    *out = v;
    return 1;
}

int json_field_object(json_t *obj, const char *name, bool required, json_t **out, struct jfail *f)
{
    json_t *v;
    int rc = lookup(obj, name, required, &v, f);
    if (rc <= 0)
        return rc;
    if (!json_is_object(v))
        return json_fail(f, name, "%s must be an object%s.", name,
                         json_is_null(v) ? "; null is not allowed" : "");
    *out = v;
    return 1;
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
