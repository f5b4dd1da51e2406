/* train.c -- Adam on the mean negative log-likelihood, global-norm clipping, the
 * learning-rate schedule, dropout, the moving average of the weights, the data order, and
 * the training state that makes a resumed run identical to an unbroken one; in a
 * data-parallel job (dist.c), this rank's share of each batch and the sum of the
 * gradients over the ranks, so that every rank makes the step one process would. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "kind.h"
#include "modelfile.h"

struct pcnn_trainer {
    pcnn_model *m;
    pcnn_train_opts o;
    int64_t step;
    real *adam_m, *adam_v; /* (total) each, on the model's backend */
    real *avg;             /* (total): the moving average of the weights, or NULL */
    int averaged;          /* the model holds the average now (its w and avg swapped) */
    size_t *perm, perm_n;  /* this epoch's data order, derived, kept between steps */
    uint64_t perm_epoch;
    double best;           /* the best validation figure so far (NaN: none), and its step */
    int64_t best_step;
    pcnn_dist *dist;       /* the job this trainer is one rank of, or NULL */
};

void pcnn_train_opts_default(pcnn_train_opts *o)
{
    *o = (pcnn_train_opts){.batch = 16, .seed = 1, .lr = 1e-3f, .beta1 = 0.9f,
                           .beta2 = 0.999f, .eps = 1e-8f, .clip = 0, .lr_decay = 1};
}

const char *pcnn_lr_schedule_name(int schedule)
{
    static const char *names[] = {"constant", "exp", "cosine"};
    return schedule >= 0 && schedule <= PCNN_LR_COSINE ? names[schedule] : "unknown";
}

double pcnn_train_ema_decay(const pcnn_train_opts *o, int64_t t)
{
    double early = (1.0 + t) / (10.0 + t);
    return early < o->ema ? early : o->ema;
}

double pcnn_train_lr(const pcnn_train_opts *o, int64_t t)
{
    double lr = o->lr;
    if (t <= o->warmup) return lr * (double)t / (double)o->warmup;
    double after = (double)(t - o->warmup);
    switch (o->schedule) {
    case PCNN_LR_EXP: return lr * pow(o->lr_decay, after);
    case PCNN_LR_COSINE: {
        double span = (double)(o->lr_steps - o->warmup), f = after < span ? after / span : 1;
        return lr * 0.5 * (1 + cos(M_PI * f));
    }
    default: return lr;
    }
}

double pcnn_bits_per_dim(const pcnn_hparams *hp, double nats)
{
    return nats / ((double)hp->C * hp->H * hp->W * log(2.0));
}

pcnn_trainer *pcnn_trainer_new(pcnn_model *m, const pcnn_train_opts *o)
{
    if (o->batch < 1 || o->batch > 65536) {
        pcnn_seterr("batch size %d out of range 1..65536", o->batch);
        return NULL;
    }
    /* each setting by the name pcnn-train gives it, so that a bad checkpoint says which */
    const char *bad = !(o->lr > 0) ? "lr (above 0)"
                      : !(o->beta1 >= 0 && o->beta1 < 1) ? "beta1 (in [0, 1))"
                      : !(o->beta2 >= 0 && o->beta2 < 1) ? "beta2 (in [0, 1))"
                      : !(o->eps > 0) ? "eps (above 0)"
                      : !(o->clip >= 0) ? "clip (0 or above)"
                      : !(o->ema >= 0 && o->ema < 1) ? "ema (in [0, 1))"
                      : !(o->dropout >= 0 && o->dropout < 1) ? "dropout (in [0, 1))"
                      : o->schedule < 0 || o->schedule > PCNN_LR_COSINE ? "schedule (constant, exp or cosine)"
                      : o->warmup < 0 ? "warmup (0 or above)"
                      : !(o->lr_decay > 0 && o->lr_decay <= 1) ? "lr_decay (in (0, 1])"
                      : o->schedule == PCNN_LR_COSINE && o->lr_steps <= o->warmup ? "lr_steps (a cosine's steps, above the warm-up's)"
                      : NULL;
    if (bad) {
        pcnn_seterr("training setting %s out of range", bad);
        return NULL;
    }
    pcnn_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->m = m;
    t->o = *o;
    t->best = NAN;
    t->adam_m = be_alloc(m->be, m->total * sizeof(real));
    t->adam_v = be_alloc(m->be, m->total * sizeof(real));
    if (o->ema > 0) {
        t->avg = be_alloc(m->be, m->total * sizeof(real));
        if (t->avg) be_copy_rows(m->be, t->avg, 0, m->w, 0, (int)m->total, 1, 0); /* starts at w */
    }
    if (!t->adam_m || !t->adam_v || (o->ema > 0 && !t->avg)) {
        pcnn_backend_nomem(m->be, (o->ema > 0 ? 3 : 2) * m->total * sizeof(real), "the optimizer state");
        pcnn_trainer_free(t);
        return NULL;
    }
    if (pcnn_backend_check(m->be)) {
        pcnn_trainer_free(t);
        return NULL;
    }
    return t;
}

