/* clock.h: time. Monotonic milliseconds for timeouts, wall-clock milliseconds for stored times, and
 * the ISO-8601 form the API uses ("2026-11-21T04:50:00.123Z"). */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);
int64_t clock_wall_ms(void);
/* clock_iso8601: writes 24 characters plus NUL into out (>= 25 bytes). */
void clock_iso8601(int64_t ms, char *out);
/* clock_parse_iso8601: "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)" into ms since the epoch.
 * Returns 0, or -1 if it is not that shape or not a real date. */
int clock_parse_iso8601(const char *s, int64_t *out);

#endif
