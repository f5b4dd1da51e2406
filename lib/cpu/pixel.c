/* pixel.c -- CPU twin of kernels/pixel.cu: the cached sampler's step at one pixel and
 * channel group (pcnn_pixel_step, backend.h; lib/sample.c calls it), shared between the
 * threads. The step itself is pixel_step.h's.
 *
 * One call does what would otherwise be some 8 library calls per layer, each a product of
 * a row or a few by a small matrix, where the calls' own cost outweighed the arithmetic.
 *
 * A batch's images are shared among the threads. A lone image (batch 1: completion,
 * coding one image) shares the columns of each layer's big products between two threads,
 * whole panels each, so that each core streams its part of the weights; each thread does
 * the rest of the layer for itself (pixel_step.h). The two meet once a layer, some 16
 * times a step, at a barrier of our own that spins (barrier.h). Under passive waiting the second thread, for a batch as for a lone
 * image, is the backend's own helper, kept between steps (pixel_team); otherwise a team
 * of OpenMP's. */
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cpu.h"


/* The step's second thread under passive waiting (half a lone image's columns, or half
 * a batch's images: halve), kept from one step to the next: it spins a while for
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
    cpu_step_fn *volatile step;       /* st's step: fused or exact */
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

/* The second thread's copy of a lone image's step (pixel_step.h): st with hrow, hg, t1
 * and t2 of its own, which it computes as the first thread computes st's. Its hrow's first
 * s columns of each layer are never written: zero from calloc, for as long as the layout
 * is the same. NULL where out of memory. */
static const pcnn_pixel_step *second(pcnn_backend *be, const pcnn_pixel_step *st, pcnn_pixel_step *own)
{
    cpu_context *cx = CPU_CONTEXT(be);
    const int layout[4] = {st->L, st->s, st->W, st->p};
    const size_t L1 = st->L + 1, p = st->p, hrow = L1 * (st->s + st->W) * p;
    if (!cx->own || memcmp(cx->own_for, layout, sizeof layout)) {
        free(cx->own);
        if (!(cx->own = calloc(hrow + L1 * p + 2 * p, sizeof(real)))) return NULL;
        memcpy(cx->own_for, layout, sizeof layout);
    }
    *own = *st;
    own->hrow = cx->own, own->hg = cx->own + hrow, own->t1 = own->hg + L1 * p, own->t2 = own->t1 + p;
    return own;
}

/* thread t of two's half of a step: a lone image's columns, or half of the images */
static void halve(cpu_step_fn *step_images, const pcnn_pixel_step *st, int t, barrier *bar)
{
    if (st->B == 1) step_images(st, 0, 1, t, 2, bar);
    else step_images(st, st->B * t / 2, st->B * (t + 1) / 2 - st->B * t / 2, 0, 1, NULL);
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
        halve(tm->step, tm->st, 1, &tm->bar);
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
    free(CPU_CONTEXT(be)->own);
    CPU_CONTEXT(be)->own = NULL;
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
    const int wide = CPU_CONTEXT(be)->wide;
    cpu_step_fn *const step_images = be->exact ? (wide ? cpu_pixel_images_exact : cpu_pixel_images_exact_narrow)
                                               : (wide ? cpu_pixel_images : cpu_pixel_images_narrow);
    pcnn_pixel_step own;
    const pcnn_pixel_step *st2 = st; /* the second thread's */
    pixel_team *tm;
    if (work < 4096 || threads == 1 || omp_in_parallel() || (st->B == 1 && !(st2 = second(be, st, &own)))) {
        step_images(st, 0, st->B, 0, 1, NULL);
    } else if (omp_passive() && (st->B == 1 || threads == 2) && (tm = team(be))) {
        /* two threads, this one and the helper (more were not measured: 2-core machines) */
        tm->st = st2, tm->step = step_images;
        pthread_mutex_lock(&tm->lock);
        atomic_fetch_add_explicit(&tm->posted, 1, memory_order_release);
        pthread_cond_signal(&tm->wake);
        pthread_mutex_unlock(&tm->lock);
        halve(step_images, st, 0, &tm->bar);
        meet(&tm->bar, 2); /* the helper is done with st2 */
    } else if (st->B > 1) { /* each thread its share of the images, all at once */
#pragma omp parallel
        {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int b0 = st->B * t / nt, b1 = st->B * (t + 1) / nt;
            if (b1 > b0) step_images(st, b0, b1 - b0, 0, 1, NULL);
        }
    } else {
        /* the same with a team of OpenMP's, whose threads spin between regions: a helper
         * of ours beside them would fight them for the cores (1.5x slower) */
        barrier bar = {0};
#pragma omp parallel num_threads(2)
        {
            const int t = omp_get_thread_num();
            step_images(t ? st2 : st, 0, 1, t, omp_get_num_threads(), &bar);
        }
    }
}
