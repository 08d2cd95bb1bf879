"""Where everything lives in the flat buffers: parameters, gradients and
optimizer states (one layout), and the work buffer of the network kernels.

The functions below are plain Python over NumPy arrays and integers, so that
the Python layer and the NumPy reference call them as they are and the Numba
backend compiles the same source (``numba/__init__.py``); the Cython backend
reads the offsets they computed from the :class:`~fastnn._kernels.values.Network`
value. Layers are indexed k = 0..L-1 (layer k maps n_k inputs to n_{k+1} units).

Parameters: layer k stores W_k (n_{k+1} x n_k, row-major) at ``param_at[k]``,
then b_k (n_{k+1}); ``param_at[L]`` is the buffer's size.

Work buffer for batches of up to R rows (R = :func:`capacity`), seven regions
(:func:`regions`) and the partitions' buffers (:func:`partials`; both at once:
:func:`buffers`)::

    X batch (R n_0) | Y batch (R n_L) | w batch (R) | A (R S) | H (R S) | D (R S) | scratch (M)
    | partial gradients ((P - 1) T) | partial db (P M) | narrow scratch (P N)

(w batch: the batch's sample weights, used only by weighted training)
with S = n_1 + ... + n_L (``unit_at[L]``) and M = max(n_1, ..., n_L). In a
batch of B <= R rows, layer k's a_k, h_k and dL/da_k are the B x n_{k+1}
blocks at B ``unit_at[k]`` of A, H and D (:func:`block`), so smaller batches
pack at the front.

Large batches (the Cython backend) are split into P = :func:`partitions`
row partitions, each worked through in blocks of :func:`block_rows` rows
(forward, loss and backward of one block while its rows of A, H, D stay in
cache); partition p >= 1 accumulates its gradient into its own T-entry buffer
(T = ``param_at[L]``), p = 0 into the gradient itself, and each has an
M-entry scratch. P depends only on the batch's rows and the shapes, never
on the number of threads, so the sums and their order are the same on any
number of cores. A narrow network's partition works in its own N-entry
scratch instead (N = :func:`narrow_size`, 0 for other networks).
"""
import numpy as np

from ._shared import shared

def param_offsets(sizes):
    """param_at[k] = sum_{j<k} n_{j+1} (n_j + 1): where layer k starts (k = 0..L)."""
    at = np.zeros(len(sizes), np.int64)
    for k in range(len(sizes) - 1):
        at[k + 1] = at[k] + sizes[k + 1] * (sizes[k] + 1)
    return at


def unit_offsets(sizes):
    """unit_at[k] = n_1 + ... + n_k: where layer k's units start in a row of A, H, D."""
    at = np.zeros(len(sizes), np.int64)
    for k in range(len(sizes) - 1):
        at[k + 1] = at[k] + sizes[k + 1]
    return at


@shared
def layer(flat, net, k):
    """(W_k, b_k) of layer k as views into a flat buffer in the parameters' layout."""
    n_in, n_out, at = net.sizes[k], net.sizes[k + 1], net.param_at[k]
    W = flat[at:at + n_out * n_in].reshape(n_out, n_in)
    return W, flat[at + n_out * n_in:at + n_out * (n_in + 1)]


def layer_views(flat, sizes):
    """[(W_1, b_1), ..., (W_L, b_L)] as views into a flat buffer (Python layer)."""
    views, at = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        n_in, n_out = int(n_in), int(n_out)
        views.append((flat[at:at + n_out * n_in].reshape(n_out, n_in),
                      flat[at + n_out * n_in:at + n_out * (n_in + 1)]))
        at += n_out * (n_in + 1)
    return views


@shared
def widest(net):
    """M = max(n_1, ..., n_L)."""
    return net.sizes[1:].max()


# A partition gets at least PART_ROWS rows and PART_FLOPS floating-point
# operations (about 6 per weight and row: the GEMMs of forward and backward),
# so that a thread's share pays for starting it and for the reduction; when
# the parameters outgrow a core's cache (more than PART_PARAMS entries), the
# reduction streams them from memory, and a partition needs BIG_PART_ROWS rows
# for it to stay a few percent of its work. Batches of at least MANY_ROWS rows
# per partition get PARTS_MAX partitions, others 2.
PART_ROWS = 64
PART_FLOPS = 5_000_000
PART_PARAMS = 262144
BIG_PART_ROWS = 256
MANY_ROWS = 1024
PARTS_MAX = 4
# A block's rows of A, H and D (3 S entries a row) take about BLOCK_ENTRIES
# entries (832 KiB of float32, within a 1 MiB L2), between BLOCK_MIN and
# BLOCK_MAX rows (multiples of 16). Its rows of X are not counted: they only
# stream through BLAS, and a taller block re-packs W_1 and passes over dW_1
# fewer times (784-128-10, full batch of 60000, one thread: 512-row blocks
# 6-10% faster than 128).
BLOCK_ENTRIES = 212992
BLOCK_MIN = 128
BLOCK_MAX = 512


