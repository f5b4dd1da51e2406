/* pcnn-compress -- codes images losslessly with a model: rANS over the model's
 * distribution of each value given the ones before it (pcnn-coded(5)). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

static const char *model_path, *out_path, *labels_path, *cond_path, *cls_arg;

static const cli_opt opts[] = {
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "model file (default: the shipped Fashion-MNIST model)"},
    {'c', "class", OPT_STR, &cls_arg, 0, 0, "K|NAME", "class of every image, by number or by name (class-conditional models)"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "class of each image (IDX, CIFAR-10 .bin, or text: one class number or name per line)"},
    {0, "cond", OPT_STR, &cond_path, 0, 0, "FILE", "conditioning vectors, one .npy record per image"},
    {'o', "output", OPT_STR, &out_path, 0, 0, "FILE", "write to FILE (default and -: stdout)"},
};
static const cli_prog prog = {"pcnn-compress", "[-m MODEL] [-c K|-l LABELS|--cond H] [-o OUT] [FILE...]",
    "Codes images losslessly with a model; pcnn-decompress with the same model gives them back.",
    opts, sizeof opts / sizeof *opts};

enum { BATCH = 32 }; /* images per stream: what the decoder batches */

/* every image of the paths as levels, checked to come back exactly from them */
typedef struct {
    uint8_t *x;  /* (n,C,H,W) levels */
    size_t n, cap;
    int maxval;
} images;

