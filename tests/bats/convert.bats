#!/usr/bin/env bats
# shellcheck disable=SC2154  # bats sets status/output/stderr
# pcnn-convert: any image format pcnn reads, as a netpbm stream or a PNG grid; labels as text.
bats_require_minimum_version 1.5.0

load helpers

setup() {
    D=$BATS_TEST_TMPDIR
}

# idx_images N: an IDX file (gzipped) of N 2x3 images whose pixels are all k for image k
idx_images() {
    local k
    { printf '\0\0\010\003'; printf "\\0\\0\\0\\$(printf %03o "$1")"; printf '\0\0\0\002\0\0\0\003'
      for ((k = 0; k < $1; k++)); do printf "\\$(printf %03o "$k")%.0s" 1 2 3 4 5 6; done; } | gzip
}

@test "pcnn-convert: IDX images to a netpbm stream, --skip and --limit, labels to text" {
    idx_images 5 >"$D/img.gz"
    { printf '\0\0\010\001\0\0\0\005'; printf '\007\003\001\004\002'; } >"$D/lab"
    run -0 --separate-stderr bash -c '"$1" --skip 1 --limit 3 -l "$3" --labels-out "$4" "$2" | od -An -v -tu1' _ \
        "$CONVERT" "$D/img.gz" "$D/lab" "$D/ids.txt"
    # three P5 2x3 images (header "P5\n3 2\n255\n", 11 bytes), pixels 1, 2 and 3
    local want="" k
    for k in 1 2 3; do want+=" 80 53 10 51 32 50 10 50 53 53 10 $k $k $k $k $k $k"; done
    [ "$(tr -s ' \n' ' ' <<<"$output")" = "$want " ] || die "bytes: $output"
    [ "$(cat "$D/ids.txt")" = "$(printf '3\n1\n4')" ] || die "labels: $(cat "$D/ids.txt")"
}

@test "pcnn-convert: a PNG grid (-o .png, --cols, --scale); -o other is the stream; its output reads back" {
    idx_images 4 >"$D/img.gz"
    "$CONVERT" --cols 2 --scale 2 -o "$D/g.png" "$D/img.gz"
    is_png "$D/g.png" || die "no PNG"
    [ "$(od -An -tu1 -j16 -N8 "$D/g.png" | tr -s ' ')" = " 0 0 0 14 0 0 0 10" ] || die "not 14x10"
    "$CONVERT" -o "$D/s.pgm" "$D/img.gz"
    "$CONVERT" "$D/img.gz" | cmp - "$D/s.pgm"
    "$CONVERT" "$D/s.pgm" | cmp - "$D/s.pgm"
}

@test "pcnn-convert: bad input, too few labels, nothing after --skip: exit 1, one line, no output file" {
    idx_images 3 >"$D/img.gz"
    printf '1\n2\n' >"$D/two.txt"
    run -1 --separate-stderr "$CONVERT" -l "$D/two.txt" --labels-out "$D/ids.txt" -o "$D/o.pgm" "$D/img.gz"
    assert_one_error_line pcnn-convert "$D/two.txt" "2 labels"
    assert_no_leftovers "$D/o.pgm"
    assert_no_leftovers "$D/ids.txt"
    run -1 --separate-stderr "$CONVERT" --skip 3 -o "$D/o.pgm" "$D/img.gz"
    assert_one_error_line pcnn-convert "no images after the first 3"
    printf 'P5\n2 2\n255\n' >"$D/cut.pgm"
    run -1 --separate-stderr "$CONVERT" -o "$D/o.pgm" "$D/cut.pgm"
    assert_one_error_line pcnn-convert "$D/cut.pgm"
    assert_no_leftovers "$D/o.pgm"
    run -2 --separate-stderr "$CONVERT" --labels-out "$D/ids.txt" "$D/img.gz"
    assert_usage_error pcnn-convert "-l"
}
