#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-train: options, inputs (netpbm stream, PNG, IDX), class conditioning, validation
# log, exact resume, SIGINT.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    pgm_stream 6 4 4 >"$BATS_FILE_TMPDIR/six.pgm"
    pgm_stream 24 4 4 >"$BATS_FILE_TMPDIR/many.pgm"
}

setup() {
    D=$BATS_TEST_TMPDIR
    SIX=$BATS_FILE_TMPDIR/six.pgm
    MANY=$BATS_FILE_TMPDIR/many.pgm
}

# ---- options ---------------------------------------------------------------------------

@test "pcnn-train: small images in small batches (fewer pixels a thread than twice the maps) train" {
    # a batch of 2 split between the threads: one 4x4 image against 32 maps; the backward
    # filter's scratch had been sized by the pixels alone (a segmentation fault)
    pgm_stream 4 4 4 >"$D/img.pgm"
    run -0 --separate-stderr "$TRAIN" -q -o "$D/m.pcnn" -L 2 -p 32 -n 5 -b 2 -s 3 "$D/img.pgm"
    [ -s "$D/m.pcnn" ] || die "no model written"
}

@test "pcnn-train --help: exit 0, usage on stdout, nothing on stderr" {
    run -0 --separate-stderr "$TRAIN" --help
    [[ ${lines[0]} == "usage: pcnn-train "* ]] || die "no usage line"
    [[ $output == *"--resume"* ]] || die "options missing from the help"
    [ -z "$stderr" ] || die "stderr is not empty"
}

@test "pcnn-train -h: same as --help" {
    run -0 --separate-stderr "$TRAIN" -h
    [[ ${lines[0]} == "usage: pcnn-train "* ]] || die "no usage line"
}

@test "pcnn-train --help >/dev/full: exit 1 with a write error" {
    run -1 --separate-stderr bash -c '"$1" --help >/dev/full' _ "$TRAIN"
    assert_one_error_line pcnn-train "standard output"
}

@test "pcnn-train: unknown long option exits 2, stderr only" {
    run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" --bogus "$SIX"
    assert_usage_error pcnn-train "--bogus"
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: unknown short option exits 2" {
    run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -Z "$SIX"
    assert_usage_error pcnn-train "-Z"
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: option without its argument exits 2" {
    run -2 --separate-stderr "$TRAIN" "$SIX" -o
    assert_usage_error pcnn-train "-o"
}

@test "pcnn-train: -n abc exits 2" {
    run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -n abc "$SIX"
    assert_usage_error pcnn-train "abc"
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: -s -5 exits 2" {
    run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -s -5 "$SIX"
    assert_usage_error pcnn-train "-5"
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: numbers out of bounds or with junk exit 2 (-n 99, -s 3x, --lr -1, --lr nan, --seed -1, -b 0)" {
    local args
    for args in "-n 99" "-s 3x" "--lr -1" "--lr nan" "--seed -1" "-b 0" "-k 1" "-k 257" "--every 0" "-s 99999999999999999999"; do
        # shellcheck disable=SC2086
        run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" $args "$SIX"
        assert_usage_error pcnn-train
    done
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: an even filter size is a usage error (exit 2)" {
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" -n 4 "$SIX"
    assert_usage_error pcnn-train
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: no -o exits 2 and writes nothing" {
    run -2 --separate-stderr "$TRAIN" -L 1 -p 6 -n 3 -s 1 "$SIX"
    assert_usage_error pcnn-train "-o"
}

@test "pcnn-train: --classes without -l exits 2" {
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --classes 3 "$SIX"
    assert_usage_error pcnn-train "--classes"
    assert_no_leftovers "$D/m.pcnn"
}

@test "pcnn-train: --valid-labels without --valid exits 2" {
    printf '0\n' >"$D/vl.txt"
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --valid-labels "$D/vl.txt" "$SIX"
    assert_usage_error pcnn-train "--valid"
}

# ---- inputs ----------------------------------------------------------------------------

