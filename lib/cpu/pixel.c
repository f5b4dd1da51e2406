/* pixel.c -- CPU twin of kernels/pixel.cu: the cached sampler's step at one pixel and
 * channel group (pcnn_pixel_step, backend.h; lib/sample.c calls it).
 *
 * One call does what would otherwise be some 8 library calls per layer, each a product of
 * a row or a few by a small matrix, where the calls' own cost outweighed the arithmetic.
 * The step is bound by reading its weights (6 MB a pixel for CIFAR-like p = 126), which is
 * why they come in panels (backend.h): a product streams four panels forward at a time.
 *
 * A batch's images are shared among the threads. A lone image (batch 1: completion,
 * coding one image) shares each product's columns between two threads, whole panels
 * each, so that each core streams its part of the weights. The two meet at every stage
 * that reads what the other wrote, some 50 times a step, at a barrier of our own that
 * spins (an OpenMP barrier under the programs' passive waiting, cmd/cli.c, is a sleep
 * and a wake-up each time), yielding the core after a while in case the other thread is
 * not running. Under passive waiting the second thread is the backend's own helper, kept
 * between steps (pixel_team); otherwise a team of OpenMP's.
 * Every sum runs over its terms in one order, from 0, whatever the vector width or the
 * number of threads (the Makefile keeps multiplies and adds apart), so that an encoder
 * and a decoder compute the same bits. */
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "cpu.h"
#include "fastmath.h"

enum { P = PCNN_PANEL };
/* one row of a panel, and the same read or written in place (any alignment) */
typedef real panel_row __attribute__((vector_size(P * sizeof(real))));
typedef real panel_at __attribute__((vector_size(P * sizeof(real)), aligned(sizeof(real)), may_alias));
#define AT(ptr) (*(panel_at *)(ptr))
#define SPLAT(x) ((panel_row){x, x, x, x, x, x, x, x})
_Static_assert(PCNN_PANEL == 8, "SPLAT spells out 8 lanes");

/* y[n] = (sum over k in order of x[k] w(k, n)) + y[n], for n in [n0, n1) below N; w: panels
 * of K rows or more, ps apart; n0 a multiple of P. Four panels at a time, each as one
 * vector per row: the vector's lanes are columns, so no sum is split. */
static inline void matvec(real *restrict y, const real *restrict x, int K, const real *restrict w,
                          size_t ps, int n0, int n1, int N)
{
    if (n1 > N) n1 = N;
    int n = n0;
    for (; n + 4 * P <= n1; n += 4 * P) {
        const real *w0 = w + (size_t)(n / P) * ps, *w1 = w0 + ps, *w2 = w1 + ps, *w3 = w2 + ps;
        panel_row a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int k = 0; k < K; k++) {
            const panel_row xk = SPLAT(x[k]);
            a0 += xk * AT(w0 + (size_t)k * P);
            a1 += xk * AT(w1 + (size_t)k * P);
            a2 += xk * AT(w2 + (size_t)k * P);
            a3 += xk * AT(w3 + (size_t)k * P);
        }
        AT(y + n) = a0 + AT(y + n), AT(y + n + P) = a1 + AT(y + n + P);
        AT(y + n + 2 * P) = a2 + AT(y + n + 2 * P), AT(y + n + 3 * P) = a3 + AT(y + n + 3 * P);
    }
    for (; n < n1; n += P) {
        const real *w0 = w + (size_t)(n / P) * ps;
        panel_row a0 = {0};
        for (int k = 0; k < K; k++) a0 += SPLAT(x[k]) * AT(w0 + (size_t)k * P);
        for (int c = 0; c < P && n + c < n1; c++) y[n + c] = a0[c] + y[n + c];
    }
}

/* a barrier for the T threads of one team, spinning */
typedef struct {
    atomic_int arrived;
    atomic_uint round; /* unsigned: it wraps after 2^32 barriers, some 28000 CIFAR-like images */
} barrier;

