"""Switchboard disfluency markup (Meteer et al. 1995, the Treebank-3 ``.dps`` conventions).

``{F uh}`` filled pause (FP), ``{D you know}`` discourse marker (DM), ``{E I mean}`` editing
term (ET); ``{C and}`` (coordinating conjunction) and ``{A …}`` (aside) are ordinary words.
``[ reparandum + {E I mean} repair ]`` is a repair: the groups right after ``+`` form the
interregnum, the rest the repair. It is a repetition (REP) when the repair says the reparandum
again (a partial word counts as the word it starts), a revision (REV) when it differs, and a
false start (FS) when the repair is empty (``[ we were + ]``). Repairs nest:
``[ [ I + I ] + I ]`` is three REPs deep in two. Partial words (``th-``) also yield PW spans.

Slash-unit marks (``/``, ``-/``), ``#`` overlap marks, ``--`` and punctuation are not words;
``<laughter>``, ``[noise]`` and ``{breath}`` are events; ``<<comments>>`` are dropped; ``(( ))``
marks uncertain words as in :func:`casper_qc.conventions.tokenize`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .conventions import (DEFAULT_LEXICON, Lexicon, _clean, _EVENT_BODY, _unbalanced, _where, event_text,
                          normalize, token_kind)
from .errors import FormatError, InputError
from .labels import DisfluencyType, WordKind
from .model import Disfluency, Word

__all__ = ["parse_swbd", "repair_type"]

_GROUP_TYPES = {"F": DisfluencyType.FP, "D": DisfluencyType.DM, "E": DisfluencyType.ET, "C": None, "A": None}

_LEXEME = re.compile(r"""
    (?P<group>\{[FDECA])(?=\s|\}) |
    (?P<gclose>\}) |
    (?P<open>\[)(?=\s|\[|\]) |
    (?P<close>\]) |
    (?P<ip>\+) |
    (?P<comment><<[^<>]*>>) |
    (?P<uopen>\(\() | (?P<uclose>\)\)) |
    \[(?P<sq>[^\[\]\s+][^\[\]+]*)\] | <(?P<an>[^<>]*)> | \{(?P<br>[^{}FDECA\s][^{}]*|[FDECA][^{}\s][^{}]*)\} |
    (?P<bad>[\[<>{]) |
    (?P<word>[^\s\[\]<>{}+]+?)(?=\s|$|\(\(|\)\)|[\[\]<>{}+])
""", re.VERBOSE)

_NOT_WORDS = frozenset({"/", "-/", "#", "--", "-"})


@dataclass(eq=False)  # frames are found on the stack by identity
class _Group:
    kind: str
    offset: int
    first: int  # index of its first word
    interregnum: bool = False  # opened right after a '+', before any repair word


@dataclass(eq=False)
class _Repair:
    offset: int
    first: int
    ip: int | None = None  # word index at the '+'
    repair_from: int | None = None  # first repair word
    groups: list[_Group] = field(default_factory=list)


def repair_type(reparandum: list[str], repair: list[str]) -> DisfluencyType:
    """REP when the repair says the reparandum again, REV when it differs, FS when it is empty.

    Forms are compared normalized; a partial word matches a word it begins (``th-`` ~ ``the``).
    """
    if not repair:
        return DisfluencyType.FS
    if len(reparandum) != len(repair):
        return DisfluencyType.REV
    for a, b in zip(reparandum, repair):
        if a == b:
            continue
        if a.endswith("-") and b.startswith(a[:-1]) and len(a) > 1:
            continue
        return DisfluencyType.REV
    return DisfluencyType.REP


def parse_swbd(text: str, *, lexicon: Lexicon | None = None
               ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """Words and disfluencies of a text in Switchboard markup.

    Returns the words (markup removed) and FP/DM/ET, PW and REP/REV/FS disfluencies sorted by
    span. Word kinds follow :func:`~casper_qc.conventions.token_kind`; words inside ``{F …}``
    are fillers.

    Raises:
        FormatError: a bracket, brace or ``+`` that does not balance, an empty reparandum, or a
            repair without ``+``, naming the column (``line L, column C`` in multi-line text).
    """
    if not isinstance(text, str):
        raise InputError(f"a transcript must be text, not {type(text).__name__}")
    lexicon = lexicon or DEFAULT_LEXICON
    words: list[Word] = []
    forms: list[str] = []
    spans: list[Disfluency] = []
    stack: list[_Group | _Repair] = []
    repairs: list[_Repair] = []  # the open repairs, innermost last
    uncertain_at: int | None = None
    uncertain_from = 0
    deleted: set[int] = set()  # words a fluent version drops: inner reparanda, interregna, FP/ET

    def fail(problem: str, offset: int) -> FormatError:
        return FormatError(problem, where=_where(text, offset))

    def starting_word(is_interregnum: bool) -> None:
        """A word (or a nested repair) is about to begin: it may start the enclosing repair."""
        if repairs:
            rep = repairs[-1]
            if rep.ip is not None and rep.repair_from is None and not is_interregnum:
                rep.repair_from = len(words)

    def in_interregnum() -> bool:
        if not repairs:
            return False
        rep = repairs[-1]
        return rep.ip is not None and rep.repair_from is None and any(
            isinstance(g, _Group) and g.interregnum for g in stack[stack.index(rep) + 1:])

    def add(word: Word, is_event: bool = False) -> None:
        starting_word(is_event or in_interregnum())
        words.append(word)
        forms.append(normalize(word.text))

    for match in _LEXEME.finditer(text):
        kind, offset = match.lastgroup, match.start()
        if kind == "group":
            letter = match.group()[1]
            group = _Group(letter, offset, len(words))
            if repairs and letter in "FDE":
                rep = repairs[-1]
                group.interregnum = (rep.ip is not None and rep.repair_from is None
                                     and stack[-1] is rep)
            stack.append(group)
        elif kind == "gclose":
            if not stack or not isinstance(stack[-1], _Group):
                opener = f" (the '[' at {_where(text, stack[-1].offset)} is still open)" if stack else ""
                raise fail(f"'}}' closes no {{F/D/E/C/A}} group{opener}", offset)
            group = stack.pop()
            label = _GROUP_TYPES[group.kind]
            if label is not None and len(words) > group.first:
                if label is not DisfluencyType.DM:
                    deleted.update(range(group.first, len(words)))
                first, last = words[group.first], words[-1]
                spans.append(Disfluency(label, (group.first, len(words)), start=first.start, end=last.end))
        elif kind == "open":
            starting_word(False)
            rep = _Repair(offset, len(words))
            stack.append(rep)
            repairs.append(rep)
        elif kind == "ip":
            if not repairs or stack[-1] is not repairs[-1]:
                if stack and isinstance(stack[-1], _Group):
                    raise fail(f"'+' inside the {{{stack[-1].kind} group opened at "
                               f"{_where(text, stack[-1].offset)}", offset)
                raise fail("'+' outside a [ reparandum + repair ] bracket", offset)
            rep = repairs[-1]
            if rep.ip is not None:
                raise fail(f"a second '+' in the repair opened at {_where(text, rep.offset)}", offset)
            if len(words) == rep.first:
                raise fail(f"empty reparandum before '+' in the repair opened at {_where(text, rep.offset)}", offset)
            rep.ip = len(words)
        elif kind == "close":
            if not stack or not isinstance(stack[-1], _Repair):
                if stack:
                    raise fail(f"']' closes the {{{stack[-1].kind} group opened at "
                               f"{_where(text, stack[-1].offset)}", offset)
                raise fail("']' closes no '[' repair", offset)
            rep = stack.pop()
            repairs.pop()
            if rep.ip is None:
                raise fail(f"the repair opened at {_where(text, rep.offset)} has no '+'", offset)
            span = _structured(rep, len(words), forms, words, deleted)
            spans.append(span)
            deleted.update(span.reparandum)
            if span.interregnum is not None:
                deleted.update(span.interregnum)
        elif kind == "uopen":
            if uncertain_at is not None:
                raise fail(f"'((' inside another '((' opened at {_where(text, uncertain_at)}", offset)
            uncertain_at = offset
            uncertain_from = len(words)
        elif kind == "uclose":
            if uncertain_at is None:
                raise fail("'))' closes nothing", offset)
            if len(words) == uncertain_from:
                add(Word("[unintelligible]", kind=WordKind.EVENT), is_event=True)
            uncertain_at = None
        elif kind == "comment":
            continue
        elif kind == "bad":
            raise fail(_unbalanced(match.group()), offset)
        elif kind == "word":
            raw = match.group()
            if raw in _NOT_WORDS:
                continue
            token = _clean(raw)
            if not normalize(token):
                continue
            in_filler = any(isinstance(g, _Group) and g.kind == "F" for g in stack)
            word_kind = token_kind(token, lexicon)
            if in_filler and word_kind is WordKind.WORD:
                word_kind = WordKind.FILLER
            add(Word(token, kind=word_kind, uncertain=uncertain_at is not None))
        else:  # an event in brackets
            body = match.group(kind).strip()
            if not _EVENT_BODY.fullmatch(body):
                raise fail(f"{match.group()!r} is not an event like [laughter]", offset)
            add(Word(event_text(body), kind=WordKind.EVENT, uncertain=uncertain_at is not None), is_event=True)
    if stack:
        top = stack[-1]
        what = "'['" if isinstance(top, _Repair) else f"'{{{top.kind}'"
        raise fail(f"{what} is never closed", top.offset)
    if uncertain_at is not None:
        raise fail("'((' is never closed", uncertain_at)
    for i, word in enumerate(words):
        if word.kind is WordKind.PARTIAL:
            spans.append(Disfluency(DisfluencyType.PW, (i, i + 1)))
    spans.sort(key=lambda d: (d.words.start, -d.words.stop, d.type.value))
    return tuple(words), tuple(spans)


def _structured(rep: _Repair, end: int, forms: list[str], words: list[Word],
                deleted: set[int]) -> Disfluency:
    assert rep.ip is not None
    repair_from = rep.repair_from if rep.repair_from is not None else end
    reparandum = (rep.first, rep.ip)
    interregnum = (rep.ip, repair_from) if repair_from > rep.ip else None
    repair = (repair_from, end) if end > repair_from else None
    def fluent(start: int, stop: int) -> list[str]:
        return [forms[i] for i in range(start, stop) if i not in deleted
                and words[i].kind is not WordKind.FILLER and words[i].kind is not WordKind.EVENT]

    if repair is None:
        kind = DisfluencyType.FS
    else:
        reparandum_forms, repair_forms = fluent(rep.first, rep.ip), fluent(repair_from, end)
        kind = repair_type(reparandum_forms, repair_forms)
        if kind is DisfluencyType.FS:  # a repair of fillers only: "[ {F uh} + {F um} x ]"-like
            kind = DisfluencyType.REV if reparandum_forms else DisfluencyType.REP
    first, last = words[rep.first], words[end - 1]
    start, stop = (first.start, last.end) if first.timed and last.timed else (None, None)
    return Disfluency(kind, (rep.first, end), reparandum=reparandum, interregnum=interregnum,
                      repair=repair, start=start, end=stop)
