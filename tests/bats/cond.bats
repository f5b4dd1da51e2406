#!/usr/bin/env bats
# cond.bats -- the conditioning pipelines: autoencoder (pcnn-encode | pcnn-sample), the
# MSE autoencoder, spatial conditioning, dense vectors, embeddings (pcnn-embed |
# pcnn-sample), interpolation rows with shared noise; and bad input to each.

bats_require_minimum_version 1.5.0
load helpers

# 8x8 gray images: the encoder and m() halve twice, so 4x4 is their smallest input
setup_file() {
    local d=$BATS_FILE_TMPDIR
    pgm_stream 8 8 8 >"$d/gray.pgm"
    pgm_stream 1 8 8 >"$d/one.pgm"
    pgm_stream 1 6 6 >"$d/small.pgm"
    pgm_stream 4 3 3 >"$d/tiny.pgm"
    printf '%s\n' 0 0 1 1 2 2 3 3 >"$d/ids.txt"
    tiny_train -o "$d/ae.pcnn" -e 3 --net-features 2 "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/aes.pcnn" -e 3 --spatial 2 --net-features 2 "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/mse.pcnn" -e 3 --mse --net-features 2 "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/emb.pcnn" --embed 3 -l "$d/ids.txt" --net-features 2 "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/spc.pcnn" -l "$d/ids.txt" --spatial 2 --net-features 2 "$d/gray.pgm" 2>/dev/null
    "$EMBED" -m "$d/emb.pcnn" "$d/gray.pgm" >"$d/emb.npy"
    tiny_train -o "$d/dense.pcnn" --cond "$d/emb.npy" "$d/gray.pgm" 2>/dev/null
}

# number of 8x8 images in a stream as pcnn-sample writes them ("P5\n8 8\n255\n" and 64
# bytes each); a size that is not a whole number of them prints "torn"
count_images() {
    local size
    size=$(stat -c %s "$1")
    if [ $((size % 75)) -ne 0 ]; then echo torn; else echo $((size / 75)); fi
}

@test "the autoencoder: pcnn-encode | pcnn-sample -n 4 draws 4 reconstructions of one image" {
    d=$BATS_FILE_TMPDIR
    "$ENCODE" -m "$d/ae.pcnn" "$d/one.pgm" >"$BATS_TEST_TMPDIR/h.npy"
    [ "$(head -c 6 "$BATS_TEST_TMPDIR/h.npy" | od -An -c | tr -d ' ')" = '223NUMPY' ]
    "$SAMPLE" -m "$d/ae.pcnn" -n 4 <"$BATS_TEST_TMPDIR/h.npy" >"$BATS_TEST_TMPDIR/out.pgm"
    [ "$(count_images "$BATS_TEST_TMPDIR/out.pgm")" -eq 4 ]
}

@test "pcnn-encode writes one record per image, of the model's code size" {
    d=$BATS_FILE_TMPDIR
    "$ENCODE" -m "$d/aes.pcnn" "$d/gray.pgm" >"$BATS_TEST_TMPDIR/h.npy"
    [ "$(grep -a -c "'shape': (3,)" "$BATS_TEST_TMPDIR/h.npy")" -eq 8 ]
    run "$SAMPLE" -m "$d/aes.pcnn" --cond "$BATS_TEST_TMPDIR/h.npy" -o "$BATS_TEST_TMPDIR/grid.png"
    [ "$status" -eq 0 ] || die "sampling from codes failed"
    is_png "$BATS_TEST_TMPDIR/grid.png"
}

@test "pcnn-nll of an autoencoder encodes each image itself: one line per image and the mean" {
    run -0 --separate-stderr "$NLL" -m "$BATS_FILE_TMPDIR/ae.pcnn" "$BATS_FILE_TMPDIR/gray.pgm"
    [ "$(nlines "$output")" -eq 9 ] || die "expected 8 lines and the mean"
    [[ ${lines[8]} == mean* ]]
}

