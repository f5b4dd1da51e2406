/* model-impl.h -- the Gated PixelCNN's internals (private to lib/ and the tests).
 *
 * Ownership: a model owns four arenas on its backend, each one allocation:
 * parameters w, their gradients g, the masks (1 where a weight may be non-zero), and
 * the workspace of activations for the largest batch seen so far; and, once it has
 * sampled, the cached sampler's packed weights (sample.c). */
#ifndef PCNN_MODEL_IMPL_H
#define PCNN_MODEL_IMPL_H
#include "backend.h"
#include "convnet.h"
#include "pcnn-impl.h"

typedef struct {
    char name[64];
    int ndim;
    int shape[4];
    size_t off, count; /* into the parameter arena */
} pcnn_param;

/* Offsets of one gated layer's parameters (see pcnn-model(5) for the names). */
typedef struct {
    int cin;      /* input maps: C for layer 0, p after */
    int vshift;   /* 1 for layer 0: the vertical stack sees only rows above */
    int residual; /* 0 for layer 0 */
    size_t v_w, v_b, h_w, h_b, link_w, out_w, out_b, v_cond, h_cond;
} pcnn_layer;

typedef struct {
    real *va, *ha;     /* (M,2p) pre-activations */
    real *vout, *hg;   /* (M,p) gated vertical output, gated horizontal */
    real *hout;        /* (M,p) horizontal output */
} pcnn_acts;

typedef struct pcnn_packed pcnn_packed; /* the cached sampler's weights (sample.c) */
enum { PCNN_SHARES_MAX = 64 }; /* threads a batch is split among, at most */
/* the models of a batch's shares (split.c), made on a thread's first share: thread t's
 * backend instance and its model, which reads the whole model's weights */
typedef struct {
    pcnn_backend *be[PCNN_SHARES_MAX];
    struct pcnn_model *m[PCNN_SHARES_MAX];
} pcnn_shares;

struct pcnn_model {
    pcnn_hparams hp;
    pcnn_backend *be;
    char **names;           /* hp.classes class names in one allocation, or NULL (names.c) */
    int nparams, params_cap;
    pcnn_param *params;     /* the registry, grown as the layout adds tensors */
    int layout_failed;      /* out of memory while laying out: the model is unusable */
    size_t total;           /* number of parameters */
    real *w, *g, *mask;     /* (total) each */
    pcnn_layer *layers;     /* L + 1 */
    size_t out1_w, out1_b, out2_w, out2_b;

    /* workspace for batches up to Bcap images */
    int Bcap;
    void *ws;
    real *in;              /* (M,C) */
    pcnn_acts *acts;       /* L + 1 */
    real *z1, *r2, *logits; /* head: (M,p) (M,p) (M,C*K) */
    real *col;             /* (M, largest cin*taps) */
    real *dv, *dh, *dva, *dha, *dhg, *dz, *dlogits;
    real *cond, *cb, *dcb; /* (B,D) (B,2p) (B,2p) */
    const real *hcur;      /* this batch's h (B,D): m->cond, or the encoder's output */

    /* the small nets (convnet.h): the encoder of h from the image, and m() (s from h)
     * or, for an MSE autoencoder, the decoder */
    pcnn_net enc, dec;
    int train_enc;         /* this pass computed h with the encoder: backpropagate into it */
    real *nll;             /* (B) */
    /* dropout on the residual layers' gated output (PixelCNN++), training only: the
     * trainer sets a rate and a seed per step; 0 (evaluation, sampling) turns it off */
    real dropout;
    uint64_t dropout_seed;
    uint8_t *x;            /* (B,C,H,W) levels on the device */
    /* a training step of a data-parallel job (train.c sets them for the step): the job,
     * and where this rank's B images start in a batch of batch_total; NULL and 0
     * otherwise. Dropout's masks and the embedding net's mining are the whole batch's. */
    pcnn_dist *dist;
    int batch_first, batch_total;
    pcnn_packed *packed;   /* NULL until the cached sampler first runs */
    pcnn_shares *shares;   /* NULL until a batch is first split among threads */
    /* a share's model (split.c): the images of the whole batch, which its messages name */
    int batch_named;
};

/* Frees m->packed (sample.c). */
void pcnn_packed_free(pcnn_model *m);
/* Frees the cache the sampler keeps in m between draws (sample.c); the passes over a
 * batch call it. pcnn_sampler_keeps: the batch size of the kept cache, 0 for none. */
