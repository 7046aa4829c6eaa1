"""Krippendorff's unitizing alpha (casper_qc.metrics.unitizing).

Published example: Krippendorff, K. (2004). *Content Analysis*, 2nd ed., p. 254 ff.: two
observers unitize the continuum [150, 450) into categories c and k. The book prints the
distances of the overlapping pairs (50, 850 and 400 for c), uD_o(c) = .0144, uD_e(c) = .0532,
alpha_c = .7286, uD_e(k) = .0490, alpha_k = 1 and the overall .8591. The overall figure is
1 - .0144 / (.0532 + .0490) from the rounded category figures; unrounded it is .8587, so it is
checked to the 5e-4 that rounding carries. The same example and distances are in the test suite
of DKPro Statistics (KrippendorffAlphaUnitizingAgreement, Krippendorff2004Test), an independent
Java implementation, whose own small example (observed .9100, expected .5351, alpha -.7003) is
reproduced too.

The vectorized implementation is checked against a direct transcription of the book's formulas
(a loop over all pairs of segments, exact fractions) on random segmentations.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from casper_qc.errors import InputError
from casper_qc.metrics.unitizing import unitizing_alpha, unitizing_counts
from casper_qc.model import Annotation, Turn

OBSERVER_I = [(225, 295, "c"), (370, 400, "c"), (180, 240, "k"), (300, 350, "k")]
OBSERVER_J = [(220, 300, "c"), (355, 375, "c"), (400, 420, "c"), (180, 240, "k"), (300, 350, "k")]


def test_krippendorff_2004_worked_example():
    counts = unitizing_counts([OBSERVER_I, OBSERVER_J], 150, 450)
    assert (counts.coders, counts.length) == (2, 300)
    # the book's distances for c: 50 + 850 + 400, once per ordered pair of observers
    assert counts.categories["c"].observed == 2 * (50 + 850 + 400)
    assert counts.observed_disagreement("c") == pytest.approx(13 / 900, abs=1e-15)
    assert round(counts.observed_disagreement("c"), 4) == 0.0144
    assert round(counts.expected_disagreement("c"), 4) == 0.0532
    assert round(counts.category_alpha("c"), 4) == 0.7286
    assert counts.observed_disagreement("k") == 0.0
    assert round(counts.expected_disagreement("k"), 4) == 0.0490
    assert counts.category_alpha("k") == 1.0
    assert counts.alpha == pytest.approx(0.8591, abs=5e-4)
    rounded = 1 - 0.0144 / (0.0532 + 0.0490)
    assert round(rounded, 4) == 0.8591  # where the book's overall figure comes from


def test_dkpro_statistics_example():
    # r0: -11111111-   r1: --1-1-1---   (DKPro UnitizingAgreementTest)
    counts = unitizing_counts([[(1, 9, "A")], [(2, 3, "A"), (4, 5, "A"), (6, 7, "A")]], 0, 10)
    assert counts.observed_disagreement("A") == pytest.approx(0.9100, abs=1e-4)
    assert counts.expected_disagreement("A") == pytest.approx(0.5351, abs=1e-4)
    assert counts.category_alpha("A") == pytest.approx(-0.7003, abs=1e-4)


def _brute_force(units_by_coder, begin, end, category):
    """The book's formulas, literally: every pair of segments, exact arithmetic."""
    L, m = end - begin, len(units_by_coder)
    partitions = []
    for units in units_by_coder:
        mine = sorted((s, e) for s, e, c in units if c == category)
        segments, at = [], begin
        for s, e in mine:
            if s > at:
                segments.append((at, s - at, False))
            segments.append((s, e - s, True))
            at = e
        if at < end:
            segments.append((at, end - at, False))
        partitions.append(segments)
    observed = 0
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            for bg, lg, ug in partitions[i]:
                for bh, lh, uh in partitions[j]:
                    if ug and uh and -lg < bg - bh < lh:
                        observed += (bg - bh) ** 2 + (bg + lg - bh - lh) ** 2
                    elif ug and not uh and lh - lg >= bg - bh >= 0:
                        observed += lg ** 2
                    elif not ug and uh and lg - lh >= bh - bg >= 0:
                        observed += lh ** 2
    units = [n for p in partitions for _, n, u in p if u]
    gaps = [n for p in partitions for _, n, u in p if not u]
    return Fraction(observed, m * (m - 1) * L * L), _expected(units, gaps, L, m)


