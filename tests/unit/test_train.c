/* test_train.c -- the model learns: a small network overfits 16 Fashion-MNIST images far
 * below its starting loss, a short run lowers the held-out bits/dim, and a run stopped,
 * saved, loaded and resumed ends with the same weights as an unbroken one, also with a
 * learning-rate schedule, dropout and a moving average of the weights, each of which is
 * checked against its formula; so are the Adam op and global-norm clipping. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model-impl.h"
#include "modelfile.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

#define FM "/usr/share/datasets/fashion-mnist/"

static size_t load(uint8_t **x, float **h, const char *images, const char *labels, size_t n)
{
    pcnn_imgreader *r = pcnn_imgreader_open(images);
    int *lab;
    size_t nl;
    if (!r || pcnn_labels_load(&lab, &nl, labels)) return 0;
    *x = malloc(n * 784);
    *h = calloc(n * 10, sizeof **h);
    pcnn_image img;
    size_t i = 0;
    for (; i < n && pcnn_imgreader_next(r, &img) == 1; i++) {
        pcnn_quantize(*x + i * 784, &img, 256);
        (*h)[i * 10 + lab[i]] = 1;
        pcnn_image_free(&img);
    }
    pcnn_imgreader_free(r);
    free(lab);
    return i;
}

static double mean_bpd(pcnn_model *m, const uint8_t *x, const float *h, int n)
{
    float *nll = malloc(n * sizeof *nll);
    pcnn_model_nll(m, nll, x, h, n);
    double s = 0;
    for (int i = 0; i < n; i++) s += nll[i];
    free(nll);
    return pcnn_bits_per_dim(&m->hp, s / n);
}

static void train(pcnn_trainer *t, const uint8_t *x, const float *h, size_t n, int steps)
{
    int B = pcnn_trainer_opts(t)->batch;
    size_t idx[64];
    uint8_t *xb = malloc((size_t)B * 784);
    float *hb = malloc((size_t)B * 10 * sizeof *hb);
    for (int s = 0; s < steps; s++) {
        CHECK(pcnn_trainer_batch(t, n, idx) == 0, "batch: %s", pcnn_errstr());
        for (int b = 0; b < B; b++) {
            memcpy(xb + b * 784, x + idx[b] * 784, 784);
            memcpy(hb + b * 10, h + idx[b] * 10, 10 * sizeof *hb);
        }
        float bpd;
        if (pcnn_trainer_step(t, xb, hb, B, &bpd)) CHECK(0, "step: %s", pcnn_errstr());
    }
    free(xb), free(hb);
}

/* the rate at chosen steps against the formulas, and a warm-up that reaches Adam */
static void test_schedule(const pcnn_hparams *hp, const uint8_t *x, const float *h)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.lr = 0.01f, o.warmup = 10;
    CHECK_CLOSE(pcnn_train_lr(&o, 5), 0.005, 1e-6, "warm-up: step 5 of 10 at half the rate");
    CHECK_CLOSE(pcnn_train_lr(&o, 10), 0.01, 1e-6, "warm-up ends at the rate");
    CHECK_CLOSE(pcnn_train_lr(&o, 1000), 0.01, 1e-6, "constant after the warm-up");
    o.schedule = PCNN_LR_EXP, o.lr_decay = 0.9f;
    CHECK_CLOSE(pcnn_train_lr(&o, 12), 0.01 * pow(0.9f, 2), 1e-6, "exp: two steps after the warm-up");
    o.schedule = PCNN_LR_COSINE, o.lr_steps = 30;
    CHECK_CLOSE(pcnn_train_lr(&o, 20), 0.005, 1e-6, "cosine: half-way down at the middle");
    CHECK_CLOSE(pcnn_train_lr(&o, 15), 0.01 * 0.5 * (1 + cos(M_PI / 4)), 1e-6, "cosine: a quarter of the way");
    CHECK(pcnn_train_lr(&o, 30) == 0 && pcnn_train_lr(&o, 45) == 0, "cosine ends at 0 and stays there");
    o.warmup = 30;
    pcnn_model *mm = pcnn_model_new(cpu, hp, 1);
    CHECK(pcnn_trainer_new(mm, &o) == NULL, "a cosine that ends within its warm-up is refused");
    pcnn_model_free(mm);

    /* Adam's first step moves every weight by about lr (m/sqrt(v) = sign(g)): with a
     * warm-up of 2 steps the first step moves them by half as much */
    pcnn_train_opts_default(&o);
    o.batch = 4, o.lr = 1e-3f;
    pcnn_model *a = pcnn_model_new(cpu, hp, 6), *b = pcnn_model_new(cpu, hp, 6);
    real *w0 = malloc(a->total * sizeof *w0);
    memcpy(w0, a->w, a->total * sizeof *w0);
    pcnn_trainer *ta = pcnn_trainer_new(a, &o);
    o.warmup = 2;
    pcnn_trainer *tb = pcnn_trainer_new(b, &o);
    train(ta, x, h, 8, 1);
    train(tb, x, h, 8, 1);
    double da = 0, db = 0;
    for (size_t i = 0; i < a->total; i++) da += fabs(a->w[i] - w0[i]), db += fabs(b->w[i] - w0[i]);
    CHECK_CLOSE(db / da, 0.5, 1e-3, "first step under a 2-step warm-up: %.4f of a full step", db / da);
    free(w0);
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
}

