"""Krippendorff's alpha against the published worked examples (casper_qc.metrics.alpha).

Sources:
* Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Departmental paper,
  Annenberg School for Communication (repository.upenn.edu/asc_papers/43), and *Content
  Analysis*, 2nd ed. (2004), pp. 230-232: 4 observers x 12 units with missing values; published
  alpha nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797; nominal D_o 0.200,
  D_e 0.779; interval D_o 0.433, D_e 2.872; the coincidence matrix with n_c = 9, 13, 10, 5, 3.
* Wikipedia, "Krippendorff's alpha", section "A computational example": 3 coders x 15 units,
  alpha nominal 0.691, interval 0.811.

The papers print three decimals. To check to 1e-6 the tests also recompute each example exactly
(fractions, straight from the papers' formulas and the published coincidence matrix), and
cross-check random matrices against the independent PyPI package ``krippendorff``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from casper_qc.errors import InputError
from casper_qc.metrics.alpha import LEVELS, AlphaCounts, alpha_from_value_counts, krippendorff_alpha

N = None
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
PUBLISHED_2011 = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

WIKIPEDIA = [
    [N, N, N, N, N, 3, 4, 1, 2, 1, 1, 3, 3, N, 3],
    [1, N, 2, 1, 3, 3, 4, 3, N, N, N, N, N, N, N],
    [N, N, 2, 1, 3, 4, 4, N, 2, 1, 1, 3, 3, N, 4],
]

# The paper's coincidence matrix for values 1..5 (rows), as printed: thirds from the units whose
# four values split 2/1/1 or 3/1 and the like.
T = Fraction(1, 3)
PUBLISHED_COINCIDENCES = [
    [7, 4 * T, T, T, 0],
    [4 * T, 10, 4 * T, T, 0],
    [T, 4 * T, 8, T, 0],
    [T, T, T, 4, 0],
    [0, 0, 0, 0, 3],
]


def _exact_alpha(o, values, level):
    """Alpha in exact arithmetic from a coincidence matrix, as the 2011 paper writes it."""
    n_c = [sum(row) for row in o]
    n = sum(n_c)

    def delta2(c, k):
        if level == "nominal":
            return Fraction(int(c != k))
        if level == "ordinal":
            lo, hi = min(c, k), max(c, k)
            return (sum(n_c[lo:hi + 1]) - Fraction(n_c[c] + n_c[k], 2)) ** 2
        vc, vk = Fraction(values[c]), Fraction(values[k])
        if level == "interval":
            return (vc - vk) ** 2
        return ((vc - vk) / (vc + vk)) ** 2 if vc + vk else Fraction(0)

    pairs = [(c, k) for c in range(len(o)) for k in range(len(o))]
    d_o = sum(o[c][k] * delta2(c, k) for c, k in pairs) / n
    d_e = sum(n_c[c] * n_c[k] * delta2(c, k) for c, k in pairs) / (n * (n - 1))
    return 1 - d_o / d_e, d_o, d_e


def test_coincidence_matrix_is_the_published_one():
    counts = krippendorff_alpha(KRIPPENDORFF_2011, "nominal")
    assert counts.values == (1.0, 2.0, 3.0, 4.0, 5.0)
    published = np.array(PUBLISHED_COINCIDENCES, float)
    np.testing.assert_allclose(counts.coincidences, published, atol=1e-12)
    np.testing.assert_allclose(counts.marginals, [9, 13, 10, 5, 3], atol=1e-12)
    assert (counts.pairable_values, counts.units) == (40, 11)
    assert (counts.unpairable, counts.coders) == (1, 4)


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_2011_worked_example(level):
    counts = krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert round(counts.alpha, 3) == PUBLISHED_2011[level]
    exact, d_o, d_e = _exact_alpha(PUBLISHED_COINCIDENCES, [1, 2, 3, 4, 5], level)
    assert counts.alpha == pytest.approx(float(exact), abs=1e-9)
    assert counts.observed_disagreement == pytest.approx(float(d_o), abs=1e-9)
    assert counts.expected_disagreement == pytest.approx(float(d_e), abs=1e-9)


def test_published_disagreements():
    nominal = krippendorff_alpha(KRIPPENDORFF_2011, "nominal")
    assert round(nominal.observed_disagreement, 3) == 0.200
    assert round(nominal.expected_disagreement, 3) == 0.779
    assert nominal.alpha == pytest.approx(113 / 152, abs=1e-12)  # 1 - 0.2 * 40 * 39 / (1600 - 384)
    interval = krippendorff_alpha(KRIPPENDORFF_2011, "interval")
    assert round(interval.observed_disagreement, 3) == 0.433
    assert round(interval.expected_disagreement, 3) == 2.872


def test_wikipedia_computational_example():
    nominal = krippendorff_alpha(WIKIPEDIA, "nominal")
    interval = krippendorff_alpha(WIKIPEDIA, "interval")
    assert round(nominal.alpha, 3) == 0.691 and round(interval.alpha, 3) == 0.811
    # 1 - (n - 1) * 4 / (n^2 - sum n_c^2) with n = 28
    assert nominal.alpha == pytest.approx(56 / 81, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
def test_random_matrices_agree_with_the_krippendorff_package(level):
    import krippendorff  # the test extra; an independent implementation

    rng = np.random.default_rng(11)
    for trial in range(40):
        coders, units = rng.integers(2, 7), rng.integers(2, 40)
        data = rng.integers(0, rng.integers(2, 7), size=(coders, units)).astype(float)
        data[rng.random((coders, units)) < 0.25] = np.nan
        rows = [[None if np.isnan(v) else float(v) for v in row] for row in data]
        mine = krippendorff_alpha(rows, level)
        if mine.alpha is None:
            continue
        theirs = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert mine.alpha == pytest.approx(theirs, abs=1e-9), (trial, level)


def test_counts_of_disjoint_units_add_up_to_alpha_of_all_units():
    left = [row[:6] for row in KRIPPENDORFF_2011]
    right = [row[6:] for row in KRIPPENDORFF_2011]
    for level in LEVELS:
        total = krippendorff_alpha(left, level) + krippendorff_alpha(right, level)
        whole = krippendorff_alpha(KRIPPENDORFF_2011, level)
        assert total.alpha == pytest.approx(whole.alpha, abs=1e-12)
        assert total.units == 11
    mixed = krippendorff_alpha([["a", "b"], ["a", "c"]]) + krippendorff_alpha([[1, 2], [1, 2]])
    assert mixed.values == (1, 2, "a", "b", "c")
    assert sum([krippendorff_alpha(left), krippendorff_alpha(right)]).pairable_values == 40
    with pytest.raises(ValueError, match="cannot add"):
        krippendorff_alpha(left, "nominal") + krippendorff_alpha(left, "interval")


def test_value_counts_form_gives_the_same_alpha():
    counts = krippendorff_alpha(KRIPPENDORFF_2011, "interval")
    table = np.zeros((12, 5))
    for row in KRIPPENDORFF_2011:
        for u, v in enumerate(row):
            if v is not None:
                table[u, v - 1] += 1
    other = alpha_from_value_counts(table, [1, 2, 3, 4, 5], "interval")
    assert other.alpha == pytest.approx(counts.alpha, abs=1e-12)


def test_undefined_alpha_is_none_with_a_reason():
    one_value = krippendorff_alpha([[3, 3, 3], [3, 3, None]], "interval")
    assert one_value.alpha is None
    assert one_value.undefined_reason.startswith("every pairable value is 3:")
    nothing_pairs = krippendorff_alpha([[1, None], [None, 2]])
    assert nothing_pairs.alpha is None and "nothing is pairable" in nothing_pairs.undefined_reason
    assert krippendorff_alpha([[1, 2], [1, 2]]).undefined_reason is None
    assert krippendorff_alpha([[1, 2], [1, 2]]).alpha == 1.0


def test_strings_are_nominal_values_and_nan_is_missing():
    counts = krippendorff_alpha([["yes", "no", float("nan")], ["yes", "no", "no"]])
    assert counts.values == ("no", "yes") and counts.alpha == 1.0 and counts.unpairable == 1


def test_bad_matrices_raise_input_errors_naming_row_and_unit():
    with pytest.raises(InputError, match="coder row 2 has 2 values but row 1 has 3"):
        krippendorff_alpha([[1, 2, 3], [1, 2]])
    with pytest.raises(InputError, match=r"coder row 2, unit 1: 'x' is not a finite number"):
        krippendorff_alpha([[1, 2], ["x", 2]], "interval")
    with pytest.raises(InputError, match=r"coder row 1, unit 2: -1 is negative"):
        krippendorff_alpha([[1, -1], [1, 2]], "ratio")
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha([[1], [1]], "circular")
    with pytest.raises(ValueError, match="square"):
        AlphaCounts("nominal", (1, 2), np.zeros((3, 3)))
