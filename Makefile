# bruno: single-header library + benchmark suite. The two commands a user
# needs: make reproduce and make test. Builds go into build/, results into
# results/. The experiments are data (bench/grid.py) run by one runner
# (bench/runner.py); this file builds, tests and calls them.

CC      ?= cc
CXX     ?= c++
# The driver bruno-bench's compiler (every timed run, `make reproduce`,
# `make bench`, grad-hash). BENCH_CC=clang gives the same bits (168/168
# gradient hashes, every quick run's epochs.csv) and faster AVX-512 device
# kernels (Heracles' raw-file epoch 5.7 -> 4.8 s, BPTT's windows 1.17e9 ->
# 1.35e9 updates/s), but in a whole quick reproduce JSB's runs took 1.2-1.3x
# longer (clang's OpenMP runtime, libomp, is the suspect: JSB calls many
# small one-thread parallel regions) and `make bench` failed two targets
# (the peers' peak ratio, the products rule's worst pick): not the default.
BENCH_CC ?= $(CC)
# The host's own instruction set: the fast FeLIF kernel vectorises with it
# (AVX-512 doubles its speed over AVX2 here). valgrind has no AVX-512, so
# the memcheck and massif targets build their own binaries with VG_ARCH.
ARCH    ?= -march=native
VG_ARCH ?= $(shell [ "$$(uname -m)" = x86_64 ] && echo -march=x86-64-v3 || echo -march=native)
OPT     ?= -O3 $(ARCH) -g
# -ffp-contract=off: the exact trainers must be bit-identical to each other
# and across builds; no silent FMA contraction.
STD     = -std=c99 -Wall -Wextra -pedantic -ffp-contract=off -fno-trapping-math
CFLAGS  += $(STD) $(OPT) -fopenmp -I.
LDLIBS  += -lm

BUILD   = build
RESULTS ?= results
BENCH   = $(BUILD)/bruno-bench

# ---------------------------------------------------------------- experiments
# SCALE=quick (default): the whole `make reproduce` in under an hour on 2
# cores; SCALE=paper: the paper's grid (bench/grid.py says what each has);
# SCALE=long (after quick, same RESULTS): one seed at 150 epochs of the FP32
# and 3-bit raw-file rows, the authors' coarse-only pair and JSB BRUNO 100
# epochs, for the claims table; resumable. `python3 bench/grid.py estimate
# --root $(RESULTS)` estimates its wall time from the quick runs' epochs.
# JOBS runs at once (one thread each; E1 timing runs never run two at once).
# RUNNER=local runs here; RUNNER=slurm submits the list as a SLURM job array
# (README "On a SLURM cluster"). RESULTS and BRUNO_DATA_DIR (the data) may
# be any directories, e.g. on the cluster's shared file system.
SCALE   ?= quick
JOBS    ?= 2
RUNNER  ?= local
RUN     = python3 bench/runner.py
export BRUNO_DATA_DIR
# the issue's two E1 targets (bench/grid.py E1_TARGET, ci/runs.txt ratios)
E1_TARGET_MEM  = 0.01
E1_TARGET_TIME = 0.45
# SLURM: partition, account ("" = default), time and CPUs per task, tasks at once (%K), more options
SLURM_PARTITION ?=
SLURM_ACCOUNT   ?=
SLURM_TIME      ?= 04:00:00
SLURM_CPUS      ?= 1
SLURM_THROTTLE  ?= 16
SLURM_ARGS      ?=
SUBMIT = $(RUN) submit --root $(RESULTS) --bench $(BENCH) --throttle $(SLURM_THROTTLE) --partition "$(SLURM_PARTITION)" \
         --account "$(SLURM_ACCOUNT)" --time $(SLURM_TIME) --cpus $(SLURM_CPUS) --sbatch-args "$(SLURM_ARGS)"
POST   = $(RUN) post --scale $(SCALE) --root $(RESULTS) --cc "$(CC)" --cflags "$(CFLAGS)"