@test "pcnn-train: several P5 images in one stream on stdin" {
    run -0 --separate-stderr bash -c '"$1" -L 1 -p 6 -n 3 -b 4 -s 6 --every 3 -o "$2" <"$3"' _ "$TRAIN" "$D/m.pcnn" "$SIX"
    assert_no_stdout
    [[ $stderr == *"6 training images 4x4x1"* ]] || die "not 6 images 4x4x1"
    [ -s "$D/m.pcnn" ] || die "no model file"
    [ "$(model_meta "$D/m.pcnn" format)" = pcnn-model ] || die "not a pcnn model"
    [ "$(model_meta "$D/m.pcnn" train.step)" = 6 ] || die "train.step is not 6"
    assert_no_leftovers "$D/m.pcnn.none" # no temporary files beside the model
    run -0 --separate-stderr "$NLL" -m "$D/m.pcnn" "$SIX"
    [ "$(nlines "$output")" -eq 7 ] || die "the model does not evaluate 6 images"
}

@test "pcnn-train: '-' reads stdin, through a pipe" {
    run -0 --separate-stderr bash -c 'set -o pipefail; cat "$3" | "$1" -L 1 -p 6 -n 3 -b 4 -s 3 --every 3 -o "$2" -' _ "$TRAIN" "$D/m.pcnn" "$SIX"
    assert_no_stdout
    [[ $stderr == *"6 training images"* ]] || die "not 6 images"
    [ -s "$D/m.pcnn" ]
}

@test "pcnn-train: images from several files are read in order" {
    pgm_stream 2 4 4 >"$D/a.pgm"
    pgm_stream 3 4 4 >"$D/b.pgm"
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$D/a.pgm" "$D/b.pgm" "$SIX"
    [[ $stderr == *"11 training images 4x4x1"* ]] || die "not 11 images"
}

@test "pcnn-train: PNG files" {
    local i
    for i in 1 2 3; do png_gray4 $i >"$D/$i.png"; done
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$D/1.png" "$D/2.png" "$D/3.png"
    assert_no_stdout
    [[ $stderr == *"3 training images 4x4x1"* ]] || die "not 3 images 4x4x1"
    [ -s "$D/m.pcnn" ]
}

@test "pcnn-train: a PNG on stdin" {
    png_gray4 2 >"$D/2.png"
    run -0 --separate-stderr bash -c '"$1" -L 1 -p 6 -n 3 -b 4 -s 3 -o "$2" <"$3"' _ "$TRAIN" "$D/m.pcnn" "$D/2.png"
    [[ $stderr == *"1 training images 4x4x1"* ]] || die "not 1 image"
}

@test "pcnn-train: RGB (a P6 stream and an RGB PNG) gives a 3-channel model" {
    ppm_stream 3 4 4 >"$D/c.ppm"
    png_rgb4 >"$D/c.png"
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$D/c.ppm" "$D/c.png"
    [[ $stderr == *"4 training images 4x4x3"* ]] || die "not 4 RGB images"
    [ "$(model_meta "$D/m.pcnn" channels)" = 3 ]
}

@test "pcnn-train: Fashion-MNIST IDX files with IDX labels (--limit 64)" {
    [ -r "$FASHION/train-images-idx3-ubyte.gz" ] || skip "no Fashion-MNIST in $FASHION (Debian package dataset-fashion-mnist)"
    run -0 --separate-stderr tiny_train -o "$D/f.pcnn" --limit 64 \
        -l "$FASHION/train-labels-idx1-ubyte.gz" "$FASHION/train-images-idx3-ubyte.gz"
    assert_no_stdout
    [[ $stderr == *"61 training images 28x28x1, 3 held out"* ]] || die "not 61+3 images 28x28"
    [[ $stderr == *"step 3 valid "*" bpd"* ]] || die "no validation line"
    [ "$(model_meta "$D/f.pcnn" classes)" = 10 ] || die "not 10 classes"
    [ "$(model_meta "$D/f.pcnn" height)" = 28 ]
}

@test "pcnn-train: CIFAR-10 binary records, images and labels from the same .bin (--limit 64)" {
    [ -r "$CIFAR" ] || skip "no CIFAR-10 records at $CIFAR"
    run -0 --separate-stderr "$TRAIN" -L 1 -p 6 -n 3 -b 4 --steps 1 --limit 64 -o "$D/c.pcnn" -l "$CIFAR" "$CIFAR"
    assert_no_stdout
    [[ $stderr == *"61 training images 32x32x3, 3 held out"* ]] || die "not 61+3 RGB images 32x32"
    [ "$(model_meta "$D/c.pcnn" classes)" = 10 ] || die "not 10 classes"
    [ "$(model_meta "$D/c.pcnn" channels)" = 3 ]
}

