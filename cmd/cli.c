/* cli.c -- the shared plumbing of the pcnn programs (see cli.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *cli_name = "pcnn";
const char *cli_device = "auto";
int cli_quiet;
volatile sig_atomic_t cli_stop;

static const cli_prog *cur;
static const cli_opt *given[64]; /* the options on the command line, for cli_given */
static int ngiven;

/* the words of text from column col on, wrapped to fit 80 columns, continued lines
 * beginning at column indent; ends the line */
static void print_wrapped(FILE *f, int col, int indent, const char *text)
{
    int first = 1;
    while (*text) {
        size_t word = strcspn(text, " ");
        int sep = first && col == 0 ? 0 : 1;
        if (!first && col + 1 + (int)word > 80) {
            fprintf(f, "\n%*s", indent, "");
            col = indent, sep = 0;
        }
        fprintf(f, "%s%.*s", sep ? " " : "", (int)word, text);
        col += sep + (int)word;
        first = 0;
        text += word;
        while (*text == ' ') text++;
    }
    fputc('\n', f);
}

/* "  -x, --xxx ARG   help text", the text in a column of its own */
static void print_option(FILE *f, const char *left, const char *help)
{
    int n = fprintf(f, "  %-28s", left);
    print_wrapped(f, n, 31, help);
}

static void print_usage(FILE *f, const cli_prog *p)
{
    int n = fprintf(f, "usage: %s", p->name);
    print_wrapped(f, n, n + 1, p->synopsis);
    if (f == stderr) {
        fprintf(f, "Try '%s --help' for more information.\n", p->name);
        return;
    }
    print_wrapped(f, 0, 0, p->about);
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < p->nopts; i++) {
        const cli_opt *o = &p->opts[i];
        char left[64];
        int n = 0;
        n += snprintf(left + n, sizeof left - n, o->shortname ? "-%c, " : "    ", o->shortname);
        n += snprintf(left + n, sizeof left - n, "--%s", o->longname);
        if (o->kind != OPT_FLAG) snprintf(left + n, sizeof left - n, " %s", o->arg);
        print_option(f, left, o->help);
    }
    print_option(f, "-q, --quiet", "no progress on stderr (errors and results still)");
    print_option(f, "    --version", "show the version and exit");
    print_option(f, "-h, --help", "show this help and exit");
    fprintf(f, "\nSee %s(1).\n", p->name);
}

/* "prog: message" on stderr */
static void say(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    if (cur) print_usage(stderr, cur);
    exit(2);
}

void cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    exit(1);
}

void cli_exit(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        fprintf(stderr, "%s: error writing standard output: %s\n", cli_name, strerror(errno));
        exit(1);
    }
    exit(status);
}

int cli_to_ll(const char *s, long long *v)
{
    char *end;
    if (!*s || isspace((unsigned char)*s)) return -1;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || end == s || *end ? -1 : 0;
}

int cli_to_u64(const char *s, uint64_t *v)
{
    char *end;
    /* strtoull takes " -1" and "-1" as 2^64 - 1 */
    if (!*s || isspace((unsigned char)*s) || *s == '-') return -1;
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *v = u;
    return 0;
}

int cli_to_double(const char *s, double *v)
{
    char *end;
    if (!*s || isspace((unsigned char)*s)) return -1;
    errno = 0;
    *v = strtod(s, &end);
    return errno || end == s || *end ? -1 : 0;
}

static void parse_number(const cli_opt *o, const char *s)
{
    if (o->kind == OPT_FLOAT) {
        double v;
        if (cli_to_double(s, &v) || !(v >= o->lo && v <= o->hi))
            cli_usage_error("--%s: '%s' is not a number in [%.9g, %.9g]", o->longname, s, o->lo, o->hi);
        *(float *)o->dest = (float)v;
        return;
    }
    if (o->kind == OPT_U64) {
        uint64_t v;
        if (cli_to_u64(s, &v)) cli_usage_error("--%s: '%s' is not a non-negative integer", o->longname, s);
        *(uint64_t *)o->dest = v;
        return;
    }
    long long v;
    if (cli_to_ll(s, &v) || v < o->lo || v > o->hi)
        cli_usage_error("--%s: '%s' is not an integer in [%.0f, %.0f]", o->longname, s, o->lo, o->hi);
    *(int *)o->dest = (int)v;
}

