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
    /* prechecking: the router's precheck has the head, the body waits (not read). prechecked: it
     * passed, so the body is an authenticated caller's and outside the unauthenticated budget. */
    bool prechecking, prechecked;
    /* budgeted: the precheck passed a caller anyone can become (a visitor: a widget session takes
     * only the public widget token), so the body still counts against the budget. */
    bool budgeted;
    size_t unauth_reserved; /* bytes of srv->unauth_body held for this body */
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

/* http_precheck_pass: the router's precheck (router.h) lets the body of r come; the handler runs
 * once it has arrived. A precheck either answers r (any http_respond*: an early 401, 403 or 404
 * whose connection then closes, since the body was never read) or calls this, exactly once, now
 * or later. */
void http_precheck_pass(struct http_req *r);

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

/* http_respond_file: answers with length bytes of the file fd from offset; takes fd (closed in
 * every case, also if the client leaves). The head goes out now; the body is read on the thread
 * pool in 64 KiB chunks, each once the socket took the previous one, so a connection holds one
 * chunk whatever the file's size. No body for HEAD. Add headers (http_add_header) first. */
void http_respond_file(struct http_req *r, int status, const char *content_type, int fd,
                       uint64_t offset, uint64_t length);
/* http_serve_file: a whole file of `size` bytes for GET/HEAD with byte ranges: Accept-Ranges, and
 * for GET with one satisfiable `Range: bytes=a-b | a- | -n` a 206 with Content-Range, a 416
 * range_not_satisfiable past the end (its Content-Range gives the size), the whole file for
 * several ranges or one it cannot read. If-Range must equal etag, the strong entity tag the
 * caller sends as ETag (NULL: none, If-Range never holds). Takes fd. */
void http_serve_file(struct http_req *r, const char *content_type, int fd, uint64_t size,
                     const char *etag);
enum http_range { HTTP_RANGE_NONE, HTTP_RANGE_OK, HTTP_RANGE_UNSATISFIABLE };
/* http_range_parse: a Range header against a representation of `size` bytes: HTTP_RANGE_OK with
 * [*off, *off + *len), HTTP_RANGE_UNSATISFIABLE, or HTTP_RANGE_NONE (another unit, several
 * ranges, or invalid: serve the whole representation). Pure. */
enum http_range http_range_parse(struct span v, uint64_t size, uint64_t *off, uint64_t *len);

/* http_body_json: parses the body as a JSON object after checking Content-Type. On failure it has
 * answered the request already and returns < 0. */
int http_body_json(struct http_req *r, json_t **out);

#endif
