#!/usr/bin/env python3
"""ci/ci.py - the regression checks of `make ci`: memory, time and accuracy.

    ci.py run      --bench B --runs ci/runs.txt --work build/ci --out M.csv
    ci.py check    --runs ci/runs.txt --measured M.csv --baseline reference/ci_baseline.csv \
                   [--define VAR=VALUE ...] [--out results/ci.csv]
    ci.py baseline --measured M.csv --out reference/ci_baseline.csv

`run` executes every run of the run list (through bench/runner.py) and writes one row per measured
number (run, metric, value, args). `check` compares them with the baseline
file (same format; `baseline` writes it from a measured file, with a header
saying how it was made) and with the thresholds of the ratio lines, prints
a table (metric, baseline, measured, delta, tolerance, PASS/FAIL), writes
it as CSV and exits 1 on any FAIL.

Why python3 (stdlib only) and not awk or C: the check joins two files on
(run, metric), applies a rule per metric and formats a table; that is a
page of python and several of awk. python3 is already a dependency
(`make deps`; plots/e1_table.py).

The rules, and why each tolerance is what it is:
  * counted peaks (memtime peak_bytes_counted, train peak_bytes): EXACT.
    The counting allocator sees every byte the library, the input and the
    loaders allocate; the sizes do not depend on the compiler or the CPU.
  * peak_bytes_predicted: exact against the baseline AND equal to the
    counted peak of the same run (bruno_net_train_bytes() is the promise
    that the caller can size memory before allocating).
  * losses (train/test loss, JSB NLL per frame, memtime's sum of s^2):
    relative |delta| <= 2 %; accuracies (fractions in [0, 1]) |delta| <=
    0.02, i.e. 2 points. On one machine and build the runs are bit for bit
    deterministic (delta 0); the tolerance is for another compiler or CPU
    (libm, vector width of the fast kernel, the order of reductions), which
    moves a few spikes and, after one or two epochs, the numbers slightly.
    A real regression (a wrong gradient, a broken loader) moves them by
    far more.
  * exit_code: the run must exit 0 (a diverged training run exits 1).
  * time_total_s is recorded, never compared with the baseline: only the
    BRUNO/BPTT ratio is gated, against its threshold.
  * ratio lines: measured ratio <= threshold; the baseline's ratio is shown
    for information.
"""
import argparse
import csv
import json
import datetime
import os
import platform
import re
import string
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import runner  # noqa: E402  (bench/runner.py: executes the run list)

# metric -> (kind, tolerance); kinds: exact, rel, abs, info (recorded, not gated)
RULES = {
    "exit_code": ("exact", 0),
    "peak_bytes_counted": ("exact", 0),
    "peak_bytes_predicted": ("exact", 0),  # and == peak_bytes_counted of the run
    "peak_bytes": ("exact", 0),
    "loss": ("rel", 0.02),
    "epochs_done": ("exact", 0),
    "train_loss": ("rel", 0.02),
    "test_loss": ("rel", 0.02),
    "test_nll_frame": ("rel", 0.02),
    "test_acc": ("abs", 0.02),
    "test_frame_acc": ("abs", 0.02),
    "time_total_s": ("info", 0),
}
MEMTIME_METRICS = ["peak_bytes_counted", "peak_bytes_predicted", "loss", "time_total_s"]
TRAIN_METRICS = ["epochs_done", "train_loss", "test_loss", "test_acc", "test_nll_frame", "test_frame_acc", "peak_bytes"]
FIELDS = ["run", "metric", "value", "args"]


# ---------------------------------------------------------------- the run list
class Run:
    def __init__(self, name, kind, args):
        self.name, self.kind, self.args = name, kind, args


class Ratio:
    def __init__(self, name, num, den, column, threshold):
        self.name, self.num, self.den, self.column, self.threshold = name, num, den, column, threshold


def read_runs(path, defines):
    runs, ratios, names = [], [], set()
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                line = string.Template(line).substitute(defines)
            except KeyError as e:
                sys.exit(f"ci.py: {path}:{lineno}: ${{{e.args[0]}}} is not defined (--define {e.args[0]}=VALUE)")
            w = line.split()
            where = f"{path}:{lineno}"
            if w[0] == "ratio":
                # ratio NAME NUM / DEN COLUMN <= THRESHOLD
                if len(w) != 8 or w[3] != "/" or w[6] != "<=":
                    sys.exit(f"ci.py: {where}: expected 'ratio NAME NUM / DEN COLUMN <= THRESHOLD'")
                ratios.append(Ratio(w[1], w[2], w[4], w[5], float(w[7])))
                continue
            if len(w) < 3 or w[1] not in ("memtime", "train"):
                sys.exit(f"ci.py: {where}: expected 'NAME memtime|train ARGS...'")
            if w[0] in names:
                sys.exit(f"ci.py: {where}: run {w[0]} listed twice")
            names.add(w[0])
            runs.append(Run(w[0], w[1], " ".join(w[2:])))
    for r in ratios:
        for n in (r.num, r.den):
            if n not in names:
                sys.exit(f"ci.py: {path}: ratio {r.name} names an unknown run {n}")
    return runs, ratios


