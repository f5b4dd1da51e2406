#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2154  # bash -c scripts; bats sets status/output/stderr
# --device: the CUDA backend is a library of its own, $BIN/libpcnn-cuda.so, that the
# programs open only when they use the GPU; with --device auto they say on stderr which
# device they use; --device cuda with no usable GPU says why, and uses the CPU.
#
# Start-up, measured (not a test: no timing is asserted): 20 runs in a row, warm page cache,
# on a busy 2-core machine without a GPU, before (programs linked against cuDNN, cuBLAS
# and the CUDA runtime) and after (the backend opened with dlopen, only for a GPU):
#   pcnn-interp --help                          2.2-3.7 s  ->  0.25-0.35 s
#   pcnn-nll -q, a tiny model, --device auto    6.8-7.7 s  ->  2.4-2.6 s
# A first run after a cold page cache took 2 s before.
bats_require_minimum_version 1.5.0

load helpers

setup_file() {
    local d=$BATS_FILE_TMPDIR
    pgm_stream 6 4 4 >"$d/gray.pgm"
    pgm_stream 8 8 8 >"$d/eight.pgm"
    tiny_train -o "$d/gray.pcnn" "$d/gray.pgm" 2>/dev/null
    tiny_train -o "$d/ae.pcnn" -e 3 --net-features 2 "$d/eight.pgm" 2>/dev/null
}

setup() {
    D=$BATS_TEST_TMPDIR
    F=$BATS_FILE_TMPDIR
}

# a GPU the driver can use: the lines below are those of a machine without one
have_gpu() {
    command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1
}

@test "no program links the CUDA libraries; libpcnn-cuda.so does, and exports its opener alone" {
    [ -e "$BIN/libpcnn-cuda.so" ] || skip "this build has no CUDA backend"
    local p
    for p in "$TRAIN" "$NLL" "$SAMPLE" "$INTERP" "$ENCODE" "$EMBED" "$STRIP" "$INFO" "$CONVERT"; do
        run -0 ldd "$p"
        [[ $output != *libcudart* && $output != *libcublas* && $output != *libcudnn* ]] ||
            die "${p##*/} links a CUDA library"
    done
    run -0 ldd "$BIN/libpcnn-cuda.so"
    [[ $output == *libcudnn* && $output == *libcublas* && $output == *libcudart* ]] || die "libpcnn-cuda.so: $output"
    [[ $output != *"not found"* ]] || die "libpcnn-cuda.so: a library not found"
    run -0 bash -c 'nm -D --defined-only "$1" | awk "\$2 == \"T\" { print \$3 }"' _ "$BIN/libpcnn-cuda.so"
    [ "$output" = pcnn_backend_cuda_init ] || die "exported: $output"
}

@test "--device auto without a GPU: one line 'device: cpu (why)', and none of the CUDA libraries loaded" {
    have_gpu && skip "a GPU is present"
    run -0 --separate-stderr "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm"
    [[ ${stderr_lines[0]} =~ ^pcnn-nll:\ device:\ cpu\ \(.+\)$ ]] || die "stderr: $stderr"
    [ "${#stderr_lines[@]}" -eq 1 ] || die "more than one line"
    # the dynamic loader's log of the files it opens: the driver at most, not 1 GB of libraries
    run -0 --separate-stderr env LD_DEBUG=files "$NLL" -m "$F/gray.pcnn" "$F/gray.pgm"
    [[ $stderr == *"file=libnetpbm"* ]] || die "LD_DEBUG logs nothing here"
    [[ $stderr != *libpcnn-cuda* && $stderr != *libcudart* && $stderr != *libcudnn* ]] ||
        die "a CUDA library was loaded: $(grep -o 'file=[^ ]*' <<<"$stderr" | sort -u | tr '\n' ' ')"
}

