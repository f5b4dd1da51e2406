/* device.c -- backend instances: opened by name and closed (their sticky status is
 * status.c). The one place outside kernels/ that knows a CUDA backend may exist. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pcnn-impl.h"

/* 0 with be open on the GPU, 1 when there is none to use */
static int cuda_init(pcnn_backend *be)
{
#ifdef PCNN_CUDA
    return pcnn_backend_cuda_init(be);
#else
    (void)be;
    return 1;
#endif
}

pcnn_backend *pcnn_backend_open(const char *name)
{
    int cpu = !strcmp(name, "cpu");
    if (!cpu && strcmp(name, "cuda") && strcmp(name, "auto")) {
        pcnn_seterr("unknown device '%s' (cpu, cuda or auto)", name);
        return NULL;
    }
    pcnn_backend *be = calloc(1, sizeof *be);
    if (!be) {
        pcnn_seterr("out of memory");
        return NULL;
    }
    int rc = cpu ? 1 : cuda_init(be);
    if (rc == 1) rc = pcnn_backend_cpu_init(be);
    if (rc) {
        pcnn_seterr("%s", be->err);
        free(be);
        return NULL;
    }
    return be;
}

const char *pcnn_backend_name(const pcnn_backend *be) { return be->op->name; }

void pcnn_backend_close(pcnn_backend *be)
{
    if (!be) return;
    be->op->close(be);
    free(be);
}
