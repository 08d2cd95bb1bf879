"""The whole matrix: for each thread count, every case, every contender in
its own worker process, interleaved rounds with the order rotated, the floor
measured beside it, the final weights cross-checked; then the report.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import machine, report, timing, workloads
from .contenders import everyone, reference_name
from .machine import PROBE

# Final weights agree when ||w - w_ref|| <= CHECK_TOLERANCE ||w_ref - w_0||: float32
# rounding (summation order, fused operations) over a run. A norm, not a maximum:
# Adam's first steps move a weight with a gradient at rounding level by up to eta
# either way. scikit-learn's Adam adds eps in the "epsilon-hat" form, a different
# rule that moves such weights differently: EPS_HAT_TOLERANCE.
CHECK_TOLERANCE = 1e-2
EPS_HAT_TOLERANCE = 0.3


# Workers start in the folder that holds this fastnn, so they import the same
# one as the parent, never a source tree without its compiled kernels in cwd.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """The parent's handle on one worker process (:mod:`.worker`)."""

    def __init__(self, name, threads):
        self.name, self.threads = name, threads
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fastnn.bench.worker", name, str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=machine.worker_env(threads), cwd=PACKAGE_ROOT)

    def send(self, op, **request):
        self.process.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self.process.stdin.flush()

    def receive(self):
        """The reply to the request sent last; a worker's error is raised here."""
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} (threads {self.threads}) died")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def call(self, op, **request):
        self.send(op, **request)
        return self.receive()

    def quit(self):
        """Ask the worker to exit (all workers are asked before any is waited for)."""
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.stdin.close()
            except (OSError, ValueError):
                pass

    def close(self):
        self.quit()
        self.process.wait(timeout=30)


def default_threads(quick=False):
    """1 and 2 threads, and the machine's core count when it has more (--quick: 1)."""
    cores = os.cpu_count() or 1
    return (1,) if quick else tuple(sorted({1, 2, cores}))


def run(cases=None, threads=None, quick=False, out_dir=".", contenders=None, rounds=None,
        progress=True):
    """Run the matrix and write BENCHMARKS.md and benchmarks.json into
    ``out_dir``; returns the report (a JSON-able dict; the figures are
    :mod:`fastnn.plotting.bench`'s). ``cases``: names of
    :data:`workloads.FULL` (or QUICK), default all; ``threads``: thread
    counts (default :func:`default_threads`); ``contenders``: names, default
    all whose library is installed; ``rounds``: default 3 (quick) or 5."""
    started = time.perf_counter()
    plan = workloads.cases(cases, quick)
    threads = tuple(threads or default_threads(quick))
    rounds = rounds or (3 if quick else 5)
    if any(not isinstance(t, int) or t < 1 for t in threads) or rounds < 1:
        raise ValueError(f"threads={threads} and rounds={rounds} must be integers >= 1")
    unknown = sorted(set(contenders or ()) - {c.name for c in everyone()})
    if unknown:
        raise ValueError(f"unknown contender {', '.join(unknown)}; valid: "
                         f"{', '.join(c.name for c in everyone())}")
    chosen = [c for c in everyone() if contenders is None or c.name in contenders]
    present = [c for c in chosen if c.available()]
    result = {"command": command(cases, threads, quick, out_dir, contenders, rounds),
              "quick": quick, "date": time.strftime("%Y-%m-%d %H:%M %Z"), "rounds": rounds,
              "threads": list(threads), "reference": reference_name(),
              "check_tolerance": CHECK_TOLERANCE, "eps_hat_tolerance": EPS_HAT_TOLERANCE,
              "noise": noise_rules(quick),
              "contenders": [{"name": c.name, "kind": c.kind, "eps_hat": c.eps_hat} for c in present],
              "notes": [f"{c.name}: `{c.needs}` is not installed, not measured"
                        for c in chosen if c not in present],
              "cases": [{**asdict(c), "describe": c.describe()} for c in plan],
              "peak": {}, "pools": {}, "results": []}
    with tempfile.TemporaryDirectory() as scratch:
        for t in threads:
            measure_threads(t, plan, present, rounds, Path(scratch), result, progress)
    result["machine"] = report.machine_facts()
    result["elapsed_s"] = time.perf_counter() - started
    report.write(result, Path(out_dir))
    say(f"done in {result['elapsed_s']:.0f} s: {Path(out_dir) / 'BENCHMARKS.md'}")
    return result


