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
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_tables  # noqa: E402  (load_run, parse_name, mean_sd)

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
    out.extend(e1_explained(a))


def e1_explained(a):
    """issue 14 §3: BRUNO's time advantage over exact BPTT taken apart, from e1_memtime.csv and paper.csv"""
    r = rows(os.path.join(a.results, "e1_memtime.csv"))
    if not r:
        return ["Why BRUNO is faster: %s (no `results/e1_memtime.csv`).\n" % NOT_RUN]
    pts = defaultdict(lambda: defaultdict(list))
    for x in r:
        if x.get("neuron") == "felif" and x.get("trainer") in ("bptt", "bruno"):
            pts[(int(x["hidden"]), float(x["seq_ms"]))][x["trainer"]].append(x)
    both = sorted(k for k, v in pts.items() if "bptt" in v and "bruno" in v)
    if not both:
        return ["Why BRUNO is faster: %s (no point with both BPTT and BRUNO).\n" % NOT_RUN]
    ref = [p for p in paper(a.reference) if p.get("experiment") == "E1" and p.get("metric") == "time_reduction_vs_bptt"]
    pap = ("%s-%s %%" % (ref[0]["low"], ref[0]["high"])) if ref else "not in `reference/paper.csv`"

    def avg(v, col):
        return sum(float(x[col]) for x in v) / len(v)

    def take(k):
        v = pts[k]
        d = {m: {c: avg(v[m], c) for c in ("time_forward_s", "time_backward_s", "time_total_s", "peak_bytes_counted")}
             for m in ("bptt", "bruno")}
        d["N"] = int(v["bptt"][0]["n_fine"])
        return d

    out = ["### Why BRUNO is faster than exact BPTT, and by how much\n",
           "From `results/e1_memtime.csv` (FeLIF, one training step: forward + backward). Both forward passes "
           "compute the same N Euler updates per neuron and network step; exact BPTT also stores v and p after "
           "each one (the stored bytes are its counted peak minus BRUNO's) and its backward pass runs the adjoint "
           "of all N fine steps, where BRUNO's runs one coarse step. Columns: the measured time reduction "
           "1 - T_BRUNO / T_BPTT; BPTT's extra time split into its forward part (the stores and their memory "
           "traffic) and its backward part (the adjoint of the N - 1 further fine steps); the rate the stores ran "
           "at (stored bytes / extra forward time); and two predictions: operation counts alone (every fine "
           "update, forward or adjoint, one unit: 1 - (N + 1) / 2N) and the measured per-phase costs without the "
           "stores (BPTT's forward at BRUNO's forward time: 1 - T_BRUNO / (fwd_BRUNO + bwd_BPTT)). The paper: "
           "%s less time.\n" % pap,
           "| hidden | sequence [ms] | N | T_BPTT [s] | T_BRUNO [s] | measured reduction | extra time: forward (stores) | "
           "backward (adjoint) | stored [MiB] | store rate [GB/s] | predicted by counts | predicted without stores |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in both:
        d = take(k)
        bp, br, N = d["bptt"], d["bruno"], d["N"]
        ef = bp["time_forward_s"] - br["time_forward_s"]
        eb = bp["time_backward_s"] - br["time_backward_s"]
        stored = bp["peak_bytes_counted"] - br["peak_bytes_counted"]
        red = 1 - br["time_total_s"] / bp["time_total_s"]
        nostore = 1 - br["time_total_s"] / (br["time_forward_s"] + bp["time_backward_s"])
        out.append("| %d | %g | %d | %.4g | %.4g | %.1f %% | %.0f %% | %.0f %% | %.1f | %s | %.1f %% | %.1f %% |" % (
            k[0], k[1], N, bp["time_total_s"], br["time_total_s"], 100 * red,
            100 * ef / (ef + eb) if ef + eb > 0 else float("nan"), 100 * eb / (ef + eb) if ef + eb > 0 else float("nan"),
            stored / 1048576.0, "%.2f" % (stored / ef / 1e9) if ef > 0 else "-", 100 * (N - 1) / (2.0 * N), 100 * nostore))
    # the text: at the trade-off point of the figure if measured, else the largest point
    g = grid_estimate().grid
    tp = (g.E1_TRADE_H, float(g.E1_SCALE.get(a.scale, g.E1_SCALE["quick"])["trade_seq"]))
    k = tp if tp in both else both[-1]
    d = take(k)
    bp, br, N = d["bptt"], d["bruno"], d["N"]
    ef = bp["time_forward_s"] - br["time_forward_s"]
    eb = bp["time_backward_s"] - br["time_backward_s"]
    red = 1 - br["time_total_s"] / bp["time_total_s"]
    nostore = 1 - br["time_total_s"] / (br["time_forward_s"] + bp["time_backward_s"])
    out.append("")
    out.append(
        "At hidden %d, %g ms, N = %d, BRUNO takes %.1f %% of exact BPTT's time (a reduction of %.1f %%; the paper: %s). "
        "BPTT's forward pass takes %.2fx BRUNO's for the same updates: %.0f %% of its extra time goes into storing "
        "%.1f MiB of fine states (%s). Its backward pass takes %.2fx BRUNO's: the adjoint of all N fine steps "
        "instead of one is the other %.0f %%. Counting operations alone, with a forward and an adjoint update "
        "costing the same, BRUNO removes N - 1 of 2N updates per neuron and step, a %.1f %% reduction, the size "
        "of the paper's claim; with the measured costs of our forward and adjoint kernels and the stores free, "
        "the reduction would be %.1f %%. %s" % (
            k[0], k[1], N, 100 * br["time_total_s"] / bp["time_total_s"], 100 * red, pap,
            bp["time_forward_s"] / br["time_forward_s"], 100 * ef / (ef + eb) if ef + eb > 0 else float("nan"),
            (bp["peak_bytes_counted"] - br["peak_bytes_counted"]) / 1048576.0,
            "%.2f GB/s" % ((bp["peak_bytes_counted"] - br["peak_bytes_counted"]) / ef / 1e9) if ef > 0 else "no extra time",
            bp["time_backward_s"] / br["time_backward_s"] if br["time_backward_s"] > 0 else float("inf"),
            100 * eb / (ef + eb) if ef + eb > 0 else float("nan"), 100 * (N - 1) / (2.0 * N), 100 * nostore,
            "Of the distance between the measured %.1f %% and the count's %.1f %%, the stores make the step down "
            "to %.1f %% (what free stores would leave), and the rest is the adjoint kernel: one adjoint update costs "
            "%.2fx a forward update of BRUNO's kernel (BPTT's whole backward pass over BRUNO's whole forward pass, "
            "dense layers included), where the count assumes 1x." % (
                100 * red, 100 * (N - 1) / (2.0 * N), 100 * nostore, bp["time_backward_s"] / br["time_forward_s"])))
    first = [x for x in pts[k]["bptt"] if x.get("time_first_forward_s")]
    if first:  # memtime keeps the workspace: its first step is timed apart
        t1 = sum(float(x["time_first_forward_s"]) + float(x["time_first_backward_s"]) for x in first) / len(first)
        out.append("")
        out.append(
            "These times are training's steady state: each step runs on the workspace kept from the step before, as "
            "a training run keeps it. The first step allocates the workspace and touches its pages for the "
            "first time; for exact BPTT, whose workspace holds every fine state, that step took %.3f s against "
            "%.3f s afterwards (memtime's time_first_* columns), a cost `bruno-bench train` pays once per epoch (it frees the workspace between epochs), not per step." % (
                t1, bp["time_total_s"]))
    out.append("")
    return out


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


def hparams_note():
    """how the hyper-parameter files were chosen, from their headers"""
    d = os.path.join("reference", "hparams")
    swept, inherited, test, checked = [], [], [], []
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        h = read(os.path.join(d, n)) or ""
        (swept if "selected on a VALIDATION split" in h else inherited if "validation-selected values of" in h
         else checked if "run ONCE on a VALIDATION split" in h else test).append(n[:-4])
    return ("Hyper-parameters (`reference/hparams/`): %d files selected by a sweep on a validation split carved "
            "from the training split (bench/sweep.py; each header records the sweep, every configuration's "
            "validation score and the rule)%s; %d take another bit width's validation-selected values (not swept "
            "themselves; their header says so)%s%s%s." % (
                len(swept), ": " + ", ".join(swept) if swept else "", len(inherited),
                ": " + ", ".join(inherited) if inherited else "",
                "; %d take the nearest selected file's values, run once on the validation split and not swept "
                "(bench/sweep.py check; their header has the scores): %s" % (len(checked), ", ".join(checked))
                if checked else "",
                "; %d NOT validation-selected and marked so in their header (to be re-tuned): %s" % (
                    len(test), ", ".join(test)) if test else ""))


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
           "gradients through its sub-threshold steps train it. Its weights carry over to the device in part. "
           "The paper's 3.81 % is a training collapse of the authors' own configuration; the section "
           "\"Coarse-only, restated\" below runs that configuration.")
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
            hparams_note(),
            coarse_why(a)]),
        ("jsb_table.md", "E3. JSB chorales", [
            "The paper gives one run of the authors (their epochs 1 and 19); ours is SCALE's seeds and epochs.",
            "BRUNO and exact BPTT share initialisation and data order (same seed), so their gap is the "
            "gradient's, not the seed's.",
            "The learning rate's reduce-on-plateau steps on the loss of the data set's own validation split "
            "(76 pieces, `plateau_loss` in epochs.csv); the authors' script stepped on the test loss, a choice "
            "made on the test split, which ours never reads for anything but the reported numbers."])):
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


