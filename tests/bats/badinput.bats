#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# Bad input to every program, and pipelines. Each failure must: exit with the expected
# status (1 for data, 2 for usage), print exactly one line on stderr naming the file at
# fault, print nothing on stdout, not crash, and leave no output or temporary file behind.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# the whole contract of a data error: run -1 has checked the status
assert_bad() {
    local prog=$1
    shift
    assert_no_stdout
    assert_one_error_line "$prog" "$@"
}

# bad_image FILE: pcnn-nll and pcnn-train both reject FILE (exit 1, one line naming it)
# and pcnn-train writes no model
bad_image() {
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$1"
    assert_bad pcnn-nll "$1"
    run -1 --separate-stderr tiny_train -o "$D/out.pcnn" "$1"
    assert_bad pcnn-train "$1"
    assert_no_leftovers "$D/out.pcnn"
}

# bad_stdin FILE: the same, with FILE fed through a pipe (no file size to check against)
bad_stdin() {
    run -1 --separate-stderr bash -c 'set -o pipefail; cat "$3" | "$1" -m "$2"' _ "$NLL" "$F/gray.pcnn" "$1"
    assert_bad pcnn-nll stdin
    run -1 --separate-stderr bash -c 'set -o pipefail; cat "$2" | "$1" -L 1 -p 6 -n 3 -s 3 -o "$3"' _ "$TRAIN" "$1" "$D/out.pcnn"
    assert_bad pcnn-train stdin
    assert_no_leftovers "$D/out.pcnn"
}

# ---- images ----------------------------------------------------------------------------

@test "bad image: empty file" {
    : >"$D/empty.pgm"
    bad_image "$D/empty.pgm"
    bad_stdin "$D/empty.pgm"
}

@test "bad image: truncated P5" {
    { printf 'P5\n4 4\n255\n'; head -c 7 /dev/urandom; } >"$D/t.pgm"
    bad_image "$D/t.pgm"
    bad_stdin "$D/t.pgm"
}

@test "bad image: P5 header without data, header cut short" {
    printf 'P5\n4 4\n255\n' >"$D/nodata.pgm"
    bad_image "$D/nodata.pgm"
    printf 'P5\n4 4\n' >"$D/cut.pgm"
    bad_image "$D/cut.pgm"
}

@test "bad image: the third image of a stream is truncated (the error names image 3)" {
    { pgm_stream 2 4 4; printf 'P5\n4 4\n255\nab'; } >"$D/t3.pgm"
    bad_image "$D/t3.pgm"
    [[ $stderr == *"image 3"* ]] || die "the error does not name image 3"
}

@test "bad image: lying header 'P5 100000 100000 255'" {
    { printf 'P5 100000 100000 255\n'; head -c 100 /dev/urandom; } >"$D/lie.pgm"
    bad_image "$D/lie.pgm"
    bad_stdin "$D/lie.pgm"
}

@test "bad image: lying header 'P6 30000 30000 255'" {
    { printf 'P6 30000 30000 255\n'; head -c 100 /dev/urandom; } >"$D/lie.ppm"
    bad_image "$D/lie.ppm"
    bad_stdin "$D/lie.ppm"
}

@test "bad image: header within limits but far longer than the data ('P5 8000 8000 255')" {
    { printf 'P5 8000 8000 255\n'; head -c 100 /dev/urandom; } >"$D/lie.pgm"
    bad_image "$D/lie.pgm"
    bad_stdin "$D/lie.pgm"
}

@test "bad image: P5 with maxval 65535" {
    { printf 'P5\n4 4\n65535\n'; head -c 32 /dev/urandom; } >"$D/deep.pgm"
    bad_image "$D/deep.pgm"
    [[ $stderr == *65535* ]] || die "the error does not say maxval 65535"
}

@test "bad image: maxval 0, a sample above maxval, a negative width, magic P9" {
    { printf 'P5\n4 4\n0\n'; head -c 16 /dev/zero; } >"$D/mv0.pgm"
    bad_image "$D/mv0.pgm"
    printf 'P2\n2 2\n10\n1 2 3 11\n' >"$D/over.pgm"
    bad_image "$D/over.pgm"
    printf 'P5\n-4 4\n255\n' >"$D/neg.pgm"
    bad_image "$D/neg.pgm"
    { printf 'P9\n4 4\n255\n'; head -c 16 /dev/zero; } >"$D/p9.pgm"
    bad_image "$D/p9.pgm"
}

