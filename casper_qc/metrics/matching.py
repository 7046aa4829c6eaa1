"""One-to-one matching of two annotations' turns (regions) by temporal overlap.

Two turns can match when their intersection-over-union (IoU) is at least ``min_iou``; among
such pairs the matching maximises the total IoU (``scipy.optimize.linear_sum_assignment``). The
turns are first split into clusters of chained overlaps (no pair can match across clusters);
the usual cluster, one turn from each side, is settled directly; a crowded cluster of at most
three turns a side by trying every assignment (the solver's answer whenever one assignment is
best by more than 1e-9; on a tie the solver decides), and larger ones by the solver. (Plain
Python sweep: tens of turns per task, where numpy's per-call cost would dominate.) A prepared
annotation (:class:`~casper_qc.metrics.prepared.Prepared`) keeps its sorted turns for its next
match.

With ``same_speaker=True`` only turns with the same speaker label match (speaker identity
across annotators is the label).
"""

from __future__ import annotations

from itertools import permutations
from typing import Sequence

import numpy as np

from ..model import Annotation, Turn
from ._common import TurnSource, turns_of
from .prepared import Prepared

__all__ = ["match_turns"]


def _spans(turns: Sequence[Turn] | Annotation | TurnSource) -> list[tuple[str, int, int]]:
    """(speaker, start ms, end ms) of each turn; kept by a prepared annotation
    (:class:`~casper_qc.metrics.prepared.Prepared`) for the next call."""
    if isinstance(turns, Prepared):
        return turns.spans()
    # round(x * 1000) is model.to_ms
    return [(t.speaker, round(t.start * 1000), round(t.end * 1000)) for t in turns_of(turns)]


