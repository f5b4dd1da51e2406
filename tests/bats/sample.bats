#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031,SC2154  # bash -c scripts; bats sets status/output/stderr
# pcnn-sample: options, the netpbm stream and its round trip through pcnn-nll, PNG grids,
# seeds, class models (-c K, -c all), conditioning records (--cond, stdin).
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    fixture_models
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# ---- options ---------------------------------------------------------------------------

@test "pcnn-sample --help: exit 0, usage on stdout, nothing on stderr" {
    run -0 --separate-stderr "$SAMPLE" --help
    [[ ${lines[0]} == "usage: pcnn-sample "* ]] || die "no usage line"
    [[ $output == *"--temperature"* ]] || die "options missing from the help"
    [ -z "$stderr" ] || die "stderr is not empty"
}

@test "pcnn-sample --help >/dev/full: exit 1 with a write error" {
    run -1 --separate-stderr bash -c '"$1" --help >/dev/full' _ "$SAMPLE"
    assert_one_error_line pcnn-sample "standard output"
}

@test "pcnn-sample: unknown option exits 2, stderr only" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --bogus
    assert_usage_error pcnn-sample "--bogus"
}

@test "pcnn-sample: an operand exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" "$F/gray.pgm"
    assert_usage_error pcnn-sample "$F/gray.pgm"
}

@test "pcnn-sample: -n abc exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n abc
    assert_usage_error pcnn-sample "abc"
}

@test "pcnn-sample: --temperature -1 exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --temperature -1
    assert_usage_error pcnn-sample "-1"
}

@test "pcnn-sample: -s -5 (not an option of pcnn-sample) exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -s -5
    assert_usage_error pcnn-sample
}

@test "pcnn-sample: bad numbers exit 2 (-n 0, -n 2x, -n 100001, -t -1, -t inf, -t nan, --seed -5, --seed x)" {
    local a
    for a in "-n 0" "-n 2x" "-n 100001" "-t -1" "-t inf" "-t nan" "--seed -5" "--seed x" "--seed 99999999999999999999999"; do
        # shellcheck disable=SC2086
        run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" $a
        assert_usage_error pcnn-sample
    done
}

@test "pcnn-sample: -c with an unconditional model exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -c 0
    assert_usage_error pcnn-sample "$F/gray.pcnn"
}

@test "pcnn-sample: --cond with an unconditional model exits 2" {
    npy_record 1 0 0 >"$D/c.npy"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --cond "$D/c.npy"
    assert_usage_error pcnn-sample "$F/gray.pcnn"
}

@test "pcnn-sample: -c with --cond exits 2" {
    npy_record 1 0 0 >"$D/c.npy"
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c 1 --cond "$D/c.npy"
    assert_usage_error pcnn-sample
}

@test "pcnn-sample: -c K outside the model's classes, -c x, -c -1 exit 2" {
    local a
    for a in 3 x -1 1x ""; do
        run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c "$a"
        assert_usage_error pcnn-sample
    done
}

@test "pcnn-sample: more than 100000 images in all exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c all -n 50000
    assert_usage_error pcnn-sample "100000"
}

# ---- the netpbm stream -----------------------------------------------------------------

@test "pcnn-sample -n 3: a stream of 3 P5 images of the model's size" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$2" -n 3 | od -An -v -tx1 | tr -d " \n"' _ "$SAMPLE" "$F/gray.pcnn"
    local hdr=50350a3420340a3235350a # "P5\n4 4\n255\n"
    [ "${#output}" -eq $((3 * (22 + 32))) ] || die "not 3 x (11 + 16) bytes"
    [ "${output:0:22}" = "$hdr" ] && [ "${output:54:22}" = "$hdr" ] && [ "${output:108:22}" = "$hdr" ] ||
        die "not three 'P5 4 4 255' headers"
}

@test "pcnn-sample | pcnn-nll: 3 images read back as 3 lines and a mean" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -n 3 | "$2" -m "$3"' _ "$SAMPLE" "$NLL" "$F/gray.pcnn"
    [ "${#lines[@]}" -eq 4 ] || die "expected 4 lines"
    [[ ${lines[3]} == mean* ]]
}

@test "pcnn-sample: default count is 1" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" | "$2" -m "$3"' _ "$SAMPLE" "$NLL" "$F/gray.pcnn"
    [ "${#lines[@]}" -eq 2 ]
}