@test "bad image: PAM of depth 2 without alpha" {
    { printf 'P7\nWIDTH 4\nHEIGHT 4\nDEPTH 2\nMAXVAL 255\nENDHDR\n'; head -c 32 /dev/urandom; } >"$D/d2.pam"
    bad_image "$D/d2.pam"
}

@test "bad image: not an image (unknown format)" {
    printf 'hello, world\n' >"$D/text.pgm"
    bad_image "$D/text.pgm"
}

@test "bad image: truncated PNG" {
    png_gray4 1 | head -c 50 >"$D/t.png"
    bad_image "$D/t.png"
    bad_stdin "$D/t.png"
}

@test "bad image: PNG with a bad signature, a bad CRC, corrupt compressed data" {
    png_gray4 1 | head -c 5 >"$D/sig.png"
    bad_image "$D/sig.png"
    png_gray4 1 >"$D/crc.png"
    printf '\0\0\040\0' | dd of="$D/crc.png" bs=1 seek=16 conv=notrunc 2>/dev/null # IHDR width, CRC now wrong
    bad_image "$D/crc.png"
    png_gray4 1 >"$D/z.png"
    printf 'X' | dd of="$D/z.png" bs=1 seek=45 conv=notrunc 2>/dev/null # inside IDAT
    bad_image "$D/z.png"
}

@test "bad image: a missing file, a directory" {
    bad_image "$D/no-such.pgm"
    mkdir "$D/dir.pgm"
    bad_image "$D/dir.pgm"
}

@test "bad image: images of different sizes in the training input" {
    { pgm_stream 2 4 4; pgm_stream 1 5 5; } >"$D/mixed.pgm"
    run -1 --separate-stderr tiny_train -o "$D/out.pcnn" "$D/mixed.pgm"
    assert_bad pcnn-train "$D/mixed.pgm" "image 3"
    assert_no_leftovers "$D/out.pcnn"
}

@test "bad image: truncated IDX (gzip cut short, data cut short)" {
    [ -r "$FASHION/t10k-images-idx3-ubyte.gz" ] || skip "no Fashion-MNIST in $FASHION"
    head -c 3000 "$FASHION/t10k-images-idx3-ubyte.gz" >"$D/cut.gz"
    bad_image "$D/cut.gz"
    { printf '\0\0\010\003\0\0\0\005\0\0\0\004\0\0\0\004'; head -c 40 /dev/urandom; } >"$D/short.idx"
    bad_image "$D/short.idx"
    # a header that claims 4 billion 32x32 images
    printf '\0\0\010\003\377\377\377\377\0\0\0\040\0\0\0\040' >"$D/lie.idx"
    bad_image "$D/lie.idx"
}

@test "bad image: an IDX label file given as images says it is labels" {
    [ -r "$FASHION/t10k-labels-idx1-ubyte.gz" ] || skip "no Fashion-MNIST in $FASHION"
    bad_image "$FASHION/t10k-labels-idx1-ubyte.gz"
    [[ $stderr == *"IDX labels, not images (give labels with -l)"* ]] || die "message: $stderr"
}

@test "bad image: CIFAR-10 .bin of a size that is not a multiple of 3073; an empty .bin" {
    head -c $((2 * 3073 + 100)) /dev/urandom >"$D/cut.bin"
    bad_image "$D/cut.bin"
    [[ $stderr == *"not CIFAR-10 binary records (size 6246 is not a multiple of 3073)"* ]] || die "wrong message"
    : >"$D/empty.bin"
    bad_image "$D/empty.bin"
}

@test "bad image: a CIFAR-10 record cut short, through a FIFO named .bin (no size to check)" {
    mkfifo "$D/fifo.bin"
    head -c 100 /dev/urandom >"$D/data"
    timeout 60 cp "$D/data" "$D/fifo.bin" &
    run -1 --separate-stderr timeout 60 "$NLL" -m "$F/rgb.pcnn" "$D/fifo.bin"
    wait
    assert_bad pcnn-nll "$D/fifo.bin" "record 1" "truncated CIFAR-10 record (100 of 3073 bytes)"
}

