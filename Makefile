# pcnn -- Gated and Conditional PixelCNN as small Unix programs.
#   make            build library and programs (CPU; CUDA when nvcc is found, see below)
#   make demo       install missing Debian packages, build, draw samples.png
#   make check      install missing Debian packages, build, run every test (then again
#                   under ASan and UBSan)
#   make bench      speed figures (not a test); make bench-compress: lossless coding
#                   beside PNG, WebP and JPEG XL
#   make install PREFIX=/usr/local
#   make fuzz       libFuzzer runs of every reader (clang; FUZZ_SECONDS=60 each), not in check
#   SAN=1           build with AddressSanitizer and UndefinedBehaviorSanitizer
#   CUDA=0          CPU only even when nvcc is present; CUDA=1 fails without a toolkit
#   MPI=0           no data-parallel training even when MPI is found; MPI=1 fails without it

PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O3 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -fPIC -Ilib
# No fused multiply-add where the source has a multiply and an add (GCC's ISO mode does not
# fuse; clang does by default): lossless coding needs the same bits from every build and
# every clone of a loop (lib/compress.c, lib/cpu/gemm_exact.c).
CFLAGS  += -ffp-contract=off
# OpenBLAS built for OpenMP, so that its threads and ours are one pool (two pools spin
# against each other on a small machine)
BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
LDLIBS  += -lnetpbm -lpng -lz -lcjson -lxxhash -ldnnl -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lm -ldl
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
LDFLAGS += -fopenmp

# CUDA: found on PATH or under /usr/local/cuda; finding nvcc says nothing about a GPU.
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(CUDA),0)
NVCC :=
endif
# The CUDA backend needs cuDNN (the stacks' convolutions) beside cuBLAS: with nvcc but no
# cudnn.h next to it or in /usr/include, the CPU-only programs are built, and make says why.
ifneq ($(NVCC),)
CUDNN_H := $(wildcard $(patsubst %/bin/nvcc,%,$(NVCC))/include/cudnn.h /usr/include/cudnn.h \
                      /usr/include/$(shell uname -m)-linux-gnu/cudnn.h)
ifeq ($(CUDNN_H),)
ifeq ($(CUDA),1)
$(error CUDA=1 but no cudnn.h beside $(NVCC) or in /usr/include: the CUDA backend needs cuDNN 9)
endif
$(info no cuDNN (cudnn.h) beside $(NVCC) or in /usr/include: building the CPU backend only)
override NVCC :=
endif
endif
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but no nvcc on PATH or in /usr/local/cuda/bin)
endif
endif

# MPI, for data-parallel pcnn-train (lib/dist.c, the one file that includes mpi.h): found
# through pkg-config (Open MPI's ompi-c, MPICH's mpich) or Open MPI's mpicc --showme.
# Without it the same programs are built, each a job of one process.
ifneq ($(MPI),0)
MPI_PC := $(shell for p in ompi-c mpich; do pkg-config --exists $$p 2>/dev/null && { echo $$p; break; }; done)
ifneq ($(MPI_PC),)
MPI_CFLAGS := $(shell pkg-config --cflags $(MPI_PC))
MPI_LIBS   := $(shell pkg-config --libs $(MPI_PC))
MPI_FOUND  := pkg-config $(MPI_PC)
else ifneq ($(shell mpicc --showme:link 2>/dev/null),)
MPI_CFLAGS := $(shell mpicc --showme:compile)
MPI_LIBS   := $(shell mpicc --showme:link)
MPI_FOUND  := mpicc --showme
endif
endif
ifeq ($(MPI),1)
ifeq ($(MPI_FOUND),)
$(error MPI=1 but neither pkg-config (ompi-c, mpich) nor mpicc --showme finds MPI: install libopenmpi-dev)
endif
endif