@test "pcnn-train: class-conditional with a text labels file" {
    printf '%s\n' 0 1 2 0 1 2 >"$D/labels.txt"
    run -0 --separate-stderr tiny_train -o "$D/c.pcnn" -l "$D/labels.txt" "$SIX"
    assert_no_stdout
    [ "$(model_meta "$D/c.pcnn" classes)" = 3 ] || die "not 3 classes"
    [ "$(model_meta "$D/c.pcnn" cond_size)" = 3 ]
    run -0 --separate-stderr "$NLL" -m "$D/c.pcnn" -l "$D/labels.txt" "$SIX"
    [ "$(nlines "$output")" -eq 7 ]
}

@test "pcnn-train: --classes N sets the number of classes above the largest label" {
    printf '%s\n' 0 1 1 0 1 0 >"$D/labels.txt"
    run -0 --separate-stderr tiny_train -o "$D/c.pcnn" -l "$D/labels.txt" --classes 5 "$SIX"
    [ "$(model_meta "$D/c.pcnn" classes)" = 5 ]
}

@test "pcnn-train: --classes below the largest label + 1 is an error" {
    printf '%s\n' 0 1 4 0 1 0 >"$D/labels.txt"
    run --separate-stderr tiny_train -o "$D/c.pcnn" -l "$D/labels.txt" --classes 3 "$SIX"
    [ "$status" -eq 1 ] || [ "$status" -eq 2 ] || die "expected exit 1 or 2"
    assert_no_stdout
    [[ $stderr == *labels.txt* ]] || die "the file is not named"
    assert_no_leftovers "$D/c.pcnn"
}

@test "pcnn-train: --limit reads at most N images" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" --limit 4 "$SIX"
    [[ $stderr == *"4 training images"* ]] || die "not 4 images"
}

# ---- validation log --------------------------------------------------------------------

@test "pcnn-train: >= 20 images hold 5% out and validate every --every steps" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$MANY"
    [[ $stderr == *"23 training images 4x4x1, 1 held out"* ]] || die "not 23 + 1 images"
    [[ $stderr == *"pcnn-train: step 3 valid "*" bpd"* ]] || die "no validation at step 3"
    [[ $stderr == *"pcnn-train: step 6 valid "*" bpd"* ]] || die "no validation at step 6"
    [[ $stderr != *"nats/image"* ]] || die "nats/image with 256 levels"
}

@test "pcnn-train: fewer than 20 images: nothing held out, no validation" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$SIX"
    [[ $stderr == *", 0 held out"* ]] || die "something held out"
    [[ $stderr != *" valid "* ]] || die "a validation line"
}

@test "pcnn-train: --levels 2 logs validation in bpd and nats/image" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" --levels 2 "$MANY"
    [[ $stderr =~ step\ 3\ valid\ [0-9.]+\ bpd\ [0-9.]+\ nats/image ]] || die "no 'valid ... nats/image' line"
    [ "$(model_meta "$D/m.pcnn" levels)" = 2 ]
}

@test "pcnn-train: --valid FILE is the held-out set" {
    pgm_stream 3 4 4 >"$D/v.pgm"
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" -v "$D/v.pgm" "$MANY"
    [[ $stderr == *"24 training images 4x4x1, 3 held out"* ]] || die "not 24 + 3"
    [[ $stderr == *"step 3 valid "* ]] || die "no validation line"
}

@test "pcnn-train: --valid of another image size is an error naming the file" {
    pgm_stream 2 5 5 >"$D/v.pgm"
    run -1 --separate-stderr tiny_train -o "$D/m.pcnn" -v "$D/v.pgm" "$SIX"
    assert_no_stdout
    assert_one_error_line pcnn-train "$D/v.pgm"
    assert_no_leftovers "$D/m.pcnn"
}

# ---- resume ----------------------------------------------------------------------------

