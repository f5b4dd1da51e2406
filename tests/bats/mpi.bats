#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031,SC2154  # bats sets status/output/stderr in the tests' subshells
# pcnn-train under mpirun: data-parallel training gives the run of one process (2 ranks ×
# batch b against 1 rank × batch 2b, for every kind of model), resumes with any number of
# ranks, and a rank that dies or hangs ends the job with an error.
#
# Tolerance: the ranks' gradients are summed in another order than one process sums them
# over the whole batch, so the weights agree to float rounding, not bit for bit: after 20
# Adam steps the largest difference measured is below 1e-6 (relative to 1 + |w|, over
# weights and Adam's moments; tests/mpi/stdiff.py), and the tests allow 1e-5. A real
# fault -- a share read twice or not at all, a gradient not summed or scaled twice, the
# embedding net mining its own share only -- moves weights by a learning rate's order
# (1e-3), which a seed of its own shows below.
#
# Two runs can still part for a reason that is not a fault, and two measures keep that rare:
# - Adam's epsilon is 1e-4 here, not the default 1e-8. These nets see random images, and
#   some of their gradients are as small as 1e-8, a tenth of which is rounding. Adam
#   divides a gradient by its own size, so at 1e-8 that rounding became a fair part of a
#   learning rate: the embedding net parted in 6 of 200 runs (up to 5e-3), an autoencoder
#   in 2 of 150, the plain PixelCNN in 1 of 120. At 1e-4 those draws of images agree to 5e-7.
# - A value at a ReLU's kink (the head's, the encoders') that rounding tips to the other
#   side changes a gradient by a pixel's share at once. At 1e-4 that still happened in
#   1 of 300 runs of the embedding net, 1 of 150 autoencoder runs and 1 of 150 PixelCNN
#   runs (the mining picked the same triplets throughout). It depends on the draw of
#   images, and a fault does not, so a comparison that parts is made once more on a new
#   draw, and the test fails only when that one parts too; the first draw's difference is
#   printed.
bats_require_minimum_version 1.5.0

load helpers

TOL=1e-5
NET=(-q -L 2 -p 6 -n 3 --eps 1e-4) # the tiny network of these tests
STDIFF="$BATS_TEST_DIRNAME/../mpi/stdiff.py"

setup_file() {
    pgm_stream 40 8 8 >"$BATS_FILE_TMPDIR/many.pgm"
    for ((k = 0; k < 40; k++)); do echo $((k % 4)); done >"$BATS_FILE_TMPDIR/labels.txt"
}

setup() {
    D=$BATS_TEST_TMPDIR
    MANY=$BATS_FILE_TMPDIR/many.pgm
    LABELS=$BATS_FILE_TMPDIR/labels.txt
    command -v mpirun >/dev/null || skip "no mpirun (Debian: openmpi-bin)"
    ldd "$TRAIN" | grep -q libmpi || skip "pcnn-train was built without MPI (install libopenmpi-dev and rebuild)"
    MPIRUN=(mpirun --oversubscribe)
    [ "$(id -u)" -ne 0 ] || MPIRUN+=(--allow-run-as-root)
}

# the tiny network, 20 steps, one checkpoint at the end
small() {
    "$TRAIN" "${NET[@]}" -s 20 --every 20 "$@"
}

# agree CHECK ARGS...: CHECK IMAGES ARGS... trains on IMAGES and compares, returning 0 when
# the runs agree to $TOL, 1 when they part and 2 when a run fails; a parting gets one more
# draw of images (see above)
agree() {
    local check=$1 st=0
    shift
    "$check" "$MANY" "$@" || st=$?
    if [ "$st" -eq 1 ]; then
        echo "# the runs parted on the first draw of images ($output); drawing again" >&3
        pgm_stream 40 8 8 >"$D/redraw.pgm"
        st=0
        "$check" "$D/redraw.pgm" "$@" || st=$?
    fi
    [ "$st" -eq 0 ] || echo "$output"
    return "$st"
}

# one_and_n IMAGES N ARGS...: N ranks with batch 8 / N against one process with batch 8,
# both started from the same options; the weights and optimizer state must agree
one_and_n() {
    local images=$1 n=$2
    shift 2
    run --separate-stderr small -b 8 --force -o "$D/one.pcnn" "$@" "$images"
    [ "$status" -eq 0 ] || return 2
    run --separate-stderr "${MPIRUN[@]}" -np "$n" "$TRAIN" "${NET[@]}" -s 20 --every 20 -b 8 \
        --force -o "$D/job.pcnn" "$@" "$images"
    [ "$status" -eq 0 ] || return 2
    run "$STDIFF" "$D/one.pcnn" "$D/job.pcnn" "$TOL"
    return "$status"
}

same() { agree one_and_n "$@"; }

@test "mpirun -np 2, batch 4 each: the PixelCNN of one process with batch 8, to float rounding" {
    same 2
}

@test "mpirun -np 2: a class-conditional PixelCNN is the run of one process" {
    same 2 -l "$LABELS"
}

@test "mpirun -np 2: a PixelCNN autoencoder (-e) and an MSE autoencoder are the runs of one process" {
    same 2 -e 4
    same 2 -e 4 --mse
}

@test "mpirun -np 2: an embedding net, whose batch-hard mining sees the whole batch, is the run of one process" {
    same 2 --embed 4 -l "$LABELS"
}

