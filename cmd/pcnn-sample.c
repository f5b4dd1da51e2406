/* pcnn-sample -- draws images from a model, pixel by pixel, channel by channel. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data.h"

static const char *model_path, *out_path, *cls_arg, *cond_path, *prefix_path, *known_path, *labels_path;
static int count = -1, naive, same_noise, cols, scale = 1, keep_rows = -1, row_labels;
static uint64_t seed;
static float temperature = 1, top_p = 1;

static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "model file (default: the shipped Fashion-MNIST model)"},
    {'n', "count", OPT_INT, &count, 1, 100000, "N", "images per class or conditioning record (default 1; 10 with -c all)"},
    {'c', "class", OPT_STR, &cls_arg, 0, 0, "K|NAME|all", "class to draw, by number or by name; 'all': N of every class, one row each"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "a row for each label of FILE (class numbers or names, as pcnn-train takes)"},
    {0, "cond", OPT_STR, &cond_path, 0, 0, "FILE", "conditioning vectors as .npy records (default: stdin)"},
    {0, "seed", OPT_U64, &seed, 0, 0, "S", "seed of the draws, to draw the same images again (default: a new one each run, shown on stderr)"},
    {0, "same-noise", OPT_FLAG, &same_noise, 0, 0, NULL, "image k of every row draws the same random numbers (for interpolation strips)"},
    {'t', "temperature", OPT_FLOAT, &temperature, 0, 100, "T", "divide the logits by T (default 1; 0: always the likeliest level)"},
    {0, "top-p", OPT_FLOAT, &top_p, 0, 1, "P", "draw only from the likeliest levels holding P of the probability, 0 < P <= 1 (default 1: all)"},
    {0, "prefix", OPT_STR, &prefix_path, 0, 0, "FILE", "complete FILE's images: keep their top rows, draw the rest, N of each"},
    {0, "rows", OPT_INT, &keep_rows, 0, 100000, "R", "with --prefix: keep R rows (default: half the image)"},
    {0, "known", OPT_STR, &known_path, 0, 0, "MASK", "with --prefix: keep the pixels where MASK (PBM or PGM) is white, not rows"},
    {0, "naive", OPT_FLAG, &naive, 0, 0, NULL, "rerun the whole network for every pixel (slow; for comparison)"},
    {'o', "output", OPT_STR, &out_path, 0, 0, "FILE", "write to FILE: a PNG grid if it ends in .png, else a netpbm stream (-: stdout)"},
    {0, "cols", OPT_INT, &cols, 1, 100000, "N", "PNG grid: N images across (default: a row's images; a square for one long row)"},
    {0, "scale", OPT_INT, &scale, 1, 64, "S", "PNG grid: draw every pixel as an SxS block (default 1)"},
    {0, "row-labels", OPT_FLAG, &row_labels, 0, 0, NULL, "PNG grid: write at the left of each row its class (name, else number) or its record's number (from 1)"},
};
static const cli_prog prog = {"pcnn-sample", "[-m MODEL] [-c K|NAME|all | --cond FILE] [-n N] [options]",
    "Draws images from a model (or decodes with an MSE autoencoder); writes a netpbm stream on stdout or a PNG grid.",
    opts, sizeof opts / sizeof *opts};

/* a seed of its own for a run without --seed: the clock's nanoseconds and the process,
 * mixed (splitmix64's finaliser) so that runs a moment apart differ in every bit */
static uint64_t fresh_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + ((uint64_t)getpid() << 40);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* images across a PNG grid: --cols, else one row per class or record, except that a
 * single row of more than 16 wraps into a square */
static int grid_cols(size_t rows, int per_row)
{
    if (cols) return cols;
    return rows > 1 || per_row <= 16 ? per_row : cli_square_cols((size_t)per_row);
}

