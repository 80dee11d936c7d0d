/* role.c: role names. */
#include "base/sys.h"
#include "model/role.h"

static const char *const role_names[] = {"agent", "supervisor", "admin", NULL};

const char *role_name(enum role r)
{
    return role_names[r];
}

int role_parse(const char *s, enum role *out)
{
    for (int i = 0; role_names[i]; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum role)i;
            return 0;
        }
    return ERR_INVAL;
}
