"""CHAT markup (TalkBank, MacWhinney's CHAT manual): main tiers and ``%wor`` word times.

On a main tier: ``&-uh`` is a filler (FP), ``&+fr`` a fragment (a partial word ``fr-``, PW),
``&=laughs`` an event (``[laughter]``), ``xxx``/``yyy``/``www`` unintelligible speech. A retrace
code applies to the word before it or to the ``<…>`` group before it:

* ``[/]`` retracing without correction -> REP; the repair is the words after it that say the
  reparandum again (``<i like i like> [/] i like beans``: the repair is ``i like``);
* ``[//]`` retracing with correction -> REV; the repair is as many words as the reparandum;
* ``[///]`` reformulation and ``[/-]`` false start without retracing -> FS (no repair);
* ``[/?]`` unclear retracing -> REP or REV, whichever the words show.

Fillers and events right after a retrace code are its interregnum. ``[?]`` makes the words of
its scope uncertain. Other codes (``[: …]``, ``[*]``, ``[=! …]``, ``[<]``, ``[+ …]`` …), pauses
``(.)``, omitted words (``0is``), linkers and terminators (``+<``, ``+/.``, ``+//.``, ``+...``)
are not words. ``+/.`` and ``+//.`` (interruptions) are not treated as false starts: CHAT does not
say which words a fluent version would drop.

:func:`read_chat` reads a ``.cha`` file into :class:`ChatUtterance` records whose words carry the
times of the ``%wor`` tier (milliseconds in the file, seconds here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from .conventions import DEFAULT_LEXICON, Lexicon, _clean, _unbalanced, _where, event_text, normalize, token_kind
from .errors import FormatError, InputError
from .fileio import decode_text, read_bytes
from .labels import DisfluencyType, WordKind
from .markup_swbd import repair_type
from .model import Disfluency, Turn, Word

__all__ = ["parse_chat", "read_chat", "ChatUtterance"]

_LEXEME = re.compile(r"""
    \x15(?P<bullet>\d+_\d+)\x15 |
    \[(?P<code>[^\[\]]*)\] |
    (?P<bad>[\[\]]) |
    (?P<linker>\+[^\s\[\]\x15]*) |
    (?P<gopen><) | (?P<gclose>>) |
    (?P<pause>\((?:\.+|\d+(?::\d+)?(?:\.\d*)?)\)) |
    (?P<word>[^\s\[\]<>\x15]+)
