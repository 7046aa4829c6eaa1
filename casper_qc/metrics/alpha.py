"""Krippendorff's alpha for nominal, ordinal, interval and ratio data, with missing values.

Follows Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011) and *Content
Analysis* (2004, ch. 11): values of a unit pair up across coders into the coincidence matrix
``o[c, k] = sum_u (number of c-k pairs in u) / (m_u - 1)``, where ``m_u`` is the number of values
unit ``u`` got; units with fewer than two values are not pairable and drop out. With
``n_c = sum_k o[c, k]`` and ``n = sum_c n_c``::

    D_o = sum_ck o[c, k] delta2(c, k) / n
    D_e = sum_ck n_c n_k delta2(c, k) / (n (n - 1))
    alpha = 1 - D_o / D_e

``delta2`` is ``[c != k]`` (nominal), ``(sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` (ordinal, on
ranks), ``(c - k)^2`` (interval) and ``((c - k) / (c + k))^2`` (ratio, values >= 0).

Counts are additive: coincidence matrices of disjoint sets of units add up to the matrix of
their union, so ``a + b`` is alpha over both sets of units.

**Undefined alpha**: when no unit is pairable, or every pairable value is the same (no
variation: ``D_e = 0``), ``alpha`` is None and ``undefined_reason`` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Hashable, Sequence

import numpy as np

from ..errors import InputError

__all__ = ["LEVELS", "AlphaCounts", "krippendorff_alpha", "alpha_from_value_counts"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def show_value(value: Any) -> str:
    """A value as written in a message: ``3`` for 3.0, ``'yes'`` for a string."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _value_key(value: Any) -> tuple:
    # Numbers before strings, each in natural order: a stable domain for mixed nominal values.
    return (isinstance(value, str), value)


@dataclass(frozen=True, eq=False)
class AlphaCounts:
    """The sufficient statistics of Krippendorff's alpha.

    Attributes:
        level: ``nominal``, ``ordinal``, ``interval`` or ``ratio``.
        values: the value domain, in order (numbers for all but nominal data).
        coincidences: the coincidence matrix ``o`` (len(values) x len(values)).
        units: pairable units (with two or more values).
        coders: the number of coders (the largest of the summed parts).
        unpairable: values in units no other coder valued (they cannot pair).

    The matrix is read-only, so the figures are computed once per object and kept.
    """

    level: str
    values: tuple[Hashable, ...]
    coincidences: np.ndarray
    units: int = 0
    coders: int = 0
    unpairable: int = 0

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; choose one of {', '.join(LEVELS)}")
        matrix = np.asarray(self.coincidences, dtype=float)
        if matrix.shape != (len(self.values), len(self.values)):
            raise ValueError("the coincidence matrix must be square, one row per value")
        matrix.setflags(write=False)
        object.__setattr__(self, "coincidences", matrix)

    @cached_property
    def marginals(self) -> np.ndarray:
        """``n_c``: pairable values per value of the domain (read-only)."""
        found = self.coincidences.sum(axis=1)
        found.setflags(write=False)
        return found

    @cached_property
    def pairable_values(self) -> int:
        """``n``: values that pair with at least one other value of their unit (the matrix
        sums to a whole number: each pairable unit contributes its number of values)."""
        return int(round(float(self.coincidences.sum())))

    def distances(self) -> np.ndarray:
        """The matrix of ``delta2`` for this level and domain (read-only)."""
        return self._distances

    @cached_property
    def _distances(self) -> np.ndarray:
        matrix = self._delta2()
        matrix.setflags(write=False)
        return matrix

    def _delta2(self) -> np.ndarray:
        count = len(self.values)
        if self.level == "nominal":
            return 1.0 - np.eye(count)
        if self.level == "ordinal":
            n_c = self.marginals
            cumulative = np.cumsum(n_c)
            low = np.minimum.outer(np.arange(count), np.arange(count))
            high = np.maximum.outer(np.arange(count), np.arange(count))
            between = cumulative[high] - cumulative[low] + n_c[low]
            return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
        v = np.asarray(self.values, dtype=float)
        diff = v[:, None] - v[None, :]
        if self.level == "interval":
            return diff ** 2
        total = v[:, None] + v[None, :]
        ratio = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
        return ratio ** 2

    @cached_property
    def observed_disagreement(self) -> float | None:
        n = self.pairable_values
        if n == 0:
            return None
        return float((self.coincidences * self.distances()).sum() / n)

    @cached_property
    def expected_disagreement(self) -> float | None:
        n = self.pairable_values
        if n < 2:
            return None
        n_c = self.marginals
        return float((np.outer(n_c, n_c) * self.distances()).sum() / (n * (n - 1)))

    @cached_property
    def undefined_reason(self) -> str | None:
        """Why alpha is undefined, or None when it is defined."""
        if self.pairable_values == 0:
            return "no unit has values from two or more coders (nothing is pairable)"
        present = [v for v, n in zip(self.values, self.marginals) if n > 0]
        if len(present) < 2 or not self.expected_disagreement:
            only = present[0] if present else None
            return (f"every pairable value is {show_value(only)}: with no variation the "
                    "expected disagreement is 0")
        return None

    @property
    def alpha(self) -> float | None:
        """``1 - D_o / D_e``; None when undefined (see :attr:`undefined_reason`)."""
        if self.undefined_reason is not None:
            return None
        observed, expected = self.observed_disagreement, self.expected_disagreement
        return 1.0 - observed / expected  # type: ignore[operator]

    def __add__(self, other: "AlphaCounts") -> "AlphaCounts":
        if not isinstance(other, AlphaCounts):
            return NotImplemented
        if other.level != self.level:
            raise ValueError(f"cannot add alpha counts of {self.level} and {other.level} data")
        if other.values == self.values:  # the usual case: nothing to re-index
            return AlphaCounts(self.level, self.values, self.coincidences + other.coincidences,
                               self.units + other.units, max(self.coders, other.coders),
                               self.unpairable + other.unpairable)
        values = tuple(sorted(set(self.values) | set(other.values), key=_value_key))
        index = {v: i for i, v in enumerate(values)}
        matrix = np.zeros((len(values), len(values)))
        for part in (self, other):
            at = np.array([index[v] for v in part.values], dtype=int)
            matrix[np.ix_(at, at)] += part.coincidences
        return AlphaCounts(self.level, values, matrix, self.units + other.units,
                           max(self.coders, other.coders), self.unpairable + other.unpairable)

    def __radd__(self, other: Any) -> "AlphaCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "level": self.level, "coders": self.coders,
                "pairable_units": self.units, "pairable_values": self.pairable_values,
                "unpairable_values": self.unpairable,
                "observed_disagreement": self.observed_disagreement,
                "expected_disagreement": self.expected_disagreement,
                "undefined_reason": self.undefined_reason,
                "values": [v if isinstance(v, str) else float(v) for v in self.values]}


