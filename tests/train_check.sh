#!/bin/sh
# train_check.sh - the harness of `bruno-bench train` end to end (make train-check):
#   1. a tiny training run straight, and the same run stopped after epoch 1
#      and resumed: epochs.csv and state.bin must be byte-identical
#      (Braille LIF, JSB FeLIF-BRUNO with a short fine loop, JSB SNU
#      with the plateau schedule);
#   2. the same after a real kill -9 at an arbitrary moment;
#   3. a finished run is not rewritten ("already complete", exit 0);
#   4. a corrupt, truncated or foreign state.bin is an error (exit 1),
#      never silently used, and the files are left as they were;
#   5. a diverging run stops with status "diverged" and exit 1;
#   6. a coarse-only FeLIF Braille run is tested with the fine model:
#      with --n-fine 1 (fine = coarse) test_loss/test_acc equal the
#      test_*_coarse columns to the last digit, at 3 bits too (both test
#      passes see the same stochastic rounding); with --n-fine 20 the
#      training and the coarse columns are the same bits (training never
#      uses the fine model) but test_loss differs (it does).
NAME=train-check; . tests/check_lib.sh

BRAILLE="--task braille-raw --neuron lif --epochs 3 --limit-train 64 --limit-test 32 --batch 32 --seed 3 --init-scale 6"
FELIF="--task jsb --neuron felif --epochs 2 --limit-train 4 --limit-test 2 --seed 4 --n-fine 50"
COARSE="--task braille-raw --neuron felif --trainer coarse --bits 3 --epochs 2 --limit-train 64 --limit-test 32 --batch 32 --seed 3 --init-scale 15 --lr 0.01 --gain 5e-10"
JSB="--task jsb --neuron snu --epochs 3 --limit-train 6 --limit-test 3 --seed 5"

for name in braille felif jsb coarse; do
    case $name in braille) A=$BRAILLE ;; felif) A=$FELIF ;; jsb) A=$JSB ;; coarse) A="$COARSE --n-fine 20" ;; esac
    $B train $A --out "$D/$name-straight" > /dev/null
    $B train $A --out "$D/$name-resumed" --stop-after 1 > /dev/null 2>&1
    [ "$(wc -l < "$D/$name-resumed/epochs.csv")" -eq 2 ] || fail "$name: --stop-after 1 did not stop after one epoch"
    grep -q '"status": "stopped"' "$D/$name-resumed/summary.json" || fail "$name: summary of a stopped run"
    $B train $A --out "$D/$name-resumed" > /dev/null 2>&1
    cmp -s "$D/$name-straight/epochs.csv" "$D/$name-resumed/epochs.csv" || {
        diff "$D/$name-straight/epochs.csv" "$D/$name-resumed/epochs.csv" >&2; fail "$name: epochs.csv differs after resuming"; }
    cmp -s "$D/$name-straight/state.bin" "$D/$name-resumed/state.bin" || fail "$name: state.bin differs after resuming"
    grep -q '"status": "complete"' "$D/$name-resumed/summary.json" || fail "$name: status not complete"
    pass "$name: stopped after epoch 1 and resumed = straight run (epochs.csv and state.bin byte for byte)"
done