def section_restated(a, out):
    out.append("## E2. Coarse-only, restated: the authors' configuration\n")
    t = read(os.path.join(a.results, "restated.md"))
    if t is None:
        out.append("%s (no `results/restated.md`; the `restated` runs of bench/grid.py).\n" % NOT_RUN.capitalize())
        return
    out.append("The configuration of the authors' notebook (EXPERIMENTS E2; bench/grid.py `RESTATED`), trained "
               "with BRUNO and with the coarse model only, same seed; figure `restated.png`/`.svg` (ours beside "
               "the authors' two curves). Our FeLIF is MODELS.md's, theirs an earlier version; our split has 8 "
               "updates an epoch, theirs 33, so compare by updates as well as by epochs.\n")
    out.append(t.strip() + "\n")


def section_events(a, out):
    """E2 on the 5400-sample event file (issue 17 §2): plots/train_tables.py's braille_events_table.md"""
    out.append("## E2 on the 5400-sample event file (`--task braille-events`)\n")
    t = read(os.path.join(a.results, "braille_events_table.md"))
    if t is None:
        out.append("%s (no `results/braille_events_table.md`; the `train/braille-events_*` runs of "
                   "bench/grid.py).\n" % NOT_RUN.capitalize())
        return
    out.append(demote(t) + "\n")
    out.append("Why ours and the paper's differ:\n")
    out.extend("- " + w for w in [
        "the same 5400 recordings, but as θ = 10 sigma-delta events (sparse) binned into 0/1 network steps, "
        "where the paper's pipeline reads the analog readings; the 1-nearest-neighbour line above shows how "
        "little of a letter's identity a plain distance between event patterns keeps, against the same "
        "classifier on the raw file's readings (the raw-file table's last line);",
        "SCALE's seeds and epochs (the table's columns) against the paper's 50 seeds and 150 epochs: the quick "
        "runs stop early in training;",
        "the hyper-parameters come from a short sweep on a validation split (a few epochs on part of the "
        "training split; `reference/hparams/braille-events_*.txt` record the runs and every score), not from "
        "converged runs."])
    out.append("")


