#!/usr/bin/env python3
"""bench/runner.py - executes a run list (bench/grid.py, ci/runs.txt), here or on SLURM.

    runner.py run    --list L --root R [--bench B] [-j N] [--fresh] [--only NAME...] [--dry-run]
    runner.py status --list L --root R [--bench B]
    runner.py post   --scale S --root R [--cc CC --cflags F]   merged CSVs, figures, tables, REPORT.md
    runner.py task   --list L --root R --index I            one run: what a SLURM array task does
    runner.py submit --list L --root R --scale S [slurm options]   a SLURM job array + the post job

L is a run-list file, or `grid:SCALE` for the list bench/grid.py generates.
Line format and output rule: see bench/grid.py (NAME KIND ARGS; OUT =
ROOT/NAME for train, ROOT/NAME.csv otherwise). Lines starting with `ratio`
are ci.py's derived checks and are skipped here.

Resumable: a complete run is skipped; a partial train run is resumed by
rerunning the same command (bruno-bench train continues after its last
finished epoch); any other run is redone (they write their CSV atomically).
A run is complete when its output exists and is not older than the driver
(train: summary.json says "complete" at the list's --epochs). A train run
that diverged is a result, not a failure: it is not rerun.

Locks: every run holds ROOT/.runs/NAME.lock while it runs (a second runner,
here or on another node of a shared file system, is refused with the
holder's pid and host; bruno-bench train also locks its --out directory);
E1 runs (memtime, gradcheck: timings) also hold ROOT/.e1.lock, so no two
run at once anywhere, and the scheduler never starts two of them itself.
Per run: ROOT/.runs/NAME.json (exit code, host, wall and CPU time of the
last invocation) and the log (train: OUT/log.txt, else ROOT/.runs/NAME.log).
Standard library only.
"""
import argparse
import errno
import fcntl
import json
import os
import re
import shlex
import shutil
import socket
import string
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grid  # noqa: E402

E1_KINDS = ("memtime", "gradcheck")
KINDS = E1_KINDS + ("train", "rram", "trace", "converge", "nn", "script")


class Run:
    def __init__(self, name, kind, args):
        self.name, self.kind, self.args = name, kind, args

    def out(self, root):
        return os.path.join(root, self.name) if self.kind == "train" else os.path.join(root, self.name + ".csv")

    def meta(self, root, ext):
        return os.path.join(root, ".runs", self.name + ext)

    def log(self, root):
        return os.path.join(self.out(root), "log.txt") if self.kind == "train" else self.meta(root, ".log")

    def epochs(self):
        m = re.search(r"--epochs\s+(\d+)", self.args)
        return int(m.group(1)) if m else None

    def command(self, root, bench):
        """argv and the stderr file (None: into the log)"""
        out = self.out(root)
        a = string.Template(self.args).safe_substitute(OUT=out, ROOT=root, BENCH=bench)
        if "${OUT}" not in self.args:
            a += f" --out {out}"
        err = None
        m = re.search(r"\s2>\s*(\S+)\s*$", a)
        if m:
            a, err = a[:m.start()], m.group(1)
        argv = shlex.split(a)
        return (argv if self.kind == "script" else [bench, self.kind] + argv), err


def read_list(path):
    if path.startswith("grid:"):  # grid:SCALE or grid:SCALE:PART,PART
        scale, _, parts = path[5:].partition(":")
        return [Run(*r) for r in grid.run_list(scale, parts.split(",") if parts else None)]
    runs, names = [], set()
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            w = line.split(None, 2)
            if not w or w[0] == "ratio":
                continue
            if len(w) < 3 or w[1] not in KINDS:
                sys.exit(f"runner: {path}:{lineno}: expected 'NAME KIND ARGS', KIND one of {' '.join(KINDS)}")
            if w[0] in names:
                sys.exit(f"runner: {path}:{lineno}: run {w[0]} listed twice")
            names.add(w[0])
            runs.append(Run(w[0], w[1], w[2]))
    return runs