""", re.VERBOSE)

_RETRACE = {"/": DisfluencyType.REP, "//": DisfluencyType.REV, "///": DisfluencyType.FS,
            "/-": DisfluencyType.FS, "/?": None}
_UNINTELLIGIBLE = frozenset({"xxx", "yyy", "www"})
_SPEAKER_PREFIX = re.compile(r"^\*([^:\s]+):\s*")
# Marks inside a CHAT word that are not part of its spelling: lengthening, stress, pauses.
_WORD_MARKS = str.maketrans("", "", "():^\u2191\u2193\u02c8\u02cc\u2260\u223e\u2248\u2261")


def _word(token: str, lexicon: Lexicon) -> Word | None:
    """The word a main-tier token stands for, or None when it is not a word."""
    if token.startswith("&"):
        kind, body = token[:2], _clean(token[2:].split("@")[0])
        if not body:
            return None
        if kind == "&-":
            return Word(body, kind=WordKind.FILLER)
        if kind == "&+":
            return Word(body.rstrip("-") + "-", kind=WordKind.PARTIAL)
        if kind == "&=":
            return Word(event_text(body.replace("_", " ").split(":")[0]), kind=WordKind.EVENT)
        if kind == "&~":
            return Word(body)
        return None  # &* interposed words of another speaker, and unknown & codes
    if token.startswith("0"):
        return None  # an omitted word: not spoken
    spelling, _, form_marker = token.partition("@")
    text = _clean(spelling.translate(_WORD_MARKS))
    if not normalize(text):
        return None
    if normalize(text) in _UNINTELLIGIBLE:
        return Word("[unintelligible]", kind=WordKind.EVENT)
    if form_marker == "fp":
        return Word(text, kind=WordKind.FILLER)
    return Word(text, kind=token_kind(text, lexicon))


def parse_chat(text: str, *, lexicon: Lexicon | None = None
               ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """Words and disfluencies of one CHAT main tier (with or without its ``*SPK:`` prefix).

    Raises:
        FormatError: an unbalanced ``<``/``>`` or ``[``/``]``, or a retrace code with no word
            before it, naming the column.
    """
    if not isinstance(text, str):
        raise InputError(f"a transcript must be text, not {type(text).__name__}")
    lexicon = lexicon or DEFAULT_LEXICON
    prefix = _SPEAKER_PREFIX.match(text)
    base = prefix.end() if prefix else 0
    words: list[Word] = []
    groups: list[tuple[int, int]] = []  # (offset, first word) of open <…>
    scope: tuple[int, int] | None = None  # word range the next code applies to
    retraces: list[tuple[DisfluencyType | None, int, int]] = []

    def fail(problem: str, offset: int) -> FormatError:
        return FormatError(problem, where=_where(text, offset))

    for match in _LEXEME.finditer(text, base):
        kind, offset = match.lastgroup, match.start()
        if kind == "word":
            word = _word(match.group(), lexicon)
            if word is not None:
                words.append(word)
                scope = (len(words) - 1, len(words))
        elif kind == "gopen":
            groups.append((offset, len(words)))
            scope = None
        elif kind == "gclose":
            if not groups:
                raise fail("'>' closes no '<' group", offset)
            _, first = groups.pop()
            scope = (first, len(words)) if len(words) > first else None
        elif kind == "code":
            code = match.group("code").strip()
            if code in _RETRACE:
                if scope is None:
                    raise fail(f"[{code}] follows no word or <group>", offset)
                retraces.append((_RETRACE[code], *scope))
            elif code == "?" and scope is not None:
                from dataclasses import replace

                for i in range(*scope):
                    words[i] = replace(words[i], uncertain=True)
        elif kind == "bad":
            raise fail(_unbalanced(match.group()), offset)
        # bullets, pauses, linkers and terminators are not words
    if groups:
        raise fail("'<' is never closed", groups[-1][0])
    spans = [_retrace(kind, start, stop, words) for kind, start, stop in retraces]
    for i, word in enumerate(words):
        if word.kind is WordKind.FILLER:
            spans.append(Disfluency(DisfluencyType.FP, (i, i + 1), start=word.start, end=word.end))
        elif word.kind is WordKind.PARTIAL:
            spans.append(Disfluency(DisfluencyType.PW, (i, i + 1), start=word.start, end=word.end))
    spans.sort(key=lambda d: (d.words.start, -d.words.stop, d.type.value))
    return tuple(words), tuple(spans)


def _lexical(word: Word) -> bool:
    return word.kind is not WordKind.FILLER and word.kind is not WordKind.EVENT


def _retrace(kind: DisfluencyType | None, start: int, stop: int, words: list[Word]) -> Disfluency:
    """The disfluency a retrace code marks on ``words[start:stop]``."""
    n = len(words)
    after = stop
    while after < n and not _lexical(words[after]):
        after += 1
    reparandum = [normalize(w.text) for w in words[start:stop] if _lexical(w)]
    following = [i for i in range(after, n) if _lexical(words[i])]
    repair_len = 0
    if kind is DisfluencyType.REP or kind is None:
        while (repair_len < min(len(reparandum), len(following))
               and normalize(words[following[repair_len]].text) == reparandum[repair_len]):
            repair_len += 1
    if repair_len == 0 and kind is not DisfluencyType.FS:
        repair_len = min(len(reparandum), len(following))
    if kind is DisfluencyType.FS or repair_len == 0:
        kind, repair, end = DisfluencyType.FS, None, after
    else:
        end = following[repair_len - 1] + 1
        repair = (after, end)
        if kind is None:
            kind = repair_type(reparandum, [normalize(words[i].text) for i in following[:repair_len]])
    interregnum = (stop, after) if after > stop else None
    first, last = words[start], words[end - 1]
    times = (first.start, last.end) if first.timed and last.timed else (None, None)
    return Disfluency(kind, (start, end), reparandum=(start, stop), interregnum=interregnum,
                      repair=repair, start=times[0], end=times[1])


# --- files -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChatUtterance:
    """One main tier of a CHAT file: who, where (``line``), the words with ``%wor`` times
    where the file has them, and the disfluencies its codes mark. ``start``/``end`` are the
    utterance's bullet (seconds), or None."""

    speaker: str
    line: int
    text: str
    words: tuple[Word, ...]
    disfluencies: tuple[Disfluency, ...]
    start: float | None = None
    end: float | None = None

    def to_turn(self, channel: int | None = None) -> Turn:
        """The utterance as a :class:`~casper_qc.model.Turn` spanning its bullet and word times.

        Raises:
            InputError: the utterance has no times at all.
        """
        starts = [w.start for w in self.words if w.start is not None]
        ends = [w.end for w in self.words if w.end is not None]
        if self.start is not None and self.end is not None:
            starts.append(self.start)
            ends.append(self.end)
        if not starts:
            raise InputError("utterance has no time bullet and no %wor times", where=f"line {self.line}")
        return Turn(self.speaker, min(starts), max(ends), channel=channel, text=self.text,
                    words=self.words, disfluencies=self.disfluencies)


