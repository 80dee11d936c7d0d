/* sentiment.c: lexicon sentiment (see sentiment.h).
 *
 * Chinese is matched by the longest lexicon entry at each character (entries are 1..4
 * characters), English by word or stem (feat.c's tokeniser); both through hash maps built once,
 * so a message costs a few lookups per token. A negator within the two tokens
 * before a word flips it; an intensifier just before it multiplies it by 1.5; each "!" or "！"
 * adds weight to the sign the text already has. The sum s becomes s / (|s| + 2), in (-1, 1). */
#include "base/sys.h"

#include "nlp/sentiment.h"

#include <math.h>
#include <pthread.h>

#include "base/map.h"

#include "nlp/feat.h"

struct lex {
    const char *w;
    float v;
};

/* Chinese: words of service conversations and reviews. Feelings, not topics: "退款" or "refund"
 * is a request ("I'd like a refund"), and "no refund" must not read as praise. */
static const struct lex ZH[] = {
    {"好", 1},       {"很好", 1.5},  {"满意", 2},      {"喜欢", 1.5},    {"谢谢", 1.5},
    {"感谢", 2},     {"多谢", 1.5},  {"不错", 1.5},    {"棒", 2},        {"赞", 1.5},
    {"完美", 2},     {"方便", 1},    {"快", 0.5},      {"专业", 1},      {"耐心", 1.5},
    {"热情", 1.5},   {"开心", 1.5},  {"高兴", 1.5},    {"推荐", 1},      {"优秀", 2},
    {"舒服", 1.5},   {"舒适", 1.5},  {"干净", 1},      {"划算", 1},      {"值得", 1},
    {"解决了", 1.5}, {"周到", 1.5},  {"贴心", 1.5},    {"给力", 1.5},    {"好评", 2},
    {"实惠", 1},     {"漂亮", 1},    {"喜爱", 1.5},    {"愉快", 1.5},    {"及时", 1},
    {"差", -2},      {"很差", -2.5}, {"烂", -2},       {"垃圾", -2.5},   {"失望", -2},
    {"生气", -2},    {"愤怒", -2.5}, {"投诉", -2},     {"骗", -2},       {"坑", -1.5},
    {"慢", -1},      {"糟糕", -2},   {"不满", -2},     {"讨厌", -2},     {"故障", -1},
    {"坏了", -1.5},  {"错误", -1},   {"没用", -1.5},   {"恶心", -2.5},   {"太贵", -1.5},
    {"难用", -2},    {"麻烦", -1},   {"无语", -2},     {"郁闷", -1.5},   {"后悔", -2},
    {"欺骗", -2.5},  {"不行", -1.5}, {"崩溃", -2},     {"差劲", -2.5},   {"脏", -1.5},
    {"吵", -1},      {"旧", -0.5},   {"破", -1},       {"态度差", -2.5}, {"不好", -1.5},
    {"问题", -0.5},  {"还没", -1},   {"怎么还", -1.5}, {"一直没", -1.5}, {"等了", -1},
    {"催", -1},      {"气死", -2.5}, {"离谱", -2},     {"坑人", -2.5},   {"骗子", -3},
    {"太差", -2.5},  {"不值", -1.5}, {"浪费", -1.5},   {"卡", -0.5},     {"死机", -1.5},
    {"敷衍", -2},    {"不理", -1.5}, {"没人", -1},
};
static const char *const ZH_NEG[] = {"不", "没", "没有", "别", "无", "非", "未", "不太", "不是"};
static const char *const ZH_INT[] = {"很", "非常", "太", "特别", "超", "真", "十分", "极", "最"};