@test "bad image: random bytes after image-like starts never crash" {
    local k
    for k in $(seq 1 24); do
        {
            case $((k % 4)) in
            0) printf 'P5\n4 4\n255\n' ;;
            1) png_gray4 1 | head -c $((k + 8)) ;;
            2) printf '\0\0\010\003' ;;
            3) printf 'P6\n' ;;
            esac
            head -c $((k * 5)) /dev/urandom
        } >"$D/fuzz"
        run --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/fuzz"
        [ "$status" -le 1 ] || die "exit status $status on $(od -An -tx1 "$D/fuzz" | tr -d '\n')"
        [ "$status" -eq 0 ] || assert_bad pcnn-nll "$D/fuzz"
    done
}

# ---- images that do not fit the model --------------------------------------------------

@test "wrong size for the model: 5x5 images to a 4x4 model" {
    pgm_stream 2 5 5 >"$D/five.pgm"
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/five.pgm"
    assert_bad pcnn-nll "$D/five.pgm" 5x5 4x4
}

@test "wrong size for the model: --resume with 5x5 images exits 1 and keeps the model" {
    pgm_stream 6 5 5 >"$D/five.pgm"
    cp "$F/gray.pcnn" "$D/m.pcnn"
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/m.pcnn" "$D/five.pgm"
    assert_bad pcnn-train "$D/five.pgm"
    cmp "$D/m.pcnn" "$F/gray.pcnn"
}

@test "wrong channel count: RGB images to a gray model, gray images to an RGB model" {
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/rgb.ppm"
    assert_bad pcnn-nll "$F/rgb.ppm" channel
    png_rgb4 >"$D/c.png"
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/c.png"
    assert_bad pcnn-nll "$D/c.png"
    run -1 --separate-stderr "$NLL" -m "$F/rgb.pcnn" "$F/gray.pgm"
    assert_bad pcnn-nll "$F/gray.pgm"
}

# ---- model files -----------------------------------------------------------------------

# bad_model FILE: every program rejects the model (exit 1, one line naming it), leaves no
# PNG behind, and --resume leaves the file as it was
bad_model() {
    local m=$1
    run -1 --separate-stderr "$NLL" -m "$m" "$F/gray.pgm"
    assert_bad pcnn-nll "$m"
    run -1 --separate-stderr "$SAMPLE" -m "$m"
    assert_bad pcnn-sample "$m"
    run -1 --separate-stderr "$SAMPLE" -m "$m" -o "$D/out.png"
    assert_bad pcnn-sample "$m"
    assert_no_leftovers "$D/out.png"
    if [ -f "$m" ]; then
        cp "$m" "$D/before"
        run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$m" "$F/gray.pgm"
        assert_bad pcnn-train "$m"
        cmp "$m" "$D/before" || die "--resume changed the bad model file"
    fi
}

@test "bad model: missing file" {
    bad_model "$D/missing.pcnn"
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/missing.pcnn" "$F/gray.pgm"
    assert_bad pcnn-train "$D/missing.pcnn"
    assert_no_leftovers "$D/missing.pcnn"
}

@test "bad model: empty file, 4 bytes, a directory" {
    : >"$D/empty.pcnn"
    bad_model "$D/empty.pcnn"
    head -c 4 "$F/gray.pcnn" >"$D/four.pcnn"
    bad_model "$D/four.pcnn"
    mkdir "$D/dir.pcnn"
    bad_model "$D/dir.pcnn"
}

@test "bad model: an image, labels or a .npy record given as -m says what it looks like" {
    pgm_stream 1 4 4 >"$D/img.pgm"
    bad_model "$D/img.pgm"
    [[ $stderr == *"img.pgm: not a pcnn model (looks like a PGM image)" ]] || die "message: $stderr"
    printf '\0\0\010\001\0\0\0\002\001\002' >"$D/labels.idx"
    bad_model "$D/labels.idx"
    [[ $stderr == *"labels.idx: not a pcnn model (looks like IDX labels)" ]] || die "message: $stderr"
    npy_record 1 0 0.5 >"$D/h.npy"
    bad_model "$D/h.npy"
    [[ $stderr == *"h.npy: not a pcnn model (looks like a .npy record)" ]] || die "message: $stderr"
}