@test "pcnn-sample: an RGB model writes P6" {
    "$SAMPLE" -m "$F/rgb.pcnn" -n 2 >"$D/s.ppm" 2>/dev/null
    [ "$(head -c 2 "$D/s.ppm")" = P6 ]
    [ "$(stat -c %s "$D/s.ppm")" -eq $((2 * (11 + 48))) ]
    run -0 --separate-stderr "$NLL" -m "$F/rgb.pcnn" "$D/s.ppm"
    [ "${#lines[@]}" -eq 3 ]
}

@test "pcnn-sample: a binary model (K=2) writes maxval 1" {
    "$SAMPLE" -m "$F/bin.pcnn" -n 2 >"$D/s.pgm" 2>/dev/null
    [ "$(head -c 9 "$D/s.pgm" | od -An -c | tr -d ' ')" = 'P5\n44\n1\n' ] || die "header is not 'P5 4 4 1'"
    # every sample is 0 or 1
    ! tail -c 16 "$D/s.pgm" | od -An -v -tu1 | tr -s ' ' '\n' | grep -q -v -e '^$' -e '^[01]$' || die "a sample above 1"
    run -0 --separate-stderr "$NLL" -m "$F/bin.pcnn" "$D/s.pgm"
    [ "${#lines[@]}" -eq 3 ]
}

@test "pcnn-sample: the same --seed draws the same images, other seeds differ" {
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 42 >"$D/a.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 42 >"$D/b.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 43 >"$D/c.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 1 >"$D/d.pgm" 2>/dev/null
    cmp "$D/a.pgm" "$D/b.pgm"
    ! cmp -s "$D/a.pgm" "$D/c.pgm" || die "seeds 42 and 43 drew the same images"
    ! cmp -s "$D/a.pgm" "$D/d.pgm" || die "seeds 42 and 1 drew the same images"
}

@test "pcnn-sample without --seed: each run draws new images and names its seed, which draws them again" {
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 3 -o "$D/a.pgm"
    drop_device_lines
    [[ $stderr =~ ^pcnn-sample:\ drawn\ with\ --seed\ ([0-9]+)$ ]] || die "no seed line: $stderr"
    local s=${BASH_REMATCH[1]}
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 3 -o "$D/b.pgm"
    ! cmp -s "$D/a.pgm" "$D/b.pgm" || die "two runs without --seed drew the same images"
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed "$s" -o "$D/c.pgm"
    drop_device_lines
    [ -z "$stderr" ] || die "a run with --seed named its seed: $stderr"
    cmp "$D/a.pgm" "$D/c.pgm"
    run -0 --separate-stderr "$SAMPLE" -q -m "$F/gray.pcnn" -n 1
    [ -z "$stderr" ] || die "-q still named the seed or the device: $stderr"
}

@test "pcnn-sample --same-noise: image k of every row draws the same numbers; without it they differ" {
    { npy_record 0 1 0; npy_record 0 1 0; } >"$D/twice.npy"
    "$SAMPLE" -m "$F/class.pcnn" --cond "$D/twice.npy" -n 2 --seed 8 --same-noise >"$D/same.pgm" 2>/dev/null
    cmp <(head -c 54 "$D/same.pgm") <(tail -c 54 "$D/same.pgm") || die "--same-noise: the two rows differ"
    "$SAMPLE" -m "$F/class.pcnn" --cond "$D/twice.npy" -n 2 --seed 8 >"$D/own.pgm" 2>/dev/null
    ! cmp -s <(head -c 54 "$D/own.pgm") <(tail -c 54 "$D/own.pgm") || die "without it the rows repeat"
    cmp <(head -c 54 "$D/same.pgm") <(head -c 54 "$D/own.pgm") || die "the first row changed"
}

@test "pcnn-sample: image b depends on (seed, b) alone: -n 1 is the first image of -n 3" {
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 5 >"$D/three.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/gray.pcnn" -n 1 --seed 5 >"$D/one.pgm" 2>/dev/null
    cmp "$D/one.pgm" <(head -c 27 "$D/three.pgm")
}

