"""Sparse input (``..sparse``: X as CSR arrays, the work buffer without an X
region): the first layer's products read the batch's CSR rows through the
epoch's index order, the other layers are the dense kernels'.

Layer 1 forward, z_ri = sum_p x_p W_1[i, j_p] over row r's stored values
(j_p their columns), and its weight gradient, dW_1[i, j_p] += dz_ri x_p,
both loop over W_1's rows outermost, four at a time, for blocks of batch
rows: a row of W_1 (or dW_1) is contiguous and stays in cache while the
block's stored values stream past it. dW_1 is 0 outside the batch's
columns: the epoch zeroes it once per call and, after each update, sets back
to 0 the columns the batch touched (all of dW_1 when that is fewer writes);
plain SGD without weight decay updates only those columns of W_1 (the others
would get w -= eta * 0) when the batch stores fewer values than W_1 has
columns.
"""
import math

from ..codes import HP_LR, HP_WEIGHT_DECAY, OPT_SGD
from ..epoch import n_steps, set_schedule
from ..layout import block, layer, matrix
from ..sparse import sparse_regions
from ._jit import kernel, scalar
from .activations import activation_backward, activation_forward
from .dense import add_bias, column_sums
from .losses import loss_grad
from .network import backward_layers, forward_layers, gather, gather_weights
from .optim import optimizer_step
from .stochastic import copy

# Batch rows per block of the layer-1 loops: their stored values stay in L1
# while four rows of W_1 pass (64 rows ran 2x slower, 5000 x 64 float32,
# about 46 values per row).
ROW_BLOCK = 16


@kernel
def row_at(order, lo, r):
    """The CSR row of batch row r: order[lo + r], or lo + r when order is empty."""
    return order[lo + r] if order.size > 0 else lo + r


@kernel
def product_four(data, indices, indptr, order, lo, r0, r1, W, i, Z_out):
    """Z[r, i..i+3] = X_r W[i..i+3]^T for batch rows r0..r1-1: four rows of W
    share each stored value's load, four independent sums."""
    w0, w1, w2, w3 = W[i], W[i + 1], W[i + 2], W[i + 3]
    for r in range(r0, r1):
        row = row_at(order, lo, r)
        a0 = a1 = a2 = a3 = scalar(0, Z_out)
        for p in range(indptr[row], indptr[row + 1]):
            j, x = indices[p], data[p]
            a0 += x * w0[j]
            a1 += x * w1[j]
            a2 += x * w2[j]
            a3 += x * w3[j]
        Z_out[r, i], Z_out[r, i + 1], Z_out[r, i + 2], Z_out[r, i + 3] = a0, a1, a2, a3


@kernel
def product_one(data, indices, indptr, order, lo, r0, r1, W, i, Z_out):
    """Z[r, i] = X_r W[i]^T for batch rows r0..r1-1."""
    w = W[i]
    for r in range(r0, r1):
        row = row_at(order, lo, r)
        acc = scalar(0, Z_out)
        for p in range(indptr[row], indptr[row + 1]):
            acc += data[p] * w[indices[p]]
        Z_out[r, i] = acc


@kernel
def sparse_product(data, indices, indptr, order, lo, W, Z_out):
    """Z = X_batch W^T: z_ri = sum_p data[p] W[i, indices[p]] over the stored
    values p of batch row r, summed in their order."""
    B, n_out = Z_out.shape
    four = n_out - n_out % 4
    for r0 in range(0, B, ROW_BLOCK):
        r1 = min(r0 + ROW_BLOCK, B)
        for i in range(0, four, 4):
            product_four(data, indices, indptr, order, lo, r0, r1, W, i, Z_out)
        for i in range(four, n_out):
            product_one(data, indices, indptr, order, lo, r0, r1, W, i, Z_out)


