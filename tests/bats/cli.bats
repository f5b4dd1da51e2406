#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# The command-line contract every program shares (cmd/cli.c): numbers are the whole
# argument; an output file (-o) is checked before any work, is never one of the inputs,
# and pcnn-train does not start over an existing model unasked; a closed stdout fails only
# a program that writes to it; temporary files of an interrupted save are cleaned.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    local d=$BATS_FILE_TMPDIR
    pgm_stream 6 4 4 >"$d/gray.pgm"
    printf '%s\n' 0 1 2 0 1 2 >"$d/labels.txt"
    tiny_train -o "$d/gray.pcnn" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/class.pcnn" -l "$d/labels.txt" "$d/gray.pgm" 2>/dev/null
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# ---- numbers (issue 10, hole 5) ---------------------------------------------------------

@test "numbers: --seed ' -1' is a usage error, not 2^64 - 1 (pcnn-sample, pcnn-train)" {
    local s
    for s in " -1" " 1" "1 " "	1" "-0" ""; do
        run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --seed "$s"
        assert_usage_error pcnn-sample "--seed"
        run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --seed "$s" "$F/gray.pgm"
        assert_usage_error pcnn-train "--seed"
    done
    assert_no_leftovers "$D/m.pcnn"
    # the largest seed is still a seed
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --seed 18446744073709551615
}

@test "numbers: -c ' 1' and blanks around other numbers are usage errors in every program" {
    local c
    for c in " 1" "1 " " all"; do
        run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c "$c"
        assert_usage_error pcnn-sample "-c"
    done
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -c " 1" "$F/gray.pgm"
    assert_usage_error pcnn-nll "--class"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n " 2"
    assert_usage_error pcnn-sample "--count"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -t " 1"
    assert_usage_error pcnn-sample "--temperature"
    run -2 --separate-stderr "$INTERP" -n " 3" "$F/gray.pgm" "$F/gray.pgm"
    assert_usage_error pcnn-interp "--count"
    local a
    for a in "-s| 3" "--lr| 0.01" "--lr|0.01 " "--lr-schedule|exp: 0.9" "--lr-schedule|cosine: 5" "--lr-schedule|cosine:5 "; do
        run -2 --separate-stderr tiny_train -o "$D/m.pcnn" "${a%%|*}" "${a#*|}" "$F/gray.pgm"
        assert_usage_error pcnn-train
    done
    assert_no_leftovers "$D/m.pcnn"
}

@test "numbers: nan is in no range: a usage error naming the option (pcnn-sample, pcnn-train)" {
    # strtod takes "nan", and every comparison with NaN is false: a range check written
    # v < lo || v > hi lets it through to the program's later checks, or to the model
    local s a
    for s in nan NaN -nan; do
        for a in temperature top-p; do
            run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" "--$a" "$s"
            assert_usage_error pcnn-sample "--$a: '$s' is not a number in ["
        done
        for a in lr beta1 eps clip ema dropout; do
            run -2 --separate-stderr tiny_train -o "$D/m.pcnn" "--$a" "$s" "$F/gray.pgm"
            assert_usage_error pcnn-train "--$a: '$s' is not a number in ["
        done
    done
    assert_no_leftovers "$D/m.pcnn"
}

# ---- -o is not an input (hole 7) --------------------------------------------------------

@test "pcnn-sample -o MODEL (also as DIR/./MODEL, a hard or symbolic link): exit 2, the model is kept" {
    cp "$F/gray.pcnn" "$D/m.pcnn"
    cp "$D/m.pcnn" "$D/keep.pcnn"
    ln "$D/m.pcnn" "$D/hard.pcnn"
    ln -s m.pcnn "$D/soft.pcnn"
    local o
    for o in "$D/m.pcnn" "$D/./m.pcnn" "$D//m.pcnn" "$D/hard.pcnn" "$D/soft.pcnn"; do
        run -2 --separate-stderr "$SAMPLE" -m "$D/m.pcnn" -o "$o"
        assert_usage_error pcnn-sample "-o $o" "-m" "give another output file"
        cmp "$D/m.pcnn" "$D/keep.pcnn" || die "-o $o changed the model"
    done
    [ -z "$(find "$D" -name '*.tmp*')" ] || die "temporary files left behind"
}

