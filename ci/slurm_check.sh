#!/bin/sh
# ci/slurm_check.sh - the runner on a real SLURM cluster gives the same bytes
# as the local runner (make slurm-check; .ci/run runs it).
#   1. a CI-scale run list: runs of ci/runs.txt (E1 memtime at hidden 64 and
#      128, 100 ms; short Braille LIF/RLIF and JSB SNU training) plus one
#      4-epoch Braille LIF run, long enough to be killed in the middle;
#   2. the local runner runs it (-j 2) into W/local;
#   3. a single-node cluster (ci/slurm_cluster.sh) runs it as job arrays
#      (runner.py submit: E1 runs one at a time, the rest %2) into W/slurm,
#      with an afterany job after them; once the long run has finished its
#      first epoch its array task is cancelled (scancel);
#   4. the killed run must be partial and everything else complete; a
#      resubmission must submit that one run only and finish it, resuming
#      after its first epoch;
#   5. every train run's epochs.csv must equal the local one byte for byte,
#      and every memtime row in its deterministic columns: all but the three
#      wall times (time_forward_s, time_backward_s, time_total_s).
# usage: slurm_check.sh BENCH WORKDIR
set -eu
B=$(realpath "$1")
mkdir -p "$2"
W=$(realpath "$2")
RUN="python3 bench/runner.py"
fail() { echo "slurm-check: FAIL: $*" >&2; exit 1; }
pass() { echo "slurm-check: ok: $*"; }
T0=$(date +%s)
rm -rf "$W/local" "$W/slurm"

NAMES="mt_felif_bruno_h64_s100 mt_felif_bptt_h64_s100 mt_felif_ckpt_bin31_h64_s100 mt_felif_ckpt_uni31_h64_s100
       mt_lif_h128_s100 mt_rlif_h128_s100 tr_braille_lif tr_braille_rlif tr_jsb_snu"
awk -v n="$NAMES" 'BEGIN { split(n, a); for (i in a) want[a[i]] = 1 } want[$1]' ci/runs.txt > "$W/runs.txt"
[ "$(wc -l < "$W/runs.txt")" -eq 9 ] || fail "ci/runs.txt no longer has the runs $NAMES"
echo "tr_kill  train --task braille-raw --neuron lif --epochs 4 --seed 1 --hparams auto" >> "$W/runs.txt"
N=$(wc -l < "$W/runs.txt")

# ---- the cluster (stopped at the end only if this script started it)
export SLURM_STATE="$W/cluster"
started=
if ! sh ci/slurm_cluster.sh status 2> /dev/null | grep -q "slurmd running"; then
    sh ci/slurm_cluster.sh start
    started=1
fi
trap '[ -n "$started" ] && sh ci/slurm_cluster.sh stop' EXIT
export SLURM_CONF="$SLURM_STATE/slurm.conf"

# ---- local
$RUN run --list "$W/runs.txt" --root "$W/local" --bench "$B" -j 2 || fail "the local runner failed"
pass "local runner: $N runs in $(( $(date +%s) - T0 )) s"

wait_jobs() { # waits until no job of W/slurm/.slurm/last_jobs is pending or running
    jobs=$(tr ' ' ',' < "$W/slurm/.slurm/last_jobs" | tr -d '\n')
    i=0
    while [ -n "$(squeue -h -j "$jobs" 2> /dev/null)" ]; do
        i=$((i + 1)); [ $i -lt 1200 ] || fail "jobs $jobs still queued after 10 min"; sleep 0.5
    done
}
# --max-array 4: the 6 E1 runs go in two arrays, the second after the first
SUBMIT="$RUN submit --list $W/runs.txt --root $W/slurm --bench $B --throttle 2 --time 00:10:00 --max-array 4"
POST="python3 bench/runner.py status --list $W/runs.txt --root $W/slurm --bench $B > $W/slurm/post_status.txt"