# ---------------------------------------------------------------- status
def status(r, root, bench):
    """complete | partial | diverged | failed | not started (and a detail)"""
    rec = {}
    try:
        with open(r.meta(root, ".json")) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        pass
    failed = rec.get("exit", 0) != 0
    out = r.out(root)
    if r.kind == "train":
        try:
            with open(os.path.join(out, "summary.json")) as f:
                s = json.load(f)
        except (OSError, ValueError):
            s = None
        if s is not None:
            if s.get("status") == "diverged":
                return "diverged", f"epoch {s.get('epochs_done')}"
            if s.get("status") == "complete" and s.get("epochs") == r.epochs():
                return "complete", f"{s.get('epochs_done')} epochs"
            detail = f"{s.get('epochs_done')}/{r.epochs()} epochs"
            return ("failed" if failed else "partial"), detail
        if failed:
            return "failed", f"exit {rec['exit']}"
        return ("partial", "started") if os.path.isdir(out) and os.listdir(out) else ("not started", "")
    if os.path.exists(out):
        if bench and os.path.exists(bench) and os.path.getmtime(out) < os.path.getmtime(bench):
            return "partial", "older than the driver"
        return "complete", ""
    if failed:
        return "failed", f"exit {rec['exit']}"
    return "not started", ""


DONE = ("complete", "diverged")


# ---------------------------------------------------------------- locks
def lock(path, what, wait=False):
    """an exclusive flock on path, holding "pid host"; refuses (exit 3) with the holder's name if taken"""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise SystemExit(f"runner: {what} is in use by {holder} (lock {path}); not running it twice")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} host {socket.gethostname()}\n".encode(), 0)
    return fd


def unlock(fd):
    os.close(fd)


# ---------------------------------------------------------------- one run
def execute(r, root, bench, e1_lock):
    """runs r once (resuming train); returns its exit code, writes its record"""
    fd = lock(r.meta(root, ".lock"), f"run {r.name}")
    e1 = lock(e1_lock, "the E1 lock", wait=True) if r.kind in E1_KINDS else None
    try:
        argv, err = r.command(root, bench)
        out = r.out(root)
        os.makedirs(out if r.kind == "train" else os.path.dirname(out), exist_ok=True)
        if err:
            os.makedirs(os.path.dirname(err) or ".", exist_ok=True)
        with open(r.log(root), "a") as log, open(err or os.devnull, "w") as ef:
            log.write(f"runner: {shlex.join(argv)}{' 2> ' + err if err else ''}\n")
            log.flush()
            t0, t_start = time.monotonic(), time.time()
            p = subprocess.Popen(argv, stdout=log, stderr=ef if err else subprocess.STDOUT)
            _, st, ru = os.wait4(p.pid, 0)
            p.returncode = rc = os.waitstatus_to_exitcode(st)
            wall = time.monotonic() - t0
            log.write(f"cpu time of this invocation (user system): {ru.ru_utime:.2f}s {ru.ru_stime:.2f}s; "
                      f"wall {wall:.1f} s; exit {rc}\n")
        rec = {"exit": rc, "host": socket.gethostname(), "start": t_start, "end": time.time(), "wall_s": round(wall, 3),
               "cpu_s": round(ru.ru_utime + ru.ru_stime, 3), "command": shlex.join(argv)}
        tmp = r.meta(root, ".json.tmp")
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.replace(tmp, r.meta(root, ".json"))
        return rc
    finally:
        if e1 is not None:
            unlock(e1)
        unlock(fd)


def clear(r, root):
    out = r.out(root)
    if os.path.isdir(out):
        shutil.rmtree(out)
    for p in (out, r.meta(root, ".json"), r.meta(root, ".log")):
        if os.path.exists(p) and not os.path.isdir(p):
            os.remove(p)