/* after N steps the average equals its closed form over the weights of every step */
static void test_average(const pcnn_hparams *hp, const uint8_t *x, const float *h)
{
    enum { N = 7 };
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 4, o.ema = 0.6f;
    CHECK(pcnn_train_ema_decay(&o, 1) == 2.0 / 11 && pcnn_train_ema_decay(&o, 100) == (double)0.6f,
          "the average's decay: (1+t)/(10+t) early, then the given one");
    pcnn_model *m = pcnn_model_new(cpu, hp, 8);
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    double *want = malloc(m->total * sizeof *want);
    /* the average starts at w0: avg_N = prod_k d_k w0 + sum_k (1 - d_k) prod_{j>k} d_j w_k */
    real **ws = malloc(N * sizeof *ws);
    for (int k = 0; k < N; k++) {
        train(t, x, h, 16, 1);
        ws[k] = malloc(m->total * sizeof(real));
        memcpy(ws[k], m->w, m->total * sizeof(real));
    }
    for (size_t i = 0; i < m->total; i++) want[i] = 0;
    double tail = 1; /* prod_{j>k} d_j */
    for (int k = N; k >= 1; k--) {
        double d = pcnn_train_ema_decay(&o, k);
        for (size_t i = 0; i < m->total; i++) want[i] += (1 - d) * tail * ws[k - 1][i];
        tail *= d;
    }
    pcnn_model *init = pcnn_model_new(cpu, hp, 8);
    for (size_t i = 0; i < m->total; i++) want[i] += tail * init->w[i];
    pcnn_trainer_use_average(t, 1);
    double worst = 0, moved = 0;
    for (size_t i = 0; i < m->total; i++) {
        worst = fmax(worst, fabs(m->w[i] - want[i]));
        moved = fmax(moved, fabs(m->w[i] - ws[N - 1][i]));
    }
    CHECK(worst < 1e-6, "average after %d steps: off its closed form by %.3g", N, worst);
    CHECK(moved > 1e-5, "the average is not simply the last weights");
    float bpd;
    CHECK(pcnn_trainer_step(t, x, h, 4, &bpd) == -1, "no step while the model holds the average");
    pcnn_trainer_use_average(t, 0);
    CHECK(memcmp(m->w, ws[N - 1], m->total * sizeof(real)) == 0, "the trained weights come back");
    for (int k = 0; k < N; k++) free(ws[k]);
    free(ws), free(want);
    pcnn_trainer_free(t);
    pcnn_model_free(m), pcnn_model_free(init);
}

