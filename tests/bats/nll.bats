#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-nll: options, one line per image in input order plus 'mean', stdin and '-',
# class models (-c, -l, --cond), binary models (a nats column).
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# ---- options ---------------------------------------------------------------------------

@test "pcnn-nll --help: exit 0, usage on stdout, nothing on stderr" {
    run -0 --separate-stderr "$NLL" --help
    [[ ${lines[0]} == "usage: pcnn-nll "* ]] || die "no usage line"
    [[ $output == *"--class"* ]] || die "options missing from the help"
    [ -z "$stderr" ] || die "stderr is not empty"
}

@test "pcnn-nll --help >/dev/full: exit 1 with a write error" {
    run -1 --separate-stderr bash -c '"$1" --help >/dev/full' _ "$NLL"
    assert_one_error_line pcnn-nll "standard output"
}

@test "pcnn-nll: unknown option exits 2, stderr only" {
    run -2 --separate-stderr "$NLL" -m "$F/gray.pcnn" --bogus "$F/gray.pgm"
    assert_usage_error pcnn-nll "--bogus"
}

@test "pcnn-nll: -c abc exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c abc "$F/gray.pgm"
    assert_usage_error pcnn-nll "abc"
}

@test "pcnn-nll: -n abc (no such option) exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/gray.pcnn" -n abc "$F/gray.pgm"
    assert_usage_error pcnn-nll "-n"
}

@test "pcnn-nll: -c -1 and -c 99999 exit 2" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c -1 "$F/gray.pgm"
    assert_usage_error pcnn-nll "-1"
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 99999 "$F/gray.pgm"
    assert_usage_error pcnn-nll "99999"
}

@test "pcnn-nll: a class the model does not have exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 3 "$F/gray.pgm"
    assert_usage_error pcnn-nll "3"
}

@test "pcnn-nll: -c with -l exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 1 -l "$F/labels.txt" "$F/gray.pgm"
    assert_usage_error pcnn-nll
}

@test "pcnn-nll: -c with an unconditional model exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/gray.pcnn" -c 0 "$F/gray.pgm"
    assert_usage_error pcnn-nll "$F/gray.pcnn" "unconditional"
}

@test "pcnn-nll: -l with an unconditional model exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/gray.pcnn" -l "$F/labels.txt" "$F/gray.pgm"
    assert_usage_error pcnn-nll "$F/gray.pcnn"
}

@test "pcnn-nll: a class model without -c or -l exits 2" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-nll "$F/class.pcnn"
}

@test "pcnn-nll: without -m it uses \$PCNN_MODEL" {
    run -1 --separate-stderr "$NLL" "$F/gray.pgm"
    assert_no_stdout
    assert_one_error_line pcnn-nll "$PCNN_MODEL"
    PCNN_MODEL=$F/gray.pcnn run -0 --separate-stderr "$NLL" "$F/gray.pgm"
    [ "$(nlines "$output")" -eq 7 ]
}

# ---- output ----------------------------------------------------------------------------

@test "pcnn-nll: 3 images give 3 lines and a mean line, numbers only" {
    pgm_stream 3 4 4 >"$D/three.pgm"
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/three.pgm"
    [ "${#lines[@]}" -eq 4 ] || die "expected 4 lines"
    local i
    for i in 0 1 2; do
        [[ ${lines[i]} =~ ^[0-9]+\.[0-9]+$ ]] || die "line $((i + 1)) is not a number"
    done
    [[ ${lines[3]} =~ ^mean$'\t'[0-9]+\.[0-9]+$ ]] || die "no 'mean<TAB>number' line"
}

@test "pcnn-nll: the mean line is the mean of the lines" {
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm"
    printf '%s\n' "$output" | awk -F'\t' '
        $1 == "mean" { m = $2; next } { s += $1; n++ }
        END { d = s / n - m; if (d < 0) d = -d; if (n != 6 || d > 1e-5) exit 1 }' ||
        die "mean is not the mean"
}

@test "pcnn-nll: lines are in input order (each image alone gives its line)" {
    local k
    for k in 1 2 3; do pgm_stream 1 4 4 >"$D/$k.pgm"; done
    cat "$D/1.pgm" "$D/2.pgm" "$D/3.pgm" >"$D/all.pgm"
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/all.pgm"
    local all=("${lines[@]}")
    for k in 1 2 3; do
        run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/$k.pgm"
        [ "${lines[0]}" = "${all[k - 1]}" ] || die "image $k: '${lines[0]}' alone, '${all[k - 1]}' in the stream"
    done
}

@test "pcnn-nll: several files are read in order, as one stream" {
    pgm_stream 2 4 4 >"$D/a.pgm"
    pgm_stream 1 4 4 >"$D/b.pgm"
    cat "$D/a.pgm" "$D/b.pgm" >"$D/ab.pgm"
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/a.pgm" "$D/b.pgm"
    local two=$output
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/ab.pgm"
    [ "$output" = "$two" ] || die "two files differ from their concatenation"
    [ "${#lines[@]}" -eq 4 ]
}

@test "pcnn-nll: stdin (no FILE), '-' and a file give the same output" {
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm"
    local want=$output
    run -0 --separate-stderr bash -c '"$1" -m "$2" <"$3"' _ "$NLL" "$F/gray.pcnn" "$F/gray.pgm"
    [ "$output" = "$want" ] || die "stdin differs"
    run -0 --separate-stderr bash -c 'set -o pipefail; cat "$3" | "$1" -m "$2" -' _ "$NLL" "$F/gray.pcnn" "$F/gray.pgm"
    [ "$output" = "$want" ] || die "'-' differs"
}

