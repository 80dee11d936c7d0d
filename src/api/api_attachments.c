/* api_attachments.c: file uploads from agents and visitors, and downloads.
 *
 * The body is the raw file with its Content-Type (no multipart). Only listed types are taken, and
 * an image must really be one (its magic bytes). Files are stored once per content, named by their
 * SHA-256 under data-dir/attachments/ab/abcdef..., written to a temporary name, fsynced and
 * renamed, so a file exists whole or not at all; hashing and writing run on the thread pool. The
 * row (per upload: account, name, type, uploader) is committed before the answer.
 *
 * A download URL carries a capability: /api/v1/attachments/{id}?t={token}, where the token is 32
 * random bytes made for this upload (so the same file in two accounts, or twice in one, has two
 * unrelated URLs) and checked in constant time. It works in an <img> tag for agents and visitors
 * alike. The content's hash names the file on disk and is never accepted as a key. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "api/app.h"
#include "model/attachment.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *type;
    bool image;
} allowed[] = {
    {"image/png", true},
    {"image/jpeg", true},
    {"image/gif", true},
    {"image/webp", true},
    {"application/pdf", false},
    {"text/plain", false},
    {"text/csv", false},
    {"application/zip", false},
    {"application/msword", false},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
};

enum { FILENAME_MAX_CHARS = 200, ATTACH_TOKEN_BYTES = 32 };

struct upload_job {
    uv_work_t work;
    struct http_req *r;
    int64_t account_id, uploader_id;
    const char *uploader_type;
    const char *type, *filename;
    bool image;
    char sha[65];
    char token[2 * ATTACH_TOKEN_BYTES + 1];
    int err; /* from the worker */
    const char *err_msg;
    int64_t id;
    json_t *body;
};

static bool image_magic(const char *type, const unsigned char *p, size_t n)
{
    if (strcmp(type, "image/png") == 0)
        return n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
    if (strcmp(type, "image/jpeg") == 0)
        return n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff;
    if (strcmp(type, "image/gif") == 0)
        return n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0);
    if (strcmp(type, "image/webp") == 0)
        return n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0;
    return false;
}