# ---------------------------------------------------------------- the paper's claims
CEILING = 0.99   # both models at or above this accuracy: the table cannot order them
PAR = 0.03       # "on a par": within 3 points


def finals(train_dir, task, model, trainer, bits, col="test_acc"):
    """final-epoch values of every complete seed of one configuration"""
    out = []
    try:
        names = sorted(os.listdir(train_dir))
    except OSError:
        return out
    for n in names:
        p = train_tables.parse_name(n)
        if not p or p[:4] != (task, model, trainer, bits):
            continue
        r, st, _ = train_tables.load_run(train_dir, n)
        if st == "complete" and r and r[-1].get(col) is not None:
            out.append(r[-1][col])
    return out


def claims(a, out):
    dirs = {"quick": os.path.join(a.results, "train"), "long": os.path.join(a.results, "long", "train")}

    def acc(sc, model, bits):
        xs = finals(dirs[sc], "braille-raw", model, "bruno", bits)
        return (sum(xs) / len(xs), len(xs)) if xs else (None, 0)

    def txt(v):
        return "—" if v[0] is None else "%.2f (%d seed%s)" % (100 * v[0], v[1], "" if v[1] == 1 else "s")

    def par_claim(sc, a_, b_, what):
        """a_ on a par with b_ (within PAR), or better"""
        if a_[0] is None or b_[0] is None:
            return "cannot tell", "not run at this scale"
        if a_[0] >= CEILING and b_[0] >= CEILING:
            return "cannot tell", "both at the ceiling (>= %.0f %%): the data set cannot order them" % (100 * CEILING)
        ok = a_[0] >= b_[0] - PAR
        return ("holds" if ok else "does not hold"), "%s %+.2f points" % (what, 100 * (a_[0] - b_[0]))

    lines = []
    for bits in (32, 8):
        cells, verdicts = [], []
        for sc in ("quick", "long"):
            f, l = acc(sc, "felif", bits), acc(sc, "lif", bits)
            v, why = par_claim(sc, f, l, "FeLIF - LIF")
            cells.append("FeLIF %s, LIF %s" % (txt(f), txt(l)))
            verdicts.append("%s: %s (%s)" % (sc, v, why))
        lines.append(("FeLIF with BRUNO is on a par with LIF at %s" % ("FP32" if bits == 32 else "8 bits"),
                     cells, verdicts))
    cells, verdicts = [], []
    for sc in ("quick", "long"):
        f, l, r = acc(sc, "felif", 3), acc(sc, "lif", 3), acc(sc, "rlif", 3)
        cells.append("FeLIF %s, LIF %s, RLIF %s" % (txt(f), txt(l), txt(r)))
        if None in (f[0], l[0], r[0]):
            verdicts.append("%s: cannot tell (not run at this scale)" % sc)
            continue
        beats, matches = f[0] > l[0], f[0] >= r[0] - PAR
        verdicts.append("%s: %s (FeLIF - LIF %+.2f, FeLIF - RLIF %+.2f points)" % (
            sc, "holds" if beats and matches else "does not hold", 100 * (f[0] - l[0]), 100 * (f[0] - r[0])))
    lines.append(("At 3 bits FeLIF beats the feed-forward LIF network and matches the recurrent one", cells, verdicts))
    # at FP32 both reach the raw file's ceiling, so the 3-bit rows (where the paper has Heracles 76.89,
    # FeLIF 74.71) decide too: the claim holds when every width that can order them says so
    cells, verdicts = [], []
    for sc in ("quick", "long"):
        parts, told = [], []
        for bits in (32, 3):
            h, f = acc(sc, "heracles", bits), acc(sc, "felif", bits)
            parts.append("%s: Heracles %s, FeLIF %s" % ("FP32" if bits == 32 else "3 bit", txt(h), txt(f)))
            v, why = par_claim(sc, h, f, "Heracles - FeLIF")
            told.append((bits, v, why))
        cells.append("; ".join(parts))
        decided = [(b, v, why) for b, v, why in told if v != "cannot tell"]
        if not decided:
            v = "cannot tell"
        else:
            v = "holds" if all(x[1] == "holds" for x in decided) else "does not hold"
        verdicts.append("%s: %s (%s)" % (sc, v, "; ".join("%s: %s%s" % ("FP32" if b == 32 else "3 bit", why,
                                                                         "" if vv == "cannot tell" else ", " + vv)
                                                         for b, vv, why in told)))
    lines.append(("Heracles is on a par with FeLIF", cells, verdicts))
    cells, verdicts = [], []
    tg = {x["target"].split(":")[0]: x for x in (rows(os.path.join(a.results, "restated_targets.csv")) or [])}
    for sc in ("quick", "long"):
        co = train_tables.load_run(os.path.join(a.results, "restated"), "%s_coarse_s0" % sc)[0]
        if not co:
            cells.append("—")
            verdicts.append("%s: cannot tell (not run)" % sc)
            continue
        collapsed = next((int(r["epoch"]) for r in co if r["train_loss"] > 2 * math.log(27)), None)
        dev = co[-1]["test_acc"]
        t = tg.get("SCALE=%s" % sc)
        cells.append("coarse-only on the device %.2f %% after %d epochs; %s; BRUNO ahead by %s" % (
            100 * dev, len(co), "collapsed in epoch %d" % collapsed if collapsed else "no collapse",
            t["measured"].split("(")[-1].rstrip(")") if t and t["measured"] else "—"))
        fails = collapsed is not None or dev <= 2.0 / 27
        verdicts.append("%s: %s (%s)" % (sc, "holds" if fails else "does not hold",
                                         "collapsed or at chance on the device" if fails else
                                         "it learns; the device test stays above 2/27"))
    lines.append(("Coarse-only training fails (the authors' configuration, tested on the device)", cells, verdicts))
    lines.append(jsb_claim(dirs))
    out.append("## The paper's claims\n")
    out.append("Computed by `plots/report.py` from the runs' `epochs.csv` (final epoch, mean over the complete seeds): "
               "SCALE=quick from `results/train/`, SCALE=long from `results/long/train/` and `results/restated/`. "
               "\"On a par\" = within %.0f points (or better); a pair both at >= %.0f %% cannot be ordered by this "
               "data set. SCALE=long has one seed, so its verdicts carry no spread.\n" % (100 * PAR, 100 * CEILING))
    out.append("| claim | quick | long | verdict |")
    out.append("|---|---|---|---|")
    for what, cells, verdicts in lines:
        out.append("| %s | %s | %s | %s |" % (what, cells[0], cells[1], "; ".join(verdicts)))
    out.append("")


