#!/usr/bin/env python3
"""report.py - results/REPORT.md: every number of ours beside the paper's.

Gathers what `make reproduce` wrote into results/: the E1 table
(e1_table.md, from e1_memtime.csv), the Braille and JSB tables and the
targets (braille_table.md, jsb_table.md, train_targets.csv, from
plots/train_tables.py), the E4 convergence numbers (converge.csv) and the
RRAM spread per state (rram/states_*.csv), with the paper's numbers from
reference/paper.csv only. Then the machine, the compiler, the flags, the
git revision, the date and the SCALE. Whatever input is missing is written
as "not run"; the script never stops on a missing or malformed file.
Standard library only.
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import subprocess
from collections import defaultdict

NOT_RUN = "not run"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def rows(path):
    try:
        with open(path) as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error):
        return None


def fnum(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def demote(md):
    """a generated table's headings one level down, so they nest under ours"""
    return "\n".join(("##" + l) if l.startswith("#") else l for l in md.strip().split("\n"))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(a):
    cpu = "?"
    for l in (read("/proc/cpuinfo") or "").split("\n"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip()
            break
    mem = "?"
    for l in (read("/proc/meminfo") or "").split("\n"):
        if l.startswith("MemTotal"):
            mem = "%.1f GiB" % (int(l.split()[1]) / 1048576.0)
    rev = sh("git rev-parse HEAD") or "?"
    dirty = sh("git status --porcelain --untracked-files=no")
    cc = sh("%s --version" % a.cc).split("\n")[0] or "?"
    return [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("SCALE", a.scale),
        ("git revision", rev + (" (with uncommitted changes)" if dirty else "")),
        ("machine", "%s, %s logical CPUs (nproc), %s memory, %s %s" % (
            cpu, sh("nproc") or "?", mem, platform.system(), platform.release())),
        ("OS", (sh(". /etc/os-release && echo $PRETTY_NAME") or "?")),
        ("compiler", "%s (`%s`)" % (cc, a.cc)),
        ("flags", "`%s`" % a.cflags.strip()),
        ("load average at the time of writing", " ".join((read("/proc/loadavg") or "? ? ?").split()[:3])),
    ]


def paper(ref):
    return rows(ref) or []


def section_e1(a, out):
    out.append("## E1. Memory and time of one training step (BRUNO, checkpointing, BPTT)\n")
    t = read(os.path.join(a.results, "e1_table.md"))
    if t is None:
        out.append("E1: %s (no `results/e1_table.md`; `make e1-figures`).\n" % NOT_RUN)
        return
    out.append(demote(t) + "\n")
    out.append("Why the numbers differ from the paper's: the memory reduction is of the whole counted peak "
               "(parameters, gradients, inputs and workspace), not only of the stored states, so it sits "
               "below 1 - 1/N where the fixed part is large; the paper's times come from the authors' "
               "PyTorch/GPU code, ours from one C process on one core of a shared machine (at SCALE=quick a "
               "single repeat). Figures: `e1_memory`, `e1_time`, `e1_tradeoff`, `e1_fidelity` (.png/.svg).\n")


def train_summary(a):
    """run name -> (status, epochs done, total wall s) of every run directory"""
    d = os.path.join(a.results, "train")
    out = {}
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return out
    for n in names:
        s = read(os.path.join(d, n, "summary.json"))
        if s is None:
            continue
        try:
            j = json.loads(s)
        except ValueError:
            continue
        out[n] = (j.get("status", "?"), j.get("epochs_done"), j.get("wall_s_total"))
    return out


def coarse_why(a):
    """the E2 note on the coarse-only runs, with the neuron table of plots/coarse_vs_fine.py"""
    txt = ("The paper's coarse-only baseline sits at chance (1/27 = 3.7 %). Ours does not. It trains on "
           "the coarse model (MODELS §3: ONE 1 ms Euler step per network step, forward and gradient) "
           "and is tested twice: its weights on the fine device model (the deployment case, `test_acc`) "
           "and on the coarse model it was trained on (`test_acc_coarse`); both rows are in the table. "
           "The neuron table below shows why it learns: in one 1 ms step the polarization switches "
           "completely as soon as the field exceeds the switching field, so the step overshoots to the "
           "clip bounds (v = -5 V, p = +P_s, then v = +5 V) and the neuron fires. The coarse model is a "
           "spiking neuron of its own, with an effective threshold far below V_thr, and surrogate "
           "gradients through its sub-threshold steps train it. Its weights carry over to the device in part. We do not "
           "reproduce the paper's chance level with the model as specified and do not tune to force it; "
           "the paper does not publish its coarse-only configuration (input gain, threshold, on which "
           "model it was tested).")
    r = rows(os.path.join(a.results, "coarse_vs_fine.csv"))
    if r:
        by = defaultdict(dict)
        for x in r:
            by[float(x["current_A"])][int(x["n_fine"])] = int(x["spikes"])
        silent = sorted(c for c, d in by.items() if d.get(1000) == 0 and d.get(1, 0) > 0)
        if silent:
            txt += (" Measured: at %s nA the device does not fire at all in the window while the coarse "
                    "model does." % ", ".join("%g" % (c * 1e9) for c in silent))
        cs = sorted(c for c, d in by.items() if 1 in d)
        down = [(lo, hi) for lo, hi in zip(cs, cs[1:]) if by[hi][1] < by[lo][1]]
        if down:
            txt += (" The coarse model's spike count is not even monotonic in the current (%s)." %
                    "; ".join("%g nA: %d spikes, %g nA: %d" % (lo * 1e9, by[lo][1], hi * 1e9, by[hi][1])
                              for lo, hi in down))
    t = read(os.path.join(a.results, "coarse_vs_fine.md"))
    txt += "\n\n" + (demote(t) if t else "(the neuron table: %s; `make experiments`)" % NOT_RUN)
    return txt


def section_e2_e3(a, out):
    runs = train_summary(a)
    for name, title, why in (
        ("braille_table.md", "E2. Braille letters", [
            "The 5400-sample raw file of the paper is not available: ours is the older 1350-sample raw "
            "release (27 x 50 samples, 76-77 frames, so 152 network steps instead of 102), i.e. a quarter "
            "of the training data (1080 against 4320 samples) and a 270-sample test split, which by itself "
            "lowers accuracy and raises its spread.",
            "SCALE=quick trains two seeds for a few epochs (the paper: 50 seeds, 150 epochs); the accuracies "
            "are far from converged and an s.d. over two seeds is a rough spread. SCALE=paper runs the "
            "paper's grid.",
            "The hyper-parameters come from short sweeps of each model at 32 and at 3 bits (8 bits shares "
            "the 32-bit file, 4 bits the 3-bit one); `reference/hparams/` records every candidate and its "
            "accuracy. The 1350-sample file has no validation split, so the sweeps read the test split; "
            "`datasets/check_split.py` finds no duplicates or near-duplicates across the split.",
            coarse_why(a)]),
        ("jsb_table.md", "E3. JSB chorales", [
            "The paper gives one run of the authors (their epochs 1 and 19); ours is SCALE's seeds and epochs.",
            "BRUNO and exact BPTT share initialisation and data order (same seed), so their gap is the "
            "gradient's, not the seed's."])):
        out.append("## %s\n" % title)
        t = read(os.path.join(a.results, name))
        if t is None:
            out.append("%s (no `results/%s`; `make experiments`).\n" % (NOT_RUN.capitalize(), name))
            continue
        out.append(demote(t) + "\n")
        out.append("Why ours and the paper's differ:\n")
        out.extend("- " + w for w in why)
        out.append("")
    if runs:
        out.append("### Training runs (`results/train/`)\n")
        out.append("| run | status | epochs | wall time [min] |")
        out.append("|---|---|---:|---:|")
        tot = 0.0
        for n, (st, ep, wall) in sorted(runs.items()):
            tot += wall or 0.0
            out.append("| %s | %s | %s | %s |" % (n, st, ep if ep is not None else "?",
                                                 "?" if wall is None else "%.1f" % (wall / 60.0)))
        out.append("| total (sum over runs, not elapsed time) | | | %.1f |" % (tot / 60.0))
        out.append("")


def section_e4(a, out):
    out.append("## E4. Device model: convergence of the Euler scheme\n")
    r = rows(os.path.join(a.results, "converge.csv"))
    if not r:
        out.append("Convergence: %s (no `results/converge.csv`; `make e4-figures`).\n" % NOT_RUN)
    else:
        out.append("From `results/converge.csv` (`bruno-bench converge`): the FeLIF trajectory at each fine step "
                   "h against an RK4 reference; the paper reports no number for this (it shows the device "
                   "figures), so there is no paper column.\n")
        out.append("| implementation | N per 1 ms | h [s] | max abs dv [V] | max abs dp | spikes (ref) | max abs spike-time error [s] |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for x in r:
            out.append("| %s | %s | %s | %s | %s | %s (%s) | %s |" % (
                x.get("impl", "?"), x.get("n_fine", "?"), x.get("h", "?"), x.get("max_abs_dv", "?"),
                x.get("max_abs_dp", "?"), x.get("spikes", "?"), x.get("spikes_ref", "?"),
                x.get("max_abs_dt_spike") or "-"))
        out.append("")
    out.append("### RRAM synapse: spread of the 8 programmed states\n")
    ref = [p for p in paper(a.reference) if p.get("experiment") == "E4" and p.get("metric") == "rram_state_spread"]
    ref_txt = "; ".join("%s: %s %s" % (p["network"].replace("_", " "), p["value"], p["unit"]) for p in ref) \
        or "no RRAM number in `reference/paper.csv`"
    any_rram = False
    for scheme in ("fixed-n", "compliance"):
        r = rows(os.path.join(a.results, "rram", "states_%s.csv" % scheme))
        if not r:
            continue
        any_rram = True
        g = defaultdict(list)
        for x in r:
            v = fnum(x.get("g_read"))
            if v is not None and x.get("state") is not None:
                g[int(x["state"])].append(v)
        out.append("Scheme `%s`, %d devices (`results/rram/states_%s.csv`):\n" %
                   (scheme, max((len(v) for v in g.values()), default=0), scheme))
        out.append("| state | mean G [uS] | s.d./mean [%] | (max - min)/mean [%] | min [uS] | max [uS] |")
        out.append("|---:|---:|---:|---:|---:|---:|")
        for k in sorted(g):
            v = g[k]
            m = sum(v) / len(v)
            sd = math.sqrt(sum((x - m) ** 2 for x in v) / max(1, len(v) - 1))
            out.append("| %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                k, m * 1e6, 100 * sd / m if m else float("nan"), 100 * (max(v) - min(v)) / m if m else float("nan"),
                min(v) * 1e6, max(v) * 1e6))
        out.append("")
    if not any_rram:
        out.append("RRAM states: %s (no `results/rram/states_*.csv`; `make rram-figures`).\n" % NOT_RUN)
    out.append("Expected (paper figure, as `reference/paper.csv` records it): %s. A gap here comes from the "
               "variability model (uniform +-10 %% in filament radius and disc length) and the programming "
               "scheme; the source does not say whether its spread is an s.d. or a range, so both are shown.\n" % ref_txt)


def section_targets(a, out):
    out.append("## The issue's targets at a glance\n")
    r = rows(os.path.join(a.results, "train_targets.csv"))
    e1 = read(os.path.join(a.results, "e1_table.md"))
    out.append("| experiment | target | measured | result |")
    out.append("|---|---|---|---|")
    if e1:
        for l in e1.split("\n"):
            if l.startswith("- BRUNO"):
                what, _, rest = l[2:].partition(": ")
                res = rest.split(" ", 1)[0]
                out.append("| E1 | %s | %s | %s |" % (what, rest[len(res):].strip(" ()"), res))
    else:
        out.append("| E1 | memory and time targets | %s | %s |" % (NOT_RUN, NOT_RUN))
    if r:
        for x in r:
            out.append("| %s | %s | %s | %s |" % (x["experiment"], x["target"], x["measured"] or NOT_RUN, x["result"]))
    else:
        out.append("| E2, E3 | training targets | %s | %s |" % (NOT_RUN, NOT_RUN))
    out.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--reference", default="reference/paper.csv")
    ap.add_argument("--scale", default="quick")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = ["# bruno: reproduction report\n",
           "Written by `plots/report.py` (`make report`; the last step of `make reproduce`) from the CSV and "
           "markdown files in `results/`. The paper's numbers come from `reference/paper.csv` only; every "
           "other number was measured by a `bruno-bench` command. \"not run\" marks a part whose results "
           "are missing.\n"]
    out.append("| | |")
    out.append("|---|---|")
    out.extend("| %s | %s |" % kv for kv in machine(a))
    out.append("")
    for f in (section_targets, section_e1, section_e2_e3, section_e4):
        try:
            f(a, out)
        except Exception as e:  # a malformed input must not lose the rest of the report
            out.append("(this section could not be written: %s: %s)\n" % (type(e).__name__, e))
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, a.out)
    print("report: %s" % a.out)


if __name__ == "__main__":
    main()