# kill -9 wherever it lands (during epoch 2 or 3, or while writing), then resume
A=$BRAILLE
$B train $A --out "$D/killed" > /dev/null 2>&1 &
pid=$!
n=0
while [ ! -f "$D/killed/state.bin" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
sleep 0.3
kill -9 $pid 2> /dev/null || true
wait $pid 2> /dev/null || true
$B train $A --out "$D/killed" > /dev/null 2>&1 || fail "resume after kill -9"
cmp -s "$D/braille-straight/epochs.csv" "$D/killed/epochs.csv" || fail "epochs.csv differs after kill -9 and resume"
cmp -s "$D/braille-straight/state.bin" "$D/killed/state.bin" || fail "state.bin differs after kill -9 and resume"
pass "killed with -9 and resumed = straight run"

# a finished run is left alone
cp "$D/braille-straight/summary.json" "$D/summary.before"
out=$($B train $A --out "$D/braille-straight") || fail "rerunning a finished run must exit 0"
echo "$out" | grep -q "already complete" || fail "no 'already complete' message"
cmp -s "$D/summary.before" "$D/braille-straight/summary.json" || fail "a finished run was rewritten"
pass "finished run: already complete, nothing rewritten"

# corrupt state files: one flipped byte, truncation, a foreign configuration
mkdir "$D/c"
cp "$D/braille-resumed/epochs.csv" "$D/braille-resumed/wall.csv" "$D/braille-resumed/state.bin" "$D/c/"
python3 -c "
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x40; open(p, 'wb').write(bytes(b))" "$D/c/state.bin"
cp "$D/c/state.bin" "$D/c/state.corrupt"
set +e
err=$($B train $A --epochs 4 --out "$D/c" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] || fail "corrupt state.bin: exit $rc, want 1"
echo "$err" | grep -q "checksum mismatch" || fail "corrupt state.bin: message '$err'"
cmp -s "$D/c/state.bin" "$D/c/state.corrupt" || fail "corrupt state.bin was overwritten"
cmp -s "$D/c/epochs.csv" "$D/braille-resumed/epochs.csv" || fail "epochs.csv changed by a refused resume"
pass "corrupt state.bin refused: $err"
head -c 100 "$D/braille-resumed/state.bin" > "$D/c/state.bin"
set +e
err=$($B train $A --epochs 4 --out "$D/c" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "truncated" || fail "truncated state.bin: exit $rc, '$err'"
pass "truncated state.bin refused: $err"
cp "$D/braille-resumed/state.bin" "$D/c/state.bin"
set +e
err=$($B train $A --epochs 4 --lr 0.01 --out "$D/c" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "different configuration (first difference: 'lr')" ||
    fail "state.bin of another configuration: exit $rc, '$err'"
pass "state.bin of another configuration refused: $err"

# divergence: a huge learning rate
set +e
err=$($B train $A --lr 1e30 --out "$D/div" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 1 ] && echo "$err" | grep -q "diverged in epoch" || fail "divergence: exit $rc, '$err'"
grep -q '"status": "diverged"' "$D/div/summary.json" || fail "divergence: summary status"
pass "divergence stops the run: $err"
# coarse-only: evaluated with the fine model (the coarse-straight run above has --n-fine 20)
$B train $COARSE --n-fine 1 --out "$D/coarse-n1" > /dev/null
head -n 1 "$D/coarse-n1/epochs.csv" | grep -q '^epoch,train_loss,train_acc,test_loss,test_acc,lr,peak_bytes,test_loss_coarse,test_acc_coarse$' ||
    fail "coarse: epochs.csv header $(head -n 1 "$D/coarse-n1/epochs.csv")"
[ "$(tail -n +2 "$D/coarse-n1/epochs.csv" | cut -d, -f4,5)" = "$(tail -n +2 "$D/coarse-n1/epochs.csv" | cut -d, -f8,9)" ] ||
    fail "coarse, --n-fine 1: the fine-model test differs from the coarse-model test"
[ "$(cut -d, -f1-3,6-9 "$D/coarse-n1/epochs.csv")" = "$(cut -d, -f1-3,6-9 "$D/coarse-straight/epochs.csv")" ] ||
    fail "coarse: training or the coarse-model test depends on --n-fine"
[ "$(tail -n +2 "$D/coarse-n1/epochs.csv" | cut -d, -f4)" != "$(tail -n +2 "$D/coarse-straight/epochs.csv" | cut -d, -f4)" ] ||
    fail "coarse: test_loss does not depend on --n-fine (not the fine model)"
pass "coarse-only run tested with the fine model (n_fine 1: = coarse columns; n_fine 20: same training, other test_loss)"
# --device FILE: refused with the key named (exit 2, nothing written); the
# resolved parameters and the sigma are in summary.json and the
# configuration, so a resume with another device is refused
printf 't_fe = 12e-9\n' > "$D/thick.txt"
for bad in 'thickness = 1:thickness' 't_fe = 12nm:t_fe' 't_fe = 12:t_fe' 'I_0 = 1e-300\nA = 1e-18:I_0'; do
    printf "${bad%%:*}\n" > "$D/bad.txt"
    rc=0; err=$($B train $FELIF --epochs 1 --device "$D/bad.txt" --out "$D/dev-bad" 2>&1) || rc=$?
    [ $rc -eq 2 ] && echo "$err" | grep -q "${bad##*:}" || fail "--device '${bad%%:*}': exit $rc, '$err'"
    [ ! -e "$D/dev-bad/state.bin" ] || fail "--device '${bad%%:*}' wrote a state"
done
rc=0; $B train $FELIF --device "$D/none.txt" --out "$D/dev-bad" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--device with a missing file: exit $rc"
$B train $FELIF --epochs 1 --device "$D/thick.txt" --device-sigma 0.1 --out "$D/dev" > /dev/null
grep -q '"device.t_fe": 1.2e-08' "$D/dev/summary.json" && grep -q '"device_sigma": 0.1' "$D/dev/summary.json" ||
    fail "--device: summary.json lacks the device"
printf 't_fe = 13e-9\n' > "$D/thick2.txt"
cp "$D/dev/state.bin" "$D/state.before"
rc=0; err=$($B train $FELIF --device "$D/thick2.txt" --device-sigma 0.1 --out "$D/dev" 2>&1) || rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "device.t_fe" || fail "--device: resume with another file: exit $rc, '$err'"
cmp -s "$D/dev/state.bin" "$D/state.before" || fail "--device: a refused resume changed state.bin"
pass "--device: bad files refused naming the key; the device in summary.json; another device cannot resume"
# --eval val: trained on the training split minus a carved validation
# split, evaluated on that; the test split is never read. A JSB file whose
# test pieces are all inverted gives the same bits; columns are val_*; a
# test run's state cannot be resumed as a val run.
JF=$(for d in "${BRUNO_DATA_DIR:-}" datasets/data ../shared/datasets; do
    [ -n "$d" ] && [ -f "$d/jsb_chorales/jsb_quarter.bin" ] && { echo "$d/jsb_chorales/jsb_quarter.bin"; break; }; done)
[ -n "$JF" ] || fail "--eval val: jsb_quarter.bin not found"
python3 -c "
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read()); pos = 24
for split in range(3):
    n, = struct.unpack_from('<I', b, pos); pos += 4
    for _ in range(n):
        T, = struct.unpack_from('<I', b, pos); pos += 4
        if split == 2:
            b[pos:pos + T * 88] = bytes(1 - x for x in b[pos:pos + T * 88])
        pos += T * 88
assert pos == len(b)
open(sys.argv[2], 'wb').write(bytes(b))" "$JF" "$D/jsb_test_inverted.bin"
VAL="--task jsb --neuron snu --epochs 2 --limit-train 6 --limit-test 3 --seed 5 --eval val --val-fraction 0.25 --val-seed 2"
$B train $VAL --data-file "$JF" --out "$D/val" > /dev/null
$B train $VAL --data-file "$D/jsb_test_inverted.bin" --out "$D/val-inv" > /dev/null
head -n 1 "$D/val/epochs.csv" | grep -q '^epoch,train_loss,train_acc,val_loss,val_acc,val_nll_frame,val_frame_acc,lr,peak_bytes,plateau_loss$' ||
    fail "--eval val: header $(head -n 1 "$D/val/epochs.csv")"
cmp -s "$D/val/epochs.csv" "$D/val-inv/epochs.csv" || fail "--eval val: the run depends on the test split"
grep -q '"eval": "val"' "$D/val/summary.json" && grep -q '"val_seed": 2' "$D/val/summary.json" ||
    fail "--eval val: summary.json lacks the choice"
$B train $JSB --data-file "$D/jsb_test_inverted.bin" --out "$D/test-inv" > /dev/null
cmp -s "$D/test-inv/epochs.csv" "$D/jsb-straight/epochs.csv" && fail "--eval test: inverting the test split changes nothing: the check above proves nothing" || true
# --eval test with the plateau (JSB's default): it steps on the data set's own validation
# split (plateau_loss), so training, lr and plateau_loss keep their bits with the test split inverted
[ "$(cut -d, -f1-3,8,10 "$D/test-inv/epochs.csv")" = "$(cut -d, -f1-3,8,10 "$D/jsb-straight/epochs.csv")" ] ||
    fail "--eval test: the training or the plateau's loss depends on the test split"
[ "$(cut -d, -f4 "$D/jsb-straight/epochs.csv" | tail -n +2)" != "$(cut -d, -f10 "$D/jsb-straight/epochs.csv" | tail -n +2)" ] ||
    fail "--eval test: plateau_loss is the test loss"
grep -q '"plateau_on": "valid"' "$D/jsb-straight/summary.json" || fail "--eval test: summary.json lacks plateau_on"
rc=0; $B train --task braille-raw --neuron lif --plateau 1 --epochs 1 --out "$D/bpl" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "Braille --plateau 1 with --eval test: exit $rc, want 2 (it would step on the test loss)"
$B train $VAL --val-seed 3 --data-file "$JF" --out "$D/val3" > /dev/null
cmp -s "$D/val/epochs.csv" "$D/val3/epochs.csv" && fail "--eval val: --val-seed changes nothing" || true
rc=0; err=$($B train $JSB --eval val --out "$D/jsb-straight" 2>&1) || rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "different configuration" || fail "--eval val resumed a test run: exit $rc, '$err'"
rc=0; $B train $JSB --eval val --val-fraction 1 --out "$D/val-bad" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--val-fraction 1: exit $rc, want 2"
pass "--eval val: val_* columns, the same bits with the test split inverted, the choice in the configuration"
# --log-spikes: two more columns (coarse-only four), the rest of the row the same bits;
# --dense-bias: another configuration (a bias in both dense layers), refused for JSB
$B train $COARSE --n-fine 1 --log-spikes 1 --out "$D/spikes" > /dev/null
head -n 1 "$D/spikes/epochs.csv" | grep -q ',test_acc_coarse,test_spikes,test_spikes_max,test_spikes_coarse,test_spikes_max_coarse$' ||
    fail "--log-spikes: header $(head -n 1 "$D/spikes/epochs.csv")"
[ "$(cut -d, -f1-9 "$D/spikes/epochs.csv" | tail -n +2)" = "$(tail -n +2 "$D/coarse-n1/epochs.csv")" ] ||
    fail "--log-spikes changed the training or the test"
tail -n 1 "$D/spikes/epochs.csv" | awk -F, '{ exit !($10 > 0 && $11 > 0 && $11 <= $10 && $12 > 0) }' ||
    fail "--log-spikes: no spikes counted: $(tail -n 1 "$D/spikes/epochs.csv")"
$B train $COARSE --n-fine 1 --dense-bias 1 --out "$D/bias" > /dev/null
[ "$(cut -d, -f2-5 "$D/bias/epochs.csv")" != "$(cut -d, -f2-5 "$D/coarse-n1/epochs.csv")" ] ||
    fail "--dense-bias 1 changes nothing"
rc=0; $B train $JSB --dense-bias 1 --out "$D/bias-jsb" > /dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "--dense-bias 1 for JSB: exit $rc, want 2"
pass "--log-spikes: spike columns, same training; --dense-bias: another network, Braille only"
echo "train-check: all passed"
