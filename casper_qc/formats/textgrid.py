"""Praat TextGrids: write an annotation as tiers per speaker, and read TextGrids back.

Writing (:func:`to_textgrid`, :func:`write_textgrid`)
=====================================================

For every speaker (the conversation's speakers and those of the annotation, in sorted order) the
grid holds, grouped by speaker:

* ``"<speaker> - turns"``: one interval per turn, labelled with the turn's text;
* ``"<speaker> - words"``: one interval per word, for the turns whose words *all* have times;
* ``"<speaker> - disfluencies"``: one interval per such word that plays a part in a disfluency
  (grammar below). Written whenever the words tier is.

A speaker none of whose turns has fully timed words gets the turns tier only: the turn text
still carries the transcript, but untimed words and the disfluencies over them are not written.
Every tier spans the grid, ``0`` to ``conversation.duration`` (or the last turn's end when the
duration is unknown); intervals tile the tier and the gaps have empty labels. The text is
Praat's long text format by default (``short=True``: the short format), encoded in UTF-8 by
:func:`write_textgrid`. The praatio objects are built afresh from the immutable model on every
call, and praatio serializes them; nothing the caller passed is changed.

Refused (``ModelError`` naming the speaker and turn): turns of one speaker that overlap, turns
beyond the conversation's duration, a turn's timed words that overlap or are out of order, and
a turn whose text is literally ``"<no text>"``.

Disfluency labels
-----------------

A Praat interval tier cannot hold the model's disfluencies directly (they nest and overlap), so
the disfluencies tier labels *words*. A label is one or more space-separated items, one per
disfluency of the turn that covers the word::

    item  = TYPE [ "#" N ] [ "." ROLE ]
    TYPE  = FP | DM | ET | PW | REP | REV | FS
    ROLE  = RM | IM | RP          (reparandum, interregnum, repair)

``N`` is the disfluency's number within its turn (1, 2, … in the order of span start, longer
span first, then type and roles); it is written only when the disfluency spans more than one
word, so a one-word filled pause reads ``FP``. ``ROLE`` is absent for a word inside a span that
has no role (always so for FP, DM, ET and PW). Items appear in the order of ``N``. Example: in
"I uh I mean we went", a revision (reparandum "I", interregnum "uh I mean", repair "we") holding
a filled pause and an editing term labels its words ``REV#1.RM``, ``REV#1.IM FP``,
``REV#1.IM ET#3``, ``REV#1.IM ET#3``, ``REV#1.RP``; "went" has no interval.

Empty text: an interval with an empty label is a gap, so a turn without text (an untranscribed
region) is written with the label ``"<no text>"`` and read back with empty text.

Reading (:func:`parse_textgrid`, :func:`read_textgrid`)
=======================================================

Long and short text formats, UTF-8 (with or without BOM), UTF-16 with BOM, or Latin-1 when the
bytes are not UTF-8. Tiers are recognised by name:

1. ``"<speaker> - <kind>"``, kind ``turns`` (or ``utterances``), ``words``, ``disfluencies`` or
   ``phones``: our own tiers, and Montreal Forced Aligner's multi-speaker output.
2. ``"words"`` / ``"phones"`` alone (MFA's single-speaker output): the speaker is ``speaker``
   (default: the conversation id).
3. ``"[ch<N>_]<speaker>_<kind>[_<anything>]"`` with the kinds above (exports of other tools,
   e.g. batchalign's ``"PAR0_utterances_CHAT"`` / ``"PAR0_words"``); ``ch<N>`` (1-based) gives the
   speaker's audio channel ``N - 1``.
4. Any other interval tier: the turns of a speaker named like the tier (e.g. ``"michael"``).

Phones tiers and point tiers are ignored. Empty (or blank) labels are gaps; labels are stripped
of surrounding whitespace. Words go to the turn of their speaker that contains them. When a
speaker has words but no turns tier, turns are built from the words: consecutive words whose
pause is shorter than ``max_pause`` (default 0.5 s) share a turn, whose text is the words joined
by spaces. Turn ids are ``"<speaker>-00001"``, ``"<speaker>-00002"``… in time order.

The result: ``Conversation(id=<file stem>, duration=<grid xmax>, speakers=…)`` and an
``Annotation(task_id=<conversation id>, origin="reference")`` (``origin`` and ``annotator`` are
parameters). Times are rounded to the millisecond, as everywhere in the model.

Every tier is checked: intervals ordered, not overlapping, not empty, inside the grid. The first
problem is raised as a :class:`~casper_qc.errors.FormatError` naming the file, the tier and the
interval (or the line, for a file that is not a TextGrid or ends early).

What a TextGrid does not keep
-----------------------------

Turn ids, channels (unless a ``ch<N>_`` tier name gives them), choices and scores; annotation
metadata (id, annotator, times, origin); the conversation's audio, sampling rate and speaker
names (its duration is the grid's end); word kinds, the ``uncertain`` and ``estimated`` flags
(read back as plain, certain, aligned words); disfluency times (recomputed from their words);
words of turns that are not fully timed, and their disfluencies; whitespace around turn texts.
None of this is written, so write → read → write gives the same bytes.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import FormatError, InputError, ModelError
from ..fileio import read_text, write_text
from ..labels import DisfluencyType, Role
from ..model import Annotation, Conversation, Disfluency, Origin, Speaker, Turn, Word, WordRange, to_ms

__all__ = [
    "to_textgrid",
    "write_textgrid",
    "parse_textgrid",
    "read_textgrid",
    "disfluency_labels",
    "NO_TEXT",
    "DEFAULT_MAX_PAUSE",
]

#: Label of a turn without text (an empty label would read back as a gap).
NO_TEXT = "<no text>"
#: Longest pause (seconds) inside a turn built from a words tier.
DEFAULT_MAX_PAUSE = 0.5

_KINDS = {"turns": "turns", "utterances": "turns", "words": "words",
          "disfluencies": "disfluencies", "phones": "phones"}
_TYPE_ORDER = {t: i for i, t in enumerate(DisfluencyType)}
_ITEM = re.compile(r"^(FP|DM|ET|PW|REP|REV|FS)(?:#([1-9][0-9]*))?(?:\.(RM|IM|RP))?$")
_UNDERSCORE_NAME = re.compile(
    r"^(?:ch(?P<channel>[1-9][0-9]*)_)?(?P<speaker>.+?)_(?P<kind>turns|utterances|words|phones)(?:_.*)?$")
_EPSILON = 1e-6  # float noise allowed in files written by other tools; far below the ms grid


# --------------------------------------------------------------------------------------------
# Writing


def to_textgrid(conversation: Conversation, annotation: Annotation, *, short: bool = False) -> str:
    """The annotation as the text of a Praat TextGrid (long format, or short if ``short``).

    Raises:
        ModelError: if the turns cannot be laid out as Praat interval tiers (see the module
            docstring); the message names the speaker and turn.
    """
    from praatio import textgrid as praat_textgrid
    from praatio.utilities import textgrid_io

    xmax = _grid_end(conversation, annotation)
    grid = praat_textgrid.Textgrid(0, xmax)
    for name, entries in _tiers(conversation, annotation):
        tier = praat_textgrid.IntervalTier(name, entries, 0, xmax)
        grid.addTier(tier, reportingMode="error")
    # praatio's save() fills gaps into the tier objects it is given; we hand it plain copies.
    as_dict = {"xmin": 0, "xmax": xmax, "tiers": [
        {"class": tier.tierType, "name": tier.name, "xmin": tier.minTimestamp,
         "xmax": tier.maxTimestamp, "entries": list(tier.entries)} for tier in grid.tiers]}
    return textgrid_io.getTextgridAsStr(
        as_dict, "short_textgrid" if short else "long_textgrid", includeBlankSpaces=True,
        minTimestamp=0, maxTimestamp=xmax, minimumIntervalLength=None)


def write_textgrid(path: str | os.PathLike[str], conversation: Conversation, annotation: Annotation,
                   *, short: bool = False) -> Path:
    """Write :func:`to_textgrid` to ``path`` as UTF-8, atomically; return the path."""
    return write_text(path, to_textgrid(conversation, annotation, short=short))


def disfluency_labels(turn: Turn) -> list[str]:
    """The disfluencies tier labels of the turn's words ("" for a word in no disfluency)."""
    ordered = _canonical(turn.disfluencies)
    labels = []
    for index in range(len(turn.words)):
        items = []
        for number, dis in enumerate(ordered, 1):
            if index in dis.words:
                role = dis.role_of(index)
                items.append(dis.type.value + (f"#{number}" if len(dis.words) > 1 else "")
                             + (f".{role.value}" if role is not None else ""))
        labels.append(" ".join(items))
    return labels


