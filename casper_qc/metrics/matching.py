"""One-to-one matching of two annotations' turns (regions) by temporal overlap.

Two turns can match when their intersection-over-union (IoU) is at least ``min_iou``; among
such pairs the matching maximises the total IoU (``scipy.optimize.linear_sum_assignment``). The
turns are first split into clusters of chained overlaps (no pair can match across clusters);
the usual cluster, one turn from each side, is settled directly, and only crowded clusters go
to the solver. (Plain Python sweep: tens of turns per task, where numpy's per-call cost would
dominate.)

With ``same_speaker=True`` only turns with the same speaker label match (speaker identity
across annotators is the label).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..model import Turn

__all__ = ["match_turns"]


def match_turns(a: Sequence[Turn], b: Sequence[Turn], *, min_iou: float = 0.2,
                same_speaker: bool = True) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` of matched turns ``a[i]``, ``b[j]``, sorted by ``i``.

    ``min_iou`` must be in (0, 1]; matched turns always overlap.
    """
    if not 0 < min_iou <= 1:
        raise ValueError(f"min_iou must be in (0, 1], not {min_iou}")
    if not a or not b:
        return []
    # (lane, start ms, end ms, side, index); round(x * 1000) is model.to_ms. With speakers
    # kept apart each speaker is a lane of its own, and lanes never overlap.
    lane: dict[str, int] = {}
    items = []
    for side, turns in ((0, a), (1, b)):
        for k, t in enumerate(turns):
            key = lane.setdefault(t.speaker, len(lane)) if same_speaker else 0
            items.append((key, round(t.start * 1000), round(t.end * 1000), side, k))
    items.sort()
    pairs: list[tuple[int, int]] = []
    cluster = [items[0]]
    reach = items[0][2]  # the furthest end in the cluster
    for item in items[1:]:
        if item[0] == cluster[0][0] and item[1] < reach:
            cluster.append(item)
            reach = max(reach, item[2])
            continue
        pairs.extend(_settle(cluster, min_iou))
        cluster, reach = [item], item[2]
    pairs.extend(_settle(cluster, min_iou))
    return sorted(pairs)


def _settle(cluster: list[tuple], min_iou: float) -> list[tuple[int, int]]:
    """The matches inside one cluster of chained overlaps."""
    if len(cluster) < 2:
        return []
    if len(cluster) == 2:  # the usual case: one turn from each side, or two from one side
        x, y = cluster
        if x[3] == y[3]:
            return []
        inter = min(x[2], y[2]) - max(x[1], y[1])
        union = (x[2] - x[1]) + (y[2] - y[1]) - inter
        if inter < min_iou * union:
            return []
        return [(x[4], y[4]) if x[3] == 0 else (y[4], x[4])]
    left = [x for x in cluster if x[3] == 0]
    right = [x for x in cluster if x[3] == 1]
    if not left or not right:
        return []
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
