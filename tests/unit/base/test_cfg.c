/* test_cfg.c: the option table and its sources: defaults < config file < PARLEY_* env < flags
 * (base/cfg.c). */
#include "base/sys.h"
#include "base/cfg.h"

#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

extern char **environ;

/* Every test starts from an environment without PARLEY_* variables, so the machine's own settings
 * cannot leak in. */
static int clean_env(void **state)
{
    (void)state;
    for (;;) {
        char *found = NULL;
        for (char **e = environ; e && *e; e++)
            if (strncmp(*e, "PARLEY_", 7) == 0) {
                found = *e;
                break;
            }
        if (!found)
            return 0;
        char name[256];
        size_t n = strcspn(found, "=");
        snprintf(name, sizeof(name), "%.*s", (int)n, found);
        unsetenv(name);
    }
}

static char *write_file(const char *content)
{
    char *path = xstrdup("/tmp/parley-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(content);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
    return path;
}

static void drop_file(char *path)
{
    unlink(path);
    free(path);
}

/* cfg_load with the flags given as a NULL-terminated list (argv[0] is the program). */
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ARGS ((const char *const[]){NULL})

static int load(struct cfg *c, char *err, size_t errlen, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"parleyd";
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    err[0] = '\0';
    return cfg_load(c, argc, argv, 1, err, errlen);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void test_defaults(void **state)
{
    (void)state;
    struct cfg c;
    cfg_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.db, "sqlite");
    assert_string_equal(c.db_url, "");
    assert_string_equal(c.sync, "full");
    assert_int_equal(c.max_body, 1048576);
    assert_int_equal(c.store_queue, 4096);
    assert_int_equal(c.store_readers, 2);
    assert_int_equal(c.session_ttl, 604800);
    assert_false(c.cookie_secure);
    assert_null(c.config_file);
    /* No default: main derives it from the open-file limit; a person cannot ask for 0. */
    assert_int_equal(c.max_connections, 0);
    char e0[256];
    assert_int_equal(cfg_set(&c, "max-connections", "0", e0, sizeof(e0)), ERR_INVAL);
    assert_int_equal(c.max_connections, 0);
    assert_int_equal(cfg_set(&c, "max-connections", "1", e0, sizeof(e0)), 0);
    assert_int_equal(c.max_connections, 1);
    cfg_release(&c);

    /* cfg_load with nothing gives the same. */
    char err[256];
    assert_int_equal(load(&c, err, sizeof(err), NO_ARGS), 0);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_int_equal(c.max_body, 1048576);
    assert_null(c.config_file);
    cfg_release(&c);
}

static void test_set_int_bounds(void **state)
{
    (void)state;
    struct cfg c;
    cfg_defaults(&c);
    char err[256];
    assert_int_equal(cfg_set(&c, "max-body", "64", err, sizeof(err)), 0);
    assert_int_equal(c.max_body, 64);
    assert_int_equal(cfg_set(&c, "max-body", "1073741824", err, sizeof(err)), 0);
    assert_int_equal(c.max_body, 1073741824);

    static const char *bad[] = {"63",  "1073741825", "-1",   "abc", "",
                                "12k", " 100",       "100 ", "1e6", "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err[0] = '\0';
        assert_int_equal(cfg_set(&c, "max-body", bad[i], err, sizeof(err)), ERR_INVAL);
        assert_contains(err, "max-body");
        assert_int_equal(c.max_body, 1073741824); /* unchanged */
    }
    assert_int_equal(cfg_set(&c, "max-body", "63", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "between 64 and 1073741824");
    assert_int_equal(cfg_set(&c, "max-body", "abc", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "integer");
    /* Another option's own bounds. */
    assert_int_equal(cfg_set(&c, "store-readers", "0", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "store-readers");
    assert_int_equal(cfg_set(&c, "store-readers", "64", err, sizeof(err)), 0);
    assert_int_equal(c.store_readers, 64);
    assert_int_equal(cfg_set(&c, "shutdown-timeout", "0", err, sizeof(err)), 0);
    assert_int_equal(c.shutdown_timeout, 0);
    cfg_release(&c);
}

static void test_set_bool_str_enum(void **state)
{
    (void)state;
    struct cfg c;
    cfg_defaults(&c);
    char err[256];
    static const char *yes[] = {"true", "TRUE", "1", "yes", "On"};
    static const char *no[] = {"false", "False", "0", "no", "OFF"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        c.cookie_secure = false;
        assert_int_equal(cfg_set(&c, "cookie-secure", yes[i], err, sizeof(err)), 0);
        assert_true(c.cookie_secure);
    }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        c.cookie_secure = true;
        assert_int_equal(cfg_set(&c, "cookie-secure", no[i], err, sizeof(err)), 0);
        assert_false(c.cookie_secure);
    }
    c.cookie_secure = true;
    assert_int_equal(cfg_set(&c, "cookie-secure", "maybe", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "cookie-secure");
    assert_true(c.cookie_secure);
    assert_int_equal(cfg_set(&c, "cookie-secure", "", err, sizeof(err)), ERR_INVAL);

    /* Strings take anything, and replace the old value (ASan: the old one is freed). */
    assert_int_equal(cfg_set(&c, "listen", "0.0.0.0:0", err, sizeof(err)), 0);
    assert_string_equal(c.listen, "0.0.0.0:0");
    assert_int_equal(cfg_set(&c, "listen", "[::1]:80", err, sizeof(err)), 0);
    assert_string_equal(c.listen, "[::1]:80");

    /* Enums: each listed value, nothing else. */
    static const char *levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
        assert_int_equal(cfg_set(&c, "log-level", levels[i], err, sizeof(err)), 0);
        assert_string_equal(c.log_level, levels[i]);
    }
    static const char *bad_levels[] = {
        "verbose", "", "DEBUG", "inf", "infos", "error|warn", "error|warn|info|debug"};
    for (size_t i = 0; i < ARRAY_SIZE(bad_levels); i++) {
        err[0] = '\0';
        assert_int_equal(cfg_set(&c, "log-level", bad_levels[i], err, sizeof(err)), ERR_INVAL);
        assert_contains(err, "log-level");
        assert_string_equal(c.log_level, "debug");
    }
    assert_int_equal(cfg_set(&c, "log-level", "verbose", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "error|warn|info|debug");
    /* An enum whose help goes on after the choices: the help text is not a value. */
    assert_int_equal(cfg_set(&c, "db", "postgres", err, sizeof(err)), 0);
    assert_string_equal(c.db, "postgres");
    assert_int_equal(cfg_set(&c, "db", "mysql", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "db");
    assert_contains(err, "sqlite|postgres");
    assert_int_equal(cfg_set(&c, "db", "postgres: the store back end", err, sizeof(err)),
                     ERR_INVAL);
    assert_int_equal(cfg_set(&c, "sync", "normal", err, sizeof(err)), 0);
    assert_int_equal(
        cfg_set(&c, "sync", " SQLite durability (full fsyncs each commit)", err, sizeof(err)),
        ERR_INVAL);
    assert_string_equal(c.sync, "normal");

    /* Unknown names. */
    assert_int_equal(cfg_set(&c, "no-such-option", "1", err, sizeof(err)), ERR_INVAL);
    assert_contains(err, "no-such-option");
    assert_int_equal(cfg_set(&c, "max-bod", "100", err, sizeof(err)), ERR_INVAL);
    assert_int_equal(cfg_set(&c, "max-body-x", "100", err, sizeof(err)), ERR_INVAL);
    assert_int_equal(cfg_set(&c, "max_body", "100", err, sizeof(err)), ERR_INVAL);
    cfg_release(&c);
}

static void test_flags(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    assert_int_equal(load(&c, err, sizeof(err),
                          ARGS("--max-body", "5000", "--listen=0.0.0.0:9000", "--cookie-secure",
                               "true", "--log-level=debug", "--data-dir=/tmp/a=b")),
                     0);
    assert_int_equal(c.max_body, 5000);
    assert_string_equal(c.listen, "0.0.0.0:9000");
    assert_true(c.cookie_secure);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.data_dir, "/tmp/a=b"); /* only the first '=' separates */
    cfg_release(&c);

    /* A later flag wins over an earlier one. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--max-body", "5000", "--max-body=6000")), 0);
    assert_int_equal(c.max_body, 6000);
    cfg_release(&c);
    /* An empty value with the = form. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--admin-email=")), 0);
    assert_string_equal(c.admin_email, "");
    cfg_release(&c);
}

static void test_flag_errors(void **state)
{
    (void)state;
    struct cfg c;
    char err[256];
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--bogus", "1")), ERR_INVAL);
    assert_contains(err, "bogus");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--bogus=1")), ERR_INVAL);
    assert_contains(err, "bogus");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--listen", "x", "--max-body")), ERR_INVAL);
    assert_contains(err, "max-body");
    assert_contains(err, "needs a value");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--max-body", "12")), ERR_INVAL);
    assert_contains(err, "max-body");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--max-body=lots")), ERR_INVAL);
    assert_contains(err, "max-body");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("stray")), ERR_INVAL);
    assert_contains(err, "stray");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("-x")), ERR_INVAL);
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--log-level", "loud")), ERR_INVAL);
    assert_contains(err, "log-level");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config")), ERR_INVAL);
    assert_contains(err, "config");
    cfg_release(&c);
    /* --version prints and asks the caller to exit 0. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--version")), 1);
    cfg_release(&c);
}

static void test_file(void **state)
{
    (void)state;
    char *path = write_file("# Parley configuration\n"
                            "\n"
                            "   # an indented comment\n"
                            "listen = 0.0.0.0:7000\n"
                            "max-body=2048\r\n"
                            "\tdata-dir\t=\t\"/srv/parley data\"  \n"
                            "log-level = \"warn\"\n"
                            "cookie-secure = yes\n"
                            "db-url = \"host=db user=parley\"\n"
                            "admin-email =\n");
    struct cfg c;
    char err[512];
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), 0);
    assert_string_equal(c.listen, "0.0.0.0:7000");
    assert_int_equal(c.max_body, 2048);
    assert_string_equal(c.data_dir, "/srv/parley data");
    assert_string_equal(c.log_level, "warn");
    assert_true(c.cookie_secure);
    assert_string_equal(c.db_url, "host=db user=parley");
    assert_string_equal(c.admin_email, "");
    assert_non_null(c.config_file);
    assert_string_equal(c.config_file, path);
    /* Options the file does not mention keep their defaults. */
    assert_int_equal(c.store_queue, 4096);
    cfg_release(&c);

    /* --config=FILE and PARLEY_CONFIG find it too. */
    char flag[512];
    snprintf(flag, sizeof(flag), "--config=%s", path);
    assert_int_equal(load(&c, err, sizeof(err), ARGS(flag)), 0);
    assert_int_equal(c.max_body, 2048);
    cfg_release(&c);
    setenv("PARLEY_CONFIG", path, 1);
    assert_int_equal(load(&c, err, sizeof(err), NO_ARGS), 0);
    assert_int_equal(c.max_body, 2048);
    assert_string_equal(c.listen, "0.0.0.0:7000");
    cfg_release(&c);
    unsetenv("PARLEY_CONFIG");
    drop_file(path);
}

static void test_file_errors(void **state)
{
    (void)state;
    struct cfg c;
    char err[512];
    char expect[600];

    char *path = write_file("# ok\nlisten = 1.2.3.4:5\njust some words\nmax-body = 100\n");
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), ERR_INVAL);
    snprintf(expect, sizeof(expect), "%s:3", path); /* file and line of the bad line */
    assert_contains(err, expect);
    cfg_release(&c);
    drop_file(path);

    path = write_file("listen = 1.2.3.4:5\nmax-bodies = 100\n");
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), ERR_INVAL);
    snprintf(expect, sizeof(expect), "%s:2", path);
    assert_contains(err, expect);
    assert_contains(err, "max-bodies");
    cfg_release(&c);
    drop_file(path);

    path = write_file("max-body = 10\n");
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), ERR_INVAL);
    snprintf(expect, sizeof(expect), "%s:1", path);
    assert_contains(err, expect);
    assert_contains(err, "max-body");
    cfg_release(&c);
    drop_file(path);

    path = write_file("log-level = chatty\n");
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), ERR_INVAL);
    assert_contains(err, "log-level");
    cfg_release(&c);
    drop_file(path);

    /* A file that does not exist. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", "/nonexistent/parley.conf")),
                     ERR_INVAL);
    assert_contains(err, "/nonexistent/parley.conf");
    cfg_release(&c);
}

static void test_precedence(void **state)
{
    (void)state;
    char *path = write_file("max-body = 1000\nlisten = 10.0.0.1:1\nstore-batch = 7\n");
    struct cfg c;
    char err[512];

    /* File over defaults. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), 0);
    assert_int_equal(c.max_body, 1000);
    cfg_release(&c);

    /* Environment over file. */
    setenv("PARLEY_MAX_BODY", "2000", 1);
    setenv("PARLEY_DATA_DIR", "/env/dir", 1);
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--config", path)), 0);
    assert_int_equal(c.max_body, 2000);
    assert_string_equal(c.data_dir, "/env/dir");
    assert_string_equal(c.listen, "10.0.0.1:1"); /* the file's, not overridden */
    assert_int_equal(c.store_batch, 7);
    cfg_release(&c);

    /* Flags over environment, in either position relative to --config. */
    assert_int_equal(load(&c, err, sizeof(err), ARGS("--max-body", "3000", "--config", path)), 0);
    assert_int_equal(c.max_body, 3000);
    assert_string_equal(c.data_dir, "/env/dir");
    assert_string_equal(c.listen, "10.0.0.1:1");
    cfg_release(&c);
    assert_int_equal(load(&c, err, sizeof(err),
                          ARGS("--config", path, "--max-body=4000", "--data-dir", "/flag")),
                     0);
    assert_int_equal(c.max_body, 4000);
    assert_string_equal(c.data_dir, "/flag");
    cfg_release(&c);

    /* A bad environment value is an error naming the variable. */
    setenv("PARLEY_MAX_BODY", "huge", 1);
    assert_int_equal(load(&c, err, sizeof(err), NO_ARGS), ERR_INVAL);
    assert_contains(err, "PARLEY_MAX_BODY");
    assert_contains(err, "max-body");
    cfg_release(&c);
    setenv("PARLEY_MAX_BODY", "5", 1);
    assert_int_equal(load(&c, err, sizeof(err), NO_ARGS), ERR_INVAL);
    assert_contains(err, "PARLEY_MAX_BODY");
    cfg_release(&c);
    unsetenv("PARLEY_MAX_BODY");
    unsetenv("PARLEY_DATA_DIR");

    /* Environment names: dashes become underscores. */
    setenv("PARLEY_COOKIE_SECURE", "on", 1);
    setenv("PARLEY_LOG_LEVEL", "error", 1);
    assert_int_equal(load(&c, err, sizeof(err), NO_ARGS), 0);
    assert_true(c.cookie_secure);
    assert_string_equal(c.log_level, "error");
    cfg_release(&c);
    unsetenv("PARLEY_COOKIE_SECURE");
    unsetenv("PARLEY_LOG_LEVEL");
    drop_file(path);
}

static void test_usage(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cfg_usage(f);
    fclose(f);
    /* Every option is listed with its environment variable. */
    assert_contains(buf, "--max-body");
    assert_contains(buf, "PARLEY_MAX_BODY");
    assert_contains(buf, "--data-dir");
    assert_contains(buf, "PARLEY_DATA_DIR");
    assert_contains(buf, "--admin-password");
    assert_contains(buf, "1048576");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_set_int_bounds, clean_env),
        cmocka_unit_test_setup(test_set_bool_str_enum, clean_env),
        cmocka_unit_test_setup(test_flags, clean_env),
        cmocka_unit_test_setup(test_flag_errors, clean_env),
        cmocka_unit_test_setup(test_file, clean_env),
        cmocka_unit_test_setup(test_file_errors, clean_env),
        cmocka_unit_test_setup(test_precedence, clean_env),
        cmocka_unit_test_setup(test_usage, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
