"""Krippendorff's unitizing alpha over many continua, kept up to date as parts come and go.

A :class:`UnitizingPool` holds parts (each a :class:`~casper_qc.metrics.unitizing.UnitizingCounts`
of the same number of coders, e.g. one pair of annotators on one task) under keys, and answers
exactly what ``sum(parts)`` of those counts would answer (``alpha``, ``category_alpha``): the
parts laid end to end, a category absent from a part being one gap per coder over each recording
of it (the rule of ``UnitizingCounts.__add__``; a gap never spans two recordings).

Why not just ``sum``: the expected disagreement of a category pairs *every* unit with *every*
gap of the whole pool (``sum_u l_u^2 sum_{gaps x >= l_u} (x - l_u + 1)``), so summing thousands of
counts re-sorts every unit and gap each time. The pool keeps, per category, the sorted unit and
gap lengths, their prefix sums and that cross term, and updates the cross term by the new or
departing lengths only:

* adding units ``l``: ``+= l^2 (sum_{x >= l} x - (l - 1) #{x >= l})`` over the current gaps;
* adding gaps ``x``: ``+= (x + 1) sum_{l <= x} l^2 - sum_{l <= x} l^3`` over the current units
  (units are added before gaps, and removed after them, so a new unit/new gap pair counts once).

Everything else (observed disagreement, ``sum l (l - 1)``, ``sum (2 l^3 - 3 l^2 + l)``, unit
counts, total length) is a plain sum. A bulk :meth:`UnitizingPool.build` computes the cross term
vectorized, once. Lengths are integer milliseconds; sums are float64 (relative error ~1e-12 after
millions of updates; the tests compare with the metric's own sums).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Mapping

import numpy as np

from ..metrics.unitizing import UnitizingCounts

__all__ = ["UnitizingPool"]


def _sorted(values: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(values, dtype=np.float64))


def _prefix(values: np.ndarray, power: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(values ** power)])


@dataclass
class _Category:
    observed: float = 0.0
    units: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gaps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    within: float = 0.0  # sum of 2 l^3 - 3 l^2 + l
    square: float = 0.0  # sum of l (l - 1)
    placed: float = 0.0  # the unit x gap cross term
    _unit_prefix: tuple[np.ndarray, np.ndarray] | None = None  # (sum l^2, sum l^3) up to index
    _gap_prefix: np.ndarray | None = None  # sum x up to index

    # -- prefix sums, rebuilt lazily after a change
    def unit_prefix(self) -> tuple[np.ndarray, np.ndarray]:
        if self._unit_prefix is None:
            self._unit_prefix = (_prefix(self.units, 2), _prefix(self.units, 3))
        return self._unit_prefix

    def gap_prefix(self) -> np.ndarray:
        if self._gap_prefix is None:
            self._gap_prefix = _prefix(self.gaps, 1)
        return self._gap_prefix

    def _against_gaps(self, lengths: np.ndarray) -> float:
        """sum over ``lengths`` l of l^2 sum_{gaps x >= l} (x - l + 1)."""
        if not len(lengths) or not len(self.gaps):
            return 0.0
        prefix = self.gap_prefix()
        first = np.searchsorted(self.gaps, lengths, side="left")
        count = len(self.gaps) - first
        above = prefix[-1] - prefix[first]
        return float((lengths ** 2 * (above - (lengths - 1.0) * count)).sum())

    def _against_units(self, gaps: np.ndarray) -> float:
        """sum over ``gaps`` x of sum_{units l <= x} l^2 (x - l + 1)."""
        if not len(gaps) or not len(self.units):
            return 0.0
        squares, cubes = self.unit_prefix()
        upto = np.searchsorted(self.units, gaps, side="right")
        return float(((gaps + 1.0) * squares[upto] - cubes[upto]).sum())

    def change(self, removed: tuple[np.ndarray, np.ndarray, float], added: tuple[np.ndarray, np.ndarray, float]) -> None:
        """Take out (units, gaps, observed) ``removed`` and put in ``added``, in the order that
        counts every unit/gap pair once: gaps out (against the old units), units out (against
        the remaining gaps), units in (same gaps), gaps in (against the final units). Three
        prefix sums are rebuilt at most."""
        out_units, out_gaps, out_observed = removed
        in_units, in_gaps, in_observed = added
        self.observed += in_observed - out_observed
        if len(out_gaps):
            self.placed -= self._against_units(out_gaps)
            self.gaps = _delete(self.gaps, out_gaps)
            self._gap_prefix = None
        if len(out_units):
            self.units = _delete(self.units, out_units)
            self._unit_prefix = None
            self.placed -= self._against_gaps(out_units)
            self.within -= float((2 * out_units ** 3 - 3 * out_units ** 2 + out_units).sum())
            self.square -= float((out_units * (out_units - 1.0)).sum())
        if len(in_units):
            self.placed += self._against_gaps(in_units)
            self.units = _insert(self.units, in_units)
            self.within += float((2 * in_units ** 3 - 3 * in_units ** 2 + in_units).sum())
            self.square += float((in_units * (in_units - 1.0)).sum())
            self._unit_prefix = None
        if len(in_gaps):
            self.placed += self._against_units(in_gaps)
            self.gaps = _insert(self.gaps, in_gaps)
            self._gap_prefix = None

    def rebuild(self) -> None:
        """Recompute the cross term from scratch (bulk loads)."""
        self._unit_prefix = self._gap_prefix = None
        self.placed = self._against_gaps(self.units)
        self.within = float((2 * self.units ** 3 - 3 * self.units ** 2 + self.units).sum())
        self.square = float((self.units * (self.units - 1.0)).sum())


def _insert(array: np.ndarray, values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return np.insert(array, np.searchsorted(array, values, side="left"), values)


def _delete(array: np.ndarray, values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    first = np.searchsorted(array, values, side="left")
    rank = np.arange(len(values)) - np.searchsorted(values, values, side="left")  # repeats
    at = first + rank
    if len(at) and (at.max() >= len(array) or not np.array_equal(array[at], values)):
        raise ValueError("removing lengths the pool does not hold")
    return np.delete(array, at)


def _absent(part: UnitizingCounts, coders: int) -> np.ndarray:
    """The gaps of a category the part does not have: one per coder over each recording."""
    return np.repeat(np.asarray([float(n) for n in part.recordings if n]), coders)


class UnitizingPool:
    """Pooled unitizing alpha of parts with ``coders`` coders each (module docstring)."""

    def __init__(self, coders: int = 2) -> None:
        self.coders = coders
        self.length = 0
        self._parts: dict[Hashable, UnitizingCounts] = {}
        self._categories: dict[str, _Category] = {}

    def __len__(self) -> int:
        return len(self._parts)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._parts

    def _contribution(self, part: UnitizingCounts, name: str) -> tuple[np.ndarray, np.ndarray, float]:
        stats = part.categories.get(name)
        if stats is None:  # an absent category: one gap per coder over each recording of the part
            return np.zeros(0), _absent(part, self.coders), 0.0
        return (np.asarray(stats.units, dtype=np.float64), np.asarray(stats.gaps, dtype=np.float64),
                float(stats.observed))

    def _check(self, part: UnitizingCounts) -> None:
        if part.coders != self.coders:
            raise ValueError(f"a pool of {self.coders}-coder parts cannot take a part of {part.coders} coders")

    def build(self, parts: Mapping[Hashable, UnitizingCounts]) -> "UnitizingPool":
        """Replace the contents by ``parts`` in one pass (vectorized); returns self."""
        for part in parts.values():
            self._check(part)
        self._parts = dict(parts)
        self.length = sum(p.length for p in self._parts.values())
        names = sorted({c for p in self._parts.values() for c in p.categories})
        # one pass over the parts for all categories (each part is read once, not per category)
        units: dict[str, list[np.ndarray]] = {name: [np.zeros(0)] for name in names}
        gaps: dict[str, list[np.ndarray]] = {name: [np.zeros(0)] for name in names}
        observed = dict.fromkeys(names, 0.0)
        for part in self._parts.values():
            found = part.categories
            for name in names:
                stats = found.get(name)
                if stats is None:  # an absent category: one gap per coder over each recording
                    gaps[name].append(_absent(part, self.coders))
                    continue
                units[name].append(stats.units)
                gaps[name].append(stats.gaps)
                observed[name] += float(stats.observed)
        self._categories = {}
        for name in names:
            category = _Category(observed=observed[name], units=_sorted(np.concatenate(units[name])),
                                 gaps=_sorted(np.concatenate(gaps[name])))
            category.rebuild()
            self._categories[name] = category
        return self

    def add(self, key: Hashable, part: UnitizingCounts) -> None:
        """Add ``part`` under ``key`` (replacing what ``key`` held)."""
        self.update([], {key: part})

    def remove(self, key: Hashable) -> None:
        """Remove the part under ``key`` (nothing if there is none)."""
        self.update([key], {})

    def update(self, remove: Iterable[Hashable], add: Mapping[Hashable, UnitizingCounts]) -> None:
        """Remove the parts under ``remove`` and add (or replace) ``add``, as one batch per
        category (what a webhook update does to each pool)."""
        for part in add.values():
            self._check(part)
        gone = [self._parts.pop(k) for k in dict.fromkeys([*remove, *add]) if k in self._parts]
        for name in sorted({c for p in add.values() for c in p.categories} - set(self._categories)):
            # parts already in the pool (and those leaving it) lacked this category: one gap per
            # coder over each of their recordings
            gaps = [_absent(p, self.coders) for p in (*self._parts.values(), *gone)]
            category = self._categories[name] = _Category()
            category.change((np.zeros(0), np.zeros(0), 0.0),
                            (np.zeros(0), np.concatenate([np.zeros(0), *gaps]), 0.0))
        self.length += sum(p.length for p in add.values()) - sum(p.length for p in gone)
        for name, category in self._categories.items():
            category.change(self._pieces(gone, name), self._pieces(list(add.values()), name))
        self._parts.update(add)

    def _pieces(self, parts: list[UnitizingCounts], name: str) -> tuple[np.ndarray, np.ndarray, float]:
        if not parts:
            return np.zeros(0), np.zeros(0), 0.0
        pieces = [self._contribution(p, name) for p in parts]
        return (np.concatenate([u for u, _, _ in pieces]), np.concatenate([g for _, g, _ in pieces]),
                float(sum(o for _, _, o in pieces)))

    def part(self, key: Hashable) -> UnitizingCounts | None:
        return self._parts.get(key)

    def keys(self) -> Iterable[Hashable]:
        return self._parts.keys()

    # -- the figures, as UnitizingCounts computes them
    def observed_disagreement(self, name: str) -> float:
        m, length = self.coders, float(self.length)
        return self._categories[name].observed / (m * (m - 1) * length ** 2)

    def expected_disagreement(self, name: str) -> float:
        category = self._categories[name]
        if not len(category.units):
            return 0.0
        m, length = self.coders, float(self.length)
        within = (len(category.units) - 1) / 3.0 * category.within
        denominator = m * length * (m * length - 1.0) - category.square
        return 2.0 / length * (within + category.placed) / denominator

    def category_alpha(self, name: str) -> float | None:
        """Unitizing alpha of one category; None when it has no units."""
        if name not in self._categories or not self.length:
            return None
        expected = self.expected_disagreement(name)
        if expected == 0:
            return None
        return 1.0 - self.observed_disagreement(name) / expected

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._categories)

    @property
    def alpha(self) -> float | None:
        """Overall alpha, ``1 - sum D_o / sum D_e``; None without units or coders."""
        if self.coders < 2 or not self.length:
            return None
        expected = sum(self.expected_disagreement(c) for c in self._categories)
        if expected == 0:
            return None
        return 1.0 - sum(self.observed_disagreement(c) for c in self._categories) / expected

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "parts": len(self._parts), "length_ms": self.length,
                "categories": {c: self.category_alpha(c) for c in self._categories}}
