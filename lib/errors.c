/* errors.c -- the library's one error slot: set by a failing call, read by pcnn_errstr().
 * Control characters in a message (quoted from a damaged file) become '?'. */
#include <stdarg.h>
#include <stdio.h>

#include "pcnn-impl.h"

static _Thread_local char errbuf[512];

const char *pcnn_errstr(void) { return errbuf[0] ? errbuf : "no error"; }

int pcnn_seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    /* a message is one line, whatever bytes of a damaged file it quotes */
    for (char *c = errbuf; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return -1;
}