@test "pcnn-train --resume with an option the run keeps (-L, --lr, --seed, ...): exit 2, the model is kept" {
    tiny_train -o "$D/m.pcnn" "$MANY" 2>/dev/null
    cp "$D/m.pcnn" "$D/before"
    local opt
    for opt in "-L 3" "-p 9" "--lr 0.1" "--seed 2" "-b 8" "--ema 0.9" "--lr-schedule cosine" "-k 16"; do
        # shellcheck disable=SC2086  # opt is an option and its value
        run -2 --separate-stderr "$TRAIN" --resume $opt -s 9 -o "$D/m.pcnn" "$MANY"
        assert_usage_error pcnn-train "${opt%% *}" "--force"
    done
    cmp "$D/m.pcnn" "$D/before"
    run -0 --separate-stderr "$TRAIN" --resume -s 9 --every 9 --valid-size 2 -o "$D/m.pcnn" "$MANY"
}

@test "pcnn-train: 4 steps + --resume to 8 is byte-identical to 8 steps" {
    local t=(-L 1 -p 6 -n 3 -b 4 --every 4 --seed 7)
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 8 -o "$D/a.pcnn" "$MANY"
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 4 -o "$D/b.pcnn" "$MANY"
    [ "$(model_meta "$D/b.pcnn" train.step)" = 4 ]
    run -0 --separate-stderr "$TRAIN" --resume -s 8 --every 4 -o "$D/b.pcnn" "$MANY"
    [[ $stderr == *"step 4 of 8"* ]] || die "did not resume at step 4"
    cmp "$D/a.pcnn" "$D/b.pcnn"
}

@test "pcnn-train: resume across an epoch boundary (batch 4, 6 images) is exact" {
    local t=(-L 1 -p 6 -n 3 -b 4 --every 5)
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 10 -o "$D/a.pcnn" "$SIX"
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 3 -o "$D/b.pcnn" "$SIX"
    run -0 --separate-stderr "$TRAIN" -r -s 7 --every 5 -o "$D/b.pcnn" "$SIX"
    run -0 --separate-stderr "$TRAIN" -r -s 10 --every 5 -o "$D/b.pcnn" "$SIX"
    cmp "$D/a.pcnn" "$D/b.pcnn"
}

@test "pcnn-train: class-conditional resume is exact" {
    printf '%s\n' 0 1 2 0 1 2 >"$D/labels.txt"
    local t=(-L 1 -p 6 -n 3 -b 4 --every 3 -l "$D/labels.txt")
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 6 -o "$D/a.pcnn" "$SIX"
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 3 -o "$D/b.pcnn" "$SIX"
    run -0 --separate-stderr "$TRAIN" -r -s 6 --every 3 -l "$D/labels.txt" -o "$D/b.pcnn" "$SIX"
    cmp "$D/a.pcnn" "$D/b.pcnn"
}

@test "pcnn-train: the recipe (--lr-schedule cosine, --warmup, --ema, --dropout) resumes byte-identically" {
    local t=(-L 2 -p 6 -n 3 -b 4 --every 4 --seed 3 --lr-schedule cosine:12 --warmup 3 --ema 0.9 --dropout 0.2)
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 10 -o "$D/a.pcnn" "$MANY"
    run -0 --separate-stderr "$TRAIN" "${t[@]}" -s 4 -o "$D/b.pcnn" "$MANY"
    [ "$(model_meta "$D/b.pcnn" train.schedule)" = cosine ] || die "schedule not stored"
    [ "$(model_meta "$D/b.pcnn" train.ema)" = 0.899999976 ] || die "ema not stored: $(model_meta "$D/b.pcnn" train.ema)"
    run -0 --separate-stderr "$TRAIN" --resume -s 10 --every 4 -o "$D/b.pcnn" "$MANY"
    cmp "$D/a.pcnn" "$D/b.pcnn"
    # the plain weights are the average: the programs read it
    run -0 --separate-stderr "$NLL" -m "$D/a.pcnn" "$SIX"
}

@test "pcnn-train: bad --lr-schedule, --ema and --dropout values are usage errors (exit 2)" {
    for bad in "--lr-schedule linear" "--lr-schedule exp:" "--lr-schedule exp:1.5" "--lr-schedule cosine:x" \
               "--lr-schedule cosine:2 --warmup 5" "--ema 1" "--ema -0.1" "--dropout 1" "--warmup -1"; do
        # shellcheck disable=SC2086  # split on purpose
        run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -L 1 -p 6 -n 3 -s 2 $bad "$SIX"
        assert_usage_error pcnn-train ""
        assert_no_leftovers "$D/m.pcnn"
    done
}

