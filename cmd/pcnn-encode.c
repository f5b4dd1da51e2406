/* pcnn-encode -- the autoencoder's code h of each image, as .npy records on stdout. */
#include "encode.h"

static const char *model_path;
static const cli_opt opts[] = {
    CLI_DEVICE_OPT,
    {'m', "model", OPT_STR, &model_path, 0, 0, "MODEL", "an autoencoder (pcnn-train -e D, with or without --mse)"},
};
static const cli_prog prog = {"pcnn-encode", "-m MODEL [FILE...]",
    "Writes the code h of each image (one float32 .npy record each) on stdout, to decode with pcnn-sample.",
    opts, sizeof opts / sizeof *opts};

int main(int argc, char **argv) { encode_main(&prog, &model_path, argc, argv, 0); }
