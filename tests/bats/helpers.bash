# shellcheck shell=bash disable=SC2034,SC2059,SC2154  # variables used by the .bats files; bats sets status/output/stderr; printf of computed octal escapes
# helpers.bash -- shared by the bats tests of the pcnn programs (`load helpers`).
#
# The programs are found in $BIN (default: build/ of this checkout). Every test runs
# from the repository root: `bats tests/bats`. Files go to $BATS_TEST_TMPDIR (one
# test) or $BATS_FILE_TMPDIR (models trained once per file in setup_file).
#
# Beware: bats 1.8's `run -N` sets a global variable `i` (its version check loops over
# it), so a test must not use `i` as its own loop variable around `run`.

BIN="${BIN:-"$BATS_TEST_DIRNAME/../../build"}"
TRAIN="$BIN/pcnn-train"
NLL="$BIN/pcnn-nll"
SAMPLE="$BIN/pcnn-sample"
INTERP="$BIN/pcnn-interp"
ENCODE="$BIN/pcnn-encode"
EMBED="$BIN/pcnn-embed"
STRIP="$BIN/pcnn-strip"
INFO="$BIN/pcnn-info"
CONVERT="$BIN/pcnn-convert"

# Never fall back to the shipped model (models/fashion.pcnn may be half-trained, or
# missing): a test that forgets -m fails loudly on this path instead.
export PCNN_MODEL="/nonexistent/pcnn-bats-default-model.pcnn"

FASHION="${FASHION:-/usr/share/datasets/fashion-mnist}"
# CIFAR-10 binary records, the first 4000 of data_batch_1 (../shared/data beside the project)
CIFAR="${CIFAR:-"$BATS_TEST_DIRNAME/../../../shared/data/cifar10-partial/data_batch_1_first4000.bin"}"

# ---- running --------------------------------------------------------------------------

# The tiny architecture every test trains: one gated layer, 6 maps, 3x3 filters.
tiny_train() {
    "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 6 --every 3 "$@"
}

# ---- checks (each prints what it saw when it fails) -----------------------------------

show_run() {
    {
        echo "--- status: $status"
        echo "--- stdout (${#output} bytes):"
        printf '%s\n' "$output" | head -c 2000
        echo "--- stderr:"
        printf '%s\n' "${stderr-}" | head -c 2000
    } >&2
}

die() {
    echo "FAILED: $*" >&2
    show_run
    return 1
}

