#!/bin/sh
# run.sh BUILD SECONDS READER... -- runs the libFuzzer harness BUILD/fuzz_READER of each
# reader for SECONDS, one after another on one core: first the committed crashes of
# tests/fuzz/crashes/READER (each must now pass), then fuzzing with the seeds of
# tests/fuzz/seeds/READER as a read-only corpus and BUILD/corpus/READER as the writable
# one; new crashes go to BUILD/crashes/READER/. Logs: BUILD/logs/READER.log. Prints one
# line per harness and fails when any crashed.
B=$1 T=$2
shift 2
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
printf '%-8s %10s %8s %9s %7s %7s %8s  %s\n' reader execs "exec/s" "cov(start)" cov ft corpus crashes
for r in "$@"; do
    bin=$B/fuzz_$r corpus=$B/corpus/$r crashes=$B/crashes/$r log=$B/logs/$r.log
    mkdir -p "$corpus" "$crashes" "$B/logs"
    case $r in
    cifar) maxlen=8192 ;;  # two records and a part
    *) maxlen=4096 ;;
    esac
    # a single allocation over 512 MB from an input of a few KiB is a finding
    set -- -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
    [ -f "tests/fuzz/$r.dict" ] && set -- "$@" "-dict=tests/fuzz/$r.dict"
    # regressions: every committed crash input runs clean
    old=$(find "tests/fuzz/crashes/$r" -type f 2>/dev/null | sort)
    if [ -n "$old" ] && ! $bin "$@" -runs=1 $old >"$log.regress" 2>&1; then
        echo "$r: a committed crash of tests/fuzz/crashes/$r crashes again (see $log.regress)"
        status=1
    fi
    before=$(ls "$crashes" | wc -l)
    # netpbm: libnetpbm's own leak on every rejected PAM header (suppressed, README) would
    # still start a leak scan after each such input (1/40 of the speed); so it is fuzzed
    # without leak checks, and its whole corpus is then run once with them.
    leaks=1
    [ "$r" = netpbm ] && leaks=0
    $bin "$@" -detect_leaks=$leaks -max_total_time="$T" -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$corpus" "tests/fuzz/seeds/$r" >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && [ $leaks = 0 ]; then
        $bin "$@" -detect_leaks=1 -runs=0 -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/seeds/$r" \
            >"$log.leaks" 2>&1 || { rc=$?; cat "$log.leaks" >>"$log"; }
    fi
    found=$(( $(ls "$crashes" | wc -l) - before ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
    ft=$(sed -n 's/.* ft: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
    printf '%-8s %10s %8s %9s %7s %7s %8s  %s\n' "$r" "${execs:-?}" "${speed:-?}" "${cov0:-?}" "${cov:-?}" \
        "${ft:-?}" "$(ls "$corpus" | wc -l)" "$found"
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        echo "$r: crashed (status $rc); input in $crashes/, log in $log:"
        grep -m 3 -E 'ERROR|SUMMARY|runtime error|fuzz:' "$log" | sed 's/^/    /'
        status=1
    fi
done
exit $status