@test "pcnn-sample -o the --cond file, or the file on stdin: exit 2, the file is kept" {
    npy_record 1 0 0 >"$D/c.npy"
    cp "$D/c.npy" "$D/keep.npy"
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --cond "$D/c.npy" -o "$D/c.npy"
    assert_usage_error pcnn-sample "--cond"
    cmp "$D/c.npy" "$D/keep.npy"
    run -2 --separate-stderr bash -c '"$1" -m "$2" -o "$3" <"$3"' _ "$SAMPLE" "$F/class.pcnn" "$D/c.npy"
    assert_usage_error pcnn-sample "standard input"
    cmp "$D/c.npy" "$D/keep.npy"
}

@test "pcnn-train -o an input (an operand, DIR/./it, stdin, -l, --valid): exit 2, the input is kept" {
    cp "$F/gray.pgm" "$D/g.pgm"
    cp "$F/gray.pgm" "$D/keep.pgm"
    cp "$F/labels.txt" "$D/l.txt"
    run -2 --separate-stderr tiny_train -o "$D/g.pgm" "$D/g.pgm"
    assert_usage_error pcnn-train "$D/g.pgm" "input file"
    run -2 --separate-stderr tiny_train -o "$D/./g.pgm" "$D/g.pgm"
    assert_usage_error pcnn-train "$D/./g.pgm" "input file"
    run -2 --separate-stderr tiny_train --resume -o "$D/g.pgm" "$D/keep.pgm" "$D/g.pgm"
    assert_usage_error pcnn-train "$D/g.pgm"
    run -2 --separate-stderr bash -c '"$1" -L 1 -p 6 -n 3 -s 3 -o "$2" <"$2"' _ "$TRAIN" "$D/g.pgm"
    assert_usage_error pcnn-train "standard input"
    run -2 --separate-stderr tiny_train -o "$D/l.txt" -l "$D/l.txt" "$D/keep.pgm"
    assert_usage_error pcnn-train "-l"
    run -2 --separate-stderr tiny_train -o "$D/g.pgm" --valid "$D/g.pgm" "$D/keep.pgm"
    assert_usage_error pcnn-train "--valid"
    cmp "$D/g.pgm" "$D/keep.pgm" || die "an input was changed"
    cmp "$D/l.txt" "$F/labels.txt" || die "the labels were changed"
    [ -z "$(find "$D" -name '*.tmp*')" ] || die "temporary files left behind"
}

@test "pcnn-train -o EXISTING without --resume: exit 2, the model is kept; --force starts over" {
    tiny_train -o "$D/m.pcnn" "$F/gray.pgm" 2>/dev/null
    cp "$D/m.pcnn" "$D/keep.pcnn"
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-train "$D/m.pcnn" "--resume" "--force"
    cmp "$D/m.pcnn" "$D/keep.pcnn"
    run -2 --separate-stderr tiny_train --resume --force -o "$D/m.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-train "--resume" "--force"
    cmp "$D/m.pcnn" "$D/keep.pcnn"
    run -0 --separate-stderr "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 2 --force -o "$D/m.pcnn" "$F/gray.pgm"
    [ "$(model_meta "$D/m.pcnn" train.step)" = 2 ] || die "--force did not start a new run"
    # --force on a model that does not exist is a plain new run
    run -0 --separate-stderr tiny_train --force -o "$D/new.pcnn" "$F/gray.pgm"
    [ "$(model_meta "$D/new.pcnn" train.step)" = 6 ]
}

@test "pcnn-strip -o MODEL MODEL: still allowed (in place)" {
    cp "$F/gray.pcnn" "$D/m.pcnn"
    run -0 --separate-stderr "$STRIP" -o "$D/m.pcnn" "$D/m.pcnn"
    [ -z "$(model_meta "$D/m.pcnn" train.step)" ] || die "the training state is still there"
}

# ---- a closed stdout (hole 8) -----------------------------------------------------------

@test "closed stdout: a run that writes only -o exits 0 (pcnn-sample, pcnn-train, pcnn-strip)" {
    run -0 --separate-stderr bash -c '"$1" -m "$2" -n 2 -o "$3" >&-' _ "$SAMPLE" "$F/gray.pcnn" "$D/grid.png"
    is_png "$D/grid.png" || die "no PNG"
    run -0 --separate-stderr bash -c '"$1" -L 1 -p 6 -n 3 -b 4 -s 2 -o "$2" "$3" >&-' _ "$TRAIN" "$D/m.pcnn" "$F/gray.pgm"
    [ "$(model_meta "$D/m.pcnn" train.step)" = 2 ]
    run -0 --separate-stderr bash -c '"$1" -o "$2" "$3" >&-' _ "$STRIP" "$D/s.pcnn" "$D/m.pcnn"
    [ -s "$D/s.pcnn" ]
}

