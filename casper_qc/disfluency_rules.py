"""The rules of the disfluency tagger (:mod:`casper_qc.disfluency`), compiled per lexicon.

Word classes, word lists and context rules here are hand-written from English grammar and the
Switchboard stylebook's categories (Meteer et al. 1995). Which rules to keep, and their limits
(reparanda of 1-4 words, how many words a rough copy must share), were chosen by error analysis
on the tuning part of the development set (docs/ACCURACY.md); no list or weight is learned from
it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from .conventions import Lexicon
from .labels import DisfluencyType

__all__ = ["Compiled", "compile_lexicon"]

FP, DM, ET, PW = DisfluencyType.FP, DisfluencyType.DM, DisfluencyType.ET, DisfluencyType.PW
REP, REV, FS = DisfluencyType.REP, DisfluencyType.REV, DisfluencyType.FS

# --- closed word classes (normalized forms: lower case, no apostrophes) ------------------------
DETERMINERS = frozenset("the a an this these those my your his her our their".split())
SUBJECTS = frozenset("i we they he she".split())
CONJUNCTIONS = frozenset("and but or because cause".split())
PREPOSITIONS = frozenset("in on at to for of with from by about into".split())
#: Words a revision often restarts from: the repair repeats one of these and goes on differently.
STARTERS = DETERMINERS | SUBJECTS | CONJUNCTIONS | PREPOSITIONS | frozenset(
    "it its that thats there theres you youre im ive id ill were weve theyre theyve hes shes "
    "what when where which who how if so is was are".split())
NUMBERS = frozenset("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
                    "eighty ninety hundred thousand million half couple few".split())

# --- context rules: may an ambiguous entry be a marker here? ----------------------------------
# A rule gets the forms, the index of the entry's first word, its length and the labels so far.
Rule = Callable[[list, int, int, list], bool]


def _prev(forms: list, i: int) -> int:
    i -= 1
    while i >= 0 and not forms[i]:
        i -= 1
    return i


def _next(forms: list, i: int) -> int:
    n = len(forms)
    while i < n and not forms[i]:
        i += 1
    return i


def _after_pause(forms: list, i: int, labels: list) -> bool:
    """At the start of the utterance or right after a filler, marker or editing term."""
    p = _prev(forms, i)
    return p < 0 or labels[p] is not None


_NOT_BEFORE_WELL = frozenset("as very pretty real really so too perfectly fairly quite extremely "
                             "do does did doing done go goes went going gone work works worked "
                             "working get gets got getting".split())
_NOT_AFTER_WELL = frozenset("off being known worth aware enough educated".split())


def _well(forms: list, i: int, size: int, labels: list) -> bool:
    p, q = _prev(forms, i), _next(forms, i + size)
    if p >= 0 and forms[p] in _NOT_BEFORE_WELL:
        return False
    return not (q < len(forms) and forms[q] in _NOT_AFTER_WELL)


_LIKE_VERB_BEFORE = frozenset("i we they you would wouldnt dont didnt doesnt really feel feels felt "
                              "look looks looked looking seem seems seemed sounds sound just things "
                              "something anything nothing stuff people more much".split())


def _like(forms: list, i: int, size: int, labels: list) -> bool:
    p, q = _prev(forms, i), _next(forms, i + size)
    if p >= 0 and forms[p] in _LIKE_VERB_BEFORE:
        return False
    if _after_pause(forms, i, labels):
        return True
    return q < len(forms) and (labels[q] is FP or forms[q] in NUMBERS or forms[q] == "uh"
                               or forms[q] == "um")


def _initial(forms: list, i: int, size: int, labels: list) -> bool:
    return _after_pause(forms, i, labels)


_NOT_BEFORE_YOU_KNOW = frozenset("do did does dont didnt if would could will as how".split())


def _you_know(forms: list, i: int, size: int, labels: list) -> bool:
    p = _prev(forms, i)
    return not (p >= 0 and forms[p] in _NOT_BEFORE_YOU_KNOW)


_SEE_OBJECTS = frozenset("it them him her that this what how if whether the a an".split())


def _see(forms: list, i: int, size: int, labels: list) -> bool:
    q = _next(forms, i + size)
    if q < len(forms) and forms[q] in _SEE_OBJECTS:
        return False
    p = _prev(forms, i)
    return p < 0 or labels[p] is not None or forms[p] in ("yeah", "right", "okay", "oh", "and", "so")


_ACTUALLY_BEFORE = frozenset("and but so or no yeah oh well".split())


def _actually(forms: list, i: int, size: int, labels: list) -> bool:
    p = _prev(forms, i)
    return p < 0 or labels[p] is not None or forms[p] in _ACTUALLY_BEFORE


CONTEXT_RULES: dict[str, Rule] = {
    "well": _well, "like": _like, "you know": _you_know, "see": _see, "you see": _see,
    "now": _initial, "so": _initial, "actually": _actually,
}


#: Words said twice on purpose: answers and backchannels (yeah yeah, right right), intensifiers.
FLUENT_REPEATS = frozenset("yeah yes yep yup no nope right okay ok sure bye exactly true very "
                           "uh-huh um-hum mm-hmm hm-hmm huh-uh".split())

#: Contractions and negations of a word, apostrophes dropped: "that" / "that's", "is" / "isn't".
#: ("were"/"we're" and "well"/"we'll" are left out: the plain words are far more common.)
_VARIANTS = {
    "i": "im ive id ill", "you": "youre youve youd youll", "he": "hes hed hell", "she": "shes",
    "it": "its itll itd", "they": "theyre theyve theyd theyll", "we": "weve wed",
    "that": "thats thatll", "there": "theres", "what": "whats", "who": "whos", "where": "wheres",
    "here": "heres", "lets": "let", "is": "isnt", "was": "wasnt", "are": "arent", "were": "werent",
    "do": "dont", "does": "doesnt", "did": "didnt", "have": "havent", "has": "hasnt", "had": "hadnt",
    "can": "cant", "could": "couldnt", "would": "wouldnt", "should": "shouldnt", "will": "wont",
    "a": "an",
}
VARIANTS: dict[str, frozenset[str]] = {}
for _base, _others in _VARIANTS.items():
    _family = {_base, *_others.split()}
    for _word in _family:
        VARIANTS[_word] = VARIANTS.get(_word, frozenset()) | frozenset(_family - {_word})


def _variant(a: str, b: str) -> bool:
    """Same word, a contraction or negation of it (that/thats, do/dont), or a partial of it
    (th-/the)."""
    if a == b:
        return True
    if len(a) > 1 and a[-1] == "-":
        return b.startswith(a[:-1])
    others = VARIANTS.get(a)
    return others is not None and b in others


class Compiled:
    """Lookups built once per lexicon; :meth:`tag` runs the three passes."""

    def __init__(self, lexicon: Lexicon) -> None:
        by_first: dict[str, list[tuple[list[str], DisfluencyType, Rule | None]]] = {}
        for phrase, label in lexicon.labels().items():
            parts = phrase.split(" ")
            by_first.setdefault(parts[0], []).append((parts, label, CONTEXT_RULES.get(phrase)))
        for entries in by_first.values():
            entries.sort(key=lambda e: -len(e[0]))
        self.by_first = by_first

    def tag(self, forms: list[str]) -> list[tuple]:
        n = len(forms)
        labels: list = [None] * n
        spans: list[tuple] = []
        by_first = self.by_first
        i = 0
        while i < n:
            entries = by_first.get(forms[i])
            if entries is not None:
                for parts, label, rule in entries:
                    size = len(parts)
                    if (size == 1 or forms[i:i + size] == parts) and (rule is None or rule(forms, i, size, labels)):
                        for k in range(i, i + size):
                            labels[k] = label
                        spans.append((label, i, i + size, None, None, None, "lexicon"))
                        i += size - 1
                        break
            i += 1
        index = []
        for k in range(n):
            form = forms[k]
            if form and labels[k] is None:
                if form[-1] == "-" and len(form) > 1 or form[0] == "-" and len(form) > 1:
                    spans.append((PW, k, k + 1, None, None, None, "form"))
                index.append(k)
        if len(index) > 1:
            spans.extend(_repairs(forms, labels, index))
        spans.sort(key=lambda s: (s[1], -s[2]))
        return spans


def _is_partial(form: str) -> bool:
    return len(form) > 1 and (form[-1] == "-" or form[0] == "-")


def _repairs(forms: list[str], labels: list, index: list[int]) -> list[tuple]:
    """REP/REV/FS structures over the content words ``index`` (positions in ``forms``)."""
    c = [forms[k] for k in index]
    m = len(c)
    out: list[tuple] = []

    found: list[tuple[int, int]] = []  # (reparandum start, repair onset) in content positions

    def emit(kind: DisfluencyType, i: int, j: int, rp: int, rule: str) -> None:
        found.append((i, j))
        start, ip, onset = index[i], index[j - 1] + 1, index[j]
        rm = (start, ip)
        im = (ip, onset) if onset > ip else None
        if rp:
            stop = index[j + rp - 1] + 1
            out.append((kind, start, stop, rm, im, (onset, stop), rule))
        else:
            stop = onset if im else ip
            out.append((FS, start, stop, rm, im, None, rule))

    # 1. exact repetitions of 1-4 words, longest first
    repeated = bytearray(m)
    last: dict[str, int] = {c[0]: 0}
    for j in range(1, m):
        w = c[j]
        i = last.get(w)
        last[w] = j
        if i is None or j - i > 4 or w in FLUENT_REPEATS:
            continue
        for k in (4, 3, 2, 1):
            if k <= j and j + k <= m and c[j - k:j] == c[j:j + k]:
                emit(REP, j - k, j, k, "repetition")
                for x in range(j - k, j + k):
                    repeated[x] = 1
                break
    # 2. partial words, 3. rough copies, 4. a function word replaced by another of its class
    for j in range(1, m):
        w, prev = c[j], c[j - 1]
        if len(prev) > 1 and prev[-1] == "-":  # cut off at its end ("-ing" lost its start)
            if w.startswith(prev[:-1]):
                emit(REP, j - 1, j, 1, "partial")  # "th- the"
            elif w in CLAUSE_STARTS:
                emit(FS, j - 1, j, 0, "partial")  # "we were- so anyway": abandoned, a new start
            else:
                emit(REV, j - 1, j, 1, "partial")  # "wi- do"
        if _rough_copy(c, j, labels, index, repeated, found, emit):
            continue
        if prev == w or prev not in _CLASS:
            continue
        cls = _CLASS[prev]
        if cls is _CLASS.get(w) and (cls is not PREPOSITIONS or _has_interregnum(labels, index, j)):
            emit(REV, j - 1, j, 1, "class")  # "the a", "and uh but", "we I"
        elif cls is DETERMINERS and w in PREPOSITIONS:
            emit(REV, j - 1, j, 1, "class")  # "the in": a determiner never ends a phrase
    return out


#: Words that start a new clause: after an abandoned fragment they make it a false start.
CLAUSE_STARTS = SUBJECTS | CONJUNCTIONS | frozenset("so then".split())
#: Subjects with their contractions: two in a row restart the clause ("we I", "it's they're").
SUBJECT_FORMS = SUBJECTS | frozenset("im ive id ill hes shes weve theyre theyve its thats theres".split())
AUXILIARIES = frozenset("is was are were am be been can could will would should may might must do "
                        "does did have has had isnt wasnt arent werent dont doesnt didnt havent "
                        "hasnt hadnt cant couldnt wont wouldnt shouldnt".split())
_CLASS = {w: cls for cls in (DETERMINERS, SUBJECT_FORMS, CONJUNCTIONS, PREPOSITIONS) for w in cls}


def _has_interregnum(labels: list, index: list[int], j: int) -> bool:
    """Is there a filler, marker or editing term between content positions j-1 and j?"""
    for k in range(index[j - 1] + 1, index[j]):
        if labels[k] is not None:
            return True
    return False


def _rough_copy(c: list[str], j: int, labels: list, index: list[int], repeated: bytearray,
                found: list[tuple[int, int]], emit) -> bool:
    """A revision whose repair (from ``j``) starts like its reparandum; True if one was found."""
    w = c[j]
    m = len(c)
    for i in range(j - 1, max(-1, j - 5), -1):
        if not _variant(c[i], w):
            continue
        size = j - i
        p = 1
        while p < size and j + p < m and c[i + p] == c[j + p]:
            p += 1
        exact = c[i] == w
        if exact and p == size:
            return False  # an exact repetition
        for i0, j0 in found:
            if i0 < i < j0 < j:
                return False  # would cross a repair found before: "do what he wi- do what he"
        partial = answer = False
        for x in range(i, j):
            if repeated[x]:
                return False  # part of an exact repetition, which explains it better
            if _is_partial(c[x]):
                partial = True
            elif c[x] in FLUENT_REPEATS:
                answer = True
        if partial:
            ok = size > 1 and (size <= 2 or p >= 2 or exact)
            rule = "copy-partial"
        elif size == 1:
            ok = c[i] in STARTERS
            rule = "copy-variant"
        elif answer or c[i] in CONJUNCTIONS:
            # "I think, yeah, I think so"; "and see the game and see the Patriots": said again
            # on purpose, or coordinated
            return False
        elif _has_interregnum(labels, index, j):
            ok = p >= 2 or (size <= 2 and exact)
            rule = "copy-interregnum"
        else:
            # "when I hear when I see": two words repeated, one replaced; or one word repeated
            # and the next replaced by another of its kind ("if you're if there", "I was I am")
            ok = (p >= 2 and size - p <= 1) or (size == 2 and j + 1 < m and _same_kind(c[i + 1], c[j + 1]))
            rule = "copy"
        if ok:
            emit(REV, i, j, min(size, m - j), rule)
            return True
        return False
    return False


def _same_kind(a: str, b: str) -> bool:
    if a == b:
        return False
    for cls in (SUBJECT_FORMS, AUXILIARIES, DETERMINERS):
        if a in cls:
            return b in cls
    return False


@lru_cache(maxsize=16)
def compile_lexicon(lexicon: Lexicon) -> Compiled:
    """The compiled lookups of ``lexicon`` (cached: lexicons are frozen and hashable)."""
    return Compiled(lexicon)
