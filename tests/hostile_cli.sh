#!/bin/sh
# hostile_cli.sh - bruno-bench and datasets/convert.py used as a hostile
# user would (issue 16; make hostile-cli). Every case states the exit code
# the README's "Errors" section promises: 0 ok, 1 a run failed, 2 a usage
# error; never a signal (>= 128), a hang (timeout: 124), or 0 with a wrong
# result. Each case names its class of the issue:
#   1 size arithmetic   2 numbers and sentinels   3 NaN results / empty splits
#   4 output failures   5 hostile data content    6 parameters that cannot be computed
#   8 the converter and odd files
# Usage: sh tests/hostile_cli.sh [build/bruno-bench]
set -u
B=${1:-build/bruno-bench}
CONVERT="python3 datasets/convert.py"
D=$(mktemp -d "${TMPDIR:-/tmp}/hostile-cli.XXXXXX")
trap 'rm -rf "$D"' EXIT
T=60          # seconds a case may take before it counts as a hang
n_fail=0
n_ok=0

# expect CODE NAME CMD...: run CMD (stderr to $D/err), check its exit code.
expect() {
    want=$1
    name=$2
    shift 2
    timeout $T "$@" > "$D/out" 2> "$D/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "hostile-cli: FAIL: $name: exit $got, expected $want" >&2
        sed 's/^/    /' "$D/err" | head -n 5 >&2
        n_fail=$((n_fail + 1))
        return 1
    fi
    n_ok=$((n_ok + 1))
    return 0
}
# says NAME TEXT: the last command's stderr contains TEXT
says() {
    if ! grep -q -- "$2" "$D/err"; then
        echo "hostile-cli: FAIL: $1: stderr does not say '$2'" >&2
        sed 's/^/    /' "$D/err" | head -n 5 >&2
        n_fail=$((n_fail + 1))
    fi
}
check() { # check NAME CONDITION-COMMAND...
    name=$1
    shift
    if ! "$@"; then
        echo "hostile-cli: FAIL: $name" >&2
        n_fail=$((n_fail + 1))
    else
        n_ok=$((n_ok + 1))
    fi
}
# a process id that does not exist (for temporary files of a killed run)
dead_pid() {
    p=4194000
    while kill -0 $p 2> /dev/null; do p=$((p - 1)); done
    echo $p
}

# a tiny JSB network (a few seconds per epoch)
JSB="--task jsb --neuron snu --epochs 1 --limit-train 2 --limit-test 1 --hidden 8"
JSBF="--task jsb --neuron felif --epochs 1 --limit-train 2 --limit-test 1 --hidden 8 --n-fine 10"

# ---- class 1: size arithmetic overflows ----------------------------------------------
# the old option names of issue 13's one vocabulary: refused, naming the new one
expect 2 "2: memtime --method (now --trainer)" $B memtime --method bptt --hidden 4 --inputs 4 --seq-ms 2 && says "memtime --method" "is now '--trainer'"
expect 2 "2: train --model (now --neuron)" $B train --task jsb --model snu --out "$D/renamed" && says "train --model" "is now '--neuron'"
check "2: train --model wrote nothing" test ! -e "$D/renamed"
expect 2 "1: gradcheck --batch 2^46 (n * sizeof wrapped, SIGSEGV)" \
    $B gradcheck --batch 70368744177664 --hidden 4 --inputs 4 --seq-ms 2
expect 2 "1: memtime --batch 2^40" $B memtime --batch 1099511627776 --hidden 4 --inputs 4 --seq-ms 2
expect 2 "1: memtime --seq-ms 1e12 (steps x batch x inputs)" $B memtime --seq-ms 1e12 --hidden 4 --inputs 4
expect 2 "1: e1dump --batch 2^46" $B e1dump --dir "$D/e1" --batch 70368744177664 --hidden 4 --inputs 4
expect 2 "1: throughput --hidden 2^40" $B throughput --hidden 1099511627776
expect 2 "2: throughput --neuron nosuch (no such device)" $B throughput --phases-only --neuron nosuch && says "throughput --neuron" "no such device"
expect 2 "1: trace --n-fine 4e9 (hours of work)" $B trace --n-fine 4000000000 --duration 0.01
expect 2 "1: trace --neurons 1e6 for 1e5 steps (1e11 rows)" $B trace --neurons 1000000 --duration 100
expect 2 "1: train --n-fine 2e6" $B train $JSBF --n-fine 2000000 --out "$D/t1a"
expect 2 "1: train --epochs 1e12" $B train $JSB --epochs 1000000000000 --out "$D/t1b"
expect 2 "1: train --bias-std -1 (a negative standard deviation)" $B train --task braille-raw --neuron lif --bias-std -1 --out "$D/t1c"

