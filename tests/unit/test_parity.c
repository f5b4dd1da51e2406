/* test_parity.c -- the C network against an independent PyTorch twin (tests/torch/parity.py):
 * for each fixture model, the logits, the per-image nll and the gradient of the summed nll
 * with respect to every parameter must match what PyTorch (float64 autograd) computed.
 * Tolerance, per tensor: ||a-b|| / ||b|| < 1e-4, and elementwise |a-b| <= 1e-4*max(1,|b|)
 * (the float32 C code stays below 1e-6 in norm and 1e-5 elementwise, the largest being
 * bias gradients summed over every pixel of the batch; failures name the worst element).
 * The cases cover no, dense and one-hot conditioning (V h), spatial conditioning through
 * the deconvolutional net m() (V*s), and the autoencoder, whose fixtures hold no h: the
 * model encodes x itself, so it runs with h == NULL and the gradients reach the encoder.
 * Run from the repository root (fixtures are found at tests/fixtures/); regenerating the
 * fixtures needs torch, running this test does not. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

#define TOL 1e-4

static double worst_logits, worst_nll, worst_grad; /* largest relative norm errors seen */
static double worst_elem; /* largest |a-b| / max(1,|b|) seen */

static size_t tensor_count(const pcnn_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

/* Compares a (n, computed) with the tensor b (expected); returns the relative norm error. */
static double compare(const char *cs, const char *what, const real *a, const pcnn_tensor *b,
                      size_t n)
{
    CHECK(tensor_count(b) == n, "%s: %s: expected tensor has %zu values, the model %zu", cs,
          what, tensor_count(b), n);
    if (tensor_count(b) != n) return INFINITY;
    double d2 = 0, b2 = 0, maxd = 0, maxrel = 0;
    size_t at = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b->data[i], d = fabs(x - y);
        d2 += d * d;
        b2 += y * y;
        if (!(d <= maxd)) maxd = d, at = i; /* NaN counts as worst */
        double r = d / fmax(1.0, fabs(y));
        if (!(r <= maxrel)) maxrel = r;
        if (!(r <= worst_elem)) worst_elem = r;
        if (!(r <= TOL)) bad++;
    }
    double rel = b2 > 0 ? sqrt(d2 / b2) : sqrt(d2);
    CHECK(rel < TOL, "%s: %s: relative error %.3g (max |a-b| %.3g at %zu: %.9g vs %.9g)", cs,
          what, rel, maxd, at, (double)a[at], (double)b->data[at]);
    CHECK(bad == 0, "%s: %s: %zu of %zu values off by more than %g*max(1,|b|) (worst %.3g)",
          cs, what, bad, n, TOL, maxrel);
    return isnan(rel) ? INFINITY : rel;
}

static void run_case(const char *cs)
{
    char mpath[256], epath[256];
    snprintf(mpath, sizeof mpath, "tests/fixtures/parity_%s.pcnn", cs);
    snprintf(epath, sizeof epath, "tests/fixtures/parity_%s.expected.safetensors", cs);
    pcnn_model *m = pcnn_model_load(cpu, mpath);
    CHECK(m != NULL, "%s", pcnn_errstr());
    pcnn_st st;
    int rc = pcnn_st_read(&st, epath);
    CHECK(rc == 0, "%s", pcnn_errstr());
    if (!m || rc) {
        pcnn_model_free(m);
        if (!rc) pcnn_st_free(&st);
        return;
    }
    const pcnn_hparams *hp = &m->hp;
    const pcnn_tensor *tx = pcnn_st_find(&st, "x"), *th = pcnn_st_find(&st, "h");
    const pcnn_tensor *tl = pcnn_st_find(&st, "logits"), *tn = pcnn_st_find(&st, "nll");
    const int given_h = hp->D > 0 && !hp->encoder; /* an encoder computes h from x */
    CHECK(tx && tl && tn && (th != NULL) == given_h, "%s: fixture lacks x, logits, nll or h, "
          "or has an h the model does not take", epath);
    if (!(tx && tl && tn && (th != NULL) == given_h) || tx->ndim != 4) goto out;
    const int B = (int)tx->shape[0];
    const size_t npix = (size_t)B * hp->C * hp->H * hp->W;
    CHECK(tx->shape[1] == hp->C && tx->shape[2] == hp->H && tx->shape[3] == hp->W,
          "%s: x does not fit the model", epath);
    if (tx->shape[1] != hp->C || tx->shape[2] != hp->H || tx->shape[3] != hp->W) goto out;
    if (th && tensor_count(th) != (size_t)B * hp->D) {
        CHECK(0, "%s: h has %zu values, want %d", epath, tensor_count(th), B * hp->D);
        goto out;
    }

    uint8_t *x = malloc(npix);
    real *h = th ? malloc((size_t)B * hp->D * sizeof *h) : NULL;
    real *nll = malloc((size_t)B * sizeof *nll);
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)tx->data[i];
    for (size_t i = 0; h && i < (size_t)B * hp->D; i++) h[i] = th->data[i];

    be_zero(m->be, m->g, m->total);
    rc = pcnn_model_run(m, nll, x, h, B, 1, 1);
    CHECK(rc == 0, "%s: run: %s", cs, pcnn_errstr());
    if (rc == 0) {
        size_t nlog = (size_t)B * hp->H * hp->W * hp->C * hp->K;
        worst_logits = fmax(worst_logits, compare(cs, "logits", m->logits, tl, nlog));
        worst_nll = fmax(worst_nll, compare(cs, "nll", nll, tn, (size_t)B));
        char name[160];
        int ngrad = 0;
        for (int i = 0; i < m->nparams; i++) {
            const pcnn_param *p = &m->params[i];
            snprintf(name, sizeof name, "grad.%s", p->name);
            const pcnn_tensor *tg = pcnn_st_find(&st, name);
            CHECK(tg != NULL, "%s: %s missing", epath, name);
            if (!tg) continue;
            ngrad++;
            worst_grad = fmax(worst_grad, compare(cs, name, m->g + p->off, tg, p->count));
        }
        /* and nothing the model lacks: every grad.* tensor was matched above */
        int nfix = 0;
        for (int i = 0; i < st.n; i++) nfix += !strncmp(st.t[i].name, "grad.", 5);
        CHECK(nfix == ngrad && ngrad == m->nparams, "%s: %d grad tensors, model has %d parameters",
              epath, nfix, m->nparams);
    }
    free(x);
    free(h);
    free(nll);
out:
    pcnn_st_free(&st);
    pcnn_model_free(m);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    static const char *cases[] = {"gray", "rgb", "class", "dense", "spatial", "autoenc", "autoenc_spatial"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(cases[i]);
    printf("test_parity: max relative norm error: logits %.2e, nll %.2e, gradients %.2e; "
           "max elementwise |a-b|/max(1,|b|) %.2e\n", worst_logits, worst_nll, worst_grad, worst_elem);
    pcnn_backend_close(cpu);
    return check_summary("test_parity");
}