/* dropout acts in training only: evaluation is what it is without it */
static void test_dropout(const pcnn_hparams *hp, const uint8_t *x, const float *h)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 8;
    pcnn_model *a = pcnn_model_new(cpu, hp, 9), *b = pcnn_model_new(cpu, hp, 9);
    float eval[8], after_a[8], after_b[8], with, without;
    pcnn_model_nll(a, eval, x, h, 8);
    double mean = 0;
    for (int i = 0; i < 8; i++) mean += eval[i] / 8;
    pcnn_trainer *tb = pcnn_trainer_new(b, &o);
    o.dropout = 0.5f;
    pcnn_trainer *ta = pcnn_trainer_new(a, &o);
    CHECK(pcnn_trainer_step(ta, x, h, 8, &with) == 0 && pcnn_trainer_step(tb, x, h, 8, &without) == 0, "steps");
    double bpd_eval = pcnn_bits_per_dim(hp, mean);
    CHECK_CLOSE(without, bpd_eval, 2e-6, "training loss without dropout %.6f = evaluation %.6f", without, bpd_eval);
    CHECK(fabs(with - bpd_eval) > 2e-4, "training loss with dropout %.6f differs from evaluation %.6f", with, bpd_eval);
    memcpy(b->w, a->w, a->total * sizeof(real)); /* same weights, one model trained with dropout */
    pcnn_model_nll(a, after_a, x, h, 8);
    pcnn_model_nll(b, after_b, x, h, 8);
    CHECK(memcmp(after_a, after_b, sizeof after_a) == 0, "evaluation after a dropout step is unaffected by it");
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
}

/* a training state written before schedules, averages and dropout (no such keys) loads
 * as constant rate, no average, no dropout */
static void test_old_state(const pcnn_hparams *hp, const char *path)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 4;
    pcnn_model *m = pcnn_model_new(cpu, hp, 10);
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    CHECK(pcnn_trainer_save(t, path) == 0, "save: %s", pcnn_errstr());
    pcnn_trainer_free(t);
    pcnn_st st;
    CHECK(pcnn_st_read(&st, path) == 0, "read back: %s", pcnn_errstr());
    int kept = 0;
    for (int i = 0; i < st.nmeta; i++) {
        int newer = !strcmp(st.meta_keys[i], "train.schedule") || !strcmp(st.meta_keys[i], "train.warmup") ||
                    !strcmp(st.meta_keys[i], "train.lr_decay") || !strcmp(st.meta_keys[i], "train.lr_steps") ||
                    !strcmp(st.meta_keys[i], "train.ema") || !strcmp(st.meta_keys[i], "train.dropout") ||
                    !strcmp(st.meta_keys[i], "train.held_out");
        if (newer) { free(st.meta_keys[i]), free(st.meta_vals[i]); continue; }
        st.meta_keys[kept] = st.meta_keys[i], st.meta_vals[kept] = st.meta_vals[i], kept++;
    }
    CHECK(st.nmeta - kept == 7, "the seven newer keys were there (%d)", st.nmeta - kept);
    st.nmeta = kept;
    CHECK(pcnn_st_write(&st, path) == 0, "write: %s", pcnn_errstr());
    pcnn_st_free(&st);
    pcnn_model *back = pcnn_model_load(cpu, path);
    t = back ? pcnn_trainer_load(back, path) : NULL;
    CHECK(t != NULL, "an older training state loads: %s", pcnn_errstr());
    if (t) {
        const pcnn_train_opts *lo = pcnn_trainer_opts(t);
        CHECK(lo->schedule == PCNN_LR_CONSTANT && lo->warmup == 0 && lo->ema == 0 && lo->dropout == 0,
              "an older state has a constant rate, no average and no dropout");
        CHECK(lo->held_out == PCNN_HELD_OUT_LAST, "an older state held out the last 5%%");
        CHECK(isnan(pcnn_trainer_best(t, NULL)), "an older state has no best validation");
        CHECK(memcmp(back->w, m->w, m->total * sizeof(real)) == 0, "its weights are the model's");
    }
    pcnn_trainer_free(t);
    pcnn_model_free(back), pcnn_model_free(m);
}

/* stop, save, load, resume == unbroken, with a schedule, dropout and an average; the
 * file's plain tensors hold the average, which is what pcnn_model_load reads */
