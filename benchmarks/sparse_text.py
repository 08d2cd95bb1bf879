"""Sparse input: a text-like CSR matrix, fastnn sparse vs fastnn on the
densified matrix vs scikit-learn's MLPClassifier on the CSR matrix.

Data: 20000 x 5000 float32 at 1 % density (about 50 stored values per row,
columns drawn with Zipf-like frequencies, log1p counts scaled to unit rows,
like tf-idf), 5 classes from a random linear rule. Network 5000-64-5, ReLU,
softmax cross-entropy, mini-batches of 200 (scikit-learn's "auto"), shuffled,
Adam (lr 1e-3) or plain SGD (lr 0.01, scikit-learn's momentum 0); all BLAS
and OpenMP pools held to one thread (fastnn's sparse kernels are serial).

Time per epoch: after a warm-up epoch (Numba compiles there), rounds of one
epoch per contender, interleaved; the table shows medians, and the ratio
column the median per-round ratio to fastnn sparse (same backend; for
scikit-learn, fastnn's default backend). Peak memory: each
contender in a fresh subprocess that builds the data and trains one epoch:
its peak resident set (VmHWM: the whole process, imports and data included)
and the tracemalloc peak of building the contender and its epoch (the
densified matrix counts for the dense contender: it is built inside the
trace; the imports and the CSR data do not).

Run from the repository root, under the benchmark lock:
``flock /work/bench.lock python benchmarks/sparse_text.py [--rounds 5]``
(``PYTHONPATH=.`` or fastnn installed; pytest does not collect it).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

N, D, DENSITY, K, HIDDEN, BATCH = 20000, 5000, 0.01, 5, 64, 200
OPTIMIZERS = {"adam": 1e-3, "sgd": 1e-2}


def text_like(n=N, d=D, density=DENSITY, k=K, seed=0):
    """(X, y): CSR float32 rows of about density * d stored values, columns
    with Zipf-like frequencies, log1p counts scaled to unit norm; labels the
    argmax of a random linear map of X."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / (np.arange(d) + 10.0) ** 1.1
    lengths = rng.poisson(density * d, n)
    cols = rng.choice(d, lengths.sum(), p=popularity / popularity.sum())
    rows = np.repeat(np.arange(n), lengths)
    X = sp.csr_array((np.ones(cols.size, np.float32), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    X = sp.csr_array(sp.diags_array(1 / np.maximum(norms, 1e-12)) @ X, dtype=np.float32)
    y = (X @ rng.standard_normal((d, k)).astype(np.float32)).argmax(axis=1)
    return X, y


def contender(name, optimizer, X, y):
    """One epoch of ``name`` as a callable (built, not yet run)."""
    import fastnn as fn
    from fastnn.estimators import MLPClassifier
    lr = OPTIMIZERS[optimizer]
    if name.startswith("fastnn"):
        backend = name.split()[1]
        inputs = X.toarray() if "dense" in name else X
        net = fn.MLP([D, HIDDEN, K], activation="relu", random_state=0, backend=backend)
        opt = fn.optim.get(optimizer, backend=backend, lr=lr)
        epochs = iter(range(10 ** 6))
        return lambda: fn.fit(net, inputs, y, opt, batch_size=BATCH, epochs=1,
                              random_state=next(epochs))
    from sklearn.neural_network import MLPClassifier as Theirs
    clf = Theirs((HIDDEN,), solver=optimizer, learning_rate_init=lr, momentum=0.0,
                 batch_size=BATCH, random_state=0)
    classes = np.arange(K)
    return lambda: clf.partial_fit(X, y, classes=classes)


def names():
    from fastnn import available_backends
    compiled = [b for b in available_backends() if b != "numpy"]
    return ([f"fastnn {b} sparse" for b in compiled] + [f"fastnn {b} dense" for b in compiled]
            + ["scikit-learn sparse"])


def times(optimizer, rounds):
    """{contender: [seconds per epoch, one per round]}, rounds interleaved."""
    X, y = text_like()
    epochs = {name: contender(name, optimizer, X, y) for name in names()}
    for run in epochs.values():
        run()                                     # warm-up (compiles)
    seconds = {name: [] for name in epochs}
    for _ in range(rounds):
        for name, run in epochs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def peak_rss_mb():
    """This process's peak resident set: VmHWM (Linux; ru_maxrss would carry
    the parent's peak across fork and exec), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(name, optimizer):
    """Peak memory of one contender, measured in this (fresh) process: the
    trace covers building the contender (the densified matrix for fastnn
    dense) and one epoch, not the imports or the CSR data."""
    import fastnn  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    X, y = text_like()
    tracemalloc.start()
    contender(name, optimizer, X, y)()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"traced_mb": peak / 2 ** 20, "rss_mb": peak_rss_mb()}


def memory_in_subprocess(name, optimizer):
    done = subprocess.run([sys.executable, __file__, "--memory", name, optimizer],
                          capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline(name):
    """The contender a row's ratios are taken to: the same backend's sparse
    run (for scikit-learn, that of fastnn's default backend)."""
    from fastnn._kernels import resolve_backend_name
    backend = name.split()[1] if name.startswith("fastnn") else resolve_backend_name()
    return f"fastnn {backend} sparse"


def table(results, memories):
    lines = ["| contender | " + " | ".join(f"{o} s/epoch (ratio)" for o in results)
             + " | peak RSS MB (adam) | traced peak MB (adam) |",
             "|---|" + "---|" * (len(results) + 2)]
    for name in names():
        cells = []
        for seconds in results.values():
            ratio = statistics.median(a / b for a, b in zip(seconds[name],
                                                            seconds[baseline(name)]))
            cells.append(f"{statistics.median(seconds[name]):.4f} ({ratio:.2f})")
        m = memories[name]
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {m['rss_mb']:.0f} | {m['traced_mb']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory", nargs=2, metavar=("CONTENDER", "OPTIMIZER"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits
    warnings.simplefilter("ignore")
    with threadpool_limits(1):
        if args.memory:
            print(json.dumps(memory(*args.memory)))
            return
        memories = {name: memory_in_subprocess(name, "adam") for name in names()}
        results = {o: times(o, args.rounds) for o in OPTIMIZERS}
    X, _ = text_like()
    print(f"{N} x {D} CSR float32, {X.nnz / N:.1f} stored values per row "
          f"({X.nnz / (N * D):.2%}), {D}-{HIDDEN}-{K} ReLU softmax, batch {BATCH}, "
          f"1 thread, {args.rounds} interleaved rounds (medians; ratio: median per-round "
          f"ratio to the same backend's sparse run, scikit-learn to the default backend's)\n")
    print(table(results, memories))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
