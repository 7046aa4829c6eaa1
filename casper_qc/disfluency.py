"""A rule-based disfluency tagger over a word sequence (with or without word times).

What it does, in three passes over the words' normalized forms
(:func:`casper_qc.conventions.normalize`):

1. **FP, DM, ET** from the :class:`~casper_qc.conventions.Lexicon` (closed sets, longest
   phrase first). Ambiguous entries have context rules (:mod:`casper_qc.disfluency_rules`):
   "like" is a marker after a pause or filler or before a number, not after "I" or "feel";
   "well" is not a marker after "as", "very", "do"; "you know" is not one after "do" or "if".
   Entries without a rule are tagged wherever they occur.
2. **PW** from the form: a word that ends (or starts) with a hyphen, ``th-``.
3. **REP, REV, FS** over the remaining words (:mod:`casper_qc.disfluency_repairs`; fillers,
   markers, editing terms, events and punctuation are stepped over; between a reparandum and
   its repair they are the interregnum, inside a reparandum they keep their own label):

   * exact repetition of 1-4 words, longest first, also several times (``I I I``,
     ``sort of sort of``, ``the uh the``), or of 5-6 words once -- but not answers and
     intensifiers said twice on purpose (``yeah yeah``, ``right right``, ``very very``,
     ``yeah right yeah right``; ``right now right now`` is a repetition);
   * a partial word: REP when the next word completes it (``th- the``), FS when a new clause
     starts after it (``tr- so we``), else REV (``wi- did``);
   * a rough copy: the repair's first word is a word 1-6 words back, or a contraction, negation
     or completion of it (``that``/``that's``, ``do``/``don't``, ``th-``/``the``), and the copy
     then differs. It is a REV when a cue supports it: a partial word in the reparandum
     (``what he wi- what he wishes``), two or more words said again before one is replaced
     (``when I hear when I see``), an interregnum (``to Boston uh to Denver``), a one-word
     variant (``that that's``), a second word replaced by one of its kind (``I was I am``), one
     word put in (``it's like it seems like``), a pronoun and auxiliary taken back as their
     contraction (``it is it's``); a reparandum of 5-6 words needs a repair that differs by one
     word (``I've been to a couple I've been to a few games``). A reparandum starting with a
     conjunction (coordination: ``and see the game and see the band``), ending with one, or
     one of three copies in a row (a list: ``citizenship in the town citizenship in the state
     citizenship in the nation``), holding an answer word, or crossing a repair found before is
     not one; repetitions nested in it are kept (``I I think the I think that``);
   * a word replaced by another of its class, the next words said again (``we don't I don't``,
     ``have you do you``, ``in the at the``), a word said again with a modifier or subordinator
     put before it (``a nice relatively nice``, ``I when I``), or two function words of one
     class in a row (``the a``, ``and uh but``, ``we I``, ``we you``; prepositions only across an
     interregnum): REV.

   The reparandum (RM) is what a fluent version deletes.

Where it fails (held-out Switchboard figures in docs/ACCURACY.md: reparandum precision about
0.89, recall about 0.7, F1 0.78): revisions whose repair shares no word with the reparandum (``they +
their``, ``go + say``, ``a lot of people + I talk to a lot of people``) and restarts that abandon
a clause with no word in common (``we were + so anyway``) are missed -- a rule for those
(a short fragment, a pause or editing term, a new clause) marks far more fluent speech than
restarts, so there is none; fluent parallel phrases and lists can look like rough copies; the
reparandum's extent is a guess where the repair puts words in front (``they kind of use them
for + everybody kind of use them for``); reparanda longer than six words are cut short or
missed, and a repair cannot be seen across a line (utterance) boundary. "now", "see" and
"actually" are markers only at the start of an utterance or after another marker, "so" is not
in the default lexicon (Switchboard marks it a marker rarely). Context rules see the
neighbouring words only, no syntax. Word classes and rules are hand-written from the
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


_LEXICAL = frozenset(("FP", "DM", "ET"))


def word_tags(count: int, disfluencies: Sequence[Disfluency] | Sequence[RawSpan]) -> list[list[str]]:
    """The per-word view: ``tags[i]`` lists the labels of word ``i`` out of ``FP DM ET PW RM``
    (in that order), an empty list for a fluent word. RM marks reparandum words of REP, REV
    and FS; interregnum words keep their own FP/DM/ET label, and so do fillers, markers and
    editing terms inside a reparandum (``we were uh going we went``: ``uh`` is FP only, as in
    Switchboard's annotation)."""
    sets: list[set[str]] = [set() for _ in range(count)]
    reparanda = []
    for dis in disfluencies:
        if isinstance(dis, Disfluency):
            kind, start, stop = dis.type, dis.words.start, dis.words.stop
            rm = (dis.reparandum.start, dis.reparandum.stop) if dis.reparandum else None
        else:
            kind, start, stop, rm = dis[0], dis[1], dis[2], dis[3]
        if rm is not None:
            reparanda.append(rm)
        else:
            for i in range(start, stop):
                sets[i].add(kind.value)
    for first, stop in reparanda:
        for i in range(first, stop):
            if not sets[i] & _LEXICAL:
                sets[i].add("RM")
    return [[t for t in WORD_TAGS if t in s] for s in sets]


def tag_turn(turn: Turn, *, lexicon: Lexicon | None = None) -> Turn:
    """``turn`` with its disfluencies tagged from its words (replacing any it had).

    A turn without words is returned as it is.
    """
    if not turn.words:
        return turn
    return replace(turn, disfluencies=tag(turn.words, lexicon=lexicon))

