"""Cohen's kappa (two coders) and Fleiss' kappa (a fixed number of coders per unit).

Both are kept as additive counts:

* :class:`KappaCounts` holds the two coders' confusion matrix; matrices of disjoint units add.
  ``p_o`` is the share of units on the diagonal, ``p_e = sum_c (row_c / N)(col_c / N)``
  (Cohen 1960), ``kappa = (p_o - p_e) / (1 - p_e)``.
* :class:`FleissCounts` holds, per category, the total and the sum of squares of the number of
  raters who chose it in each unit (Fleiss 1971): ``P = (sum n_ij^2 - N n) / (N n (n - 1))``,
  ``p_j = total_j / (N n)``, ``P_e = sum p_j^2``, ``kappa = (P - P_e) / (1 - P_e)``, and the
  per-category ``kappa_j = 1 - sum_i n_ij (n - n_ij) / (N n (n - 1) p_j (1 - p_j))``.

Missing values: Cohen's kappa uses the units both coders rated; Fleiss' kappa the units every
coder rated (its formula needs the same number of ratings per unit). The units left out are
counted (``missing`` / ``skipped``).

**Undefined kappa** (``kappa`` is None, ``undefined_reason`` says why): no unit to compare, or
chance agreement of 1 (every rating in one category).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from operator import mul
from typing import Any, Hashable, Sequence

import numpy as np

from ..errors import InputError
from .alpha import show_value

__all__ = ["KappaCounts", "FleissCounts", "cohen_kappa", "fleiss_kappa", "fleiss_kappa_from_table"]


def _key(value: Any) -> tuple:
    return (isinstance(value, str), value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _frozen(array: Any, dtype: type = float) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


def _merge(a_values: tuple, b_values: tuple) -> tuple[tuple, np.ndarray, np.ndarray]:
    values = tuple(sorted(set(a_values) | set(b_values), key=_key))
    index = {v: i for i, v in enumerate(values)}
    return (values, np.array([index[v] for v in a_values], dtype=int),
            np.array([index[v] for v in b_values], dtype=int))


@dataclass(frozen=True, eq=False)
class KappaCounts:
    """Two coders' confusion matrix: ``confusion[i, j]`` units where coder A chose
    ``categories[i]`` and coder B ``categories[j]``; ``missing`` units lacked one value.
    The matrix is read-only, so the figures are computed once per object and kept."""

    categories: tuple[Hashable, ...]
    confusion: np.ndarray
    missing: int = 0

    def __post_init__(self) -> None:
        matrix = _frozen(self.confusion, np.int64)
        if matrix.shape != (len(self.categories), len(self.categories)):
            raise ValueError("the confusion matrix must be square, one row per category")
        object.__setattr__(self, "confusion", matrix)

    @cached_property
    def _margins(self) -> tuple[list[int], list[int], int]:
        """Row sums, column sums and the diagonal's sum, in Python integers (exact, and faster
        than numpy on a few cells)."""
        rows = self.confusion.tolist()
        return [sum(row) for row in rows], [sum(column) for column in zip(*rows)], \
            sum(rows[i][i] for i in range(len(rows)))

    @cached_property
    def units(self) -> int:
        return sum(self._margins[0])

    @cached_property
    def observed_agreement(self) -> float | None:
        # float / float: the division numpy does for int64 / int64
        return float(self._margins[2]) / float(self.units) if self.units else None

    @cached_property
    def expected_agreement(self) -> float | None:
        n = self.units
        if not n:
            return None
        rows, columns, _ = self._margins
        return float(sum(map(mul, rows, columns))) / float(n * n)

    @cached_property
    def undefined_reason(self) -> str | None:
        if not self.units:
            return "no unit was rated by both coders"
        if self.expected_agreement == 1.0:
            used = [c for c, n in zip(self.categories, self._margins[0]) if n]
            return (f"both coders put every unit in {show_value(used[0])}: chance agreement "
                    "is 1, so kappa is 0/0")
        return None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa; None when undefined (see :attr:`undefined_reason`)."""
        if self.undefined_reason is not None:
            return None
        p_o, p_e = self.observed_agreement, self.expected_agreement
        return (p_o - p_e) / (1.0 - p_e)  # type: ignore[operator]

    def __add__(self, other: "KappaCounts") -> "KappaCounts":
        if not isinstance(other, KappaCounts):
            return NotImplemented
        if other.categories == self.categories:  # the usual case: nothing to re-index
            return KappaCounts(self.categories, self.confusion + other.confusion,
                               self.missing + other.missing)
        categories, a, b = _merge(self.categories, other.categories)
        matrix = np.zeros((len(categories), len(categories)), dtype=np.int64)
        matrix[np.ix_(a, a)] += self.confusion
        matrix[np.ix_(b, b)] += other.confusion
        return KappaCounts(categories, matrix, self.missing + other.missing)

    def __radd__(self, other: Any) -> "KappaCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "statistic": "cohen", "units": self.units,
                "missing": self.missing, "observed_agreement": self.observed_agreement,
                "expected_agreement": self.expected_agreement,
                "undefined_reason": self.undefined_reason,
                "categories": [c if isinstance(c, str) else float(c) for c in self.categories],
                "confusion": self.confusion.tolist()}


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> KappaCounts:
    """Cohen's kappa of two coders' values for the same units (None/NaN = missing).

    Raises:
        InputError: if the two sequences differ in length.
    """
    if len(a) != len(b):
        raise InputError(f"coder A rated {len(a)} units but coder B {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b) if not (_missing(x) or _missing(y))]
    categories = tuple(sorted({v for p in pairs for v in p}, key=_key))
    index = {v: i for i, v in enumerate(categories)}
    matrix = np.zeros((len(categories), len(categories)), dtype=np.int64)
    if pairs:
        rows = np.array([index[x] for x, _ in pairs])
        cols = np.array([index[y] for _, y in pairs])
        np.add.at(matrix, (rows, cols), 1)
    return KappaCounts(categories, matrix, len(a) - len(pairs))


@dataclass(frozen=True, eq=False)
class FleissCounts:
    """Fleiss' kappa sufficient statistics: ``units`` units rated by ``raters`` coders each;
    per category the total ratings and the sum over units of squared rating counts."""

    categories: tuple[Hashable, ...]
    raters: int
    units: int
    totals: np.ndarray
    squares: np.ndarray
    skipped: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", _frozen(self.totals, np.int64))
        object.__setattr__(self, "squares", _frozen(self.squares, np.int64))
        if self.totals.shape != (len(self.categories),) or self.squares.shape != self.totals.shape:
            raise ValueError("totals and squares need one entry per category")

    @property
    def _pairs(self) -> int:
        return self.units * self.raters * (self.raters - 1)

    @property
    def proportions(self) -> np.ndarray:
        """``p_j``: the share of all ratings in each category."""
        return self.totals / float(self.units * self.raters)

    @property
    def observed_agreement(self) -> float | None:
        """``P``: the mean over units of the share of agreeing rater pairs."""
        if not self.units or self.raters < 2:
            return None
        return float((self.squares.sum() - self.units * self.raters) / self._pairs)

    @property
    def expected_agreement(self) -> float | None:
        if not self.units or self.raters < 2:
            return None
        return float((self.proportions ** 2).sum())

    @property
    def undefined_reason(self) -> str | None:
        if self.raters < 2:
            return "Fleiss' kappa needs at least two ratings per unit"
        if not self.units:
            return "no unit was rated by every coder"
        if self.expected_agreement == 1.0:
            used = [c for c, n in zip(self.categories, self.totals) if n]
            return f"every rating is {show_value(used[0])}: chance agreement is 1, so kappa is 0/0"
        return None

    @property
    def kappa(self) -> float | None:
        """Fleiss' kappa; None when undefined (see :attr:`undefined_reason`)."""
        if self.undefined_reason is not None:
            return None
        p, p_e = self.observed_agreement, self.expected_agreement
        return (p - p_e) / (1.0 - p_e)  # type: ignore[operator]

    def category_kappa(self, category: Hashable) -> float | None:
        """Fleiss' (1971) kappa of one category against all others; None if nobody or
        everybody chose it."""
        j = self.categories.index(category)
        p = float(self.proportions[j]) if self.units else 0.0
        if not self.units or self.raters < 2 or p in (0.0, 1.0):
            return None
        disagreement = self.raters * self.totals[j] - self.squares[j]
        return 1.0 - float(disagreement) / (self._pairs * p * (1.0 - p))

    def __add__(self, other: "FleissCounts") -> "FleissCounts":
        if not isinstance(other, FleissCounts):
            return NotImplemented
        if other.raters != self.raters and self.units and other.units:
            raise ValueError(f"cannot add Fleiss counts of {self.raters} and {other.raters} raters")
        raters = self.raters if self.units else other.raters
        if other.categories == self.categories:
            return FleissCounts(self.categories, raters, self.units + other.units,
                                self.totals + other.totals, self.squares + other.squares,
                                self.skipped + other.skipped)
        categories, a, b = _merge(self.categories, other.categories)
        totals = np.zeros(len(categories), dtype=np.int64)
        squares = np.zeros(len(categories), dtype=np.int64)
        for part, at in ((self, a), (other, b)):
            totals[at] += part.totals
            squares[at] += part.squares
        return FleissCounts(categories, raters, self.units + other.units, totals, squares,
                            self.skipped + other.skipped)

    def __radd__(self, other: Any) -> "FleissCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"kappa": self.kappa, "statistic": "fleiss", "raters": self.raters,
                "units": self.units, "skipped": self.skipped,
                "observed_agreement": self.observed_agreement,
                "expected_agreement": self.expected_agreement,
                "undefined_reason": self.undefined_reason,
                "categories": [c if isinstance(c, str) else float(c) for c in self.categories],
                "category_kappa": [self.category_kappa(c) for c in self.categories]}


