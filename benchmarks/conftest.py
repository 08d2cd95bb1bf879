"""pytest-benchmark runs of ``fastnn bench``'s workloads:
``pytest benchmarks/ --benchmark-only`` from the repository root (with fastnn
installed or ``PYTHONPATH=.``); ``FASTNN_BENCH_QUICK=1`` uses the quick plan.
The default test run does not collect this directory (testpaths = tests)."""
import os

import pytest

from fastnn import bench

PLAN = bench.plan(os.environ.get("FASTNN_BENCH_QUICK", "") not in ("", "0"))


def pytest_generate_tests(metafunc):
    """A test asking for ``case`` runs once per case of the plan."""
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", bench.cases(PLAN), ids=lambda c: c.label.replace(" ", "-"))


@pytest.fixture(scope="session")
def plan():
    return PLAN


@pytest.fixture(scope="session")
def data():
    """The fixed workload (its first PLAN.samples rows)."""
    return bench.workload(PLAN.samples)
