#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-compress and pcnn-decompress: lossless round trips with every kind of model, coded
# the same on 1 and 2 threads and by another build, a size at the model's NLL, and bad
# files refused with one line and nothing written.
bats_require_minimum_version 1.5.0

load helpers

COMPRESS="$BIN/pcnn-compress"
DECOMPRESS="$BIN/pcnn-decompress"

setup_file() {
    fixture_models
    local d=$BATS_FILE_TMPDIR i
    tiny_train -o "$d/ae.pcnn" -e 2 --net-features 2 "$d/gray.pgm" 2>/dev/null
    { npy_record 0 1; npy_record 1 0; npy_record 0.5 -1; npy_record -1 0.5; npy_record 1 1; npy_record 0 0; } >"$d/h.npy"
    tiny_train -o "$d/vec.pcnn" --cond "$d/h.npy" "$d/gray.pgm" 2>/dev/null
    # 2-level images: samples 0 and 1, maxval 1
    for i in 1 2 3 4 5; do
        printf 'P5\n4 4\n1\n'
        head -c 16 /dev/urandom | od -An -tu1 -v | tr -s ' \n' '\n' | grep . |
            awk '{printf "%c", $1 % 2}'
    done >"$d/bits.pgm"
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# round_trip MODEL IMAGES [OPTION...]: compress and decompress; the images come back
# byte for byte (the decoder writes the headers pgm_stream and ppm_stream write)
round_trip() {
    local model=$1 images=$2
    shift 2
    run -0 --separate-stderr "$COMPRESS" -q -m "$model" "$@" -o "$D/c.pcz" "$images"
    run -0 --separate-stderr "$DECOMPRESS" -q -m "$model" -o "$D/back" "$D/c.pcz"
    cmp "$images" "$D/back" || die "$(basename "$model"): the images did not come back"
}

@test "pcnn-compress: round trips, bit for bit: gray, RGB, 2 levels, class, vector, autoencoder" {
    round_trip "$F/gray.pcnn" "$F/gray.pgm"
    round_trip "$F/rgb.pcnn" "$F/rgb.ppm"
    round_trip "$F/bin.pcnn" "$F/bits.pgm"
    round_trip "$F/class.pcnn" "$F/gray.pgm" -l "$F/labels.txt"
    round_trip "$F/class.pcnn" "$F/gray.pgm" -c 2
    round_trip "$F/vec.pcnn" "$F/gray.pgm" --cond "$F/h.npy"
    round_trip "$F/ae.pcnn" "$F/gray.pgm"
}

@test "pcnn-compress: levels wider than one sample (maxval 255, 2 levels): samples and maxval come back" {
    # each level of a 2-level model holds 128 samples of maxval 255: the coder writes
    # sample/128 and the header's maxval, the decoder level*128 under that maxval. The
    # round trips above all have maxval K - 1, where that step is 1.
    local v
    for _ in 1 2 3; do
        printf 'P5\n4 4\n255\n'
        for v in $(head -c 16 /dev/urandom | od -An -tu1 -v); do
            if ((v % 2)); then printf '\200'; else printf '\0'; fi
        done
    done >"$D/wide.pgm"
    [ "$(stat -c %s "$D/wide.pgm")" -eq $((3 * (11 + 16))) ] || die "wide.pgm is not 3 images of 4x4"
    round_trip "$F/bin.pcnn" "$D/wide.pgm"
}

@test "pcnn-compress: stdin to stdout, and files one after another decode as one stream" {
    run -0 bash -c '"$1" -q -m "$2" < "$3" | "$4" -q -m "$2" > "$5"' _ "$COMPRESS" "$F/gray.pcnn" \
        "$F/gray.pgm" "$DECOMPRESS" "$D/back"
    cmp "$F/gray.pgm" "$D/back" || die "stdin to stdout: the images did not come back"
    "$COMPRESS" -q -m "$F/gray.pcnn" -o "$D/a.pcz" "$F/gray.pgm"
    cat "$D/a.pcz" "$D/a.pcz" | "$DECOMPRESS" -q -m "$F/gray.pcnn" >"$D/two"
    cmp <(cat "$F/gray.pgm" "$F/gray.pgm") "$D/two" || die "two files in a row did not decode as twelve images"
}

@test "pcnn-compress: the same bytes on 1 and 2 threads, decoded on either" {
    OMP_NUM_THREADS=1 "$COMPRESS" -q -m "$F/rgb.pcnn" -o "$D/one.pcz" "$F/rgb.ppm"
    OMP_NUM_THREADS=2 "$COMPRESS" -q -m "$F/rgb.pcnn" -o "$D/two.pcz" "$F/rgb.ppm"
    cmp "$D/one.pcz" "$D/two.pcz" || die "1 and 2 threads coded differently"
    OMP_NUM_THREADS=1 "$DECOMPRESS" -q -m "$F/rgb.pcnn" -o "$D/back" "$D/two.pcz"
    cmp "$F/rgb.ppm" "$D/back" || die "coded on 2 threads, decoded on 1: the images differ"
}

# tests/fixtures/fashion0.v2.pcz: the first Fashion-MNIST test image (tests/fixtures/fashion0.pgm,
# class 9) coded at batch 1 with the shipped model by pcnn at dd83d67, the first to write
# pcnn-coded version 2. Every later pcnn that writes version 2 must compute its logits to
# the same bits; a change of the sums' order must bump the version instead. (Should the
# shipped model be replaced, code the image again with that commit's pcnn-compress: done for
# the model of step 14264, 2026-12-04.)
@test "pcnn-decompress: a version 2 stream from an earlier pcnn decodes, on 1 and 2 threads" {
    local model=models/fashion.pcnn n
    [ -f "$model" ] || skip "no $model"
    for n in 1 2; do
        OMP_NUM_THREADS=$n "$DECOMPRESS" -q -m "$model" -o "$D/back" tests/fixtures/fashion0.v2.pcz
        cmp tests/fixtures/fashion0.pgm "$D/back" || die "decoded on $n threads, the image differs"
    done
}

# $BIN/tests/pcnn-*-baseline: the same programs with the CPU backend's loops compiled for
# baseline x86-64 alone (SSE2; the Makefile's BASE_CODERS), where $BIN's run their AVX2 or
# AVX-512 clones on this CPU: coding must not see the difference.
@test "pcnn-compress: what AVX2 or AVX-512 loops code, baseline x86-64 loops decode, and the reverse" {
    local base=$BIN/tests
    [ -x "$base/pcnn-decompress-baseline" ] || die "no $base/pcnn-decompress-baseline: make check builds it"
    grep -qw avx2 /proc/cpuinfo || skip "this CPU has no AVX2: both builds run baseline loops"
    "$COMPRESS" -q -m "$F/rgb.pcnn" -o "$D/a.pcz" "$F/rgb.ppm"
    "$base/pcnn-decompress-baseline" -q -m "$F/rgb.pcnn" -o "$D/back" "$D/a.pcz"
    cmp "$F/rgb.ppm" "$D/back" || die "the baseline decoder did not decode what $BIN coded"
    "$base/pcnn-compress-baseline" -q -m "$F/class.pcnn" -c 1 -o "$D/b.pcz" "$F/gray.pgm"
    "$COMPRESS" -q -m "$F/class.pcnn" -c 1 -o "$D/c.pcz" "$F/gray.pgm"
    cmp "$D/b.pcz" "$D/c.pcz" || die "the baseline and vector loops coded differently"
    "$DECOMPRESS" -q -m "$F/class.pcnn" -o "$D/back" "$D/b.pcz"
    cmp "$F/gray.pgm" "$D/back" || die "$BIN did not decode what the baseline coder coded"
}

@test "pcnn-compress: Fashion-MNIST with the shipped model codes within 1% + a few bytes of its NLL" {
    local model=models/fashion.pcnn n=32
    [ -f "$model" ] || skip "no $model"
    [ -f "$FASHION/t10k-images-idx3-ubyte.gz" ] || skip "no Fashion-MNIST at $FASHION"
    "$CONVERT" -q --limit $n -l "$FASHION/t10k-labels-idx1-ubyte.gz" --labels-out "$D/f.labels" \
        -o "$D/f.pgm" "$FASHION/t10k-images-idx3-ubyte.gz"
    "$COMPRESS" -q -m "$model" -l "$D/f.labels" -o "$D/f.pcz" "$D/f.pgm"
    "$DECOMPRESS" -q -m "$model" -o "$D/back" "$D/f.pcz"
    cmp "$D/f.pgm" "$D/back" || die "Fashion-MNIST did not come back"
    local bpd size stream nll
    bpd=$("$NLL" -q -m "$model" -l "$D/f.labels" "$D/f.pgm" | awk '/^mean/ {print $2}')
    size=$(stat -c %s "$D/f.pcz")
    # the coded values alone: less the header (56 bytes), a class (2 bytes) per image and
    # a length and checksum (8 bytes) per batch of 32
    stream=$((size - 56 - 2 * n - 8))
    nll=$(awk -v b="$bpd" -v n=$n 'BEGIN {printf "%.1f", b * n * 784 / 8}')
    echo "# $n images: NLL $nll bytes ($bpd bits/dim); coded $stream bytes; file $size bytes" >&3
    awk -v s="$stream" -v l="$nll" 'BEGIN {exit !(s <= 1.01 * l + 16 && s >= 0.99 * l - 16)}' ||
        die "coded $stream bytes for an NLL of $nll bytes"
}

# refused FILE TEXT [DECOMPRESS ARGS...]: pcnn-decompress fails on FILE with one line
# naming it and TEXT, writes nothing to stdout, and leaves no -o file behind
refused() {
    local file=$1 text=$2
    shift 2
    run -1 --separate-stderr "$DECOMPRESS" -q "$@" -o "$D/out.pgm" "$file"
    assert_one_error_line pcnn-decompress "$file" "$text"
    assert_no_leftovers "$D/out.pgm"
    run -1 --separate-stderr "$DECOMPRESS" -q "$@" "$file"
    assert_no_stdout
}

@test "pcnn-decompress: truncated, corrupted, empty, foreign files and another model: one line, nothing written" {
    "$COMPRESS" -q -m "$F/gray.pcnn" -o "$D/a.pcz" "$F/gray.pgm"
    local size cut at
    size=$(stat -c %s "$D/a.pcz")
    for cut in 10 60 70 $((size - 5)) $((size - 1)); do
        head -c "$cut" "$D/a.pcz" >"$D/cut.pcz"
        refused "$D/cut.pcz" truncated -m "$F/gray.pcnn"
    done
    # one bit flipped in the coded values, in the header, in the checksum
    for at in 70 $((size / 2)) $((size - 6)) 30 $((size - 2)); do
        cp "$D/a.pcz" "$D/bad.pcz"
        printf "\\$(printf %03o $(($(od -An -tu1 -j "$at" -N1 "$D/a.pcz") ^ 4)))" |
            dd of="$D/bad.pcz" bs=1 seek="$at" conv=notrunc status=none
        refused "$D/bad.pcz" corrupted -m "$F/gray.pcnn"
    done
    : >"$D/empty.pcz"
    refused "$D/empty.pcz" "not a pcnn-compress file" -m "$F/gray.pcnn"
    refused "$F/gray.pgm" "not a pcnn-compress file" -m "$F/gray.pcnn"
    refused "$D/a.pcz" "another model" -m "$F/class.pcnn"
}

@test "pcnn-decompress: a header whose batch is above 64 (the decoder's memory): refused before decoding" {
    # the shipped model's fixture with a batch of 1024 and 1024 images claimed, its CRC
    # made good: a few KB that asked for 1.4 GB before the batch had to fit pcnn-coded(5)
    /usr/bin/python3 - "$BATS_TEST_DIRNAME/../fixtures/fashion0.v2.pcz" "$D/g.pcz" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read()[:56])
struct.pack_into("<I", d, 28, 1024)  # N
struct.pack_into("<H", d, 48, 1024)  # G
struct.pack_into("<I", d, 52, zlib.crc32(bytes(d[:52])))
open(sys.argv[2], "wb").write(bytes(d) + bytes(2 * 1024) + struct.pack("<I", 4000) + bytes(4004))
PY
    refused "$D/g.pcz" "batch size is out of range" -m "$BATS_TEST_DIRNAME/../../models/fashion.pcnn"
}

