/* bot.c: the bot settings of an inbox (see bot.h). */
#include "base/sys.h"

#include "model/bot.h"

#include <ctype.h>
#include <strings.h>

#include "base/err.h"
#include "base/str.h"
#include "model/conversation.h"

const char *const bot_mode_names[] = {"off", "always", "outside_hours", NULL};
static const char *const DAYS[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const FIELDS[3] = {"name", "email", "phone"};

void bot_settings_default(struct bot_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->mode = BOT_OFF;
    s->threshold = 0.5;
    static const char *const kw[] = {"人工", "转人工", "客服", "agent", "human", "person"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
        snprintf(s->keywords[s->nkeywords++], sizeof(s->keywords[0]), "%s", kw[i]);
    s->collect = BOT_FIELD_EMAIL;
    for (int d = 0; d < 5; d++) { /* Monday to Friday, 09:00-18:00 */
        s->nspans[d] = 1;
        s->spans[d][0][0] = 9 * 60;
        s->spans[d][0][1] = 18 * 60;
    }
}

/* "HH:MM" (00:00..24:00) to minutes, or -1. */
static int hhmm(const char *t)
{
    if (!t || strlen(t) != 5 || t[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (t[i] < '0' || t[i] > '9'))
            return -1;
    int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* Only the keys in `known` (NULL-terminated) may be in o; else ERR_VALIDATION naming
 * "<path>.<key>". */
static int only_keys(json_t *o, const char *const *known, const char *path, struct jfail *f)
{
    const char *key;
    json_t *x;
    json_object_foreach(o, key, x)
    {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok) {
            char field[48];
            snprintf(field, sizeof(field), "%s.%.30s", path, key);
            return json_fail(f, field, "%s is not a setting here.", field);
        }
    }
    return 0;
}

static int parse_hours(json_t *h, struct bot_settings *s, struct jfail *f)
{
    static const char *const known[] = {"utc_offset_minutes", "days", NULL};
    int rc = only_keys(h, known, "bot.hours", f);
    int64_t off = 0;
    if (rc == 0 &&
        (rc = json_field_int(h, "bot.hours.utc_offset_minutes", false, -720, 840, &off, f)) < 0)
        return json_fail(f, "bot.hours.utc_offset_minutes",
                         "bot.hours.utc_offset_minutes is a whole number from -720 to 840 (UTC+8 "
                         "is 480).");
    if (rc < 0)
        return rc;
    if (rc == 1)
        s->utc_offset_min = (int)off;
    json_t *days = NULL;
    if ((rc = json_field_object(h, "bot.hours.days", false, &days, f)) <= 0)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach(days, key, v)
    {
        int d = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(DAYS[i], key) == 0)
                d = i;
        if (d < 0)
            return json_fail(
                f, "bot.hours.days",
                "bot.hours.days: unknown day %.20s; use mon, tue, wed, thu, fri, sat, sun.", key);
        char field[48];
        snprintf(field, sizeof(field), "bot.hours.days.%s", key);
        if (!json_is_array(v) || json_array_size(v) > BOT_SPANS_MAX)
            return json_fail(f, field, "%s is a list of at most 4 [\"HH:MM\", \"HH:MM\"] pairs.",
                             field);
        s->nspans[d] = 0;
        size_t i;
        json_t *span;
        json_array_foreach(v, i, span)
        {
            int a = hhmm(json_string_value(json_array_get(span, 0)));
            int b = hhmm(json_string_value(json_array_get(span, 1)));
            if (!json_is_array(span) || json_array_size(span) != 2 || a < 0 || b < 0 || b <= a)
                return json_fail(f, field,
                                 "%s: pair %zu must be [\"HH:MM\", \"HH:MM\"] with the close after"
                                 " the open.",
                                 field, i + 1);
            s->spans[d][i][0] = (int16_t)a;
            s->spans[d][i][1] = (int16_t)b;
            s->nspans[d]++;
        }
    }
    return 0;
}

int bot_settings_parse(json_t *v, struct bot_settings *s, struct jfail *f)
{
    if (!json_is_object(v))
        return json_fail(f, "bot", "bot must be an object of settings%s.",
                         json_is_null(v) ? "; null is not allowed" : "");
    static const char *const known[] = {"mode",
                                        "greeting",
                                        "threshold",
                                        "handoff_keywords",
                                        "collect_fields",
                                        "hours",
                                        "negative_priority",
                                        "greeting_flows",
                                        NULL};
    int rc = only_keys(v, known, "bot", f);
    if (rc < 0)
        return rc;
    int mode = BOT_OFF;
    if ((rc = json_field_enum(v, "bot.mode", false, bot_mode_names, &mode, f)) < 0)
        return rc;
    if (rc == 1)
        s->mode = (enum bot_mode)mode;
    const char *g = NULL;
    if ((rc = json_field_str(v, "bot.greeting", false, 0, BOT_GREETING_MAX, &g, f)) < 0)
        return rc;
    if (rc == 1)
        snprintf(s->greeting, sizeof(s->greeting), "%s", g);
    if (json_field_num(v, "bot.threshold", false, 0.05, 0.99, &s->threshold, f) < 0)
        return json_fail(f, "bot.threshold",
                         "bot.threshold is a confidence from 0.05 to 0.99 (0.5 answers when the bot"
                         " is at least 50%% sure).");
    json_t *x = NULL;
    if ((rc = json_field_array(v, "bot.handoff_keywords", false, 0, BOT_KEYWORDS_MAX, &x, f)) < 0)
        return rc;
    if (rc == 1) {
        s->nkeywords = 0;
        size_t i;
        json_t *w;
        json_array_foreach(x, i, w)
        {
            const char *t = json_string_value(w);
            if (!t || text_blank(t) || utf8_chars(t, strlen(t)) > BOT_KEYWORD_MAX)
                return json_fail(f, "bot.handoff_keywords",
                                 "each handoff keyword is 1 to 40 characters (item %zu is not).",
                                 i + 1);
            snprintf(s->keywords[s->nkeywords++], sizeof(s->keywords[0]), "%s", t);
        }
    }
    if ((rc = json_field_array(v, "bot.collect_fields", false, 0, 3, &x, f)) < 0)
        return json_fail(f, "bot.collect_fields",
                         "bot.collect_fields is a list of name, email and phone.");
    if (rc == 1) {
        s->collect = 0;
        size_t i;
        json_t *w;
        json_array_foreach(x, i, w)
        {
            const char *t = json_string_value(w);
            int bit = 0;
            for (int k = 0; k < 3 && t; k++)
                if (strcmp(FIELDS[k], t) == 0)
                    bit = 1 << k;
            if (!bit)
                return json_fail(f, "bot.collect_fields",
                                 "collect_fields may hold name, email and phone (item %zu is not"
                                 " one).",
                                 i + 1);
            s->collect |= (unsigned)bit;
        }
    }
    if ((rc = json_field_object(v, "bot.hours", false, &x, f)) < 0)
        return rc;
    if (rc == 1 && (rc = parse_hours(x, s, f)) < 0)
        return rc;
    if ((rc = json_field_bool(v, "bot.negative_priority", false, &s->negative_priority, f)) < 0)
        return rc;
    if ((rc = json_field_array(v, "bot.greeting_flows", false, 0, BOT_FLOWS_MAX, &x, f)) < 0)
        return json_fail(f, "bot.greeting_flows",
                         "bot.greeting_flows is a list of at most 5 flow ids.");
    if (rc == 1) {
        s->nflows = 0;
        size_t i;
        json_t *w;
        json_array_foreach(x, i, w)
        {
            int64_t id = json_is_integer(w) ? json_integer_value(w) : 0;
            if (id <= 0 || bot_offers_flow(s, id))
                return json_fail(f, "bot.greeting_flows",
                                 "greeting_flows holds distinct flow ids (item %zu is not one).",
                                 i + 1);
            s->flows[s->nflows++] = id;
        }
    }
    return 0;
}

void bot_settings_load(const char *text, struct bot_settings *s)
{
    bot_settings_default(s);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(v)) {
        /* Key by key: a value that does not parse now (a corrupt row, an older shape) keeps its
         * default, and the others still apply. */
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            json_t *one = json_pack("{s:O}", key, x);
            struct bot_settings t = *s;
            struct jfail f = {0};
            if (one && bot_settings_parse(one, &t, &f) == 0)
                *s = t;
            json_decref(one);
        }
    }
    json_decref(v);
}

