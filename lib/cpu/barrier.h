/* barrier.h -- a barrier for the T threads of one team that spins, then yields: the
 * cached sampler's threads meet some 16 times a pixel (pixel.c) and 15 times an image row
 * (backend.c's meet), where an OpenMP barrier under the programs' passive waiting
 * (cmd/cli.c) is a sleep and a wake-up each time. */
#ifndef PCNN_BARRIER_H
#define PCNN_BARRIER_H
#include <sched.h>
#include <stdatomic.h>

typedef struct {
    atomic_int arrived;
    atomic_uint round; /* unsigned: it wraps after 2^32 barriers, some 28000 CIFAR-like images */
} barrier;

static inline void meet(barrier *bar, int T)
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
#endif