static void test_resume_recipe(const pcnn_hparams *hp, const uint8_t *x, const float *h, const char *path)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 4, o.ema = 0.8f, o.dropout = 0.25f, o.schedule = PCNN_LR_COSINE, o.warmup = 3, o.lr_steps = 20;
    pcnn_model *a = pcnn_model_new(cpu, hp, 11), *b = pcnn_model_new(cpu, hp, 11);
    pcnn_trainer *ta = pcnn_trainer_new(a, &o), *tb = pcnn_trainer_new(b, &o);
    train(ta, x, h, 40, 12);
    train(tb, x, h, 40, 5);
    CHECK(pcnn_trainer_save(tb, path) == 0, "save: %s", pcnn_errstr());
    pcnn_trainer_use_average(tb, 1);
    pcnn_model *plain = pcnn_model_load(cpu, path);
    CHECK(plain && memcmp(plain->w, b->w, b->total * sizeof(real)) == 0,
          "the model a reader loads holds the averaged weights");
    pcnn_model_free(plain);
    pcnn_trainer_free(tb);
    pcnn_model_free(b);
    b = pcnn_model_load(cpu, path);
    tb = b ? pcnn_trainer_load(b, path) : NULL;
    CHECK(tb != NULL, "trainer load: %s", pcnn_errstr());
    if (tb) {
        const pcnn_train_opts *lo = pcnn_trainer_opts(tb);
        CHECK(lo->schedule == PCNN_LR_COSINE && lo->warmup == 3 && lo->lr_steps == 20 && lo->ema == 0.8f &&
              lo->dropout == 0.25f, "the recipe comes back from the file");
        train(tb, x, h, 40, 7);
        CHECK(memcmp(a->w, b->w, a->total * sizeof(real)) == 0, "resumed trained weights differ from unbroken ones");
        pcnn_trainer_use_average(ta, 1), pcnn_trainer_use_average(tb, 1);
        CHECK(memcmp(a->w, b->w, a->total * sizeof(real)) == 0, "resumed average differs from the unbroken one");
    }
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
}

/* the held-out 5%: n / 20 images, a function of the seed, spread over the set (not the
 * tail, which is whole classes when the input is sorted), or the tail for older runs */
static void test_held_out(void)
{
    enum { N = 1000 };
    unsigned char a[N], b[N], c[N];
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    CHECK(o.held_out == PCNN_HELD_OUT_RANDOM, "a new run holds out a random 5%%");
    pcnn_train_held_out(&o, N, a);
    pcnn_train_held_out(&o, N, b);
    o.seed = 2;
    pcnn_train_held_out(&o, N, c);
    int na = 0, tail = 0, quarter[4] = {0};
    for (int i = 0; i < N; i++) na += a[i], tail += i >= N - N / 20 && a[i], quarter[i / (N / 4)] += a[i];
    CHECK(na == N / 20, "%d held out of %d, want %d", na, N, N / 20);
    CHECK(memcmp(a, b, N) == 0, "the same seed holds out the same images");
    CHECK(memcmp(a, c, N) != 0, "another seed holds out others");
    CHECK(tail < N / 40, "%d of the last 50 held out: not spread", tail);
    for (int q = 0; q < 4; q++) CHECK(quarter[q] >= 5, "only %d held out in quarter %d", quarter[q], q);
    o.held_out = PCNN_HELD_OUT_LAST;
    pcnn_train_held_out(&o, N, a);
    na = tail = 0;
    for (int i = 0; i < N; i++) na += a[i], tail += i >= N - N / 20 && a[i];
    CHECK(na == N / 20 && tail == N / 20, "the older choice holds out the last 5%%");
    o.held_out = PCNN_HELD_OUT_RANDOM;
    pcnn_train_held_out(&o, 19, a);
    CHECK(memchr(a, 1, 19) == NULL, "nothing held out of 19 images");
}

