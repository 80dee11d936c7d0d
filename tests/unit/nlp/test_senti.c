/* test_senti.c: the product's sentiment model (nlp/senti.c): the embedded seed set loads, trains
 * and gives the same model byte for byte every time; clear Chinese and English messages get the
 * right sign; an account's corrections change how a similar message scores (and nothing it did not
 * touch), with a cross-validated accuracy once there are ten; long texts are scored on their
 * opening and close; without a model the score is the lexicon's. */
#include "base/sys.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "nlp/senti.h"
#include "nlp/sentiment.h"

static struct nlp_data seed;
static struct senti_model *base;

static int setup(void **state)
{
    (void)state;
    nlp_data_init(&seed);
    if (senti_seed(&seed) < 1000)
        return -1;
    return senti_train(&seed, NULL, NULL, &base);
}

static int teardown(void **state)
{
    (void)state;
    senti_free(base);
    nlp_data_release(&seed);
    return 0;
}

static double score(const struct senti_model *m, const char *text)
{
    struct feat_buf fb;
    feat_buf_init(&fb);
    double s = senti_score(m, &fb, text, strlen(text));
    feat_buf_release(&fb);
    assert_true(s >= -1 && s <= 1);
    return s;
}

static void test_seed(void **state)
{
    (void)state;
    /* three balanced classes, both languages */
    assert_int_equal(seed.nclass, 3);
    size_t per[3] = {0}, zh = 0;
    for (size_t i = 0; i < seed.n; i++) {
        per[seed.label[i]]++;
        zh += (unsigned char)seed.text[i][0] >= 0xE0;
    }
    for (int c = 0; c < 3; c++)
        assert_true(per[c] > seed.n / 4);
    assert_true(zh > seed.n / 3 && zh < 2 * seed.n / 3);
    assert_int_equal(base->m->nclass, 3);
    assert_int_equal(base->examples, seed.n);
    assert_int_equal(base->tenant_examples, 0);
    assert_true(isnan(base->cv));
    assert_true(base->m->temp > 0 && base->m->temp < 1); /* calibrated: sharper than raw scores */
    for (int c = 0; c < SENTI_NCLASS; c++)
        assert_string_equal(base->m->labels[base->cls[c]], senti_labels[c]);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct senti_model *again = NULL;
    assert_int_equal(senti_train(&seed, NULL, NULL, &again), 0);
    struct buf a, b;
    buf_init(&a, 1 << 26);
    buf_init(&b, 1 << 26);
    assert_int_equal(nlp_model_save(base->m, &a), 0);
    assert_int_equal(nlp_model_save(again->m, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    assert_true(score(base, "等了三天还没发货") == score(again, "等了三天还没发货"));
    buf_release(&a);
    buf_release(&b);
    senti_free(again);
}

static void test_signs(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *label;
    } cases[] = {
        {"太差了，再也不买了", "negative"},
        {"等了三天还没发货", "negative"},
        {"不太满意", "negative"},
        {"谢谢你们，问题解决了", "positive"},
        {"非常满意，客服很耐心", "positive"},
        {"请问怎么退货", "neutral"},
        {"我想查一下订单", "neutral"},
        {"this is the third time I'm asking", "negative"},
        {"Not happy at all", "negative"},
        {"Thanks, that fixed it", "positive"},
        {"how do I reset my password", "neutral"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        double s = score(base, cases[i].text);
        if (strcmp(sentiment_label(s), cases[i].label) != 0)
            fail_msg("%s: %.3f is %s, want %s", cases[i].text, s, sentiment_label(s),
                     cases[i].label);
    }
    /* no model: the lexicon alone */
    const char *t = "非常满意，谢谢！";
    assert_true(score(NULL, t) == sentiment_score(t, strlen(t)));
}

static void test_tenant(void **state)
{
    (void)state;
    /* a game's players: an orange card is the best draw; the seed has never seen one */
    static const char *const praise[] = {"又抽到橙卡了", "十连抽出了两张橙卡", "终于出橙卡了",
                                         "今天第一抽就是橙卡", "橙卡到手"};
    static const char *const plain[] = {"我的账号是12345", "请问活动什么时候开始", "怎么绑定手机号",
                                        "客服在吗", "充值入口在哪里"};
    struct nlp_data t;
    nlp_data_init(&t);
    for (size_t i = 0; i < ARRAY_SIZE(praise); i++)
        nlp_data_add(&t, praise[i], strlen(praise[i]), "positive", 8);
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
        nlp_data_add(&t, plain[i], strlen(plain[i]), "neutral", 7);
    struct senti_opts o = {.base = base};
    struct senti_model *m = NULL;
    assert_int_equal(senti_train(&seed, &t, &o, &m), 0);
    assert_int_equal(m->tenant_examples, 10);
    assert_int_equal(m->examples, seed.n + 10);
    assert_true(m->cv >= 0 && m->cv <= 1);
    assert_true(m->base_accuracy >= 0 && m->base_accuracy <= 1);
    assert_true(m->m->temp == base->m->temp);
    const char *probe = "我抽到橙卡了";
    double before = score(base, probe), after = score(m, probe);
    if (strcmp(sentiment_label(after), "positive") != 0 || after <= before)
        fail_msg("%s: %.3f with the seed model, %.3f with the corrections", probe, before, after);
    /* what the corrections did not touch keeps its score */
    const char *other[] = {"太差了，再也不买了", "谢谢你们，问题解决了",
                           "how do I reset my password"};
    for (size_t i = 0; i < ARRAY_SIZE(other); i++)
        assert_true(fabs(score(m, other[i]) - score(base, other[i])) < 0.05);
    senti_free(m);

    /* a label the product does not know is refused */
    nlp_data_add(&t, "x", 1, "angry", 5);
    m = NULL;
    assert_int_equal(senti_train(&seed, &t, &o, &m), ERR_INVAL);
    assert_null(m);
    nlp_data_release(&t);
}

static void test_long_text(void **state)
{
    (void)state;
    /* 20 KB of filler between an angry opening and an angry close, multi-byte characters across
     * both cuts: scored on the opening and the close, as negative, and no byte past the buffer */
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_append_str(&b, "太差了，我要投诉！");
    while (b.len < 20000)
        buf_append_str(&b, "我上周在店里买了东西，今天又打电话问了一次。");
    buf_append_str(&b, "非常失望，再也不买了");
    double s = score(base, b.p);
    assert_string_equal(sentiment_label(s), "negative");
    for (size_t cut = SENTI_TEXT_MAX - 3; cut < SENTI_TEXT_MAX + 5; cut++)
        (void)score(base, b.p + b.len - cut); /* every alignment of the cuts */
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed),      cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_signs),     cmocka_unit_test(test_tenant),
        cmocka_unit_test(test_long_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
