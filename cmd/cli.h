/* cli.h -- what every pcnn program shares: an option table that also prints the usage,
 * bounded number parsing, `prog: message` errors, a progress line, signal flags, the
 * check of stdout at exit. Exit statuses: 0 ok, 1 runtime or data error, 2 usage error. */
#ifndef PCNN_CLI_H
#define PCNN_CLI_H
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "pcnn.h"

enum { OPT_FLAG, OPT_INT, OPT_U64, OPT_FLOAT, OPT_STR };

typedef struct {
    char shortname;       /* 0 if none */
    const char *longname;
    int kind;
    void *dest;           /* int*, uint64_t*, float*, const char**; flags are int* set to 1 */
    double lo, hi;        /* bounds for numbers */
    const char *arg;      /* name of the argument in the usage text */
    const char *help;
} cli_opt;

typedef struct {
    const char *name;     /* pcnn-train */
    const char *synopsis; /* "-o MODEL [options] [FILE...]" */
    const char *about;    /* one line */
    const cli_opt *opts;
    int nopts;
} cli_prog;

extern const char *cli_name;

/* Parses argv by the table; --help prints the usage on stdout and exits 0; errors print
 * one line and the synopsis on stderr and exit 2. Returns the index of the first operand. */
int cli_parse(const cli_prog *p, int argc, char **argv);
/* the name of the option that set dest on the command line ("-L", "--lr"); NULL when
 * it was not given */
const char *cli_given(const void *dest);

/* -o FILE is a PNG grid when its name ends in .png, in any case (else a netpbm stream) */
int cli_png_name(const char *path);
/* the columns of a square grid of n images */
int cli_square_cols(size_t n);
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Flushes and checks stdout, so that `prog > /dev/full` fails; then exit(status).
 * A stdout closed by the caller (`prog >&-`) is an error only when something was
 * written to it: cli_parse puts an unwritable /dev/null on a closed descriptor 0, 1 or 2,
 * so that no file the program opens takes its place. */
void cli_exit(int status) __attribute__((noreturn));

/* Whole-string numbers: no blank before or after, nothing left over, no overflow, and
 * no sign on an unsigned one. 0 when s is such a number, -1 otherwise. */
int cli_to_ll(const char *s, long long *v);
int cli_to_u64(const char *s, uint64_t *v);
int cli_to_double(const char *s, double *v);

/* Refuses an output file that is an input (usage error, exit 2): the same file (device
 * and inode, so ./x and x, or a link, match), "-" being stdin. opt is the option that
 * named the input ("-m"), NULL for an operand; in == NULL or a missing file is no input. */
void cli_output_not_input(const char *out, const char *in, const char *opt);
/* Counts an input that may be "-", the standard input, which can be read once: a second
 * "-" is a usage error naming both. opt is the option ("-l"), NULL for an operand;
 * path NULL (not given) counts nothing. */
void cli_input(const char *opt, const char *path);
/* The same for an output given by another option than -o (out_opt, "--log"). */
void cli_option_output_not_input(const char *out_opt, const char *out, const char *in, const char *opt);
/* Refuses "-" for an output that must be a file (a model, a label file beside images). */
void cli_file_not_stdout(const char *opt, const char *path);
/* Refuses two outputs that are one file (usage error): the same name, or the same file
 * where both exist. Either may be NULL (not given). */
void cli_outputs_differ(const char *a_opt, const char *a, const char *b_opt, const char *b);

/* Progress on stderr: a bar redrawn in place on a terminal; otherwise a log line every
 * ten seconds and, after work long enough to have printed one, a last line at the end. */
typedef struct {
    long total;
    long first;     /* items already done when the work (re)started: not part of the rate */
    double t0, last;
    int tty;
    const char *what;
    long done, logged; /* off a terminal: the latest count, and the last one printed (-1: none) */
    char extra[160];   /* off a terminal: the latest extra text */
} cli_progress;
/* total <= 0: not known (a stream); the line then counts without a bar or an ETA */
void cli_progress_start(cli_progress *pr, const char *what, long total);
/* extra: a short text appended (loss, rate); done = items finished */
void cli_progress_update(cli_progress *pr, long done, const char *extra);
void cli_progress_end(cli_progress *pr);
/* on a terminal, erases the bar's line so that a message can take it (the next update
 * draws the bar again below) */
void cli_progress_clear(cli_progress *pr);
double cli_now(void);
/* s seconds as M:SS, or H:MM:SS from an hour on */
void cli_fmt_time(char *buf, size_t n, double s);

/* SIGINT/SIGTERM set cli_stop instead of killing the program */
extern volatile sig_atomic_t cli_stop;
void cli_catch_signals(void);

/* The model a program uses when -m is not given: the one installed beside the programs,
 * or the one in the source tree. */
const char *cli_default_model(void);

/* --device: "cpu", "cuda" or "auto" (the default: CUDA when a GPU is usable); asking
 * for cuda where there is none prints one line saying why and uses the CPU. With auto,
 * one line on stderr says which was opened ("prog: device: cpu (no CUDA driver)"),
 * unless -q, when the work is under way (cli_say_device; the first progress update
 * calls it), so that bad input still gets one line. cli_open_device opens it (an unknown name is a
 * usage error); the program closes it at exit, after its models are freed. */
extern const char *cli_device;
extern int cli_quiet; /* -q: no progress lines, no device line */
#define CLI_DEVICE_OPT {0, "device", OPT_STR, &cli_device, 0, 0, "DEV", "cpu, cuda or auto (default: cuda when a GPU is usable)"}
pcnn_backend *cli_open_device(void);
void cli_say_device(void);

/* Loads a model onto be or fails with the file's name in the message. */
pcnn_model *cli_load_model(pcnn_backend *be, const char *path);
#endif
