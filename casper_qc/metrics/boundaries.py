"""Turn-boundary precision, recall and F1 within a collar, one-to-one.

Every turn has two boundaries, its start and its end. A hypothesis boundary *hits* a reference
boundary of the same kind (start with start, end with end) and the same speaker label when they
are at most ``collar`` seconds apart; each boundary is used at most once.

Matching: among all one-to-one matchings, the one with the **most hits**, and among those the
smallest total shift (an exact assignment: ``scipy.optimize.linear_sum_assignment``). The work
is split where consecutive boundaries are more than a collar apart (no match can cross such a
gap); the usual isolated ref/hyp pair is settled directly, only crowded stretches go to the
assignment solver. A prepared annotation (:class:`~casper_qc.metrics.prepared.Prepared`) keeps
its sorted boundaries for its next pair.

Counts add up over recordings: precision = hits / hyp boundaries, recall = hits / ref
boundaries, F1 = 2 hits / (ref + hyp). A rate whose denominator is 0 is None (undefined).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..model import Annotation, Turn, to_ms
from ._common import rate, turns_of
from .prepared import Prepared

__all__ = ["BoundaryCounts", "boundary_counts", "match_points"]


@dataclass(frozen=True, slots=True)
class BoundaryCounts:
    """Boundary hits within ``collar`` seconds; ``shift_ms`` sums |ref - hyp| over hits."""

    hits: int = 0
    ref_boundaries: int = 0
    hyp_boundaries: int = 0
    shift_ms: int = 0
    collar: float = 0.25

    @property
    def precision(self) -> float | None:
        return rate(self.hits, self.hyp_boundaries)

    @property
    def recall(self) -> float | None:
        return rate(self.hits, self.ref_boundaries)

    @property
    def f1(self) -> float | None:
        return rate(2 * self.hits, self.ref_boundaries + self.hyp_boundaries)

    @property
    def mean_shift(self) -> float | None:
        """Mean |shift| of the hits, in seconds."""
        return None if not self.hits else self.shift_ms / self.hits / 1000.0

    def __add__(self, other: "BoundaryCounts") -> "BoundaryCounts":
        if not isinstance(other, BoundaryCounts):
            return NotImplemented
        if other.collar != self.collar:
            raise ValueError(f"cannot add boundary counts of collars {self.collar} and "
                             f"{other.collar}")
        return BoundaryCounts(self.hits + other.hits, self.ref_boundaries + other.ref_boundaries,
                              self.hyp_boundaries + other.hyp_boundaries,
                              self.shift_ms + other.shift_ms, self.collar)

    def __radd__(self, other: Any) -> "BoundaryCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "hits": self.hits, "ref_boundaries": self.ref_boundaries,
                "hyp_boundaries": self.hyp_boundaries, "mean_shift": self.mean_shift,
                "collar": self.collar}


def match_points(ref: Sequence[int], hyp: Sequence[int], collar: int) -> list[tuple[int, int]]:
    """Most-hits, least-shift one-to-one matching of two sets of integer points (e.g.
    milliseconds) within ``collar`` (inclusive, same unit). Returns (ref index, hyp index)
    pairs."""
    if not len(ref) or not len(hyp):
        return []
    return _match_sorted(sorted([(int(p), 0, k) for k, p in enumerate(ref)]
                                + [(int(p), 1, k) for k, p in enumerate(hyp)]), collar)


def _match_sorted(points: list[tuple[int, int, int]], collar: int) -> list[tuple[int, int]]:
    """:func:`match_points` of the sorted ``(point, side, index)`` triples of both sides."""
    pairs: list[tuple[int, int]] = []
    n = len(points)
    i = 0
    while i < n:  # stretches of points each within a collar of the previous one
        j = i + 1
        while j < n and points[j][0] - points[j - 1][0] <= collar:
            j += 1
        if j - i == 2:  # the usual case: one boundary of each side, close together
            (_, side_x, x), (_, side_y, y) = points[i], points[i + 1]
            if side_x != side_y:
                pairs.append((x, y) if side_x == 0 else (y, x))
        elif j - i > 2:
            pairs.extend(_settle(points[i:j], collar))
        i = j
    return pairs


def _settle(stretch: list[tuple[int, int, int]], collar: int) -> list[tuple[int, int]]:
    """The hits inside one stretch of points less than a collar apart."""
    if len(stretch) < 2:
        return []
    if len(stretch) == 2:  # the usual case: one boundary of each side, close together
        (_, side_x, x), (_, side_y, y) = stretch
        if side_x == side_y:
            return []
        return [(x, y) if side_x == 0 else (y, x)]
    refs = [p for p in stretch if p[1] == 0]
    hyps = [p for p in stretch if p[1] == 1]
    if not refs or not hyps:
        return []
    return _assign(np.array([p[2] for p in refs]), np.array([p[0] for p in refs]),
                   np.array([p[2] for p in hyps]), np.array([p[0] for p in hyps]), collar)


def _assign(ref_index: np.ndarray, ref: np.ndarray, hyp_index: np.ndarray, hyp: np.ndarray,
            collar: int) -> list[tuple[int, int]]:
    from scipy.optimize import linear_sum_assignment

    distance = np.abs(ref[:, None] - hyp[None, :]).astype(float)
    within = distance <= collar
    # A hit is worth more than any total of shifts, so the solver maximises hits first.
    bonus = float(collar) * (min(len(ref), len(hyp)) + 1) + 1.0
    cost = np.where(within, distance - bonus, 0.0)
    rows, cols = linear_sum_assignment(cost)
    return [(int(ref_index[r]), int(hyp_index[c])) for r, c in zip(rows, cols) if within[r, c]]


def _boundaries(turns: tuple[Turn, ...], by_speaker: bool, lanes: dict[str, int]) -> list[int]:
    """Boundary times in ms (``round(s * 1000)`` is model.to_ms), each speaker (when kept
    apart) and kind on a lane of its own."""
    return _boundaries_ms([(t.speaker, round(t.start * 1000), round(t.end * 1000)) for t in turns], by_speaker,
                          lanes)


def _boundaries_ms(spans: Sequence[tuple[str, int, int]], by_speaker: bool, lanes: dict[str, int]) -> list[int]:
    """:func:`_boundaries` of (speaker, start ms, end ms) spans."""
    out = []
    for speaker, start, end in spans:
        lane = 2 * (lanes[speaker] if by_speaker else 0) * _LANE
        out.append(start + lane)
        out.append(end + lane + _LANE)
    return out


def _boundaries_of(source: Annotation | Sequence[Turn] | Prepared, turns: tuple[Turn, ...], by_speaker: bool,
                   lanes: dict[str, int]) -> list[int]:
    """:func:`_boundaries`, kept by a prepared annotation for its next pair (same lanes)."""
    if isinstance(source, Prepared):
        return source.memo(("boundaries", by_speaker, tuple(lanes)),
                           lambda: _boundaries_ms(source.spans(), by_speaker, lanes))
    return _boundaries(turns, by_speaker, lanes)


def _sorted_points(source: Annotation | Sequence[Turn] | Prepared, values: list[int], side: int,
                   by_speaker: bool, lanes: dict[str, int]) -> list[tuple[int, int, int]]:
    """One side's ``(point, side, index)`` triples, sorted (kept by a prepared annotation)."""
    if isinstance(source, Prepared):
        return source.memo(("boundary points", side, by_speaker, tuple(lanes)),
                           lambda: sorted(zip(values, [side] * len(values), range(len(values)))))
    return sorted(zip(values, [side] * len(values), range(len(values))))


