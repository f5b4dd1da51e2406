/* test_backend.c -- backend instances (issue 10): an allocation the device refuses comes
 * back as an error naming the batch, not an exit; a failed instance does nothing more and
 * its first failure is what the next model call returns; two instances share nothing, so
 * models on each compute the same numbers. Where libpcnn-cuda.so is looked for, and what
 * an instance says about its device. Dropout's masks and its 1/(1 - rate) scale. All on
 * the CPU. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dist.h"
#include "dropmask.h"
#include "model-impl.h"

/* small enough that its weights fit under the cap below, a batch of 64 does not */
static const pcnn_hparams HP = {.L = 1, .p = 6, .n = 3, .C = 1, .H = 8, .W = 8, .K = 16};
enum { BIG = 64, SMALL = 2, PIX = 64 };
static uint8_t x[BIG * PIX];

static void fill_images(void)
{
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % HP.K);
}

/* the error of the last call, for a CHECK's message */
#define ERR pcnn_errstr()
#define NAMES_BATCH(what) (strstr(ERR, "out of memory on cpu") && strstr(ERR, "a batch of 64"))

/* (a) the device "full" for a batch of 64: every entry point says so and the model and
 * its trainer still work at a batch that fits, and free cleanly */
static void test_alloc_cap(void)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    pcnn_model *m = pcnn_model_new(be, &HP, 1);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = BIG;
    pcnn_trainer *t = m ? pcnn_trainer_new(m, &o) : NULL;
    CHECK(t != NULL, "a small model and its trainer: %s", ERR);
    if (!t) goto out;
    be->alloc_cap = 128 << 10;

    float loss, nll[BIG];
    uint8_t drawn[BIG * PIX];
    pcnn_sample_opts so;
    pcnn_sample_opts_default(&so);
    CHECK(pcnn_trainer_step(t, x, NULL, BIG, &loss) == -1 && NAMES_BATCH(), "training step: %s", ERR);
    fprintf(stderr, "test_backend: the device full: %s\n", ERR);
    CHECK(pcnn_model_nll(m, nll, x, NULL, BIG) == -1 && NAMES_BATCH(), "nll: %s", ERR);
    CHECK(pcnn_model_sample(m, drawn, NULL, BIG, &so) == -1 && NAMES_BATCH(), "cached sampling: %s", ERR);
    so.naive = 1;
    CHECK(pcnn_model_sample(m, drawn, NULL, BIG, &so) == -1 && NAMES_BATCH(), "naive sampling: %s", ERR);
    CHECK(strstr(ERR, "MiB)") != NULL, "the message says how much was needed: %s", ERR);

    /* a refused allocation is not a failure of the device */
    CHECK(pcnn_trainer_step(t, x, NULL, SMALL, &loss) == 0 && loss > 0, "a batch that fits trains: %s", ERR);
    CHECK(pcnn_model_nll(m, nll, x, NULL, SMALL) == 0 && nll[0] > 0, "a batch that fits evaluates: %s", ERR);
    so.naive = 0;
    CHECK(pcnn_model_sample(m, drawn, NULL, SMALL, &so) == 0, "a batch that fits samples: %s", ERR);
out:
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_backend_close(be);
}

/* (b) once an operation has failed, the instance does nothing more, and the next call at
 * a graph boundary returns the first failure */
static void test_sticky(void)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    pcnn_model *m = pcnn_model_new(be, &HP, 2);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    pcnn_trainer *t = m ? pcnn_trainer_new(m, &o) : NULL;
    float nll[SMALL], loss;
    CHECK(t && pcnn_model_nll(m, nll, x, NULL, SMALL) == 0, "before the failure: %s", ERR);
    if (!t) goto out;

    pcnn_backend_fail(be, "first failure in the_call() at test_backend.c:%d", __LINE__);
    pcnn_backend_fail(be, "second failure");
    real y[4] = {1, 2, 3, 4}, one[4] = {1, 1, 1, 1}, back[4] = {5, 5, 5, 5};
    be_add(be, y, one, 4);
    CHECK(y[0] == 1 && y[3] == 4, "an operation on a failed instance changes nothing");
    CHECK(be_alloc(be, 16) == NULL, "a failed instance allocates nothing");
    be_to_host(be, back, y, sizeof back);
    CHECK(back[0] == 0 && back[3] == 0, "a failed instance's copies to the host are zeros");
    CHECK(be_sumsq(be, y, 4) == 0, "a failed instance's sums are 0");

