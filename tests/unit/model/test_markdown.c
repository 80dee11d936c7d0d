/* test_markdown.c: the help center's Markdown renderer (model/markdown.c): what it writes, and
 * the links it refuses. */
#include "base/sys.h"
#include "model/markdown.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static char *render(const char *md)
{
    static char out[4096];
    struct buf b;
    buf_init(&b, sizeof(out) - 1);
    assert_int_equal(markdown_html(md, strlen(md), &b), 0);
    memcpy(out, b.p ? b.p : "", b.len);
    out[b.len] = '\0';
    buf_release(&b);
    return out;
}

static void test_blocks_and_escaping(void **state)
{
    (void)state;
    assert_string_equal(render("# Hi <b>\n\ntext & \"more\""),
                        "<h1>Hi &lt;b&gt;</h1>\n<p>text &amp; &quot;more&quot;</p>\n");
    assert_string_equal(render("- a\n- **b**\n"),
                        "<ul>\n<li>a</li>\n<li><strong>b</strong></li>\n</ul>\n");
}

static void test_links(void **state)
{
    (void)state;
    assert_string_equal(render("[a](https://x.example/p?q=1&r=2)"),
                        "<p><a href=\"https://x.example/p?q=1&amp;r=2\" rel=\"noopener nofollow\">a"
                        "</a></p>\n");
    assert_string_equal(render("[a](/help/x)"),
                        "<p><a href=\"/help/x\" rel=\"noopener nofollow\">a</a></p>\n");
    /* Not links: other schemes, and paths a browser reads as another site ("//host", and "/\host"
     * or "/<tab>/host", since it reads '\' as '/' and drops tabs). */
    static const char *const text[] = {"[a](javascript:alert(1))", "[a](//evil.example)",
                                       "[a](/\\evil.example)",     "[a](/\t/evil.example)",
                                       "[a](/\r/evil.example)",    "[a](data:text/html,x)"};
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        if (strstr(render(text[i]), "<a "))
            fail_msg("%s became a link: %s", text[i], render(text[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_and_escaping),
        cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
