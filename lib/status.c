/* status.c -- a backend instance's sticky status (see backend.h): the first failure of a
 * call on the device is kept, and the library reports it at the next graph boundary
 * (pcnn_backend_check, device.c). Every op of every backend may record a failure, so
 * this file is built into libpcnn-cuda.so as well as libpcnn.a: it needs only the C
 * library. */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"

void pcnn_backend_fail(pcnn_backend *be, const char *fmt, ...)
{
    if (be->failed) return; /* the first failure is the cause; later ones follow from it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    be->failed = 1;
}