void pcnn_trainer_free(pcnn_trainer *t)
{
    if (!t) return;
    pcnn_trainer_use_average(t, 0);
    be_release(t->m->be, t->avg);
    be_release(t->m->be, t->adam_m);
    be_release(t->m->be, t->adam_v);
    free(t->perm);
    free(t);
}

const pcnn_train_opts *pcnn_trainer_opts(const pcnn_trainer *t) { return &t->o; }
int64_t pcnn_trainer_step_count(const pcnn_trainer *t) { return t->step; }

void pcnn_trainer_use_average(pcnn_trainer *t, int on)
{
    if (!t->avg || !on == !t->averaged) return;
    real *w = t->m->w;
    t->m->w = t->avg, t->avg = w;
    t->averaged = !!on;
}

void pcnn_train_held_out(const pcnn_train_opts *o, size_t n, unsigned char *held)
{
    size_t k = n / 20;
    memset(held, 0, n);
    if (o->held_out == PCNN_HELD_OUT_LAST) {
        memset(held + (n - k), 1, k);
        return;
    }
    /* k draws without replacement (Floyd's algorithm), from a stream of the seed that
     * the data order does not use */
    uint64_t rng = o->seed * 0x9e3779b97f4a7c15ULL ^ 0x68656c646f7574ULL;
    for (size_t j = n - k; j < n; j++) {
        size_t r = pcnn_rng_next(&rng) % (j + 1);
        held[held[r] ? j : r] = 1;
    }
}

int pcnn_trainer_note_valid(pcnn_trainer *t, double v, int higher_better)
{
    if (isnan(v) || (!isnan(t->best) && (higher_better ? v <= t->best : v >= t->best))) return 0;
    t->best = v, t->best_step = t->step;
    return 1;
}

double pcnn_trainer_best(const pcnn_trainer *t, int64_t *step)
{
    if (step) *step = t->best_step;
    return t->best;
}

int pcnn_trainer_batch(pcnn_trainer *t, size_t n, size_t *idx)
{
    size_t B = (size_t)t->o.batch, per_epoch = n / B ? n / B : 1;
    uint64_t epoch = (uint64_t)t->step / per_epoch, pos = ((uint64_t)t->step % per_epoch) * B;
    /* Fisher-Yates over the whole set from (seed, epoch) alone, made once per epoch */
    if (!t->perm || t->perm_n != n || t->perm_epoch != epoch) {
        size_t *perm = realloc(t->perm, n * sizeof *perm);
        if (!perm) return pcnn_seterr("out of memory for the order of %zu images", n);
        uint64_t rng = t->o.seed * 0x9e3779b97f4a7c15ULL ^ (epoch + 1);
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = pcnn_rng_next(&rng) % (i + 1), tmp = perm[i];
            perm[i] = perm[j], perm[j] = tmp;
        }
        t->perm = perm, t->perm_n = n, t->perm_epoch = epoch;
    }
    for (size_t b = 0; b < B; b++) idx[b] = t->perm[(pos + b) % n];
    return 0;
}

/* FNV-1a of n bytes, continuing from h */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ULL;
    return h;
}

/* a hash of what the ranks must hold alike: the step, the options, the weights, the
 * moments and the average */
