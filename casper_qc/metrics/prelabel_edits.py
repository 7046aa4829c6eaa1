"""How an annotator changed a pre-label (a model's prediction): kept, moved, deleted, added.

Turns:

1. predicted and annotated turns are matched one-to-one by overlap
   (:func:`~casper_qc.metrics.matching.match_turns`, IoU >= ``min_iou``), first within each
   speaker label, then the leftovers across labels (those count as ``relabelled``);
2. a matched turn is **kept** when both its boundaries moved by at most ``tolerance`` seconds,
   otherwise **moved**; a predicted turn with no match was **deleted**, an annotated turn with no
   match was **added**. ``shift_ms`` sums |start shift| + |end shift| over matched turns.

Words and tags, per speaker label as one word stream (the words of that speaker's turns in time
order; a word that only changed turns is not an edit): the prediction's stream is the reference
and the annotation's the hypothesis, aligned with ``normalizer`` (default ``verbatim-v1``: any
change of a word is an edit). ``words`` holds those counts (``words.wer`` is the word edit
rate); on aligned word pairs, ``tag_changes`` counts per-word disfluency tags that differ
(:func:`~casper_qc.metrics.streams.word_tags`). ``choice_changes`` counts matched
turns whose region choices differ.

All counts add up over tasks and annotators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from ..model import Annotation, Turn, to_ms
from ._common import rate
from .alignment import side_alignment
from .matching import match_turns
from .normalize import VERBATIM, Normalizer, get_normalizer
from .prepared import Prepared, prepared
from .streams import Stream
from .wer import WerCounts

__all__ = ["EditCounts", "prelabel_edits"]

_EMPTY: Stream = ([], [], [])


@dataclass(frozen=True, slots=True)
class EditCounts:
    """What annotators did to predictions (see the module doc for each count)."""

    predicted: int = 0
    annotated: int = 0
    kept: int = 0
    moved: int = 0
    deleted: int = 0
    added: int = 0
    relabelled: int = 0
    shift_ms: int = 0
    words: WerCounts = field(default_factory=lambda: WerCounts(normalizer=VERBATIM))
    tag_changes: int = 0
    tagged_words: int = 0
    choice_changes: int = 0

    @property
    def matched(self) -> int:
        return self.kept + self.moved

    @property
    def kept_rate(self) -> float | None:
        """Share of predicted turns kept as they were."""
        return rate(self.kept, self.predicted)

    @property
    def deleted_rate(self) -> float | None:
        return rate(self.deleted, self.predicted)

    @property
    def added_rate(self) -> float | None:
        """Share of annotated turns the prediction did not have."""
        return rate(self.added, self.annotated)

    @property
    def mean_shift(self) -> float | None:
        """Mean |shift| per boundary of matched turns, in seconds."""
        return None if not self.matched else self.shift_ms / (2 * self.matched) / 1000.0

    @property
    def word_edit_rate(self) -> float | None:
        return self.words.wer

    @property
    def tag_change_rate(self) -> float | None:
        return rate(self.tag_changes, self.tagged_words)

    def __add__(self, other: "EditCounts") -> "EditCounts":
        if not isinstance(other, EditCounts):
            return NotImplemented
        return EditCounts(
            self.predicted + other.predicted, self.annotated + other.annotated,
            self.kept + other.kept, self.moved + other.moved, self.deleted + other.deleted,
            self.added + other.added, self.relabelled + other.relabelled,
            self.shift_ms + other.shift_ms, self.words + other.words,
            self.tag_changes + other.tag_changes, self.tagged_words + other.tagged_words,
            self.choice_changes + other.choice_changes)

    def __radd__(self, other: Any) -> "EditCounts":
        if other == 0:
            return self
        return NotImplemented

    def to_dict(self) -> dict[str, Any]:
        return {"predicted": self.predicted, "annotated": self.annotated, "kept": self.kept,
                "moved": self.moved, "deleted": self.deleted, "added": self.added,
                "relabelled": self.relabelled, "kept_rate": self.kept_rate,
                "mean_shift": self.mean_shift, "word_edit_rate": self.word_edit_rate,
                "words": self.words.to_dict(), "tag_changes": self.tag_changes,
                "tagged_words": self.tagged_words, "choice_changes": self.choice_changes}


def prelabel_edits(prediction: Annotation | Sequence[Turn] | Prepared,
                   annotation: Annotation | Sequence[Turn] | Prepared,
                   *, min_iou: float = 0.2, tolerance: float = 0.0,
                   normalizer: str | Normalizer = VERBATIM) -> EditCounts:
    """Edits that turned ``prediction`` into ``annotation`` (see the module doc).
    :class:`~casper_qc.metrics.prepared.Prepared` inputs keep their streams for the next call
    (a prediction is compared with each annotation that started from it)."""
    norm = get_normalizer(normalizer)
    prediction, annotation = prepared(prediction), prepared(annotation)
    pred, ann = prediction.turns, annotation.turns
    pairs = match_turns(prediction, annotation, min_iou=min_iou, same_speaker=True)
    taken_p, taken_a = {i for i, _ in pairs}, {j for _, j in pairs}
    left_p = [i for i in range(len(pred)) if i not in taken_p]
    left_a = [j for j in range(len(ann)) if j not in taken_a]
    relabels = [(left_p[i], left_a[j]) for i, j in
                match_turns([pred[i] for i in left_p], [ann[j] for j in left_a],
                            min_iou=min_iou, same_speaker=False)]
    matched_pairs = [*pairs, *relabels]
    limit = to_ms(tolerance)
    kept = shift = choices = 0
    ms_p, ms_a = prediction.spans(), annotation.spans()
    for i, j in matched_pairs:
        (_, p_start, p_end), (_, a_start, a_end) = ms_p[i], ms_a[j]
        moved_start = p_start - a_start if p_start > a_start else a_start - p_start
        moved_end = p_end - a_end if p_end > a_end else a_end - p_end
        shift += moved_start + moved_end
        if moved_start <= limit and moved_end <= limit:
            kept += 1
        if pred[i].choices != ann[j].choices:  # read-only mappings compare as dicts
            choices += 1
    moved = len(matched_pairs) - kept
    matched = len(pairs) + len(relabels)
    words = WerCounts(normalizer=norm.name)
    tag_changes = tagged = 0
    streams_p, streams_a = prediction.streams(), annotation.streams()
    for speaker in sorted(set(streams_p) | set(streams_a)):
        p_words, p_codes, _ = streams_p.get(speaker, _EMPTY)
        a_words, a_codes, _ = streams_a.get(speaker, _EMPTY)
        p_side = prediction.side(speaker, norm)
        a_side = p_side if a_words == p_words else annotation.side(speaker, norm)  # same words: same tokens
        counts, at_p, at_a = side_alignment(p_side, a_side, norm)
        words = words + counts
        tagged += len(at_p)
        for i, j in zip(at_p, at_a):
            if p_codes[i] != a_codes[j]:
                tag_changes += 1
    return EditCounts(len(pred), len(ann), kept, moved, len(pred) - matched, len(ann) - matched,
                      len(relabels), shift, words, tag_changes, tagged, choices)
