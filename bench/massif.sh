#!/bin/sh
# bench/massif.sh - peak heap of a few small memtime runs under valgrind
# massif, next to the counted peak (make massif): RESULTS/e1_massif.csv =
# the memtime columns + peak_bytes_massif, the largest mem_heap_B +
# mem_heap_extra_B over the snapshots (with --peak-inaccuracy=0.0, the peak
# snapshot's). Massif must see at least what the counting allocator saw (it
# also sees the driver's own allocations: libstdc++'s exception pool, as
# libstdc++ is a dependency of Debian's libjemalloc, and the driver's own
# few kB); the script fails otherwise.
# - the driver links jemalloc, whose malloc massif replaces only when told
#   (--soname-synonyms); jemalloc's own counters read 0 under valgrind.
# - BENCH is built without -march=native: valgrind 3.19 does not know
#   AVX-512. The counted peaks do not depend on the instruction set.
# - the times in this file are valgrind's, not the machine's.
# Each run takes the E1 lock (RESULTS/.e1.lock), like every E1 run.
# usage: massif.sh BENCH RESULTS CONFIGURATION...   (names as in bench/grid.py)
set -eu
B=$1 R=$2; shift 2
D=$R/e1/massif
mkdir -p "$D"
files=
for m in "$@"; do
    # shellcheck disable=SC2046 # the options are words, split on purpose
    flock "$R/.e1.lock" valgrind --tool=massif --peak-inaccuracy=0.0 --pages-as-heap=no \
        --soname-synonyms=somalloc='*jemalloc*' -q --massif-out-file="$D/$m.massif" \
        "$B" memtime $(python3 bench/grid.py e1args "$m") --out "$D/$m.row"
    peak=$(awk -F= '/^mem_heap_B=/ {h = $2} /^mem_heap_extra_B=/ {if (h + $2 > m) m = h + $2} END {print m + 0}' "$D/$m.massif")
    counted=$(awk -F, 'NR == 2 {print $11}' "$D/$m.row")
    echo "massif $m: massif peak $peak B, counted peak $counted B"
    if [ "$peak" -lt "$counted" ]; then
        echo "massif: massif saw less than the counting allocator: it misses allocations"; exit 1
    fi
    awk -v p="$peak" 'NR == 1 {print $0 ",peak_bytes_massif"} NR == 2 {print $0 "," p}' "$D/$m.row" > "$D/$m.csv"
    files="$files $D/$m.csv"
done
awk 'FNR > 1 || NR == 1' $files > "$R/e1_massif.csv.tmp" && mv "$R/e1_massif.csv.tmp" "$R/e1_massif.csv"
echo "massif: $# runs -> $R/e1_massif.csv"
