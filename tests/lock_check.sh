#!/bin/sh
# lock_check.sh - a run directory belongs to one process (make lock-check,
# part of make test; a few seconds):
#   1. while `bruno-bench train` writes into --out, a second train into the
#      same --out is refused (exit 1) with a message naming the holder's pid
#      and host, and leaves the first run's files alone; once the first has
#      exited, the directory is free again (the lock dies with its process);
#   2. bench/runner.py refuses a run whose lock another process holds, naming
#      it, and does not touch its output.
# usage: lock_check.sh BENCH
NAME=lock-check; . tests/check_lib.sh
HOST=$(hostname)

# ---- 1. bruno-bench train against bruno-bench train: a long tiny run (SNU,
# 2 pieces an epoch), then a second writer while it runs
A="--task jsb --neuron snu --limit-train 2 --limit-test 1 --seed 1"
$B train $A --epochs 100000 --out "$D/run" > "$D/first.txt" 2>&1 &
PID=$!
i=0
until grep -q "^pid $PID host" "$D/run/lock" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "the first run never took its lock"; sleep 0.05
done
rc=0
$B train $A --epochs 1 --out "$D/run" > "$D/second.txt" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a second writer into a locked --out: exit $rc, expected 1"
grep -q "is in use by pid $PID host $HOST" "$D/second.txt" ||
    { cat "$D/second.txt" >&2; fail "the refusal does not name the holder (pid $PID host $HOST)"; }
grep -q "^pid $PID host" "$D/run/lock" || fail "the refused writer changed the lock file"
pass "second bruno-bench train refused: $(cat "$D/second.txt")"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
$B train $A --epochs 1 --out "$D/free" > /dev/null 2>&1 || fail "a fresh directory after the first exited"
rc=0
$B train --task jsb --neuron snu --limit-train 2 --limit-test 1 --seed 2 --epochs 1 --out "$D/run" > "$D/third.txt" 2>&1 || rc=$?
grep -q "in use" "$D/third.txt" && fail "the lock outlived its process"
pass "the lock is released when its process exits (next writer not refused as in use)"

# ---- 2. the runner's per-run lock, held here by flock(1) in the background
mkdir -p "$D/root/.runs"
printf 'lk  trace  --neuron lif --duration 0.005\n' > "$D/list.txt"
( exec 9> "$D/root/.runs/lk.lock"; flock 9; echo "pid $$ host elsewhere" >&9; sleep 30 ) &
PID=$!
i=0
until grep -q elsewhere "$D/root/.runs/lk.lock" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "the holder never took its lock"; sleep 0.05
done
rc=0
python3 bench/runner.py run --list "$D/list.txt" --root "$D/root" --bench "$B" > "$D/runner.txt" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$D/runner.txt" >&2; fail "runner with the run's lock taken: exit $rc, expected 1"; }
grep -q "run lk is in use by pid .* host elsewhere" "$D/runner.txt" ||
    { cat "$D/runner.txt" >&2; fail "the runner's refusal does not name the holder"; }
[ ! -e "$D/root/lk.csv" ] || fail "the refused run wrote its output"
pass "runner refused a locked run: $(grep 'in use' "$D/runner.txt")"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
python3 bench/runner.py run --list "$D/list.txt" --root "$D/root" --bench "$B" > "$D/runner.txt" 2>&1 ||
    { cat "$D/runner.txt" >&2; fail "runner after the holder exited"; }
[ -s "$D/root/lk.csv" ] || fail "the run made no output once free"
pass "runner runs it once the holder is gone"
echo "lock-check: all cases as expected"
