/* api_ops.c: /healthz (the process answers), /readyz (a store round trip works) and /metrics
 * (Prometheus text format 0.0.4). */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/embed.h"
#include "base/buf.h"
#include "api/app.h"

#include <sodium.h>
#include <strings.h>

struct req_counter {
    const char *route;
    const char *method;
    int status;
    uint64_t count;
    double seconds;
};

void api_metrics_observe(struct http_req *r, int status, uint64_t ns)
{
    const char *route =
        r->route ? r->route->pattern
                 : (r->path.len && !span_starts_with(r->path, "/api/") &&
                            (r->method == HTTP_GET || r->method == HTTP_HEAD) && status != 405
                        ? "static"
                        : "unmatched");
    const char *method = r->method_name ? r->method_name : "UNKNOWN";
    char key[256];
    int n = snprintf(key, sizeof(key), "%p %s %d", (const void *)route, method, status);
    struct req_counter *c = map_sget(&the_app->metrics, key, (size_t)n);
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->route = route;
        c->method = method;
        c->status = status;
        map_sput(&the_app->metrics, key, (size_t)n, c);
    }
    c->count++;
    c->seconds += (double)ns / 1e9;
}

static void h_healthz(struct http_req *r)
{
    http_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static int ready_fn(struct store_tx *tx, void *arg)
{
    UNUSED(arg);
    int64_t one;
    return tx_query_i64(tx, &one, "SELECT 1", "");
}

static void ready_done(void *arg, int rc)
{
    struct http_req *r = arg;
    if (rc < 0 || !the_app->ready)
        http_respond_error(r, ERR_NOTREADY, NULL, NULL);
    else
        http_respond_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

static void h_readyz(struct http_req *r)
{
    if (store_read(the_app->store, ready_fn, ready_done, r) < 0)
        http_respond_error(r, ERR_NOTREADY, NULL, NULL);
}

static void histogram(struct buf *b, const char *name, const char *help, const double *bounds,
                      int nb, const atomic_uint_fast64_t *buckets, uint64_t count, double sum)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < nb; i++) {
        cum += atomic_load(&buckets[i]);
        buf_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, bounds[i], cum);
    }
    cum += atomic_load(&buckets[nb]);
    buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
               cum, name, sum, name, count);
}

/* loopback: 127.0.0.0/8, ::1 and IPv4-mapped 127.x (the request's address: with --trust-proxy,
 * the one the proxy saw). */
static bool loopback(const char *ip)
{
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
           strncmp(ip, "::ffff:127.", 11) == 0;
}

/* /metrics tells connection counts and traffic by route: with --metrics-token it needs that token
 * (Bearer) from anywhere; without one, it answers only to clients on this host (a Prometheus on
 * the host, or a scrape through an SSH tunnel). */
static bool metrics_allowed(struct http_req *r)
{
    if (cfg.metrics_token && *cfg.metrics_token) {
        struct span a = http_header(r, "Authorization");
        size_t n = strlen(cfg.metrics_token);
        if (a.len == 7 + n && strncasecmp(a.p, "Bearer ", 7) == 0 &&
            sodium_memcmp(a.p + 7, cfg.metrics_token, n) == 0)
            return true;
        http_add_header(r, "WWW-Authenticate: Bearer realm=\"metrics\"");
        http_respond_error(r, ERR_UNAUTHORIZED, NULL,
                           "/metrics needs the token set with --metrics-token (Authorization: "
                           "Bearer ...).");
        return false;
    }
    /* Through a proxy on this host (nginx) the peer is loopback but the client is not: a request
     * that carries a forwarding header is not local, unless --trust-proxy made r->ip the client. */
    bool proxied =
        !cfg.trust_proxy && (http_header(r, "X-Forwarded-For").len ||
                             http_header(r, "Forwarded").len || http_header(r, "X-Real-IP").len);
    if (loopback(r->ip) && !proxied)
        return true;
    http_respond_error(r, ERR_FORBIDDEN, NULL,
                       "/metrics answers only on this host; set --metrics-token to scrape it from "
                       "elsewhere.");
    return false;
}