/* --rows R or --known MASK: the pixels a completion keeps, (H,W) of 0 and 1 */
static uint8_t *known_pixels(const pcnn_hparams *hp)
{
    uint8_t *known = malloc((size_t)hp->H * hp->W);
    if (!known) cli_fail("out of memory");
    if (!known_path) {
        int R = keep_rows >= 0 ? keep_rows : hp->H / 2;
        if (R > hp->H) cli_usage_error("--rows %d: the model's images have %d rows", R, hp->H);
        for (int k = 0; k < hp->H * hp->W; k++) known[k] = k / hp->W < R;
        return known;
    }
    if (keep_rows >= 0) cli_usage_error("give --rows or --known, not both");
    cli_dataset mask;
    pcnn_hparams shape = {.C = 1, .H = hp->H, .W = hp->W};
    cli_load_images(&mask, &known_path, 1, 2, &shape, 1); /* white: level 1 of 2 */
    memcpy(known, mask.x, (size_t)hp->H * hp->W);
    cli_dataset_free(&mask);
    return known;
}

/* --prefix: its images, one row each; the conditioning rows (one for every image, or one
 * -c K for all of them) and the kept pixels */
static void load_prefix(cli_dataset *pre, uint8_t **known, const pcnn_hparams *hp, size_t *rows, float **hrows)
{
    if (hp->kind == PCNN_MSE_AUTOENCODER)
        cli_usage_error("%s: an MSE autoencoder decodes whole images; it completes none", model_path);
    if (cls_arg && !strcmp(cls_arg, "all")) cli_usage_error("--prefix takes one class for every image (-c K), not -c all");
    cli_load_images(pre, &prefix_path, 1, hp->K, hp, 0);
    if (labels_path && *rows > pre->n) *rows = pre->n; /* a label file may go on, as elsewhere */
    if (hp->D && *rows != pre->n) {
        if (!cls_arg)
            cli_fail("%s: %zu %s for %zu images of %s", labels_path ? labels_path : cond_path ? cond_path : "stdin",
                     *rows, labels_path ? "labels" : "conditioning records", pre->n, prefix_path);
        float *h = malloc(pre->n * hp->D * sizeof *h);
        if (!h) cli_fail("out of memory");
        for (size_t i = 0; i < pre->n; i++) memcpy(h + i * hp->D, *hrows, hp->D * sizeof *h);
        free(*hrows);
        *hrows = h;
    }
    *rows = pre->n;
    *known = known_pixels(hp);
}

/* --row-labels: the text of each row of the grid, where a row of the output begins: the
 * class of its one-hot row of hrows (rows from -c or -l), by name when the model has
 * names; with hrows NULL (conditioning records) its record's number from 1. One
 * allocation. */
static char **grid_labels(const pcnn_model *m, const float *hrows, size_t rows, int per_row, int across)
{
    const int classes = hrows ? pcnn_model_hparams(m)->classes : 0;
    const size_t grid_rows = (rows * per_row + across - 1) / across;
    const char *const *names = pcnn_model_class_names(m);
    char **lab = calloc(1, grid_rows * (sizeof *lab + PCNN_MAX_NAME + 1));
    if (!lab) cli_fail("out of memory");
    char *text = (char *)(lab + grid_rows);
    for (size_t g = 0; g < grid_rows; g++) {
        size_t first = g * across, r = first / per_row; /* the output row of its first image */
        if (first % per_row) continue; /* its output row began on a grid row above */
        lab[g] = text + g * (PCNN_MAX_NAME + 1);
        int k = 0;
        for (int c = 1; c < classes; c++)
            if (hrows[r * classes + c] > hrows[r * classes + k]) k = c;
        if (!classes) snprintf(lab[g], PCNN_MAX_NAME + 1, "%zu", r + 1);
        else if (names) snprintf(lab[g], PCNN_MAX_NAME + 1, "%s", names[k]);
        else snprintf(lab[g], PCNN_MAX_NAME + 1, "%d", k);
    }
    return lab;
}

