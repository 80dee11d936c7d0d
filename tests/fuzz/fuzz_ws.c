/* fuzz_ws.c: WebSocket framing as parleyd runs it (src/net/ws.c on wslay, after a real upgrade
 * through src/net/server.c): masked client frames, fragments, control frames between fragments,
 * close codes and reasons, UTF-8 checks across fragments, messages over ws-max-message, the
 * parser that comes and goes with input, and the server's own frames (echoes, pings, closes, a
 * slow reader's 1008) interleaved with what the client sends.
 *
 * Input: 4 header bytes, then the bytes the client sends after the upgrade request.
 *   [0] flags: 1 upgrade request and first frames in one write (they wait in the stash),
 *       2 end with RST (else FIN), 4|8 limits profile, 16 the upgrade is accepted later (like
 *       /ws?token, authenticated by a lookup first), 32 a client that does not read,
 *       64 server-side events between chunks, 128 half-close after the last byte
 *   [1..2] seed for the split points and the events
 *   [3] 0, or close the client early after chunk number [3] - 1
 * The application echoes each text message; a message starting "close" makes it close the socket
 * from inside the callback, one starting "flood" makes it send until the queue is full.
 *
 * Checks besides the sanitizers: every message the application gets is valid UTF-8 and within
 * ws-max-message; on_close comes exactly once for every accepted socket; and what the server sends
 * after the 101 are well-formed server frames (unmasked, no RSV bits, known opcodes, whole control
 * frames of at most 125 bytes, valid close codes, UTF-8 text and reasons, nothing after a close).
 */
#include "base/sys.h"
#include "base/str.h"

#include <http_parser.h>

#include "net/conn.h"
#include "net/http.h"
#include "net/ws.h"
#include "net_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char UPGRADE[] =
    "GET /ws%s HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

/* ---- the application ---- */

static uint64_t open_ids[8];
static size_t nopen;
static struct http_req *deferred[8];
static size_t ndeferred;

static void on_text(struct server *srv, uint64_t id, void *user, const char *p, size_t len)
{
    UNUSED(user);
    if (!utf8_valid(p, len) || len > srv->lim.ws_max_message) {
        fprintf(stderr, "fuzz_ws: on_text got %zu bytes that are %s\n", len,
                len > srv->lim.ws_max_message ? "over ws-max-message" : "not UTF-8");
        abort();
    }
    if (len >= 5 && memcmp(p, "close", 5) == 0) {
        ws_close(srv, id, 1000, "bye");
        return;
    }
    if (len >= 5 && memcmp(p, "flood", 5) == 0) {
        static char big[8192];
        memset(big, 'x', sizeof(big));
        for (int i = 0; i < 32 && ws_send_text(srv, id, big, sizeof(big)) == 0; i++)
            ;
        return;
    }
    ws_send_text(srv, id, p, len);
}

static void on_close(struct server *srv, uint64_t id, void *user)
{
    UNUSED(srv);
    UNUSED(user);
    for (size_t i = 0; i < nopen; i++)
        if (open_ids[i] == id) {
            open_ids[i] = open_ids[--nopen];
            return;
        }
    fprintf(stderr, "fuzz_ws: on_close for socket %" PRIu64 ", which is not open\n", id);
    abort();
}

static const struct ws_handler handler = {.on_text = on_text, .on_close = on_close};

static void accept_ws(struct http_req *r)
{
    uint64_t id;
    if (ws_accept(r, &handler, NULL, &id) == 0) {
        if (nopen == ARRAY_SIZE(open_ids))
            abort();
        open_ids[nopen++] = id;
    }
}

static void h_ws(struct http_req *r)
{
    if (http_query(r, "token") && ndeferred < ARRAY_SIZE(deferred))
        deferred[ndeferred++] = r;
    else
        accept_ws(r);
}

static void pump(void)
{
    size_t n = ndeferred;
    ndeferred = 0;
    for (size_t i = 0; i < n; i++)
        accept_ws(deferred[i]);
}

/* ---- what the client reads: the 101, then server frames ---- */

/* The checks are not what is being fuzzed: no coverage feedback from them (and they read every
 * byte the server sends, which is slow when instrumented). */
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))

