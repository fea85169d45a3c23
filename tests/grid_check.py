#!/usr/bin/env python3
"""tests/grid_check.py - the run lists of bench/grid.py give the same command
lines as the Makefile that spelled the grid out in Make rules (issue 15).

    python3 tests/grid_check.py [--rev REV] [--scale quick paper]

Takes the Makefile of revision REV (the last one with the grid in Make:
d4904dc) from git, runs `make -n reproduce SCALE=...` with it in a scratch
directory (nothing runs: make -n only prints), and compares, for each SCALE:
  - every bruno-bench and plots/coarse_vs_fine.py command (same arguments,
    same output files; the E1 lock prefix and the train log redirection,
    which the runner does itself, are taken off) with `runner.py run --dry-run`;
  - every gnuplot / table command with `runner.py post --dry-run`;
  - the files merged into e1_memtime.csv and e1_gradcheck.csv, in order,
    and the names in train/runs.txt.
The old Makefile's command lines are read with issue 13's option renames
applied (memtime --method is --trainer, train --model is --neuron): the
same runs under the new names. Runs and figures added on purpose since then are taken out of the new
lists first (ADDED: each with the issue that added it), so the rest of the
grid is still proven equal to the old Make rules.
Exits 1 on any difference and prints it. A deliberate change of the grid
(new runs, other arguments) makes it fail by design: the proof is then
about a grid that no longer exists, and this test goes from `make test`
(keep it runnable with --rev for the record). Standard library only.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "bench"))
import grid  # noqa: E402

# deliberate additions to the grid since the Make rules: a run or post
# command containing one of these strings is not compared
ADDED = {
    "results/restated": "issue 17: the authors' coarse-only configuration restated (bench/grid.py RESTATED)",
    "--neuron heracles": "issue 13: the Heracles Braille runs (checked on their own: heracles_ok)",
    "--task braille-events": "issue 17 §2: the E2 table on the event file (checked on their own: events_ok)",
    "build/bruno-bench nn ": "issue 17 §2: the 1-nearest-neighbour baselines (checked on their own: events_ok)",
}
HERACLES = "_heracles_"  # their names in train/runs.txt
EVENTS = "braille-events_"


def added(line):
    return any(k in line for k in ADDED)


def heracles_ok(scale, runs, names):
    """the Heracles runs: one per bit width and Braille seed, like the FeLIF BRUNO ones"""
    c = grid.TRAIN_SCALE[scale]
    want = [f"braille-raw_heracles_bruno_{b}_s{s}" for s in c["braille_seeds"] for b in grid.TRAIN_BITS]
    cmds = [x for x in runs if "--neuron heracles" in x and "--task braille-raw" in x]
    ok = sorted(names) == sorted(want) and len(cmds) == len(want)
    for n in want:
        b, s = n.split("_")[3], n.split("_")[4][1:]
        args = (f"--hparams auto --threads 1 --task braille-raw --neuron heracles --trainer bruno --bits {b} "
                f"--seed {s} --epochs {c['braille_epochs']}")
        ok &= sum(args in x and f"/train/{n}" in x for x in cmds) == 1
    print(f"grid_check: {scale}: {len(cmds)} added Heracles runs " + ("as expected" if ok else "DIFFER"))
    return ok


def events_ok(scale, runs, names):
    """the event-file runs: every raw-file row's configuration once per events seed, at the scale's events
    epochs (Heracles at its own), and one nn run per Braille file"""
    c = grid.TRAIN_SCALE[scale]
    rows = {n.rsplit("_s", 1)[0].replace("braille-raw", "braille-events", 1)
            for n in grid.train_names(scale) if n.startswith("braille-raw_") and n.endswith("_s0")}
    want = [f"{r}_s{s}" for s in c["events_seeds"] for r in sorted(rows)]
    cmds = [x for x in runs if "--task braille-events" in x and x.startswith("build/bruno-bench train ")]
    ok = sorted(names) == sorted(want) and len(cmds) == len(want) and len(want) == 19 * len(c["events_seeds"])
    for n in want:
        ep = c["events_heracles_epochs"] if "_heracles_" in n else c["events_epochs"]
        ok &= sum(x.endswith(f"--epochs {ep} --out results/train/{n}") and "--hparams auto" in x for x in cmds) == 1
    # the tables read them back: plots/train_tables.py parses every name into task, neuron, trainer, bits, seed
    sys.path.insert(0, os.path.join(HERE, "plots"))
    import train_tables
    for n in want:
        p = train_tables.parse_name(n)
        ok &= p is not None and p[0] == "braille-events" and "_".join(str(x) for x in p[1:4]) in n
    nn = [x for x in runs if x.startswith("build/bruno-bench nn ")]
    ok &= sorted(x.split("--out ")[-1] for x in nn) == ["results/nn/braille-events.csv", "results/nn/braille-raw.csv"]
    print(f"grid_check: {scale}: {len(cmds)} added event-file runs, {len(nn)} nn runs "
          + ("as expected" if ok else "DIFFER"))
    return ok


def old_commands(rev, scale):
    mk = subprocess.run(["git", "-C", HERE, "show", f"{rev}:Makefile"], capture_output=True, text=True, check=True)
    with tempfile.TemporaryDirectory() as d:
        for f in os.listdir(HERE):
            if f not in ("Makefile", "build", "results", ".git"):
                os.symlink(os.path.join(HERE, f), os.path.join(d, f))
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write(mk.stdout)
        p = subprocess.run(["make", "-n", "reproduce", f"SCALE={scale}"], cwd=d, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"grid_check: make -n failed: {p.stderr[-2000:]}")
    text = p.stdout.replace("\\\n", " ")
    return [" ".join(line.split()) for line in text.splitlines()]


# issue 13: one vocabulary, `trainer` and `neuron`
RENAMED = {"--method": "--trainer", "--model": "--neuron"}


def e1_repeats(line, scale):
    """issue 14, session 23: the quick E1 memtime runs take 3 repeats (bench/grid.py E1_SCALE), the
    old Make rules 1: the old lines (and the merge of their CSVs) are read with the new count, every
    other argument unchanged"""
    r = grid.E1_SCALE[scale]["repeats"]
    if scale != "quick":
        return line
    if " memtime " in f" {line} ":
        line = re.sub(r"--repeats 1(?= )", f"--repeats {r}", line)
    return re.sub(r"(results/e1/memtime/\S*)_r1(?=\.csv)", rf"\g<1>_r{r}", line)


def norm(line):
    line = re.sub(r"^flock \S+ ", "", line)
    line = re.sub(r"(?<=\s)(--method|--model)(?=\s)", lambda m: RENAMED[m.group(1)], line)
    line = re.sub(r"\$\(awk 'BEGIN\{print ([\d.]+) \* 1000\}'\)", lambda m: f"{float(m.group(1)) * 1000:g}", line)
    m = re.match(r"rc=0; (build/bruno-bench train .*?) >> ", line)
    return m.group(1) if m else line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="d4904dc")
    ap.add_argument("--scale", nargs="*", default=["quick", "paper"])
    a = ap.parse_args()
    bad = 0

    def same(what, old, new):
        nonlocal bad
        if old == new:
            print(f"grid_check: {what}: {len(new)} identical")
            return
        bad += 1
        print(f"grid_check: {what} DIFFER")
        if isinstance(old, Counter):
            for x in sorted((old - new).elements()):
                print(f"  only in make -n:  {x}")
            for x in sorted((new - old).elements()):
                print(f"  only in the grid: {x}")
        else:
            i = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y), min(len(old), len(new)))
            print(f"  {len(old)} vs {len(new)}; first difference at {i}: {old[i:i + 1]} vs {new[i:i + 1]}")

    for scale in a.scale:
        old = [e1_repeats(norm(x), scale) for x in old_commands(a.rev, scale)]
        run = lambda *args: subprocess.run([sys.executable, os.path.join(HERE, "bench/runner.py")] + list(args),
                                           capture_output=True, text=True, check=True, cwd=HERE).stdout.splitlines()
        all_runs = run("run", "--list", f"grid:{scale}", "--root", "results", "--dry-run")
        new_runs = [x for x in all_runs if not added(x)]
        is_run = lambda x: x.startswith("build/bruno-bench ") or x.startswith("python3 plots/coarse_vs_fine.py")
        same(f"{scale}: run commands", Counter(x for x in old if is_run(x)), Counter(new_runs))
        is_post = lambda x: x.startswith("gnuplot ") or re.match(r"python3 plots/(e1_table|train_tables)\.py", x)
        new_post = [x for x in run("post", "--scale", scale, "--root", "results", "--dry-run") if not added(x)]
        same(f"{scale}: figure and table commands", Counter(x for x in old if is_post(x)),
             Counter(x for x in new_post if is_post(x)))
        steps = {s[1]: s[2] for s in grid.post(scale, "results") if s[0] != "sh"}
        for out in ("results/e1_memtime.csv", "results/e1_gradcheck.csv"):
            merged = next(x for x in old if x.startswith("awk 'FNR > 1 || NR == 1'") and x.endswith(f"> {out}.tmp && mv "
                                                                                                   f"{out}.tmp {out}"))
            same(f"{scale}: files merged into {out}", merged.split()[8:-6], steps[out])
        names = next(x for x in old if x.startswith("echo ") and "results/train/runs.txt" in x)
        same(f"{scale}: train/runs.txt", names.split("|")[0].split()[1:],
             [n for n in steps["results/train/runs.txt"] if HERACLES not in n and EVENTS not in n])
        bad += not heracles_ok(scale, all_runs, [n for n in steps["results/train/runs.txt"]
                                                 if HERACLES in n and EVENTS not in n])
        bad += not events_ok(scale, all_runs, [n for n in steps["results/train/runs.txt"] if EVENTS in n])
    print("grid_check: " + ("FAIL" if bad else "the grid gives the Makefile's command lines"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
