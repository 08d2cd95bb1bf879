"""Optimizer update throughput: fastnn's fused kernels vs memory copy vs torch.optim.

For 1e3 .. 1e7 float32 parameters, the time of one update step and its
throughput in GB/s of nominal memory traffic: an optimizer with k state
buffers reads w, g and the k states and writes w and the k states, 3 + 2k
arrays of n floats; ``np.copyto`` moves 2 arrays and is the machine's limit
for a memory-bound update. Rows:

* ``<backend> kernel``: ``backend.optimizer_step`` called directly;
* ``<backend> step()``: ``Optimizer.step`` with its checks (``check_finite=True``);
* ``<backend> step(no NaN check)``: ``check_finite=False``;
* ``torch <path>``: ``torch.optim`` on one float32 tensor with ``foreach=False``
  (single-tensor), ``foreach=True`` and ``fused=True`` (when it runs on CPU).

Run from the repository root: ``python benchmarks/bench_optim.py [--optimizers sgd
adam] [--sizes 1000 ...] [--torch-threads 1]`` (with fastnn installed, or
``PYTHONPATH=.``; pytest does not collect it). Timings are the best of repeats of
batched calls; on a loaded machine torch's thread pool spin-waits, so compare
with ``--torch-threads 1`` there.
"""
import argparse

import numpy as np

from fastnn import optim
from fastnn.bench.machine import best_seconds
from fastnn._kernels import available_backends, get_backend

TORCH_NAMES = {"sgd": ("SGD", {"lr": 1e-3}), "adam": ("Adam", {"lr": 1e-3}),
               "momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9})}


def seconds_per_call(fn):
    """The least mean time of a batch of calls lasting >= 0.05 s, over 5 batches."""
    return best_seconds(fn, min_time=0.05, repeats=5)


def fastnn_cases(name, backend, w, g):
    """(label, callable) pairs for one optimizer on one backend."""
    state = optim.get(name, backend=backend).kernel_state(w)
    kernel = get_backend(backend).optimizer_step
    checked = optim.get(name, backend=backend)
    unchecked = optim.get(name, backend=backend, check_finite=False)
    return [
        (f"{backend} kernel",
         lambda: kernel(state, w, g)),
        (f"{backend} step()", lambda: checked.step(w, g)),
        (f"{backend} step(no NaN check)", lambda: unchecked.step(w, g)),
    ]


def torch_cases(name, w, g):
    """(label, callable) pairs for torch.optim's single-tensor, foreach and fused paths."""
    try:
        import torch
    except ImportError:
        return []
    if name not in TORCH_NAMES:
        return []
    cls_name, kwargs = TORCH_NAMES[name]
    cases = []
    for path, flags in (("single-tensor", {"foreach": False}), ("foreach", {"foreach": True}),
                        ("fused", {"fused": True})):
        p = torch.nn.Parameter(torch.from_numpy(w.copy()))
        p.grad = torch.from_numpy(g.copy())
        try:
            opt = getattr(torch.optim, cls_name)([p], **kwargs, **flags)
            opt.step()
        except (RuntimeError, ValueError, TypeError):
            continue
        cases.append((f"torch {path}", opt.step))
    return cases


def traffic(name, n):
    """Nominal bytes moved by one float32 update of n parameters: 2 arrays for a
    copy, 3 + 2k for an optimizer with k state buffers."""
    arrays = 2 if name == "copy" else 3 + 2 * optim.get(name, backend="numpy").n_states
    return arrays * n * 4


def run(names, sizes, backends):
    """Rows of (optimizer, label, {n: seconds per step})."""
    rows = []
    rng = np.random.default_rng(0)
    data = {n: (rng.standard_normal(n).astype(np.float32),
                (1e-3 * rng.standard_normal(n)).astype(np.float32)) for n in sizes}
    copy_row = {}
    for n, (w, g) in data.items():
        dst = np.empty_like(w)
        copy_row[n] = seconds_per_call(lambda: np.copyto(dst, w))
    rows.append(("copy", "np.copyto", copy_row))
    for name in names:
        cases = {}
        for n, (w, g) in data.items():
            labelled = [case for b in backends for case in fastnn_cases(name, b, w.copy(), g)]
            labelled += torch_cases(name, w, g)
            for label, fn in labelled:
                cases.setdefault(label, {})[n] = seconds_per_call(fn)
        rows += [(name, label, timings) for label, timings in cases.items()]
    return rows


def print_tables(rows, sizes):
    columns = " | ".join(f"n=1e{round(np.log10(n))}" for n in sizes)
    header = f"| optimizer | path | {columns} |"
    rule = "|---|---|" + "---|" * len(sizes)
    for title, cell in (
        ("GB/s of nominal memory traffic", lambda name, n, s: f"{traffic(name, n) / s / 1e9:.1f}"),
        ("microseconds per step", lambda name, n, s: f"{s * 1e6:.3g}"),
    ):
        print(f"\n{title}\n\n{header}\n{rule}")
        for name, label, timings in rows:
            cells = " | ".join(cell(name, n, timings[n]) if n in timings else "-" for n in sizes)
            print(f"| {name} | {label} | {cells} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", nargs="+", default=["sgd", "adam"],
                        choices=optim.NAMES)
    parser.add_argument("--sizes", nargs="+", type=int,
                        default=[10 ** k for k in range(3, 8)])
    parser.add_argument("--backends", nargs="+", default=list(available_backends()))
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    print(f"backends: {', '.join(args.backends)}; numpy {np.__version__}")
    try:
        import torch
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("torch not installed")
    print_tables(run(args.optimizers, args.sizes, args.backends), args.sizes)


if __name__ == "__main__":
    main()
