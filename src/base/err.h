/* err.h: the one error table. Functions return 0 or a negative ERR_*; the table also gives each
 * error its stable wire code, HTTP status and a message for people (libuv's UV_ERRNO_MAP pattern).
 */
#ifndef PARLEY_ERR_H
#define PARLEY_ERR_H

/* X(NAME, wire code, HTTP status, message) */
#define ERR_MAP(X)                                                                                 \
    X(INVAL, "bad_request", 400, "The request is malformed.")                                      \
    X(JSON, "invalid_json", 400, "The body is not valid JSON.")                                    \
    X(UNAUTHORIZED, "unauthorized", 401,                                                           \
      "Sign in first: the token is missing, unknown or expired.")                                  \
    X(CREDENTIALS, "invalid_credentials", 401, "The e-mail or password is incorrect.")             \
    X(FORBIDDEN, "forbidden", 403, "Your role does not allow this.")                               \
    X(NOTFOUND, "not_found", 404, "Nothing was found at this address.")                            \
    X(METHOD, "method_not_allowed", 405, "This method is not allowed here.")                       \
    X(TIMEOUT, "request_timeout", 408, "The request did not arrive in time.")                      \
    X(CONFLICT, "conflict", 409, "This conflicts with something that exists.")                     \
    X(EMAIL_TAKEN, "email_taken", 409, "A user with this e-mail already exists.")                  \
    X(TOOBIG, "payload_too_large", 413, "The body is too large.")                                  \
    X(MEDIA, "unsupported_media_type", 415,                                                        \
      "Send the body as JSON with Content-Type: application/json.")                                \
    X(RANGE, "range_not_satisfiable", 416,                                                         \
      "The requested range lies outside the file; Content-Range gives its size.")                  \
    X(VALIDATION, "validation_failed", 422, "A field is missing or invalid.")                      \
    X(RATE, "rate_limited", 429, "Too many attempts; wait and try again.")                         \
    X(HEADERS, "headers_too_large", 431, "The request headers are too large.")                     \
    X(INTERNAL, "internal", 500, "Something went wrong on the server; it has been logged.")        \
    X(STORE, "store_error", 500, "The database failed; it has been logged.")                       \
    X(BUSY, "busy", 503, "The server is busy; retry in a second.")                                 \
    X(NOTREADY, "not_ready", 503, "The server is not ready yet.")                                  \
    X(CONNS, "too_many_connections", 503, "Too many connections; retry shortly.")                  \
    X(SHUTDOWN, "shutting_down", 503, "The server is shutting down.")                              \
    X(CLOSED, "closed", 499, "The connection closed.")                                             \
    X(IO, "io_error", 500, "An I/O operation failed.")

enum err_code {
    ERR_OK = 0,
#define ERR_ENUM(name, code, status, msg) ERR_##name,
    ERR__FIRST = -1000,
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
        ERR__LAST
};

/* err_name: the stable wire code ("not_found"). err_str: the message for people.
 * err_http_status: the HTTP status. All accept any negative ERR_* and fall back to ERR_INTERNAL. */
const char *err_name(int err);
const char *err_str(int err);
int err_http_status(int err);

#endif
