#!/usr/bin/env python3
"""Leak check of the braille-raw train/test split (python3 standard library only).

    python3 datasets/check_split.py [braille_raw2021_40hz.bin] [--split-seed S] [--all-taxels]

Rebuilds what `bruno-bench train --task braille-raw` feeds the network
(datasets/bruno_data.h, bruno_data_braille_raw_prepare with the defaults that
cmd_train.c uses): x = 1 - raw/255 of taxels 1, 2, 6, 10, every sample cropped
to the shortest one, z-scored per channel over the whole file ((x - mean) /
(sd + 1e-3)), then one unstratified Fisher-Yates shuffle of all samples with
bruno_rng (xoshiro256**, splitmix64-seeded, 53-bit uniforms) seeded by the
split seed; the first round(0.8 n) are train, the rest test.

The last pipeline step, FFT upsampling by 2 (scipy.signal.resample semantics),
is linear and scales squared L2 norms by about the factor 2 (exactly, but for
the split Nyquist bin), so Euclidean nearest neighbours and distance ratios are
computed on the 40 Hz z-scored data.

Reports
  * exact duplicates: whole raw samples (all frames, 12 taxels) and pipeline
    inputs (cropped, 4 taxels), within train, within test, and across;
  * (label, repetition) pairs that occur more than once;
  * for every test sample the Euclidean distance to its nearest training
    sample, against the leave-one-out nearest-neighbour distance of every
    training sample within train (the typical within-train distance), and
    the test accuracy of that 1-nearest-neighbour classifier;
  * test samples whose nearest-train distance is below a small fraction of the
    median within-train nearest-neighbour distance (near-identical).
"""
import os
import struct
import sys

MASK = (1 << 64) - 1


class Rng:
    """bruno_rng: xoshiro256** seeded by four splitmix64 outputs (bruno.h)."""

    def __init__(self, seed):
        x = seed & MASK
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.u64() >> 11) * (1.0 / 9007199254740992.0)


def shuffle(v, rng):
    """bruno_data__shuffle: Fisher-Yates from the back."""
    i = len(v)
    while i > 1:
        j = int(rng.uniform() * i)
        if j >= i:
            j = i - 1
        v[i - 1], v[j] = v[j], v[i - 1]
        i -= 1


def load(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:8] != b"BRAILRW1":
        sys.exit("%s: not a BRAILRW1 file" % path)
    n, ntax, ncls, _res = struct.unpack_from("<4I", b, 8)
    names = [b[32 + 8 * k:40 + 8 * k].rstrip(b"\0").decode() for k in range(ncls)]
    off = 32 + 8 * ncls
    samples = []
    for _ in range(n):
        label, rep, nf = struct.unpack_from("<3I", b, off)
        off += 12
        vals = b[off:off + nf * ntax]
        off += nf * ntax
        samples.append((label, rep, nf, vals))
    if off != len(b):
        sys.exit("%s: %d trailing bytes" % (path, len(b) - off))
    return samples, ntax, names


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]


def nn(q, pool, skip=None):
    """(squared distance, index) of the nearest vector in pool to q."""
    best, bi = float("inf"), -1
    for k, v in enumerate(pool):
        if k == skip:
            continue
        d = 0.0
        for a, c in zip(q, v):
            d += (a - c) * (a - c)
            if d >= best:
                break
        else:
            best, bi = d, k
    return best, bi


