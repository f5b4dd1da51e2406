#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# Class names: a text label file of names trains a model that keeps them (pcnn-info), numbered
# in sorted order whatever the file's order; pcnn-sample -c NAME, pcnn-nll -c NAME and -l NAMES
# map through the model's table, as do --valid-labels and a resumed run; files that mix numbers
# and names or hold a name too long are refused in one line. pcnn-sample --row-labels names the rows
# of a PNG grid.
bats_require_minimum_version 1.5.0

load helpers

# named.pcnn and ints.pcnn: the same images and classes, by name and by number. Sorted, the
# names are boot s2 s10 sneaker, so ints.txt numbers them 0 1 2 3.
setup_file() {
    local d=$BATS_FILE_TMPDIR
    pgm_stream 6 4 4 >"$d/gray.pgm"
    printf '%s\n' sneaker boot s10 sneaker boot s2 >"$d/names.txt"
    printf '%s\n' 3 0 2 3 0 1 >"$d/ints.txt"
    tiny_train -o "$d/named.pcnn" -l "$d/names.txt" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/ints.pcnn" -l "$d/ints.txt" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/gray.pcnn" "$d/gray.pgm" 2>/dev/null
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# ---- training and pcnn-info ---------------------------------------------------------------

@test "pcnn-info: the class names of a model trained on names, in sorted order; none for numbers" {
    run -0 --separate-stderr "$INFO" "$F/named.pcnn"
    [[ $output == *"conditioning    4 classes"* ]] || die "conditioning"
    [[ $output == *"class names     boot, s2, s10, sneaker"$'\n'* ]] || die "class names"
    run -0 --separate-stderr "$INFO" --json "$F/named.pcnn"
    [[ $output == *'"classes":4,"class_names":["boot","s2","s10","sneaker"],'* ]] || die "--json"
    run -0 --separate-stderr "$INFO" "$F/ints.pcnn"
    [[ $output != *"class names"* ]] || die "names for numbered classes"
    run -0 --separate-stderr "$INFO" --json "$F/ints.pcnn"
    [[ $output != *"class_names"* ]] || die "class_names for numbered classes"
}

@test "pcnn-train: names are classes in sorted order: the same model as the equivalent numbers" {
    # identical one-hots give identical training; the figures of both models agree
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -l "$F/names.txt" "$F/gray.pgm"
    local named=$output
    run -0 --separate-stderr "$NLL" -m "$F/ints.pcnn" -l "$F/ints.txt" "$F/gray.pgm"
    [ "$output" = "$named" ] || die "names and numbers differ"
    # a named model takes numbers too, as they are
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -l "$F/ints.txt" "$F/gray.pgm"
    [ "$output" = "$named" ] || die "numbers on a named model differ"
    # the order of the names in the file does not change the numbering
    printf '%s\n' s2 s10 boot sneaker >"$D/first.txt"
    cat "$F/names.txt" >>"$D/first.txt"
    pgm_stream 4 4 4 >"$D/four.pgm"
    cat "$D/four.pgm" "$F/gray.pgm" >"$D/ten.pgm"
    tiny_train -o "$D/other.pcnn" -l "$D/first.txt" "$D/ten.pgm" 2>/dev/null
    run -0 --separate-stderr "$INFO" "$D/other.pcnn"
    [[ $output == *"class names     boot, s2, s10, sneaker"* ]] || die "another order"
}

@test "pcnn-train: a file of names and numbers, a 10 kB name: exit 1, one line, no model" {
    printf '%s\n' boot s2 7 boot >"$D/mixed.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -l "$D/mixed.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/mixed.txt:3:" "'7' is a class number, but line 1 is a class name"
    assert_no_leftovers "$D/m.pcnn"
    printf '%s\n' 1 2 boot >"$D/mixed.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -l "$D/mixed.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/mixed.txt:3:" "not a non-negative integer, as line 1 is"
    { printf 'boot\n'; head -c 10240 /dev/zero | tr '\0' x; printf '\nboot\n'; } >"$D/long.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -l "$D/long.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/long.txt:2:" "10240 bytes long, more than 64"
    [ "${#stderr}" -lt 600 ] || die "the message quotes too much of the name"
    assert_no_leftovers "$D/m.pcnn"
    printf 'boot\ns\t2\n' >"$D/tab.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/m.pcnn" -l "$D/tab.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/tab.txt:2:" "control character"
}

@test "pcnn-train --classes with names: only their number; names for a model of numbers: exit 1" {
    run -2 --separate-stderr "$TRAIN" -o "$D/m.pcnn" --classes 5 -l "$F/names.txt" "$F/gray.pgm"
    assert_usage_error pcnn-train "--classes 5" "4 classes"
    tiny_train -o "$D/m.pcnn" --classes 4 -l "$F/names.txt" "$F/gray.pgm" 2>/dev/null
    cp "$F/ints.pcnn" "$D/ints.pcnn"
    run -1 --separate-stderr "$TRAIN" -o "$D/ints.pcnn" -r -s 7 -l "$F/names.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$F/names.txt:1:" "'sneaker' is a class name, but the model's classes have numbers"
}

@test "pcnn-train --valid-labels: names through the training set's table, not the file's own order" {
    # held out: images 2 and 6 as sneaker and s2; alone, sorted, those would be 1 and 0
    printf '%s\n' sneaker s2 >"$D/vnames.txt"
    printf '%s\n' 3 1 >"$D/vints.txt"
    tiny_train -o "$D/a.pcnn" -l "$F/names.txt" -v "$F/gray.pgm" --valid-labels "$D/vnames.txt" --valid-size 2 \
        "$F/gray.pgm" 2>"$D/a.err"
    tiny_train -o "$D/b.pcnn" -l "$F/ints.txt" -v "$F/gray.pgm" --valid-labels "$D/vints.txt" --valid-size 2 \
        "$F/gray.pgm" 2>"$D/b.err"
    grep -q 'step 6 valid' "$D/a.err" || die "no validation: $(cat "$D/a.err")"
    [ "$(grep valid "$D/a.err")" = "$(grep valid "$D/b.err")" ] || die "validation differs: $(grep valid "$D"/?.err)"
    printf '%s\n' sneaker sandal >"$D/vbad.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/c.pcnn" -l "$F/names.txt" -v "$F/gray.pgm" --valid-labels "$D/vbad.txt" \
        --valid-size 2 "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/vbad.txt:2: no class of the model is named 'sandal'"
    assert_no_leftovers "$D/c.pcnn"
}

@test "pcnn-train --resume: keeps the table; the labels map through it as in the first run" {
    tiny_train -o "$D/r.pcnn" -s 3 -l "$F/names.txt" "$F/gray.pgm" 2>/dev/null
    "$TRAIN" -o "$D/r.pcnn" -r -s 6 -l "$F/names.txt" "$F/gray.pgm" 2>/dev/null
    run -0 --separate-stderr "$INFO" "$D/r.pcnn"
    [[ $output == *"class names     boot, s2, s10, sneaker"* ]] || die "names lost"
    [[ $output == *"training        step 6,"* ]] || die "not resumed"
    # stopped and resumed is the unbroken run, which is named.pcnn
    run -0 --separate-stderr "$NLL" -m "$D/r.pcnn" -l "$F/names.txt" "$F/gray.pgm"
    local resumed=$output
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -l "$F/names.txt" "$F/gray.pgm"
    [ "$output" = "$resumed" ] || die "resumed run differs from the unbroken one"
    # a stripped model keeps them too
    "$STRIP" -o "$D/s.pcnn" "$D/r.pcnn"
    run -0 --separate-stderr "$INFO" --json "$D/s.pcnn"
    [[ $output == *'"class_names":["boot","s2","s10","sneaker"]'* ]] || die "names lost by pcnn-strip"
    # a name the model does not have
    printf '%s\n' sneaker boot s10 sneaker sandal s2 >"$D/bad.txt"
    run -1 --separate-stderr "$TRAIN" -o "$D/r.pcnn" -r -s 9 -l "$D/bad.txt" "$F/gray.pgm"
    assert_last_error_line pcnn-train "$D/bad.txt:5: no class of the model is named 'sandal'"
}

@test "pcnn-train --embed: an embedding net keeps the names of its identities" {
    "$TRAIN" -o "$D/e.pcnn" --embed 4 --net-features 4 -b 4 -s 2 --every 2 -l "$F/names.txt" "$F/gray.pgm" 2>/dev/null
    run -0 --separate-stderr "$INFO" "$D/e.pcnn"
    [[ $output == *"identities (4 in training)"* && $output == *"class names     boot, s2, s10, sneaker"* ]] ||
        die "identity names"
}

# ---- pcnn-sample and pcnn-nll by name -------------------------------------------------------

@test "pcnn-sample -c NAME draws what -c K draws; an unknown name exits 2 naming it" {
    run -0 --separate-stderr bash -c '"$1" -m "$2" -c s10 -n 3 --seed 4 | od -An -tx1' _ "$SAMPLE" "$F/named.pcnn"
    local named=$output
    run -0 --separate-stderr bash -c '"$1" -m "$2" -c 2 -n 3 --seed 4 | od -An -tx1' _ "$SAMPLE" "$F/named.pcnn"
    [ -n "$named" ] && [ "$output" = "$named" ] || die "-c s10 and -c 2 differ"
    run -2 --separate-stderr "$SAMPLE" -m "$F/named.pcnn" -c sandal
    assert_usage_error pcnn-sample "'sandal' is not a class of $F/named.pcnn" "boot, s2, s10, sneaker"
    run -2 --separate-stderr "$SAMPLE" -m "$F/named.pcnn" -c Boot
    assert_usage_error pcnn-sample "'Boot'"
    run -2 --separate-stderr "$SAMPLE" -m "$F/ints.pcnn" -c boot
    assert_usage_error pcnn-sample "'boot' is not a class of $F/ints.pcnn (0..3)"
}

@test "pcnn-nll: -c NAME and -l NAMES give the figures of the class numbers" {
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -c sneaker "$F/gray.pgm"
    local named=$output
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -c 3 "$F/gray.pgm"
    [ "$output" = "$named" ] || die "-c sneaker and -c 3 differ"
    # a file of one name: alone it would be class 0; through the model's table it is 3
    printf 'sneaker\n%.0s' 1 2 3 4 5 6 >"$D/six.txt"
    run -0 --separate-stderr "$NLL" -m "$F/named.pcnn" -l "$D/six.txt" "$F/gray.pgm"
    [ "$output" = "$named" ] || die "-l of sneakers and -c 3 differ"
    run -0 --separate-stderr bash -c '"$1" -m "$2" -l - "$3" <"$4"' _ "$NLL" "$F/named.pcnn" "$F/gray.pgm" "$D/six.txt"
    [ "$output" = "$named" ] || die "names on stdin"
}

@test "pcnn-nll: an unknown name, names for numbered classes: exit 1, one line with file, line and name" {
    printf '%s\n' boot boot s2 sandal boot boot >"$D/bad.txt"
    run -1 --separate-stderr "$NLL" -m "$F/named.pcnn" -l "$D/bad.txt" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$D/bad.txt:4:" "'sandal'"
    assert_no_stdout
    run -1 --separate-stderr "$NLL" -m "$F/ints.pcnn" -l "$F/names.txt" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$F/names.txt:1:" "'sneaker' is a class name, but the model's classes have numbers"
    assert_no_stdout
    run -2 --separate-stderr "$NLL" -m "$F/named.pcnn" -c sandal "$F/gray.pgm"
    assert_usage_error pcnn-nll "'sandal'"
}

@test "pcnn-convert: the labels of a file of names go out as names" {
    "$CONVERT" --skip 1 --limit 3 -l "$F/names.txt" --labels-out "$D/out.txt" "$F/gray.pgm" >/dev/null
    [ "$(cat "$D/out.txt")" = "$(printf '%s\n' boot s10 sneaker)" ] || die "$(cat "$D/out.txt")"
}

# ---- grids with row labels --------------------------------------------------------------------

@test "pcnn-sample --row-labels: a column of names at the left; the grid beside it unchanged" {
    # without --labels: 2 images of 4x4 across, 4 classes: 9x19
    "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --seed 1 -o "$D/plain.png" 2>/dev/null
    [ "$(png_size "$D/plain.png")" = 9x19 ] || die "plain: $(png_size "$D/plain.png")"
    # with: wider by the names' column; rows as tall as the text (15 pixels) with 1 px gaps
    "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --seed 1 --row-labels -o "$D/named.png" 2>/dev/null
    local size w
    size=$(png_size "$D/named.png")
    w=${size%x*}
    [ "${size#*x}" -eq 63 ] && [ "$w" -gt 40 ] && [ "$w" -lt 90 ] || die "labelled: $size"
    # at --scale 4 the images are 16 high, taller than the text: cutting the column off gives
    # the plain grid, pixel for pixel
    command -v pngtopnm >/dev/null && command -v pamcut >/dev/null || skip "no netpbm programs"
    "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --seed 1 --scale 4 -o "$D/p4.png" 2>/dev/null
    "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --seed 1 --scale 4 --row-labels -o "$D/l4.png" 2>/dev/null
    run -0 bash -c 'pngtopnm "$1" | pamfile' _ "$D/l4.png"
    [[ $output == *"PGM raw, "*" by 76 "* ]] || die "$output"
    w=$(png_size "$D/l4.png")
    w=${w%x*}
    pngtopnm "$D/p4.png" >"$D/p4.pgm"
    pngtopnm "$D/l4.png" | pamcut -left $((w - 36)) >"$D/cut.pgm"
    cmp -s "$D/p4.pgm" "$D/cut.pgm" || die "the grid beside the labels is not the plain grid"
    # the column holds ink (black) on white, and nothing else
    run -0 bash -c 'pngtopnm "$1" | pamcut -right $(( $2 - 37 )) | pgmhist -machine' _ "$D/l4.png" "$w"
    [ "$(awk '$1 != 0 && $1 != 255 { n += $2 } END { print n + 0 }' <<<"$output")" -eq 0 ] || die "gray in the column"
    [ "$(awk '$1 == 0 { print $2 }' <<<"$output")" -gt 50 ] || die "no text in the column"
}

@test "pcnn-sample --row-labels: numbered classes, records, a wrapped row; refusals exit 2" {
    # numbered classes: the numbers, narrower than the names
    "$SAMPLE" -m "$F/ints.pcnn" -c all -n 2 --seed 1 --row-labels -o "$D/n.png" 2>/dev/null
    "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --seed 1 --row-labels -o "$D/s.png" 2>/dev/null
    local wn ws
    wn=$(png_size "$D/n.png") ws=$(png_size "$D/s.png")
    [ "${wn%x*}" -lt "${ws%x*}" ] && [ "${wn%x*}" -gt 9 ] || die "numbers $wn, names $ws"
    # one class over rows of 4: one band per row
    "$SAMPLE" -m "$F/named.pcnn" -c boot -n 8 --cols 4 --seed 1 --row-labels -o "$D/w.png" 2>/dev/null
    [ "$(png_size "$D/w.png" | cut -dx -f2)" -eq 31 ] || die "wrapped: $(png_size "$D/w.png")"
    # records of a conditioning stream
    { npy_record 1 0 0 0; npy_record 0 0 0 1; } >"$D/c.npy"
    "$SAMPLE" -m "$F/named.pcnn" --cond "$D/c.npy" -n 2 --seed 1 --row-labels -o "$D/r.png" 2>/dev/null
    [ "$(png_size "$D/r.png" | cut -dx -f2)" -eq 31 ] || die "records: $(png_size "$D/r.png")"
    run -2 --separate-stderr "$SAMPLE" -m "$F/named.pcnn" -c all -n 2 --row-labels
    assert_usage_error pcnn-sample "--row-labels" "-o FILE.png"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 2 --row-labels -o "$D/x.png"
    assert_usage_error pcnn-sample "--row-labels" "unconditional"
    run -2 --separate-stderr "$SAMPLE" -m "$F/named.pcnn" -c all -n 4 --cols 3 --row-labels -o "$D/x.png"
    assert_usage_error pcnn-sample "--row-labels" "--cols dividing -n 4"
    [ ! -e "$D/x.png" ] || die "a grid was written"
}
