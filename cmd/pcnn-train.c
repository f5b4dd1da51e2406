/* pcnn-train -- trains a Gated PixelCNN on images and writes it as a model file; started
 * by mpirun, one rank of a data-parallel job (rank 0 validates, logs and writes). */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"

static const char *log_path, *best_path;
static int sample_every;
static FILE *log_file; /* --log: one JSON line per validation */
static const char *out_path, *schedule_arg, *labels_path, *valid_path, *valid_labels_path, *cond_path, *valid_cond_path;
static int layers = 15, features = 64, filter = 5, levels = 256, classes = -1;
static int spatial, encoder, mse, embed, net_features = 32;
static int warmup, steps = 1000, every = 100, valid_size = 1000, resume, force, limit;
static int timeout = 600;
static pcnn_train_opts o;
static pcnn_dist *job; /* the data-parallel job; rank 0 alone validates, logs and writes */
static int rank0 = 1;

static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'o', "output", OPT_STR, &out_path, 0, 0, "MODEL", "model file to write (required); checkpoints go here too"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "class labels of the images (IDX, CIFAR-10 .bin, or text: one class number or one class name per line)"},
    {0, "classes", OPT_INT, &classes, 0, 65536, "N", "condition on N classes (default: largest label + 1 with -l, the number of names for named classes, else none)"},
    {0, "cond", OPT_STR, &cond_path, 0, 0, "FILE", "condition on vectors h: one .npy record per image"},
    {0, "spatial", OPT_INT, &spatial, 1, 4096, "S", "condition through a map s = m(h) of S channels (location-dependent)"},
    {'e', "encoder", OPT_INT, &encoder, 1, 65536, "D", "PixelCNN autoencoder: h is an encoder's D-vector of the image itself"},
    {0, "mse", OPT_FLAG, &mse, 0, 0, NULL, "with -e: train a deconvolutional decoder on squared error instead (for comparison)"},
    {0, "embed", OPT_INT, &embed, 1, 65536, "D", "train an embedding net of D dimensions on identities (-l) with a triplet loss"},
    {0, "net-features", OPT_INT, &net_features, 1, 1024, "N", "feature maps of the encoder, m() and embedding nets (default 32)"},
    {'L', "layers", OPT_INT, &layers, 0, 100, "N", "gated layers after the first (default 15)"},
    {'p', "features", OPT_INT, &features, 1, 4096, "N", "feature maps per stack (default 64)"},
    {'n', "filter", OPT_INT, &filter, 1, 15, "N", "filter size, odd (default 5)"},
    {'k', "levels", OPT_INT, &levels, 2, 256, "K", "quantize to K levels per channel (default 256)"},
    {'b', "batch", OPT_INT, &o.batch, 1, 65536, "N", "images per step (default 16)"},
    {'s', "steps", OPT_INT, &steps, 0, 100000000, "N", "train until N steps in all (default 1000)"},
    {0, "lr", OPT_FLOAT, &o.lr, 1e-9, 10, "X", "Adam learning rate (default 0.001)"},
    {0, "beta1", OPT_FLOAT, &o.beta1, 0, 0.999999, "X", "Adam beta1 (default 0.9)"},
    {0, "beta2", OPT_FLOAT, &o.beta2, 0, 0.9999999, "X", "Adam beta2 (default 0.999)"},
    {0, "eps", OPT_FLOAT, &o.eps, 1e-30, 1, "X", "Adam epsilon (default 1e-8)"},
    {0, "clip", OPT_FLOAT, &o.clip, 0, 1e30, "X", "clip the global gradient norm to X (default 0: off)"},
    {0, "lr-schedule", OPT_STR, &schedule_arg, 0, 0, "S", "after the warm-up: constant (default), exp:G (times G each step) or cosine[:N] (to 0 at step N; default N: --steps)"},
    {0, "warmup", OPT_INT, &warmup, 0, 100000000, "N", "raise the rate linearly from 0 over the first N steps (default 0)"},
    {0, "ema", OPT_FLOAT, &o.ema, 0, 0.9999999, "D", "keep a moving average of the weights with decay D; saved and validated instead of the trained weights (default 0: off)"},
    {0, "dropout", OPT_FLOAT, &o.dropout, 0, 0.99, "P", "dropout rate on the residual layers' gated output in training (default 0)"},
    {0, "seed", OPT_U64, &o.seed, 0, 0, "S", "seed of the initial weights and the data order (default 1)"},
    {0, "sample-every", OPT_INT, &sample_every, 1, 100000000, "N", "every N steps, draw a grid of samples into MODEL-stepN.png"},
    {0, "log", OPT_STR, &log_path, 0, 0, "FILE", "append one JSON line per validation to FILE (step, time, figures)"},
    {0, "keep-best", OPT_STR, &best_path, 0, 0, "FILE", "write the model to FILE whenever a validation is the best so far"},
    {0, "every", OPT_INT, &every, 1, 100000000, "N", "checkpoint and validate every N steps (default 100)"},
    {'v', "valid", OPT_STR, &valid_path, 0, 0, "FILE", "held-out images (default: a random 5% of the input, by the seed)"},
    {0, "valid-labels", OPT_STR, &valid_labels_path, 0, 0, "FILE", "labels of the held-out images"},
    {0, "valid-cond", OPT_STR, &valid_cond_path, 0, 0, "FILE", "conditioning vectors of the held-out images"},
    {0, "valid-size", OPT_INT, &valid_size, 1, 100000000, "N", "held-out images evaluated each time (default 1000)"},
    {0, "limit", OPT_INT, &limit, 0, 100000000, "N", "read at most N training images (default all)"},
    {'r', "resume", OPT_FLAG, &resume, 0, 0, NULL, "continue the run saved in MODEL, exactly where it stopped"},
    {0, "timeout", OPT_INT, &timeout, 0, 100000000, "S", "under mpirun: give up when the other ranks do not answer within S seconds (default 600; 0: wait for ever)"},
    {0, "force", OPT_FLAG, &force, 0, 0, NULL, "start a new run over an existing MODEL (without it, an existing MODEL needs --resume)"},
};
static const cli_prog prog = {"pcnn-train", "-o MODEL [-r | --force] [options] [FILE...]",
    "Trains a Gated PixelCNN (or an autoencoder, or an embedding net) on images (netpbm, PNG, IDX or CIFAR-10 .bin; stdin when no FILE).",
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
    if (hp->kind == PCNN_MSE_AUTOENCODER) return total / n / sz; /* squared error per dim */
    return pcnn_bits_per_dim(hp, total / n);
}