# ---- SLURM, killing the long run's array task after its first epoch
$SUBMIT --post "$POST" > "$W/submit1.txt" || { cat "$W/submit1.txt"; fail "submit"; }
cat "$W/submit1.txt"
idx=$(awk '$1 == "tr_kill" {print FNR - 1}' "$W"/slurm/.slurm/runs*_*.txt)
i=0
until [ "$(cat "$W/slurm/tr_kill/epochs.csv" 2> /dev/null | wc -l)" -ge 2 ]; do
    i=$((i + 1)); [ $i -lt 3000 ] || fail "tr_kill never finished an epoch"; sleep 0.1
done
runs_job=$(squeue -h -n bruno-runs -o %F | head -1)
[ -n "$runs_job" ] || fail "no bruno-runs array in the queue"
scancel "${runs_job}_$idx"
pass "cancelled array task ${runs_job}_$idx (tr_kill) after $(($(wc -l < "$W/slurm/tr_kill/epochs.csv") - 1)) epoch(s)"
wait_jobs
$RUN status --list "$W/runs.txt" --root "$W/slurm" --bench "$B" > "$W/status1.txt" || true
grep -q "^tr_kill  *partial" "$W/status1.txt" || { cat "$W/status1.txt"; fail "tr_kill is not partial after scancel"; }
[ "$(awk '$2 == "complete"' "$W/status1.txt" | wc -l)" -eq $((N - 1)) ] || { cat "$W/status1.txt"; fail "runs not complete"; }
[ -s "$W/slurm/post_status.txt" ] || fail "the afterany job did not run"
grep -q "^tr_kill  *partial" "$W/slurm/post_status.txt" || fail "the afterany job ran before the array ended"
pass "after the first submission: tr_kill partial, $((N - 1)) complete; the afterany job saw the same"

# ---- resubmission: that run only, resumed
$SUBMIT > "$W/submit2.txt" || { cat "$W/submit2.txt"; fail "resubmit"; }
cat "$W/submit2.txt"
grep -q "submit: 1 of $N runs not complete" "$W/submit2.txt" || fail "the resubmission did not pick tr_kill alone"
wait_jobs
$RUN status --list "$W/runs.txt" --root "$W/slurm" --bench "$B" --summary | grep -q "status: $N complete of $N" ||
    { $RUN status --list "$W/runs.txt" --root "$W/slurm" --bench "$B"; fail "not every run complete"; }
grep -q "resuming .*tr_kill after epoch" "$W/slurm/tr_kill/log.txt" || fail "tr_kill did not resume"
pass "resubmitted tr_kill alone; it resumed and completed"

# ---- the same bytes
n=0
while read -r name kind _; do
    case $kind in
        train) cmp "$W/local/$name/epochs.csv" "$W/slurm/$name/epochs.csv" ||
                   fail "$name: epochs.csv differs (local vs SLURM)" ;;
        # the counted and predicted peaks and the loss exactly; jemalloc's peak of the whole process
        # within 1 %: it holds the OpenMP runtime's own allocations, and clang's libomp (BENCH_CC=clang)
        # sizes them by the CPUs the scheduler gives the job (1152 bytes more under SLURM than locally)
        memtime) for d in local slurm; do cut -d, -f1-12,17,18 "$W/$d/$name.csv" > "$W/$d.$name.det"; done
                 [ "$(wc -l < "$W/local.$name.det")" -eq 2 ] || fail "$name: no memtime row"
                 cmp "$W/local.$name.det" "$W/slurm.$name.det" || fail "$name: memtime row differs (local vs SLURM)"
                 jl=$(sed -n 2p "$W/local/$name.csv" | cut -d, -f13); js=$(sed -n 2p "$W/slurm/$name.csv" | cut -d, -f13)
                 awk -v a="$jl" -v b="$js" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= 0.01 * a) }' ||
                     fail "$name: jemalloc peak $jl locally, $js under SLURM (more than 1 % apart)" ;;
    esac
    n=$((n + 1))
done < "$W/runs.txt"
pass "$n runs: every epochs.csv and memtime row (deterministic columns; jemalloc's peak within 1 %) equal local vs SLURM"
echo "slurm-check: all cases as expected in $(( $(date +%s) - T0 )) s"
