"""The fixed workload, one benchmark per contender x case (grouped by case):
fastnn per backend (fit, train_epoch, step loop) and the installed peers.
Select with -k, e.g. ``-k "SGD-B-32 and (cython or PyTorch)"``."""
from fastnn import bench


def test_epoch(benchmark, contender, case, data, plan):
    params0 = bench.initial_params(case.hidden)
    contender.prepare(bench.warm_case(case), data, params0).run()
    benchmark.group = case.label
    benchmark.extra_info.update(samples=case.n, steps=case.steps,
                                epoch_factor=case.n_epoch / case.n, kind=contender.kind)
    benchmark.pedantic(lambda job: job.run(),
                       setup=lambda: ((contender.prepare(case, data, params0),), {}),
                       rounds=plan.rounds)
