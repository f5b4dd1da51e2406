#!/bin/sh
# run.sh BUILD_DIR -- runs every test: the C unit tests, then the bats tests of the
# programs; ends with one line "N passed, N failed" and a non-zero status on failure.
B=${1:-build}
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# unit TEST: runs one unit test binary and counts its checks
unit() {
    "$1" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$(basename "$1"): crashed or printed no summary (status $rc)"
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)) failed=$((failed + f))
    skipped=$((skipped + $(grep -c '^SKIP' "$log")))
}

for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    unit "$t"
done

# The convolutions, products and gate take other kernels and paths on AVX2 than on
# AVX-512 (lib/cpu/conv.c, gemm.c, pixel_step.h, gate.c): on an AVX-512 CPU their tests run
# again with oneDNN and our own loops held to AVX2, so that one machine tests both.
if grep -q '^flags.* avx512f' /proc/cpuinfo 2>/dev/null; then
    for t in test_conv test_sample test_gate; do
        [ -x "$B/tests/$t" ] || continue
        echo "$t, held to AVX2:"
        ONEDNN_MAX_CPU_ISA=AVX2 PCNN_MAX_CPU_ISA=AVX2 unit "$B/tests/$t"
    done
fi

if command -v bats >/dev/null 2>&1; then
    # A program that fails exits at once without freeing (as netpbm's do); leak reports
    # from such exits would only break the tests' one-line-on-stderr checks.
    BIN="$B" ASAN_OPTIONS=detect_leaks=0 bats --tap tests/bats >"$log" 2>&1
    cat "$log"
    p=$(grep -c '^ok ' "$log")
    s=$(grep -c '^ok .*# skip' "$log")
    f=$(grep -c '^not ok ' "$log")
    passed=$((passed + p - s)) failed=$((failed + f)) skipped=$((skipped + s))
else
    echo "SKIP: bats not installed; the programs' tests did not run"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
