/* autoenc.c -- the encoder's side of a model: h from images (pcnn_model_encode), and the
 * MSE autoencoder of the paper's figure 6, encoder + deconvolutional decoder trained on
 * the mean squared error of the input map (values in [-1, 1]), for comparison with the
 * PixelCNN decoder. The loss is tiny next to the nets, so it is computed on the host. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"

int pcnn_encode_device(pcnn_model *m, const uint8_t *x, int B)
{
    const pcnn_hparams *hp = &m->hp;
    if (B < 1) return pcnn_seterr("empty batch");
    if (!m->enc.n) return pcnn_seterr("the model has no encoder (it is a %s%s)", pcnn_kind_name(hp->kind),
                                      hp->kind == PCNN_PIXELCNN ? " without one" : "");
    if (pcnn_model_reserve(m, B)) return -1;
    be_to_device(m->be, m->x, x, (size_t)B * hp->C * hp->H * hp->W);
    be_levels_to_input(m->be, m->in, m->x, B, hp->C, hp->H, hp->W, hp->K);
    net_forward(m->be, &m->enc, m->w, m->in, B);
    return 0;
}

int pcnn_model_encode(pcnn_model *m, float *h, const uint8_t *x, int B)
{
    if (pcnn_encode_device(m, x, B)) return -1;
    const int D = m->hp.D;
    real *e = malloc((size_t)B * D * sizeof *e);
    if (!e) return pcnn_seterr("out of memory");
    be_to_host(m->be, e, net_output(&m->enc), (size_t)B * D * sizeof *e);
    if (pcnn_backend_check(m->be)) {
        free(e);
        return -1;
    }
    for (int b = 0; b < B; b++) {
        double norm = 0;
        for (int k = 0; k < D; k++) norm += (double)e[b * D + k] * e[b * D + k];
        double scale = m->hp.kind == PCNN_EMBEDDING ? 1 / sqrt(norm + 1e-12) : 1;
        for (int k = 0; k < D; k++) h[b * D + k] = (float)(e[b * D + k] * scale);
    }
    free(e);
    return 0;
}

int pcnn_model_decode(pcnn_model *m, uint8_t *x, const float *h, int B)
{
    const pcnn_hparams *hp = &m->hp;
    if (hp->kind != PCNN_MSE_AUTOENCODER) return pcnn_seterr("only an MSE autoencoder decodes deterministically");
    if (B < 1) return pcnn_seterr("empty batch");
    if (pcnn_model_reserve(m, B)) return -1;
    const size_t n = (size_t)B * hp->C * hp->H * hp->W, nh = (size_t)B * hp->D;
    real *buf = malloc((n > nh ? n : nh) * sizeof *buf);
    if (!buf) return pcnn_seterr("out of memory");
    for (size_t k = 0; k < nh; k++) buf[k] = h[k];
    be_to_device(m->be, m->cond, buf, nh * sizeof *buf);
    net_forward(m->be, &m->dec, m->w, m->cond, B);
    be_to_host(m->be, buf, net_output(&m->dec), n * sizeof *buf);
    if (pcnn_backend_check(m->be)) {
        free(buf);
        return -1;
    }
    const int C = hp->C, H = hp->H, W = hp->W;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                for (int c = 0; c < C; c++) {
                    double v = buf[(((size_t)b * H + i) * W + j) * C + c];
                    long level = lround((v + 1) / 2 * (hp->K - 1));
                    if (!(level >= 0)) level = 0; /* also NaN */
                    if (level > hp->K - 1) level = hp->K - 1;
                    x[(((size_t)b * C + c) * H + i) * W + j] = (uint8_t)level;
                }
    free(buf);
    return 0;
}

void pcnn_mse_layout(pcnn_model *m)
{
    pcnn_net_add_encoder(m, &m->enc, "enc");
    pcnn_net_add_decoder(m, &m->dec, "dec", m->hp.C);
}

int pcnn_mse_run(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
                 real gscale)
{
    (void)h; /* the encoder makes it */
    const pcnn_hparams *hp = &m->hp;
    if (pcnn_encode_device(m, x, B)) return -1;
    net_forward(m->be, &m->dec, m->w, net_output(&m->enc), B);
    const size_t per = (size_t)hp->C * hp->H * hp->W, n = (size_t)B * per;
    real *out = malloc(n * sizeof *out), *in = malloc(n * sizeof *in);
    if (!out || !in) {
        free(out), free(in);
        return pcnn_seterr("out of memory");
    }
    be_to_host(m->be, out, net_output(&m->dec), n * sizeof *out);
    be_to_host(m->be, in, m->in, n * sizeof *in);
    for (int b = 0; b < B; b++) {
        double sse = 0;
        for (size_t k = b * per; k < (b + 1) * per; k++) {
            double d = (double)out[k] - in[k];
            sse += d * d;
            out[k] = (real)(2 * d * gscale); /* becomes the gradient */
        }
        if (loss) loss[b] = (real)sse;
    }
    if (backward) {
        be_to_device(m->be, m->dec.dout, out, n * sizeof *out);
        net_backward(m->be, &m->dec, m->w, m->g, m->enc.dout, B);
        net_backward(m->be, &m->enc, m->w, m->g, NULL, B);
    }
    free(out), free(in);
    return 0;
}
