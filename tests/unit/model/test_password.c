/* test_password.c: the strength check for new passwords (model/password.c). */
#include "base/sys.h"
#include "model/password.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void expect_weak(const char *pw, const char *email, const char *name, const char *why)
{
    const char *msg = password_check(pw, email, name);
    if (!msg)
        fail_msg("'%s' was accepted", pw);
    if (why && !strstr(msg, why))
        fail_msg("'%s': expected a reason with '%s', got '%s'", pw, why, msg);
}

static void expect_ok(const char *pw, const char *email, const char *name)
{
    const char *msg = password_check(pw, email, name);
    if (msg)
        fail_msg("'%s' was refused: %s", pw, msg);
}

static void test_review_cases(void **state)
{
    (void)state;
    /* the outside review's examples */
    expect_weak("password", NULL, NULL, "at least 10");
    expect_weak("12345678", NULL, NULL, "at least 10");
    expect_weak("        ", NULL, NULL, "at least 10");
    expect_weak("          ", NULL, NULL, "repeats");
}

static void test_length(void **state)
{
    (void)state;
    expect_weak("", NULL, NULL, "at least 10");
    expect_weak("tq8#mzr2v", NULL, NULL, "at least 10"); /* 9 */
    expect_ok("tq8#mzr2vk", NULL, NULL);                 /* 10 */
    char pw[1024];
    for (int i = 0; i < 201; i++)
        pw[i] = "abcdefghij"[i % 7 + (i / 7) % 3];
    pw[201] = '\0';
    expect_weak(pw, NULL, NULL, "at most 200");
    /* ten CJK characters count as ten */
    expect_ok("\xE6\x88\x91\xE7\x9A\x84\xE7\x8C\xAB\xE5\x96\x9C\xE6\xAC\xA2\xE5\x90\x83"
              "\xE9\xB1\xBC\xE5\x92\x8C\xE7\xB1\xB3\xE9\xA5\xAD",
              NULL, NULL); /* 我的猫喜欢吃鱼和米饭 */
    expect_weak("\xff\xfe-not-utf8-at-all", NULL, NULL, "UTF-8");
}

static void test_common(void **state)
{
    (void)state;
    expect_weak("1234567890", NULL, NULL, NULL);
    expect_weak("qwertyuiop", NULL, NULL, NULL);
    expect_weak("iloveyou12", NULL, NULL, "common");
    expect_weak("Password2024!", NULL, NULL, "common");
    expect_weak("P@ssw0rd123", NULL, NULL, "common");
    expect_weak("password-123", NULL, NULL, "common");
    expect_weak("Welcome@2025", NULL, NULL, "common");
    expect_weak("woaini1314520", NULL, NULL, "common");
    expect_weak("5201314520", NULL, NULL, "common");
    expect_weak("Admin@123456", NULL, NULL, "common");
    expect_weak("!!Football!!", NULL, NULL, "common");
    expect_weak("1qaz2wsx3edc", NULL, NULL, NULL);
    expect_weak("abc12abc12", NULL, NULL, "repeats");
    expect_weak("zyxwvutsrqp", NULL, NULL, "sequence"); /* reversed */
    expect_weak("0987654321", NULL, NULL, NULL);
    /* common words inside a longer phrase are fine */
    expect_ok("password manager for the shop", NULL, NULL);
    expect_ok("admin-password-123", NULL, NULL);
    expect_ok("correct horse battery staple", NULL, NULL);
    expect_ok("Tr0ub4dor&3-x", NULL, NULL);
}

static void test_person(void **state)
{
    (void)state;
    expect_weak("ann.lee@example.com", "ann.lee@example.com", "Ann Lee", "e-mail");
    expect_weak("Ann.Lee2024", "ann.lee@example.com", NULL, "e-mail");
    expect_weak("AnnLee12345", "someone@example.com", "Ann Lee", "name");
    expect_ok("ann lee's shop 2024", "ann.lee@example.com", "Ann Lee");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_review_cases),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_common),
        cmocka_unit_test(test_person),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
