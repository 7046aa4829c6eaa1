"""Cohen's and Fleiss' kappa against published examples (casper_qc.metrics.kappa).

Sources:
* Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological
  Measurement 20(1), p. 45: 200 units, 3 categories; p_o = .70, p_e = .41, kappa = .492.
* Wikipedia, "Cohen's kappa", simple example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
  no/no 15; p_o = 0.7, p_e = 0.5, kappa = 0.4.
* Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
  Bulletin 76(5), p. 379: 30 patients x 6 psychiatrists, 5 diagnoses; P = 0.556, kappa = 0.430,
  per-diagnosis kappa .248 .248 .517 .470 .565. Fleiss computed P_e (0.2201) and the per-category
  values from proportions rounded to three decimals, so those are checked at that precision.
* Wikipedia, "Fleiss' kappa", worked example: 10 subjects x 14 raters, 5 categories;
  p_j = .143 .200 .279 .150 .229, P = 0.378, P_e = 0.213, kappa = 0.210.

Beyond the printed digits, kappa is recomputed exactly (fractions) from the published tables.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import FLEISS_1971

from casper_qc.errors import InputError
from casper_qc.metrics.kappa import (
    FleissCounts,
    KappaCounts,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_table,
)

WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]


def _exact_fleiss(table):
    n = sum(table[0])
    units = len(table)
    p_bar = sum(Fraction(sum(x * x for x in row) - n, n * (n - 1)) for row in table) / units
    p = [Fraction(sum(row[j] for row in table), units * n) for j in range(len(table[0]))]
    p_e = sum(x * x for x in p)
    return (p_bar - p_e) / (1 - p_e), p_bar, p_e


def _table(items):
    return [[row.count(c) for c in range(1, 6)] for row in items]


def test_cohen_1960_example():
    counts = KappaCounts((1, 2, 3), [[88, 14, 18], [10, 40, 10], [2, 6, 12]])
    assert counts.units == 200
    assert counts.observed_agreement == pytest.approx(0.70, abs=1e-12)
    assert counts.expected_agreement == pytest.approx(0.41, abs=1e-12)
    assert round(counts.kappa, 3) == 0.492
    assert counts.kappa == pytest.approx(29 / 59, abs=1e-12)  # (.70 - .41) / (1 - .41)


def test_wikipedia_cohen_example_from_raw_ratings():
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    counts = cohen_kappa(a, b)
    assert counts.categories == ("no", "yes")
    assert counts.confusion.tolist() == [[15, 10], [5, 20]]
    assert counts.observed_agreement == pytest.approx(0.7, abs=1e-12)
    assert counts.expected_agreement == pytest.approx(0.5, abs=1e-12)
    assert counts.kappa == pytest.approx(0.4, abs=1e-12)


def test_fleiss_1971_psychiatric_diagnoses():
    data = [list(column) for column in zip(*FLEISS_1971)]  # coders x units
    counts = fleiss_kappa(data)
    assert (counts.units, counts.raters, counts.skipped) == (30, 6, 0)
    assert round(counts.kappa, 3) == 0.430
    assert counts.observed_agreement == pytest.approx(5 / 9, abs=1e-12)  # .556
    exact, p_bar, p_e = _exact_fleiss(_table(FLEISS_1971))
    assert counts.kappa == pytest.approx(float(exact), abs=1e-12)
    assert counts.expected_agreement == pytest.approx(float(p_e), abs=1e-12)
    rounded = [round(p, 3) for p in counts.proportions]
    assert rounded == [0.144, 0.144, 0.167, 0.306, 0.239]  # Fleiss' Table 1 proportions
    assert round(sum(p * p for p in rounded), 4) == 0.2201  # his P_e, from those rounded values
    for category, published in zip(range(1, 6), (0.248, 0.248, 0.517, 0.470, 0.565)):
        assert counts.category_kappa(category) == pytest.approx(published, abs=0.005)


def test_wikipedia_fleiss_example():
    counts = fleiss_kappa_from_table(WIKIPEDIA_FLEISS)
    assert [round(p, 3) for p in counts.proportions] == [0.143, 0.200, 0.279, 0.150, 0.229]
    assert round(counts.observed_agreement, 3) == 0.378
    assert round(counts.expected_agreement, 3) == 0.213
    assert round(counts.kappa, 3) == 0.210
    exact, _, _ = _exact_fleiss(WIKIPEDIA_FLEISS)
    assert counts.kappa == pytest.approx(float(exact), abs=1e-12)


def test_fleiss_from_a_matrix_equals_fleiss_from_its_table():
    data = [list(column) for column in zip(*FLEISS_1971)]
    from_table = fleiss_kappa_from_table(_table(FLEISS_1971), categories=[1, 2, 3, 4, 5])
    assert fleiss_kappa(data).kappa == pytest.approx(from_table.kappa, abs=1e-12)


def test_counts_add_over_units():
    first, second = FLEISS_1971[:13], FLEISS_1971[13:]
    total = (fleiss_kappa([list(c) for c in zip(*first)])
             + fleiss_kappa([list(c) for c in zip(*second)]))
    assert total.kappa == pytest.approx(fleiss_kappa([list(c) for c in zip(*FLEISS_1971)]).kappa,
                                        abs=1e-12)
    cohen = cohen_kappa([1, 2, 2], [1, 2, 1]) + cohen_kappa(["x", 2], ["x", 2])
    assert cohen.categories == (1, 2, "x") and cohen.units == 5
    assert cohen.confusion.tolist() == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    assert sum([cohen_kappa([1], [1]), cohen_kappa([2], [2])]).kappa == 1.0
    with pytest.raises(ValueError, match="raters"):
        fleiss_kappa([[1], [1], [1]]) + fleiss_kappa([[1], [1]])


def test_missing_values_are_left_out_and_counted():
    counts = cohen_kappa([1, 2, None, 1, float("nan")], [1, 2, 1, None, 2])
    assert (counts.units, counts.missing, counts.kappa) == (2, 3, 1.0)
    fleiss = fleiss_kappa([[1, 2, None, 1], [1, 2, 2, 2], [1, 2, 1, 1]])
    assert (fleiss.units, fleiss.skipped) == (3, 1)


def test_undefined_kappa_is_none_with_a_reason():
    same = cohen_kappa(["a", "a"], ["a", "a"])
    assert same.kappa is None and "chance agreement is 1" in same.undefined_reason
    empty = cohen_kappa([None], [1])
    assert empty.kappa is None and empty.undefined_reason == "no unit was rated by both coders"
    fleiss = fleiss_kappa([[1, None], [1, 1], [1, 1]])
    assert fleiss.kappa is None and fleiss.undefined_reason.startswith("every rating is 1")
    assert fleiss_kappa([[None], [1], [1]]).undefined_reason == "no unit was rated by every coder"
    assert fleiss.category_kappa(1) is None


def test_bad_input():
    with pytest.raises(InputError, match="coder A rated 2 units but coder B 1"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(InputError, match="coder row 3 has 1 values but row 1 has 2"):
        fleiss_kappa([[1, 2], [1, 2], [1]])
    with pytest.raises(InputError, match="unit 2 has 5 ratings but unit 1 has 6"):
        fleiss_kappa_from_table([[6, 0], [4, 1]])
    with pytest.raises(ValueError, match="square"):
        KappaCounts((1,), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one entry per category"):
        FleissCounts((1, 2), 3, 1, [3], [9])


def test_agreement_figures_are_those_of_the_matrix_formulas():
    """Observed and expected agreement from Python integer margins equal numpy's formulas on the
    matrix to the last bit, also where the sums pass 2**53 (a project's frames)."""
    rng = np.random.default_rng(12)
    for size, high in [(2, 10), (4, 10 ** 4), (6, 10 ** 8), (3, 3 * 10 ** 8), (1, 5)] * 40:
        matrix = rng.integers(1, high, (size, size))
        counts = KappaCounts(tuple(range(size)), matrix)
        n = int(matrix.sum())
        assert counts.units == n
        assert counts.observed_agreement == float(np.trace(matrix) / n)
        assert counts.expected_agreement == float((matrix.sum(axis=1) * matrix.sum(axis=0)).sum() / (n * n))
    empty = KappaCounts((), np.zeros((0, 0)))
    assert (empty.units, empty.observed_agreement, empty.kappa) == (0, None, None)
