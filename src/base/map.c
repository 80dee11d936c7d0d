/* map.c: linear probing with backward-shift deletion; grows at 70% load. */
#include "base/sys.h"
#include "base/map.h"

uint64_t hash_bytes(const void *p, size_t n)
{
    /* FNV-1a, then a finalizer to spread low bits. Keys here are not attacker-chosen in bulk except
     * login names (rate limiter), which are bounded by their own table size. */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

void map_init(struct map *m, bool string_keys)
{
    memset(m, 0, sizeof(*m));
    m->strings = string_keys;
}

void map_release(struct map *m)
{
    if (m->strings)
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].used)
                free(m->e[i].skey);
    free(m->e);
    map_init(m, m->strings);
}

static size_t slot_of(const struct map *m, uint64_t h)
{
    return (size_t)(mix(h) & (m->cap - 1));
}

static struct map_entry *find(const struct map *m, uint64_t h, const char *key, size_t len)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, h);; i = (i + 1) & (m->cap - 1)) {
        struct map_entry *e = &m->e[i];
        if (!e->used)
            return NULL;
        if (e->key == h && (!m->strings || (e->klen == len && memcmp(e->skey, key, len) == 0)))
            return e;
    }
}

static void grow(struct map *m);

static void insert(struct map *m, uint64_t h, char *skey, size_t klen, void *val)
{
    if ((m->len + 1) * 10 > m->cap * 7)
        grow(m);
    size_t i = slot_of(m, h);
    while (m->e[i].used)
        i = (i + 1) & (m->cap - 1);
    m->e[i] = (struct map_entry){h, skey, klen, val, true};
    m->len++;
}

static void grow(struct map *m)
{
    struct map_entry *old = m->e;
    size_t oldcap = m->cap;
    m->cap = oldcap ? oldcap * 2 : 16;
    m->e = xcalloc(m->cap, sizeof(*m->e));
    m->len = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].used)
            insert(m, old[i].key, old[i].skey, old[i].klen, old[i].val);
    free(old);
}

static void *remove_at(struct map *m, struct map_entry *e)
{
    void *val = e->val;
    if (m->strings)
        free(e->skey);
    size_t i = (size_t)(e - m->e);
    size_t j = i;
    for (;;) {
        m->e[i].used = false;
        for (;;) {
            j = (j + 1) & (m->cap - 1);
            if (!m->e[j].used) {
                m->len--;
                return val;
            }
            size_t k = slot_of(m, m->e[j].key);
            /* Move e[j] back to i unless its home slot k lies cyclically in (i, j]. */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        m->e[i] = m->e[j];
        i = j;
    }
}

void *map_get(const struct map *m, uint64_t key)
{
    struct map_entry *e = find(m, key, NULL, 0);
    return e ? e->val : NULL;
}

void map_put(struct map *m, uint64_t key, void *val)
{
    struct map_entry *e = find(m, key, NULL, 0);
    if (e)
        e->val = val;
    else
        insert(m, key, NULL, 0, val);
}

void *map_del(struct map *m, uint64_t key)
{
    struct map_entry *e = find(m, key, NULL, 0);
    return e ? remove_at(m, e) : NULL;
}

void *map_sget(const struct map *m, const char *key, size_t len)
{
    struct map_entry *e = find(m, hash_bytes(key, len), key, len);
    return e ? e->val : NULL;
}

void map_sput(struct map *m, const char *key, size_t len, void *val)
{
    uint64_t h = hash_bytes(key, len);
    struct map_entry *e = find(m, h, key, len);
    if (e)
        e->val = val;
    else
        insert(m, h, xmemdup(key, len), len, val);
}

void *map_sdel(struct map *m, const char *key, size_t len)
{
    struct map_entry *e = find(m, hash_bytes(key, len), key, len);
    return e ? remove_at(m, e) : NULL;
}

bool map_next(const struct map *m, size_t *iter, struct map_entry **out)
{
    while (*iter < m->cap) {
        struct map_entry *e = &m->e[(*iter)++];
        if (e->used) {
            *out = e;
            return true;
        }
    }
    return false;
}