def alpha_from_value_counts(value_counts: np.ndarray, values: Sequence[Hashable],
                            level: str = "nominal", *, coders: int = 0) -> AlphaCounts:
    """Alpha counts from a units x values matrix of how many coders gave each value.

    Raises:
        ValueError: if the shapes do not match or a count is negative.
    """
    counts = np.asarray(value_counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != len(values):
        raise ValueError("value_counts must be units x values, one column per value")
    if (counts < 0).any():
        raise ValueError("value counts cannot be negative")
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    p = counts[pairable]
    weighted = p / (per_unit[pairable] - 1.0)[:, None]
    matrix = weighted.T @ p - np.diag(weighted.sum(axis=0))
    return AlphaCounts(level, tuple(values), matrix, int(pairable.sum()), coders,
                       int(per_unit[~pairable].sum()))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)


def krippendorff_alpha(data: Sequence[Sequence[Any]], level: str = "nominal") -> AlphaCounts:
    """Krippendorff's alpha of a reliability matrix: one row per coder, one column per unit.

    A missing value is None or NaN. For ordinal, interval and ratio data the values must be
    real numbers (ratio: >= 0); nominal values may be any hashable (``"1"`` and ``1`` differ).

    Raises:
        InputError: on ragged rows, or values the level cannot take (names row and column,
            counted from 1).
        ValueError: for an unknown level.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    rows = [list(row) for row in data]
    width = len(rows[0]) if rows else 0
    for r, row in enumerate(rows, 1):
        if len(row) != width:
            raise InputError(f"coder row {r} has {len(row)} values but row 1 has {width}")
    found: set[Hashable] = set()
    for r, row in enumerate(rows, 1):
        for u, value in enumerate(row, 1):
            if _missing(value):
                continue
            if level != "nominal":
                if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                        or not math.isfinite(value):
                    raise InputError(f"coder row {r}, unit {u}: {value!r} is not a finite number "
                                     f"({level} data needs numbers)")
                if level == "ratio" and value < 0:
                    raise InputError(f"coder row {r}, unit {u}: {value!r} is negative "
                                     "(ratio data has a true zero and no negative values)")
                value = float(value)
            found.add(value)
    values = sorted(found, key=_value_key)
    index = {v: i for i, v in enumerate(values)}
    counts = np.zeros((width, len(values)))
    for row in rows:
        for u, value in enumerate(row):
            if not _missing(value):
                counts[u, index[value if level == "nominal" else float(value)]] += 1
    return alpha_from_value_counts(counts, values, level, coders=len(rows))
