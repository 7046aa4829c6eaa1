"""Transcription conventions: the label set, filler lexicons, and verbatim transcripts.

A verbatim transcript writes every word as spoken, with these conventions (the annotators'
guide is ``label_configs/README.md``):

* fillers as words: ``uh``, ``um``, ``er``, ``hm``, ``mm`` … (the :class:`Lexicon` says which);
* a cut-off word with a hyphen where it stops: ``th-`` (a partial word);
* non-speech events in brackets: ``[laughter]``, ``<noise>``, ``{breath}``, ``(coughs)``;
* words the transcriber is unsure of inside double parentheses: ``((maybe this))``; an empty
  ``(( ))`` is unintelligible speech.

:func:`tokenize` turns such text into :class:`~casper_qc.model.Word` records;
:func:`parse_transcript` also reads Switchboard markup (:mod:`casper_qc.markup_swbd`) and CHAT
markup (:mod:`casper_qc.markup_chat`) into words and
:class:`~casper_qc.model.Disfluency` records; :func:`parse_transcript_cached` does the same for
bulk readers, parsing each distinct text once. Bad markup raises
:class:`~casper_qc.errors.FormatError` whose message names the column.

Word forms are compared through :func:`normalize`: lower case, apostrophes and punctuation
dropped, hyphens kept (``"It's,"`` -> ``"its"``, ``"th-"`` -> ``"th-"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import FormatError, InputError
from .fileio import read_text
from .labels import SIMPLE_TYPES, STRUCTURED_TYPES, WORD_TAGS, DisfluencyType, EventType, Role, WordKind
from .model import Disfluency, Word

__all__ = [
    # the canonical label set, re-exported from casper_qc.labels
    "DisfluencyType", "EventType", "Role", "WordKind", "SIMPLE_TYPES", "STRUCTURED_TYPES", "WORD_TAGS",
    "Lexicon", "DEFAULT_LEXICON", "read_lexicon",
    "normalize", "event_text", "token_kind", "tokenize", "detect_markup", "parse_transcript",
    "parse_transcript_cached", "parse_swbd", "parse_chat", "read_chat", "MARKUPS",
]

MARKUPS = ("auto", "verbatim", "swbd", "chat")

# Punctuation a word form sheds when compared; the hyphen stays (it marks partial words).
_DROP = "".join(ch for ch in "!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~" if ch != "-") + "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u00bf\u00a1"
_DROP_TABLE = str.maketrans("", "", _DROP)


def normalize(token: str) -> str:
    """The form a token is compared by: lower case, without apostrophes or punctuation.

    Hyphens stay, so partial words keep their mark; a token without a letter or digit (punctuation,
    dashes, ``‡``) becomes ``""``.
    """
    form = token.lower().translate(_DROP_TABLE)
    if form.isalnum():
        return form
    return form if any(ch.isalnum() for ch in form) else ""


def _phrase(entry: str, what: str) -> str:
    if not isinstance(entry, str):
        raise InputError(f"{what} entry must be a string, not {type(entry).__name__}")
    words = [normalize(w) for w in entry.split()]
    words = [w for w in words if w]
    if not words:
        raise InputError(f"{what} entry {entry!r} has no word in it")
    return " ".join(words)


def _phrases(entries: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(entries, str):
        entries = (entries,)
    return frozenset(_phrase(e, what) for e in entries)


@dataclass(frozen=True)
class Lexicon:
    """Closed word lists: fillers (FP), discourse markers (DM) and editing terms (ET).

    Entries may be phrases (``"you know"``); they are stored normalized (see :func:`normalize`)
    as single-space-joined words, so ``"I'm sorry"`` matches the words ``i'm sorry``. A phrase
    may belong to one list only. Build one with :meth:`build` (user word lists), extend one with
    :meth:`extended`, or read one with :func:`read_lexicon`.
    """

    fillers: frozenset[str] = field(default_factory=frozenset)
    discourse_markers: frozenset[str] = field(default_factory=frozenset)
    editing_terms: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = (("fillers", "filler"), ("discourse_markers", "discourse marker"),
                 ("editing_terms", "editing term"))
        seen: dict[str, str] = {}
        for attr, what in names:
            phrases = _phrases(getattr(self, attr), what)
            object.__setattr__(self, attr, phrases)
            for phrase in sorted(phrases):
                if phrase in seen:
                    raise InputError(f"lexicon: {phrase!r} is both a {seen[phrase]} and a {what}")
                seen[phrase] = what

    @classmethod
    def build(cls, fillers: Iterable[str] = (), discourse_markers: Iterable[str] = (),
              editing_terms: Iterable[str] = ()) -> "Lexicon":
        """A lexicon from user word lists (phrases allowed)."""
        return cls(frozenset(fillers), frozenset(discourse_markers), frozenset(editing_terms))

    def extended(self, fillers: Iterable[str] = (), discourse_markers: Iterable[str] = (),
                 editing_terms: Iterable[str] = ()) -> "Lexicon":
        """This lexicon with more entries; an added entry leaves the list it was in before."""
        add = {"fillers": _phrases(fillers, "filler"),
               "discourse_markers": _phrases(discourse_markers, "discourse marker"),
               "editing_terms": _phrases(editing_terms, "editing term")}
        moved = set().union(*add.values())
        return Lexicon(*((getattr(self, name) - moved) | add[name] for name in add))

    def label(self, phrase: str) -> DisfluencyType | None:
        """FP, DM or ET for a normalized phrase in the lexicon, else None."""
        return self.labels().get(phrase)

    def labels(self) -> Mapping[str, DisfluencyType]:
        """Every phrase with its label (computed once per lexicon)."""
        return _labels(self)

    @property
    def longest(self) -> int:
        """The number of words of the longest phrase."""
        return max((p.count(" ") + 1 for p in self.labels()), default=0)


@lru_cache(maxsize=32)
def _labels(lexicon: Lexicon) -> Mapping[str, DisfluencyType]:
    out: dict[str, DisfluencyType] = {}
    for phrase in lexicon.fillers:
        out[phrase] = DisfluencyType.FP
    for phrase in lexicon.discourse_markers:
        out[phrase] = DisfluencyType.DM
    for phrase in lexicon.editing_terms:
        out[phrase] = DisfluencyType.ET
    return out


#: Fillers, discourse markers and editing terms of conversational English, following the
#: categories of the Switchboard disfluency stylebook (Meteer et al. 1995): {F} filled pauses,
#: {D} discourse markers, {E} editing terms. "oh" and "huh" are filled pauses there.
#: Backchannels (uh-huh, mm-hmm, yeah) are words, not fillers.
DEFAULT_LEXICON = Lexicon.build(
    fillers=("uh", "um", "uhm", "umm", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mmm",
             "oh", "huh"),
    discourse_markers=("you know", "well", "like", "actually", "see", "you see", "now"),
    editing_terms=("i mean", "sorry", "excuse me", "im sorry", "or rather", "let me see",
                   "lets see", "no wait"),
)

_LABELS_BY_NAME = {"FP": "fillers", "DM": "discourse_markers", "ET": "editing_terms"}


def read_lexicon(path: str | Path, *, base: Lexicon | None = None) -> Lexicon:
    """Read a lexicon file: one entry per line, ``FP uh``, ``DM you know``, ``ET i mean``.

    Blank lines and lines starting with ``#`` are skipped. The entries extend ``base`` (pass
    ``DEFAULT_LEXICON`` to add to the defaults; None starts empty).

    Raises:
        InputError: naming the file and line of an entry that cannot be read.
    """
    path = Path(path)
    text = read_text(path, encodings=("utf-8",), cannot="cannot read lexicon", error=InputError)
    lists: dict[str, list[str]] = {name: [] for name in _LABELS_BY_NAME.values()}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        label, _, entry = line.replace("\t", " ").partition(" ")
        name = _LABELS_BY_NAME.get(label.upper())
        if name is None:
            raise InputError(f"label {label!r} is not FP, DM or ET (write e.g. 'FP uh')",
                             where=f"{path}: line {number}")
        try:
            lists[name].append(_phrase(entry, name.rstrip("s").replace("_", " ")))
        except InputError as err:
            raise err.at(f"{path}: line {number}") from None
    try:
        return (base or Lexicon()).extended(**lists)
    except InputError as err:
        raise err.at(str(path)) from None


# --- verbatim tokens -------------------------------------------------------------------------

_EVENT_NAMES: dict[str, EventType] = {}
for _event, _names in {
    EventType.LAUGHTER: ("laughter", "laugh", "laughs", "laughing", "laughed", "chuckle", "chuckles",
                         "giggle", "giggles", "laugh_noise"),
    EventType.BREATH: ("breath", "breathing", "breathes", "inhale", "inhales", "exhale", "exhales",
                       "sigh", "sighs", "breath_noise"),
    EventType.UNINTELLIGIBLE: ("unintelligible", "inaudible", "unclear", "incomprehensible",
                               "indecipherable", "unk"),
}.items():
    for _name in _names:
        _EVENT_NAMES[_name] = _event


def event_text(name: str) -> str:
    """The canonical text of a bracketed event: ``"laughs"`` -> ``"[laughter]"``.

    Laughter, breath and unintelligible speech have their own names; every other sound (a
    cough, a door, static) is ``[noise]``.
    """
    key = "_".join(name.lower().replace("-", " ").split())
    return f"[{_EVENT_NAMES.get(key, EventType.NOISE).value}]"


def token_kind(token: str, lexicon: Lexicon | None = None) -> WordKind:
    """The kind of one whitespace token of a verbatim transcript, on its own."""
    form = normalize(token)
    if len(form) > 1 and (form.endswith("-") or form.startswith("-")) and any(c.isalnum() for c in form):
        return WordKind.PARTIAL
    if form in (lexicon or DEFAULT_LEXICON).fillers:
        return WordKind.FILLER
    if len(token) > 2 and token[0] + token[-1] in ("[]", "<>", "{}") and _EVENT_BODY.fullmatch(token[1:-1]):
        return WordKind.EVENT
    return WordKind.WORD


_EVENT_BODY = re.compile(r"[^\W\d_][\w\s'-]*")
# One lexeme of a verbatim transcript: an uncertain-span mark, an event, a stray bracket, a word.
_VERBATIM = re.compile(r"""
    (?P<open>\(\() | (?P<close>\)\)) |
    \[(?P<sq>[^\[\]]*)\] | <(?P<an>[^<>]*)> | \{(?P<br>[^{}]*)\} | \((?P<pa>[^\W\d_][\w'-]*)\)(?=\s|$) |
    (?P<bad>[\[\]<>{}]) |
    (?P<word>[^\s\[\]<>{}]+?)(?=\s|$|\(\(|\)\)|[\[\]<>{}])
""", re.VERBOSE)


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line + 1}, column {column}" if line else f"column {column}"


def _unbalanced(bracket: str) -> str:
    if bracket in "[<{(":
        return f"{bracket!r} is never closed"
    return f"{bracket!r} closes nothing"


def _clean(token: str) -> str:
    """A token without the punctuation around it (apostrophes and hyphens inside stay)."""
    return token.strip(".,;:!?\"\u201c\u201d\u2018\u2019()\u00ab\u00bb\u2026").strip("'") or ""


def tokenize(text: str, *, lexicon: Lexicon | None = None) -> tuple[Word, ...]:
    """The words of a verbatim transcript, in order.

    Fillers (by the lexicon, default :data:`DEFAULT_LEXICON`) get ``WordKind.FILLER``, cut-off
    words (``th-``) ``WordKind.PARTIAL``, bracketed events ``WordKind.EVENT`` with canonical text
    (``[laughs]`` -> ``[laughter]``, see :func:`event_text`). Words inside ``(( ))`` are
    ``uncertain``; the marks themselves are not words, and an empty ``(( ))`` is the event
    ``[unintelligible]``. Punctuation around words is dropped, and so are tokens of punctuation
    only. Words have no times. Every call returns new :class:`~casper_qc.model.Word` records
    (:func:`parse_transcript_cached` shares them).

    Raises:
        FormatError: a bracket or ``((`` that does not balance, naming its column.
    """
    if not isinstance(text, str):
        raise InputError(f"a transcript must be text, not {type(text).__name__}")
    return _tokenize(text, lexicon or DEFAULT_LEXICON, shared=False)


def _tokenize(text: str, lexicon: Lexicon, *, shared: bool) -> tuple[Word, ...]:
    """:func:`tokenize`; with ``shared``, equal tokens give the very same word records."""
    memo = _memo(lexicon)
    words: list[Word] = []
    if not _MARKUP_CHARS.search(text):  # no brackets or parentheses: the tokens are the words
        for raw in text.split():
            if shared:
                word = memo.certain.get(raw, _UNSEEN)
            else:
                form = memo.forms.get(raw, _UNSEEN)
                word = form if form is _UNSEEN or form is None else Word(form[0], kind=form[1])
            if word is _UNSEEN:
                word = memo.word(raw, False, shared)
            if word is not None:
                words.append(word)
    else:
        _tokenize_marked(text, memo, shared, words)
    if memo.phrase_fillers:
        words = _mark_phrase_fillers(words, lexicon)
    return tuple(words)


def _tokenize_marked(text: str, memo: "_Memo", shared: bool, words: list[Word]) -> None:
    """The words of a text with brackets or parentheses (events, ``(( ))``), into ``words``."""
    uncertain_at: int | None = None
    uncertain_from = 0
    for match in _VERBATIM.finditer(text):
        group = match.lastgroup
        if group == "open":
            if uncertain_at is not None:
                raise FormatError("'((' inside another '((' opened at "
                                  f"{_where(text, uncertain_at)}", where=_where(text, match.start()))
            uncertain_at, uncertain_from = match.start(), len(words)
        elif group == "close":
            if uncertain_at is None:
                raise FormatError("'))' closes nothing", where=_where(text, match.start()))
            if len(words) == uncertain_from:
                words.append(Word("[unintelligible]", kind=WordKind.EVENT))
            uncertain_at = None
        elif group == "bad":
            raise FormatError(_unbalanced(match.group()), where=_where(text, match.start()))
        elif group == "word":
            word = memo.word(match.group(), uncertain_at is not None, shared)
            if word is not None:  # else punctuation only
                words.append(word)
        else:  # a bracketed event
            body = match.group(group).strip()
            if not _EVENT_BODY.fullmatch(body):
                hint = " (Switchboard markup? use markup 'swbd')" if "+" in body else ""
                raise FormatError(f"{match.group()!r} is not an event like [laughter]{hint}",
                                  where=_where(text, match.start()))
            words.append(Word(event_text(body), kind=WordKind.EVENT, uncertain=uncertain_at is not None))
    if uncertain_at is not None:
        raise FormatError("'((' is never closed", where=_where(text, uncertain_at))


# Memos of one lexicon (never built at import time). A plain word token always yields the same
# (text, kind); shared word records are handed out by parse_transcript_cached only, because
# callers may tell words apart by identity (casper_qc.drafts does).
_MARKUP_CHARS = re.compile(r"[\[\]<>{}()]")
_UNSEEN: Any = object()  # "not in the table" (None is a remembered answer)
_MEMO_LIMIT = 200_000  # entries per table; a full table starts again empty
_SIMPLE_SPAN = {WordKind.FILLER: DisfluencyType.FP, WordKind.PARTIAL: DisfluencyType.PW}


class _Memo:
    """Per lexicon: each raw word token's ``(text, kind)`` (None: punctuation only), shared
    word records (certain and uncertain), and parsed texts per markup."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.forms: dict[str, tuple[str, WordKind] | None] = {}
        self.certain: dict[str, Word | None] = {}
        self.uncertain: dict[str, Word | None] = {}
        self.texts: dict[tuple[str, str], tuple[tuple[Word, ...], tuple[Disfluency, ...]]] = {}
        self.spans: dict[tuple[DisfluencyType, int], Disfluency] = {}
        self.phrase_fillers = any(" " in p for p in lexicon.fillers)

    def disfluencies(self, words: Sequence[Word]) -> tuple[Disfluency, ...]:
        """:func:`verbatim_disfluencies` of untimed words, with shared records."""
        out = []
        for i, word in enumerate(words):
            kind = _SIMPLE_SPAN.get(word.kind)
            if kind is not None:
                span = self.spans.get((kind, i))
                if span is None:
                    span = Disfluency(kind, (i, i + 1))
                    _remember(self.spans, (kind, i), span)
                out.append(span)
        return tuple(out)

    def word(self, raw: str, uncertain: bool, shared: bool) -> Word | None:
        """The word a raw token stands for (None: punctuation only)."""
        table = self.uncertain if uncertain else self.certain
        if shared:
            known = table.get(raw, _UNSEEN)  # (get: a full table may be emptied meanwhile)
            if known is not _UNSEEN:
                return known  # type: ignore[return-value]
        form = self.forms.get(raw, _UNSEEN)
        if form is _UNSEEN:
            token = _clean(raw)
            form = (token, token_kind(token, self.lexicon)) if normalize(token) else None
            _remember(self.forms, raw, form)
        word = None if form is None else Word(form[0], kind=form[1], uncertain=uncertain)  # type: ignore[index]
        if shared:
            _remember(table, raw, word)
        return word


def _remember(table: dict, key: object, value: object) -> None:
    if len(table) >= _MEMO_LIMIT:
        table.clear()
    table[key] = value


@lru_cache(maxsize=32)
def _memo(lexicon: Lexicon) -> _Memo:
    return _Memo(lexicon)


def _mark_phrase_fillers(words: list[Word], lexicon: Lexicon) -> list[Word]:
    from dataclasses import replace

    forms = [normalize(w.text) for w in words]
    for phrase in lexicon.fillers:
        parts = phrase.split(" ")
        if len(parts) < 2:
            continue
        for i in range(len(forms) - len(parts) + 1):
            if forms[i:i + len(parts)] == parts:
                for k in range(i, i + len(parts)):
                    words[k] = replace(words[k], kind=WordKind.FILLER)
    return words


# --- whole transcripts -----------------------------------------------------------------------

_SWBD_HINT = re.compile(r"\{[FDECA]\s|\[\s[^\[\]]*\+")
_HINT_CHARS = re.compile(r"[{\[&+\x15*]")
_CHAT_HINT = re.compile(r"&[-+=~]\w|\[/{1,3}[-?]?\]|\[[?!*:=%]|\+[/.\"^<,+]|\x15\d+_\d+\x15|^\*\w+:", re.MULTILINE)


def detect_markup(text: str) -> str:
    """``"swbd"``, ``"chat"`` or ``"verbatim"``: which conventions ``text`` is written in.

    Switchboard: ``{F``/``{D``/``{E``/``{C``/``{A`` groups or ``[ … + … ]`` repairs. CHAT:
    ``&-uh``, ``&=laughs``, ``[/]``-style codes, ``+/.`` terminators, time bullets, ``*SPK:``.
    """
    if not _HINT_CHARS.search(text):  # every hint below starts with one of these
        return "verbatim"
    if _SWBD_HINT.search(text):
        return "swbd"
    if _CHAT_HINT.search(text):
        return "chat"
    return "verbatim"


def parse_transcript(text: str, *, markup: str = "auto", lexicon: Lexicon | None = None
                     ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """Words and disfluencies of a transcript written in ``markup``.

    ``markup`` is ``"auto"`` (:func:`detect_markup`), ``"verbatim"``, ``"swbd"`` or ``"chat"``.
    Verbatim text yields an FP span per filler word and a PW span per partial word; Switchboard
    and CHAT markup also yield what their brackets and codes say (see :func:`parse_swbd`,
    :func:`parse_chat`). Disfluencies come sorted by span; word ranges index the words returned.

    Raises:
        FormatError: markup that does not balance, naming the column.
        InputError: an unknown ``markup``.
    """
    if markup not in MARKUPS:
        raise InputError(f"markup must be one of {', '.join(MARKUPS)}, not {markup!r}")
    if markup == "auto":
        markup = detect_markup(text)
    if markup == "swbd":
        return parse_swbd(text, lexicon=lexicon)
    if markup == "chat":
        return parse_chat(text, lexicon=lexicon)
    words = tokenize(text, lexicon=lexicon)
    return words, verbatim_disfluencies(words)


def parse_transcript_cached(text: str, *, markup: str = "auto", lexicon: Lexicon | None = None
                            ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """:func:`parse_transcript` for bulk readers: equal texts (and equal word tokens) give the
    very same immutable records, from a bounded memo of the lexicon (200,000 texts, then it starts
    again). A project's transcripts repeat (annotators keep what the pre-label says), so reading
    a Label Studio export parses each distinct text once. Errors are raised as by
    :func:`parse_transcript` and never remembered.
    """
    if not isinstance(text, str):
        raise InputError(f"a transcript must be text, not {type(text).__name__}")
    lexicon = lexicon or DEFAULT_LEXICON
    memo = _memo(lexicon)
    key = (text, markup)
    found = memo.texts.get(key)
    if found is None:
        if markup not in MARKUPS:
            raise InputError(f"markup must be one of {', '.join(MARKUPS)}, not {markup!r}")
        kind = detect_markup(text) if markup == "auto" else markup
        if kind == "verbatim":
            words = _tokenize(text, lexicon, shared=True)
            found = (words, memo.disfluencies(words))
        else:
            found = parse_transcript(text, markup=kind, lexicon=lexicon)
        _remember(memo.texts, key, found)
    return found


def verbatim_disfluencies(words: Sequence[Word]) -> tuple[Disfluency, ...]:
    """FP spans for filler words and PW spans for partial words (with their times)."""
    out = []
    for i, word in enumerate(words):
        if word.kind is WordKind.FILLER:
            out.append(Disfluency(DisfluencyType.FP, (i, i + 1), start=word.start, end=word.end))
        elif word.kind is WordKind.PARTIAL:
            out.append(Disfluency(DisfluencyType.PW, (i, i + 1), start=word.start, end=word.end))
    return tuple(out)


def parse_swbd(text: str, *, lexicon: Lexicon | None = None
               ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """Words and disfluencies of Switchboard markup; see :mod:`casper_qc.markup_swbd`."""
    from .markup_swbd import parse_swbd as parse

    return parse(text, lexicon=lexicon)


def parse_chat(text: str, *, lexicon: Lexicon | None = None
               ) -> tuple[tuple[Word, ...], tuple[Disfluency, ...]]:
    """Words and disfluencies of one CHAT main tier; see :mod:`casper_qc.markup_chat`."""
    from .markup_chat import parse_chat as parse

    return parse(text, lexicon=lexicon)


def read_chat(path: str | Path, *, lexicon: Lexicon | None = None):
    """The utterances of a CHAT file with word times from ``%wor``; see
    :func:`casper_qc.markup_chat.read_chat`."""
    from .markup_chat import read_chat as read

    return read(path, lexicon=lexicon)
