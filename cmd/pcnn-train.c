/* pcnn-train -- trains a Gated PixelCNN on images and writes it as a model file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *out_path, *labels_path, *valid_path, *valid_labels_path;
static int layers = 15, features = 64, filter = 5, levels = 256, classes = -1;
static int steps = 1000, every = 100, valid_size = 1000, resume, limit;
static pcnn_train_opts o;

static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'o', "output", OPT_STR, &out_path, 0, 0, "MODEL", "model file to write (required); checkpoints go here too"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "class labels of the images (IDX, CIFAR-10 .bin, or one integer per line)"},
    {0, "classes", OPT_INT, &classes, 0, 65536, "N", "condition on N classes (default: largest label + 1 with -l, else none)"},
    {'L', "layers", OPT_INT, &layers, 0, 100, "N", "gated layers after the first (default 15)"},
    {'p', "features", OPT_INT, &features, 1, 4096, "N", "feature maps per stack (default 64)"},
    {'n', "filter", OPT_INT, &filter, 1, 15, "N", "filter size, odd (default 5)"},
    {'k', "levels", OPT_INT, &levels, 2, 256, "K", "quantize to K levels per channel (default 256)"},
    {'b', "batch", OPT_INT, &o.batch, 1, 65536, "N", "images per step (default 16)"},
    {'s', "steps", OPT_INT, &steps, 0, 100000000, "N", "train until N steps in all (default 1000)"},
    {0, "lr", OPT_FLOAT, &o.lr, 1e-9, 10, "X", "Adam learning rate (default 0.001)"},
    {0, "beta1", OPT_FLOAT, &o.beta1, 0, 0.999999, "X", "Adam beta1 (default 0.9)"},
    {0, "beta2", OPT_FLOAT, &o.beta2, 0, 0.999999999, "X", "Adam beta2 (default 0.999)"},
    {0, "eps", OPT_FLOAT, &o.eps, 1e-30, 1, "X", "Adam epsilon (default 1e-8)"},
    {0, "clip", OPT_FLOAT, &o.clip, 0, 1e30, "X", "clip the global gradient norm to X (default 0: off)"},
    {0, "seed", OPT_U64, &o.seed, 0, 0, "S", "seed of the initial weights and the data order (default 1)"},
    {0, "every", OPT_INT, &every, 1, 100000000, "N", "checkpoint and validate every N steps (default 100)"},
    {'v', "valid", OPT_STR, &valid_path, 0, 0, "FILE", "held-out images (default: the last 5% of the input)"},
    {0, "valid-labels", OPT_STR, &valid_labels_path, 0, 0, "FILE", "labels of the held-out images"},
    {0, "valid-size", OPT_INT, &valid_size, 1, 100000000, "N", "held-out images evaluated each time (default 1000)"},
    {0, "limit", OPT_INT, &limit, 0, 100000000, "N", "read at most N training images (default all)"},
    {'r', "resume", OPT_FLAG, &resume, 0, 0, NULL, "continue the run saved in MODEL, exactly where it stopped"},
};
static const cli_prog prog = {"pcnn-train", "-o MODEL [options] [FILE...]",
    "Trains a Gated PixelCNN on images (netpbm, PNG, IDX or CIFAR-10 .bin; stdin when no FILE).",
    opts, sizeof opts / sizeof *opts};

/* mean bits/dim of up to valid_size images of a set */
static double evaluate(pcnn_model *m, const cli_dataset *d, const float *h, double *nats)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    size_t n = d->n < (size_t)valid_size ? d->n : (size_t)valid_size, sz = (size_t)hp->C * hp->H * hp->W;
    double total = 0;
    float nll[64];
    for (size_t i = 0; i < n; i += 64) {
        int B = (int)(n - i < 64 ? n - i : 64);
        if (pcnn_model_nll(m, nll, d->x + i * sz, h ? h + i * hp->D : NULL, B))
            cli_fail("validation: %s", pcnn_errstr());
        for (int b = 0; b < B; b++) total += nll[b];
    }
    *nats = total / n;
    return pcnn_bits_per_dim(hp, total / n);
}

static void save(pcnn_trainer *t)
{
    if (pcnn_trainer_save(t, out_path)) cli_fail("%s", pcnn_errstr());
}