@test "pcnn-train: --resume at the final step changes nothing" {
    run -0 --separate-stderr tiny_train -o "$D/a.pcnn" "$SIX"
    cp "$D/a.pcnn" "$D/b.pcnn"
    run -0 --separate-stderr "$TRAIN" --resume -s 6 -o "$D/b.pcnn" "$SIX"
    cmp "$D/a.pcnn" "$D/b.pcnn"
}

@test "pcnn-train: --resume of a class model without -l exits 1 and keeps the model" {
    printf '%s\n' 0 1 2 0 1 2 >"$D/labels.txt"
    run -0 --separate-stderr tiny_train -o "$D/c.pcnn" -l "$D/labels.txt" "$SIX"
    cp "$D/c.pcnn" "$D/keep.pcnn"
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/c.pcnn" "$SIX"
    assert_no_stdout
    assert_one_error_line pcnn-train "$D/c.pcnn"
    cmp "$D/c.pcnn" "$D/keep.pcnn"
}

@test "pcnn-train: --resume of a missing model exits 1" {
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/none.pcnn" "$SIX"
    assert_no_stdout
    assert_one_error_line pcnn-train "$D/none.pcnn"
    assert_no_leftovers "$D/none.pcnn"
}

# ---- signals ---------------------------------------------------------------------------

@test "pcnn-train: SIGINT saves, says 'interrupted', exits 1; the model loads and --resume continues" {
    local m=$D/int.pcnn pid rc=0 step
    "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 100000000 --every 5 -o "$m" "$SIX" >"$D/out" 2>"$D/err" 3>&- &
    pid=$!
    wait_for_file "$m" || { kill -KILL "$pid"; die "no checkpoint after 30 s"; }
    kill -INT "$pid"
    if ! wait_gone "$pid"; then
        kill -KILL "$pid"
        die "still running 30 s after SIGINT"
    fi
    wait "$pid" || rc=$?
    status=$rc output=$(cat "$D/out") stderr=$(cat "$D/err")
    [ "$rc" -eq 1 ] || die "exit status $rc, expected 1"
    assert_no_stdout
    [[ $stderr == *interrupted* ]] || die "no 'interrupted' message"
    step=$(sed -n 's/.*interrupted at step \([0-9][0-9]*\).*/\1/p' "$D/err")
    [ -n "$step" ] || die "no step in the message"
    [ "$(model_meta "$m" train.step)" = "$step" ] || die "the saved model is not at step $step"
    assert_no_leftovers "$D/none" # no temporary files
    run -0 --separate-stderr "$NLL" -m "$m" "$SIX"
    [ "$(nlines "$output")" -eq 7 ] || die "the interrupted model does not evaluate"
    run -0 --separate-stderr "$TRAIN" --resume -s $((step + 3)) -o "$m" "$SIX"
    [[ $stderr == *"step $step of $((step + 3))"* ]] || die "did not resume at step $step"
    [ "$(model_meta "$m" train.step)" = $((step + 3)) ]
}

@test "pcnn-train: a Ctrl-C anywhere in a step saves cleanly (8 tries)" {
    # A handler run on the interrupted thread's stack once landed in a oneDNN sgemm
    # kernel whose stack pointer is a heap buffer, and a third of these runs died of a
    # corrupted heap at the save (the signals now go to a thread of their own:
    # test_cli). Small steps, so that the signals land all over them.
    local k pid rc
    for ((k = 0; k < 8; k++)); do
        "$TRAIN" -L 1 -p 4 -n 3 -b 2 -s 100000000 --every 100000000 -o "$D/m$k.pcnn" "$SIX" 2>"$D/err" 3>&- &
        pid=$!
        wait_for_text "$D/err" "steps left take about" || { kill -KILL "$pid"; die "training did not start"; }
        sleep "0.$((k + 1))"
        kill -INT "$pid"
        wait_gone "$pid" || { kill -KILL "$pid"; die "still running 30 s after SIGINT"; }
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" -eq 1 ] && grep -q "interrupted at step" "$D/err" ||
            die "try $k: status $rc: $(cat "$D/err")"
    done
}

