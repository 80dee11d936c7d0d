/* conv_int.h: what the conversation service's files share and nobody else needs. */
#ifndef PARLEY_CONV_INT_H
#define PARLEY_CONV_INT_H

/* The access rule, with $1 = account, $2 = role (> 0: admin or supervisor), $3 = user. */
#define CONV_ACL                                                                                   \
    "c.account_id = $1 AND ($2 > 0 OR c.assignee_id = $3 OR EXISTS (SELECT 1 FROM inbox_members "  \
    "mm"                                                                                           \
    " WHERE mm.inbox_id = c.inbox_id AND mm.user_id = $3))"

#endif