def main():
    args = sys.argv[1:]
    seed, all_taxels, path = 0, False, None
    while args:
        a = args.pop(0)
        if a == "--split-seed":
            seed = int(args.pop(0))
        elif a == "--all-taxels":
            all_taxels = True
        else:
            path = a
    if path is None:
        here = os.path.dirname(os.path.abspath(__file__))
        for d in (os.environ.get("BRUNO_DATA_DIR", ""), os.path.join(here, "data"),
                  os.path.join(here, "..", "..", "shared", "datasets"), os.path.join(here, "..", "..", "datasets")):
            p = os.path.join(d, "braille", "braille_raw2021_40hz.bin")
            if d and os.path.exists(p):
                path = p
                break
    if path is None:
        sys.exit("braille_raw2021_40hz.bin not found; pass its path")
    samples, ntax, names = load(path)
    n = len(samples)
    taxels = list(range(ntax)) if all_taxels else [1, 2, 6, 10]
    T = min(s[2] for s in samples)

    # split (bruno_data__split, unstratified)
    order = list(range(n))
    shuffle(order, Rng(seed))
    n_train = int(0.8 * n + 0.5)
    train, test = order[:n_train], order[n_train:]
    side = {}
    for i in train:
        side[i] = "train"
    for i in test:
        side[i] = "test"
    print("file %s: %d samples, crop to %d frames, taxels %s, split seed %d: %d train / %d test" %
          (path, n, T, taxels, seed, len(train), len(test)))
    cnt = [0] * len(names)
    for i in test:
        cnt[samples[i][0]] += 1
    print("test samples per class: min %d, max %d (of 50 each)" % (min(cnt), max(cnt)))

    # exact duplicates
    for what, key in (("whole raw sample (all frames, 12 taxels)", lambda s: (s[2], s[3])),
                      ("pipeline input (cropped, taxels %s)" % taxels,
                       lambda s: bytes(s[3][f * ntax + c] for f in range(T) for c in taxels))):
        groups = {}
        for i, s in enumerate(samples):
            groups.setdefault(key(s), []).append(i)
        dup = [g for g in groups.values() if len(g) > 1]
        cross = [g for g in dup if len(set(side[i] for i in g)) > 1]
        print("exact duplicates, %s: %d groups (%d samples), %d groups spanning train and test" %
              (what, len(dup), sum(len(g) for g in dup), len(cross)))
        for g in cross[:10]:
            print("   ", ", ".join("%s rep %d (%s)" % (names[samples[i][0]], samples[i][1], side[i]) for i in g))
    pairs = {}
    for s in samples:
        pairs[(s[0], s[1])] = pairs.get((s[0], s[1]), 0) + 1
    print("(label, repetition) pairs occurring more than once: %d" % sum(1 for v in pairs.values() if v > 1))

    # z-scored vectors, as the pipeline (before the linear upsampling)
    mean, sd = {}, {}
    for c in taxels:
        xs = [1.0 - samples[i][3][f * ntax + c] / 255.0 for i in range(n) for f in range(T)]
        m = sum(xs) / len(xs)
        mean[c] = m
        sd[c] = (sum((x - m) * (x - m) for x in xs) / len(xs)) ** 0.5
    vec = []
    for s in samples:
        vec.append([((1.0 - s[3][f * ntax + c] / 255.0) - mean[c]) / (sd[c] + 1e-3)
                    for f in range(T) for c in taxels])
    trv = [vec[i] for i in train]

    loo = []
    for k in range(len(train)):
        d, _ = nn(trv[k], trv, skip=k)
        loo.append(d ** 0.5)
    med_loo = pct(loo, 0.5)
    tst, correct, rows = [], 0, []
    for i in test:
        d, k = nn(vec[i], trv)
        d = d ** 0.5
        tst.append(d)
        j = train[k]
        correct += samples[j][0] == samples[i][0]
        rows.append((d, i, j))
    print("nearest-neighbour Euclidean distance (z-scored 40 Hz data, %d values per sample):" % len(vec[0]))
    print("  %-34s %8s %8s %8s %8s %8s" % ("", "min", "5%", "25%", "median", "max"))
    for nm, v in (("train -> rest of train (LOO)", loo), ("test -> train", tst)):
        print("  %-34s %8.3f %8.3f %8.3f %8.3f %8.3f" % (nm, min(v), pct(v, 0.05), pct(v, 0.25), pct(v, 0.5), max(v)))
    ratio = sorted(d / med_loo for d in tst)
    print("  test NN distance / median within-train NN distance: min %.3f, median %.3f" % (ratio[0], pct(ratio, 0.5)))
    for frac in (0.05, 0.1, 0.25, 0.5):
        print("  test samples with NN distance < %.2f x median within-train NN distance: %d of %d" %
              (frac, sum(1 for r in ratio if r < frac), len(ratio)))
    print("1-nearest-neighbour classifier (train set as memory): test accuracy %.1f %% (%d/%d)" %
          (100.0 * correct / len(test), correct, len(test)))
    rows.sort()
    print("closest test/train pairs:")
    for d, i, j in rows[:5]:
        print("  test %s rep %d  <->  train %s rep %d : %.3f" %
              (names[samples[i][0]], samples[i][1], names[samples[j][0]], samples[j][1], d))
    same_rep_nb = sum(1 for d, i, j in rows if samples[i][0] == samples[j][0] and abs(samples[i][1] - samples[j][1]) == 1)
    print("test samples whose nearest training sample is the same letter, adjacent repetition: %d of %d" %
          (same_rep_nb, len(rows)))


if __name__ == "__main__":
    main()
