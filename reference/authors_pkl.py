#!/usr/bin/env python3
"""reference/authors_pkl.py - the E2 Heracles rows of paper.csv from the
authors' own result files, with the standard library only (no pandas).

    python3 reference/authors_pkl.py [--repo DIR] [--rev bruno] [--model Heracles]

Reads scripts/benchmark/optuna/results/{FP,8,4,3}bit_<model>/model.pkl of
the authors' simulator (ncas-tum/ELEANOR; DIR a clone or bare mirror; the
paper's results are at tag `bruno`) with `git show`, unpickles the pandas
DataFrame's blocks (columns Accuracy, Loss, Epoch, Seed, ...) without pandas
and prints, per precision: seeds, epochs, final-epoch mean +- s.d. (sample)
of the test accuracy, the mean over seeds of each seed's best epoch, and the
mean accuracy after epochs 1..10 (what a quick run can be held against).
"""
import argparse
import io
import pickle
import statistics as st
import struct
import subprocess


class _Stub:
    def __init__(self, *a, **k):
        self.args = a

    def __setstate__(self, s):
        self.state = s


class _DType(_Stub):
    def __init__(self, code, *a):
        self.code = code


def _frombuffer(buf, dtype, shape, order):
    fmt = {"f8": "d", "i4": "i", "i8": "q", "f4": "f"}[dtype.code]
    n = len(buf) // struct.calcsize(fmt)
    return ("arr", shape, struct.unpack("<%d%s" % (n, fmt), bytes(buf)))


class _Unpickler(pickle.Unpickler):
    def find_class(self, mod, name):
        if name == "_frombuffer":
            return _frombuffer
        if name == "dtype":
            return _DType
        if name == "slice":
            return slice
        if name == "_unpickle_block":
            return lambda values, placement, ndim: ("block", values, placement)
        return type(name, (_Stub,), {})


def _blocks(o, out):
    if isinstance(o, tuple) and o and o[0] == "block":
        out.append(o)
    elif isinstance(o, (list, tuple)):
        for x in o:
            _blocks(x, out)
    elif isinstance(o, dict):
        for x in o.values():
            _blocks(x, out)
    elif isinstance(o, _Stub):
        _blocks(getattr(o, "args", ()), out)
        _blocks(getattr(o, "state", None), out)
    return out


def curves(data):
    """{seed: {epoch: accuracy}} from one model.pkl (blocks: [Accuracy, Loss], Epoch, Seed)"""
    b = _blocks(_Unpickler(io.BytesIO(data)).load(), [])
    (_, shape, fl), ep, seed = b[0][1], b[1][1][2], b[2][1][2]
    acc = fl[:shape[1]]
    out = {}
    for a, e, s in zip(acc, ep, seed):
        out.setdefault(s, {})[e] = a
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default="/work/.mirror/ncas-tum+ELEANOR/repo")
    ap.add_argument("--rev", default="bruno")
    ap.add_argument("--model", default="Heracles")
    a = ap.parse_args()
    for q, prec in (("FP", "fp32"), ("8", "8bit"), ("4", "4bit"), ("3", "3bit")):
        path = f"scripts/benchmark/optuna/results/{q}bit_{a.model}/model.pkl"
        data = subprocess.run(["git", "-C", a.repo, "show", f"{a.rev}:{path}"], capture_output=True, check=True).stdout
        c = curves(data)
        last = max(max(e) for e in c.values())
        fin = [100 * c[s][last] for s in sorted(c)]
        best = [100 * max(c[s].values()) for s in sorted(c)]
        early = " ".join("%.1f" % st.mean(100 * c[s][e] for s in c) for e in range(10))
        print(f"{prec}: {len(c)} seeds, {last + 1} epochs, final {st.mean(fin):.2f} +- {st.stdev(fin):.2f}, "
              f"best {st.mean(best):.2f}; mean after epochs 1-10: {early}")


if __name__ == "__main__":
    main()
