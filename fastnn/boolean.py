"""Boolean functions of n inputs (the notes' section 2.4): truth tables, the
2^(2^n) functions with the notes' numbering, an exact linear separability
test, and the exact number of linearly separable functions.

A truth table is a 0/1 vector of length 2^n over the rows of :func:`inputs`,
which follow the notes' tables: row r has x_i = bit (i-1) of r, so for n = 2
the rows are (0,0), (1,0), (0,1), (1,1). A function is linearly separable
(a threshold function) when some w_0, ..., w_n give
f(x) = 1 iff w_0 + sum_i w_i x_i >= 0.
"""
import math
from fractions import Fraction
from itertools import permutations

import numpy as np
from numba import njit
from scipy.optimize import linprog

from ._validation import as_array, check_int

# count_linearly_separable works on truth tables held as the bits of a uint64:
# bit r is f(row r), so n <= 6.
MAX_COUNT_INPUTS = 6
# all_functions materialises 2^(2^n) rows: n <= 4 is 65536 functions.
MAX_LISTED_INPUTS = 4
# inputs and truth_table materialise 2^n rows: n <= 20 is about a million.
MAX_TABLE_INPUTS = 20
# the exact separability test solves LPs over 2^n rows: n <= 12 takes well
# under a second (and its exact certificate is checked up to there).
MAX_SEPARABLE_INPUTS = 12
# weight_bound is exact integer arithmetic on (n + 1)^(n + 1).
MAX_BOUND_INPUTS = 4096