/* A closed descriptor 0, 1 or 2 gets /dev/null, opened so that using it fails (stdin
 * write-only, stdout read-only): a file opened later cannot take its number and be
 * read as stdin or written as stdout, and writing to a closed stdout still fails. */
static void guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int n = open("/dev/null", fd == 1 ? O_RDONLY : O_WRONLY);
        if (n >= 0 && n != fd) {
            dup2(n, fd);
            close(n);
        }
    }
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

void cli_option_output_not_input(const char *out_opt, const char *out, const char *in, const char *opt)
{
    struct stat so, si;
    if (!in || stat(out, &so) != 0) return;
    int is_stdin = strcmp(in, "-") == 0;
    if ((is_stdin ? fstat(0, &si) : stat(in, &si)) != 0 || !same_file(&so, &si)) return;
    if (is_stdin)
        cli_usage_error("%s %s is the standard input%s%s: writing it would destroy that input; give another output file",
                        out_opt, out, opt ? " of " : "", opt ? opt : "");
    if (opt)
        cli_usage_error("%s %s is the file given to %s (%s): writing it would destroy that input; give another output file",
                        out_opt, out, opt, in);
    cli_usage_error("%s %s is the input file %s: writing it would destroy it; give another output file", out_opt, out,
                    in);
}

void cli_input(const char *opt, const char *path)
{
    static const char *first; /* the first input that is stdin, or NULL */
    static int seen;
    if (!path || strcmp(path, "-")) return;
    const char *name = opt ? opt : "an operand";
    if (seen)
        cli_usage_error("'-' (the standard input) given to %s and to %s: it can be read once; give one of them as a file",
                        first, name);
    seen = 1, first = name;
}

void cli_output_not_input(const char *out, const char *in, const char *opt)
{
    cli_option_output_not_input("-o", out, in, opt);
}

void cli_file_not_stdout(const char *opt, const char *path)
{
    if (path && !strcmp(path, "-"))
        cli_usage_error("%s -: this output is written to a file, not to the standard output; name one", opt);
}

/* path's directory as the file system names it (links resolved) and its last name:
 * where the file is or will be; NULL when the directory does not resolve */
static char *place_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL, *place = NULL;
    if (real && asprintf(&place, "%s/%s", real, slash ? slash + 1 : path) < 0) place = NULL;
    free(dir), free(real);
    return place;
}

void cli_outputs_differ(const char *a_opt, const char *a, const char *b_opt, const char *b)
{
    struct stat sa, sb;
    if (!a || !b) return;
    char *pa = place_of(a), *pb = place_of(b);
    int same = !strcmp(a, b) || (pa && pb && !strcmp(pa, pb)) ||
               (stat(a, &sa) == 0 && stat(b, &sb) == 0 && same_file(&sa, &sb));
    free(pa), free(pb);
    if (same)
        cli_usage_error("%s %s is also %s's file: the two outputs would overwrite each other; give another", b_opt, b,
                        a_opt);
}

/* OpenMP threads that wait for work by spinning (libgomp's default) take the cores from
 * any other process: two trainings side by side ran at a tenth of their speed each, and
 * at 0.37 of it with passive waiting, which costs nothing alone (tests/bench/contention.sh;
 * pcnn(7)). libgomp reads OMP_WAIT_POLICY only when it is loaded, so a program started
 * without it sets it and runs itself again, once, before reading anything. A failed
 * exec leaves the program running as it was. */
static void passive_threads(char **argv)
{
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
}

static void route_signals(void); /* with the signals, below */

