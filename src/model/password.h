/* password.h: how strong a new password must be, following NIST SP 800-63B 5.1.1.2: a length
 * floor rather than composition rules, and a check against values that are guessed first: the
 * most common passwords (a list shipped with Parley, src/model/common_passwords.txt, also with
 * digits and symbols around them and look-alike characters: "P@ssw0rd2024!"), repetitions,
 * keyboard and alphabet sequences, and the person's own e-mail or name. No I/O. */
#ifndef PARLEY_PASSWORD_H
#define PARLEY_PASSWORD_H

enum { PASSWORD_MIN = 10, PASSWORD_MAX = 200 };

/* password_check: NULL when pw may be used; else a sentence saying why not and what to do. email
 * and name (of the person, may be NULL) are refused as passwords. Thread-safe. */
const char *password_check(const char *pw, const char *email, const char *name);

#endif