@test "pcnn-sample: over 64 images are drawn 64 at a time, and that changes no image" {
    # row 2 of 3 classes x 30 is images 60-89, across the first chunk's end; with
    # --same-noise its streams are those of -c 2 -n 30, drawn in one chunk
    "$SAMPLE" -m "$F/class.pcnn" -c all -n 30 --same-noise --seed 3 >"$D/all.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/class.pcnn" -c 2 -n 30 --seed 3 >"$D/c2.pgm" 2>/dev/null
    cmp "$D/c2.pgm" <(tail -c +$((60 * 27 + 1)) "$D/all.pgm") || die "row 2 is not -c 2's images"
    # without it, image 65 (the second chunk's first) is not image 1 again
    "$SAMPLE" -m "$F/gray.pcnn" -n 70 --seed 3 >"$D/70.pgm" 2>/dev/null
    ! cmp -s <(head -c 27 "$D/70.pgm") <(tail -c +$((64 * 27 + 1)) "$D/70.pgm" | head -c 27) ||
        die "the second chunk drew the first one's images again"
    "$SAMPLE" -m "$F/gray.pcnn" -n 64 --seed 3 >"$D/64.pgm" 2>/dev/null
    cmp "$D/64.pgm" <(head -c $((64 * 27)) "$D/70.pgm")
}

@test "pcnn-sample: a low temperature works" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -n 2 -t 0.01 | "$2" -m "$3"' _ "$SAMPLE" "$NLL" "$F/gray.pcnn"
    [ "${#lines[@]}" -eq 3 ]
}

# ---- nucleus (top-p) sampling ------------------------------------------------------------

@test "pcnn-sample: --top-p outside (0, 1] exits 2 (0, 1.5, -0.1, nan, x)" {
    local a
    for a in 0 1.5 -0.1 nan x ""; do
        run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --top-p "$a"
        assert_usage_error pcnn-sample "--top-p"
    done
}

@test "pcnn-sample --top-p 0.9: draws images that pcnn-nll reads back; in --help" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -n 3 --top-p 0.9 | "$2" -m "$3"' _ "$SAMPLE" "$NLL" "$F/gray.pcnn"
    [ "${#lines[@]}" -eq 4 ] || die "expected 3 images and a mean"
    run -0 --separate-stderr "$SAMPLE" --help
    [[ $output == *"--top-p"* ]] || die "--top-p missing from the help"
}

@test "pcnn-sample --top-p: 1 is the default; 0.9 changes the draws; --naive agrees" {
    "$SAMPLE" -m "$F/rgb.pcnn" -n 3 --seed 6 >"$D/default.ppm" 2>/dev/null
    "$SAMPLE" -m "$F/rgb.pcnn" -n 3 --seed 6 --top-p 1 >"$D/one.ppm" 2>/dev/null
    "$SAMPLE" -m "$F/rgb.pcnn" -n 3 --seed 6 --top-p 0.9 >"$D/p.ppm" 2>/dev/null
    "$SAMPLE" -m "$F/rgb.pcnn" -n 3 --seed 6 --top-p 0.9 --naive >"$D/naive.ppm" 2>/dev/null
    cmp "$D/default.ppm" "$D/one.ppm"
    ! cmp -s "$D/default.ppm" "$D/p.ppm" || die "--top-p 0.9 drew the same images as --top-p 1"
    cmp "$D/p.ppm" "$D/naive.ppm"
}

@test "pcnn-sample --top-p 0.001: every value is the likeliest, so the seed does not matter" {
    "$SAMPLE" -m "$F/class.pcnn" -c all -n 2 --seed 1 --top-p 0.001 >"$D/a.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/class.pcnn" -c all -n 2 --seed 2 --top-p 0.001 >"$D/b.pgm" 2>/dev/null
    cmp "$D/a.pgm" "$D/b.pgm"
}

# ---- PNG grids -------------------------------------------------------------------------

@test "pcnn-sample -o grid.png: a PNG, nothing on stdout, no temporary files" {
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 3 -o "$D/grid.png"
    assert_no_stdout
    is_png "$D/grid.png" || die "no PNG signature"
    [ "$(head -c 8 "$D/grid.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
    assert_no_leftovers "$D/none.png"
}

@test "pcnn-sample -n 1 -o: the grid of one image is that image (pcnn-nll reads it back)" {
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 1 --seed 9 -o "$D/one.png"
    "$SAMPLE" -m "$F/gray.pcnn" -n 1 --seed 9 >"$D/one.pgm" 2>/dev/null
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/one.png"
    local png=$output
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$D/one.pgm"
    [ "$output" = "$png" ] || die "the PNG and the netpbm image differ"
}

@test "pcnn-sample -o replaces an existing file" {
    printf 'old\n' >"$D/grid.png"
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 2 -o "$D/grid.png"
    is_png "$D/grid.png"
}

# ---- class models ----------------------------------------------------------------------

@test "pcnn-sample -c K: N images of one class" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -c 2 -n 2 | "$2" -m "$3" -c 2' _ "$SAMPLE" "$NLL" "$F/class.pcnn"
    [ "${#lines[@]}" -eq 3 ]
}

