/* pcnn-decompress -- the images of pcnn-compress files, decoded with the model that
 * coded them (pcnn-coded(5)). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

static const char *model_path, *out_path;

static const cli_opt opts[] = {
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "the model that coded the files (default: the shipped Fashion-MNIST model)"},
    {'o', "output", OPT_STR, &out_path, 0, 0, "FILE", "write the images to FILE, a netpbm stream (default and -: stdout)"},
};
static const cli_prog prog = {"pcnn-decompress", "[-m MODEL] [-o FILE] [FILE...]",
    "Decodes the images of pcnn-compress files; writes them as one netpbm stream.",
    opts, sizeof opts / sizeof *opts};

static void hex(char *s, const uint8_t *h)
{
    for (int i = 0; i < 8; i++) sprintf(s + 2 * i, "%02x", h[i]);
}

/* the header must be the model's: its hash, and so its shape and conditioning */
static void check_header(const pcnn_coded_header *hd, const char *name, pcnn_model *m, const uint8_t *hash)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    if (memcmp(hd->hash, hash, 16)) {
        char a[17], b[17];
        hex(a, hd->hash), hex(b, hash);
        cli_fail("%s: coded with another model (weights %s...; %s has %s...)", name, a, model_path, b);
    }
    const int cond = pcnn_model_cond(m);
    const int want = cond == PCNN_COND_CLASS ? PCNN_CODED_CLASS : cond == PCNN_COND_VECTOR ? PCNN_CODED_VECTOR
                   : cond == PCNN_COND_CODE ? PCNN_CODED_CODE : PCNN_CODED_NONE;
    if (hd->C != hp->C || hd->H != hp->H || hd->W != hp->W || hd->K != hp->K || hd->cond != want ||
        hd->D != (want == PCNN_CODED_NONE ? 0 : hp->D))
        cli_fail("%s: corrupted (its shape or conditioning is not its model's)", name);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (!model_path) model_path = cli_default_model();
    if (out_path && !strcmp(out_path, "-")) out_path = NULL;
    if (!out_path && isatty(1)) cli_usage_error("not writing images to a terminal; redirect stdout or give -o FILE");
    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    const int npaths = first < argc ? argc - first : 1;
    if (out_path) {
        if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
        cli_output_not_input(out_path, model_path, "-m");
        for (int p = 0; p < npaths; p++) cli_output_not_input(out_path, paths[p], NULL);
    }
    pcnn_backend *be = pcnn_backend_open("cpu"); /* where coding is exact */
    if (!be) cli_fail("%s", pcnn_errstr());
    pcnn_model *m = cli_load_model(be, model_path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    if (hp->kind != PCNN_PIXELCNN) cli_usage_error("%s: an %s does not code images", model_path, pcnn_kind_name(hp->kind));
    uint8_t hash[16];
    if (pcnn_model_hash(m, hash)) cli_fail("%s", pcnn_errstr());

    /* every image decoded before any is written: a bad file writes nothing */
    pcnn_image *out = NULL;
    size_t nout = 0, cap = 0;
    const size_t size = (size_t)hp->C * hp->H * hp->W;
    uint8_t *x = malloc((size_t)PCNN_CODED_MAX_BATCH * size);
    float *h = hp->D ? malloc((size_t)PCNN_CODED_MAX_BATCH * hp->D * sizeof *h) : NULL;
    if (!x || (hp->D && !h)) cli_fail("out of memory");
    cli_progress pr;
    cli_progress_start(&pr, "decompress", 0);
    for (int p = 0; p < npaths; p++) {
        const int std = !strcmp(paths[p], "-");
        const char *name = std ? "stdin" : paths[p];
        FILE *f = std ? stdin : fopen(paths[p], "rb");
        if (!f) cli_fail("%s: %s", name, strerror(errno));
        pcnn_coded_header hd;
        int rc, files = 0;
        while ((rc = pcnn_coded_read_header(f, name, &hd)) == 1) { /* files may follow one another */
            files++;
            check_header(&hd, name, m, hash);
            for (uint32_t done = 0; done < hd.n;) {
                const int n = (int)(hd.n - done < (uint32_t)hd.batch ? hd.n - done : (uint32_t)hd.batch);
                pcnn_coded_batch b;
                if (pcnn_coded_read_batch(f, name, &hd, n, &b)) cli_fail("%s", pcnn_errstr());
                for (int k = 0; hd.cond == PCNN_CODED_CLASS && k < n; k++) {
                    if (b.cls[k] >= hp->classes) cli_fail("%s: corrupted (class %d of %d)", name, b.cls[k], hp->classes);
                    memset(h + (size_t)k * hp->D, 0, (size_t)hp->D * sizeof *h);
                    h[(size_t)k * hp->D + b.cls[k]] = 1;
                }
                if (b.h) memcpy(h, b.h, (size_t)n * hp->D * sizeof *h);
                if (pcnn_model_decompress(m, x, hp->D ? h : NULL, n, b.data, b.len))
                    cli_fail("%s: %s", name, pcnn_errstr());
                if (pcnn_coded_crc(x, (size_t)n * size) != b.crc)
                    cli_fail("%s: corrupted (images %u to %u do not match their checksum)", name, done + 1, done + n);
                pcnn_coded_batch_free(&b);
                if (nout + n > cap) {
                    cap = cap * 2 > nout + n ? cap * 2 : nout + n;
                    pcnn_image *no = realloc(out, cap * sizeof *out);
                    if (!no) cli_fail("out of memory");
                    out = no;
                }
                const int step = (hd.maxval + 1) / hp->K;
                for (int k = 0; k < n; k++) {
                    pcnn_image *im = &out[nout++];
                    *im = (pcnn_image){hp->C, hp->H, hp->W, hd.maxval, malloc(size)};
                    if (!im->data) cli_fail("out of memory");
                    for (size_t i = 0; i < size; i++) im->data[i] = (uint8_t)(x[(size_t)k * size + i] * step);
                }
                done += (uint32_t)n;
                cli_progress_update(&pr, (long)nout, NULL);
            }
        }
        if (rc < 0) cli_fail("%s", pcnn_errstr());
        if (!files) cli_fail("%s: empty: not a pcnn-compress file", name);
        if (!std) fclose(f);
    }
    cli_progress_end(&pr);
    if (out_path) {
        if (nout > INT32_MAX) cli_fail("too many images for one file");
        if (pcnn_netpbm_write_file(out_path, out, (int)nout)) cli_fail("%s", pcnn_errstr());
    } else {
        for (size_t i = 0; i < nout; i++)
            if (pcnn_netpbm_write(stdout, &out[i])) cli_fail("stdout: %s", pcnn_errstr());
    }
    for (size_t i = 0; i < nout; i++) pcnn_image_free(&out[i]);
    free(out), free(x), free(h);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