def _canonical(disfluencies: Iterable[Disfluency]) -> list[Disfluency]:
    def key(dis: Disfluency) -> tuple:
        roles = tuple((r.start, r.stop) if r is not None else (-1, -1)
                      for r in (dis.reparandum, dis.interregnum, dis.repair))
        return (dis.words.start, -dis.words.stop, _TYPE_ORDER[dis.type], roles)

    return sorted(disfluencies, key=key)


def _grid_end(conversation: Conversation, annotation: Annotation) -> float:
    if conversation.duration is not None:
        late = [t for t in annotation.turns if t.end > conversation.duration]
        if late:
            turn = late[0]
            raise ModelError(f"ends at {turn.end:.3f} s, beyond the end of the recording "
                             f"({conversation.duration:.3f} s)", where=_where(conversation, turn))
        return conversation.duration
    if not annotation.turns:
        raise ModelError("nothing to write: the conversation has no duration and no turns",
                         where=f"conversation {conversation.id}")
    return max(t.end for t in annotation.turns)


def _where(conversation: Conversation, turn: Turn) -> str:
    name = f"turn {turn.id!r}" if turn.id is not None else f"turn at {turn.start:.3f}-{turn.end:.3f} s"
    return f"conversation {conversation.id}: speaker {turn.speaker}: {name}"


