#!/bin/sh
# coverage.sh [BUILD] -- line coverage of the readers reached by the fuzz corpora: builds the
# harnesses again with clang's source-based coverage into BUILD/cov/ (default build-fuzz),
# runs each corpus (BUILD/corpus/READER and seeds/READER) once, and prints llvm-cov's
# per-function lines of the reader's source files. Run `make fuzz` first.
B=${1:-build-fuzz}
C="clang -std=c11 -D_GNU_SOURCE -Ilib -g -O1 -Wno-unknown-pragmas -fprofile-instr-generate -fcoverage-mapping"
L="-lnetpbm -lpng -lz -lcjson -ldnnl -L/usr/lib/x86_64-linux-gnu/openblas-openmp -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lm"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$B/cov"
for f in lib/*.c lib/io/*.c lib/cpu/*.c; do
    $C -fsanitize=fuzzer-no-link -c "$f" -o "$B/cov/$(echo "$f" | tr / _).o" || exit 1
done
for x in "netpbm lib/io/netpbm.c" "png lib/io/png.c" "idx lib/io/image.c" "cifar lib/io/cifar.c" \
         "labels lib/io/labels.c" "npy lib/io/npy.c" "model lib/io/safetensors.c lib/modelfile.c"; do
    set -- $x
    r=$1
    shift
    if [ "$r" = model ]; then objs=$(ls "$B"/cov/*.o); else objs="$(ls "$B"/cov/lib_io_*.o) $B/cov/lib_errors.c.o"; fi
    $C -fsanitize=fuzzer "tests/fuzz/fuzz_$r.c" $objs $L -o "$B/cov/fuzz_$r" || exit 1
    rm -f "$B/cov/$r.profraw"
    mkdir -p "$B/corpus/$r"
    LLVM_PROFILE_FILE="$B/cov/$r.profraw" "$B/cov/fuzz_$r" -runs=0 -max_len=8192 -detect_leaks=0 \
        "$B/corpus/$r" "tests/fuzz/seeds/$r" >/dev/null 2>&1
    llvm-profdata merge -o "$B/cov/$r.profdata" "$B/cov/$r.profraw" || exit 1
    echo "== $r ($*): lines covered/lines per function"
    llvm-cov report -show-functions "$B/cov/fuzz_$r" -instr-profile="$B/cov/$r.profdata" "$@" 2>/dev/null |
        awk 'NR > 2 && $1 !~ /^-/ && NF > 8 && $5 > 0 { printf "  %-32s %d/%d\n", $1, $5 - $6, $5 }'
done
