/* test_split.c -- a batch split among threads (lib/split.c) computes what one pass over
 * the whole batch does: the same losses and, added to the model's gradient, the same
 * gradient to rounding, for every kind that may be split, with dropout, at batches that
 * do not divide among the threads; a kind that may not (the embedding net's mining)
 * and a batch of one run whole, bit for bit; a share's refused allocation names the
 * whole batch, and a share's device failure is the model's. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kind.h"

static pcnn_backend *cpu;

typedef struct {
    real *loss, *g;
} pass;

/* one pass, forward and backward, from m->g = 0 (as the trainer makes it); split or whole */
static int run(pcnn_model *m, pass *out, const uint8_t *x, const real *h, int B, int split)
{
    memset(m->g, 0, m->total * sizeof *m->g);
    out->loss = calloc((size_t)B, sizeof *out->loss);
    out->g = malloc(m->total * sizeof *out->g);
    int rc = (split ? pcnn_model_run_split : pcnn_model_run)(m, out->loss, x, h, B, 1, (real)0.37);
    memcpy(out->g, m->g, m->total * sizeof *out->g);
    return rc;
}

static void pass_free(pass *p) { free(p->loss), free(p->g); }

/* the largest difference of the gradients against the largest entry of the whole pass's */
static double grad_error(const pass *a, const pass *b, size_t n, double *scale)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a->g[i] - b->g[i]));
        s = fmax(s, fabs((double)a->g[i]));
    }
    *scale = s;
    return e;
}

static void inputs(const pcnn_hparams *hp, int B, uint8_t **x, real **h, uint64_t seed)
{
    size_t n = (size_t)B * hp->C * hp->H * hp->W, hw = (size_t)pcnn_kind_h_width(hp);
    *x = malloc(n);
    for (size_t i = 0; i < n; i++) (*x)[i] = (uint8_t)(pcnn_rng_next(&seed) % hp->K);
    *h = hw ? calloc((size_t)B * hw, sizeof **h) : NULL;
    for (int b = 0; hw && b < B; b++) (*h)[b * hw + b % hw] = 1; /* a class, or an identity */
}

/* the split against the whole pass on threads threads at batch B */
static void compare(const char *what, const pcnn_hparams *hp, int B, int threads, real dropout)
{
    pcnn_model *m = pcnn_model_new(cpu, hp, 11);
    CHECK(m != NULL, "%s: model: %s", what, pcnn_errstr());
    if (!m) return;
    uint8_t *x;
    real *h;
    inputs(hp, B, &x, &h, 5 + (uint64_t)B);
    m->dropout = dropout, m->dropout_seed = 99;
    omp_set_num_threads(threads);
    pass whole, split;
    int rw = run(m, &whole, x, h, B, 0), rs = run(m, &split, x, h, B, 1);
    omp_set_num_threads(2);
    CHECK(rw == 0 && rs == 0, "%s B=%d T=%d: passes: %s", what, B, threads, pcnn_errstr());
    const int splits = pcnn_kind_of(hp->kind)->independent && B > 1;
    CHECK(!m->shares == !splits, "%s B=%d T=%d: the batch was %s", what, B, threads,
          m->shares ? "split" : "not split");
    if (splits && m->shares) {
        int used = 0;
        for (int t = 0; t < PCNN_SHARES_MAX; t++) used += m->shares->m[t] != NULL;
        int want = B < threads ? B : threads;
        CHECK(used == want, "%s B=%d T=%d: %d shares, want %d", what, B, threads, used, want);
    }
    double worst = 0;
    for (int b = 0; b < B; b++)
        worst = fmax(worst, fabs((double)whole.loss[b] - split.loss[b]) / fmax(1e-3, fabs((double)whole.loss[b])));
    CHECK(worst <= 1e-5, "%s B=%d T=%d: losses differ by %.3g relative", what, B, threads, worst);
    double scale, e = grad_error(&whole, &split, m->total, &scale);
    CHECK((scale > 0 || !splits) && e <= 1e-5 * scale, "%s B=%d T=%d: gradients differ by %.3g of %.3g", what, B, threads, e, scale);
    if (!splits)
        CHECK(!memcmp(whole.g, split.g, m->total * sizeof *whole.g) &&
              !memcmp(whole.loss, split.loss, (size_t)B * sizeof *whole.loss),
              "%s B=%d T=%d: a batch not split is the same bits", what, B, threads);
    pass_free(&whole), pass_free(&split);
    free(x), free(h);
    pcnn_model_free(m);
}

