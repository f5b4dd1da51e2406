/* pcnn-convert -- images of any format pcnn reads (netpbm, PNG, IDX, CIFAR-10 records) as
 * a netpbm stream or a PNG grid, and their labels as text: the step from a data set's
 * own files to what netpbm's programs and pcnn's pipelines take. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

static const char *out_path, *labels_path, *labels_out;
static int skip, limit, cols, scale = 1;

static const cli_opt opts[] = {
    {'o', "output", OPT_STR, &out_path, 0, 0, "FILE", "write to FILE: a PNG grid if it ends in .png, else a netpbm stream (-: stdout)"},
    {0, "skip", OPT_INT, &skip, 0, 100000000, "N", "leave out the first N images"},
    {0, "limit", OPT_INT, &limit, 1, 100000000, "N", "write at most N images (default all; a PNG grid: 10000)"},
    {'l', "labels", OPT_STR, &labels_path, 0, 0, "FILE", "labels of the input images (IDX, CIFAR-10 .bin, or text: one class number or one class name per line)"},
    {0, "labels-out", OPT_STR, &labels_out, 0, 0, "FILE", "write the labels of the images written to FILE, one per line (names stay names)"},
    {0, "cols", OPT_INT, &cols, 1, 100000, "N", "PNG grid: N images across (default: a square)"},
    {0, "scale", OPT_INT, &scale, 1, 64, "S", "PNG grid: draw every pixel as an SxS block (default 1)"},
};
static const cli_prog prog = {"pcnn-convert", "[--skip N] [--limit N] [-o FILE] [options] [FILE...]",
    "Writes images of any format pcnn reads (netpbm, PNG, IDX, CIFAR-10 .bin; stdin when no FILE) as a "
    "netpbm stream or a PNG grid, and their labels as text.",
    opts, sizeof opts / sizeof *opts};

enum { GRID_LIMIT = 10000 };

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (out_path && !strcmp(out_path, "-")) out_path = NULL;
    const int png = cli_png_name(out_path);
    if ((cli_given(&cols) || cli_given(&scale)) && !png)
        cli_usage_error("--cols and --scale shape a PNG grid; give -o FILE.png");
    cli_file_not_stdout("--labels-out", labels_out);
    if (!labels_path != !labels_out) cli_usage_error("give -l LABELS and --labels-out FILE together");
    if (!out_path && isatty(1))
        cli_usage_error("not writing images to a terminal; redirect stdout or give -o FILE");
    static const char *stdin_only[] = {"-"};
    const char *const *paths = first < argc ? (const char *const *)argv + first : stdin_only;
    const int npaths = first < argc ? argc - first : 1;
    for (int i = 0; i < npaths; i++) cli_input(NULL, paths[i]);
    cli_input("-l", labels_path);
    for (int i = 0; i < npaths; i++) {
        if (out_path) cli_output_not_input(out_path, paths[i], NULL);
        if (labels_out) cli_option_output_not_input("--labels-out", labels_out, paths[i], NULL);
    }
    cli_outputs_differ("-o", out_path, "--labels-out", labels_out);
    if (out_path) cli_output_not_input(out_path, labels_path, "-l");
    if (labels_out) cli_option_output_not_input("--labels-out", labels_out, labels_path, "-l");
    if (out_path && pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
    if (labels_out && pcnn_output_check(labels_out)) cli_fail("%s", pcnn_errstr());
    const size_t want = limit ? (size_t)limit : png ? GRID_LIMIT : (size_t)-1;

    pcnn_labels lab = {0};
    if (labels_path) cli_labels_read(&lab, labels_path, 0);

    cli_image_stream in;
    cli_image_stream_open(&in, paths, npaths, 256, NULL);
    uint8_t *one = malloc(PCNN_MAX_PIXELS), *kept = NULL;
    int *chosen = NULL; /* the labels of the images written */
    if (!one) cli_fail("out of memory");
    size_t seen = 0, written = 0, sz = 0;
    while (written < want && cli_image_stream_next(&in, one, 1) == 1) {
        if (seen++ < (size_t)skip) continue;
        sz = (size_t)in.C * in.H * in.W;
        if (lab.label) {
            if (seen > lab.n) cli_fail("%s: %zu labels for more images", lab.path, lab.n);
            int *c = realloc(chosen, (written + 1) * sizeof *chosen);
            if (!c) cli_fail("out of memory");
            chosen = c;
            chosen[written] = lab.label[seen - 1];
        }
        if (out_path) { /* kept, so that the file is written whole or not at all */
            uint8_t *k = realloc(kept, (written + 1) * sz);
            if (!k) cli_fail("out of memory");
            kept = k;
            memcpy(kept + written * sz, one, sz);
        } else {
            pcnn_image img = {.c = in.C, .h = in.H, .w = in.W, .maxval = 255, .data = one};
            if (pcnn_netpbm_write(stdout, &img)) cli_fail("standard output: %s", pcnn_errstr());
        }
        written++;
    }
    if (written == 0) cli_fail("%s: no images after the first %d", npaths == 1 ? paths[0] : "the input", skip);
    if (out_path) {
        pcnn_image *imgs = malloc(written * sizeof *imgs);
        if (!imgs) cli_fail("out of memory");
        for (size_t i = 0; i < written; i++)
            imgs[i] = (pcnn_image){.c = in.C, .h = in.H, .w = in.W, .maxval = 255, .data = kept + i * sz};
        int across = cols ? cols : cli_square_cols(written);
        if (png ? pcnn_png_write_grid(out_path, imgs, (int)written, across, scale)
                : pcnn_netpbm_write_file(out_path, imgs, (int)written))
            cli_fail("%s", pcnn_errstr());
        free(imgs);
    }
    if (labels_out && pcnn_labels_write_names(labels_out, chosen, written, (const char *const *)lab.names))
        cli_fail("%s", pcnn_errstr());
    free(one), free(kept), free(chosen);
    pcnn_labels_free(&lab);
    cli_exit(0);
}