static int state_hash(pcnn_trainer *t, uint64_t *h)
{
    pcnn_model *m = t->m;
    real *host = malloc(m->total * sizeof *host);
    if (!host) return pcnn_seterr("out of memory");
    *h = hash_bytes(0xcbf29ce484222325ULL, &t->step, sizeof t->step);
    *h = hash_bytes(*h, &t->o.seed, sizeof t->o.seed);
    *h = hash_bytes(*h, &t->o.batch, sizeof t->o.batch);
    const real *arenas[] = {m->w, t->adam_m, t->adam_v, t->avg};
    for (int i = 0; i < 4 && arenas[i]; i++) {
        be_to_host(m->be, host, arenas[i], m->total * sizeof *host);
        *h = hash_bytes(*h, host, m->total * sizeof *host);
    }
    free(host);
    return pcnn_backend_check(m->be);
}

int pcnn_trainer_set_dist(pcnn_trainer *t, pcnn_dist *d)
{
    t->dist = NULL;
    if (pcnn_dist_size(d) == 1) return 0;
    if (t->o.batch < pcnn_dist_size(d))
        return pcnn_seterr("a batch of %d images cannot be shared among %d ranks: give -b %d or more", t->o.batch,
                           pcnn_dist_size(d), pcnn_dist_size(d));
    if (t->averaged) return pcnn_seterr("a job starts from the trained weights, not their average");
    uint64_t h = 0;
    if (state_hash(t, &h)) return -1;
    if (pcnn_dist_same(d, h, "the model and training state they start from (is the model file the same on every machine?)"))
        return -1;
    t->dist = d;
    return 0;
}

void pcnn_trainer_shard(const pcnn_trainer *t, int *first, int *count)
{
    pcnn_dist_share(t->o.batch, pcnn_dist_size(t->dist), pcnn_dist_rank(t->dist), first, count);
}

int pcnn_trainer_step(pcnn_trainer *t, const uint8_t *x, const float *h, int B, float *bpd)
{
    pcnn_model *m = t->m;
    const pcnn_hparams *hp = &m->hp;
    int first = 0, G = B; /* this rank's images start at first of the whole batch's G */
    if (t->dist) {
        int count;
        pcnn_trainer_shard(t, &first, &count);
        if (B != count) return pcnn_seterr("this rank's share of the batch is %d images, not %d", count, B);
        G = t->o.batch;
    }
    const size_t dims = (size_t)G * hp->C * hp->H * hp->W;
    const pcnn_kind *kind = pcnn_kind_of(hp->kind);
    const size_t hw = (size_t)pcnn_kind_h_width(hp); /* the conditioning, identities, or nothing */
    const double per = kind->per_image ? G : (double)dims; /* the loss is a mean over these */
    if (t->averaged) return pcnn_seterr("a training step needs the trained weights, not their average");
    real *hr = NULL, *nll = malloc((size_t)B * sizeof *nll);
    if (!nll) return pcnn_seterr("out of memory");
    if (hw) {
        if (!h) { free(nll); return pcnn_seterr(hp->kind == PCNN_EMBEDDING ? "the embedding net needs identities" : "the model needs conditioning vectors"); }
        if (pcnn_cond_check(h, (size_t)B * hw)) { free(nll); return -1; }
        hr = malloc((size_t)B * hw * sizeof *hr);
        if (!hr) { free(nll); return pcnn_seterr("out of memory"); }
        for (size_t i = 0; i < (size_t)B * hw; i++) hr[i] = h[i];
    }
    be_zero(m->be, m->g, m->total);
    /* dropout's masks: a function of the seed and the step, so a resumed run draws the same */
    uint64_t ds = t->o.seed ^ 0x64726f70ULL ^ ((uint64_t)t->step << 20);
    m->dropout = (real)t->o.dropout;
    m->dropout_seed = pcnn_rng_next(&ds);
    m->dist = t->dist, m->batch_first = first, m->batch_total = G;
    int rc = pcnn_model_run_split(m, nll, x, hr, B, 1, (real)(1.0 / per));
    m->dropout = 0;
    m->dist = NULL, m->batch_first = 0, m->batch_total = 0;
    free(hr);
    if (rc) { free(nll); return rc; }
    double total = 0;
    for (int b = 0; b < B; b++) total += nll[b];
    free(nll);
    /* the whole batch's gradient and loss, the same bits on every rank */
    if (t->dist && (pcnn_dist_sum(t->dist, m->be, m->g, m->total) || pcnn_dist_sum_host(t->dist, &total, 1)))
        return -1;
    if (!isfinite(total)) return pcnn_seterr("the loss is not finite at step %" PRId64, t->step + 1);
    if (bpd) *bpd = (float)(total / per / (kind->bits ? log(2.0) : 1));
    real gscale = 1;
    if (t->o.clip > 0) {
        double norm = sqrt(be_sumsq(m->be, m->g, m->total));
        if (norm > t->o.clip) gscale = (real)(t->o.clip / norm);
    }
    t->step++;
    be_adam(m->be, m->w, t->adam_m, t->adam_v, m->g, m->total, (real)pcnn_train_lr(&t->o, t->step),
            t->o.beta1, t->o.beta2, t->o.eps, (int)t->step, gscale);
    if (t->avg) be_average(m->be, t->avg, m->w, m->total, (real)pcnn_train_ema_decay(&t->o, t->step));
    return pcnn_backend_check(m->be);
}

