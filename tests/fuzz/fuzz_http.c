/* fuzz_http.c: the HTTP request path exactly as parleyd runs it: src/net/server.c's http-parser
 * callbacks (head limits, URL decoding, headers split across reads, Content-Length and chunked
 * bodies, Expect: 100-continue, pipelining and the stash, upgrades), the router, src/net/http.c's
 * lookups and responses, static files, and the WebSocket upgrade, over a real loopback connection.
 *
 * Input: 4 header bytes, then the bytes the client sends.
 *   [0] flags: 1 trust-proxy, 2|4 limits profile, 8 end with RST (else FIN), 16 half-close after
 *       the last byte, 32 a second connection, 64 answer deferred requests after every chunk,
 *       128 a client that does not read
 *   [1..2] seed for the split points and the moments deferred requests are answered
 *   [3] 0, or close the client early (RST with flag 8) after chunk number [3] - 1
 *
 * The routes mirror the real application's shapes: public routes answered at once, routes behind
 * a token whose "auth lookup" finishes later (like the reader-thread lookup in api/app.c), handlers
 * that answer after a "store job" (later still), an upload route with the larger body cap, and
 * /ws. So requests are often in flight when the client pipelines more, half-closes or resets.
 *
 * Checks besides the sanitizers: what the server sends parses as HTTP/1.1 responses (no response
 * splitting, no garbage), no 500, no byte of a file outside the web root (a marker in a sibling
 * file and a symlink to it), and every connection is gone once its client is. */
#include "base/sys.h"
#include "base/json.h"
#include "base/str.h"

#include <http_parser.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/app.h"
#include "conv/conv.h"
#include "model/password.h"
#include "model/user.h"
#include "net/http.h"
#include "net/static.h"
#include "net/ws.h"
#include "net_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_PUBLIC = 1u << 0, F_ACCOUNT = 1u << 1 };
static const char SECRET[] = "PARLEY-FUZZ-SECRET-7d1f";

/* ---- requests answered later ---- */

enum pend_kind { P_AUTH, P_ANSWER, P_WS };
struct pend {
    struct http_req *r;
    enum pend_kind kind;
};
static struct pend pend[64];
static size_t npend;
static bool answer_now; /* answer deferred work when it is queued (flag 64) */

static void defer(struct http_req *r, enum pend_kind kind)
{
    if (npend == ARRAY_SIZE(pend)) {
        fprintf(stderr, "fuzz_http: more than %zu requests in flight\n", ARRAY_SIZE(pend));
        abort();
    }
    pend[npend++] = (struct pend){r, kind};
}

static void ws_text(struct server *srv, uint64_t id, void *user, const char *p, size_t len)
{
    UNUSED(user);
    ws_send_text(srv, id, p, len);
}

static const struct ws_handler ws_echo = {.on_text = ws_text};

static void answer(struct pend *p)
{
    struct http_req *r = p->r;
    switch (p->kind) {
    case P_AUTH: /* the token "resolved": an account route checks {aid}, like api/app.c */
        if (r->route->flags & F_ACCOUNT) {
            int64_t aid;
            if (app_id_param(r, "aid", &aid) < 0)
                return;
        }
        r->route->fn(r);
        return;
    case P_WS:
        ws_accept(r, &ws_echo, NULL, NULL);
        return;
    case P_ANSWER: {
        json_t *v = r->user ? r->user : json_object();
        r->user = NULL;
        json_object_set_new(v, "path", json_stringn(r->path.p, r->path.len));
        http_respond_json(r, 200, v);
        return;
    }
    }
}

/* Answers what is queued now (answers may queue more: the next pump takes those). */
static void pump(void)
{
    size_t n = npend;
    struct pend batch[ARRAY_SIZE(pend)];
    memcpy(batch, pend, n * sizeof(*batch));
    memmove(pend, pend + n, (npend - n) * sizeof(*pend));
    npend -= n;
    for (size_t i = 0; i < n; i++)
        answer(&batch[i]);
}

