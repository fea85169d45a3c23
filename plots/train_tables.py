#!/usr/bin/env python3
"""train_tables.py - the Braille (E2) and JSB (E3) tables and curve CSVs.

Reads results/train/<run>/epochs.csv and summary.json of every run named in
runs.txt (task_neuron_trainer_bits_sSEED), and reference/paper.csv for the
paper's numbers. Writes
  OUT/braille_table.md           network x bits: final test accuracy mean +- s.d.
                                 over seeds, best epoch, the paper's value, delta
  OUT/jsb_table.md               test BCE, NLL per frame, frame accuracy for
                                 BRUNO, exact BPTT and SNU; the paper's values
  OUT/train_targets.csv          the issue's targets, measured value, PASS/FAIL
  TRAIN/braille_curves.csv       mean +- s.d. test accuracy per epoch (plots)
  TRAIN/jsb_curves.csv           mean test BCE per epoch (plots)
A run that is missing, unfinished or diverged is listed as such; nothing
measured is typed in here. Standard library only.
"""
import argparse
import csv
import json
import math
import os
from collections import defaultdict

BITS = [32, 8, 4, 3, "3rram"]
# the RRAM row is compared with the paper's ideal 3-bit quantiser
PREC = {32: "fp32", 8: "8bit", 4: "4bit", 3: "3bit", "3rram": "3bit"}
# (neuron, trainer) -> (label, the network in reference/paper.csv)
BRAILLE = [
    (("lif", "bruno"), "LIF hidden, LIF output", "lif_hidden_lif_output"),
    (("rlif", "bruno"), "RLIF hidden, LIF output", "rlif_hidden_lif_output"),
    (("felif", "bruno"), "LIF hidden, FeLIF output (BRUNO)", "lif_hidden_felif_output_bruno"),
    (("heracles", "bruno"), "LIF hidden, Heracles output (BRUNO)", "lif_hidden_heracles_output_bruno"),
    (("felif", "coarse"), "FeLIF output, coarse only (tested with the fine model)", "lif_hidden_felif_output_coarse"),
    # the same runs, tested with the coarse model they were trained on
    (("felif", "coarse"), "FeLIF output, coarse only (tested with the coarse model)", "lif_hidden_felif_output_coarse",
     "test_acc_coarse"),
]
JSB = [
    (("felif", "bruno"), "FeLIF, BRUNO", "felif_bruno"),
    (("felif", "bptt"), "FeLIF, exact BPTT", None),
    (("snu", "bruno"), "SNU (recurrent LIF)", None),
]


def mean_sd(xs):
    if not xs:
        return None, None
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, None
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def fnum(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def load_run(train_dir, name):
    """epochs.csv rows (dicts of floats) and the summary's status."""
    d = os.path.join(train_dir, name)
    rows, status, planned = [], "not run", None
    try:
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        status = s.get("status", "?")
        planned = s.get("epochs")
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(d, "epochs.csv")) as f:
            for r in csv.DictReader(f):
                rows.append({k: fnum(v) for k, v in r.items()})
    except OSError:
        pass
    return rows, status, planned


def parse_name(n):
    p = n.split("_")
    if len(p) != 5 or not p[4].startswith("s"):
        return None
    # bits: 32, 8, 4, 3, or "3rram" (3-bit levels on RRAM devices)
    return p[0], p[1], p[2], (int(p[3]) if p[3].isdigit() else p[3]), int(p[4][1:])


def load_paper(path):
    out = {}
    try:
        with open(path) as f:
            for r in csv.DictReader(f):
                out[(r["experiment"], r["metric"], r["network"], r["precision"], r["epoch"])] = r
    except OSError:
        pass
    return out


def paper_row(paper, exp, metric, network, prec, epoch=None):
    for k, r in paper.items():
        if k[:4] == (exp, metric, network, prec) and (epoch is None or k[4] == str(epoch)):
            return r
    return None


