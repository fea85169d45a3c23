#!/usr/bin/env python3
"""e1_table.py - results/e1_table.md from the E1 memtime CSV (EXPERIMENTS E1).

For each hidden size, at the longest sequence measured for both BPTT and
BRUNO: every FeLIF trainer's counted peak and time, and its reduction
against exact BPTT (1 - ratio), next to the paper's headline ranges (read
from reference/paper.csv) and the ideal activation-memory saving 1 - 1/N
(N from the CSV). Then the issue's two targets, PASS or FAIL from the
measured rows. Nothing measured is typed in here; the thresholds of the
targets come from the command line (the Makefile).

Python (standard library only) rather than awk: it joins two CSV files,
looks rows up by several keys and writes markdown; python3 is already in
the suite's Debian packages.
"""
import argparse
import csv
import os
import sys
from collections import defaultdict

MIB = 1048576.0


def label(trainer, schedule, k):
    if trainer == "bptt":
        return "exact BPTT"
    if trainer == "bruno":
        return "BRUNO"
    if trainer == "coarse":
        return "coarse only"
    if schedule == "sequence":
        return "checkpointing over the sequence, K = %d" % k
    return "checkpointing, %s, K = %d per network step" % (schedule, k)


def order(key):
    trainer, schedule, k = key
    rank = {"bptt": 0, "bruno": 1, "checkpoint": 2, "coarse": 3}.get(trainer, 4)
    return (rank, {"binomial": 0, "uniform": 1, "sequence": 2}.get(schedule, 3), k)


