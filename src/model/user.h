/* user.h: rules for users and their credentials, with no I/O (unit-tested in tests/unit/model). */
#ifndef PARLEY_USER_H
#define PARLEY_USER_H

#include <stdbool.h>
#include <stddef.h>

enum { USER_EMAIL_MAX = 254, USER_NAME_MAX = 100, USER_PASSWORD_MIN = 8, USER_PASSWORD_MAX = 200 };

/* user_email_normalize: trims spaces, lower-cases ASCII, and checks the shape (one '@', a non-empty
 * local part, a dotted domain, no spaces or control characters, at most 254 bytes). Writes the
 * result into out (size >= USER_EMAIL_MAX + 1). Returns false if it is not an e-mail address. */
bool user_email_normalize(const char *in, char *out);
/* user_name_valid: 1..100 characters after trimming, no control characters. */
bool user_name_valid(const char *name);
/* user_password_valid: 8..200 characters (code points). */
bool user_password_valid(const char *pw);

#endif
