"""Sparse input for the network kernels, written once for every backend: how
X is given, where the sparse work buffer's regions are, and the per-step
epoch over CSR rows.

X is a CSR matrix given as three arrays (``data``, ``indices``, ``indptr``):
row i's stored values are ``data[indptr[i]:indptr[i+1]]``, in the columns
``indices[indptr[i]:indptr[i+1]]`` (int64, sorted within each row). Only the
first layer reads X, by sparse x dense products; the dense matrix is never
formed, so the sparse work buffer is layout.py's without the X batch region
(:func:`sparse_work_size`, :func:`sparse_regions`): a batch's rows are read
from the CSR arrays through the epoch's index order. Plain Python over NumPy
arrays; the Numba backend compiles the ``@shared`` functions from this source.
"""
import math
from dataclasses import dataclass

import numpy as np

from ._shared import shared
from .epoch import n_steps, set_schedule
from .layout import matrix, widest


@dataclass(frozen=True)
class SparseRows:
    """A validated CSR matrix as the kernels take it: ``data`` (the network's
    dtype), ``indices`` and ``indptr`` (int64, indices sorted in each row),
    ``n_features`` columns; ``len`` is its number of rows."""
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_features: int

    def __len__(self):
        return self.indptr.shape[0] - 1

    @property
    def shape(self):
        return (len(self), self.n_features)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def arrays(self):
        """(data, indices, indptr), the kernels' X."""
        return self.data, self.indices, self.indptr

    def take(self, rows):
        """The rows ``rows`` (in that order) as a new SparseRows."""
        starts = self.indptr[rows]
        lengths = self.indptr[np.asarray(rows) + 1] - starts
        indptr = np.zeros(len(starts) + 1, np.int64)
        np.cumsum(lengths, out=indptr[1:])
        picks = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(self.data[picks], self.indices[picks], indptr, self.n_features)


@shared
def sparse_row_size(net):
    """Work entries per batch row without an X region: Y, w, A, H, D."""
    return net.sizes[-1] + 1 + 3 * net.unit_at[-1]


@shared
def sparse_work_size(net, rows):
    """Entries of a sparse-input work buffer for batches of up to ``rows`` rows."""
    return rows * sparse_row_size(net) + widest(net)


@shared
def sparse_regions(net, work):
    """layout.regions of a sparse-input work buffer: the same seven regions,
    the X batch empty (the batch's rows are read from the CSR arrays)."""
    R, S = (work.shape[0] - widest(net)) // sparse_row_size(net), net.unit_at[-1]
    y_end = R * net.sizes[-1]
    w_end = y_end + R
    a_end = w_end + R * S
    h_end = a_end + R * S
    d_end = h_end + R * S
    return (work[:0], work[:y_end], work[y_end:w_end], work[w_end:a_end], work[a_end:h_end],
            work[h_end:d_end], work[d_end:d_end + widest(net)])


def sparse_step_epoch(loss_and_grad_sparse, update, data, indices, indptr, Y, w, order,
                      batch_size, net, params, grads, opt, lrs, betas, losses_out, work):
    """epoch.step_epoch with X in CSR form: step s takes the CSR rows
    ``order[s*B:(s+1)*B]`` (a small SparseRows of the batch, never dense),
    gathers their Y rows and weights into the work buffer, and calls
    ``loss_and_grad_sparse`` then ``update(x, y, wb)`` with x the batch's
    SparseRows. Returns the number of updates applied."""
    X = SparseRows(data, indices, indptr, int(net.sizes[0]))
    yb, wb = sparse_regions(net, work)[1:3]
    steps = n_steps(order.shape[0], batch_size)
    for s in range(steps):
        rows = order[s * batch_size:(s + 1) * batch_size]
        x = X.take(rows)
        y = np.take(Y, rows, axis=0, out=matrix(yb, rows.shape[0], Y.shape[1]))
        v = w if w.shape[0] == 0 else np.take(w, rows, out=wb[:rows.shape[0]])
        losses_out[s] = loss_and_grad_sparse(*x.arrays, y, v, net, params, grads, work)
        if not math.isfinite(losses_out[s]):
            return s
        set_schedule(opt.hp, lrs, betas, s)
        update(x, y, v)
    return steps


