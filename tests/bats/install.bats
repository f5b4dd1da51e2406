#!/usr/bin/env bats
# make install: programs, library, header, man pages, model, and a pkg-config file that
# links a program against the installed library.
bats_require_minimum_version 1.5.0

load helpers

@test "make install PREFIX=DIR: a program built with pkg-config loads the installed model" {
    command -v pkg-config >/dev/null || skip "pkg-config not installed"
    local top=$BATS_TEST_DIRNAME/../.. d=$BATS_TEST_TMPDIR
    run -0 make -s -C "$top" install PREFIX="$d/usr" B="${BIN##*/}"
    for f in bin/pcnn-train bin/pcnn-nll bin/pcnn-sample bin/pcnn-interp bin/pcnn-strip lib/libpcnn.a include/pcnn.h \
             share/man/man1/pcnn-train.1 share/man/man1/pcnn-interp.1 share/man/man1/pcnn-strip.1 share/man/man5/pcnn-model.5 \
             share/man/man7/pcnn.7 \
             share/pcnn/fashion.pcnn lib/pkgconfig/pcnn.pc; do
        [ -e "$d/usr/$f" ] || die "not installed: $f"
    done
    if [ -e "$BIN/libpcnn-cuda.so" ]; then
        [ -x "$d/usr/lib/pcnn/libpcnn-cuda.so" ] || die "not installed: lib/pcnn/libpcnn-cuda.so"
        # the installed programs open the installed CUDA backend (where there is no GPU,
        # it loads, finds none, and the CPU is used)
        run -0 --separate-stderr bash -c 'unset PCNN_CUDA_LIB; PCNN_MODEL= LD_DEBUG=files "$1/usr/bin/pcnn-sample" --device cuda -n 1 -c 3 >/dev/null' _ "$d"
        [[ $stderr == *"file=$d/usr/bin/../lib/pcnn/libpcnn-cuda.so"* ]] || die "the installed backend was not opened"
    fi
    cat >"$d/use.c" <<'C'
#include <pcnn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    pcnn_backend *be = pcnn_backend_open("cpu");
    pcnn_model *m = be ? pcnn_model_load(be, argv[1]) : NULL;
    if (!m) { fprintf(stderr, "%s\n", pcnn_errstr()); return 1; }
    printf("%zu\n", pcnn_model_nparams(m));
    pcnn_model_free(m);
    pcnn_backend_close(be);
    return argc > 2;
}
C
    run -0 bash -c 'cc "$1/use.c" $(PKG_CONFIG_PATH="$1/usr/lib/pkgconfig" pkg-config --cflags --libs pcnn) -o "$1/use"' _ "$d"
    run -0 "$d/use" "$d/usr/share/pcnn/fashion.pcnn"
    [ "$output" -gt 1000 ] || die "parameters: $output"
    # the installed pcnn-sample finds the installed model without -m
    run -0 --separate-stderr bash -c 'PCNN_MODEL= "$1/usr/bin/pcnn-sample" -c 3 | head -c 2' _ "$d"
    [ "$output" = "P5" ] || die "no image from the installed default model"
}

@test "make with nvcc but no cuDNN beside it: the CPU-only programs, and one line saying why" {
    local top=$BATS_TEST_DIRNAME/../.. d=$BATS_TEST_TMPDIR
    mkdir -p "$d/cuda/bin"
    printf '#!/bin/sh\nexit 1\n' >"$d/cuda/bin/nvcc" # never run: no cudnn.h in $d/cuda/include
    chmod +x "$d/cuda/bin/nvcc"
    run -0 make -n -C "$top" all NVCC="$d/cuda/bin/nvcc" B="$d/b"
    [[ $output == *"no cuDNN (cudnn.h) beside $d/cuda/bin/nvcc"*"building the CPU backend only"* ]] || die "no message"
    [[ $output != *"kernels/"* ]] || die "CUDA kernels would be built"
    [[ $output == *"lib/model.c"* ]] || die "the CPU library would not be built"
    run -2 make -n -C "$top" all NVCC="$d/cuda/bin/nvcc" CUDA=1 B="$d/b"
    [[ $output == *"CUDA=1 but no cudnn.h"* ]] || die "CUDA=1 without cuDNN did not stop"
}
