/* log.h: leveled key=value logging to stderr. The level is checked before anything is formatted:
 *   log_info("http", "conn=%" PRIu64 " status=%d", id, status);
 * prints `2026-11-21T04:50:00.123Z info http conn=7 status=200`. Thread-safe (one write per line).
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

int log_parse_level(const char *s); /* returns the level or -1 */
void log_write(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, mod, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) <= log_level)                                                                    \
            log_write((lvl), (mod), __VA_ARGS__);                                                  \
    } while (0)
#define log_err(mod, ...) log_at(LOG_ERR, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_at(LOG_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...) log_at(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) log_at(LOG_DEBUG, mod, __VA_ARGS__)

#endif
