#!/bin/sh
# runner_check.sh - bench/runner.py on tiny real runs (make runner-check,
# part of make test; a few seconds):
#   1. -j 2 runs the whole list, and no two E1 (memtime) runs overlap in
#      time (their start/end stamps), while other runs do run beside them;
#   2. a second invocation runs nothing (every run complete: the records
#      are untouched); a deleted output is made again, alone;
#   3. a partial training run (stopped after 1 of 3 epochs) is resumed, not
#      restarted, and its epochs.csv equals that of a run made in one go;
#   4. a failing run is "failed" in `status`, and the runner exits 1.
# usage: runner_check.sh BENCH
NAME=runner-check; . tests/check_lib.sh
RUN="python3 bench/runner.py"
MT="--neuron felif --hidden 16 --inputs 32 --seq-ms 10 --n-fine 100"
TR="--task jsb --neuron snu --limit-train 2 --limit-test 1 --seed 3 --epochs 3"
cat > "$D/list.txt" <<EOF
mt/a  memtime  $MT --trainer bruno
mt/b  memtime  $MT --trainer bptt
mt/c  memtime  $MT --trainer checkpoint --schedule uniform --checkpoints 4
tr    train    $TR
tc/a  trace    --neuron lif --duration 0.02
tc/b  trace    --neuron felif --duration 0.02
EOF

# ---- 3 (set-up): the training run stopped after its first epoch, by hand
mkdir -p "$D/r"
$B train $TR --out "$D/r/tr" --stop-after 1 > /dev/null 2>&1
$RUN status --list "$D/list.txt" --root "$D/r" --bench "$B" | grep -q "^tr  *partial  *1/3 epochs" ||
    fail "a stopped run is not partial 1/3"

# ---- 1
$RUN run --list "$D/list.txt" --root "$D/r" --bench "$B" -j 2 > "$D/out1.txt" || { cat "$D/out1.txt"; fail "run"; }
$RUN status --list "$D/list.txt" --root "$D/r" --bench "$B" --summary | grep -q "status: 6 complete of 6" ||
    fail "not every run complete"
python3 - "$D/r/.runs" <<'EOF' || fail "two E1 runs overlapped in time"
import json, sys
iv = sorted((json.load(open(f"{sys.argv[1]}/mt/{n}.json"))["start"], json.load(open(f"{sys.argv[1]}/mt/{n}.json"))["end"])
            for n in "abc")
sys.exit(any(b[0] < a[1] for a, b in zip(iv, iv[1:])))
EOF
pass "-j 2: 6 runs complete, the 3 memtime runs one at a time"

# ---- 3
grep -q "resuming .* after epoch 1" "$D/r/tr/log.txt" || fail "the partial run was not resumed"
$B train $TR --out "$D/straight" > /dev/null 2>&1
cmp -s "$D/straight/epochs.csv" "$D/r/tr/epochs.csv" || fail "the resumed run's epochs.csv differs from a straight run"
pass "the partial training run resumed after epoch 1; epochs.csv equals a straight run's"

# ---- 2
cp "$D/r/.runs/mt/b.json" "$D/b.json"
$RUN run --list "$D/list.txt" --root "$D/r" --bench "$B" > "$D/out2.txt"
grep -q "6/6 done (6 before)" "$D/out2.txt" || { cat "$D/out2.txt"; fail "a second invocation ran something"; }
cmp -s "$D/b.json" "$D/r/.runs/mt/b.json" || fail "a complete run was run again"
rm "$D/r/tc/a.csv"
$RUN run --list "$D/list.txt" --root "$D/r" --bench "$B" > "$D/out3.txt"
grep -q "6/6 done (5 before)" "$D/out3.txt" && [ -s "$D/r/tc/a.csv" ] || { cat "$D/out3.txt"; fail "a deleted output"; }
pass "complete runs are skipped; a deleted output is made again, alone"

# ---- 4
echo "bad  trace  --neuron nosuch --duration 0.02" >> "$D/list.txt"
rc=0
$RUN run --list "$D/list.txt" --root "$D/r" --bench "$B" > "$D/out4.txt" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a failing run: runner exit $rc, expected 1"
rc=0
$RUN status --list "$D/list.txt" --root "$D/r" --bench "$B" > "$D/st.txt" || rc=$?
grep -q "^bad  *failed  *exit 2" "$D/st.txt" && [ $rc -eq 1 ] || { cat "$D/st.txt"; fail "status of a failed run"; }
pass "a failing run: runner exit 1, status 'failed (exit 2)'"
echo "runner-check: all cases as expected"
