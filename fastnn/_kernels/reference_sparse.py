"""NumPy/SciPy reference of the sparse-input kernels (``sparse.py`` says how X
is given and where the work buffer's regions are): the network kernels of
``reference.py`` with the first layer's forward product A_1 = X W_1^T + b_1
and weight gradient dL/dW_1 = (dL/dA_1)^T X as SciPy's sparse x dense
products; every other layer is the dense kernels'. The NumPy backend
(``numpy_backend.py``) exports these functions with the dense ones.
"""
import numpy as np
import scipy.sparse

from .layout import block, layer
from .reference import (activation_backward, activation_forward, dense_backward, dense_forward,
                        loss_grad, optimizer_step)
from .sparse import sparse_regions, sparse_step_epoch


def _matrix(data, indices, indptr, net):
    """The kernels' CSR arrays as a SciPy CSR matrix of n_0 columns."""
    return scipy.sparse.csr_matrix((data, indices, indptr),
                                   shape=(indptr.shape[0] - 1, int(net.sizes[0])))


def _forward_batch(X, net, params, work):
    """Algorithm 5 with a sparse X: a_1 = b_1 + W_1 x by the sparse product,
    then the dense layers; returns the logits a_L (a view into the work buffer)."""
    A, H = sparse_regions(net, work)[3:5]
    B = X.shape[0]
    W, b = layer(params, net, 0)
    Z = block(A, net, 0, B)
    Z[...] = X @ W.T
    Z += b
    h = activation_forward(Z, net.acts[0], net.alpha, block(H, net, 0, B))
    for k in range(1, len(net.sizes) - 1):
        W, b = layer(params, net, k)
        h = dense_forward(h, W, b, net.acts[k], net.alpha, block(A, net, k, B),
                          block(H, net, k, B))
    return block(A, net, len(net.sizes) - 2, B)


def forward_sparse(data, indices, indptr, net, params, out, work):
    """forward with X in CSR form: the logits a_L for its rows, into ``out``."""
    out[...] = _forward_batch(_matrix(data, indices, indptr, net), net, params, work)
    return out


def loss_and_grad_sparse(data, indices, indptr, Y, w, net, params, grads_out, work):
    """loss_and_grad with X in CSR form: the dense layers' Algorithm 6, then
    for layer 1 dL/dA_1 = dL/dH_1 * g'(A_1), dL/db_1 its column sums and
    dL/dW_1 = (dL/dA_1)^T X, which is 0 in the columns absent from X."""
    X = _matrix(data, indices, indptr, net)
    logits = _forward_batch(X, net, params, work)
    A, H, D = sparse_regions(net, work)[3:6]
    B, L = X.shape[0], len(net.sizes) - 1
    value = loss_grad(net.loss, logits, Y, w, block(D, net, L - 1, B))
    for k in range(L - 1, 0, -1):
        W, _ = layer(params, net, k)
        dW, db = layer(grads_out, net, k)
        dZ = block(D, net, k, B)
        dense_backward(block(H, net, k - 1, B), W, block(A, net, k, B), block(H, net, k, B), dZ,
                       net.acts[k], net.alpha, dZ, dW, db, block(D, net, k - 1, B), True)
    dW, db = layer(grads_out, net, 0)
    dZ = activation_backward(block(A, net, 0, B), block(H, net, 0, B), block(D, net, 0, B),
                             net.acts[0], net.alpha, block(D, net, 0, B))
    dW[...] = (X.T @ dZ).T
    np.sum(dZ, axis=0, out=db)
    return value


def train_epoch_sparse(data, indices, indptr, Y, w, order, batch_size, net, params, grads, opt,
                       lrs, betas, losses_out, work):
    """train_epoch with X in CSR form: sparse_step_epoch with the reference's
    loss_and_grad_sparse and optimizer_step (dense: W_1's absent columns get a
    zero gradient, which plain SGD leaves unchanged)."""
    return sparse_step_epoch(loss_and_grad_sparse,
                             lambda x, y, wb: optimizer_step(opt, params, grads),
                             data, indices, indptr, Y, w, order, batch_size, net, params, grads,
                             opt, lrs, betas, losses_out, work)
