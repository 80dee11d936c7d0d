/* user.h: rules for users and their credentials, with no I/O (unit-tested in tests/unit/model). */
#ifndef PARLEY_USER_H
#define PARLEY_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/json.h"

enum { USER_EMAIL_MAX = 254, USER_NAME_MAX = 100 };

/* user_email_normalize: trims spaces, lower-cases ASCII, and checks the shape (one '@', a non-empty
 * local part, a dotted domain, no spaces or control characters, at most 254 bytes). Writes the
 * result into out (size >= USER_EMAIL_MAX + 1). Returns false if it is not an e-mail address. */
bool user_email_normalize(const char *in, char *out);
/* user_name_valid: 1..100 characters after trimming, no control characters (C0, C1) and no bidi
 * embedding, override or isolate (U+202A..U+202E, U+2066..U+2069: they would turn the text
 * around them). */
bool user_name_valid(const char *name);
/* user_name_check: name (max characters) as user_name_valid, for `field`: 0, or ERR_VALIDATION
 * with a message that says what is wrong (and which character). */
int user_name_check(const char *name, const char *field, size_t max, struct jfail *f);
/* user_skill_check: a skill's name, an identifier (1..40 characters, not blank, none of
 * UTF8_IDENT): 0, or ERR_VALIDATION naming `field`. */
int user_skill_check(const char *name, const char *field, struct jfail *f);

/* An agent's routing profile as given to POST/PATCH users; has_* says the field was present. */
enum {
    USER_SKILLS_MAX = 20,
    USER_LANGS_MAX = 8,
    USER_REGION_MAX = 40,
    USER_SKILL_NAME_MAX = 40,
    USER_CAPACITY_MAX = 100
};
struct user_profile {
    bool has_capacity, has_skills, has_languages, has_region;
    int capacity;                             /* -1: no limit */
    const char *skill_names[USER_SKILLS_MAX]; /* borrowed from the body */
    int skill_levels[USER_SKILLS_MAX];
    size_t nskills;
    char languages[USER_LANGS_MAX][9];
    size_t nlanguages;
    const char *region;
};
/* user_profile_parse: capacity (0..100, or null: no limit), skills ([{"name","level" 1..5}],
 * distinct names), languages (codes like "zh" or "en-US", lower-cased, distinct), region (0..40
 * characters; null clears it as "" does). ERR_VALIDATION in f naming the field otherwise. */
int user_profile_parse(json_t *body, struct user_profile *p, struct jfail *f);

#endif