def _all_timed(turn: Turn) -> bool:
    return bool(turn.words) and all(w.timed for w in turn.words)


def _tiers(conversation: Conversation,
           annotation: Annotation) -> Iterator[tuple[str, list[tuple[float, float, str]]]]:
    speakers = sorted({s.id for s in conversation.speakers} | set(annotation.speakers()))
    for speaker in speakers:
        turns = annotation.turns_of(speaker)
        previous: Turn | None = None
        turn_entries, word_entries, dis_entries = [], [], []
        for turn in turns:
            if previous is not None and turn.start < previous.end:
                raise ModelError(f"overlaps the previous turn of the speaker, which ends at "
                                 f"{previous.end:.3f} s", where=_where(conversation, turn))
            previous = turn
            text = turn.text.strip()
            if text == NO_TEXT:
                raise ModelError(f"the text {NO_TEXT!r} is reserved for turns without text",
                                 where=_where(conversation, turn))
            turn_entries.append((turn.start, turn.end, text or NO_TEXT))
            if not _all_timed(turn):
                continue
            end = turn.start
            for word, label in zip(turn.words, disfluency_labels(turn)):
                assert word.start is not None and word.end is not None
                if word.start < end:
                    raise ModelError(f"word {word.text!r} at {word.start:.3f} s overlaps or comes "
                                     f"before the previous word", where=_where(conversation, turn))
                end = word.end
                word_entries.append((word.start, word.end, word.text))
                if label:
                    dis_entries.append((word.start, word.end, label))
        yield f"{speaker} - turns", turn_entries
        if any(_all_timed(t) for t in turns):
            yield f"{speaker} - words", word_entries
            yield f"{speaker} - disfluencies", dis_entries


# --------------------------------------------------------------------------------------------
# Reading: tokens and grid


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "flag"
    value: object
    line: int


@dataclass(frozen=True, slots=True)
class _Interval:
    number: int  # 1-based, as Praat counts
    start: float
    end: float
    label: str


@dataclass(frozen=True, slots=True)
class _Tier:
    number: int
    name: str
    is_interval: bool
    start: float
    end: float
    intervals: tuple[_Interval, ...]

    def where(self, interval: _Interval | None = None) -> str:
        where = f"tier {self.number} {self.name!r}"
        if interval is not None:
            where += f": interval {interval.number}"
            if interval.label.strip():
                where += f" {_short(interval.label)!r}"
            where += f" ({interval.start:g}-{interval.end:g} s)"
        return where


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= 40 else label[:37] + "..."