int pcnn_trainer_save(const pcnn_trainer *t, const char *path)
{
    pcnn_st st;
    char buf[64];
    /* the plain names hold the weights readers use: the average when there is one */
    const real *trained = t->averaged ? t->avg : t->m->w, *avg = t->averaged ? t->m->w : t->avg;
    int rc = pcnn_modelfile_build(&st, t->m, avg ? avg : trained);
    if (!rc) rc = pcnn_modelfile_add_arena(&st, t->m, t->adam_m, "adam.m.");
    if (!rc) rc = pcnn_modelfile_add_arena(&st, t->m, t->adam_v, "adam.v.");
    if (!rc && avg) rc = pcnn_modelfile_add_arena(&st, t->m, trained, "raw.");
#define META(key, fmt, val) \
    (snprintf(buf, sizeof buf, fmt, val), rc = rc ? rc : pcnn_modelfile_meta_add(&st, key, buf))
    META("train.step", "%" PRId64, t->step);
    META("train.seed", "%" PRIu64, t->o.seed);
    META("train.batch", "%d", t->o.batch);
    META("train.lr", "%.9g", t->o.lr);
    META("train.beta1", "%.9g", t->o.beta1);
    META("train.beta2", "%.9g", t->o.beta2);
    META("train.eps", "%.9g", t->o.eps);
    META("train.clip", "%.9g", t->o.clip);
    META("train.schedule", "%s", pcnn_lr_schedule_name(t->o.schedule));
    META("train.warmup", "%" PRId64, t->o.warmup);
    META("train.lr_decay", "%.9g", t->o.lr_decay);
    META("train.lr_steps", "%" PRId64, t->o.lr_steps);
    META("train.ema", "%.9g", t->o.ema);
    META("train.dropout", "%.9g", t->o.dropout);
    META("train.held_out", "%s", t->o.held_out == PCNN_HELD_OUT_LAST ? "last" : "random");
    if (!isnan(t->best)) {
        META("train.best", "%.17g", t->best);
        META("train.best_step", "%" PRId64, t->best_step);
    }
#undef META
    if (!rc) rc = pcnn_st_write(&st, path);
    pcnn_st_free(&st);
    return rc;
}

static int meta_float(const pcnn_st *st, const char *path, const char *key, float *out)
{
    const char *s = pcnn_st_meta(st, key);
    char *end;
    if (!s) return pcnn_seterr("%s: no training state ('%s' missing)", path, key);
    errno = 0;
    *out = strtof(s, &end);
    if (errno || end == s || *end || !isfinite(*out))
        return pcnn_seterr("%s: metadata '%s' = '%s' is not a number", path, key, s);
    return 0;
}