int cli_parse(const cli_prog *p, int argc, char **argv)
{
    passive_threads(argv);
    route_signals();
    cur = p;
    cli_name = p->name;
    guard_std_fds();
    struct option *lo = calloc((size_t)p->nopts + 4, sizeof *lo);
    char shorts[128] = ":hq";
    if (!lo) cli_fail("out of memory");
    for (int i = 0; i < p->nopts; i++) {
        const cli_opt *o = &p->opts[i];
        lo[i] = (struct option){o->longname, o->kind == OPT_FLAG ? no_argument : required_argument, NULL, 256 + i};
        if (o->shortname) {
            size_t n = strlen(shorts);
            shorts[n] = o->shortname;
            shorts[n + 1] = o->kind == OPT_FLAG ? 0 : ':';
            shorts[n + 2] = 0;
        }
    }
    lo[p->nopts] = (struct option){"help", no_argument, NULL, 'h'};
    lo[p->nopts + 1] = (struct option){"quiet", no_argument, NULL, 'q'};
    lo[p->nopts + 2] = (struct option){"version", no_argument, NULL, 'V'};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (c == 'h') {
            print_usage(stdout, p);
            free(lo);
            cli_exit(0);
        }
        if (c == 'V') {
            printf("%s (pcnn) %s\n", p->name, PCNN_VERSION);
            free(lo);
            cli_exit(0);
        }
        if (c == 'q') {
            cli_quiet = 1;
            continue;
        }
        if (c == '?') {
            const char *arg = argv[optind - 1];
            /* a known long option that takes no value, given one (--quiet=1) */
            if (optopt && !strncmp(arg, "--", 2))
                cli_usage_error("option '%.*s' takes no value", (int)strcspn(arg, "="), arg);
            if (optopt) cli_usage_error("unknown option '-%c'", optopt);
            cli_usage_error("unknown option '%s'", argv[optind - 1]);
        }
        if (c == ':') cli_usage_error("option '%s' needs an argument", argv[optind - 1]);
        const cli_opt *o = NULL;
        if (c >= 256) o = &p->opts[c - 256];
        for (int i = 0; !o && i < p->nopts; i++)
            if (p->opts[i].shortname == c) o = &p->opts[i];
        if (!o) cli_usage_error("unknown option");
        if (ngiven < (int)(sizeof given / sizeof *given)) given[ngiven++] = o;
        switch (o->kind) {
        case OPT_FLAG: *(int *)o->dest = 1; break;
        case OPT_STR: /* a file name, a class, a schedule: never empty */
            if (!*optarg) cli_usage_error("--%s: the value is empty", o->longname);
            *(const char **)o->dest = optarg;
            break;
        default: parse_number(o, optarg);
        }
    }
    free(lo);
    return optind;
}

const char *cli_given(const void *dest)
{
    static char name[64];
    for (int i = 0; i < ngiven; i++)
        if (given[i]->dest == dest) {
            if (given[i]->shortname) snprintf(name, sizeof name, "-%c", given[i]->shortname);
            else snprintf(name, sizeof name, "--%s", given[i]->longname);
            return name;
        }
    return NULL;
}

int cli_png_name(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n >= 4 && !strcasecmp(path + n - 4, ".png");
}

int cli_square_cols(size_t n)
{
    int side = 1;
    while ((size_t)side * side < n) side++;
    return side;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *pr, const char *what, long total)
{
    pr->total = total;
    pr->first = 0;
    pr->t0 = pr->last = cli_now();
    pr->tty = isatty(2);
    pr->what = what;
    pr->done = 0, pr->logged = -1, pr->extra[0] = 0;
}

