/* cfg.c: loads the option table from defaults, file, environment and flags, in that order. */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/str.h"

#include <ctype.h>
#include <strings.h>

struct cfg cfg;

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_ENUM };

struct cfg_opt {
    const char *name;
    enum cfg_type type;
    const char *def;
    int64_t min, max;
    bool secret;
    const char *help;
    size_t offset;
};

static const struct cfg_opt opts[] = {
#define CFG_OPT(field, name, type, def, min, max, secret, help)                                    \
    {name, CFG_##type, def, min, max, secret, help, offsetof(struct cfg, field)},
    CFG_MAP(CFG_OPT)
#undef CFG_OPT
};

static const struct cfg_opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static bool enum_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    /* ENUM options keep their choices at the start of the help line: "a|b|c: ..." or "a|b|c". */
    while (*p) {
        const char *end = p + strcspn(p, "|:");
        if ((size_t)(end - p) == n && strncmp(p, v, n) == 0)
            return true;
        if (*end != '|')
            break;
        p = end + 1;
    }
    return false;
}

static int set_opt(struct cfg *c, const struct cfg_opt *o, const char *v, char *err, size_t errlen)
{
    void *field = (char *)c + o->offset;
    switch (o->type) {
    case CFG_STR:
    case CFG_ENUM:
        if (o->type == CFG_ENUM && !enum_ok(o->help, v)) {
            snprintf(err, errlen, "invalid value '%s' for %s: expected %.*s", v, o->name,
                     (int)strcspn(o->help, ":"), o->help);
            return ERR_INVAL;
        }
        free(*(char **)field);
        *(char **)field = xstrdup(v);
        return 0;
    case CFG_INT: {
        int64_t i;
        if (!span_to_i64(span_of(v), &i)) {
            snprintf(err, errlen, "invalid value '%s' for %s: expected an integer", v, o->name);
            return ERR_INVAL;
        }
        if (i < o->min || i > o->max) {
            snprintf(err, errlen,
                     "invalid value %s for %s: must be between %" PRId64 " and %" PRId64, v,
                     o->name, o->min, o->max);
            return ERR_INVAL;
        }
        *(int64_t *)field = i;
        return 0;
    }
    case CFG_BOOL:
        if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") ||
            !strcasecmp(v, "on"))
            *(bool *)field = true;
        else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
                 !strcasecmp(v, "off"))
            *(bool *)field = false;
        else {
            snprintf(err, errlen, "invalid value '%s' for %s: expected true or false", v, o->name);
            return ERR_INVAL;
        }
        return 0;
    }
    return ERR_INVAL;
}

int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errlen)
{
    const struct cfg_opt *o = find_opt(name, strlen(name));
    if (!o) {
        snprintf(err, errlen, "unknown option '%s' (see --help)", name);
        return ERR_INVAL;
    }
    return set_opt(c, o, value, err, errlen);
}

void cfg_defaults(struct cfg *c)
{
    memset(c, 0, sizeof(*c));
    char err[64];
    /* An INT option without a default is 0 until set: its user derives the value (and a person
     * cannot set 0, below every INT option's bounds that use this). */
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (opts[i].type != CFG_INT || *opts[i].def)
            set_opt(c, &opts[i], opts[i].def, err, sizeof(err));
}

void cfg_release(struct cfg *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
        if (opts[i].type == CFG_STR || opts[i].type == CFG_ENUM)
            free(*(char **)((char *)c + opts[i].offset));
    free(c->config_file);
    memset(c, 0, sizeof(*c));
}