# ---------------------------------------------------------------- run a list
def fmt_s(s):
    return f"{s / 60:.0f} min" if s >= 90 else f"{s:.0f} s"


def run_list(runs, root, bench, jobs=1, fresh=False, e1_lock=None, quiet=False):
    """runs every run not complete, `jobs` at a time; returns the names that failed"""
    e1_lock = e1_lock or os.path.join(root, ".e1.lock")
    if fresh:
        for r in runs:
            clear(r, root)
    todo = [r for r in runs if status(r, root, bench)[0] not in DONE]
    total, done0 = len(runs), len(runs) - len(todo)
    failed, running, finished, walls = [], {}, [0], {}  # walls: kind -> wall times of finished runs
    left_runs = list(todo)
    cv = threading.Condition()
    t0 = time.monotonic()
    tty = sys.stdout.isatty()

    def progress(final=False):
        n = done0 + finished[0]
        left = ""
        if walls and not final:
            # each run left at the mean of the finished runs of its kind (of all, for a kind not seen yet):
            # a rough guide, as runs of one kind differ (a JSB BPTT run costs several Braille LIF runs)
            every = [w for ws in walls.values() for w in ws]
            mean = lambda k: sum(walls.get(k, every)) / len(walls.get(k, every))
            work = sum(mean(r.kind) for r in left_runs)
            left = f", ~{fmt_s(work / max(1, min(jobs, len(left_runs))))} left"
        line = (f"runner: {n}/{total} done ({done0} before), {len(failed)} failed, {len(running)} running"
                f"{left}, {fmt_s(time.monotonic() - t0)} so far")
        if quiet:
            return
        print(("\r" + line + "\033[K") if tty else line, end="\n" if final or not tty else "", flush=True)

    def worker(r):
        t = time.monotonic()
        try:
            rc = execute(r, root, bench, e1_lock)
        except (SystemExit, Exception) as e:  # a lock held elsewhere, a driver that is not there
            msg = str(e)
            print("\n" + (msg if msg.startswith("runner:") else f"runner: {r.name}: {msg}"), file=sys.stderr)
            rc = -1
        st = status(r, root, bench)[0]
        with cv:
            del running[r.name]
            finished[0] += 1
            walls.setdefault(r.kind, []).append(time.monotonic() - t)
            left_runs.remove(r)
            if st not in DONE:
                failed.append(r.name)
                if not quiet:
                    print(f"\nrunner: {r.name} failed (exit {rc}; {st}), see {r.log(root)}", flush=True)
            progress()
            cv.notify_all()

    progress()
    pending = list(todo)
    with cv:
        while pending or running:
            e1_busy = any(x.kind in E1_KINDS for x in running.values())
            nxt = next((r for r in pending if not (r.kind in E1_KINDS and e1_busy)), None)
            if nxt is None or len(running) >= jobs:
                cv.wait()
                continue
            pending.remove(nxt)
            running[nxt.name] = nxt
            threading.Thread(target=worker, args=(nxt,), daemon=True).start()
    progress(final=True)
    return failed


# ---------------------------------------------------------------- post: what is made from the runs
def cmd_post(a):
    bad = 0
    for step in grid.post(a.scale, a.root, a.cc, a.cflags, a.part.split(",") if a.part else None):
        if a.dry_run:
            print(step[1] if step[0] == "sh" else f"{step[0]} {step[1]} <- {len(step[2])}")
            continue
        if step[0] in ("concat", "names"):
            out = step[1]
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out + ".tmp", "w") as o:
                if step[0] == "names":
                    o.write("".join(n + "\n" for n in step[2]))
                else:
                    have = [p for p in step[2] if os.path.exists(p)]
                    for i, p in enumerate(have):
                        with open(p) as f:
                            lines = f.readlines()
                        o.writelines(lines if i == 0 else lines[1:])
                    print(f"post: {len(have)} of {len(step[2])} runs -> {out}")
            os.replace(out + ".tmp", out)
            continue
        rc = subprocess.call(step[1], shell=True)
        if rc:
            bad += 1
            print(f"post: FAILED (exit {rc}): {step[1]}")
    print(f"post: {'all steps made' if not bad else f'{bad} steps failed (missing runs?)'}")
    return 1 if bad and a.strict else 0


