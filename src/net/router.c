/* router.c: linear matching over split patterns; a few dozen routes make this cheaper than a trie.
 */
#include "base/sys.h"
#include "net/router.h"
#include "net/http.h"

#include <http_parser.h>

void router_init(struct router *rt)
{
    memset(rt, 0, sizeof(*rt));
}

void router_release(struct router *rt)
{
    free(rt->routes);
    memset(rt, 0, sizeof(*rt));
}

static int split_path(struct span path, struct span *segs, int max)
{
    int n = 0;
    if (path.len && path.p[0] == '/')
        path.p++, path.len--;
    while (path.len) {
        struct span seg = span_split(&path, '/');
        if (n == max)
            return -1;
        segs[n++] = seg;
    }
    return n;
}

void router_add(struct router *rt, int method, const char *pattern, route_fn fn, unsigned flags)
{
    if (rt->n == rt->cap) {
        rt->cap = rt->cap ? rt->cap * 2 : 32;
        rt->routes = xrealloc(rt->routes, rt->cap * sizeof(*rt->routes));
    }
    struct route *r = &rt->routes[rt->n++];
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->pattern = pattern;
    r->fn = fn;
    r->flags = flags;
    r->nseg = split_path(span_of(pattern), r->segs, ROUTE_MAX_SEGS);
    if (r->nseg < 0) {
        fprintf(stderr, "router: pattern with too many segments: %s\n", pattern);
        abort();
    }
    for (int i = 0; i < r->nseg; i++) {
        struct span s = r->segs[i];
        if (s.len > 2 && s.p[0] == '{' && s.p[s.len - 1] == '}') {
            r->capture[i] = true;
            r->segs[i] = (struct span){s.p + 1, s.len - 2};
        }
    }
}

static bool match_route(const struct route *rt, const struct span *segs, int nseg)
{
    if (rt->nseg != nseg)
        return false;
    for (int i = 0; i < nseg; i++) {
        if (rt->capture[i]) {
            if (segs[i].len == 0)
                return false;
        } else if (!span_eq(rt->segs[i], segs[i])) {
            return false;
        }
    }
    return true;
}

enum router_result router_match(const struct router *rt, struct http_req *r, char *allow,
                                size_t allowlen)
{
    struct span segs[ROUTE_MAX_SEGS];
    int nseg = split_path(r->path, segs, ROUTE_MAX_SEGS);
    if (nseg < 0)
        return ROUTER_NOTFOUND;
    /* A trailing slash is not a different resource: "/api/v1/me/" is "/api/v1/me". */
    if (nseg > 0 && segs[nseg - 1].len == 0)
        nseg--;
    bool path_known = false;
    if (allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < rt->n; i++) {
        const struct route *route = &rt->routes[i];
        if (!match_route(route, segs, nseg))
            continue;
        int method = r->method == HTTP_HEAD ? HTTP_GET : r->method;
        if (route->method != method) {
            path_known = true;
            const char *m = http_method_str((enum http_method)route->method);
            if (allowlen && !strstr(allow, m)) {
                size_t used = strlen(allow);
                if (used < allowlen)
                    snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", m);
            }
            continue;
        }
        r->route = route;
        r->nparams = 0;
        for (int k = 0; k < nseg && r->nparams < HTTP_MAX_PARAMS; k++)
            if (route->capture[k]) {
                r->param_names[r->nparams] = route->segs[k];
                r->params[r->nparams++] = segs[k];
            }
        return ROUTER_FOUND;
    }
    return path_known ? ROUTER_BADMETHOD : ROUTER_NOTFOUND;
}