/* an embedding net's verification accuracy on up to valid_size held-out images */
static double verify(pcnn_model *m, const cli_dataset *d, const int *ids, double *triplets)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    size_t n = d->n < (size_t)valid_size ? d->n : (size_t)valid_size, sz = (size_t)hp->C * hp->H * hp->W;
    float *e = malloc(n * hp->D * sizeof *e);
    if (!e) cli_fail("out of memory");
    for (size_t i = 0; i < n; i += 64) {
        int B = (int)(n - i < 64 ? n - i : 64);
        if (pcnn_model_encode(m, e + i * hp->D, d->x + i * sz, B)) cli_fail("validation: %s", pcnn_errstr());
    }
    double acc = pcnn_verify_accuracy(e, ids, n, hp->D, triplets);
    free(e);
    return acc;
}

/* --lr-schedule S into o */
static void parse_schedule(const char *s)
{
    if (!strcmp(s, "constant")) {
        o.schedule = PCNN_LR_CONSTANT;
    } else if (!strncmp(s, "exp:", 4)) {
        o.schedule = PCNN_LR_EXP;
        double g;
        if (cli_to_double(s + 4, &g) || !(g > 0 && g <= 1))
            cli_usage_error("--lr-schedule exp:G needs a factor G in (0, 1], not '%s'", s + 4);
        o.lr_decay = (float)g;
    } else if (!strcmp(s, "cosine") || !strncmp(s, "cosine:", 7)) {
        o.schedule = PCNN_LR_COSINE;
        long long n = steps;
        if (s[6] && (cli_to_ll(s + 7, &n) || n < 1)) cli_usage_error("--lr-schedule cosine:N needs a step count N, not '%s'", s + 7);
        o.lr_steps = n;
        if (o.lr_steps <= warmup) cli_usage_error("--lr-schedule cosine ends at step %lld, not after the %d warm-up steps", n, warmup);
    } else {
        cli_usage_error("--lr-schedule: '%s' is not constant, exp:G or cosine[:N]", s);
    }
    o.warmup = warmup;
}