def fleiss_kappa_from_table(table: Sequence[Sequence[int]],
                            categories: Sequence[Hashable] | None = None) -> FleissCounts:
    """Fleiss' kappa from a units x categories table of how many raters chose each category
    (the layout of Fleiss 1971). Every row must sum to the same number of raters.

    Raises:
        InputError: on rows of different sums or negative counts.
    """
    counts = np.asarray(table, dtype=np.int64)
    if counts.ndim != 2:
        raise InputError("the Fleiss table must have one row per unit and one column per category")
    if (counts < 0).any():
        raise InputError("rating counts cannot be negative")
    sums = counts.sum(axis=1)
    if len(sums) and (sums != sums[0]).any():
        bad = int(np.argmax(sums != sums[0]))
        raise InputError(f"unit {bad + 1} has {sums[bad]} ratings but unit 1 has {sums[0]}: "
                         "Fleiss' kappa needs the same number of raters for every unit")
    names = tuple(categories) if categories is not None else tuple(range(1, counts.shape[1] + 1))
    if len(names) != counts.shape[1]:
        raise InputError(f"{len(names)} category names for {counts.shape[1]} columns")
    return FleissCounts(names, int(sums[0]) if len(sums) else 0, len(sums), counts.sum(axis=0),
                        (counts ** 2).sum(axis=0))


def fleiss_kappa(data: Sequence[Sequence[Any]]) -> FleissCounts:
    """Fleiss' kappa of a reliability matrix (one row per coder, one column per unit).

    Units some coder did not rate (None/NaN) are skipped and counted in ``skipped``.

    Raises:
        InputError: on ragged rows.
    """
    rows = [list(r) for r in data]
    width = len(rows[0]) if rows else 0
    for r, row in enumerate(rows, 1):
        if len(row) != width:
            raise InputError(f"coder row {r} has {len(row)} values but row 1 has {width}")
    complete = [u for u in range(width) if not any(_missing(row[u]) for row in rows)]
    categories = tuple(sorted({row[u] for row in rows for u in complete}, key=_key))
    index = {v: i for i, v in enumerate(categories)}
    table = np.zeros((len(complete), len(categories)), dtype=np.int64)
    for k, u in enumerate(complete):
        for row in rows:
            table[k, index[row[u]]] += 1
    counts = FleissCounts(categories, len(rows), len(complete), table.sum(axis=0),
                          (table ** 2).sum(axis=0), width - len(complete))
    return counts
