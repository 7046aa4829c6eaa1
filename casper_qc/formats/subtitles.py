"""SubRip (``.srt``) and WebVTT (``.vtt``) drafts: subtitle cues, times per cue only.

SubRip: cues separated by blank lines, each a cue number, a timing line
``HH:MM:SS,mmm --> HH:MM:SS,mmm`` (a ``.`` before the milliseconds is accepted too), and one or
more lines of text. A cue without its number is accepted.

WebVTT: the file starts with ``WEBVTT`` (after an optional byte order mark); blocks are separated
by blank lines; ``NOTE``, ``STYLE`` and ``REGION`` blocks are skipped; a cue is an optional
identifier line, a timing line ``[hh:]mm:ss.ttt --> [hh:]mm:ss.ttt`` with optional cue settings,
and its text.

Cue text loses its markup: SubRip ``<i>``/``<b>``/``<u>``/``<font …>`` tags and ``{\\an8}``-style
codes, WebVTT ``<c>``, ``<i>``, ``<b>``, ``<u>``, ``<v Name>``, ``<lang …>``, ``<ruby>``/``<rt>``
tags and inline ``<00:01.500>`` timestamps; character references (``&amp;``) are decoded, and a
leading ``-`` that marks a change of speaker is dropped. What remains is read with the verbatim
conventions (so ``[laughter]`` and ``<noise>`` stay events). Subtitles have no word times: each
cue's words are spread over the cue by character length and are ``estimated``
(:func:`casper_qc.formats.draftwords.spread_words`). Cues may overlap; words keep cue order.

Errors: :class:`~casper_qc.errors.FormatError` naming the source, the cue and its line
(``talk.srt: cue 3 (line 9): end 00:00:02,000 is not after start 00:00:04,000``).
"""

from __future__ import annotations

import html
import re

from ..errors import FormatError
from ..model import Word
from .draftwords import spread_words, token_words

__all__ = ["parse_srt", "parse_vtt"]

_SRT_TIME = r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_SRT_TIMING = re.compile(rf"^\s*(?P<a>{_SRT_TIME})\s*-->\s*(?P<b>{_SRT_TIME})\s*(?:\s.*)?$")
_VTT_TIMING = re.compile(rf"^\s*(?P<a>{_VTT_TIME})[ \t]+-->[ \t]+(?P<b>{_VTT_TIME})(?:[ \t].*)?$")
_SRT_TAGS = re.compile(r"</?(?:i|b|u|font)(?:\s[^<>]*)?>|\{\\[^{}]*\}", re.IGNORECASE)
_VTT_TAGS = re.compile(r"</?(?:c|i|b|u|v|lang|ruby|rt)(?:[.\s][^<>]*)?>|<\d[\d:.]*>")
_SPEAKER_DASH = re.compile(r"^\s*-\s+")


def _seconds(match: re.Match, first_group: int) -> float:
    hours, minutes, secs, millis = match.group(first_group, first_group + 1, first_group + 2,
                                               first_group + 3)
    return (int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
            + int(millis.ljust(3, "0")) / 1000)


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each run of non-blank lines."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _cue_words(lines: list[str], start: float, end: float, tags: re.Pattern,
               lexicon) -> tuple[Word, ...]:
    words: list[Word] = []
    for line in lines:
        clean = html.unescape(tags.sub(" ", line))
        clean = _SPEAKER_DASH.sub("", clean)
        for token in clean.split():
            words.extend(token_words(token, lexicon=lexicon))
    return spread_words(words, start, end)


def _timing(match: re.Match | None, line: str, groups: tuple[int, int]) -> tuple[float, float]:
    if match is None:
        raise FormatError(f"{line.strip()[:40]!r} is not a 'start --> end' timing line")
    start, end = _seconds(match, groups[0]), _seconds(match, groups[1])
    if not round(end, 3) > round(start, 3):
        raise FormatError(f"end {match.group('b')} is not after start {match.group('a')}")
    return start, end


def parse_srt(text: str, *, source: str = "SRT", lexicon=None) -> tuple[Word, ...]:
    """The words of a SubRip text, cue by cue, spread over their cues (``estimated``).

    Raises:
        FormatError: a cue without a valid timing line, or whose end is not after its start.
    """
    words: list[Word] = []
    for cue, (first, lines) in enumerate(_blocks(text.lstrip("\ufeff")), 1):
        offset = 1 if lines[0].strip().isdigit() and len(lines) > 1 else 0
        where = f"{source}: cue {cue} (line {first + offset})"
        try:
            start, end = _timing(_SRT_TIMING.match(lines[offset]), lines[offset], (2, 7))
        except FormatError as err:
            raise FormatError(err.problem, where=where) from None
        words.extend(_cue_words(lines[offset + 1:], start, end, _SRT_TAGS, lexicon))
    return tuple(words)


def parse_vtt(text: str, *, source: str = "WebVTT", lexicon=None) -> tuple[Word, ...]:
    """The words of a WebVTT text, cue by cue, spread over their cues (``estimated``).

    Raises:
        FormatError: no ``WEBVTT`` header, a cue block without a valid timing line, or a cue
            whose end is not after its start.
    """
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not (first_line == "WEBVTT" or first_line.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise FormatError("a WebVTT file starts with the line 'WEBVTT'", where=f"{source}: line 1")
    words: list[Word] = []
    cue = 0
    for index, (first, lines) in enumerate(_blocks(text)):
        if index == 0 or lines[0].startswith(("NOTE", "STYLE", "REGION")) and "-->" not in lines[0]:
            continue  # the header block, comments, style and region definitions
        cue += 1
        offset = 0 if "-->" in lines[0] else 1
        where = f"{source}: cue {cue} (line {first + offset})"
        try:
            if offset >= len(lines):
                raise FormatError(f"{lines[0].strip()[:40]!r} is followed by no timing line")
            start, end = _timing(_VTT_TIMING.match(lines[offset]), lines[offset], (2, 7))
        except FormatError as err:
            raise FormatError(err.problem, where=where) from None
        words.extend(_cue_words(lines[offset + 1:], start, end, _VTT_TAGS, lexicon))
    return tuple(words)
