#!/usr/bin/env bats
# shellcheck disable=SC2154  # bats sets status/output/stderr
# pcnn-info: what a model file holds, as text and as JSON.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

@test "pcnn-info: kind, conditioning, images, network, receptive field, size, cost, training run" {
    run -0 --separate-stderr "$INFO" "$F/class.pcnn"
    [ "${lines[0]}" = "$F/class.pcnn" ] || die "first line: ${lines[0]}"
    [[ $output == *"kind            pixelcnn"* ]] || die "kind"
    [[ $output == *"conditioning    3 classes"* ]] || die "conditioning"
    [[ $output == *"images          4x4x1, 256 levels"* ]] || die "images"
    [[ $output == *"network         1 gated layers after the first, 6 maps, 3x3 filters"* ]] || die "network"
    # one layer after the first, 3x3: 1 + 1 + 1 rows, of 4
    [[ $output == *"sees            3 rows above a pixel; the image has 4: covered"* ]] || die "receptive field"
    [[ $output == *"training        step 6, seed 1, batch 4,"* ]] || die "training run"
    [ -z "$stderr" ] || die "stderr: $stderr"
}

@test "pcnn-info: a stripped model has no training run; a field too short is said" {
    "$STRIP" -o "$D/s.pcnn" "$F/gray.pcnn"
    run -0 --separate-stderr "$INFO" "$D/s.pcnn"
    [[ $output == *"no training state"* ]] || die "$output"
    tiny_train -o "$D/wide.pcnn" -L 0 "$F/gray.pgm" 2>/dev/null
    run -0 --separate-stderr "$INFO" "$D/wide.pcnn"
    [[ $output == *"sees            2 rows above a pixel; the image has 4: NOT covered"* ]] || die "$output"
}

@test "pcnn-info --json: one object per model, one line each, with the same facts" {
    run -0 --separate-stderr "$INFO" --json "$F/gray.pcnn" "$F/rgb.pcnn"
    [ "${#lines[@]}" -eq 2 ] || die "expected 2 lines"
    [[ ${lines[0]} == "{\"file\":\"$F/gray.pcnn\",\"kind\":\"pixelcnn\",\"conditioning\":\"none\","* ]] || die "${lines[0]}"
    [[ ${lines[1]} == *'"channels":3,'*'"rows_seen":3,'*'"step":6,'* ]] || die "${lines[1]}"
}

@test "pcnn-info --json: a file name that is not UTF-8 still makes valid JSON (U+FFFD for each bad byte)" {
    cp "$F/gray.pcnn" "$D/"$'caf\xe9\xff'".pcnn"
    run -0 --separate-stderr "$INFO" --json "$D/"$'caf\xe9\xff'".pcnn"
    printf '%s\n' "$output" >"$D/info.json"
    run -0 /usr/bin/python3 -c 'import json, sys; sys.stdout.buffer.write(json.load(open(sys.argv[1], encoding="utf-8"))["file"].encode())' "$D/info.json"
    [[ $output == "$D/caf"$'\xef\xbf\xbd\xef\xbf\xbd'".pcnn" ]] || die "$output"
}

@test "pcnn-info: not a model, no model: exit 1 naming the file, exit 2" {
    pgm_stream 1 4 4 >"$D/img.pgm"
    run -1 --separate-stderr "$INFO" "$D/img.pgm"
    assert_one_error_line pcnn-info "$D/img.pgm" "not a pcnn model"
    run -2 --separate-stderr "$INFO"
    assert_usage_error pcnn-info "no model"
}