/* --sample-every's picture of step s: MODEL-stepS.png, MODEL without its .pcnn */
static char *grid_path(long s)
{
    size_t base = strlen(out_path);
    if (base > 5 && !strcmp(out_path + base - 5, ".pcnn")) base -= 5;
    char *path = malloc(base + 32);
    if (!path) cli_fail("out of memory");
    snprintf(path, base + 32, "%.*s-step%ld.png", (int)base, out_path, s);
    return path;
}

/* Before any work: -o can be written, is none of the inputs, and is not a model that
 * this run would silently start over; then the temporary files of an interrupted save
 * of it go. */
static void check_output(const char *const *paths, int npaths)
{
    if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
    for (int i = 0; i < npaths; i++) cli_output_not_input(out_path, paths[i], NULL);
    cli_output_not_input(out_path, labels_path, "-l");
    cli_output_not_input(out_path, cond_path, "--cond");
    cli_output_not_input(out_path, valid_path, "--valid");
    cli_output_not_input(out_path, valid_labels_path, "--valid-labels");
    cli_output_not_input(out_path, valid_cond_path, "--valid-cond");
    struct stat st;
    if (!resume && !force && stat(out_path, &st) == 0)
        cli_usage_error("%s exists: give --resume to continue its run, or --force to start over", out_path);
    if (best_path) {
        if (pcnn_output_check(best_path)) cli_fail("%s", pcnn_errstr());
        for (int i = 0; i < npaths; i++) cli_option_output_not_input("--keep-best", best_path, paths[i], NULL);
        cli_outputs_differ("-o", out_path, "--keep-best", best_path);
        if (!resume && !force && stat(best_path, &st) == 0)
            cli_usage_error("--keep-best %s exists: give --resume to continue its run, or --force to start over", best_path);
    }
    if (log_path) { /* appended to, so that a resumed run continues its log */
        for (int i = 0; i < npaths; i++) cli_option_output_not_input("--log", log_path, paths[i], NULL);
        cli_outputs_differ("-o", out_path, "--log", log_path);
        cli_outputs_differ("--keep-best", best_path, "--log", log_path);
        if (!(log_file = fopen(log_path, "a"))) cli_fail("%s: %s", log_path, strerror(errno));
    }
    if (sample_every) { /* the longest name a picture will have */
        char *path = grid_path(steps);
        if (pcnn_output_check(path)) cli_fail("--sample-every: %s", pcnn_errstr());
        free(path);
    }
    int n = pcnn_output_clean_temps(out_path);
    if (n > 0)
        fprintf(stderr, "%s: removed %d temporary file%s of an interrupted save (%s.tmp*)\n", cli_name, n,
                n > 1 ? "s" : "", out_path);
}

static void save(pcnn_trainer *t)
{
    if (rank0 && pcnn_trainer_save(t, out_path)) cli_fail("%s", pcnn_errstr());
}

/* whether to stop: a signal to any rank stops every rank at the same step */
static int stop_now(void)
{
    int stop = cli_stop != 0;
    if (pcnn_dist_any(job, &stop)) cli_fail("%s", pcnn_errstr());
    return stop;
}

/* The options that only make sense for some kinds of new model. */
static void check_new_model_options(void)
{
    if (mse && !encoder) cli_usage_error("--mse needs an encoder (-e D)");
    if (embed && (encoder || spatial || cond_path)) cli_usage_error("--embed takes no -e, --spatial or --cond");
    if (embed && !labels_path) cli_usage_error("--embed needs identities (-l LABELS)");
    if (encoder && (labels_path || cond_path)) cli_usage_error("an autoencoder's h comes from its encoder; drop -l and --cond");
    if (labels_path && cond_path) cli_usage_error("give -l or --cond, not both");
    if (spatial && !(labels_path || cond_path || encoder)) cli_usage_error("--spatial needs something to condition on (-l, --cond or -e)");
    if (mse && spatial) cli_usage_error("--mse takes no --spatial");
}

/* A set of images with what the trainer takes beside them: rows of h (hw wide), and an
 * embedding net's identities (from its labels). */
typedef struct {
    cli_dataset x;
    float *h;
    pcnn_labels lab; /* -l: the classes or identities, and their names */
    int *ids;
} train_set;