@test "bad model: random bytes" {
    head -c 5000 /dev/urandom >"$D/random.pcnn"
    bad_model "$D/random.pcnn"
}

@test "bad model: a header length of 2^63 - 1" {
    { printf '\377\377\377\377\377\377\377\177'; tail -c +9 "$F/gray.pcnn"; } >"$D/huge.pcnn"
    bad_model "$D/huge.pcnn"
}

@test "bad model: a truncated copy of a good model" {
    local size
    size=$(stat -c %s "$F/gray.pcnn")
    head -c $((size / 2)) "$F/gray.pcnn" >"$D/half.pcnn"
    bad_model "$D/half.pcnn"
    head -c $((size - 1)) "$F/gray.pcnn" >"$D/minus1.pcnn"
    bad_model "$D/minus1.pcnn"
    head -c 100 "$F/gray.pcnn" >"$D/hundred.pcnn"
    bad_model "$D/hundred.pcnn"
}

@test "bad model: a valid safetensors file that is not a pcnn model" {
    safetensors_file '{"format":"pt"}' >"$D/pt.safetensors"
    bad_model "$D/pt.safetensors"
    safetensors_file '{"format":"pcnn-model","version":"2"}' >"$D/v2.pcnn"
    bad_model "$D/v2.pcnn"
}

@test "bad model: pcnn metadata without hyperparameters, or without tensors" {
    safetensors_file '{"format":"pcnn-model","version":"1"}' >"$D/nohp.pcnn"
    bad_model "$D/nohp.pcnn"
    safetensors_file '{"format":"pcnn-model","version":"1","layers":"1","features":"6","filter":"3","channels":"1","height":"4","width":"4","levels":"256","cond_size":"0","classes":"0"}' >"$D/notensors.pcnn"
    bad_model "$D/notensors.pcnn"
}

@test "bad model: metadata that disagrees with the tensors (levels, layers, cond_size)" {
    st_edit "$F/gray.pcnn" "$D/levels.pcnn" '"levels":"256"' '"levels":"255"'
    bad_model "$D/levels.pcnn"
    st_edit "$F/gray.pcnn" "$D/layers.pcnn" '"layers":"1"' '"layers":"9"'
    bad_model "$D/layers.pcnn"
    st_edit "$F/gray.pcnn" "$D/cond.pcnn" '"cond_size":"0"' '"cond_size":"3"'
    bad_model "$D/cond.pcnn"
}

@test "bad model: metadata that is not a number, or the wrong format name" {
    st_edit "$F/gray.pcnn" "$D/x.pcnn" '"features":"6"' '"features":"x"'
    bad_model "$D/x.pcnn"
    st_edit "$F/gray.pcnn" "$D/fmt.pcnn" '"format":"pcnn-model"' '"format":"pcnn-MODEL"'
    bad_model "$D/fmt.pcnn"
}

@test "bad model: impossible hyperparameters (height 0, even filter) say what is wrong, naming the file once" {
    st_edit "$F/gray.pcnn" "$D/h0.pcnn" '"height":"4"' '"height":"0"'
    bad_model "$D/h0.pcnn"
    [[ $stderr == *"image size 4x0"* ]] || die "the message does not say 'image size 4x0'"
    [[ $stderr != *"h0.pcnn"*"h0.pcnn"* ]] || die "the file is named twice"
    st_edit "$F/gray.pcnn" "$D/f4.pcnn" '"filter":"3"' '"filter":"4"'
    bad_model "$D/f4.pcnn"
    [[ $stderr == *"filter size 4"* ]] || die "the message does not say 'filter size 4'"
    [[ $stderr != *"f4.pcnn"*"f4.pcnn"* ]] || die "the file is named twice"
}

