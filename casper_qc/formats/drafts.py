"""Draft transcripts: read another tool's transcript into one uniform shape, a :class:`Draft`.

Entry points (for the ML backend and the CLI):

* ``read_draft(path, format=None, *, channel=None, speaker=None)`` reads a file;
* ``parse_draft(text, format=None, *, source="draft", channel=None, speaker=None)`` reads text
  held in memory (a task's inline draft);
* ``merge_drafts(drafts)`` joins drafts read one per channel into one;
* :func:`casper_qc.drafts.place_words` then puts the words into the turns of a task.

A :class:`Draft` is a tuple of :class:`Track` records, each the words of one channel and/or
speaker (or of the whole recording when it names neither), as
:class:`~casper_qc.model.Word` records that follow the verbatim conventions
(:mod:`casper_qc.formats.draftwords`): punctuation dropped, fillers/partials/events with their
kinds, times in seconds where the format has them. ``estimated`` words had their times spread
rather than aligned.

Formats (:data:`DRAFT_FORMATS`, detected by :func:`detect_format`, or named by ``format=``):

``whisper``  (``.json``) JSON of openai-whisper, faster-whisper or WhisperX: ``segments[].words[]``
    with ``word``/``start``/``end`` (see :mod:`casper_qc.formats.whisper`). One track.
``ctm``  (``.ctm``) NIST CTM, ``<file> <channel> <start> <duration> <word> [<confidence>]``;
    one track per channel, ``1``/``A`` is channel 0 (:mod:`casper_qc.formats.ctm`).
``srt``, ``vtt``  SubRip and WebVTT subtitles: cue times only, so each cue's words are spread
    over the cue, ``estimated`` (:mod:`casper_qc.formats.subtitles`). One track.
``textgrid``  (``.TextGrid``) a Praat TextGrid read by
    :func:`casper_qc.formats.textgrid.read_textgrid`: one track per speaker (with the channel a
    ``ch<N>_`` tier name gives). Turns with fully timed words give those words; turns with text
    only have their words spread over the turn, ``estimated``.
``text``  (``.txt``, ``.lab``, anything else) plain verbatim text, no times; line breaks are word
    breaks. A file named ``<conversation>.ch<N>.txt`` is channel N-1,
    ``<conversation>.<speaker>.txt`` that speaker (so ``notes.v2.txt`` is speaker ``v2``:
    :func:`casper_qc.formats.plaintext.parse_name`); otherwise the track names neither; pass
    ``channel=``/``speaker=`` to say whose words they are. Bad verbatim markup (a bracket that
    does not balance) is a ``FormatError`` naming the line and column.

``channel=``/``speaker=`` say whose words a one-track draft holds (a Whisper JSON of channel 1,
say); they replace what the file says and are refused for drafts of several tracks.

Speaker labels of a diarization (WhisperX ``"speaker": "SPEAKER_00"``, WebVTT ``<v Name>``) are
not used: the task's turns already say who speaks, and words are placed by time.

Detection (:func:`detect_format`): by extension first (``.json``, ``.ctm``, ``.srt``, ``.vtt``,
``.textgrid``, ``.txt``, ``.lab``), then by content: ``WEBVTT`` header, ``File type =
"ooTextFile"``, text that parses as JSON, an SRT cue (a number, then a ``-->`` line with ``,``
milliseconds), lines of five or more fields whose second is a channel (``1``, ``A``) and third
and fourth are numbers (CTM), else text (so ``[laughter] yes`` is text, not broken JSON).

Errors: :class:`~casper_qc.errors.FormatError`, one line naming the source and the place (line,
cue, JSON path), e.g. ``draft.ctm: line 7: start 'x' is not a number of seconds``;
:class:`~casper_qc.errors.InputError` for an unknown format or a file that cannot be read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from ..errors import FormatError, InputError
from ..fileio import decode_text, read_bytes
from ..model import Word

__all__ = ["Track", "Draft", "DRAFT_FORMATS", "detect_format", "read_draft", "parse_draft",
           "merge_drafts"]

#: Format names accepted by ``format=`` (and a CLI's ``--draft-format``).
DRAFT_FORMATS = ("whisper", "ctm", "srt", "vtt", "textgrid", "text")

_EXTENSIONS = {".json": "whisper", ".ctm": "ctm", ".srt": "srt", ".vtt": "vtt",
               ".textgrid": "textgrid", ".txt": "text", ".lab": "text"}
_SRT_START = re.compile(r"\A\s*\d+\s*\r?\n\s*\d+:\d{1,2}:\d{1,2}[,.]\d{1,3}\s*-->")
_CTM_LINE = re.compile(r"^\S+\s+(?:\d+|[A-Za-z])\s+\d+(?:\.\d*)?\s+\d+(?:\.\d*)?\s+\S+")


@dataclass(frozen=True)
class Track:
    """The words of one channel and/or speaker, in order (both None: the whole recording)."""

    words: tuple[Word, ...] = ()
    channel: int | None = None
    speaker: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        for word in self.words:
            if not isinstance(word, Word):
                raise InputError(f"track words must be Word records, not {type(word).__name__}")
        if self.channel is not None and (isinstance(self.channel, bool)
                                         or not isinstance(self.channel, int) or self.channel < 0):
            raise InputError(f"track channel must be a non-negative integer, not {self.channel!r}")
        if self.speaker is not None and (not isinstance(self.speaker, str)
                                         or not self.speaker.strip()):
            raise InputError(f"track speaker must be a non-empty string, not {self.speaker!r}")

    @property
    def timed(self) -> bool:
        """True when at least one word has times."""
        return any(w.timed for w in self.words)

    def describe(self) -> str:
        """``"channel 1"``, ``"speaker 'A'"``, ``"channel 0, speaker 'A'"`` or
        ``"the recording"``."""
        parts = []
        if self.channel is not None:
            parts.append(f"channel {self.channel}")
        if self.speaker is not None:
            parts.append(f"speaker {self.speaker!r}")
        return ", ".join(parts) or "the recording"


@dataclass(frozen=True)
class Draft:
    """A draft transcript: its tracks, where it came from (``source``) and its ``format``."""

    tracks: tuple[Track, ...] = ()
    source: str = "draft"
    format: str = "text"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracks", tuple(self.tracks))

    @property
    def word_count(self) -> int:
        return sum(len(t.words) for t in self.tracks)

    def with_target(self, *, channel: int | None = None, speaker: str | None = None) -> "Draft":
        """This one-track draft said to hold ``channel``'s and/or ``speaker``'s words.

        Raises:
            InputError: the draft has more than one track.
        """
        if channel is None and speaker is None:
            return self
        if len(self.tracks) > 1:
            held = "; ".join(t.describe() for t in self.tracks)
            raise InputError(f"holds {len(self.tracks)} tracks ({held}); a channel or speaker can "
                             "be given only for a draft of one track", where=self.source)
        track = self.tracks[0] if self.tracks else Track()
        track = Track(track.words, channel if channel is not None else track.channel,
                      speaker if speaker is not None else track.speaker)
        return replace(self, tracks=(track,))


def detect_format(name: str | None, text: str) -> str:
    """The draft format of a file called ``name`` (may be None) holding ``text``."""
    if name:
        suffix = Path(name).suffix.lower()
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith("File type") and "ooTextFile" in head[:100]:
        return "textgrid"
    if head[:1] in ("{", "[") and _is_json(head):
        return "whisper"
    if _SRT_START.match(head):
        return "srt"
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.startswith(";;")]
    if lines and all(_CTM_LINE.match(ln) for ln in lines[:20]):
        return "ctm"
    return "text"


def _is_json(text: str) -> bool:
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def read_draft(path: str | os.PathLike[str], format: str | None = None, *,
               channel: int | None = None, speaker: str | None = None, lexicon=None) -> Draft:
    """Read a draft file (see the module docstring); ``format`` overrides detection.

    Raises:
        InputError: the file cannot be read, or ``format`` is unknown.
        FormatError: the file is not valid in its format (one line naming file and place).
    """
    path = Path(path)
    _check_format(format)
    data = read_bytes(path, cannot="cannot read draft", error=InputError)
    latin1 = () if format in ("whisper", "vtt") else ("latin-1",)  # both are UTF-8 by definition
    text = decode_text(data, str(path), encodings=("utf-16", "utf-8-sig", *latin1))
    fmt = format or detect_format(path.name, text)
    if fmt == "text" and channel is None and speaker is None and path.suffix.lower() == ".txt":
        from .plaintext import parse_name

        try:
            named = parse_name(path)
        except FormatError:
            named = None
        if named is not None:
            channel, speaker = named.channel, named.speaker
    return parse_draft(text, fmt, source=str(path), channel=channel, speaker=speaker,
                       lexicon=lexicon)


def parse_draft(text: str, format: str | None = None, *, source: str = "draft",
                channel: int | None = None, speaker: str | None = None, lexicon=None) -> Draft:
    """Read a draft held in memory; ``source`` names it in error messages.

    Raises:
        InputError: ``format`` is unknown or ``text`` is not a string.
        FormatError: the text is not valid in its format (one line naming source and place).
    """
    if not isinstance(text, str):
        raise InputError(f"a draft must be text, not {type(text).__name__}", where=source)
    _check_format(format)
    fmt = format or detect_format(source, text)
    text = text.lstrip("\ufeff")
    if fmt == "whisper":
        from .whisper import parse_whisper

        tracks: tuple[Track, ...] = (Track(parse_whisper(text, source=source, lexicon=lexicon)),)
    elif fmt == "ctm":
        from .ctm import parse_ctm

        tracks = tuple(Track(words, ch) for ch, words in sorted(
            parse_ctm(text, source=source, lexicon=lexicon).items()))
    elif fmt in ("srt", "vtt"):
        from .subtitles import parse_srt, parse_vtt

        parse = parse_srt if fmt == "srt" else parse_vtt
        tracks = (Track(parse(text, source=source, lexicon=lexicon)),)
    elif fmt == "textgrid":
        tracks = _textgrid_tracks(text, source, lexicon)
    else:
        tracks = (Track(_text_words(text, source, lexicon)),)
    draft = Draft(tracks, source=source, format=fmt)
    return draft.with_target(channel=channel, speaker=speaker)


def merge_drafts(drafts: Iterable[Draft], *, source: str | None = None) -> Draft:
    """One draft holding the tracks of all ``drafts`` (e.g. one file per channel), in order.

    Its format is theirs when they share one, else ``"mixed"``.
    """
    drafts = list(drafts)
    formats = {d.format for d in drafts}
    return Draft(tuple(t for d in drafts for t in d.tracks),
                 source=source or " + ".join(d.source for d in drafts) or "draft",
                 format=formats.pop() if len(formats) == 1 else "mixed")


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in DRAFT_FORMATS:
        raise InputError(f"unknown draft format {fmt!r}; choose one of {', '.join(DRAFT_FORMATS)}")


def _text_words(text: str, source: str, lexicon) -> tuple[Word, ...]:
    from ..conventions import tokenize

    try:
        return tokenize(text, lexicon=lexicon)
    except InputError as err:
        where = f"{source}: {err.where}" if err.where else source
        raise FormatError(err.problem, where=where) from None


def _textgrid_tracks(text: str, source: str, lexicon) -> tuple[Track, ...]:
    from .draftwords import spread_words, timed_words
    from .textgrid import parse_textgrid

    conversation, annotation = parse_textgrid(text, source=source)
    tracks = []
    for speaker in annotation.speakers():
        words: list[Word] = []
        for turn in annotation.turns_of(speaker):
            if turn.words and all(w.timed for w in turn.words):
                for word in turn.words:
                    words.extend(timed_words(word.text, word.start, word.end, lexicon=lexicon))
            elif turn.text.strip():
                try:
                    untimed = _text_words(turn.text, source, lexicon)
                except FormatError as err:
                    raise FormatError(err.problem, where=f"{source}: turn of {speaker} at "
                                      f"{turn.start:.3f} s") from None
                words.extend(spread_words(untimed, turn.start, turn.end))
        known = conversation.speaker(speaker)
        tracks.append(Track(tuple(words), known.channel if known else None, speaker))
    return tuple(tracks)
