# bruno: single-header library + benchmark suite.
# The two commands a user needs:  make reproduce   and   make test
# Everything is built into build/, every result goes into results/.

CC      ?= cc
CXX     ?= c++
OPT     ?= -O3 -march=native -g
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
VALGRIND = valgrind --leak-check=full --error-exitcode=1
memcheck: $(BUILD)/bruno-bench $(BUILD)/test-double
	@rm -rf $(BUILD)/memcheck && mkdir -p $(BUILD)/memcheck
	$(VALGRIND) -q $(BUILD)/bruno-bench trace --neurons 3 --sigma 0.1 --duration 0.005 --out $(BUILD)/memcheck/trace.csv
	$(VALGRIND) -q $(BUILD)/bruno-bench trace --neuron lif --duration 0.005 --out $(BUILD)/memcheck/lif.csv
	$(VALGRIND) -q $(BUILD)/bruno-bench converge --n-fine-list 10,100 --ref-n 1000 --duration 0.002 \
	  --spike-duration 0.002 --out $(BUILD)/memcheck/converge.csv
	$(VALGRIND) --trace-children=yes --log-file=$(BUILD)/memcheck/test.%p.log $(BUILD)/test-double --jobs 2
	@bad=$$(grep -l "ERROR SUMMARY: [1-9]" $(BUILD)/memcheck/test.*.log); \
	n=$$(ls $(BUILD)/memcheck/test.*.log | wc -l); \
	if [ -n "$$bad" ]; then cat $$bad; echo "memcheck: errors in $$bad"; exit 1; fi; \
	echo "memcheck: no errors and no leaks in $$n processes (driver and test-double)"