static void file_path(const char *sha, char *out, size_t len, bool dir_only)
{
    if (dir_only)
        snprintf(out, len, "%s/attachments/%.2s", the_app->data_dir, sha);
    else
        snprintf(out, len, "%s/attachments/%.2s/%s", the_app->data_dir, sha, sha);
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* store_file: on the thread pool. */
static void upload_work(uv_work_t *w)
{
    struct upload_job *j = w->data;
    const unsigned char *p = (const unsigned char *)j->r->body.p;
    size_t n = j->r->body.len;
    if (j->image && !image_magic(j->type, p, n)) {
        j->err = ERR_VALIDATION;
        j->err_msg = "The file is not the image its Content-Type says; send the right type.";
        return;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, n);
    hex_encode(h, sizeof(h), j->sha);
    char dir[4200], path[4300], tmp[4400];
    snprintf(dir, sizeof(dir), "%s/attachments", the_app->data_dir);
    mkdir(dir, 0750);
    file_path(j->sha, dir, sizeof(dir), true);
    mkdir(dir, 0750);
    file_path(j->sha, path, sizeof(path), false);
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == n)
        return; /* the same content is already stored */
    unsigned char rnd[8];
    char suffix[17];
    randombytes_buf(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), suffix);
    snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, suffix);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    size_t off = 0;
    while (fd >= 0 && off < n) {
        ssize_t k = write(fd, p + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    bool ok = fd >= 0 && off == n && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0 && fsync_path(dir, O_RDONLY | O_DIRECTORY) == 0;
    if (!ok) {
        log_err("attach", "cannot store %s: %s", path, strerror(errno));
        unlink(tmp);
        j->err = ERR_INTERNAL;
    }
}

static int insert_fn(struct store_tx *tx, void *arg)
{
    struct upload_job *j = arg;
    int rc = tx_query_i64(
        tx, &j->id,
        "INSERT INTO attachments (account_id, sha256, filename, content_type, size,"
        " uploader_type, uploader_id, created_at, token)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        "itttitiit", j->account_id, j->sha, j->filename, j->type, (int64_t)j->r->body.len,
        j->uploader_type, j->uploader_id, clock_wall_ms(), j->token);
    if (rc < 0)
        return rc;
    j->body = attachment_json(j->id, j->filename, j->type, (int64_t)j->r->body.len, j->token);
    return 0;
}

static void insert_done(void *arg, int rc)
{
    struct upload_job *j = arg;
    if (rc < 0)
        http_respond_error(j->r, rc, NULL, NULL);
    else
        http_respond_json(j->r, 201, j->body);
}

static void upload_after(uv_work_t *w, int status)
{
    struct upload_job *j = w->data;
    if (status < 0 || j->err) {
        http_respond_error(j->r, j->err ? j->err : ERR_INTERNAL, j->err_msg ? "body" : NULL,
                           j->err_msg);
        return;
    }
    app_store_write(j->r, insert_fn, insert_done, j);
}

/* clean_filename: the last path component, control characters and quotes replaced, 1..200
 * characters; "file" if nothing is left. */
static const char *clean_filename(struct http_req *r, const char *in)
{
    const char *base = in ? in : "";
    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = strlen(base);
    if (n == 0 || !utf8_valid(base, n))
        return "file";
    char *out = arena_strndup(&r->arena, base, n);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
            *p = '_';
    if (utf8_chars(out, strlen(out)) > FILENAME_MAX_CHARS)
        return "file";
    return out;
}

static void start_upload(struct http_req *r, int64_t account_id, const char *uploader_type,
                         int64_t uploader_id)
{
    struct span ct = http_header(r, "Content-Type");
    const char *semi = ct.len ? memchr(ct.p, ';', ct.len) : NULL;
    struct span type = span_trim(semi ? (struct span){ct.p, (size_t)(semi - ct.p)} : ct);
    int k = -1;
    for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
        if (span_case_eq(type, allowed[i].type))
            k = (int)i;
    if (k < 0) {
        http_respond_error(r, ERR_MEDIA, NULL,
                           "This file type cannot be attached. Send images (PNG, JPEG, GIF, WebP),"
                           " PDF, text, CSV, ZIP or Office documents.");
        return;
    }
    if (r->body.len == 0) {
        http_respond_error(r, ERR_VALIDATION, "body", "The file is empty.");
        return;
    }
    struct upload_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = account_id;
    j->uploader_type = uploader_type;
    j->uploader_id = uploader_id;
    j->type = allowed[k].type;
    j->image = allowed[k].image;
    j->filename = clean_filename(r, http_query(r, "filename"));
    unsigned char rnd[ATTACH_TOKEN_BYTES];
    randombytes_buf(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), j->token);
    j->work.data = j;
    if (uv_queue_work(the_app->loop, &j->work, upload_work, upload_after) < 0)
        http_respond_error(r, ERR_INTERNAL, NULL, NULL);
}

static void h_upload(struct http_req *r)
{
    struct principal *p = req_principal(r);
    start_upload(r, p->account_id, "user", p->user_id);
}

static void h_widget_upload(struct http_req *r)
{
    struct visitor_claims *c = req_visitor(r); /* checked on the head, before the body */
    start_upload(r, c->account_id, "contact", c->contact_id);
}

/* ---- download ---- */

struct download_job {
    uv_work_t work;
    struct http_req *r;
    int64_t id;
    char token[2 * ATTACH_TOKEN_BYTES + 1], sha[65], type[128], filename[1024];
    int fd;
    uint64_t size;
    int err;
};

static int find_fn(struct store_tx *tx, void *arg)
{
    struct download_job *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT token, sha256, content_type, filename FROM attachments WHERE id = $1",
                      "i", j->id);
    if (rc < 0)
        return rc;
    bool found = false;
    /* A wrong token and a missing row look the same; the comparison takes the same time wherever
     * the first difference is. */
    if ((rc = rows_next(&rows)) == 1 && rows_len(&rows, 0) == 2 * ATTACH_TOKEN_BYTES &&
        sodium_memcmp(rows_text(&rows, 0), j->token, 2 * ATTACH_TOKEN_BYTES) == 0 &&
        rows_len(&rows, 1) == 64) {
        found = true;
        memcpy(j->sha, rows_text(&rows, 1), 65);
        snprintf(j->type, sizeof(j->type), "%s", rows_text(&rows, 2));
        snprintf(j->filename, sizeof(j->filename), "%s", rows_text(&rows, 3));
    }
    rows_close(&rows);
    return rc < 0 ? rc : found ? 0 : ERR_NOTFOUND;
}

