"""Per-speaker word streams of an annotation, with per-word disfluency tags.

A speaker's stream is the words of that speaker's turns in time order, so a word moved across a
turn boundary is still the same word of the stream (the speaker label is the identity across
annotators). Disfluency agreement and pre-label edits align two annotations' streams.

Per-word tags: a word in the reparandum of a REP/REV/FS is ``RM``; otherwise the type of a
simple disfluency (FP, DM, ET, PW) covering it, the first in that order; otherwise ``O``
(fluent). Streams keep the tags as indices into :data:`TAGS` (lower wins).
"""

from __future__ import annotations

from typing import Sequence

from ..labels import STRUCTURED_TYPES
from ..model import Turn

__all__ = ["FLUENT", "TAGS", "Stream", "word_tags", "speaker_streams", "speaker_stream"]

FLUENT = "O"
#: Per-word tags, in the priority order used when spans overlap.
TAGS = ("RM", "FP", "DM", "ET", "PW", FLUENT)
_CODE = {t: k for k, t in enumerate(TAGS)}
_FLUENT_CODE = _CODE[FLUENT]
_RM_CODE = _CODE["RM"]

#: A speaker's words, their tags as indices into :data:`TAGS`, and disfluency spans as
#: ``(type, first word, last word)``.
Stream = tuple[list[str], list[int], list[tuple[str, int, int]]]


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