# ---- class 2: numbers that wrap or hit a sentinel ---------------------------------------
expect 2 "2: memtime --warmup 2^64-1 (warmup + repeats wrapped to 0: a row of zeros, exit 0)" \
    $B memtime --warmup 18446744073709551615 --hidden 4 --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: memtime --hidden +5 (a '+' got past the sign check)" $B memtime --hidden +5 --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: memtime --hidden ' 5' (leading space)" $B memtime --hidden " 5" --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: memtime --hidden 5x (trailing junk)" $B memtime --hidden 5x --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: memtime --gain ' 1e-9'" $B memtime --gain " 1e-9" --hidden 4 --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: gradcheck --dt +1e-3 (list item with '+')" $B gradcheck --dt +1e-3 --hidden 4 --inputs 4 --seq-ms 2 --n-fine 10
expect 2 "2: converge --n-fine-list '10, 20'" $B converge --n-fine-list "10, 20"
expect 2 "2: train --checkpoints 2^64-1 (the 'not set' sentinel: silently 31)" \
    $B train $JSBF --trainer checkpoint --checkpoints 18446744073709551615 --out "$D/t2a"
expect 2 "2: train --plateau 2^64-1 (the sentinel again; plateau is 0 or 1)" \
    $B train $JSB --plateau 18446744073709551615 --out "$D/t2b"
printf 'epochs = +1\n' > "$D/hp-plus.txt"
expect 2 "2: hparams 'epochs = +1'" $B train $JSB --hparams "$D/hp-plus.txt" --out "$D/t2c"
printf 'lr = 0.01\nlr = 0.02\n' > "$D/hp-twice.txt"
expect 2 "2: hparams with a key set twice (the last one won silently)" $B train $JSB --hparams "$D/hp-twice.txt" --out "$D/t2d"
says "2: hparams twice" "set twice"
printf 'lr = 0.01\n\000epochs = 100000\n' > "$D/hp-nul.txt"
expect 2 "2: hparams with a NUL byte (the rest was skipped)" $B train $JSB --hparams "$D/hp-nul.txt" --out "$D/t2e"

# ---- class 3: empty or degenerate splits, NaN results -----------------------------------
printf '{"train": [[[60], [62], [64], [65], [67], [69], [71], [72]], [[60], [64], [67], [72], [67], [64], [60], [62]]], "valid": [], "test": []}' > "$D/notest.json"
$CONVERT jsb "$D/notest.json" "$D/notest.bin" 2> /dev/null || { echo "hostile-cli: FAIL: cannot build notest.bin" >&2; n_fail=$((n_fail + 1)); }
expect 2 "3: an empty test split (NaN metrics, status complete, exit 0)" \
    $B train $JSB --data-file "$D/notest.bin" --limit-train 0 --limit-test 0 --out "$D/t3"
says "3: empty test split" "both splits must be non-empty"
check "3: nothing written for a run refused before training" test ! -e "$D/t3/epochs.csv"