int main(int argc, char **argv)
{
    pcnn_train_opts_default(&o);
    int first = cli_parse(&prog, argc, argv);
    cli_select_device();
    if (!out_path) cli_usage_error("no output model given (-o MODEL)");
    if (valid_labels_path && !valid_path) cli_usage_error("--valid-labels needs --valid");
    if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    int npaths = first < argc ? argc - first : 1;

    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    if (resume) {
        m = cli_load_model(out_path);
        t = pcnn_trainer_load(m, out_path);
        if (!t) cli_fail("cannot resume: %s", pcnn_errstr());
    }
    const pcnn_hparams *want = m ? pcnn_model_hparams(m) : NULL;
    cli_dataset all;
    cli_load_images(&all, paths, npaths, want ? want->K : levels, want, (size_t)limit);

    /* conditioning */
    float *h = NULL;
    int D = want ? want->D : 0;
    if (want && want->D && !labels_path) cli_fail("%s: the model is class-conditional; give -l LABELS", out_path);
    if (labels_path) {
        int ncls = want ? want->classes : classes;
        if (want && !want->classes) cli_fail("%s: the model is not class-conditional; drop -l", out_path);
        h = cli_onehot_from_labels(labels_path, all.n, ncls, &ncls);
        D = want ? want->classes : classes > 0 ? classes : ncls + 1;
    } else if (classes > 0) {
        cli_usage_error("--classes needs labels (-l FILE)");
    }

    /* held-out set: a file, or the tail of the input */
    cli_dataset valid = {0};
    float *vh = NULL;
    size_t sz = (size_t)all.C * all.H * all.W;
    if (valid_path) {
        pcnn_hparams shape = {.C = all.C, .H = all.H, .W = all.W};
        cli_load_images(&valid, &valid_path, 1, want ? want->K : levels, &shape, (size_t)valid_size);
        if (h && !valid_labels_path) cli_usage_error("--valid with a class model needs --valid-labels");
        if (h) vh = cli_onehot_from_labels(valid_labels_path, valid.n, D, NULL);
    } else if (all.n >= 20) {
        size_t nv = all.n / 20;
        valid = (cli_dataset){.n = nv, .C = all.C, .H = all.H, .W = all.W, .x = all.x + (all.n - nv) * sz};
        vh = h ? h + (all.n - nv) * D : NULL;
        all.n -= nv;
    }

    if (!m) {
        pcnn_hparams hp = {.L = layers, .p = features, .n = filter, .C = all.C, .H = all.H,
                           .W = all.W, .K = levels, .D = h ? D : 0, .classes = h ? D : 0};
        if (pcnn_hparams_check(&hp)) cli_usage_error("%s", pcnn_errstr());
        m = pcnn_model_new(&hp, o.seed);
        if (!m) cli_fail("%s", pcnn_errstr());
        t = pcnn_trainer_new(m, &o);
        if (!t) cli_usage_error("%s", pcnn_errstr());
    }
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const pcnn_train_opts *to = pcnn_trainer_opts(t);
    fprintf(stderr, "%s: %zu training images %dx%dx%d, %zu held out; %zu parameters; step %lld of %d\n",
            cli_name, all.n, hp->W, hp->H, hp->C, valid.n, pcnn_model_nparams(m),
            (long long)pcnn_trainer_step_count(t), steps);

    const int B = to->batch;
    uint8_t *xb = malloc((size_t)B * sz);
    float *hb = hp->D ? malloc((size_t)B * hp->D * sizeof *hb) : NULL;
    size_t *idx = malloc((size_t)B * sizeof *idx);
    if (!xb || !idx || (hp->D && !hb)) cli_fail("out of memory");

    cli_catch_signals();
    cli_progress pr;
    long start = (long)pcnn_trainer_step_count(t);
    cli_progress_start(&pr, "train", steps);
    pr.first = start;
    double t0 = cli_now(), ema = NAN;
    while (pcnn_trainer_step_count(t) < steps && !cli_stop) {
        if (pcnn_trainer_batch(t, all.n, idx)) cli_fail("%s", pcnn_errstr());
        for (int b = 0; b < B; b++) {
            memcpy(xb + b * sz, all.x + idx[b] * sz, sz);
            if (hb) memcpy(hb + (size_t)b * hp->D, h + idx[b] * hp->D, hp->D * sizeof *hb);
        }
        float bpd;
        if (pcnn_trainer_step(t, xb, hb, B, &bpd)) {
            save(t);
            cli_fail("%s", pcnn_errstr());
        }
        ema = isnan(ema) ? bpd : 0.95 * ema + 0.05 * bpd;
        long s = (long)pcnn_trainer_step_count(t);
        char extra[96];
        snprintf(extra, sizeof extra, "%.1f img/s loss %.4f bpd", (s - start) * B / (cli_now() - t0), ema);
        cli_progress_update(&pr, s, extra);
        if (s % every == 0 || s == steps) {
            save(t);
            if (valid.n) {
                double nats, v = evaluate(m, &valid, vh, &nats);
                if (pr.tty) fputc('\n', stderr);
                if (hp->K == 2) fprintf(stderr, "%s: step %ld valid %.4f bpd %.2f nats/image\n", cli_name, s, v, nats);
                else fprintf(stderr, "%s: step %ld valid %.4f bpd\n", cli_name, s, v);
            }
        }
    }
    cli_progress_end(&pr);
    if (cli_stop) {
        save(t);
        fprintf(stderr, "%s: interrupted at step %lld; saved %s (continue with --resume)\n", cli_name,
                (long long)pcnn_trainer_step_count(t), out_path);
        cli_exit(1);
    }
    if (pcnn_trainer_step_count(t) == start) save(t); /* nothing to do: still write the model */
    free(xb), free(hb), free(idx), free(h);
    if (valid_path) { cli_dataset_free(&valid); free(vh); }
    cli_dataset_free(&all);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    cli_exit(0);
}
