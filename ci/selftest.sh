#!/bin/sh
# ci/selftest.sh - proves that the checker of `make ci` (ci/ci.py) fails on
# a regression and passes within its tolerances (make ci-selftest, part of
# make test; a few seconds).
#   1. the committed baseline against itself: PASS; then one number at a
#      time perturbed, in the baseline or in the measured values: a peak
#      1 byte off, predicted != counted, an accuracy 3 points off, a loss
#      3 % off, a ratio over its threshold, a missing value, a failed run,
#      a baseline made with other arguments: each must FAIL on exactly the
#      row it concerns (and 1 point / 1 % off must PASS: the tolerance is
#      applied, not equality);
#   2. end to end with the driver: a tiny run list run twice; the second
#      run against a baseline written from the first PASSes (the numbers
#      are deterministic), and FAILs when that baseline's counted peak is
#      1 byte off.
# usage: selftest.sh BENCH BASELINE RUNS E1_TARGET_MEM E1_TARGET_TIME
set -eu
B=$1 BASE=$2 RUNS=$3 TMEM=$4 TTIME=$5
D=$(mktemp -d "${TMPDIR:-/tmp}/ci-selftest.XXXXXX")
trap 'rm -rf "$D"' EXIT
CI="python3 ci/ci.py"
n=0
fail() { echo "ci-selftest: FAIL: $*" >&2; exit 1; }

# set RUN's METRIC to awk expression EXPR of its value v, FILE -> OUT
perturb() { # FILE OUT RUN METRIC EXPR
    awk -F, -v OFS=, -v r="$3" -v m="$4" '
        /^#/ || $1 != r || $2 != m { print; next }
        { v = $3; $3 = sprintf("%.17g", '"$5"'); hit = 1; print }
        END { if (!hit) exit 3 }' "$1" > "$2" || fail "perturb: no row $3,$4 in $1"
}
drop() { # FILE OUT RUN METRIC
    awk -F, -v r="$3" -v m="$4" '!($1 == r && $2 == m)' "$1" > "$2"
}
# check MEASURED BASELINE EXPECT(PASS|FAIL) ROW-PATTERN WHAT [extra defines]
check() {
    meas=$1 base=$2 want=$3 pat=$4 what=$5; shift 5
    set +e
    $CI check --runs "$RUNS" --define E1_TARGET_MEM="$TMEM" --define E1_TARGET_TIME="$TTIME" "$@" \
        --measured "$meas" --baseline "$base" > "$D/out.txt" 2>&1
    rc=$?
    set -e
    n=$((n + 1))
    if [ "$want" = PASS ]; then
        [ $rc -eq 0 ] || { cat "$D/out.txt" >&2; fail "$what: expected PASS, exit $rc"; }
        echo "ci-selftest: ok: $what -> PASS"
        return
    fi
    [ $rc -eq 1 ] || { cat "$D/out.txt" >&2; fail "$what: expected exit 1, got $rc"; }
    grep ' FAIL' "$D/out.txt" | grep -v '^ci:' > "$D/fails.txt" || true
    nf=$(wc -l < "$D/fails.txt")
    grep -E "$pat" "$D/fails.txt" > "$D/hit.txt" || { cat "$D/out.txt" >&2; fail "$what: no FAIL row matching '$pat'"; }
    echo "ci-selftest: ok: $what -> FAIL ($nf row$( [ "$nf" -eq 1 ] || echo s), e.g. $(head -1 "$D/hit.txt" | tr -s ' '))"
}