def _expected(units, gaps, L, m):
    if not units:
        return Fraction(0)
    within = Fraction(len(units) - 1, 3) * sum(2 * n ** 3 - 3 * n ** 2 + n for n in units)
    placed = sum(n ** 2 * sum(x - n + 1 for x in gaps if x >= n) for n in units)
    denominator = m * L * (m * L - 1) - sum(n * (n - 1) for n in units)
    return Fraction(2, L) * (within + placed) / denominator


def _random_units(rng, begin, end, categories):
    units = []
    for category in categories:
        at = begin
        while True:
            at += rng.randint(0, 40)
            length = rng.randint(1, 60)
            if at + length > end:
                break
            units.append((at, at + length, category))
            at += length
    return units


def test_vectorized_sums_equal_the_literal_formulas_on_random_segmentations():
    rng = random.Random(3)
    for trial in range(60):
        begin, end = rng.randint(0, 50), rng.randint(120, 600)
        coders = [_random_units(rng, begin, end, "xy") for _ in range(rng.randint(2, 4))]
        counts = unitizing_counts(coders, begin, end)
        for category in counts.categories:
            observed, expected = _brute_force(coders, begin, end, category)
            assert counts.observed_disagreement(category) == pytest.approx(float(observed),
                                                                          abs=1e-12)
            assert counts.expected_disagreement(category) == pytest.approx(float(expected),
                                                                          abs=1e-12)


def test_counts_add_as_continua_laid_end_to_end():
    rng = random.Random(5)
    # every coder ends the first part with units, so no gap runs across the junction
    first = [_random_units(rng, 0, 300, "xy") + [(300, 320, "x"), (300, 320, "y")]
             for _ in range(3)]
    second = [_random_units(rng, 0, 200, "xy") for _ in range(3)]
    joined = [a + [(s + 320, e + 320, c) for s, e, c in b] for a, b in zip(first, second)]
    total = unitizing_counts(first, 0, 320) + unitizing_counts(second, 0, 200)
    direct = unitizing_counts(joined, 0, 520)
    assert total.length == direct.length == 520
    for category in "xy":
        for name in ("observed_disagreement", "expected_disagreement"):
            summed, whole = getattr(total, name)(category), getattr(direct, name)(category)
            assert summed == pytest.approx(whole, abs=1e-15)
    assert total.alpha == pytest.approx(direct.alpha, abs=1e-12)
    # a category one part never used is, there, one gap per coder; gaps never span the junction
    only_x = unitizing_counts([[(0, 5, "x")], [(0, 5, "x")]], 0, 10)
    only_y = unitizing_counts([[(2, 4, "y")], [(2, 5, "y")]], 0, 10)
    summed = only_x + only_y
    assert summed.categories["y"].gaps.tolist() == [10, 10, 2, 6, 2, 5]
    assert summed.expected_disagreement("y") == pytest.approx(
        float(_expected([2, 3], [10, 10, 2, 6, 2, 5], 20, 2)), abs=1e-15)
    with pytest.raises(ValueError, match="coders"):
        only_x + unitizing_counts([[], [], []], 0, 10)


def test_a_category_missing_from_a_sum_is_one_gap_per_coder_per_recording():
    # Two recordings without "y", then one with it: on each of the first two, "y" is one gap
    # per coder over that recording - never one gap over both (a gap never spans two recordings).
    first = unitizing_counts([[(0, 5, "x")], [(1, 5, "x")]], 0, 10)
    second = unitizing_counts([[(2, 9, "x")], [(2, 8, "x")]], 0, 30)
    third = unitizing_counts([[(2, 4, "y")], [(2, 5, "y")]], 0, 10)
    summed = (first + second) + third
    assert summed.recordings == (10, 30, 10) and summed.length == 50
    assert sorted(summed.categories["y"].gaps.tolist()) == sorted([10, 10, 30, 30, 2, 6, 2, 5])
    assert summed.expected_disagreement("y") == pytest.approx(
        float(_expected([2, 3], [10, 10, 30, 30, 2, 6, 2, 5], 50, 2)), abs=1e-15)
    assert first.recordings == (10,) and first.pieces == ()


