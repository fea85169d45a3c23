#!/usr/bin/env python3
"""bench_table.py - results/bench.md: the performance targets, each from a
measured CSV (results/throughput.csv from `bruno-bench throughput`,
results/peers.csv from `make peers`), with PASS/FAIL. Nothing is typed in
but the targets themselves, which are the issue's.

usage: bench_table.py THROUGHPUT_CSV PEERS_CSV OUT_MD [HERACLES_PHASES_CSV [PRODUCTS_CSV]]
(HERACLES_PHASES_CSV from `bruno-bench throughput --neuron heracles --phases-only`,
PRODUCTS_CSV from `bruno-bench products`)
"""
import csv
import os
import sys


def phase_rows(m, tp_path, L):
    """The two targets of the exact trainers (rows of the targets' table,
    appended to L) and the per-phase table beside the machine's limits
    (returned)."""
    M = 1e6
    bruno, bptt, adj = m["bruno_forward_updates_per_s"], m["bptt_forward_updates_per_s"], m["adjoint_updates_per_s"]
    bw_upd = m["store_bandwidth_updates_per_s"]
    tb, ta = m["target_bptt_forward_updates_per_s"], m["target_adjoint_updates_per_s"]
    L.append(f"| BPTT forward (every fine step's v, p stored), updates per s, E1 hidden {m['phase_hidden']:.0f}, "
             f"{m['phase_seq_ms']:.0f} ms, batch 1, 1 thread | {bptt / M:.0f} M/s | >= min(BRUNO forward / 3 = "
             f"{bruno / 3 / M:.0f}, 60 % of the store bandwidth = {0.6 * bw_upd / M:.0f}) = {tb / M:.0f} M/s | "
             f"{'PASS' if m['target_bptt_forward_pass'] else 'FAIL'} | {tp_path} |")
    L.append(f"| adjoint sweep over the stored states, updates per s (same set-up) | {adj / M:.0f} M/s | "
             f">= BRUNO forward / 4 = {ta / M:.0f} M/s | {'PASS' if m['target_adjoint_pass'] else 'FAIL'} | {tp_path} |")
    arith = m.get("arithmetic_limit_updates_per_s", 0)
    P = ["## The exact trainers' phases beside the machine's limits", "",
         f"One run of `bruno-bench throughput` ({tp_path}): E1 set-up (dense 512 -> FeLIF), hidden {m['phase_hidden']:.0f}, "
         f"{m['phase_seq_ms']:.0f} ms, batch 1, N = 1000, one thread, the workspace already allocated (best of the rounds). "
         f"An update is one neuron's fine Euler step ({m['phase_updates']:.3g} in a forward pass); BPTT stores v and p of each "
         f"({m['bptt_store_bytes'] / 1e6:.0f} MB). The adjoint sweep's time is BPTT's backward minus BRUNO's; the "
         f"recomputation's is checkpointing's backward (binomial, 31) minus the same schedule's with N snapshots "
         f"({m['phase_recompute_updates']:.3g} updates recomputed beyond it). "
         f"Store bandwidth: a plain streaming write of the same bytes. Arithmetic limit: the measured rate of independent "
         f"512-bit FMAs ({m.get('vector_fma_per_s', 0) / 1e9:.2f} G/s) times 16 lanes over the {m.get('lane_vector_ops', 0):.0f} "
         f"vector operations of one fast-kernel step, counted one intrinsic each in bruno__v_lane and bruno__v_fwd "
         f"(bench/cmd_throughput.c, PHASE_LANE_OPS).", "",
         "| phase | updates per s | bytes per s | machine limit | share of the limit |", "|---|---|---|---|---|"]
    def share(x, lim):
        return f"{100 * x / lim:.0f} %" if lim > 0 else "n/a"
    lim_a = f"{arith / M:.0f} M updates/s (arithmetic)" if arith > 0 else "n/a (not the AVX-512 float kernel)"
    P.append(f"| BRUNO forward | {bruno / M:.0f} M | | {lim_a} | {share(bruno, arith)} |")
    P.append(f"| BPTT forward (with the stores) | {bptt / M:.0f} M | {m['bptt_store_bytes_per_s'] / 1e9:.2f} GB/s stored | "
             f"{m['store_bandwidth_bytes_per_s'] / 1e9:.2f} GB/s (store bandwidth) = {bw_upd / M:.0f} M updates/s; {lim_a} | "
             f"{share(bptt, bw_upd)} of the store bandwidth, {share(bptt, arith)} of the arithmetic |")
    P.append(f"| checkpoint recomputation | {m['checkpoint_recompute_updates_per_s'] / M:.0f} M | | {lim_a} | "
             f"{share(m['checkpoint_recompute_updates_per_s'], arith)} |")
    P.append(f"| adjoint sweep (BPTT's backward) | {adj / M:.0f} M | {adj * m['bptt_store_bytes'] / m['phase_updates'] / 1e9:.2f} GB/s read | "
             f"| {share(adj, bruno)} of BRUNO's forward rate |")
    if "checkpoint_backward_updates_per_s" in m:  # older CSVs lack the checkpointing rows
        ck, full, cka = (m["checkpoint_backward_updates_per_s"], m["checkpoint_all_snapshots_backward_updates_per_s"],
                         m["checkpoint_adjoint_updates_per_s"])
        P.append(f"| checkpointing's backward (binomial, 31: {m['checkpoint_backward_updates']:.3g} updates recomputed "
                 f"and reversed) | {ck / M:.0f} M | | {lim_a} | {share(ck, arith)} |")
        P.append(f"| checkpointing's backward (N snapshots: {m['checkpoint_all_snapshots_backward_updates']:.3g} updates) | "
                 f"{full / M:.0f} M | | {lim_a} | {share(full, arith)} |")
        P.append(f"| adjoint sweep (checkpointing's, N snapshots: its backward less its recomputation at BPTT's forward "
                 f"rate) | {cka / M:.0f} M | | | {share(cka, bruno)} of BRUNO's forward rate |")
    P.append("")
    return P


