/* static.c: GET/HEAD of files under the web root with Content-Type, ETag/If-None-Match (304),
 * byte ranges, precompressed `.gz` siblings for clients that accept gzip, long caching for hashed
 * assets, and path traversal refused twice: no "." or ".." segment is accepted, and the resolved
 * real path must lie under the real root (which also stops symlinks pointing out). Files are
 * opened and read on the libuv thread pool, never on the loop: a small file whole, in the job that
 * finds it (one trip to the pool); a large one, or a range, streamed in chunks by the HTTP layer
 * (http_serve_file), so memory does not grow with the file. */
#include "base/sys.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/static.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Up to this size (and without a Range header) a file is read whole in the job that opens it. */
enum { STATIC_SMALL = 64 * 1024 };

static char *root_real; /* realpath of the root, or NULL if it does not exist */
static char *root_given;

struct static_job {
    uv_work_t work;
    struct http_req *req;
    char *rel; /* relative path, validated */
    bool want_gzip, want_range;
    /* results */
    int status;
    int fd;     /* a file to stream, or -1 */
    char *data; /* a small file read whole, or NULL */
    size_t len;
    bool gzipped;
    char etag[64];
    const char *type;
};

void static_init(const char *root)
{
    static_release();
    root_given = xstrdup(root);
    char *rp = realpath(root, NULL);
    if (rp) {
        root_real = xstrdup(rp);
        free(rp);
    } else {
        log_warn("static", "web-dir=%s does not exist; the console is not served (run `make`)",
                 root);
    }
}

void static_release(void)
{
    free(root_real);
    free(root_given);
    root_real = root_given = NULL;
}

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".yaml", "application/yaml; charset=utf-8"},
        {".wav", "audio/wav"},
        {".mp3", "audio/mpeg"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

/* A path we accept: segments of anything but "", ".", ".." and no backslash. */
static bool safe_path(struct span p)
{
    if (p.len == 0 || p.p[0] != '/')
        return false;
    struct span rest = {p.p + 1, p.len - 1};
    while (rest.len) {
        struct span seg = span_split(&rest, '/');
        if (span_eq_cstr(seg, ".") || span_eq_cstr(seg, "..") || memchr(seg.p, '\\', seg.len))
            return false;
        if (seg.len == 0 && rest.len) /* "//" */
            return false;
    }
    return true;
}

/* open_file: 200 with j->fd open (or j->data read, for a small file), 1 for a directory, 404 or
 * 500. */
static int open_file(const char *path, struct static_job *j)
{
    char *rp = realpath(path, NULL);
    if (!rp)
        return 404;
    size_t rl = strlen(root_real);
    bool inside = strncmp(rp, root_real, rl) == 0 && (rp[rl] == '/' || rp[rl] == '\0');
    if (!inside) {
        free(rp);
        return 404;
    }
    int fd = open(rp, O_RDONLY | O_CLOEXEC);
    free(rp);
    if (fd < 0)
        return errno == EMFILE || errno == ENFILE ? 503 : 404;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? 1 : 404;
    }
    j->len = (size_t)st.st_size;
    snprintf(j->etag, sizeof(j->etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    if (j->len > STATIC_SMALL || j->want_range) {
        j->fd = fd;
        return 200;
    }
    j->data = xmalloc(j->len + 1);
    size_t got = 0;
    while (got < j->len) {
        ssize_t n = read(fd, j->data + got, j->len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != j->len) {
        free(j->data);
        j->data = NULL;
        return 500;
    }
    return 200;
}

static void work_cb(uv_work_t *w)
{
    struct static_job *j = containerof(w, struct static_job, work);
    char path[4096];
    if (!root_real) {
        j->status = 404;
        return;
    }
    const char *rel = j->rel;
    for (int attempt = 0; attempt < 2; attempt++) {
        snprintf(path, sizeof(path), "%s%s", root_real, rel);
        j->type = mime_type(path);
        if (j->want_gzip) {
            char gz[4200];
            snprintf(gz, sizeof(gz), "%s.gz", path);
            if (open_file(gz, j) == 200) {
                j->gzipped = true;
                j->status = 200;
                return;
            }
        }
        j->status = open_file(path, j);
        if (j->status != 1)
            return;
        /* A directory: serve its index.html. */
        snprintf(path, sizeof(path), "%s%sindex.html", rel, rel[strlen(rel) - 1] == '/' ? "" : "/");
        free(j->rel);
        j->rel = xstrdup(path);
        rel = j->rel;
    }
    j->status = 404;
}

/* etag_matches: If-None-Match is "*" or a comma list of entity tags, each maybe weak (W/"...");
 * weak comparison applies to GET (RFC 9110 13.1.2). */
static bool etag_matches(struct span inm, const char *etag)
{
    while (inm.len) {
        struct span t = span_trim(span_split(&inm, ','));
        if (span_eq_cstr(t, "*"))
            return true;
        if (t.len > 2 && t.p[0] == 'W' && t.p[1] == '/')
            t.p += 2, t.len -= 2;
        if (span_eq_cstr(t, etag))
            return true;
    }
    return false;
}

static void after_cb(uv_work_t *w, int status)
{
    struct static_job *j = containerof(w, struct static_job, work);
    struct http_req *r = j->req;
    UNUSED(status);
    if (j->status == 200) {
        struct span inm = http_header(r, "If-None-Match");
        http_add_header(r, "ETag: %s", j->etag);
        if (strstr(j->rel, "/assets/"))
            http_add_header(r, "Cache-Control: public, max-age=31536000, immutable");
        else
            http_add_header(r, "Cache-Control: no-cache");
        http_add_header(r, "Vary: Accept-Encoding");
        http_add_header(r, "X-Content-Type-Options: nosniff");
        bool fresh = inm.len && etag_matches(inm, j->etag);
        if (j->gzipped && !fresh)
            http_add_header(r, "Content-Encoding: gzip");
        if (fresh && j->fd >= 0)
            http__close_fd(r->srv, j->fd);
        if (fresh) {
            http_respond(r, 304, NULL, NULL, 0);
        } else if (j->fd >= 0) {
            http_serve_file(r, j->type, j->fd, j->len, j->etag); /* takes the descriptor */
        } else {
            http_add_header(r, "Accept-Ranges: bytes");
            http_respond(r, 200, j->type, j->data, j->len);
        }
    } else if (j->status == 404) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
    } else if (j->status == 503) {
        http_respond_error(r, ERR_BUSY, NULL, NULL);
    } else {
        http_respond_error(r, ERR_IO, NULL, NULL);
    }
    free(j->data);
    free(j->rel);
    free(j);
}

static void serve(struct http_req *r, struct span rel)
{
    if (!safe_path(rel)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    struct static_job *j = xcalloc(1, sizeof(*j));
    j->req = r;
    j->rel = span_eq_cstr(rel, "/") ? xstrdup("/index.html") : xstrndup(rel.p, rel.len);
    struct span ae = http_header(r, "Accept-Encoding");
    j->want_gzip = ae.len && memmem(ae.p, ae.len, "gzip", 4) != NULL;
    j->want_range = r->method == HTTP_GET && http_header(r, "Range").len > 0;
    j->fd = -1;
    if (uv_queue_work(r->srv->loop, &j->work, work_cb, after_cb) < 0) {
        free(j->rel);
        free(j);
        http_respond_error(r, ERR_INTERNAL, NULL, NULL);
    }
}

void static_serve(struct http_req *r)
{
    serve(r, r->path);
}

void static_serve_file(struct http_req *r, const char *relpath)
{
    serve(r, span_of(relpath));
}
