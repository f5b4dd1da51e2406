/* pcnn-info -- what a model file holds, as pamfile says what an image is: its kind and
 * conditioning, image shape, network, receptive field, size, cost per image, and the
 * training run it comes from when it still carries one. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int json;

static const cli_opt opts[] = {
    {0, "json", OPT_FLAG, &json, 0, 0, NULL, "one JSON object per model, one per line"},
};
static const cli_prog prog = {"pcnn-info", "[--json] MODEL...",
    "Describes each model file: kind, conditioning, class names, images, network, receptive field, "
    "parameters, cost per image and its training run.",
    opts, sizeof opts / sizeof *opts};

/* rows above a pixel that the vertical stack sees: floor(n/2) for the first layer and for
 * each of the L after it, and the pixel's own row through the horizontal stack */
static int rows_seen(const pcnn_hparams *hp) { return hp->L * (hp->n / 2) + hp->n / 2 + 1; }

static void conditioning(char *buf, size_t n, const pcnn_model *m)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    switch (pcnn_model_cond(m)) {
    case PCNN_COND_NONE: snprintf(buf, n, "none"); break;
    case PCNN_COND_CLASS: snprintf(buf, n, "%d classes", hp->classes); break;
    case PCNN_COND_VECTOR: snprintf(buf, n, "vectors of %d values%s", hp->D, hp->S ? " through a spatial map" : ""); break;
    case PCNN_COND_CODE: snprintf(buf, n, "its own encoder's codes of %d values", hp->D); break;
    default: snprintf(buf, n, "identities (%d in training)", hp->classes); break;
    }
}

/* A file name for JSON, whose strings are UTF-8: each byte that is not part of valid
 * UTF-8 becomes U+FFFD, as a terminal shows it (the text form prints the bytes). */
static char *utf8_name(const char *path)
{
    const size_t n = strlen(path);
    char *s = malloc(3 * n + 1), *o = s;
    if (!s) cli_fail("out of memory");
    for (size_t i = 0; i < n;) {
        size_t ok = pcnn_utf8_check((const uint8_t *)path + i, n - i);
        memcpy(o, path + i, ok);
        o += ok, i += ok;
        if (i < n) memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i++;
    }
    *o = 0;
    return s;
}

static void describe(pcnn_backend *be, const char *path)
{
    pcnn_model *m = cli_load_model(be, path);
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    pcnn_trainer *t = pcnn_trainer_load(m, path); /* NULL: no training state in the file */
    const pcnn_train_opts *o = t ? pcnn_trainer_opts(t) : NULL;
    const int pixelcnn = hp->kind == PCNN_PIXELCNN;
    char cond[96];
    conditioning(cond, sizeof cond, m);
    const size_t np = pcnn_model_nparams(m);
    const double gflop = pcnn_model_flops(m) * 1e-9;
    const char *const *names = pcnn_model_class_names(m); /* NULL: numbered classes */
    if (json) {
        cJSON *j = cJSON_CreateObject();
        char *file = utf8_name(path);
        cJSON_AddStringToObject(j, "file", file);
        free(file);
        cJSON_AddStringToObject(j, "kind", pcnn_kind_name(hp->kind));
        cJSON_AddStringToObject(j, "conditioning", cond);
        cJSON_AddNumberToObject(j, "classes", hp->classes);
        if (names) {
            cJSON *a = cJSON_CreateStringArray(names, hp->classes);
            if (!a) cli_fail("out of memory");
            cJSON_AddItemToObject(j, "class_names", a);
        }
        cJSON_AddNumberToObject(j, "cond_size", hp->D);
        cJSON_AddNumberToObject(j, "width", hp->W);
        cJSON_AddNumberToObject(j, "height", hp->H);
        cJSON_AddNumberToObject(j, "channels", hp->C);
        cJSON_AddNumberToObject(j, "levels", hp->K);
        if (pixelcnn) {
            cJSON_AddNumberToObject(j, "layers", hp->L);
            cJSON_AddNumberToObject(j, "features", hp->p);
            cJSON_AddNumberToObject(j, "filter", hp->n);
            cJSON_AddNumberToObject(j, "rows_seen", rows_seen(hp));
        }
        cJSON_AddNumberToObject(j, "parameters", (double)np);
        cJSON_AddNumberToObject(j, "gflop_per_image", gflop);
        if (t) {
            cJSON_AddNumberToObject(j, "step", (double)pcnn_trainer_step_count(t));
            cJSON_AddNumberToObject(j, "seed", (double)o->seed);
            cJSON_AddNumberToObject(j, "batch", o->batch);
            cJSON_AddNumberToObject(j, "lr", o->lr);
            cJSON_AddStringToObject(j, "lr_schedule", pcnn_lr_schedule_name(o->schedule));
            cJSON_AddNumberToObject(j, "lr_decay", o->lr_decay);
            cJSON_AddNumberToObject(j, "lr_steps", (double)o->lr_steps);
            cJSON_AddNumberToObject(j, "warmup", (double)o->warmup);
            cJSON_AddNumberToObject(j, "ema", o->ema);
            cJSON_AddNumberToObject(j, "dropout", o->dropout);
        }
        char *text = cJSON_PrintUnformatted(j);
        if (!text) cli_fail("out of memory");
        printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    } else {
        printf("%s\n", path);
        printf("  kind            %s\n", pcnn_kind_name(hp->kind));
        printf("  conditioning    %s\n", cond);
        if (names) { /* class 0 first, as -c and -l number them */
            printf("  class names    ");
            for (int k = 0; k < hp->classes; k++) printf(" %s%s", names[k], k + 1 < hp->classes ? "," : "\n");
        }
        printf("  images          %dx%dx%d, %d levels\n", hp->W, hp->H, hp->C, hp->K);
        if (pixelcnn) {
            printf("  network         %d gated layers after the first, %d maps, %dx%d filters\n", hp->L, hp->p,
                   hp->n, hp->n);
            printf("  sees            %d rows above a pixel; the image has %d: %s\n", rows_seen(hp), hp->H,
                   rows_seen(hp) >= hp->H - 1 ? "covered" : "NOT covered (a longer -L or -n would see it all)");
        }
        printf("  parameters      %zu (%.1f MB)\n", np, np * 4e-6);
        if (gflop > 0) printf("  cost            %.3g GFLOP per image (forward pass)\n", gflop);
        if (t) {
            char sched[64];
            if (o->schedule == PCNN_LR_EXP) snprintf(sched, sizeof sched, "exp:%g", o->lr_decay);
            else if (o->schedule == PCNN_LR_COSINE) snprintf(sched, sizeof sched, "cosine:%lld", (long long)o->lr_steps);
            else snprintf(sched, sizeof sched, "constant");
            printf("  training        step %lld, seed %llu, batch %d, lr %g %s after %lld warm-up steps, "
                   "ema %g, dropout %g\n", (long long)pcnn_trainer_step_count(t), (unsigned long long)o->seed,
                   o->batch, o->lr, sched, (long long)o->warmup, o->ema, o->dropout);
        } else
            printf("  training        no training state (a model to use, not to resume)\n");
    }
    pcnn_trainer_free(t);
    pcnn_model_free(m);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    if (first == argc) cli_usage_error("no model given");
    pcnn_backend *be = pcnn_backend_open("cpu"); /* reading a file: no device to choose */
    if (!be) cli_fail("%s", pcnn_errstr());
    for (int i = first; i < argc; i++) describe(be, argv[i]);
    pcnn_backend_close(be);
    cli_exit(0);
}
