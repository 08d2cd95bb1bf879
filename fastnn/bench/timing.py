"""Noise-proof timing: what one timed run measures, when it counts as
disturbed, and the statistics of interleaved rounds.

Around every timed run the worker reads the machine's busy CPU time
(/proc/stat: user + nice + system + irq + softirq + steal, all cores) and its
own CPU time; the difference is what OTHER processes used meanwhile. A run is
disturbed when others used more than :data:`NOISE_CORE_FRACTION` of a core
on average (plus the counters' resolution, one tick per core). Disturbed
runs are repeated up to :data:`RETRIES` times, then kept and marked. A short
case's sample is the best of a few back-to-back runs (:func:`repeats`).
"""
import math
import os
import time
from pathlib import Path
from statistics import median

NOISE_CORE_FRACTION = 0.1
RETRIES = 2
# A case whose floor (machine.floor, measured before its rounds) is under
# REPEAT_SECONDS is timed, in every round and for every contender alike, as the
# best of up to MAX_REPEATS back-to-back runs: on a shared VM a run of tens of
# milliseconds varies by the run far more than the code does (tiny-relu on one
# thread: 21-30 ms). The floor, not a contender's own time, sets the count, so
# that every contender of a case gets the same.
REPEAT_SECONDS = 0.25
MAX_REPEATS = 3
# A ratio whose rounds disagree by more than this factor (max / min) is unreliable.
SPREAD_LIMIT = 1.5
_TICK = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def busy_cpu_seconds():
    """CPU seconds all cores spent busy since boot (None off Linux)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) * _TICK


def timed(fn):
    """Run ``fn()`` once: {"seconds": wall, "other_cpu_s": CPU time of other
    processes meanwhile (None off Linux), "disturbed": bool}."""
    busy, own, start = busy_cpu_seconds(), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    own = time.process_time() - own
    if busy is None:
        return {"seconds": wall, "other_cpu_s": None, "disturbed": False}
    other = max(busy_cpu_seconds() - busy - own, 0.0)
    return {"seconds": wall, "other_cpu_s": other, "disturbed": disturbed(other, wall)}


def disturbed(other_cpu_s, wall_s, cores=None):
    """True when other processes used more than NOISE_CORE_FRACTION of a core
    during a run of ``wall_s`` seconds, beyond the counters' resolution."""
    slack = 2 * (cores or os.cpu_count()) * _TICK
    return other_cpu_s > NOISE_CORE_FRACTION * wall_s + slack


def settle(quiet=0.1, poll=0.005, limit=1.0):
    """Wait until this process's threads stop spinning (BLAS and OpenMP pools
    busy-wait after their work): until one ``poll`` interval in which the
    process used less than ``quiet`` of it, at most ``limit`` seconds."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        cpu = time.process_time()
        time.sleep(poll)
        if time.process_time() - cpu < quiet * poll:
            return


def repeats(seconds):
    """Runs per timed sample of a case whose floor is ``seconds``: enough for
    REPEAT_SECONDS in all, at least 1, at most MAX_REPEATS."""
    if seconds <= 0:
        return MAX_REPEATS
    return max(1, min(MAX_REPEATS, math.ceil(REPEAT_SECONDS / seconds)))


def rotated(items, r):
    """``items`` rotated left by r: round r's running order."""
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


def clean_runs(entry):
    """The runs that count for ratios: all, except races that never reached the target."""
    return [r for r in entry["runs"] if r.get("reached", True)]


def summary(runs):
    """Median, min and max seconds of a contender's runs and how many were disturbed."""
    seconds = [r["seconds"] for r in runs]
    return {"median_s": median(seconds), "min_s": min(seconds), "max_s": max(seconds),
            "n": len(runs), "disturbed": sum(r["disturbed"] for r in runs)}


def ratio(runs, reference_runs):
    """The per-round ratios t / t_reference over the rounds in which neither
    run was disturbed: {"median", "min", "max", "rounds", "verdict"} with
    verdict "ok", "unreliable" (max / min > SPREAD_LIMIT) or "disturbed"
    (fewer than two clean rounds)."""
    ref = {r["round"]: r for r in reference_runs}
    clean = [r["seconds"] / ref[r["round"]]["seconds"] for r in runs
             if r["round"] in ref and not r["disturbed"] and not ref[r["round"]]["disturbed"]]
    if len(clean) < 2:
        return {"median": median(clean) if clean else None, "min": None, "max": None,
                "rounds": len(clean), "verdict": "disturbed"}
    lo, hi = min(clean), max(clean)
    return {"median": median(clean), "min": lo, "max": hi, "rounds": len(clean),
            "verdict": "unreliable" if hi > SPREAD_LIMIT * lo else "ok"}
