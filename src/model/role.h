/* role.h: a person's role in an account. Admins manage the account, supervisors see all of its
 * conversations, agents the inboxes they are members of. */
#ifndef PARLEY_ROLE_H
#define PARLEY_ROLE_H

enum role { ROLE_AGENT = 0, ROLE_SUPERVISOR = 1, ROLE_ADMIN = 2 };

/* role_name: "agent", "supervisor" or "admin". role_parse: 0, or ERR_INVAL for another name. */
const char *role_name(enum role r);
int role_parse(const char *s, enum role *out);

#endif
