#!/bin/sh
# run.sh BUILD_DIR -- `make bench`: our speed beside two PyTorch peers on this machine (not
# a test). Ours and the peers run interleaved, BENCH_ROUNDS rounds (default 3) of ours,
# tests/bench/peer.py, then the second peer ($PEER2, default
# ../shared/bench/torch_gated_pixelcnn.py), each over BENCH_STEPS timed steps (default 2)
# after an untimed one; each figure is then the median over rounds of ours / the faster
# peer (by median), with its min-max, and the share of this machine's sgemm rate that ours
# reaches, round by round against an sgemm run just before ours (the machine's speed drifts
# within minutes, and an sgemm rate from another minute moves the share as much as a
# change of ours does), median and min-max. BENCH_CONFIGS (default "fashion cifar"; "tiny" tries the script out in seconds).
# OpenBLAS picks its own kernel here: the workplace's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
# are unset for these runs only (a user's machine does not set them).
# BENCH_ISA=AVX2 holds every library to its AVX2 code, ours and the peers' alike (oneDNN,
# OpenBLAS, PyTorch's own loops, our sampler's step), for the AVX2 figures on an AVX-512
# machine; the caches, clocks and cores are still this machine's.
B=${1:-build}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
case ${BENCH_ISA:-} in
"") ;;
AVX2 | avx2) export ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell PCNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 ;;
*)
    echo "run.sh: BENCH_ISA=$BENCH_ISA: only AVX2 is known" >&2
    exit 2
    ;;
esac
threads=${OMP_NUM_THREADS:-$(nproc)}
export OMP_NUM_THREADS="$threads"
rounds=${BENCH_ROUNDS:-3}
steps=${BENCH_STEPS:-2}
configs=${BENCH_CONFIGS:-fashion cifar}
peer2=${PEER2:-../shared/bench/torch_gated_pixelcnn.py}
py=/usr/bin/python3
start=$(date +%s)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# the second peer's flags for our configurations (its README)
peer2_flags() {
    case $1 in
    fashion) echo "--channels 1 --height 28 --width 28 --layers 15 --hidden 64 --head 64 --batch 64" ;;
    cifar) echo "--channels 3 --height 32 --width 32 --layers 15 --hidden 126 --head 126 --batch 32" ;;
    tiny) echo "--channels 3 --height 8 --width 8 --layers 2 --hidden 12 --head 12 --batch 8" ;;
    esac
}

# peer2_rate CFG MODE: its images/s (the median over its repeats)
peer2_rate() {
    # shellcheck disable=SC2046 # the flags are words
    "$py" "$peer2" "$2" $(peer2_flags "$1") --filter 5 --first-filter 5 --classes 0 \
        --threads "$threads" --warmup 1 --repeats "$steps" 2>"$t/err" |
        sed -n 's/.*"images_per_s_median": *\([0-9.eE+-]*\).*/\1/p' | awk '{ printf("%.3f", $1) }'
}

# note LINE: prints a round's figures and keeps them for the summary
note() {
    echo "$1"
    echo "$1" >>"$t/raw"
}

echo "threads: $threads; rounds: $rounds; per figure $steps timed steps after 1 untimed${BENCH_ISA:+; every library held to AVX2 (BENCH_ISA)}"
"$B"/tests/bench gemm | tee "$t/gemm"
"$B"/tests/bench-dnnl
have_torch=0 have_peer2=0
"$py" -c 'import torch' 2>/dev/null && have_torch=1
if [ $have_torch = 0 ]; then
    echo "peer: PyTorch not installed (Debian python3-torch); ours alone"
elif [ -r "$peer2" ]; then
    have_peer2=1
    echo "peers: peer = tests/bench/peer.py, peer2 = $peer2"
else
    echo "peer2: $peer2 not found (PEER2=...); comparing with tests/bench/peer.py alone"
fi

r=1
while [ $r -le "$rounds" ]; do
    for cfg in $configs; do
        rate=$("$B"/tests/bench gemm | awk '{ print $2 }')
        [ -n "$rate" ] && note "round $r sgemm $cfg $rate GFLOP/s"
        line=$("$B"/tests/bench train "$cfg" "$steps") && note "round $r $line" ||
            echo "round $r ours $cfg: failed"
        [ $have_torch = 1 ] || continue
        line=$("$py" tests/bench/peer.py "$cfg" "$threads" --steps "$steps" --measure train,nll) &&
            note "round $r $line" || echo "round $r peer $cfg: failed"
        [ $have_peer2 = 1 ] || continue
        tr=$(peer2_rate "$cfg" train-step) nl=$(peer2_rate "$cfg" nll)
        if [ -n "$tr" ] && [ -n "$nl" ]; then
            note "round $r peer2 $cfg train $tr img/s nll $nl img/s"
        else
            echo "round $r peer2 $cfg: failed: $(tail -n 1 "$t/err")"
        fi
    done
    s=$(($(date +%s) - start))
    echo "round $r done at $((s / 60)) min $((s % 60)) s"
    r=$((r + 1))
