/* test_nlp.c: the NLP engine (nlp/feat.c, model.c, bm25.c, sentiment.c) and the pure parts of the
 * bot and the help center (model/bot.c, model/markdown.c): tokens for English and Chinese,
 * training that is deterministic (same data, same bytes; any thread count), save/load, calibration
 * and the out-of-scope threshold, BM25 ranking, sentiment with negation, business hours, and HTML
 * that never lets markup through. */
#include "base/sys.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "model/bot.h"
#include "model/markdown.h"
#include "nlp/bm25.h"
#include "nlp/feat.h"
#include "nlp/model.h"
#include "nlp/sentiment.h"

static const char *tok(struct feat_buf *fb, size_t i)
{
    return fb->norm + fb->tok[i];
}

static void test_tokens(void **state)
{
    (void)state;
    struct feat_buf fb;
    feat_buf_init(&fb);
    const char *t = "I can't find my CARD’s PIN, it's 1234!";
    size_t n = feat_tokens(&fb, t, strlen(t));
    const char *want[] = {"i", "ca", "not", "find", "my", "card", "s", "pin", "it", "s", "1234"};
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(tok(&fb, i), want[i]);
    /* the stem sits after the raw token; digits fold to 0 */
    assert_string_equal(tok(&fb, 10) + strlen(tok(&fb, 10)) + 1, "0");
    const char *z = "退款，ＡＢＣ订单123";
    n = feat_tokens(&fb, z, strlen(z));
    assert_int_equal(n, 6);
    assert_string_equal(tok(&fb, 0), "退");
    assert_true(fb.cjk[0] && fb.cjk[1]);
    assert_string_equal(tok(&fb, 2), "abc"); /* full-width folded */
    assert_false(fb.cjk[2]);
    assert_string_equal(tok(&fb, 5), "123");
    /* invalid UTF-8 and a truncated sequence separate tokens and never read past the end */
    const char bad[] = {'a', (char)0xff, 'b', (char)0xe4, (char)0xb8};
    n = feat_tokens(&fb, bad, sizeof(bad));
    assert_int_equal(n, 2);
    assert_int_equal(feat_extract(&fb, "", 0), 0);
    char w[] = "charges";
    assert_int_equal(feat_stem(w, 7), 5);
    feat_buf_release(&fb);
}