@test "pcnn-train on a terminal: the bar fits its width; a validation line replaces the bar" {
    run timeout 120 script -qec "stty cols 50; $(printf '%q ' "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 12 --every 6 \
        --valid "$SIX" --valid-size 2 -o "$D/m.pcnn" "$MANY")" /dev/null </dev/null
    [ "$status" -eq 0 ] || die "status $status: $output"
    local seg longest=0 plain
    # every drawing of the bar: the pieces between carriage returns and newlines that
    # begin with it, escape sequences removed
    while IFS= read -r seg; do
        plain=$(sed 's/\x1b\[K//g' <<<"$seg")
        [[ $plain == "train ["* ]] || continue
        [ "${#plain}" -le "$longest" ] || longest=${#plain}
    done < <(tr '\r' '\n' <<<"$output")
    [ "$longest" -gt 0 ] || die "no bar drawn: $output"
    [ "$longest" -le 49 ] || die "a bar of $longest characters on a 50-column terminal"
    [[ $output == *$'\r\e[Kpcnn-train: step 6 valid'* ]] || die "the validation line does not replace the bar"
}

# wait_for_text FILE TEXT: until FILE holds TEXT (at most 30 s)
wait_for_text() {
    local i
    for ((i = 0; i < 600; i++)); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

@test "pcnn-train: Ctrl-C says it stops after the step; a second one quits at once, saving nothing" {
    local m=$D/twice.pcnn pid rc=0 i
    # steps of seconds (8 layers of 64 maps, 32 images of 64x64), so both signals land in one
    for i in 1 2 3 4 5 6; do printf 'P5\n64 64\n255\n'; head -c 4096 /dev/urandom; done >"$D/big.pgm"
    "$TRAIN" -L 8 -p 64 -n 5 -b 32 -s 100000000 --every 100000 -o "$m" "$D/big.pgm" >"$D/out" 2>"$D/err" 3>&- &
    pid=$!
    wait_for_text "$D/err" "step 0 of" || { kill -KILL "$pid"; die "training did not start"; }
    kill -INT "$pid"
    wait_for_text "$D/err" "stopping after this step (Ctrl-C again to quit without saving)" ||
        { kill -KILL "$pid"; die "no message after the first Ctrl-C: $(cat "$D/err")"; }
    kill -INT "$pid" 2>/dev/null || die "the step ended before the second Ctrl-C (too fast a machine?)"
    wait_gone "$pid" || { kill -KILL "$pid"; die "still running 30 s after the second Ctrl-C"; }
    wait "$pid" || rc=$?
    [ "$rc" -eq 130 ] || die "exit status $rc, expected 130 (killed by SIGINT): $(cat "$D/err")"
    [ ! -e "$m" ] || die "a model was saved"
    ! grep -q "saved" "$D/err" || die "it says it saved: $(cat "$D/err")"
}

@test "pcnn-train: SIGTERM also saves and exits 1" {
    local m=$D/term.pcnn pid rc=0
    "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 100000000 --every 5 -o "$m" "$SIX" >"$D/out" 2>"$D/err" 3>&- &
    pid=$!
    wait_for_file "$m" || { kill -KILL "$pid"; die "no checkpoint after 30 s"; }
    kill -TERM "$pid"
    if ! wait_gone "$pid"; then
        kill -KILL "$pid"
        die "still running 30 s after SIGTERM"
    fi
    wait "$pid" || rc=$?
    [ "$rc" -eq 1 ] || { cat "$D/err" >&2; die "exit status $rc, expected 1"; }
    grep -q interrupted "$D/err"
    run -0 --separate-stderr "$NLL" -m "$m" "$SIX"
}

@test "pcnn-train says the model's size and its cost per image before the first step" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$SIX"
    drop_device_lines
    [[ ${stderr_lines[0]} =~ [0-9]+\ parameters\ \([0-9.]+\ MB\),\ [0-9.e-]+\ GFLOP\ per\ image\;\ step\ 0\ of\ 6$ ]] ||
        die "first line: ${stderr_lines[0]}"
}