static void read_images(images *im, const char *const *paths, int npaths, const pcnn_hparams *hp)
{
    const size_t size = (size_t)hp->C * hp->H * hp->W;
    im->maxval = 0;
    for (int p = 0; p < npaths; p++) {
        pcnn_imgreader *r = pcnn_imgreader_open(paths[p]);
        if (!r) cli_fail("%s", pcnn_errstr());
        const char *name = pcnn_imgreader_name(r);
        pcnn_image img;
        int rc;
        for (size_t k = 1; (rc = pcnn_imgreader_next(r, &img)) == 1; k++) {
            if (img.c != hp->C || img.h != hp->H || img.w != hp->W)
                cli_fail("%s: image %zu is %dx%d with %d channel%s; the model's are %dx%d with %d", name, k, img.w,
                         img.h, img.c, img.c == 1 ? "" : "s", hp->W, hp->H, hp->C);
            if (!im->maxval) {
                im->maxval = img.maxval;
                if ((img.maxval + 1) % hp->K)
                    cli_fail("%s: samples up to %d do not fall on the model's %d levels, so they would not come back "
                             "exactly (pcnn-compress is lossless; a %d-level model codes maxval %d)",
                             name, img.maxval, hp->K, hp->K, hp->K - 1);
            } else if (img.maxval != im->maxval) {
                cli_fail("%s: image %zu has maxval %d, the images before it %d: one file codes one maxval", name, k,
                         img.maxval, im->maxval);
            }
            if (im->n == im->cap) {
                im->cap = im->cap ? 2 * im->cap : 64;
                uint8_t *nx = realloc(im->x, im->cap * size);
                if (!nx) cli_fail("out of memory for %zu images", im->cap);
                im->x = nx;
            }
            const int step = (im->maxval + 1) / hp->K;
            uint8_t *lv = im->x + im->n * size;
            for (size_t i = 0; i < size; i++) {
                if (img.data[i] % step)
                    cli_fail("%s: image %zu has the sample %d, between two of the model's %d levels (multiples of %d): "
                             "it would not come back exactly", name, k, img.data[i], hp->K, step);
                lv[i] = (uint8_t)(img.data[i] / step);
            }
            im->n++;
            pcnn_image_free(&img);
        }
        if (rc < 0) cli_fail("%s", pcnn_errstr());
        pcnn_imgreader_free(r);
    }
    if (!im->n) cli_fail("%s: no image", npaths == 1 && !strcmp(paths[0], "-") ? "stdin" : paths[0]);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (!!cls_arg + !!labels_path + !!cond_path > 1) cli_usage_error("give one of -c, -l, --cond");
    if (!model_path) model_path = cli_default_model();
    if (out_path && !strcmp(out_path, "-")) out_path = NULL;
    if (!out_path && isatty(1)) cli_usage_error("not writing coded data to a terminal; redirect stdout or give -o FILE");
    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    for (int i = 0; i < (first < argc ? argc - first : 1); i++) cli_input(NULL, paths[i]);
    cli_input("-l", labels_path);
    cli_input("--cond", cond_path);
    const int npaths = first < argc ? argc - first : 1;
    if (out_path) {
        if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
        cli_output_not_input(out_path, model_path, "-m");
        cli_output_not_input(out_path, labels_path, "-l");
        cli_output_not_input(out_path, cond_path, "--cond");
        for (int p = 0; p < npaths; p++) cli_output_not_input(out_path, paths[p], NULL);
    }
    /* coding runs on the CPU, in the fixed order of arithmetic that makes it exact */
    pcnn_backend *be = pcnn_backend_open("cpu");
    if (!be) cli_fail("%s", pcnn_errstr());
    pcnn_model *m = cli_load_model(be, model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const int cond = pcnn_model_cond(m);
    if (hp->kind != PCNN_PIXELCNN)
        cli_usage_error("%s: an %s has no likelihood to code with", model_path,
                        hp->kind == PCNN_EMBEDDING ? "embedding net" : "MSE autoencoder");

    pcnn_coded_header hd = {.C = hp->C, .H = hp->H, .W = hp->W, .K = hp->K, .batch = BATCH};
    pcnn_labels lab = {0};
    int cls = -1;
    cli_vector_stream vs = {0};
    if (cond == PCNN_COND_NONE || cond == PCNN_COND_CODE) {
        if (cls_arg || labels_path || cond_path)
            cli_usage_error("%s: the model is %s", model_path, cond == PCNN_COND_CODE ? "an autoencoder; it encodes each image itself" : "unconditional");
        hd.cond = cond == PCNN_COND_CODE ? PCNN_CODED_CODE : PCNN_CODED_NONE;
    } else if (cls_arg || labels_path) {
        if (cond != PCNN_COND_CLASS) cli_usage_error("%s: the model is not class-conditional; use --cond", model_path);
        if (cls_arg) cls = cli_class_arg(m, model_path, "--class", cls_arg);
        if (labels_path) {
            cli_labels_read(&lab, labels_path, 0);
            cli_labels_map(&lab, m);
        }
        hd.cond = PCNN_CODED_CLASS;
    } else if (cond_path) {
        cli_vector_stream_open(&vs, cond_path, hp->D);
        hd.cond = PCNN_CODED_VECTOR;
    } else {
        cli_usage_error("%s: the model is conditional; give %s", model_path,
                        cond == PCNN_COND_CLASS ? "-c K or -l LABELS" : "--cond FILE");
    }
    hd.D = hd.cond == PCNN_CODED_NONE ? 0 : hp->D;
    if (pcnn_model_hash(m, hd.hash)) cli_fail("%s", pcnn_errstr());

    images im = {0};
    read_images(&im, paths, npaths, hp);
    if (im.n > UINT32_MAX) cli_fail("%zu images: one file codes at most %u", im.n, UINT32_MAX);
    hd.n = (uint32_t)im.n, hd.maxval = im.maxval;
    if (labels_path && lab.n < im.n) cli_fail("%s: %zu labels for %zu images", lab.path, lab.n, im.n);

    const size_t size = (size_t)hp->C * hp->H * hp->W, nb = (im.n + BATCH - 1) / BATCH;
    pcnn_coded_batch *b = calloc(nb, sizeof *b);
    float *h = hp->D ? malloc((size_t)BATCH * hp->D * sizeof *h) : NULL;
    if (!b || (hp->D && !h)) cli_fail("out of memory");
    cli_progress pr;
    cli_progress_start(&pr, "compress", (long)im.n);
    size_t coded = 0;
    for (size_t i = 0; i < nb; i++) {
        const size_t i0 = i * BATCH;
        const int n = (int)(im.n - i0 < BATCH ? im.n - i0 : BATCH);
        const uint8_t *x = im.x + i0 * size;
        b[i].n = n;
        if (hd.cond == PCNN_CODED_CLASS) {
            if (!(b[i].cls = malloc((size_t)n * sizeof *b[i].cls))) cli_fail("out of memory");
            for (int k = 0; k < n; k++) {
                int c = labels_path ? lab.label[i0 + k] : cls;
                if (c >= hp->classes) cli_fail("%s: label %d is not below the %d classes", lab.path, c, hp->classes);
                b[i].cls[k] = c;
                memset(h + (size_t)k * hp->D, 0, (size_t)hp->D * sizeof *h);
                h[(size_t)k * hp->D + c] = 1;
            }
        } else if (hd.cond == PCNN_CODED_VECTOR) {
            for (int k = 0; k < n; k++)
                if (!cli_vector_stream_next(&vs, h + (size_t)k * hp->D))
                    cli_fail("%s: %zu conditioning vectors for %zu images", vs.name, vs.n, im.n);
        } else if (hd.cond == PCNN_CODED_CODE) { /* the code, stored in half precision: code with that */
            if (pcnn_model_encode(m, h, x, n)) cli_fail("%s", pcnn_errstr());
            for (size_t k = 0; k < (size_t)n * hp->D; k++) h[k] = pcnn_coded_half(h[k]);
        }
        if (hd.cond >= PCNN_CODED_VECTOR) {
            if (!(b[i].h = malloc((size_t)n * hp->D * sizeof *h))) cli_fail("out of memory");
            memcpy(b[i].h, h, (size_t)n * hp->D * sizeof *h);
        }
        if (pcnn_model_compress(m, &b[i].data, &b[i].len, x, hp->D ? h : NULL, n))
            cli_fail("%s: %s", model_path, pcnn_errstr());
        b[i].crc = pcnn_coded_crc(x, (size_t)n * size);
        coded += b[i].len;
        char extra[64];
        snprintf(extra, sizeof extra, "%.3f bits/dim", 8.0 * coded / ((i0 + n) * size));
        cli_progress_update(&pr, (long)(i0 + n), extra);
    }
    cli_progress_end(&pr);
    if (pcnn_coded_write_file(out_path, &hd, b, (int)nb)) cli_fail("%s", pcnn_errstr());
    for (size_t i = 0; i < nb; i++) pcnn_coded_batch_free(&b[i]);
    free(b), free(h), free(im.x);
    cli_vector_stream_close(&vs);
    pcnn_labels_free(&lab);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