# Praat's text-file lexicon: numbers, "strings" ("" escapes a quote) and <flags>. Everything
# else (``xmin =``, ``item [3]:``, ``! comments``) is commentary, as it is for Praat; the scanner
# skips it between matches, and matches brackets and comments only to keep their digits out.
_LEXICON = re.compile(r"""
    (?P<string>"[^"]*(?:""[^"]*)*")
  | (?P<open>")
  | (?P<number>(?<![A-Za-z0-9_.])[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<flag><[^>"\n]*>)
  | ![^\n]* | \[[^\]"\n]*\]
""", re.VERBOSE)


def _tokens(text: str, pos: int, line: int) -> Iterator[_Token]:
    """The numbers, strings and flags of ``text`` from ``pos``, with their line numbers."""
    counted = pos
    for match in _LEXICON.finditer(text, pos):
        kind = match.lastgroup
        if kind is None:
            continue
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if kind == "string":
            yield _Token("string", match.group()[1:-1].replace('""', '"'), line)
        elif kind == "number":
            yield _Token("number", float(match.group()), line)
        elif kind == "flag":
            yield _Token("flag", match.group()[1:-1], line)
        else:
            raise FormatError(f"line {line}: a quoted text never ends (is the file truncated?)")


class _Reader:
    def __init__(self, text: str, offset: int, line: int) -> None:
        self._tokens = list(_tokens(text, offset, line))
        self._pos = 0
        self._line = line
        self._last_line = text.count("\n") + 1

    def next(self, kind: str, what: str) -> object:
        if self._pos >= len(self._tokens):
            raise FormatError(f"line {self._last_line}: the file ends early (truncated?) where "
                              f"{what} should be")
        token = self._tokens[self._pos]
        if token.kind != kind:
            found = f"{token.kind} {_short(str(token.value))!r}"
            raise FormatError(f"line {token.line}: expected {what} (a {kind}), found {found}")
        self._pos += 1
        self._line = token.line
        return token.value

    def number(self, what: str) -> float:
        return float(self.next("number", what))  # type: ignore[arg-type]

    def count(self, what: str) -> int:
        value = self.number(what)
        if value < 0 or value != int(value):
            raise FormatError(f"line {self._line}: {what} must be a whole number, not {value:g}")
        return int(value)

    def string(self, what: str) -> str:
        return str(self.next("string", what))

    def rest(self) -> _Token | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None


@dataclass(frozen=True, slots=True)
class _Grid:
    start: float
    end: float
    tiers: tuple[_Tier, ...]


_HEADER = re.compile(r'\s*File\s+type\s*=\s*"([^"\n]*)"\s*Object\s+class\s*=\s*"([^"\n]*)"')


def _parse_grid(text: str) -> _Grid:
    header = _HEADER.match(text)
    if header is None:
        found = ("binary Praat data; save it from Praat as a text file" if text.startswith("ooBinaryFile")
                 else "no 'File type = \"ooTextFile\"' header")
        raise FormatError(f"not a Praat TextGrid text file ({found})")
    if header.group(1).split()[:1] != ["ooTextFile"]:
        raise FormatError(f"not a Praat text file (File type {header.group(1)!r})")
    if header.group(2) != "TextGrid":
        raise FormatError(f"a Praat {header.group(2)!r} file, not a TextGrid")
    reader = _Reader(text, header.end(), 1 + header.group(0).count("\n"))
    start, end = reader.number("the grid's xmin"), reader.number("the grid's xmax")
    flag = reader.next("flag", "<exists> or <absent> (tiers?)")
    count = reader.count("the number of tiers") if flag == "exists" else 0
    tiers = []
    for number in range(1, count + 1):
        what = f"tier {number} of {count}"
        tier_class = reader.string(f"the class of {what}")
        name = reader.string(f"the name of {what}")
        what = f"tier {number} {name!r}"
        if tier_class not in ("IntervalTier", "TextTier"):
            raise FormatError(f"{what} has the class {tier_class!r}, not IntervalTier or TextTier")
        tier_start, tier_end = reader.number(f"the xmin of {what}"), reader.number(f"the xmax of {what}")
        size = reader.count(f"the number of intervals of {what}")
        entries = []
        for index in range(1, size + 1):
            item = f"{what}: {'interval' if tier_class == 'IntervalTier' else 'point'} {index} of {size}"
            if tier_class == "IntervalTier":
                begin, finish = reader.number(f"the xmin of {item}"), reader.number(f"the xmax of {item}")
                entries.append(_Interval(index, begin, finish, reader.string(f"the text of {item}")))
            else:
                time = reader.number(f"the time of {item}")
                entries.append(_Interval(index, time, time, reader.string(f"the mark of {item}")))
        tiers.append(_Tier(number, name, tier_class == "IntervalTier", tier_start, tier_end, tuple(entries)))
    extra = reader.rest()
    if extra is not None:
        raise FormatError(f"line {extra.line}: unexpected {extra.kind} after the last tier")
    return _Grid(start, end, tuple(tiers))