@shared
def partitions(net, rows):
    """P, the row partitions of a batch of ``rows`` rows: 1, 2 or PARTS_MAX."""
    flops = 6 * rows * (net.param_at[-1] - net.unit_at[-1])
    least = BIG_PART_ROWS if net.param_at[-1] > PART_PARAMS else PART_ROWS
    if rows < 2 * least or flops < 2 * PART_FLOPS:
        return 1
    return PARTS_MAX if rows >= PARTS_MAX * MANY_ROWS else 2


@shared
def block_rows(net):
    """Rows of a block: BLOCK_ENTRIES / (3 S), a multiple of 16 in [BLOCK_MIN, BLOCK_MAX]."""
    rows = BLOCK_ENTRIES // (3 * net.unit_at[-1]) // 16 * 16
    return min(max(rows, BLOCK_MIN), BLOCK_MAX)


# A batch that is one block of one partition is split by columns instead
# (the Cython backend): each layer's products run as COLUMN_PARTS GEMMs over
# contiguous ranges of one side's columns, on OpenMP's threads. A width of at
# least 2 COLUMN_WIDTH columns is split, its bounds multiples of COLUMN_ALIGN
# (a vector register of float32 entries); a batch takes the split when it has
# at least COLUMN_ROWS rows, its products at least COLUMN_FLOPS operations and
# at least COLUMN_SHARE of them run split, so that the threads' share pays for
# the barriers between layers (a few microseconds each). Measured on 2 cores
# (OpenBLAS's Haswell kernels), 2 threads, split against OpenBLAS's own
# threads: 784-1024-1024-10 at B = 128 -5% (Adam), 784-128-10 at B = 64 -2%
# (SGD) and -7% (Adam), at B = 32 +17% (SGD) and -5% (Adam). OpenBLAS now
# always runs on one thread (blas_threads.py: its results depend on its thread
# count), and against that at B = 32 the split takes 784-128-10 from 2.2x to
# 0.96x JAX's lax.scan (SGD) and 1.33x to 0.85x (Adam).
COLUMN_PARTS = 2
COLUMN_ROWS = 32
COLUMN_WIDTH = 64
COLUMN_ALIGN = 16
COLUMN_FLOPS = 4_000_000
COLUMN_SHARE = 0.9


def column_bounds(net):
    """bounds[i, j], j = 0..COLUMN_PARTS: part j of width n_i (i = 0..L) is its
    columns bounds[i, j] .. bounds[i, j + 1] - 1; a width narrower than
    2 COLUMN_WIDTH is one part (the others empty)."""
    bounds = np.empty((len(net.sizes), COLUMN_PARTS + 1), np.int64)
    for i, n in enumerate(net.sizes):
        for j in range(COLUMN_PARTS + 1):
            cut = j * n // COLUMN_PARTS // COLUMN_ALIGN * COLUMN_ALIGN
            bounds[i, j] = n if j == COLUMN_PARTS or (j > 0 and n < 2 * COLUMN_WIDTH) else cut
    return bounds


def columns(net, rows):
    """True when a batch of ``rows`` rows takes the column split: one block of
    one partition, COLUMN_ROWS <= rows, and of its products' operations
    (2 rows n_k n_{k+1} each: a_k, dL/dW_k, and dL/dh_{k-1} for k > 0) at
    least COLUMN_FLOPS in all and COLUMN_SHARE on a split width (a_k is cut
    along n_{k+1}, dL/dh_{k-1} along n_k, dL/dW_k along either)."""
    if rows < COLUMN_ROWS or rows > block_rows(net) or partitions(net, rows) > 1:
        return False
    split = [n >= 2 * COLUMN_WIDTH for n in net.sizes]
    total = share = 0
    for k in range(len(net.sizes) - 1):
        w = int(net.sizes[k] * net.sizes[k + 1])
        products = (1, 1, 1 if k > 0 else 0)
        cut = (split[k + 1], split[k] or split[k + 1], split[k])
        total += w * sum(products)
        share += w * sum(p for p, c in zip(products, cut) if c)
    return 2 * rows * total >= COLUMN_FLOPS and share >= COLUMN_SHARE * total