/* ---- routes ---- */

static void h_health(struct http_req *r)
{
    http_respond(r, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

static void h_login(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    const char *email = NULL, *password = NULL;
    char norm[USER_EMAIL_MAX + 1];
    int rc = json_field_str(body, "email", true, 1, USER_EMAIL_MAX, &email, &f);
    if (rc >= 0)
        rc = json_field_str(body, "password", true, 1, PASSWORD_MAX, &password, &f);
    if (rc >= 0 && !user_email_normalize(email, norm))
        rc = json_fail(&f, "email", "not an e-mail address");
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    /* A value from the request in a response header: http_add_header must keep it on one line. */
    http_add_header(r, "Set-Cookie: parley_session=%s; HttpOnly; SameSite=Lax", norm);
    http_respond_json(r, 200, body);
}

static void h_list(struct http_req *r)
{
    int64_t limit, offset;
    if (app_page(r, &limit, &offset) < 0)
        return;
    const char *q = http_query(r, "q");
    json_t *v = json_pack("{s:I, s:I}", "limit", (json_int_t)limit, "offset", (json_int_t)offset);
    if (q)
        json_object_set_new(v, "q", json_string(q));
    r->user = v;
    defer(r, P_ANSWER); /* the store job */
}

static void h_message(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct msg_send ms;
    memset(&ms, 0, sizeof(ms));
    struct jfail f = {0};
    int rc = msg_send_parse(body, &ms, true, false, &f);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return;
    }
    r->user = json_pack("{s:s}", "content", ms.content);
    msg_send_release(&ms);
    defer(r, P_ANSWER);
}

static void h_upload(struct http_req *r)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"size\":%zu}", r->body.len);
    http_respond(r, 201, "application/json", body, (size_t)n);
}

static void h_availability(struct http_req *r)
{
    static const char *const states[] = {"online", "away", "offline", NULL};
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    int st;
    int rc = json_field_enum(body, "availability", true, states, &st, &f);
    json_decref(body);
    if (rc < 0)
        http_respond_jfail(r, rc, &f);
    else
        http_respond(r, 204, NULL, NULL, 0);
}

static void h_ws(struct http_req *r)
{
    if (http_query(r, "token"))
        defer(r, P_WS); /* authenticated before the upgrade, by a lookup that takes a while */
    else
        ws_accept(r, &ws_echo, NULL, NULL);
}

/* The middleware's shape (api/app.c app_dispatch): public routes now, the rest after a lookup. */
static void dispatch(struct http_req *r)
{
    if (span_starts_with(r->path, "/api/v1/widget/"))
        http_add_header(r, "Access-Control-Allow-Origin: *");
    if (r->route->flags & F_PUBLIC) {
        r->route->fn(r);
        return;
    }
    if (!auth_request_token(r).len) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    defer(r, P_AUTH);
}

/* ---- the web root: served files, and a secret next to it ---- */

static char tmp_root[64];

static void put_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

static void remove_tree(const char *root)
{
    static const char *const files[] = {"web/assets/app.js", "web/app.js.gz",      "web/app.js",
                                        "web/index.html",    "web/sub/index.html", "web/leak",
                                        "secret.txt"};
    static const char *const dirs[] = {"web/assets", "web/sub", "web", ""};
    char path[512];
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, files[i]);
        unlink(path);
    }
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
        rmdir(path);
    }
}

static void remove_root(void)
{
    remove_tree(tmp_root);
}

/* A run that crashed (or was killed) never got to remove_root: clear the roots of processes that
 * are gone, so that a shared /tmp does not fill up with them. */
static void remove_stale_roots(void)
{
    DIR *d = opendir("/tmp");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char proc[64], path[300];
        if (sscanf(e->d_name, "parley-fuzz-http-%ld", &pid) != 1 || pid <= 0)
            continue;
        snprintf(proc, sizeof(proc), "/proc/%ld", pid);
        if (access(proc, F_OK) == 0)
            continue;
        snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
        remove_tree(path);
    }
    closedir(d);
}

