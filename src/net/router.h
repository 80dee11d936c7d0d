/* router.h: method + path-pattern routing. Patterns are literal segments and `{name}` captures:
 * "/api/v1/accounts/{aid}/users". A path that matches some pattern but not the method is a 405 with
 * the allowed methods; no match at all is a 404 (or the fallback, e.g. static files, for GET/HEAD).
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"

struct http_req;
typedef void (*route_fn)(struct http_req *r);
/* A precheck runs for ROUTE_UPLOAD routes when the request head is in, before the body is read
 * (reading stops meanwhile): it answers r or calls http_precheck_pass(r) (http.h). */
typedef void (*route_precheck_fn)(struct http_req *r);

enum { ROUTE_MAX_SEGS = 12 };

/* A route flag the server reads: the body may be up to max-upload instead of max-body, and the
 * router's precheck (when set) sees the head before the body is read. */
#define ROUTE_UPLOAD (1u << 31)

struct route {
    int method;          /* enum http_method */
    const char *pattern; /* static string */
    route_fn fn;
    unsigned flags; /* the application's (auth, role) */
    int nseg;
    struct span segs[ROUTE_MAX_SEGS];
    bool capture[ROUTE_MAX_SEGS];
};

struct router {
    struct route *routes;
    size_t n, cap;
    route_fn fallback; /* for unmatched GET/HEAD (static files); NULL means 404 */
    route_fn
        dispatch; /* called instead of route->fn when set (auth middleware); it calls route->fn */
    route_precheck_fn precheck; /* for ROUTE_UPLOAD routes at the end of the head, or NULL */
};

enum router_result { ROUTER_FOUND, ROUTER_NOTFOUND, ROUTER_BADMETHOD };

void router_init(struct router *rt);
void router_release(struct router *rt);
void router_add(struct router *rt, int method, const char *pattern, route_fn fn, unsigned flags);
/* router_match: on ROUTER_FOUND sets r->route and its params; on ROUTER_BADMETHOD writes the
 * allowed methods ("GET, POST") into allow. */
enum router_result router_match(const struct router *rt, struct http_req *r, char *allow,
                                size_t allowlen);

#endif
