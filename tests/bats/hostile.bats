#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2154  # bash -c scripts; bats sets status/output/stderr
# Hostile models and conditioning (issue 10): a FIFO, a huge file and a small file that
# asks for a huge network as -m, a network of the deepest documented size, conditioning
# values that are finite but huge. Each must fail (or work) at once, with one line.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

@test "hostile: a FIFO as -m is refused at once, not waited on (pcnn-nll, pcnn-sample, pcnn-encode)" {
    mkfifo "$D/fifo"
    run -1 --separate-stderr timeout 20 "$NLL" -m "$D/fifo" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$D/fifo" "not a regular file"
    run -1 --separate-stderr timeout 20 "$SAMPLE" -m "$D/fifo"
    assert_one_error_line pcnn-sample "$D/fifo" "not a regular file"
    run -1 --separate-stderr timeout 20 "$ENCODE" -m "$D/fifo" "$F/gray.pgm"
    assert_one_error_line pcnn-encode "$D/fifo" "not a regular file"
}

# peak_kib FILE: the peak resident memory, in KiB, that GNU time wrote to FILE (-f %M)
peak_kib() {
    tail -n 1 "$1"
}

@test "hostile: a 3 GB file as -m is refused by its header, without reading it (peak memory < 300 MiB)" {
    truncate -s 3G "$D/big.pcnn" || skip "cannot make a sparse 3 GB file here"
    run -1 --separate-stderr /usr/bin/time -f %M -o "$D/peak" "$NLL" -m "$D/big.pcnn" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$D/big.pcnn" "header"
    [ "$(peak_kib "$D/peak")" -lt 300000 ] || die "peak memory $(peak_kib "$D/peak") KiB"
}

@test "hostile: a small file whose metadata asks for a huge network allocates nothing (peak memory < 300 MiB)" {
    safetensors_file '{"format":"pcnn-model","version":"1","layers":"100","features":"4095","filter":"15","channels":"3","height":"1024","width":"1024","levels":"256","cond_size":"0","classes":"0"}' >"$D/huge.pcnn"
    [ "$(stat -c %s "$D/huge.pcnn")" -lt 1000 ]
    run -1 --separate-stderr /usr/bin/time -f %M -o "$D/peak" "$NLL" -m "$D/huge.pcnn" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$D/huge.pcnn" "is missing"
    [ "$(peak_kib "$D/peak")" -lt 300000 ] || die "peak memory $(peak_kib "$D/peak") KiB"
}

@test "hostile: -L 100, the deepest documented network, trains, is read back and samples" {
    run -0 --separate-stderr "$TRAIN" -L 100 -p 3 -n 3 -b 2 -s 1 --every 1 -o "$D/deep.pcnn" "$F/gray.pgm"
    [ "$(model_meta "$D/deep.pcnn" layers)" = 100 ]
    run -0 --separate-stderr "$NLL" -m "$D/deep.pcnn" "$F/gray.pgm"
    run -0 --separate-stderr "$SAMPLE" -m "$D/deep.pcnn" -n 2
}

@test "hostile: conditioning values that are finite but huge (3e38) are refused, naming the record" {
    npy_record 3e38 0 0 >"$D/huge.npy"
    run -1 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" --cond "$D/huge.npy"
    assert_one_error_line pcnn-sample "$D/huge.npy" "beyond"
    run -1 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$2" < "$3"' _ "$SAMPLE" "$F/class.pcnn" "$D/huge.npy"
    assert_one_error_line pcnn-sample "beyond"
    { npy_record 1 0 0; npy_record 3e38 0 0; } >"$D/two.npy"
    run -1 --separate-stderr "$NLL" -m "$F/class.pcnn" --cond "$D/two.npy" "$F/gray.pgm"
    assert_one_error_line pcnn-nll "$D/two.npy" "record 2"
}

@test "hostile: finite weights that overflow (3e38): pcnn-nll and pcnn-sample fail with one line naming the model" {
    # every value of the last convolution's weights set to 3e38: the logits are not finite
    local model=$BATS_TEST_DIRNAME/../fixtures/parity_gray.pcnn
    "$SAMPLE" -q -m "$model" -n 2 >"$D/two.pgm"
    /usr/bin/python3 - "$model" "$D/huge.pcnn" <<'PY'
import json, struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", d[:8])[0]
s, e = json.loads(d[8:8 + n])["out2.weight"]["data_offsets"]
for o in range(s, e, 4):
    struct.pack_into("<f", d, 8 + n + o, 3e38)
open(sys.argv[2], "wb").write(d)
PY
    run -1 --separate-stderr "$NLL" -m "$D/huge.pcnn" "$D/two.pgm"
    drop_device_lines
    assert_one_error_line pcnn-nll "$D/huge.pcnn" "not finite"
    run -1 --separate-stderr "$SAMPLE" -m "$D/huge.pcnn" -n 2
    drop_device_lines
    assert_one_error_line pcnn-sample "$D/huge.pcnn" "not finite"
}