def read_metrics(path):
    with open(path) as f:
        return {r["metric"]: (r["value"] if r["metric"] == "phase_neuron" else float(r["value"])) for r in csv.DictReader(f)}


def device_phase_rows(m, path):
    """The phases of another device's hidden layer (same set-up), no targets:
    its fine loop's rates, measured in their own run."""
    M = 1e6
    return [f"## The exact trainers' phases with {m['phase_neuron']} neurons", "",
            f"One run of `bruno-bench throughput --neuron {m['phase_neuron']} --phases-only` ({path}): the set-up above with "
            f"the hidden layer of that device (hidden {m['phase_hidden']:.0f}, {m['phase_seq_ms']:.0f} ms, the "
            f"device's fast kernel: its hand-written windows where it has them, else its portable rows as the compiler "
            f"vectorises them).", "",
            "| phase | updates per s | share of its BRUNO forward rate |", "|---|---|---|",
            f"| BRUNO forward | {m['bruno_forward_updates_per_s'] / M:.0f} M | 100 % |",
            f"| BPTT forward (with the stores) | {m['bptt_forward_updates_per_s'] / M:.0f} M | "
            f"{100 * m['bptt_forward_updates_per_s'] / m['bruno_forward_updates_per_s']:.0f} % |",
            f"| checkpoint recomputation | {m['checkpoint_recompute_updates_per_s'] / M:.0f} M | "
            f"{100 * m['checkpoint_recompute_updates_per_s'] / m['bruno_forward_updates_per_s']:.0f} % |",
            f"| adjoint sweep (BPTT's backward) | {m['adjoint_updates_per_s'] / M:.0f} M | "
            f"{100 * m['adjoint_updates_per_s'] / m['bruno_forward_updates_per_s']:.0f} % |", ""]