/* h of the training set from -l or --cond, checked against a resumed model m (or NULL);
 * returns the width of h's rows and sets *D, the model's conditioning size */
static int load_conditioning(train_set *tr, const pcnn_model *m, int kind, int *D)
{
    const pcnn_hparams *want = m ? pcnn_model_hparams(m) : NULL;
    const int wcond = m ? pcnn_model_cond(m) : -1; /* what a resumed model takes */
    const int wlabels = wcond == PCNN_COND_CLASS || wcond == PCNN_COND_IDENTITY;
    int hw = 0;
    *D = want ? want->D : encoder ? encoder : embed;
    if (wlabels && !labels_path) cli_fail("%s: the model was trained with labels; give -l LABELS", out_path);
    if (wcond == PCNN_COND_VECTOR && !cond_path)
        cli_fail("%s: the model is conditioned on vectors; give --cond FILE", out_path);
    if (labels_path) {
        if (m && !wlabels) cli_fail("%s: the model takes no labels; drop -l", out_path);
        cli_labels_read(&tr->lab, labels_path, tr->x.n);
        if (m) { /* names by the model's table: a resumed run keeps its classes */
            cli_labels_map(&tr->lab, m);
            hw = want->classes;
        } else if (tr->lab.names) { /* a new table: the file's names, sorted */
            if (classes > 0 && classes != tr->lab.nnames)
                cli_usage_error("--classes %d: %s names %d classes; drop --classes", classes, labels_path,
                                tr->lab.nnames);
            hw = tr->lab.nnames;
        } else {
            hw = classes > 0 ? classes : cli_labels_max(&tr->lab, tr->x.n) + 1;
        }
        tr->h = cli_onehot(&tr->lab, tr->x.n, hw);
        if (kind == PCNN_EMBEDDING) tr->ids = tr->lab.label;
        else *D = hw;
    } else if (classes > 0) {
        cli_usage_error("--classes needs labels (-l FILE)");
    } else if (cond_path) {
        if (m && wcond != PCNN_COND_VECTOR) cli_fail("%s: the model takes no --cond", out_path);
        size_t n = tr->x.n;
        hw = want ? want->D : 0;
        tr->h = cli_read_vectors(cond_path, &n, &hw);
        *D = hw;
    }
    return hw;
}

/* Moves the elements of base (n of size each) that held marks to its end, keeping the
 * order of both parts. */
static void move_held_to_end(void *base, size_t size, size_t n, const unsigned char *held)
{
    char *tmp = malloc(n * size), *b = base;
    if (!tmp) cli_fail("out of memory");
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (held[i] == pass) memcpy(tmp + k++ * size, b + i * size, size);
    memcpy(base, tmp, n * size);
    free(tmp);
}

/* The held-out set: --valid and its labels or vectors, or 5% of the input chosen as to
 * says (pcnn_train_held_out), moved to the end of tr and taken from there, sharing its
 * memory. Class names map through the table of the resumed model m, or that of the
 * training labels. */
static void held_out(train_set *va, train_set *tr, const pcnn_model *m, int kind, int hw, int K,
                     const pcnn_train_opts *to)
{
    const size_t sz = (size_t)tr->x.C * tr->x.H * tr->x.W;
    *va = (train_set){0};
    if (valid_path) {
        pcnn_hparams shape = {.C = tr->x.C, .H = tr->x.H, .W = tr->x.W};
        cli_load_images(&va->x, &valid_path, 1, K, &shape, (size_t)valid_size);
        if (labels_path && !valid_labels_path) cli_usage_error("--valid with labels needs --valid-labels");
        if (cond_path && !valid_cond_path) cli_usage_error("--valid with --cond needs --valid-cond");
        if (labels_path) cli_labels_read(&va->lab, valid_labels_path, va->x.n);
        if (kind == PCNN_EMBEDDING) { /* new identities welcome, their names their own */
            va->ids = va->lab.label;
        } else if (labels_path) {
            if (m) cli_labels_map(&va->lab, m);
            else if (pcnn_labels_map(&va->lab, (const char *const *)tr->lab.names, tr->lab.nnames))
                cli_fail("%s", pcnn_errstr());
            va->h = cli_onehot(&va->lab, va->x.n, hw);
        } else if (cond_path) {
            size_t n = va->x.n;
            va->h = cli_read_vectors(valid_cond_path, &n, &hw);
        }
    } else if (tr->x.n >= 20) {
        size_t n = tr->x.n, nv = n / 20, keep = n - nv;
        unsigned char *held = malloc(n);
        if (!held) cli_fail("out of memory");
        pcnn_train_held_out(to, n, held);
        move_held_to_end(tr->x.x, sz, n, held);
        if (tr->h) move_held_to_end(tr->h, (size_t)hw * sizeof *tr->h, n, held);
        if (tr->ids) move_held_to_end(tr->ids, sizeof *tr->ids, n, held);
        free(held);
        va->x = (cli_dataset){.n = nv, .C = tr->x.C, .H = tr->x.H, .W = tr->x.W, .x = tr->x.x + keep * sz};
        va->h = tr->h && kind != PCNN_EMBEDDING ? tr->h + keep * hw : NULL;
        va->ids = tr->ids ? tr->ids + keep : NULL;
        tr->x.n = keep;
    }
}

