#!/usr/bin/python3
"""e1_torch.py - the E1 memory/time set-up (EXPERIMENTS.md E1) in PyTorch,
as a peer to bruno.h: the same network, the same trainers, written the way
one would in PyTorch, so that `make peers` can cross-check our spikes and
gradients against autograd and compare time and peak memory.

WHAT IT COMPUTES (and how each piece corresponds to bruno.h)
-------------------------------------------------------------
Network: x [T][B][512] -> u = x W^T (dense, no bias; one matmul for the
whole sequence, as bruno__layer_forward does) -> FeLIF layer of H neurons
with input current I = g*u, g = 1e-9 A -> spikes s [T][B][H];
loss = sum over t, b, j of s^2 (bruno_loss_sum_sq). float32 throughout,
tensors [B, H]; the fine loop is a Python loop over the N fine steps,
vectorised over batch and neurons. W and x are read from `bruno-bench
e1dump`, so both sides run the same numbers.

FeLIF Euler step of length tau (MODELS.md §2; bruno_felif_euler), with
every constant rounded to float32 as bruno_felif_derive does and the
float operations in bruno's order (E_a/aE is a true division, not
reciprocal-times, as bruno computes it):
    E = k_v v - k_p p;  X = (E_a/(|E| + E_soft))^alpha
    r = 0 if X > 103 (bruno's float underflow cut, BRUNO__X_MAX) else exp(-X)/tau_0
    I_p = (sign(E) P_s - p) A r;  I_leak = sign(v) (I_0 A expm1(v/V_t) + I_dsc)
    p' = clip(p + tau I_p / A, +-P_s);  v' = clip(v + tau (I - I_leak - I_p)/C_tot, +-5 V)
  * Rate stop (bruno's default rate_grad = 0): r(E) and sign(E) are
    computed from v.detach(), p.detach(), so autograd treats r as a
    constant, i.e. r' = 0 in every Jacobian, exactly as bruno__felif_eval
    with want_dr = 0. sign(v), sign(E) have zero derivative in both.
  * Clipping: torch.clamp passes the gradient where lo <= x <= hi and gives
    0 outside; bruno zeroes the Jacobian row only when it actually clipped
    (x > hi or x < lo). Same rule.
  * Leakage derivative: autograd differentiates sign(v)*expm1(v/V_t) to
    sign(v) exp(v/V_t)/V_t, the same as bruno_felif_euler_jacobian (which
    keeps sign(v); the spec writes it without).
One network step k -> k+1 (MODELS §2; bruno__felif_step_fwd):
  * Fine pass: N steps of h = dt/N with I constant. Freeze: a boolean mask
    `frozen`; after each step frozen |= (v >= V_thr); frozen neurons keep
    (v, p) through torch.where, which gives identity gradient for them and
    no gradient through the freeze decision (bruno: `taken`, identity past
    it). When every neuron is frozen the rest of the window is skipped, as
    bruno__felif_fine does.
  * Reset: where s_k = 1 (i.e. v_k >= V_thr), (v, p) <- (v_reset, p_reset)
    via torch.where: no gradient to the pre-reset values
    (bruno__felif_adj_begin zeroes gv, gp there).
  * Spike s_{k+1} = H(v_{k+1} - V_thr) (x >= 0 -> 1), backward SuperSpike
    1/(10|x| + 1)^2 (bruno__surrogate), a torch.autograd.Function.
  * Initial state v = 0, p = -P_s (v_init, p_init); s_0 = 0.
Trainers (MODELS §3):
  * bruno: the fine pass under torch.no_grad() gives x_f; a coarse Euler
    step of length dt from (v_k, p_k) WITH autograd gives x_c; then
    x_{k+1} = x_f + (x_c - x_c.detach()). That is the spec's
    x_c + stopgrad(x_f - x_c) with the same gradient (identity to x_c) but
    with the value x_f exactly (x_c + (x_f - x_c) can round off x_f in
    float). Autograd sees one Euler step per network step, as bruno's
    bruno__felif_adj_coarse (coarse Jacobian, clip rows from the coarse
    step's own clip).
  * bptt: the same fine loop with autograd on, so autograd stores and
    differentiates every fine step (bruno: BRUNO_TRAINER_BPTT stores the
    T*N fine states and applies bruno_felif_euler_jacobian to each).
Execution: the Euler step and the fine loop are plain PyTorch functions;
--impl eager runs them as they are, --impl script (the default, and what
`make peers` times) compiles the same source with torch.jit.script, which
removes Python's per-op overhead (about 2.5x faster on [1, 64] tensors)
and gives bit-identical results; autograd records through both. The
FeLIF scalars are pre-broadcast float32 tensors (consts()) because a
Python scalar costs a tensor wrap per op. No custom kernels, no C++
extension, no CPU fusion (TorchScript's NNC fuser did not fuse this loop
in 1.13). Threads: torch.set_num_threads(--threads); on [B, H] = [1, 64]
tensors ATen's elementwise ops stay single-threaded anyway (grain size
32768 elements), so the thread count barely matters here.

Known, unavoidable numeric differences: torch's vectorised exp, expm1 and
pow (SLEEF / its own kernels) are not glibc's expf/expm1f/powf, and the
dense layer's sums run in BLAS order, not bruno's sequential loop; a
neuron whose v lands within a few ulp of V_thr can therefore spike on one
side and not on the other. `check` quantifies that.

USAGE
  e1_torch.py check DIR [DIR ...] [--impl script,eager]   cross-check against e1dump output
  e1_torch.py time DIR --trainer bruno|bptt --threads K --warmup 1 --repeats R [--impl script|eager]
For `time`, run under LD_PRELOAD=libjemalloc.so.2 (and PYTHONMALLOC=malloc,
so that Python's own objects also go through jemalloc) to get the same
jemalloc per-thread peak (thread.peak.read) that bruno-bench memtime
reports.
"""
import argparse
import ctypes
import json
import os
import sys
import time
from typing import List, Tuple