# ---------------------------------------------------------------- SLURM
SLURM_SCRIPT = """#!/bin/sh
#SBATCH --output={logs}/%x_%A_%a.log
# one run of the list per array task; the runner resumes or skips it
cd {repo}
exec python3 bench/runner.py task --list {lst} --root {root} --bench {bench} --index $SLURM_ARRAY_TASK_ID
"""


def sbatch(args):
    print("submit: sbatch " + shlex.join(args))
    p = subprocess.run(["sbatch", "--parsable"] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"runner: sbatch failed: {p.stderr.strip()}")
    return p.stdout.strip().split(";")[0]


def cmd_submit(a):
    """one job array per group (E1 runs: one at a time, %1; the rest: %K), then an afterany post job"""
    runs = read_list(a.list)
    todo = [r for r in runs if status(r, a.root, a.bench)[0] not in DONE]
    print(f"submit: {len(todo)} of {len(runs)} runs not complete")
    sub = os.path.join(a.root, ".slurm")
    logs = os.path.join(sub, "logs")
    os.makedirs(logs, exist_ok=True)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    common = [f"--partition={a.partition}"] if a.partition else []
    common += [f"--account={a.account}"] if a.account else []
    common += [f"--time={a.time}", f"--cpus-per-task={a.cpus}"] + (shlex.split(a.sbatch_args) if a.sbatch_args else [])
    jobs = []
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"_{os.getpid()}"  # one set of files per submission
    e1 = [r for r in todo if r.kind in E1_KINDS]
    rest = [r for r in todo if r.kind not in E1_KINDS]
    # arrays of at most --max-array tasks (SLURM's MaxArraySize is 1001 by default)
    chunks = [("e1", 1, e1[i:i + a.max_array]) for i in range(0, len(e1), a.max_array)]
    chunks += [("runs", a.throttle, rest[i:i + a.max_array]) for i in range(0, len(rest), a.max_array)]
    for n, (group, throttle, sel) in enumerate(chunks):
        if throttle == 1 and jobs and n > 0 and chunks[n - 1][0] == "e1":
            # E1 chunks one after the other, so that two never run at once
            sel_dep = [f"--dependency=afterany:{jobs[-1]}"]
        else:
            sel_dep = []
        lst = os.path.join(sub, f"{group}{n}_{stamp}.txt")
        with open(lst, "w") as f:
            f.write("".join(f"{r.name}  {r.kind}  {r.args}\n" for r in sel))
        script = os.path.join(sub, f"{group}{n}_{stamp}.sh")
        with open(script, "w") as f:
            f.write(SLURM_SCRIPT.format(logs=os.path.abspath(logs), repo=shlex.quote(repo), lst=shlex.quote(
                os.path.abspath(lst)), root=shlex.quote(os.path.abspath(a.root)), bench=shlex.quote(
                os.path.abspath(a.bench))))
        jobs.append(sbatch(common + sel_dep + [f"--job-name=bruno-{group}", f"--array=0-{len(sel) - 1}%{throttle}",
                                               script]))
    if a.post:
        dep = [f"--dependency=afterany:{':'.join(jobs)}"] if jobs else []
        post = os.path.join(sub, f"post_{stamp}.sh")
        with open(post, "w") as f:
            f.write(f"#!/bin/sh\n#SBATCH --output={os.path.abspath(logs)}/%x_%j.log\ncd {shlex.quote(repo)}\n"
                    f"exec {a.post}\n")
        jobs.append(sbatch(common + ["--job-name=bruno-post"] + dep + [post]))
    print("submit: jobs " + " ".join(jobs) + f"; logs in {logs}; `make status` (runner.py status) shows progress")
    with open(os.path.join(sub, "last_jobs"), "w") as f:
        f.write(" ".join(jobs) + "\n")
    return 0


