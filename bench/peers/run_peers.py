#!/usr/bin/python3
"""run_peers.py - what `make peers` runs: the cross-check of bench/peers/
e1_torch.py against bruno-bench, then time and peak memory of both on a
small grid of E1 configurations, into results/peers.csv (one row per
implementation x trainer x configuration), then results/peers.md via
table.py.

Both sides are measured the same way: wall time of forward + backward,
after one untimed warm-up step, averaged over repeats; peak = jemalloc's
thread.peak.read over the window from just before the parameters and the
input are allocated to the end of the backward pass (memtime resets it
before e1_build; e1_torch.py resets it before cloning W and x). PyTorch
runs with LD_PRELOAD=libjemalloc.so.2 and PYTHONMALLOC=malloc so that all
its allocations, Python objects included, go through jemalloc.

Standard library only; run with the Python that has torch (/usr/bin/python3).
"""
import argparse
import csv
import io
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["implementation", "variant", "trainer", "hidden", "inputs", "seq_ms", "batch", "n_fine", "threads",
           "threads_used", "repeats", "peak_bytes_jemalloc", "peak_bytes_counted", "time_forward_s",
           "time_backward_s", "time_total_s", "loss", "spike_mismatch", "grad_cosine_vs_ours"]


def run(cmd, env=None, capture=True):
    t = time.time()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE if capture else None, text=True)
    if r.returncode != 0:
        sys.exit(f"run_peers: failed ({r.returncode}): {' '.join(cmd)}")
    print(f"  [{time.time() - t:6.1f} s] {' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}",
          flush=True)
    return r.stdout


def find_jemalloc():
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        p = os.path.join(d, "libjemalloc.so.2")
        if os.path.exists(p):
            return p
    sys.exit("run_peers: libjemalloc.so.2 not found (make deps installs libjemalloc-dev)")


def ints(s):
    return [int(v) for v in s.split(",")]


def main():
    ap = argparse.ArgumentParser(description="cross-check and time bruno against PyTorch on E1")
    ap.add_argument("--bench", default="build/bruno-bench")
    ap.add_argument("--work", default="build/peers", help="where the e1dump directories go")
    ap.add_argument("--results", default="results")
    ap.add_argument("--hidden", default="64,128")
    ap.add_argument("--seq-ms", default="50,100")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n-fine", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats-ours", type=int, default=3)
    ap.add_argument("--repeats-torch", type=int, default=1)
    ap.add_argument("--skip-check", action="store_true")
    args = ap.parse_args()
    py = sys.executable
    e1t = os.path.join(HERE, "e1_torch.py")
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.results, exist_ok=True)

    # 1. cross-check. E1's own gain (1e-9 A) gives sparse spiking; 4e-9 A
    # drives many resets, freezes and clips as well. Batch 2 checks that the
    # batch dimension is laid out alike on both sides.
    if not args.skip_check:
        print("peers: cross-check (e1dump -> e1_torch.py check)", flush=True)
        dirs = []
        for gain in ("1e-9", "4e-9"):
            d = os.path.join(args.work, f"check_h32_s50_b2_g{gain}")
            run([args.bench, "e1dump", "--dir", d, "--hidden", "32", "--seq-ms", "50", "--batch", "2",
                 "--n-fine", str(args.n_fine), "--gain", gain, "--seed", str(args.seed)])
            dirs.append(d)
        run([py, e1t, "check", *dirs, "--impl", "script", "--out", os.path.join(args.results, "peers_check.json")],
            capture=False)

    # 2. timing grid
    memtime_help = run([args.bench, "memtime", "--help"])
    ours_threads = "--threads" in memtime_help  # bruno-bench is single-threaded unless memtime grows --threads
    jemalloc = find_jemalloc()
    rows = []
    print("peers: timing grid", flush=True)
    for hidden in ints(args.hidden):
        for seq in ints(args.seq_ms):
            d = os.path.join(args.work, f"time_h{hidden}_s{seq}_b{args.batch}")
            run([args.bench, "e1dump", "--dir", d, "--hidden", str(hidden), "--seq-ms", str(seq), "--batch",
                 str(args.batch), "--n-fine", str(args.n_fine), "--seed", str(args.seed)])
            for threads in ints(args.threads):
                env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                for trainer in ("bruno", "bptt"):
                    cmd = [args.bench, "memtime", "--trainer", trainer, "--hidden", str(hidden), "--seq-ms", str(seq),
                           "--batch", str(args.batch), "--n-fine", str(args.n_fine), "--seed", str(args.seed),
                           "--warmup", "1", "--repeats", str(args.repeats_ours)]
                    if ours_threads:
                        cmd += ["--threads", str(threads)]
                    m = next(csv.DictReader(io.StringIO(run(cmd, env=env))))
                    rows.append({"implementation": "bruno", "variant": "bruno.h", "trainer": trainer,
                                 "hidden": hidden, "inputs": m["inputs"], "seq_ms": m["seq_ms"], "batch": m["batch"],
                                 "n_fine": m["n_fine"], "threads": threads,
                                 "threads_used": threads if ours_threads else 1, "repeats": m["repeats"],
                                 "peak_bytes_jemalloc": m["peak_bytes_jemalloc"],
                                 "peak_bytes_counted": m["peak_bytes_counted"],
                                 "time_forward_s": m["time_forward_s"], "time_backward_s": m["time_backward_s"],
                                 "time_total_s": m["time_total_s"], "loss": m["loss"], "spike_mismatch": "",
                                 "grad_cosine_vs_ours": ""})
                    tenv = dict(env, LD_PRELOAD=jemalloc, PYTHONMALLOC="malloc")
                    out = run([py, e1t, "time", d, "--trainer", trainer, "--threads", str(threads), "--warmup", "1",
                               "--repeats", str(args.repeats_torch)], env=tenv)
                    line = [l for l in out.splitlines() if l.startswith("pytorch")][-1]
                    t = dict(zip([c for c in COLUMNS if c != "threads_used"], line.split(",")))
                    t["threads_used"] = threads
                    if not t["peak_bytes_jemalloc"]:
                        sys.exit("run_peers: jemalloc was not active in the PyTorch run (LD_PRELOAD failed?)")
                    rows.append(t)
    path = os.path.join(args.results, "peers.csv")
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in COLUMNS})
    os.replace(tmp, path)
    print(f"peers: wrote {path}")
    run([py, os.path.join(HERE, "table.py"), path, os.path.join(args.results, "peers_check.json"),
         os.path.join(args.results, "peers.md")])
    print(f"peers: wrote {os.path.join(args.results, 'peers.md')}")


if __name__ == "__main__":
    main()