/* --log: a JSON line of a validation, flushed at once so that a reader follows the run;
 * seconds count this run only (a resumed run starts again from 0) */
static void log_line(long s, double seconds, const char *what, double v, double loss, double lr)
{
    if (!log_file) return;
    char vb[32] = "null", lb[32] = "null"; /* JSON has no NaN */
    if (!isnan(v)) snprintf(vb, sizeof vb, "%.6g", v);
    if (!isnan(loss)) snprintf(lb, sizeof lb, "%.6g", loss);
    if (fprintf(log_file, "{\"step\":%ld,\"seconds\":%.1f,\"%s\":%s,\"train_loss\":%s,\"lr\":%.6g}\n", s,
                seconds, what, vb, lb, lr) < 0 || fflush(log_file))
        cli_fail("%s: write error", log_path);
}

/* A validation line at step s, of the weights a reader of the file gets (the average);
 * with --keep-best, those weights go to its file when they are the best so far. */
static void validate(pcnn_model *m, pcnn_trainer *t, const train_set *va, long s, double seconds,
                     double loss)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const char *unit = pcnn_model_loss_unit(m);
    double v;
    pcnn_trainer_use_average(t, 1);
    if (pcnn_model_cond(m) == PCNN_COND_IDENTITY) {
        double triplets;
        v = verify(m, &va->x, va->ids, &triplets);
        if (isnan(v)) fprintf(stderr, "%s: step %ld valid verification: %s\n", cli_name, s, pcnn_errstr());
        else fprintf(stderr, "%s: step %ld valid verification %.4f (%.0f triplets; chance 0.5)\n", cli_name, s, v, triplets);
        unit = "verification";
    } else {
        double nats;
        v = evaluate(m, &va->x, va->h, &nats);
        if (hp->K == 2 && hp->kind == PCNN_PIXELCNN)
            fprintf(stderr, "%s: step %ld valid %.4f bpd %.2f nats/image\n", cli_name, s, v, nats);
        else fprintf(stderr, "%s: step %ld valid %.4f %s\n", cli_name, s, v, unit);
    }
    if (pcnn_trainer_note_valid(t, v, pcnn_model_cond(m) == PCNN_COND_IDENTITY) && best_path) {
        if (pcnn_model_save(m, best_path)) cli_fail("%s", pcnn_errstr());
        fprintf(stderr, "%s: step %ld is the best so far: wrote %s\n", cli_name, s, best_path);
    }
    pcnn_trainer_use_average(t, 0);
    log_line(s, seconds, unit, v, loss, pcnn_train_lr(pcnn_trainer_opts(t), s));
}

/* --sample-every: a PNG grid beside the model, drawn with the weights a reader gets: 16
 * images of an unconditional model, 8 per class (at most 10 classes), or 4 each for the
 * first 4 held-out images' vectors or codes (an MSE autoencoder: their reconstructions) */
