"""One annotation prepared for several metrics: what they all read, computed once.

A QC report computes about a dozen figures per task, and they read the same annotations again
and again: the per-speaker word streams (disfluency agreement, pre-label edits), those streams
normalized for alignment, the per-speaker text and its WER tokens, the turns' times in ms.
:class:`Prepared` wraps one annotation (or a sequence of turns) and keeps each of these the
first time a metric asks for it; through :meth:`Prepared.memo` the metric modules keep their
own views too (frame runs, boundary points, sorted turns for matching, unitizing partitions and
the walks between two coders, choice values). The metrics that take an annotation also take a
:class:`Prepared` and give the same result; wrap each annotation of a task once and pass the
wrappers to every metric to share the work.

The turns must not change while wrapped (model records are frozen, so they cannot). A wrapper
grows with what is asked of it: keep it as long as the task is being computed.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence, TypeVar

from ..model import Annotation, Turn
from ._common import TurnSource
from .alignment import WordSide, word_side
from .editops import counted
from .normalize import Normalizer
from .pairwise import speaker_texts
from .streams import Stream, speaker_streams

__all__ = ["Prepared", "prepared"]

T = TypeVar("T")
_EMPTY: Stream = ([], [], [])
_MISSING = object()


class Prepared(TurnSource):
    """``source`` (an annotation or turns) with its views kept (module docstring)."""

    __slots__ = ("source", "_memo")

    def __init__(self, source: Annotation | Sequence[Turn] | "Prepared") -> None:
        if isinstance(source, Prepared):
            source = source.source
        self.source: Annotation | Sequence[Turn] = source
        self.turns = source.turns if isinstance(source, Annotation) else tuple(source)
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept under ``key``, computed by ``compute()`` the first time."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = self._memo[key] = compute()
        return value

    def spans(self) -> list[tuple[str, int, int]]:
        """(speaker, start ms, end ms) of each turn (``round(s * 1000)`` is model.to_ms)."""
        return self.memo("spans", lambda: [(t.speaker, round(t.start * 1000), round(t.end * 1000))
                                           for t in self.turns])

    def streams(self) -> dict[str, Stream]:
        """Per speaker: words in time order, tag codes and spans
        (:func:`~casper_qc.metrics.streams.speaker_streams`)."""
        return self.memo("streams", lambda: speaker_streams(self.turns))

    def side(self, speaker: str, normalizer: Normalizer) -> WordSide:
        """The speaker's stream normalized for alignment
        (:func:`~casper_qc.metrics.alignment.word_side`); empty for a silent speaker."""
        return self.memo(("side", speaker, normalizer),
                         lambda: word_side(self.streams().get(speaker, _EMPTY)[0], normalizer))

    def text(self, speaker: str) -> str:
        """The speaker's words joined in time order
        (:func:`~casper_qc.metrics.pairwise.speaker_text`; empty for a silent speaker)."""
        return self.memo("texts", lambda: speaker_texts(self.turns)).get(speaker, "")

    def tokens(self, speaker: str, normalizer: Normalizer) -> list[str]:
        """The WER tokens of :meth:`text` under ``normalizer``."""
        return self.memo(("tokens", speaker, normalizer), lambda: normalizer.tokens(self.text(speaker)))

    def counted(self, speaker: str, normalizer: Normalizer) -> tuple[list[str], int]:
        """:meth:`tokens` without the optional ones (fillers) and how many those were
        (for :func:`~casper_qc.metrics.wer.count_counted`)."""
        def compute() -> tuple[list[str], int]:
            tokens = self.tokens(speaker, normalizer)
            kept = counted(tokens, normalizer.fillers)
            return kept, len(tokens) - len(kept)

        return self.memo(("counted", speaker, normalizer), compute)


def prepared(source: Annotation | Sequence[Turn] | Prepared) -> Prepared:
    """``source`` itself when it is prepared, else a new wrapper of it."""
    return source if isinstance(source, Prepared) else Prepared(source)
