/* dist.c -- a data-parallel job over MPI: joining it, the ranks, and the few collectives
 * training needs (dist.h). The only file that includes mpi.h: built with PCNN_MPI when
 * make finds MPI, else the second half below makes every job a job of one.
 *
 * A process is in a job of several only when a launcher started it (mpirun, mpiexec,
 * srun: their environment variables say so); started by hand it does not call MPI_Init
 * at all, so the programs start as fast without mpirun as in a build without MPI.
 * Waits are bounded: every collective is started non-blocking and polled against the
 * job's timeout, since a rank that hangs (stopped, swapping, a dead link that TCP has
 * not noticed) is something MPI itself never reports. Errors MPI does report come back
 * as return values (MPI_ERRORS_RETURN), not as MPI's default abort. Only standard MPI-3
 * calls: it builds against Open MPI and MPICH alike. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dist.h"

#ifdef PCNN_MPI
#include <mpi.h>
#endif

struct pcnn_dist {
    int rank, size, local_rank, local_size;
    double timeout;           /* seconds a rank waits in a collective; 0: for ever */
    int joined;               /* this process called MPI_Init */
    int mpi;                  /* comm is set up */
    pcnn_backend *comm_be;    /* the backend whose own collective is set up (NCCL) */
    real *stage;              /* host copy for a device backend without one */
    size_t stage_n;
    char about[160];
#ifdef PCNN_MPI
    MPI_Comm comm;
#endif
};

void pcnn_dist_share(int B, int n, int r, int *first, int *count)
{
    int q = B / n, extra = B % n;
    *count = q + (r < extra);
    *first = r * q + (r < extra ? r : extra);
}

/* how many processes the launcher says it started: 0 when none did, -1 when one did
 * without saying how many (PMIx under srun) */
static long launched_size(const char **var)
{
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (!v) continue;
        *var = vars[i];
        if (i == 2) return -1;
        char *end;
        long n = strtol(v, &end, 10);
        return end != v && !*end && n > 0 ? n : -1;
    }
    return 0;
}

int pcnn_dist_threads(const pcnn_dist *d)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN), per = online > 0 ? online / d->local_size : 1;
    cpu_set_t set;
    /* a launcher that binds each rank to cores (mpirun's default) sets its share itself */
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < per) per = CPU_COUNT(&set);
    return per > 0 ? (int)per : 1;
}

int pcnn_dist_rank(const pcnn_dist *d) { return d ? d->rank : 0; }
int pcnn_dist_size(const pcnn_dist *d) { return d ? d->size : 1; }
int pcnn_dist_local_size(const pcnn_dist *d) { return d ? d->local_size : 1; }
const char *pcnn_dist_describe(const pcnn_dist *d) { return d ? d->about : ""; }

static pcnn_dist *dist_alone(const char *about)
{
    pcnn_dist *d = calloc(1, sizeof *d);
    if (!d) {
        pcnn_seterr("out of memory");
        return NULL;
    }
    d->size = d->local_size = 1;
    snprintf(d->about, sizeof d->about, "%s", about);
    return d;
}

#ifdef PCNN_MPI

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mpi_fail(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
    return pcnn_seterr("%s: %s", what, msg);
}

/* polls a started collective until it completes, MPI reports an error, or the timeout:
 * spinning for the first milliseconds (a step's partner is usually that close), then
 * sleeping a little between tests, which also drive MPI's progress */
static int wait_for(pcnn_dist *d, MPI_Request *req, const char *what)
{
    const double start = now();
    long pause_ns = 0;
    for (;;) {
        int done = 0, rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, what);
        if (done) return 0;
        double waited = now() - start;
        if (d->timeout > 0 && waited > d->timeout)
            return pcnn_seterr("%s: rank %d of %d waited %.0f s for the others: one of them has died or hangs "
                               "(or takes longer than --timeout to validate)", what, d->rank, d->size, waited);
        if (waited < 0.005) {
            sched_yield();
            continue;
        }
        pause_ns = pause_ns ? pause_ns * 2 : 20000;
        if (pause_ns > 200000) pause_ns = 200000;
        nanosleep(&(struct timespec){0, pause_ns}, NULL);
    }
}