static void meet(barrier *bar, int T)
{
    if (T == 1) return;
    const unsigned round = atomic_load_explicit(&bar->round, memory_order_acquire);
    if (atomic_fetch_add_explicit(&bar->arrived, 1, memory_order_acq_rel) == T - 1) {
        atomic_store_explicit(&bar->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&bar->round, round + 1, memory_order_release);
        return;
    }
    for (long spins = 0; atomic_load_explicit(&bar->round, memory_order_acquire) == round; spins++) {
        if (spins > 20000) sched_yield(); /* some 100 µs: the other thread may not be running */
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}

/* thread t of T: its columns of a product with N columns, [*n0, *n1), whole panels */
static void share(int N, int t, int T, int *n0, int *n1)
{
    const int panels = (N + P - 1) / P;
    *n0 = panels * t / T * P;
    *n1 = panels * (t + 1) / T * P;
    if (*n1 > N) *n1 = N;
}

/* image b's step, thread t of the T that share it (compiled for each vector width: the
 * parallel loop's body is a function of its own, not a clone of the caller) */
PCNN_VECTOR
static void step_image(const pcnn_pixel_step *st, int b, int t, int T, barrier *bar)
{
    const int H = st->H, W = st->W, C = st->C, K = st->K, p = st->p, s = st->s, i = st->i, j = st->j;
    const int g = st->g, q = p / C, known = (g + 1) * q, ld = (s + W) * p;
    /* a group's block of each weight (backend.h) */
    const size_t q2 = PCNN_PADDED(2 * q), q1 = PCNN_PADDED(q);
    const size_t left = (size_t)s * p * q2, mid = (size_t)p * q2, out1 = (size_t)p * q1;
    real *ha = st->ha + (size_t)b * 2 * p, *t1 = st->t1 + (size_t)b * p, *t2 = st->t2 + (size_t)b * p;
    int a0, a1, o0, o1, k0, k1; /* this thread's columns of ha, of a group's q, of its K logits */
    share(2 * q, t, T, &a0, &a1);
    share(q, t, T, &o0, &o1);
    share(K, t, T, &k0, &k1);
    for (int l = 0; l <= st->L; l++) {
        const real *base = st->hbase + ((size_t)l * st->B * W + (size_t)b * W + j) * 2 * p + 2 * g * q;
        const real *wl = st->hleft + ((size_t)l * C + g) * left, *wm = st->hmid + ((size_t)l * C + g) * mid;
        const real *below = l ? st->hrow + (size_t)(l - 1) * st->B * ld + (size_t)b * ld : NULL;
        real *hg = st->hg + ((size_t)l * st->B + b) * p;
        real *out = st->hrow + (size_t)l * st->B * ld + (size_t)b * ld + (size_t)(s + j) * p + g * q;
        for (int c = a0; c < a1; c++) ha[c] = base[c]; /* group g's tanh and sigmoid maps */
        if (l == 0) { /* the image: the taps left of j, then channels before g at j (mask A) */
            const real *row = st->inmap + ((size_t)b * H + i) * W * C;
            for (int tap = 0; tap < s; tap++)
                if (j - s + tap >= 0)
                    matvec(ha, row + (size_t)(j - s + tap) * C, C, wl + (size_t)tap * C * P, (size_t)s * p * P, a0, a1, 2 * q);
            matvec(ha, row + (size_t)j * C, g, wm, (size_t)p * P, a0, a1, 2 * q);
        } else { /* the layer below: columns j-s..j-1, then groups 0..g at j (mask B) */
            matvec(ha, below + (size_t)j * p, s * p, wl, (size_t)s * p * P, a0, a1, 2 * q);
            matvec(ha, below + (size_t)(s + j) * p, known, wm, (size_t)p * P, a0, a1, 2 * q);
        }
        meet(bar, T); /* the gate reads maps c and q + c, which two threads may have made */
        for (int c = o0; c < o1; c++) {
            real th, sg;
            tanh_sigmoid(ha[c], ha[q + c], &th, &sg);
            hg[g * q + c] = th * sg;
        }
        meet(bar, T); /* the output reads all of hg */
        const real *ob = st->out_b + (size_t)l * p + g * q;
        for (int c = o0; c < o1; c++) out[c] = ob[c];
        matvec(out, hg, known, st->out_w + ((size_t)l * C + g) * out1, (size_t)p * P, o0, o1, q);
        if (l) {
            const real *res = below + (size_t)(s + j) * p + g * q;
            for (int c = o0; c < o1; c++) out[c] = out[c] + res[c];
        }
        meet(bar, T); /* the next layer reads all of this one's row */
    }
    const real *top = st->hrow + (size_t)st->L * st->B * ld + (size_t)b * ld + (size_t)(s + j) * p;
    for (int c = g * q + o0; c < g * q + o1; c++) t1[c] = top[c] > 0 ? top[c] : 0;
    meet(bar, T);
    for (int c = g * q + o0; c < g * q + o1; c++) t2[c] = st->out1_b[c];
    matvec(t2 + g * q, t1, known, st->out1_w + (size_t)g * out1, (size_t)p * P, o0, o1, q);
    for (int c = g * q + o0; c < g * q + o1; c++) t2[c] = t2[c] > 0 ? t2[c] : 0;
    meet(bar, T);
    real *logits = st->logits + (size_t)b * C * K + (size_t)g * K;
    for (int k = k0; k < k1; k++) logits[k] = st->out2_b[g * K + k];
    matvec(logits, t2, known, st->out2_w + (size_t)g * p * PCNN_PADDED(K), (size_t)p * P, k0, k1, K);
}

/* A lone image's second thread, kept from one step to the next: it spins a while for
 * the next step (the sampler draws and places a value between two, a microsecond or
 * so), then sleeps until woken; it sleeps through the vertical rows between image
 * rows. An OpenMP team made for each step would put its thread to sleep after every
 * step under passive waiting: a CIFAR-like image has 3072 steps. */
typedef struct pixel_team {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_uint posted;               /* steps posted so far; the helper runs each once */
    const pcnn_pixel_step *volatile st;
    barrier bar;
    int quit;                         /* under lock */
} pixel_team;

enum { SPIN_NS = 100000 }; /* how long the helper spins for the next step */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *helper(void *arg)
{
    pixel_team *tm = arg;
    for (unsigned seen = 0;;) {
        const double until = seconds() + SPIN_NS * 1e-9;
        for (int k = 0; atomic_load_explicit(&tm->posted, memory_order_acquire) == seen; k++) {
            if ((k & 63) == 0 && seconds() > until) { /* asleep until the next step */
                pthread_mutex_lock(&tm->lock);
                while (atomic_load(&tm->posted) == seen && !tm->quit) pthread_cond_wait(&tm->wake, &tm->lock);
                const int quit = tm->quit;
                pthread_mutex_unlock(&tm->lock);
                if (quit) return NULL;
                break;
            }
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        seen = atomic_load_explicit(&tm->posted, memory_order_acquire);
        const pcnn_pixel_step *st = tm->st;
        for (int b = 0; b < st->B; b++) step_image(st, b, 1, 2, &tm->bar);
        meet(&tm->bar, 2); /* done with st */
    }
}

static pixel_team *team(pcnn_backend *be)
{
    cpu_context *cx = CPU_CONTEXT(be);
    if (cx->team) return cx->team;
    pixel_team *tm = calloc(1, sizeof *tm);
    if (!tm) return NULL;
    pthread_mutex_init(&tm->lock, NULL);
    pthread_cond_init(&tm->wake, NULL);
    if (pthread_create(&tm->thread, NULL, helper, tm)) {
        pthread_mutex_destroy(&tm->lock), pthread_cond_destroy(&tm->wake);
        free(tm);
        return NULL;
    }
    return cx->team = tm;
}

void cpu_pixel_close(pcnn_backend *be)
{
    pixel_team *tm = CPU_CONTEXT(be)->team;
    if (!tm) return;
    pthread_mutex_lock(&tm->lock);
    tm->quit = 1;
    pthread_cond_signal(&tm->wake);
    pthread_mutex_unlock(&tm->lock);
    pthread_join(tm->thread, NULL);
    pthread_mutex_destroy(&tm->lock), pthread_cond_destroy(&tm->wake);
    free(tm);
    CPU_CONTEXT(be)->team = NULL;
}

/* whether OpenMP's threads sleep between parallel regions (the programs', cmd/cli.c) */
static int omp_passive(void)
{
    const char *policy = getenv("OMP_WAIT_POLICY");
    return policy && !strcasecmp(policy, "passive");
}

void cpu_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st)
{
    /* threads are worth it from about 4096 multiply-adds a layer (p = 32, n = 5) */
    const int work = st->p * st->p * (st->s + 2) * 2 / st->C, threads = omp_get_max_threads();
    pixel_team *tm;
    if (work < 4096 || threads == 1 || omp_in_parallel()) {
        for (int b = 0; b < st->B; b++) step_image(st, b, 0, 1, NULL);
    } else if (st->B > 1) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < st->B; b++) step_image(st, b, 0, 1, NULL);
    } else if (omp_passive() && (tm = team(be))) {
        /* a lone image: two threads, this one and the helper (more were not measured:
         * 2-core machines) */
        tm->st = st;
        pthread_mutex_lock(&tm->lock);
        atomic_fetch_add_explicit(&tm->posted, 1, memory_order_release);
        pthread_cond_signal(&tm->wake);
        pthread_mutex_unlock(&tm->lock);
        for (int b = 0; b < st->B; b++) step_image(st, b, 0, 2, &tm->bar);
        meet(&tm->bar, 2); /* the helper is done with st */
    } else {
        /* the same with a team of OpenMP's, whose threads spin between regions: a helper
         * of ours beside them would fight them for the cores (1.5x slower) */
        barrier bar = {0};
#pragma omp parallel num_threads(2)
        for (int b = 0; b < st->B; b++) step_image(st, b, omp_get_thread_num(), omp_get_num_threads(), &bar);
    }
}