_WOR_TOKEN = re.compile(r"\x15(?P<start>\d+)_(?P<end>\d+)\x15|(?P<token>[^\s\x15]+)")
_BULLET = re.compile(r"\x15(\d+)_(\d+)\x15")


def _wor_times(text: str) -> list[tuple[str, float | None, float | None]]:
    """(normalized form, start, end) of each word of a %wor tier."""
    out: list[tuple[str, float | None, float | None]] = []
    for match in _WOR_TOKEN.finditer(text):
        if match.group("token") is not None:
            token = match.group("token")
            if token.startswith("+") or token.startswith("0"):
                continue
            form = normalize(token.lstrip("&-+=~").split("@")[0].translate(_WORD_MARKS)).rstrip("-")
            if form:
                out.append((form, None, None))
        elif out and out[-1][1] is None:
            start, end = int(match.group("start")) / 1000, int(match.group("end")) / 1000
            if start < end:
                out[-1] = (out[-1][0], start, end)
    return out


def _with_times(words: tuple[Word, ...], wor: list[tuple[str, float | None, float | None]]) -> tuple[Word, ...]:
    from dataclasses import replace

    index = [i for i, w in enumerate(words) if w.kind is not WordKind.EVENT]
    forms = [normalize(words[i].text).rstrip("-") for i in index]
    matcher = SequenceMatcher(None, forms, [f for f, _, _ in wor], autojunk=False)
    out = list(words)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            _, start, end = wor[b + k]
            if start is not None:
                out[index[a + k]] = replace(out[index[a + k]], start=start, end=end)
    return tuple(out)


def _timed_spans(words: tuple[Word, ...], spans: tuple[Disfluency, ...]) -> tuple[Disfluency, ...]:
    from dataclasses import replace

    out = []
    for span in spans:
        first, last = words[span.words.start], words[span.words.stop - 1]
        if first.timed and last.timed and first.start < last.end:
            span = replace(span, start=first.start, end=last.end)
        out.append(span)
    return tuple(out)


def read_chat(path: str | Path, *, lexicon: Lexicon | None = None) -> tuple[ChatUtterance, ...]:
    """The utterances of a CHAT (``.cha``) file, in order, words timed from ``%wor`` tiers.

    Main tiers (``*SPK:``) may continue on lines that start with a tab. Words of the main tier
    are matched to ``%wor`` words by form (fillers, fragments and retraced words included);
    a word without a ``%wor`` time stays untimed. Headers and other tiers are skipped.

    Raises:
        FormatError: text that is not UTF-8, a line that is no header, tier or continuation, or
            main-tier markup that does not balance, naming the file and line.
    """
    path = Path(path)
    text = decode_text(read_bytes(path, error=InputError), str(path))
    tiers: list[list] = []  # [kind, name, line, text]; kind '*' main, '%' dependent, '@' header
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line[0] in "*%@":
            name, sep, rest = line[1:].partition(":")
            if line[0] != "@" and not sep:
                raise FormatError(f"tier {line[:20]!r} has no ':'", where=f"{path}: line {number}")
            tiers.append([line[0], name.strip(), number, rest.strip() if sep else ""])
        elif line[0] in " \t" and tiers:
            tiers[-1][3] += " " + line.strip()
        else:
            raise FormatError(f"{line[:20]!r} is not a CHAT header, tier or continuation line",
                              where=f"{path}: line {number}")
    utterances: list[ChatUtterance] = []
    for k, (kind, name, number, body) in enumerate(tiers):
        if kind != "*":
            continue
        try:
            words, spans = parse_chat(body, lexicon=lexicon)
        except InputError as err:
            raise err.at(f"{path}: line {number}") from None
        for dep_kind, dep_name, _, dep_body in tiers[k + 1:]:
            if dep_kind != "%":
                break
            if dep_name == "wor":
                words = _with_times(words, _wor_times(dep_body))
                spans = _timed_spans(words, spans)
        bullet = _BULLET.search(body)
        start = end = None
        if bullet and int(bullet.group(1)) < int(bullet.group(2)):
            start, end = int(bullet.group(1)) / 1000, int(bullet.group(2)) / 1000
        clean = _BULLET.sub("", body).strip()
        utterances.append(ChatUtterance(name, number, clean, words, spans, start, end))
    return tuple(utterances)