PICK_MAX = 1.25  # the rule's pick may cost this much over the faster variant (timing noise near a crossover)


def product_rows(path, L):
    """The product kernels' two targets (rows of the targets' table, appended
    to L) and the table of every shape and share (returned)."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    worst = max(rows, key=lambda r: float(r["rule_over_best"]))
    w = float(worst["rule_over_best"])
    L.append(f"| dense, recurrent and readout products: the rule's variant (dense or zero-skipping) against the faster of "
             f"the two, worst of {len(rows)} shapes and shares | {w:.2f}x ({worst['product']}, share {worst['share']}) | "
             f"<= {PICK_MAX}x | {'PASS' if w <= PICK_MAX else 'FAIL'} | {path} |")
    same = sum(r["same_bits"] == "1" for r in rows)
    L.append(f"| both product variants give the same bits | {same} of {len(rows)} | all | "
             f"{'PASS' if same == len(rows) else 'FAIL'} | {path} |")
    P = ["## Dense, recurrent and readout products: blocked, or skipping zero inputs", "",
         f"One run of `bruno-bench products` ({path}): each product as a layer of this suite calls it, A (the layer's "
         "input: spikes at the shares given, or dense values at share 1) times B (the weights), into a running sum; "
         "the best time of each variant over the rounds. The dense variant keeps an 8-row x 2-vector tile of sums in "
         "registers; the skipping one walks each row's non-zero inputs. bruno.h picks one per product from the "
         "share of non-zeros it counts in A (bruno__gemm_skip_pays).", "",
         "| product | M x N x K | share | dense [us] | skipping [us] | skipping / dense | rule | rule / faster | dense G products/s |",
         "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        P.append(f"| {r['product']} | {r['M']} x {r['N']} x {r['K']} | {float(r['share']):g} | "
                 f"{float(r['dense_s']) * 1e6:.1f} | {float(r['skip_s']) * 1e6:.1f} | {float(r['skip_over_dense']):.2f} | "
                 f"{r['rule']} | {float(r['rule_over_best']):.2f} | {float(r['dense_mac_per_s']) / 1e9:.1f} |")
    P.append("")
    return P


def main():
    tp_path, peers_path, out_path = sys.argv[1:4]
    dev_path = sys.argv[4] if len(sys.argv) > 4 else None
    prod_path = sys.argv[5] if len(sys.argv) > 5 else None
    prods = []
    L = ["# Performance of the fast FeLIF kernel, threads, the exact trainers' phases, and bruno.h against PyTorch", ""]
    phases = []
    L.append("Generated by `make bench` from the CSVs named below. Kernel times are a best of several repetitions (the reference kernel 3, the fast kernel 9 interleaved with it); peers: ours the mean of 3 after a warm-up, PyTorch one after a warm-up. "
             "The 2-thread speed-up is paired: each of 25 rounds times the 1-thread step pinned to each of the two cores, then the 2-thread step with one thread on each, and divides the 1-thread time on the average core (harmonic mean) by the 2-thread time; the table gives the median of the rounds. "
             "On a shared host one core is often slower than the other for seconds; against the faster core alone the speed-up would measure that, not the code. "
             "Each round also times two independent 1-thread steps at once, one per core, as a control: the most two cores of the host give at that moment (bench/cmd_throughput.c).")
    L.append("")
    L.append("| target | measured | threshold | result | source |")
    L.append("|---|---|---|---|---|")
    if os.path.exists(tp_path):
        m = read_metrics(tp_path)
        if "bptt_forward_updates_per_s" in m:
            phases = phase_rows(m, tp_path, L)
    if os.path.exists(tp_path) and "fast_over_reference" in m:
        ratio, sp = m["fast_over_reference"], m["threads2_speedup"]
        L.append(f"| fast kernel / scalar reference, updates per s per core (float) | {ratio:.1f}x "
                 f"({m['fast_updates_per_s'] / 1e6:.0f} vs {m['reference_updates_per_s'] / 1e6:.1f} M/s) | >= 30x | "
                 f"{'PASS' if ratio >= 30 else 'FAIL'} | {tp_path} |")
        L.append(f"| same spikes, fast and reference kernels | {m['fast_spikes']:.0f} vs {m['reference_spikes']:.0f} | equal | "
                 f"{'PASS' if m['fast_spikes'] == m['reference_spikes'] else 'FAIL'} | {tp_path} |")
        detail = ""
        if "train_step_1thread_core0_s" in m:
            detail = (f" (median of paired rounds; best steps: 1 thread {m['train_step_1thread_core0_s']:.4f} s on core 0, "
                      f"{m['train_step_1thread_core1_s']:.4f} s on core 1, 2 threads {m['train_step_2threads_s']:.4f} s; "
                      f"fastest 1-thread / fastest 2-thread {m['threads2_speedup_of_bests']:.2f}x"
                      f"{'' if m.get('threads_pinned', 0) else '; threads not pinned'})")
        L.append(f"| BRUNO training step, 2 threads / 1 thread | {sp:.2f}x{detail} | >= 1.8x | {'PASS' if sp >= 1.8 else 'FAIL'} | {tp_path} |")
        if "host_pair_speedup" in m:
            eff = m["threads2_efficiency_vs_pair"]
            L.append(f"| (control, no target of the issue) two independent 1-thread steps at once, one per core / one step: what the host's two cores give | "
                     f"{m['host_pair_speedup']:.2f}x | | measured | {tp_path} |")
            L.append(f"| (ours) 2-thread step against that control: (two independent steps' time) / (2 x 2-thread step) | {eff:.2f} | >= 0.9 | "
                     f"{'PASS' if eff >= 0.9 else 'FAIL'} | {tp_path} |")
    else:
        L.append(f"| kernel and threads | not run | | | {tp_path} missing |")
    if os.path.exists(peers_path):
        with open(peers_path) as f:
            rows = list(csv.DictReader(f))
        by = {}
        for r in rows:
            key = (r["trainer"], r["hidden"], r["seq_ms"], r["batch"], r["threads"])
            by.setdefault(key, {})["ours" if r["implementation"] == "bruno" else "torch"] = r
        for trainer in ("bruno", "bptt"):
            tr, pr = [], []
            for key, d in by.items():
                if key[0] != trainer or "ours" not in d or "torch" not in d:
                    continue
                tr.append(float(d["torch"]["time_total_s"]) / float(d["ours"]["time_total_s"]))
                pr.append(float(d["ours"]["peak_bytes_jemalloc"]) / float(d["torch"]["peak_bytes_jemalloc"]))
            if not tr:
                continue
            L.append(f"| {trainer}: PyTorch time / ours (worst config) | {min(tr):.1f}x (best {max(tr):.1f}x) | >= 10x | "
                     f"{'PASS' if min(tr) >= 10 else 'FAIL'} | {peers_path} |")
            L.append(f"| {trainer}: our peak / PyTorch peak (worst config) | {max(pr):.2f} | <= 0.5 | "
                     f"{'PASS' if max(pr) <= 0.5 else 'FAIL'} | {peers_path} |")
    else:
        L.append(f"| bruno.h vs PyTorch | not run (`make peers`) | | | {peers_path} missing |")
    if prod_path and os.path.exists(prod_path):
        prods = product_rows(prod_path, L)
    L.append("")
    L += phases
    if dev_path and os.path.exists(dev_path):
        L += device_phase_rows(read_metrics(dev_path), dev_path)
    L += prods
    with open(out_path + ".tmp", "w") as f:
        f.write("\n".join(L))
    os.replace(out_path + ".tmp", out_path)


if __name__ == "__main__":
    main()