#define FIRST (strstr(ERR, "first failure in the_call()") && !strstr(ERR, "second"))
    CHECK(pcnn_model_nll(m, nll, x, NULL, SMALL) == -1 && FIRST, "nll: %s", ERR);
    CHECK(pcnn_trainer_step(t, x, NULL, SMALL, &loss) == -1 && FIRST, "training step: %s", ERR);
    uint8_t drawn[SMALL * PIX];
    pcnn_sample_opts so;
    pcnn_sample_opts_default(&so);
    CHECK(pcnn_model_sample(m, drawn, NULL, SMALL, &so) == -1 && FIRST, "sampling: %s", ERR);
    CHECK(pcnn_model_new(be, &HP, 3) == NULL && FIRST, "a new model on it: %s", ERR);
    char path[] = "/tmp/pcnn-test-backend-XXXXXX";
    int fd = mkstemp(path);
    close(fd), unlink(path);
    CHECK(pcnn_model_save(m, path) == -1 && FIRST && access(path, F_OK) != 0,
          "nothing is saved from a failed device: %s", ERR);
#undef FIRST
out:
    pcnn_trainer_free(t);
    pcnn_model_free(m);
    pcnn_backend_close(be);
}

/* The losses of `steps` training steps of a model (seed 4) on be. With other != NULL, an
 * identical model on other takes each step too and must report the same loss; half way
 * it is freed and other closed, which the model on be must not notice. */
static void train_on(pcnn_backend *be, pcnn_backend *other, float *loss, int steps)
{
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 8;
    pcnn_model *m = pcnn_model_new(be, &HP, 4), *m2 = other ? pcnn_model_new(other, &HP, 4) : NULL;
    pcnn_trainer *t = m ? pcnn_trainer_new(m, &o) : NULL, *t2 = m2 ? pcnn_trainer_new(m2, &o) : NULL;
    CHECK(t && (!other || t2), "models and trainers: %s", ERR);
    for (int s = 0; t && s < steps; s++) {
        CHECK(pcnn_trainer_step(t, x + (size_t)s * 8 * PIX, NULL, 8, &loss[s]) == 0, "step %d: %s", s, ERR);
        if (t2) {
            float l2;
            CHECK(pcnn_trainer_step(t2, x + (size_t)s * 8 * PIX, NULL, 8, &l2) == 0 && l2 == loss[s],
                  "step %d on the second instance: %g, on the first %g", s, l2, loss[s]);
        }
        if (other && s == steps / 2) { /* the first instance must not notice */
            pcnn_trainer_free(t2), pcnn_model_free(m2), pcnn_backend_close(other);
            t2 = NULL, m2 = NULL, other = NULL;
        }
    }
    pcnn_trainer_free(t2), pcnn_model_free(m2), pcnn_backend_close(other);
    pcnn_trainer_free(t), pcnn_model_free(m);
}

/* (c) two instances at once: the same numbers as one alone, step for step */
static void test_two_instances(void)
{
    enum { STEPS = 6 };
    float alone[STEPS] = {0}, together[STEPS] = {0};
    pcnn_backend *a = pcnn_backend_open("cpu");
    train_on(a, NULL, alone, STEPS);
    pcnn_backend_close(a);
    pcnn_backend *b = pcnn_backend_open("cpu"), *c = pcnn_backend_open("cpu");
    CHECK(b && c && b != c, "two CPU instances open at once: %s", ERR);
    if (b && c) train_on(b, c, together, STEPS);
    pcnn_backend_close(b);
    CHECK(!memcmp(alone, together, sizeof alone), "losses of a model alone and beside another: %g/%g ... %g/%g",
          alone[0], together[0], alone[STEPS - 1], together[STEPS - 1]);
}

static void test_open(void)
{
    CHECK(pcnn_backend_open("tpu") == NULL && strstr(ERR, "unknown device 'tpu'"), "unknown name: %s", ERR);
    pcnn_backend *be = pcnn_backend_open("auto");
    CHECK(be && (!strcmp(pcnn_backend_name(be), "cpu") || !strcmp(pcnn_backend_name(be), "cuda")),
          "auto opens a backend: %s", be ? pcnn_backend_name(be) : ERR);
    /* the GPU's name, or why the CPU was opened instead */
    CHECK(be && *pcnn_backend_describe(be), "auto says nothing about its device");
    pcnn_backend_close(be);
    be = pcnn_backend_open("cpu");
    CHECK(be && !*pcnn_backend_describe(be), "the CPU asked for: '%s'", be ? pcnn_backend_describe(be) : ERR);
    pcnn_backend_close(be);
    /* a CUDA build names the library it could not load; a CPU-only build says it has none */
    setenv("PCNN_CUDA_LIB", "/nonexistent/libpcnn-cuda.so", 1);
    be = pcnn_backend_open("cuda");
    unsetenv("PCNN_CUDA_LIB");
    const char *why = be ? pcnn_backend_describe(be) : ERR;
    CHECK(be && !strcmp(pcnn_backend_name(be), "cpu") &&
              (strstr(why, "/nonexistent/libpcnn-cuda.so: ") || !strcmp(why, "this build has no CUDA backend")),
          "cuda from a missing library: %s", why);
    pcnn_backend_close(be);
    pcnn_backend_close(NULL);
}