def _check_grid(grid: _Grid) -> None:
    if grid.start < 0:
        raise FormatError(f"the grid starts at {grid.start:g} s; negative times are not supported")
    if not grid.end > grid.start:
        raise FormatError(f"the grid ends at {grid.end:g} s, not after its start {grid.start:g} s")
    for tier in grid.tiers:
        if tier.start < grid.start - _EPSILON or tier.end > grid.end + _EPSILON:
            raise FormatError(f"spans {tier.start:g}-{tier.end:g} s, outside the grid "
                              f"{grid.start:g}-{grid.end:g} s", where=tier.where())
        previous_end = tier.start
        for interval in tier.intervals:
            if tier.is_interval and not interval.end > interval.start:
                raise FormatError("ends at or before its start", where=tier.where(interval))
            if interval.number == 1 and interval.start < tier.start - _EPSILON:
                raise FormatError(f"starts before its tier ({tier.start:g} s)", where=tier.where(interval))
            if interval.start < previous_end - _EPSILON:
                raise FormatError(f"starts before the end of the previous interval ({previous_end:g} s): "
                                  "intervals overlap or are out of order", where=tier.where(interval))
            if interval.end > tier.end + _EPSILON:
                raise FormatError(f"ends after its tier ({tier.end:g} s)", where=tier.where(interval))
            previous_end = interval.end


# --------------------------------------------------------------------------------------------
# Reading: from tiers to the model


@dataclass
class _SpeakerTiers:
    turns: _Tier | None = None
    words: _Tier | None = None
    disfluencies: _Tier | None = None
    channel: int | None = None


def _classify(tiers: Sequence[_Tier], default_speaker: str) -> dict[str, _SpeakerTiers]:
    layout: dict[str, _SpeakerTiers] = {}
    for tier in tiers:
        if not tier.is_interval:
            continue
        if not tier.name.strip():
            raise FormatError("has no name, so it names no speaker", where=tier.where())
        speaker, kind, channel = _name_parts(tier.name, default_speaker)
        if kind == "phones":
            continue
        entry = layout.setdefault(speaker, _SpeakerTiers())
        if getattr(entry, kind) is not None:
            raise FormatError(f"a second {kind} tier for speaker {speaker!r} "
                              f"(the first is tier {getattr(entry, kind).number})", where=tier.where())
        setattr(entry, kind, tier)
        if channel is not None:
            if entry.channel is not None and entry.channel != channel:
                raise FormatError(f"puts speaker {speaker!r} on channel {channel + 1}, another tier on "
                                  f"channel {entry.channel + 1}", where=tier.where())
            entry.channel = channel
    for speaker, entry in layout.items():
        if entry.disfluencies is not None and entry.words is None:
            raise FormatError(f"needs the words tier '{speaker} - words' to place its labels",
                              where=entry.disfluencies.where())
    return layout


def _name_parts(name: str, default_speaker: str) -> tuple[str, str, int | None]:
    """(speaker, kind, channel) of a tier name, by the rules of the module docstring."""
    speaker, sep, kind = name.rpartition(" - ")
    if sep and speaker.strip() and kind.strip().lower() in _KINDS:
        return speaker, _KINDS[kind.strip().lower()], None
    if name.strip().lower() in ("words", "phones"):
        return default_speaker, name.strip().lower(), None
    match = _UNDERSCORE_NAME.match(name)
    if match:
        channel = match.group("channel")
        return match.group("speaker"), _KINDS[match.group("kind")], None if channel is None else int(channel) - 1
    return name, "turns", None


def _labelled(tier: _Tier) -> Iterator[_Interval]:
    return (i for i in tier.intervals if i.label.strip())


