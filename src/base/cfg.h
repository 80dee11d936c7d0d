/* cfg.h: the one configuration table (Redis config.c). Each option has a name, a type, a default,
 * bounds and a help line. Sources, later ones winning: defaults, the config file (--config or
 * PARLEY_CONFIG; `name = value` lines), PARLEY_* environment variables (PARLEY_DATA_DIR for
 * data-dir), flags
 * (--data-dir DIR or --data-dir=DIR). `parleyd --help` prints the table. */
#ifndef PARLEY_CFG_H
#define PARLEY_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* X(field, "name", type, "default", min, max, secret, "help"); types: STR, INT, BOOL, ENUM
 * ("a|b|c"). An INT with the default "" is 0 unless set: the program derives it (its help says
 * how). */
#define CFG_MAP(X)                                                                                 \
    X(listen, "listen", STR, "127.0.0.1:8080", 0, 0, 0,                                            \
      "address to listen on, HOST:PORT (port 0 picks a free port)")                                \
    X(data_dir, "data-dir", STR, "./var", 0, 0, 0, "directory for the database and attachments")   \
    X(web_dir, "web-dir", STR, "./web/dist", 0, 0, 0, "directory of the built browser apps")       \
    X(log_level, "log-level", ENUM, "info", 0, 0, 0, "error|warn|info|debug")                      \
    X(db, "db", ENUM, "sqlite", 0, 0, 0, "sqlite|postgres: the store back end")                    \
    X(db_url, "db-url", STR, "", 0, 0, 1, "PostgreSQL connection string (with --db postgres)")     \
    X(sync, "sync", ENUM, "full", 0, 0, 0,                                                         \
      "full|normal: SQLite durability (full fsyncs each commit)")                                  \
    X(store_queue, "store-queue", INT, "4096", 16, 1000000, 0,                                     \
      "jobs waiting for the store before requests get 503")                                        \
    X(store_batch, "store-batch", INT, "512", 1, 100000, 0, "most jobs in one group commit")       \
    X(store_readers, "store-readers", INT, "2", 1, 64, 0, "reader threads")                        \
    X(max_body, "max-body", INT, "1048576", 64, 1073741824, 0, "largest request body, bytes")      \
    X(max_upload, "max-upload", INT, "10485760", 64, 1073741824, 0,                                \
      "largest attachment upload, bytes")                                                          \
    X(max_unauth_body_total, "max-unauth-body-total", INT, "67108864", 1024, 1099511627776, 0,     \
      "bytes of request bodies held at once for requests not authenticated yet (503 busy above; "  \
      "uploads authenticate on the request head and do not count)")                                \
    X(max_header, "max-header", INT, "16384", 256, 1048576, 0, "largest request head, bytes")      \
    X(header_timeout, "header-timeout", INT, "10000", 50, 3600000, 0,                              \
      "ms for a request's headers to arrive")                                                      \
    X(body_timeout, "body-timeout", INT, "30000", 50, 3600000, 0,                                  \
      "ms for a request's body to arrive")                                                         \
    X(idle_timeout, "idle-timeout", INT, "60000", 50, 3600000, 0,                                  \
      "ms an idle keep-alive connection stays open")                                               \
    X(send_timeout, "send-timeout", INT, "60000", 50, 3600000, 0,                                  \
      "ms a response may wait for the client to read more of it before the connection is reset")   \
    X(max_connections, "max-connections", INT, "", 1, 10000000, 0,                                 \
      "most open connections (503 above); default: what the open-file limit allows, less a "       \
      "reserve, logged at start-up")                                                               \
    X(ws_max_message, "ws-max-message", INT, "65536", 125, 16777216, 0,                            \
      "largest WebSocket message, bytes (close 1009 above)")                                       \
    X(ws_idle_timeout, "ws-idle-timeout", INT, "75000", 50, 3600000, 0,                            \
      "ms of silence before a WebSocket is closed")                                                \
    X(ws_ping_interval, "ws-ping-interval", INT, "30000", 50, 3600000, 0,                          \
      "ms between server pings")                                                                   \
    X(presence_grace, "presence-grace", INT, "30000", 0, 3600000, 0,                               \
      "ms a dropped agent connection still counts as online for routing")                          \
    X(ws_max_per_user, "ws-max-per-user", INT, "20", 1, 100000, 0,                                 \
      "WebSocket connections one user or one visitor may hold open (429 above)")                   \
    X(ws_max_queue, "ws-max-queue", INT, "1048576", 1024, 1073741824, 0,                           \
      "bytes queued to a slow WebSocket client before it is closed")                               \
    X(session_ttl, "session-ttl", INT, "604800", 1, 315360000, 0, "seconds a login token lives")   \
    X(trust_proxy, "trust-proxy", BOOL, "false", 0, 0, 0,                                          \
      "take the client address from X-Forwarded-For (set behind nginx)")                           \
    X(cookie_secure, "cookie-secure", BOOL, "false", 0, 0, 0,                                      \
      "mark the session cookie Secure (behind HTTPS)")                                             \
    X(metrics_token, "metrics-token", STR, "", 0, 0, 1,                                            \
      "Bearer token /metrics needs; without one, /metrics answers only on loopback")               \
    X(allowed_origins, "allowed-origins", STR, "", 0, 0, 0,                                        \
      "other origins (https://host[:port], comma-separated) whose pages may make signed-in "       \
      "requests with the session cookie; the console's own origin always may")                     \
    X(login_max_per_ip_email, "login-max-per-ip-email", INT, "5", 1, 1000000, 0,                   \
      "sign-in attempts for one e-mail from one address per window before 429")                    \
    X(login_max_per_email, "login-max-per-email", INT, "10", 1, 1000000, 0,                        \
      "sign-in attempts for one e-mail from all addresses per window before 429")                  \
    X(login_max_per_ip, "login-max-per-ip", INT, "100", 1, 1000000, 0,                             \
      "sign-in attempts from one address, any e-mail, per window before 429 (a ceiling above "     \
      "what one office behind a NAT produces)")                                                    \
    X(hash_threads, "hash-threads", INT, "0", 0, 64, 0,                                            \
      "threads that hash and check passwords (argon2id, 64 MiB each); 0: half the cores")          \
    X(hash_queue, "hash-queue", INT, "64", 1, 100000, 0,                                           \
      "password checks waiting for a hashing thread before sign-ins get 503")                      \
    X(login_window, "login-window", INT, "900", 1, 86400, 0,                                       \
      "seconds of the login-failure window")                                                       \
    X(shutdown_timeout, "shutdown-timeout", INT, "10000", 0, 600000, 0,                            \
      "ms to finish in-flight work on SIGTERM")                                                    \
    X(senti_models, "senti-models", INT, "256", 1, 1000000, 0,                                     \
      "accounts whose own sentiment model stays in memory (about 0.7 MB each; the least recently " \
      "used others score with the seed model until they next need theirs)")                        \
    X(admin_email, "admin-email", STR, "", 0, 0, 0, "first admin's e-mail (first start only)")     \
    X(admin_password, "admin-password", STR, "", 0, 0, 1,                                          \
      "first admin's password (first start only; generated and printed when empty)")

struct cfg {
#define CFG_FIELD_STR char *
#define CFG_FIELD_INT int64_t
#define CFG_FIELD_BOOL bool
#define CFG_FIELD_ENUM char *
#define CFG_FIELD(field, name, type, def, min, max, secret, help) CFG_FIELD_##type field;
    CFG_MAP(CFG_FIELD)
#undef CFG_FIELD
    char *config_file;
};

extern struct cfg cfg;

/* cfg_load: fills `cfg` from all sources. Returns 0, 1 when --help or --version was printed (exit
 * 0), or ERR_INVAL with a message naming the option in err (exit 2). argv[first..] are the flags.
 */
int cfg_load(struct cfg *c, int argc, char **argv, int first, char *err, size_t errlen);
/* cfg_set: sets one option by name from a string (bounds checked). */
int cfg_set(struct cfg *c, const char *name, const char *value, char *err, size_t errlen);
void cfg_defaults(struct cfg *c);
void cfg_release(struct cfg *c);
void cfg_usage(FILE *out);

#endif
