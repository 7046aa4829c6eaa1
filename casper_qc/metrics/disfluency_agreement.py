"""Agreement between two annotators' disfluency tags, after aligning their transcripts.

Each annotation is read per speaker (the speaker label is the identity across annotators) as
one word stream: the words of that speaker's turns in time order, so a word moved across a turn
boundary still pairs with itself. The two streams are aligned
(:func:`~casper_qc.metrics.alignment.word_pairs`, by default ``normalized-v1`` with fillers scored,
since fillers carry the FP tag); words aligned to each other (hits and substitutions) are the
units. Inserted or deleted words have no counterpart and are left out (their number is in
``words``).

* **Per-word tags** (:data:`casper_qc.labels.WORD_TAGS` plus ``O`` for fluent): a word in the
  reparandum of a REP/REV/FS is ``RM``; otherwise the type of a simple disfluency (FP, DM, ET,
  PW) covering it, the first in that order; otherwise ``O``. Cohen's kappa and Krippendorff's
  alpha (nominal; with two coders its coincidences are the confusion matrix plus its transpose)
  over the aligned word pairs.
* **Span F1**: a disfluency of B hits one of A when the types are equal and B's first and last
  words align to A's first and last words; one-to-one, per type. Precision is B against A.

Everything is additive over speakers and tasks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..labels import STRUCTURED_TYPES
from ..model import Annotation, Turn
from ._common import rate, turns_of
from .alignment import word_pairs
from .alpha import AlphaCounts
from .kappa import KappaCounts
from .normalize import Normalizer, get_normalizer
from .wer import WerCounts

__all__ = ["FLUENT", "TAGS", "word_tags", "speaker_stream", "speaker_streams", "SpanCounts",
           "DisfluencyAgreement", "disfluency_agreement"]

FLUENT = "O"
#: Per-word tags, in the priority order used when spans overlap.
TAGS = ("RM", "FP", "DM", "ET", "PW", FLUENT)
_CODE = {t: k for k, t in enumerate(TAGS)}
_FLUENT_CODE = _CODE[FLUENT]
_RM_CODE = _CODE["RM"]


def _tag_codes(turn: Turn) -> list[int]:
    """:func:`word_tags` as indices into :data:`TAGS` (lower wins)."""
    codes = [_FLUENT_CODE] * len(turn.words)
    for dis in turn.disfluencies:
        # DisfluencyType is a str enum: the member is its own key (``.value`` is slow)
        if dis.type in STRUCTURED_TYPES:
            code, covered = _RM_CODE, dis.reparandum or ()
        else:
            code, covered = _CODE[dis.type], dis.words
        for i in covered:
            if code < codes[i]:
                codes[i] = code
    return codes


def word_tags(turn: Turn) -> tuple[str, ...]:
    """One tag per word of ``turn``: ``RM``, ``FP``, ``DM``, ``ET``, ``PW`` or ``O``."""
    return tuple(TAGS[c] for c in _tag_codes(turn))


Stream = tuple[list[str], list[int], list[tuple[str, int, int]]]


def speaker_streams(turns: Sequence[Turn]) -> dict[str, Stream]:
    """Per speaker label: words in time order, their tags as indices into :data:`TAGS`, and
    disfluency spans as ``(type, first word, last word)``. One pass over the turns."""
    streams: dict[str, Stream] = {}
    for turn in sorted(turns, key=lambda t: (t.start, t.end)):
        stream = streams.get(turn.speaker)
        if stream is None:
            stream = streams[turn.speaker] = ([], [], [])
        words, codes, spans = stream
        if turn.words:
            offset = len(words)
            words += [w.text for w in turn.words]
            if turn.disfluencies:
                codes += _tag_codes(turn)
                spans += [(str.__str__(d.type), offset + d.words.start, offset + d.words.stop - 1)
                          for d in turn.disfluencies]
            else:
                codes += [_FLUENT_CODE] * len(turn.words)
        else:  # text without word records: words, but no disfluencies to tag them
            split = turn.text.split()
            words += split
            codes += [_FLUENT_CODE] * len(split)
    return streams


def speaker_stream(turns: Sequence[Turn], speaker: str
                   ) -> tuple[list[str], list[str], list[tuple[str, int, int]]]:
    """``speaker``'s words in time order, their tags, and disfluency spans as
    ``(type, first word, last word)`` indices into the words."""
    words, codes, spans = speaker_streams(turns).get(speaker, ([], [], []))
    return words, [TAGS[c] for c in codes], spans


_EMPTY: Stream = ([], [], [])


@dataclass(frozen=True, slots=True)
class SpanCounts:
    """Span hits of B against A: precision = hits / b_spans, recall = hits / a_spans."""

    hits: int = 0
    a_spans: int = 0
    b_spans: int = 0

    @property
    def precision(self) -> float | None:
        return rate(self.hits, self.b_spans)

    @property
    def recall(self) -> float | None:
        return rate(self.hits, self.a_spans)

    @property
    def f1(self) -> float | None:
        return rate(2 * self.hits, self.a_spans + self.b_spans)

    def __add__(self, other: "SpanCounts") -> "SpanCounts":
        if not isinstance(other, SpanCounts):
            return NotImplemented
        return SpanCounts(self.hits + other.hits, self.a_spans + other.a_spans,
                          self.b_spans + other.b_spans)

    def __radd__(self, other: Any) -> "SpanCounts":
        if other == 0:
            return self
        return NotImplemented


@dataclass(frozen=True, eq=False)
class DisfluencyAgreement:
    """Tag agreement (``kappa``, ``alpha``) over aligned words, the word alignment itself
    (``words``: B against A) and span counts per disfluency type."""

    kappa: KappaCounts
    alpha: AlphaCounts
    words: WerCounts
    spans: Mapping[str, SpanCounts] = field(default_factory=dict)

    @property
    def span_total(self) -> SpanCounts:
        return sum(self.spans.values(), SpanCounts())

    def __add__(self, other: "DisfluencyAgreement") -> "DisfluencyAgreement":
        if not isinstance(other, DisfluencyAgreement):
            return NotImplemented
        spans = {t: self.spans.get(t, SpanCounts()) + other.spans.get(t, SpanCounts())
                 for t in sorted(set(self.spans) | set(other.spans))}
        return DisfluencyAgreement(self.kappa + other.kappa, self.alpha + other.alpha,
                                   self.words + other.words, spans)

    def __radd__(self, other: Any) -> "DisfluencyAgreement":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        total = self.span_total
        return {"kappa": self.kappa.kappa, "alpha": self.alpha.alpha,
                "aligned_words": self.kappa.units, "word_alignment": self.words.to_dict(),
                "span_precision": total.precision, "span_recall": total.recall,
                "span_f1": total.f1,
                "spans": {t: {"hits": s.hits, "a": s.a_spans, "b": s.b_spans, "f1": s.f1}
                          for t, s in self.spans.items()}}


def disfluency_agreement(a: Annotation | Sequence[Turn], b: Annotation | Sequence[Turn], *,
                         normalizer: str | Normalizer | None = None) -> DisfluencyAgreement:
    """Tag and span agreement of annotation ``b`` with annotation ``a`` (see module doc).

    ``normalizer`` aligns the word streams; default ``normalized-v1`` with fillers scored.
    """
    norm = get_normalizer("normalized", fillers=()) if normalizer is None \
        else get_normalizer(normalizer)
    streams_a, streams_b = speaker_streams(turns_of(a)), speaker_streams(turns_of(b))
    size = len(TAGS)
    cells = [0] * (size * size)  # plain Python: a few hundred pairs per task
    words = WerCounts(normalizer=norm.name)
    spans: dict[str, SpanCounts] = {}
    for speaker in sorted(set(streams_a) | set(streams_b)):
        a_words, a_codes, a_spans = streams_a.get(speaker, _EMPTY)
        b_words, b_codes, b_spans = streams_b.get(speaker, _EMPTY)
        counts, pairs = word_pairs(a_words, b_words, norm)
        words = words + counts
        for i, j in pairs:
            cells[a_codes[i] * size + b_codes[j]] += 1
        if not (a_spans or b_spans):
            continue
        b_to_a = {j: i for i, j in pairs}
        wanted = Counter(a_spans)
        found = Counter((t, b_to_a.get(s), b_to_a.get(e)) for t, s, e in b_spans)
        for kind in {t for t, _, _ in (*a_spans, *b_spans)}:
            hits = sum(min(n, found[key]) for key, n in wanted.items() if key[0] == kind)
            in_a = sum(1 for x in a_spans if x[0] == kind)
            in_b = sum(1 for x in b_spans if x[0] == kind)
            spans[kind] = spans.get(kind, SpanCounts()) + SpanCounts(hits, in_a, in_b)
    matrix = np.array(cells, dtype=np.int64).reshape(size, size)
    kappa = KappaCounts(TAGS, matrix)
    alpha = AlphaCounts("nominal", TAGS, matrix + matrix.T, units=kappa.units, coders=2)
    return DisfluencyAgreement(kappa, alpha, words, dict(sorted(spans.items())))
