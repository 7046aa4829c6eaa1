"""Agreement between two annotators' disfluency tags, after aligning their transcripts.

Each annotation is read per speaker (the speaker label is the identity across annotators) as
one word stream (:mod:`casper_qc.metrics.streams`): the words of that speaker's turns in time
order, so a word moved across a turn boundary still pairs with itself. The two streams are aligned
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

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..model import Annotation, Turn
from ._common import rate
from .alignment import side_alignment
from .alpha import AlphaCounts
from .kappa import KappaCounts
from .normalize import Normalizer, get_normalizer
from .prepared import Prepared, prepared
from .streams import FLUENT, TAGS, Stream, speaker_stream, speaker_streams, word_tags
from .wer import WerCounts

__all__ = ["FLUENT", "TAGS", "word_tags", "speaker_stream", "speaker_streams", "SpanCounts",
           "DisfluencyAgreement", "disfluency_agreement"]

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


def disfluency_agreement(a: Annotation | Sequence[Turn] | Prepared, b: Annotation | Sequence[Turn] | Prepared,
                         *, normalizer: str | Normalizer | None = None) -> DisfluencyAgreement:
    """Tag and span agreement of annotation ``b`` with annotation ``a`` (see module doc).

    ``normalizer`` aligns the word streams; default ``normalized-v1`` with fillers scored.
    :class:`~casper_qc.metrics.prepared.Prepared` annotations keep their streams and tokens for
    the next metric.
    """
    norm = get_normalizer("normalized", fillers=()) if normalizer is None \
        else get_normalizer(normalizer)
    a, b = prepared(a), prepared(b)
    streams_a, streams_b = a.streams(), b.streams()
    size = len(TAGS)
    cells = [0] * (size * size)  # plain Python: a few hundred pairs per task
    words = WerCounts(normalizer=norm.name)
    spans: dict[str, SpanCounts] = {}
    for speaker in sorted(set(streams_a) | set(streams_b)):
        a_words, a_codes, a_spans = streams_a.get(speaker, _EMPTY)
        b_words, b_codes, b_spans = streams_b.get(speaker, _EMPTY)
        a_side = a.side(speaker, norm)
        b_side = a_side if b_words == a_words else b.side(speaker, norm)  # same words: same tokens
        counts, at_a, at_b = side_alignment(a_side, b_side, norm)
        words = words + counts
        for i, j in zip(at_a, at_b):
            cells[a_codes[i] * size + b_codes[j]] += 1
        if not (a_spans or b_spans):
            continue
        b_to_a = dict(zip(at_b, at_a))
        wanted: dict[tuple, int] = {}  # A's spans; B's below with their ends in A's words
        in_a: dict[str, int] = {}
        for key in a_spans:
            wanted[key] = wanted.get(key, 0) + 1
            in_a[key[0]] = in_a.get(key[0], 0) + 1
        found: dict[tuple, int] = {}
        in_b: dict[str, int] = {}
        for t, first, last in b_spans:
            mapped = (t, b_to_a.get(first), b_to_a.get(last))
            found[mapped] = found.get(mapped, 0) + 1
            in_b[t] = in_b.get(t, 0) + 1
        hits: dict[str, int] = {}
        for key, n in wanted.items():
            if key in found:
                hits[key[0]] = hits.get(key[0], 0) + min(n, found[key])
        for kind in in_a.keys() | in_b.keys():
            part = SpanCounts(hits.get(kind, 0), in_a.get(kind, 0), in_b.get(kind, 0))
            spans[kind] = spans[kind] + part if kind in spans else part
    matrix = np.array(cells, dtype=np.int64).reshape(size, size)
    kappa = KappaCounts(TAGS, matrix)
    alpha = AlphaCounts("nominal", TAGS, matrix + matrix.T, units=kappa.units, coders=2)
    return DisfluencyAgreement(kappa, alpha, words, dict(sorted(spans.items())))