import numpy as np
import torch

F32 = torch.float32


# ---------------------------------------------------------------- constants
class FeLIF:
    """float32 constants exactly as bruno_felif_derive computes them (double
    arithmetic, then one rounding to float)."""

    def __init__(self, meta):
        f = meta["felif"]
        r32 = lambda d: float(np.float32(d))  # value exactly representable in float32
        den = f["t_fe"] * f["eps_i"] + f["t_i"] * f["eps_fe"]
        c_tot = f["eps0"] * f["eps_fe"] * f["A"] / f["t_fe"] + f["C_par"]
        self.A = r32(f["A"])
        self.P_s = r32(f["P_s"])
        self.E_a = torch.tensor(r32(f["E_a"]), dtype=F32)  # a tensor: E_a / aE as a true division
        self.alpha = r32(f["alpha"])
        self.E_soft = r32(f["E_soft"])
        self.inv_tau_0 = r32(1.0 / f["tau_0"])
        self.I0A = r32(f["I_0"] * f["A"])
        self.inv_V_t = r32(1.0 / f["V_t"])
        self.I_dsc = r32(f["I_dsc"])
        self.inv_C_tot = r32(1.0 / c_tot)
        self.k_v = r32(f["eps_i"] / den)
        self.k_p = r32(f["t_i"] / (f["eps0"] * den))
        self.v_clip = r32(f["v_clip"])
        self.V_thr = r32(f["V_thr"])
        self.v_reset = r32(f["v_reset"])
        self.p_reset = float(np.float32(r32(f["p_reset"] / f["P_s"])) * np.float32(self.P_s))
        self.v_init = r32(f["v_init"])
        self.p_init = float(np.float32(r32(f["p_init"] / f["P_s"])) * np.float32(self.P_s))
        self.X_max = 103.0  # BRUNO__X_MAX for float
        self.h = r32(meta["dt"] / meta["n_fine"])
        self.dt = r32(meta["dt"])
        self.N = int(meta["n_fine"])
        self.g = r32(meta["gain"])  # times the per-neuron gain multiplier 1 (no variability in E1)
        self.beta = float(meta["surrogate_beta"])


