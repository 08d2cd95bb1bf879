"""pytest-benchmark runs of ``fastnn bench``'s workloads: ``pytest benchmarks/
--benchmark-only`` (set FASTNN_BENCH_QUICK=1 for the quick sizes). Files named
bench_*.py are collected as well as test_*.py."""
import os

import pytest

from fastnn import bench

QUICK = os.environ.get("FASTNN_BENCH_QUICK", "") not in ("", "0")
ROUNDS = 2 if QUICK else 5


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def data():
    """The fixed workload (60000 samples; 6000 in quick mode)."""
    return bench.workload(bench.n_samples(QUICK))