/* English, by stem (feat_stem of the lower-cased word). */
static const struct lex EN[] = {
    {"good", 1},        {"great", 2},
    {"excellent", 2},   {"love", 2},
    {"like", 0.5},      {"thank", 1.5},
    {"thanks", 1.5},    {"happy", 1.5},
    {"awesome", 2},     {"perfect", 2},
    {"nice", 1},        {"helpful", 1.5},
    {"fast", 0.5},      {"quick", 0.5},
    {"amazing", 2},     {"fantastic", 2},
    {"satisfi", 1.5},   {"resolv", 1},
    {"appreciat", 1.5}, {"wonderful", 2},
    {"friendly", 1.5},  {"easy", 1},
    {"recommend", 1},   {"best", 1.5},
    {"glad", 1.5},      {"bad", -2},
    {"terrible", -2.5}, {"awful", -2.5},
    {"horrible", -2.5}, {"worst", -3},
    {"hate", -2.5},     {"angry", -2},
    {"annoy", -1.5},    {"frustrat", -2},
    {"disappoint", -2}, {"useless", -2},
    {"broken", -1.5},   {"slow", -1},
    {"wrong", -1},      {"fail", -1.5},
    {"problem", -0.5},  {"issue", -0.5},
    {"complain", -2},   {"scam", -3},
    {"ridiculous", -2}, {"unacceptable", -2.5},
    {"poor", -1.5},     {"rude", -2},
    {"waste", -1.5},    {"still", -0.5},
    {"never", -1},      {"stuck", -1},
    {"crash", -1.5},    {"upset", -2},
    {"furious", -3},    {"mad", -1.5},
    {"lost", -1},       {"error", -1},
};
static const char *const EN_NEG[] = {"not", "no", "never", "without", "hardly"};
static const char *const EN_INT[] = {"very", "really", "so",        "extremely",
                                     "too",  "super",  "absolutely"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The lists as two hash maps (built once, then only read, from any thread): word -> entry. */
struct entry {
    float v;
    char kind; /* 'w' a scored word, 'n' a negator, 'i' an intensifier */
};
static struct entry
    ENTRIES[COUNT(ZH) + COUNT(ZH_NEG) + COUNT(ZH_INT) + COUNT(EN) + COUNT(EN_NEG) + COUNT(EN_INT)];
static struct map zh_map, en_map;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static size_t nentries;

static void add(struct map *m, const char *w, char kind, float v)
{
    ENTRIES[nentries] = (struct entry){v, kind};
    map_sput(m, w, strlen(w), &ENTRIES[nentries++]);
}

static void build(void)
{
    map_init(&zh_map, true);
    map_init(&en_map, true);
    for (size_t i = 0; i < COUNT(ZH); i++)
        add(&zh_map, ZH[i].w, 'w', ZH[i].v);
    for (size_t i = 0; i < COUNT(ZH_NEG); i++)
        add(&zh_map, ZH_NEG[i], 'n', 0);
    for (size_t i = 0; i < COUNT(ZH_INT); i++)
        add(&zh_map, ZH_INT[i], 'i', 0);
    for (size_t i = 0; i < COUNT(EN); i++)
        add(&en_map, EN[i].w, 'w', EN[i].v);
    for (size_t i = 0; i < COUNT(EN_NEG); i++)
        add(&en_map, EN_NEG[i], 'n', 0);
    for (size_t i = 0; i < COUNT(EN_INT); i++)
        add(&en_map, EN_INT[i], 'i', 0);
}

/* An English word: negators and intensifiers by the word, scored words by the stem, the word, or
 * a prefix of at least 5 letters ("frustrat" for frustrated, frustrating). */
static const struct entry *en_find(const char *raw, const char *stem)
{
    const struct entry *e = map_sget(&en_map, raw, strlen(raw));
    if (e)
        return e;
    if ((e = map_sget(&en_map, stem, strlen(stem))) && e->kind == 'w')
        return e;
    for (size_t l = strlen(raw); l-- > 5;)
        if ((e = map_sget(&en_map, raw, l)) && e->kind == 'w')
            return e;
    return NULL;
}

double sentiment_score(const char *text, size_t len)
{
    pthread_once(&once, build);
    struct feat_buf fb;
    feat_buf_init(&fb);
    size_t nt = feat_tokens(&fb, text, len);
    double sum = 0;
    int last_neg = -10, last_int = -10; /* token index of the last negator / intensifier */
    char word[64];
    for (size_t i = 0; i < nt;) {
        const char *raw = fb.norm + fb.tok[i];
        const struct entry *hit = NULL;
        size_t used = 1;
        if (fb.cjk[i]) {
            /* the longest entry starting here, up to 4 characters */
            size_t wl = 0;
            for (size_t k = 0; k < 4 && i + k < nt && fb.cjk[i + k]; k++) {
                const char *c = fb.norm + fb.tok[i + k];
                size_t cl = strlen(c);
                if (wl + cl >= sizeof(word))
                    break;
                memcpy(word + wl, c, cl);
                wl += cl;
                const struct entry *e = map_sget(&zh_map, word, wl);
                if (e) {
                    hit = e;
                    used = k + 1;
                }
            }
        } else {
            hit = en_find(raw, raw + strlen(raw) + 1);
        }
        float v = hit && hit->kind == 'w' ? hit->v : 0;
        if (v != 0) {
            if ((int)i - last_int <= 1)
                v *= 1.5f;
            if ((int)i - last_neg <= 2)
                v = -v * 0.8f;
            sum += v;
        }
        if (hit && hit->kind == 'n')
            last_neg = (int)(i + used - 1);
        if (hit && hit->kind == 'i')
            last_int = (int)(i + used - 1);
        i += used;
    }
    feat_buf_release(&fb);
    /* exclamation marks strengthen what is there */
    int bangs = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '!')
            bangs++;
        else if (i + 2 < len && (unsigned char)text[i] == 0xEF &&
                 (unsigned char)text[i + 1] == 0xBC && (unsigned char)text[i + 2] == 0x81)
            bangs++;
    }
    if (bangs && sum != 0)
        sum *= 1.0 + 0.2 * (bangs > 3 ? 3 : bangs);
    return sum / (fabs(sum) + 2.0);
}

const char *sentiment_label(double score)
{
    return score <= -0.25 ? "negative" : score >= 0.25 ? "positive" : "neutral";
}