def match_turns(a: Sequence[Turn] | Annotation | TurnSource, b: Sequence[Turn] | Annotation | TurnSource, *,
                min_iou: float = 0.2, same_speaker: bool = True) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` of matched turns ``a[i]``, ``b[j]``, sorted by ``i``.

    ``min_iou`` must be in (0, 1]; matched turns always overlap.
    """
    if not 0 < min_iou <= 1:
        raise ValueError(f"min_iou must be in (0, 1], not {min_iou}")
    spans_a, spans_b = _spans(a), _spans(b)
    if not spans_a or not spans_b:
        return []
    # (lane, start ms, end ms, side, index), sorted. With speakers kept apart each speaker is a
    # lane of its own (numbered in sorted order), and lanes never overlap.
    lanes = tuple(sorted(_speakers(a, spans_a) | _speakers(b, spans_b))) if same_speaker else ()
    items = _items(a, spans_a, 0, lanes) + _items(b, spans_b, 1, lanes)
    items.sort()  # two sorted runs: merged in linear time
    pairs: list[tuple[int, int]] = []
    n = len(items)
    i = 0
    while i < n:  # clusters of chained overlaps: runs of items that start before the reach
        first = items[i]
        reach = first[2]  # the furthest end in the cluster
        j = i + 1
        while j < n and items[j][0] == first[0] and items[j][1] < reach:
            if items[j][2] > reach:
                reach = items[j][2]
            j += 1
        if j - i == 2:  # the usual case: one turn from each side, or two from one side
            second = items[i + 1]
            if first[3] != second[3]:
                inter = min(first[2], second[2]) - max(first[1], second[1])
                union = (first[2] - first[1]) + (second[2] - second[1]) - inter
                if not inter < min_iou * union:
                    pairs.append((first[4], second[4]) if first[3] == 0 else (second[4], first[4]))
        elif j - i > 2:
            pairs.extend(_settle(items[i:j], min_iou))
        i = j
    return sorted(pairs)


def _speakers(source: Sequence[Turn] | Annotation | TurnSource, spans: list[tuple[str, int, int]]) -> set[str]:
    if isinstance(source, Prepared):
        return source.memo("speakers", lambda: {speaker for speaker, _, _ in spans})
    return {speaker for speaker, _, _ in spans}


def _items(source: Sequence[Turn] | Annotation | TurnSource, spans: list[tuple[str, int, int]], side: int,
           lanes: tuple[str, ...]) -> list[tuple[int, int, int, int, int]]:
    """One side's sorted ``(lane, start, end, side, index)`` items (kept by a prepared
    annotation for its next match with the same lanes)."""
    if isinstance(source, Prepared):
        return source.memo(("match items", side, lanes), lambda: _sorted_items(spans, side, lanes))
    return _sorted_items(spans, side, lanes)


def _sorted_items(spans: list[tuple[str, int, int]], side: int, lanes: tuple[str, ...]
                  ) -> list[tuple[int, int, int, int, int]]:
    lane = {speaker: k for k, speaker in enumerate(lanes)}
    return sorted([(lane[speaker] if lanes else 0, start, end, side, k)
                   for k, (speaker, start, end) in enumerate(spans)])


def _settle(cluster: list[tuple], min_iou: float) -> list[tuple[int, int]]:
    """The matches inside one crowded cluster of chained overlaps (three turns or more)."""
    left = [x for x in cluster if x[3] == 0]
    right = [x for x in cluster if x[3] == 1]
    if not left or not right:
        return []
    found = _small(left, right, min_iou)
    if found is not None:
        return found
    sa = np.array([x[1] for x in left])
    ea = np.array([x[2] for x in left])
    sb = np.array([x[1] for x in right])
    eb = np.array([x[2] for x in right])
    inter = np.maximum(
        np.minimum(ea[:, None], eb[None, :]) - np.maximum(sa[:, None], sb[None, :]), 0)
    union = (ea - sa)[:, None] + (eb - sb)[None, :] - inter
    ok = inter >= min_iou * union
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.where(ok, inter / union, 0.0), maximize=True)
    return [(left[r][4], right[k][4]) for r, k in zip(rows, cols) if ok[r, k]]


#: Settle clusters of at most this many turns a side by trying every assignment.
_SMALL = 3
#: Assignments whose total IoU is within this of the best could be the solver's pick.
_TIE = 1e-9


def _small(left: list[tuple], right: list[tuple], min_iou: float) -> list[tuple[int, int]] | None:
    """The maximum-total-IoU matching of a small cluster by trying every assignment, or None
    when it is too big or when assignments that keep different matches tie (within
    :data:`_TIE`): then the solver decides, as it always did. Same IoUs, same test as the
    solver's path (``inter >= min_iou * union``, IoU ``inter / union``)."""
    if len(left) > _SMALL or len(right) > _SMALL:
        return None
    if len(left) == 1 or len(right) == 1:  # the usual crowded cluster: one turn against two
        return _one_against(left, right, min_iou)
    weight: dict[tuple[int, int], float] = {}
    for r, x in enumerate(left):
        for k, y in enumerate(right):
            inter = max(min(x[2], y[2]) - max(x[1], y[1]), 0)
            union = (x[2] - x[1]) + (y[2] - y[1]) - inter
            if inter >= min_iou * union:
                weight[(r, k)] = inter / union
    flip = len(left) > len(right)  # assign the smaller side into the larger
    small, large = (len(right), len(left)) if flip else (len(left), len(right))
    best: list[tuple[float, frozenset[tuple[int, int]]]] = []
    for chosen in permutations(range(large), small):
        pairs = frozenset((c, r) if flip else (r, c) for r, c in enumerate(chosen))
        kept = frozenset(p for p in pairs if p in weight)
        best.append((sum(weight[p] for p in sorted(kept)), kept))
    top = max(total for total, _ in best)
    winners = {kept for total, kept in best if total >= top - _TIE}
    if len(winners) != 1:
        return None
    return [(left[r][4], right[k][4]) for r, k in winners.pop()]


def _one_against(left: list[tuple], right: list[tuple], min_iou: float) -> list[tuple[int, int]] | None:
    """:func:`_small` when one side has a single turn: it matches the other side's turn of the
    highest IoU (None when two of them come within :data:`_TIE` of it)."""
    one, many, flip = (left[0], right, False) if len(left) == 1 else (right[0], left, True)
    found = []
    for y in many:
        inter = max(min(one[2], y[2]) - max(one[1], y[1]), 0)
        union = (one[2] - one[1]) + (y[2] - y[1]) - inter
        if inter >= min_iou * union:
            found.append((inter / union, y[4]))
    if not found:
        return []
    found.sort(reverse=True)
    if len(found) > 1 and found[1][0] >= found[0][0] - _TIE:
        return None
    return [(found[0][1], one[4]) if flip else (one[4], found[0][1])]
