"""Cold start: a fresh process imports fastnn and fits one epoch of digits,
per backend, with the warm caches of this machine (see ``fastnn bench`` for
the cold-cache run)."""
import pytest

from fastnn import available_backends, bench


@pytest.mark.parametrize("backend", available_backends())
def test_fresh_process_fit(benchmark, backend):
    code = bench.COLD_START.format(backend=backend)
    env = bench.child_env()
    benchmark.group = "cold start"
    benchmark.pedantic(bench.run_child, args=(code, env), rounds=3, warmup_rounds=1)
