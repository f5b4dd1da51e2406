/* pcnn-embed -- the embedding of each image, as .npy records on stdout. */
#include "encode.h"

static const char *model_path;
static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "an embedding net (pcnn-train --embed D -l IDS)"},
};
static const cli_prog prog = {"pcnn-embed", "-m MODEL [FILE...]",
    "Writes the unit-length embedding of each image (one float32 .npy record each) on stdout.",
    opts, sizeof opts / sizeof *opts};

int main(int argc, char **argv) { encode_main(&prog, &model_path, argc, argv, 1); }