@test "bad model: a weight that is NaN; a tensor of dtype F64" {
    local hlen
    hlen=$(od -An -N8 -tu8 "$F/gray.pcnn" | tr -d ' ')
    cp "$F/gray.pcnn" "$D/nan.pcnn"
    printf '\0\0\300\177' | dd of="$D/nan.pcnn" bs=1 seek=$((8 + hlen)) conv=notrunc 2>/dev/null
    bad_model "$D/nan.pcnn"
    st_edit "$F/gray.pcnn" "$D/f64.pcnn" '"F32"' '"F64"'
    bad_model "$D/f64.pcnn"
}

@test "bad model: training state that does not parse: --resume exits 1 and keeps the file" {
    st_edit "$F/gray.pcnn" "$D/step.pcnn" '"train.step":"6"' '"train.step":"x"'
    cp "$D/step.pcnn" "$D/before"
    run -1 --separate-stderr "$TRAIN" --resume -s 9 -o "$D/step.pcnn" "$F/gray.pgm"
    assert_bad pcnn-train "$D/step.pcnn"
    cmp "$D/step.pcnn" "$D/before"
}

@test "bad model: random single-byte damage to the header never crashes" {
    local hlen k off
    hlen=$(od -An -N8 -tu8 "$F/gray.pcnn" | tr -d ' ')
    for k in $(seq 1 30); do
        cp "$F/gray.pcnn" "$D/fz.pcnn"
        off=$(((RANDOM * 32768 + RANDOM) % (hlen + 8)))
        head -c 1 /dev/urandom | dd of="$D/fz.pcnn" bs=1 seek="$off" conv=notrunc 2>/dev/null
        run --separate-stderr "$NLL" -m "$D/fz.pcnn" "$F/gray.pgm"
        [ "$status" -le 1 ] || die "exit status $status with byte $off changed"
        [ "$status" -eq 0 ] || assert_bad pcnn-nll "$D/fz.pcnn"
    done
}

# ---- .npy conditioning records ---------------------------------------------------------

# bad_npy FILE: pcnn-sample --cond rejects it (exit 1, one line naming it), to stdout
# and to a PNG, and leaves no PNG behind
bad_npy() {
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --cond "$1"
    assert_bad pcnn-sample "$1"
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --cond "$1" -o "$D/out.png"
    assert_bad pcnn-sample "$1"
    assert_no_leftovers "$D/out.png"
}

@test "bad npy: bad magic" {
    { printf 'XNUMPY'; npy_record 1 0 0 | tail -c +7; } >"$D/magic.npy"
    bad_npy "$D/magic.npy"
}

@test "bad npy: dtype <f8, >f4" {
    { npy_header '<f8' '3,'; head -c 24 /dev/zero; } >"$D/f8.npy"
    bad_npy "$D/f8.npy"
    [[ $stderr == *"<f8"* ]] || die "the message does not name the dtype"
    { npy_header '>f4' '3,'; head -c 12 /dev/zero; } >"$D/be.npy"
    bad_npy "$D/be.npy"
}

@test "bad npy: truncated data, truncated header" {
    npy_record 1 0 0 | head -c 135 >"$D/data.npy"
    bad_npy "$D/data.npy"
    npy_record 1 0 0 | head -c 60 >"$D/header.npy"
    bad_npy "$D/header.npy"
}

@test "bad npy: a record of the wrong length for the model" {
    npy_record 1 0 0 0 >"$D/four.npy"
    bad_npy "$D/four.npy"
    npy_record 1 0 >"$D/two.npy"
    bad_npy "$D/two.npy"
}

@test "bad npy: NaN or Inf in a vector (also in a later record)" {
    npy_record 1 nan 0 >"$D/nan.npy"
    bad_npy "$D/nan.npy"
    npy_record 0 inf 0 >"$D/inf.npy"
    bad_npy "$D/inf.npy"
    { npy_record 1 0 0; npy_record 0 0 nan; } >"$D/nan2.npy"
    bad_npy "$D/nan2.npy"
    [[ $stderr == *"record 2"* ]] || die "the message does not name record 2"
}

