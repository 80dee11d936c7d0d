/* main.c: start-up only. Load the configuration, open the store (applying migrations), create the
 * first account and admin on an empty data directory, listen, and run the loop until
 * SIGTERM/SIGINT; then stop accepting, let in-flight requests and commits finish, and exit 0. */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/log.h"
#include "api/app.h"
#include "conv/conv.h"
#include "event/event.h"
#include "event/on_push.h"
#include "event/on_route.h"
#include "event/on_bot.h"
#include "event/on_senti.h"
#include "net/static.h"
#include "nlp/eval.h"
#include "nlp/senti_eval.h"

#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <malloc.h>
#include <unistd.h>

static uv_signal_t sig_term, sig_int;
static uv_timer_t shutdown_timer;
static bool stopping;

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
    UNUSED(arg);
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish(void)
{
    struct app *a = the_app;
    uv_timer_stop(&shutdown_timer);
    workq_stop(&a->hashq); /* password checks in flight answer their requests */
    conv_timers_stop();
    ws_proto_stop();
    on_route_stop();
    on_bot_stop();
    on_senti_stop();
    server_close(&a->srv);
    store_close(a->store); /* runs the last completions */
    a->store = NULL;
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&shutdown_timer, NULL);
}

static void on_drained(struct server *srv)
{
    UNUSED(srv);
    log_info("main", "in-flight work finished; closing");
    finish();
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    UNUSED(t);
    log_warn("main", "shutdown-timeout reached with %zu requests in flight; closing anyway",
             the_app->srv.inflight);
    the_app->srv.on_drained = NULL;
    finish();
}

static void on_signal(uv_signal_t *s, int signum)
{
    UNUSED(s);
    if (stopping) {
        log_warn("main", "second signal: exiting now");
        exit(1);
    }
    stopping = true;
    log_info("main", "signal=%d: shutting down (finishing in-flight work)", signum);
    uv_timer_start(&shutdown_timer, on_shutdown_timeout, (uint64_t)cfg.shutdown_timeout, 0);
    server_shutdown(&the_app->srv, on_drained);
}

/* fd_connections: raises the open-file limit to its hard limit and returns how many connections
 * it leaves room for (the limit in *nofile). Each connection is a socket, and a file while one is
 * streamed to it (an open that fails then answers 503); the rest is kept for the database (three
 * files per SQLite connection in WAL mode), the listener, the loop's own descriptors and files
 * being stored: 64 plus a sixteenth of the limit. */
static size_t fd_connections(uint64_t *nofile)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        *nofile = 0;
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    uint64_t soft = rl.rlim_cur == RLIM_INFINITY ? 10000000 : (uint64_t)rl.rlim_cur;
    uint64_t reserve = 64 + soft / 16 + 3 * ((uint64_t)cfg.store_readers + 1);
    *nofile = soft;
    return soft > reserve + 16 ? (size_t)(soft - reserve) : 16;
}

