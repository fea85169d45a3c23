#!/usr/bin/env python3
"""bench/grid_estimate.py - what a SCALE's grid costs on this machine (`make grid-estimate`).

    grid_estimate.py --results results [--scale paper] [--cores N] [--probe BENCH]
                     [--out results/grid_estimate.md] [--csv results/grid_estimate.csv]

Projects the CPU-hours and the wall time of the training runs of
`bench/grid.py` at --scale (default paper: Braille every model and bit
width, 50 seeds, 150 epochs; JSB every trainer, 50 seeds, 100 epochs) from
the per-epoch times that finished runs wrote into their own wall.csv on
this machine, under ROOT/train/ and ROOT/grid-probe/. A configuration is a
run name without its seed (`braille-raw_felif_bruno_3_s7` ->
`braille-raw_felif_bruno_3`); its per-epoch time is the mean over every
finished epoch of every run of it found (any seed, any SCALE; runs with
--limit-train/--limit-test or more than one thread are not used), each
times the CPU share of the process that ran it (cpu_s / wall_s from
ROOT/grid-probe/NAME.probe.json or the runner's ROOT/.runs/train/NAME.json,
1 when neither exists): the runs are single-threaded, so that is their
time on a core of their own, which a shared machine's wall time is not.

--probe BENCH: first trains, one after the other, the first --probe-epochs
epochs (default 1) of seed 0 of every configuration that has no finished
epoch yet, into ROOT/grid-probe/NAME (same arguments as the grid's run,
bar --epochs; `nice -n 10`). About two CPU-minutes for the whole paper
grid before any optimisation.

The formula (also written into the output):

    t_epoch(c)  = mean train_s(c) * f_train + mean test_s(c) * f_test
                  (over the epochs after each run's first)
    x_1(c)      = (mean first-epoch time(c) - t_epoch(c)) * f_train
                  (a run's first epoch also allocates and first touches its
                  workspace: paid once per run, not once per epoch; where
                  only first epochs were measured, they are t_epoch)
    T_run(r)    = E(r) * t_epoch(c(r)) + x_1(c(r))  (E: the grid's epochs)
    CPU-hours   = sum_r T_run(r) / 3600
    wall(C)     = makespan of the runner's schedule on C cores: runs start
                  in list order, each as soon as one of the C job slots is
                  free (bench/runner.py run -j C); bounds:
                  max(sum_r T_run / C, max_r T_run) <= wall(C)

f_train = f_test = 1 on the file the runs used. For the paper's Braille
file (--paper-samples, default 5400, with --paper-steps, default 102
network steps; EXPERIMENTS.md E2) the training and test splits keep the
measured runs' fraction and each sample costs in proportion to its steps:
f_train = f_test = (N' / (n_train + n_test)) * (T' / T), where n_train,
n_test and T are the measured runs' own (summary.json). JSB is not scaled.

The arithmetic floor (what the grid would cost if every fine-loop update
ran at the core's arithmetic limit and nothing else took time):

    U_epoch(c)  = lanes(c) * (S_train(c) * u_train(c) + S_eval(c) * u_eval(c))
    floor(c)    = U_epoch(c) / R_arith                  (seconds per epoch)
    floor CPU-hours = sum_r E(r) * floor(c(r)) * f / 3600, its wall the same
                  makespan on C cores

lanes: the neurons of the device (FeLIF-kind) layers, the fine loop's
lanes per sample; S_train, S_eval: samples x network steps of one epoch's
training pass and of its evaluation pass (summary.json: fine_lanes,
epoch_sample_steps_*); u_train: fine updates per lane and network step in
training: N + 1 for BRUNO (N forward, one coarse adjoint step), 2 N for
exact BPTT (N forward, N adjoint; checkpointing recomputes on top, so 2 N
is a floor for it too), 2 for the coarse-only trainer (one coarse step
forward and back); u_eval: N (coarse-only N + 1: the fine and the coarse
evaluation). R_arith: arithmetic_limit_updates_per_s of `bruno-bench
throughput` (the core's measured rate of independent 512-bit FMAs x 16
lanes / the 61 vector operations of one step of the AVX-512 FeLIF kernel,
bench/cmd_throughput.c), read from --throughput CSV, else from
ROOT/throughput.csv, else (with --probe) measured by `throughput
--phases-only` into ROOT/grid-probe/throughput.csv. An adjoint update
re-evaluates the lane and its Jacobian, so it costs at least a forward
one; another device's update counts as LANE_OPS[device] / 61 FeLIF ones
(Heracles 95 / 61, counted in the source of its AVX-512 kernel:
LANE_OPS below);
models without device layers (LIF, RLIF, SNU) have no fine loop and a
floor of 0 here (their dense products are not floored). The fast kernel
stops an item's fine loop once all its lanes froze, so a layer whose every
neuron spikes early in a step runs fewer than N updates there: a measured
epoch can in principle sit below this floor.

The E1, E4 and RRAM runs and the figures are not in the projection: they
are seconds to minutes (ROOT/.runs/*.json records each run's wall time)
against the training runs' hours. Standard library only.
"""
import argparse
import csv
import io
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grid  # noqa: E402