json_t *bot_settings_json(const struct bot_settings *s)
{
    json_t *kw = json_array(), *cf = json_array(), *days = json_object();
    for (int i = 0; i < s->nkeywords; i++)
        json_array_append_new(kw, json_string(s->keywords[i]));
    for (int k = 0; k < 3; k++)
        if (s->collect & (1u << k))
            json_array_append_new(cf, json_string(FIELDS[k]));
    for (int d = 0; d < 7; d++) {
        json_t *arr = json_array();
        for (int i = 0; i < s->nspans[d]; i++) {
            char a[8], b[8];
            snprintf(a, sizeof(a), "%02d:%02d", s->spans[d][i][0] / 60, s->spans[d][i][0] % 60);
            snprintf(b, sizeof(b), "%02d:%02d", s->spans[d][i][1] / 60, s->spans[d][i][1] % 60);
            json_array_append_new(arr, json_pack("[s, s]", a, b));
        }
        json_object_set_new(days, DAYS[d], arr);
    }
    json_t *flows = json_array();
    for (int i = 0; i < s->nflows; i++)
        json_array_append_new(flows, json_integer(s->flows[i]));
    return json_pack("{s:s, s:s, s:f, s:o, s:o, s:{s:i, s:o}, s:b, s:o}", "mode",
                     bot_mode_names[s->mode], "greeting", s->greeting, "threshold", s->threshold,
                     "handoff_keywords", kw, "collect_fields", cf, "hours", "utc_offset_minutes",
                     s->utc_offset_min, "days", days, "negative_priority", s->negative_priority,
                     "greeting_flows", flows);
}

