#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-interp: K records from A to B, ends bit for bit, the points between; the three
# ways to give the end points; bad input (exit 1, one line, empty stdout); usage (exit 2).
bats_require_minimum_version 1.5.0

load helpers

setup() {
    D=$BATS_TEST_TMPDIR
    # end points of 5 values with awkward bits: 0.1, -3e38, the smallest subnormal, -0, pi;
    # 12345.678, 3e38, minus the smallest subnormal, 0, -pi. B - A overflows float32.
    npy_bits 3dcccccd ff61b1e6 00000001 80000000 40490fdb >"$D/a.npy"
    npy_bits 4640e6b7 7f61b1e6 80000001 00000000 c0490fdb >"$D/b.npy"
    REC=148 # bytes of one record of 5 values: a 128-byte header and 20 bytes of data
}

# npy_bits HEX...: one record of float32 values given by their bits, e.g. 3f800000 for 1
npy_bits() {
    local h
    npy_header '<f4' "$#,"
    for h in "$@"; do printf "\\x${h:6:2}\\x${h:4:2}\\x${h:2:2}\\x${h:0:2}"; done
}

# the whole contract of a data error: run -1 has checked the status
assert_bad() {
    assert_no_stdout
    assert_one_error_line pcnn-interp "$@"
}

# numpy, for the checks that need it; the tests that use it skip without it
need_numpy() {
    PY=/usr/bin/python3
    [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null || skip "numpy not available to /usr/bin/python3"
}

# ---- options ---------------------------------------------------------------------------

@test "pcnn-interp --help: exit 0, usage on stdout, nothing on stderr" {
    run -0 --separate-stderr "$INTERP" --help
    [[ ${lines[0]} == "usage: pcnn-interp "* ]] || die "no usage line"
    [[ $output == *"--count"* ]] || die "options missing from the help"
    [ -z "$stderr" ] || die "stderr is not empty"
}

@test "pcnn-interp: unknown option, no -n, -n 1, -n 0, -n abc exit 2" {
    run -2 --separate-stderr "$INTERP" -n 3 --bogus "$D/a.npy" "$D/b.npy"
    assert_usage_error pcnn-interp "--bogus"
    run -2 --separate-stderr "$INTERP" "$D/a.npy" "$D/b.npy"
    assert_usage_error pcnn-interp "-n"
    local k
    for k in 1 0 -3 abc 2x; do
        run -2 --separate-stderr "$INTERP" -n "$k" "$D/a.npy" "$D/b.npy"
        assert_usage_error pcnn-interp "'$k'"
    done
}

@test "pcnn-interp: three files exit 2, saying so" {
    run -2 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/b.npy" "$D/a.npy"
    assert_usage_error pcnn-interp "3 inputs"
}

@test "pcnn-interp: '-' twice exits 2" {
    run -2 --separate-stderr bash -c 'cat "$2" "$3" | "$1" -n 3 - -' _ "$INTERP" "$D/a.npy" "$D/b.npy"
    assert_usage_error pcnn-interp "'-'"
}

# ---- the records -----------------------------------------------------------------------

@test "pcnn-interp -n 7: 7 records; the first is A and the last B, byte for byte" {
    "$INTERP" -n 7 "$D/a.npy" "$D/b.npy" >"$D/out.npy"
    [ "$(stat -c %s "$D/out.npy")" -eq $((7 * REC)) ] || die "not 7 records of $REC bytes"
    head -c "$REC" "$D/out.npy" | cmp - "$D/a.npy" || die "record 0 is not A"
    tail -c "$REC" "$D/out.npy" | cmp - "$D/b.npy" || die "record 6 is not B"
}

@test "pcnn-interp -n 2: exactly A then B" {
    "$INTERP" -n 2 "$D/a.npy" "$D/b.npy" >"$D/out.npy"
    cat "$D/a.npy" "$D/b.npy" | cmp - "$D/out.npy"
}

@test "pcnn-interp -n 3: the midpoint (written by hand, no numpy)" {
    npy_record 0 1 -1 0.5 >"$D/p.npy"
    npy_record 1 -1 1 0.5 >"$D/q.npy"
    "$INTERP" -n 3 "$D/p.npy" "$D/q.npy" >"$D/out.npy"
    { npy_record 0 1 -1 0.5; npy_record 0.5 0 0 0.5; npy_record 1 -1 1 0.5; } | cmp - "$D/out.npy"
}

@test "pcnn-interp: every record is A + (B-A)*k/(K-1), read back with numpy" {
    need_numpy
    "$PY" -c 'import numpy as np, sys
rng = np.random.default_rng(7)
for name in sys.argv[1:]:
    np.save(name, (rng.standard_normal(300) * 10).astype("<f4"))' "$D/p.npy" "$D/q.npy"
    for f in "$D/a.npy,$D/b.npy" "$D/p.npy,$D/q.npy"; do
        "$INTERP" -n 9 "${f%,*}" "${f#*,}" >"$D/out.npy"
        run -0 "$PY" -c 'import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
recs = []
with open(sys.argv[3], "rb") as f:
    while f.peek(1):
        recs.append(np.load(f))
K = len(recs)
assert K == 9, K
assert all(r.dtype == np.dtype("<f4") and r.shape == a.shape for r in recs)
assert recs[0].tobytes() == a.tobytes() and recs[-1].tobytes() == b.tobytes(), "ends"
a64, b64 = a.astype(np.float64), b.astype(np.float64)
for k, r in enumerate(recs):
    want = a64 + (b64 - a64) * k / (K - 1)
    assert np.all(np.isfinite(r)), k
    err = np.max(np.abs(r - want) / np.maximum(1e-30, np.maximum(np.abs(a64), np.abs(b64))))
    assert err < 1e-6, (k, err)
print("ok")' "${f%,*}" "${f#*,}" "$D/out.npy"
        [ "$output" = ok ] || die "numpy check failed"
    done
}

@test "pcnn-interp: two files, stdin, '-' for A or B, one file of two records: the same output" {
    "$INTERP" -n 5 "$D/a.npy" "$D/b.npy" >"$D/want.npy"
    cat "$D/a.npy" "$D/b.npy" >"$D/ab.npy"
    "$INTERP" -n 5 <"$D/ab.npy" | cmp - "$D/want.npy" || die "stdin"
    "$INTERP" -n 5 "$D/ab.npy" | cmp - "$D/want.npy" || die "one file of two records"
    "$INTERP" -n 5 - <"$D/ab.npy" | cmp - "$D/want.npy" || die "'-' as the one file"
    "$INTERP" -n 5 - "$D/b.npy" <"$D/a.npy" | cmp - "$D/want.npy" || die "'-' as A"
    "$INTERP" --count 5 "$D/a.npy" - <"$D/b.npy" | cmp - "$D/want.npy" || die "'-' as B"
}

@test "pcnn-interp: records of shape (1, n) are read; the output has shape (n,)" {
    { npy_header '<f4' '1, 2'; f32 0; f32 1; } >"$D/p.npy"
    { npy_header '<f4' '1, 2'; f32 1; f32 -1; } >"$D/q.npy"
    "$INTERP" -n 3 "$D/p.npy" "$D/q.npy" >"$D/out.npy"
    { npy_record 0 1; npy_record 0.5 0; npy_record 1 -1; } | cmp - "$D/out.npy"
}

@test "pipeline: pcnn-interp | pcnn-sample from class 0 to class 2, scored by pcnn-nll" {
    pgm_stream 6 4 4 >"$D/gray.pgm"
    printf '%s\n' 0 1 2 0 1 2 >"$D/labels.txt"
    tiny_train -o "$D/class.pcnn" -l "$D/labels.txt" "$D/gray.pgm" 2>/dev/null
    npy_record 1 0 0 >"$D/c0.npy"
    npy_record 0 0 1 >"$D/c2.npy"
    run -0 --separate-stderr bash -c 'set -o pipefail
        "$1" -n 4 "$4" "$5" | "$2" -m "$6" >"$7" &&
        "$1" -n 4 "$4" "$5" | "$3" -m "$6" --cond - "$7"' _ \
        "$INTERP" "$SAMPLE" "$NLL" "$D/c0.npy" "$D/c2.npy" "$D/class.pcnn" "$D/s.pgm"
    [ "${#lines[@]}" -eq 5 ] || die "expected 4 images and a mean"
}

# ---- bad input: exit 1, one line naming the file, nothing on stdout ----------------------

@test "bad input: end points of different lengths (files and stdin)" {
    npy_record 1 0 0 >"$D/p.npy"
    npy_record 1 0 >"$D/q.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/p.npy" "$D/q.npy"
    assert_bad "$D/p.npy has 3 values, $D/q.npy has 2"
    run -1 --separate-stderr bash -c 'cat "$2" "$3" | "$1" -n 3' _ "$INTERP" "$D/p.npy" "$D/q.npy"
    assert_bad "stdin: record 1 has 3 values, record 2 has 2"
}

@test "bad input: NaN or Inf in A, in B, in the second record on stdin" {
    npy_record 1 nan 0 >"$D/nan.npy"
    npy_record 0 0 inf >"$D/inf.npy"
    npy_record 1 0 0 >"$D/p.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/nan.npy" "$D/p.npy"
    assert_bad "$D/nan.npy" NaN
    run -1 --separate-stderr "$INTERP" -n 3 "$D/p.npy" "$D/inf.npy"
    assert_bad "$D/inf.npy" Inf
    run -1 --separate-stderr bash -c 'cat "$2" "$3" | "$1" -n 3' _ "$INTERP" "$D/p.npy" "$D/nan.npy"
    assert_bad stdin "record 2" NaN
}

@test "bad input: fewer than two records (stdin with one or none; one file of one)" {
    run -1 --separate-stderr "$INTERP" -n 3 <"$D/a.npy"
    assert_bad stdin "one .npy record" "two"
    run -1 --separate-stderr "$INTERP" -n 3 </dev/null
    assert_bad stdin "no .npy records"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy"
    assert_bad "$D/a.npy" "one .npy record"
    : >"$D/empty.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/empty.npy"
    assert_bad "$D/empty.npy" "no .npy record"
}

@test "bad input: more than two records (stdin, one file; a file of two beside another)" {
    run -1 --separate-stderr bash -c 'cat "$2" "$3" "$2" | "$1" -n 3' _ "$INTERP" "$D/a.npy" "$D/b.npy"
    assert_bad stdin "more than two"
    cat "$D/a.npy" "$D/b.npy" "$D/b.npy" >"$D/abb.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/abb.npy"
    assert_bad "$D/abb.npy" "more than two"
    cat "$D/a.npy" "$D/b.npy" >"$D/ab.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/ab.npy" "$D/b.npy"
    assert_bad "$D/ab.npy" "more than one"
}

@test "bad input: not .npy (text, an image, text on stdin), truncated, junk after, missing" {
    printf 'hello, world\n' >"$D/text.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/text.npy" "$D/b.npy"
    assert_bad "$D/text.npy" "not a .npy record"
    pgm_stream 1 4 4 >"$D/img.pgm"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/img.pgm"
    assert_bad "$D/img.pgm" "not a .npy record"
    run -1 --separate-stderr "$INTERP" -n 3 <"$D/text.npy"
    assert_bad stdin "not a .npy record"
    head -c 140 "$D/b.npy" >"$D/short.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/short.npy"
    assert_bad "$D/short.npy" truncated
    { cat "$D/b.npy"; printf 'junk'; } >"$D/junk.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/junk.npy"
    assert_bad "$D/junk.npy"
    run -1 --separate-stderr "$INTERP" -n 3 "$D/a.npy" "$D/missing.npy"
    assert_bad "$D/missing.npy"
}

@test "pcnn-interp >/dev/full: exit 1 with a write error" {
    run -1 --separate-stderr bash -c '"$1" -n 3 "$2" "$3" >/dev/full' _ "$INTERP" "$D/a.npy" "$D/b.npy"
    assert_one_error_line pcnn-interp "standard output"
}
