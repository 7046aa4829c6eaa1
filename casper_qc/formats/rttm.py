"""RTTM (NIST Rich Transcription Time Marked) speaker segments: read and write.

Only ``SPEAKER`` lines are used; other types (``SPKR-INFO``, ``LEXEME``…) are skipped. A line
is ``SPEAKER <file> <channel> <onset> <duration> <NA> <NA> <speaker> <NA> <NA>`` with times in
seconds; channel ``1`` is the first channel (we store channel 0). Files are grouped by their
``<file>`` field, in the order they first appear.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FormatError, InputError
from ..fileio import write_text
from ..model import Annotation, Conversation, Speaker, Turn

__all__ = ["read_rttm", "parse_rttm", "to_rttm", "write_rttm"]


def parse_rttm(text: str, *, source: str = "rttm", origin: str = "reference"
               ) -> list[tuple[Conversation, Annotation]]:
    """Conversations and their turns from RTTM text.

    Raises:
        FormatError: a malformed ``SPEAKER`` line (message names ``source`` and the line).
    """
    files: dict[str, list[Turn]] = {}
    channels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith(("#", ";")) or fields[0] != "SPEAKER":
            continue
        where = f"{source}: line {number}"
        if len(fields) < 8:
            raise FormatError(f"SPEAKER line has {len(fields)} fields, expected 10", where=where)
        name, channel_text, onset_text, duration_text, speaker = (
            fields[1], fields[2], fields[3], fields[4], fields[7])
        try:
            onset, duration = float(onset_text), float(duration_text)
        except ValueError:
            raise FormatError(f"onset {onset_text!r} / duration {duration_text!r} are not numbers",
                              where=where) from None
        try:
            channel = int(channel_text) - 1
        except ValueError:
            channel = 0
        if duration <= 0:
            continue  # zero-length segments carry no speech
        try:
            turn = Turn(speaker, onset, onset + duration, channel=max(channel, 0))
        except InputError as err:
            raise FormatError(err.problem, where=where) from None
        files.setdefault(name, []).append(turn)
        channels.setdefault(name, {}).setdefault(speaker, max(channel, 0))
    out = []
    for name, turns in files.items():
        speaker_channels = channels[name]
        width = max(speaker_channels.values()) + 1
        speakers = tuple(Speaker(s, c) for s, c in sorted(speaker_channels.items()))
        conversation = Conversation(name, channels=width, speakers=speakers)
        out.append((conversation, Annotation(name, turns=turns, origin=origin)))  # type: ignore[arg-type]
    return out


def read_rttm(path: str | os.PathLike[str], *, origin: str = "reference"
              ) -> list[tuple[Conversation, Annotation]]:
    """Read an RTTM file (see :func:`parse_rttm`).

    Raises:
        InputError: the file cannot be read; FormatError: a malformed line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read: {err.__class__.__name__}", where=str(path)) from None
    return parse_rttm(text, source=str(path), origin=origin)


def to_rttm(conversation: Conversation, annotation: Annotation) -> str:
    """RTTM text of one annotation (one ``SPEAKER`` line per turn)."""
    lines = []
    for turn in annotation.turns:
        channel = (turn.channel or 0) + 1
        lines.append(f"SPEAKER {conversation.id} {channel} {turn.start:.3f} "
                     f"{turn.end - turn.start:.3f} <NA> <NA> {turn.speaker} <NA> <NA>")
    return "".join(line + "\n" for line in lines)


def write_rttm(path: str | os.PathLike[str], items) -> Path:
    """Write ``(conversation, annotation)`` pairs to one RTTM file, atomically."""
    return write_text(path, "".join(to_rttm(c, a) for c, a in items))
