/* user.c: validation of e-mail addresses, names and passwords. */
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
    if (s.len == 0 || !utf8_valid(s.p, s.len))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < ' ' || c == 0x7f)
            return false;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
        if (c == 0xC2 && i + 1 < s.len && (unsigned char)s.p[i + 1] <= 0x9F)
            return false;
    }
    size_t n = utf8_chars(s.p, s.len);
    return n >= 1 && n <= USER_NAME_MAX;
}

bool user_password_valid(const char *pw)
{
    size_t n = utf8_chars(pw, strlen(pw));
    return n >= USER_PASSWORD_MIN && n <= USER_PASSWORD_MAX;
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
    json_t *v = json_object_get(body, "capacity");
    if (v) {
        p->has_capacity = true;
        int64_t c;
        if (!json_is_null(v)) {
            int rc = json_get_int(body, "capacity", true, 0, USER_CAPACITY_MAX, &c, f);
            if (rc < 0)
                return rc;
            p->capacity = (int)c;
        }
    }
    v = json_object_get(body, "skills");
    if (v) {
        p->has_skills = true;
        if (!json_is_array(v) || json_array_size(v) > USER_SKILLS_MAX)
            return json_fail(f, "skills",
                             "skills must be a list of at most %d {\"name\", \"level\"} objects.",
                             USER_SKILLS_MAX);
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
        {
            const char *name = json_string_value(json_object_get(s, "name"));
            json_t *lv = json_object_get(s, "level");
            size_t n = name ? strlen(name) : 0;
            if (!json_is_object(s) || !name || !utf8_valid(name, n) || utf8_chars(name, n) < 1 ||
                utf8_chars(name, n) > USER_SKILL_NAME_MAX || span_trim(span_of(name)).len == 0 ||
                !user_name_valid(name))
                return json_fail(f, "skills",
                                 "skill %zu: name must be 1 to %d characters without control"
                                 " characters.",
                                 i + 1, USER_SKILL_NAME_MAX);
            if (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > 5)
                return json_fail(f, "skills", "skill %zu: level must be 1 to 5.", i + 1);
            for (size_t k = 0; k < p->nskills; k++)
                if (strcmp(p->skill_names[k], name) == 0)
                    return json_fail(f, "skills", "skill \"%s\" is listed twice.", name);
            p->skill_names[p->nskills] = name;
            p->skill_levels[p->nskills++] = (int)json_integer_value(lv);
        }
    }
    v = json_object_get(body, "languages");
    if (v) {
        p->has_languages = true;
        if (!json_is_array(v) || json_array_size(v) > USER_LANGS_MAX)
            return json_fail(f, "languages",
                             "languages must be a list of at most %d language codes like \"zh\""
                             " or \"en\".",
                             USER_LANGS_MAX);
        size_t i;
        json_t *l;
        json_array_foreach(v, i, l)
        {
            const char *s = json_string_value(l);
            if (!s || strlen(s) > 8 || !lang_valid(s))
                return json_fail(f, "languages",
                                 "language %zu must be a code like \"zh\", \"en\" or \"en-US\".",
                                 i + 1);
            char low[9];
            size_t k = 0;
            for (; s[k]; k++)
                low[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
            low[k] = 0;
            bool dup = false;
            for (size_t m = 0; m < p->nlanguages; m++)
                dup = dup || strcmp(p->languages[m], low) == 0;
            if (!dup)
                memcpy(p->languages[p->nlanguages++], low, k + 1);
        }
    }
    v = json_object_get(body, "region");
    if (v) {
        p->has_region = true;
        const char *r = NULL;
        if (!json_is_null(v)) {
            int rc = json_get_str(body, "region", true, 0, USER_REGION_MAX, &r, f);
            if (rc < 0)
                return rc;
            if (*r && !user_name_valid(r))
                return json_fail(f, "region",
                                 "region must be up to 40 characters without"
                                 " control characters.");
        }
        p->region = r ? r : "";
    }
    return 0;
}
