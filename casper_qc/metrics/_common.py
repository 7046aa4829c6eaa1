"""Small helpers the metric modules share (not public API)."""

from __future__ import annotations

from typing import Sequence

from ..model import Annotation, Turn


class TurnSource:
    """Something that holds an annotation's turns (the base of
    :class:`~casper_qc.metrics.prepared.Prepared`)."""

    __slots__ = ("turns",)
    turns: tuple[Turn, ...]


def turns_of(source: Annotation | TurnSource | Sequence[Turn]) -> tuple[Turn, ...]:
    """The turns of an annotation (or a prepared one), or the given turns."""
    if isinstance(source, (Annotation, TurnSource)):
        return source.turns
    return tuple(source)


def rate(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None (undefined) when the denominator is 0."""
    return numerator / denominator if denominator else None