@test "the MSE autoencoder decodes one image per code, the same each time" {
    d=$BATS_FILE_TMPDIR
    "$ENCODE" -m "$d/mse.pcnn" "$d/gray.pgm" >"$BATS_TEST_TMPDIR/h.npy"
    "$SAMPLE" -m "$d/mse.pcnn" -n 5 <"$BATS_TEST_TMPDIR/h.npy" >"$BATS_TEST_TMPDIR/a.pgm"
    "$SAMPLE" -m "$d/mse.pcnn" --seed 7 <"$BATS_TEST_TMPDIR/h.npy" >"$BATS_TEST_TMPDIR/b.pgm"
    [ "$(count_images "$BATS_TEST_TMPDIR/a.pgm")" -eq 8 ]
    cmp "$BATS_TEST_TMPDIR/a.pgm" "$BATS_TEST_TMPDIR/b.pgm"
}

@test "spatial class conditioning draws a row per class and records itself in the model" {
    [ "$(model_meta "$BATS_FILE_TMPDIR/spc.pcnn" spatial)" = 2 ]
    [ "$(model_meta "$BATS_FILE_TMPDIR/ae.pcnn" encoder)" = 1 ]
    [ "$(model_meta "$BATS_FILE_TMPDIR/mse.pcnn" kind)" = mse-autoencoder ]
    [ "$(model_meta "$BATS_FILE_TMPDIR/emb.pcnn" kind)" = embedding ]
    "$SAMPLE" -m "$BATS_FILE_TMPDIR/spc.pcnn" -c all -n 2 >"$BATS_TEST_TMPDIR/out.pgm"
    [ "$(count_images "$BATS_TEST_TMPDIR/out.pgm")" -eq 8 ]
}

@test "embeddings: pcnn-embed | pcnn-sample draws images of a new face from a dense model" {
    d=$BATS_FILE_TMPDIR
    [ "$(grep -a -c "'shape': (3,)" "$d/emb.npy")" -eq 8 ]
    "$EMBED" -m "$d/emb.pcnn" "$d/one.pgm" | "$SAMPLE" -m "$d/dense.pcnn" -n 3 >"$BATS_TEST_TMPDIR/out.pgm"
    [ "$(count_images "$BATS_TEST_TMPDIR/out.pgm")" -eq 3 ]
}

@test "interpolation rows: with --same-noise, image k of every record draws the same noise" {
    d=$BATS_FILE_TMPDIR
    # the same code three times: every row must repeat the first
    "$EMBED" -m "$d/emb.pcnn" "$d/one.pgm" >"$BATS_TEST_TMPDIR/a.npy"
    "$INTERP" -n 3 "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/a.npy" |
        "$SAMPLE" -m "$d/dense.pcnn" -n 2 --seed 11 --same-noise >"$BATS_TEST_TMPDIR/rows.pgm"
    size=75
    for r in 1 2; do
        for k in 0 1; do
            cmp <(tail -c +$((k * size + 1)) "$BATS_TEST_TMPDIR/rows.pgm" | head -c "$size") \
                <(tail -c +$(((r * 2 + k) * size + 1)) "$BATS_TEST_TMPDIR/rows.pgm" | head -c "$size") ||
                die "row $r image $k differs from row 0's"
        done
    done
    # and a different seed draws different images
    "$SAMPLE" -m "$d/dense.pcnn" -n 2 --seed 12 <"$BATS_TEST_TMPDIR/a.npy" >"$BATS_TEST_TMPDIR/other.pgm"
    ! cmp -s <(head -c $((2 * size)) "$BATS_TEST_TMPDIR/rows.pgm") "$BATS_TEST_TMPDIR/other.pgm"
}

# ---- bad input ---------------------------------------------------------------------------

@test "a vector of the wrong length for the model: one error line naming the record" {
    npy_record 1 0 >"$BATS_TEST_TMPDIR/short.npy"
    run -1 --separate-stderr "$SAMPLE" -m "$BATS_FILE_TMPDIR/ae.pcnn" --cond "$BATS_TEST_TMPDIR/short.npy"
    assert_no_stdout
    assert_one_error_line pcnn-sample short.npy "2 values" 3
}