@test "pcnn-train --log FILE: one JSON line per validation, appended across a resume" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" --log "$D/log.jsonl" --valid "$SIX" --valid-size 2 "$MANY"
    [ "$(nlines "$(cat "$D/log.jsonl")")" -eq 2 ] || die "expected 2 lines (steps 3 and 6): $(cat "$D/log.jsonl")"
    grep -qE '^\{"step":3,"seconds":[0-9.]+,"bpd":[0-9.]+,"train_loss":[0-9.]+,"lr":0\.001\}$' "$D/log.jsonl" ||
        die "line: $(head -n 1 "$D/log.jsonl")"
    # the bpd logged is the validation line's (to its 4 decimals)
    local v w
    v=$(sed -n 's/.*step 6 valid \([0-9.]*\) bpd.*/\1/p' <<<"$stderr")
    w=$(sed -n 's/^{"step":6,.*"bpd":\([0-9.]*\),.*/\1/p' "$D/log.jsonl")
    awk -v a="$v" -v b="$w" 'BEGIN { exit !(a - b < 6e-5 && b - a < 6e-5) }' || die "step 6: $v on stderr, $w in the log"
    run -0 --separate-stderr "$TRAIN" --resume -s 9 --every 3 -o "$D/m.pcnn" --log "$D/log.jsonl" --valid "$SIX" --valid-size 2 "$MANY"
    [ "$(nlines "$(cat "$D/log.jsonl")")" -eq 3 ] || die "the resumed run did not append its line"
    run -2 --separate-stderr tiny_train -o "$D/n.pcnn" --log "$MANY" "$MANY"
    assert_usage_error pcnn-train "--log"
}

@test "pcnn-train --sample-every N: a grid beside the model every N steps; training is the same as without" {
    local labels=$BATS_TEST_TMPDIR/labels.txt
    for ((k = 0; k < 24; k++)); do echo $((k % 3)); done >"$labels"
    run -0 --separate-stderr tiny_train -o "$D/a.pcnn" -l "$labels" --sample-every 3 "$MANY"
    is_png "$D/a-step3.png" && is_png "$D/a-step6.png" || die "no grids: $(ls "$D")"
    # 3 classes of 8 images of 4x4, 1 px gaps, drawn twice their size: 78x28
    [ "$(od -An -tu1 -j16 -N8 "$D/a-step6.png" | tr -s ' ')" = " 0 0 0 78 0 0 0 28" ] || die "not 78x28"
    run -0 --separate-stderr tiny_train -o "$D/b.pcnn" -l "$labels" "$MANY"
    cmp "$D/a.pcnn" "$D/b.pcnn" || die "sampling changed the training"
    run -2 --separate-stderr "$TRAIN" --embed 4 -l "$labels" --sample-every 3 -o "$D/e.pcnn" "$MANY"
    assert_usage_error pcnn-train "--sample-every"
}

@test "pcnn-train: off a terminal, progress is a line every 10 s and a last one at the end" {
    # stopped by SIGINT after its first progress line (10 s into training): then the last
    # line at the step it stopped at
    "$TRAIN" -o "$D/m.pcnn" -L 1 -p 4 -n 3 -b 2 --steps 100000000 --every 100000000 "$SIX" 2>"$D/err" &
    local pid=$! progress step
    for _ in $(seq 600); do grep -q '^pcnn-train: train ' "$D/err" && break; sleep 0.1; done
    kill -INT "$pid"
    wait "$pid" || true
    stderr=$(cat "$D/err")
    progress=$(grep -c '^pcnn-train: train [0-9]*/100000000 ' <<<"$stderr")
    [ "$progress" -eq 2 ] || die "expected 2 progress lines, got $progress"
    step=$(sed -n 's/^pcnn-train: interrupted at step \([0-9]*\);.*/\1/p' <<<"$stderr")
    [ -n "$step" ] || die "no interruption line"
    grep "^pcnn-train: train [0-9]*/100000000 " <<<"$stderr" | tail -n 1 | grep -q "train $step/" ||
        die "the last progress line is not at step $step"
}

# ---- the held-out set and --keep-best ------------------------------------------------

