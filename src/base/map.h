/* map.h: open-addressing hash maps: u64 keys (ids) and string keys. Values are void pointers the
 * caller owns. Tombstone-free: deletion shifts back the following entries (Robin Hood style
 * backward shift). */
#ifndef PARLEY_MAP_H
#define PARLEY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct map_entry {
    uint64_t key; /* u64 key, or the hash of the string key */
    char *skey;   /* owned copy of the string key (string maps only) */
    size_t klen;  /* its length (keys may hold NUL bytes) */
    void *val;
    bool used;
};

struct map {
    struct map_entry *e;
    size_t cap; /* power of two */
    size_t len;
    bool strings;
};

void map_init(struct map *m, bool string_keys);
void map_release(struct map *m); /* frees the table and string keys, not the values */
void *map_get(const struct map *m, uint64_t key);
void map_put(struct map *m, uint64_t key, void *val); /* replaces */
void *map_del(struct map *m, uint64_t key);           /* returns the old value or NULL */
void *map_sget(const struct map *m, const char *key, size_t len);
void map_sput(struct map *m, const char *key, size_t len, void *val);
void *map_sdel(struct map *m, const char *key, size_t len);
/* Iteration: for (size_t i = 0; map_next(m, &i, &e);) ... ; do not insert while iterating. */
bool map_next(const struct map *m, size_t *iter, struct map_entry **out);
uint64_t hash_bytes(const void *p, size_t n);

#endif
