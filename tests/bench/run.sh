#!/bin/sh
# run.sh BUILD_DIR -- `make bench`: our speed beside PyTorch's on this machine, as ratios
# measured in one run (absolute times on a shared machine mean little). Not a test.
# OpenBLAS picks its own kernel here: the workplace's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
# are unset for these runs only (a user's machine does not set them).
B=${1:-build}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
threads=${OMP_NUM_THREADS:-$(nproc)}
export OMP_NUM_THREADS=$threads
echo "threads: $threads"
"$B"/tests/bench gemm
"$B"/tests/bench-dnnl
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "peer: PyTorch not installed (Debian python3-torch); ours alone"
for cfg in fashion cifar; do
    ours=$("$B"/tests/bench train $cfg) && echo "$ours"
    [ $have_torch = 1 ] || continue
    peer=$(/usr/bin/python3 tests/bench/peer.py $cfg "$threads") && echo "$peer"
    echo "$ours
$peer" | awk -v cfg=$cfg '
        /^ours/ { ot = $4; on = $7 }
        /^peer/ { pt = $4; pn = $7; ps = $10 }
        END { printf("ratio %s ours/PyTorch: train %.2fx nll %.2fx\n", cfg, ot / pt, on / pn) }'
done
for cfg in fashion cifar; do
    "$B"/tests/bench sample $cfg
done
[ $have_torch = 1 ] && echo "(PyTorch naive sampling: see the 'peer' lines above)"
exit 0