# With --device auto, the default, a program that opens a device (pcnn-train, -nll,
# -sample, -encode, -embed) prints one line saying which ("pcnn-nll: device: cpu (no
# CUDA driver)"; device.bats tests it) once its work is under way, after the input's
# first checks: an error in bad input is still one line. A check of a failure later on
# drops it: drop_device_lines removes such lines from $stderr and stderr_lines.
drop_device_lines() {
    local l kept=()
    for l in "${stderr_lines[@]}"; do
        [[ $l =~ ^pcnn-[a-z]+:\ device:\ (cpu|cuda)\ \( ]] || kept+=("$l")
    done
    stderr_lines=("${kept[@]}")
    stderr=$(printf '%s\n' "${kept[@]}")
}

# stdout must be empty
assert_no_stdout() {
    [ -z "$output" ] || die "stdout is not empty"
}

# stderr: exactly one line; it starts with the program name and names each given string
# (usually the file at fault).   assert_one_error_line pcnn-nll FILE...
assert_one_error_line() {
    local prog=$1 s
    shift
    [ "${#stderr_lines[@]}" -eq 1 ] || die "expected exactly one line on stderr, got ${#stderr_lines[@]}"
    [[ $stderr == "$prog: "* ]] || die "the error line does not start with '$prog: '"
    for s in "$@"; do
        [[ $stderr == *"$s"* ]] || die "the error line does not mention '$s'"
    done
}

# Like assert_one_error_line, for a failure after the program has logged progress:
# the last line of stderr is the error, and it is the only line that says 'error'.
assert_last_error_line() {
    local prog=$1 s last
    shift
    drop_device_lines
    [ "${#stderr_lines[@]}" -ge 1 ] || die "stderr is empty"
    last=${stderr_lines[${#stderr_lines[@]} - 1]}
    [[ $last == "$prog: "* ]] || die "the last stderr line does not start with '$prog: '"
    for s in "$@"; do
        [[ $last == *"$s"* ]] || die "the last stderr line does not mention '$s'"
    done
    [ "$(printf '%s\n' "$stderr" | grep -ci error)" -le 1 ] || die "more than one error line"
}

# A usage error: status 2 (checked by run -2), the message, a 'usage:' line and a
# 'Try' line on stderr, nothing on stdout.   assert_usage_error pcnn-train [TEXT...]
assert_usage_error() {
    local prog=$1 s
    shift
    assert_no_stdout
    [[ ${stderr_lines[0]-} == "$prog: "* ]] || die "first stderr line does not start with '$prog: '"
    [[ $stderr == *"usage: $prog "* ]] || die "no 'usage: $prog' line on stderr"
    [[ $stderr == *"Try '$prog --help'"* ]] || die "no 'Try' line on stderr"
    [ "${#stderr_lines[@]}" -eq 3 ] || die "expected 3 lines on stderr, got ${#stderr_lines[@]}"
    for s in "$@"; do
        [[ ${stderr_lines[0]} == *"$s"* ]] || die "the error line does not mention '$s'"
    done
}

# A failed command left nothing behind: not the target, and no temporary file
# (*.tmp*) in the target's directory.   assert_no_leftovers TARGET
assert_no_leftovers() {
    local target=$1 dir left
    dir=$(dirname -- "$target")
    [ ! -e "$target" ] || die "$target exists after a failure"
    if [ -d "$dir" ]; then
        left=$(find "$dir" -maxdepth 1 -name '*.tmp*' -print)
        [ -z "$left" ] || die "temporary files left behind: $left"
    fi
}

# count of lines of a string
nlines() {
    if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# ---- making inputs --------------------------------------------------------------------

# pgm_stream N W H: N random P5 images (maxval 255) in one stream on stdout
pgm_stream() {
    local n=$1 w=$2 h=$3 i
    for ((i = 0; i < n; i++)); do
        printf 'P5\n%d %d\n255\n' "$w" "$h"
        head -c $((w * h)) /dev/urandom
    done
}

# ppm_stream N W H: N random P6 images in one stream on stdout
ppm_stream() {
    local n=$1 w=$2 h=$3 i
    for ((i = 0; i < n; i++)); do
        printf 'P6\n%d %d\n255\n' "$w" "$h"
        head -c $((3 * w * h)) /dev/urandom
    done
}

# Small PNG files, written by hand so that the tests need no netpbm or Python:
# 8-bit gray 4x4 (three of them) and 8-bit RGB 4x4.
png_gray4() {
    case $1 in
    1) printf '%b' '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x00\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x1d\x49\x44\x41\x54\x78\xda\x63\x70\x51\x68\xb2\x61\xf8\xfb\xec\xe3\x21\x86\x6c\x83\x9f\x7c\x0c\xc7\xef\x32\x3e\x01\x00\x53\xe7\x08\xe4\x3b\xfa\xdc\x54\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82' ;;
    2) printf '%b' '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x00\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x1c\x49\x44\x41\x54\x78\xda\x63\x90\xd1\xd3\xde\xc1\x10\x36\xb7\x21\x87\x41\x28\xf0\xce\x49\x86\x7d\x8f\x3b\x85\x00\x3f\xb9\x07\x51\xad\x63\x99\x73\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82' ;;
    3) printf '%b' '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x00\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x1c\x49\x44\x41\x54\x78\xda\x63\xa8\x74\xda\xfb\x89\x41\x91\xed\x43\x0b\x43\x79\xd2\x87\xcf\x0c\xa7\x7d\xcb\x7c\x01\x55\x35\x08\x9d\xdb\x8e\x74\x5e\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82' ;;
    esac
}
png_rgb4() {
    printf '%b' '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00\x00\x00\x26\x93\x09\x29\x00\x00\x00\x3f\x49\x44\x41\x54\x78\xda\x01\x34\x00\xcb\xff\x00\x78\x9b\x34\xca\xf5\x4f\x2e\x22\x0a\xcd\x94\x1e\x00\x71\xb8\x8d\x58\x36\x86\x6d\x0d\x85\x8b\x63\x54\x00\x9e\x94\xbe\x2c\xac\xc6\x7f\x5b\x7e\xf2\x8f\x2d\x00\x99\x03\x95\x9f\x63\xd3\xd8\x93\xdc\xe7\x52\x77\x41\xad\x17\xcb\x71\xbb\x11\xe7\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82'
}

# le16 N / le64 N: little-endian unsigned integers as raw bytes
le16() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))"; }
le64() {
    local i
    for ((i = 0; i < 8; i++)); do printf "\\$(printf %03o $((($1 >> (8 * i)) & 255)))"; done
}