@kernel
def gradient_four(data, indices, indptr, order, lo, r0, r1, dZ, i, dW):
    """dW[i..i+3, indices[p]] += dZ[r, i..i+3] data[p] for batch rows r0..r1-1
    (rows whose four deltas are 0 add nothing and are skipped)."""
    g0, g1, g2, g3 = dW[i], dW[i + 1], dW[i + 2], dW[i + 3]
    for r in range(r0, r1):
        d0, d1, d2, d3 = dZ[r, i], dZ[r, i + 1], dZ[r, i + 2], dZ[r, i + 3]
        if d0 == 0 and d1 == 0 and d2 == 0 and d3 == 0:
            continue
        row = row_at(order, lo, r)
        for p in range(indptr[row], indptr[row + 1]):
            j, x = indices[p], data[p]
            g0[j] += d0 * x
            g1[j] += d1 * x
            g2[j] += d2 * x
            g3[j] += d3 * x


@kernel
def gradient_one(data, indices, indptr, order, lo, r0, r1, dZ, i, dW):
    """dW[i, indices[p]] += dZ[r, i] data[p] for batch rows r0..r1-1."""
    g = dW[i]
    for r in range(r0, r1):
        d = dZ[r, i]
        if d == 0:
            continue
        row = row_at(order, lo, r)
        for p in range(indptr[row], indptr[row + 1]):
            g[indices[p]] += d * data[p]


@kernel
def sparse_gradient(data, indices, indptr, order, lo, dZ, dW):
    """dW += dZ^T X_batch on the batch's columns only: dW[i, indices[p]] +=
    dZ[r, i] data[p], batch rows in order."""
    B, n_out = dZ.shape
    four = n_out - n_out % 4
    for r0 in range(0, B, ROW_BLOCK):
        r1 = min(r0 + ROW_BLOCK, B)
        for i in range(0, four, 4):
            gradient_four(data, indices, indptr, order, lo, r0, r1, dZ, i, dW)
        for i in range(four, n_out):
            gradient_one(data, indices, indptr, order, lo, r0, r1, dZ, i, dW)


@kernel
def stored_values(indptr, order, lo, B):
    """How many values the batch's rows store."""
    count = 0
    for r in range(B):
        row = row_at(order, lo, r)
        count += indptr[row + 1] - indptr[row]
    return count


@kernel
def clear_columns(indices, indptr, order, lo, B, dW):
    """dW[:, j] = 0 for the columns j stored in the batch's rows: column by
    column when the batch stores fewer values than dW has columns, else the
    whole of dW in one pass (fewer writes)."""
    if stored_values(indptr, order, lo, B) >= dW.shape[1]:
        dW[:, :] = 0
        return
    for i in range(dW.shape[0]):
        g = dW[i]
        for r in range(B):
            row = row_at(order, lo, r)
            for p in range(indptr[row], indptr[row + 1]):
                g[indices[p]] = 0


@kernel
def sgd_columns(indices, indptr, order, lo, B, lr, W, dW):
    """Plain SGD on the batch's columns of W: w -= eta g, then g = 0, so that
    a column stored in several rows steps once and dW is 0 again afterwards."""
    for i in range(W.shape[0]):
        w, g = W[i], dW[i]
        for r in range(B):
            row = row_at(order, lo, r)
            for p in range(indptr[row], indptr[row + 1]):
                j = indices[p]
                w[j] -= lr * g[j]
                g[j] = 0


@kernel
def forward_rows(data, indices, indptr, order, lo, B, net, params, work):
    """Algorithm 5 for the B CSR rows row_at(order, lo, 0..B-1): layer 1 by
    sparse_product, the others dense, into the work buffer's A and H; returns
    the logits a_L (a view)."""
    _, _, _, A, H, _, _ = sparse_regions(net, work)
    L = net.sizes.size - 1
    W, b = layer(params, net, 0)
    Z = block(A, net, 0, B)
    sparse_product(data, indices, indptr, order, lo, W, Z)
    add_bias(Z, b)
    activation_forward(Z, net.acts[0], net.alpha, block(H, net, 0, B))
    return forward_layers(block(H, net, 0, B), 1, net, params, A, H)


