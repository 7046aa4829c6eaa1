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
number of coders. A category absent from a part is, there, one gap per coder over each of the
recordings the part is made of (:attr:`UnitizingCounts.pieces`), so ``sum()`` of many parts
does not depend on their order. Observed disagreement walks two coders' partitions side by side
(O(S) per pair of coders, one step per overlapping pair of segments), expected disagreement
uses numpy on sorted gap lengths with prefix sums (O((U + G) log G)) - no loop over all pairs of
segments.

:func:`unitizing_alpha` also takes :class:`~casper_qc.metrics.prepared.Prepared` annotations:
each keeps its partitions and the walks against the others, so the pairs of a task and the
alpha of all its coders share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import InputError
from ..model import Annotation, Turn, to_ms
from ._common import turns_of
from .prepared import Prepared

__all__ = ["CategoryStats", "UnitizingCounts", "unitizing_counts", "unitizing_alpha"]

_sum = np.add.reduce  # what ndarray.sum calls


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
    """uα statistics of ``coders`` coders over continua of total ``length`` grid points.

    ``pieces`` are the lengths of the recordings laid end to end (their sum is ``length``);
    empty means one recording of ``length``."""

    coders: int
    length: int
    categories: Mapping[str, CategoryStats] = field(default_factory=dict)
    pieces: tuple[int, ...] = ()
    _expected: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    @property
    def recordings(self) -> tuple[int, ...]:
        """The lengths of the recordings these counts are made of (``pieces``, or ``length``)."""
        return self.pieces or (self.length,)

    def observed_disagreement(self, category: str) -> float:
        m, L = self.coders, self.length
        return self.categories[category].observed / (m * (m - 1) * float(L) ** 2)

    def expected_disagreement(self, category: str) -> float:
        """D_e of one category (computed once: the statistics are read-only)."""
        found = self._expected.get(category)
        if found is None:
            found = self._expected[category] = self._expected_disagreement(category)
        return found

    def _expected_disagreement(self, category: str) -> float:
        stats = self.categories[category]
        m, L = self.coders, float(self.length)
        lengths = stats.units.astype(float)
        if not len(lengths):
            return 0.0
        # (ndarray methods and np.add.reduce: what np.sum and friends call, without their
        # Python-level wrappers, which cost more than the work on a task's few dozen lengths)
        squares, less = lengths ** 2, lengths - 1.0  # each used twice below
        cubic = float(_sum(2 * lengths ** 3 - 3 * squares + lengths))
        within = (len(lengths) - 1) / 3.0 * cubic
        gaps = stats.gaps.astype(float)
        gaps.sort()
        first = gaps.searchsorted(lengths, side="left")  # gaps long enough to hold the unit
        suffix = np.zeros(len(gaps) + 1)
        suffix[:-1] = gaps[::-1].cumsum()[::-1]
        fits = suffix[first] - (len(gaps) - first) * less
        placed = float(_sum(squares * fits))
        denominator = m * L * (m * L - 1.0) - float(_sum(lengths * less))
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
                # A category absent from one side is, there, one gap per coder over each of
                # its recordings: a gap never spans two recordings.
                parts.append(side.categories.get(name) or CategoryStats(
                    0, _frozen([]), _frozen([n for n in side.recordings if n for _ in range(side.coders)])))
            merged[name] = CategoryStats(parts[0].observed + parts[1].observed,
                                         _frozen(np.concatenate([p.units for p in parts])),
                                         _frozen(np.concatenate([p.gaps for p in parts])))
        return UnitizingCounts(self.coders, self.length + other.length, merged,
                               self.recordings + other.recordings)

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


_SERIALS = count()


class _Partition(NamedTuple):
    """One coder's partition of the continuum for one category, or the overlap that forbids it."""

    problem: str | None
    segments: list[tuple[int, int, bool]]
    units: list[int]
    gaps: list[int]


