/* modelfile.c -- the model as a .safetensors file (pcnn-model(5)): weights under their
 * PyTorch-style names, hyperparameters in __metadata__, and optionally the training
 * state beside them ("adam.m.<name>", "adam.v.<name>", with a moving average of the weights
 * "raw.<name>" for the trained weights while <name> holds their average, "train.*" metadata).
 * A model whose classes have names keeps them in "class_names", joined by newlines. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"
#include "modelfile.h"

#define FORMAT_NAME "pcnn-model"
#define FORMAT_VERSION "1"

static int meta_add(pcnn_st *st, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int meta_add(pcnn_st *st, const char *key, const char *fmt, ...)
{
    char val[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    st->meta_keys[st->nmeta] = strdup(key);
    st->meta_vals[st->nmeta] = strdup(val);
    if (!st->meta_keys[st->nmeta] || !st->meta_vals[st->nmeta]) return pcnn_seterr("out of memory");
    st->nmeta++;
    return 0;
}

int pcnn_modelfile_add_arena(pcnn_st *st, const pcnn_model *m, const real *arena, const char *prefix)
{
    real *host = malloc(m->total * sizeof *host);
    if (!host) return pcnn_seterr("out of memory");
    be_to_host(m->be, host, arena, m->total * sizeof *host);
    if (pcnn_backend_check(m->be)) { /* not the zeros of a failed device into a file */
        free(host);
        return -1;
    }
    for (int i = 0; i < m->nparams; i++) {
        const pcnn_param *p = &m->params[i];
        pcnn_tensor *t = &st->t[st->n];
        snprintf(t->name, sizeof t->name, "%s%s", prefix, p->name);
        t->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) t->shape[d] = p->shape[d];
        t->data = malloc(p->count * sizeof(float) + 1);
        if (!t->data) {
            free(host);
            return pcnn_seterr("out of memory");
        }
        st->n++;
        for (size_t k = 0; k < p->count; k++) t->data[k] = (float)host[p->off + k];
    }
    free(host);
    return 0;
}

int pcnn_modelfile_build(pcnn_st *st, const pcnn_model *m, const real *w)
{
    memset(st, 0, sizeof *st);
    st->t = calloc((size_t)m->nparams * PCNN_MODELFILE_ARENAS, sizeof *st->t);
    st->meta_keys = calloc(64, sizeof(char *));
    st->meta_vals = calloc(64, sizeof(char *));
    if (!st->t || !st->meta_keys || !st->meta_vals) return pcnn_seterr("out of memory");
    const pcnn_hparams *hp = &m->hp;
    if (meta_add(st, "format", FORMAT_NAME) || meta_add(st, "version", FORMAT_VERSION) ||
        meta_add(st, "layers", "%d", hp->L) || meta_add(st, "features", "%d", hp->p) ||
        meta_add(st, "filter", "%d", hp->n) || meta_add(st, "channels", "%d", hp->C) ||
        meta_add(st, "height", "%d", hp->H) || meta_add(st, "width", "%d", hp->W) ||
        meta_add(st, "levels", "%d", hp->K) || meta_add(st, "cond_size", "%d", hp->D) ||
        meta_add(st, "classes", "%d", hp->classes) || meta_add(st, "kind", "%s", pcnn_kind_name(hp->kind)) ||
        meta_add(st, "spatial", "%d", hp->S) || meta_add(st, "encoder", "%d", hp->encoder) ||
        meta_add(st, "net_features", "%d", hp->q))
        return -1;
    if (m->names) { /* longer than meta_add's buffer */
        st->meta_keys[st->nmeta] = strdup("class_names");
        st->meta_vals[st->nmeta] = pcnn_names_join((const char *const *)m->names, hp->classes);
        st->nmeta++; /* pcnn_st_free frees what there is */
        if (!st->meta_keys[st->nmeta - 1] || !st->meta_vals[st->nmeta - 1]) return pcnn_seterr("out of memory");
    }
    return pcnn_modelfile_add_arena(st, m, w, "");
}

int pcnn_modelfile_meta_add(pcnn_st *st, const char *key, const char *val)
{
    return meta_add(st, key, "%s", val);
}

int pcnn_model_save(const pcnn_model *m, const char *path)
{
    pcnn_st st;
    int rc = pcnn_modelfile_build(&st, m, m->w);
    if (!rc) rc = pcnn_st_write(&st, path);
    pcnn_st_free(&st);
    return rc;
}

/* An integer from the metadata, whole string, within [lo, hi]. */
int pcnn_modelfile_meta_int(const pcnn_st *st, const char *path, const char *key, long lo,
                            long hi, long *out)
{
    const char *s = pcnn_st_meta(st, key);
    if (!s) return pcnn_seterr("%s: metadata has no '%s'", path, key);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return pcnn_seterr("%s: metadata '%s' = '%s' is not an integer in %ld..%ld", path, key, s, lo, hi);
    *out = v;
    return 0;
}

/* The tensor prefix + name of parameter p, or NULL (with the reason set) when it is
 * missing or shaped otherwise. */
