"""Small helpers the metric modules share (not public API)."""

from __future__ import annotations

from typing import Sequence

from ..model import Annotation, Turn


def turns_of(source: Annotation | Sequence[Turn]) -> tuple[Turn, ...]:
    """The turns of an annotation, or the given turns."""
    return source.turns if isinstance(source, Annotation) else tuple(source)


def rate(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None (undefined) when the denominator is 0."""
    return numerator / denominator if denominator else None

