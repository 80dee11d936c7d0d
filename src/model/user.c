/* user.c: validation of e-mail addresses, names and routing profiles (passwords: password.c). */
#include "base/sys.h"
#include "base/str.h"
#include "model/user.h"

bool user_email_normalize(const char *in, char *out)
{
    struct span s = span_trim(span_of(in));
    if (s.len < 3 || s.len > USER_EMAIL_MAX)
        return false;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == ',' || c == ';')
            return false;
        if (c == '@') {
            if (at != SIZE_MAX)
                return false;
            at = i;
        }
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[s.len] = '\0';
    if (at == SIZE_MAX || at == 0 || at == s.len - 1)
        return false;
    /* The local part: no leading or trailing dot, no two dots in a row (RFC 5322 dot-atom). */
    if (out[0] == '.' || out[at - 1] == '.')
        return false;
    for (size_t i = 1; i < at; i++)
        if (out[i] == '.' && out[i - 1] == '.')
            return false;
    const char *domain = out + at + 1;
    const char *dot = strrchr(domain, '.');
    if (!dot || dot == domain || dot[1] == '\0' || domain[0] == '.' || strstr(domain, ".."))
        return false;
    return utf8_valid(out, s.len);
}

bool user_name_valid(const char *name)
{
    struct span s = span_trim(span_of(name));
    if (s.len == 0 || !utf8_valid(s.p, s.len) || utf8_find_hidden(s.p, s.len, UTF8_NAME) >= 0)
        return false;
    size_t n = utf8_chars(s.p, s.len);
    return n >= 1 && n <= USER_NAME_MAX;
}

int user_name_check(const char *name, const char *field, size_t max, struct jfail *f)
{
    struct span s = span_trim(span_of(name));
    if (s.len == 0)
        return json_fail(f, field, "%s must not be blank.", field);
    int rc = json_check_chars(name, field, NULL, UTF8_NAME, f);
    if (rc < 0)
        return rc;
    if (utf8_chars(s.p, s.len) > max)
        return json_fail(f, field, "%s must be at most %zu characters.", field, max);
    return 0;
}

int user_skill_check(const char *name, const char *field, struct jfail *f)
{
    size_t n = utf8_chars(name, strlen(name));
    if (n < 1 || n > USER_SKILL_NAME_MAX || span_trim(span_of(name)).len == 0)
        return json_fail(f, field, "a skill's name is 1 to %d characters (not blank).",
                         USER_SKILL_NAME_MAX);
    return json_check_chars(name, field, "a skill's name", UTF8_IDENT, f);
}

static bool lang_valid(const char *s)
{
    /* "zh", "en", "en-us", "zh-hans": 2..8 letters, an optional "-" and 2..4 letters/digits */
    size_t n = strlen(s), i = 0;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
        i++;
    if (i < 2 || i > 3)
        return false;
    if (i == n)
        return true;
    if (s[i] != '-' || n - i - 1 < 2 || n - i - 1 > 4)
        return false;
    for (i++; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

int user_profile_parse(json_t *body, struct user_profile *p, struct jfail *f)
{
    memset(p, 0, sizeof(*p));
    p->capacity = -1;
    int64_t c = 0;
    bool none = false;
    int rc = json_field_int_nullable(body, "capacity", 0, USER_CAPACITY_MAX, &c, &none, f);
    if (rc < 0)
        return rc;
    p->has_capacity = rc == 1;
    if (rc == 1 && !none)
        p->capacity = (int)c;
    json_t *v = NULL;
    if ((rc = json_field_array(body, "skills", false, 0, USER_SKILLS_MAX, &v, f)) < 0)
        return json_fail(f, "skills",
                         "skills must be a list of at most %d {\"name\", \"level\"} objects.",
                         USER_SKILLS_MAX);
    p->has_skills = rc == 1;
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        json_t *lv = json_object_get(s, "level");
        if (!json_is_object(s) || json_object_size(s) != 2 || !name || !json_is_integer(lv))
            return json_fail(f, "skills", "skill %zu must be {\"name\": text, \"level\": 1 to 5}.",
                             i + 1);
        if (user_skill_check(name, "skills", f) < 0) {
            char msg[sizeof(f->msg)];
            snprintf(msg, sizeof(msg), "skill %zu: %s", i + 1, f->msg);
            return json_fail(f, "skills", "%s", msg);
        }
        if (json_integer_value(lv) < 1 || json_integer_value(lv) > 5)
            return json_fail(f, "skills", "skill %zu: level must be 1 to 5.", i + 1);
        for (size_t k = 0; k < p->nskills; k++)
            if (strcmp(p->skill_names[k], name) == 0)
                return json_fail(f, "skills", "skill \"%s\" is listed twice.", name);
        p->skill_names[p->nskills] = name;
        p->skill_levels[p->nskills++] = (int)json_integer_value(lv);
    }
    v = NULL;
    if ((rc = json_field_array(body, "languages", false, 0, USER_LANGS_MAX, &v, f)) < 0)
        return json_fail(f, "languages",
                         "languages must be a list of at most %d language codes like \"zh\""
                         " or \"en\".",
                         USER_LANGS_MAX);
    p->has_languages = rc == 1;
    json_t *l;
    json_array_foreach(v, i, l)
    {
        const char *t = json_string_value(l);
        if (!t || strlen(t) > 8 || !lang_valid(t))
            return json_fail(f, "languages",
                             "language %zu must be a code like \"zh\", \"en\" or \"en-US\".",
                             i + 1);
        char low[9];
        size_t k = 0;
        for (; t[k]; k++)
            low[k] = (char)((t[k] >= 'A' && t[k] <= 'Z') ? t[k] + 32 : t[k]);
        low[k] = 0;
        bool dup = false;
        for (size_t m = 0; m < p->nlanguages; m++)
            dup = dup || strcmp(p->languages[m], low) == 0;
        if (!dup)
            memcpy(p->languages[p->nlanguages++], low, k + 1);
    }
    const char *r = "";
    if ((rc = json_field_str_nullable(body, "region", 0, USER_REGION_MAX, &r, &none, f)) < 0)
        return rc;
    p->has_region = rc == 1;
    if (rc == 1 && none)
        r = "";
    if (*r && (rc = user_name_check(r, "region", USER_REGION_MAX, f)) < 0)
        return rc;
    p->region = r;
    return 0;
}
