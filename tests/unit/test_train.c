/* test_train.c -- the model learns: a small network overfits 16 Fashion-MNIST images far
 * below its starting loss, a short run lowers the held-out bits/dim, and a run stopped,
 * saved, loaded and resumed ends with the same weights as an unbroken one. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model-impl.h"

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

int main(void)
{
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
    pcnn_model *m = pcnn_model_new(&hp, 3);
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
    m = pcnn_model_new(&hp, 4);
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
    pcnn_model *a = pcnn_model_new(&hp, 5), *b = pcnn_model_new(&hp, 5);
    pcnn_trainer *ta = pcnn_trainer_new(a, &o), *tb = pcnn_trainer_new(b, &o);
    train(ta, x, h, 40, 12); /* crosses epochs: 40 images, 10 steps each */
    train(tb, x, h, 40, 5);
    CHECK(pcnn_trainer_save(tb, path) == 0, "save: %s", pcnn_errstr());
    pcnn_trainer_free(tb);
    pcnn_model_free(b);
    b = pcnn_model_load(path);
    CHECK(b != NULL, "load: %s", pcnn_errstr());
    tb = b ? pcnn_trainer_load(b, path) : NULL;
    CHECK(tb != NULL, "trainer load: %s", pcnn_errstr());
    if (tb) {
        CHECK(pcnn_trainer_step_count(tb) == 5, "resumed at step %lld", (long long)pcnn_trainer_step_count(tb));
        train(tb, x, h, 40, 7);
        CHECK(memcmp(a->w, b->w, a->total * sizeof(real)) == 0, "resumed weights differ from unbroken ones");
    }
    unlink(path);
    pcnn_trainer_free(ta), pcnn_trainer_free(tb);
    pcnn_model_free(a), pcnn_model_free(b);
    free(x), free(h), free(vx), free(vh);
    return check_summary("test_train");
}
