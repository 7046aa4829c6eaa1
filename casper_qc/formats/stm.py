"""NIST STM reference transcripts (the segment time mark files sclite scores against).

One segment per line::

    <file> <channel> <speaker> <begin> <end> [<label>] <transcript...>

Lines starting with ``;;`` are comments; blank lines are skipped. ``<label>`` is an optional
``<...>`` field (e.g. ``<O,F0,M>``). Fields are separated by runs of spaces or tabs; the
transcript is the rest of the line, kept as written (sclite markup such as ``(%HESITATION)`` or
``{ a / b }`` is left to the WER normalizer).

Reading (:func:`parse_stm`, :func:`read_stm`):

* every ``<file>`` becomes one ``Conversation(id=<file>)`` with an
  ``Annotation(task_id=<file>, origin="reference")`` whose turns are its segments, in sorted order
  of files;
* ``<channel>`` is ``1``, ``2``… (1-based, as sclite writes it) or ``A``, ``B``…; it becomes the
  model's 0-based channel (``1``/``A`` -> 0). The conversation's channel count is the highest
  channel + 1, and each speaker gets the channel all its segments share (None if they differ);
* segments sclite does not score are skipped: speaker ``inter_segment_gap`` and transcripts that
  are exactly ``ignore_time_segment_in_scoring`` (any case);
* a segment with an empty transcript is kept (a turn with no words).

Errors are :class:`~casper_qc.errors.FormatError` naming the file and line: too few fields, a
time that is not a number, an end not after its begin, an unknown channel.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import FormatError, InputError
from ..fileio import read_text
from ..model import Annotation, Conversation, Speaker, Turn

__all__ = ["parse_stm", "read_stm", "stm_channel"]

_IGNORE = "ignore_time_segment_in_scoring"
_GAP = "inter_segment_gap"
_FIELDS = re.compile(r"\S+")


def stm_channel(value: str) -> int:
    """The 0-based channel of an STM channel field (``1`` -> 0, ``B`` -> 1).

    Raises:
        FormatError: neither a positive integer nor a single letter.
    """
    text = value.strip()
    if text.isdigit() and int(text) >= 1:
        return int(text) - 1
    if len(text) == 1 and text.isalpha():
        return ord(text.upper()) - ord("A")
    raise FormatError(f"channel {value!r} is neither 1, 2, ... nor A, B, ...")


def _time(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FormatError(f"{what} {value!r} is not a number of seconds") from None
    if number != number or number < 0:
        raise FormatError(f"{what} {value!r} is not a non-negative number of seconds")
    return number


def _segment(line: str) -> tuple[str, int, str, float, float, str] | None:
    """(file, channel, speaker, begin, end, transcript) of one line, or None if not scored."""
    fields = list(_FIELDS.finditer(line))
    if len(fields) < 5:
        raise FormatError(f"has {len(fields)} field(s); an STM segment needs file, channel, speaker, "
                          "begin and end")
    name, channel, speaker, begin, end = (m.group() for m in fields[:5])
    rest = line[fields[4].end():].strip()
    if rest.startswith("<"):
        close = rest.find(">")
        if close < 0:
            raise FormatError(f"label field {rest.split()[0]!r} has no closing '>'")
        rest = rest[close + 1:].strip()
    start, stop = _time(begin, "begin"), _time(end, "end")
    if speaker.lower() == _GAP or rest.lower() == _IGNORE:
        return None
    if not round(start, 3) < round(stop, 3):
        raise FormatError(f"end {stop:g} s is not after begin {start:g} s")
    return name, stm_channel(channel), speaker, start, stop, rest


def parse_stm(text: str, *, source: str = "STM") -> list[tuple[Conversation, Annotation]]:
    """The recordings of an STM text as (conversation, reference annotation) pairs, by file id.

    Raises:
        FormatError: the first bad line, as ``"<source>: line 7: ..."``.
    """
    segments: dict[str, list[tuple[int, str, float, float, str]]] = {}
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(";;"):
            continue
        try:
            found = _segment(line)
        except InputError as err:
            raise FormatError(err.problem, where=f"{source}: line {number}") from None
        if found is not None:
            name, channel, speaker, start, stop, words = found
            segments.setdefault(name, []).append((channel, speaker, start, stop, words))
    out = []
    for name in sorted(segments):
        rows = segments[name]
        channels: dict[str, set[int]] = {}
        for channel, speaker, *_ in rows:
            channels.setdefault(speaker, set()).add(channel)
        try:
            turns = [Turn(speaker=speaker, start=start, end=stop, channel=channel, text=words)
                     for channel, speaker, start, stop, words in rows]
            speakers = tuple(Speaker(s, next(iter(c)) if len(c) == 1 else None)
                             for s, c in sorted(channels.items()))
            conversation = Conversation(name, channels=max(ch for ch, *_ in rows) + 1, speakers=speakers)
            annotation = Annotation(task_id=name, turns=turns, origin="reference")
        except InputError as err:
            raise FormatError(err.problem, where=f"{source}: file {name}") from None
        out.append((conversation, annotation))
    return out


def read_stm(path: str | os.PathLike[str]) -> list[tuple[Conversation, Annotation]]:
    """Read an STM file (UTF-8, or Latin-1 when the bytes are not UTF-8); see :func:`parse_stm`.

    Raises:
        FormatError: the file cannot be read, or its first bad line.
    """
    path = Path(path)
    text = read_text(path, encodings=("utf-8-sig", "latin-1"))  # NIST's own files predate UTF-8
    return parse_stm(text, source=str(path))