NEAR_CHANCE = 2.0 / 27   # twice chance on 27 classes: below it a model has not started to learn


def claims_events(a, out):
    """the Braille claims once more on the 5400-sample event file (quick runs; issue 17 §2), where no model
    is at the ceiling: kept apart from claims() so that each table says which data it rests on"""
    td = os.path.join(a.results, "train")

    def acc(model, bits):
        xs = finals(td, "braille-events", model, "bruno", bits)
        return (sum(xs) / len(xs), len(xs)) if xs else (None, 0)

    def txt(name, v):
        return "%s —" % name if v[0] is None else "%s %.2f (%d seed%s)" % (name, 100 * v[0], v[1],
                                                                         "" if v[1] == 1 else "s")

    def par(x, y, what):
        if x[0] is None or y[0] is None:
            return "cannot tell (not run)"
        if max(x[0], y[0]) < NEAR_CHANCE:
            return "cannot tell (both below %.1f %%, twice chance: not learning yet)" % (100 * NEAR_CHANCE)
        return "%s (%s %+.2f points)" % ("holds" if x[0] >= y[0] - PAR else "does not hold", what,
                                          100 * (x[0] - y[0]))
    rows_ = []
    for bits in (32, 8):
        f, l = acc("felif", bits), acc("lif", bits)
        rows_.append(("FeLIF with BRUNO is on a par with LIF at %s" % ("FP32" if bits == 32 else "8 bits"),
                      "%s, %s" % (txt("FeLIF", f), txt("LIF", l)), par(f, l, "FeLIF - LIF")))
    f, l, r = acc("felif", 3), acc("lif", 3), acc("rlif", 3)
    v = "cannot tell (not run)" if None in (f[0], l[0], r[0]) else \
        "cannot tell (all below %.1f %%, twice chance)" % (100 * NEAR_CHANCE) if max(f[0], l[0], r[0]) < NEAR_CHANCE \
        else "%s (FeLIF - LIF %+.2f, FeLIF - RLIF %+.2f points)" % (
        "holds" if f[0] > l[0] and f[0] >= r[0] - PAR else "does not hold", 100 * (f[0] - l[0]), 100 * (f[0] - r[0]))
    rows_.append(("At 3 bits FeLIF beats the feed-forward LIF network and matches the recurrent one",
                  "%s, %s, %s" % (txt("FeLIF", f), txt("LIF", l), txt("RLIF", r)), v))
    h, f = acc("heracles", 32), acc("felif", 32)
    rows_.append(("Heracles is on a par with FeLIF", "%s, %s" % (txt("Heracles", h), txt("FeLIF", f)),
                  par(h, f, "Heracles - FeLIF")))
    out.append("### The same Braille claims on the event file (SCALE=quick)\n")
    out.append("From `results/train/braille-events_*` (final epoch; seeds and epochs as in the event-file E2 table, "
               "which are few: a verdict here is about early training, not about converged networks).\n")
    out.append("| claim | event file, quick | verdict |")
    out.append("|---|---|---|")
    out.extend("| %s | %s | %s |" % x for x in rows_)
    out.append("")