@test "pcnn-nll: '-' between files" {
    pgm_stream 1 4 4 >"$D/a.pgm"
    pgm_stream 1 4 4 >"$D/b.pgm"
    run -0 --separate-stderr bash -c '"$1" -m "$2" "$3" - "$4" <"$5"' _ "$NLL" "$F/gray.pcnn" "$D/a.pgm" "$D/b.pgm" "$F/gray.pgm"
    [ "${#lines[@]}" -eq 9 ] || die "expected 1 + 6 + 1 images and a mean"
}

@test "pcnn-nll: PNG input" {
    png_gray4 1 >"$D/1.png"
    png_gray4 2 >"$D/2.png"
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/1.png" "$D/2.png"
    [ "${#lines[@]}" -eq 3 ]
}

@test "pcnn-nll: an RGB model reads P6 and RGB PNG" {
    png_rgb4 >"$D/c.png"
    run -0 --separate-stderr "$NLL" -m "$F/rgb.pcnn" "$F/rgb.ppm" "$D/c.png"
    [ "${#lines[@]}" -eq 8 ]
}

@test "pcnn-nll: -c K with a class model" {
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 2 "$F/gray.pgm"
    [ "${#lines[@]}" -eq 7 ]
    [[ ${lines[6]} == mean* ]]
}

@test "pcnn-nll: -l LABELS matches -c K image by image" {
    printf '%s\n' 1 1 1 1 1 1 >"$D/ones.txt"
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$D/ones.txt" "$F/gray.pgm"
    local l=$output
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 1 "$F/gray.pgm"
    [ "$output" = "$l" ] || die "-l with all 1 differs from -c 1"
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$F/labels.txt" "$F/gray.pgm"
    [ "${#lines[@]}" -eq 7 ]
}

@test "pcnn-nll: --cond one-hot .npy records match -c K" {
    local i
    for i in 1 2 3 4 5 6; do npy_record 0 0 1; done >"$D/c2.npy"
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" --cond "$D/c2.npy" "$F/gray.pgm"
    local c=$output
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -c 2 "$F/gray.pgm"
    [ "$output" = "$c" ] || die "--cond one-hot 2 differs from -c 2"
}

@test "pcnn-nll: a binary model (K=2) prints bits/dim and nats, tab-separated" {
    run -0 --separate-stderr "$NLL" -m "$F/bin.pcnn" "$F/gray.pgm"
    [ "${#lines[@]}" -eq 7 ] || die "expected 7 lines"
    local i
    for i in 0 1 2 3 4 5; do
        [[ ${lines[i]} =~ ^[0-9]+\.[0-9]+$'\t'[0-9]+\.[0-9]+$ ]] || die "line $((i + 1)) is not 'bpd<TAB>nats'"
    done
    [[ ${lines[6]} =~ ^mean$'\t'[0-9]+\.[0-9]+$'\t'[0-9]+\.[0-9]+$ ]] || die "mean line is not 'mean<TAB>bpd<TAB>nats'"
    # nats = bpd * dims * ln 2, with dims = 16
    printf '%s\n' "$output" | awk -F'\t' '
        { b = $(NF - 1); n = $NF; d = b * 16 * log(2) - n; if (d < 0) d = -d; if (d > 0.01) bad = 1 }
        END { exit bad }' || die "the nats column is not bpd * 16 * ln 2"
}

@test "pcnn-nll: stdout is data only (no progress on stdout)" {
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm"
    [ "$(printf '%s\n' "$output" | grep -cv -e '^[0-9.]*$' -e '^mean'$'\t')" -eq 0 ] || die "non-data lines on stdout"
}

@test "pcnn-nll >/dev/full: exit 1 with one error line" {
    run -1 --separate-stderr bash -c '"$1" -m "$2" "$3" >/dev/full' _ "$NLL" "$F/gray.pcnn" "$F/gray.pgm"
    assert_last_error_line pcnn-nll "standard output"
}

# ---- streaming -------------------------------------------------------------------------

@test "pcnn-nll streams: each batch of 32 is printed before the input ends (labels and --cond too)" {
    pgm_stream 32 4 4 >"$D/batch.pgm"
    for i in $(seq 33); do echo 1; done >"$D/labels.txt"
    { for n in $(seq 33); do npy_record 0 1 0; done; } >"$D/cond.npy"
    local args
    for args in "-m $F/gray.pcnn" "-m $F/class.pcnn -l $D/labels.txt" "-m $F/class.pcnn --cond $D/cond.npy"; do
        mkfifo "$D/in"
        # shellcheck disable=SC2086  # split on purpose
        "$NLL" $args "$D/in" >"$D/out" 2>"$D/err" &
        local pid=$! k
        # the writer keeps the stream open after 32 images: output now can only be streaming
        { cat "$D/batch.pgm"; sleep 60; } >"$D/in" &
        local writer=$!
        for k in $(seq 200); do
            [ "$(wc -l <"$D/out")" -ge 32 ] && break
            sleep 0.1
        done
        local got
        got=$(wc -l <"$D/out")
        kill "$pid" 2>/dev/null || true
        pkill -P "$writer" 2>/dev/null || true
        kill "$writer" 2>/dev/null || true
        wait "$pid" "$writer" 2>/dev/null || true
        rm -f "$D/in"
        [ "$got" -eq 32 ] || die "$args: $got lines while the input was still open (want 32)"
    done
}
