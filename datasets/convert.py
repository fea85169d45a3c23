#!/usr/bin/env python3
"""convert.py - turn the published dataset files into the binary formats that
datasets/bruno_data.h reads. Python standard library only (no numpy).

    python3 datasets/convert.py jsb    jsb-chorales-quarter.json        jsb_quarter.bin
    python3 datasets/convert.py events data_braille_letters_th10        braille_th10_events.bin
    python3 datasets/convert.py raw    tutorial5_braille_spiking_data.pkl.gz braille_raw2021_40hz.bin

The layouts (JSBP, BRAILEV1, BRAILRW1) are documented in
../shared/datasets/{jsb_chorales,braille}/README.md and summarised at the top
of bruno_data.h. The output must be byte-identical to the shipped .bin files;
`make datasets-check` compares sha256 against datasets/SHA256SUMS.

Pickles are only ever unpickled through a restricted Unpickler that allows
no global except the few numpy names stubbed below, so a hostile file cannot
run code.
"""
import gzip
import io
import json
import math
import os
import pickle
import re
import struct
import sys
import zlib

# Label k <-> CLASS_NAMES[k]; the authors' convention (0 = Space, 1 = A, ...).
CLASS_NAMES = ["Space"] + [chr(ord("A") + i) for i in range(26)]
N_TAXELS = 12


class ConvertError(Exception):
    pass


def class_table():
    out = bytearray()
    for name in CLASS_NAMES:
        b = name.encode("ascii")
        assert len(b) < 8
        out += b + b"\0" * (8 - len(b))
    return bytes(out)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True   # exists, another user's
    return True