@test "mpirun -np 3: a batch of 8 shared 3/3/2, with dropout, clipping, warm-up and an average, is the run of one process" {
    same 3 --dropout 0.3 --clip 0.5 --warmup 3 --ema 0.9
}

@test "stdiff tells a run from another: the same run on other images differs by far more than the tolerance" {
    pgm_stream 40 8 8 >"$D/other.pgm"
    run -0 --separate-stderr small -b 8 -o "$D/a.pcnn" "$MANY"
    run -0 --separate-stderr small -b 8 -o "$D/b.pcnn" "$D/other.pgm"
    run -1 "$STDIFF" "$D/a.pcnn" "$D/b.pcnn" 1e-3
    run -0 "$STDIFF" "$D/a.pcnn" "$D/a.pcnn" 0
}

# resumed IMAGES: the whole run of 20 steps in one process against 2 ranks to step 10,
# then 1 process to 20; and against 1 process to 10, then 2 ranks to 20
resumed() {
    local images=$1 half
    run --separate-stderr small -b 8 --force -o "$D/whole.pcnn" "$images"
    [ "$status" -eq 0 ] || return 2
    for half in 2 1; do
        local first=("${MPIRUN[@]}" -np 2 "$TRAIN") second=("$TRAIN")
        [ "$half" = 2 ] || first=("$TRAIN") second=("${MPIRUN[@]}" -np 2 "$TRAIN")
        run --separate-stderr "${first[@]}" "${NET[@]}" -s 10 --every 10 -b 8 --force -o "$D/half.pcnn" "$images"
        [ "$status" -eq 0 ] && [ "$(model_meta "$D/half.pcnn" train.step)" = 10 ] || return 2
        run --separate-stderr "${second[@]}" -q --resume -s 20 --every 20 -o "$D/half.pcnn" "$images"
        [ "$status" -eq 0 ] || return 2
        run "$STDIFF" "$D/whole.pcnn" "$D/half.pcnn" "$TOL"
        [ "$status" -eq 0 ] || return "$status"
    done
}

@test "resume: 2 ranks to step 10, then 1 process to 20, is the unbroken run; and 1 then 2" {
    agree resumed
}

@test "mpirun -np 2: rank 0 alone validates and logs (one --log line per validation)" {
    run -0 --separate-stderr "${MPIRUN[@]}" -np 2 "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 6 --every 3 \
        --log "$D/log" -o "$D/m.pcnn" "$MANY"
    [ "$(wc -l <"$D/log")" -eq 2 ] || die "$(wc -l <"$D/log") log lines, expected 2"
    [ "$(grep -c 'valid' <<<"$stderr")" -eq 2 ] || die "validation lines not from rank 0 alone"
    [[ $stderr == *"data-parallel: rank 0 of 2"* ]] || die "no line naming the job"
}

@test "mpirun -np 2 with a batch of 1: exit 1, the batch cannot be shared" {
    run -1 --separate-stderr "${MPIRUN[@]}" -np 2 "$TRAIN" -q -L 1 -p 6 -n 3 -b 1 -s 2 -o "$D/m.pcnn" "$MANY"
    [[ $stderr == *"cannot be shared among 2 ranks"* ]] || die "no reason given"
}

# kill_rank SIGNAL ARGS...: starts a 2-rank run, sends SIGNAL to one rank once training
# is under way; sets status and stderr, and fails when the job outlives 30 s
kill_rank() {
    local sig=$1 mp pids victim rc=0
    shift
    "${MPIRUN[@]}" -np 2 "$TRAIN" -L 1 -p 6 -n 3 -b 4 -s 100000000 --every 50 --valid-size 2 "$@" \
        -o "$D/k.pcnn" "$MANY" >"$D/out" 2>"$D/err" 3>&- &
    mp=$!
    wait_for_file "$D/k.pcnn" || { kill -KILL "$mp"; die "no checkpoint after 30 s"; }
    pids=$(pgrep -P "$mp" -f pcnn-train)
    [ "$(wc -w <<<"$pids")" -eq 2 ] || { kill -KILL "$mp"; die "expected 2 ranks under mpirun, found: $pids"; }
    victim=$(tail -n 1 <<<"$pids")
    kill "-$sig" "$victim"
    if ! wait_gone "$mp" 30; then
        pkill -KILL -P "$mp"
        kill -KILL "$mp"
        die "the job still runs 30 s after a rank got SIG$sig"
    fi
    wait "$mp" || rc=$?
    status=$rc stderr=$(cat "$D/err")
    kill -CONT "$victim" 2>/dev/null || true
}

@test "a killed rank ends the job: exit non-zero within 30 s, mpirun names the rank" {
    kill_rank KILL
    [ "$status" -ne 0 ] || die "the job exited 0"
    [[ $stderr == *"signal 9"* || $stderr == *"Killed"* ]] || die "no word of the killed rank"
}

@test "a rank that hangs (SIGSTOP) ends the job after --timeout: the other rank says it waited" {
    kill_rank STOP --timeout 2
    [ "$status" -ne 0 ] || die "the job exited 0"
    [[ $stderr == *"pcnn-train: "*" over the ranks: rank "?" of 2 waited 2 s for the others"* ||
        $stderr == *"pcnn-train: agreeing on when to stop: rank "?" of 2 waited 2 s"* ]] || die "no line saying a rank waited"
}
