/* device.c -- which backend the models made or loaded from now on live on. The one place
 * outside kernels/ that knows a CUDA backend may exist. */
#include <string.h>

#include "backend.h"
#include "pcnn-impl.h"

static const pcnn_backend *current;

const pcnn_backend *pcnn_backend_default(void) { return current ? current : pcnn_backend_cpu(); }

static const pcnn_backend *cuda_if_any(void)
{
#ifdef PCNN_CUDA
    return pcnn_backend_cuda();
#else
    return NULL;
#endif
}

int pcnn_device_select(const char *name, const char **used)
{
    const pcnn_backend *be;
    int fell_back = 0;
    if (!strcmp(name, "cpu")) {
        be = pcnn_backend_cpu();
    } else if (!strcmp(name, "cuda") || !strcmp(name, "auto")) {
        be = cuda_if_any();
        if (!be) {
            be = pcnn_backend_cpu();
            fell_back = !strcmp(name, "cuda");
        }
    } else {
        return pcnn_seterr("unknown device '%s' (cpu, cuda or auto)", name);
    }
    current = be;
    if (used) *used = be->name;
    return fell_back;
}