@test "closed stdout: a run that writes data to it still fails (exit 1, one line)" {
    run -1 --separate-stderr bash -c '"$1" -m "$2" -n 2 >&-' _ "$SAMPLE" "$F/gray.pcnn"
    drop_device_lines # the images were drawn before the write failed
    assert_one_error_line pcnn-sample "standard output"
    run -1 --separate-stderr bash -c '"$1" -m "$2" "$3" >&-' _ "$NLL" "$F/gray.pcnn" "$F/gray.pgm"
    drop_device_lines
    assert_one_error_line pcnn-nll "standard output"
    run -1 --separate-stderr bash -c '"$1" --help >&-' _ "$TRAIN"
    assert_one_error_line pcnn-train "standard output"
}

# ---- an impossible -o is found before the work (hole 9) ---------------------------------

# impossible_o O TEXT: each program that takes -o refuses O at once (exit 1, one line
# naming TEXT): pcnn-sample and pcnn-strip before reading their (here missing) model,
# pcnn-train before reading its input or training for 10^8 steps.
impossible_o() {
    run -1 --separate-stderr timeout 60 "$SAMPLE" -m "$D/missing.pcnn" -o "$1"
    assert_one_error_line pcnn-sample "$2"
    run -1 --separate-stderr timeout 60 "$STRIP" -o "$1" "$D/missing.pcnn"
    assert_one_error_line pcnn-strip "$2"
    run -1 --separate-stderr timeout 60 "$TRAIN" -L 1 -p 6 -n 3 -s 100000000 -o "$1" "$F/gray.pgm"
    assert_one_error_line pcnn-train "$2"
}

@test "-o '' (and any empty value): a usage error before any work (exit 2)" {
    run -2 --separate-stderr timeout 60 "$SAMPLE" -m "$D/missing.pcnn" -o ""
    assert_usage_error pcnn-sample "--output" "empty"
    run -2 --separate-stderr timeout 60 "$STRIP" -o "" "$D/missing.pcnn"
    assert_usage_error pcnn-strip "--output" "empty"
    run -2 --separate-stderr timeout 60 "$TRAIN" -L 1 -p 6 -n 3 -s 100000000 -o "" "$F/gray.pgm"
    assert_usage_error pcnn-train "--output" "empty"
    run -2 --separate-stderr timeout 60 "$NLL" -m "" "$F/gray.pgm"
    assert_usage_error pcnn-nll "--model" "empty"
}

@test "a value given to an option that takes none: named as given (--quiet=1)" {
    run -2 --separate-stderr "$NLL" --quiet=1 "$F/gray.pgm"
    assert_usage_error pcnn-nll "'--quiet' takes no value"
}

@test "-o DIR/ and -o NEWDIR/: refused before any work (exit 1)" {
    mkdir "$D/dir"
    impossible_o "$D/dir/" "$D/dir/"
    impossible_o "$D/newdir/" "$D/newdir/"
    [ ! -e "$D/newdir" ]
    [ -z "$(ls -A "$D/dir")" ]
}

@test "-o of a 246-byte name (its temporary name too long): refused before any work; 245 bytes work" {
    local long
    long=$(printf 'a%.0s' $(seq 246))
    impossible_o "$D/$long" "too long"
    [ -z "$(find "$D" -name 'aaa*')" ] || die "something was written"
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -o "$D/${long:1}"
    [ "$(head -c 2 "$D/${long:1}")" = P5 ] || die "not the netpbm stream"
}

# ---- temporary files of an interrupted save ---------------------------------------------

