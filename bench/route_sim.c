/* route_sim.c: the router (src/route) under a simulated call centre, with no network: Poisson
 * arrivals and exponential handle times on a virtual clock, fed straight into route_dispatch.
 *
 *   1. M/M/c check: c agents of capacity 1 on least_busy at load rho. Mean wait and P(wait > 0)
 *      are compared with the Erlang C formula.
 *   2. Mixed skills: half the conversations need "billing", half "tech"; each agent has one of the
 *      two. A conversation given to an agent without its skill is a transfer. Round robin (which
 *      ignores skills) against weighted (skill weight 3).
 *
 * Prints key=value lines. Usage: route_sim [--agents 10] [--rho 0.85] [--arrivals 1000000]
 * [--seed 1] */
#include "base/sys.h"
#include "base/alloc.h"
#include "route/route.h"

#include <math.h>
#include <time.h>

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double expo(double mean)
{
    return -mean * log(uniform());
}

/* departures: a binary heap on time */
struct dep {
    double t;
    int64_t conv;
};
static struct dep *heap;
static size_t nheap, capheap;
static void heap_push(struct dep d)
{
    if (nheap == capheap) {
        capheap = capheap ? capheap * 2 : 1024;
        heap = xrealloc(heap, capheap * sizeof(*heap));
    }
    size_t i = nheap++;
    while (i && heap[(i - 1) / 2].t > d.t) {
        heap[i] = heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    heap[i] = d;
}
static struct dep heap_pop(void)
{
    struct dep top = heap[0], last = heap[--nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        double mt = last.t;
        if (l < nheap && heap[l].t < mt) {
            m = l;
            mt = heap[l].t;
        }
        if (r < nheap && heap[r].t < mt)
            m = r;
        if (m == i)
            break;
        heap[i] = heap[m];
        i = m;
    }
    heap[i] = last;
    return top;
}

struct sim {
    struct routing rt;
    struct route_account *acc;
    double now_s, mean_handle;
    double *arrived_at; /* by conversation id */
    int64_t *need;      /* skill a conversation needs (0: none) */
    double wait_sum;
    int64_t waited, served, transfers, measured_from;
    int64_t *agent_skill;
};

static int64_t ms(double s)
{
    return (int64_t)(s * 1000.0) + 1;
}

static void on_assign(struct route_account *acc, const struct route_decision *d, void *ud)
{
    struct sim *s = ud;
    /* the write commits at once: confirm the reservation as its event would */
    struct route_conv *c = route_conv_find(acc, d->conversation_id);
    struct route_conv_state st = {c->id, c->inbox_id, 0, c->contact_id, d->chosen, RS_OPEN, 0};
    route_conv_update(acc, &st, true, ms(s->now_s), NULL);
    double w = s->now_s - s->arrived_at[c->id];
    if (c->id >= s->measured_from) {
        s->wait_sum += w;
        s->waited += w > 1e-9;
        s->served++;
        if (s->need[c->id] && s->agent_skill[d->chosen] != s->need[c->id])
            s->transfers++;
    }
    heap_push((struct dep){s->now_s + expo(s->mean_handle), c->id});
}

static void run(struct sim *s, enum route_strategy strat, int agents, double rho, int64_t arrivals,
                bool skills)
{
    memset(s, 0, sizeof(*s));
    nheap = 0;
    route_init(&s->rt, 1000);
    s->acc = route_account(&s->rt, 1);
    struct route_inbox *in = route_inbox_get(s->acc, 1);
    in->settings.strategy = strat;
    if (strat == ROUTE_WEIGHTED) {
        memset(in->settings.weights, 0, sizeof(in->settings.weights));
        in->settings.weights[TERM_SKILL] = 3;
        in->settings.weights[TERM_LOAD] = 1;
        in->settings.weights[TERM_WAIT] = 1;
    }
    s->mean_handle = 300; /* seconds */
    double lambda = rho * agents / s->mean_handle;
    s->agent_skill = xcalloc((size_t)agents + 1, sizeof(int64_t));
    for (int64_t u = 1; u <= agents; u++) {
        struct route_agent *a = route_agent_get(s->acc, u);
        a->capacity = 1;
        a->present = true;
        route_agent_member(a, 1, -1);
        route_agent_availability(s->acc, u, AVAIL_ONLINE);
        route_agent_connected(s->acc, u, true, 0);
        if (skills) {
            struct route_skill sk = {u % 2 ? 1 : 2, 5};
            route_agent_set_skills(a, &sk, 1);
            s->agent_skill[u] = sk.skill_id;
        }
    }
    s->arrived_at = xcalloc((size_t)arrivals + 2, sizeof(double));
    s->need = xcalloc((size_t)arrivals + 2, sizeof(int64_t));
    s->measured_from = arrivals / 10; /* warm-up */
    double next = expo(1 / lambda);
    int64_t id = 0;
    while (id < arrivals || nheap) {
        bool arrival = id < arrivals && (!nheap || next <= heap[0].t);
        if (arrival) {
            s->now_s = next;
            next += expo(1 / lambda);
            id++;
            s->arrived_at[id] = s->now_s;
            struct route_conv_state st = {id, 1, 0, id, 0, RS_OPEN, 0};
            bool entered;
            struct route_conv *c = route_conv_update(s->acc, &st, false, ms(s->now_s), &entered);
            if (skills) {
                s->need[id] = uniform() < 0.5 ? 1 : 2;
                c->skill_id = s->need[id];
                c->skill_level = 1;
            }
            route_conv_ready(s->acc, c);
        } else {
            struct dep d = heap_pop();
            s->now_s = d.t;
            struct route_conv *c = route_conv_find(s->acc, d.conv);
            struct route_conv_state st = {c->id, 1, 0, c->id, c->assignee_id, RS_RESOLVED, 0};
            route_conv_update(s->acc, &st, false, ms(s->now_s), NULL);
        }
        route_dispatch(s->acc, ms(s->now_s), on_assign, s);
    }
    route_release(&s->rt);
    free(s->arrived_at);
    free(s->need);
    free(s->agent_skill);
}

/* Erlang C: the probability that an arrival waits, for c servers and offered load a = lambda/mu */
static double erlang_c(int c, double a)
{
    double term = 1, sum = 1; /* k = 0 */
    for (int k = 1; k < c; k++) {
        term *= a / k;
        sum += term;
    }
    double last = term * a / c; /* a^c / c! */
    double rho = a / c;
    double top = last / (1 - rho);
    return top / (sum + top);
}

int main(int argc, char **argv)
{
    int agents = 10;
    double rho = 0.85;
    int64_t arrivals = 1000000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--agents"))
            agents = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rho"))
            rho = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--arrivals"))
            arrivals = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            rng = strtoull(argv[i + 1], NULL, 10) * 2654435761u + 1;
    }
    if (agents < 1 || agents > 10000 || rho <= 0 || rho >= 1 || arrivals < 1000) {
        fprintf(stderr, "usage: route_sim [--agents N] [--rho 0<r<1] [--arrivals >=1000]"
                        " [--seed N]\n");
        return 2;
    }
    struct sim s;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run(&s, ROUTE_LEAST_BUSY, agents, rho, arrivals, false);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double a = rho * agents, pw = erlang_c(agents, a);
    double wq = pw * s.mean_handle / (agents - a);
    double sim_pw = (double)s.waited / (double)s.served, sim_wq = s.wait_sum / (double)s.served;
    printf("scenario=mmc strategy=least_busy agents=%d rho=%.2f arrivals=%" PRId64
           " measured=%" PRId64 "\n",
           agents, rho, arrivals, s.served);
    printf("erlang_c_p_wait=%.4f sim_p_wait=%.4f p_wait_error_pct=%.2f\n", pw, sim_pw,
           100 * fabs(sim_pw - pw) / pw);
    printf("erlang_c_mean_wait_s=%.2f sim_mean_wait_s=%.2f mean_wait_error_pct=%.2f\n", wq, sim_wq,
           100 * fabs(sim_wq - wq) / wq);
    printf("decisions_per_s=%.0f\n", (double)arrivals / secs);

    run(&s, ROUTE_ROUND_ROBIN, agents, rho, arrivals, true);
    double rr = (double)s.transfers / (double)s.served, rr_wait = s.wait_sum / (double)s.served;
    run(&s, ROUTE_WEIGHTED, agents, rho, arrivals, true);
    double wt = (double)s.transfers / (double)s.served, wt_wait = s.wait_sum / (double)s.served;
    printf("scenario=skills agents=%d rho=%.2f\n", agents, rho);
    printf("round_robin_transfer_pct=%.2f weighted_transfer_pct=%.2f transfers_cut_pct=%.1f\n",
           100 * rr, 100 * wt, rr > 0 ? 100 * (rr - wt) / rr : 0);
    printf("round_robin_mean_wait_s=%.2f weighted_mean_wait_s=%.2f\n", rr_wait, wt_wait);
    free(heap);
    return 0;
}