/* open_work: on the thread pool; the HTTP layer streams the file from the descriptor. */
static void open_work(uv_work_t *w)
{
    struct download_job *j = w->data;
    char path[4300];
    file_path(j->sha, path, sizeof(path), false);
    j->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (j->fd < 0) {
        /* out of descriptors: a moment later there may be one */
        j->err = errno == EMFILE || errno == ENFILE ? ERR_BUSY : ERR_NOTFOUND;
        if (j->err == ERR_NOTFOUND)
            log_err("attach", "attachment %" PRId64 ": cannot open %s: %s", j->id, path,
                    strerror(errno));
        return;
    }
    if (fstat(j->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(j->fd);
        j->fd = -1;
        j->err = ERR_INTERNAL;
        return;
    }
    j->size = (uint64_t)st.st_size;
}

static void open_after(uv_work_t *w, int status)
{
    struct download_job *j = w->data; /* j lives in the request's arena */
    struct http_req *r = j->r;
    if (status < 0 || j->err) { /* open_work holds no descriptor when it fails */
        http_respond_error(r, j->err ? j->err : ERR_INTERNAL, NULL, NULL);
        return;
    }
    bool image = strncmp(j->type, "image/", 6) == 0;
    /* RFC 6266 / 5987: an ASCII fallback and the UTF-8 name, percent-encoded. */
    char enc[3200], ascii[256];
    size_t o = 0, a = 0;
    for (const unsigned char *p = (const unsigned char *)j->filename; *p && o + 4 < sizeof(enc);
         p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            enc[o++] = (char)*p;
        else
            o += (size_t)snprintf(enc + o, sizeof(enc) - o, "%%%02X", *p);
        if (a + 1 < sizeof(ascii))
            ascii[a++] = *p < 0x80 && *p != '\\' ? (char)*p : '_';
    }
    enc[o] = ascii[a] = '\0';
    http_add_header(r, "Content-Disposition: %s; filename=\"%s\"; filename*=UTF-8''%s",
                    image ? "inline" : "attachment", ascii, enc);
    http_add_header(r, "X-Content-Type-Options: nosniff");
    http_add_header(r, "Content-Security-Policy: default-src 'none'; sandbox");
    http_add_header(r, "Cache-Control: private, max-age=31536000, immutable");
    /* An attachment's bytes never change: its id names one version (not its hash, which is no
     * one's business). */
    char etag[48];
    snprintf(etag, sizeof(etag), "\"a%" PRId64 "-%" PRIu64 "\"", j->id, j->size);
    http_add_header(r, "ETag: %s", etag);
    http_serve_file(r, j->type, j->fd, j->size, etag);
}

static void find_done(void *arg, int rc)
{
    struct download_job *j = arg;
    if (rc < 0) {
        http_respond_error(j->r, rc, NULL, NULL);
        return;
    }
    j->work.data = j;
    if (uv_queue_work(the_app->loop, &j->work, open_work, open_after) < 0)
        http_respond_error(j->r, ERR_INTERNAL, NULL, NULL);
}

static void h_download(struct http_req *r)
{
    struct download_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->fd = -1;
    const char *t = http_query(r, "t");
    if (app_id_param(r, "id", &j->id) < 0)
        return;
    if (!t || strlen(t) != 2 * ATTACH_TOKEN_BYTES ||
        strspn(t, "0123456789abcdef") != 2 * ATTACH_TOKEN_BYTES) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    memcpy(j->token, t, sizeof(j->token));
    app_store_read(r, find_fn, find_done, j);
}

void api_attachments_routes(struct router *rt)
{
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/attachments", h_upload,
               R_ACCOUNT | ROUTE_UPLOAD);
    router_add(rt, HTTP_POST, "/api/v1/widget/attachments", h_widget_upload,
               R_VISITOR | ROUTE_UPLOAD);
    router_add(rt, HTTP_GET, "/api/v1/attachments/{id}", h_download, R_PUBLIC);
}