def measure_threads(threads, plan, present, rounds, scratch, result, progress):
    retries = result["noise"]["retries"]
    """Every case on ``threads`` threads: one worker per contender, plus the probe."""
    say(f"{threads} thread{'s' * (threads > 1)}: starting {len(present)} workers")
    workers = {c.name: Worker(c.name, threads) for c in present}
    probe = Worker(PROBE, threads)
    try:
        for w in workers.values():
            w.call("ready")           # every library imported, in parallel
        peak = probe.call("peak")
        result["peak"][str(threads)] = peak["gemm_flops_per_s"]
        result["pools"][str(threads)] = {PROBE: peak["pools"]}
        for k, case in enumerate(plan, 1):
            entries = [c.name for c in present if c.applies(case)]
            label = f"[{threads} thr] {case.name} ({k}/{len(plan)})"
            row = measure_case(case, entries, workers, probe, rounds, retries, scratch, label,
                               progress)
            result["pools"][str(threads)].update(row.pop("pools"))
            result["results"].append({"case": case.name, "threads": threads, **row})
            say(report.one_line(result["results"][-1], result["reference"]))
    finally:
        for w in [*workers.values(), probe]:
            w.quit()
        for w in [*workers.values(), probe]:
            w.close()


def measure_case(case, names, workers, probe, rounds, retries, scratch, label, progress):
    """Floor, preparation (warm-up run and its final weights, every worker at
    once), cross-check and ``rounds`` interleaved rounds of one case."""
    spec = asdict(case)
    floor = probe.call("floor", case=spec)
    prepared, failed, pools = {}, {}, {}
    data = scratch / f"{case.name}.npz"
    if not data.exists():
        workloads.save(workloads.load(case), data)
    for i, name in enumerate(names):       # all at once: nothing is timed yet
        workers[name].send("prepare", case=spec, data=str(data),
                           weights=str(scratch / f"weights{i}.npy"))
    for i, name in enumerate(names):
        try:
            reply = workers[name].receive()
        except RuntimeError as exc:
            failed[name] = str(exc).splitlines()[0]
            continue
        pools[name] = reply.pop("pools")
        prepared[name] = {**reply, "weights": scratch / f"weights{i}.npy"}
    checks = cross_check(case, {n: p.pop("weights") for n, p in prepared.items()})
    live = list(prepared)
    repeats = 1 if case.is_race else timing.repeats(floor["floor_s"])
    runs = {name: [] for name in live}
    say(f"{label}: {len(live)} contenders x {rounds} rounds")
    bar = tqdm(total=rounds * len(live), desc=label, leave=False, file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    for r in range(rounds):
        for name in timing.rotated(live, r):
            bar.set_postfix_str(f"{name}, round {r + 1}/{rounds}")
            try:
                runs[name].append({**timed_run(workers[name], case, retries, repeats),
                                   "round": r})
            except RuntimeError as exc:
                failed[name] = str(exc).splitlines()[0]
            bar.update()
    bar.close()
    return {"floor": floor, "failed": failed, "pools": pools, "repeats": repeats,
            "contenders": {name: {**prepared[name], "check": checks.get(name), "runs": runs[name],
                                  "repeat": max(r["repeat_error"] for r in runs[name])}
                           for name in live if name not in failed}}


def timed_run(worker, case, retries, repeats=1):
    """One timed sample (the best of ``repeats`` runs; a race for races),
    repeated while disturbed, at most ``retries`` more times; the last one is
    kept, its attempts counted."""
    for attempt in range(1, retries + 2):
        sample = worker.call("race") if case.is_race else worker.call("time", repeats=repeats)
        if not sample["disturbed"]:
            break
    if case.is_race:
        sample["reached"] = sample["seconds"] is not None
        sample["seconds"] = sample["seconds"] or sample["curve"][-1][0]
    return {**sample, "attempts": attempt}


def cross_check(case, paths):
    """Per contender, :func:`workloads.disagreement` of the final weights of
    its warm-up run (one run from the initial weights) with the reference
    contender's (fastnn on its default backend, else the first)."""
    if not paths:
        return {}
    ref_name = reference_name() if reference_name() in paths else next(iter(paths))
    w0 = workloads.flat(workloads.initial_weights(case))
    ref = np.load(paths[ref_name])
    return {name: workloads.disagreement(np.load(p), ref, w0) for name, p in paths.items()}


def noise_rules(quick=False):
    """The noise guard's numbers; --quick repeats no disturbed run (it must
    finish in a minute on a busy machine too: its runs are marked instead)."""
    return {"core_fraction": timing.NOISE_CORE_FRACTION,
            "retries": 0 if quick else timing.RETRIES,
            "spread_limit": timing.SPREAD_LIMIT,
            "repeat_seconds": timing.REPEAT_SECONDS, "max_repeats": timing.MAX_REPEATS}


def command(cases, threads, quick, out_dir, contenders, rounds):
    """The ``fastnn bench`` command line of these arguments."""
    parts = ["fastnn", "bench"] + (["--quick"] if quick else [])
    parts += ["--cases", *cases] if cases else []
    parts += ["--threads", *map(str, threads)] if tuple(threads) != default_threads(quick) else []
    parts += ["--contenders", *contenders] if contenders else []
    parts += ["--rounds", str(rounds)] if rounds != (3 if quick else 5) else []
    parts += ["--out", str(out_dir)] if str(out_dir) != "." else []
    return shlex.join(parts)


def say(message):
    print(f"[fastnn bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
