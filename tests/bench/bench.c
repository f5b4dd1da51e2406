/* bench.c -- speed of the CPU backend on the two configurations (not a test):
 * training images/s, NLL images/s, and sampling seconds per image.
 * Usage: bench [fashion|cifar]... ; random images, random weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcnn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run(const char *name, pcnn_hparams hp, int batch, int sample_rows)
{
    pcnn_model *m = pcnn_model_new(&hp, 1);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = batch;
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    size_t sz = (size_t)hp.C * hp.H * hp.W;
    uint8_t *x = malloc(batch * sz);
    for (size_t i = 0; i < batch * sz; i++) x[i] = (uint8_t)(rand() % hp.K);
    float bpd, *nll = malloc(batch * sizeof *nll);

    pcnn_trainer_step(t, x, NULL, batch, &bpd); /* warm-up: allocations */
    int steps = 3;
    double t0 = now();
    for (int s = 0; s < steps; s++) pcnn_trainer_step(t, x, NULL, batch, &bpd);
    double train = steps * batch / (now() - t0);

    pcnn_model_nll(m, nll, x, NULL, batch);
    t0 = now();
    for (int s = 0; s < steps; s++) pcnn_model_nll(m, nll, x, NULL, batch);
    double eval = steps * batch / (now() - t0);

    /* naive sampling of one image: a full draw when sample_rows == H, otherwise the time
     * of the first rows scaled by the pass cost (rows 0..i cost ∝ i+1) */
    pcnn_hparams small = hp;
    small.H = sample_rows;
    pcnn_model *ms = pcnn_model_new(&small, 1);
    uint8_t *img = malloc(sz);
    t0 = now();
    pcnn_model_sample(ms, img, NULL, 1, 1.0f, 1, NULL, NULL);
    double secs = now() - t0;
    double full = secs * ((double)hp.H * (hp.H + 1)) / ((double)sample_rows * (sample_rows + 1));
    printf("%-8s %dx%dx%d L=%d p=%d n=%d batch %d: train %.1f img/s, nll %.1f img/s, "
           "naive sampling %.1f s/image%s\n",
           name, hp.C, hp.H, hp.W, hp.L, hp.p, hp.n, batch, train, eval, full,
           sample_rows < hp.H ? " (extrapolated from the first rows)" : "");
    fflush(stdout);
    free(img), free(x), free(nll);
    pcnn_model_free(ms);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "fashion"))
            run("fashion", (pcnn_hparams){.L = 15, .p = 64, .n = 5, .C = 1, .H = 28, .W = 28, .K = 256}, 64, 4);
        else if (!strcmp(argv[i], "cifar"))
            run("cifar", (pcnn_hparams){.L = 15, .p = 128, .n = 5, .C = 3, .H = 32, .W = 32, .K = 256}, 32, 2);
        else {
            fprintf(stderr, "bench: unknown configuration '%s'\n", argv[i]);
            return 2;
        }
    }
    return 0;
}
