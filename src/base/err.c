/* err.c: lookups into the error table of err.h. */
#include "base/sys.h"

struct err_info {
    const char *code;
    int status;
    const char *msg;
};

static const struct err_info infos[] = {
#define ERR_INFO(name, code, status, msg) {code, status, msg},
    ERR_MAP(ERR_INFO)
#undef ERR_INFO
};

static const struct err_info *info(int err)
{
    if (err > ERR__FIRST && err < ERR__LAST)
        return &infos[err - ERR__FIRST - 1];
    return &infos[ERR_INTERNAL - ERR__FIRST - 1];
}

const char *err_name(int err)
{
    return info(err)->code;
}

const char *err_str(int err)
{
    return info(err)->msg;
}

int err_http_status(int err)
{
    return info(err)->status;
}