static void sample_grid(pcnn_model *m, pcnn_trainer *t, const train_set *va, long s)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const int cond = pcnn_model_cond(m), D = hp->D;
    const size_t sz = (size_t)hp->C * hp->H * hp->W;
    int rows = 1, per = 16, cols = 4;
    float *hrows = NULL;
    if (cond == PCNN_COND_CLASS) {
        rows = hp->classes < 10 ? hp->classes : 10, per = cols = 8;
        if (!(hrows = calloc((size_t)rows * D, sizeof *hrows))) cli_fail("out of memory");
        for (int r = 0; r < rows; r++) hrows[(size_t)r * D + r] = 1;
    } else if (cond == PCNN_COND_VECTOR || cond == PCNN_COND_CODE) {
        rows = va->x.n < 4 ? (int)va->x.n : 4, per = cols = hp->kind == PCNN_MSE_AUTOENCODER ? 1 : 4;
        if (rows == 0) return; /* nothing held out to take the conditioning from */
        if (!(hrows = malloc((size_t)rows * D * sizeof *hrows))) cli_fail("out of memory");
        if (cond == PCNN_COND_VECTOR) memcpy(hrows, va->h, (size_t)rows * D * sizeof *hrows);
        else if (pcnn_model_encode(m, hrows, va->x.x, rows)) cli_fail("%s", pcnn_errstr());
    }
    const size_t n = (size_t)rows * per;
    uint8_t *x = malloc(n * sz);
    float *h = hrows ? malloc(n * D * sizeof *h) : NULL;
    pcnn_image *imgs = malloc(n * sizeof *imgs);
    if (!x || !imgs || (hrows && !h)) cli_fail("out of memory");
    for (size_t i = 0; hrows && i < n; i++) memcpy(h + i * D, hrows + (i / per) * D, D * sizeof *h);
    pcnn_trainer_use_average(t, 1);
    pcnn_sample_opts o;
    pcnn_sample_opts_default(&o);
    o.seed = (uint64_t)s;
    int rc = hp->kind == PCNN_MSE_AUTOENCODER ? pcnn_model_decode(m, x, h, (int)n)
                                              : pcnn_model_sample(m, x, h, (int)n, &o);
    pcnn_trainer_use_average(t, 0);
    if (rc) cli_fail("%s", pcnn_errstr());
    for (size_t i = 0; i < n; i++)
        imgs[i] = (pcnn_image){.c = hp->C, .h = hp->H, .w = hp->W, .maxval = hp->K - 1, .data = x + i * sz};
    char *path = grid_path(s);
    if (pcnn_png_write_grid(path, imgs, (int)n, cols, hp->H < 64 ? 2 : 1)) cli_fail("%s", pcnn_errstr());
    free(path), free(imgs), free(h), free(x), free(hrows);
}

/* Steps until --steps or a signal, a checkpoint and a validation every --every steps;
 * returns 1 when a signal stopped it. */
