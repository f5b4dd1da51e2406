/* pcnn-strip -- writes a model without its training state: the weights the programs read
 * (the moving average when the run kept one) and the hyperparameters, a quarter or a
 * third of a checkpoint's size. The model to ship, not to resume. */
#include "cli.h"

static const char *out_path;

static const cli_opt opts[] = {
    {'o', "output", OPT_STR, &out_path, 0, 0, "FILE", "model file to write (required; may be MODEL itself)"},
};
static const cli_prog prog = {"pcnn-strip", "-o FILE MODEL",
    "Writes MODEL without its training state (Adam moments, trained weights beside their average, train.* keys).",
    opts, sizeof opts / sizeof *opts};

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (!out_path) cli_usage_error("no output file given (-o FILE)");
    cli_file_not_stdout("-o", out_path);
    if (first != argc - 1) cli_usage_error(first == argc ? "no model given" : "one model at a time");
    if (pcnn_output_check(out_path)) cli_fail("%s", pcnn_errstr());
    pcnn_backend *be = pcnn_backend_open("cpu"); /* a copy of weights: no device to choose */
    if (!be) cli_fail("%s", pcnn_errstr());
    pcnn_model *m = cli_load_model(be, argv[first]);
    if (pcnn_model_save(m, out_path)) cli_fail("%s", pcnn_errstr());
    pcnn_model_free(m);
    pcnn_backend_close(be);
    cli_exit(0);
}