@test "pcnn-compress: images that would not come back, or do not fit the model: one line naming the file" {
    run -1 --separate-stderr "$COMPRESS" -q -m "$F/bin.pcnn" -o "$D/o.pcz" "$F/gray.pgm"
    assert_one_error_line pcnn-compress "$F/gray.pgm" "levels"
    assert_no_leftovers "$D/o.pcz"
    run -1 --separate-stderr "$COMPRESS" -q -m "$F/gray.pcnn" -o "$D/o.pcz" "$F/rgb.ppm"
    assert_one_error_line pcnn-compress "$F/rgb.ppm" "channels"
    assert_no_leftovers "$D/o.pcz"
    run -2 --separate-stderr "$COMPRESS" -q -m "$F/class.pcnn" -o "$D/o.pcz" "$F/gray.pgm"
    assert_usage_error pcnn-compress "-c K"
    run -2 --separate-stderr "$COMPRESS" -q -m "$F/gray.pcnn" -c 1 -o "$D/o.pcz" "$F/gray.pgm"
    assert_usage_error pcnn-compress "unconditional"
    run -1 --separate-stderr "$COMPRESS" -q -m "$F/class.pcnn" -l <(echo 1) -o "$D/o.pcz" "$F/gray.pgm"
    assert_one_error_line pcnn-compress "labels"
    assert_no_leftovers "$D/o.pcz"
}