# ---- class 4: output failures -------------------------------------------------------------
mkdir -p "$D/t4a/summary.json"   # a directory where summary.json must go
expect 1 "4: summary.json cannot be written (reported, but exit 0)" $B train $JSB --out "$D/t4a"
long=$D
while [ ${#long} -lt 1150 ]; do long=$long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done
mkdir -p "$long"
expect 2 "4: an --out path over 1090 characters (silently cut: files overwrote each other)" $B train $JSB --out "$long"
says "4: long path" "longer than"
CONV="--n-fine-list 10 --ref-n 1000 --duration 0.002 --spike-duration 0.002"
expect 2 "4: converge --out and --traj-out the same file (a mix of both)" \
    $B converge $CONV --out "$D/c.csv" --traj-out "$D/c.csv"
says "4: same file" "name the same file"
mkdir -p "$D/sub"
expect 2 "4: the same file by two spellings" $B converge $CONV --out "$D/sub/../c2.csv" --spikes-out "$D/c2.csv"
expect 2 "4: --traj-out - next to the default stdout" $B converge $CONV --traj-out -
check "4: nothing written by a refused converge" test ! -e "$D/c.csv"
if [ -w /dev/full ]; then
    expect 1 "4: a full disk under stdout (trace > /dev/full)" sh -c "exec $B trace --duration 0.01 > /dev/full"
    says "4: /dev/full" "cannot write"
fi

# ---- class 5: valid in form, hostile in content -----------------------------------------
python3 - "$D/late.bin" << 'EOF'
import struct, sys
# BRAILEV1: 27 samples (one per class), one event each; the last one at t = 100 s
out = bytearray(b"BRAILEV1") + struct.pack("<4I2d", 27, 12, 2, 27, 10.0, 40.0)
out += b"".join(n.encode().ljust(8, b"\0") for n in ["Space"] + [chr(65 + i) for i in range(26)])
for i in range(27):
    out += struct.pack("<2I", i, 1) + struct.pack("<d2I", 100.0 if i == 26 else 0.5, i % 12, 0)
open(sys.argv[1], "wb").write(out)
EOF
# the 8.3 GB allocation is bounded here so that a regression fails instead of swapping
expect 1 "5: an event at t = 100 s (asked for 8.3 GB)" sh -c "ulimit -v 3000000; exec $B train --task braille-events --neuron lif --epochs 1 --batch 4 --data-file $D/late.bin --out $D/t5"
says "5: late event" "longer than any recording"

# ---- class 6: parameters that validate but cannot be computed -------------------------
expect 1 "6: train --i-dsc 1e300 (ran to the end at loss ln 27, exit 0)" $B train $JSBF --i-dsc 1e300 --out "$D/t6"
says "6: i-dsc" "building the network"

# ---- class 8: odd files ----------------------------------------------------------------------
mkdir -p "$D/t8a"
mkfifo "$D/t8a/state.bin"
expect 1 "8: a FIFO as state.bin (the resume hung forever)" $B train $JSB --out "$D/t8a"
says "8: FIFO" "not a regular file"
expect 2 "8: a --data-dir that does not exist (fell back to the default data)" \
    $B train $JSB --data-dir "$D/no-such-dir" --out "$D/t8b"
mkdir -p "$D/t8c"
pid=$(dead_pid)
echo junk > "$D/t8c/state.bin.tmp.$pid"
echo junk > "$D/t8c/epochs.csv.tmp.$pid"
echo mine > "$D/t8c/notes.tmp.$pid"   # not our pattern: kept
expect 0 "8: a run after a killed one" $B train $JSB --out "$D/t8c"
check "8: temporary files of a killed run are removed" test ! -e "$D/t8c/state.bin.tmp.$pid" -a ! -e "$D/t8c/epochs.csv.tmp.$pid"
check "8: other files are left alone" test -e "$D/t8c/notes.tmp.$pid"

# the converter: one line on stderr, exit 1, no traceback, no temporary file
conv_bad() { # conv_bad NAME KIND INPUT OUTPUT
    expect 1 "8: convert.py $1" $CONVERT "$2" "$3" "$4"
    if grep -q Traceback "$D/err"; then
        echo "hostile-cli: FAIL: convert.py $1: a traceback" >&2
        n_fail=$((n_fail + 1))
    fi
    if ls "$4".tmp.* > /dev/null 2>&1; then
        echo "hostile-cli: FAIL: convert.py $1: left $(ls "$4".tmp.*)" >&2
        n_fail=$((n_fail + 1))
    fi
}
python3 -c "import sys; sys.stdout.write('{\"train\": ' + '[' * 100000 + ']' * 100000 + '}')" > "$D/deep.json"
conv_bad "deep nesting" jsb "$D/deep.json" "$D/cv1.bin"
printf '\037\213\010\000garbage-not-deflate' > "$D/corrupt.pkl.gz"
conv_bad "corrupt gzip" raw "$D/corrupt.pkl.gz" "$D/cv2.bin"
python3 - "$D/badcount.pkl" "$D/shortstate.pkl" << 'EOF'
# numpy-shaped pickles made without numpy: a repetition count beyond u32
# (a bad count) and a dtype state tuple that is too short
import pickle, struct, sys, types
np = types.ModuleType("numpy"); core = types.ModuleType("numpy.core"); ma = types.ModuleType("numpy.core.multiarray")
sys.modules.update({"numpy": np, "numpy.core": core, "numpy.core.multiarray": ma})
def _reconstruct(*a): pass
_reconstruct.__module__ = "numpy.core.multiarray"; ma._reconstruct = _reconstruct
class ndarray: pass
class dtype:
    def __init__(self, state): self.state = state
    def __reduce__(self): return (dtype, ("f8", False, True), self.state)
dtype.__module__ = ndarray.__module__ = "numpy"; np.ndarray = ndarray; np.dtype = dtype
class Arr:
    def __init__(self, shape, dt, raw): self.shape, self.dt, self.raw = shape, dt, raw
    def __reduce__(self): return (_reconstruct, (ndarray, (0,), b"b"), (1, self.shape, self.dt, False, self.raw))
good = (3, "<", None, None, None, -1, -1, 0)
row = struct.pack("<12d", *([1.0] * 12))
for path, sample in ((sys.argv[1], {"letter": "A", "repetition": 2 ** 33, "taxel_data": Arr((1, 12), dtype(good), row)}),
                     (sys.argv[2], {"letter": "A", "taxel_data": Arr((0, 12), dtype((3,)), b"")})):
    with open(path, "wb") as f:
        pickle.dump([sample], f, protocol=4)
EOF
# bruno-bench nn (issue 17 §2): the 1-nearest-neighbour baseline
expect 2 "2: nn --task jsb" $B nn --task jsb
says "2: nn --task jsb" "must be braille-raw or braille-events"
expect 2 "2: nn --bin-s with an empty item" $B nn --task braille-events --bin-s 1e-2,,2e-2
expect 2 "2: nn --bin-s 0" $B nn --task braille-events --bin-s 0
expect 2 "2: nn --val-fraction 1" $B nn --task braille-raw --eval val --val-fraction 1
expect 1 "5: nn on a missing file" $B nn --task braille-raw --data-file "$D/no-such.bin"
expect 1 "5: nn on an event file with an event at t = 100 s" sh -c "ulimit -v 3000000; exec $B nn --task braille-events --data-file $D/late.bin"

# bruno-bench products (issue 14 §2): the product kernels' benchmark
expect 2 "2: products --repeats 0" $B products --repeats 0
says "2: products --repeats 0" "--repeats must be 1..1000"
expect 2 "2: products --repeats -1" $B products --repeats -1
expect 1 "4: products into a directory that does not exist" $B products --repeats 1 --out "$D/no-such-dir/p.csv"

conv_bad "bad counts (repetition 2^33)" raw "$D/badcount.pkl" "$D/cv3.bin"
conv_bad "a malformed dtype" raw "$D/shortstate.pkl" "$D/cv4.bin"
printf '{"train": [], "valid": [], "test": []}' > "$D/empty.json"
mkdir -p "$D/cv5.bin"   # the output is a directory: the rename fails
conv_bad "unwritable output" jsb "$D/empty.json" "$D/cv5.bin"
echo junk > "$D/cv6.bin.tmp.$pid"
expect 0 "8: convert.py after a killed conversion" $CONVERT jsb "$D/empty.json" "$D/cv6.bin"
check "8: convert.py removes the temporary file of a killed run" test ! -e "$D/cv6.bin.tmp.$pid"

if [ $n_fail -ne 0 ]; then
    echo "hostile-cli: $n_fail failed, $n_ok passed" >&2
    exit 1
fi
echo "hostile-cli: all $n_ok cases passed"
