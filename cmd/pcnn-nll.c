/* pcnn-nll -- the negative log-likelihood of each image under a model, in bits/dim. */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *model_path, *labels_path, *cond_path;
static int cls = -1;

static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "model file (default: the shipped Fashion-MNIST model)"},
    {'c', "class", OPT_INT, &cls, 0, 65535, "K", "class of every image (class-conditional models)"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "class of each image (IDX, CIFAR-10 .bin, or one integer per line)"},
    {0, "cond", OPT_STR, &cond_path, 0, 0, "FILE", "conditioning vectors, one .npy record per image"},
};
static const cli_prog prog = {"pcnn-nll", "[-m MODEL] [-c K | -l LABELS | --cond FILE] [FILE...]",
    "Prints the bits/dim of each image (one line each, in input order), then the mean.",
    opts, sizeof opts / sizeof *opts};

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    cli_select_device();
    if ((cls >= 0) + !!labels_path + !!cond_path > 1) cli_usage_error("give one of -c, -l, --cond");
    if (!model_path) model_path = cli_default_model();
    pcnn_model *m = cli_load_model(model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    if (hp->kind != PCNN_PIXELCNN)
        cli_usage_error("%s: an %s has no likelihood", model_path,
                        hp->kind == PCNN_EMBEDDING ? "embedding net" : "MSE autoencoder");

    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    cli_dataset d;
    cli_load_images(&d, paths, first < argc ? argc - first : 1, hp->K, hp, 0);

    float *h = NULL;
    int D = hp->D;
    if (hp->D == 0 || hp->encoder) { /* an autoencoder: h of each image from its encoder */
        if (cls >= 0 || labels_path || cond_path)
            cli_usage_error("%s: the model is %s", model_path, hp->D ? "an autoencoder; it encodes each image itself" : "unconditional");
    } else if (cls >= 0) {
        if (!hp->classes) cli_usage_error("%s: the model is not class-conditional; use --cond", model_path);
        if (cls >= hp->classes) cli_usage_error("class %d: the model has %d classes", cls, hp->classes);
        h = cli_onehot_repeat(cls, d.n, hp->classes);
    } else if (labels_path) {
        if (!hp->classes) cli_usage_error("%s: the model is not class-conditional; use --cond", model_path);
        h = cli_onehot_from_labels(labels_path, d.n, hp->classes, NULL);
    } else if (cond_path) {
        size_t n = d.n;
        h = cli_read_vectors(cond_path, &n, &D);
    } else {
        cli_usage_error("%s: the model is conditional; give %s", model_path,
                        hp->classes ? "-c K or -l LABELS" : "--cond FILE");
    }

    size_t sz = (size_t)hp->C * hp->H * hp->W;
    double total = 0;
    float nll[32];
    cli_progress pr;
    cli_progress_start(&pr, "nll", (long)d.n);
    for (size_t i = 0; i < d.n; i += 32) {
        int B = (int)(d.n - i < 32 ? d.n - i : 32);
        if (pcnn_model_nll(m, nll, d.x + i * sz, h ? h + i * hp->D : NULL, B)) cli_fail("%s", pcnn_errstr());
        for (int b = 0; b < B; b++) {
            total += nll[b];
            if (hp->K == 2) printf("%.6f\t%.4f\n", pcnn_bits_per_dim(hp, nll[b]), nll[b]);
            else printf("%.6f\n", pcnn_bits_per_dim(hp, nll[b]));
        }
        cli_progress_update(&pr, (long)(i + B), NULL);
    }
    cli_progress_end(&pr);
    if (hp->K == 2) printf("mean\t%.6f\t%.4f\n", pcnn_bits_per_dim(hp, total / d.n), total / d.n);
    else printf("mean\t%.6f\n", pcnn_bits_per_dim(hp, total / d.n));
    free(h);
    cli_dataset_free(&d);
    pcnn_model_free(m);
    cli_exit(0);
}
