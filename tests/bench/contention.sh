#!/bin/sh
# contention.sh [BUILD_DIR] -- two trainings sharing the cores: images per second of a
# short Fashion-MNIST run (12 layers, 16 features, batch 32) alone and two at once, with
# OpenMP's threads spinning while they wait (OMP_WAIT_POLICY=active, libgomp's default
# before pcnn chose passive), waiting passively (pcnn's default), and one thread each.
# A few minutes; not part of `make bench`. Run it on an otherwise idle machine.
B=${1:-build}
FM=${FM:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
rate() { # TAG ENV... -- the last progress line's img/s
    tag=$1; shift
    env "$@" "$B"/pcnn-train --force -o "$tmp/$tag.pcnn" -L 12 -p 16 -b 32 --steps 40 --every 1000 \
        --limit 3000 "$FM"/train-images-idx3-ubyte.gz 2>&1 | tr '\r' '\n' |
        awk -v tag="$tag" '/img\/s/ { for (i = 2; i <= NF; i++) if ($i == "img/s") r = $(i-1) } END { printf("%-16s %6.1f img/s\n", tag, r) }'
}
n=$(nproc)
rate alone-active OMP_NUM_THREADS=$n OMP_WAIT_POLICY=active
rate alone-passive OMP_NUM_THREADS=$n OMP_WAIT_POLICY=passive
for policy in active passive; do
    rate pair1-$policy OMP_NUM_THREADS=$n OMP_WAIT_POLICY=$policy &
    rate pair2-$policy OMP_NUM_THREADS=$n OMP_WAIT_POLICY=$policy
    wait
done
rate pair1-1thread OMP_NUM_THREADS=1 &
rate pair2-1thread OMP_NUM_THREADS=1
wait
