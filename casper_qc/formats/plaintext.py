"""Plain-text reference transcripts, one file per conversation and channel (or speaker).

A file holds what one participant said, in order, as UTF-8 text (a BOM is allowed; Latin-1 is
read when the bytes are not UTF-8). Line breaks are word breaks: the transcript is the file's
words joined by single spaces. There are no times, so such a reference serves word error rates
(per speaker, over the whole conversation), not boundaries.

File names say whose words they are (:func:`parse_name`)::

    <conversation>.ch<N>.txt      channel N, counted from 1 (as the ``ch<N>_`` TextGrid tiers and
                                  sclite count): ch1 is the model's channel 0
    <conversation>.<speaker>.txt  a speaker id or label of the project (``sw01.A.txt``)

Errors are :class:`~casper_qc.errors.FormatError` naming the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from ..errors import FormatError
from ..fileio import read_text

__all__ = ["TextName", "parse_name", "read_plaintext"]

_CHANNEL = re.compile(r"^ch([1-9][0-9]*)$", re.IGNORECASE)


class TextName(NamedTuple):
    """What a plain-text reference file name says: the conversation and either the 0-based
    ``channel`` or the ``speaker``."""

    conversation: str
    channel: int | None
    speaker: str | None


def parse_name(path: str | os.PathLike[str]) -> TextName:
    """The conversation and channel/speaker of ``<conversation>.<ch<N>|speaker>.txt``.

    Raises:
        FormatError: the name has no ``.<channel or speaker>`` part before ``.txt``.
    """
    name = Path(path).name
    if not name.lower().endswith(".txt"):
        raise FormatError("a plain-text reference must end in .txt", where=str(path))
    stem = name[:-4]
    conversation, dot, who = stem.rpartition(".")
    if not dot or not conversation or not who:
        raise FormatError("name it <conversation>.ch<N>.txt or <conversation>.<speaker>.txt to say "
                          "whose words it holds", where=str(path))
    match = _CHANNEL.match(who)
    if match:
        return TextName(conversation, int(match.group(1)) - 1, None)
    return TextName(conversation, None, who)


def read_plaintext(path: str | os.PathLike[str]) -> str:
    """The words of a plain-text transcript joined by single spaces ("" for an empty file).

    Raises:
        FormatError: the file cannot be read.
    """
    return " ".join(read_text(Path(path), encodings=("utf-8-sig", "latin-1")).split())