def jsb_claim(dirs):
    """the JSB claim from the runs: BRUNO's and exact BPTT's test BCE, same seeds, at the last epoch
    both finished (complete runs; mean over the seeds that have both trainers)"""
    cells, verdicts = [], []
    for sc in ("quick", "long"):
        pairs = []
        try:
            names = sorted(os.listdir(dirs[sc]))
        except OSError:
            names = []
        for n in names:
            p = train_tables.parse_name(n)
            if not p or p[:4] != ("jsb", "felif", "bruno", 32):
                continue
            b, sb, _ = train_tables.load_run(dirs[sc], n)
            e, se, _ = train_tables.load_run(dirs[sc], n.replace("_bruno_", "_bptt_", 1))
            if sb != "complete" or se != "complete" or not b or not e:
                continue
            ep = min(len(b), len(e))
            if b[ep - 1].get("test_loss") is not None and e[ep - 1].get("test_loss") is not None:
                pairs.append((b[ep - 1]["test_loss"], e[ep - 1]["test_loss"], ep))
        if not pairs:
            any_b = finals(dirs[sc], "jsb", "felif", "bruno", 32, "test_loss")
            cells.append("BRUNO %s, exact BPTT —" % ("—" if not any_b else "%.4f" % (sum(any_b) / len(any_b))))
            verdicts.append("%s: cannot tell (%s)" % (sc, "no complete exact-BPTT run of the same seed at this scale"
                                                     if any_b else "not run"))
            continue
        mb = sum(x[0] for x in pairs) / len(pairs)
        mp = sum(x[1] for x in pairs) / len(pairs)
        eps = sorted(set(x[2] for x in pairs))
        cells.append("BRUNO %.4f, exact BPTT %.4f (%d seed%s, epoch %s)" % (
            mb, mp, len(pairs), "" if len(pairs) == 1 else "s", "/".join(str(x) for x in eps)))
        r = mb / mp - 1
        verdicts.append("%s: %s (test BCE %+.2f %%; a few percent = within 5 %%)" % (
            sc, "holds" if abs(r) <= 0.05 else "does not hold", 100 * r))
    return ("BRUNO is within a few percent of exact BPTT on JSB (test BCE, same seeds and epochs)", cells, verdicts)