@test "NaN in a vector: one error line, nothing drawn" {
    npy_record 1 nan 0 | {
        run -1 --separate-stderr "$SAMPLE" -m "$BATS_FILE_TMPDIR/ae.pcnn"
        assert_no_stdout
        assert_one_error_line pcnn-sample NaN
    }
}

@test "an embedding net given to pcnn-sample or pcnn-encode, an autoencoder to pcnn-embed: usage errors" {
    run -2 --separate-stderr "$SAMPLE" -m "$BATS_FILE_TMPDIR/emb.pcnn" --cond "$BATS_FILE_TMPDIR/emb.npy"
    assert_usage_error pcnn-sample emb.pcnn embedding
    run -2 --separate-stderr "$ENCODE" -m "$BATS_FILE_TMPDIR/emb.pcnn" "$BATS_FILE_TMPDIR/one.pgm"
    assert_usage_error pcnn-encode emb.pcnn pcnn-embed
    run -2 --separate-stderr "$EMBED" -m "$BATS_FILE_TMPDIR/ae.pcnn" "$BATS_FILE_TMPDIR/one.pgm"
    assert_usage_error pcnn-embed ae.pcnn "not an embedding net"
    run -2 --separate-stderr "$ENCODE" -m "$BATS_FILE_TMPDIR/spc.pcnn" "$BATS_FILE_TMPDIR/one.pgm"
    assert_usage_error pcnn-encode spc.pcnn "no encoder"
    run -2 --separate-stderr "$NLL" -m "$BATS_FILE_TMPDIR/mse.pcnn" "$BATS_FILE_TMPDIR/one.pgm"
    assert_usage_error pcnn-nll mse.pcnn likelihood
}

@test "pcnn-encode: an image of the wrong size, a missing file: one error line naming it" {
    run -1 --separate-stderr "$ENCODE" -m "$BATS_FILE_TMPDIR/ae.pcnn" "$BATS_FILE_TMPDIR/small.pgm"
    assert_no_stdout
    assert_one_error_line pcnn-encode small.pgm
    run -1 --separate-stderr "$EMBED" -m "$BATS_FILE_TMPDIR/emb.pcnn" "$BATS_TEST_TMPDIR/nope.pgm"
    assert_no_stdout
    assert_one_error_line pcnn-embed nope.pgm
    run -2 --separate-stderr "$ENCODE" "$BATS_FILE_TMPDIR/one.pgm"
    assert_usage_error pcnn-encode "-m MODEL"
}

@test "pcnn-train: conditioning options that do not go together are usage errors" {
    d=$BATS_FILE_TMPDIR
    run -2 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --mse "$d/gray.pgm"
    assert_usage_error pcnn-train -- "--mse"
    run -2 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --embed 4 "$d/gray.pgm"
    assert_usage_error pcnn-train -- "-l"
    run -2 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" -e 3 -l "$d/ids.txt" "$d/gray.pgm"
    assert_usage_error pcnn-train encoder
    run -2 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --spatial 2 "$d/gray.pgm"
    assert_usage_error pcnn-train -- "--spatial"
    run -2 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" -e 3 "$d/tiny.pgm"
    assert_usage_error pcnn-train 3x3 "too small"
    assert_no_leftovers "$BATS_TEST_TMPDIR/m.pcnn"
}

@test "pcnn-train --cond: vectors of two lengths, or fewer vectors than images" {
    d=$BATS_FILE_TMPDIR
    { npy_record 1 0 0; npy_record 1 0; } >"$BATS_TEST_TMPDIR/mixed.npy"
    run -1 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --cond "$BATS_TEST_TMPDIR/mixed.npy" "$d/gray.pgm"
    assert_one_error_line pcnn-train mixed.npy "record 2"
    npy_record 1 0 0 >"$BATS_TEST_TMPDIR/one.npy"
    run -1 --separate-stderr "$TRAIN" -o "$BATS_TEST_TMPDIR/m.pcnn" --cond "$BATS_TEST_TMPDIR/one.npy" "$d/gray.pgm"
    assert_one_error_line pcnn-train one.npy "1 conditioning vectors for 8 images"
    assert_no_leftovers "$BATS_TEST_TMPDIR/m.pcnn"
}