void pcnn_sampler_drop(pcnn_model *m);
int pcnn_sampler_keeps(const pcnn_model *m);
/* Frees m->shares (split.c). */
void pcnn_shares_free(pcnn_model *m);

/* Registers a parameter tensor; returns its offset in the arenas. On out of memory it
 * sets m->layout_failed (which pcnn_model_layout reports) and returns 0. */
size_t pcnn_model_add_param(pcnn_model *m, const char *name, int ndim, int d0, int d1, int d2, int d3);
/* The small nets' tensors (cond.c), under prefix: the encoder image → h (D), and the
 * decoder h → out_maps maps of the image's size (m() of spatial conditioning, or the
 * MSE decoder). Out of memory shows in m->layout_failed. */
void pcnn_net_add_encoder(pcnn_model *m, pcnn_net *net, const char *prefix);
void pcnn_net_add_decoder(pcnn_model *m, pcnn_net *net, const char *prefix, int out_maps);
/* x levels (host) → m->in on the device, then the encoder: h in net_output(&m->enc). */
int pcnn_encode_device(pcnn_model *m, const uint8_t *x, int B);
/* Triplet loss of unit-length embeddings (embed.c): batch-hard (Hermans et al. 2017):
 * for every anchor with another image of its identity in the batch, the farthest such
 * image against the nearest image of another identity, hinge at margin. e (B,D), id (B).
 * loss[b] per anchor (0 for one without a positive); de (B,D) = d(sum loss)/de * scale. */
void pcnn_triplet_loss(real *loss, real *de, const real *e, const int *id, int B, int D,
                       real margin, real scale);

/* Allocates the workspace for batches of B images (no-op when big enough). */
int pcnn_model_reserve(pcnn_model *m, int B);
/* Forward pass: logits in m->logits, per-image nll (nats) in nll_out (host, B).
 * x levels (B,C,H,W) and h (B,D) are host arrays. If backward, also fills m->g with
 * d(sum of nll)/dw * gscale, masked. */
int pcnn_model_run(pcnn_model *m, real *nll_out, const uint8_t *x, const real *h, int B,
                   int backward, real gscale);
/* The same, with the batch split among the CPU's threads where the kind allows it
 * (split.c): the loss, and with backward the gradient in m->g (zeroed by the caller),
 * as pcnn_model_run's to rounding; m's workspace (m->logits, ...) is not filled. */
int pcnn_model_run_split(pcnn_model *m, real *nll_out, const uint8_t *x, const real *h, int B,
                         int backward, real gscale);
const pcnn_param *pcnn_model_param(const pcnn_model *m, const char *name);
/* Builds the empty model (layout, masks) on a backend; weights zero. It is
 * pcnn_model_layout (the parameter registry of hp, nothing the size of the weights),
 * then pcnn_model_arenas (weights, gradients and masks). */
pcnn_model *pcnn_model_alloc(const pcnn_hparams *hp, pcnn_backend *be);
pcnn_model *pcnn_model_layout(const pcnn_hparams *hp, pcnn_backend *be);
int pcnn_model_arenas(pcnn_model *m);
int pcnn_model_init_weights(pcnn_model *m, uint64_t seed);

/* Something that takes the place of the draw (coding, compress.c; tests): at the value of
 * index k in raster order ((i*W + j)*C + c), pick gets the B images' logits (B rows of K,
 * host memory) and writes the B levels that go in; a nonzero return stops the pass with
 * that status. */
typedef struct {
    int (*pick)(void *arg, const real *logits, int B, int K, long k, uint8_t *levels);
    void *arg;
} pcnn_picker;
/* The cached sampler; with pk != NULL it draws nothing and feeds what pk picks. */
int pcnn_sample_cached(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o,
                       const pcnn_picker *pk);

/* small deterministic RNG (splitmix64) used for init, shuffling and sampling */
static inline uint64_t pcnn_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* the dropout mask's seed of layer l in this pass */
static inline uint64_t pcnn_dropout_seed(const pcnn_model *m, int l)
{
    uint64_t s = m->dropout_seed ^ ((uint64_t)l * 0xd1b54a32d192ed03ULL);
    return pcnn_rng_next(&s);
}
static inline double pcnn_rng_uniform(uint64_t *s) { return (pcnn_rng_next(s) >> 11) * 0x1.0p-53; }

#endif
