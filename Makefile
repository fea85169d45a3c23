# bruno: single-header library + benchmark suite.
# The two commands a user needs:  make reproduce   and   make test
# Everything is built into build/, every result goes into results/.

CC      ?= cc
CXX     ?= c++
OPT     ?= -O2 -g
# -ffp-contract=off: the exact trainers must be bit-identical to each other
# and across builds; no silent FMA contraction.
STD     = -std=c99 -Wall -Wextra -pedantic -ffp-contract=off
CFLAGS  += $(STD) $(OPT) -I.
LDLIBS  += -lm
SCALE   ?= quick

BUILD   = build
RESULTS = results

# Debian packages the suite needs; `make deps` installs the missing ones.
DEB_PKGS = build-essential libcriterion-dev gnuplot-nox libjemalloc-dev valgrind pkg-config python3

BENCH_SRC = $(wildcard bench/*.c)
TEST_SRC  = $(wildcard tests/test_*.c)
EXAMPLES  = $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all test reproduce deps clean check-header tests-build

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
$(BUILD)/bruno-bench: $(BENCH_SRC) bench/bench.h bruno.h | $(BUILD)
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

# ---------------------------------------------------------------- reproduce
reproduce: deps all
	@mkdir -p $(RESULTS)

clean:
	rm -rf $(BUILD)

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