int main(int argc, char **argv)
{
    char err[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "nlp-eval") == 0)
        return nlp_eval_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "senti-eval") == 0)
        return senti_eval_main(argc, argv);
    int rc = cfg_load(&cfg, argc, argv, 1, err, sizeof(err));
    if (rc == 1) {
        cfg_release(&cfg);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        cfg_release(&cfg);
        return 2;
    }
    log_level = (enum log_level)log_parse_level(cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    uint64_t nofile;
    size_t max_conns = fd_connections(&nofile);
    if (cfg.max_connections == 0) {
        cfg.max_connections = (int64_t)max_conns;
    } else if ((uint64_t)cfg.max_connections > max_conns) {
        log_warn("main",
                 "max-connections=%" PRId64 " is more than %" PRIu64
                 " open files allow; using max_connections=%zu (raise the hard limit, ulimit -Hn, "
                 "for more)",
                 cfg.max_connections, nofile, max_conns);
        cfg.max_connections = (int64_t)max_conns;
    }
    /* Fan-out moves tens of MB a second through the heap (frames, event JSON). glibc's dynamic trim
     * and mmap thresholds hand freed memory back to the kernel and fault it in again on the next
     * event: 10% of the process's time in page faults at ~290k deliveries/s (perf), none with fixed
     * thresholds. Memory stays bounded: by ws-max-queue per connection. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (sodium_init() < 0) {
        fprintf(stderr, "parleyd: libsodium failed to initialise\n");
        return 1;
    }
    if (mkdir_p(cfg.data_dir) < 0) {
        fprintf(stderr, "parleyd: cannot create data-dir %s: %s\n", cfg.data_dir, strerror(errno));
        return 1;
    }

    static struct app app;
    the_app = &app;
    app.loop = uv_default_loop();
    map_init(&app.login_failures, true);
    map_init(&app.metrics, true);

    char dbpath[4200];
    snprintf(dbpath, sizeof(dbpath), "%s/parley.db", cfg.data_dir);
    struct store_opts so = {
        .backend = cfg.db,
        .path = strcmp(cfg.db, "sqlite") == 0 ? dbpath : cfg.db_url,
        .sync_full = strcmp(cfg.sync, "full") == 0,
        .queue = (size_t)cfg.store_queue,
        .batch = (size_t)cfg.store_batch,
        .readers = (int)cfg.store_readers,
        .background = msg_index_fn,
    };
    if ((rc = store_open(&app.store, app.loop, &so, err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }

    bool created;
    char generated[64];
    if ((rc = app_bootstrap(app.store, cfg.admin_email, cfg.admin_password, &created, generated,
                            sizeof(generated), err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    char login_file[4200];
    snprintf(login_file, sizeof(login_file), "%s/initial-admin.txt", cfg.data_dir);
    if (created) {
        printf("Created the first account \"Default\" and its admin.\n");
        if (generated[0]) {
            printf("  admin e-mail:    %s\n  admin password:  %s\n", err, generated);
            /* Like Jenkins' initialAdminPassword: kept (0600) until the admin deletes it. */
            FILE *f = fopen(login_file, "w");
            if (f) {
                fchmod(fileno(f), 0600);
                fprintf(f, "e-mail:   %s\npassword: %s\n", err, generated);
                fclose(f);
                printf("  (also saved in %s; delete that file once you have signed in)\n",
                       login_file);
            }
        } else {
            printf("  admin e-mail:    %s (password from PARLEY_ADMIN_PASSWORD)\n", err);
        }
    } else if (access(login_file, R_OK) == 0) {
        printf("The first admin's login is in %s\n", login_file);
    }
    /* A random password's hash, so unknown e-mails cost as much to reject as wrong passwords. */
    {
        unsigned char rnd[16];
        char pw[33], hash[crypto_pwhash_STRBYTES];
        randombytes_buf(rnd, sizeof(rnd));
        hex_encode(rnd, sizeof(rnd), pw);
        if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            fprintf(stderr, "parleyd: cannot hash (out of memory?)\n");
            return 1;
        }
        app.dummy_hash = xstrdup(hash);
    }

    if ((rc = app_secrets_init(&app, err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    app.data_dir = cfg.data_dir;
    app.web_dir = cfg.web_dir;
    {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t threads = cfg.hash_threads ? (size_t)cfg.hash_threads
                                          : (size_t)MAX(1, (cores > 0 ? cores : 1) / 2);
        if (workq_init(&app.hashq, app.loop, threads, (size_t)cfg.hash_queue) < 0) {
            fprintf(stderr, "parleyd: cannot start the password-hashing threads\n");
            return 1;
        }
        log_info("main", "hash_threads=%zu hash_queue=%" PRId64, threads, cfg.hash_queue);
    }
    static_init(cfg.web_dir);
    app_routes(&app);
    struct server_limits lim = {
        .max_body = (size_t)cfg.max_body,
        .max_upload = (size_t)cfg.max_upload,
        .max_unauth_body = (size_t)cfg.max_unauth_body_total,
        .max_header = (size_t)cfg.max_header,
        .max_connections = (size_t)cfg.max_connections,
        .ws_max_message = (size_t)cfg.ws_max_message,
        .ws_max_queue = (size_t)cfg.ws_max_queue,
        .header_timeout = (uint64_t)cfg.header_timeout,
        .body_timeout = (uint64_t)cfg.body_timeout,
        .idle_timeout = (uint64_t)cfg.idle_timeout,
        .ws_idle_timeout = (uint64_t)cfg.ws_idle_timeout,
        .ws_ping_interval = (uint64_t)cfg.ws_ping_interval,
        .send_timeout = (uint64_t)cfg.send_timeout,
        .trust_proxy = cfg.trust_proxy,
    };
    server_init(&app.srv, app.loop, &app.router, &lim);
    app.srv.app = &app;
    push_init(&app.srv);
    event_listen(on_push);
    /* The bot's start-up read runs on this thread (store_run_sync), so it goes before the router,
     * whose start-up queues write jobs that would contend with it. */
    if ((rc = on_bot_init(app.loop, app.store, err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    if ((rc = on_route_init(app.loop, app.store, cfg.presence_grace, err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    event_listen(on_route);
    event_listen(on_bot);
    /* the seed sentiment model trains on the thread pool; until then messages get the lexicon */
    on_senti_init(app.loop, app.store);
    event_listen(on_senti);
    if ((rc = server_listen(&app.srv, cfg.listen, err, sizeof(err))) < 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    uv_signal_init(app.loop, &sig_term);
    uv_signal_init(app.loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_timer_init(app.loop, &shutdown_timer);
    conv_timers_start(app.loop);
    app.ready = true;

    const char *host = app.srv.host;
    bool v6 = strchr(host, ':') != NULL;
    char base[128];
    snprintf(base, sizeof(base), "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
             app.srv.port);
    printf("listening on %s\n", base);
    printf(
        "  console  %s/\n  demo     %s/demo  (a shop page with the chat widget: play the visitor)\n"
        "  API      %s/api/v1/openapi.yaml\n  health   %s/healthz\n",
        base, base, base, base);
    log_info("main",
             "listening host=%s port=%d data_dir=%s db=%s web_dir=%s max_connections=%" PRId64
             " nofile=%" PRIu64,
             host, app.srv.port, cfg.data_dir, cfg.db, cfg.web_dir, cfg.max_connections, nofile);

    uv_run(app.loop, UV_RUN_DEFAULT);

    /* Close anything left (defensive) and let the closes run. */
    uv_walk(app.loop, walk_close, NULL);
    uv_run(app.loop, UV_RUN_DEFAULT);
    uv_loop_close(app.loop);
    server_release(&app.srv);
    ws_proto_release();
    push_release();
    on_route_release();
    on_bot_release();
    on_senti_release();
    app_release(&app);
    static_release();
    cfg_release(&cfg);
    log_info("main", "stopped");
    return 0;
}
