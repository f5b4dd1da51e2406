/* test_cli.c -- the programs' signals (cmd/cli.c): SIGINT and SIGTERM are taken by a
 * thread of their own and never interrupt a computing thread (oneDNN's JIT sgemm runs
 * with its stack pointer in a heap buffer, where a handler's frame corrupted the heap).
 * Each case runs in a child process, since cli_parse sets up the whole process. */
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"

static const cli_prog prog = {"test_cli", "", "signals", NULL, 0};

static int stop_signals_blocked(void)
{
    sigset_t s;
    return pthread_sigmask(SIG_BLOCK, NULL, &s) == 0 && sigismember(&s, SIGINT) && sigismember(&s, SIGTERM);
}

/* the child's body: 0 when every thread of an OpenMP team blocks the stop signals */
static int team_blocks(void)
{
    int unblocked = 0;
#pragma omp parallel num_threads(4) reduction(+ : unblocked)
    unblocked += !stop_signals_blocked();
    return unblocked;
}

/* Runs cli_parse (and cli_catch_signals when catch) in a child that then sends itself
 * nsig signals sig, waiting up to 5 s after each for cli_stop to change; the child
 * exits 10 when cli_stop is set, 11 when not. Returns its wait status; its stderr goes
 * to the file err. */
static int child(int catch, int nsig, int sig, const char *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(err, "w", stderr)) _exit(12);
        char name[] = "test_cli", *argv[] = {name, NULL};
        cli_parse(&prog, 1, argv);
        if (catch) cli_catch_signals();
        for (int i = 0; i < nsig; i++) {
            int before = cli_stop;
            kill(getpid(), sig);
            for (int k = 0; k < 500 && cli_stop == before; k++) usleep(10000);
        }
        _exit(cli_stop ? 10 : 11);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return st;
}

static int exited(int st, int code) { return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == code; }
static int killed_by(int st, int sig) { return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == sig; }

static int file_has(const char *path, const char *text)
{
    char buf[512] = "";
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, text) != NULL;
}

int main(void)
{
    setenv("OMP_WAIT_POLICY", "passive", 0); /* else cli_parse runs the program again */
    signal(SIGINT, SIG_DFL); /* as a terminal starts a program, not as a script's background job */
    signal(SIGTERM, SIG_DFL);
    char err[] = "/tmp/test_cli.XXXXXX";
    int fd = mkstemp(err);
    if (fd < 0) return 1;
    close(fd);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char name[] = "test_cli", *argv[] = {name, NULL};
        cli_parse(&prog, 1, argv);
        _exit(team_blocks());
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(exited(st, 0), "%d threads of an OpenMP team can be interrupted by SIGINT or SIGTERM",
          WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    st = child(1, 1, SIGINT, err);
    CHECK(exited(st, 10), "one SIGINT after cli_catch_signals: status %#x, not cli_stop", st);
    CHECK(file_has(err, "test_cli: stopping after this step (Ctrl-C again to quit without saving)\n"),
          "no message after the first SIGINT");
    st = child(1, 1, SIGTERM, err);
    CHECK(exited(st, 10), "one SIGTERM after cli_catch_signals: status %#x, not cli_stop", st);
    st = child(1, 2, SIGINT, err);
    CHECK(killed_by(st, SIGINT), "a second SIGINT: status %#x, not killed by SIGINT", st);
    st = child(0, 1, SIGINT, err);
    CHECK(killed_by(st, SIGINT), "SIGINT without cli_catch_signals: status %#x, not killed by it", st);
    st = child(0, 1, SIGTERM, err);
    CHECK(killed_by(st, SIGTERM), "SIGTERM without cli_catch_signals: status %#x, not killed by it", st);

    /* a background job of a script starts with SIGINT ignored: cli_catch_signals still
     * takes it, and a program that does not catch goes on ignoring it */
    signal(SIGINT, SIG_IGN);
    st = child(1, 1, SIGINT, err);
    CHECK(exited(st, 10), "SIGINT ignored at start, then caught: status %#x, not cli_stop", st);
    st = child(0, 1, SIGINT, err);
    CHECK(exited(st, 11), "SIGINT ignored at start: status %#x, not ignored", st);

    unlink(err);
    return check_summary("test_cli");
}