/* A UTF-8 check that takes its input in pieces. */
struct u8 {
    unsigned need, cp, min;
};

NO_COVERAGE static bool u8_feed(struct u8 *u, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (u->need) {
            if ((c & 0xC0) != 0x80)
                return false;
            u->cp = u->cp << 6 | (c & 0x3F);
            if (--u->need == 0 &&
                (u->cp < u->min || u->cp > 0x10FFFF || (u->cp >= 0xD800 && u->cp <= 0xDFFF)))
                return false;
            continue;
        }
        if (c < 0x80)
            continue;
        if ((c & 0xE0) == 0xC0)
            u->need = 1, u->cp = c & 0x1F, u->min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            u->need = 2, u->cp = c & 0x0F, u->min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            u->need = 3, u->cp = c & 0x07, u->min = 0x10000;
        else
            return false;
    }
    return true;
}

struct frames {
    uint32_t last4; /* the response head's last bytes, to find its end */
    char status[16];
    size_t head_len;
    bool head_done, upgraded, closed;
    uint8_t buf[2 + 8 + 125]; /* a frame header, and a control frame's payload */
    size_t have;
    uint64_t skip; /* payload bytes of the text frame being read */
    struct u8 text;
};

static void violation(const char *what)
{
    fprintf(stderr, "fuzz_ws: the server sent %s\n", what);
    abort();
}

/* Codes an endpoint may send (RFC 6455 7.4, and the IANA registry: 1012-1014). */
NO_COVERAGE static bool close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

NO_COVERAGE static void frame_bytes(struct frames *f, const uint8_t *p, size_t n)
{
    while (n) {
        if (f->closed)
            violation("bytes after its close frame");
        if (f->skip) {
            size_t k = (size_t)MIN((uint64_t)n, f->skip);
            if (!u8_feed(&f->text, p, k))
                violation("a text frame that is not UTF-8");
            f->skip -= k;
            p += k;
            n -= k;
            if (f->skip == 0 && f->text.need)
                violation("a text frame that ends inside a UTF-8 sequence");
            continue;
        }
        f->buf[f->have++] = *p++;
        n--;
        if (f->have < 2)
            continue;
        uint8_t b0 = f->buf[0], b1 = f->buf[1];
        size_t hl = (b1 & 0x7f) == 126 ? 4 : (b1 & 0x7f) == 127 ? 10 : 2;
        if (f->have < hl)
            continue;
        uint64_t len = b1 & 0x7f;
        if (len == 126)
            len = (uint64_t)f->buf[2] << 8 | f->buf[3];
        else if (len == 127)
            for (int i = 0; i < 8; i++)
                len = len << 8 | f->buf[2 + i];
        if (b1 & 0x80)
            violation("a masked frame");
        if (b0 & 0x70)
            violation("a frame with RSV bits");
        int op = b0 & 0x0f;
        if (op != 1 && op != 8 && op != 9 && op != 10)
            violation("a frame with an opcode it never uses");
        if (!(b0 & 0x80))
            violation("a fragment (its messages are whole)");
        if (op == 1) {
            f->have = 0;
            f->skip = len;
            memset(&f->text, 0, sizeof(f->text));
            continue;
        }
        if (len > 125)
            violation("a control frame over 125 bytes");
        if (f->have < hl + len)
            continue;
        const uint8_t *body = f->buf + hl;
        if (op == 8) {
            struct u8 u = {0};
            if (len == 1)
                violation("a close frame with a 1-byte body");
            if (len >= 2 && !close_code_ok((unsigned)body[0] << 8 | body[1]))
                violation("a close frame with a code that may not be sent");
            if (len > 2 && (!u8_feed(&u, body + 2, len - 2) || u.need))
                violation("a close reason that is not UTF-8");
            f->closed = true;
        }
        f->have = 0;
    }
}

NO_COVERAGE static void on_bytes(void *user, const uint8_t *b, size_t n)
{
    struct frames *f = user;
    for (; n && !f->head_done; b++, n--) { /* the HTTP response, up to its blank line */
        if (f->head_len < sizeof(f->status) - 1)
            f->status[f->head_len] = (char)*b;
        f->head_len++;
        f->last4 = f->last4 << 8 | *b;
        if (f->last4 == 0x0d0a0d0a) {
            f->head_done = true;
            f->upgraded = strncmp(f->status, "HTTP/1.1 101 ", 13) == 0;
        }
    }
    if (n && f->upgraded)
        frame_bytes(f, b, n);
}