def parse_defines(defs):
    out = {}
    for d in defs or []:
        k, sep, v = d.partition("=")
        if not sep:
            sys.exit(f"ci.py: --define {d}: expected VAR=VALUE")
        out[k] = v
    return out


# ---------------------------------------------------------------- measured / baseline files
def read_values(path):
    """(run, metric) -> value string, run -> args; lines starting with # are comments."""
    vals, args = {}, {}
    with open(path) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        if rows.fieldnames != FIELDS:
            sys.exit(f"ci.py: {path}: expected the columns {','.join(FIELDS)}")
        for row in rows:
            vals[(row["run"], row["metric"])] = row["value"]
            args[row["run"]] = row["args"]
    return vals, args


def write_values(path, rows, header_lines=()):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        for h in header_lines:
            f.write("# " + h + "\n" if h else "#\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FIELDS)
        w.writerows(rows)
    os.replace(tmp, path)


def num(s):
    """int when the text is an integer (exact comparison of byte counts), else float."""
    return int(s) if re.fullmatch(r"-?\d+", s) else float(s)


# ---------------------------------------------------------------- run
def last_csv_row(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else {}, len(rows)


def cmd_run(a):
    """the runs go through bench/runner.py (fresh: a train directory left by an
    older driver would otherwise be "already complete"); then one row per number"""
    runs, _ = read_runs(a.runs, parse_defines(a.define))
    if a.only:
        runs = [r for r in runs if r.name in a.only]
    rruns = [runner.Run(r.name, r.kind, r.args) for r in runs]
    t_all = time.monotonic()
    failed = runner.run_list(rruns, a.work, a.bench, jobs=1, fresh=True, e1_lock=a.e1_lock)
    rows = []
    for r, rr in zip(runs, rruns):
        try:
            with open(rr.meta(a.work, ".json")) as f:
                rc = json.load(f)["exit"]
        except (OSError, ValueError, KeyError):
            rc = -1
        rows.append([r.name, "exit_code", str(rc), r.args])
        if rc != 0:
            sys.stdout.write(f"ci: {r.name} exit {rc}:\n" + "".join(open(rr.log(a.work)).readlines()[-5:]))
            continue
        if r.kind == "memtime":
            row, _ = last_csv_row(rr.out(a.work))
            rows += [[r.name, m, row[m], r.args] for m in MEMTIME_METRICS]
        else:
            row, n = last_csv_row(os.path.join(rr.out(a.work), "epochs.csv"))
            row["epochs_done"] = str(n)
            rows += [[r.name, m, row[m], r.args] for m in TRAIN_METRICS if m in row]
    write_values(a.out, rows)
    print(f"ci: {len(runs)} runs in {time.monotonic() - t_all:.0f} s -> {a.out}"
          + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 0  # failures are judged by `check` (exit_code rows), so the table is always printed


# ---------------------------------------------------------------- check
def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, int):
        return str(v)
    return f"{v:.6g}"


def judge(metric, base, meas):
    """delta, tolerance text, verdict of one measured value against its baseline."""
    kind, tol = RULES[metric]
    if base is None:
        return None, "-", "FAIL (no baseline: make ci-baseline)"
    if meas is None:
        return None, "-", "FAIL (not measured)"
    b, m = num(base), num(meas)
    d = m - b
    if kind == "exact":
        return d, "exact", "PASS" if m == b else "FAIL"
    if kind == "abs":
        return d, f"|d| <= {tol:g}", "PASS" if abs(d) <= tol else "FAIL"
    if kind == "rel":
        ok = abs(d) <= tol * abs(b)
        return d, f"|d| <= {100 * tol:g} %", "PASS" if ok else "FAIL"
    raise ValueError(kind)


def cmd_check(a):
    runs, ratios = read_runs(a.runs, parse_defines(a.define))
    meas, margs = read_values(a.measured)
    if not os.path.exists(a.baseline):
        sys.exit(f"ci.py: no baseline file {a.baseline}: make ci-baseline writes it")
    base, bargs = read_values(a.baseline)
    table = []  # run, metric, baseline, measured, delta, tolerance, verdict

    for r in runs:
        if r.name not in bargs:
            table.append([r.name, "args", "-", r.args, "-", "-", "FAIL (not in the baseline: make ci-baseline)"])
            continue
        if bargs[r.name] != r.args:
            table.append([r.name, "args", bargs[r.name], r.args, "-", "same", "FAIL (baseline made with other arguments)"])
            continue
        if r.name not in margs:
            table.append([r.name, "args", bargs[r.name], "-", "-", "-", "FAIL (not measured)"])
            continue
        if margs[r.name] != r.args:
            table.append([r.name, "args", r.args, margs[r.name], "-", "same", "FAIL (measured with other arguments)"])
            continue
        metrics = [m for m in RULES if (r.name, m) in meas or (r.name, m) in base]
        for m in metrics:
            if RULES[m][0] == "info":
                continue
            bv, mv = base.get((r.name, m)), meas.get((r.name, m))
            if m != "exit_code" and meas.get((r.name, "exit_code")) not in ("0", None):
                continue  # a failed run: its exit_code row says so
            d, tol, verdict = judge(m, bv, mv)
            if m == "peak_bytes_predicted" and verdict == "PASS":
                counted = meas.get((r.name, "peak_bytes_counted"))
                tol = "exact, = counted"
                if counted is None or num(counted) != num(mv):
                    verdict = f"FAIL (counted {counted})"
            table.append([r.name, m, fmt(None if bv is None else num(bv)), fmt(None if mv is None else num(mv)),
                          fmt(d), tol, verdict])

    def ratio_of(vals, q):
        n, d = vals.get((q.num, q.column)), vals.get((q.den, q.column))
        if n is None or d is None or num(d) == 0:
            return None
        return num(n) / num(d)

    for q in ratios:
        mr, br = ratio_of(meas, q), ratio_of(base, q)
        if mr is None:
            verdict = "FAIL (not measured)"
        else:
            verdict = "PASS" if mr <= q.threshold else "FAIL"
        table.append([q.name, f"ratio of {q.column}", fmt(br), fmt(mr),
                      fmt(None if mr is None or br is None else mr - br), f"<= {q.threshold:g}", verdict])

    head = ["run", "metric", "baseline", "measured", "delta", "tolerance", "verdict"]
    widths = [max(len(str(row[i])) for row in table + [head]) for i in range(len(head))]
    line = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print(line(row))
    n_fail = sum(1 for row in table if row[-1] != "PASS")
    print(f"ci: {len(table)} checks, {n_fail} FAIL" + (" -- regression" if n_fail else ", all PASS")
          + f" (baseline {a.baseline})")
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out + ".tmp", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(head)
            w.writerows(table)
        os.replace(a.out + ".tmp", a.out)
    return 1 if n_fail else 0


# ---------------------------------------------------------------- baseline
def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cmd_baseline(a):
    vals, args = read_values(a.measured)
    bad = sorted(r for (r, m), v in vals.items() if m == "exit_code" and v != "0")
    if bad:
        sys.exit(f"ci.py baseline: runs failed ({' '.join(bad)}); not writing a baseline from them")
    rev = first_line(["git", "rev-parse", "HEAD"])
    # uncommitted changes to what the numbers depend on (the driver's sources, the hparams files)
    dirty = first_line(["git", "status", "--porcelain", "--untracked-files=no", "--",
                        "bruno.h", "bench", "datasets", "reference/hparams", "ci/runs.txt", "Makefile"]) not in ("?", "")
    with open(a.measured) as f:
        rows = [[r[k] for k in FIELDS] for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    header = [
        f"{a.out}: the baselines of `make ci` (ci/ci.py check; the runs are ci/runs.txt).",
        "Produced by `make ci-baseline`, which reruns every run of ci/runs.txt with build/bruno-bench and",
        "rewrites this file. Regenerating it is a deliberate act to be reviewed in the diff (after a change",
        "that moves the numbers on purpose, or a new run list); CI never does it. No number here is typed in.",
        "time_total_s is recorded for information only: CI gates the BRUNO/BPTT time ratio on its threshold.",
        f"made from: git {rev}{' (with uncommitted changes to the sources)' if dirty else ''}; {first_line(['cc', '--version'])};",
        f"CPU: {cpu_model()}; {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    write_values(a.out, rows, header)
    print(f"ci: baseline {a.out} written from {a.measured} ({len(rows)} values, {len(args)} runs)")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the run list, write the measured values")
    r.add_argument("--bench", required=True)
    r.add_argument("--runs", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--define", action="append")
    r.add_argument("--only", nargs="*", help="only these runs")
    r.add_argument("--e1-lock", help="the lock memtime runs take (default WORK/.e1.lock)")
    c = sub.add_parser("check", help="compare measured values with the baseline and the thresholds")
    c.add_argument("--runs", required=True)
    c.add_argument("--measured", required=True)
    c.add_argument("--baseline", required=True)
    c.add_argument("--define", action="append")
    c.add_argument("--out")
    b = sub.add_parser("baseline", help="write a baseline file from measured values")
    b.add_argument("--measured", required=True)
    b.add_argument("--out", required=True)
    a = p.parse_args()
    return {"run": cmd_run, "check": cmd_check, "baseline": cmd_baseline}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