static void make_root(void)
{
    remove_stale_roots();
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/parley-fuzz-http-%ld", (long)getpid());
    remove_tree(tmp_root);
    if (mkdir(tmp_root, 0700) < 0) {
        perror(tmp_root);
        abort();
    }
    atexit(remove_root);
    char path[256];
    static const char *const dirs[] = {"web", "web/assets", "web/sub"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmp_root, dirs[i]);
        mkdir(path, 0700);
    }
    put_file("web/index.html", "<!doctype html><title>console</title>\n");
    put_file("web/sub/index.html", "<p>sub</p>\n");
    put_file("web/app.js", "console.log(1);\n");
    put_file("web/app.js.gz", "\x1f\x8b not really gzip\n");
    put_file("web/assets/app.js", "export const x = 1;\n");
    put_file("secret.txt", SECRET);
    char target[256];
    snprintf(target, sizeof(target), "%s/secret.txt", tmp_root);
    snprintf(path, sizeof(path), "%s/web/leak", tmp_root);
    if (symlink(target, path) < 0) {
        perror("symlink");
        abort();
    }
    snprintf(path, sizeof(path), "%s/web", tmp_root);
    static_init(path);
}

/* ---- what the client reads ---- */

/* The checks are not what is being fuzzed: no coverage feedback from them. */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

struct resp_check {
    http_parser p;
    bool skip;     /* the input has a HEAD request: a response parser cannot know its length */
    bool upgraded; /* a 101 came: the rest are WebSocket frames */
    size_t secret_match;
};

NO_COVERAGE static int on_resp_headers(http_parser *p)
{
    struct resp_check *rc = p->data;
    if (p->status_code == 500) {
        fprintf(stderr, "fuzz_http: the server answered 500\n");
        abort();
    }
    if (p->status_code == 101)
        rc->upgraded = true;
    return 0;
}

static const http_parser_settings resp_settings = {.on_headers_complete = on_resp_headers};

NO_COVERAGE static void on_bytes(void *user, const uint8_t *b, size_t n)
{
    struct resp_check *rc = user;
    /* The secret marker, even split across reads. */
    for (size_t i = 0; i < n; i++) {
        rc->secret_match = b[i] == (uint8_t)SECRET[rc->secret_match] ? rc->secret_match + 1
                           : b[i] == (uint8_t)SECRET[0]              ? 1
                                                                     : 0;
        if (rc->secret_match == sizeof(SECRET) - 1) {
            fprintf(stderr, "fuzz_http: a file outside the web root was served\n");
            abort();
        }
    }
    if (rc->skip || rc->upgraded)
        return;
    size_t done = http_parser_execute(&rc->p, &resp_settings, (const char *)b, n);
    if (rc->upgraded || rc->p.upgrade)
        return;
    if (HTTP_PARSER_ERRNO(&rc->p) != HPE_OK || done != n) {
        fprintf(stderr, "fuzz_http: the server sent a malformed response (%s) after %zu bytes\n",
                http_errno_name(HTTP_PARSER_ERRNO(&rc->p)), done);
        abort();
    }
}

/* ---- the fuzzer's entry points ---- */

