/* test_hostile.c -- the model's limits against hostile sizes and values (issue 10): a
 * network of the deepest documented size lays out every tensor, a network too big for
 * the machine is refused before its memory is taken, and conditioning values that are
 * finite but huge are refused instead of turning the output into noise. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"
#include "cpu/fastmath.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

static void test_deep(void)
{
    /* -L is documented as 0..100: 101 layers of 7 tensors and a head of 4 outgrow any
     * small fixed table */
    pcnn_hparams hp = {.L = 100, .p = 3, .n = 3, .C = 1, .H = 4, .W = 4, .K = 4};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
    CHECK(m != NULL, "L = 100: %s", pcnn_errstr());
    if (!m) return;
    CHECK(m->nparams == 101 * 7 + 4, "L = 100: %d tensors", m->nparams);
    CHECK(pcnn_model_param(m, "layers.100.h_out.bias") != NULL, "the last layer's tensors are there");
    uint8_t x[2 * 16] = {1, 2, 3};
    float nll[2];
    CHECK(pcnn_model_nll(m, nll, x, NULL, 2) == 0 && nll[0] > 0, "L = 100 evaluates: %s", pcnn_errstr());
    pcnn_model_free(m);
}

static void test_too_big(void)
{
    /* hundreds of billions of parameters: refused with the figure, nothing allocated */
    pcnn_hparams hp = {.L = 100, .p = 4095, .n = 15, .C = 3, .H = 64, .W = 64, .K = 256};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
    CHECK(m == NULL, "a model larger than the machine was made");
    CHECK(strstr(pcnn_errstr(), "MiB, more than this machine's") != NULL, "message: %s", pcnn_errstr());
    pcnn_model_free(m);
}

static void test_huge_conditioning(void)
{
    pcnn_hparams hp = {.L = 1, .p = 4, .n = 3, .C = 1, .H = 4, .W = 4, .K = 4, .D = 3, .classes = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 2);
    uint8_t x[16] = {0};
    float nll[1], h[3] = {3e38f, 0, 0};
    CHECK(pcnn_model_nll(m, nll, x, h, 1) == -1, "nll of conditioning 3e38 succeeded");
    CHECK(strstr(pcnn_errstr(), "beyond") != NULL, "message: %s", pcnn_errstr());
    CHECK(pcnn_model_sample(m, x, h, 1, &(pcnn_sample_opts){.temperature = 1, .top_p = 1}) == -1, "sampling with conditioning 3e38 succeeded");
    h[0] = -PCNN_MAX_COND;
    CHECK(pcnn_model_nll(m, nll, x, h, 1) == 0, "the bound itself is taken: %s", pcnn_errstr());
    h[0] = NAN;
    CHECK(pcnn_model_nll(m, nll, x, h, 1) == -1 && strstr(pcnn_errstr(), "NaN"), "NaN is refused");
    CHECK(pcnn_cond_check((float[]){1, -1, 0.5f}, 3) == 0, "ordinary values pass");
    pcnn_model_free(m);
#ifndef PCNN_DOUBLE
    /* fast_exp of NaN: NaN, and (under UBSan) no undefined shift on the way */
    volatile float nan = NAN;
    CHECK(isnan(fast_exp(nan)), "fast_exp(NaN) = %g", fast_exp(nan));
    CHECK(fast_exp(0) == 1 && fast_exp(-1000) >= 0 && isfinite(fast_exp(1000)), "fast_exp at its clamps");
#endif
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    test_deep();
    test_too_big();
    test_huge_conditioning();
    pcnn_backend_close(cpu);
    return check_summary("test_hostile");
}
