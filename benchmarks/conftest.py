"""pytest-benchmark runs of ``fastnn bench``'s workloads:
``pytest benchmarks/ --benchmark-only`` from the repository root (with fastnn
installed or ``PYTHONPATH=.``); ``FASTNN_BENCH_QUICK=1`` uses the quick plan.
The default test run does not collect this directory (testpaths = tests)."""
import os
import re

import pytest

from fastnn import bench

PLAN = bench.plan(os.environ.get("FASTNN_BENCH_QUICK", "") not in ("", "0"))


def slug(text):
    """A test id that ``-k`` accepts: 'fastnn[numba] fit' -> 'fastnn-numba-fit'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def pytest_generate_tests(metafunc):
    """Tests asking for ``case`` / ``contender`` run once per case of the plan /
    per contender of ``fastnn bench`` (every backend, installed peers)."""
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", bench.cases(PLAN), ids=lambda c: slug(c.label))
    if "contender" in metafunc.fixturenames:
        metafunc.parametrize("contender", bench.contenders()[0], ids=lambda c: slug(c.name))


@pytest.fixture(scope="session")
def plan():
    return PLAN


@pytest.fixture(scope="session")
def data():
    """The fixed workload (its first PLAN.samples rows)."""
    return bench.workload(PLAN.samples)
