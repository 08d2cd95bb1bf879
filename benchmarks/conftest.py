"""pytest-benchmark runs of ``fastnn bench``'s workloads (the same
:mod:`fastnn.bench.workloads` and :mod:`fastnn.bench.contenders`, in this
process, with the libraries' own thread settings): ``pytest benchmarks/
--benchmark-only`` from the repository root (with fastnn installed or
``PYTHONPATH=.``); ``FASTNN_BENCH_QUICK=1`` uses the quick matrix. The default
test run does not collect this directory (testpaths = tests). For numbers to
publish, use ``fastnn bench`` (worker processes, noise guard, floors)."""
import os
import re

from fastnn.bench import contenders, workloads

QUICK = os.environ.get("FASTNN_BENCH_QUICK", "") not in ("", "0")
CASES = workloads.cases(quick=QUICK)


def slug(text):
    """A test id that ``-k`` accepts: 'fastnn[numba]' -> 'fastnn-numba'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def pytest_generate_tests(metafunc):
    """``case`` runs once per case of the matrix, ``contender`` once per
    installed contender that applies to it."""
    if "contender" in metafunc.fixturenames:
        pairs = [(case, c) for case in CASES for c in contenders.everyone()
                 if c.available() and c.applies(case)]
        metafunc.parametrize(("case", "contender"), pairs,
                             ids=[f"{case.name}-{slug(c.name)}" for case, c in pairs])
    elif "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.name for c in CASES])
