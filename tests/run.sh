#!/bin/sh
# run.sh BUILD_DIR -- runs every test: the C unit tests, then the bats tests of the
# programs; ends with one line "N passed, N failed" and a non-zero status on failure.
B=${1:-build}
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$(basename "$t"): crashed or printed no summary (status $rc)"
        failed=$((failed + 1))
        continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)) failed=$((failed + f))
    skipped=$((skipped + $(grep -c '^SKIP' "$log")))
done

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