SOURCES = ("train", "grid-probe")


def config_of(name):
    """run name -> (configuration, seed), or None for a name that is not a grid run"""
    parts = name.split("_")
    if len(parts) != 5 or not parts[4].startswith("s") or not parts[4][1:].isdigit():
        return None
    return "_".join(parts[:4]), int(parts[4][1:])


def cpu_share(meta):
    """cpu_s / wall_s of the process that made a run (its .probe.json or the runner's .runs/ record), else 1"""
    try:
        with open(meta) as f:
            j = json.load(f)
        share = float(j["cpu_s"]) / float(j["wall_s"])
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
        return 1.0
    return min(1.0, share) if share > 0 else 1.0


def read_run(d):
    """(summary config dict, [(epoch, train_s, test_s), ...]) of a run directory, or None"""
    try:
        with open(os.path.join(d, "summary.json")) as f:
            s = json.load(f)
        with open(os.path.join(d, "wall.csv")) as f:
            rows = list(csv.DictReader(f))
        ep = [(int(r["epoch"]), float(r["train_s"]), float(r["test_s"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return s, ep


def measured(root):
    """configuration -> {train_s, test_s (means per epoch after a run's first), first_extra_s (the first
    epoch's time over that), epochs, runs, n_train, n_test, n_steps}"""
    out = {}
    for src in SOURCES:
        d = os.path.join(root, src)
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for n in names:
            c = config_of(n)
            got = read_run(os.path.join(d, n)) if c else None
            if not got or not got[1]:
                continue
            s, ep = got
            # one thread: its CPU time is its time on a core of its own
            share = cpu_share(os.path.join(d, n + ".probe.json") if src == "grid-probe" else
                              os.path.join(root, ".runs", "train", n + ".json"))
            ep = [(e, a * share, b * share) for e, a, b in ep]
            cfg = s.get("config", {})
            if cfg.get("limit_train") or cfg.get("limit_test") or cfg.get("threads", 1) != 1:
                continue
            m = out.setdefault(c[0], {"rows": [], "runs": [], "n_train": s.get("n_train"),
                                      "n_test": s.get("n_test"), "n_steps": s.get("n_steps"), "work": None})
            if m["work"] is None:
                m["work"] = work_of(s)
            m["rows"] += ep
            m["runs"].append(f"{src}/{n}")
    for m in out.values():
        # a run's first epoch also allocates its workspace and touches it first: once per run, not per
        # epoch (a 150-epoch run pays it once; the quick runs' 8 epochs would weigh it 19 times). Only
        # first epochs (one-epoch probes): they stand for every epoch.
        rows = m.pop("rows")
        first = [a + b for e, a, b in rows if e == 1]
        rest = [(a, b) for e, a, b in rows if e != 1] or [(a, b) for e, a, b in rows]
        if len(rest) == len(rows):
            first = []
        m["epochs"] = len(rows)
        m["train_s"] = sum(a for a, _ in rest) / len(rest)
        m["test_s"] = sum(b for _, b in rest) / len(rest)
        m["first_extra_s"] = sum(first) / len(first) - (m["train_s"] + m["test_s"]) if first else 0.0
    return out


# The vector operations of one 16-lane step of each device's fine loop, the
# floor's unit of work. FeLIF: 61, counted in the source of its AVX-512
# kernel (bench/cmd_throughput.c PHASE_LANE_OPS, R_arith's own divisor).
# Heracles: 95, counted the same way in the source of its AVX-512 windows
# (bruno.h: bruno__hv_eval, bruno__hv_rate and bruno__hv_block, one intrinsic each, the
# operations the forward pass reads): the lane 85 (a, b, P_s +- p 2 + 1 + 2;
# D and its zero test 5; w0 3 (one div); w_hi 3; the clamp of w 2 (min, max);
# 1/C_tot 2; the divider 2; E 4 (one div); beta d_e E 1; each rate's exponent,
# its max(., 0) and its floor 4 (sub, max, sub, max) and its exp2 9
# (roundscale, sub, mul, 5 fma, scalef), twice; dp/dt 3; p' 2; the clip of p
# 3 (abs, compare, vrange); the charge-conserving clip 2 (sub, masked div);
# sign(v) 2; e^(v/V_t) 1 + 9; I_leak 4; v' 6), the clip of v 1 (vrange), the freeze
# 9 (the active, spike and running compares, the masked moves of v, p and
# taken, kandn, kor). Each division counts as one operation, so this floor
# is optimistic too. It was 98 until 5bb4615 (exp2's n by the shifter's
# add and sub), 109 until d03c00a (the clamps and clips as
# compares and masked moves: 6 a rate, 4 for w, 5 for p, 4 for v). Before
# that kernel (3753242) the compiled portable loop had 119 (objdump -d:
# 25 mul, 17 add, 15 fma, 13 sub, 3 div, 28 compares and masks, 18 others).
LANE_OPS = {"felif": 61, "heracles": 95}


def work_of(s):
    """the fine-loop work of one epoch from a run's summary.json (None when the driver that wrote it did not record it)"""
    cfg = s.get("config", {})
    try:
        lanes = int(s["fine_lanes"])
        n = int(cfg["n_fine"]) if lanes else 0  # models without device layers have no n_fine
        s_tr, s_ev = int(s["epoch_sample_steps_train"]), int(s["epoch_sample_steps_" + s.get("eval", "test")])
    except (KeyError, TypeError, ValueError):
        return None
    tr = cfg.get("trainer", "bruno")
    u_tr = {"bruno": n + 1, "coarse": 2}.get(tr, 2 * n)  # bptt, checkpoint: N forward + N adjoint at least
    u_ev = n + 1 if tr == "coarse" else n
    # in FeLIF-equivalent updates: a device's own vector operations per 16-lane step over FeLIF's
    cost = LANE_OPS.get(cfg.get("neuron"), LANE_OPS["felif"]) / LANE_OPS["felif"]
    return {"lanes": lanes, "n_fine": n, "trainer": tr, "updates_train": lanes * s_tr * u_tr * cost,
            "updates_eval": lanes * s_ev * u_ev * cost, "lane_cost": cost}


def arith_rate(path):
    """arithmetic_limit_updates_per_s of a `bruno-bench throughput` CSV, or None"""
    try:
        with open(path) as f:
            m = {r[0]: r[1] for r in csv.reader(f) if len(r) == 2}
        v = float(m["arithmetic_limit_updates_per_s"])
    except (OSError, KeyError, ValueError):
        return None
    return v if v > 0 else None


def throughput_source(root, given=None, bench=None):
    """(path, R_arith) of the arithmetic limit: --throughput, ROOT/throughput.csv, else measured with --probe"""
    for p in ([given] if given else []) + [os.path.join(root, "throughput.csv"),
                                           os.path.join(root, "grid-probe", "throughput.csv")]:
        r = arith_rate(p)
        if r:
            return p, r
    if bench and not given:
        p = os.path.join(root, "grid-probe", "throughput.csv")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        cmd = ["nice", "-n", "10", bench, "throughput", "--phases-only", "--phase-ms", "10", "--phase-rounds", "5",
               "--out", p]
        print("grid-estimate: " + " ".join(cmd), flush=True)
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = arith_rate(p)
        if r:
            return p, r
    return None, None


def paper_runs(scale):
    """[(name, configuration, epochs)] of the grid's training runs, in the runner's order"""
    out = []
    for n in grid.train_order(grid.train_names(scale)):
        cfg = config_of(n)[0]
        # the run's own --epochs (the event-file runs have their own, Heracles there its own again)
        out.append((n, cfg, int(shlex.split(grid.train_args(n, scale))[-1])))
    return out


def probe(bench, root, scale, epochs, have):
    """the first `epochs` epochs of the first seed of every configuration not in `have`"""
    done = set(have)
    for name, cfg, _ in paper_runs(scale):
        if cfg in done:
            continue
        done.add(cfg)
        args = shlex.split(grid.train_args(name, scale))
        i = args.index("--epochs")
        args[i + 1] = str(epochs)
        out = os.path.join(root, "grid-probe", name)
        cmd = ["nice", "-n", "10", bench, "train"] + args + ["--out", out]
        print("grid-estimate: probe " + " ".join(cmd), flush=True)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        t0 = time.time()
        with open(out + ".log", "w") as log:
            p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            _, status, ru = os.wait4(p.pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        with open(out + ".probe.json", "w") as f:
            json.dump({"exit": rc, "wall_s": round(time.time() - t0, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                       "command": " ".join(cmd)}, f)
        if rc != 0:
            print(f"grid-estimate: probe {name} failed (exit {rc}), see {out}.log", file=sys.stderr)


def makespan(times, cores):
    """the runner's schedule: in list order, each run on the first free slot"""
    free = [0.0] * max(1, cores)
    for t in times:
        i = min(range(len(free)), key=free.__getitem__)
        free[i] += t
    return max(free)


def estimate(root, scale="paper", cores=None, paper_samples=5400, paper_steps=102, arith=(None, None)):
    """the projection as a dict (None-valued parts where a configuration was never measured);
    arith: (source, R_arith) of the floor, or (None, None)"""
    cores = cores or os.cpu_count() or 1
    meas = measured(root)
    runs = paper_runs(scale)
    res = {"scale": scale, "cores": cores, "configs": [], "missing": [], "variants": {},
           "arith_source": arith[0], "arith_rate": arith[1]}
    for m in meas.values():  # the floor of one epoch on the runs' own file [s]
        w = m.get("work")
        m["floor_s"] = (w["updates_train"] + w["updates_eval"]) / arith[1] if w and arith[1] else None
    for cfg in dict.fromkeys(c for _, c, _ in runs):
        n = sum(1 for _, c, _ in runs if c == cfg)
        ep = next(e for _, c, e in runs if c == cfg)
        m = meas.get(cfg)
        if not m:
            res["missing"].append(cfg)
        res["configs"].append((cfg, n, ep, m))
    if res["missing"]:
        return res
    # the 5400-sample Braille file: the measured runs' split fraction and steps
    # the issue-14 grid is the raw-file table and JSB ("_raw" variants); the event-file table
    # (issue 17, already the 5400-sample file) comes on top in the plain variants
    for variant in ("measured", "paper_file", "measured_raw", "paper_file_raw"):
        times = []
        for name, cfg, ep in runs:
            if variant.endswith("_raw") and cfg.startswith("braille-events"):
                continue
            m = meas[cfg]
            ftr = fte = 1.0
            if variant.startswith("paper_file") and cfg.startswith("braille-raw"):
                # (N' n_train / N) / n_train * T' / T: the same for the test split
                ftr = fte = paper_samples / (m["n_train"] + m["n_test"]) * paper_steps / m["n_steps"]
            fl = ep * m["floor_s"] * ftr if m["floor_s"] is not None else None
            times.append((name, cfg, ep * (m["train_s"] * ftr + m["test_s"] * fte) + m["first_extra_s"] * ftr, fl))
        t = [x[2] for x in times]
        by, by_cfg = {}, {}
        for _, cfg, x, _ in times:
            by[cfg.split("_")[0]] = by.get(cfg.split("_")[0], 0.0) + x
            by_cfg[cfg] = by_cfg.get(cfg, 0.0) + x
        res["variants"][variant] = {
            "cpu_h": sum(t) / 3600, "wall_h": makespan(t, cores) / 3600,
            "lower_h": max(sum(t) / cores, max(t)) / 3600, "longest_h": max(t) / 3600,
            "by_task_cpu_h": {k: v / 3600 for k, v in by.items()},
            "share": {k: v / sum(t) for k, v in by_cfg.items()}, "runs": len(t)}
        fl = [x[3] for x in times]
        if all(x is not None for x in fl):
            res["variants"][variant].update({"floor_cpu_h": sum(fl) / 3600, "floor_wall_h": makespan(fl, cores) / 3600})
    return res


def braille_file(res):
    m = next((m for c, _, _, m in res["configs"] if m and c.startswith("braille-raw")), None)
    return m


def markdown(res, target_h=None, paper_samples=5400, paper_steps=102):
    out = []
    sc, C = res["scale"], res["cores"]
    out.append(f"# What SCALE={sc}'s training grid costs on this machine\n")
    out.append("`make grid-estimate` (`bench/grid_estimate.py`): per-epoch times from the finished runs' own "
               "`wall.csv` (`results/train/`, `results/grid-probe/`), the grid of `bench/grid.py`.\n")
    sh = {v: x["share"] for v, x in res["variants"].items()}
    out.append("| configuration | runs | epochs each | train s / epoch | test s / epoch | first epoch's extra s | "
               "epochs measured | "
               "CPU-hours (all its runs) | share of the CPU-hours (runs' file / %d samples) | fine updates / epoch (FeLIF-equivalent) | "
               "floor s / epoch | measured / floor |" % paper_samples)
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for cfg, n, ep, m in res["configs"]:
        if m:
            w, fl, t = m.get("work"), m.get("floor_s"), m["train_s"] + m["test_s"]
            share = ("%.1f %% / %.1f %%" % (100 * sh["measured"][cfg], 100 * sh["paper_file"][cfg])) if sh else "-"
            upd = "%.3g" % (w["updates_train"] + w["updates_eval"]) if w else "not recorded"
            out.append("| %s | %d | %d | %.3f | %.3f | %.3f | %d | %.2f | %s | %s | %s | %s |" % (
                cfg, n, ep, m["train_s"], m["test_s"], m["first_extra_s"], m["epochs"],
                n * (ep * t + m["first_extra_s"]) / 3600, share, upd,
                "%.3f" % fl if fl is not None else "-", "%.1fx" % (t / fl) if fl else "- (no fine loop)" if w and fl is not None else "-"))
        else:
            out.append("| %s | %d | %d | not run | not run | - | 0 | - | - | - | - | - |" % (cfg, n, ep))
    out.append("")
    if res["missing"]:
        out.append("No projection: %d configuration(s) have no finished epoch (%s); `make grid-estimate` "
                   "trains one epoch of each (PROBE=1, the default).\n" % (len(res["missing"]),
                                                                         ", ".join(res["missing"])))
        return "\n".join(out) + "\n"
    m = braille_file(res)
    out.append("Formula (E: the grid's epochs of run r, c(r) its configuration, C = %d cores, this machine's "
               "`nproc`):\n" % C)
    out.append("    t_epoch(c) = mean train_s(c) * f_train + mean test_s(c) * f_test   (the epochs after a run's first)")
    out.append("    x_1(c)     = (mean first-epoch time(c) - t_epoch(c)) * f_train    (a run's set-up: its workspace "
               "allocated and touched first, cold caches)")
    out.append("    T_run(r)   = E(r) * t_epoch(c(r)) + x_1(c(r))")
    out.append("    CPU-hours  = sum_r T_run(r) / 3600")
    out.append("    wall(C)    = makespan of the runner's list schedule (list order, each run on the first "
               "free of C slots)")
    out.append("                 >= max(sum_r T_run(r) / C, max_r T_run(r))\n")
    if m:
        N = m["n_train"] + m["n_test"]
        out.append("f_train = f_test = 1 on the Braille file the runs used (raw file: %d train + %d test samples, %d steps). "
                   "For the paper's %d-sample file (%d network steps, EXPERIMENTS.md E2), same split fraction "
                   "and a sample's cost in proportion to its steps: f_train = f_test = (%d / %d) * (%d / %d) = "
                   "%.3f. The event-file runs (already 5400 samples) and JSB: f = 1.\n" % (m["n_train"], m["n_test"], m["n_steps"], paper_samples, paper_steps,
                                         paper_samples, N, paper_steps, m["n_steps"],
                                         paper_samples / N * paper_steps / m["n_steps"]))
    out.append("| Braille file | runs | CPU-hours (Braille + JSB) | Braille | JSB | longest run [h] | "
               "wall on %d cores [h] | lower bound [h] |%s" % (C, " target |" if target_h else ""))
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|%s" % ("---|" if target_h else ""))
    for v, label in variant_labels(paper_samples):
        x = res["variants"][v]
        b = sum(h for k, h in x["by_task_cpu_h"].items() if k.startswith("braille"))
        j = sum(h for k, h in x["by_task_cpu_h"].items() if k.startswith("jsb"))
        tgt = ""
        if target_h:
            tgt = " %s |" % ("met (<= %g h)" % target_h if x["wall_h"] <= target_h else "not met (> %g h)" % target_h)
        out.append("| %s | %d | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f |%s" % (
            label, x["runs"], x["cpu_h"], b, j, x["longest_h"], x["wall_h"], x["lower_h"], tgt))
    out.append("")
    out += floor_markdown(res, paper_samples, target_h)
    out.append("Per-epoch times are `wall.csv`'s times the run's CPU share (cpu_s / wall_s of its process): a "
               "single-threaded run's time on a core of its own. Cache and memory bandwidth shared with other "
               "jobs still slow it, and the first epochs of a run stand for all of its epochs (the spike "
               "counts, and so the skipped products, change as a network trains).\n")
    return "\n".join(out) + "\n"


def variant_labels(paper_samples):
    """the projection's variants, as the tables name them"""
    return (("measured_raw", "the runs' own, raw-file table + JSB (the issue-14 grid)"),
            ("paper_file_raw", "scaled to %d samples, raw-file table + JSB" % paper_samples),
            ("measured", "the runs' own, + the event-file table"),
            ("paper_file", "raw file scaled to %d samples, + the event-file table" % paper_samples))


def floor_markdown(res, paper_samples, target_h=None):
    """the arithmetic floor of the grid: formula, source of R_arith, totals (lines)"""
    out = ["## The arithmetic floor\n"]
    if not res["arith_rate"]:
        return out + ["Not computed: no arithmetic limit (`arithmetic_limit_updates_per_s` of `bruno-bench throughput`, "
                      "AVX-512 float builds only; --throughput CSV or --probe).\n"]
    out.append("What the grid would cost if every fine-loop update ran at the core's arithmetic limit and nothing else "
               "took time (bench/grid_estimate.py's docstring):\n")
    out.append("    U_epoch(c) = lanes(c) * (S_train(c) * u_train(c) + S_eval(c) * u_eval(c))")
    out.append("    floor(c)   = U_epoch(c) / R_arith")
    out.append("    u_train    = N + 1 (BRUNO), 2 N (BPTT, checkpointing at least), 2 (coarse-only);"
               " u_eval = N (coarse-only N + 1)\n")
    out.append("lanes: neurons of the device layers; S: samples x network steps of an epoch's training and evaluation "
               "pass (the runs' summary.json). R_arith = %.4g updates/s: `arithmetic_limit_updates_per_s` of `%s` "
               "(the measured rate of independent 512-bit FMAs x 16 lanes / the 61 vector operations of one "
               "AVX-512 FeLIF step). A Heracles update counts as %d / %d FeLIF ones (the vector operations of its "
               "16-lane AVX-512 step over FeLIF's; bench/grid_estimate.py LANE_OPS says how they were counted); LIF, RLIF and SNU have no fine loop and a floor of 0 (their dense products are not "
               "floored).\n" % (res["arith_rate"], res["arith_source"], LANE_OPS["heracles"], LANE_OPS["felif"]))
    tcol = " the target at the floor |" if target_h else ""
    out.append("| Braille file | CPU-hours measured | floor CPU-hours | measured / floor | floor wall on %d cores [h] |%s"
               % (res["cores"], tcol))
    out.append("|---|---:|---:|---:|---:|%s" % ("---|" if target_h else ""))
    for v, label in variant_labels(paper_samples):
        x = res["variants"][v]
        if "floor_cpu_h" not in x:
            out.append("| %s | %.1f | - | - | - |%s" % (label, x["cpu_h"], " - |" if target_h else ""))
            continue
        tgt = ""
        if target_h:  # whether even the floor meets the wall-time target
            tgt = " %s |" % ("within %g h" % target_h if x["floor_wall_h"] <= target_h else "above %g h" % target_h)
        out.append("| %s | %.1f | %.1f | %.1fx | %.1f |%s" % (label, x["cpu_h"], x["floor_cpu_h"],
                                                              x["cpu_h"] / x["floor_cpu_h"], x["floor_wall_h"], tgt))
    out.append("")
    return out


def write_csv(res, path):
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["configuration", "runs", "epochs", "train_s_per_epoch", "test_s_per_epoch", "first_epoch_extra_s",
                "epochs_measured",
                "measured_in", "fine_updates_per_epoch", "floor_s_per_epoch", "share_of_cpu_h"])
    for cfg, n, ep, m in res["configs"]:
        wk, fl = (m.get("work"), m.get("floor_s")) if m else (None, None)
        share = res["variants"].get("measured", {}).get("share", {}).get(cfg)
        w.writerow([cfg, n, ep] + ([f"{m['train_s']:.4f}", f"{m['test_s']:.4f}", f"{m['first_extra_s']:.4f}",
                                    m["epochs"], " ".join(m["runs"])] if m else ["", "", "", 0, ""]) +
                   [wk["updates_train"] + wk["updates_eval"] if wk else "", f"{fl:.4f}" if fl is not None else "",
                    f"{share:.4f}" if share is not None else ""])
    for v, x in res["variants"].items():
        fl = (f" floor_cpu_h={x['floor_cpu_h']:.3f} floor_wall_h={x['floor_wall_h']:.3f} R_arith={res['arith_rate']:.4g}"
              if "floor_cpu_h" in x else "")
        w.writerow([f"total_{v}", x["runs"], "", "", "", "", f"cpu_h={x['cpu_h']:.3f} wall_h={x['wall_h']:.3f} "
                    f"lower_h={x['lower_h']:.3f} cores={res['cores']}" + fl])
    with open(path + ".tmp", "w") as o:
        o.write(f.getvalue())
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--scale", default="paper", choices=list(grid.TRAIN_SCALE))
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--probe", metavar="BENCH", help="train the first epochs of unmeasured configurations first")
    ap.add_argument("--probe-epochs", type=int, default=1)
    ap.add_argument("--paper-samples", type=int, default=5400)
    ap.add_argument("--paper-steps", type=int, default=102)
    ap.add_argument("--target-hours", type=float, default=grid.GRID_TARGET_H,
                    help="the wall-time target to mark (default bench/grid.py GRID_TARGET_H)")
    ap.add_argument("--throughput", metavar="CSV",
                    help="`bruno-bench throughput` CSV with the arithmetic limit of the floor (default ROOT/throughput.csv)")
    ap.add_argument("--out")
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.cores < 1 or a.probe_epochs < 1 or a.paper_samples < 1 or a.paper_steps < 1:
        sys.exit("grid_estimate: --cores, --probe-epochs, --paper-samples and --paper-steps must be >= 1")
    if a.probe:
        probe(a.probe, a.results, a.scale, a.probe_epochs, measured(a.results))
    res = estimate(a.results, a.scale, a.cores, a.paper_samples, a.paper_steps,
                   throughput_source(a.results, a.throughput, a.probe))
    md = markdown(res, a.target_hours, a.paper_samples, a.paper_steps)
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out + ".tmp", "w") as o:
            o.write(md)
        os.replace(a.out + ".tmp", a.out)
    if a.csv:
        write_csv(res, a.csv)
    sys.stdout.write(md)
    return 1 if res["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
