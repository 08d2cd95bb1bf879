"""Boolean functions: the notes' tables, exact separability, and the number of
linearly separable functions against brute force and the literature."""
import itertools

import numpy as np
import pytest

from fastnn import boolean

# The notes' Table 2, row by row (x1, x2) = (0,0), (1,0), (0,1), (1,1), columns f1..f16.
NOTES_TABLE_2 = ["0000000011111111", "0000111100001111", "0011001100110011", "0101010101010101"]

# OEIS A000609: number of threshold functions of n variables, n = 0..6.
THRESHOLD_FUNCTIONS = [2, 4, 14, 104, 1882, 94572, 15028134]


def _bits(table):
    """A truth table as the integer with bit r = f(row r)."""
    return sum(int(v) << r for r, v in enumerate(table))


def _integer_threshold_tables(n, bound):
    """Brute force: every table [w_0 + w . x >= 0] with integers |w_i| <= bound."""
    X = np.hstack([np.ones((2 ** n, 1)), boolean.inputs(n)])
    tables = set()
    for w in itertools.product(range(-bound, bound + 1), repeat=n + 1):
        tables.add(_bits(X @ np.array(w) >= 0))
    return tables


def test_inputs_follow_the_notes_row_order():
    assert boolean.inputs(2).tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert boolean.inputs(0).shape == (1, 0)
    X = boolean.inputs(3)
    assert X.shape == (8, 3) and len({tuple(r) for r in X}) == 8


def test_all_functions_of_two_inputs_are_the_notes_table():
    F = boolean.all_functions(2)
    assert F.shape == (16, 4)
    for r, row in enumerate(NOTES_TABLE_2):
        assert "".join(map(str, F[:, r])) == row


@pytest.mark.parametrize("j, f", [
    (2, lambda a, b: a and b), (7, lambda a, b: a != b), (8, lambda a, b: a or b),
    (9, lambda a, b: not (a or b)), (10, lambda a, b: a == b), (15, lambda a, b: not (a and b)),
])
def test_named_functions_have_the_notes_numbers(j, f):
    table = boolean.truth_table(f, 2)
    assert np.array_equal(boolean.all_functions(2)[j - 1], table)
    assert boolean.function_number(table) == j


def test_all_functions_are_distinct_and_numbered():
    for n in range(4):
        F = boolean.all_functions(n)
        assert F.shape == (2 ** 2 ** n, 2 ** n)
        assert len({_bits(t) for t in F}) == len(F)
        assert [boolean.function_number(t) for t in F] == list(range(1, len(F) + 1))


def test_only_xor_and_xnor_are_not_separable():
    """The notes: of the 16 functions of two inputs only XOR and !XOR are not."""
    separable = [boolean.is_linearly_separable(t) for t in boolean.all_functions(2)]
    assert [j + 1 for j, s in enumerate(separable) if not s] == [7, 10]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_separability_agrees_with_integer_weight_brute_force(n):
    """LP answers = exhaustive search over small integer weights (|w_i| <= 3
    realises every threshold function of <= 3 inputs), and the LP's weights
    reproduce the table."""
    by_search = _integer_threshold_tables(n, 3)
    X = np.hstack([np.ones((2 ** n, 1)), boolean.inputs(n)])
    for table in boolean.all_functions(n):
        w = boolean.separating_weights(table)
        assert (w is not None) == (_bits(table) in by_search)
        if w is not None:
            assert np.array_equal((X @ w >= 0).astype(np.uint8), table)
    assert len(by_search) == THRESHOLD_FUNCTIONS[n]


def test_separating_weights_of_larger_functions():
    majority5 = boolean.truth_table(lambda *x: sum(x) >= 3, 5)
    parity4 = boolean.truth_table(lambda *x: sum(x) % 2, 4)
    w = boolean.separating_weights(majority5)
    X = np.hstack([np.ones((32, 1)), boolean.inputs(5)])
    assert np.array_equal((X @ w >= 0).astype(np.uint8), majority5)
    assert boolean.separating_weights(parity4) is None


@pytest.mark.parametrize("n", range(7))
def test_count_matches_the_literature(n):
    assert boolean.count_linearly_separable(n) == THRESHOLD_FUNCTIONS[n]


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_listed_functions_equal_lp_brute_force(n):
    listed = boolean.linearly_separable_functions(n)
    assert len(np.unique(listed)) == len(listed) == THRESHOLD_FUNCTIONS[n]
    by_lp = {_bits(t) for t in boolean.all_functions(n) if boolean.is_linearly_separable(t)}
    assert set(listed.tolist()) == by_lp


def test_listed_functions_of_four_inputs_against_lp_sample():
    rng = np.random.default_rng(0)
    listed = boolean.linearly_separable_functions(4)
    members = set(listed.tolist())
    rows = np.arange(16)
    for bits in [*rng.choice(listed, 60), *rng.integers(0, 2 ** 16, 60)]:
        table = (int(bits) >> rows) & 1
        assert boolean.is_linearly_separable(table) == (int(bits) in members)


def test_weight_bound_values():
    """floor((n+1)^((n+1)/2) / 2^n), worked by hand: 1, 1, 1, 2, 3, 6, 14."""
    assert [boolean.weight_bound(n) for n in range(7)] == [1, 1, 1, 2, 3, 6, 14]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be <= 6"):
        boolean.count_linearly_separable(7)
    with pytest.raises(ValueError, match="n must be >= 0"):
        boolean.count_linearly_separable(-1)
    with pytest.raises(TypeError, match="n must be an integer"):
        boolean.count_linearly_separable(2.0)
    with pytest.raises(ValueError, match="n must be <= 4"):
        boolean.all_functions(5)
    with pytest.raises(ValueError, match="length 2\\^n"):
        boolean.separating_weights([0, 1, 1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        boolean.is_linearly_separable([0, 2, 1, 0])
    with pytest.raises(TypeError, match="0/1 integers"):
        boolean.function_number([0.0, 1.0])
    with pytest.raises(TypeError, match="callable"):
        boolean.truth_table(3, 2)