/* the terminal's width now (asked at every redraw, so a resized window is followed) */
static int terminal_columns(void)
{
    struct winsize ws;
    return ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* redraws the progress line in place, cut to the terminal's width so that it never
 * wraps (a wrapped line cannot be redrawn, and each redraw would leave one behind) */
static void draw_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void draw_line(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    int cols = terminal_columns() - 1;
    if (cols > 0 && (int)strlen(line) > cols) line[cols] = 0;
    fprintf(stderr, "\r%s\033[K", line);
}

void cli_fmt_time(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* off a terminal: one line of the latest count */
static void log_progress(cli_progress *pr, double now)
{
    long run = pr->done - pr->first;
    double el = now - pr->t0, eta = run > 0 ? el * (pr->total - pr->done) / run : 0;
    char eb[32], elb[32];
    cli_fmt_time(eb, sizeof eb, eta);
    cli_fmt_time(elb, sizeof elb, el);
    if (pr->total <= 0) fprintf(stderr, "%s: %s %ld %s elapsed %s\n", cli_name, pr->what, pr->done, pr->extra, elb);
    else fprintf(stderr, "%s: %s %ld/%ld %s elapsed %s ETA %s\n", cli_name, pr->what, pr->done, pr->total,
                 pr->extra, elb, eb);
    pr->logged = pr->done;
}

void cli_progress_update(cli_progress *pr, long done, const char *extra)
{
    cli_say_device(); /* once, with the first of the work done: after the input's first checks */
    if (cli_quiet) return;
    double now = cli_now();
    if (!pr->tty) { /* a line every 10 seconds, and nothing for work that ends sooner */
        pr->done = done;
        snprintf(pr->extra, sizeof pr->extra, "%s", extra ? extra : "");
        if (now - pr->last >= 10.0) {
            pr->last = now;
            log_progress(pr, now);
        }
        return;
    }
    /* a terminal gets ~10 redraws a second, and the last one */
    int last = pr->total > 0 && done >= pr->total;
    if (!last && now - pr->last < 0.1) return;
    pr->last = now;
    long run = done - pr->first;
    double el = now - pr->t0, eta = run > 0 ? el * (pr->total - done) / run : 0;
    char eb[32];
    cli_fmt_time(eb, sizeof eb, eta);
    if (pr->total <= 0) { /* a stream of unknown length: a count, no bar, no ETA */
        draw_line("%s %ld %s", pr->what, done, extra ? extra : "");
        return;
    }
    /* the bar takes what the terminal's width leaves, 10 to 24 characters */
    char text[256];
    snprintf(text, sizeof text, "%ld/%ld %s ETA %s", done, pr->total, extra ? extra : "", eb);
    int width = terminal_columns() - 1 - (int)strlen(pr->what) - (int)strlen(text) - 4;
    width = width < 10 ? 10 : width > 24 ? 24 : width;
    int fill = (int)(width * done / pr->total);
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    draw_line("%s [%s] %s", pr->what, bar, text);
}

void cli_progress_clear(cli_progress *pr)
{
    if (pr->tty && !cli_quiet) fputs("\r\033[K", stderr);
}

void cli_progress_end(cli_progress *pr)
{
    if (cli_quiet) return;
    if (pr->tty) fputc('\n', stderr);
    else if (pr->logged >= 0 && pr->logged != pr->done) log_progress(pr, cli_now());
}

static int stderr_tty; /* the message first ends a progress bar's line */
static volatile sig_atomic_t catching; /* cli_catch_signals was called */
static int ignored[NSIG];              /* ignored at start, as in a script's background job */

/* Dies of sig as if it had never been blocked: the default action, from this thread. */
static void die_of(int sig)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pcnn_output_abandon(); /* no half-written file stays beside an output */
    signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action of these signals ends the process */
}

/* SIGINT, SIGTERM and SIGHUP are blocked in every thread but this one, which takes them with
 * sigwait. A signal handler would run on the stack of whichever thread the signal
 * interrupts, and oneDNN's JIT sgemm kernels run with the stack pointer inside a heap
 * buffer: a handler's frame written there corrupted the heap (a third of the Ctrl-Cs
 * to a small pcnn-train killed it at its save; oneDNN issue 4845, fixed in 3.11, while
 * Debian 12 ships 2.6). Here no computing thread is ever interrupted.
 * The first signal after cli_catch_signals asks the work to stop where it can save and
 * says so at once, since a step may take long; any other one kills the program as
 * the default action would. */
static void *take_signals(void *set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig)) continue;
        /* blocked, it reaches sigwait all the same; an ignored hangup (nohup) stays ignored */
        if (ignored[sig] && (!catching || sig == SIGHUP)) continue;
        if (!catching || cli_stop) die_of(sig);
        cli_stop = 1;
        /* one write: in pieces, a progress line from the working thread could land between
         * them (a test counting progress lines saw "pcnn-trainpcnn-train: train ...") */
        char msg[256];
        int n = snprintf(msg, sizeof msg, "%s%s: stopping after this step (Ctrl-C again to quit without saving)\n",
                         stderr_tty ? "\n" : "", cli_name);
        if (n > 0 && write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0) {
            /* nothing to do about a failed message */
        }
    }
    return NULL;
}