@test "pcnn-train -o MODEL removes MODEL.tmpXXXXXX left by a killed save, and nothing else" {
    tiny_train -o "$D/m.pcnn" "$F/gray.pgm" 2>/dev/null
    # what a kill during two checkpoint writes leaves: part of a model, an empty file
    head -c 1000 "$D/m.pcnn" >"$D/m.pcnn.tmpAb12Cd"
    : >"$D/m.pcnn.tmpZ9z9Z9"
    # look-alikes that stay
    local keep=(m.pcnn.tmpAb12C m.pcnn.tmpAb12Cde m.pcnn.tmpAb-2Cd m.pcnn.tmp other.pcnn.tmpAb12Cd
                xm.pcnn.tmpAb12Cd m.pcnn.tmpHard01 m.pcnn.tmpLink01 m.pcnn.tmpDir001) k
    for k in m.pcnn.tmpAb12C m.pcnn.tmpAb12Cde m.pcnn.tmpAb-2Cd m.pcnn.tmp other.pcnn.tmpAb12Cd xm.pcnn.tmpAb12Cd; do
        echo keep >"$D/$k"
    done
    echo keep >"$D/target"
    ln "$D/target" "$D/m.pcnn.tmpHard01"
    ln -s target "$D/m.pcnn.tmpLink01"
    mkdir "$D/m.pcnn.tmpDir001"
    # a save in progress (another writer) holds its temporary file locked: it stays
    echo live >"$D/m.pcnn.tmpLive01"
    exec 8<"$D/m.pcnn.tmpLive01"
    flock -x 8
    # a refused run removes nothing
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" "$F/gray.pgm"
    [ -e "$D/m.pcnn.tmpAb12Cd" ] || die "a refused run removed a temporary file"
    run -0 --separate-stderr "$TRAIN" --resume -s 8 -o "$D/m.pcnn" "$F/gray.pgm"
    [[ ${stderr_lines[0]} == "pcnn-train: removed 2 temporary files of an interrupted save ($D/m.pcnn.tmp"* ]] ||
        die "no line about the removed files"
    [ "$(grep -c 'temporary file' <<<"$stderr")" -eq 1 ] || die "more than one line about them"
    [ ! -e "$D/m.pcnn.tmpAb12Cd" ] && [ ! -e "$D/m.pcnn.tmpZ9z9Z9" ] || die "a temporary file is still there"
    for k in "${keep[@]}"; do
        [ -e "$D/$k" ] || die "$k was removed"
    done
    [ "$(cat "$D/target")" = keep ]
    [ -e "$D/m.pcnn.tmpLive01" ] || die "a locked temporary file (a save in progress) was removed"
    exec 8<&-
    [ "$(model_meta "$D/m.pcnn" train.step)" = 8 ]
    # the lock is gone: the file is a leftover now
    run -0 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/m.pcnn" "$F/gray.pgm"
    [[ ${stderr_lines[0]} == "pcnn-train: removed 1 temporary file of an interrupted save"* ]] || die "the leftover stays"
    # nothing left: nothing said
    run -0 --separate-stderr "$TRAIN" --resume -s 10 -o "$D/m.pcnn" "$F/gray.pgm"
    [[ $stderr != *"temporary file"* ]] || die "a line about temporary files with none left"
}

# ---- a terminal on stdin (issue 12) -------------------------------------------------------

# on_tty CMD...: CMD with a pseudo-terminal as its stdin (script(1), util-linux), stopped
# after 20 s if it waits; status and the terminal's text (stdout and stderr) as run sets them
on_tty() {
    run timeout 20 script -qec "$(printf '%q ' "$@")" /dev/null </dev/null
}

@test "images from a terminal: pcnn-train, pcnn-nll (also -c K) refuse at once, exit 2" {
    on_tty "$TRAIN" -o "$D/y.pcnn" -L 1 -p 3 -n 3
    [ "$status" -eq 2 ] || die "pcnn-train: status $status: $output"
    [[ $output == *"reading images from a terminal; give a file or a pipe"* ]] || die "$output"
    assert_no_leftovers "$D/y.pcnn"
    on_tty "$NLL" -m "$F/gray.pcnn"
    [ "$status" -eq 2 ] || die "pcnn-nll: status $status: $output"
    [[ $output == *"reading images from a terminal"* ]] || die "$output"
    on_tty "$NLL" -m "$F/class.pcnn" -c 1
    [ "$status" -eq 2 ] || die "pcnn-nll -c 1: status $status: $output"
    [[ $output == *"reading images from a terminal"* ]] || die "$output"
}

# ---- --version and -q (issue 12) ----------------------------------------------------------

@test "--version: every program prints its name and pcnn's version, exit 0" {
    local prog version
    version=$(sed -n 's/^#define PCNN_VERSION "\(.*\)".*/\1/p' "$BATS_TEST_DIRNAME/../../lib/pcnn.h")
    [ -n "$version" ] || die "no PCNN_VERSION in lib/pcnn.h"
    for prog in pcnn-train pcnn-nll pcnn-sample pcnn-interp pcnn-encode pcnn-embed pcnn-strip pcnn-info pcnn-convert pcnn-compress pcnn-decompress; do
        run -0 --separate-stderr "$BIN/$prog" --version
        [ "$output" = "$prog (pcnn) $version" ] || die "$prog --version: '$output'"
    done
}