@test "pcnn-sample -c all -n 2: 2 images of each of the 3 classes" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -c all -n 2 | "$2" -m "$3" -c 0' _ "$SAMPLE" "$NLL" "$F/class.pcnn"
    [ "${#lines[@]}" -eq 7 ] || die "expected 6 images and a mean"
}

@test "pcnn-sample -c all: 10 images per class by default" {
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" -c all | "$2" -m "$3" -c 0' _ "$SAMPLE" "$NLL" "$F/class.pcnn"
    [ "${#lines[@]}" -eq 31 ] || die "expected 30 images and a mean"
}

@test "pcnn-sample -c all -o grid.png: a PNG" {
    run -0 --separate-stderr "$SAMPLE" -m "$F/class.pcnn" -c all -n 2 -o "$D/grid.png"
    assert_no_stdout
    is_png "$D/grid.png"
}

@test "pcnn-sample: row k of -c all equals -c k with the same seed" {
    "$SAMPLE" -m "$F/class.pcnn" -c all -n 1 --seed 3 >"$D/all.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/class.pcnn" -c 0 -n 1 --seed 3 >"$D/c0.pgm" 2>/dev/null
    cmp "$D/c0.pgm" <(head -c 27 "$D/all.pgm")
}

@test "pcnn-sample --cond FILE: one row of N images per .npy record" {
    { npy_record 1 0 0; npy_record 0 0 1; } >"$D/c.npy"
    run -0 --separate-stderr bash -c 'set -o pipefail; "$1" -m "$3" --cond "$4" -n 2 | "$2" -m "$3" -c 0' _ "$SAMPLE" "$NLL" "$F/class.pcnn" "$D/c.npy"
    [ "${#lines[@]}" -eq 5 ] || die "expected 4 images and a mean"
}

@test "pcnn-sample --cond: a one-hot record draws what -c K draws" {
    npy_record 0 1 0 >"$D/c1.npy"
    "$SAMPLE" -m "$F/class.pcnn" --cond "$D/c1.npy" -n 2 --seed 11 >"$D/a.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/class.pcnn" -c 1 -n 2 --seed 11 >"$D/b.pgm" 2>/dev/null
    cmp "$D/a.pgm" "$D/b.pgm"
}

@test "pcnn-sample: a conditional model reads .npy records from stdin when stdin is not a terminal" {
    { npy_record 1 0 0; npy_record 0 1 0; npy_record 0 0 1; } >"$D/c.npy"
    run -0 --separate-stderr bash -c 'set -o pipefail; cat "$4" | "$1" -m "$3" | "$2" -m "$3" -c 0' _ "$SAMPLE" "$NLL" "$F/class.pcnn" "$D/c.npy"
    [ "${#lines[@]}" -eq 4 ] || die "expected 3 images and a mean"
}

@test "pcnn-sample: '--cond -' is stdin" {
    npy_record 0 0 1 >"$D/c.npy"
    run -0 --separate-stderr bash -c '"$1" -m "$2" --cond - <"$3"' _ "$SAMPLE" "$F/class.pcnn" "$D/c.npy"
    [ "$(head -c 2 <<<"$output")" = P5 ]
}

@test "pcnn-sample >/dev/full: exit 1 with an error" {
    run -1 --separate-stderr bash -c '"$1" -m "$2" -n 2 >/dev/full' _ "$SAMPLE" "$F/gray.pcnn"
    assert_last_error_line pcnn-sample "standard output"
}

# ---- samplers and devices ----------------------------------------------------------------

@test "pcnn-sample --naive draws the same images as the cached sampler (gray, RGB, class)" {
    for m in gray rgb; do
        run -0 --separate-stderr bash -c '"$1" -m "$2" -n 3 --seed 9 | od -An -tx1' _ "$SAMPLE" "$F/$m.pcnn"
        local cached=$output
        run -0 --separate-stderr bash -c '"$1" -m "$2" -n 3 --seed 9 --naive | od -An -tx1' _ "$SAMPLE" "$F/$m.pcnn"
        [ "$output" = "$cached" ] || die "$m: --naive differs from the cached sampler"
    done
    run -0 --separate-stderr bash -c '"$1" -m "$2" -c all -n 2 --seed 4 | od -An -tx1' _ "$SAMPLE" "$F/class.pcnn"
    local cached=$output
    run -0 --separate-stderr bash -c '"$1" -m "$2" -c all -n 2 --seed 4 --naive | od -An -tx1' _ "$SAMPLE" "$F/class.pcnn"
    [ "$output" = "$cached" ] || die "class: --naive differs from the cached sampler"
}