/* d/rel made, empty, with its directories */
static void touch(const char *d, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", d, rel);
    for (char *s = p + strlen(d) + 1; (s = strchr(s, '/')); *s++ = '/') {
        *s = 0;
        mkdir(p, 0700);
    }
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
}

static void rm(const char *d, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", d, rel);
    remove(p);
}

/* where libpcnn-cuda.so is looked for: $PCNN_CUDA_LIB, beside the program, in the
 * installation the program is in, where make install put it */
static void test_lib_path(void)
{
    char d[] = "/tmp/pcnn-test-libpath-XXXXXX", exe[256], inst[256], want[1024], buf[1024];
    if (!mkdtemp(d)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(exe, sizeof exe, "%s/bin/pcnn-train", d);
    snprintf(inst, sizeof inst, "%s/prefix/lib/pcnn", d);
    touch(d, "bin/libpcnn-cuda.so");
    touch(d, "lib/pcnn/libpcnn-cuda.so");
    touch(d, "prefix/lib/pcnn/libpcnn-cuda.so");

    CHECK(!pcnn_cuda_lib_path(buf, sizeof buf, "/some/where.so", exe, inst) && !strcmp(buf, "/some/where.so"),
          "PCNN_CUDA_LIB is used as given, existing or not: %s", buf);
    snprintf(want, sizeof want, "%s/bin/libpcnn-cuda.so", d);
    CHECK(!pcnn_cuda_lib_path(buf, sizeof buf, "", exe, inst) && !strcmp(buf, want),
          "an empty PCNN_CUDA_LIB is not set; beside the program first: %s", buf);
    rm(d, "bin/libpcnn-cuda.so");
    snprintf(want, sizeof want, "%s/bin/../lib/pcnn/libpcnn-cuda.so", d);
    CHECK(!pcnn_cuda_lib_path(buf, sizeof buf, NULL, exe, inst) && !strcmp(buf, want),
          "then the installation the program is in: %s", buf);
    rm(d, "lib/pcnn/libpcnn-cuda.so");
    snprintf(want, sizeof want, "%s/libpcnn-cuda.so", inst);
    CHECK(!pcnn_cuda_lib_path(buf, sizeof buf, NULL, exe, inst) && !strcmp(buf, want),
          "then where make install put it: %s", buf);
    CHECK(!pcnn_cuda_lib_path(buf, sizeof buf, NULL, "pcnn-train", inst) && !strcmp(buf, want),
          "a program's path without a directory: %s", buf);
    rm(d, "prefix/lib/pcnn/libpcnn-cuda.so");
    snprintf(want, sizeof want, "no libpcnn-cuda.so in %s/bin or %s", d, inst);
    CHECK(pcnn_cuda_lib_path(buf, sizeof buf, NULL, exe, inst) == -1 && !strcmp(buf, want),
          "nowhere: %s", buf);
    char small[24];
    CHECK(pcnn_cuda_lib_path(small, sizeof small, "/a/path/longer/than/the/buffer.so", exe, inst) == -1 &&
              strlen(small) < sizeof small,
          "a path that does not fit is not used cut: %s", small);

    const char *dirs[] = {"prefix/lib/pcnn", "prefix/lib", "prefix", "lib/pcnn", "lib", "bin"};
    for (size_t k = 0; k < sizeof dirs / sizeof *dirs; k++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", d, dirs[k]);
        rmdir(p);
    }
    CHECK(rmdir(d) == 0, "%s left behind", d);
}

/* A data-parallel job's pieces that need no MPI: dropout of a rank's share takes the mask
 * of its place in the whole batch, and the shares of a batch tile it. */
static void test_shares(void)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    enum { N = 1000, FIRST = 357 };
    real whole[N], part[N - FIRST];
    for (int k = 0; k < N; k++) whole[k] = 1 + k % 7;
    memcpy(part, whole + FIRST, sizeof part);
    be_dropout(be, whole, N, 0.4f, 99, 0);
    be_dropout(be, part, N - FIRST, 0.4f, 99, FIRST);
    int same = 1, dropped = 0;
    for (int k = 0; k < N - FIRST; k++) same &= part[k] == whole[FIRST + k], dropped += part[k] == 0;
    CHECK(same, "the mask of a share at %d is not the whole's from there", FIRST);
    CHECK(dropped > 100 && dropped < 400, "%d of %d dropped at rate 0.4", dropped, N - FIRST);
    pcnn_backend_close(be);
    int tiled = 1;
    for (int B = 1; B <= 40; B++)
        for (int n = 1; n <= B; n++)
            for (int r = 0, at = 0, first, count; r < n; r++) {
                pcnn_dist_share(B, n, r, &first, &count);
                tiled &= first == at && (count == B / n || count == B / n + 1);
                at += count;
                if (r == n - 1) tiled &= at == B;
            }
    CHECK(tiled, "the ranks' shares do not tile the batch in rank order");
    /* without a launcher, a job of one */
    pcnn_dist *d = pcnn_dist_open(5);
    CHECK(d && pcnn_dist_size(d) == 1 && pcnn_dist_rank(d) == 0 && pcnn_dist_threads(d) >= 1, "not a job of one");
    int flag = 3;
    CHECK(pcnn_dist_any(d, &flag) == 0 && flag == 3, "a job of one changed the flag");
    pcnn_dist_close(d);
}

