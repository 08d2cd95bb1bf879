"""The benchmark suite behind ``fastnn bench``: fastnn against its peers and
against the limit of the machine, on a matrix of named workloads.

- :mod:`.workloads`: the cases (network, data, batch, optimizer, unit of a run);
- :mod:`.contenders`: fastnn per backend, PyTorch, JAX, scikit-learn, NumPy by hand;
- :mod:`.worker`: the process each contender runs in;
- :mod:`.timing`: the noise guard and the statistics of interleaved rounds;
- :mod:`.machine`: CPU, thread pools, GEMM rate and each case's floor;
- :mod:`.suite`: the whole run; :mod:`.report`: BENCHMARKS.md and the JSON.

The figures are :mod:`fastnn.plotting.bench`'s (plotting depends on this
package, never the reverse).
"""
from .suite import run
from .workloads import cases

__all__ = ["run", "cases"]
