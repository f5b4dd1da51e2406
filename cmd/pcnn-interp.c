/* pcnn-interp -- K vectors evenly spaced on the straight line from A to B, both ends
 * included, as .npy records on stdout: record k = A + (B - A) * k / (K - 1). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int count;

static const cli_opt opts[] = {
    {'n', "count", OPT_INT, &count, 2, 1000000, "K", "records to write, both end points included (required; at least 2)"},
};
static const cli_prog prog = {"pcnn-interp", "-n K [A.npy B.npy | AB.npy]",
    "Writes K .npy records evenly spaced from A to B, both ends included, on stdout.",
    opts, sizeof opts / sizeof *opts};

/* One end point: the record and where it came from, for messages. */
typedef struct {
    const char *name; /* the file, "stdin" for "-" */
    float *v;         /* (n) */
    size_t n;
} endpoint;

/* Reads every record of path into ends[0..want-1]; fails unless there are exactly want
 * (1: one end point of two files; 2: both ends from one input). */
static void read_ends(endpoint *ends, const char *path, int want)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) cli_fail("%s: cannot open: %s", name, strerror(errno));
    int got = 0;
    for (;;) {
        float *v;
        size_t n;
        int rc = pcnn_npy_read(f, &v, &n);
        if (rc < 0) cli_fail("%s: record %d: %s", name, got + 1, pcnn_errstr());
        if (rc == 0) break;
        if (got == want)
            cli_fail(want == 1 ? "%s: more than one .npy record; with two files, each holds one end point"
                               : "%s: more than two .npy records; give exactly two end points", name);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(v[i]))
                cli_fail("%s: record %d holds %s at index %zu", name, got + 1, isnan(v[i]) ? "NaN" : "Inf", i);
        ends[got++] = (endpoint){name, v, n};
    }
    if (!is_stdin) fclose(f);
    if (got == 0) cli_fail("%s: no .npy record%s", name, want == 1 ? "" : "s; two end points are needed");
    if (got < want) cli_fail("%s: one .npy record; two end points are needed", name);
}

int main(int argc, char **argv)
{
    int first = cli_parse(&prog, argc, argv);
    int nin = argc - first;
    if (!count) cli_usage_error("give -n K, the number of records to write");
    if (nin > 2) cli_usage_error("%d inputs given; give A.npy and B.npy, or one input of two records", nin);
    if (nin == 2 && !strcmp(argv[first], "-") && !strcmp(argv[first + 1], "-"))
        cli_usage_error("'-' (stdin) given twice; give two records on stdin and no operand");
    if (nin == 0 && isatty(0)) cli_usage_error("give A.npy and B.npy, or two .npy records on stdin");

    endpoint ends[2];
    if (nin == 2) {
        read_ends(&ends[0], argv[first], 1);
        read_ends(&ends[1], argv[first + 1], 1);
    } else {
        read_ends(ends, nin ? argv[first] : "-", 2);
    }
    const endpoint *a = &ends[0], *b = &ends[1];
    if (a->n != b->n) {
        if (nin == 2) cli_fail("%s has %zu values, %s has %zu", a->name, a->n, b->name, b->n);
        cli_fail("%s: record 1 has %zu values, record 2 has %zu", a->name, a->n, b->n);
    }

    size_t n = a->n;
    float *out = malloc(n * sizeof *out);
    if (!out) cli_fail("out of memory");
    for (int k = 0; k < count; k++) {
        /* the ends are copied, not computed, so that they come out bit for bit; in between
         * double precision, so that B - A cannot overflow */
        if (k == 0 || k == count - 1) {
            memcpy(out, k ? b->v : a->v, n * sizeof *out);
        } else {
            for (size_t i = 0; i < n; i++)
                out[i] = (float)(a->v[i] + ((double)b->v[i] - a->v[i]) * k / (count - 1));
        }
        if (pcnn_npy_write(stdout, out, n)) cli_fail("stdout: %s", pcnn_errstr());
    }
    free(out);
    free(a->v);
    free(b->v);
    cli_exit(0);
}