def section_jsb_published(a, out):
    out.append("### JSB chorales: where FeLIF with BRUNO stands\n")
    pub = [r for r in (rows(os.path.join("reference", "jsb_published.csv")) or []) if r.get("nll_frame")]
    out.append("| model | NLL per frame [nats] | frame accuracy | source |")
    out.append("|---|---:|---:|---|")
    for sc, d in (("quick", os.path.join(a.results, "train")), ("long", os.path.join(a.results, "long", "train"))):
        for tr in ("bruno", "bptt"):
            n = finals(d, "jsb", "felif", tr, 32, "test_nll_frame")
            fa = finals(d, "jsb", "felif", tr, 32, "test_frame_acc")
            if n:
                out.append("| FeLIF, %s (ours, SCALE=%s) | %.3f | %s | measured (`%s`) |" % (
                    "BRUNO" if tr == "bruno" else "exact BPTT", sc, sum(n) / len(n),
                    "%.4f" % (sum(fa) / len(fa)) if fa else "—", d))
    for r in pub:
        out.append("| %s | %s | %s | %s |" % (r["model"], r["nll_frame"], r.get("frame_acc") or "—", r["source"]))
    if not pub:
        out.append("| published models (RNN, RNN-RBM, RNN-NADE, LSTM) | — | — | not entered: see below |")
    out.append("\n" + (read(os.path.join("reference", "jsb_published.md")) or "").strip() + "\n")


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


def grid_estimate():
    """bench/grid_estimate.py as a module (it reads bench/grid.py beside it)"""
    import importlib
    import sys
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("grid_estimate")


def section_grid(a, out):
    """issue 14 §4: the projected cost of SCALE=paper's training runs, from the runs' own wall.csv"""
    ge = grid_estimate()
    # the floor's arithmetic limit from results/throughput.csv (`make bench`) or the probe's, if either exists
    res = ge.estimate(a.results, "paper", arith=ge.throughput_source(a.results))
    md = ge.markdown(res, ge.grid.GRID_TARGET_H)
    title, _, body = md.partition("\n")
    out.append("#" + title + "\n")
    # its subsections (## in grid_estimate.md) one level below this section's heading
    out.append("\n".join(("#" + l) if l.startswith("#") else l for l in body.strip().split("\n")) + "\n")


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
    ge = grid_estimate()
    g = ge.estimate(a.results, "paper")
    v = g["variants"].get("measured_raw")
    out.append("| grid | SCALE=paper's training runs in <= %g h on this machine's %d cores (raw-file table on its "
               "1350-sample file, and JSB; the event-file table apart: see the grid section) | %s | %s |" % (
        ge.grid.GRID_TARGET_H, g["cores"], "%.1f h (%.1f CPU-hours)" % (v["wall_h"], v["cpu_h"]) if v else NOT_RUN,
        ("PASS" if v["wall_h"] <= ge.grid.GRID_TARGET_H else "FAIL") if v else NOT_RUN))
    r = (r or []) + (rows(os.path.join(a.results, "restated_targets.csv")) or [])
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
    for f in (section_targets, claims, claims_events, section_e1, section_e2_e3, section_restated, section_events,
              section_jsb_published, section_e4, section_grid):
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
