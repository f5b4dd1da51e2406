/* modelfile.h -- helpers shared by modelfile.c and train.c (private). */
#ifndef PCNN_MODELFILE_H
#define PCNN_MODELFILE_H
#include "model-impl.h"

/* the most arenas of tensors one file holds: weights, Adam's two moments, trained weights */
#define PCNN_MODELFILE_ARENAS 4
/* A safetensors image of the model's hyperparameters and the weights w (an arena). */
int pcnn_modelfile_build(pcnn_st *st, const pcnn_model *m, const real *w);
/* Appends the tensors of an arena (backend memory) under prefix + parameter name. */
int pcnn_modelfile_add_arena(pcnn_st *st, const pcnn_model *m, const real *arena, const char *prefix);
int pcnn_modelfile_meta_add(pcnn_st *st, const char *key, const char *val);
int pcnn_modelfile_meta_int(const pcnn_st *st, const char *path, const char *key, long lo,
                            long hi, long *out);
int pcnn_modelfile_load_arena(const pcnn_st *st, const char *path, const pcnn_model *m,
                              real *arena, const char *prefix);
#endif