def pct(x):
    return "—" if x is None else "%.2f" % (100.0 * x)


def pm(m, sd, scale=100.0, fmt="%.2f"):
    if m is None:
        return "—"
    s = fmt % (scale * m)
    if sd is not None:
        s += " ± " + fmt % (scale * sd)
    return s


def status_note(runs):
    """a short note on runs that are not complete"""
    bad = defaultdict(int)
    for _, st, _ in runs:
        if st != "complete":
            bad[st] += 1
    return ", ".join("%d %s" % (n, st) for st, n in sorted(bad.items()))


def group(train_dir, names, task):
    g = defaultdict(list)  # (neuron, trainer, bits) -> [(seed, rows, status, planned)]
    for n in names:
        p = parse_name(n)
        if not p or p[0] != task:
            continue
        rows, st, planned = load_run(train_dir, n)
        g[(p[1], p[2], p[3])].append((p[4], rows, st, planned))
    return g


def braille(args, names, paper, targets, task="braille-raw", curves_csv="braille_curves.csv"):
    g = group(args.train_dir, names, task)
    out = []
    if task == "braille-raw":
        out.append("# Braille letters (EXPERIMENTS E2): test accuracy, %\n")
        out.append("Ours: `bruno-bench train --task braille-raw` on the 1350-sample raw file (27 x 50; "
                   "1080 train / 270 test), SCALE=%s; mean ± s.d. over seeds of the final-epoch test accuracy; "
                   "\"best\" = mean over seeds of each seed's best epoch (the epoch in brackets: median of the "
                   "seeds' best epochs). Paper: 5400-sample file, 150 epochs, 50 seeds (`reference/paper.csv`). "
                   "Δ = ours − paper (final epoch), in points.\n" % args.scale)
    else:
        out += events_intro(args, g)
    out.append("| network | bits | seeds | epochs | ours, final | ours, best (epoch) | paper, final | paper, best | Δ |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    curves = []
    final = {}
    for entry in BRAILLE:
        (neuron, trainer), label, pnet = entry[:3]
        acc = entry[3] if len(entry) > 3 else "test_acc"
        for b in BITS:
            runs = g.get((neuron, trainer, b))
            if not runs:
                continue
            runs.sort()
            done = [r for r in runs if r[1] and all(acc in x for x in r[1])]
            if not done:
                continue
            finals = [r[1][-1][acc] for r in done]
            bests = [max(x[acc] for x in r[1]) for r in done]
            best_ep = sorted(int(max(r[1], key=lambda x: x[acc])["epoch"]) for r in done)
            eps = sorted(set(int(r[1][-1]["epoch"]) for r in done))
            m, sd = mean_sd(finals)
            bm, _ = mean_sd(bests)
            key = trainer if acc == "test_acc" else trainer + "_" + acc
            final[(neuron, key, b)] = (m, sd, len(done))
            pr = paper_row(paper, "E2", "test_accuracy", pnet, PREC[b])
            pv = fnum(pr["value"]) if pr else None
            psd = fnum(pr["sd"]) if pr else None
            pbest = fnum(pr["best"]) if pr else None
            note = status_note([(r[0], r[2], r[3]) for r in runs])
            ptxt = "—" if pv is None else ("%.2f" % pv + (" ± %.2f" % psd if psd is not None else ""))
            delta = "—" if (pv is None or m is None) else "%+.2f" % (100.0 * m - pv)
            out.append("| %s | %s | %d%s | %s | %s | %s | %s | %s | %s |" % (
                label, "FP32" if b == 32 else ("3 bit, RRAM devices" if b == "3rram" else "%d bit" % b), len(done), (" (" + note + ")") if note else "",
                "/".join(str(e) for e in eps) or "—", pm(m, sd),
                "—" if bm is None else "%.2f (%d)" % (100.0 * bm, best_ep[len(best_ep) // 2]),
                ptxt, "—" if pbest is None else "%.2f" % pbest, delta))
            # mean +- s.d. per epoch over the seeds that reached it
            by_ep = defaultdict(list)
            for r in done:
                for x in r[1]:
                    by_ep[int(x["epoch"])].append(x[acc])
            for ep in sorted(by_ep):
                em, esd = mean_sd(by_ep[ep])
                curves.append(["%s_%s" % (neuron, key), b, ep, len(by_ep[ep]),
                               "%.6g" % (100 * em), "%.6g" % (100 * (esd or 0.0))])
    if len(out) == 4:
        out.append("| not run | | | | | | | | |")
    with open(os.path.join(args.train_dir, curves_csv), "w") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["series", "bits", "epoch", "n_seeds", "test_acc_mean", "test_acc_sd"])
        w.writerows(curves)

    if task != "braille-raw":
        return out

    def get(k):
        return final.get(k, (None, None, 0))[0]
    lif32, fe32 = get(("lif", "bruno", 32)), get(("felif", "bruno", 32))
    lif3, fe3 = get(("lif", "bruno", 3)), get(("felif", "bruno", 3))
    targets.append(("E2", "FeLIF-BRUNO FP32 >= LIF FP32 - 3 points",
                    None if None in (lif32, fe32) else "%.2f vs %.2f - 3" % (100 * fe32, 100 * lif32),
                    None if None in (lif32, fe32) else fe32 >= lif32 - 0.03))
    targets.append(("E2", "FeLIF-BRUNO 3 bit > LIF 3 bit",
                    None if None in (lif3, fe3) else "%.2f vs %.2f" % (100 * fe3, 100 * lif3),
                    None if None in (lif3, fe3) else fe3 > lif3))
    # the coarse-only target is restated (issue 17): the authors' configuration, BRUNO ahead on
    # the device by >= 30 points (plots/restated.py, restated_targets.csv); this grid's coarse rows
    # stay in the table
    return out


# ---------------------------------------------------------------- the E2 table on the event file (issue 17 §2)
def run_sizes(train_dir, g):
    """(n_train, n_test, n_steps) of the first run with a summary, or None"""
    for (neuron, trainer, bits), runs in sorted(g.items(), key=str):
        for seed, _, _, _ in runs:
            name = "braille-events_%s_%s_%s_s%d" % (neuron, trainer, bits, seed)
            try:
                with open(os.path.join(train_dir, name, "summary.json")) as f:
                    j = json.load(f)
                return j.get("n_train"), j.get("n_test", j.get("n_val")), j.get("n_steps")
            except (OSError, ValueError):
                continue
    return None


def nn_baseline(path):
    """rows of a `bruno-bench nn` CSV (one per bin width), or []"""
    try:
        with open(path) as f:
            return [{k: fnum(v) if k not in ("task", "eval") else v for k, v in r.items()} for r in csv.DictReader(f)]
    except OSError:
        return []


def nn_line(rows, what):
    """one sentence: the 1-NN test accuracy of each bin width (events) or of the file (raw)"""
    if not rows:
        return "1-nearest-neighbour baseline on %s: not run (`bruno-bench nn`, bench/grid.py nn_runs)." % what
    r0 = rows[0]
    if len(rows) == 1 and not r0.get("bin_s"):
        acc = "%.2f %%" % (100 * r0["acc"])
    else:
        acc = ", ".join("%.2f %% at %g ms" % (100 * r["acc"], 1e3 * r["bin_s"]) for r in rows)
    return ("1-nearest-neighbour classifier (Euclidean, on the network's own input, %d train / %d test samples; "
            "`bruno-bench nn`) on %s: %s." % (r0["n_train"], r0["n_test"], what, acc))


def events_intro(args, g):
    sz = run_sizes(args.train_dir, g)
    size = "%d train / %d test samples, %d network steps" % sz if sz and None not in sz else "sizes: no run yet"
    return ["# Braille letters on the 5400-sample event file (EXPERIMENTS E2, issue 17 §2): test accuracy, %\n",
            "Ours: `bruno-bench train --task braille-events` on the θ = 10 sigma-delta event file (27 x 200; "
            "%s), SCALE=%s, hyper-parameters from `reference/hparams/braille-events_*.txt` (selected or checked on "
            "a validation split, each file says which); seeds and epochs per row (the quick scale's are cut to "
            "its 45-minute budget, bench/grid.py TRAIN_SCALE). Columns as in the raw-file table; the "
            "paper's column is its 5400-sample file (a raw-data pipeline, 150 epochs, 50 seeds), the same "
            "samples in another encoding.\n" % (size, args.scale)]


def braille_events(args, names, paper):
    out = braille(args, names, paper, [], task="braille-events", curves_csv="braille_events_curves.csv")
    g = group(args.train_dir, names, "braille-events")
    planned = lambda heracles: {r[3] for k, runs in g.items() if (k[0] == "heracles") == heracles
                                for r in runs if r[3]}
    h, rest = planned(True), planned(False)
    if h and rest and max(h) < max(rest):
        out.append("")
        out.append("Heracles rows at a reduced scale: %s epoch(s) planned against %s for the other rows (a Heracles "
                   "epoch on this file costs several FeLIF ones; bench/grid.py TRAIN_SCALE)."
                   % ("/".join(str(x) for x in sorted(h)), "/".join(str(x) for x in sorted(rest))))
    out.append("")
    out.append(nn_line(nn_baseline(os.path.join(args.out_dir, "nn", "braille-events.csv")),
                       "the same split, at each bin width (a bin decides which events coincide)"))
    return out


def jsb(args, names, paper, targets):
    g = group(args.train_dir, names, "jsb")
    ref1 = paper_row(paper, "E3", "test_bce", "felif_bruno", "fp32", 1)
    ref19 = paper_row(paper, "E3", "test_bce", "felif_bruno", "fp32", 19)
    out = []
    out.append("# JSB chorales (EXPERIMENTS E3): test split\n")
    out.append("Ours: `bruno-bench train --task jsb`, SCALE=%s, mean over seeds. BCE = mean sigmoid BCE over "
               "the 54 cropped keys and the steps after 5 warm-up steps (the training loss; the paper's "
               "number); NLL per frame over all 88 keys (nats) and frame accuracy TP/(TP+FP+FN) as in the "
               "music literature. \"Lowest valid loss\": the epoch whose validation-split loss (the plateau's, "
               "`plateau_loss`) is lowest, with its test BCE: no epoch is chosen on the test split. "
               "Paper: the authors' BRUNO FeLIF run (`reference/paper.csv`).\n" % args.scale)
    out.append("| network | seeds | epochs | BCE @1 | BCE @19 | BCE, final | BCE at the lowest valid loss (epoch) | NLL/frame, final | frame acc, final | paper BCE @1 | paper BCE @19 |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    curves = []
    stats = {}
    for (neuron, trainer), label, pnet in JSB:
        runs = g.get((neuron, trainer, 32))
        if not runs:
            continue
        done = [r for r in runs if r[1]]
        note = status_note([(r[0], r[2], r[3]) for r in runs])

        def at(ep, col="test_loss", done=done):
            xs = [x[col] for r in done for x in r[1] if int(x["epoch"]) == ep]
            return mean_sd(xs)[0] if len(xs) == len(done) and xs else None
        fin = mean_sd([r[1][-1]["test_loss"] for r in done])[0]
        nll = mean_sd([r[1][-1].get("test_nll_frame") for r in done if r[1][-1].get("test_nll_frame") is not None])[0]
        fa = mean_sd([r[1][-1].get("test_frame_acc") for r in done if r[1][-1].get("test_frame_acc") is not None])[0]
        # the epoch is chosen on the validation split (plateau_loss), never on the test split (issue 17);
        # runs made before that column have no such epoch
        best = min(((x["plateau_loss"], x["test_loss"], int(x["epoch"])) for r in done for x in r[1]
                    if x.get("plateau_loss") is not None), default=(None, None, None))[1:]
        eps = sorted(set(int(r[1][-1]["epoch"]) for r in done))
        first20 = [mean_sd([x["test_loss"] for r in done for x in r[1] if int(x["epoch"]) == e])[0]
                   for e in range(1, 21)]
        first20 = [x for x in first20 if x is not None]
        stats[(neuron, trainer)] = {"final": fin, "min20": min(first20) if first20 else None,
                                   "ep": eps[-1] if eps else None, "at": at}
        f4 = lambda x: "—" if x is None else "%.4f" % x
        out.append("| %s | %d%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, len(done), (" (" + note + ")") if note else "", "/".join(str(e) for e in eps) or "—",
            f4(at(1)), f4(at(19)), f4(fin),
            "—" if best[0] is None else "%.4f (%d)" % best, "—" if nll is None else "%.3f" % nll,
            "—" if fa is None else "%.4f" % fa,
            ref1["value"] if (ref1 and pnet) else "—", ref19["value"] if (ref19 and pnet) else "—"))
        by_ep = defaultdict(list)
        for r in done:
            for x in r[1]:
                by_ep[int(x["epoch"])].append(x)
        for ep in sorted(by_ep):
            xs = by_ep[ep]
            mcol = lambda c: "%.6g" % mean_sd([x[c] for x in xs if x.get(c) is not None])[0] \
                if any(x.get(c) is not None for x in xs) else "NaN"
            curves.append(["%s_%s" % (neuron, trainer), ep, len(xs), mcol("train_loss"), mcol("test_loss"),
                           mcol("test_nll_frame"), mcol("test_frame_acc")])
    if len(out) == 4:
        out.append("| not run | | | | | | | | | | |")
    with open(os.path.join(args.train_dir, "jsb_curves.csv"), "w") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["series", "epoch", "n_seeds", "train_loss", "test_loss", "test_nll_frame", "test_frame_acc"])
        w.writerows(curves)
    br, bp = stats.get(("felif", "bruno")), stats.get(("felif", "bptt"))
    targets.append(("E3", "FeLIF-BRUNO test BCE <= 0.18 within 20 epochs",
                    None if not br or br["min20"] is None else "min over epochs 1-%d: %.4f" % (min(20, br["ep"]), br["min20"]),
                    None if not br or br["min20"] is None else br["min20"] <= 0.18))
    # compared at the last epoch both have (a run still going is compared where it is)
    ok = br and bp and br["ep"] and bp["ep"]
    if ok:
        ep = min(br["ep"], bp["ep"])
        xb, xp = br["at"](ep), bp["at"](ep)
        ok = xb is not None and xp is not None
    targets.append(("E3", "BRUNO final test BCE within 2 % of exact BPTT's",
                    None if not ok else "%.4f vs %.4f at epoch %d (%+.2f %%)" % (xb, xp, ep, 100 * (xb / xp - 1)),
                    None if not ok else abs(xb / xp - 1) <= 0.02))
    return out


JSB_WALL_TARGET = 4.0  # issue 14 section 2: exact BPTT's wall time at most 4 times BRUNO's


def load_wall(train_dir, name):
    """wall.csv of a run: {epoch: (wall_s, train_s)}"""
    out = {}
    try:
        with open(os.path.join(train_dir, name, "wall.csv")) as f:
            for r in csv.DictReader(f):
                e, w, t = fnum(r.get("epoch")), fnum(r.get("wall_s")), fnum(r.get("train_s"))
                if e is not None and w is not None:
                    out[int(e)] = (w, t)
    except OSError:
        pass
    return out


def jsb_wall_ratio(args, names, targets):
    """exact BPTT's wall time over BRUNO's, from the grid's own JSB runs' wall.csv: per seed both
    ran, over the epochs both finished (a run still going is compared where it is)"""
    by = defaultdict(dict)  # seed -> trainer -> {epoch: (wall_s, train_s)}
    for n in names:
        p = parse_name(n)
        if p and p[:2] == ("jsb", "felif") and p[2] in ("bptt", "bruno") and p[3] == 32:
            by[p[4]][p[2]] = load_wall(args.train_dir, n)
    tot = {"bptt": [0.0, 0.0], "bruno": [0.0, 0.0]}
    eps, seeds = 0, 0
    for seed, d in sorted(by.items()):
        if "bptt" not in d or "bruno" not in d:
            continue
        common = sorted(set(d["bptt"]) & set(d["bruno"]))
        if not common:
            continue
        seeds += 1
        eps = max(eps, len(common))
        for tr in tot:
            tot[tr][0] += sum(d[tr][e][0] for e in common)
            tot[tr][1] += sum(d[tr][e][1] or 0.0 for e in common)
    ok = seeds > 0 and tot["bruno"][0] > 0
    r = tot["bptt"][0] / tot["bruno"][0] if ok else None
    rt = tot["bptt"][1] / tot["bruno"][1] if ok and tot["bruno"][1] > 0 else None
    targets.append(("E3", "JSB exact BPTT wall time <= %g x BRUNO's (issue 14; the runs' wall.csv)" % JSB_WALL_TARGET,
                    None if not ok else "%.2f x (%.1f vs %.1f min over %d epochs, %d seed%s; both walls include the same forward-only test "
                        "and validation passes; the training passes alone: %s)" % (
                        r, tot["bptt"][0] / 60, tot["bruno"][0] / 60, eps, seeds, "" if seeds == 1 else "s",
                        "—" if rt is None else "%.2f x" % rt),
                    None if not ok else r <= JSB_WALL_TARGET))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", required=True, help="file: one run name a line")
    ap.add_argument("--train-dir", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--scale", default="?")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    try:
        with open(a.runs) as f:
            names = [l.strip() for l in f if l.strip()]
    except OSError:
        names = []
    paper = load_paper(a.reference)
    targets = []
    os.makedirs(a.train_dir, exist_ok=True)
    os.makedirs(a.out_dir, exist_ok=True)
    b = braille(a, names, paper, targets)
    if a.scale != "long":   # SCALE=long's tables (ROOT/long) sit beside the quick ones, which have it
        b += ["", nn_line(nn_baseline(os.path.join(a.out_dir, "nn", "braille-raw.csv")), "the same split")]
    j = jsb(a, names, paper, targets)
    jsb_wall_ratio(a, names, targets)
    tgt = ["", "## The issue's targets (SCALE=%s)\n" % a.scale, "| experiment | target | measured | result |",
           "|---|---|---|---|"]
    for exp, what, val, ok in targets:
        tgt.append("| %s | %s | %s | %s |" % (exp, what, val or "not run", "not run" if ok is None else
                                               ("PASS" if ok else "FAIL")))
    bt = [l for l in tgt if True]
    with open(os.path.join(a.out_dir, "braille_table.md"), "w") as f:
        f.write("\n".join(b + [l for l in bt if not l.startswith("| E3")]) + "\n")
    if any(n.startswith("braille-events_") for n in names):
        with open(os.path.join(a.out_dir, "braille_events_table.md"), "w") as f:
            f.write("\n".join(braille_events(a, names, paper)) + "\n")
    with open(os.path.join(a.out_dir, "jsb_table.md"), "w") as f:
        f.write("\n".join(j + [l for l in bt if not l.startswith("| E2")]) + "\n")
    with open(os.path.join(a.out_dir, "train_targets.csv"), "w") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["experiment", "target", "measured", "result"])
        for exp, what, val, ok in targets:
            w.writerow([exp, what, val or "", "not run" if ok is None else ("PASS" if ok else "FAIL")])


if __name__ == "__main__":
    main()