# Debian packages the suite needs; `make deps` installs the missing ones.
DEB_PKGS = build-essential clang libomp-dev libcriterion-dev gnuplot-nox libjemalloc-dev valgrind pkg-config python3

BENCH_SRC = $(wildcard bench/*.c)
TEST_SRC  = $(wildcard tests/test_*.c)
EXAMPLES  = $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
TEST_BINS = $(BUILD)/test-float $(BUILD)/test-double $(BUILD)/test-float-san $(BUILD)/test-double-san

.PHONY: all deps test tests-build test-compile test-checks grad-hash-build grad-hash-run check-header check-data-header train-check lock-check runner-check grid-check hparams-check \
        reproduce experiments e1-figures e4-figures rram-figures report status clean \
        ci ci-run ci-baseline ci-selftest slurm-check memcheck vg-bins massif bench peers peers-deps grad-hash \
        datasets datasets-check fuzz grid-estimate

all: $(BENCH) tests-build $(EXAMPLES)

deps:
	@sh ci/deps.sh $(DEB_PKGS)

# ---------------------------------------------------------------- build
$(BENCH): $(BENCH_SRC) bench/*.h bruno.h | $(BUILD)
	$(BENCH_CC) $(CFLAGS) -o $@ $(BENCH_SRC) $(LDLIBS) -ljemalloc -lpthread
$(BUILD)/examples/%: examples/%.c bruno.h | $(BUILD)
	@mkdir -p $(BUILD)/examples
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)
# every compile waits for deps (order-only, through the build directory), so
# that `make -j2 reproduce` on a fresh machine does not compile beside the
# package install (it did: jemalloc.h was not there yet)
$(BUILD): | deps
	@mkdir -p $(BUILD)

# All tests/test_*.c in one Criterion binary: float/double, plain/ASan+UBSan.
TEST_DEPS = $(TEST_SRC) tests/impl.c tests/*.h bruno.h datasets/bruno_data.h bench/train_util.c bench/train.h
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
test_flags = $(if $(findstring double,$(1)),-DBRUNO_REAL_DOUBLE) $(if $(findstring san,$(1)),$(SAN))
$(TEST_BINS): $(BUILD)/test-%: $(TEST_DEPS) | $(BUILD)
	$(CC) $(CFLAGS) $(call test_flags,$*) -o $@ tests/impl.c $(TEST_SRC) -lcriterion $(LDLIBS)
tests-build: $(TEST_BINS)
# the longest compile first, so that a parallel make starts it first
test-compile: $(BUILD)/test-float-san tests-build $(BENCH) check-header check-data-header grad-hash-build
test-checks: train-check lock-check runner-check grid-check hparams-check ci-selftest datasets-check hostile-cli \
             grad-hash-run

# ---------------------------------------------------------------- test
# Header checks, the four test binaries, train-check (bruno-bench train
# resumes byte for byte, fails cleanly), lock-check (one writer per run
# directory), runner-check (skip, resume, -j, E1 one at a time), grid-check (the run lists give the Make rules' command lines),
# hparams-check (no hyper-parameter file the grid reads was chosen on a test split),
# ci-selftest (the ci checker fails on a regression),
# datasets-check (convert.py reproduces the shipped .bin files).
# The compiles first, side by side (TEST_JOBS at once, default the machine's
# cores; under `make -jN` the caller's N): they were ~14 of CI's ~27 minutes
# one after the other (test-float-san alone ~6, gcc 12 instrumenting the
# AVX-512 window kernels), and nothing in them depends on another. Then the
# checks and the four binaries, one at a time as before (ci-selftest times
# runs: no compiler beside it).
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
PAR_J = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(TEST_JOBS))
test: deps
	+@$(MAKE) --no-print-directory $(PAR_J) test-compile
	+@$(MAKE) --no-print-directory test-checks
	$(BUILD)/test-float
	$(BUILD)/test-double
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test-float-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test-double-san

# grad-hash: the exact trainers' gradients (BPTT, every checkpoint schedule;
# FeLIF and Heracles; float with the host's kernel, float portable, double)
# bit for bit against reference/grad_hashes.txt (tests/grad_hash.sh).
# grad-hash-build and grad-hash-run are its two halves (make test compiles
# beside the other builds, runs after them).
GRAD_HASH = sh tests/grad_hash.sh $(BUILD)/grad-hash "$(BENCH_CC)" "$(CFLAGS)"
grad-hash: | $(BUILD)
	$(GRAD_HASH)
grad-hash-build: | $(BUILD)
	$(GRAD_HASH) --build
grad-hash-run: | $(BUILD)
	$(GRAD_HASH) --run

# A header alone compiles without a warning: C99, C++, float, double, host ISA (AVX-512 kernel).
HDR_CC = "gcc -std=c99 -x c" "gcc -std=c99 -x c -DBRUNO_REAL_DOUBLE -DBRUNO_STATIC" "g++ -std=c++11 -x c++" "clang -std=c99 -x c"
define check_hdr # $(1) = source file, $(2) = extra flags
	@set -e; i=0; for c in $(HDR_CC); do i=$$((i + 1)); \
	  echo "$$c -Wall -Wextra -pedantic -Werror $(2) -I. -c $(1)"; \
	  $$c -Wall -Wextra -pedantic -Werror $(2) -I. -c $(1) -o $(basename $(1))-$$i.o; done
endef
check-header: | $(BUILD)
	@printf '#define BRUNO_IMPLEMENTATION\n#include "bruno.h"\nint main(void){return 0;}\n' > $(BUILD)/hdr.c
	$(call check_hdr,$(BUILD)/hdr.c,)
	$(call check_hdr,$(BUILD)/hdr.c,-O2 $(ARCH))
	@# the examples at the build's own flags: gcc's -O3 inlining warns where -O2 did not
	@set -e; for e in examples/*.c; do echo "$(CC) $(CFLAGS) -Werror -c $$e"; \
	  $(CC) $(CFLAGS) -Werror -I. -c $$e -o $(BUILD)/example-check.o; done
check-data-header: | $(BUILD)
	@printf '#define BRUNO_IMPLEMENTATION\n#include "bruno.h"\n#define BRUNO_DATA_IMPLEMENTATION\n#include "datasets/bruno_data.h"\nint main(void){return 0;}\n' > $(BUILD)/hdr-data.c
	$(call check_hdr,$(BUILD)/hdr-data.c,-O2)

train-check: $(BENCH)
	sh tests/train_check.sh $(BENCH)
lock-check: $(BENCH)
	sh tests/lock_check.sh $(BENCH)
runner-check: $(BENCH)
	sh tests/runner_check.sh $(BENCH)
# the run lists against the Make rules they replaced (git history needed)
grid-check:
	python3 tests/grid_check.py
# hparams-check: every hyper-parameter file the grid reads was selected on a
# validation split (or inherits such a file's values), issue 17 §3
hparams-check:
	python3 tests/hparams_check.py

# ---------------------------------------------------------------- reproduce
# Every run of grid:$(SCALE), then the merged CSVs, figures, tables and
# REPORT.md (runner.py post; a step that fails after every run finished
# fails the target). Rerun to resume:
# finished runs are skipped, interrupted training runs continue after their
# last epoch. `make status` lists each run's state.
# The driver and the examples, not the test binaries (make test builds
# those): test-float-san alone takes ~6 minutes to compile, and no run reads it.
reproduce: deps $(BENCH) $(EXAMPLES)
ifeq ($(RUNNER),slurm)
	$(SUBMIT) --list grid:$(SCALE) --post '$(POST)'
else
	$(RUN) run --list grid:$(SCALE) --root $(RESULTS) --bench $(BENCH) -j $(JOBS)
	$(POST) --strict
endif
# one part of the grid each (bench/grid.py PARTS), then its figures and tables
PART_e4-figures = e4
PART_rram-figures = rram
PART_e1-figures = e1
PART_experiments = train,restated
e4-figures rram-figures e1-figures experiments: $(BENCH)
	$(RUN) run --list grid:$(SCALE):$(PART_$@) --root $(RESULTS) --bench $(BENCH) -j $(JOBS)
	$(POST) --part $(PART_$@) --strict
# REPORT.md alone, from whatever results exist
report:
	python3 plots/report.py --results $(RESULTS) --reference reference/paper.csv --scale $(SCALE) \
	  --cc "$(CC)" --cflags "$(CFLAGS)" --out $(RESULTS)/REPORT.md
status:
	@$(RUN) status --list grid:$(SCALE) --root $(RESULTS) --bench $(BENCH)
# grid-estimate: the CPU-hours and the wall time on this machine's cores of
# SCALE=paper's training runs, projected from the runs' own wall.csv
# (bench/grid_estimate.py writes the formula out); PROBE=1 (default) first
# trains one epoch of each configuration that has none yet (results/grid-probe/).
# Beside it the arithmetic floor: every fine-loop update at the core's arithmetic
# limit (RESULTS/throughput.csv of `make bench`, else measured by the probe with
# `bruno-bench throughput --phases-only`).
# The target (bench/grid.py GRID_TARGET_H) is marked met or not.
PROBE ?= 1
grid-estimate: $(BENCH)
	python3 bench/grid_estimate.py --results $(RESULTS) --scale paper \
	  $(if $(filter 1,$(PROBE)),--probe $(BENCH)) --out $(RESULTS)/grid_estimate.md --csv $(RESULTS)/grid_estimate.csv

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- ci (README "Regression checks")
# ci: ci/runs.txt through the runner into build/ci/ (fresh), checked against
# reference/ci_baseline.csv; ci-baseline REWRITES that file (reviewed, never
# in CI). The whole ci run holds the E1 lock: no E1 timing run beside it.
CI_DIR  = $(BUILD)/ci
CI_ARGS = --runs ci/runs.txt --define E1_TARGET_MEM=$(E1_TARGET_MEM) --define E1_TARGET_TIME=$(E1_TARGET_TIME)
CI_PY   = python3 ci/ci.py
CI_CHECK = $(CI_PY) check $(CI_ARGS) --measured $(CI_DIR)/measured.csv --baseline reference/ci_baseline.csv --out $(RESULTS)/ci.csv
ci-run: $(BENCH)
	@mkdir -p $(CI_DIR) $(RESULTS)
	flock $(RESULTS)/.e1.lock $(CI_PY) run --bench $(BENCH) $(CI_ARGS) --work $(CI_DIR) --out $(CI_DIR)/measured.csv
ci: ci-run
	$(CI_CHECK)
ci-baseline: ci-run
	$(CI_PY) baseline --measured $(CI_DIR)/measured.csv --out reference/ci_baseline.csv
	$(CI_CHECK)
ci-selftest: $(BENCH)
	sh ci/selftest.sh $(BENCH) reference/ci_baseline.csv ci/runs.txt $(E1_TARGET_MEM) $(E1_TARGET_TIME)
# a real single-node SLURM (ci/slurm_cluster.sh) gives the local runner's bytes
slurm-check: $(BENCH)
	sh ci/slurm_check.sh $(BENCH) $(BUILD)/slurm-check

# ---------------------------------------------------------------- valgrind
# memcheck: the driver and the double test binary, built for VG_ARCH (no
# AVX-512) in build/vg. Criterion runs each test in a child process whose
# exit code valgrind does not see: each writes its own log, any error fails.
VALGRIND = valgrind --leak-check=full --error-exitcode=1 --suppressions=ci/valgrind.supp
VG_BUILD = $(BUILD)/vg
# The driver here is built with CC, not BENCH_CC: valgrind 3.19 cannot read
# clang 14's DWARF 5 debug information ("unhandled dwarf2 abbrev form").
vg-bins:
	+@$(MAKE) --no-print-directory $(PAR_J) BUILD=$(VG_BUILD) ARCH="$(VG_ARCH)" BENCH_CC="$(CC)" $(VG_BUILD)/bruno-bench \
	  $(VG_BUILD)/test-double
memcheck: vg-bins
	@rm -rf $(BUILD)/memcheck && mkdir -p $(BUILD)/memcheck
	$(VALGRIND) -q $(VG_BUILD)/bruno-bench trace --neurons 3 --sigma 0.1 --duration 0.005 --out $(BUILD)/memcheck/trace.csv
	$(VALGRIND) -q $(VG_BUILD)/bruno-bench trace --neuron lif --duration 0.005 --out $(BUILD)/memcheck/lif.csv
	$(VALGRIND) -q $(VG_BUILD)/bruno-bench converge --n-fine-list 10,100 --ref-n 1000 --duration 0.002 \
	  --spike-duration 0.002 --out $(BUILD)/memcheck/converge.csv
	$(VALGRIND) --trace-children=yes --log-file=$(BUILD)/memcheck/test.%p.log $(VG_BUILD)/test-double --jobs 2
	@bad=$$(grep -l "ERROR SUMMARY: [1-9]" $(BUILD)/memcheck/test.*.log); \
	n=$$(ls $(BUILD)/memcheck/test.*.log | wc -l); \
	if [ -n "$$bad" ]; then cat $$bad; echo "memcheck: errors in $$bad"; exit 1; fi; \
	echo "memcheck: no errors and no leaks in $$n processes (driver and test-double)"

# massif: peak heap of a few small memtime runs beside the counted peak
# (bench/massif.sh says how and why), results/e1_massif.csv
MASSIF_RUNS = felif_bruno_none_0 felif_bptt_none_0 felif_checkpoint_binomial_31 felif_checkpoint_sequence_8 lif_bptt_none_0
$(BUILD)/bruno-bench-massif: $(BENCH_SRC) bench/*.h bruno.h | $(BUILD)
	$(CC) $(STD) -O2 -g -fopenmp -I. -o $@ $(BENCH_SRC) $(LDLIBS) -ljemalloc -lpthread
massif: $(BUILD)/bruno-bench-massif
	sh bench/massif.sh $< $(RESULTS) $(addsuffix _h64_s20_r1,$(MASSIF_RUNS))

# ---------------------------------------------------------------- bench, peers
# `bruno-bench throughput`, `bruno-bench products` and bruno.h against PyTorch (bench/peers/, 8-10
# min); results/bench.md. python3-torch (for /usr/bin/python3, which Debian
# builds it for) only here: peers-deps. PEERS_ARGS="--hidden 64 ..." passes options.
PEERS_PY   = /usr/bin/python3
PEERS_ARGS ?=
bench: $(BENCH)
	@mkdir -p $(RESULTS)
	$(BENCH) throughput --out $(RESULTS)/throughput.csv
	$(BENCH) throughput --neuron heracles --phases-only --out $(RESULTS)/throughput_heracles.csv
	$(BENCH) products --out $(RESULTS)/products.csv
	$(MAKE) --no-print-directory peers
	python3 plots/bench_table.py $(RESULTS)/throughput.csv $(RESULTS)/peers.csv $(RESULTS)/bench.md \
		$(RESULTS)/throughput_heracles.csv $(RESULTS)/products.csv
	@cat $(RESULTS)/bench.md
peers-deps: deps
	@$(PEERS_PY) -c 'import torch' 2>/dev/null || sh ci/deps.sh python3-torch
peers: peers-deps $(BENCH)
	@mkdir -p $(RESULTS)
	$(PEERS_PY) bench/peers/run_peers.py --bench $(BENCH) --work $(BUILD)/peers --results $(RESULTS) $(PEERS_ARGS)

# ---------------------------------------------------------------- datasets
# datasets: find, sha256-verify, install into datasets/data/ (README "Finding
# the data"); datasets-check: convert.py reproduces every shipped .bin byte
# for byte; fuzz: libFuzzer on the three loaders for FUZZ_TIME seconds.
FUZZ_TIME ?= 30
FUZZ_CC   ?= clang
CONV_BINS = jsb_chorales/jsb_quarter.bin:jsb:jsb_chorales/jsb-chorales-quarter.json \
            jsb_chorales/jsb_8th.bin:jsb:jsb_chorales/jsb-chorales-8th.json \
            jsb_chorales/jsb_16th.bin:jsb:jsb_chorales/jsb-chorales-16th.json \
            braille/braille_th10_events.bin:events:braille/data_braille_letters_th10 \
            braille/braille_raw2021_40hz.bin:raw:braille/tutorial5_braille_spiking_data.pkl.gz
datasets:
	datasets/fetch.sh
datasets-check: datasets | $(BUILD)
	@mkdir -p $(BUILD)/datasets-check
	@set -e; for spec in $(CONV_BINS); do \
	  bin=$${spec%%:*}; rest=$${spec#*:}; kind=$${rest%%:*}; src=$${rest#*:}; \
	  out=$(BUILD)/datasets-check/$$(basename $$bin); \
	  python3 datasets/convert.py $$kind datasets/data/$$src $$out; \
	  want=$$(awk -v p=$$bin '$$2 == p {print $$1}' datasets/SHA256SUMS); \
	  got=$$(sha256sum $$out | cut -d' ' -f1); \
	  if [ "$$want" != "$$got" ]; then echo "datasets-check: $$bin differs from convert.py output ($$got)"; exit 1; fi; \
	  echo "datasets-check: convert.py $$kind $$src reproduces $$bin"; \
	done
$(BUILD)/fuzz_loaders: datasets/fuzz_loaders.c datasets/bruno_data.h bruno.h | $(BUILD)
	$(FUZZ_CC) -std=c99 -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ datasets/fuzz_loaders.c -lm
# seeds cut from the verified files; corpus kept in build/fuzz-corpus, crashes in build/fuzz-crashes
fuzz: $(BUILD)/fuzz_loaders datasets
	@mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-seeds $(BUILD)/fuzz-crashes
	python3 datasets/fuzz_seeds.py datasets/data $(BUILD)/fuzz-seeds
	$(BUILD)/fuzz_loaders -max_total_time=$(FUZZ_TIME) -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz-crashes/ $(BUILD)/fuzz-corpus $(BUILD)/fuzz-seeds
# hostile-cli: bruno-bench and convert.py used as a hostile user would
# (tests/hostile_cli.sh; the library's side is tests/test_hostile.c).
# fuzz-state, fuzz-kv: libFuzzer on state.bin and the key=value reader;
# fuzz-short: all three targets for FUZZ_SHORT seconds each (CI).
.PHONY: hostile-cli fuzz-state fuzz-kv fuzz-short
FUZZ_SHORT ?= 20
FUZZ_FLAGS = -std=c99 -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
hostile-cli: $(BENCH)
	sh tests/hostile_cli.sh $(BENCH)
$(BUILD)/fuzz_state: datasets/fuzz_state.c bench/train_util.c bench/train.h bruno.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ datasets/fuzz_state.c bench/train_util.c -lm
$(BUILD)/fuzz_kv: datasets/fuzz_kv.c bench/train_util.c bench/util.c bench/train.h bench/bench.h bruno.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ datasets/fuzz_kv.c bench/train_util.c bench/util.c -lm
fuzz-state fuzz-kv: fuzz-%: $(BUILD)/fuzz_%
	@mkdir -p $(BUILD)/fuzz-corpus-$* $(BUILD)/fuzz-crashes
	$(BUILD)/fuzz_$* -max_total_time=$(FUZZ_TIME) -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz-crashes/ $(BUILD)/fuzz-corpus-$*
fuzz-short:
	$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(FUZZ_SHORT)
	$(MAKE) --no-print-directory fuzz-state fuzz-kv FUZZ_TIME=$(FUZZ_SHORT)
