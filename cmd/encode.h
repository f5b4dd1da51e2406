/* encode.h -- the body shared by pcnn-encode and pcnn-embed: images in, one .npy record
 * per image out. */
#ifndef PCNN_ENCODE_H
#define PCNN_ENCODE_H
#include "data.h"

/* want_embedding: 1 for pcnn-embed (an embedding net), 0 for pcnn-encode (a model with an
 * encoder: a PixelCNN autoencoder or an MSE autoencoder). Does not return. */
void encode_main(const cli_prog *prog, const char **model_path, int argc, char **argv, int want_embedding)
    __attribute__((noreturn));
#endif