B ?= build
LIB_SRC  := $(wildcard lib/*.c lib/io/*.c lib/cpu/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
PROGS    := pcnn-train pcnn-nll pcnn-sample pcnn-compress pcnn-decompress pcnn-encode pcnn-embed pcnn-interp pcnn-strip pcnn-info pcnn-convert
PROG_BIN := $(PROGS:%=$(B)/%)
CMD_COMMON := $(B)/cmd/cli.o $(B)/cmd/data.o
UNIT     := test_cli test_io test_names test_rans test_gate test_compress test_safetensors test_backend test_hostile test_conv test_causality test_sample test_train test_split test_parity test_embed test_cuda test_fuzz_regress
UNIT_BIN := $(UNIT:%=$(B)/tests/%) $(B)/tests/test_gradcheck

DEB_PKGS := build-essential time libnetpbm-dev libpng-dev zlib1g-dev libcjson-dev libxxhash-dev libopenblas-openmp-dev libdnnl-dev \
            dataset-fashion-mnist bats mandoc netpbm pkg-config libopenmpi-dev openmpi-bin python3-numpy

# libmpi is linked into every program (train.c, which they share, calls dist.c); loading it
# costs a program about 5 ms at start, and MPI_Init runs only under a launcher
ifneq ($(MPI_FOUND),)
$(B)/lib/dist.o: CFLAGS += -DPCNN_MPI $(MPI_CFLAGS)
LDLIBS += $(MPI_LIBS)
endif

# --- CUDA: kernels/<op>.cu, the twins of lib/cpu/<op>.c -----------------------------
# They make a library of their own, libpcnn-cuda.so, the only thing linked against cuDNN,
# cuBLAS and the CUDA runtime (about 1 GB): libpcnn.a and the programs are not, and open
# it with dlopen when they use the GPU (lib/device.c), so that a program that does not
# starts in milliseconds. make install puts it in $(PREFIX)/lib/pcnn.
ifneq ($(NVCC),)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
# sm_90 code plus PTX that newer chips compile at load time
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
CU_OBJ    := $(patsubst %.cu,$(B)/%.o,$(wildcard kernels/*.cu))
CUDA_LIB  := $(B)/libpcnn-cuda.so
# NCCL (kernels/nccl.cu): the sums of a data-parallel job between GPUs, when nccl.h is
# beside nvcc; inside libpcnn-cuda.so only
NCCL_H    := $(wildcard $(CUDA_HOME)/include/nccl.h)
NCCL_FLAGS := $(if $(NCCL_H),-DPCNN_NCCL)
NCCL_LIBS  := $(if $(NCCL_H),-lnccl)
$(B)/lib/device.o: CFLAGS += -DPCNN_CUDA
# test_cuda and bench open the GPU as the programs do, through device.c, from the library
# of this build (they are in $(B)/tests, not beside it) unless PCNN_CUDA_LIB names another
$(B)/tests/test_cuda: CFLAGS += -DPCNN_CUDA
$(B)/tests/test_cuda $(B)/tests/bench: CFLAGS += -DTEST_CUDA_LIB='"$(abspath $(CUDA_LIB))"'
$(B)/tests/test_cuda $(B)/tests/bench: $(CUDA_LIB)
$(B)/tests/test_sample $(B)/tests/test_cuda: tests/unit/draw_not_finite.h
$(B)/kernels/%.o: kernels/%.cu kernels/cuda.h lib/backend.h lib/real.h
	@mkdir -p $(dir $@)
	$(NVCC) -std=c++17 -O3 $(CUDA_ARCH) -Xcompiler -fPIC $(NCCL_FLAGS) -Ilib -c $< -o $@
# its own copy of fail.o (pcnn_backend_fail); --no-undefined: it needs nothing else
# from libpcnn; the map exports pcnn_backend_cuda_init alone
$(CUDA_LIB): $(CU_OBJ) $(B)/lib/fail.o kernels/libpcnn-cuda.map
	$(CC) -shared $(filter -fsanitize=%,$(LDFLAGS)) -Wl,--no-undefined \
	    -Wl,--version-script=kernels/libpcnn-cuda.map $(CU_OBJ) $(B)/lib/fail.o \
	    -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas $(NCCL_LIBS) -lcudart -lstdc++ -lm -o $@
endif

all: $(B)/libpcnn.a $(PROG_BIN) $(CUDA_LIB)
	@echo "built: $(PROGS) with the CPU backend$(if $(NVCC), and the CUDA backend $(CUDA_LIB) (nvcc: $(NVCC)$(if $(NCCL_H),; NCCL,; no NCCL)),; no CUDA backend (no nvcc, or no cuDNN beside it))"
	@echo "built: $(if $(MPI_FOUND),with MPI for data-parallel pcnn-train (found by $(MPI_FOUND)),without MPI (none found$(if $(filter 0,$(MPI)), or MPI=0); pcnn-train runs as one process; install libopenmpi-dev for mpirun))"

$(B)/cmd/cli.o: CFLAGS += -DPCNN_DATADIR='"$(PREFIX)/share/pcnn"'
$(B)/lib/device.o: CFLAGS += -DPCNN_LIBDIR='"$(PREFIX)/lib/pcnn"'
# The CPU backend's elementwise loops must vectorize: at -O2 a relu is a mispredicted
# branch per element (20x slower), and selects vectorize only without trapping math.
CPU_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard lib/cpu/*.c))
$(CPU_OBJ): CFLAGS += -O3 -fno-trapping-math
# products for sampling, not coding, and the gate for training: multiplies and adds fused
# (gemm_rows.c, gate.c, pixel_step.c; coding's gate and step are gate_exact.c and pixel_step_exact.c)
$(B)/lib/cpu/gemm_rows.o $(B)/lib/cpu/gate.o $(B)/lib/cpu/pixel_step.o: CFLAGS += -ffp-contract=fast

$(B)/%.o: %.c $(wildcard lib/*.h lib/*/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libpcnn.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/pcnn-%: $(B)/cmd/pcnn-%.o $(CMD_COMMON) $(B)/libpcnn.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(B)/pcnn-encode $(B)/pcnn-embed: $(B)/cmd/encode.o

# --- tests --------------------------------------------------------------------------
$(B)/tests/%: tests/unit/%.c tests/unit/check.h $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(B)/libpcnn.a $(LDFLAGS) $(LDLIBS) -o $@

# test_cli: the programs' shared plumbing (cmd/cli.c), its signals
$(B)/tests/test_cli: tests/unit/test_cli.c tests/unit/check.h $(B)/cmd/cli.o $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Icmd $< $(B)/cmd/cli.o $(B)/libpcnn.a $(LDFLAGS) $(LDLIBS) -o $@

# pcnn-compress and pcnn-decompress with the CPU backend's loops as baseline x86-64 alone (no
# AVX2 or AVX-512 clones): compress.bats codes with one and decodes with the other. The
# objects named first define every CPU op, so that the linker takes none from libpcnn.a.
BASE_CPU_OBJ := $(patsubst %.c,$(B)/baseline/%.o,$(wildcard lib/cpu/*.c))
BASE_CODERS  := $(B)/tests/pcnn-compress-baseline $(B)/tests/pcnn-decompress-baseline
$(B)/baseline/%.o: %.c $(wildcard lib/*.h lib/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O3 -fno-trapping-math -DPCNN_BASELINE -c $< -o $@
$(B)/tests/pcnn-%-baseline: $(B)/cmd/pcnn-%.o $(CMD_COMMON) $(BASE_CPU_OBJ) $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# the same model and CPU code in double precision, for finite differences
GRAD_SRC := lib/model.c lib/params.c lib/arena.c lib/kind.c lib/pixelcnn.c lib/workspace.c lib/cond.c lib/convnet.c lib/autoenc.c lib/embed.c lib/dist.c lib/device.c lib/status.c lib/fail.c lib/errors.c lib/sample.c lib/split.c \
            $(wildcard lib/cpu/*.c)
$(B)/tests/test_gradcheck: tests/unit/test_gradcheck.c $(GRAD_SRC) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DPCNN_DOUBLE -Itests/unit $< $(GRAD_SRC) $(LDFLAGS) $(LDLIBS) -o $@

deps:
	@sh tools/deps.sh $(DEB_PKGS)

# every test, then every test again built with ASan and UBSan (in $(B)-san; about twice
# the time of the first pass). SAN=1 runs only the sanitized pass.
check: deps
	$(MAKE) all $(UNIT_BIN) $(BASE_CODERS)
	@sh tests/run.sh $(B)
ifneq ($(SAN),1)
	$(MAKE) check SAN=1 B=$(B)-san
endif

# --- the demo: class-conditional Fashion-MNIST samples from the shipped model -----
demo: deps
	$(MAKE) all
	@$(MAKE) -s -f examples/Makefile fashion-samples BIN=$(B) OUT=.
	@echo "wrote samples.png"

$(B)/tests/bench: tests/bench/bench.c $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(B)/libpcnn.a $(LDFLAGS) $(LDLIBS) -o $@

$(B)/tests/bench-dnnl: tests/bench/dnnl.c $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(B)/libpcnn.a $(LDFLAGS) $(LDLIBS) -o $@

# the sum of a gradient over MPI ranks (private API: dist.h)
$(B)/tests/bench-allreduce: tests/bench/allreduce.c $(B)/libpcnn.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(B)/libpcnn.a $(LDFLAGS) $(LDLIBS) -o $@

# the peers: PyTorch (tests/bench/peer.py, ../shared/bench/torch_gated_pixelcnn.py)
BENCH_PKGS := python3-torch
bench: all $(B)/tests/bench $(B)/tests/bench-dnnl $(B)/tests/bench-allreduce
	@sh tools/deps.sh $(BENCH_PKGS)
	@t0=$$(date +%s); sh tests/bench/run.sh $(B); sh tests/bench/mpi.sh $(B); \
	    s=$$(($$(date +%s) - t0)); echo "bench: $$((s / 60)) min $$((s % 60)) s in all"

# lossless coding beside PNG, WebP and JPEG XL on held-out images (tests/bench/compress.sh)
BENCH_COMPRESS_PKGS := netpbm webp libjxl-tools
bench-compress: all
	@sh tools/deps.sh $(BENCH_COMPRESS_PKGS)
	@bash tests/bench/compress.sh $(B)

bench-dnnl: $(B)/tests/bench-dnnl
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(B)/tests/bench-dnnl

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/pcnn
	install -m 755 $(PROG_BIN) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(B)/libpcnn.a $(DESTDIR)$(PREFIX)/lib
ifneq ($(CUDA_LIB),)
	install -d $(DESTDIR)$(PREFIX)/lib/pcnn
	install -m 755 $(CUDA_LIB) $(DESTDIR)$(PREFIX)/lib/pcnn
endif
	install -m 644 lib/pcnn.h $(DESTDIR)$(PREFIX)/include
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 644 models/fashion.pcnn $(DESTDIR)$(PREFIX)/share/pcnn
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBS@|$(LDLIBS) $(LDFLAGS)|g' pcnn.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pcnn.pc

# On a machine with a GPU: CPU-vs-CUDA parity of every kernel and of whole training steps
# at the Fashion-MNIST and CIFAR-like sizes, 200 GPU training steps, and a speed table
# beside PyTorch on the same GPU.
gpu-check:
	@sh tests/gpu/check.sh

# --- fuzzing (not part of check): libFuzzer harnesses of every reader, tests/fuzz/README --
# make fuzz FUZZ_SECONDS=N builds them with clang into build-fuzz/ and runs each for N s.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_B       := build-fuzz
FUZZ_PKGS    := clang libclang-rt-dev
FUZZERS      := netpbm png idx cifar labels npy coded model
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unknown-pragmas -Ilib -g -O1 \
                -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_IO_OBJ  := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(wildcard lib/io/*.c) lib/errors.c lib/names.c)
FUZZ_ALL_OBJ := $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(wildcard lib/*.c lib/io/*.c lib/cpu/*.c))
FUZZ_LDLIBS  := -lnetpbm -lpng -lz -lcjson -lxxhash -ldnnl -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lm -ldl

$(FUZZ_B)/obj/%.o: %.c $(wildcard lib/*.h lib/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_IO_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_IO_OBJ) $(FUZZ_LDLIBS) -o $@
$(FUZZ_B)/fuzz_model: tests/fuzz/fuzz_model.c tests/fuzz/fuzz.h $(FUZZ_ALL_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_ALL_OBJ) $(FUZZ_LDLIBS) -o $@

fuzz-deps:
	@sh tools/deps.sh $(FUZZ_PKGS)

fuzz: fuzz-deps
	$(MAKE) $(FUZZERS:%=$(FUZZ_B)/fuzz_%)
	@sh tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZERS)

.PRECIOUS: $(B)/%.o $(FUZZ_B)/obj/%.o

clean:
	rm -rf $(B)

.PHONY: all deps check demo bench bench-compress bench-dnnl gpu-check install clean fuzz fuzz-deps