pcnn_trainer *pcnn_trainer_load(pcnn_model *m, const char *path)
{
    pcnn_st st;
    if (pcnn_st_read(&st, path)) return NULL;
    pcnn_trainer *t = NULL;
    pcnn_train_opts o;
    long step, batch;
    const char *seed = pcnn_st_meta(&st, "train.seed");
    char *end;
    if (pcnn_modelfile_meta_int(&st, path, "train.step", 0, 1L << 40, &step) ||
        pcnn_modelfile_meta_int(&st, path, "train.batch", 1, 65536, &batch))
        goto out;
    if (!seed || (errno = 0, o.seed = strtoull(seed, &end, 10), errno || end == seed || *end)) {
        pcnn_seterr("%s: metadata 'train.seed' missing or not an integer", path);
        goto out;
    }
    o.batch = (int)batch;
    if (meta_float(&st, path, "train.lr", &o.lr) || meta_float(&st, path, "train.beta1", &o.beta1) ||
        meta_float(&st, path, "train.beta2", &o.beta2) || meta_float(&st, path, "train.eps", &o.eps) ||
        meta_float(&st, path, "train.clip", &o.clip))
        goto out;
    /* the schedule, the average and dropout came later: a state without them had none */
    o.schedule = PCNN_LR_CONSTANT, o.warmup = 0, o.lr_decay = 1, o.lr_steps = 0, o.ema = 0, o.dropout = 0;
    const char *sched = pcnn_st_meta(&st, "train.schedule");
    if (sched) {
        for (o.schedule = 0; o.schedule <= PCNN_LR_COSINE && strcmp(sched, pcnn_lr_schedule_name(o.schedule)); o.schedule++) {}
        if (o.schedule > PCNN_LR_COSINE) {
            pcnn_seterr("%s: unknown learning-rate schedule '%s'", path, sched);
            goto out;
        }
        long warmup, lr_steps;
        if (pcnn_modelfile_meta_int(&st, path, "train.warmup", 0, 1L << 40, &warmup) ||
            pcnn_modelfile_meta_int(&st, path, "train.lr_steps", 0, 1L << 40, &lr_steps) ||
            meta_float(&st, path, "train.lr_decay", &o.lr_decay) || meta_float(&st, path, "train.ema", &o.ema) ||
            meta_float(&st, path, "train.dropout", &o.dropout))
            goto out;
        o.warmup = warmup, o.lr_steps = lr_steps;
    }
    /* a state without the choice held out the last 5%; one without a best had none */
    const char *held = pcnn_st_meta(&st, "train.held_out");
    o.held_out = held && !strcmp(held, "random") ? PCNN_HELD_OUT_RANDOM : PCNN_HELD_OUT_LAST;
    if (held && strcmp(held, "random") && strcmp(held, "last")) {
        pcnn_seterr("%s: metadata 'train.held_out' = '%s' is not 'random' or 'last'", path, held);
        goto out;
    }
    const char *bs = pcnn_st_meta(&st, "train.best");
    double best = NAN;
    long best_step = 0;
    if (bs) {
        errno = 0;
        best = strtod(bs, &end);
        if (errno || end == bs || *end || !isfinite(best)) {
            pcnn_seterr("%s: metadata 'train.best' = '%s' is not a number", path, bs);
            goto out;
        }
        if (pcnn_modelfile_meta_int(&st, path, "train.best_step", 0, 1L << 40, &best_step)) goto out;
    }
    t = pcnn_trainer_new(m, &o);
    if (!t) goto out;
    t->step = step;
    t->best = best, t->best_step = best_step;
    /* with an average, the model was loaded with it: it goes to t->avg, the trained
     * weights into the model */
    if (t->avg) be_copy_rows(m->be, t->avg, 0, m->w, 0, (int)m->total, 1, 0);
    if (pcnn_modelfile_load_arena(&st, path, m, t->adam_m, "adam.m.") ||
        pcnn_modelfile_load_arena(&st, path, m, t->adam_v, "adam.v.") ||
        (t->avg && pcnn_modelfile_load_arena(&st, path, m, m->w, "raw.")) || pcnn_backend_check(m->be)) {
        pcnn_trainer_free(t);
        t = NULL;
    }
out:
    pcnn_st_free(&st);
    return t;
}
