"""A rule-based disfluency tagger over a word sequence (with or without word times).

What it does, in three passes over the words' normalized forms
(:func:`casper_qc.conventions.normalize`):

1. **FP, DM, ET** from the :class:`~casper_qc.conventions.Lexicon` (closed sets, longest
   phrase first). Ambiguous entries have context rules (:mod:`casper_qc.disfluency_rules`):
   "like" is a marker after a pause or filler or before a number, not after "I" or "feel";
   "well" is not a marker after "as", "very", "do"; "you know" is not one after "do" or "if".
   Entries without a rule are tagged wherever they occur.
2. **PW** from the form: a word that ends (or starts) with a hyphen, ``th-``.
3. **REP, REV, FS** over the remaining words (fillers, markers, editing terms, events and
   punctuation are stepped over; between a reparandum and its repair they are the
   interregnum):

   * exact repetition of 1-4 words, longest first, also several times (``I I I``,
     ``sort of sort of``, ``the uh the``) -- but not answers and intensifiers said twice on
     purpose (``yeah yeah``, ``right right``, ``very very``);
   * a partial word: REP when the next word completes it (``th- the``), FS when a new clause
     starts after it (``tr- so we``), else REV (``wi- did``);
   * a rough copy: the repair's first word is a word 1-4 words back, or a contraction or
     negation of it (``that``/``that's``, ``do``/``don't``), and the copy then differs. It is a
     REV when a cue supports it: a partial word in the reparandum (``what he wi- what he
     wishes``), two or more words said again before one is replaced (``when I hear when I
     see``), an interregnum (``to Boston uh to Denver``), a one-word variant (``that that's``),
     or a second word replaced by one of its kind (``I was I am``). A reparandum starting with a
     conjunction (coordination: ``and see the game and see the band``), holding an answer word,
     or crossing a repair found before is not one;
   * two function words of one class in a row (``the a``, ``and uh but``, ``we I``;
     prepositions only across an interregnum) or a determiner before a preposition: REV.

   The reparandum (RM) is what a fluent version deletes.

Where it fails (held-out Switchboard figures in docs/ACCURACY.md; reparandum recall is about
two thirds, precision about 0.85): restarts that abandon a clause with no word in common
(``we were + so anyway``) are missed, as are revisions whose repair shares no word with the
reparandum (``they + their``, ``go + say``); fluent parallel phrases can look like rough
copies; a reparandum is found up to four words long, so longer ones are cut short. "now",
"see" and "actually" are markers only at the start of an utterance or after another marker,
"so" is not in the default lexicon (Switchboard marks it a marker rarely). Context rules see
the neighbouring words only, no syntax. Word classes and rules are hand-written from the
Switchboard stylebook's categories and English grammar; thresholds were chosen on the tuning
part of the development set, and no word list or weight is learned from it.

:func:`tag` returns :class:`~casper_qc.model.Disfluency` records (word ranges index the input,
times from word times when the words have them), :func:`word_tags` the per-word view
(``FP DM ET PW RM``), :func:`tag_turn` fills a :class:`~casper_qc.model.Turn`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from .conventions import DEFAULT_LEXICON, Lexicon, normalize
from .disfluency_rules import compile_lexicon
from .labels import WORD_TAGS, WordKind
from .model import Disfluency, Turn, Word

__all__ = ["tag", "tag_forms", "word_forms", "word_tags", "tag_turn", "RawSpan"]

#: A span before it becomes a Disfluency: (type, start, stop, reparandum, interregnum, repair,
#: rule), ranges as (start, stop) pairs or None, rule the name of the rule that found it.
RawSpan = tuple


def word_forms(words: Sequence[Word | str]) -> list[str]:
    """Normalized forms; "" for tokens that are not words (punctuation, events)."""
    out = []
    for word in words:
        if isinstance(word, Word):
            out.append("" if word.kind is WordKind.EVENT else normalize(word.text))
        else:
            text = str(word)
            if len(text) > 2 and text[0] + text[-1] in ("[]", "<>", "{}", "()"):
                out.append("")  # a bracketed event
            else:
                out.append(normalize(text))
    return out


def tag_forms(forms: Sequence[str], lexicon: Lexicon | None = None) -> list[RawSpan]:
    """Raw spans over normalized forms (``""`` marks a token that is not a word).

    The fast path of :func:`tag`: no records are built. Spans come sorted by start.
    """
    return compile_lexicon(lexicon or DEFAULT_LEXICON).tag(list(forms))


def tag(words: Sequence[Word | str], *, lexicon: Lexicon | None = None) -> tuple[Disfluency, ...]:
    """Disfluencies of a word sequence: FP/DM/ET/PW spans and REP/REV/FS structures.

    ``words`` are :class:`Word` records or plain tokens; word ranges index ``words``. Spans
    of timed words carry times (first word's start to last word's end). Spans come sorted by
    start, then longest first.
    """
    raw = tag_forms(word_forms(words), lexicon)
    out = []
    for kind, start, stop, rm, im, rp, _rule in raw:
        first, last = words[start], words[stop - 1]
        times = (None, None)
        if isinstance(first, Word) and isinstance(last, Word) and first.timed and last.timed \
                and first.start < last.end:
            times = (first.start, last.end)
        out.append(Disfluency(kind, (start, stop), reparandum=rm, interregnum=im, repair=rp,
                              start=times[0], end=times[1]))
    return tuple(out)


def word_tags(count: int, disfluencies: Sequence[Disfluency] | Sequence[RawSpan]) -> list[list[str]]:
    """The per-word view: ``tags[i]`` lists the labels of word ``i`` out of ``FP DM ET PW RM``
    (in that order), an empty list for a fluent word. RM marks reparandum words of REP, REV
    and FS; interregnum words keep their own FP/DM/ET label."""
    sets: list[set[str]] = [set() for _ in range(count)]
    for dis in disfluencies:
        if isinstance(dis, Disfluency):
            kind, start, stop = dis.type, dis.words.start, dis.words.stop
            rm = (dis.reparandum.start, dis.reparandum.stop) if dis.reparandum else None
        else:
            kind, start, stop, rm = dis[0], dis[1], dis[2], dis[3]
        if rm is not None:
            for i in range(rm[0], rm[1]):
                sets[i].add("RM")
        else:
            for i in range(start, stop):
                sets[i].add(kind.value)
    return [[t for t in WORD_TAGS if t in s] for s in sets]


def tag_turn(turn: Turn, *, lexicon: Lexicon | None = None) -> Turn:
    """``turn`` with its disfluencies tagged from its words (replacing any it had).

    A turn without words is returned as it is.
    """
    if not turn.words:
        return turn
    return replace(turn, disfluencies=tag(turn.words, lexicon=lexicon))

