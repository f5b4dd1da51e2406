/* fuzz_model.c -- libFuzzer harness: a model file (safetensors) loaded with pcnn_model_load.
 * Run with a small -max_len (4096): only tiny models can have all their tensors, and the
 * loader checks the tensors against the hyperparameters before it allocates the weights.
 * The container is also read with pcnn_st_read and, when that succeeds, written with
 * pcnn_st_write and read again: the same tensors and metadata, bit for bit. */
#include "fuzz.h"
#if __has_include("pcnn-impl.h")
#include "pcnn-impl.h" /* the safetensors container, private to the library */
#endif

static void same(const pcnn_st *a, const pcnn_st *b)
{
    int ok = a->n == b->n && a->nmeta == b->nmeta;
    for (int i = 0; ok && i < a->n; i++) {
        const pcnn_tensor *s = &a->t[i], *t = &b->t[i];
        ok = strcmp(s->name, t->name) == 0 && s->ndim == t->ndim &&
             memcmp(s->shape, t->shape, sizeof s->shape) == 0;
        size_t count = 1;
        for (int d = 0; ok && d < s->ndim; d++)
            count *= (size_t)s->shape[d];
        ok = ok && (count == 0 || memcmp(s->data, t->data, count * sizeof(float)) == 0);
    }
    for (int i = 0; ok && i < a->nmeta; i++)
        ok = strcmp(a->meta_keys[i], b->meta_keys[i]) == 0 && strcmp(a->meta_vals[i], b->meta_vals[i]) == 0;
    if (!ok) {
        fprintf(stderr, "fuzz: a safetensors file read, written and read again differs\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".pcnn");
    fuzz_write(path, data, size);
    static pcnn_backend *cpu; /* one for the whole run, as a program opens one */
    if (!cpu && !(cpu = pcnn_backend_open("cpu"))) {
        fprintf(stderr, "fuzz: %s\n", pcnn_errstr());
        abort();
    }
    pcnn_model *m = pcnn_model_load(cpu, path);
    int loaded = m != NULL;
    if (m) {
        pcnn_hparams hp = *pcnn_model_hparams(m);
        if (pcnn_hparams_check(&hp) != 0 || pcnn_model_nparams(m) == 0) {
            fprintf(stderr, "fuzz: a model loaded with bad hyperparameters: %s\n", pcnn_errstr());
            abort();
        }
        pcnn_model_free(m);
    }
    pcnn_st st, st2;
    if (pcnn_st_read(&st, path) == 0) {
        char copy[600];
        snprintf(copy, sizeof copy, "%s.copy", path);
        if (pcnn_st_write(&st, copy) != 0) {
            fprintf(stderr, "fuzz: a safetensors file read but not written: %s\n", pcnn_errstr());
            abort();
        }
        if (pcnn_st_read(&st2, copy) != 0) {
            fprintf(stderr, "fuzz: a safetensors file written but not read: %s\n", pcnn_errstr());
            abort();
        }
        same(&st, &st2);
        pcnn_st_free(&st2);
        unlink(copy);
    } else if (loaded) {
        fprintf(stderr, "fuzz: a model loaded from a file pcnn_st_read refuses\n");
        abort();
    }
    pcnn_st_free(&st);
    unlink(path);
    return 0;
}