/* ---- server-side events between chunks ---- */

static void server_event(struct nh_rng *rng)
{
    if (!nopen)
        return;
    uint64_t id = open_ids[nh_rand(rng) % nopen];
    struct conn *c = server_conn(&nh_srv, id);
    static char big[70000];
    if (!big[0])
        memset(big, 'y', sizeof(big));
    switch (nh_rand(rng) % 6) {
    case 0:
        if (c)
            ws__ping(c); /* what the ping timer does */
        break;
    case 1:
        if (c)
            ws__close(c, 1001, "idle timeout"); /* what the idle timeout does */
        break;
    case 2:
        ws_close(&nh_srv, id, 1008, "this chat inbox no longer exists");
        break;
    case 3:
        ws_send_text(&nh_srv, id, big, 1 + nh_rand(rng) % sizeof(big)); /* all three lengths */
        break;
    case 4:
        for (int i = 0; i < 16 && ws_send_text(&nh_srv, id, big, 16384) == 0; i++)
            ;
        break;
    default:
        ws_send_text(&nh_srv, id, "{\"type\":\"hello\"}", 16);
        break;
    }
}

/* ---- the fuzzer's entry points ---- */

static struct router rt;
static const struct server_limits base_lim = {
    .max_body = 1 << 20,
    .max_upload = 1 << 20,
    .max_header = 16384,
    .max_connections = 64,
    .ws_max_message = 65536,
    .ws_max_queue = 1 << 20,
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
    router_init(&rt);
    router_add(&rt, HTTP_GET, "/ws", h_ws, 0);
    nh_start(&rt, &base_lim);
    return 0;
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

    struct server_limits *l = &nh_srv.lim;
    *l = base_lim;
    static const size_t msg_max[] = {65536, 125, 1024, 200};
    static const size_t queue_max[] = {1 << 20, 4096, 65536, 1024};
    l->ws_max_message = msg_max[(flags >> 2) & 3];
    l->ws_max_queue = queue_max[(flags >> 2) & 3];

    struct frames fr;
    memset(&fr, 0, sizeof(fr));
    struct nh_client c;
    if (nh_connect(&c, !(flags & 32), on_bytes, &fr) < 0)
        return 0;
    char up[sizeof(UPGRADE) + 16];
    int ul = snprintf(up, sizeof(up), UPGRADE, flags & 16 ? "?token=t" : "");
    if (flags & 1) {
        /* the upgrade and the first frames in one segment */
        uint8_t first[sizeof(up) + 256];
        size_t k = MIN(n, sizeof(first) - (size_t)ul);
        memcpy(first, up, (size_t)ul);
        memcpy(first + ul, p, k);
        nh_send(&c, first, (size_t)ul + k);
        p += k;
        n -= k;
    } else {
        nh_send(&c, (const uint8_t *)up, (size_t)ul);
    }
    nh_settle();
    bool closed = false;
    for (int chunk = 0; n > 0 || chunk == 0; chunk++) {
        if (ndeferred && nh_rand(&rng) % 2 == 0) {
            pump();
            nh_settle();
        }
        size_t k = nh_chunk(&rng);
        k = MIN(k, n);
        nh_send(&c, p, k);
        p += k;
        n -= k;
        nh_settle();
        if ((flags & 64) && nh_rand(&rng) % 3 == 0) {
            server_event(&rng);
            nh_settle();
        }
        if (chunk == reset_after) {
            nh_close(&c, flags & 2);
            closed = true;
            break;
        }
    }
    if (!closed && (flags & 128)) {
        nh_half_close(&c);
        nh_settle();
    }
    pump();
    nh_settle();
    if (!closed)
        nh_close(&c, flags & 2);
    nh_finish(pump);
    if (nopen) {
        fprintf(stderr, "fuzz_ws: %zu socket(s) never got on_close\n", nopen);
        abort();
    }
    return 0;
}