bool bot_in_hours(const struct bot_settings *s, int64_t now_ms)
{
    int64_t local = now_ms / 1000 + (int64_t)s->utc_offset_min * 60;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int minute = (int)((local - days * 86400) / 60);
    int wday = (int)(((days % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday: index 3 */
    for (int i = 0; i < s->nspans[wday]; i++)
        if (minute >= s->spans[wday][i][0] && minute < s->spans[wday][i][1])
            return true;
    return false;
}

bool bot_active(const struct bot_settings *s, int64_t now_ms)
{
    return s->mode == BOT_ALWAYS || (s->mode == BOT_OUTSIDE_HOURS && !bot_in_hours(s, now_ms));
}

bool bot_handoff_word(const struct bot_settings *s, const char *text)
{
    for (int i = 0; i < s->nkeywords; i++) {
        const char *k = s->keywords[i];
        bool ascii = true;
        for (const char *p = k; *p; p++)
            ascii = ascii && (unsigned char)*p < 0x80;
        if (!ascii) {
            if (strstr(text, k))
                return true;
            continue;
        }
        /* Latin keywords match whole words, case-insensitively: "agent" but not "agenda" */
        size_t kl = strlen(k);
        for (const char *p = text; (p = strcasestr(p, k)); p++) {
            bool left = p == text || !isalnum((unsigned char)p[-1]);
            bool right = !isalnum((unsigned char)p[kl]);
            if (left && right)
                return true;
        }
    }
    return false;
}

bool bot_offers_flow(const struct bot_settings *s, int64_t flow_id)
{
    for (int i = 0; i < s->nflows; i++)
        if (s->flows[i] == flow_id)
            return true;
    return false;
}

/* is_question: the label reads as a whole sentence to the customer, not a field's name. */
static bool is_question(const char *l)
{
    size_t n = strlen(l);
    while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    if (n == 0)
        return false;
    static const char *const ends[] = {"?",
                                       ":",
                                       ".",
                                       "!",
                                       "\xEF\xBC\x9F" /* ？ */,
                                       "\xEF\xBC\x9A" /* ： */,
                                       "\xE3\x80\x82" /* 。 */,
                                       "\xEF\xBC\x81" /* ！ */};
    for (size_t i = 0; i < ARRAY_SIZE(ends); i++) {
        size_t k = strlen(ends[i]);
        if (n >= k && memcmp(l + n - k, ends[i], k) == 0)
            return true;
    }
    /* addressed to the customer: 请/麻烦/您 in Chinese, a question word or "your" in English */
    static const char *const zh_cues[] = {
        "\xE8\xAF\xB7" /* 请 */, "\xE9\xBA\xBB\xE7\x83\xA6" /* 麻烦 */, "\xE6\x82\xA8" /* 您 */};
    for (size_t i = 0; i < ARRAY_SIZE(zh_cues); i++)
        if (strstr(l, zh_cues[i]))
            return true;
    static const char *const en_starts[] = {"please ", "what ", "which ", "could ", "can ",
                                            "may ",    "when ", "where ", "how ",   "tell us "};
    for (size_t i = 0; i < ARRAY_SIZE(en_starts); i++)
        if (strncasecmp(l, en_starts[i], strlen(en_starts[i])) == 0)
            return true;
    for (const char *p = l; *p; p++)
        if (strncasecmp(p, "your ", 5) == 0 && (p == l || p[-1] == ' '))
            return true;
    return false;
}

void bot_collect_prompt(const char *label, bool zh, bool again, char *out, size_t len)
{
    const char *l = label ? label : "";
    if (is_question(l)) {
        snprintf(out, len, "%s%s",
                 again ? (zh ? "这个格式好像不对。" : "That does not look right. ") : "", l);
        return;
    }
    if (again)
        snprintf(out, len,
                 zh ? "这个格式好像不对，请再输入一次%s："
                    : "That does not look right. Please enter your %s again:",
                 l);
    else
        snprintf(out, len, zh ? "请留下您的%s：" : "Please enter your %s:", l);
}
