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

# ---------------------------------------------------------------- reproduce
reproduce: deps all
	@mkdir -p $(RESULTS)

clean:
	rm -rf $(BUILD)

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
