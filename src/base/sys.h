/* sys.h: the first include of every Parley source file: standard headers and a few macros. */
#ifndef PARLEY_SYS_H
#define PARLEY_SYS_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
/* containerof: from a pointer to a member back to its struct (libuv's container_of). */
#define containerof(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#include "base/alloc.h"
#include "base/err.h"

#endif