/* A small two-language data set with three intents. */
static void fill(struct nlp_data *d)
{
    static const char *const rows[][2] = {
        {"card", "my card has not arrived"},
        {"card", "where is my new card"},
        {"card", "card still not delivered"},
        {"card", "when will the card arrive"},
        {"card", "卡还没有寄到"},
        {"card", "我的新卡什么时候到"},
        {"refund", "I want my money back"},
        {"refund", "please refund the order"},
        {"refund", "how do I get a refund"},
        {"refund", "refund my purchase"},
        {"refund", "我要退款"},
        {"refund", "怎么申请退款"},
        {"password", "I forgot my password"},
        {"password", "reset my password"},
        {"password", "cannot log in, lost password"},
        {"password", "change the password"},
        {"password", "忘记密码了"},
        {"password", "密码怎么重置"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        nlp_data_add(d, rows[i][1], strlen(rows[i][1]), rows[i][0], strlen(rows[i][0]));
}

/* Fails unless a and b serialise to the same bytes. */
static void assert_same_model(const struct nlp_model *a, const struct nlp_model *b)
{
    struct buf ba, bb;
    buf_init(&ba, 1 << 26);
    buf_init(&bb, 1 << 26);
    assert_int_equal(nlp_model_save(a, &ba), 0);
    assert_int_equal(nlp_model_save(b, &bb), 0);
    assert_int_equal(ba.len, bb.len);
    assert_memory_equal(ba.p, bb.p, ba.len);
    buf_release(&ba);
    buf_release(&bb);
}

static void test_train_predict_deterministic(void **state)
{
    (void)state;
    struct nlp_data d;
    nlp_data_init(&d);
    fill(&d);
    struct nlp_opts o1 = {.threads = 1, .seed = 7}, o2 = {.threads = 3, .seed = 7};
    struct nlp_model *a = NULL, *b = NULL;
    assert_int_equal(nlp_train(&d, &o1, &a), 0);
    assert_int_equal(nlp_train(&d, &o2, &b), 0);
    assert_same_model(a, b); /* same data, same model, whatever the threads */
    struct buf ba;
    buf_init(&ba, 1 << 26);
    assert_int_equal(nlp_model_save(a, &ba), 0);

    struct feat_buf fb;
    feat_buf_init(&fb);
    float p;
    int c = nlp_predict(a, &fb, "my card did not arrive yet", 26, NULL, &p);
    assert_string_equal(a->labels[c], "card");
    c = nlp_predict(a, &fb, "退款怎么申请", strlen("退款怎么申请"), NULL, &p);
    assert_string_equal(a->labels[c], "refund");
    /* nothing known: -1 from the scores, probability 0 */
    float sc[3];
    assert_int_equal(nlp_scores(a, &fb, "zzzz qqqq", 9, sc), -1);
    nlp_predict(a, &fb, "zzzz qqqq", 9, NULL, &p);
    assert_true(p == 0);

    /* load gives back the same predictions */
    struct nlp_model *l = NULL;
    assert_int_equal(nlp_model_load(ba.p, ba.len, &l), 0);
    float pa[3], pl[3];
    nlp_predict(a, &fb, "forgot password", 15, pa, &p);
    nlp_predict(l, &fb, "forgot password", 15, pl, &p);
    assert_memory_equal(pa, pl, sizeof(pa));
    /* a damaged blob is refused, not read past its end */
    assert_int_equal(nlp_model_load(ba.p, ba.len - 1, &l) < 0, 1);
    assert_int_equal(nlp_model_load("PNLP", 4, &l) < 0, 1);
    nlp_model_free(l);

    /* calibration: a held-out set with out-of-scope rows sets a threshold above their scores */
    struct nlp_data held;
    nlp_data_init(&held);
    nlp_data_add(&held, "the card never came", 19, "card", 4);
    nlp_data_add(&held, "refund please", 13, "refund", 6);
    nlp_data_add(&held, "what is the weather like", 24, "oos", 3);
    nlp_data_add(&held, "tell me a joke", 14, "oos", 3);
    assert_int_equal(nlp_calibrate(a, &held, "oos", 0), 0);
    assert_true(a->temp > 0);
    float t2;
    nlp_predict(a, &fb, "tell me a joke", 14, NULL, &t2);
    assert_true(t2 < a->threshold);

    /* fewer than two classes is refused */
    struct nlp_data one;
    nlp_data_init(&one);
    nlp_data_add(&one, "x", 1, "a", 1);
    struct nlp_model *m1 = NULL;
    assert_int_equal(nlp_train(&one, &o1, &m1) < 0, 1);

    feat_buf_release(&fb);
    nlp_data_release(&one);
    nlp_data_release(&held);
    buf_release(&ba);
    nlp_model_free(a);
    nlp_model_free(b);
    nlp_data_release(&d);
}

/* The held-out refit: the model is the one trained without it, held rows get scores from machines
 * that never saw them (less sure of their own class than the full model), other rows are left. */
static void test_held_out(void **state)
{
    (void)state;
    struct nlp_data d;
    nlp_data_init(&d);
    fill(&d);
    bool hold[18];
    float ho[18 * 3];
    for (size_t i = 0; i < d.n; i++) {
        hold[i] = i % 3 == 1;
        for (int c = 0; c < 3; c++)
            ho[i * 3 + (size_t)c] = NAN;
    }
    struct nlp_opts o = {.seed = 5}, oh = {.seed = 5, .hold = hold, .held_out = ho};
    struct nlp_model *a = NULL, *b = NULL;
    assert_int_equal(nlp_train(&d, &o, &a), 0);
    assert_int_equal(nlp_train(&d, &oh, &b), 0);
    assert_same_model(a, b); /* the refit changes nothing in the model */

    struct feat_buf fb;
    feat_buf_init(&fb);
    double in_margin = 0, out_margin = 0;
    for (size_t i = 0; i < d.n; i++) {
        if (!hold[i]) {
            assert_true(isnan(ho[i * 3]));
            continue;
        }
        float sc[3];
        size_t np = a->npair;
        a->npair = 0; /* the one-vs-rest scores, as held_out has them */
        nlp_scores(a, &fb, d.text[i], d.len[i], sc);
        a->npair = np;
        int y = d.label[i];
        float o_in = -INFINITY, o_out = -INFINITY;
        for (int c = 0; c < 3; c++) {
            assert_false(isnan(ho[i * 3 + (size_t)c]));
            if (c != y) {
                o_in = sc[c] > o_in ? sc[c] : o_in;
                o_out = ho[i * 3 + (size_t)c] > o_out ? ho[i * 3 + (size_t)c] : o_out;
            }
        }
        in_margin += sc[y] - o_in;
        out_margin += ho[i * 3 + (size_t)y] - o_out;
    }
    assert_true(out_margin < in_margin - 0.1);

    /* calibrating from the held scores sets a temperature */
    int truth[6];
    float packed[6 * 3];
    size_t k = 0;
    for (size_t i = 0; i < d.n; i++)
        if (hold[i]) {
            memcpy(packed + k * 3, ho + i * 3, 3 * sizeof(float));
            truth[k++] = d.label[i];
        }
    assert_int_equal(k, 6);
    nlp_calibrate_scores(b, packed, truth, k, 0.2);
    assert_true(b->temp > 0.01f && b->temp < 5.0f && b->threshold > 0);

    feat_buf_release(&fb);
    nlp_model_free(a);
    nlp_model_free(b);
    nlp_data_release(&d);
}

/* An intent's name as an example: separators become spaces, names without letters say nothing,
 * and a cut never splits a character. */
static void test_name_example(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(nlp_name_example("card_arrival", out, sizeof(out)), 12);
    assert_string_equal(out, "card arrival");
    assert_int_equal(nlp_name_example("top-up-failed", out, sizeof(out)), 13);
    assert_string_equal(out, "top up failed");
    assert_int_equal(nlp_name_example("退款进度", out, sizeof(out)), 12);
    assert_string_equal(out, "退款进度");
    assert_int_equal(nlp_name_example("42", out, sizeof(out)), 0);
    assert_int_equal(nlp_name_example("_-_", out, sizeof(out)), 0);
    assert_int_equal(nlp_name_example("", out, sizeof(out)), 0);
    /* 16 bytes hold 15: five 3-byte characters fit, the sixth is left out whole */
    assert_int_equal(nlp_name_example("我要查询退款进度", out, sizeof(out)), 15);
    assert_string_equal(out, "我要查询退");
    char tiny[4];
    assert_int_equal(nlp_name_example("退款", tiny, sizeof(tiny)), 3);
    assert_string_equal(tiny, "退");
    assert_int_equal(nlp_name_example("abc", out, 0), 0);
}

/* The pairwise machines: trained for confused pairs, voting on the order of the two best classes
 * only, kept by save and load; a version 1 blob (none) still loads. */
static void test_pairs(void **state)
{
    (void)state;
    struct nlp_data d;
    nlp_data_init(&d);
    fill(&d);
    struct nlp_opts o = {.seed = 3};
    struct nlp_model *m = NULL;
    assert_int_equal(nlp_train(&d, &o, &m), 0);
    assert_true(m->npair > 0 && m->npair <= 3);
    assert_true(m->poff[m->npair] > 0);
    for (size_t k = 0; k < m->npair; k++)
        assert_true(m->pa[k] < m->pb[k]);

    /* the vote decides between the two best: a pair pushed hard one way wins that way */
    struct feat_buf fb;
    feat_buf_init(&fb);
    float sc[3], raw[3];
    const char *text = "card refund";
    int best = nlp_scores(m, &fb, text, strlen(text), sc);
    assert_true(best >= 0);
    size_t np = m->npair;
    m->npair = 0; /* the one-vs-rest scores alone */
    nlp_scores(m, &fb, text, strlen(text), raw);
    m->npair = np;
    int top = 0, second = -1;
    for (int c = 1; c < 3; c++)
        if (raw[c] > raw[top])
            top = c;
    for (int c = 0; c < 3; c++)
        if (c != top && (second < 0 || raw[c] > raw[second]))
            second = c;
    size_t k = 0;
    uint32_t a = (uint32_t)(top < second ? top : second),
             b = (uint32_t)(top < second ? second : top);
    while (k < m->npair && !(m->pa[k] == a && m->pb[k] == b))
        k++;
    assert_true(k < m->npair); /* card and refund are confused in training: they have a pair */
    float keep = m->pbias[k];
    m->pbias[k] = top == (int)a ? -100.0f : 100.0f; /* the pair now says "second" */
    assert_int_equal(nlp_scores(m, &fb, text, strlen(text), sc), second);
    /* the scores keep their values; the winner takes the higher one */
    assert_true(sc[second] == raw[top] && sc[top] == raw[second]);
    m->pbias[k] = keep;

    /* save and load keep the pairs */
    struct buf bl;
    buf_init(&bl, 1 << 26);
    assert_int_equal(nlp_model_save(m, &bl), 0);
    struct nlp_model *l = NULL;
    assert_int_equal(nlp_model_load(bl.p, bl.len, &l), 0);
    assert_int_equal(l->npair, m->npair);
    assert_int_equal(l->poff[l->npair], m->poff[m->npair]);
    float pm[3], pl[3], p;
    nlp_predict(m, &fb, "where is my refund card", 23, pm, &p);
    nlp_predict(l, &fb, "where is my refund card", 23, pl, &p);
    assert_memory_equal(pm, pl, sizeof(pm));
    nlp_model_free(l);
    /* a pair naming a class out of range is refused */
    struct buf bad;
    buf_init(&bad, 1 << 26);
    buf_append(&bad, bl.p, bl.len);
    size_t first = bl.len - (size_t)m->poff[m->npair] * 8 - m->npair * 20; /* pa of pair 0 */
    uint32_t big = 7;
    memcpy(bad.p + first + 4, &big, 4);
    assert_true(nlp_model_load(bad.p, bad.len, &l) < 0);
    buf_release(&bad);
    buf_release(&bl);

    /* a model without pairs, written as version 1, loads and predicts the same */
    struct nlp_opts o1 = {.seed = 3, .pair_c = -1};
    struct nlp_model *v = NULL;
    assert_int_equal(nlp_train(&d, &o1, &v), 0);
    assert_int_equal(v->npair, 0);
    buf_init(&bl, 1 << 26);
    assert_int_equal(nlp_model_save(v, &bl), 0);
    uint32_t one = 1;
    memcpy(bl.p + 4, &one, 4);
    assert_int_equal(nlp_model_load(bl.p, bl.len - 20, &l), 0);
    nlp_predict(v, &fb, "forgot password", 15, pm, &p);
    nlp_predict(l, &fb, "forgot password", 15, pl, &p);
    assert_memory_equal(pm, pl, sizeof(pm));
    nlp_model_free(l);
    buf_release(&bl);
    nlp_model_free(v);
    nlp_model_free(m);
    feat_buf_release(&fb);
    nlp_data_release(&d);
}

static void test_bm25(void **state)
{
    (void)state;
    struct bm25 b;
    bm25_init(&b);
    struct feat_buf fb;
    feat_buf_init(&fb);
    const char *docs[] = {"How to reset your password", "Shipping times and tracking your parcel",
                          "退款流程：申请退款后三个工作日到账", "Refunds and returns policy"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(bm25_add(&b, &fb, docs[i], strlen(docs[i])), i);
    struct bm25_hit h[4];
    size_t n = bm25_search(&b, &fb, "track my parcel", 15, h, 4);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].doc, 1);
    n = bm25_search(&b, &fb, "怎么退款", strlen("怎么退款"), h, 4);
    assert_true(n >= 1);
    assert_int_equal(h[0].doc, 2);
    n = bm25_search(&b, &fb, "refunds", 7, h, 4);
    assert_int_equal(h[0].doc, 3);
    assert_int_equal(bm25_search(&b, &fb, "zebra", 5, h, 4), 0);
    feat_buf_release(&fb);
    bm25_release(&b);
}

static void test_sentiment(void **state)
{
    (void)state;
    struct {
        const char *text;
        const char *label;
    } cases[] = {
        {"非常满意，客服很耐心，谢谢！", "positive"},
        {"太差了，我要投诉", "negative"},
        {"不满意", "negative"},
        {"没有问题了，谢谢", "positive"},
        {"我的订单号是123", "neutral"},
        {"This is terrible, I am very angry!!", "negative"},
        {"not happy with this at all", "negative"},
        {"Thanks, that was really helpful", "positive"},
        {"where is my parcel", "neutral"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double s = sentiment_score(cases[i].text, strlen(cases[i].text));
        assert_true(s > -1 && s < 1);
        if (strcmp(sentiment_label(s), cases[i].label) != 0)
            fail_msg("%s: %.3f is %s, want %s", cases[i].text, s, sentiment_label(s),
                     cases[i].label);
    }
}

static void test_bot_settings(void **state)
{
    (void)state;
    struct bot_settings s;
    bot_settings_default(&s);
    assert_int_equal(s.mode, BOT_OFF);
    /* Monday 2026-11-23 10:00 in UTC+8 is 02:00 UTC */
    int64_t mon10 = 1795399200000LL;
    s.utc_offset_min = 480;
    assert_true(bot_in_hours(&s, mon10));
    assert_false(bot_in_hours(&s, mon10 + 9LL * 3600000));  /* 19:00 */
    assert_false(bot_in_hours(&s, mon10 + 5LL * 86400000)); /* Saturday */
    s.mode = BOT_OUTSIDE_HOURS;
    assert_false(bot_active(&s, mon10));
    assert_true(bot_active(&s, mon10 + 9LL * 3600000));
    assert_true(bot_handoff_word(&s, "我要转人工"));
    assert_true(bot_handoff_word(&s, "Can I talk to an AGENT?"));
    assert_false(bot_handoff_word(&s, "what is on the agenda"));
    struct jfail f = {0};
    json_t *v = json_loads("{\"hours\":{\"days\":{\"mon\":[[\"09:00\",\"24:00\"]]}}}", 0, NULL);
    assert_int_equal(bot_settings_parse(v, &s, &f), 0);
    json_decref(v);
    v = json_loads("{\"hours\":{\"days\":{\"mon\":[[\"9:00\",\"18:00\"]]}}}", 0, NULL);
    struct bot_settings scratch = s; /* a failed parse may have changed part of its target */
    assert_true(bot_settings_parse(v, &scratch, &f) < 0);
    assert_string_equal(f.field, "bot.hours.days.mon");
    json_decref(v);
    json_t *out = bot_settings_json(&s);
    char *text = json_dumps(out, 0);
    struct bot_settings back;
    bot_settings_load(text, &back);
    assert_int_equal(back.mode, s.mode);
    assert_int_equal(back.nspans[0], 1);
    assert_int_equal(back.spans[0][0][1], 24 * 60);
    free(text);
    json_decref(out);
}

static void test_markdown(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    const char *md =
        "# Title <b>\n\nSome **bold** and *it* and `x<y`.\n\n- one\n- "
        "[two](https://e.com/?a=1&b=\"2\")\n"
        "1. first\n\n```\n<script>\n```\n> quoted\n\n[bad](javascript:alert(1)) <img src=x>\n";
    assert_int_equal(markdown_html(md, strlen(md), &b), 0);
    buf_putc(&b, 0);
    const char *h = b.p;
    assert_non_null(strstr(h, "<h1>Title &lt;b&gt;</h1>"));
    assert_non_null(strstr(h, "<strong>bold</strong>"));
    assert_non_null(strstr(h, "<em>it</em>"));
    assert_non_null(strstr(h, "<code>x&lt;y</code>"));
    assert_non_null(strstr(h, "<ul>\n<li>one</li>"));
    assert_non_null(strstr(h, "<a href=\"https://e.com/?a=1&amp;b=&quot;2&quot;\""));
    assert_non_null(strstr(h, "<ol>\n<li>first</li>"));
    assert_non_null(strstr(h, "<pre><code>&lt;script&gt;\n</code></pre>"));
    assert_non_null(strstr(h, "<blockquote><p>quoted</p></blockquote>"));
    assert_null(strstr(h, "href=\"javascript"));
    assert_null(strstr(h, "<img"));
    assert_null(strstr(h, "<script"));
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),       cmocka_unit_test(test_train_predict_deterministic),
        cmocka_unit_test(test_pairs),        cmocka_unit_test(test_bm25),
        cmocka_unit_test(test_sentiment),    cmocka_unit_test(test_bot_settings),
        cmocka_unit_test(test_markdown),     cmocka_unit_test(test_held_out),
        cmocka_unit_test(test_name_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