static int load_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return ERR_INVAL;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        struct span s = span_trim(span_of(line));
        while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r'))
            s.len--;
        s = span_trim(s);
        if (s.len == 0 || s.p[0] == '#')
            continue;
        bool has_eq = memchr(s.p, '=', s.len) != NULL;
        struct span name = span_trim(span_split(&s, '='));
        struct span val = span_trim(s);
        const struct cfg_opt *o = find_opt(name.p, name.len);
        if (!has_eq) {
            snprintf(err, errlen, "%s:%d: expected `name = value`", path, lineno);
            rc = ERR_INVAL;
            break;
        }
        if (!o) {
            snprintf(err, errlen, "%s:%d: unknown option '%.*s'", path, lineno, (int)name.len,
                     name.p);
            rc = ERR_INVAL;
            break;
        }
        if (val.len >= 2 && val.p[0] == '"' && val.p[val.len - 1] == '"')
            val.p++, val.len -= 2;
        char *v = xstrndup(val.p, val.len);
        char e2[256];
        if ((rc = set_opt(c, o, v, e2, sizeof(e2))) < 0)
            snprintf(err, errlen, "%s:%d: %s", path, lineno, e2);
        free(v);
    }
    fclose(f);
    return rc;
}

static void env_name(const char *name, char *out, size_t len)
{
    size_t o = (size_t)snprintf(out, len, "PARLEY_");
    for (; *name && o + 1 < len; name++)
        out[o++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
    out[o] = '\0';
}

void cfg_usage(FILE *out)
{
    fprintf(
        out,
        "usage: parleyd [options]\n"
        "       parleyd nlp-eval --train FILE --test FILE [...]\n"
        "       parleyd senti-eval [--test FILE] [...]\n\n"
        "Parley, an online customer-service server. Options (each also as PARLEY_NAME in the\n"
        "environment and as `name = value` in the --config file; flags win over the environment,\n"
        "which wins over the file):\n\n");
    fprintf(out, "  --%-22s %s\n", "config FILE", "read options from FILE");
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        char env[64];
        env_name(opts[i].name, env, sizeof(env));
        fprintf(out, "  --%-22s %s\n  %-24s [env %s; default %s]\n", opts[i].name, opts[i].help, "",
                env,
                opts[i].secret && *opts[i].def ? "(hidden)"
                                               : (*opts[i].def              ? opts[i].def
                                                  : opts[i].type == CFG_INT ? "derived"
                                                                            : "none"));
    }
    fprintf(out, "  --%-22s %s\n  --%-22s %s\n", "help", "print this and exit", "version",
            "print the version and exit");
}

int cfg_load(struct cfg *c, int argc, char **argv, int first, char *err, size_t errlen)
{
    cfg_defaults(c);
    /* 1. find --config among the flags, else PARLEY_CONFIG */
    const char *file = getenv("PARLEY_CONFIG");
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cfg_usage(stdout);
            return 1;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("parleyd 0.1.0\n");
            return 1;
        }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--config needs a value");
                return ERR_INVAL;
            }
            file = argv[i + 1];
        } else if (!strncmp(argv[i], "--config=", 9))
            file = argv[i] + 9;
    }
    if (file && *file) {
        c->config_file = xstrdup(file);
        if (load_file(c, file, err, errlen) < 0)
            return ERR_INVAL;
    }
    /* 2. environment */
    for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
        char env[64];
        env_name(opts[i].name, env, sizeof(env));
        const char *v = getenv(env);
        if (v) {
            char e2[256];
            if (set_opt(c, &opts[i], v, e2, sizeof(e2)) < 0) {
                snprintf(err, errlen, "%s: %s", env, e2);
                return ERR_INVAL;
            }
        }
    }
    /* 3. flags */
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return ERR_INVAL;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const char *val;
        if (nlen == 6 && !strncmp(a, "config", 6)) {
            if (!eq)
                i++;
            continue;
        }
        const struct cfg_opt *o = find_opt(a, nlen);
        if (!o) {
            snprintf(err, errlen, "unknown option '--%.*s' (see --help)", (int)nlen, a);
            return ERR_INVAL;
        }
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else {
            snprintf(err, errlen, "--%s needs a value", o->name);
            return ERR_INVAL;
        }
        if (set_opt(c, o, val, err, errlen) < 0)
            return ERR_INVAL;
    }
    return 0;
}
