"""NIST CTM drafts (time-marked conversation: one recognized word per line, as sclite scores).

One word per line::

    <file> <channel> <start> <duration> <word> [<confidence>]

Fields are separated by runs of spaces or tabs; fields after the confidence (some tools add a
type or speaker) are ignored, and so is the confidence. Lines starting with ``;;`` are comments;
blank lines are skipped. ``<channel>`` is ``1``, ``2``… or ``A``, ``B``… and becomes the model's
0-based channel (``1``/``A`` -> 0, :func:`casper_qc.formats.stm.stm_channel`). Times are seconds;
a duration of 0 becomes 1 ms (``estimated``). Words are read with the verbatim conventions
(:func:`casper_qc.formats.draftwords.timed_words`); a word of punctuation only, or a
recognizer's ``<eps>``-like token without letters, gives no word.

A draft is one recording's: a CTM holding several ``<file>`` ids is refused (split it first).
Words of each channel are returned sorted by start time (CTM files are sorted, but not all
tools do it).

Errors: :class:`~casper_qc.errors.FormatError` naming the source and line
(``draft.ctm: line 7: start 'x' is not a number of seconds``).
"""

from __future__ import annotations

import math

from ..errors import FormatError
from ..model import Word
from .draftwords import timed_words
from .stm import stm_channel

__all__ = ["parse_ctm"]


def _number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FormatError(f"{what} {value!r} is not a number of seconds") from None
    if not math.isfinite(number) or number < 0:
        raise FormatError(f"{what} {value!r} is not a non-negative number of seconds")
    return number


def parse_ctm(text: str, *, source: str = "CTM", lexicon=None) -> dict[int, tuple[Word, ...]]:
    """The words of a CTM text by 0-based channel, each sorted by start time.

    Raises:
        FormatError: a line with fewer than five fields, a time that is not a non-negative
            number, an unknown channel, or words of more than one recording.
    """
    by_channel: dict[int, list[tuple[float, int, Word]]] = {}
    recordings: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(";;"):
            continue
        where = f"{source}: line {number}"
        fields = stripped.split()
        try:
            if len(fields) < 5:
                raise FormatError(f"has {len(fields)} field(s); a CTM line needs file, channel, "
                                  "start, duration and word")
            name, channel_field, start_field, duration_field, token = fields[:5]
            channel = stm_channel(channel_field)
            start = _number(start_field, "start")
            duration = _number(duration_field, "duration")
        except FormatError as err:
            raise FormatError(err.problem, where=where) from None
        recordings.setdefault(name, number)
        if len(recordings) > 1:
            first, first_line = next(iter(recordings.items()))
            raise FormatError(f"file id {name!r} differs from {first!r} (line {first_line}); a "
                              "draft holds one recording's words: split the CTM by file id",
                              where=where)
        words = timed_words(token, start, start + duration, lexicon=lexicon)
        entries = by_channel.setdefault(channel, [])
        entries.extend((start, len(entries) + k, w) for k, w in enumerate(words))
    return {channel: tuple(w for _, _, w in sorted(entries, key=lambda e: (e[0], e[1])))
            for channel, entries in by_channel.items()}
