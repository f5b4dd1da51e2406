#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-sample --prefix: completing images from their top rows (--rows) or a mask of known
# pixels (--known), with every kind of conditioning; the kept pixels never change.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
    tiny_train -o "$BATS_FILE_TMPDIR/ae.pcnn" -e 2 "$BATS_FILE_TMPDIR/gray.pgm" 2>/dev/null
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# raster K N BYTES FILE: bytes [0, BYTES) of image K's raster in a stream of 4x4 images
# whose header is 11 bytes ("P5\n4 4\n255\n" or P6) and raster N bytes
raster() {
    tail -c +$(($1 * (11 + $2) + 12)) "$4" | head -c "$3" | od -An -tu1 | tr -s ' \n' ' '
}

@test "pcnn-sample --prefix: the kept rows are the given image's in every completion (gray, RGB, 2 levels)" {
    local model src n
    for model in gray rgb bin; do
        src=$F/gray.pgm n=16
        [ $model = rgb ] && src=$F/rgb.ppm n=48
        run -0 --separate-stderr bash -c '"$1" -m "$2" --prefix "$3" --rows 2 -n 3 --seed 5 >"$4"' _ \
            "$SAMPLE" "$F/$model.pcnn" "$src" "$D/out"
        [ "$(pamfile -allimages "$D/out" | wc -l)" -eq 18 ] || die "$model: not 18 images"
        [ $model = bin ] && continue # its kept rows are the source quantized to 2 levels
        local k
        for k in $(seq 0 17); do
            [ "$(raster "$k" $n $((n / 2)) "$D/out")" = "$(raster $((k / 3)) $n $((n / 2)) "$src")" ] ||
                die "$model: completion $k changed the top rows of image $((k / 3))"
        done
    done
}

@test "pcnn-sample --prefix: a greedy completion (-t 0) is the same for any seed, and differs from a drawn one" {
    "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --rows 1 -t 0 --seed 1 >"$D/a"
    "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --rows 1 -t 0 --seed 2 >"$D/b"
    "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --rows 1 --seed 2 >"$D/c"
    cmp -s "$D/a" "$D/b" || die "greedy completions depend on the seed"
    ! cmp -s "$D/a" "$D/c" || die "a drawn completion is the greedy one"
}

@test "pcnn-sample --known MASK: white pixels are kept, wherever they are" {
    # white (0 in a PBM) on the diagonal and in the last row
    printf 'P1\n4 4\n0 1 1 1\n1 0 1 1\n1 1 0 1\n0 0 0 0\n' >"$D/mask.pbm"
    "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --known "$D/mask.pbm" -n 2 --seed 3 >"$D/out"
    local k p
    for k in $(seq 0 11); do
        local got want
        read -ra got <<<"$(raster "$k" 16 16 "$D/out")"
        read -ra want <<<"$(raster $((k / 2)) 16 16 "$F/gray.pgm")"
        for p in 0 5 10 12 13 14 15; do
            [ "${got[p]}" = "${want[p]}" ] || die "completion $k: known pixel $p is ${got[p]}, not ${want[p]}"
        done
    done
}

@test "pcnn-sample --prefix: with a class (-c K), with records on stdin, and with an autoencoder's codes" {
    run -0 --separate-stderr bash -c '"$1" -m "$2" --prefix "$3" -c 2 -n 2 >"$4"' _ "$SAMPLE" "$F/class.pcnn" "$F/gray.pgm" "$D/c"
    [ "$(stat -c %s "$D/c")" -eq $((12 * 27)) ] || die "-c 2: not 12 images"
    run -0 --separate-stderr bash -c '"$1" -m "$2" "$3" | "$4" -m "$2" --prefix "$3" --rows 2 -n 2 >"$5"' _ \
        "$ENCODE" "$F/ae.pcnn" "$F/gray.pgm" "$SAMPLE" "$D/ae"
    [ "$(stat -c %s "$D/ae")" -eq $((12 * 27)) ] || die "autoencoder: not 12 images"
    local k
    for k in $(seq 0 11); do
        [ "$(raster "$k" 16 8 "$D/ae")" = "$(raster $((k / 2)) 16 8 "$F/gray.pgm")" ] || die "autoencoder: image $k's top rows changed"
    done
    # codes of 2 images for 6: one line saying so
    run -1 --separate-stderr bash -c 'head -c 54 "$3" | "$4" -q -m "$2" | "$1" -m "$2" --prefix "$3"' _ \
        "$SAMPLE" "$F/ae.pcnn" "$F/gray.pgm" "$ENCODE"
    assert_one_error_line pcnn-sample "2 conditioning records for 6 images"
}

@test "pcnn-sample --prefix: misuses are usage errors, and a wrong image size names the file" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --rows 2
    assert_usage_error pcnn-sample "--prefix"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --rows 5
    assert_usage_error pcnn-sample "--rows 5"
    printf 'P1\n4 4\n0 0 0 0\n0 0 0 0\n0 0 0 0\n0 0 0 0\n' >"$D/mask.pbm"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --prefix "$F/gray.pgm" --rows 1 --known "$D/mask.pbm"
    assert_usage_error pcnn-sample "--known"
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --prefix "$F/gray.pgm" -c all
    assert_usage_error pcnn-sample "-c all"
    pgm_stream 2 5 4 >"$D/wide.pgm"
    run -1 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --prefix "$D/wide.pgm"
    assert_one_error_line pcnn-sample "$D/wide.pgm"
}

@test "pcnn-sample -l LABELS: one row per label, in a completion the class of each image" {
    printf '%s\n' 2 0 1 1 0 2 >"$D/l.txt"
    "$SAMPLE" -m "$F/class.pcnn" -l "$D/l.txt" --prefix "$F/gray.pgm" -n 2 --seed 4 >"$D/by-l"
    for k in 0 1 2; do "$SAMPLE" -m "$F/class.pcnn" -c $k --prefix "$F/gray.pgm" -n 2 --seed 4 >"$D/c$k"; done
    # image i of the -l run is the completion of the -c run with its label
    local i want
    for i in 0 1 2 3 4 5; do
        want=$(sed -n "$((i + 1))p" "$D/l.txt")
        [ "$(raster $((2 * i)) 16 16 "$D/by-l")" = "$(raster $((2 * i)) 16 16 "$D/c$want")" ] ||
            die "image $i was not completed given class $want"
    done
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -l "$D/l.txt" -c 1
    assert_usage_error pcnn-sample "-l"
    # a label file that goes on past the images (a whole test set's) is read as far as they go
    { cat "$D/l.txt"; printf '%s\n' 0 1; } >"$D/long.txt"
    "$SAMPLE" -m "$F/class.pcnn" -l "$D/long.txt" --prefix "$F/gray.pgm" -n 2 --seed 4 >"$D/by-long"
    cmp -s "$D/by-l" "$D/by-long" || die "a longer label file gives other completions"
    head -n 4 "$D/l.txt" >"$D/short.txt"
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -l "$D/short.txt" --prefix "$F/gray.pgm"
    assert_one_error_line pcnn-sample "4 labels for 6 images"
}