@test "pcnn-sample --device cpu and auto agree; --device cuda without a GPU says so in one line" {
    run -0 --separate-stderr bash -c '"$1" -m "$2" -n 2 --seed 3 --device cpu | od -An -tx1' _ "$SAMPLE" "$F/gray.pcnn"
    local cpu=$output
    run -0 --separate-stderr bash -c '"$1" -m "$2" -n 2 --seed 3 --device auto | od -An -tx1' _ "$SAMPLE" "$F/gray.pcnn"
    [ "$output" = "$cpu" ] || die "--device auto differs from cpu"
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
        skip "a GPU is present: the fallback line does not apply"
    fi
    run -0 --separate-stderr bash -c '"$1" -m "$2" -n 2 --seed 3 --device cuda | od -An -tx1' _ "$SAMPLE" "$F/gray.pcnn"
    [ "$output" = "$cpu" ] || die "--device cuda (CPU fallback) differs from cpu"
    [[ $stderr =~ ^pcnn-sample:\ no\ usable\ CUDA\ device\ \(.+\)\;\ using\ the\ CPU$ ]] || die "stderr: $stderr"
    [ "${#stderr_lines[@]}" -eq 1 ] || die "more than one line"
}

@test "pcnn-sample --device gpu: unknown device exits 2" {
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" --device gpu
    assert_no_stdout
    [[ $stderr == *"unknown device 'gpu'"* ]] || die "stderr: $stderr"
}

# ---- where the images go (issue 12) -------------------------------------------------------

@test "pcnn-sample -o: '-' is stdout, a .png name a PNG grid (any case), any other name the netpbm stream" {
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 5 >"$D/stdout.pgm" 2>/dev/null
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 5 -o - >"$D/dash.pgm" 2>/dev/null
    cmp "$D/stdout.pgm" "$D/dash.pgm"
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 5 -o "$D/file.pgm" 2>/dev/null
    cmp "$D/stdout.pgm" "$D/file.pgm"
    "$SAMPLE" -m "$F/gray.pcnn" -n 3 --seed 5 -o "$D/grid.PNG" 2>/dev/null
    is_png "$D/grid.PNG"
    [ -z "$(find "$D" -name "*.tmp*")" ] || die "temporary files left behind"
}

@test "pcnn-sample with a terminal as stdout: exit 2 before any work, unless -o FILE" {
    run timeout 20 script -qec "$(printf '%q ' "$SAMPLE" -m "$F/gray.pcnn" -n 1)" /dev/null </dev/null
    [ "$status" -eq 2 ] || die "status $status: $output"
    [[ $output == *"not writing images to a terminal"* ]] || die "$output"
    run timeout 20 script -qec "$(printf '%q ' "$SAMPLE" -m "$F/gray.pcnn" -n 1 -o "$D/g.png")" /dev/null </dev/null
    [ "$status" -eq 0 ] || die "with -o: status $status: $output"
    is_png "$D/g.png"
}

# ---- grids (issue 12) --------------------------------------------------------------------

@test "pcnn-sample grids: one long row wraps into a square; --cols N across; --scale S enlarges" {
    # 4x4 images with 1 px gaps: 20 in one row wrap to 5 across, 4 down
    "$SAMPLE" -m "$F/gray.pcnn" -n 20 --seed 1 -o "$D/a.png" 2>/dev/null
    [ "$(png_size "$D/a.png")" = 24x19 ] || die "20 images: $(png_size "$D/a.png")"
    "$SAMPLE" -m "$F/gray.pcnn" -n 6 --seed 1 --cols 2 -o "$D/b.png" 2>/dev/null
    [ "$(png_size "$D/b.png")" = 9x14 ] || die "--cols 2: $(png_size "$D/b.png")"
    "$SAMPLE" -m "$F/gray.pcnn" -n 6 --seed 1 --cols 2 --scale 3 -o "$D/c.png" 2>/dev/null
    [ "$(png_size "$D/c.png")" = 27x42 ] || die "--scale 3: $(png_size "$D/c.png")"
    "$SAMPLE" -m "$F/class.pcnn" -c all -n 2 --seed 1 -o "$D/d.png" 2>/dev/null
    [ "$(png_size "$D/d.png")" = 9x14 ] || die "-c all: one row per class: $(png_size "$D/d.png")"
    run -2 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 2 --scale 2
    assert_usage_error pcnn-sample "--scale" "-o FILE.png"
}
