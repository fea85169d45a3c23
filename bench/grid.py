#!/usr/bin/env python3
"""bench/grid.py - the experiment grid of `make reproduce`, as data.

    grid.py list  --scale quick|paper [--part e1|train|...]   the run list (stdout)
    grid.py names --scale quick|paper --part train            run names only
    grid.py e1args NAME                  memtime options of an E1 configuration name

Every run the suite knows is one line of a run list, in the format of
ci/runs.txt, which bench/runner.py executes:

    NAME  KIND  ARGS...

  KIND   memtime, gradcheck, train, rram, trace, converge: `bruno-bench KIND
         ARGS`; script: ARGS is the whole command (e.g. python3 plots/x.py).
  OUT    the run's output, by rule: ROOT/NAME for train (a directory),
         ROOT/NAME.csv otherwise. ROOT is results/ for `make reproduce`,
         build/ci/ for `make ci`. NAME may name a subdirectory
         (e1/memtime/..., train/...).
  ARGS   ${OUT}, ${ROOT} and ${BENCH} are replaced; `--out OUT` is appended
         unless ${OUT} appears; a trailing `2> FILE` sends stderr to FILE.

The grid below is the one the Makefile spelled out in Make rules before
(issue 15); tests/grid_check.sh proves that the command lines are the same,
argument for argument, for SCALE=quick and SCALE=paper. The order of each
part is the order the runs start in: longest first, so that two jobs keep
two cores busy until the end.

`post(scale, root)` lists what is made from the runs (merged CSVs, figures,
tables, REPORT.md); `runner.py post` makes it from whatever runs finished.
Standard library only.
"""
import argparse
import sys

# ---------------------------------------------------------------- E1 memory and time (EXPERIMENTS E1, E5)
# One `bruno-bench memtime` per configuration; the name is the configuration:
#   NEURON_TRAINER_SCHEDULE_K_hHIDDEN_sSEQMS_rREPEATS
E1_HIDDEN = [64, 128, 256]
# trainers timed on the whole hidden x sequence grid: the paper's set-up
# (binomial checkpointing with 31 checkpoints per network step) and a plain
# uniform schedule with the same budget
E1_METHODS = ["felif_bptt_none_0", "felif_bruno_none_0", "felif_checkpoint_binomial_31",
              "felif_checkpoint_uniform_31", "lif_bptt_none_0", "rlif_bptt_none_0"]
# revolve over the whole sequence at two budgets
E1_SEQSCHED = ["felif_checkpoint_sequence_8", "felif_checkpoint_sequence_32"]
# the trade-off figure: checkpointing at several budgets K at one point
E1_TRADE_H = 128
E1_TRADE_K = [2, 4, 8, 16, 31, 64, 128]
E1_TRADE_KSEQ = [2, 4, 8, 16, 32, 64]
# gradient fidelity: N at dt = 1 ms; dt at h = dt/N = 1 us
E1_GC_ARGS = "--hidden 128 --seq-ms 100"
E1_GC_N = "1,3,10,30,100,300,1000"
E1_GC_DT_MS = ["0.1", "0.2", "0.5", "1", "2", "5"]
# the two targets (also ci/runs.txt's ratio thresholds)
E1_TARGET = {"hidden": 128, "seq": 500, "mem": 0.01, "time": 0.45}

E1_SCALE = {
    # quick: the sequence schedule at hidden 128 only, one repeat, trade-off at 100 ms
    "quick": {"seq": [10, 50, 100, 200, 500], "repeats": 1, "seq_hidden": [128], "trade_seq": 100},
    # paper: every schedule at every hidden size, 3 repeats, also 20 ms, trade-off at 500 ms
    "paper": {"seq": [10, 20, 50, 100, 200, 500], "repeats": 3, "seq_hidden": E1_HIDDEN, "trade_seq": 500},
}


def e1_args(name):
    """memtime options of a configuration name"""
    neuron, trainer, schedule, k, h, s, r = name.split("_")
    a = f"--neuron {neuron} --trainer {trainer}"
    if trainer == "checkpoint":
        a += f" --schedule {schedule} --checkpoints {k}"
    return a + f" --hidden {h[1:]} --seq-ms {s[1:]} --repeats {r[1:]}"


def e1_names(scale):
    c = E1_SCALE[scale]
    r = c["repeats"]
    grid = lambda configs, hidden: [f"{m}_h{h}_s{s}_r{r}" for m in configs for h in hidden for s in c["seq"]]
    names = grid(E1_METHODS, E1_HIDDEN) + grid(E1_SEQSCHED, c["seq_hidden"])
    names += [f"felif_checkpoint_{sc}_{k}_h{E1_TRADE_H}_s{c['trade_seq']}_r{r}"
              for sc in ("binomial", "uniform") for k in E1_TRADE_K]
    names += [f"felif_checkpoint_sequence_{k}_h{E1_TRADE_H}_s{c['trade_seq']}_r{r}" for k in E1_TRADE_KSEQ]
    # a name listed twice (the trade-off point is also on the grid) is one run
    return list(dict.fromkeys(names))