@kernel
def backward_rows(Y, w, B, net, params, grads, work):
    """The loss of the logits left by forward_rows (weighted by ``w``; empty:
    unweighted), Algorithm 6 for layers L..2, then layer 1's dL/da_1 (in D)
    and db_1; dW_1 is the caller's (sparse_gradient). Returns the loss."""
    _, _, _, A, H, D, _ = sparse_regions(net, work)
    L = net.sizes.size - 1
    value = loss_grad(net.loss, block(A, net, L - 1, B), Y, w, block(D, net, L - 1, B))
    backward_layers(block(H, net, 0, B), 1, B, net, params, grads, A, H, D)  # X unread
    _, db = layer(grads, net, 0)
    dZ = block(D, net, 0, B)
    activation_backward(block(A, net, 0, B), block(H, net, 0, B), dZ, net.acts[0], net.alpha, dZ)
    column_sums(dZ, db)
    return value


@kernel
def forward_sparse(data, indices, indptr, net, params, out, work):
    """Logits a_L of the network for the rows of the CSR matrix, into ``out``."""
    B = indptr.size - 1
    copy(forward_rows(data, indices, indptr, indptr[:0], 0, B, net, params, work), out)
    return out


@kernel
def loss_and_grad_sparse(data, indices, indptr, Y, w, net, params, grads_out, work):
    """loss_and_grad for the rows of the CSR matrix; dW_1 is 0 in the columns
    that no row stores."""
    B, order = indptr.size - 1, indptr[:0]
    forward_rows(data, indices, indptr, order, 0, B, net, params, work)
    value = backward_rows(Y, w, B, net, params, grads_out, work)
    grads_out[:net.sizes[1] * net.sizes[0]] = 0
    dW, _ = layer(grads_out, net, 0)
    sparse_gradient(data, indices, indptr, order, 0, block(sparse_regions(net, work)[5], net, 0, B),
                    dW)
    return value


@kernel
def train_epoch_sparse(data, indices, indptr, Y, w, order, batch_size, net, params, grads, opt,
                       lrs, betas, losses_out, work):
    """train_epoch over CSR rows in one compiled call (see sparse_step_epoch
    for what a step does); nothing is allocated. Plain SGD without weight
    decay, on a batch that stores fewer values than W_1 has columns, updates
    W_1 on the batch's columns only (sgd_columns) and the rest of the
    parameters (b_1 onwards) by optimizer_step; a batch storing more takes
    the whole optimizer_step (one vectorised pass is then cheaper, and the
    other columns get w -= eta * 0, unchanged), and so does the last step,
    so that ``grads`` ends holding the last gradient, as in the reference."""
    _, yb, wb, _, _, D, _ = sparse_regions(net, work)
    steps = n_steps(order.size, batch_size)
    rest = net.sizes[1] * net.sizes[0]         # b_1 starts here
    W, _ = layer(params, net, 0)
    dW, _ = layer(grads, net, 0)
    grads[:rest] = 0
    plain_sgd = opt.code == OPT_SGD and scalar(opt.hp[HP_WEIGHT_DECAY], params) == 0
    for s in range(steps):
        lo = s * batch_size
        B = min(batch_size, order.size - lo)
        y = matrix(yb, B, Y.shape[1])
        gather(Y, order, lo, y)
        v = gather_weights(w, order, lo, wb[:B])
        forward_rows(data, indices, indptr, order, lo, B, net, params, work)
        value = backward_rows(y, v, B, net, params, grads, work)
        sparse_gradient(data, indices, indptr, order, lo, block(D, net, 0, B), dW)
        losses_out[s] = value
        if not math.isfinite(value):
            return s
        set_schedule(opt.hp, lrs, betas, s)
        last = s + 1 == steps
        if plain_sgd and not last and stored_values(indptr, order, lo, B) < net.sizes[0]:
            sgd_columns(indices, indptr, order, lo, B, scalar(opt.hp[HP_LR], params), W, dW)
            optimizer_step(opt, params[rest:], grads[rest:])
        else:
            optimizer_step(opt, params, grads)
            if not last:
                clear_columns(indices, indptr, order, lo, B, dW)
    return steps