class _Coder:
    """One coder's units on ``[begin, end)`` by category, with the partitions and the walks
    against other coders kept as they are computed. ``outside`` is the first unit outside the
    continuum (the coder cannot be used then)."""

    __slots__ = ("serial", "begin", "end", "spans", "outside", "_partitions", "_walks")

    def __init__(self, units: Iterable[tuple[int, int, str]], begin: int, end: int) -> None:
        self.serial = next(_SERIALS)  # names this coder in other coders' walks (never reused)
        self.begin, self.end = begin, end
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.outside: str | None = None
        self._partitions: dict[str, _Partition] = {}
        self._walks: dict[tuple[int, str], int] = {}
        for start, stop, category in units:
            if not begin <= start < stop <= end:
                self.outside = (f"unit {category!r} [{start}, {stop}) is empty or outside the "
                                f"continuum [{begin}, {end})")
                return
            self.spans.setdefault(str(category), []).append((int(start), int(stop)))

    def partition(self, name: str) -> _Partition:
        found = self._partitions.get(name)
        if found is None:
            spans = sorted(self.spans.get(name, ()))
            problem = None
            for k in range(1, len(spans)):
                if spans[k][0] < spans[k - 1][1]:
                    problem = (f"units of {name!r} overlap: [{spans[k - 1][0]}, {spans[k - 1][1]}) and "
                               f"[{spans[k][0]}, {spans[k][1]})")
                    break
            segments = _segments(spans, self.begin, self.end)
            found = self._partitions[name] = _Partition(
                problem, segments, [stop - start for start, stop in spans],
                [stop - start for start, stop, unit in segments if not unit])
        return found

    def observed(self, other: "_Coder", name: str) -> int:
        """delta2 summed over this coder's and ``other``'s overlapping segments of ``name``."""
        key = (other.serial, name)
        found = self._walks.get(key)
        if found is None:
            found = self._walks[key] = _pair_observed(self.partition(name).segments,
                                                      other.partition(name).segments)
        return found


def _counts(coders: Sequence[_Coder], begin: int, end: int, categories: Iterable[str]) -> UnitizingCounts:
    """uα statistics of coders on ``[begin, end)`` (errors name the coder, counted from 1)."""
    for c, coder in enumerate(coders, 1):
        if coder.outside is not None:
            raise InputError(f"coder {c}: {coder.outside}")
    names = set(categories)
    for coder in coders:
        names.update(coder.spans)
    m = len(coders)
    stats: dict[str, CategoryStats] = {}
    for name in sorted(names):
        unit_lengths: list[int] = []
        gap_lengths: list[int] = []
        for c, coder in enumerate(coders, 1):
            part = coder.partition(name)
            if part.problem is not None:
                raise InputError(f"coder {c}: {part.problem}")
            unit_lengths += part.units
            gap_lengths += part.gaps
        observed = 2 * sum(coders[i].observed(coders[j], name) for i in range(m) for j in range(i + 1, m))
        stats[name] = CategoryStats(observed, _frozen(unit_lengths), _frozen(gap_lengths))
    return UnitizingCounts(m, end - begin, stats)


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
    return _counts([_Coder(units, begin, end) for units in units_by_coder], begin, end, categories)


def _coder(annotation: Annotation | Sequence[Turn] | Prepared, length: int) -> _Coder:
    """An annotation's turns as a coder of ``[0, length)`` ms (kept by a prepared annotation)."""
    if isinstance(annotation, Prepared):
        return annotation.memo(("unitizing coder", length), lambda: _coder(annotation.turns, length))
    return _Coder([(to_ms(t.start), to_ms(t.end), t.speaker) for t in turns_of(annotation)], 0, length)


def unitizing_alpha(annotations: Sequence[Annotation | Sequence[Turn] | Prepared], duration: float, *,
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
    try:
        if length <= 0:
            raise InputError(f"the continuum [0, {length}) is empty")
        return _counts([_coder(a, length) for a in annotations], 0, length, speakers)
    except InputError as err:
        raise _located(err, annotations) from None


def _located(err: InputError, annotations: Sequence[Any]) -> InputError:
    # unitizing_counts names coders by position; say which annotation that is, in seconds.
    text = err.problem
    if text.startswith("coder ") and ":" in text:
        number, rest = text[len("coder "):].split(":", 1)
        annotation = annotations[int(number) - 1]
        if isinstance(annotation, Prepared):
            annotation = annotation.source
        label = annotation.label if isinstance(annotation, Annotation) else f"annotation {number}"
        return InputError(f"{rest.strip()} (times in ms)", where=label)
    return err