def _located(err: InputError, where: str) -> FormatError:
    return FormatError(err.problem, where=f"{where}: {err.where}" if err.where else where)


def _read_words(tier: _Tier) -> list[tuple[Word, _Interval]]:
    words = []
    for interval in _labelled(tier):
        text = interval.label.strip()
        if any(ch.isspace() for ch in text):
            raise FormatError("a word label cannot contain whitespace", where=tier.where(interval))
        try:
            words.append((Word(text, interval.start, interval.end), interval))
        except ModelError as err:
            raise _located(err, tier.where(interval)) from None
    return words


@dataclass(frozen=True, slots=True)
class _Span:
    start: float
    end: float
    text: str | None  # None: the words joined by spaces
    tier: _Tier
    interval: _Interval


def _turn_spans(entry: _SpeakerTiers, words: list[tuple[Word, _Interval]], max_pause: float) -> list[_Span]:
    if entry.turns is not None:
        spans = []
        for interval in _labelled(entry.turns):
            label = interval.label.strip()
            spans.append(_Span(interval.start, interval.end, "" if label == NO_TEXT else label,
                               entry.turns, interval))
        return spans
    assert entry.words is not None
    spans = []
    for word, interval in words:
        assert word.start is not None and word.end is not None
        if spans and word.start - spans[-1].end < max_pause:
            spans[-1] = _Span(spans[-1].start, word.end, None, entry.words, spans[-1].interval)
        else:
            spans.append(_Span(word.start, word.end, None, entry.words, interval))
    return spans


def _speaker_turns(speaker: str, entry: _SpeakerTiers, max_pause: float) -> list[Turn]:
    words = _read_words(entry.words) if entry.words is not None else []
    spans = _turn_spans(entry, words, max_pause)
    grouped: list[list[Word]] = [[] for _ in spans]
    index = 0
    for word, interval in words:
        assert word.start is not None and word.end is not None
        while index < len(spans) and to_ms(spans[index].end) < to_ms(word.end):
            index += 1
        if index == len(spans) or to_ms(word.start) < to_ms(spans[index].start):
            assert entry.words is not None
            raise FormatError(f"lies outside every turn of speaker {speaker!r}",
                              where=entry.words.where(interval))
        grouped[index].append(word)
    turns: list[Turn] = []
    for number, (span, turn_words) in enumerate(zip(spans, grouped), 1):
        text = span.text if span.text is not None else " ".join(w.text for w in turn_words)
        try:
            turns.append(Turn(speaker, span.start, span.end, channel=entry.channel, text=text,
                              words=turn_words, id=f"{speaker}-{number:05d}"))
        except ModelError as err:
            raise _located(err, span.tier.where(span.interval)) from None
    if entry.disfluencies is not None:
        turns = _attach_disfluencies(entry.disfluencies, turns)
    return turns


def _attach_disfluencies(tier: _Tier, turns: list[Turn]) -> list[Turn]:
    where_word: dict[tuple[int, int], tuple[int, int]] = {}
    for t, turn in enumerate(turns):
        for w, word in enumerate(turn.words):
            where_word[(to_ms(word.start), to_ms(word.end))] = (t, w)  # type: ignore[arg-type]
    # per turn: number -> [type, {word indices}, {role: {word indices}}, first interval]
    numbered: dict[int, dict[int, list]] = defaultdict(dict)
    single: dict[int, list[tuple[DisfluencyType, int, Role | None, _Interval]]] = defaultdict(list)
    for interval in _labelled(tier):
        key = (to_ms(interval.start), to_ms(interval.end))
        if key not in where_word:
            raise FormatError("does not coincide with a word of the speaker's words tier",
                              where=tier.where(interval))
        t, w = where_word[key]
        for item in interval.label.split():
            match = _ITEM.match(item)
            if not match:
                raise FormatError(f"{item!r} is not a disfluency label (TYPE[#N][.ROLE], e.g. FP, "
                                  "REV#2.RM)", where=tier.where(interval))
            kind, number, role_name = DisfluencyType(match.group(1)), match.group(2), match.group(3)
            role = Role(role_name) if role_name else None
            if number is None:
                single[t].append((kind, w, role, interval))
                continue
            slot = numbered[t].setdefault(int(number), [kind, set(), defaultdict(set), interval])
            if slot[0] is not kind:
                raise FormatError(f"{item!r}: disfluency #{number} of this turn is a {slot[0].value}",
                                  where=tier.where(interval))
            slot[1].add(w)
            if role is not None:
                slot[2][role].add(w)
    result = []
    for t, turn in enumerate(turns):
        found: list[Disfluency] = []
        for number, (kind, members, roles, interval) in sorted(numbered[t].items()):
            found.append(_disfluency(tier, interval, turn, kind, members, roles, f"#{number}"))
        for kind, w, role, interval in single[t]:
            found.append(_disfluency(tier, interval, turn, kind, {w}, {role: {w}} if role else {}, ""))
        result.append(turn.with_words(turn.words, _canonical(found)) if found else turn)
    return result


