/* test_embed.c -- a triplet-trained embedding net on real data, judged on identities it
 * never saw: Fashion-MNIST's classes 0..6 are the training identities, and the test
 * images of classes 7, 8 and 9 are held out whole. The verification accuracy (of all
 * held-out triplets (anchor, same identity, other identity), the fraction where the
 * anchor lies closer to its own identity; chance is 0.5) must reach 0.75, and must beat
 * the untrained net's. Also: pcnn_verify_accuracy on hand-made embeddings. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

#define FM "/usr/share/datasets/fashion-mnist/"

static void test_verify_accuracy(void)
{
    /* identity 0 near (0,0), identity 1 near (1,0): every triplet right */
    const float e[8] = {0, 0, 0.1f, 0, 1, 0, 0.9f, 0};
    const int id[4] = {0, 0, 1, 1};
    double n, acc = pcnn_verify_accuracy(e, id, 4, 2, &n);
    CHECK(acc == 1 && n == 8, "separated identities: accuracy %g over %g triplets (want 1 over 8)", acc, n);
    /* identities across the clusters: only anchors 1 (own 0.8 vs other 0.9) and 3 (own
     * 0.8 vs other 0.9) get one triplet each right */
    const int mixed[4] = {0, 1, 0, 1};
    acc = pcnn_verify_accuracy(e, mixed, 4, 2, &n);
    CHECK(fabs(acc - 0.25) < 1e-12, "mixed identities: accuracy %g (want 2 of 8)", acc);
    /* one identity alone: no triplet, NaN with a reason */
    const int one[4] = {3, 3, 3, 3};
    acc = pcnn_verify_accuracy(e, one, 4, 2, &n);
    CHECK(isnan(acc) && n == 0 && strstr(pcnn_errstr(), "no triplets"), "one identity: %g, '%s'", acc, pcnn_errstr());
}

/* The batch-hard triplet loss on hand-made 1-D embeddings: each anchor's positive is the
 * farthest image of its identity and its negative the nearest of another, loss
 * max(0, d(a,p) - d(a,n) + 0.2). The farther negative and the nearer positive come first
 * in the batch, so that taking the first of either changes the loss; training on real
 * data learns well enough with a worse choice to pass the accuracy check below. */
static void test_triplet_choice(void)
{
    /* identity 0 at 0, 0.1, 0.5; identity 1 at 2.0, 0.3 */
    const real e[5] = {0, 0.1f, 0.5f, 2.0f, 0.3f};
    const int id[5] = {0, 0, 0, 1, 1};
    /* a=0: p 0.5, n 0.3; a=0.1: p 0.5, n 0.3; a=0.5: p 0, n 0.3; a=2: p 0.3, n 0.5; a=0.3: p 2, n 0.1 or 0.5 */
    const double want[5] = {0.5 - 0.3 + 0.2, 0.4 - 0.2 + 0.2, 0.5 - 0.2 + 0.2, 1.7 - 1.5 + 0.2, 1.7 - 0.2 + 0.2};
    real loss[5];
    pcnn_triplet_loss(loss, NULL, e, id, 5, 1, (real)0.2, 1);
    for (int a = 0; a < 5; a++)
        CHECK(fabs(loss[a] - want[a]) < 1e-5, "anchor %d (at %g): triplet loss %g, want %g", a, (double)e[a],
              (double)loss[a], want[a]);
}

/* images (n,1,28,28) levels and labels of the classes in [lo, hi], at most max of them */
static size_t pick(uint8_t *dst, int *dst_id, const pcnn_image *img, const int *lab, size_t n, int lo,
                   int hi, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        if (lab[i] < lo || lab[i] > hi) continue;
        pcnn_quantize(dst + k * 784, &img[i], 256);
        dst_id[k++] = lab[i];
    }
    return k;
}

static double accuracy(pcnn_model *m, const uint8_t *x, const int *id, size_t n)
{
    float *e = malloc(n * m->hp.D * sizeof *e);
    for (size_t i = 0; i < n; i += 50) pcnn_model_encode(m, e + i * m->hp.D, x + i * 784, (int)(n - i < 50 ? n - i : 50));
    double trip, acc = pcnn_verify_accuracy(e, id, n, m->hp.D, &trip);
    free(e);
    return acc;
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    test_verify_accuracy();
    test_triplet_choice();
    pcnn_image *tr = NULL, *te = NULL;
    size_t ntr, nte, nl1, nl2;
    int *ltr = NULL, *lte = NULL;
    const char *trp[] = {FM "train-images-idx3-ubyte.gz"}, *tep[] = {FM "t10k-images-idx3-ubyte.gz"};
    if (pcnn_images_load(&tr, &ntr, trp, 1) || pcnn_images_load(&te, &nte, tep, 1) ||
        pcnn_labels_load(&ltr, &nl1, FM "train-labels-idx1-ubyte.gz") ||
        pcnn_labels_load(&lte, &nl2, FM "t10k-labels-idx1-ubyte.gz")) {
        SKIP("Fashion-MNIST not installed (Debian package dataset-fashion-mnist): %s", pcnn_errstr());
        return check_summary("test_embed");
    }
    enum { NTRAIN = 4000, NTEST = 300, STEPS = 300, B = 64 };
    uint8_t *xtr = malloc(NTRAIN * 784), *xte = malloc(NTEST * 784);
    int *idtr = malloc(NTRAIN * sizeof *idtr), *idte = malloc(NTEST * sizeof *idte);
    size_t n1 = pick(xtr, idtr, tr, ltr, ntr, 0, 6, NTRAIN), n2 = pick(xte, idte, te, lte, nte, 7, 9, NTEST);

    pcnn_hparams hp = {.C = 1, .H = 28, .W = 28, .K = 256, .D = 16, .classes = 7, .q = 16, .kind = PCNN_EMBEDDING};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 5);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = B, o.lr = 0.002f;
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    double before = accuracy(m, xte, idte, n2);
    uint8_t *xb = malloc(B * 784);
    float *hb = malloc(B * 7 * sizeof *hb);
    size_t idx[B];
    float loss0 = 0, loss = 0;
    for (int s = 0; s < STEPS; s++) {
        pcnn_trainer_batch(t, n1, idx);
        memset(hb, 0, B * 7 * sizeof *hb);
        for (int b = 0; b < B; b++) {
            memcpy(xb + b * 784, xtr + idx[b] * 784, 784);
            hb[b * 7 + idtr[idx[b]]] = 1;
        }
        CHECK(pcnn_trainer_step(t, xb, hb, B, &loss) == 0, "step %d: %s", s, pcnn_errstr());
        if (s == 0) loss0 = loss;
    }
    double after = accuracy(m, xte, idte, n2);
    printf("embedding of held-out identities (Fashion-MNIST classes 7-9, %zu images): "
           "verification accuracy %.3f after %d steps (untrained %.3f, chance 0.5); triplet loss %.3f -> %.3f\n",
           n2, after, STEPS, before, loss0, loss);
    CHECK(after >= 0.75, "verification accuracy %.3f on held-out identities is below 0.75", after);
    CHECK(after > before, "training did not improve verification (%.3f -> %.3f)", before, after);
    CHECK(loss < loss0, "triplet loss did not fall (%.3f -> %.3f)", loss0, loss);
    free(xb), free(hb), free(xtr), free(xte), free(idtr), free(idte), free(ltr), free(lte);
    for (size_t i = 0; i < ntr; i++) pcnn_image_free(&tr[i]);
    for (size_t i = 0; i < nte; i++) pcnn_image_free(&te[i]);
    free(tr), free(te);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_backend_close(cpu);
    return check_summary("test_embed");
}
