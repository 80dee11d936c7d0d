/* static.h: static files (the built browser apps) from one directory, read on the thread pool. */
#ifndef PARLEY_STATIC_H
#define PARLEY_STATIC_H

struct http_req;

/* static_init: the directory to serve (copied). Files outside it are never served. */
void static_init(const char *root);
void static_release(void);
/* static_serve: a route handler for GET/HEAD of any path under the root ("/" is index.html). */
void static_serve(struct http_req *r);
/* static_serve_file: serves one named file under the root (e.g. "demo.html"), ignoring r->path. */
void static_serve_file(struct http_req *r, const char *relpath);

#endif
