#!/bin/sh
# mpi.sh BUILD_DIR -- `make bench`'s figures of data-parallel pcnn-train (not a test):
# training throughput of 2 ranks x 1 thread against 1 process x 1 thread at the same global
# batch, and against 1 process x 2 threads; and the time of one all-reduce of the gradient
# beside a step. The model is the README's Fashion-MNIST one (-L 12 -p 16 -b 32, classes),
# then run.sh's Fashion configuration (-L 15 -p 64 -b 64, 2 ranks against 2 threads only);
# each figure is the time of steps K+1..2K from pcnn-train's --log, so that loading the
# data and the first steps are left out (validation of 1 image, negligible).
B=${1:-build}
K=${MPI_BENCH_STEPS:-16}
FM=${FASHION:-/usr/share/datasets/fashion-mnist}
command -v mpirun >/dev/null || { echo "mpi: no mpirun (openmpi-bin); skipped"; exit 0; }
ldd "$B/pcnn-train" | grep -q libmpi || { echo "mpi: pcnn-train built without MPI; skipped"; exit 0; }
[ -r "$FM/train-images-idx3-ubyte.gz" ] || { echo "mpi: no Fashion-MNIST in $FM; skipped"; exit 0; }
root=""
[ "$(id -u)" = 0 ] && root=--allow-run-as-root
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

model="-L 12 -p 16 -b 32"
batch=32

# rate LABEL LAUNCHER...: images per second of steps K+1..2K of $model
rate() {
    label=$1
    shift
    rm -f "$t/m.pcnn" "$t/log"
    # shellcheck disable=SC2086 # the model's flags are words
    "$@" "$B/pcnn-train" -q -o "$t/m.pcnn" $model -s $((2 * K)) --every "$K" --valid-size 1 \
        --limit 4000 --log "$t/log" -l "$FM/train-labels-idx1-ubyte.gz" "$FM/train-images-idx3-ubyte.gz" 2>"$t/err" ||
        { echo "mpi: $label failed: $(tail -n 1 "$t/err")"; return 1; }
    awk -v k="$K" -v b="$batch" -v label="$label" -F'[:,]' '
        { s[NR] = $4 }
        END { d = s[2] - s[1]; printf("mpi %s: %.2f img/s (%.3f s per step of %d)\n", label, k * b / d, d / k, b) }' "$t/log"
}

lscpu | sed -n 's/^Model name: *//p' | head -n 1 | sed 's/^/mpi: cpu: /'
echo "mpi: $(nproc) cores online; load average $(cut -d' ' -f1-3 /proc/loadavg)"
one=$(OMP_NUM_THREADS=1 rate "1 rank x 1 thread" env) && echo "$one"
two=$(OMP_NUM_THREADS=1 rate "2 ranks x 1 thread" mpirun $root --oversubscribe -np 2) && echo "$two"
thr=$(OMP_NUM_THREADS=2 rate "1 rank x 2 threads" env) && echo "$thr"
printf '%s\n%s\n%s\n' "$one" "$two" "$thr" | awk '
    /1 rank x 1 thread/ { a = $7 } /2 ranks x 1 thread/ { b = $7 } /1 rank x 2 threads/ { c = $7 }
    END { if (a && b) printf("mpi: 2 ranks x 1 thread / 1 rank x 1 thread: %.2fx\n", b / a);
          if (b && c) printf("mpi: 2 ranks x 1 thread / 1 rank x 2 threads: %.2fx\n", b / c) }'
# run.sh's Fashion configuration: is a step shared between processes, each on one thread,
# faster than between the threads of one? (their own oneDNN calls, no meetings inside one)
model="-L 15 -p 64 -b 64" batch=64 K=${MPI_BENCH_STEPS_L15:-4}
two=$(OMP_NUM_THREADS=1 rate "L15 p64: 2 ranks x 1 thread" mpirun $root --oversubscribe -np 2) && echo "$two"
thr=$(OMP_NUM_THREADS=2 rate "L15 p64: 1 rank x 2 threads" env) && echo "$thr"
printf '%s\n%s\n' "$two" "$thr" | awk '
    /2 ranks x 1 thread/ { b = $9 } /1 rank x 2 threads/ { c = $9 }
    END { if (b && c) printf("mpi: L15 p64: 2 ranks x 1 thread / 1 rank x 2 threads: %.2fx\n", b / c) }'
OMP_NUM_THREADS=1 mpirun $root --oversubscribe -np 2 "$B/tests/bench-allreduce" 12 16
OMP_NUM_THREADS=1 mpirun $root --oversubscribe -np 2 "$B/tests/bench-allreduce" 15 64
exit 0