/* the best validation figure: lower is better (or higher), kept in the saved state */
static void test_best(const pcnn_hparams *hp, const char *path)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    pcnn_model *m = pcnn_model_new(cpu, hp, 10);
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    int64_t step = -1;
    CHECK(isnan(pcnn_trainer_best(t, &step)), "no best before a validation");
    CHECK(pcnn_trainer_note_valid(t, NAN, 0) == 0, "a failed validation is no best");
    CHECK(pcnn_trainer_note_valid(t, 3.25, 0) == 1, "the first figure is the best");
    CHECK(pcnn_trainer_note_valid(t, 3.5, 0) == 0, "a worse one is not");
    CHECK(pcnn_trainer_note_valid(t, 3.25, 0) == 0, "an equal one is not");
    CHECK(pcnn_trainer_note_valid(t, 3.0 + 1e-12, 0) == 1, "a better one is");
    CHECK(pcnn_trainer_save(t, path) == 0, "save: %s", pcnn_errstr());
    pcnn_model *back = pcnn_model_load(cpu, path);
    pcnn_trainer *u = back ? pcnn_trainer_load(back, path) : NULL;
    CHECK(u && pcnn_trainer_best(u, &step) == 3.0 + 1e-12 && step == 0, "the best comes back exactly from the file");
    CHECK(u && pcnn_trainer_note_valid(u, 3.1, 0) == 0, "and a resumed run compares with it");
    CHECK(u && pcnn_trainer_opts(u)->held_out == PCNN_HELD_OUT_RANDOM, "the held-out choice comes back");
    pcnn_trainer_free(u), pcnn_model_free(back);
    pcnn_trainer_free(t);
    t = pcnn_trainer_new(m, &o);
    CHECK(pcnn_trainer_note_valid(t, 0.75, 1) == 1 && pcnn_trainer_note_valid(t, 0.7, 1) == 0 &&
          pcnn_trainer_note_valid(t, 0.8, 1) == 1, "higher is better for a verification accuracy");
    pcnn_trainer_free(t), pcnn_model_free(m);
}

/* The Adam op against the textbook (Kingma & Ba, algorithm 1) in double, after step 1 and
 * after step 7 of a run with a different gradient each step, pre-scaled by gscale = 0.5:
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
 * At step 1 the first moment's correction is a factor of 10; at step 7 both corrections
 * are still far from 1, so dropping either shows. */
static void test_adam_formula(void)
{
    enum { N = 6, STEPS = 7 };
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, gscale = 0.5;
    real w[N], m[N] = {0}, v[N] = {0}, g[N];
    double ww[N], wm[N] = {0}, wv[N] = {0};
    uint64_t rng = 21;
    for (int i = 0; i < N; i++) ww[i] = w[i] = (real)(2 * pcnn_rng_uniform(&rng) - 1);
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = (real)(pcnn_rng_uniform(&rng) - 0.3) * (i + 1);
        be_adam(cpu, w, m, v, g, N, (real)lr, (real)b1, (real)b2, (real)eps, t, (real)gscale);
        double worst = 0, step = 0;
        for (int i = 0; i < N; i++) {
            const double gi = g[i] * gscale;
            wm[i] = b1 * wm[i] + (1 - b1) * gi;
            wv[i] = b2 * wv[i] + (1 - b2) * gi * gi;
            const double d = lr * (wm[i] / (1 - pow(b1, t))) / (sqrt(wv[i] / (1 - pow(b2, t))) + eps);
            ww[i] -= d;
            worst = fmax(worst, fabs(w[i] - ww[i]));
            step = fmax(step, fabs(d));
        }
        /* float against double: well under a thousandth of a step */
        if (t == 1 || t == STEPS)
            CHECK(worst < 1e-3 * step, "Adam at step %d: weights off the textbook by %.3g (steps of %.3g)", t,
                  worst, step);
    }
}

/* Global-norm clipping in a training step: with clip c below the gradient's norm |g|, the
 * step is Adam's first step on the gradient scaled by c/|g| (the norm, not its square);
 * with c above |g| it is the unclipped step, bit for bit. eps = 1, far above the
 * gradient's entries, makes Adam's first step about lr * (scaled gradient) -- with the
 * usual 1e-8 it is lr * sign(g) whatever the scale, and clipping would not show. */