/* Inverted dropout on ones at rate 0.4: a kept element becomes 1/(1 - rate), the rate as
 * the op resolves it (to 2^-24), so that the expected value stays 1; a dropped one 0;
 * and about 60% are kept */
static void test_dropout_scale(void)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    enum { N = 10000 };
    static real x[N];
    for (int k = 0; k < N; k++) x[k] = 1;
    be_dropout(be, x, N, 0.4f, 5, 0);
    const real keep = (real)(1 / (1 - (double)pcnn_drop_rate24(0.4f) / 16777216.0));
    int kept = 0, other = 0;
    double sum = 0;
    for (int k = 0; k < N; k++) kept += x[k] == keep, other += x[k] != keep && x[k] != 0, sum += x[k];
    CHECK(other == 0, "%d of %d elements neither 0 nor 1/(1 - 0.4) = %.7g", other, N, keep);
    CHECK(kept > 0.58 * N && kept < 0.62 * N, "%d of %d kept at rate 0.4", kept, N);
    CHECK(fabs(sum / N - 1) < 0.04, "the mean after dropout is %.4f, not about 1", sum / N);
    pcnn_backend_close(be);
}

/* Every block the CPU backend hands out, and every buffer of a batch's workspace, starts
 * on a 64-byte line (vector loads then never straddle two), and blocks come zeroed */
static int on_line(const void *p) { return ((uintptr_t)p & 63) == 0; }
static void test_alignment(void)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    static const size_t sizes[] = {1, 3, 64, 1000, 4 << 20, (5 << 20) + 12};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = be_alloc(be, sizes[i]);
        CHECK(p && on_line(p), "a block of %zu bytes at %p", sizes[i], (void *)p);
        size_t nonzero = 0;
        for (size_t k = 0; p && k < sizes[i]; k++) nonzero += p[k] != 0;
        CHECK(nonzero == 0, "%zu of %zu bytes of a new block not zero", nonzero, sizes[i]);
        if (p) memset(p, 0xa5, sizes[i]); /* the whole block is writable (the sanitizer's pass) */
        be_release(be, p);
    }
    be_release(be, NULL);
    /* p = 6 and 3 channels over 15 pixels: buffers of M*C, M*p, M*2p reals, none a multiple of a line */
    const pcnn_hparams hp = {.L = 2, .p = 6, .n = 3, .C = 3, .H = 3, .W = 5, .K = 16};
    pcnn_model *m = pcnn_model_alloc(&hp, be);
    CHECK(m && pcnn_model_reserve(m, 3) == 0, "a workspace: %s", pcnn_errstr());
    if (m && m->ws) {
        int off = 0;
        off += !on_line(m->in) + !on_line(m->z1) + !on_line(m->r2) + !on_line(m->logits) + !on_line(m->col);
        off += !on_line(m->dv) + !on_line(m->dh) + !on_line(m->dva) + !on_line(m->dha) + !on_line(m->dhg);
        off += !on_line(m->dz) + !on_line(m->dlogits) + !on_line(m->nll);
        for (int l = 0; l <= hp.L; l++) {
            const pcnn_acts *a = &m->acts[l];
            off += !on_line(a->va) + !on_line(a->ha) + !on_line(a->vout) + !on_line(a->hg) + !on_line(a->hout);
        }
        CHECK(off == 0, "%d of the workspace's buffers do not start on a 64-byte line", off);
        /* the batch's images sit after the reals, inside the block */
        CHECK(m->x > (uint8_t *)m->nll, "the images after the workspace's reals");
    }
    pcnn_model_free(m);
    pcnn_backend_close(be);
}

int main(void)
{
    fill_images();
    test_alloc_cap();
    test_sticky();
    test_two_instances();
    test_open();
    test_lib_path();
    test_shares();
    test_dropout_scale();
    test_alignment();
    return check_summary("test_backend");
}
