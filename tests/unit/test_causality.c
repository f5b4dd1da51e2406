/* test_causality.c -- the autoregressive order, checked on random weights and images:
 * changing channel c of pixel j moves no logit of an earlier pixel and no logit of
 * channels <= c of pixel j (no leak); and it does move the logits of the last pixel and
 * of the later channels of pixel j (no blind spot: the receptive field is complete).
 * Gray and RGB, filter sizes 3 and 5, with and without conditioning (dense h, spatial
 * s = m(h), and an autoencoder's h held fixed). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

/* S > 0: h reaches the layers as s = m(h); enc: the model has an encoder, whose h is
 * here given (fixed), as when decoding: h of the same image may see all of it, by design */
static void run_case(int C, int n, int L, int D, int K, int S, int enc)
{
    const int H = 5, W = 6;
    pcnn_hparams hp = {.L = L, .p = 6, .n = n, .C = C, .H = H, .W = W, .K = K, .D = D, .S = S, .encoder = enc, .q = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 99);
    CHECK(m != NULL, "model: %s", pcnn_errstr());
    if (!m) return;
    /* random, non-zero biases too (the masks must hold whatever the weights are) */
    uint64_t rng = 5;
    float *hbuf = NULL;
    if (D) {
        hbuf = malloc(sizeof(float) * D);
        for (int i = 0; i < D; i++) hbuf[i] = (float)pcnn_rng_uniform(&rng);
    }
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) m->w[i] += (real)(0.2 * (pcnn_rng_uniform(&rng) - 0.5));
    /* keep the head's ReLUs open, so that a dead unit cannot pass for a blind spot */
    char name[64];
    snprintf(name, sizeof name, "layers.%d.h_out.bias", L);
    const pcnn_param *hb = pcnn_model_param(m, name), *ob = pcnn_model_param(m, "out1.bias");
    for (size_t i = 0; i < hb->count; i++) m->w[hb->off + i] = 4;
    for (size_t i = 0; i < ob->count; i++) m->w[ob->off + i] = 4;
    const size_t npix = (size_t)C * H * W, nlog = (size_t)H * W * C * K;
    uint8_t *x = malloc(npix);
    float *base = malloc(nlog * sizeof *base), *cur = malloc(nlog * sizeof *cur);
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
    pcnn_model_logits(m, base, x, hbuf, 1);
    int leaks = 0, blind = 0;
    for (int q = 0; q < H * W; q++)
        for (int c = 0; c < C; c++) {
            uint8_t save = x[(size_t)c * H * W + q];
            x[(size_t)c * H * W + q] = (uint8_t)((save + 1 + (K - 1) / 2) % K);
            pcnn_model_logits(m, cur, x, hbuf, 1);
            x[(size_t)c * H * W + q] = save;
            for (int q2 = 0; q2 < H * W; q2++)
                for (int c2 = 0; c2 < C; c2++) {
                    int moved = 0;
                    for (int k = 0; k < K; k++) {
                        size_t i = ((size_t)q2 * C + c2) * K + k;
                        moved |= cur[i] != base[i];
                    }
                    int earlier = q2 < q || (q2 == q && c2 <= c);
                    if (earlier && moved) leaks++;
                    /* the last pixel, and later channels of the same pixel, must see it */
                    int must = (n > 1 && q2 == H * W - 1 && q < H * W - 1) || (q2 == q && c2 > c);
                    if (must && !moved && blind++ < 3) fprintf(stderr, "blind: change (q=%d,c=%d) not seen by (q=%d,c=%d)\n", q, c, q2, c2);
                }
        }
    CHECK(leaks == 0, "C=%d n=%d L=%d D=%d S=%d enc=%d: %d logits moved for a later pixel/channel", C, n, L, D, S, enc, leaks);
    CHECK(blind == 0, "C=%d n=%d L=%d D=%d S=%d enc=%d: %d logits blind to an earlier pixel/channel", C, n, L, D, S, enc, blind);
    free(x), free(base), free(cur), free(hbuf);
    pcnn_model_free(m);
}
/* pcnn_model_flops counts 2 per multiply-add that the masks keep, per pixel: the kept
 * entries of every convolution's and the head's weights */
static void check_flops(int C, int n, int L, int p)
{
    pcnn_hparams hp = {.L = L, .p = p, .n = n, .C = C, .H = 5, .W = 6, .K = 7};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
    CHECK(m != NULL, "model: %s", pcnn_errstr());
    if (!m) return;
    static const char *per_layer[] = {"v_conv.weight", "h_conv.weight", "v_to_h.weight", "h_out.weight"};
    char name[64];
    double kept = 0;
    for (int l = 0; l <= L + 1; l++)
        for (int k = 0; k < 4; k++) {
            if (l <= L) snprintf(name, sizeof name, "layers.%d.%s", l, per_layer[k]);
            else if (k < 2) snprintf(name, sizeof name, "out%d.weight", k + 1);
            else continue;
            const pcnn_param *w = pcnn_model_param(m, name);
            for (size_t i = 0; i < w->count; i++) kept += m->mask[w->off + i] != 0;
        }
    CHECK(pcnn_model_flops(m) == 2 * kept * hp.H * hp.W, "C=%d n=%d L=%d p=%d: flops %.0f, masks keep %.0f",
          C, n, L, p, pcnn_model_flops(m), 2 * kept * hp.H * hp.W);
    if (C == 1) { /* gray: only the first layer's current tap goes (mask A), 2p weights of 1 input */
        const double s = n / 2, dense = (L + 1.0) * (2 * p * p * (s + 1) * n + 2 * p * p * (s + 1) + 4 * p * p + p * p) -
                                        (2 * p * (p - 1) * (s + 1) * n + 2 * p * (p - 1) * (s + 1)) /* layer 0 reads 1 map */
                                        + p * p + hp.K * p;
        CHECK(pcnn_model_flops(m) == 2 * (dense - 2 * p) * hp.H * hp.W, "n=%d L=%d p=%d: flops %.0f, want %.0f", n, L, p,
              pcnn_model_flops(m), 2 * (dense - 2 * p) * hp.H * hp.W);
    }
    pcnn_model_free(m);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    run_case(1, 3, 5, 0, 4, 0, 0);
    run_case(3, 3, 5, 0, 4, 0, 0);
    run_case(1, 5, 3, 3, 2, 0, 0);
    run_case(3, 5, 3, 3, 5, 0, 0);
    run_case(3, 1, 0, 0, 3, 0, 0); /* 1x1 filters: no leak, channel order only */
    run_case(1, 3, 5, 4, 4, 2, 0); /* spatial conditioning */
    run_case(3, 5, 3, 4, 5, 3, 0);
    run_case(1, 3, 5, 4, 4, 0, 1); /* autoencoder, dense and spatial */
    run_case(3, 5, 3, 4, 5, 2, 1);
    check_flops(1, 5, 2, 8);
    check_flops(3, 5, 2, 12);
    check_flops(3, 1, 0, 6);
    pcnn_backend_close(cpu);
    return check_summary("test_causality");
}