@test "-q: no progress bar on a terminal; without it there is one" {
    run timeout 60 script -qec "$(printf '%q ' "$SAMPLE" -m "$F/gray.pcnn" -n 2 -o "$D/a.png")" /dev/null </dev/null
    [ "$status" -eq 0 ] && [[ $output == *"sample ["* ]] || die "no bar without -q: $output"
    run timeout 60 script -qec "$(printf '%q ' "$SAMPLE" -q -m "$F/gray.pcnn" -n 2 -o "$D/b.png")" /dev/null </dev/null
    [ "$status" -eq 0 ] && [ -z "$output" ] || die "-q still printed: $output"
    run timeout 60 script -qec "$(printf '%q ' "$TRAIN" --quiet -o "$D/m.pcnn" -L 1 -p 3 -n 3 -s 2 "$F/gray.pgm")" /dev/null </dev/null
    [ "$status" -eq 0 ] && [[ $output != *"train ["* ]] || die "pcnn-train --quiet: $output"
}

@test "--help of every program fits 80 columns; a usage error is still three lines" {
    local prog
    for prog in pcnn-train pcnn-nll pcnn-sample pcnn-interp pcnn-encode pcnn-embed pcnn-strip pcnn-info pcnn-convert pcnn-compress pcnn-decompress; do
        run -0 --separate-stderr "$BIN/$prog" --help
        ! awk 'length > 80 { found = 1 } END { exit !found }' <<<"$output" ||
            die "$prog --help: $(awk 'length > 80' <<<"$output" | head -n 1)"
        run -2 --separate-stderr "$BIN/$prog" --no-such-option
        assert_usage_error "$prog" "--no-such-option"
    done
}

# The environment a running program has: it waits in open() on a FIFO nobody writes to.
wait_policy_of() { # ENV-ARGS... -- OMP_WAIT_POLICY of a pcnn-train started so (empty: none in 10 s)
    local fifo="$BATS_TEST_TMPDIR/fifo.$RANDOM" pid policy=""
    mkfifo "$fifo"
    env "$@" "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --force "$fifo" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do # the program runs itself again at start: wait for that
        policy=$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | sed -n 's/^OMP_WAIT_POLICY=//p')
        [ -n "$policy" ] && break
        sleep 0.1
    done
    kill "$pid"
    wait "$pid" || true
    echo "$policy"
}

@test "threads: OpenMP threads wait passively unless OMP_WAIT_POLICY is set (pcnn(7))" {
    [ "$(wait_policy_of -u OMP_WAIT_POLICY)" = passive ]
    [ "$(wait_policy_of OMP_WAIT_POLICY=active)" = active ]
    [ "$(wait_policy_of OMP_WAIT_POLICY=PASSIVE)" = PASSIVE ]
}

# ---- outputs that would clobber each other, stdin read twice (the audit of 2026-12-04) ----

@test "two outputs that are one file (also as ./NAME, DIR/../NAME): exit 2, nothing written" {
    printf '%s\n' 0 1 2 0 1 2 >"$D/l.txt"
    run -2 --separate-stderr "$CONVERT" -l "$D/l.txt" --labels-out "$D/out.pgm" -o "$D/out.pgm" "$F/gray.pgm"
    assert_usage_error pcnn-convert "--labels-out" "-o's file"
    assert_no_leftovers "$D/out.pgm"
    # the labels output over its own input
    run -2 --separate-stderr "$CONVERT" -l "$D/l.txt" --labels-out "$D/./l.txt" -o "$D/o.pgm" "$F/gray.pgm"
    assert_usage_error pcnn-convert "--labels-out" "-l"
    [ "$(wc -l <"$D/l.txt")" -eq 6 ] || die "the labels input was written"
    mkdir "$D/sub"
    run -2 --separate-stderr tiny_train -o "$D/sub/../w.pcnn" --log "$D/w.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-train "--log" "-o's file"
    run -2 --separate-stderr tiny_train -o "$D/w.pcnn" --keep-best "$D/b.pcnn" --log "$D/./b.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-train "--log" "--keep-best's file"
    assert_no_leftovers "$D/w.pcnn"
    assert_no_leftovers "$D/b.pcnn"
}