static int train(pcnn_model *m, pcnn_trainer *t, const train_set *tr, const train_set *va, int hw)
{
    const size_t sz = (size_t)tr->x.C * tr->x.H * tr->x.W;
    const pcnn_train_opts *to = pcnn_trainer_opts(t);
    const int B = to->batch;
    int first, mine; /* this rank's images of each batch: idx[first .. first + mine) */
    pcnn_trainer_shard(t, &first, &mine);
    uint8_t *xb = malloc((size_t)mine * sz);
    float *hb = hw ? malloc((size_t)mine * hw * sizeof *hb) : NULL;
    size_t *idx = malloc((size_t)B * sizeof *idx);
    if (!xb || !idx || (hw && !hb)) cli_fail("out of memory");
    cli_catch_signals();
    cli_progress pr;
    const long start = (long)pcnn_trainer_step_count(t);
    cli_progress_start(&pr, "train", steps);
    pr.first = start;
    double t0 = cli_now(), t1 = 0, smooth = NAN;
    int stopped = 0;
    while (pcnn_trainer_step_count(t) < steps && !(stopped = stop_now())) {
        if (pcnn_trainer_batch(t, tr->x.n, idx)) cli_fail("%s", pcnn_errstr());
        for (int b = 0; b < mine; b++) {
            memcpy(xb + b * sz, tr->x.x + idx[first + b] * sz, sz);
            if (hb) memcpy(hb + (size_t)b * hw, tr->h + idx[first + b] * hw, hw * sizeof *hb);
        }
        float loss;
        if (pcnn_trainer_step(t, xb, hb, mine, &loss)) {
            /* the steps this run made are kept; a run that made none (a batch too large
             * for the memory, say) writes nothing, so --force leaves the old file whole */
            if (pcnn_trainer_step_count(t) > start) save(t);
            cli_fail("%s", pcnn_errstr());
        }
        smooth = isnan(smooth) ? loss : 0.95 * smooth + 0.05 * loss;
        long s = (long)pcnn_trainer_step_count(t);
        char extra[128];
        snprintf(extra, sizeof extra, "%.1f img/s lr %.3g loss %.4f %s", (s - start) * B / (cli_now() - t0),
                 pcnn_train_lr(to, s), smooth, pcnn_model_loss_unit(m));
        /* what the run will cost, said once: from the second step, since the first one
         * also sets up the workspaces and the convolutions' code */
        if (s == start + 1) t1 = cli_now();
        if (s == start + 2 && s < steps && !cli_quiet) {
            char left[32];
            double per = cli_now() - t1;
            cli_fmt_time(left, sizeof left, per * (steps - s));
            cli_progress_clear(&pr);
            fprintf(stderr, "%s: %.2g s per step: the %ld steps left take about %s (held-out scoring not counted)\n", cli_name, per,
                    steps - s, left);
        }
        cli_progress_update(&pr, s, extra);
        if (s % every == 0 || s == steps) {
            if (va->x.n && rank0) { /* before the checkpoint, which keeps the best figure so far */
                cli_progress_clear(&pr); /* the line goes where the bar was; the bar comes back below */
                validate(m, t, va, s, cli_now() - t0, smooth);
            }
            save(t);
        }
        if (rank0 && sample_every && (s % sample_every == 0 || s == steps)) {
            cli_progress_clear(&pr);
            sample_grid(m, t, va, s);
        }
    }
    cli_progress_end(&pr);
    free(xb), free(hb), free(idx);
    /* a signal saves where it stopped; with nothing to do, the model is still written */
    if (stopped || pcnn_trainer_step_count(t) == start) save(t);
    return stopped;
}

/* A resumed run goes on with the network and the recipe it was saved with: an option
 * that would change them is refused rather than ignored. */
static void refuse_kept_options(void)
{
    const void *kept[] = {&classes, &spatial, &encoder, &mse, &embed, &net_features, &layers,
                          &features, &filter, &levels, &o.batch, &o.lr, &o.beta1, &o.beta2,
                          &o.eps, &o.clip, &schedule_arg, &warmup, &o.ema, &o.dropout, &o.seed};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        const char *name = cli_given(kept[i]);
        if (name)
            cli_usage_error("%s: --resume continues %s with the network and training options it was "
                            "saved with; drop %s (or start over with --force)", name, out_path, name);
    }
}