def inputs(n):
    """The 2^n input rows of n Boolean variables in the notes' order,
    row r = (bit 0 of r, ..., bit n-1 of r), as a (2^n, n) uint8 array; n <= 20."""
    n = _check_inputs(n, MAX_TABLE_INPUTS, "2^n rows")
    rows = np.arange(2 ** n)
    return ((rows[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def truth_table(f, n):
    """The truth table of the Python predicate ``f(x_1, ..., x_n)`` (a 0/1 uint8
    vector over the rows of :func:`inputs`); n <= 20."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    n = _check_inputs(n, MAX_TABLE_INPUTS, "2^n rows")
    return np.array([1 if f(*map(int, x)) else 0 for x in inputs(n)], dtype=np.uint8)


def check_table(table, name="table"):
    """``table`` as a uint8 0/1 vector of length 2^n; returns (table, n)."""
    arr = as_array(table, name)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"{name} must hold 0/1 integers or bools, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0 or arr.size & (arr.size - 1):
        raise ValueError(f"{name} must be a vector of length 2^n, got shape {arr.shape}")
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError(f"{name} must contain only 0 and 1")
    return arr.astype(np.uint8), arr.size.bit_length() - 1


def all_functions(n):
    """Every Boolean function of n inputs, as a (2^(2^n), 2^n) uint8 array whose
    row m is the notes' f_{m+1}: the column of f_{m+1} read from the top row
    down is m written in binary, so for n = 2 row 0 is f_1 = 0000 (false),
    row 1 is f_2 = 0001 (AND), row 6 is f_7 = 0110 (XOR), row 9 is f_10 = 1001
    (XNOR) and row 15 is f_16 = 1111 (true). n <= 4."""
    n = check_int(n, "n", minimum=0)
    if n > MAX_LISTED_INPUTS:
        raise ValueError(f"n must be <= {MAX_LISTED_INPUTS} (2^(2^n) functions), got {n}")
    rows = 2 ** n
    m = np.arange(2 ** rows, dtype=np.int64)
    return ((m[:, None] >> np.arange(rows - 1, -1, -1)) & 1).astype(np.uint8)


def function_number(table):
    """j such that ``table`` is the notes' f_j (the inverse of :func:`all_functions`)."""
    table, _ = check_table(table)
    return int("".join(map(str, table)), 2) + 1


# --------------------------------------------------------------------------
# Exact linear separability
# --------------------------------------------------------------------------

def _augmented(n):
    """Rows x~ = [1, x_1, ..., x_n] of every input (x_0 = 1 carries w_0)."""
    return np.hstack([np.ones((2 ** n, 1)), inputs(n)])


def _separates_exactly(w, table, X):
    """True when w_0 + sum_i w_i x_i >= 0 on every row with f = 1 and < 0 on
    every other row, evaluated in exact rational arithmetic (a float is a
    rational number, so no rounding can decide a sign)."""
    w = [Fraction(v) for v in w]
    for x, value in zip(X, table):
        s = sum((wi for wi, xi in zip(w, x) if xi), Fraction(0))
        if (s >= 0) != bool(value):
            return False
    return True


def _hulls_meet_exactly(table, X):
    """A certificate that no weights exist: convex combinations
    sum lambda_t t = sum mu_f f of the rows t with f = 1 and the rows f with
    f = 0 (lambda, mu >= 0, each summing to 1). A point in both convex hulls
    cannot be on both sides of a hyperplane, so the function is not separable.
    The LP's vertex is rational with small denominators; it is recovered as
    fractions and the equalities are checked exactly. Returns True if checked."""
    T, F = X[table == 1], X[table == 0]
    A_eq = np.hstack([T.T, -F.T])                 # row 0: sum lambda - sum mu = 0
    A_eq = np.vstack([A_eq, np.r_[np.ones(len(T)), np.zeros(len(F))]])
    b_eq = np.r_[np.zeros(X.shape[1]), 1.0]
    res = linprog(np.zeros(A_eq.shape[1]), A_eq=A_eq, b_eq=b_eq, bounds=(0, None),
                  method="highs-ds")
    if res.status != 0:
        return False
    coef = [Fraction(v).limit_denominator(2 ** 40) for v in res.x]
    lam, mu = coef[:len(T)], coef[len(T):]
    if min(coef) < 0 or sum(lam) != 1 or sum(mu) != 1:
        return False
    for j in range(X.shape[1]):
        if sum(l * int(t[j]) for l, t in zip(lam, T)) != sum(m * int(f[j]) for m, f in zip(mu, F)):
            return False
    return True


def separating_weights(table):
    """Weights [w_0, w_1, ..., w_n] with f(x) = 1 iff w_0 + sum_i w_i x_i >= 0
    on every row, or None when the function is not linearly separable.

    Both answers are exact. Weights come from the feasibility LP
    w . x~ >= 1 on the rows with f = 1, w . x~ <= -1 on the others
    (``scipy.optimize.linprog``; the margin 1 is only a scale) and are then
    checked in exact rational arithmetic. "None" is returned only with a
    certificate checked exactly: convex combinations of the 1-rows and of the
    0-rows that are the same point (for XOR, (1,0)/2 + (0,1)/2 =
    (0,0)/2 + (1,1)/2). If neither can be checked a RuntimeError is raised."""
    table, n = check_table(table)
    if n > MAX_SEPARABLE_INPUTS:
        raise ValueError(f"table has 2^{n} entries; the exact separability test takes "
                         f"n <= {MAX_SEPARABLE_INPUTS} inputs (2^{MAX_SEPARABLE_INPUTS} entries)")
    X = _augmented(n)
    sign = np.where(table == 1, -1.0, 1.0)        # -(w . x~) <= -1 and w . x~ <= -1
    res = linprog(np.zeros(n + 1), A_ub=sign[:, None] * X, b_ub=-np.ones(len(X)),
                  bounds=(None, None), method="highs")
    if res.status == 0 and _separates_exactly(res.x, table, X):
        return res.x
    if _hulls_meet_exactly(table, X):
        return None
    raise RuntimeError("the separability LP gave an answer that could not be checked exactly")


def is_linearly_separable(table):
    """Whether a single perceptron (threshold unit) computes ``table`` (exact)."""
    return separating_weights(table) is not None


# --------------------------------------------------------------------------
# Counting the linearly separable functions
# --------------------------------------------------------------------------

def weight_bound(n):
    """B(n) = floor((n+1)^((n+1)/2) / 2^n): every threshold function of n inputs
    is f(x) = [w . x >= t] for some integer weights |w_i| <= B(n) (Muroga's
    bound: B = 1, 1, 1, 2, 3, 6, 14 for n = 0..6).

    Proof. In +-1 coordinates s = 2x - 1 a threshold function separates its
    rows strictly, so the polyhedron of z = (w_0, w) with
    y_r (w_0 + w . s_r) >= 1 on every row r (y_r = +1 where f = 1, -1 where
    f = 0) is not empty, and it has a vertex because the vectors (1, s_r) span
    R^(n+1). At the vertex n+1 independent rows are tight: M z = 1, M a +-1
    matrix of order n+1, and by Cramer's rule z_i = det(M_i) / det(M) with M_i
    (a column of M replaced by ones) a +-1 matrix too. The determinant of a
    +-1 matrix of order n+1 is a multiple of 2^n (subtract the first row from
    the others) and at most (n+1)^((n+1)/2) in absolute value (Hadamard), so
    z |det M| / 2^n is an integer vector bounded by B(n) that still satisfies
    every inequality (|det M| / 2^n >= 1). In 0/1 coordinates
    w_0 + w . s = 2 w . x + (w_0 - sum_i w_i), so f(x) = [w . x >= t] with
    the same integers w and t = (sum_i w_i - w_0) / 2."""
    n = _check_inputs(n, MAX_BOUND_INPUTS, "a number of (n + 1) log2(n + 1) bits")
    return math.isqrt((n + 1) ** (n + 1)) >> n


@njit(cache=True)
def _hash_insert(keys, used, key):
    """Insert ``key`` into the open-addressing set (keys, used); returns 1 if new."""
    mask = keys.shape[0] - 1
    h = (key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
    i = np.int64(h) & mask
    while used[i]:
        if keys[i] == key:
            return 0
        i = (i + 1) & mask
    keys[i] = key
    used[i] = True
    return 1


@njit(cache=True)
def _sorted_threshold_functions(n, bound, capacity):
    """Truth tables (bit r = f(row r)) of every f(x) = [sum_i w_i x_i >= t]
    with integers 0 <= w_1 <= ... <= w_n <= bound and any t, without repeats.

    For each weight vector the sums s_r = w . x_r are bucketed by value and the
    cuts {r : s_r >= t} are accumulated from the largest value down, so every
    distinct t costs one OR. Returns (keys, used, count) of the set; count is
    -1 when ``capacity`` was too small."""
    rows = 1 << n
    keys = np.zeros(capacity, np.uint64)
    used = np.zeros(capacity, np.bool_)
    count = _hash_insert(keys, used, np.uint64(0))         # t above every sum
    w = np.zeros(n, np.int64)
    s = np.zeros(rows, np.int64)
    buckets = np.zeros(n * bound + 1, np.uint64)
    while True:
        for i in range(n):                     # s_r = s_(r - 2^i) + w_(i+1), 2^i <= r < 2^(i+1)
            for r in range(1 << i, 2 << i):
                s[r] = s[r - (1 << i)] + w[i]
        buckets[:] = 0
        for r in range(rows):
            buckets[s[r]] |= np.uint64(1) << np.uint64(r)
        cut = np.uint64(0)
        for v in range(n * bound, -1, -1):
            if buckets[v]:
                cut |= buckets[v]
                count += _hash_insert(keys, used, cut)
                if 2 * count > capacity:
                    return keys, used, -1
        i = n - 1                                          # next nondecreasing w
        while i >= 0 and w[i] == bound:
            i -= 1
        if i < 0:
            return keys, used, count
        w[i] += 1
        w[i + 1:] = w[i]


def _permuted_rows(n):
    """For every permutation pi of the n variables, the row index of
    (x_pi(1), ..., x_pi(n)) for each row r: an (n!, 2^n) int64 array."""
    X = inputs(n).astype(np.int64)
    perms = np.array(list(permutations(range(n))), dtype=np.int64).reshape(math.factorial(n), n)
    return (X[:, perms] << np.arange(n)).sum(axis=-1).T.copy()


@njit(cache=True)
def _apply_row_maps(tables, maps):
    """g(row maps[p, r]) = f(row r) for every table f and every row map p."""
    out = np.empty(tables.shape[0] * maps.shape[0], np.uint64)
    k = 0
    for f in tables:
        for p in range(maps.shape[0]):
            g = np.uint64(0)
            for r in range(maps.shape[1]):
                if (f >> np.uint64(r)) & np.uint64(1):
                    g |= np.uint64(1) << np.uint64(maps[p, r])
            out[k] = g
            k += 1
    return out


def _positive_threshold_functions(n):
    """Every positive threshold function of n inputs (all w_i >= 0) as sorted
    uint64 truth tables: the functions with 0 <= w_1 <= ... <= w_n <= B(n),
    closed under permutations of the variables. Complete, because a realisation
    with integer |w_i| <= B(n) exists (:func:`weight_bound`), a negative weight
    of a positive function can be set to 0 (its variable is then inessential),
    and sorting the weights is a permutation of the variables."""
    capacity = 1 << 12
    while True:
        keys, used, count = _sorted_threshold_functions(n, weight_bound(n), capacity)
        if count >= 0:
            break
        capacity *= 4
    return np.unique(_apply_row_maps(keys[used], _permuted_rows(n)))


def _essential(tables, n):
    """Per table, a boolean (len, n) array: does f depend on x_i?
    f ignores x_i iff f(x with x_i = 1) = f(x with x_i = 0) on every row."""
    rows = np.arange(2 ** n, dtype=np.uint64)
    out = np.empty((len(tables), n), dtype=bool)
    for i in range(n):
        zero_rows = np.bitwise_or.reduce(np.uint64(1) << rows[(rows >> np.uint64(i)) & 1 == 0])
        shifted = (tables >> np.uint64(1 << i)) & zero_rows
        out[:, i] = shifted != (tables & zero_rows)
    return out


def _check_inputs(n, limit, why):
    n = check_int(n, "n", minimum=0)
    if n > limit:
        raise ValueError(f"n must be <= {limit}, got {n} ({why})")
    return n


def _check_count_inputs(n):
    n = check_int(n, "n", minimum=0)
    if n > MAX_COUNT_INPUTS:
        raise ValueError(f"n must be <= {MAX_COUNT_INPUTS}, got {n} (truth tables are "
                         "held in 64 bits and the enumeration grows as B(n)^n / n!)")
    return n


def count_linearly_separable(n):
    """The exact number of linearly separable Boolean functions of n <= 6 inputs,
    computed (never looked up).

    Every threshold function f is unate: each essential variable enters it
    either increasing (w_i > 0) or decreasing (w_i < 0). Negating the
    decreasing ones gives a positive threshold function g, and conversely each
    positive g and each subset of its essential variables to negate give a
    distinct threshold function. Hence the count is
    sum over positive threshold g of 2^(number of essential variables of g),
    with the positive ones enumerated exactly from integer weights bounded by
    :func:`weight_bound`. n = 6 takes a few seconds (the first call also
    compiles the loops with Numba)."""
    n = _check_count_inputs(n)
    positive = _positive_threshold_functions(n)
    return int(np.sum(np.left_shift(1, _essential(positive, n).sum(axis=1))))


def linearly_separable_functions(n):
    """Every linearly separable function of n <= 6 inputs as a sorted uint64
    array of truth tables, bit r = f(row r of :func:`inputs`): each positive
    threshold function with every subset of its essential variables negated
    (negating x_i maps row r to row r XOR 2^i). n = 6 gives 15,028,134 tables
    (120 MB) in several seconds; :func:`count_linearly_separable` does not list them."""
    n = _check_count_inputs(n)
    positive = _positive_threshold_functions(n)
    essential = _essential(positive, n)
    rows = np.arange(2 ** n, dtype=np.int64)
    out = []
    for negated in range(2 ** n):                 # negated: a subset of the variables
        bits = (negated >> np.arange(n)) & 1
        chosen = positive[~np.any(bits.astype(bool) & ~essential, axis=1)]
        out.append(_apply_row_maps(chosen, (rows ^ negated)[None, :]))
    return np.sort(np.concatenate(out))
