#!/usr/bin/env python3
"""fuzz_seeds.py DATA_DIR OUT_DIR - a seed corpus for datasets/fuzz_loaders.c:
small but valid files cut from the real ones (first few samples / pieces,
counts rewritten), plus a few edge cases. Standard library only."""
import os
import struct
import sys


def events(src, n_keep):
    b = open(src, "rb").read()
    pos = 256
    for _ in range(n_keep):
        pos += 8 + 16 * struct.unpack_from("<I", b, pos + 4)[0]
    return b[:8] + struct.pack("<I", n_keep) + b[12:pos]


def raw(src, n_keep, max_frames=None):
    b = open(src, "rb").read()
    out, pos = bytearray(b[:8] + struct.pack("<I", n_keep) + b[12:248]), 248
    for _ in range(n_keep):
        label, rep, nf = struct.unpack_from("<3I", b, pos)
        keep = min(nf, max_frames or nf)
        out += struct.pack("<3I", label, rep, keep) + b[pos + 12:pos + 12 + 12 * keep]
        pos += 12 + 12 * nf
    return bytes(out)


def jsb(src, max_frames):
    b = open(src, "rb").read()
    out, pos = bytearray(b[:24]), 24
    for _split in range(3):
        n = struct.unpack_from("<I", b, pos)[0]
        pos += 4
        T = struct.unpack_from("<I", b, pos)[0]
        keep = min(T, max_frames)
        out += struct.pack("<II", 1, keep) + b[pos + 4:pos + 4 + 88 * keep]
        for _ in range(n):  # skip the split
            T = struct.unpack_from("<I", b, pos)[0]
            pos += 4 + 88 * T
    return bytes(out)


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    ev = os.path.join(data, "braille", "braille_th10_events.bin")
    rw = os.path.join(data, "braille", "braille_raw2021_40hz.bin")
    jq = os.path.join(data, "jsb_chorales", "jsb_quarter.bin")
    seeds = {
        "events1": events(ev, 1), "events3": events(ev, 3),
        "raw1": raw(rw, 1, 8), "raw4": raw(rw, 4, 20),
        "jsb4": jsb(jq, 4), "jsb12": jsb(jq, 12),
    }
    for name, b in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b)


if __name__ == "__main__":
    main()