int main(int argc, char **argv)
{
    pcnn_train_opts_default(&o);
    int first = cli_parse(&prog, argc, argv);
    if (!out_path) cli_usage_error("no output model given (-o MODEL)");
    cli_file_not_stdout("-o", out_path);
    cli_file_not_stdout("--keep-best", best_path);
    cli_file_not_stdout("--log", log_path);
    if (valid_labels_path && !valid_path) cli_usage_error("--valid-labels needs --valid");
    if (valid_cond_path && !valid_path) cli_usage_error("--valid-cond needs --valid");
    if (resume && force) cli_usage_error("give --resume or --force, not both");
    parse_schedule(schedule_arg ? schedule_arg : "constant");
    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    int npaths = first < argc ? argc - first : 1;
    for (int i = 0; i < npaths; i++) cli_input(NULL, paths[i]);
    cli_input("-l", labels_path);
    cli_input("--cond", cond_path);
    cli_input("--valid", valid_path);
    cli_input("--valid-labels", valid_labels_path);
    cli_input("--valid-cond", valid_cond_path);
    if (!(job = pcnn_dist_open(timeout))) cli_fail("%s", pcnn_errstr());
    rank0 = pcnn_dist_rank(job) == 0;
    if (!rank0) cli_quiet = 1; /* rank 0 speaks for the job */
    /* ranks × threads within the cores: each rank its share of this machine's, unless
     * OMP_NUM_THREADS says otherwise */
    if (pcnn_dist_size(job) > 1 && !getenv("OMP_NUM_THREADS")) omp_set_num_threads(pcnn_dist_threads(job));
    if (rank0) check_output(paths, npaths);
    pcnn_backend *be = cli_open_device();

    pcnn_model *m = NULL;
    pcnn_trainer *t = NULL;
    if (resume) {
        refuse_kept_options();
        m = cli_load_model(be, out_path);
        t = pcnn_trainer_load(m, out_path);
        if (!t) cli_fail("%s: cannot resume: %s", out_path, pcnn_errstr());
    } else {
        check_new_model_options();
    }
    const pcnn_hparams *want = m ? pcnn_model_hparams(m) : NULL;
    const int K = want ? want->K : levels;
    const int kind = want ? want->kind : embed ? PCNN_EMBEDDING : mse ? PCNN_MSE_AUTOENCODER : PCNN_PIXELCNN;
    if (sample_every && kind == PCNN_EMBEDDING) cli_usage_error("--sample-every: an embedding net draws no images");
    train_set tr = {0}, va;
    cli_load_images(&tr.x, paths, npaths, K, want, (size_t)limit);
    int D, hw = load_conditioning(&tr, m, kind, &D);
    held_out(&va, &tr, m, kind, hw, K, t ? pcnn_trainer_opts(t) : &o);
    if (best_path && !va.x.n) cli_usage_error("--keep-best needs held-out images (20 or more, or --valid)");

    if (!m) {
        pcnn_hparams hp = {.L = layers, .p = features, .n = filter, .C = tr.x.C, .H = tr.x.H,
                           .W = tr.x.W, .K = levels, .D = D, .classes = labels_path ? hw : 0,
                           .S = spatial, .encoder = encoder && !mse, .q = net_features, .kind = kind};
        if (pcnn_hparams_check(&hp)) cli_usage_error("%s", pcnn_errstr());
        if (!(m = pcnn_model_new(be, &hp, o.seed))) cli_fail("%s", pcnn_errstr());
        if (tr.lab.names && pcnn_model_set_class_names(m, (const char *const *)tr.lab.names, tr.lab.nnames))
            cli_fail("%s: %s", labels_path, pcnn_errstr());
        if (!(t = pcnn_trainer_new(m, &o))) cli_usage_error("%s", pcnn_errstr());
    }
    if (pcnn_trainer_set_dist(t, job)) cli_fail("%s", pcnn_errstr());
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    /* the size of the work before it starts: what a step costs follows from these */
    cli_say_device();
    if (pcnn_dist_size(job) > 1 && rank0) {
        int first, mine;
        pcnn_trainer_shard(t, &first, &mine);
        fprintf(stderr, "%s: data-parallel: %s; %d thread%s per rank; %d of the %d images of a step on rank 0\n",
                cli_name, pcnn_dist_describe(job), omp_get_max_threads(), omp_get_max_threads() > 1 ? "s" : "",
                mine, pcnn_trainer_opts(t)->batch);
    }
    char cost[64] = "";
    if (pcnn_model_flops(m) > 0) snprintf(cost, sizeof cost, ", %.3g GFLOP per image", pcnn_model_flops(m) * 1e-9);
    if (rank0)
        fprintf(stderr, "%s: %zu training images %dx%dx%d, %zu held out; %zu parameters (%.1f MB)%s; step %lld of %d\n",
            cli_name, tr.x.n, hp->W, hp->H, hp->C, va.x.n, pcnn_model_nparams(m),
            pcnn_model_nparams(m) * 4e-6, cost, (long long)pcnn_trainer_step_count(t), steps);
    int64_t best_step;
    double best = pcnn_trainer_best(t, &best_step);
    if (rank0 && best_path && !isnan(best) && access(best_path, F_OK))
        fprintf(stderr, "%s: --keep-best: the best so far (%.4f at step %lld) was not kept; %s comes with a better one\n",
                cli_name, best, (long long)best_step, best_path);
    if (train(m, t, &tr, &va, hw)) {
        if (rank0)
            fprintf(stderr, "%s: interrupted at step %lld; saved %s (continue with --resume)\n", cli_name,
                    (long long)pcnn_trainer_step_count(t), out_path);
        pcnn_dist_close(job);
        cli_exit(1);
    }
    free(tr.h), pcnn_labels_free(&tr.lab);
    if (valid_path) { cli_dataset_free(&va.x); free(va.h); pcnn_labels_free(&va.lab); }
    cli_dataset_free(&tr.x);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    pcnn_dist_close(job);
    cli_exit(0);
}