@test "bad npy: a 2-D shape, junk after a good record, an empty file, a missing file" {
    { npy_header '<f4' '2, 3'; head -c 24 /dev/zero; } >"$D/2d.npy"
    bad_npy "$D/2d.npy"
    { npy_record 1 0 0; printf 'junk'; } >"$D/junk.npy"
    bad_npy "$D/junk.npy"
    : >"$D/empty.npy"
    bad_npy "$D/empty.npy"
    bad_npy "$D/missing.npy"
}

@test "bad npy: empty stdin to a conditional model" {
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" </dev/null
    assert_bad pcnn-sample stdin
}

@test "bad npy: pcnn-nll --cond with fewer records than images, or a NaN" {
    { npy_record 1 0 0; npy_record 0 1 0; } >"$D/two.npy"
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" --cond "$D/two.npy" "$F/gray.pgm"
    assert_bad pcnn-nll "$D/two.npy"
    npy_record 1 nan 0 >"$D/nan.npy"
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" --cond "$D/nan.npy" "$F/gray.pgm"
    assert_bad pcnn-nll "$D/nan.npy"
}

# ---- labels ----------------------------------------------------------------------------

# bad_labels FILE: pcnn-nll -l and pcnn-train -l reject it (6 images)
bad_labels() {
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$1" "$F/gray.pgm"
    assert_bad pcnn-nll "$1"
    run -1 --separate-stderr tiny_train -o "$D/out.pcnn" -l "$1" "$F/gray.pgm"
    assert_bad pcnn-train "$1"
    assert_no_leftovers "$D/out.pcnn"
}

@test "bad labels: fewer labels than images" {
    printf '%s\n' 0 1 2 >"$D/few.txt"
    bad_labels "$D/few.txt"
}

@test "bad labels: a non-integer line (the message gives the line number)" {
    printf '%s\n' 0 1 x 0 1 2 >"$D/x.txt"
    bad_labels "$D/x.txt"
    [[ $stderr == *"x.txt:3"* ]] || die "no 'x.txt:3' in the message"
    printf '%s\n' 0 1 2.5 0 1 2 >"$D/frac.txt"
    bad_labels "$D/frac.txt"
}

@test "bad labels: negative, blank line, too large a number, empty file, missing file" {
    printf '%s\n' 0 1 -1 0 1 2 >"$D/neg.txt"
    bad_labels "$D/neg.txt"
    printf '%s\n' 0 1 '' 0 1 2 >"$D/blank.txt"
    bad_labels "$D/blank.txt"
    printf '%s\n' 0 1 99999999999999999999 0 1 2 >"$D/huge.txt"
    bad_labels "$D/huge.txt"
    : >"$D/empty.txt"
    bad_labels "$D/empty.txt"
    bad_labels "$D/missing.txt"
}

@test "bad labels: a label the class model does not have" {
    printf '%s\n' 0 1 5 0 1 2 >"$D/five.txt"
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$D/five.txt" "$F/gray.pgm"
    assert_bad pcnn-nll "$D/five.txt"
}

@test "bad labels: label 3 to a 3-class model, the first past its classes (nll, sample, compress, train --classes)" {
    # the bound is 'below the classes': a label equal to their number would be a one-hot
    # row's element past its end (the next image's first class, or past the buffer)
    printf '%s\n' 0 1 3 0 1 2 >"$D/three.txt"
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$D/three.txt" "$F/gray.pgm"
    assert_bad pcnn-nll "$D/three.txt" "label 3"
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -l "$D/three.txt" -o "$D/s.pgm"
    assert_bad pcnn-sample "$D/three.txt" "label 3"
    assert_no_leftovers "$D/s.pgm"
    run -1 --separate-stderr "$BIN/pcnn-compress" -q -m "$F/class.pcnn" -l "$D/three.txt" -o "$D/c.pcz" "$F/gray.pgm"
    assert_bad pcnn-compress "$D/three.txt" "label 3"
    assert_no_leftovers "$D/c.pcz"
    run -1 --separate-stderr tiny_train -o "$D/out.pcnn" --classes 3 -l "$D/three.txt" "$F/gray.pgm"
    assert_bad pcnn-train "$D/three.txt" "label 3"
    assert_no_leftovers "$D/out.pcnn"
}