def clean_stale_temps(path):
    """Remove OUTPUT.tmp.<pid> files left by a killed run: only this output's
    own name with a numeric suffix, only in its own directory, only when that
    process is gone."""
    d = os.path.dirname(path) or "."
    pat = re.compile(re.escape(os.path.basename(path)) + r"\.tmp\.([0-9]+)\Z")
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        m = pat.match(name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                os.remove(os.path.join(d, name))
                sys.stderr.write("convert.py: removed %s, left by a run that was stopped\n" % os.path.join(d, name))
            except OSError:
                pass


def write_atomic(path, data):
    # A failed conversion must never leave a half-written file that looks
    # valid, nor its temporary file.
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- JSB (JSBP)
JSB_KEYS = 88
JSB_LOWEST_MIDI = 21
JSB_SPLITS = ("train", "valid", "test")


def convert_jsb(src):
    with open(src, "r", encoding="utf-8") as f:
        d = json.load(f)
    out = bytearray(b"JSBP")
    out += struct.pack("<5I", 1, JSB_KEYS, JSB_LOWEST_MIDI, len(JSB_SPLITS), 0)
    for split in JSB_SPLITS:
        if split not in d:
            raise ConvertError("%s: missing split %r" % (src, split))
        seqs = d[split]
        out += struct.pack("<I", len(seqs))
        for i, seq in enumerate(seqs):
            out += struct.pack("<I", len(seq))
            roll = bytearray(len(seq) * JSB_KEYS)
            for t, frame in enumerate(seq):
                for note in frame:
                    # 8th/16th files write notes as floats (60.0); they must be integral.
                    if isinstance(note, float):
                        if not math.isfinite(note) or note != int(note):
                            raise ConvertError("%s: %s piece %d frame %d: note %r is not an integer"
                                               % (src, split, i, t, note))
                        note = int(note)
                    k = note - JSB_LOWEST_MIDI
                    if not 0 <= k < JSB_KEYS:
                        raise ConvertError("%s: %s piece %d frame %d: MIDI note %d outside 21..108"
                                           % (src, split, i, t, note))
                    roll[t * JSB_KEYS + k] = 1   # a unison becomes a single 1
            out += roll
    return bytes(out)


# ------------------------------------------------------- Braille events (BRAILEV1)
class RestrictedUnpickler(pickle.Unpickler):
    """Allows no globals at all (the event pickle is plain Python objects)."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("global %s.%s not allowed" % (module, name))


def convert_events(src):
    with open(src, "rb") as f:
        data = RestrictedUnpickler(f).load()
    if not isinstance(data, list):
        raise ConvertError("%s: expected a list of samples" % src)
    out = bytearray(b"BRAILEV1")
    out += struct.pack("<4I2d", len(data), N_TAXELS, 2, len(CLASS_NAMES), 10.0, 40.0)
    out += class_table()
    for i, s in enumerate(data):
        try:
            label = CLASS_NAMES.index(s["letter"])
        except ValueError:
            raise ConvertError("%s: sample %d: unknown letter %r" % (src, i, s["letter"]))
        ev = s["events"]
        if len(ev) != N_TAXELS:
            raise ConvertError("%s: sample %d: %d taxels, expected %d" % (src, i, len(ev), N_TAXELS))
        recs = []
        for taxel, pols in enumerate(ev):
            if len(pols) != 2:
                raise ConvertError("%s: sample %d taxel %d: %d polarities" % (src, i, taxel, len(pols)))
            for pol, times in enumerate(pols):
                for t in times:
                    t = float(t)
                    if not math.isfinite(t) or t < 0:
                        raise ConvertError("%s: sample %d: bad time %r" % (src, i, t))
                    recs.append((t, taxel, pol))
        recs.sort()
        out += struct.pack("<2I", label, len(recs))
        for t, taxel, pol in recs:
            out += struct.pack("<d2I", t, taxel, pol)
    return bytes(out)


# ------------------------------------------------------------ Braille raw (BRAILRW1)
class StubArray:
    """Stands in for numpy.ndarray: numpy pickles an array as
    _reconstruct(ndarray, (0,), b'b') followed by
    __setstate__((version, shape, dtype, is_fortran, raw_bytes))."""

    def __setstate__(self, state):
        if len(state) != 5:
            raise pickle.UnpicklingError("unexpected ndarray state")
        _version, self.shape, self.dtype, self.fortran, self.raw = state

    def to_rows(self):
        """Rows of Python floats (C order), for 2-D little-endian float64/int arrays."""
        dt = self.dtype
        if not isinstance(dt, StubDtype):
            raise ConvertError("array without a dtype")
        code = dt.struct_code()
        if len(self.shape) != 2:
            raise ConvertError("taxel_data has shape %r, expected 2-D" % (self.shape,))
        n, m = self.shape
        count = n * m
        if not isinstance(self.raw, (bytes, bytearray)) or len(self.raw) != count * struct.calcsize(code):
            raise ConvertError("array data size does not match its shape")
        vals = struct.unpack("<%d%s" % (count, code), self.raw)
        if self.fortran:
            return [[vals[j * n + i] for j in range(m)] for i in range(n)]
        return [list(vals[i * m:(i + 1) * m]) for i in range(n)]


class StubDtype:
    """Stands in for numpy.dtype(kind, align, copy) + __setstate__."""

    def __init__(self, kind, align=False, copy=False):
        self.kind = kind
        self.byteorder = "|"

    def __setstate__(self, state):
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        self.byteorder = state[1]

    def struct_code(self):
        codes = {"f8": "d", "f4": "f", "u1": "B", "i8": "q", "i4": "i", "i2": "h", "u2": "H"}
        if self.kind not in codes:
            raise ConvertError("unsupported dtype %r" % self.kind)
        if self.byteorder == ">":
            raise ConvertError("big-endian arrays are not supported")
        return codes[self.kind]


def _reconstruct(cls, shape, typecode):
    return StubArray()


class NumpyStubUnpickler(pickle.Unpickler):
    """Decodes pickled numpy arrays without numpy. Only these names resolve."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): StubArray,
        ("numpy", "dtype"): StubDtype,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError("global %s.%s not allowed" % (module, name))


def convert_raw(src):
    with open(src, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(src, "rb") as f:
        data = NumpyStubUnpickler(f).load()
    if not isinstance(data, list):
        raise ConvertError("%s: expected a list of samples" % src)
    out = bytearray(b"BRAILRW1")
    out += struct.pack("<4Id", len(data), N_TAXELS, len(CLASS_NAMES), 0, 40.0)
    out += class_table()
    seen = {}
    for i, s in enumerate(data):
        try:
            label = CLASS_NAMES.index(s["letter"])
        except ValueError:
            raise ConvertError("%s: sample %d: unknown letter %r" % (src, i, s["letter"]))
        # The 2021 file stores the repetition; count per letter if a file lacks it.
        rep = s.get("repetition", seen.get(label, 0))
        seen[label] = seen.get(label, 0) + 1
        arr = s["taxel_data"]
        if not isinstance(arr, StubArray):
            raise ConvertError("%s: sample %d: taxel_data is not an array" % (src, i))
        rows = arr.to_rows()
        if arr.shape[1] != N_TAXELS:
            raise ConvertError("%s: sample %d: %d taxels" % (src, i, arr.shape[1]))
        out += struct.pack("<3I", label, int(rep), len(rows))
        frame = bytearray()
        for r in rows:
            for v in r:
                # Lossless only if every reading is an integer 0..255; refuse otherwise.
                if not (0 <= v <= 255) or v != int(v):
                    raise ConvertError("%s: sample %d: value %r is not an integer in 0..255" % (src, i, v))
                frame.append(int(v))
        out += frame
    return bytes(out)


KINDS = {"jsb": convert_jsb, "events": convert_events, "raw": convert_raw}


def main(argv):
    if len(argv) != 4 or argv[1] not in KINDS:
        sys.stderr.write("usage: convert.py {jsb|events|raw} INPUT OUTPUT\n")
        return 2
    clean_stale_temps(argv[3])
    # Every way a hostile input can fail is one line on stderr and exit 1,
    # never a traceback: deep nesting (RecursionError), corrupt gzip
    # (zlib.error, EOFError, BadGzipFile), counts that do not fit a u32
    # (struct.error, OverflowError), malformed objects (Attribute/Index/
    # Key/TypeError), sizes beyond memory (MemoryError).
    try:
        data = KINDS[argv[1]](argv[2])
    except (OSError, ValueError, KeyError, TypeError, EOFError, IndexError, AttributeError,
            RecursionError, OverflowError, MemoryError, struct.error, zlib.error,
            pickle.UnpicklingError, ConvertError) as e:
        sys.stderr.write("convert.py %s: %s: %s\n" % (argv[1], argv[2], e or type(e).__name__))
        return 1
    except Exception as e:   # anything else in a hostile file: still no traceback
        sys.stderr.write("convert.py %s: %s: malformed input (%s: %s)\n" % (argv[1], argv[2], type(e).__name__, e))
        return 1
    try:
        write_atomic(argv[3], data)
    except OSError as e:
        sys.stderr.write("convert.py %s: cannot write %s: %s\n" % (argv[1], argv[3], e.strerror or e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