# A network whose widths n_0..n_L are all at most NARROW_WIDTH is narrow: in
# float32 the Cython backend works through a partition's rows in blocks of
# NARROW_ROWS rows stored feature-major (_narrow.pyx), in a scratch per
# partition holding the gradient lane by lane (T vectors of at most
# NARROW_LANES floats, AVX-512's 16), W^T (T), and a block's x, a_k, h_k, two
# dL/dh_k and the loss's rows (NARROW_ROWS (n_0 + 2 S + 2 M + 3 n_L + 1)),
# plus NARROW_ALIGN entries to start its vectors on a 64-byte boundary.
NARROW_WIDTH = 64
NARROW_ROWS = 128
NARROW_LANES = 16
NARROW_ALIGN = 16


@shared
def narrow_size(net):
    """N, the entries of a narrow network's scratch per partition (0 when a
    width exceeds NARROW_WIDTH)."""
    if net.sizes.max() > NARROW_WIDTH:
        return 0
    T, S, n_0, n_L = net.param_at[-1], net.unit_at[-1], net.sizes[0], net.sizes[-1]
    rows = NARROW_ROWS * (n_0 + 2 * S + 2 * widest(net) + 3 * n_L + 1)
    return T * (NARROW_LANES + 1) + rows + NARROW_ALIGN


@shared
def _per_row(net):
    return net.sizes[0] + net.sizes[-1] + 1 + 3 * net.unit_at[-1]


@shared
def _partials_size(net, parts, M):
    return (parts - 1) * net.param_at[-1] + parts * (M + narrow_size(net))


@shared
def work_size(net, rows):
    """Entries of a work buffer for batches of up to ``rows`` rows."""
    M = widest(net)
    return rows * _per_row(net) + M + _partials_size(net, partitions(net, rows), M)


@shared
def capacity(net, work):
    """R, the most rows a batch may have in ``work`` (the inverse of work_size):
    the largest R whose rows and partitions' buffers fit."""
    M, per_row, best = widest(net), _per_row(net), 0
    for parts in (1, 2, PARTS_MAX):
        rows = (work.shape[0] - M - _partials_size(net, parts, M)) // per_row
        if rows > best and partitions(net, rows) <= parts:
            best = rows
    return best


@shared
def buffers(net, work):
    """regions(net, work) + partials(net, work), the ten views from one
    computation of R = capacity(net, work) (a kernel call needs them all)."""
    R, M, S, T = capacity(net, work), widest(net), net.unit_at[-1], net.param_at[-1]
    P = partitions(net, R)
    x_end = R * net.sizes[0]
    y_end = x_end + R * net.sizes[-1]
    w_end = y_end + R
    a_end = w_end + R * S
    h_end = a_end + R * S
    d_end = h_end + R * S
    g_end = d_end + M + (P - 1) * T
    db_end = g_end + P * M
    return (work[:x_end], work[x_end:y_end], work[y_end:w_end], work[w_end:a_end],
            work[a_end:h_end], work[h_end:d_end], work[d_end:d_end + M],
            work[d_end + M:g_end], work[g_end:db_end], work[db_end:db_end + P * narrow_size(net)])


@shared
def regions(net, work):
    """(X batch, Y batch, w batch, A, H, D, scratch): the work buffer's regions, flat."""
    b = buffers(net, work)
    return b[0], b[1], b[2], b[3], b[4], b[5], b[6]


@shared
def partials(net, work):
    """(partial gradients, partial db, narrow scratch): the partitions' buffers
    after the regions, (P - 1) T, P M and P N entries for the P =
    partitions(net, R) of R = capacity(net, work); partition p >= 1's
    gradient starts at (p - 1) T, every partition's db scratch at p M and its
    narrow scratch at p N (N = narrow_size(net))."""
    b = buffers(net, work)
    return b[7], b[8], b[9]


@shared
def block(region, net, k, rows):
    """Layer k's rows x n_{k+1} block of region A, H or D for a batch of ``rows`` rows."""
    at = rows * net.unit_at[k]
    return region[at:at + rows * net.sizes[k + 1]].reshape(rows, net.sizes[k + 1])


@shared
def matrix(region, rows, cols):
    """The first rows x cols entries of a flat region, as a C-contiguous matrix."""
    return region[:rows * cols].reshape(rows, cols)