def e1_runs(scale):
    runs = [(f"e1/memtime/{n}", "memtime", e1_args(n)) for n in e1_names(scale)]
    runs.append(("e1/gradcheck_n", "gradcheck", f"{E1_GC_ARGS} --n-fine {E1_GC_N}"))
    runs.append(("e1/gradcheck_n_rategrad", "gradcheck", f"{E1_GC_ARGS} --n-fine {E1_GC_N} --rate-grad"))
    for d in E1_GC_DT_MS:
        runs.append((f"e1/gradcheck_dt_{d}", "gradcheck", f"{E1_GC_ARGS} --dt {d}e-3 --n-fine {float(d) * 1000:g}"))
    return runs


# ---------------------------------------------------------------- E4 device figures, RRAM
PULSE_SIGMA = 0.1


def e4_runs(scale):
    return [
        # FeLIF under 308 pA DC, 100 network steps of 1 ms
        ("felif_dc", "trace", "--neuron felif --current 308e-12 --duration 0.1"),
        # +-1 nA pulses of 20 ms, 50 neurons with 10 % device-to-device variability
        ("felif_pulses", "trace", "--pulses --pulse-amp 1e-9 --pulse-width 20e-3 --neurons 50 "
                                  f"--sigma {PULSE_SIGMA:g} --seed 1 --duration 0.16"),
        # Euler at h = 100 us ... 10 ns vs RK4 at 1 ns
        ("converge", "converge", "--out ${OUT} --traj-out ${ROOT}/converge_traj.csv "
                                 "--spikes-out ${ROOT}/converge_spikes.csv"),
    ]


def rram_runs(scale):
    runs = []
    # conductance vs compliance current, 5-400 uA, for each scheme and geometry
    for s in ("compliance", "fixed-n"):
        for g in ("mean", "upper", "lower"):
            runs.append((f"rram/curve_{s}_{g}", "rram",
                         f"curve --scheme {s} --geometry {g} --icc-min 5e-6 --icc-max 400e-6 --points 80"))
    # the 8 states of 1000 devices (uniform +-10 %); the per-state summary goes to states_*.txt
    for s in ("fixed-n", "compliance"):
        runs.append((f"rram/states_{s}", "rram",
                      f"states --scheme {s} --devices 1000 --seed 1 --out ${{OUT}} 2> ${{ROOT}}/rram/states_{s}.txt"))
    runs.append(("rram/fit", "rram", "fit --points 80"))
    return runs


# ---------------------------------------------------------------- training (EXPERIMENTS E2, E3)
# One `bruno-bench train --hparams auto` per run, results/train/<task>_<neuron>_<trainer>_<bits>_s<seed>/.
# Two jobs of one thread each keep the two cores busy (inside one run only
# the FeLIF and dense layers are threaded).
TRAIN_SCALE = {
    # two Braille seeds, so that the table has a spread and a comparison of
    # two neurons does not rest on one draw; JSB's BPTT run alone costs ~5 CPU-minutes
    "quick": {"braille_seeds": [0, 1], "jsb_seeds": [0], "braille_epochs": 8, "jsb_epochs": 20},
    "paper": {"braille_seeds": list(range(50)), "jsb_seeds": list(range(50)),
              "braille_epochs": 150, "jsb_epochs": 100},
}
TRAIN_BITS = ["32", "8", "4", "3"]
# first the runs the targets compare (so that a list stopped early
# has them), the long ones among them first; then the rest
TRAIN_FIRST = ["jsb_felif_bptt", "jsb_felif_bruno", "braille-raw_felif_bruno_32", "braille-raw_lif_bruno_32",
               "braille-raw_lif_bruno_3_", "braille-raw_felif_bruno_3_", "braille-raw_felif_coarse",
               "jsb_snu", "braille-raw_felif"]


def train_names(scale):
    c = TRAIN_SCALE[scale]
    braille = []
    for s in c["braille_seeds"]:
        braille += [f"braille-raw_felif_bruno_{b}_s{s}" for b in TRAIN_BITS] + [f"braille-raw_felif_coarse_32_s{s}"]
        braille += [f"braille-raw_{m}_bruno_{b}_s{s}" for m in ("rlif", "lif") for b in TRAIN_BITS]
        # 3-bit RRAM device synapses (bruno-bench train --synapse rram)
        braille += [f"braille-raw_lif_bruno_3rram_s{s}", f"braille-raw_felif_bruno_3rram_s{s}"]
    jsb = [f"jsb_{m}_{t}_32_s{s}" for s in c["jsb_seeds"] for m, t in (("felif", "bptt"), ("felif", "bruno"),
                                                                        ("snu", "bruno"))]
    return braille + jsb


