"""Krippendorff's unitizing alpha (uα) for segmentations, on an integer-millisecond grid.

Follows Krippendorff, "On the reliability of unitizing continuous data" (1995) in the form of
*Content Analysis*, 2nd ed. (2004), section 12.4: each coder cuts the continuum ``[begin, end)``
(length L) into units of category c and gaps (everything not c); for segments g of coder i and
h of coder j::

    delta2 = (b_g - b_h)^2 + (e_g - e_h)^2   both units, overlapping
           = l_g^2                           unit g lies inside gap h (and vice versa)
           = 0                               otherwise

    D_o(c) = sum_{i != j} sum_{g,h} delta2 / (m (m - 1) L^2)
    D_e(c) = (2 / L) [ (N_c - 1)/3 sum_u (2 l_u^3 - 3 l_u^2 + l_u)
                       + sum_u l_u^2 sum_{gaps x >= l_u} (x - l_u + 1) ]
             / [ m L (m L - 1) - sum_u l_u (l_u - 1) ]

over all m coders' units u of c (N_c of them) and gaps x. ``alpha(c) = 1 - D_o(c) / D_e(c)``;
the overall ``alpha = 1 - sum_c D_o(c) / sum_c D_e(c)`` (as Krippendorff 2004 and DKPro
Statistics combine categories). Reproduces the worked example of Krippendorff (2004, p. 254):
see ``tests/test_metrics_unitizing.py``.

For turns (:func:`unitizing_alpha`) the categories are the **speaker labels** (speaker identity
across annotators is the label), units are turns in integer milliseconds and gaps are the
stretches a coder left without that speaker. A coder's turns of one speaker must not overlap.

Counts are additive: ``a + b`` is uα of the two continua laid end to end with a segment
boundary forced at the junction (a gap never spans two recordings). Every part needs the same
number of coders. Observed disagreement walks two coders' partitions side by side (O(S) per
pair of coders, one step per overlapping pair of segments), expected disagreement uses numpy
on sorted gap lengths with prefix sums (O((U + G) log G)) - no loop over all pairs of segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..model import Annotation, Turn, to_ms

__all__ = ["CategoryStats", "UnitizingCounts", "unitizing_counts", "unitizing_alpha"]


@dataclass(frozen=True, eq=False)
class CategoryStats:
    """One category's sufficient statistics: ``observed`` is the sum of delta2 over ordered
    pairs of coders; ``units`` and ``gaps`` the lengths of every coder's units and gaps."""

    observed: int
    units: np.ndarray
    gaps: np.ndarray


def _frozen(values: Any) -> np.ndarray:
    out = np.asarray(values, dtype=np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class UnitizingCounts:
    """uα statistics of ``coders`` coders over continua of total ``length`` grid points."""

    coders: int
    length: int
    categories: Mapping[str, CategoryStats] = field(default_factory=dict)

    def observed_disagreement(self, category: str) -> float:
        m, L = self.coders, self.length
        return self.categories[category].observed / (m * (m - 1) * float(L) ** 2)

    def expected_disagreement(self, category: str) -> float:
        stats = self.categories[category]
        m, L = self.coders, float(self.length)
        lengths = stats.units.astype(float)
        if not len(lengths):
            return 0.0
        cubic = float((2 * lengths ** 3 - 3 * lengths ** 2 + lengths).sum())
        within = (len(lengths) - 1) / 3.0 * cubic
        gaps = np.sort(stats.gaps.astype(float))
        first = np.searchsorted(gaps, lengths, side="left")  # gaps long enough to hold the unit
        suffix = np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
        fits = suffix[first] - (len(gaps) - first) * (lengths - 1.0)
        placed = float((lengths ** 2 * fits).sum())
        denominator = m * L * (m * L - 1.0) - float((lengths * (lengths - 1.0)).sum())
        return 2.0 / L * (within + placed) / denominator

    def category_alpha(self, category: str) -> float | None:
        """uα of one category; None when it has no units (expected disagreement 0)."""
        expected = self.expected_disagreement(category)
        if expected == 0:
            return None
        return 1.0 - self.observed_disagreement(category) / expected

    @property
    def alpha(self) -> float | None:
        """Overall uα, ``1 - sum D_o / sum D_e`` over categories; None with no units at all."""
        if self.coders < 2 or not self.length:
            return None
        expected = sum(self.expected_disagreement(c) for c in self.categories)
        if expected == 0:
            return None
        return 1.0 - sum(self.observed_disagreement(c) for c in self.categories) / expected

    def __add__(self, other: "UnitizingCounts") -> "UnitizingCounts":
        if not isinstance(other, UnitizingCounts):
            return NotImplemented
        if other.coders != self.coders:
            raise ValueError(f"cannot add unitizing counts of {self.coders} and {other.coders} "
                             "coders")
        merged: dict[str, CategoryStats] = {}
        for name in sorted(set(self.categories) | set(other.categories)):
            parts = []
            for side in (self, other):
                # A category absent from one side is, there, one gap per coder.
                parts.append(side.categories.get(name) or CategoryStats(
                    0, _frozen([]), _frozen([side.length] * side.coders if side.length else [])))
            merged[name] = CategoryStats(parts[0].observed + parts[1].observed,
                                         _frozen(np.concatenate([p.units for p in parts])),
                                         _frozen(np.concatenate([p.gaps for p in parts])))
        return UnitizingCounts(self.coders, self.length + other.length, merged)

    def __radd__(self, other: Any) -> "UnitizingCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "coders": self.coders, "length": self.length,
                "categories": {c: {"alpha": self.category_alpha(c),
                                   "observed_disagreement": self.observed_disagreement(c),
                                   "expected_disagreement": self.expected_disagreement(c),
                                   "units": int(len(s.units))}
                               for c, s in self.categories.items()}}