def _recordings(rng, count=5):
    """(coders' units, length) of recordings of different lengths, some categories missing."""
    uses = ("xy", "x", "yz", "xyz", "z")
    out = []
    for k in range(count):
        length = rng.randint(150, 600)
        out.append(([_random_units(rng, 0, length, uses[k]) for _ in range(2)], length))
    return out


def test_sum_does_not_depend_on_the_order_and_equals_the_pooled_computation():
    from itertools import permutations

    from casper_qc.qc.upool import UnitizingPool

    recordings = _recordings(random.Random(8))
    parts = [unitizing_counts(units, 0, length) for units, length in recordings]
    assert {frozenset(p.categories) for p in parts} == {frozenset("xy"), frozenset("x"), frozenset("yz"),
                                                        frozenset("xyz"), frozenset("z")}
    # Declared: every part holds every category (an absent one as one gap per coder over it),
    # so their sum fills nothing in: the documented rule, computed directly.
    declared = sum(unitizing_counts(units, 0, length, categories="xyz") for units, length in recordings)
    pool = UnitizingPool().build(dict(enumerate(parts)))
    for order in permutations(range(len(parts))):
        total = sum(parts[k] for k in order)
        assert total.recordings == tuple(parts[k].length for k in order)
        assert total.alpha == pytest.approx(declared.alpha, rel=1e-12)
        for category in "xyz":
            gaps = total.categories[category].gaps.tolist()
            assert sorted(gaps) == sorted(declared.categories[category].gaps.tolist())
            assert total.category_alpha(category) == pytest.approx(declared.category_alpha(category), rel=1e-12)
            assert pool.category_alpha(category) == pytest.approx(total.category_alpha(category), rel=1e-12)
        assert pool.alpha == pytest.approx(total.alpha, rel=1e-12)
    # parts that are sums themselves (two recordings each), added one by one: "z" arrives with
    # the second part, and the first one gets a gap per coder on each of its two recordings
    grouped = UnitizingPool()
    grouped.add("first two", parts[0] + parts[1])
    grouped.add("middle", parts[2])
    grouped.add("last two", parts[3] + parts[4])
    assert grouped.alpha == pytest.approx(declared.alpha, rel=1e-12)
    for category in "xyz":
        assert grouped.category_alpha(category) == pytest.approx(declared.category_alpha(category), rel=1e-12)


def test_turns_are_units_by_speaker_on_the_millisecond_grid():
    a = Annotation(1, [Turn("A", 0.0, 1.0), Turn("B", 0.9, 2.0)], annotator="ann")
    b = Annotation(1, [Turn("A", 0.0, 1.0), Turn("B", 0.9, 2.0)], annotator="bob")
    counts = unitizing_alpha([a, b], 3.0)
    assert sorted(counts.categories) == ["A", "B"] and counts.length == 3000
    assert counts.alpha == 1.0
    c = Annotation(1, [Turn("A", 0.0, 1.2), Turn("B", 1.0, 2.0)], annotator="cid")
    shifted = unitizing_alpha([a, c], 3.0)
    units = [[(0, 1000, "A"), (900, 2000, "B")], [(0, 1200, "A"), (1000, 2000, "B")]]
    observed, _ = _brute_force(units, 0, 3000, "A")
    assert shifted.observed_disagreement("A") == pytest.approx(float(observed), abs=1e-15)
    assert 0 < shifted.alpha < 1
    unused = unitizing_alpha([a, [Turn("A", 0.0, 1.0)]], 3.0, speakers=["C"])
    assert unused.category_alpha("C") is None


def test_bad_segmentations_raise_input_errors():
    overlapping = Annotation(1, [Turn("A", 0.0, 1.0), Turn("A", 0.5, 1.5)], annotator="eve")
    fine = Annotation(1, [Turn("A", 0.0, 1.0)], annotator="ann")
    overlap = r"^eve: units of 'A' overlap: \[0, 1000\) and \[500, 1500\)"
    with pytest.raises(InputError, match=overlap):
        unitizing_alpha([fine, overlapping], 2.0)
    with pytest.raises(InputError, match="outside the continuum"):
        unitizing_alpha([fine, fine], 0.5)
    with pytest.raises(InputError, match="at least two annotations"):
        unitizing_alpha([fine], 2.0)
    with pytest.raises(InputError, match="is empty"):
        unitizing_counts([[], []], 5, 5)
