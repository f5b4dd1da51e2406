/* eval.c -- the public float entry points of the model: likelihood and logits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"

int pcnn_quantize(uint8_t *levels, const pcnn_image *img, int K)
{
    size_t n = (size_t)img->c * img->h * img->w;
    for (size_t i = 0; i < n; i++) {
        if (img->data[i] > img->maxval) return pcnn_seterr("sample %d exceeds maxval %d", img->data[i], img->maxval);
        levels[i] = (uint8_t)((unsigned)img->data[i] * (unsigned)K / ((unsigned)img->maxval + 1));
    }
    return 0;
}

/* The compute type is float in the library and double in the gradient-check build;
 * these copy between the public float arrays and it. */
static real *to_real(const float *v, size_t n)
{
    if (!v) return NULL;
    real *r = malloc(n * sizeof *r + 1);
    if (r) for (size_t i = 0; i < n; i++) r[i] = v[i];
    return r;
}

static int check_cond(const pcnn_model *m, const float *h, int B)
{
    if (m->hp.kind == PCNN_EMBEDDING) return pcnn_seterr("an embedding net has no likelihood and no logits");
    if (m->hp.D == 0 || (!h && m->enc.n)) return 0; /* h from the encoder */
    if (!h) return pcnn_seterr("the model needs a conditioning vector of size %d", m->hp.D);
    return pcnn_cond_check(h, (size_t)B * m->hp.D);
}

int pcnn_model_nll(pcnn_model *m, float *nll, const uint8_t *x, const float *h, int B)
{
    if (check_cond(m, h, B)) return -1;
    real *hr = to_real(m->hp.D ? h : NULL, (size_t)B * m->hp.D);
    real *out = malloc((size_t)B * sizeof *out);
    int rc = out ? pcnn_model_run_split(m, out, x, hr, B, 0, 1) : pcnn_seterr("out of memory");
    for (int b = 0; !rc && b < B; b++) nll[b] = (float)out[b];
    /* weights that overflow give NaN or infinity: an error, not a figure */
    for (int b = 0; !rc && b < B; b++)
        if (!isfinite(nll[b])) rc = pcnn_seterr("the model's probabilities are not finite");
    free(hr);
    free(out);
    return rc;
}

int pcnn_model_logits(pcnn_model *m, float *logits, const uint8_t *x, const float *h, int B)
{
    if (check_cond(m, h, B)) return -1;
    if (m->hp.kind != PCNN_PIXELCNN) return pcnn_seterr("an MSE autoencoder has no logits");
    real *hr = to_real(m->hp.D ? h : NULL, (size_t)B * m->hp.D);
    int rc = pcnn_model_run(m, NULL, x, hr, B, 0, 1);
    free(hr);
    if (rc) return rc;
    size_t n = (size_t)B * m->hp.H * m->hp.W * m->hp.C * m->hp.K;
    real *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return pcnn_seterr("out of memory");
    be_to_host(m->be, tmp, m->logits, n * sizeof *tmp);
    for (size_t i = 0; i < n; i++) logits[i] = (float)tmp[i];
    free(tmp);
    return pcnn_backend_check(m->be);
}