def pct(x):
    return "%.2f %%" % (100.0 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memtime", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-hidden", type=int, required=True)
    ap.add_argument("--target-seq", type=float, required=True)
    ap.add_argument("--target-mem", type=float, required=True, help="BRUNO peak / BPTT peak must be <= this")
    ap.add_argument("--target-time", type=float, required=True, help="BRUNO time / BPTT time must be <= this")
    a = ap.parse_args()

    # (hidden, seq) -> (trainer, schedule, K) -> list of rows (repeated configurations are averaged)
    runs = defaultdict(lambda: defaultdict(list))
    meta = set()
    first_touch = True  # every row from a memtime that times the workspace's first touch apart
    with open(a.memtime, newline="") as f:
        for r in csv.DictReader(f):
            if r["neuron"] != "felif":
                continue
            first_touch = first_touch and bool(r.get("time_first_forward_s"))
            # "method": a CSV written before the rename of issue 13 (a resumed make reproduce)
            key = (r.get("trainer") or r["method"], r["schedule"], int(r["checkpoints"]))
            runs[(int(r["hidden"]), float(r["seq_ms"]))][key].append(r)
            meta.add((r["inputs"], r["batch"], r["n_fine"], r["repeats"]))
    if not runs:
        sys.exit("e1_table.py: no FeLIF rows in %s" % a.memtime)

    paper = {}
    with open(a.reference, newline="") as f:
        for r in csv.DictReader(f):
            if r["experiment"] == "E1" and r["network"] == "bruno":
                paper[r["metric"]] = "%s-%s %s" % (r["low"], r["high"], r["unit"])
    for m in ("peak_memory_reduction_vs_bptt", "time_reduction_vs_bptt"):
        if m not in paper:
            sys.exit("e1_table.py: %s has no E1 row %s" % (a.reference, m))

    def avg(rows, col):
        return sum(float(r[col]) for r in rows) / len(rows)

    def point(h, s):
        p = runs.get((h, s), {})
        return {k: (avg(v, "peak_bytes_counted"), avg(v, "peak_bytes_jemalloc"), avg(v, "time_total_s"), int(v[0]["n_fine"]))
                for k, v in p.items()}

    def recompute(h, s, k):
        # written by memtime from bruno_checkpoint_recompute_steps (older CSVs lack it)
        r = runs.get((h, s), {}).get(k, [{}])[0].get("recompute_steps")
        return int(r) if r not in (None, "") else None

    out = []
    w = out.append
    w("# E1: peak memory and time, BRUNO and checkpointing against exact BPTT")
    w("")
    w("Written by `plots/e1_table.py` from `%s` (`bruno-bench memtime`, one row per" % a.memtime)
    w("configuration) and the paper's numbers in `%s`. Set-up (from the CSV): %s." %
      (a.reference, "; ".join("%s inputs, batch %s, N = %s fine steps per 1 ms network step, %s repeat(s) averaged" % m
                              for m in sorted(meta))))
    w("Reduction = 1 - (trainer / BPTT). The counted peak is every byte that goes through the")
    w("counting allocator: parameters and their gradients, the input and dL/dy, and the")
    w("trainer's workspace; the ideal 1 - 1/N counts only the stored FeLIF states, so the")
    w("measured memory reduction sits below it where the fixed part is large.")
    if first_touch:
        w("Times are training's steady state: one forward + backward on the workspace kept from the")
        w("step before, as training keeps it; the first step, which allocates the workspace and")
        w("touches its pages (BPTT's store of every fine state), is timed apart (memtime's")
        w("time_first_* columns) and in no time here.")
    if any(int(m[3]) == 1 for m in meta):
        w("Each time is a single run (SCALE=quick): on shared cores it can be far off, so read")
        w("the time columns as an order of magnitude; SCALE=paper averages repeats.")
    w("")
    bptt_key = ("bptt", "", 0)
    bruno_key = ("bruno", "", 0)
    for h in sorted({h for h, _ in runs}):
        seqs = [s for (hh, s), p in runs.items() if hh == h and bptt_key in p and bruno_key in p]
        if not seqs:
            w("## hidden %d: no sequence length with both BPTT and BRUNO measured" % h)
            w("")
            continue
        s = max(seqs)
        p = point(h, s)
        bm, _, bt, n = p[bptt_key]
        w("## hidden %d, %g ms" % (h, s))
        w("")
        w("| trainer | counted peak [MiB] | jemalloc peak [MiB] | time [s] | memory reduction | time reduction | paper: memory | paper: time | ideal memory 1 - 1/N |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for k in sorted(p, key=order):
            m, je, t, nf = p[k]
            is_bptt, is_bruno = k == bptt_key, k == bruno_key
            w("| %s | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s |" % (
                label(*k), m / MIB, je / MIB, t,
                "-" if is_bptt else pct(1 - m / bm), "-" if is_bptt else pct(1 - t / bt),
                paper["peak_memory_reduction_vs_bptt"] if is_bruno else "",
                paper["time_reduction_vs_bptt"] if is_bruno else "",
                pct(1 - 1.0 / nf) if is_bruno else ""))
        w("")

    w("## Targets (hidden %d, %g ms)" % (a.target_hidden, a.target_seq))
    w("")
    p = point(a.target_hidden, a.target_seq)
    if bptt_key in p and bruno_key in p:
        bm, _, bt, _ = p[bptt_key]
        m, _, t, _ = p[bruno_key]
        rm, rt = m / bm, t / bt
        w("- BRUNO counted peak <= %s of BPTT's: %s (%.0f B / %.0f B = %s)" %
          (pct(a.target_mem), "PASS" if rm <= a.target_mem else "FAIL", m, bm, pct(rm)))
        w("- BRUNO time <= %s of BPTT's: %s (%.3f s / %.3f s = %s)" %
          (pct(a.target_time), "PASS" if rt <= a.target_time else "FAIL", t, bt, pct(rt)))
        # the third target: each checkpointing schedule's memory between BRUNO's and BPTT's. Its
        # time is reported, not gated: it runs BPTT's forward and adjoint sweeps plus the
        # recomputed ones, so with BPTT's store path as fast as the machine it is slower than
        # BPTT (it was faster only while BPTT's stores were the slow per-step path).
        for k in sorted(p, key=order):
            if k[0] != "checkpoint":
                continue
            cm, _, ct, nf = p[k]
            mem_ok = m <= cm <= bm
            w("- %s memory between BRUNO's and BPTT's: %s (%s of BPTT's); time %.3f s = %.2f x BPTT's%s" % (
                label(*k), "PASS" if mem_ok else "FAIL", pct(cm / bm), ct, ct / bt,
                "" if not recompute(a.target_hidden, a.target_seq, k) else
                ", recomputing %.2f fine sweeps per network step" %
                (recompute(a.target_hidden, a.target_seq, k) / float(nf))))
        w("")
        w("Checkpointing pays its memory saving with recomputation: per network step it runs the")
        w("forward sweep, then the recomputed fine steps above, then the same adjoint sweep as BPTT.")
        w("Its time lies below BPTT's only where BPTT's extra cost of storing every fine state (first")
        w("touch of the pages, the copies) exceeds those recomputed sweeps.")
    else:
        w("- BRUNO counted peak <= %s of BPTT's: NOT MEASURED" % pct(a.target_mem))
        w("- BRUNO time <= %s of BPTT's: NOT MEASURED" % pct(a.target_time))
    w("")
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