static void test_clip(void)
{
    const pcnn_hparams hp = {.L = 1, .p = 6, .n = 3, .C = 1, .H = 8, .W = 8, .K = 16};
    enum { B = 4, PIX = 64 };
    uint8_t x[B * PIX];
    uint64_t rng = 17;
    for (int i = 0; i < B * PIX; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = B, o.lr = 0.01f, o.eps = 1;
    pcnn_model *m[3];
    pcnn_trainer *t[3];
    float bpd;
    for (int k = 0; k < 3; k++) m[k] = pcnn_model_new(cpu, &hp, 6); /* the same weights */
    const size_t n = m[0]->total;
    real *w0 = malloc(n * sizeof *w0), *want = malloc(n * sizeof *want), *zm = calloc(n, sizeof *zm),
         *zv = calloc(n, sizeof *zv);
    memcpy(w0, m[0]->w, n * sizeof *w0);
    /* unclipped, for the gradient and its norm */
    t[0] = pcnn_trainer_new(m[0], &o);
    CHECK(pcnn_trainer_step(t[0], x, NULL, B, &bpd) == 0, "step: %s", pcnn_errstr());
    double norm = 0;
    for (size_t i = 0; i < n; i++) norm += (double)m[0]->g[i] * m[0]->g[i];
    norm = sqrt(norm);
    /* at |g| = 1 the norm and its square clip alike: this gradient must be far from it */
    CHECK(fabs(norm - 1) > 0.2, "the gradient's norm %.4f is too near 1 to tell it from its square", norm);
    o.clip = (float)(norm / 2);
    t[1] = pcnn_trainer_new(m[1], &o);
    o.clip = (float)(2 * norm);
    t[2] = pcnn_trainer_new(m[2], &o);
    CHECK(pcnn_trainer_step(t[1], x, NULL, B, &bpd) == 0 && pcnn_trainer_step(t[2], x, NULL, B, &bpd) == 0,
          "clipped steps: %s", pcnn_errstr());
    CHECK(memcmp(m[1]->g, m[0]->g, n * sizeof(real)) == 0, "the same batch gave another gradient");
    /* what the step must be: Adam's first step on g * c/|g|, from the same weights */
    const double scale = (double)(float)(norm / 2) / norm;
    memcpy(want, w0, n * sizeof *want);
    be_adam(cpu, want, zm, zv, m[0]->g, n, o.lr, o.beta1, o.beta2, o.eps, 1, (real)scale);
    double worst = 0, moved = 0, moved_full = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(m[1]->w[i] - want[i]));
        moved += fabs(m[1]->w[i] - w0[i]), moved_full += fabs(m[0]->w[i] - w0[i]);
    }
    printf("clipping: |g| %.4f clipped to %.4f; the step %.4f of the unclipped one\n", norm, norm / 2,
           moved / moved_full);
    CHECK(worst < 1e-6, "clip %.4f of |g| %.4f: the step is off Adam's on g * %.3f by %.3g", norm / 2, norm, scale,
          worst);
    CHECK_CLOSE(moved / moved_full, scale, 0.01, "clip to half the norm: the step is %.4f of the unclipped one",
                moved / moved_full);
    CHECK(memcmp(m[2]->w, m[0]->w, n * sizeof(real)) == 0, "a clip above the gradient's norm changed the step");
    for (int k = 0; k < 3; k++) pcnn_trainer_free(t[k]), pcnn_model_free(m[k]);
    free(w0), free(want), free(zm), free(zv);
}

/* The data order: each epoch of n = 12 images in batches of 4 visits every image once, in
 * an order of its own (a new shuffle from the seed and the epoch), the same for the same
 * seed; a batch depends on the step alone. Training only checked that resuming across an
 * epoch gives the same weights, which one order for every epoch also does. */