@test "an output that must be a file given as '-': exit 2, no file named '-'" {
    local train strip convert
    train=$(realpath "$TRAIN") strip=$(realpath "$STRIP") convert=$(realpath "$CONVERT")
    cd "$D"
    run -2 --separate-stderr "$train" -L 1 -p 6 -n 3 -s 6 -o - "$F/gray.pgm"
    assert_usage_error pcnn-train "-o -" "a file"
    run -2 --separate-stderr "$strip" -o - "$F/gray.pcnn"
    assert_usage_error pcnn-strip "-o -"
    run -2 --separate-stderr "$convert" -l "$F/labels.txt" --labels-out - -o o.pgm "$F/gray.pgm"
    assert_usage_error pcnn-convert "--labels-out -"
    [ ! -e - ] && [ ! -e o.pgm ] || die "a file was written"
}

@test "'-' given to two inputs (operand, -l, --cond, --prefix): exit 2 naming both, before reading" {
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -l - "$F/gray.pgm" - <"$F/labels.txt"
    assert_usage_error pcnn-nll "an operand" "-l"
    run -2 --separate-stderr "$NLL" -m "$F/class.pcnn" -l - <"$F/labels.txt"
    assert_usage_error pcnn-nll "an operand" "-l"
    # pcnn-sample's records come from stdin when nothing else conditions a conditional model
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --prefix - <"$F/gray.pgm"
    assert_usage_error pcnn-sample "--cond" "--prefix"
    run -0 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c 1 --prefix - <"$F/gray.pgm"
    [ "$(head -c 2 <<<"$output")" = P5 ] || die "-c 1 --prefix - drew nothing"
}

@test "pcnn-train whose first step fails (a batch too large for the memory): -o is not written, --force keeps the old model" {
    # 28x28 images, 64 maps, 65536 a step: hundreds of GB, refused by the allocator under
    # a limit of 8 GB, which AddressSanitizer's terabytes of shadow memory cannot run in
    ldd "$TRAIN" 2>/dev/null | grep -q libasan && skip "ulimit -v and AddressSanitizer do not mix"
    local img=$BATS_TEST_DIRNAME/../fixtures/fashion0.pgm before
    cp "$F/gray.pcnn" "$D/m.pcnn"
    before=$(cksum <"$D/m.pcnn")
    run -1 --separate-stderr bash -c 'ulimit -v 8000000; "$@"' _ "$TRAIN" --force -o "$D/m.pcnn" -L 1 -p 64 \
        -b 65536 -s 1 "$img"
    [[ $stderr == *"out of memory"* ]] || die "not the memory's failure"
    [ "$(cksum <"$D/m.pcnn")" = "$before" ] || die "the old model was overwritten"
    run -1 --separate-stderr bash -c 'ulimit -v 8000000; "$@"' _ "$TRAIN" -o "$D/new.pcnn" -L 1 -p 64 \
        -b 65536 -s 1 "$img"
    assert_no_leftovers "$D/new.pcnn"
}

@test "--sample-every: a picture name too long is found before training (exit 1, nothing written)" {
    local long
    long=$(printf 'm%.0s' $(seq 236))
    run -1 --separate-stderr timeout 60 "$TRAIN" -L 1 -p 6 -n 3 -s 100000000 --sample-every 1000 -o "$D/$long.pcnn" "$F/gray.pgm"
    assert_one_error_line pcnn-train "--sample-every" "too long"
    assert_no_leftovers "$D/$long.pcnn"
}

@test "SIGINT, SIGTERM or SIGHUP during a write of -o: no temporary file stays" {
    # a 4096x4096 image drawn 16 times larger: the PNG takes seconds to write
    { printf 'P5\n4096 4096\n255\n'; head -c $((4096 * 4096)) /dev/urandom; } >"$D/big.pgm"
    local sig pid i
    for sig in INT TERM HUP; do
        # a script's background job starts with SIGINT ignored, and the program keeps it so
        env --default-signal=INT "$CONVERT" -q --scale 16 -o "$D/big.png" "$D/big.pgm" &
        pid=$!
        for ((i = 0; i < 1200; i++)); do
            compgen -G "$D/big.png.tmp*" >/dev/null && break
            sleep 0.05
        done
        compgen -G "$D/big.png.tmp*" >/dev/null || die "no temporary file appeared"
        kill -s "$sig" "$pid"
        wait_gone "$pid" || die "still running after SIG$sig"
        assert_no_leftovers "$D/big.png"
    done
}
