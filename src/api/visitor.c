/* visitor.c: visitor tokens. A widget visitor has no password: the widget keeps a random visitor_id
 * (which finds their contact again) and gets a token for this visit, signed with the server's key
 * (HMAC-SHA-256), so checking it needs no database read, even in a reconnect storm. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/str.h"
#include "api/app.h"

#include <sodium.h>

struct secret_job {
    unsigned char key[32];
    bool found;
};

static int secret_fn(struct store_tx *tx, void *arg)
{
    struct secret_job *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT value FROM server_secrets WHERE name = 'visitor_key'", "");
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1) {
        size_t n = 0;
        const char *hex = rows_text(&rows, 0);
        if (sodium_hex2bin(j->key, sizeof(j->key), hex, strlen(hex), NULL, &n, NULL) == 0 &&
            n == sizeof(j->key))
            j->found = true;
    }
    rows_close(&rows);
    if (rc < 0 || j->found)
        return rc < 0 ? rc : 0;
    randombytes_buf(j->key, sizeof(j->key));
    char hex[65];
    hex_encode(j->key, sizeof(j->key), hex);
    rc = tx_exec(tx, "INSERT INTO server_secrets (name, value) VALUES ('visitor_key', $1)", "t",
                 hex);
    return rc < 0 ? rc : 0;
}

int app_secrets_init(struct app *a, char *err, size_t errlen)
{
    struct secret_job j = {0};
    int rc = store_run_sync(a->store, secret_fn, &j);
    if (rc < 0) {
        snprintf(err, errlen, "cannot load the server's signing key: %s", err_str(rc));
        return rc;
    }
    memcpy(a->visitor_key, j.key, sizeof(j.key));
    sodium_memzero(j.key, sizeof(j.key));
    return 0;
}

static void mac_hex(const char *msg, size_t len, char out[33])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, len, the_app->visitor_key);
    hex_encode(mac, 16, out); /* 128 bits are plenty for a MAC */
}

void visitor_token_make(const struct visitor_claims *c, char out[VISITOR_TOKEN_MAX])
{
    int n = snprintf(out, VISITOR_TOKEN_MAX, "v1.%" PRId64 ".%" PRId64 ".%" PRId64 ".%" PRId64 ".",
                     c->account_id, c->inbox_id, c->contact_id, c->expires_at / 1000);
    char mac[33];
    mac_hex(out, (size_t)n, mac);
    snprintf(out + n, (size_t)(VISITOR_TOKEN_MAX - n), "%s", mac);
}

bool visitor_token_like(struct span t)
{
    return span_starts_with(t, "v1.");
}

int visitor_token_verify(struct span t, struct visitor_claims *c)
{
    if (!visitor_token_like(t) || t.len >= VISITOR_TOKEN_MAX || t.len < 3 + 32)
        return ERR_UNAUTHORIZED;
    const char *dot = memrchr(t.p, '.', t.len);
    size_t signed_len = (size_t)(dot - t.p) + 1;
    /* signed_len > 3: the claims after "v1." (rest's length below is signed_len - 4) */
    if (t.len - signed_len != 32 || signed_len <= 3)
        return ERR_UNAUTHORIZED;
    char mac[33];
    mac_hex(t.p, signed_len, mac);
    if (sodium_memcmp(mac, dot + 1, 32) != 0)
        return ERR_UNAUTHORIZED;
    struct span rest = {t.p + 3, signed_len - 4};
    int64_t v[4];
    for (int i = 0; i < 4; i++) {
        struct span part = span_split(&rest, '.');
        if (!span_to_i64(part, &v[i]) || v[i] <= 0)
            return ERR_UNAUTHORIZED;
    }
    if (rest.len)
        return ERR_UNAUTHORIZED;
    c->account_id = v[0];
    c->inbox_id = v[1];
    c->contact_id = v[2];
    c->expires_at = v[3] * 1000;
    return c->expires_at > clock_wall_ms() ? 0 : ERR_UNAUTHORIZED;
}

int visitor_auth(struct http_req *r, struct visitor_claims *c)
{
    struct span h = http_header(r, "Authorization");
    if (h.len > 7 && span_starts_with(h, "Bearer ")) {
        struct span t = span_trim((struct span){h.p + 7, h.len - 7});
        if (visitor_token_verify(t, c) == 0)
            return 0;
    }
    http_respond_error(r, ERR_UNAUTHORIZED, NULL,
                       "The visitor token is missing or expired; start a new widget session.");
    return ERR_UNAUTHORIZED;
}
