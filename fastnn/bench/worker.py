"""A worker process of ``fastnn bench``: one contender (or the machine probe)
on a fixed number of threads, answering one JSON request per line.

Started by :class:`fastnn.bench.suite.Worker` as ``python -m
fastnn.bench.worker NAME THREADS`` with :func:`machine.worker_env`; its
stdout carries only the replies (anything a library prints goes to stderr).
Requests:

- ``{"op": "ready"}``: answered once the contender's library is imported
  (all workers import at once, before anything is timed);
- ``{"op": "prepare", "case": {...}, "data": path, "weights": path}``: read
  the case's data (``workloads.save``), build the job, do one
  untimed run from the initial weights (warm-up: imports, compiles, caches)
  and save the final weights of the case's checked run (that run, or its
  first steps: ``Case.checked``) to ``path`` (.npy) for the cross-check;
- ``{"op": "time", "repeats": k}``: reset and one untimed run, then k times
  reset and one timed run (:func:`timing.timed`); the fastest of them, and
  how far the final weights are from the checked run's (``repeat_error``);
- ``{"op": "race"}``: reset, then timed epochs until the test accuracy
  reaches the case's target (the evaluations are not timed; the first
  epoch's weights give ``repeat_error``);
- ``{"op": "floor", "case": {...}}`` and ``{"op": "peak"}``: the probe's
  GEMM and memory measurements (:mod:`machine`);
- ``{"op": "quit"}``.
"""
import importlib
import json
import os
import sys
import time
import traceback

import numpy as np

from . import machine, timing
from .contenders import by_name
from .workloads import Case, disagreement, flat, initial_weights, prefix, read

class Session:
    """The worker's state: its contender, the prepared case and its job."""

    def __init__(self, name, threads):
        self.name, self.threads = name, threads
        self.case = self.job = self.data = self.peak_flops = self.checked = self.w0 = None

    def ready(self):
        return {}

    def prepare(self, case, data, weights):
        self.case = Case(**{**case, "sizes": tuple(case["sizes"])})
        self.data = read(data)
        start = time.perf_counter()
        init = initial_weights(self.case)
        self.job = by_name(self.name).make(self.case, self.data, init, self.threads)
        setup = time.perf_counter() - start
        warmup = timing.timed(self.job.run)
        self.w0, self.checked = flat(init), flat(self.job.weights())
        np.save(weights, self.checked if self.case.checked() == self.case else
                self.check_run(init))
        return {"setup_s": setup, "warmup_s": warmup["seconds"],
                "pools": machine.thread_pools()}

    def check_run(self, init):
        """Final weights of the case's checked run, a job of its own."""
        check = self.case.checked()
        job = by_name(self.name).make(check, prefix(self.data, check), init, self.threads)
        job.run()
        return flat(job.weights())

    def repeat_error(self):
        """How far this run's weights are from the cross-checked run's (one
        run from the same start: they must agree)."""
        return disagreement(flat(self.job.weights()), self.checked, self.w0)

    def time(self, repeats=1):
        """The fastest of ``repeats`` timed runs, back to back, right after an
        untimed one of the same job (no sleep between): a run of a few
        milliseconds that starts on cores left idle takes up to 3x as long on
        a 2-core VM, by the run, as the cores wake."""
        timing.settle()
        self.job.reset()
        self.job.run()
        samples = []
        for _ in range(repeats):
            self.job.reset()
            samples.append(timing.timed(self.job.run))
        best = min(samples, key=lambda sample: sample["seconds"])
        return {**best, "repeats": repeats, "repeat_error": self.repeat_error()}

    def race(self):
        """Timed epochs until the test accuracy reaches the target:
        {"seconds": training seconds then (None if never), "curve": [[s, acc]],
        "other_cpu_s", "disturbed"}."""
        self.job.reset()
        spent, other, disturbed, reached, repeat = 0.0, 0.0, False, None, None
        curve = [[0.0, self.accuracy()]]
        timing.settle()
        for _ in range(self.case.epochs):
            epoch = timing.timed(self.job.run)
            spent += epoch["seconds"]
            other += epoch["other_cpu_s"] or 0.0
            disturbed |= epoch["disturbed"]
            accuracy = self.accuracy()
            curve.append([spent, accuracy])
            repeat = self.repeat_error() if len(curve) == 2 else repeat
            if accuracy >= self.case.target:
                reached = spent
                break
        return {"seconds": reached, "curve": curve, "other_cpu_s": other,
                "disturbed": disturbed, "repeat_error": repeat}

    def accuracy(self):
        return float(np.mean(self.job.predict(self.data.X_test) == self.data.y_test))

    def floor(self, case):
        return machine.floor(Case(**{**case, "sizes": tuple(case["sizes"])}), self.peak_flops)

    def peak(self):
        self.peak_flops = machine.peak_gemm_flops()
        return {"gemm_flops_per_s": self.peak_flops, "pools": machine.thread_pools()}


def main(argv):
    name, threads = argv[0], int(argv[1])
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                       # stray prints must not corrupt the replies
    machine.limit_threads(threads)
    session = Session(name, threads)
    if name != machine.PROBE:
        importlib.import_module(by_name(name).needs)
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            reply = getattr(session, op)(**request)
        except Exception as exc:  # reported to the parent, which marks the contender failed
            reply = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"}
        timing.settle()
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