def consts(c, shape):
    """The FeLIF scalars as float32 tensors of the state's shape [B, H], in
    the order euler() unpacks them. Tensor-tensor ops skip PyTorch's
    per-call wrapping of a Python scalar, which on [1, 64] tensors costs
    more than the arithmetic; the values are the same float32 numbers."""
    names = ("k_v", "k_p", "E_a", "E_soft", "alpha", "X_max", "inv_tau_0", "P_s", "A", "inv_V_t", "I0A",
             "I_dsc", "inv_C_tot", "V_thr", "h", "dt", "v_reset", "p_reset")
    return [torch.full(shape, float(getattr(c, n)), dtype=F32) for n in names] + [torch.zeros(shape, dtype=F32)]


def euler(v: torch.Tensor, p: torch.Tensor, I: torch.Tensor, tau: torch.Tensor, K: List[torch.Tensor],
          P_s: float, v_clip: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """One explicit Euler step (bruno_felif_euler), rate stopped (r, sign(E)
    from the detached state); K from consts()."""
    k_v, k_p, E_a, E_soft, alpha, X_max, inv_tau_0, P_s_t, A = K[0], K[1], K[2], K[3], K[4], K[5], K[6], K[7], K[8]
    inv_V_t, I0A, I_dsc, inv_C_tot, zero = K[9], K[10], K[11], K[12], K[18]
    vd, pd = v.detach(), p.detach()
    E = vd * k_v - pd * k_p
    X = torch.pow(torch.div(E_a, E.abs() + E_soft), alpha)
    r = torch.where(X > X_max, zero, torch.exp(-X) * inv_tau_0)
    I_p = (torch.sign(E) * P_s_t - p) * A * r
    I_leak = torch.sign(vd) * (torch.expm1(v * inv_V_t) * I0A + I_dsc)
    # clamp, not minimum/maximum: at a tie (p = -P_s exactly, the initial and
    # reset state) clamp passes the whole gradient, as bruno does; maximum would halve it
    pn = torch.clamp(p + I_p * tau / A, -P_s, P_s)
    vn = torch.clamp(v + ((I - I_leak) - I_p) * tau * inv_C_tot, -v_clip, v_clip)
    return vn, pn


def fine_pass(v: torch.Tensor, p: torch.Tensor, I: torch.Tensor, K: List[torch.Tensor], P_s: float, v_clip: float,
              N: int, check: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Up to N fine steps with the freeze (bruno__felif_fine). "Every neuron
    frozen" is tested every `check` steps: a pure shortcut, since frozen
    steps are the identity."""
    h, V_thr = K[14], K[13]
    frozen = torch.zeros(v.shape, dtype=torch.bool)
    for i in range(N):
        vn, pn = euler(v, p, I, h, K, P_s, v_clip)
        v = torch.where(frozen, v, vn)
        p = torch.where(frozen, p, pn)
        frozen = frozen | (v.detach() >= V_thr)
        if i % check == check - 1:
            if bool(frozen.all()):
                break
    return v, p


# The same source, compiled by TorchScript: the interpreter dispatches each
# op without Python's per-op overhead (about 2.5x faster on [1, 64] tensors,
# bit-identical results; autograd records through it as through eager).
euler_script = torch.jit.script(euler)
fine_pass_script = torch.jit.script(fine_pass)
FREEZE_CHECK = 8


class SuperSpike(torch.autograd.Function):
    """H(x) forward, 1/(beta|x| + 1)^2 backward (bruno__surrogate)."""

    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x)
        ctx.beta = beta
        return (x >= 0).to(F32)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        d = ctx.beta * x.abs() + 1
        return g / (d * d), None


def felif_layer(c, u, trainer, impl):
    """u [T][B][H] -> spikes [T][B][H] under `trainer`."""
    T, B, H = u.shape
    K = consts(c, (B, H))
    V_thr, dt, v_reset, p_reset = K[13], K[15], K[16], K[17]
    eu, fp = (euler_script, fine_pass_script) if impl == "script" else (euler, fine_pass)
    v = torch.full((B, H), c.v_init, dtype=F32)
    p = torch.full((B, H), c.p_init, dtype=F32)
    out = []
    for k in range(T):
        I = u[k] * c.g
        spiked = v.detach() >= V_thr  # s_k: reset after this step's fine pass
        if trainer == "bruno":
            with torch.no_grad():
                vf, pf = fp(v.detach(), p.detach(), I.detach(), K, c.P_s, c.v_clip, c.N, FREEZE_CHECK)
            vc, pc = eu(v, p, I, dt, K, c.P_s, c.v_clip)
            v1 = vf + (vc - vc.detach())
            p1 = pf + (pc - pc.detach())
        elif trainer == "bptt":
            v1, p1 = fp(v, p, I, K, c.P_s, c.v_clip, c.N, FREEZE_CHECK)
        else:
            raise ValueError(trainer)
        v = torch.where(spiked, v_reset, v1)
        p = torch.where(spiked, p_reset, p1)
        out.append(SuperSpike.apply(v - V_thr, c.beta))
    return torch.stack(out)


def step(c, W, x, trainer, impl):
    """One training step: forward, loss sum s^2, backward. Returns
    (spikes, loss, t_forward, t_backward)."""
    t0 = time.perf_counter()
    u = torch.matmul(x, W.t())
    s = felif_layer(c, u, trainer, impl)
    loss = (s * s).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return s.detach(), float(loss), t1 - t0, t2 - t1


# ---------------------------------------------------------------- data
def load(d):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    arr = {}
    for name, shape in meta["files"].items():
        a = np.fromfile(os.path.join(d, name), dtype="<f4")
        if a.size != int(np.prod(shape)):
            sys.exit(f"e1_torch: {d}/{name} has {a.size} values, meta.json says {shape}")
        arr[name[:-4]] = torch.from_numpy(a.reshape(shape).astype(np.float32))
    return meta, arr


# ---------------------------------------------------------------- jemalloc
class Jemalloc:
    """thread.peak.read / thread.peak.reset through mallctl, only when
    jemalloc is the process's malloc (LD_PRELOAD); otherwise None."""

    def __init__(self):
        self.lib = None
        with open("/proc/self/maps") as f:
            if "libjemalloc" not in f.read():
                return
        lib = ctypes.CDLL("libjemalloc.so.2")
        lib.mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                ctypes.c_void_p, ctypes.c_size_t]
        lib.mallctl.restype = ctypes.c_int
        self.lib = lib
        if self.reset() != 0:
            self.lib = None

    def reset(self):
        return self.lib.mallctl(b"thread.peak.reset", None, None, None, 0) if self.lib else -1

    def peak(self):
        if not self.lib:
            return None
        v = ctypes.c_uint64(0)
        n = ctypes.c_size_t(8)
        if self.lib.mallctl(b"thread.peak.read", ctypes.byref(v), ctypes.byref(n), None, 0) != 0:
            return None
        return v.value


# ---------------------------------------------------------------- check
# Thresholds. Same weights, same input, same equations, float32 on both
# sides; only SLEEF-vs-glibc exp/expm1/pow and the BLAS summation order of
# the dense layer differ, by about an ulp per evaluation.
#  * Spikes: at most 0.5 % of the T*B*H spike values may differ. An
#    ulp-level difference flips a spike only when v ends a window within
#    ~1e-6 V of V_thr; a wrong reset, freeze, clip or threshold rule changes
#    whole spike trains instead.
#  * Gradients when every spike agrees: cosine >= 1 - 1e-6 and relative
#    error <= 1e-3 (we see ~3e-5: float32 rounding through 1000 fine steps
#    per network step). When a spike flipped, the two runs took different
#    trajectories and only cosine >= 0.99, rel. err <= 0.15 is asked.
#  * In both cases the peer's gradient must also be at least 10x closer to
#    our gradient of the SAME trainer than to our gradient of the other
#    one. Our BRUNO and BPTT gradients are themselves close (cosine ~0.9999
#    at gain 1e-9), so a cosine bound alone would not tell a peer BPTT that
#    silently computed BRUNO's gradient from a correct one; this does.
SPIKE_MISMATCH_MAX = 0.005
EXACT_COS_MIN, EXACT_REL_MAX = 1 - 1e-6, 1e-3
FLIP_COS_MIN, FLIP_REL_MAX = 0.99, 0.15
DISCRIMINATION = 10.0


def compare(a, b):
    a = a.double().flatten()
    b = b.double().flatten()
    na, nb = a.norm().item(), b.norm().item()
    cos = (a @ b).item() / (na * nb) if na > 0 and nb > 0 else (1.0 if na == nb else 0.0)
    rel = (a - b).norm().item() / nb if nb > 0 else (0.0 if na == 0 else float("inf"))
    return cos, rel


def cmd_check(args):
    torch.set_num_threads(args.threads)
    ok = True
    rows = []
    for d in args.dirs:
        meta, arr = load(d)
        c = FeLIF(meta)
        W0, x = arr["W"], arr["x"]
        n_spk = arr["spikes"].numel()
        ours_cos, ours_rel = compare(arr["grad_bruno"], arr["grad_bptt"])
        print(f"check {d}: T={meta['T']} B={meta['batch']} H={meta['hidden']} gain={meta['gain']:g}: "
              f"{int(arr['spikes'].sum())} spikes; for scale, our BRUNO vs our BPTT gradient: "
              f"cosine {ours_cos:.9f}, rel.err {ours_rel:.3e}", flush=True)
        for impl in args.impl.split(","):
            for trainer in ("bruno", "bptt"):
                other = "bptt" if trainer == "bruno" else "bruno"
                W = W0.clone().requires_grad_(True)
                s, loss, tf, tb = step(c, W, x, trainer, impl)
                diff = int((s != arr["spikes"]).sum())
                cos, rel = compare(W.grad, arr["grad_" + trainer])
                _, rel_other = compare(W.grad, arr["grad_" + other])
                if diff == 0:
                    good = cos >= EXACT_COS_MIN and rel <= EXACT_REL_MAX
                else:
                    good = diff / n_spk <= SPIKE_MISMATCH_MAX and cos >= FLIP_COS_MIN and rel <= FLIP_REL_MAX
                good = good and rel * DISCRIMINATION <= rel_other
                ok = ok and good
                rows.append({"dir": d, "T": meta["T"], "batch": meta["batch"], "hidden": meta["hidden"],
                             "gain": meta["gain"], "impl": impl, "trainer": trainer,
                             "spikes_ours": int(arr["spikes"].sum()), "spikes_torch": int(s.sum()),
                             "spike_mismatch": diff, "spike_total": n_spk, "spike_identical_frac": 1 - diff / n_spk,
                             "grad_cosine": cos, "grad_rel_err": rel, "grad_rel_err_vs_other_trainer": rel_other,
                             "ours_bruno_vs_bptt_cosine": ours_cos, "ours_bruno_vs_bptt_rel_err": ours_rel,
                             "seconds": tf + tb, "passed": good})
                print(f"  {impl:6s} {trainer:5s}: spikes torch {int(s.sum())}, identical {1 - diff / n_spk:.6f} "
                      f"({diff}/{n_spk} differ); dL/dW vs ours: cosine {cos:.9f}, rel.err {rel:.3e} "
                      f"(vs our {other}: {rel_other:.3e}); {tf + tb:.1f} s  [{'ok' if good else 'FAIL'}]", flush=True)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"thresholds": {"spike_mismatch_max": SPIKE_MISMATCH_MAX, "exact_cos_min": EXACT_COS_MIN,
                                      "exact_rel_max": EXACT_REL_MAX, "flip_cos_min": FLIP_COS_MIN,
                                      "flip_rel_max": FLIP_REL_MAX, "discrimination": DISCRIMINATION},
                       "passed": ok, "runs": rows}, f, indent=1)
        os.replace(tmp, args.out)
    if not ok:
        print("e1_torch check: FAILED (see the thresholds at the top of the check section)", file=sys.stderr)
        return 1
    print("e1_torch check: passed")
    return 0


