#!/bin/sh
# slurm.sh -- a Slurm batch script: the README's Fashion-MNIST model trained by 4 ranks
# of pcnn-train on 2 machines, 2 ranks a machine and 1 core each (pcnn-train(1),
# "Data-parallel training"). Submit it from the source tree, on a file system every
# machine sees (the data, the programs and the model file must be at the same paths):
#   sbatch examples/slurm.sh
# A job that runs out of time leaves its last checkpoint; submitting the script again
# resumes it (with any number of ranks: the checkpoint holds the global batch).
#SBATCH --job-name=pcnn-fashion
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --cpus-per-task=1
#SBATCH --time=02:00:00
#SBATCH --output=pcnn-%j.log
set -e
D=${D:-/usr/share/datasets/fashion-mnist}
MODEL=${MODEL:-fashion.pcnn}
# each rank's threads: the cores Slurm gave its task (pcnn-train would find the same
# from the cores it is bound to; said here so that the log shows it)
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
if [ -e "$MODEL" ]; then
    how="--resume"           # the network and the recipe come from the checkpoint
else
    how="-L 12 -p 16 -b 32"  # the README's first model; -b is the global batch
fi
# srun starts the ranks (with Slurm's PMIx plugin; `srun --mpi=list` names those there);
# `mpirun build/pcnn-train ...` inside the allocation works as well
# shellcheck disable=SC2086  # $how is several options
srun --mpi=pmix build/pcnn-train -o "$MODEL" $how --steps 3000 --every 200 --timeout 900 \
    -l "$D/train-labels-idx1-ubyte.gz" "$D/train-images-idx3-ubyte.gz"