def train_order(names):
    first = [n for p in TRAIN_FIRST for n in names if n.startswith(p)]
    first = list(dict.fromkeys(first))
    return first + [n for n in names if n not in first]


def train_args(name, scale):
    task, neuron, trainer, bits, seed = name.split("_")
    a = f"--hparams auto --threads 1 --task {task} --neuron {neuron}"
    if neuron == "felif":
        a += f" --trainer {trainer}"
    a += f" --bits {bits.replace('rram', '')}"
    if bits.endswith("rram"):
        a += " --synapse rram"
    c = TRAIN_SCALE[scale]
    return a + f" --seed {seed[1:]} --epochs {c['jsb_epochs'] if task == 'jsb' else c['braille_epochs']}"


def train_runs(scale):
    runs = [(f"train/{n}", "train", train_args(n, scale)) for n in train_order(train_names(scale))]
    # the coarse-only neuron against the device at DC currents (runs bruno-bench trace)
    runs.append(("coarse_vs_fine", "script", "python3 plots/coarse_vs_fine.py --bench ${BENCH} "
                 "--hparams reference/hparams/braille-raw_felif_32.txt --out ${OUT} --md ${ROOT}/coarse_vs_fine.md"))
    return runs


PARTS = {"e4": e4_runs, "rram": rram_runs, "e1": e1_runs, "train": train_runs}


def run_list(scale, parts=None):
    if scale not in E1_SCALE:
        sys.exit(f"grid.py: SCALE must be one of {', '.join(E1_SCALE)}, not {scale!r}")
    out = []
    for p in parts or PARTS:
        out += PARTS[p](scale)
    return out


# ---------------------------------------------------------------- what is made from the runs
def post(scale, root, cc="cc", cflags="", parts=None):
    """what is made from the runs of `parts` (default all), in order:
    ("concat", OUT, [inputs]) keeps the first header; ("names", OUT, [names])
    writes one name a line; ("sh", command)"""
    gp = lambda f, fmt, v: ("sh", f"gnuplot -e \"fmt='{fmt}'; out='{root}/{f}.{fmt}'; {v}\" plots/{f}.gp")
    rr, td, t = f"{root}/rram", f"{root}/train", E1_TARGET
    steps = {
        "rram": [("sh", f"gnuplot -e \"dir='{rr}'\" plots/rram_{f}.gp") for f in ("curve", "states", "fit")],
        "e4": [gp(f, fmt, f"sigma={PULSE_SIGMA:g}") for f in ("felif_dc", "felif_pulses", "convergence",
                                                            "convergence_traj") for fmt in ("png", "svg")],
        "e1": [("concat", f"{root}/e1_memtime.csv", [f"{root}/e1/memtime/{n}.csv" for n in e1_names(scale)]),
               ("concat", f"{root}/e1_gradcheck.csv",
                [f"{root}/{n}.csv" for n, kind, _ in e1_runs(scale) if kind == "gradcheck"])]
        + [gp(f, fmt, f"th={E1_TRADE_H}; ts={E1_SCALE[scale]['trade_seq']}")
           for f in ("e1_memory", "e1_time", "e1_tradeoff", "e1_fidelity") for fmt in ("png", "svg")]
        + [("sh", f"python3 plots/e1_table.py --memtime {root}/e1_memtime.csv --reference reference/paper.csv "
                  f"--target-hidden {t['hidden']} --target-seq {t['seq']} --target-mem {t['mem']} "
                  f"--target-time {t['time']} --out {root}/e1_table.md")],
        "train": [("names", f"{td}/runs.txt", train_names(scale)),
                  ("sh", f"python3 plots/train_tables.py --runs {td}/runs.txt --train-dir {td} "
                         f"--reference reference/paper.csv --scale {scale} --out-dir {root}")]
        + [gp(f, fmt, f"dir='{td}'") for f in ("braille_acc", "jsb_loss") for fmt in ("png", "svg")],
    }
    out = [s for p in PARTS if p in (parts or PARTS) for s in steps[p]]
    if parts:
        return out
    # REPORT.md: every number of ours beside the paper's, from whatever exists
    return out + [("sh", f"python3 plots/report.py --results {root} --reference reference/paper.csv --scale {scale} "
                         f"--cc \"{cc}\" --cflags \"{cflags}\" --out {root}/REPORT.md")]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["list", "names", "e1args"])
    p.add_argument("name", nargs="?", help="e1args: the memtime options of this configuration name")
    p.add_argument("--scale", default="quick")
    p.add_argument("--part", action="append", choices=list(PARTS), help="only these parts (default: all)")
    a = p.parse_args()
    if a.what == "e1args":
        print(e1_args(a.name))
        return 0
    for name, kind, args in run_list(a.scale, a.part):
        print(name if a.what == "names" else f"{name}  {kind}  {args}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