def _segments(spans: list[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int, bool]]:
    """A coder's partition of [begin, end) into units and gaps: (start, end, is-unit)."""
    out = []
    at = begin
    for start, stop in spans:
        if start > at:
            out.append((at, start, False))
        out.append((start, stop, True))
        at = stop
    if at < end:
        out.append((at, end, False))
    return out


def _pair_observed(a: list[tuple[int, int, bool]], b: list[tuple[int, int, bool]]) -> int:
    """Sum of delta2 over the overlapping segments of two coders' partitions.

    Both partitions cover the same continuum, so walking them side by side visits every
    overlapping pair exactly once (one step per elementary interval) - O(segments)."""
    total = i = j = 0
    while i < len(a) and j < len(b):
        sa, ea, ua = a[i]
        sb, eb, ub = b[j]
        if ua and ub:
            total += (sa - sb) ** 2 + (ea - eb) ** 2
        elif ua:
            if sb <= sa and ea <= eb:  # unit inside the other's gap
                total += (ea - sa) ** 2
        elif ub and sa <= sb and eb <= ea:
            total += (eb - sb) ** 2
        if ea <= eb:
            i += 1
        if eb <= ea:
            j += 1
    return total


def unitizing_counts(units_by_coder: Sequence[Iterable[tuple[int, int, str]]], begin: int,
                     end: int, *, categories: Iterable[str] = ()) -> UnitizingCounts:
    """uα statistics of integer segmentations: per coder, ``(start, stop, category)`` units
    with ``begin <= start < stop <= end``. ``categories`` adds categories no coder used.

    Raises:
        InputError: a unit outside ``[begin, end)``, empty, or overlapping another unit of the
            same coder and category (the message names the coder, counted from 1).
    """
    if end <= begin:
        raise InputError(f"the continuum [{begin}, {end}) is empty")
    per_coder: list[dict[str, list[tuple[int, int]]]] = []
    names = set(categories)
    for c, units in enumerate(units_by_coder, 1):
        mine: dict[str, list[tuple[int, int]]] = {}
        for start, stop, category in units:
            if not begin <= start < stop <= end:
                raise InputError(f"coder {c}: unit {category!r} [{start}, {stop}) is empty or "
                                 f"outside the continuum [{begin}, {end})")
            mine.setdefault(str(category), []).append((int(start), int(stop)))
        per_coder.append(mine)
        names.update(mine)
    m = len(per_coder)
    stats: dict[str, CategoryStats] = {}
    for name in sorted(names):
        partitions = []
        unit_lengths: list[int] = []
        gap_lengths: list[int] = []
        for c, mine in enumerate(per_coder, 1):
            spans = sorted(mine.get(name, ()))
            for k in range(1, len(spans)):
                if spans[k][0] < spans[k - 1][1]:
                    raise InputError(f"coder {c}: units of {name!r} overlap: "
                                     f"[{spans[k - 1][0]}, {spans[k - 1][1]}) and "
                                     f"[{spans[k][0]}, {spans[k][1]})")
            segments = _segments(spans, begin, end)
            partitions.append(segments)
            unit_lengths += [stop - start for start, stop in spans]
            gap_lengths += [stop - start for start, stop, unit in segments if not unit]
        observed = 2 * sum(_pair_observed(partitions[i], partitions[j])
                           for i in range(m) for j in range(i + 1, m))
        stats[name] = CategoryStats(observed, _frozen(unit_lengths), _frozen(gap_lengths))
    return UnitizingCounts(m, end - begin, stats)


def unitizing_alpha(annotations: Sequence[Annotation | Sequence[Turn]], duration: float, *,
                    speakers: Iterable[str] = ()) -> UnitizingCounts:
    """uα of several annotators' turns over ``[0, duration)`` seconds, on the millisecond grid.

    Categories are speaker labels (those used by any annotator, plus ``speakers``).

    Raises:
        InputError: fewer than two annotations, a turn beyond ``duration``, or two turns of one
            speaker overlapping in one annotation (named by its label or position).
    """
    if len(annotations) < 2:
        raise InputError(f"unitizing alpha needs at least two annotations, got {len(annotations)}")
    length = to_ms(duration)
    coders = []
    for annotation in annotations:
        turns = annotation.turns if isinstance(annotation, Annotation) else tuple(annotation)
        coders.append([(to_ms(t.start), to_ms(t.end), t.speaker) for t in turns])
    try:
        return unitizing_counts(coders, 0, length, categories=speakers)
    except InputError as err:
        raise _located(err, annotations) from None


def _located(err: InputError, annotations: Sequence[Any]) -> InputError:
    # unitizing_counts names coders by position; say which annotation that is, in seconds.
    text = err.problem
    if text.startswith("coder ") and ":" in text:
        number, rest = text[len("coder "):].split(":", 1)
        annotation = annotations[int(number) - 1]
        label = annotation.label if isinstance(annotation, Annotation) else f"annotation {number}"
        return InputError(f"{rest.strip()} (times in ms)", where=label)
    return err
