# bruno: single-header library + benchmark suite.
# The two commands a user needs:  make reproduce   and   make test
# Everything is built into build/, every result goes into results/.

CC      ?= cc
CXX     ?= c++
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
SCALE   ?= quick

BUILD   = build
RESULTS = results

# Debian packages the suite needs; `make deps` installs the missing ones.
DEB_PKGS = build-essential libcriterion-dev gnuplot-nox libjemalloc-dev valgrind pkg-config python3

BENCH_SRC = $(wildcard bench/*.c)
TEST_SRC  = $(wildcard tests/test_*.c)
EXAMPLES  = $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all test reproduce deps clean check-header tests-build rram-figures train-check

all: $(BUILD)/bruno-bench tests-build $(EXAMPLES)

# ---------------------------------------------------------------- deps
deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "make deps: missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# ---------------------------------------------------------------- driver
$(BUILD)/bruno-bench: $(BENCH_SRC) bench/*.h bruno.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(BENCH_SRC) $(LDLIBS) -ljemalloc -lpthread

$(BUILD)/examples/%: examples/%.c bruno.h | $(BUILD)
	@mkdir -p $(BUILD)/examples
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD):
	@mkdir -p $(BUILD)

# ---------------------------------------------------------------- tests
# Every tests/test_*.c goes into one Criterion binary, built four ways:
# float and double bruno_real, each plain and under ASan+UBSan.
TEST_LIBS = -lcriterion $(LDLIBS)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

$(BUILD)/test-float: $(TEST_SRC) tests/impl.c tests/*.h bruno.h | $(BUILD)
	$(CC) $(CFLAGS) -o $@ tests/impl.c $(TEST_SRC) $(TEST_LIBS)
$(BUILD)/test-double: $(TEST_SRC) tests/impl.c tests/*.h bruno.h | $(BUILD)
	$(CC) $(CFLAGS) -DBRUNO_REAL_DOUBLE -o $@ tests/impl.c $(TEST_SRC) $(TEST_LIBS)
$(BUILD)/test-float-san: $(TEST_SRC) tests/impl.c tests/*.h bruno.h | $(BUILD)
	$(CC) $(CFLAGS) $(SAN) -o $@ tests/impl.c $(TEST_SRC) $(TEST_LIBS)
$(BUILD)/test-double-san: $(TEST_SRC) tests/impl.c tests/*.h bruno.h | $(BUILD)
	$(CC) $(CFLAGS) $(SAN) -DBRUNO_REAL_DOUBLE -o $@ tests/impl.c $(TEST_SRC) $(TEST_LIBS)

TEST_BINS = $(BUILD)/test-float $(BUILD)/test-double $(BUILD)/test-float-san $(BUILD)/test-double-san
tests-build: $(TEST_BINS)

# The header alone must compile without a warning as C99 and as C++.
check-header: | $(BUILD)
	@printf '#define BRUNO_IMPLEMENTATION\n#include "bruno.h"\nint main(void){return 0;}\n' > $(BUILD)/hdr.c
	gcc -std=c99 -x c -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-c.o
	gcc -std=c99 -x c -Wall -Wextra -pedantic -Werror -DBRUNO_REAL_DOUBLE -DBRUNO_STATIC -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-cd.o
	g++ -std=c++11 -x c++ -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-cpp.o
	clang -std=c99 -x c -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-clang.o
	# and with the host's instruction set, where the intrinsics kernel compiles (AVX-512)
	gcc -std=c99 -x c -O2 $(ARCH) -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-c-arch.o
	g++ -std=c++11 -x c++ -O2 $(ARCH) -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-cpp-arch.o
	clang -std=c99 -x c -O2 $(ARCH) -Wall -Wextra -pedantic -Werror -I. -c $(BUILD)/hdr.c -o $(BUILD)/hdr-clang-arch.o

test: deps check-header tests-build $(BUILD)/bruno-bench
	$(BUILD)/test-float
	$(BUILD)/test-double
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test-float-san
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/test-double-san

# ---------------------------------------------------------------- training harness
# bruno-bench train end to end (tests/train_check.sh): a tiny run straight
# and stopped/killed then resumed must give byte-identical epochs.csv and
# state.bin; corrupt/foreign state files and divergence are clear errors.
train-check: $(BUILD)/bruno-bench
	sh tests/train_check.sh $(BUILD)/bruno-bench
# about 15 s on one core: part of make test
test: train-check

# ---------------------------------------------------------------- rram figures
# The RRAM synapse device figures (shared/spec/RRAM.md). Every plotted
# number comes from a CSV that `bruno-bench rram` writes here; the gnuplot
# scripts in plots/ only read them. About 30 s on one core.
RRAM_DIR    = $(RESULTS)/rram
RRAM_GEOMS  = mean upper lower
RRAM_CURVES = $(foreach s,compliance fixed-n,$(foreach g,$(RRAM_GEOMS),$(RRAM_DIR)/curve_$(s)_$(g).csv))
RRAM_STATES = $(RRAM_DIR)/states_fixed-n.csv $(RRAM_DIR)/states_compliance.csv
RRAM_FIGS   = $(foreach f,rram_curve rram_states rram_fit,$(RRAM_DIR)/$(f).png $(RRAM_DIR)/$(f).svg)

rram-figures: $(RRAM_FIGS)

$(RRAM_DIR):
	@mkdir -p $@

# conductance vs compliance current, 5-400 uA, for each geometry and scheme
$(RRAM_DIR)/curve_compliance_%.csv: $(BUILD)/bruno-bench | $(RRAM_DIR)
	$(BUILD)/bruno-bench rram curve --scheme compliance --geometry $* --icc-min 5e-6 --icc-max 400e-6 --points 80 --out $@
$(RRAM_DIR)/curve_fixed-n_%.csv: $(BUILD)/bruno-bench | $(RRAM_DIR)
	$(BUILD)/bruno-bench rram curve --scheme fixed-n --geometry $* --icc-min 5e-6 --icc-max 400e-6 --points 80 --out $@
# the 8 states of 1000 devices (uniform +-10 %); the per-state summary
# (mean, sigma/mean) goes to states_*.txt
$(RRAM_DIR)/states_%.csv: $(BUILD)/bruno-bench | $(RRAM_DIR)
	$(BUILD)/bruno-bench rram states --scheme $* --devices 1000 --seed 1 --out $@ 2> $(RRAM_DIR)/states_$*.txt
$(RRAM_DIR)/fit.csv: $(BUILD)/bruno-bench | $(RRAM_DIR)
	$(BUILD)/bruno-bench rram fit --points 80 --out $@

$(RRAM_DIR)/rram_curve.png $(RRAM_DIR)/rram_curve.svg &: plots/rram_curve.gp $(RRAM_CURVES)
	gnuplot -e "dir='$(RRAM_DIR)'" plots/rram_curve.gp
$(RRAM_DIR)/rram_states.png $(RRAM_DIR)/rram_states.svg &: plots/rram_states.gp $(RRAM_STATES)
	gnuplot -e "dir='$(RRAM_DIR)'" plots/rram_states.gp
$(RRAM_DIR)/rram_fit.png $(RRAM_DIR)/rram_fit.svg &: plots/rram_fit.gp $(RRAM_DIR)/fit.csv
	gnuplot -e "dir='$(RRAM_DIR)'" plots/rram_fit.gp

# ---------------------------------------------------------------- reproduce
reproduce: deps all rram-figures
	@mkdir -p $(RESULTS)

clean:
	rm -rf $(BUILD)

# ---------------------------------------------------------------- datasets
# (data branch) The data files, their loaders (datasets/bruno_data.h) and
# the checks around them.
#   make datasets        find, sha256-verify and install the data files into
#                        datasets/data/ (BRUNO_DATA_DIR, datasets/data/,
#                        ../shared/datasets/, else convert or download)
#   make datasets-check  datasets/convert.py reproduces every shipped .bin
#                        byte for byte (sha256 against datasets/SHA256SUMS)
#   make fuzz            libFuzzer on the three loaders for FUZZ_TIME seconds
# The tests find the files themselves (same search order), so `make test`
# does not need `make datasets` first; it does run datasets-check and
# check-data-header.
.PHONY: datasets datasets-check fuzz check-data-header
FUZZ_TIME ?= 30
FUZZ_CC   ?= clang
CONV_BINS = jsb_chorales/jsb_quarter.bin:jsb:jsb_chorales/jsb-chorales-quarter.json \
            jsb_chorales/jsb_8th.bin:jsb:jsb_chorales/jsb-chorales-8th.json \
            jsb_chorales/jsb_16th.bin:jsb:jsb_chorales/jsb-chorales-16th.json \
            braille/braille_th10_events.bin:events:braille/data_braille_letters_th10 \
            braille/braille_raw2021_40hz.bin:raw:braille/tutorial5_braille_spiking_data.pkl.gz

$(TEST_BINS): datasets/bruno_data.h bench/train_util.c bench/train.h
test: check-data-header datasets-check

# datasets/bruno_data.h alone, like check-header: C99 and C++, float and double.
check-data-header: | $(BUILD)
	@printf '#define BRUNO_IMPLEMENTATION\n#include "bruno.h"\n#define BRUNO_DATA_IMPLEMENTATION\n#include "datasets/bruno_data.h"\nint main(void){return 0;}\n' > $(BUILD)/hdr-data.c
	gcc -std=c99 -x c -Wall -Wextra -pedantic -Werror -O2 -I. -c $(BUILD)/hdr-data.c -o $(BUILD)/hdr-data-c.o
	gcc -std=c99 -x c -Wall -Wextra -pedantic -Werror -O2 -DBRUNO_REAL_DOUBLE -DBRUNO_STATIC -I. -c $(BUILD)/hdr-data.c -o $(BUILD)/hdr-data-cd.o
	g++ -std=c++11 -x c++ -Wall -Wextra -pedantic -Werror -O2 -I. -c $(BUILD)/hdr-data.c -o $(BUILD)/hdr-data-cpp.o
	clang -std=c99 -x c -Wall -Wextra -pedantic -Werror -O2 -I. -c $(BUILD)/hdr-data.c -o $(BUILD)/hdr-data-clang.o

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

# The seed corpus is cut from the verified files; new inputs the fuzzer
# finds go to build/fuzz-corpus (kept between runs), crashes to build/fuzz-crashes/.
fuzz: $(BUILD)/fuzz_loaders datasets
	@mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-seeds $(BUILD)/fuzz-crashes
	python3 datasets/fuzz_seeds.py datasets/data $(BUILD)/fuzz-seeds
	$(BUILD)/fuzz_loaders -max_total_time=$(FUZZ_TIME) -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
	  -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz-crashes/ $(BUILD)/fuzz-corpus $(BUILD)/fuzz-seeds

# ---------------------------------------------------------------- reproduce: E4 device figures (first slice)
# Each figure: a bruno-bench command writes a CSV into results/, a gnuplot
# script in plots/ reads it and writes the PNG and the SVG. Nothing typed in.
PULSE_SIGMA = 0.1
E4_FIGS = felif_dc felif_pulses convergence convergence_traj
E4_OUT  = $(foreach f,$(E4_FIGS),$(RESULTS)/$(f).png $(RESULTS)/$(f).svg)

reproduce: e4-figures
e4-figures: $(E4_OUT)
.PHONY: e4-figures memcheck

$(RESULTS):
	@mkdir -p $(RESULTS)

# FeLIF under 308 pA DC, 100 network steps of 1 ms.
$(RESULTS)/felif_dc.csv: $(BUILD)/bruno-bench | $(RESULTS)
	$(BUILD)/bruno-bench trace --neuron felif --current 308e-12 --duration 0.1 --out $@
# +-1 nA pulses of 20 ms, 50 neurons with 10 % device-to-device variability.
$(RESULTS)/felif_pulses.csv: $(BUILD)/bruno-bench | $(RESULTS)
	$(BUILD)/bruno-bench trace --pulses --pulse-amp 1e-9 --pulse-width 20e-3 --neurons 50 \
	  --sigma $(PULSE_SIGMA) --seed 1 --duration 0.16 --out $@
# Euler at h = 100 us ... 10 ns vs RK4 at 1 ns (about a minute).
$(RESULTS)/converge.csv: $(BUILD)/bruno-bench | $(RESULTS)
	$(BUILD)/bruno-bench converge --out $@ --traj-out $(RESULTS)/converge_traj.csv \
	  --spikes-out $(RESULTS)/converge_spikes.csv
$(RESULTS)/converge_traj.csv $(RESULTS)/converge_spikes.csv: $(RESULTS)/converge.csv
	@test -f $@

$(RESULTS)/felif_dc.png $(RESULTS)/felif_dc.svg: $(RESULTS)/felif_dc.csv
$(RESULTS)/felif_pulses.png $(RESULTS)/felif_pulses.svg: $(RESULTS)/felif_pulses.csv
$(RESULTS)/convergence.png $(RESULTS)/convergence.svg: $(RESULTS)/converge.csv
$(RESULTS)/convergence_traj.png $(RESULTS)/convergence_traj.svg: $(RESULTS)/converge_traj.csv
$(RESULTS)/%.png: plots/%.gp plots/common.gp
	gnuplot -e "fmt='png'; out='$@'; sigma=$(PULSE_SIGMA)" $<
$(RESULTS)/%.svg: plots/%.gp plots/common.gp
	gnuplot -e "fmt='svg'; out='$@'; sigma=$(PULSE_SIGMA)" $<

# ---------------------------------------------------------------- memcheck
# valgrind memcheck on the driver and on the double test binary. Criterion
# runs each test in a child process; --trace-children follows them, but a
# child's exit code does not reach the runner, so every process writes its
# own log and any log with errors (leaks count, --leak-check=full) fails.
VALGRIND = valgrind --leak-check=full --error-exitcode=1 --suppressions=ci/valgrind.supp
# valgrind runs binaries built for VG_ARCH (no AVX-512) in build/vg.
VG_BUILD = $(BUILD)/vg
.PHONY: vg-bins
vg-bins:
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) ARCH="$(VG_ARCH)" $(VG_BUILD)/bruno-bench $(VG_BUILD)/test-double
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
# ---------------------------------------------------------------- peers
# bench/peers/: the E1 set-up written in PyTorch (e1_torch.py), cross-checked
# against bruno-bench (same weights and input: spikes identical, gradients
# of BRUNO and BPTT equal), then timed beside ours on a small grid; writes
# results/peers.csv, results/peers_check.json and results/peers.md (ratios
# ours / PyTorch, generated from the CSV). About 8-10 minutes on 2 cores.
# Debian's python3-torch is needed only here, so it is not in DEB_PKGS;
# peers-deps installs it. /usr/bin/python3 explicitly: that is the
# interpreter Debian's torch is built for (a pyenv python3 may come first
# on PATH). PEERS_ARGS passes options to run_peers.py, e.g.
#   make peers PEERS_ARGS="--hidden 64 --seq-ms 20 --threads 1"
PEERS_PY   = /usr/bin/python3
PEERS_ARGS ?=
.PHONY: peers peers-deps
peers-deps: deps
	@$(PEERS_PY) -c 'import torch' 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make peers-deps: installing python3-torch"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null || exit 1; \
	  else \
	    echo "make peers-deps: run: sudo apt-get install -y python3-torch"; exit 1; \
	  fi; }

peers: peers-deps $(BUILD)/bruno-bench
	@mkdir -p $(RESULTS)
	$(PEERS_PY) bench/peers/run_peers.py --bench $(BUILD)/bruno-bench --work $(BUILD)/peers --results $(RESULTS) $(PEERS_ARGS)

# ---------------------------------------------------------------- reproduce: E1 memory and time (EXPERIMENTS E1, E5)
# One `bruno-bench memtime` run per configuration, each into its own CSV
# under results/e1/memtime/ (memtime writes atomically: an interrupted run
# leaves no file, and a rerun only measures what is missing or older than
# the driver). results/e1_memtime.csv is their concatenation, the figures
# and results/e1_table.md read it. A configuration is its file name:
#   NEURON_METHOD_SCHEDULE_K_hHIDDEN_sSEQMS_rREPEATS   e.g. felif_checkpoint_binomial_31_h128_s500_r1
# Every E1 run takes a lock (E1_LOCK), so `make -j` never runs two of them
# at once on the shared cores (timings); other targets still run in
# parallel. E1_LOCK= turns that off.
# SCALE=quick (default): the sequence schedule at hidden 128 only, one
# repeat, the trade-off at 100 ms. SCALE=paper: every schedule at every
# hidden size, 3 repeats, also 20 ms, the trade-off at 500 ms.
.PHONY: e1-figures e1-data massif
reproduce: e1-figures

E1_DIR  = $(RESULTS)/e1
E1_LOCK = flock $(RESULTS)/.e1.lock
E1_HIDDEN = 64 128 256
# methods timed on the whole hidden x sequence grid; the paper's set-up
# (binomial checkpointing with 31 checkpoints per network step) and a plain
# uniform schedule with the same budget
E1_METHODS = felif_bptt_none_0 felif_bruno_none_0 felif_checkpoint_binomial_31 felif_checkpoint_uniform_31 \
             lif_bptt_none_0 rlif_bptt_none_0
# revolve over the whole sequence at two budgets
E1_SEQSCHED = felif_checkpoint_sequence_8 felif_checkpoint_sequence_32
# the issue's two targets, at E1_TARGET_HIDDEN and E1_TARGET_SEQ: BRUNO's
# counted peak <= 1 % of BPTT's, BRUNO's time <= 45 % of BPTT's
E1_TARGET_HIDDEN = 128
E1_TARGET_SEQ    = 500
E1_TARGET_MEM    = 0.01
E1_TARGET_TIME   = 0.45
# the trade-off figure: checkpointing at several budgets K at one point
E1_TRADE_H = 128
E1_TRADE_K = 2 4 8 16 31 64 128
E1_TRADE_KSEQ = 2 4 8 16 32 64
# gradient fidelity (gradcheck): N at dt = 1 ms; dt at h = dt/N = 1 us
E1_GC_ARGS = --hidden 128 --seq-ms 100
E1_GC_N    = 1,3,10,30,100,300,1000
E1_GC_DT_MS = 0.1 0.2 0.5 1 2 5
ifeq ($(SCALE),paper)
E1_SEQ        = 10 20 50 100 200 500
E1_REPEATS    = 3
E1_SEQ_HIDDEN = $(E1_HIDDEN)
E1_TRADE_SEQ  = 500
else
E1_SEQ        = 10 50 100 200 500
E1_REPEATS    = 1
E1_SEQ_HIDDEN = 128
E1_TRADE_SEQ  = 100
endif

e1_grid = $(foreach m,$(1),$(foreach h,$(2),$(foreach s,$(E1_SEQ),$(E1_DIR)/memtime/$(m)_h$(h)_s$(s)_r$(E1_REPEATS).csv)))
E1_RUNS = $(call e1_grid,$(E1_METHODS),$(E1_HIDDEN)) $(call e1_grid,$(E1_SEQSCHED),$(E1_SEQ_HIDDEN)) \
          $(foreach sc,binomial uniform,$(foreach k,$(E1_TRADE_K),$(E1_DIR)/memtime/felif_checkpoint_$(sc)_$(k)_h$(E1_TRADE_H)_s$(E1_TRADE_SEQ)_r$(E1_REPEATS).csv)) \
          $(foreach k,$(E1_TRADE_KSEQ),$(E1_DIR)/memtime/felif_checkpoint_sequence_$(k)_h$(E1_TRADE_H)_s$(E1_TRADE_SEQ)_r$(E1_REPEATS).csv)
E1_FIGS = e1_memory e1_time e1_tradeoff e1_fidelity
E1_OUT  = $(foreach f,$(E1_FIGS),$(RESULTS)/$(f).png $(RESULTS)/$(f).svg) $(RESULTS)/e1_table.md

e1-figures: $(E1_OUT)
e1-data: $(RESULTS)/e1_memtime.csv $(RESULTS)/e1_gradcheck.csv

$(E1_DIR)/memtime $(E1_DIR)/massif:
	@mkdir -p $@

# the memtime options of a configuration name ($1 = the name)
e1_w    = $(word $(1),$(subst _, ,$(2)))
e1_args = --neuron $(call e1_w,1,$(1)) --method $(call e1_w,2,$(1)) \
          $(if $(filter checkpoint,$(call e1_w,2,$(1))),--schedule $(call e1_w,3,$(1)) --checkpoints $(call e1_w,4,$(1))) \
          --hidden $(patsubst h%,%,$(call e1_w,5,$(1))) --seq-ms $(patsubst s%,%,$(call e1_w,6,$(1))) \
          --repeats $(patsubst r%,%,$(call e1_w,7,$(1)))

$(E1_DIR)/memtime/%.csv: $(BUILD)/bruno-bench | $(E1_DIR)/memtime
	$(E1_LOCK) $(BUILD)/bruno-bench memtime $(call e1_args,$*) --out $@

# The merged file names the set of runs it was made from, so switching
# SCALE remakes it even when every per-configuration file is older.
$(E1_DIR)/runs.txt: FORCE | $(E1_DIR)/memtime
	@echo $(notdir $(sort $(E1_RUNS))) | tr ' ' '\n' > $@.tmp; cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
$(RESULTS)/e1_memtime.csv: $(E1_DIR)/runs.txt $(E1_RUNS)
	@echo "e1: $(words $(filter %.csv,$^)) runs -> $@"
	@awk 'FNR > 1 || NR == 1' $(filter %.csv,$^) > $@.tmp && mv $@.tmp $@
.PHONY: FORCE
FORCE:

# BRUNO, checkpointing and coarse-only gradients against exact BPTT
$(E1_DIR)/gradcheck_n.csv: $(BUILD)/bruno-bench | $(E1_DIR)/memtime
	$(E1_LOCK) $(BUILD)/bruno-bench gradcheck $(E1_GC_ARGS) --n-fine $(E1_GC_N) --out $@
$(E1_DIR)/gradcheck_n_rategrad.csv: $(BUILD)/bruno-bench | $(E1_DIR)/memtime
	$(E1_LOCK) $(BUILD)/bruno-bench gradcheck $(E1_GC_ARGS) --n-fine $(E1_GC_N) --rate-grad --out $@
$(E1_DIR)/gradcheck_dt_%.csv: $(BUILD)/bruno-bench | $(E1_DIR)/memtime
	$(E1_LOCK) $(BUILD)/bruno-bench gradcheck $(E1_GC_ARGS) --dt $*e-3 --n-fine $$(awk 'BEGIN{print $* * 1000}') --out $@
E1_GC = $(E1_DIR)/gradcheck_n.csv $(E1_DIR)/gradcheck_n_rategrad.csv $(foreach d,$(E1_GC_DT_MS),$(E1_DIR)/gradcheck_dt_$(d).csv)
$(RESULTS)/e1_gradcheck.csv: $(E1_GC)
	@echo "e1: $(words $(E1_GC)) gradcheck runs -> $@"
	@awk 'FNR > 1 || NR == 1' $(E1_GC) > $@.tmp && mv $@.tmp $@

# figures: the plot scripts read the merged CSVs; e1_grid.gp is the layout
# shared by e1_memory and e1_time
E1_FIG_DEPS = plots/common.gp plots/e1_grid.gp $(RESULTS)/e1_memtime.csv $(RESULTS)/e1_gradcheck.csv
E1_GP_VARS  = th=$(E1_TRADE_H); ts=$(E1_TRADE_SEQ)
$(foreach f,$(E1_FIGS),$(RESULTS)/$(f).png): $(RESULTS)/%.png: plots/%.gp $(E1_FIG_DEPS)
	gnuplot -e "fmt='png'; out='$@'; $(E1_GP_VARS)" $<
$(foreach f,$(E1_FIGS),$(RESULTS)/$(f).svg): $(RESULTS)/%.svg: plots/%.gp $(E1_FIG_DEPS)
	gnuplot -e "fmt='svg'; out='$@'; $(E1_GP_VARS)" $<

# The table is a python3 (stdlib) script rather than awk: it joins two
# CSVs, looks rows up by several keys and formats markdown.
$(RESULTS)/e1_table.md: plots/e1_table.py $(RESULTS)/e1_memtime.csv reference/paper.csv
	python3 plots/e1_table.py --memtime $(RESULTS)/e1_memtime.csv --reference reference/paper.csv \
	  --target-hidden $(E1_TARGET_HIDDEN) --target-seq $(E1_TARGET_SEQ) \
	  --target-mem $(E1_TARGET_MEM) --target-time $(E1_TARGET_TIME) --out $@

# ---------------------------------------------------------------- massif
# Peak heap of a few small memtime runs under valgrind massif, next to the
# counted peak: results/e1_massif.csv (the memtime columns + peak_bytes_massif
# = the largest mem_heap_B + mem_heap_extra_B over the snapshots, which with
# --peak-inaccuracy=0.0 is the peak snapshot's). Massif must see at
# least what the counting allocator saw (it also sees the driver's own
# allocations: here 72,704 B of libstdc++'s exception pool, libstdc++ being
# a dependency of Debian's libjemalloc, and the driver's own few kB); the target fails otherwise.
# - the driver links jemalloc, whose malloc massif replaces only when told
#   (--soname-synonyms); jemalloc's own counters read 0 under valgrind.
# - its own build without -march=native: valgrind 3.19 does not know
#   AVX-512 and stops with SIGILL on native code of an AVX-512 machine.
#   The counted peaks do not depend on the instruction set.
# - the times in this file are valgrind's, not the machine's.
MASSIF_OPT = -O2 -g
MASSIF     = valgrind --tool=massif --peak-inaccuracy=0.0 --pages-as-heap=no --soname-synonyms=somalloc=*jemalloc* -q
MASSIF_RUNS = $(foreach m,felif_bruno_none_0 felif_bptt_none_0 felif_checkpoint_binomial_31 felif_checkpoint_sequence_8 lif_bptt_none_0,\
                $(E1_DIR)/massif/$(m)_h64_s20_r1.csv)

massif: $(RESULTS)/e1_massif.csv

$(BUILD)/bruno-bench-massif: $(BENCH_SRC) bench/*.h bruno.h | $(BUILD)
	$(CC) $(STD) $(MASSIF_OPT) -fopenmp -I. -o $@ $(BENCH_SRC) $(LDLIBS) -ljemalloc -lpthread

$(E1_DIR)/massif/%.csv: $(BUILD)/bruno-bench-massif | $(E1_DIR)/massif
	$(E1_LOCK) $(MASSIF) --massif-out-file=$(E1_DIR)/massif/$*.massif $(BUILD)/bruno-bench-massif memtime $(call e1_args,$*) \
	  --out $(E1_DIR)/massif/$*.row
	@peak=$$(awk -F= '/^mem_heap_B=/ {h = $$2} /^mem_heap_extra_B=/ {if (h + $$2 > m) m = h + $$2} END {print m + 0}' \
	  $(E1_DIR)/massif/$*.massif); \
	counted=$$(awk -F, 'NR == 2 {print $$11}' $(E1_DIR)/massif/$*.row); \
	echo "massif $*: massif peak $$peak B, counted peak $$counted B"; \
	if [ "$$peak" -lt "$$counted" ]; then echo "massif: massif saw less than the counting allocator: it misses allocations"; exit 1; fi; \
	awk -v p=$$peak 'NR == 1 {print $$0 ",peak_bytes_massif"} NR == 2 {print $$0 "," p}' $(E1_DIR)/massif/$*.row > $@.tmp && mv $@.tmp $@

$(RESULTS)/e1_massif.csv: $(MASSIF_RUNS)
	@echo "massif: $(words $(MASSIF_RUNS)) runs -> $@"
	@awk 'FNR > 1 || NR == 1' $(MASSIF_RUNS) > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- bench
# The performance figures of the fast kernel: `bruno-bench throughput`
# (fast vs scalar reference updates per second on one core, a BRUNO step at
# 1 and 2 threads) and, with `make peers`, bruno.h against PyTorch; the
# table results/bench.md marks each target PASS or FAIL from the CSVs.
.PHONY: bench
bench: $(BUILD)/bruno-bench
	@mkdir -p $(RESULTS)
	$(BUILD)/bruno-bench throughput --out $(RESULTS)/throughput.csv
	$(MAKE) --no-print-directory peers
	python3 plots/bench_table.py $(RESULTS)/throughput.csv $(RESULTS)/peers.csv $(RESULTS)/bench.md
	@cat $(RESULTS)/bench.md
# ---------------------------------------------------------------- ci: regression checks of memory, time and accuracy
# make ci           builds the driver, runs ci/runs.txt (E1 memtime at CI
#                   scale, short fixed-seed Braille and JSB training runs)
#                   into build/ci/, compares every number with
#                   reference/ci_baseline.csv and the two E1 ratios with
#                   their thresholds (E1_TARGET_MEM, E1_TARGET_TIME above),
#                   prints the table, writes results/ci.csv, fails on any FAIL.
#                   About 4 minutes on the 2 shared cores (budget: 10).
# make ci-baseline  the same runs, then REWRITES reference/ci_baseline.csv
#                   from them (header: the command, git revision, compiler,
#                   CPU). A deliberate act whose diff is reviewed; CI never
#                   runs it. Then checks against the new file.
# make ci-selftest  proves that the checker fails: perturbed baselines
#                   (a peak 1 byte off, an accuracy 3 points off, ...) must
#                   FAIL, within-tolerance ones PASS, and a tiny real run
#                   must FAIL against a baseline 1 byte off. A few seconds:
#                   part of make test.
# The runs take the E1 lock: no E1 timing runs beside them under make -j.
.PHONY: ci ci-baseline ci-selftest ci-run
CI_DIR      = $(BUILD)/ci
CI_RUNS     = ci/runs.txt
CI_BASELINE = reference/ci_baseline.csv
CI_DEFINES  = --define E1_TARGET_MEM=$(E1_TARGET_MEM) --define E1_TARGET_TIME=$(E1_TARGET_TIME)
CI_PY       = python3 ci/ci.py

ci-run: $(BUILD)/bruno-bench | $(RESULTS)
	@mkdir -p $(CI_DIR)
	$(E1_LOCK) $(CI_PY) run --bench $(BUILD)/bruno-bench --runs $(CI_RUNS) $(CI_DEFINES) \
	  --work $(CI_DIR) --out $(CI_DIR)/measured.csv

ci: ci-run
	$(CI_PY) check --runs $(CI_RUNS) $(CI_DEFINES) --measured $(CI_DIR)/measured.csv \
	  --baseline $(CI_BASELINE) --out $(RESULTS)/ci.csv

ci-baseline: ci-run
	$(CI_PY) baseline --measured $(CI_DIR)/measured.csv --out $(CI_BASELINE)
	$(CI_PY) check --runs $(CI_RUNS) $(CI_DEFINES) --measured $(CI_DIR)/measured.csv \
	  --baseline $(CI_BASELINE) --out $(RESULTS)/ci.csv

ci-selftest: $(BUILD)/bruno-bench
	sh ci/selftest.sh $(BUILD)/bruno-bench $(CI_BASELINE) $(CI_RUNS) $(E1_TARGET_MEM) $(E1_TARGET_TIME)
test: ci-selftest
# ---------------------------------------------------------------- reproduce: training experiments (EXPERIMENTS E2, E3)
# One `bruno-bench train` run per make target, each in its own directory
#   results/train/<task>_<model>_<trainer>_<bits>_s<seed>/
# with the hyper-parameters of reference/hparams/<task>_<model>_<bits>.txt
# (--hparams auto). The stamp done_e<EPOCHS> marks a finished run; an
# interrupted `make reproduce` resumes each run after its last finished
# epoch (train resumes by itself), and a finished run is skipped. A run
# whose loss or gradient becomes non-finite stops with status "diverged"
# in its summary.json: that is a result, so the stamp is written and the
# tables say "diverged"; any other failure stops make. log.txt gathers the
# output of every invocation of a run and its CPU time (wall.csv has the
# wall times; on shared cores the CPU time says more). Runs depend on the
# driver order-only: rebuilding bruno-bench does not throw results away.
# After changing an hparams file, remove the run directories it concerns
# (train refuses to resume a state made with other options).
# Run it as `make -j2 reproduce`: two runs at once with one thread each.
# The runs are independent and keep both cores busy; inside one run only
# the FeLIF and dense layers are threaded (LIF/RLIF/SNU layers, the
# optimiser and the data are serial), so one run on two threads (-j1,
# --threads 2) leaves a core idle part of the time. Not timed against each
# other here (shared, loaded machine); only the tail of the grid, where
# one run is left, would gain from --threads 2.
#   SCALE=quick  Braille seeds 0 and 1, JSB seed 0, BRAILLE_EPOCHS / JSB_EPOCHS below: the whole
#                `make reproduce` in under an hour on 2 cores
#   SCALE=paper  seeds 0-49, 150 epochs Braille, 100 epochs JSB (the paper)
# --epochs may be raised on a finished run: a paper-scale run continues
# the quick one of the same seed.
.PHONY: experiments train-runs train-tables
reproduce: experiments

TRAIN_DIR = $(RESULTS)/train
TRAIN     = $(BUILD)/bruno-bench train --hparams auto --threads 1
ifeq ($(SCALE),paper)
BRAILLE_SEEDS  = $(shell seq 0 49)
JSB_SEEDS      = $(BRAILLE_SEEDS)
BRAILLE_EPOCHS = 150
JSB_EPOCHS     = 100
else
# two Braille seeds, so that the table has a spread and a comparison of
# two models does not rest on one draw (at 3 bits seed 1 ranks LIF above
# FeLIF, seed 0 the other way); JSB's BPTT run alone costs ~5 CPU-minutes
BRAILLE_SEEDS  = 0 1
JSB_SEEDS      = 0
BRAILLE_EPOCHS = 8
JSB_EPOCHS     = 20
endif
TRAIN_BITS = 32 8 4 3
# plus 3-bit RRAM device synapses (variability, programming and read noise:
# bruno-bench train --synapse rram) for the LIF and FeLIF-BRUNO networks

# Longest runs first: make -j2 starts prerequisites in this order, so the
# two cores stay busy until the end.
JSB_RUNS     = $(foreach s,$(JSB_SEEDS),jsb_felif_bptt_32_s$(s) jsb_felif_bruno_32_s$(s) jsb_snu_bruno_32_s$(s))
BRAILLE_RUNS = $(foreach s,$(BRAILLE_SEEDS),\
                 $(foreach b,$(TRAIN_BITS),braille-raw_felif_bruno_$(b)_s$(s)) braille-raw_felif_coarse_32_s$(s) \
                 $(foreach m,rlif lif,$(foreach b,$(TRAIN_BITS),braille-raw_$(m)_bruno_$(b)_s$(s))) \
                 braille-raw_lif_bruno_3rram_s$(s) braille-raw_felif_bruno_3rram_s$(s))
TRAIN_RUNS   = $(BRAILLE_RUNS) $(JSB_RUNS)
TRAIN_STAMPS = $(foreach r,$(filter braille%,$(TRAIN_RUNS)),$(TRAIN_DIR)/$(r)/done_e$(BRAILLE_EPOCHS)) \
               $(foreach r,$(filter jsb%,$(TRAIN_RUNS)),$(TRAIN_DIR)/$(r)/done_e$(JSB_EPOCHS))
# Order: first the runs the issue's targets compare (so that a make stopped
# early has them), the long ones among them first (JSB BPTT and a FeLIF
# Braille run cost several times a LIF/RLIF/SNU run); then the rest.
TRAIN_FIRST  = $(TRAIN_DIR)/jsb_felif_bptt% $(TRAIN_DIR)/jsb_felif_bruno% $(TRAIN_DIR)/braille-raw_felif_bruno_32% \
               $(TRAIN_DIR)/braille-raw_lif_bruno_32% $(TRAIN_DIR)/braille-raw_lif_bruno_3_% \
               $(TRAIN_DIR)/braille-raw_felif_bruno_3_% $(TRAIN_DIR)/braille-raw_felif_coarse% $(TRAIN_DIR)/jsb_snu% \
               $(TRAIN_DIR)/braille-raw_felif%
TRAIN_ORDER  = $(foreach p,$(TRAIN_FIRST),$(filter $(p),$(TRAIN_STAMPS))) $(filter-out $(TRAIN_FIRST),$(TRAIN_STAMPS))

# the train options of a run name ($1 = task_model_trainer_bits_sSEED)
tr_w    = $(word $(1),$(subst _, ,$(2)))
tr_args = --task $(call tr_w,1,$(1)) --model $(call tr_w,2,$(1)) \
          $(if $(filter felif,$(call tr_w,2,$(1))),--trainer $(call tr_w,3,$(1))) \
          --bits $(patsubst %rram,%,$(call tr_w,4,$(1))) $(if $(filter %rram,$(call tr_w,4,$(1))),--synapse rram) \
          --seed $(patsubst s%,%,$(call tr_w,5,$(1)))

# $(1) = run name, $(2) = epochs
define train_run
	@mkdir -p $(TRAIN_DIR)/$(1)
	@rc=0; $(TRAIN) $(call tr_args,$(1)) --epochs $(2) --out $(TRAIN_DIR)/$(1) \
	  >> $(TRAIN_DIR)/$(1)/log.txt 2>&1 || rc=$$?; \
	times > $(TRAIN_DIR)/$(1)/cpu.tmp; \
	echo "cpu time of this invocation (user system): $$(tail -n 1 $(TRAIN_DIR)/$(1)/cpu.tmp)" >> $(TRAIN_DIR)/$(1)/log.txt; \
	rm -f $(TRAIN_DIR)/$(1)/cpu.tmp; \
	tail -n 2 $(TRAIN_DIR)/$(1)/log.txt | sed 's|^|$(1): |'; \
	if [ $$rc -ne 0 ] && ! grep -q '"status": "diverged"' $(TRAIN_DIR)/$(1)/summary.json 2>/dev/null; then \
	  echo "$(1): bruno-bench train failed (exit $$rc), see $(TRAIN_DIR)/$(1)/log.txt"; exit 1; fi
	@touch $(TRAIN_DIR)/$(1)/done_e$(2)
endef

$(TRAIN_DIR)/braille%/done_e$(BRAILLE_EPOCHS): | $(BUILD)/bruno-bench
	$(call train_run,braille$*,$(BRAILLE_EPOCHS))
$(TRAIN_DIR)/jsb%/done_e$(JSB_EPOCHS): | $(BUILD)/bruno-bench
	$(call train_run,jsb$*,$(JSB_EPOCHS))

train-runs: $(TRAIN_ORDER)

# Tables and figures read every finished epochs.csv of the runs listed in
# runs.txt (the grid of this SCALE); the paper's numbers come from
# reference/paper.csv. results/REPORT.md gathers everything that exists.
TRAIN_OUT = $(RESULTS)/braille_table.md $(RESULTS)/jsb_table.md \
            $(RESULTS)/braille_acc.png $(RESULTS)/braille_acc.svg $(RESULTS)/jsb_loss.png $(RESULTS)/jsb_loss.svg
$(TRAIN_DIR)/runs.txt: FORCE
	@mkdir -p $(TRAIN_DIR)
	@echo $(TRAIN_RUNS) | tr ' ' '\n' > $@.tmp; cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
$(TRAIN_DIR)/braille_curves.csv $(TRAIN_DIR)/jsb_curves.csv $(RESULTS)/braille_table.md $(RESULTS)/jsb_table.md &: \
		plots/train_tables.py reference/paper.csv $(TRAIN_DIR)/runs.txt $(TRAIN_ORDER)
	python3 plots/train_tables.py --runs $(TRAIN_DIR)/runs.txt --train-dir $(TRAIN_DIR) --reference reference/paper.csv \
	  --scale $(SCALE) --out-dir $(RESULTS)
$(RESULTS)/braille_acc.png $(RESULTS)/braille_acc.svg &: plots/braille_acc.gp plots/common.gp $(TRAIN_DIR)/braille_curves.csv
	gnuplot -e "fmt='png'; out='$(RESULTS)/braille_acc.png'; dir='$(TRAIN_DIR)'" plots/braille_acc.gp
	gnuplot -e "fmt='svg'; out='$(RESULTS)/braille_acc.svg'; dir='$(TRAIN_DIR)'" plots/braille_acc.gp
$(RESULTS)/jsb_loss.png $(RESULTS)/jsb_loss.svg &: plots/jsb_loss.gp plots/common.gp $(TRAIN_DIR)/jsb_curves.csv
	gnuplot -e "fmt='png'; out='$(RESULTS)/jsb_loss.png'; dir='$(TRAIN_DIR)'" plots/jsb_loss.gp
	gnuplot -e "fmt='svg'; out='$(RESULTS)/jsb_loss.svg'; dir='$(TRAIN_DIR)'" plots/jsb_loss.gp
train-tables: $(TRAIN_OUT)

# The coarse-only trainer's neuron (one 1 ms Euler step per network step)
# against the device (1000 steps of 1 us) at DC currents: why coarse-only
# training learns a different neuron (REPORT.md, E2). A few seconds.
$(RESULTS)/coarse_vs_fine.csv $(RESULTS)/coarse_vs_fine.md &: plots/coarse_vs_fine.py \
		reference/hparams/braille-raw_felif_32.txt $(BUILD)/bruno-bench | $(RESULTS)
	python3 plots/coarse_vs_fine.py --bench $(BUILD)/bruno-bench --hparams reference/hparams/braille-raw_felif_32.txt \
	  --out $(RESULTS)/coarse_vs_fine.csv --md $(RESULTS)/coarse_vs_fine.md
experiments: $(RESULTS)/coarse_vs_fine.md

# results/REPORT.md (plots/report.py): every number of ours beside the
# paper's, the machine and the build. `make report` writes it from whatever
# results exist (a missing input reads "not run"); `reproduce` writes it
# last, after every other part.
.PHONY: report reproduce-report
report: | $(RESULTS)
	python3 plots/report.py --results $(RESULTS) --reference reference/paper.csv --scale $(SCALE) \
	  --cc "$(CC)" --cflags "$(CFLAGS)" --out $(RESULTS)/REPORT.md
reproduce-report: | e4-figures e1-figures rram-figures experiments
	@$(MAKE) --no-print-directory report SCALE=$(SCALE)
reproduce: reproduce-report

experiments: train-tables
# ---------------------------------------------------------------- hostile input (issue 16)
# tests/hostile_cli.sh: bruno-bench and datasets/convert.py used as a
# hostile user would (every size option, number syntax, empty splits,
# output failures, hostile data, parameters that cannot be computed, odd
# files, the converter): the promised exit code and no crash, hang or
# temporary file. About 10 s. The library's side is tests/test_hostile.c.
# fuzz-state and fuzz-kv: libFuzzer on the state file (state.bin) and the
# key=value reader with the strict number parser, FUZZ_TIME seconds each;
# fuzz-short runs all three targets for FUZZ_SHORT seconds each (for CI).
.PHONY: hostile-cli fuzz-state fuzz-kv fuzz-short
FUZZ_SHORT ?= 20
FUZZ_FLAGS = -std=c99 -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
hostile-cli: $(BUILD)/bruno-bench
	sh tests/hostile_cli.sh $(BUILD)/bruno-bench
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
test: hostile-cli
