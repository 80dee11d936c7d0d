/* log.c: formats one line into a stack buffer and writes it with a single write(2). */
#include "base/sys.h"
#include "base/log.h"
#include "base/clock.h"

#include <strings.h>
#include <unistd.h>

enum log_level log_level = LOG_INFO;

static const char *names[] = {"error", "warn", "info", "debug"};

int log_parse_level(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcasecmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

void log_write(enum log_level lvl, const char *module, const char *fmt, ...)
{
    char line[2048];
    char ts[32];
    clock_iso8601(clock_wall_ms(), ts);
    int n = snprintf(line, sizeof(line), "%s %s %s ", ts, names[lvl], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : MIN((size_t)m, sizeof(line) - (size_t)n - 2));
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    UNUSED(w);
}