static struct router rt;
static const struct server_limits base_lim = {
    .max_body = 1 << 20,
    .max_upload = 4 << 20,
    .max_header = 16384,
    .max_connections = 64,
    .ws_max_message = 65536,
    .ws_max_queue = 1 << 20,
    /* Time-driven paths (timeouts, pings) are left to the integration tests: a loop timer would
     * make runs depend on the machine's speed. */
    .header_timeout = 600000,
    .body_timeout = 600000,
    .idle_timeout = 600000,
    .ws_idle_timeout = 600000,
    .ws_ping_interval = 600000,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    UNUSED(argc);
    UNUSED(argv);
    make_root();
    router_init(&rt);
    rt.dispatch = dispatch;
    rt.fallback = static_serve;
    router_add(&rt, HTTP_GET, "/healthz", h_health, F_PUBLIC);
    router_add(&rt, HTTP_POST, "/api/v1/auth/login", h_login, F_PUBLIC);
    router_add(&rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations", h_list, F_ACCOUNT);
    router_add(&rt, HTTP_POST, "/api/v1/accounts/{aid}/conversations/{cid}/messages", h_message,
               F_ACCOUNT);
    router_add(&rt, HTTP_POST, "/api/v1/accounts/{aid}/attachments", h_upload,
               F_ACCOUNT | ROUTE_UPLOAD);
    router_add(&rt, HTTP_PUT, "/api/v1/me/availability", h_availability, 0);
    router_add(&rt, HTTP_POST, "/api/v1/widget/sessions", h_upload, F_PUBLIC);
    router_add(&rt, HTTP_GET, "/ws", h_ws, F_PUBLIC);
    nh_start(&rt, &base_lim);
    return 0;
}

static void set_limits(int profile, bool trust_proxy)
{
    struct server_limits *l = &nh_srv.lim;
    *l = base_lim;
    l->trust_proxy = trust_proxy;
    switch (profile) {
    case 1: /* tight: the limits are hit at a few bytes */
        l->max_header = 256;
        l->max_body = 64;
        l->max_upload = 512;
        l->ws_max_message = 125;
        break;
    case 2:
        l->max_header = 1024;
        l->max_body = 1024;
        l->max_upload = 8192;
        break;
    case 3: /* one connection at a time: a second one is turned away */
        l->max_connections = 1;
        l->max_header = 4096;
        l->max_body = 4096;
        l->max_upload = 4096; /* not above max_body: the upload route gets no larger cap */
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t flags = data[0];
    struct nh_rng rng;
    nh_rng_seed(&rng, data + 1, 2);
    int reset_after = data[3] ? data[3] - 1 : -1;
    const uint8_t *p = data + 4;
    size_t n = size - 4;
    set_limits((flags >> 1) & 3, flags & 1);
    answer_now = flags & 64;

    struct resp_check check;
    memset(&check, 0, sizeof(check));
    http_parser_init(&check.p, HTTP_RESPONSE);
    check.p.data = &check;
    check.skip = memmem(p, n, "HEAD", 4) != NULL;

    struct nh_client c, c2;
    if (nh_connect(&c, !(flags & 128), on_bytes, &check) < 0)
        return 0;
    bool closed = false;
    for (int chunk = 0; n > 0; chunk++) {
        size_t k = nh_chunk(&rng); /* not inside MIN(): it would draw twice */
        k = MIN(k, n);
        nh_send(&c, p, k);
        p += k;
        n -= k;
        nh_settle();
        if (answer_now || nh_rand(&rng) % 4 == 0) {
            pump();
            nh_settle();
        }
        if (chunk == 0 && (flags & 32)) {
            /* Another client at the same time: the 503 path with max-connections 1. */
            struct resp_check check2;
            memset(&check2, 0, sizeof(check2));
            check2.skip = true;
            if (nh_connect(&c2, true, on_bytes, &check2) == 0) {
                nh_send(&c2, data + 4, MIN(size - 4, 64));
                nh_settle();
                nh_close(&c2, nh_rand(&rng) & 1);
                nh_settle();
            }
        }
        if (chunk == reset_after) {
            nh_close(&c, flags & 8);
            closed = true;
            break;
        }
    }
    if (!closed && (flags & 16)) {
        nh_half_close(&c);
        nh_settle();
    }
    /* Answer everything in flight (each answer may let a pipelined request through), then go. */
    for (int round = 0; npend && round < 64; round++) {
        pump();
        nh_settle();
    }
    if (!closed)
        nh_close(&c, flags & 8);
    nh_finish(pump);
    return 0;
}