# flat_pgm N W H VALUE: N P5 images of one gray value
flat_pgm() {
    local n=$1 w=$2 h=$3 v=$4 k
    for ((k = 0; k < n; k++)); do
        printf 'P5\n%d %d\n255\n' "$w" "$h"
        head -c $((w * h)) /dev/zero | tr '\0' "\\$(printf '%03o' "$v")"
    done
}

@test "pcnn-train: the held-out 5% is drawn from the whole input, not its sorted tail" {
    # 38 black images, then 2 white ones: the last 5% would be the white ones, which a
    # model of black images finds very unlikely
    { flat_pgm 38 4 4 0; flat_pgm 2 4 4 255; } >"$D/sorted.pgm"
    run -0 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -L 1 -p 4 -n 3 -b 4 -s 40 --every 40 --lr 0.01 "$D/sorted.pgm"
    local v
    v=$(sed -n 's/^pcnn-train: step 40 valid \([0-9.]*\) bpd$/\1/p' <<<"$stderr")
    [ -n "$v" ] || die "no validation line"
    awk -v v="$v" 'BEGIN { exit !(v < 2) }' || die "held-out bits/dim $v: the held-out images look white"
    [ "$(model_meta "$D/m.pcnn" train.held_out)" = random ] || die "the choice is not in the training state"
}

@test "pcnn-train --keep-best: FILE holds the weights of the best validation, and a resume goes on from it" {
    pgm_stream 8 4 4 >"$D/valid.pgm"
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" --steps 12 --valid "$D/valid.pgm" --keep-best "$D/best.pcnn" "$MANY"
    local first="$stderr" all best nll
    run -0 --separate-stderr "$TRAIN" -o "$D/m.pcnn" --resume --steps 30 --every 3 --valid "$D/valid.pgm" \
        --keep-best "$D/best.pcnn" "$MANY"
    all=$(printf '%s\n%s\n' "$first" "$stderr" | sed -n 's/^pcnn-train: step [0-9]* valid \([0-9.]*\) bpd$/\1/p')
    [ "$(nlines "$all")" -eq 10 ] || die "expected 10 validations, got: $all"
    best=$(model_meta "$D/m.pcnn" train.best)
    [ -n "$best" ] || die "the checkpoint keeps no best figure"
    awk -v b="$best" 'NR == 1 || $1 < min { min = $1 } END { exit !(sprintf("%.4f", b) == sprintf("%.4f", min)) }' <<<"$all" ||
        die "best $best is not the least of: $all"
    nll=$("$NLL" -m "$D/best.pcnn" "$D/valid.pgm" | tail -n 1 | cut -f2)
    # within half the 4th decimal: rounding both to 4 decimals failed where they straddled a
    # rounding boundary (7.995150 against 7.99515011)
    awk -v a="$nll" -v b="$best" 'BEGIN { d = a - b; exit !(d <= 5e-5 && d >= -5e-5) }' ||
        die "pcnn-nll of the best model: $nll, the best validation: $best"
    [ -z "$(model_meta "$D/best.pcnn" train.step)" ] || die "the best model carries training state"
}

@test "pcnn-train --keep-best: refused as -o's file, as an input, and without held-out images" {
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --keep-best "$D/m.pcnn" "$MANY"
    assert_usage_error pcnn-train "--keep-best"
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --keep-best "$MANY" "$MANY"
    assert_usage_error pcnn-train "--keep-best"
    run -2 --separate-stderr tiny_train -o "$D/m.pcnn" --keep-best "$D/best.pcnn" "$SIX"
    assert_usage_error pcnn-train "held-out"
    [ ! -e "$D/best.pcnn" ] && [ ! -e "$D/m.pcnn" ] || die "an output was written"
}

@test "pcnn-train: after its second step, one line says what a step costs and what the rest takes" {
    run -0 --separate-stderr tiny_train -o "$D/m.pcnn" "$MANY"
    [ "$(grep -c '^pcnn-train: [0-9.e-]* s per step: the 4 steps left take about 0:0[0-9] (held-out scoring not counted)$' <<<"$stderr")" -eq 1 ] ||
        die "no estimate line for the 4 steps after the second"
    run -0 --separate-stderr tiny_train -o "$D/q.pcnn" -q "$MANY"
    [[ $stderr != *"per step"* ]] || die "-q still estimates"
}
