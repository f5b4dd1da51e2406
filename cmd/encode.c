/* encode.c -- see encode.h. */
#include <stdlib.h>

#include "encode.h"

void encode_main(const cli_prog *prog, const char **model_path, int argc, char **argv, int want_embedding)
{
    int first = cli_parse(prog, argc, argv);
    if (!*model_path) cli_usage_error("no model given (-m MODEL)");
    pcnn_backend *be = cli_open_device();
    pcnn_model *m = cli_load_model(be, *model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const int cond = pcnn_model_cond(m);
    if (want_embedding && cond != PCNN_COND_IDENTITY)
        cli_usage_error("%s: not an embedding net (it is a %s; pcnn-encode encodes with autoencoders)", *model_path,
                        pcnn_kind_name(hp->kind));
    if (!want_embedding && cond == PCNN_COND_IDENTITY)
        cli_usage_error("%s: an embedding net; use pcnn-embed", *model_path);
    if (!want_embedding && cond != PCNN_COND_CODE)
        cli_usage_error("%s: the model has no encoder (train one with pcnn-train -e D)", *model_path);

    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    cli_dataset d;
    cli_load_images(&d, paths, first < argc ? argc - first : 1, hp->K, hp, 0);
    const size_t sz = (size_t)hp->C * hp->H * hp->W;
    float *h = malloc(64 * (size_t)hp->D * sizeof *h);
    if (!h) cli_fail("out of memory");
    cli_say_device();
    for (size_t i = 0; i < d.n; i += 64) {
        int B = (int)(d.n - i < 64 ? d.n - i : 64);
        if (pcnn_model_encode(m, h, d.x + i * sz, B)) cli_fail("%s", pcnn_errstr());
        for (int b = 0; b < B; b++)
            if (pcnn_npy_write(stdout, h + (size_t)b * hp->D, (size_t)hp->D)) cli_fail("stdout: %s", pcnn_errstr());
    }
    free(h);
    cli_dataset_free(&d);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