#: Lanes are this far apart (ms, about 11 days): no collar reaches from one to the next.
_LANE = 10 ** 9


def boundary_counts(ref: Annotation | Sequence[Turn] | Prepared, hyp: Annotation | Sequence[Turn] | Prepared, *,
                    collar: float = 0.25, by_speaker: bool = True) -> BoundaryCounts:
    """Boundary hits of ``hyp`` against ``ref`` within ``collar`` seconds.

    ``by_speaker=False`` ignores speaker labels (any start may match any start).

    Raises:
        InputError: a negative collar.
    """
    if collar < 0:
        raise InputError(f"the collar must be >= 0 s, not {collar}")
    collar_ms = to_ms(collar)
    ref_turns, hyp_turns = turns_of(ref), turns_of(hyp)
    lanes = {s: k for k, s in enumerate(sorted({t.speaker for t in (*ref_turns, *hyp_turns)}))}
    refs = _boundaries_of(ref, ref_turns, by_speaker, lanes)
    hyps = _boundaries_of(hyp, hyp_turns, by_speaker, lanes)
    if not refs or not hyps:
        pairs: list[tuple[int, int]] = []
    else:  # each side's sorted (point, side, index) triples, merged (two sorted runs: linear)
        points = (_sorted_points(ref, refs, 0, by_speaker, lanes)
                  + _sorted_points(hyp, hyps, 1, by_speaker, lanes))
        points.sort()
        pairs = _match_sorted(points, collar_ms)
    shift = 0
    for r, h in pairs:
        shift += abs(refs[r] - hyps[h])
    return BoundaryCounts(len(pairs), len(refs), len(hyps), shift, collar)
