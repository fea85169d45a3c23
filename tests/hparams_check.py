#!/usr/bin/env python3
"""tests/hparams_check.py - no hyper-parameter file of the grid was chosen on a test split (issue 17 §3).

    python3 tests/hparams_check.py [--dir reference/hparams]

For every training run of bench/grid.py (SCALE quick, long and paper) that
reads `--hparams auto`, the file bruno-bench train loads
(reference/hparams/<task>_<neuron>_<bits>.txt, bench/cmd_train.c) must
exist and its header (the comment lines before the first value) must say
one of:
  - it was selected, or run once, on a VALIDATION split and the test split
    was not read (bench/sweep.py writes "... on a VALIDATION split ... the
    test split was not read", its hand-written peers "... is never read");
  - it takes "the validation-selected values of PARENT.txt" (sweep.py
    inherit): then PARENT must pass the same check and the values
    (key = value lines) must be PARENT's, key for key.
A header saying "MUST BE RE-TUNED" (a file not selected that way, README
"Hyper-parameters") fails. Exits 1 and names each failing file.
Standard library only.
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, "bench"))
import grid  # noqa: E402

VAL = re.compile(r"VALIDATION split")
NO_TEST = re.compile(r"test split (was not|is never|was never|is not) read")
INHERIT = re.compile(r"the validation-selected values of ([A-Za-z0-9_.-]+)\.txt")


def read(path):
    """(header text, {key: value}) of a key = value file"""
    head, vals, in_head = [], {}, True
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s.startswith("#") or not s:
                if in_head and s:
                    head.append(s.lstrip("# "))
                continue
            in_head = False
            k, _, v = s.partition("=")
            vals[k.strip()] = v.strip()
    return " ".join(head), vals


def check(d, key, seen=()):
    """None if reference/hparams/KEY.txt passes, else why not"""
    path = os.path.join(d, key + ".txt")
    if not os.path.isfile(path):
        return "missing"
    if key in seen:
        return "inherits from itself (%s)" % " -> ".join(seen + (key,))
    head, vals = read(path)
    if "MUST BE RE-TUNED" in head:
        return "says MUST BE RE-TUNED"
    m = INHERIT.search(head)
    if m:
        parent = m.group(1)
        why = check(d, parent, seen + (key,))
        if why:
            return "inherits from %s, which fails: %s" % (parent, why)
        pvals = read(os.path.join(d, parent + ".txt"))[1]
        if vals != pvals:
            diff = sorted(k for k in set(vals) | set(pvals) if vals.get(k) != pvals.get(k))
            return "says it takes %s's values, but differs in %s" % (parent, ", ".join(diff))
        return None
    if not VAL.search(head):
        return "its header names no VALIDATION split"
    if not NO_TEST.search(head):
        return "its header does not say that the test split was not read"
    return None


def grid_keys():
    """task_neuron_bits of every --hparams auto training run of every scale"""
    keys = {}
    for scale in ("quick", "long", "paper"):
        for name, kind, args in grid.train_runs(scale):
            if kind != "train" or "--hparams auto" not in args:
                continue
            a = dict(re.findall(r"--([a-z-]+) (\S+)", args))
            keys.setdefault("%s_%s_%s" % (a["task"], a["neuron"], a["bits"]), name)
    return keys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", default=os.path.join(HERE, "reference", "hparams"))
    a = p.parse_args()
    keys = grid_keys()
    bad = [(k, why) for k in sorted(keys) for why in [check(a.dir, k)] if why]
    for k, why in bad:
        print("hparams_check: %s.txt (run %s): %s" % (k, keys[k], why))
    print("hparams_check: %d of %d files the grid reads are validation-selected (or inherit such values)"
          % (len(keys) - len(bad), len(keys)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
