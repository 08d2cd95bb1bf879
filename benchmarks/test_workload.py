"""One benchmark per case x contender, grouped by case; select with -k, e.g.
``-k "mnist-sgd-b32 and (cython or PyTorch)"``. A round is one timed run of
the case from the shared initial weights (reset untimed)."""
from fastnn.bench import workloads


def test_run(benchmark, case, contender):
    job = contender.make(case, workloads.load(case), workloads.initial_weights(case), 1)
    job.run()                                     # warm-up: imports, compiles, caches
    benchmark.group = case.name
    benchmark.extra_info.update(steps=case.steps, kind=contender.kind,
                                workload=case.describe())
    benchmark.pedantic(job.run, setup=job.reset, rounds=3)