static void h_metrics(struct http_req *r)
{
    struct app *a = the_app;
    if (!metrics_allowed(r))
        return;
    struct buf b;
    buf_init(&b, 64 * 1024 * 1024);
    buf_printf(&b,
               "# HELP parley_connections_open Open client connections (HTTP and WebSocket).\n"
               "# TYPE parley_connections_open gauge\nparley_connections_open %zu\n",
               a->srv.nconns);
    buf_printf(&b,
               "# HELP parley_ws_connections_open Open WebSocket connections.\n"
               "# TYPE parley_ws_connections_open gauge\nparley_ws_connections_open %zu\n",
               a->srv.nws);
    buf_printf(&b,
               "# HELP parley_connections_accepted_total Connections accepted.\n"
               "# TYPE parley_connections_accepted_total "
               "counter\nparley_connections_accepted_total %" PRIu64 "\n",
               a->srv.stats.accepted);
    buf_printf(
        &b,
        "# HELP parley_slow_clients_closed_total Clients closed because their write queue was "
        "full.\n"
        "# TYPE parley_slow_clients_closed_total counter\nparley_slow_clients_closed_total %" PRIu64
        "\n",
        a->srv.stats.ws_closed_slow);
    buf_printf(&b, "# HELP parley_http_requests_total HTTP requests answered, by route pattern, "
                   "method and status.\n"
                   "# TYPE parley_http_requests_total counter\n");
    struct map_entry *e;
    for (size_t it = 0; map_next(&a->metrics, &it, &e);) {
        struct req_counter *c = e->val;
        buf_printf(&b,
                   "parley_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %" PRIu64
                   "\n",
                   c->route, c->method, c->status, c->count);
    }
    buf_printf(&b, "# HELP parley_http_request_seconds_total Time spent answering, by route "
                   "pattern, method and status.\n"
                   "# TYPE parley_http_request_seconds_total counter\n");
    for (size_t it = 0; map_next(&a->metrics, &it, &e);) {
        struct req_counter *c = e->val;
        buf_printf(
            &b,
            "parley_http_request_seconds_total{route=\"%s\",method=\"%s\",status=\"%d\"} %.6f\n",
            c->route, c->method, c->status, c->seconds);
    }
    const struct store_metrics *m = store_metrics(a->store);
    buf_printf(&b,
               "# HELP parley_store_queue_depth Store jobs waiting (writes and reads).\n"
               "# TYPE parley_store_queue_depth gauge\nparley_store_queue_depth %zu\n",
               store_queue_depth(a->store));
    buf_printf(&b,
               "# HELP parley_store_jobs_total Store jobs run, by kind.\n# TYPE "
               "parley_store_jobs_total counter\n"
               "parley_store_jobs_total{kind=\"write\"} %" PRIu64
               "\nparley_store_jobs_total{kind=\"read\"} %" PRIu64
               "\nparley_store_jobs_total{kind=\"failed\"} %" PRIu64 "\n",
               (uint64_t)atomic_load(&m->jobs_write), (uint64_t)atomic_load(&m->jobs_read),
               (uint64_t)atomic_load(&m->jobs_failed));
    histogram(&b, "parley_store_commit_seconds", "Time of one group commit, BEGIN to COMMIT.",
              store_commit_bounds, STORE_COMMIT_BUCKETS, m->commit_buckets,
              atomic_load(&m->commit_count), (double)atomic_load(&m->commit_sum_us) / 1e6);
    histogram(&b, "parley_store_group_size", "Jobs committed together in one transaction.",
              store_group_bounds, STORE_GROUP_BUCKETS, m->group_buckets,
              atomic_load(&m->group_count), (double)atomic_load(&m->group_sum));
    http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    buf_release(&b);
}

static void h_openapi(struct http_req *r)
{
    http_add_header(r, "Cache-Control: no-cache");
    http_respond(r, 200, "application/yaml; charset=utf-8", docs_embed[0].data, docs_embed[0].len);
}

void api_ops_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/openapi.yaml", h_openapi, R_PUBLIC);
    router_add(rt, HTTP_GET, "/healthz", h_healthz, R_PUBLIC);
    router_add(rt, HTTP_GET, "/readyz", h_readyz, R_PUBLIC);
    router_add(rt, HTTP_GET, "/metrics", h_metrics, R_PUBLIC);
}