# ---- 1. the checker on the committed baseline
[ -f "$BASE" ] || fail "no baseline $BASE (make ci-baseline)"
# the first memtime run and the first Braille and JSB training runs of the list
MT=$(awk '$2 == "memtime" {print $1; exit}' "$RUNS")
TR=$(awk '$2 == "train" && /braille/ {print $1; exit}' "$RUNS")
RN=$(awk '$1 == "ratio" && $6 == "time_total_s" {print $3 " " $5; exit}' "$RUNS")
RNUM=${RN% *} RDEN=${RN#* }
cp "$BASE" "$D/m.csv"   # "measured" = the baseline's own values

check "$D/m.csv" "$BASE" PASS . "baseline against itself"
perturb "$BASE" "$D/b.csv" "$MT" peak_bytes_counted 'v + 1'
check "$D/m.csv" "$D/b.csv" FAIL "$MT +peak_bytes_counted" "baseline peak_bytes_counted of $MT 1 byte more"
perturb "$D/m.csv" "$D/x.csv" "$MT" peak_bytes_counted 'v - 1'
check "$D/x.csv" "$BASE" FAIL "$MT +peak_bytes_counted" "measured peak_bytes_counted of $MT 1 byte less"
perturb "$BASE" "$D/b.csv" "$MT" peak_bytes_predicted 'v + 1'
perturb "$D/m.csv" "$D/x.csv" "$MT" peak_bytes_predicted 'v + 1'
check "$D/x.csv" "$D/b.csv" FAIL "$MT +peak_bytes_predicted.*FAIL \(counted" "predicted = baseline but 1 byte more than counted"
perturb "$BASE" "$D/b.csv" "$TR" test_acc 'v + 0.03'
check "$D/m.csv" "$D/b.csv" FAIL "$TR +test_acc" "baseline test_acc of $TR 3 points higher"
perturb "$BASE" "$D/b.csv" "$TR" test_acc 'v - 0.01'
check "$D/m.csv" "$D/b.csv" PASS . "baseline test_acc of $TR 1 point lower (within 2)"
perturb "$BASE" "$D/b.csv" "$TR" test_loss 'v * 1.03'
check "$D/m.csv" "$D/b.csv" FAIL "$TR +test_loss" "baseline test_loss of $TR 3 % higher"
perturb "$BASE" "$D/b.csv" "$TR" test_loss 'v * 0.99'
check "$D/m.csv" "$D/b.csv" PASS . "baseline test_loss of $TR 1 % lower (within 2 %)"
# BPTT as fast as BRUNO: the time ratio 1 > threshold (times are never compared with the baseline)
T=$(awk -F, -v r="$RNUM" '$1 == r && $2 == "time_total_s" {print $3}' "$D/m.csv")
perturb "$D/m.csv" "$D/x.csv" "$RDEN" time_total_s "$T"
check "$D/x.csv" "$BASE" FAIL "ratio of time_total_s" "measured BPTT time = BRUNO time (ratio 1 > $TTIME)"
check "$D/m.csv" "$BASE" FAIL "ratio of peak_bytes_counted" "memory threshold below the measured ratio" \
    --define E1_TARGET_MEM=0.0001
drop "$D/m.csv" "$D/x.csv" "$TR" test_acc
check "$D/x.csv" "$BASE" FAIL "$TR +test_acc.*not measured" "test_acc of $TR missing from the measured values"
perturb "$D/m.csv" "$D/x.csv" "$TR" exit_code 1
check "$D/x.csv" "$BASE" FAIL "$TR +exit_code" "run $TR exited 1 (e.g. diverged)"
awk -F, -v OFS=, -v r="$TR" '$1 == r {$4 = $4 " --epochs 99"} 1' "$BASE" > "$D/b.csv"
check "$D/m.csv" "$D/b.csv" FAIL "$TR +args" "baseline made with other arguments"

# ---- 2. end to end: real runs of the driver, tiny
cat > "$D/runs.txt" <<EOF
st_mt_bruno  memtime --neuron felif --trainer bruno --hidden 16 --inputs 32 --seq-ms 10 --n-fine 100
st_mt_ckpt   memtime --neuron felif --trainer checkpoint --schedule uniform --checkpoints 4 --hidden 16 --inputs 32 --seq-ms 10 --n-fine 100
st_tr_snu    train --task jsb --neuron snu --epochs 1 --limit-train 2 --limit-test 1 --seed 1
EOF
$CI run --bench "$B" --runs "$D/runs.txt" --work "$D/w" --out "$D/m1.csv" > /dev/null
$CI baseline --measured "$D/m1.csv" --out "$D/base.csv" > /dev/null
$CI run --bench "$B" --runs "$D/runs.txt" --work "$D/w" --out "$D/m2.csv" > /dev/null
RUNS=$D/runs.txt
check "$D/m2.csv" "$D/base.csv" PASS . "end to end: a second run against the baseline of the first"
perturb "$D/base.csv" "$D/b.csv" st_mt_ckpt peak_bytes_counted 'v + 1'
check "$D/m2.csv" "$D/b.csv" FAIL "st_mt_ckpt +peak_bytes_counted" "end to end: baseline peak 1 byte more"
perturb "$D/base.csv" "$D/b.csv" st_tr_snu peak_bytes 'v - 1'
check "$D/m2.csv" "$D/b.csv" FAIL "st_tr_snu +peak_bytes" "end to end: baseline training peak 1 byte less"
echo "ci-selftest: all $n cases as expected"
