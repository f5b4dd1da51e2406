/* modelfile.h -- helpers shared by modelfile.c and train.c (private). */
#ifndef PCNN_MODELFILE_H
#define PCNN_MODELFILE_H
#include "model-impl.h"

/* A safetensors image of the model (and Adam moments when non-NULL). */
int pcnn_modelfile_build(pcnn_st *st, const pcnn_model *m, const real *adam_m, const real *adam_v);
int pcnn_modelfile_meta_add(pcnn_st *st, const char *key, const char *val);
int pcnn_modelfile_meta_int(const pcnn_st *st, const char *path, const char *key, long lo,
                            long hi, long *out);
int pcnn_modelfile_load_arena(const pcnn_st *st, const char *path, const pcnn_model *m,
                              real *arena, const char *prefix);
#endif