@test "bad labels: CIFAR-10 .bin of a size that is not a multiple of 3073" {
    head -c $((6 * 3073 - 1)) /dev/urandom >"$D/cut.bin"
    bad_labels "$D/cut.bin"
    [[ $stderr == *"not CIFAR-10 binary records"* ]] || die "wrong message"
}

@test "bad labels: an image file given as labels" {
    bad_labels "$F/gray.pgm"
}

# ---- output files ----------------------------------------------------------------------

@test "pcnn-sample -o into a missing directory: exit 1, one line, nothing left behind" {
    run -1 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -o "$D/no-such-dir/grid.png"
    assert_bad pcnn-sample "$D/no-such-dir/grid.png"
    assert_no_leftovers "$D/no-such-dir/grid.png"
    [ ! -e "$D/no-such-dir" ]
    assert_no_leftovers "$D/grid.png"
}

@test "pcnn-train -o into a missing directory: exit 1, the error last, nothing left behind" {
    run -1 --separate-stderr tiny_train -o "$D/no-such-dir/m.pcnn" "$F/gray.pgm"
    assert_no_stdout
    assert_last_error_line pcnn-train "$D/no-such-dir/m.pcnn"
    [ ! -e "$D/no-such-dir" ]
    assert_no_leftovers "$D/m.pcnn"
}

# out_to_fifo CMD...: runs CMD (whose output file is $D/fifo) with a reader on the FIFO;
# CMD may write through the FIFO (status 0) or refuse it (status 1), but must not
# replace the FIFO by a regular file.
out_to_fifo() {
    mkfifo "$D/fifo"
    cat "$D/fifo" >"$D/got" 3>&- &
    local reader=$!
    run --separate-stderr timeout 60 "$@"
    if kill -0 "$reader" 2>/dev/null; then
        # nobody opened the FIFO for writing: unblock the reader if the FIFO is still there
        if [ -p "$D/fifo" ]; then : >"$D/fifo"; fi
        kill "$reader" 2>/dev/null || true
    fi
    wait "$reader" 2>/dev/null || true
    [ -p "$D/fifo" ] || die "the FIFO was replaced by a regular file"
    [ "$status" -eq 0 ] || [ "$status" -eq 1 ] || die "expected exit 0 or 1"
    assert_no_stdout
    [ "$status" -eq 0 ] || assert_last_error_line "$(basename "$1")" "$D/fifo"
    assert_no_leftovers "$D/none"
}

@test "pcnn-sample -o FIFO: writes through it or refuses it, never replaces it" {
    out_to_fifo "$SAMPLE" -m "$F/gray.pcnn" -o "$D/fifo"
    [ "$status" -eq 1 ] || [ "$(head -c 2 "$D/got")" = P5 ] || die "status 0 but no images came through the FIFO"
}

@test "pcnn-train -o FIFO: refuses it, never replaces it" {
    out_to_fifo "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 3 -o "$D/fifo" "$F/gray.pgm"
}

# ---- pipelines -------------------------------------------------------------------------

@test "pipeline: pcnn-sample | pcnn-train | pcnn-nll on the samples" {
    run -0 --separate-stderr bash -c 'set -o pipefail
        "$1" -m "$4" -n 8 | "$2" -L 1 -p 6 -n 3 -b 4 -s 4 -o "$5" &&
        "$1" -m "$5" -n 2 --seed 3 | "$3" -m "$5"' _ "$SAMPLE" "$TRAIN" "$NLL" "$F/gray.pcnn" "$D/m.pcnn"
    [ "${#lines[@]}" -eq 3 ] || die "expected 2 images and a mean"
}

@test "pipeline: a failing pcnn-sample fails the pipeline; pcnn-nll sees no input" {
    run -1 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -n 2 | "$2" -m "$4"' _ "$SAMPLE" "$NLL" "$D/missing.pcnn" "$F/gray.pcnn"
    assert_no_stdout
    drop_device_lines
    [[ ${stderr_lines[0]} == "pcnn-sample: $D/missing.pcnn: "* || ${stderr_lines[1]-} == "pcnn-sample: $D/missing.pcnn: "* ]] ||
        die "no error from pcnn-sample"
    [[ $stderr == *"pcnn-nll: stdin: empty input"* ]] || die "pcnn-nll did not say its input is empty"
    [ "${#stderr_lines[@]}" -eq 2 ] || die "expected one line from each program"
}

