"""Agreement on per-region choices (e.g. a region's ``disfluency`` or ``quality`` choice).

Units are regions that annotators drew for the same stretch of the same speaker:

1. every pair of annotations is matched one-to-one by overlap
   (:func:`~casper_qc.metrics.matching.match_turns`, same speaker, IoU >= ``min_iou``);
2. matched regions are linked across annotations; each linked group is one unit;
3. an annotator's value for the unit is the set of values its region chose for ``choice``,
   written ``"A+B"`` (sorted), or ``"(none)"`` when the region chose nothing - not choosing is
   an answer. If chained partial overlaps put two regions of one annotator in a group, that
   annotator gives no value for the unit.

Krippendorff's alpha (nominal) over these units, with missing values, is the agreement; a region
no other annotator matched is counted in ``unmatched`` (it cannot pair). Counts add up over
tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..model import Annotation, Turn
from ._common import turns_of
from .prepared import Prepared
from .alpha import AlphaCounts, alpha_from_value_counts
from .matching import match_turns

__all__ = ["NONE", "ChoiceCounts", "choice_value", "choice_agreement"]

NONE = "(none)"


def choice_value(turn: Turn, choice: str) -> str:
    """The value a region gives for ``choice``: its chosen values joined by ``+``."""
    chosen = sorted(set(turn.choices.get(choice, ())))
    return "+".join(chosen) if chosen else NONE


@dataclass(frozen=True, eq=False)
class ChoiceCounts:
    """Agreement on one choice: ``alpha`` over matched units, ``regions`` seen in all, and
    ``unmatched`` regions that no other annotation matched."""

    choice: str
    alpha: AlphaCounts
    regions: int = 0
    unmatched: int = 0

    @property
    def value(self) -> float | None:
        """Krippendorff's alpha of the choice; None when undefined."""
        return self.alpha.alpha

    def __add__(self, other: "ChoiceCounts") -> "ChoiceCounts":
        if not isinstance(other, ChoiceCounts):
            return NotImplemented
        if other.choice != self.choice:
            raise ValueError(f"cannot add agreement on {self.choice!r} and {other.choice!r}")
        return ChoiceCounts(self.choice, self.alpha + other.alpha, self.regions + other.regions,
                            self.unmatched + other.unmatched)

    def __radd__(self, other: Any) -> "ChoiceCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"choice": self.choice, "alpha": self.value, "regions": self.regions,
                "unmatched": self.unmatched, "units": self.alpha.units,
                "undefined_reason": self.alpha.undefined_reason}


def choice_agreement(annotations: Sequence[Annotation | Sequence[Turn] | Prepared], choice: str, *,
                     min_iou: float = 0.5) -> ChoiceCounts:
    """Agreement of several annotations of one task on the per-region ``choice``.
    :class:`~casper_qc.metrics.prepared.Prepared` annotations keep their region times and
    values for the next call.

    Raises:
        InputError: fewer than two annotations.
    """
    if len(annotations) < 2:
        raise InputError(f"choice agreement needs at least two annotations, got {len(annotations)}")
    turns = [turns_of(a) for a in annotations]
    offsets = np.cumsum([0] + [len(t) for t in turns]).tolist()
    parent = list(range(offsets[-1]))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in range(len(turns)):
        for q in range(p + 1, len(turns)):
            for i, j in match_turns(annotations[p], annotations[q], min_iou=min_iou):
                parent[root(offsets[p] + i)] = root(offsets[q] + j)
    groups: dict[int, dict[int, list[str]]] = {}
    for p, source in enumerate(annotations):
        for i, value in enumerate(_values(source, turns[p], choice)):
            groups.setdefault(root(offsets[p] + i), {}).setdefault(p, []).append(value)
    units = [g for g in groups.values() if len(g) > 1]
    unmatched = sum(len(v) for g in groups.values() if len(g) == 1 for v in g.values())
    values = sorted({v for g in units for vs in g.values() if len(vs) == 1 for v in vs})
    index = {v: k for k, v in enumerate(values)}
    rows = []
    for group in units:
        row = [0.0] * len(values)
        for found in group.values():
            if len(found) == 1:  # two regions of one annotator in a unit: no value
                row[index[found[0]]] += 1
        rows.append(row)
    counts = np.array(rows) if rows else np.zeros((0, len(values)))
    alpha = alpha_from_value_counts(counts, values, "nominal", coders=len(turns))
    return ChoiceCounts(choice, alpha, offsets[-1], unmatched)


def _values(source: Annotation | Sequence[Turn] | Prepared, turns: Sequence[Turn], choice: str) -> list[str]:
    """:func:`choice_value` of each region (kept by a prepared annotation)."""
    if isinstance(source, Prepared):
        return source.memo(("choice values", choice), lambda: [choice_value(t, choice) for t in turns])
    return [choice_value(t, choice) for t in turns]
