"""Word error rate between annotators of the same task.

Each annotation is read per speaker as one text: the words of that speaker's turns in time
order (``Word.text`` when the turn has word records, else its ``text``), so two annotators who
cut turns differently but wrote the same words agree. Speaker identity across annotators is the
speaker label. For a pair (A, B), A is the reference: WER is not symmetric, and N is A's word
count. Pairs follow the order of the annotations given (A before B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import InputError
from ..model import Annotation, Turn
from ._common import turns_of
from .normalize import NORMALIZED, Normalizer, get_normalizer
from .wer import WerCounts, count_tokens

__all__ = ["PairWer", "speaker_text", "speaker_texts", "pairwise_wer"]


@dataclass(frozen=True)
class PairWer:
    """WER of annotator ``b`` against annotator ``a`` (a is the reference)."""

    a: str
    b: str
    counts: WerCounts


def speaker_text(source: Annotation | Sequence[Turn], speaker: str) -> str:
    """The words of ``speaker``'s turns in time order, joined by spaces."""
    parts = []
    for turn in sorted(turns_of(source), key=lambda t: (t.start, t.end)):
        if turn.speaker == speaker:
            parts.append(" ".join(w.text for w in turn.words) if turn.words else turn.text)
    return " ".join(p for p in parts if p)


def speaker_texts(source: Annotation | Sequence[Turn]) -> dict[str, str]:
    """:func:`speaker_text` of every speaker of ``source``, in one pass over its turns."""
    parts: dict[str, list[str]] = {}
    for turn in sorted(turns_of(source), key=lambda t: (t.start, t.end)):
        text = " ".join([w.text for w in turn.words]) if turn.words else turn.text
        if text:
            parts.setdefault(turn.speaker, []).append(text)
        else:
            parts.setdefault(turn.speaker, [])
    return {speaker: " ".join(found) for speaker, found in parts.items()}


def _labels(annotations: Sequence[Annotation | Sequence[Turn]]) -> list[str]:
    labels: list[str] = []
    for k, a in enumerate(annotations, 1):
        label = a.label if isinstance(a, Annotation) else f"annotation {k}"
        labels.append(label if label not in labels else f"{label} #{k}")
    return labels


def pairwise_wer(annotations: Sequence[Annotation | Sequence[Turn]], *,
                 normalizer: str | Normalizer = NORMALIZED) -> list[PairWer]:
    """WER counts for every pair of annotations (one task), summed over speakers.

    Raises:
        InputError: fewer than two annotations.
    """
    if len(annotations) < 2:
        raise InputError(f"pairwise WER needs at least two annotations, got {len(annotations)}")
    norm = get_normalizer(normalizer)
    labels = _labels(annotations)
    speakers = sorted({t.speaker for a in annotations for t in turns_of(a)})
    # each annotation is normalized once, however many pairs it is part of
    tokens = []
    for a in annotations:
        texts = speaker_texts(a)
        tokens.append(norm.tokens_many([texts.get(s, "") for s in speakers]))
    out = []
    for p in range(len(annotations)):
        for q in range(p + 1, len(annotations)):
            out.append(PairWer(labels[p], labels[q], count_tokens(tokens[p], tokens[q], norm)))
    return out