@test "--device auto: every program that opens a device says which, once; -q and --device cpu say nothing" {
    have_gpu && skip "a GPU is present"
    local line='device: cpu \(.+\)$'
    run -0 --separate-stderr "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 1 -o "$D/m.pcnn" "$F/gray.pgm"
    [[ ${stderr_lines[0]} =~ ^pcnn-train:\ $line ]] || die "pcnn-train: $stderr"
    [ "$(grep -c ': device: ' <<<"$stderr")" -eq 1 ] || die "pcnn-train: not one device line"
    run -0 --separate-stderr "$SAMPLE" -m "$F/gray.pcnn" -n 1 --seed 1 -o "$D/s.pgm"
    [[ $stderr =~ ^pcnn-sample:\ $line ]] && [ "${#stderr_lines[@]}" -eq 1 ] || die "pcnn-sample: $stderr"
    run -0 --separate-stderr bash -c '"$1" -m "$2" "$3" >/dev/null' _ "$ENCODE" "$F/ae.pcnn" "$F/eight.pgm"
    [[ $stderr =~ ^pcnn-encode:\ $line ]] && [ "${#stderr_lines[@]}" -eq 1 ] || die "pcnn-encode: $stderr"
    run -0 --separate-stderr "$NLL" -q -m "$F/gray.pcnn" "$F/gray.pgm"
    [ -z "$stderr" ] || die "-q: $stderr"
    run -0 --separate-stderr "$NLL" --device cpu -m "$F/gray.pcnn" "$F/gray.pgm"
    [ -z "$stderr" ] || die "--device cpu: $stderr"
    # the programs that compute nothing on a device open none, and say nothing
    run -0 --separate-stderr "$INFO" "$F/gray.pcnn"
    [ -z "$stderr" ] || die "pcnn-info: $stderr"
}

@test "--device cuda, PCNN_CUDA_LIB naming a missing file: one line naming it, then the CPU's results" {
    run -0 --separate-stderr "$NLL" --device cpu -m "$F/gray.pcnn" "$F/gray.pgm"
    local cpu=$output
    run -0 --separate-stderr env PCNN_CUDA_LIB=/nonexistent/libpcnn-cuda.so \
        "$NLL" --device cuda -m "$F/gray.pcnn" "$F/gray.pgm"
    [ "$output" = "$cpu" ] || die "results differ from --device cpu"
    [ "${#stderr_lines[@]}" -eq 1 ] || die "not one line"
    if [ -e "$BIN/libpcnn-cuda.so" ]; then
        [[ $stderr == "pcnn-nll: no usable CUDA device (/nonexistent/libpcnn-cuda.so: cannot open shared object file: No such file or directory); using the CPU" ]] ||
            die "stderr: $stderr"
    else
        [ "$stderr" = "pcnn-nll: no usable CUDA device (this build has no CUDA backend); using the CPU" ] ||
            die "stderr: $stderr"
    fi
    # a file that is not the backend: named too, and -q does not hide it (it is a warning)
    [ -e "$BIN/libpcnn-cuda.so" ] || return 0
    run -0 --separate-stderr env PCNN_CUDA_LIB="$F/gray.pcnn" "$NLL" -q --device cuda -m "$F/gray.pcnn" "$F/gray.pgm"
    [ "$output" = "$cpu" ] || die "results differ from --device cpu"
    [[ $stderr =~ ^pcnn-nll:\ no\ usable\ CUDA\ device\ \($F/gray.pcnn:\ .+\)\;\ using\ the\ CPU$ ]] || die "stderr: $stderr"
}

@test "--device cuda without a GPU: the library beside the program is found and loaded, and says why not" {
    [ -e "$BIN/libpcnn-cuda.so" ] || skip "this build has no CUDA backend"
    have_gpu && skip "a GPU is present"
    run -0 --separate-stderr env -u PCNN_CUDA_LIB LD_DEBUG=files "$NLL" --device cuda -m "$F/gray.pcnn" "$F/gray.pgm"
    [[ $stderr == *"file=$BIN/libpcnn-cuda.so"* || $stderr == *"file=$(cd "$BIN" && pwd -P)/libpcnn-cuda.so"* ]] ||
        die "libpcnn-cuda.so not loaded from $BIN: $(grep -o 'file=[^ ]*' <<<"$stderr" | sort -u | tr '\n' ' ')"
    run -0 --separate-stderr env -u PCNN_CUDA_LIB "$NLL" --device cuda -m "$F/gray.pcnn" "$F/gray.pgm"
    [[ $stderr =~ ^pcnn-nll:\ no\ usable\ CUDA\ device\ \(.+\)\;\ using\ the\ CPU$ ]] || die "stderr: $stderr"
    [[ $stderr != *libpcnn-cuda.so* ]] || die "the library was not loaded: $stderr"
}