pcnn_dist *pcnn_dist_open(double timeout)
{
    const char *var = NULL;
    long n = launched_size(&var);
    if (n == 0) return dist_alone("one process (not started by mpirun)");
    int inited = 0, rc;
    MPI_Initialized(&inited);
    if (!inited && (rc = MPI_Init(NULL, NULL)) != MPI_SUCCESS) {
        mpi_fail(rc, "MPI_Init");
        return NULL;
    }
    pcnn_dist *d = calloc(1, sizeof *d);
    if (!d) {
        pcnn_seterr("out of memory");
        return NULL;
    }
    d->joined = !inited;
    d->timeout = timeout;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm local;
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm)) != MPI_SUCCESS ||
        (rc = MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(d->comm, &d->rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(d->comm, &d->size)) != MPI_SUCCESS ||
        (rc = MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local)) != MPI_SUCCESS) {
        mpi_fail(rc, "joining the MPI job");
        free(d);
        return NULL;
    }
    MPI_Comm_rank(local, &d->local_rank);
    MPI_Comm_size(local, &d->local_size);
    MPI_Comm_free(&local);
    d->mpi = 1;
    char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[strcspn(lib, ",\n\t")] = 0; /* "Open MPI v4.1.4", "MPICH Version:" */
    snprintf(d->about, sizeof d->about, "rank %d of %d, %d on this machine (%s)", d->rank, d->size,
             d->local_size, lib);
    return d;
}

void pcnn_dist_close(pcnn_dist *d)
{
    if (!d) return;
    free(d->stage);
    if (d->mpi) MPI_Comm_free(&d->comm);
    if (d->joined) MPI_Finalize();
    free(d);
}

static MPI_Datatype mpi_real(void) { return sizeof(real) == sizeof(float) ? MPI_FLOAT : MPI_DOUBLE; }

/* the sum of x (n, host) in place, in pieces MPI's int counts can hold */
static int sum_host(pcnn_dist *d, void *x, size_t n, MPI_Datatype type, size_t size, const char *what)
{
    const size_t piece = (size_t)1 << 30;
    for (size_t i = 0; i < n; i += piece) {
        MPI_Request req;
        int k = (int)(n - i < piece ? n - i : piece);
        int rc = MPI_Iallreduce(MPI_IN_PLACE, (char *)x + i * size, k, type, MPI_SUM, d->comm, &req);
        if (rc != MPI_SUCCESS) return mpi_fail(rc, what);
        if (wait_for(d, &req, what)) return -1;
    }
    return 0;
}

int pcnn_dist_sum_host(pcnn_dist *d, double *x, int n)
{
    if (!d || d->size == 1) return 0;
    return sum_host(d, x, (size_t)n, MPI_DOUBLE, sizeof *x, "summing over the ranks");
}

/* joins the backend's own collective (NCCL) on first use: rank 0 makes the identifier,
 * MPI hands it to the others */
static int comm_open(pcnn_dist *d, pcnn_backend *be)
{
    unsigned char id[512];
    long len = 0;
    if (d->rank == 0) len = (long)be->op->comm_id(be, id, sizeof id);
    MPI_Request req;
    int rc = MPI_Ibcast(&len, 1, MPI_LONG, 0, d->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "sharing the GPUs' communicator");
    if (wait_for(d, &req, "sharing the GPUs' communicator")) return -1;
    if (len <= 0 || len > (long)sizeof id) return pcnn_backend_check(be) ? -1 : pcnn_seterr("rank 0 could not set up %s's collectives", be->op->name);
    rc = MPI_Ibcast(id, (int)len, MPI_BYTE, 0, d->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "sharing the GPUs' communicator");
    if (wait_for(d, &req, "sharing the GPUs' communicator")) return -1;
    if (be->op->comm_open(be, id, (size_t)len, d->rank, d->size, d->timeout)) return pcnn_backend_check(be) ? -1 : pcnn_seterr("joining %s's collectives failed", be->op->name);
    d->comm_be = be;
    return 0;
}

