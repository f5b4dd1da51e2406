#!/bin/sh
# check.sh -- `make gpu-check`, for a machine with an NVIDIA GPU (sm_90 by default):
# builds with the CUDA backend, runs CPU-vs-CUDA parity of every kernel and of whole
# training steps at the Fashion-MNIST and CIFAR-like sizes (‖cuda − cpu‖/‖cpu‖ < 1e-4,
# poisoned outputs), a sum over a one-GPU NCCL communicator (when built with NCCL), 200
# training steps on the GPU, then a speed table beside PyTorch on the same GPU. Meant to finish in well under 8 minutes.
# The CUDA backend is $B/libpcnn-cuda.so, opened with dlopen (lib/device.c): the programs
# find it beside them, test_cuda and bench in $B/tests are built to look there too.
set -e
B=build-gpu
ARCH=${CUDA_ARCH:--gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90}
make -s CUDA=1 B=$B CUDA_ARCH="$ARCH" all $B/tests/test_cuda $B/tests/bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
# --device auto finds the GPU through the driver, and the backend beside the program, and
# says so (the check stops here if it does not)
$B/pcnn-sample -m models/fashion.pcnn -c 3 -n 1 --seed 1 2>&1 >/dev/null | grep ': device: cuda ('
PCNN_GPU_CHECK_FULL=1 $B/tests/test_cuda
echo
echo "speed on the GPU (ours, then PyTorch on the same GPU):"
for cfg in fashion cifar; do
    PCNN_DEVICE=cuda $B/tests/bench train $cfg
    PCNN_DEVICE=cuda $B/tests/bench sample $cfg
    if /usr/bin/python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null ||
       python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        python3 tests/bench/peer.py $cfg 1 cuda
    else
        echo "peer: PyTorch with CUDA not found"
    fi
done
