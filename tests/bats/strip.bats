#!/usr/bin/env bats
# shellcheck disable=SC2154  # bats sets status/output/stderr
# pcnn-strip: a model without its training state computes what the checkpoint computes.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    pgm_stream 24 4 4 >"$BATS_FILE_TMPDIR/many.pgm"
    "$TRAIN" -L 2 -p 6 -n 3 -b 4 -s 8 --every 4 --ema 0.9 -o "$BATS_FILE_TMPDIR/ckpt.pcnn" \
        "$BATS_FILE_TMPDIR/many.pgm" 2>/dev/null
}

setup() {
    D=$BATS_TEST_TMPDIR
    MANY=$BATS_FILE_TMPDIR/many.pgm
    CKPT=$BATS_FILE_TMPDIR/ckpt.pcnn
}

@test "pcnn-strip: same bits/dim and samples as the checkpoint, a quarter of its size, no training state" {
    run -0 --separate-stderr "$STRIP" -o "$D/m.pcnn" "$CKPT"
    [ -z "$output" ] && [ -z "$stderr" ] || die "pcnn-strip is not silent"
    [ "$("$NLL" -m "$D/m.pcnn" "$MANY")" = "$("$NLL" -m "$CKPT" "$MANY")" ] || die "bits/dim differ"
    cmp <("$SAMPLE" -m "$D/m.pcnn" -n 3 --seed 1) <("$SAMPLE" -m "$CKPT" -n 3 --seed 1) || die "samples differ"
    local big small
    big=$(stat -c %s "$CKPT") small=$(stat -c %s "$D/m.pcnn")
    [ $((small * 4)) -le $((big + 4096)) ] || die "$small bytes from $big"
    [ -z "$(model_meta "$D/m.pcnn" train.step)" ] || die "train.step is still there"
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/m.pcnn" "$MANY"
    assert_one_error_line pcnn-train "train.step"
}

@test "pcnn-strip: in place" {
    cp "$CKPT" "$D/c.pcnn"
    run -0 "$STRIP" -o "$D/c.pcnn" "$D/c.pcnn"
    [ "$("$NLL" -m "$D/c.pcnn" "$MANY")" = "$("$NLL" -m "$CKPT" "$MANY")" ] || die "bits/dim differ"
    [ -z "$(find "$D" -name '*.tmp*')" ] || die "temporary files left behind"
}

@test "pcnn-strip: no -o, no model, two models are usage errors (exit 2)" {
    run -2 --separate-stderr "$STRIP" "$CKPT"
    assert_usage_error pcnn-strip "-o"
    run -2 --separate-stderr "$STRIP" -o "$D/m.pcnn"
    assert_usage_error pcnn-strip "no model"
    run -2 --separate-stderr "$STRIP" -o "$D/m.pcnn" "$CKPT" "$CKPT"
    assert_usage_error pcnn-strip "one model"
    [ ! -e "$D/m.pcnn" ] || die "wrote a file"
}

@test "pcnn-strip: a missing or damaged model exits 1, names it, writes nothing" {
    run -1 --separate-stderr "$STRIP" -o "$D/m.pcnn" "$D/missing.pcnn"
    assert_one_error_line pcnn-strip "$D/missing.pcnn"
    head -c 100 "$CKPT" >"$D/cut.pcnn"
    run -1 --separate-stderr "$STRIP" -o "$D/m.pcnn" "$D/cut.pcnn"
    assert_one_error_line pcnn-strip "$D/cut.pcnn"
    [ ! -e "$D/m.pcnn" ] || die "wrote a file"
}