/* Called before any other thread exists, so that every later thread (OpenMP's,
 * oneDNN's, MPI's) inherits the blocked mask. Without the thread, signals keep their
 * default action. */
static void route_signals(void)
{
    static sigset_t set;
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    sigemptyset(&set);
    for (int i = 0; i < 3; i++) {
        struct sigaction now;
        sigaddset(&set, stops[i]);
        ignored[stops[i]] = sigaction(stops[i], NULL, &now) == 0 && now.sa_handler == SIG_IGN;
    }
    pthread_attr_t attr;
    pthread_t th;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) || pthread_attr_init(&attr)) return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, take_signals, &set)) pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    pthread_attr_destroy(&attr);
}

void cli_catch_signals(void)
{
    stderr_tty = isatty(2);
    catching = 1;
}

#ifndef PCNN_DATADIR
#define PCNN_DATADIR "/usr/local/share/pcnn"
#endif

const char *cli_default_model(void)
{
    static char path[PATH_MAX + 64];
    const char *env = getenv("PCNN_MODEL");
    if (env && *env) return env;
    /* next to the binary in the source tree: build/pcnn-x -> models/fashion.pcnn */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(path, sizeof path, "%s/../models/fashion.pcnn", exe);
            if (access(path, R_OK) == 0) return path;
            snprintf(path, sizeof path, "%s/../share/pcnn/fashion.pcnn", exe);
            if (access(path, R_OK) == 0) return path;
        }
    }
    return PCNN_DATADIR "/fashion.pcnn";
}

static char device_line[256]; /* --device auto's line, said when the work begins */

void cli_say_device(void)
{
    if (device_line[0] && !cli_quiet) fputs(device_line, stderr);
    device_line[0] = 0;
}

pcnn_backend *cli_open_device(void)
{
    if (strcmp(cli_device, "cpu") && strcmp(cli_device, "cuda") && strcmp(cli_device, "auto"))
        cli_usage_error("--device: unknown device '%s' (cpu, cuda or auto)", cli_device);
    pcnn_backend *be = pcnn_backend_open(cli_device);
    if (!be) cli_fail("--device %s: %s", cli_device, pcnn_errstr());
    const char *name = pcnn_backend_name(be), *about = pcnn_backend_describe(be);
    if (!strcmp(cli_device, "cuda") && strcmp(name, "cuda"))
        fprintf(stderr, "%s: no usable CUDA device (%s); using the CPU\n", cli_name, about);
    else if (!strcmp(cli_device, "auto"))
        snprintf(device_line, sizeof device_line, "%s: device: %s (%s)\n", cli_name, name, about);
    return be;
}

pcnn_model *cli_load_model(pcnn_backend *be, const char *path)
{
    if (!strcmp(path, "-")) /* the header says where each tensor is: a file, read at offsets */
        cli_usage_error("'-': a model is read from a file, not from the standard input");
    pcnn_model *m = pcnn_model_load(be, path);
    if (!m) {
        const char *e = pcnn_errstr();
        /* messages from the file layer already start with the path */
        if (strncmp(e, path, strlen(path)) == 0) cli_fail("%s", e);
        cli_fail("%s: %s", path, e);
    }
    return m;
}