static void test_batch_order(void)
{
    const pcnn_hparams hp = {.L = 1, .p = 2, .n = 3, .C = 1, .H = 4, .W = 4, .K = 4};
    enum { N = 12, B = 4, EPOCHS = 3, STEPS = EPOCHS * N / B };
    uint8_t x[B * 16] = {0};
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = B;
    size_t order[2][STEPS * B];
    for (int run = 0; run < 2; run++) {
        pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
        pcnn_trainer *t = pcnn_trainer_new(m, &o);
        float bpd;
        for (int s = 0; s < STEPS; s++) {
            size_t again[B];
            CHECK(pcnn_trainer_batch(t, N, order[run] + s * B) == 0 && pcnn_trainer_batch(t, N, again) == 0,
                  "batch: %s", pcnn_errstr());
            CHECK(memcmp(again, order[run] + s * B, sizeof again) == 0, "step %d: asked twice, two batches", s + 1);
            CHECK(pcnn_trainer_step(t, x, NULL, B, &bpd) == 0, "step: %s", pcnn_errstr());
        }
        pcnn_trainer_free(t), pcnn_model_free(m);
    }
    CHECK(memcmp(order[0], order[1], sizeof order[0]) == 0, "the same seed gave another order");
    for (int e = 0; e < EPOCHS; e++) {
        int seen[N] = {0}, once = 1;
        for (int k = 0; k < N; k++) seen[order[0][e * N + k] % N]++;
        for (int k = 0; k < N; k++) once &= seen[k] == 1 && order[0][e * N + k] < N;
        CHECK(once, "epoch %d does not visit each of the %d images once", e + 1, N);
        if (e) CHECK(memcmp(order[0] + e * N, order[0] + (e - 1) * N, N * sizeof(size_t)) != 0,
                     "epoch %d repeats the order of epoch %d", e + 1, e);
    }
}

/* what h carries, for each kind of model */
static void test_cond_kinds(void)
{
    const pcnn_hparams base = {.L = 1, .p = 6, .n = 3, .C = 1, .H = 8, .W = 8, .K = 4, .q = 2};
    struct { pcnn_hparams hp; int want; const char *what; } cases[] = {
        {base, PCNN_COND_NONE, "unconditional"},
        {base, PCNN_COND_CLASS, "class-conditional"},
        {base, PCNN_COND_VECTOR, "vectors"},
        {base, PCNN_COND_CODE, "PixelCNN autoencoder"},
        {base, PCNN_COND_CODE, "MSE autoencoder"},
        {base, PCNN_COND_IDENTITY, "embedding net"},
    };
    cases[1].hp.D = cases[1].hp.classes = 3;
    cases[2].hp.D = 5;
    cases[3].hp.D = 4, cases[3].hp.encoder = 1;
    cases[4].hp.D = 4, cases[4].hp.encoder = 1, cases[4].hp.kind = PCNN_MSE_AUTOENCODER;
    cases[5].hp.D = 4, cases[5].hp.classes = 7, cases[5].hp.kind = PCNN_EMBEDDING;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pcnn_model *m = pcnn_model_new(cpu, &cases[i].hp, 1);
        CHECK(m && pcnn_model_cond(m) == cases[i].want, "%s: pcnn_model_cond %d, want %d (%s)", cases[i].what,
              m ? pcnn_model_cond(m) : -1, cases[i].want, pcnn_errstr());
        pcnn_model_free(m);
    }
}

/* A batch of fewer pixels than 2p (one 4x4 image, 32 maps): the backward filter stages a
 * stack's gradient (64 x 32 x 3 x 5 values) in the convolutions' scratch, which had been
 * sized by the pixels alone and was overrun (a crash, or other buffers overwritten). The
 * gradient equals the one computed in a workspace reserved for 16 images. */