# f32 V: one little-endian float32 for V in 0, 1, 0.5, -1, nan, inf, 3e38
f32() {
    case $1 in
    0) printf '\0\0\0\0' ;;
    1) printf '\0\0\200\077' ;;
    0.5) printf '\0\0\0\077' ;;
    -1) printf '\0\0\200\277' ;;
    nan) printf '\0\0\300\177' ;;
    inf) printf '\0\0\200\177' ;;
    3e38) printf '\346\261\141\177' ;;
    *) echo "f32: no encoding for '$1'" >&2; return 1 ;;
    esac
}

# npy_header DESCR SHAPE: the .npy v1 preamble and header of a record, e.g.
# npy_header '<f4' '3,'; the header is padded with spaces and ends with '\n' so that
# 10 + its length is a multiple of 64.
npy_header() {
    local dict="{'descr': '$1', 'fortran_order': False, 'shape': ($2), }"
    local len=$((${#dict} + 1))
    local hlen=$(((10 + len + 63) / 64 * 64 - 10))
    printf '\223NUMPY\001\000'
    le16 "$hlen"
    printf '%s%*s\n' "$dict" $((hlen - len)) ''
}

# npy_record V...: one record, dtype <f4, shape (n,), of the values (see f32)
npy_record() {
    local v
    npy_header '<f4' "$#,"
    for v in "$@"; do f32 "$v"; done
}

# safetensors META_JSON: a valid .safetensors file with one F32 tensor 'x' of shape [1]
# and the given __metadata__ object
safetensors_file() {
    local hdr="{\"__metadata__\":$1,\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"
    le64 "${#hdr}"
    printf '%s' "$hdr"
    f32 1
}

# st_edit IN OUT FROM TO: copy a .safetensors file replacing text FROM by TO (same
# length) in its JSON header; the data part is copied byte for byte.
st_edit() {
    local in=$1 out=$2 from=$3 to=$4 hlen header
    [ "${#from}" -eq "${#to}" ] || { echo "st_edit: '$from' and '$to' differ in length" >&2; return 1; }
    hlen=$(od -An -N8 -tu8 "$in" | tr -d ' ')
    header=$(tail -c +9 "$in" | head -c "$hlen")
    [[ $header == *"$from"* ]] || { echo "st_edit: '$from' not in the header of $in" >&2; return 1; }
    {
        head -c 8 "$in"
        printf '%s' "${header/"$from"/"$to"}"
        tail -c +$((9 + hlen)) "$in"
    } >"$out"
    [ "$(stat -c %s "$in")" -eq "$(stat -c %s "$out")" ]
}

# is this file a PNG? (its 8-byte signature)
is_png() {
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# ---- models shared by the tests of one file ---------------------------------------------

# fixture_models: in $BATS_FILE_TMPDIR (call from setup_file), writes
#   gray.pgm   6 random 4x4 gray images in one P5 stream
#   rgb.ppm    6 random 4x4 RGB images in one P6 stream
#   labels.txt 6 labels 0 1 2 0 1 2
#   gray.pcnn  unconditional, 256 levels, 1 channel, 4x4
#   class.pcnn class-conditional, 3 classes (from labels.txt)
#   bin.pcnn   2 levels (binary images)
#   rgb.pcnn   3 channels
fixture_models() {
    local d=$BATS_FILE_TMPDIR
    pgm_stream 6 4 4 >"$d/gray.pgm"
    ppm_stream 6 4 4 >"$d/rgb.ppm"
    printf '%s\n' 0 1 2 0 1 2 >"$d/labels.txt"
    tiny_train -o "$d/gray.pcnn" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/class.pcnn" -l "$d/labels.txt" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/bin.pcnn" -k 2 "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/rgb.pcnn" "$d/rgb.ppm" 2>/dev/null
}

# png_size FILE: "WIDTHxHEIGHT" from the PNG's IHDR
png_size() {
    local w h
    w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    echo "${w}x$h"
}

# model_meta MODEL KEY: a value of the model file's __metadata__ (its JSON header)
model_meta() {
    local hlen
    hlen=$(od -An -N8 -tu8 "$1" | tr -d ' ')
    tail -c +9 "$1" | head -c "$hlen" | grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4
}

# wait_for_file FILE [SECONDS]: until FILE exists (default: at most 30 s)
wait_for_file() {
    local i n=$((${2:-30} * 20))
    for ((i = 0; i < n; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    [ -e "$1" ]
}

# wait_gone PID [SECONDS]: until the process has ended (default: at most 30 s)
wait_gone() {
    local i n=$((${2:-30} * 20))
    for ((i = 0; i < n; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    ! kill -0 "$1" 2>/dev/null
}