def cmd_task(a):
    runs = read_list(a.list)
    if not 0 <= a.index < len(runs):
        sys.exit(f"runner: --index {a.index}: the list has {len(runs)} runs")
    r = runs[a.index]
    st = status(r, a.root, a.bench)[0]
    if st in DONE:
        print(f"runner: {r.name} is {st}: nothing to do")
        return 0
    print(f"runner: {r.name} on {socket.gethostname()} ({st})", flush=True)
    execute(r, a.root, a.bench, os.path.join(a.root, ".e1.lock"))
    st = status(r, a.root, a.bench)[0]
    print(f"runner: {r.name}: {st}")
    return 0 if st in DONE else 1


# ---------------------------------------------------------------- main
def cmd_run(a):
    runs = read_list(a.list)
    if a.only:
        runs = [r for r in runs if r.name in a.only]
    if a.dry_run:
        for r in runs:
            argv, err = r.command(a.root, a.bench)
            print(shlex.join(argv) + (f" 2> {err}" if err else ""))
        return 0
    failed = run_list(runs, a.root, a.bench, a.jobs, a.fresh, a.e1_lock)
    if failed:
        print(f"runner: {len(failed)} failed: {' '.join(failed)}; `runner.py status` lists every run")
    return 1 if failed else 0


def cmd_status(a):
    runs = read_list(a.list)
    counts = {}
    w = max([len(r.name) for r in runs] + [4])
    for r in runs:
        st, detail = status(r, a.root, a.bench)
        counts[st] = counts.get(st, 0) + 1
        if not a.summary:
            print(f"{r.name:<{w}}  {st:<11}  {detail}".rstrip())
    print("status: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f" of {len(runs)}")
    return 0 if counts.get("failed", 0) == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q):
        q.add_argument("--list", required=True, help="run-list file, or grid:SCALE")
        q.add_argument("--root", required=True, help="where the outputs go (results/, build/ci/)")
        q.add_argument("--bench", default="build/bruno-bench")

    q = sub.add_parser("run")
    common(q)
    q.add_argument("-j", "--jobs", type=int, default=1)
    q.add_argument("--fresh", action="store_true", help="delete the outputs first: nothing resumes")
    q.add_argument("--only", nargs="*")
    q.add_argument("--dry-run", action="store_true", help="print the command lines only")
    q.add_argument("--e1-lock", help="default ROOT/.e1.lock")
    q = sub.add_parser("status")
    common(q)
    q.add_argument("--summary", action="store_true")
    q = sub.add_parser("task")
    common(q)
    q.add_argument("--index", type=int, required=True)
    q = sub.add_parser("submit")
    common(q)
    q.add_argument("--throttle", type=int, default=16, help="array tasks at once (%%K)")
    q.add_argument("--partition", default="")
    q.add_argument("--account", default="")
    q.add_argument("--time", default="04:00:00")
    q.add_argument("--cpus", type=int, default=1)
    q.add_argument("--sbatch-args", default="", help="more sbatch options")
    q.add_argument("--max-array", type=int, default=1000, help="tasks per job array at most")
    q.add_argument("--post", default="", help="command of the job run afterany the arrays")
    q = sub.add_parser("post")
    q.add_argument("--scale", required=True)
    q.add_argument("--root", required=True)
    q.add_argument("--cc", default="cc")
    q.add_argument("--cflags", default="")
    q.add_argument("--part", help="only the steps of these parts (e1,train,...; default all)")
    q.add_argument("--strict", action="store_true", help="exit 1 if a step fails")
    q.add_argument("--dry-run", action="store_true", help="print the steps only")
    a = p.parse_args()
    return {"run": cmd_run, "status": cmd_status, "task": cmd_task, "submit": cmd_submit, "post": cmd_post}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
