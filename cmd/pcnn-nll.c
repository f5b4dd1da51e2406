/* pcnn-nll -- the negative log-likelihood of each image under a model, in bits/dim. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *model_path, *labels_path, *cond_path, *cls_arg;

static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "model file (default: the shipped Fashion-MNIST model)"},
    {'c', "class", OPT_STR, &cls_arg, 0, 0, "K|NAME", "class of every image, by number or by name (class-conditional models)"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "class of each image (IDX, CIFAR-10 .bin, or text: one class number or one class name per line)"},
    {0, "cond", OPT_STR, &cond_path, 0, 0, "FILE", "conditioning vectors, one .npy record per image"},
};
static const cli_prog prog = {"pcnn-nll", "[-m MODEL] [-c K|NAME | -l LABELS | --cond FILE] [FILE...]",
    "Prints the bits/dim of each image (one line each, in input order), then the mean.",
    opts, sizeof opts / sizeof *opts};

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (!!cls_arg + !!labels_path + !!cond_path > 1) cli_usage_error("give one of -c, -l, --cond");
    if (!model_path) model_path = cli_default_model();
    pcnn_backend *be = cli_open_device();
    pcnn_model *m = cli_load_model(be, model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    if (hp->kind != PCNN_PIXELCNN)
        cli_usage_error("%s: an %s has no likelihood", model_path,
                        hp->kind == PCNN_EMBEDDING ? "embedding net" : "MSE autoencoder");

    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    for (int i = 0; i < (first < argc ? argc - first : 1); i++) cli_input(NULL, paths[i]);
    cli_input("-l", labels_path);
    cli_input("--cond", cond_path);

    /* what h is: nothing (unconditional, or an autoencoder, which encodes each image
     * itself), one class for all, a class per image, or a vector per image */
    pcnn_labels lab = {0};
    int cls = -1;
    cli_vector_stream vs = {0};
    const int cond = pcnn_model_cond(m);
    if (cond == PCNN_COND_NONE || cond == PCNN_COND_CODE) {
        if (cls_arg || labels_path || cond_path)
            cli_usage_error("%s: the model is %s", model_path, cond == PCNN_COND_CODE ? "an autoencoder; it encodes each image itself" : "unconditional");
    } else if (cls_arg || labels_path) {
        if (cond != PCNN_COND_CLASS) cli_usage_error("%s: the model is not class-conditional; use --cond", model_path);
        if (cls_arg) cls = cli_class_arg(m, model_path, "--class", cls_arg); /* named as its numbers were */
        if (labels_path) { /* names by the model's table */
            cli_labels_read(&lab, labels_path, 0);
            cli_labels_map(&lab, m);
        }
    } else if (cond_path) {
        cli_vector_stream_open(&vs, cond_path, hp->D);
    } else {
        cli_usage_error("%s: the model is conditional; give %s", model_path,
                        cond == PCNN_COND_CLASS ? "-c K or -l LABELS" : "--cond FILE");
    }

    /* one batch at a time: each is scored and printed as it arrives */
    enum { BATCH = 32 };
    const int D = cond == PCNN_COND_CODE ? 0 : hp->D; /* the width of the h given */
    uint8_t *x = malloc((size_t)BATCH * hp->C * hp->H * hp->W);
    float *h = D ? malloc((size_t)BATCH * D * sizeof *h) : NULL, nll[BATCH];
    if (!x || (D && !h)) cli_fail("out of memory");
    cli_image_stream in;
    cli_image_stream_open(&in, paths, first < argc ? argc - first : 1, hp->K, hp);
    double total = 0;
    cli_progress pr;
    cli_progress_start(&pr, "nll", 0);
    int B;
    while ((B = cli_image_stream_next(&in, x, BATCH)) > 0) {
        size_t i0 = in.n - (size_t)B; /* the batch's first image */
        for (int b = 0; D && b < B; b++) {
            float *hb = h + (size_t)b * D;
            if (cond_path) {
                if (!cli_vector_stream_next(&vs, hb))
                    cli_fail("%s: %zu conditioning vectors for more images", vs.name, vs.n);
                continue;
            }
            int k = cls;
            if (labels_path) {
                if (i0 + b >= lab.n) cli_fail("%s: %zu labels for more images", lab.path, lab.n);
                k = lab.label[i0 + b];
                if (k >= hp->classes) cli_fail("%s: label %d is not below the %d classes", lab.path, k, hp->classes);
            }
            memset(hb, 0, (size_t)D * sizeof *hb);
            hb[k] = 1;
        }
        if (pcnn_model_nll(m, nll, x, h, B)) cli_fail("%s: %s", model_path, pcnn_errstr());
        for (int b = 0; b < B; b++) {
            total += nll[b];
            if (hp->K == 2) printf("%.6f\t%.4f\n", pcnn_bits_per_dim(hp, nll[b]), nll[b]);
            else printf("%.6f\n", pcnn_bits_per_dim(hp, nll[b]));
        }
        fflush(stdout);
        cli_progress_update(&pr, (long)in.n, NULL);
    }
    cli_progress_end(&pr);
    const size_t n = in.n;
    if (hp->K == 2) printf("mean\t%.6f\t%.4f\n", pcnn_bits_per_dim(hp, total / n), total / n);
    else printf("mean\t%.6f\n", pcnn_bits_per_dim(hp, total / n));
    cli_vector_stream_close(&vs);
    free(x), free(h);
    pcnn_labels_free(&lab);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