int pcnn_dist_sum(pcnn_dist *d, pcnn_backend *be, real *x, size_t n)
{
    if (!d || d->size == 1) return 0;
    const char *what = "summing the gradients over the ranks";
    if (be->op->comm_sum) { /* on the device, between the devices */
        if (d->comm_be != be && comm_open(d, be)) return -1;
        be->op->comm_sum(be, x, n);
        return pcnn_backend_check(be);
    }
    if (!strcmp(be->op->name, "cpu")) return sum_host(d, x, n, mpi_real(), sizeof(real), what);
    if (d->stage_n < n) { /* a device without collectives of its own: through the host */
        real *s = realloc(d->stage, n * sizeof *s);
        if (!s) return pcnn_seterr("out of memory for the gradients' host copy");
        d->stage = s, d->stage_n = n;
    }
    be_to_host(be, d->stage, x, n * sizeof(real));
    if (pcnn_backend_check(be) || sum_host(d, d->stage, n, mpi_real(), sizeof(real), what)) return -1;
    be_to_device(be, x, d->stage, n * sizeof(real));
    return pcnn_backend_check(be);
}

int pcnn_dist_gather(pcnn_dist *d, real *all, const real *mine, const int *counts)
{
    if (!d || d->size == 1) {
        memcpy(all, mine, (size_t)counts[0] * sizeof *all);
        return 0;
    }
    int *displs = malloc((size_t)d->size * sizeof *displs);
    if (!displs) return pcnn_seterr("out of memory");
    for (int r = 0, at = 0; r < d->size; r++) displs[r] = at, at += counts[r];
    MPI_Request req;
    int rc = MPI_Iallgatherv(mine, counts[d->rank], mpi_real(), all, counts, displs, mpi_real(), d->comm, &req);
    rc = rc != MPI_SUCCESS ? mpi_fail(rc, "gathering the batch") : wait_for(d, &req, "gathering the batch");
    free(displs);
    return rc;
}

int pcnn_dist_same(pcnn_dist *d, uint64_t v, const char *what)
{
    if (!d || d->size == 1) return 0;
    unsigned long long lo[2] = {v, ~v}; /* min of v and of ~v: min and max of v */
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, lo, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, d->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, what);
    if (wait_for(d, &req, what)) return -1;
    if (lo[0] != ~lo[1]) return pcnn_seterr("the ranks disagree on %s", what);
    return 0;
}

int pcnn_dist_any(pcnn_dist *d, int *flag)
{
    if (!d || d->size == 1) return 0;
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, flag, 1, MPI_INT, MPI_MAX, d->comm, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(rc, "agreeing on when to stop");
    return wait_for(d, &req, "agreeing on when to stop");
}

#else /* no MPI in this build: every job is a job of one */

pcnn_dist *pcnn_dist_open(double timeout)
{
    (void)timeout;
    const char *var = NULL;
    long n = launched_size(&var);
    if (n > 1) { /* n copies would each train alone and overwrite each other's file */
        pcnn_seterr("started as one of %ld processes (%s), but this build has no MPI: "
                    "install libopenmpi-dev (or MPICH) and rebuild", n, var);
        return NULL;
    }
    return dist_alone("one process (a build without MPI)");
}

void pcnn_dist_close(pcnn_dist *d) { free(d); }

int pcnn_dist_sum(pcnn_dist *d, pcnn_backend *be, real *x, size_t n)
{
    (void)d, (void)be, (void)x, (void)n;
    return 0;
}

int pcnn_dist_sum_host(pcnn_dist *d, double *x, int n)
{
    (void)d, (void)x, (void)n;
    return 0;
}

int pcnn_dist_gather(pcnn_dist *d, real *all, const real *mine, const int *counts)
{
    (void)d;
    memcpy(all, mine, (size_t)counts[0] * sizeof *all);
    return 0;
}

int pcnn_dist_same(pcnn_dist *d, uint64_t v, const char *what)
{
    (void)d, (void)v, (void)what;
    return 0;
}

int pcnn_dist_any(pcnn_dist *d, int *flag)
{
    (void)d, (void)flag;
    return 0;
}

#endif
