"""Cold start: a fresh process imports fastnn and fits one epoch of digits,
per backend, with this machine's warm caches (``fastnn bench`` also measures
the empty-Numba-cache case)."""
import pytest

from fastnn import available_backends, bench


@pytest.mark.parametrize("backend", available_backends())
def test_fresh_process_fit(benchmark, backend):
    benchmark.group = "cold start"
    benchmark.pedantic(bench.run_child, args=(bench.COLD_START.format(backend=backend),
                                              bench.child_env()), rounds=3, warmup_rounds=1)