static void test_small_batch(void)
{
    pcnn_hparams hp = {.L = 2, .p = 32, .n = 5, .C = 1, .H = 4, .W = 4, .K = 16};
    uint8_t x[16];
    for (int i = 0; i < 16; i++) x[i] = (uint8_t)(i * 7 % 16);
    real nll[2];
    pcnn_model *a = pcnn_model_new(cpu, &hp, 11), *b = pcnn_model_new(cpu, &hp, 11);
    CHECK(a && b && !pcnn_model_reserve(b, 16), "small models: %s", pcnn_errstr());
    if (!a || !b) return;
    memset(a->g, 0, a->total * sizeof *a->g), memset(b->g, 0, b->total * sizeof *b->g);
    CHECK(!pcnn_model_run(a, nll, x, NULL, 1, 1, 1) && !pcnn_model_run(b, nll + 1, x, NULL, 1, 1, 1),
          "one 4x4 image: %s", pcnn_errstr());
    double e = 0;
    for (size_t i = 0; i < a->total; i++) e = fmax(e, fabs((double)a->g[i] - b->g[i]));
    CHECK(e == 0 && nll[0] == nll[1], "one 4x4 image: its gradient differs by %g from a larger workspace's", e);
    pcnn_model_free(a), pcnn_model_free(b);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    test_small_batch();
    test_cond_kinds();
    test_held_out();
    test_adam_formula();
    test_clip();
    test_batch_order();
    if (access(FM "train-images-idx3-ubyte.gz", R_OK)) {
        SKIP("Fashion-MNIST not installed (Debian package dataset-fashion-mnist)");
        return check_summary("test_train");
    }
    uint8_t *x, *vx;
    float *h, *vh;
    size_t n = load(&x, &h, FM "train-images-idx3-ubyte.gz", FM "train-labels-idx1-ubyte.gz", 512);
    size_t nv = load(&vx, &vh, FM "t10k-images-idx3-ubyte.gz", FM "t10k-labels-idx1-ubyte.gz", 128);
    CHECK(n == 512 && nv == 128, "loaded %zu and %zu images", n, nv);

    pcnn_hparams hp = {.L = 2, .p = 16, .n = 3, .C = 1, .H = 28, .W = 28, .K = 256, .D = 10, .classes = 10};
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.lr = 3e-3f;

    /* 1. overfit 16 images */
    pcnn_model *m = pcnn_model_new(cpu, &hp, 3);
    o.batch = 16;
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    double before = mean_bpd(m, x, h, 16);
    train(t, x, h, 16, 120);
    double after = mean_bpd(m, x, h, 16);
    printf("overfit 16 images: %.3f -> %.3f bits/dim\n", before, after);
    CHECK(after < 0.5 * before, "overfitting: %.3f -> %.3f bits/dim", before, after);
    pcnn_trainer_free(t);
    pcnn_model_free(m);

    /* 2. a short run lowers the held-out loss */
    m = pcnn_model_new(cpu, &hp, 4);
    t = pcnn_trainer_new(m, &o);
    before = mean_bpd(m, vx, vh, (int)nv);
    train(t, x, h, n, 40);
    after = mean_bpd(m, vx, vh, (int)nv);
    printf("held-out: %.3f -> %.3f bits/dim after 40 steps\n", before, after);
    CHECK(after < before - 0.5, "held-out bits/dim %.3f -> %.3f", before, after);
    pcnn_trainer_free(t);
    pcnn_model_free(m);

    /* 3. stop, save, load, resume == unbroken */
    hp.L = 1, hp.p = 8;
    o.batch = 4;
    char path[] = "/tmp/pcnn-test-train-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    pcnn_model *a = pcnn_model_new(cpu, &hp, 5), *b = pcnn_model_new(cpu, &hp, 5);
    pcnn_trainer *ta = pcnn_trainer_new(a, &o), *tb = pcnn_trainer_new(b, &o);
    train(ta, x, h, 40, 12); /* crosses epochs: 40 images, 10 steps each */
    train(tb, x, h, 40, 5);
    CHECK(pcnn_trainer_save(tb, path) == 0, "save: %s", pcnn_errstr());
    pcnn_trainer_free(tb);
    pcnn_model_free(b);
    b = pcnn_model_load(cpu, path);
    CHECK(b != NULL, "load: %s", pcnn_errstr());
    tb = b ? pcnn_trainer_load(b, path) : NULL;
    CHECK(tb != NULL, "trainer load: %s", pcnn_errstr());
    if (tb) {
        CHECK(pcnn_trainer_step_count(tb) == 5, "resumed at step %lld", (long long)pcnn_trainer_step_count(tb));
        train(tb, x, h, 40, 7);
        CHECK(memcmp(a->w, b->w, a->total * sizeof(real)) == 0, "resumed weights differ from unbroken ones");
    }
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);

    /* 4. the recipe: schedule, average, dropout, their resume, and older files */
    test_schedule(&hp, x, h);
    test_average(&hp, x, h);
    test_dropout(&hp, x, h);
    test_resume_recipe(&hp, x, h, path);
    test_old_state(&hp, path);
    test_best(&hp, path);
    unlink(path);
    free(x), free(h), free(vx), free(vh);
    pcnn_backend_close(cpu);
    return check_summary("test_train");
}