static void show(long done, long total, void *arg)
{
    char extra[48];
    cli_progress *pr = arg;
    snprintf(extra, sizeof extra, "pixels");
    pr->total = total;
    cli_progress_update(pr, done, extra);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (first < argc) cli_usage_error("unexpected argument '%s'", argv[first]);
    if (!!cls_arg + !!cond_path + !!labels_path > 1) cli_usage_error("give one of -c, -l and --cond");
    if (!(top_p > 0)) cli_usage_error("--top-p: 0 keeps no level; give a number in (0, 1]");
    if (!model_path) model_path = cli_default_model();
    const int seeded = cli_given(&seed) != NULL;
    if (!seeded) seed = fresh_seed();
    if (out_path && !strcmp(out_path, "-")) out_path = NULL;
    /* a PNG grid for a .png name; any other name gets the netpbm stream stdout would */
    const char *out_png = cli_png_name(out_path) ? out_path : NULL;
    if ((cli_given(&cols) || cli_given(&scale) || row_labels) && !out_png)
        cli_usage_error("--cols, --scale and --row-labels shape a PNG grid; give -o FILE.png");
    if (!out_path && isatty(1))
        cli_usage_error("not writing images to a terminal; redirect stdout or give -o FILE.png");
    if (out_path) {
        if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
        cli_output_not_input(out_path, model_path, "-m");
        cli_output_not_input(out_path, cond_path, "--cond");
        cli_output_not_input(out_path, labels_path, "-l");
        cli_output_not_input(out_path, prefix_path, "--prefix");
        cli_output_not_input(out_path, known_path, "--known");
    }
    pcnn_backend *be = cli_open_device();
    pcnn_model *m = cli_load_model(be, model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const int cond = pcnn_model_cond(m);
    if (cond == PCNN_COND_IDENTITY)
        cli_usage_error("%s: an embedding net draws no images (pcnn-embed writes its vectors)", model_path);
    /* conditioning records come from stdin when nothing else gives the conditioning */
    cli_input("--cond", cond_path ? cond_path : hp->D && !cls_arg && !labels_path ? "-" : NULL);
    cli_input("-l", labels_path);
    cli_input("--prefix", prefix_path);
    cli_input("--known", known_path);

    /* rows of the output: one per class or conditioning record, count images each */
    size_t rows = 1;
    float *hrows = NULL;
    if (cls_arg) {
        if (cond != PCNN_COND_CLASS) cli_usage_error("%s: the model is not class-conditional; drop -c", model_path);
        if (!strcmp(cls_arg, "all")) {
            rows = (size_t)hp->classes;
            if (count < 0) count = 10;
            hrows = calloc(rows * hp->D, sizeof *hrows);
            if (!hrows) cli_fail("out of memory");
            for (size_t r = 0; r < rows; r++) hrows[r * hp->D + r] = 1;
        } else { /* "all" is every class, even where one is named so: that one by number */
            hrows = cli_onehot_repeat(cli_class_arg(m, model_path, "-c", cls_arg), 1, hp->classes);
        }
    } else if (labels_path) {
        if (cond != PCNN_COND_CLASS) cli_usage_error("%s: the model is not class-conditional; drop -l", model_path);
        pcnn_labels l;
        cli_labels_read(&l, labels_path, 0);
        cli_labels_map(&l, m);
        rows = l.n;
        hrows = cli_onehot(&l, rows, hp->classes);
        pcnn_labels_free(&l);
    } else if (hp->D) {
        if (!cond_path && isatty(0))
            cli_usage_error("%s: the model is conditional; give %s", model_path,
                            cond == PCNN_COND_CLASS ? "-c K, -c all or .npy records on stdin"
                            : cond == PCNN_COND_CODE ? "codes on stdin: pcnn-encode -m MODEL IMAGE | pcnn-sample -m MODEL"
                            : ".npy records on stdin or --cond FILE");
        if (out_path && !cond_path) cli_output_not_input(out_path, "-", NULL);
        rows = 0;
        int D = hp->D;
        hrows = cli_read_vectors(cond_path ? cond_path : "-", &rows, &D);
    } else if (cond_path) {
        cli_usage_error("%s: the model is unconditional; drop --cond", model_path);
    }
    cli_dataset pre = {0};
    uint8_t *known = NULL, *given = NULL;
    if (prefix_path) load_prefix(&pre, &known, hp, &rows, &hrows);
    else if (keep_rows >= 0 || known_path) cli_usage_error("--rows and --known go with --prefix FILE");
    if (count < 0) count = 1;
    if (hp->kind == PCNN_MSE_AUTOENCODER) count = 1; /* its decoder is deterministic */
    const int across = grid_cols(rows, count);
    if (row_labels && !hp->D)
        cli_usage_error("--row-labels: %s is unconditional; its rows have no class or record to name", model_path);
    if (row_labels && rows > 1 && count % across)
        cli_usage_error("--row-labels: with %d images across, a row of the grid would hold images of two classes "
                        "or records; give --cols dividing -n %d", across, count);

    size_t n = rows * (size_t)count, sz = (size_t)hp->C * hp->H * hp->W;
    if (n > 100000) cli_usage_error("%zu images is more than 100000", n);
    float *h = NULL;
    if (hp->D) {
        h = malloc(n * hp->D * sizeof *h);
        if (!h) cli_fail("out of memory");
        for (size_t i = 0; i < n; i++) memcpy(h + i * hp->D, hrows + (i / count) * hp->D, hp->D * sizeof *h);
    }
    uint8_t *x = malloc(n * sz);
    pcnn_image *imgs = calloc(n, sizeof *imgs);
    if (!x || !imgs) cli_fail("out of memory");
    if (prefix_path) { /* row r completes image r of --prefix */
        if (!(given = malloc(n * sz))) cli_fail("out of memory");
        for (size_t i = 0; i < n; i++) memcpy(given + i * sz, pre.x + (i / count) * sz, sz);
    }
    cli_progress pr;
    cli_progress_start(&pr, "sample", 1);
    int rc = hp->kind == PCNN_MSE_AUTOENCODER
                 ? pcnn_model_decode(m, x, h, (int)n)
                 : pcnn_model_sample(m, x, h, (int)n, &(pcnn_sample_opts){.temperature = temperature,
                       .top_p = top_p, .seed = seed, .per_row = same_noise ? count : 0, .naive = naive, .progress = show, .arg = &pr,
                       .given = given, .known = known});
    if (rc) cli_fail("%s: %s", model_path, pcnn_errstr());
    cli_progress_end(&pr);
    for (size_t i = 0; i < n; i++)
        imgs[i] = (pcnn_image){.c = hp->C, .h = hp->H, .w = hp->W, .maxval = hp->K - 1, .data = x + i * sz};
    if (out_png) {
        char **labels = row_labels ? grid_labels(m, cls_arg || labels_path ? hrows : NULL, rows, count, across) : NULL;
        if (pcnn_png_write_grid_labels(out_png, imgs, (int)n, across, scale, (const char *const *)labels))
            cli_fail("%s", pcnn_errstr());
        free(labels);
    } else if (out_path) {
        if (pcnn_netpbm_write_file(out_path, imgs, (int)n)) cli_fail("%s", pcnn_errstr());
    } else {
        for (size_t i = 0; i < n; i++)
            if (pcnn_netpbm_write(stdout, &imgs[i])) cli_fail("stdout: %s", pcnn_errstr());
    }
    /* how to draw these again: said once the images are out, so that a failure is one line */
    if (fflush(stdout) != 0 || ferror(stdout)) cli_fail("error writing standard output: %s", strerror(errno));
    if (!seeded && !cli_quiet && hp->kind != PCNN_MSE_AUTOENCODER)
        fprintf(stderr, "%s: drawn with --seed %" PRIu64 "\n", cli_name, seed);
    free(imgs), free(x), free(h), free(hrows), free(given), free(known);
    cli_dataset_free(&pre);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
