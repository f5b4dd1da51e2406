#!/bin/sh
# run.sh BUILD_DIR -- `make bench`: speed figures of the CPU backend, not a test.
# OpenBLAS is left to pick its kernel for this CPU: a workplace setting of
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE is unset for these runs only.
B=${1:-build}
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
echo "threads: ${OMP_NUM_THREADS:-$(nproc)}"
"$B"/tests/bench fashion cifar