def _disfluency(tier: _Tier, interval: _Interval, turn: Turn, kind: DisfluencyType, members: set[int],
                roles: dict[Role, set[int]], number: str) -> Disfluency:
    def span(indices: set[int], what: str) -> WordRange:
        low, high = min(indices), max(indices) + 1
        if len(indices) != high - low:
            raise FormatError(f"the words of {kind.value}{number}{what} are not contiguous",
                              where=tier.where(interval))
        return WordRange(low, high)

    words = span(members, "")
    ranges = {role: span(indices, f" {role.value}") for role, indices in roles.items()}
    try:
        return Disfluency(kind, words, reparandum=ranges.get(Role.REPARANDUM),
                          interregnum=ranges.get(Role.INTERREGNUM), repair=ranges.get(Role.REPAIR),
                          start=turn.words[words.start].start, end=turn.words[words.stop - 1].end)
    except ModelError as err:
        raise _located(err, tier.where(interval)) from None


def parse_textgrid(text: str, *, source: str = "TextGrid", conversation_id: str | None = None,
                   speaker: str | None = None, max_pause: float = DEFAULT_MAX_PAUSE,
                   origin: Origin = "reference", annotator: str | None = None) -> tuple[Conversation, Annotation]:
    """Read the text of a TextGrid (see the module docstring for how tiers are understood).

    ``source`` names the text in error messages; the conversation id is ``conversation_id`` or
    the stem of ``source``. ``speaker`` names the speaker of bare ``words`` tiers (default: the
    conversation id). ``max_pause`` is the longest pause inside a turn built from words.

    Raises:
        FormatError: the first problem, as ``"<source>: tier 2 'A - words': interval 7 …: …"``.
    """
    conversation_id = conversation_id or Path(source).stem or source
    try:
        grid = _parse_grid(text.lstrip("\ufeff"))
        _check_grid(grid)
        layout = _classify(grid.tiers, speaker or conversation_id)
        turns = [turn for name in sorted(layout) for turn in _speaker_turns(name, layout[name], max_pause)]
        channels = [e.channel for e in layout.values() if e.channel is not None]
        conversation = Conversation(
            conversation_id, duration=grid.end, channels=max(channels) + 1 if channels else 1,
            speakers=tuple(Speaker(name, layout[name].channel) for name in sorted(layout)))
        annotation = Annotation(task_id=conversation_id, turns=turns, origin=origin, annotator=annotator)
    except InputError as err:
        raise FormatError(err.problem, where=f"{source}: {err.where}" if err.where else source) from None
    return conversation, annotation


def read_textgrid(path: str | os.PathLike[str], *, conversation_id: str | None = None,
                  speaker: str | None = None, max_pause: float = DEFAULT_MAX_PAUSE,
                  origin: Origin = "reference", annotator: str | None = None) -> tuple[Conversation, Annotation]:
    """Read a TextGrid file; the options are those of :func:`parse_textgrid`.

    The conversation id is ``conversation_id`` or the file's stem, its duration the grid's xmax.

    Raises:
        FormatError: the file cannot be read or is not a valid TextGrid (one line naming it).
    """
    path = Path(path)
    # Praat's "try ISO Latin-1, then UTF-16" preference writes Latin-1 without a marker.
    text = read_text(path, encodings=("utf-16", "utf-8-sig", "latin-1"))
    return parse_textgrid(text, source=str(path),
                          conversation_id=conversation_id or path.stem, speaker=speaker,
                          max_pause=max_pause, origin=origin, annotator=annotator)