/* the split, on the same model, with and without dropout: the shares draw the masks of
 * their images in the whole batch (so the comparisons above hold) */
static void test_kinds(void)
{
    const pcnn_hparams rgb = {.L = 2, .p = 6, .n = 3, .C = 3, .H = 6, .W = 5, .K = 16};
    pcnn_hparams cls = rgb, ae = rgb, mse = rgb, emb = rgb;
    cls.D = cls.classes = 3, cls.S = 2, cls.q = 2;
    ae.D = 4, ae.encoder = 1, ae.q = 2;
    mse.D = 4, mse.encoder = 1, mse.q = 2, mse.kind = PCNN_MSE_AUTOENCODER;
    emb.C = 1, emb.D = 4, emb.classes = 3, emb.q = 2, emb.kind = PCNN_EMBEDDING;
    const int batches[] = {2, 5, 7}, threads[] = {2, 3};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++) {
            compare("unconditional", &rgb, batches[i], threads[k], 0);
            compare("unconditional, dropout", &rgb, batches[i], threads[k], (real)0.3);
            compare("class and spatial", &cls, batches[i], threads[k], (real)0.3);
            compare("PixelCNN autoencoder", &ae, batches[i], threads[k], 0);
            compare("MSE autoencoder", &mse, batches[i], threads[k], 0);
            compare("embedding net", &emb, batches[i], threads[k], 0);
        }
    compare("unconditional, batch 1", &rgb, 1, 2, 0);
}

/* a share's refused allocation is an error naming the whole batch, and the model goes on
 * at a batch that fits; a share's device failure fails the model's instance */
static void test_failures(void)
{
    const pcnn_hparams hp = {.L = 1, .p = 6, .n = 3, .C = 1, .H = 8, .W = 8, .K = 16};
    pcnn_backend *be = pcnn_backend_open("cpu");
    pcnn_model *m = pcnn_model_new(be, &hp, 4);
    uint8_t *x;
    real *h, loss[64];
    inputs(&hp, 64, &x, &h, 2);
    be->alloc_cap = 128 << 10;
    CHECK(pcnn_model_run_split(m, loss, x, NULL, 64, 1, 1) == -1 && strstr(pcnn_errstr(), "a batch of 64 (32 on this thread)"),
          "a share's refused allocation: %s", pcnn_errstr());
    CHECK(!be->failed, "a refused allocation failed the instance");
    CHECK(pcnn_model_run_split(m, loss, x, NULL, 2, 1, 1) == 0 && loss[0] > 0, "a batch that fits: %s", pcnn_errstr());
    CHECK(m->shares && m->shares->be[1], "the batch of 2 was split");
    if (m->shares && m->shares->be[1]) {
        pcnn_backend_fail(m->shares->be[1], "a share's failure");
        CHECK(pcnn_model_run_split(m, loss, x, NULL, 2, 1, 1) == -1 && strstr(pcnn_errstr(), "a share's failure"),
              "a share's device failure: %s", pcnn_errstr());
        CHECK(be->failed && strstr(be->err, "a share's failure"), "the model's instance failed with it: %s", be->err);
    }
    free(x);
    pcnn_model_free(m);
    pcnn_backend_close(be);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    omp_set_num_threads(2);
    test_kinds();
    test_failures();
    pcnn_backend_close(cpu);
    return check_summary("test_split");
}