static const pcnn_tensor *find_param(const pcnn_st *st, const char *path, const pcnn_param *p,
                                     const char *prefix)
{
    char name[160];
    snprintf(name, sizeof name, "%s%s", prefix, p->name);
    const pcnn_tensor *t = pcnn_st_find(st, name);
    int ok = t && t->ndim == p->ndim;
    for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == p->shape[d];
    if (ok) return t;
    if (!t) pcnn_seterr("%s: tensor '%s' is missing", path, name);
    else pcnn_seterr("%s: tensor '%s' has the wrong shape for the model's hyperparameters", path, name);
    return NULL;
}

/* Copies the tensors prefix + name of every parameter into an arena, checking shapes. */
int pcnn_modelfile_load_arena(const pcnn_st *st, const char *path, const pcnn_model *m,
                              real *arena, const char *prefix)
{
    for (int i = 0; i < m->nparams; i++) /* all there before anything is allocated */
        if (!find_param(st, path, &m->params[i], prefix)) return -1;
    real *host = malloc(m->total * sizeof *host);
    if (!host) return pcnn_seterr("out of memory");
    for (int i = 0; i < m->nparams; i++) {
        const pcnn_param *p = &m->params[i];
        const pcnn_tensor *t = find_param(st, path, p, prefix);
        for (size_t k = 0; k < p->count; k++) {
            if (!isfinite(t->data[k])) {
                free(host);
                return pcnn_seterr("%s: tensor '%s%s' holds NaN or Inf", path, prefix, p->name);
            }
            host[p->off + k] = t->data[k];
        }
    }
    be_to_device(m->be, arena, host, m->total * sizeof *host);
    free(host);
    return 0;
}

pcnn_model *pcnn_model_load(pcnn_backend *be, const char *path)
{
    pcnn_st st;
    if (pcnn_st_read(&st, path)) return NULL;
    pcnn_model *m = NULL;
    const char *fmt = pcnn_st_meta(&st, "format"), *ver = pcnn_st_meta(&st, "version");
    if (!fmt || strcmp(fmt, FORMAT_NAME)) {
        pcnn_seterr("%s: not a pcnn model (metadata 'format' is not '" FORMAT_NAME "')", path);
        goto out;
    }
    if (!ver || strcmp(ver, FORMAT_VERSION)) {
        pcnn_seterr("%s: model format version '%s' is not " FORMAT_VERSION, path, ver ? ver : "");
        goto out;
    }
    long v[9];
    static const char *keys[9] = {"layers", "features", "filter", "channels", "height",
                                  "width", "levels", "cond_size", "classes"};
    for (int i = 0; i < 9; i++)
        if (pcnn_modelfile_meta_int(&st, path, keys[i], 0, 65536, &v[i])) goto out;
    pcnn_hparams hp = {.L = (int)v[0], .p = (int)v[1], .n = (int)v[2], .C = (int)v[3],
                       .H = (int)v[4], .W = (int)v[5], .K = (int)v[6], .D = (int)v[7],
                       .classes = (int)v[8]};
    /* added with conditioning nets; a file without them is a plain PixelCNN */
    static const char *opt_keys[3] = {"spatial", "encoder", "net_features"};
    int *opt_vals[3] = {&hp.S, &hp.encoder, &hp.q};
    for (int i = 0; i < 3; i++) {
        long x = 0;
        if (pcnn_st_meta(&st, opt_keys[i]) && pcnn_modelfile_meta_int(&st, path, opt_keys[i], 0, 65536, &x)) goto out;
        *opt_vals[i] = (int)x;
    }
    const char *kind = pcnn_st_meta(&st, "kind");
    for (hp.kind = 0; kind && hp.kind <= PCNN_EMBEDDING && strcmp(kind, pcnn_kind_name(hp.kind)); hp.kind++) {}
    if (hp.kind > PCNN_EMBEDDING) {
        pcnn_seterr("%s: unknown model kind '%s' (pixelcnn, mse-autoencoder or embedding)", path, kind);
        goto out;
    }
    if (pcnn_hparams_check(&hp)) {
        char why[256];
        snprintf(why, sizeof why, "%s", pcnn_errstr());
        pcnn_seterr("%s: %s", path, why);
        goto out;
    }
    /* the file's tensors against the hyperparameters' layout before the weights' memory
     * is taken: a small file cannot ask for a large allocation */
    m = pcnn_model_layout(&hp, be);
    if (!m) goto out;
    /* added with named classes; a file without them has numbered classes */
    const char *names = pcnn_st_meta(&st, "class_names");
    if (names && (!(hp.classes > 0) || !(m->names = pcnn_names_split(names, hp.classes)))) {
        char why[256];
        snprintf(why, sizeof why, "%s", hp.classes > 0 ? pcnn_errstr() : "a model without classes");
        pcnn_seterr("%s: metadata 'class_names': %s", path, why);
        pcnn_model_free(m);
        m = NULL;
        goto out;
    }
    for (int i = 0; i < m->nparams; i++)
        if (!find_param(&st, path, &m->params[i], "")) {
            pcnn_model_free(m);
            m = NULL;
            goto out;
        }
    int rc = pcnn_model_arenas(m) || pcnn_modelfile_load_arena(&st, path, m, m->w, "");
    if (!rc) {
        be_mul(m->be, m->w, m->mask, m->total); /* masked weights are zero by definition */
        rc = pcnn_backend_check(m->be);
    }
    if (rc) {
        pcnn_model_free(m);
        m = NULL;
    }
out:
    pcnn_st_free(&st);
    return m;
}