@test "pipeline: samples of an RGB model to a gray model fail in pcnn-nll" {
    run -1 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -n 2 2>/dev/null | "$2" -m "$4"' _ "$SAMPLE" "$NLL" "$F/rgb.pcnn" "$F/gray.pcnn"
    assert_bad pcnn-nll stdin channel
}

@test "pipeline: pcnn-nll | head -1 does not hang or crash" {
    pgm_stream 200 4 4 >"$D/many.pgm"
    run -0 --separate-stderr bash -c '"$1" -m "$2" "$3" | head -n 1' _ "$NLL" "$F/gray.pcnn" "$D/many.pgm"
    [ "${#lines[@]}" -eq 1 ]
}

# ---- files of another kind, and where a message points (the audit of 2026-12-04) ----------

@test "a wrong-sized image is counted in its own file, not across the files before it" {
    pgm_stream 2 5 5 >"$D/other.pgm"
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm" "$D/other.pgm"
    assert_bad pcnn-nll "$D/other.pgm: image 1 is 5x5"
}

@test "-l given an image, a .npy record, a coded file or a model: 'not labels (looks like ...)'" {
    "$BIN/pcnn-compress" -q -m "$F/gray.pcnn" -o "$D/c.pcz" "$F/gray.pgm"
    npy_record 1 0 >"$D/r.npy"
    local f
    for f in "$F/gray.pgm:a PGM image" "$D/r.npy:a .npy record" "$D/c.pcz:a pcnn-compress file" \
        "$F/gray.pcnn:a safetensors file"; do
        run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "${f%%:*}" "$F/gray.pgm"
        assert_bad pcnn-nll "${f%%:*}: not labels (looks like ${f#*:}"
    done
    # from a pipe, the first byte tells binary data from text
    run -1 --separate-stderr bash -c '"$1" -m "$2" -l - "$3" <"$4"' _ "$NLL" "$F/class.pcnn" "$F/gray.pgm" "$D/r.npy"
    assert_bad pcnn-nll "stdin: not labels (looks like binary data)"
}

@test "a label file that begins with a UTF-8 byte order mark reads as without it" {
    printf '\xef\xbb\xbf0\n1\n2\n0\n1\n2\n' >"$D/bom.txt"
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$F/labels.txt" "$F/gray.pgm"
    local want=$output
    run -0 --separate-stderr "$NLL" -m "$F/class.pcnn" -l "$D/bom.txt" "$F/gray.pgm"
    [ "$output" = "$want" ] || die "the marked file gave other figures"
}

@test "a coded file given as images: 'not an image (looks like a pcnn-compress file)'" {
    "$BIN/pcnn-compress" -q -m "$F/gray.pcnn" -o "$D/c.pcz" "$F/gray.pgm"
    run -1 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/c.pcz"
    assert_bad pcnn-nll "$D/c.pcz: not an image (looks like a pcnn-compress file)"
}

@test "-m -: a usage error (a model is a file), not 'No such file'" {
    run -2 --separate-stderr "$NLL" -m - "$F/gray.pgm"
    assert_usage_error pcnn-nll "a model is read from a file"
    run -2 --separate-stderr "$INFO" -
    assert_usage_error pcnn-info "a model is read from a file"
}

@test "pcnn-train --resume of a checkpoint whose setting is out of range: names the file and the setting" {
    tiny_train -o "$D/m.pcnn" "$F/gray.pgm" 2>/dev/null
    local lr
    lr=$(model_meta "$D/m.pcnn" train.lr)
    st_edit "$D/m.pcnn" "$D/bad.pcnn" "\"train.lr\":\"$lr\"" "\"train.lr\":\"-${lr:1}\""
    run -1 --separate-stderr "$TRAIN" --resume -s 8 -o "$D/bad.pcnn" "$F/gray.pgm"
    assert_bad pcnn-train "$D/bad.pcnn: cannot resume" "lr (above 0)"
}