done
"$B"/tests/bench gemm | tee -a "$t/gemm"

# the summary: per figure, medians over rounds, the faster peer, the ratio per round
# against it (median, min-max), GFLOP/s, and its share of the sgemm rate per round
# (median, min-max); the sgemm runs before and after the rounds for reference
[ -s "$t/raw" ] && awk -v configs="$configs" '
    function median(a, n,    i, j, x) {
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) { x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function med(cfg, fig, who,    r, a, n) {
        n = 0
        for (r = 1; r <= R; r++) if ((cfg, fig, who, r) in v) a[++n] = v[cfg, fig, who, r]
        return n ? median(a, n) : 0
    }
    FILENAME ~ /gemm$/ { outer = outer (outer == "" ? "" : ", ") $2; next }
    {
        r = $2; who = $3; cfg = $4; if (r > R) R = r
        if (who == "sgemm") { sg[cfg, r] = $5; next }
        for (i = 5; i < NF; i++) {
            if (($i == "train" || $i == "nll") && $(i + 2) == "img/s") v[cfg, $i, who, r] = $(i + 1)
            if ($i == "GFLOP/image") flop[cfg] = substr($(i - 1), 2) * 1e9
        }
    }
    END {
        printf("summary of %d round%s: medians of img/s; ratio = ours / the faster peer, round by round: median (min-max); share of sgemm = ours against the sgemm run just before it, round by round: median (min-max); sgemm before and after the rounds: %s GFLOP/s\n", R, R == 1 ? "" : "s", outer)
        n = split(configs, cf, " ")
        for (c = 1; c <= n; c++) for (k = 1; k <= 2; k++) {
            cfg = cf[c]; fig = k == 1 ? "train" : "nll"
            ours = med(cfg, fig, "ours")
            if (!ours) continue
            best = ""; bv = 0; peers = ""
            split("peer peer2", pn, " ")
            for (p = 1; p <= 2; p++) {
                x = med(cfg, fig, pn[p])
                if (!x) continue
                peers = peers sprintf(", %s %.2f", pn[p], x)
                if (x > bv) { bv = x; best = pn[p] }
            }
            per = (fig == "train" ? 3 : 1) * flop[cfg] / 1e9 # GFLOP an image
            gf = per * ours
            m = 0
            for (r = 1; r <= R; r++)
                if ((cfg, fig, "ours", r) in v && sg[cfg, r] > 0) s[++m] = 100 * per * v[cfg, fig, "ours", r] / sg[cfg, r]
            pct = m ? median(s, m) : 0
            line = sprintf("%s %s: ours %.2f img/s%s", cfg, fig, ours, peers)
            ratio = 0
            if (best != "") {
                m = 0
                for (r = 1; r <= R; r++)
                    if ((cfg, fig, "ours", r) in v && (cfg, fig, best, r) in v)
                        a[++m] = v[cfg, fig, "ours", r] / v[cfg, fig, best, r]
                ratio = median(a, m)
                line = line sprintf("; ours/%s %.2fx (%.2f-%.2f)", best, ratio, a[1], a[m])
            }
            line = line sprintf("; %.1f GFLOP/s, %.1f%% of sgemm (%.1f-%.1f)", gf, pct, m ? s[1] : 0, m ? s[m] : 0)
            printf("%s; target (1.5x or 85%%): %s\n", line, ratio >= 1.5 || pct >= 85 ? "met" : "not met")
        }
    }' "$t/gemm" "$t/raw"

for cfg in $configs; do
    "$B"/tests/bench sample "$cfg"
    [ $have_torch = 1 ] && "$py" tests/bench/peer.py "$cfg" "$threads" --measure naive
done
# The figures above are under libgomp's default wait (spin a while, then sleep), as the
# peers run; the programs wait passively (cmd/cli.c). Alone on a quiet machine the two
# were even; on a VM whose host was busy a sleeping thread's core woke slowly, and the
# passive figures came out 1.1-4.7x slower (tests/bench/README.md). The sampler has since
# woken the pool once an image row, not once an operation (lib/sample.c, be_threads).
for cfg in $configs; do
    OMP_WAIT_POLICY=passive "$B"/tests/bench train "$cfg" "$steps" | sed 's/^/passive (the programs'"'"' policy): /'
    OMP_WAIT_POLICY=passive "$B"/tests/bench sample "$cfg" | sed 's/^/passive (the programs'"'"' policy): /'
done
s=$(($(date +%s) - start))
echo "run.sh: $((s / 60)) min $((s % 60)) s"
exit 0