# ---------------------------------------------------------------- time
CSV_HEADER = ("implementation,variant,trainer,hidden,inputs,seq_ms,batch,n_fine,threads,repeats,peak_bytes_jemalloc,"
              "peak_bytes_counted,time_forward_s,time_backward_s,time_total_s,loss,spike_mismatch,grad_cosine_vs_ours")


def cmd_time(args):
    torch.set_num_threads(args.threads)
    je = Jemalloc()
    meta, arr = load(args.dir)
    c = FeLIF(meta)
    W0, x0 = arr["W"], arr["x"]
    # warm-up: one full step (lazy initialisation of autograd, thread pools,
    # TorchScript's profiling runs, allocator arenas), as memtime --warmup 1
    for _ in range(args.warmup):
        W = W0.clone().requires_grad_(True)
        step(c, W, x0.clone(), args.trainer, args.impl)
        del W
    tf = tb = 0.0
    peak = 0
    loss = 0.0
    for _ in range(args.repeats):
        # The window jemalloc sees matches memtime's: from just before the
        # parameters and the input are allocated (memtime resets before
        # e1_build) to the end of the backward pass.
        je.reset()
        W = W0.clone().requires_grad_(True)
        x = x0.clone()
        s, loss, f, b = step(c, W, x, args.trainer, args.impl)
        pk = je.peak()
        # the timed run must compute what bruno computes: its spikes and gradient against the dump's
        mismatch = int((s != arr["spikes"]).sum())
        cos, _ = compare(W.grad, arr["grad_" + args.trainer])
        peak = max(peak, pk) if pk is not None and peak is not None else None
        tf += f
        tb += b
        del W, x, s
    r = args.repeats
    row = (f"pytorch-{torch.__version__},{args.impl},{args.trainer},{meta['hidden']},{meta['inputs']},"
           f"{meta['seq_ms']:g},{meta['batch']},{meta['n_fine']},{args.threads},{r},"
           f"{peak if peak is not None else ''},,{tf / r:.6f},{tb / r:.6f},{(tf + tb) / r:.6f},{loss:.9g},"
           f"{mismatch},{cos:.9f}")
    if args.out:
        new = not os.path.exists(args.out)
        with open(args.out, "a") as f:
            if new:
                f.write(CSV_HEADER + "\n")
            f.write(row + "\n")
    print(row, flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("check", help="cross-check spikes and gradients against bruno-bench e1dump output")
    a.add_argument("dirs", nargs="+")
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--impl", default="script", help="comma list of script, eager (default script)")
    a.add_argument("--out", help="write the results as JSON here")
    a = sub.add_parser("time", help="time and peak memory of one forward+backward (CSV row)")
    a.add_argument("dir")
    a.add_argument("--trainer", choices=("bruno", "bptt"), required=True)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--repeats", type=int, default=1)
    a.add_argument("--warmup", type=int, default=1, help="untimed full steps first (default 1)")
    a.add_argument("--impl", choices=("script", "eager"), default="script")
    a.add_argument("--out", help="append the CSV row here (header if new)")
    args = ap.parse_args()
    return cmd_check(args) if args.cmd == "check" else cmd_time(args)


if __name__ == "__main__":
    sys.exit(main())
