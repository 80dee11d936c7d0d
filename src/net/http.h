/* http.h: the HTTP/1.1 server on libuv + http-parser, and the request/response API the handlers
 * use.
 *
 * A request is handed to the router's handler once its head and body have arrived. The handler
 * answers exactly once, now or later (after a store job): http_respond*(). Until then the
 * connection reads no further (pipelined requests wait their turn). If the peer goes away first the
 * request is "orphaned": the handler still answers, and the answer is dropped and the request
 * freed. */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"
#include "base/json.h"

struct server;
struct conn;
struct route;

struct http_header {
    struct span name, value;
};

enum { HTTP_MAX_HEADERS = 100, HTTP_MAX_PARAMS = 8 };

struct http_req {
    struct arena arena; /* freed with the request */
    struct server *srv;
    struct conn *conn; /* NULL once orphaned */
    uint64_t conn_id;
    uint64_t id; /* request id for logs */
    int method;  /* enum http_method */
    const char *method_name;
    struct span url;   /* raw target */
    struct span path;  /* percent-decoded path */
    struct span query; /* raw query string, without '?' */
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    struct buf body;
    bool keep_alive, upgrade, expect_continue;
    bool responded, dispatched;
    const struct route *route;
    struct span param_names[HTTP_MAX_PARAMS], params[HTTP_MAX_PARAMS];
    int nparams;
    struct buf resp_headers; /* extra header lines, each ending in \r\n */
    int status;
    uint64_t start_ns;
    char ip[48];
    void *user; /* the application's per-request state (borrowed) */
};

/* Lookups; the returned spans/strings live in the request arena. */
struct span http_header(const struct http_req *r, const char *name);
/* http_query: the decoded value of ?name=, or NULL if absent (or undecodable). */
const char *http_query(struct http_req *r, const char *name);
struct span http_param(const struct http_req *r, const char *name);
/* http_cookie: the value of a cookie, or SPAN_NULL. */
struct span http_cookie(const struct http_req *r, const char *name);

/* Responses. Each finishes the request; exactly one per request. */
void http_add_header(struct http_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void http_respond(struct http_req *r, int status, const char *content_type, const void *body,
                  size_t len);
/* http_respond_json: takes the reference to v. */
void http_respond_json(struct http_req *r, int status, json_t *v);
/* http_respond_error: {"error":{"code","message"[,"field"]}} with the status of err; message NULL
 * means err_str(err). */
void http_respond_error(struct http_req *r, int err, const char *field, const char *message);
/* http_respond_jfail: a 400/422 from a JSON helper failure. */
void http_respond_jfail(struct http_req *r, int err, const struct jfail *f);

/* http_body_json: parses the body as a JSON object after checking Content-Type. On failure it has
 * answered the request already and returns < 0. */
int http_body_json(struct http_req *r, json_t **out);

#endif
