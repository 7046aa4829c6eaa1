"""Repair structures (REP, REV, FS) over a word sequence: the third pass of the disfluency tagger.

:func:`find_repairs` gets the normalized forms, the lexicon labels found so far (fillers, markers
and editing terms are stepped over; between a reparandum and its repair they are the
interregnum) and returns raw spans (see :data:`casper_qc.disfluency.RawSpan`). Each span's last
field names the rule that found it:

``repetition``
    the same 1-4 words said again at once, longest first, also several times (``I I I``,
    ``sort of sort of``, ``the uh the``), or 5-6 words said again once -- but not answers and
    intensifiers said twice on purpose (``yeah yeah``, ``right right``, ``very very``).
``partial``
    a cut-off word: REP when the next word completes it (``th- the``), FS when a new clause
    starts after it (``tr- so we``), else REV (``wi- did``).
``copy``, ``copy-variant``, ``copy-interregnum``, ``copy-partial``, ``copy-insert``
    a rough copy: the repair's first word is a word 1-4 words back, or a contraction, negation or
    completion of it (``that``/``that's``, ``do``/``don't``, ``th-``/``the``), and the copy then
    differs. It is a REV when a cue supports it: a partial word in the reparandum (``what he wi-
    what he wishes``; when the partial word is not the last of the reparandum, the words after it
    already belong to the repair: FS ``copy-partial-cut``), two or more words said again before
    one is replaced (``when I hear when I see``), an interregnum (``to Boston uh to Denver``), a
    one-word variant (``that that's``), a second word replaced by one of its kind (``I was I
    am``), or one word inserted (``it's like it seems like``).
``copy-long``
    a rough copy of 5 or 6 words that differs from its repair by one word replaced, added or
    dropped (``I've been to a couple I've been to a few games``); two words off is taken for a
    parallel phrase (``a lot of gang related a lot of murders`` is missed), and longer reparanda
    are cut short or missed.
``copy-contraction``
    a pronoun and auxiliary taken back as their contraction (``it is it's``, ``they are uh
    they're``).
``switch``
    the repair's first word replaces a word of its class -- a subject (``we don't I don't``,
    ``they got you got``), an auxiliary (``have you do you``), a preposition before a determiner
    (``in the at the``) -- and the other words of a reparandum of 2-3 words come again.
``insert``
    a word said again with a modifier or a subordinator put before it: the first saying is the
    reparandum (``a nice relatively nice``, ``I when I``).
``class``
    two function words of one class in a row (``the a``, ``and uh but``, ``we I``, ``I you``;
    prepositions only across an interregnum): REV.

A rough copy is not taken when its reparandum starts with a conjunction (coordination: ``and see
the game and see the band``), ends with one, or is one of three copies in a row (a list:
``citizenship in the town citizenship in the state citizenship in the nation``), holds an answer
word, or crosses a repair found before. Exact repetitions nested inside a longer rough copy are
kept (``I I think the I think that``: all of ``I I think the``).

Word classes and lists are hand-written from English grammar and the Switchboard stylebook's
categories (Meteer et al. 1995). Which rules to keep and their limits (reparandum lengths, how
many words a rough copy must share) were chosen by error analysis on the tuning part of the
development set (docs/ACCURACY.md); no list or weight is learned from it.
"""

from __future__ import annotations

from typing import Callable

from .labels import DisfluencyType

__all__ = ["find_repairs", "is_partial"]

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
#: Words that start a new clause: after an abandoned fragment they make it a false start.
CLAUSE_STARTS = SUBJECTS | CONJUNCTIONS | frozenset("so then".split())
#: Subjects with their contractions: two in a row restart the clause ("we I", "it's they're").
SUBJECT_FORMS = SUBJECTS | frozenset("im ive id ill hes shes weve theyre theyve its thats theres".split())
#: "you" and its contractions: also objects, so they count as a subject only after one.
YOU_FORMS = frozenset("you youre youve".split())
AUXILIARIES = frozenset("is was are were am be been can could will would should may might must do "
                        "does did have has had isnt wasnt arent werent dont doesnt didnt havent "
                        "hasnt hadnt cant couldnt wont wouldnt shouldnt".split())
#: Modifiers a repair puts before a word it says again ("a nice, relatively nice").
ADVERBS = frozenset("just really actually still also even only always never probably certainly "
                    "definitely maybe usually sometimes relatively very too not".split())
#: Subordinators a repair puts before a subject it says again ("I when I came").
SUBORDINATORS = frozenset("when if because cause since after before while once whether".split())

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

#: A contraction with the auxiliaries it stands for after its pronoun: "it is" / "it's"
#: ("it has its" is left out: that "its" is mostly the possessive).
CONTRACTIONS = {
    "its": ("is", "was"), "thats": ("is", "was", "has"), "theres": ("is", "was", "has"),
    "whats": ("is", "was"), "hes": ("is", "was", "has"), "shes": ("is", "was", "has"),
    "im": ("am", "was"), "youre": ("are", "were"), "theyre": ("are", "were"), "were": ("are", "were"),
    "ive": ("have",), "weve": ("have",), "theyve": ("have",), "youve": ("have",),
    "ill": ("will",), "itll": ("will",), "thatll": ("will",),
}

# Function-word classes of the "class" rule, and of the "switch" rule (subjects there include
# "you" forms and "we're"/"we'd", whose reading as a subject the following word confirms).
_CLASS = {w: cls for cls in (DETERMINERS, SUBJECT_FORMS, CONJUNCTIONS, PREPOSITIONS) for w in cls}
_SWITCH_SUBJECTS = SUBJECT_FORMS | YOU_FORMS | frozenset("youd youll were wed".split())
_SWITCH_CLASS = {w: cls for cls in (_SWITCH_SUBJECTS, PREPOSITIONS, AUXILIARIES) for w in cls}

#: The longest reparandum a rough copy may have, in words (5-6 only with one word changed).
MAX_REPARANDUM = 6


def is_partial(form: str) -> bool:
    """A cut-off word: it ends (or starts) with a hyphen, ``th-``, ``-ing``."""
    return len(form) > 1 and (form[-1] == "-" or form[0] == "-")


def _variant(a: str, b: str) -> bool:
    """Same word, a contraction or negation of it (that/thats, do/dont), or a partial of it
    (th-/the)."""
    if a == b:
        return True
    if len(a) > 1 and a[-1] == "-":
        return b.startswith(a[:-1])
    others = VARIANTS.get(a)
    return others is not None and b in others


def _same_kind(a: str, b: str) -> bool:
    if a == b:
        return False
    for cls in (SUBJECT_FORMS, AUXILIARIES, DETERMINERS):
        if a in cls:
            return b in cls
    return False


def _has_interregnum(labels: list, index: list[int], j: int) -> bool:
    """Is there a filler, marker or editing term between content positions j-1 and j?"""
    for k in range(index[j - 1] + 1, index[j]):
        if labels[k] is not None:
            return True
    return False


def _align(c: list[str], i: int, j: int) -> tuple[int, int]:
    """How far the reparandum ``c[i:j]`` is from the words from ``j``: the word edit distance
    (:func:`_variant` words are equal) to the closest of the next ``size-1 .. size+1`` words,
    and that repair's length."""
    # (size+1) x (size+2) cells at most: a reparandum has 6 words or fewer
    size = j - i
    rp = c[j:j + size + 1]
    n = len(rp)
    prev = list(range(n + 1))
    for a in range(size):
        x = c[i + a]
        cur = [a + 1] + [0] * n
        for b in range(1, n + 1):
            d = prev[b - 1] + (0 if _variant(x, rp[b - 1]) else 1)
            if prev[b] + 1 < d:
                d = prev[b] + 1
            if cur[b - 1] + 1 < d:
                d = cur[b - 1] + 1
            cur[b] = d
        prev = cur
    best, end = size + 1, n
    for b in (size, size - 1, size + 1):  # ties: the repair as long as the reparandum
        if 0 < b <= n and prev[b] < best:
            best, end = prev[b], b
    return best, end


def _one_inserted(c: list[str], i: int, j: int) -> bool:
    """Is the reparandum ``c[i:j]`` its repair from ``j`` with one word put in after the first
    (``it's like`` / ``it seems like``)?"""
    size = j - i
    if j + size >= len(c):
        return False
    for k in range(1, size):
        if all(_variant(c[i + a], c[j + a]) for a in range(k)) and \
                all(_variant(c[i + a], c[j + a + 1]) for a in range(k, size)):
            return True
    return False


Emit = Callable[[DisfluencyType, int, int, int, str], None]


def find_repairs(forms: list[str], labels: list, index: list[int]) -> list[tuple]:
    """REP/REV/FS structures over the content words ``index`` (positions in ``forms``; the
    other positions are fillers, markers, editing terms or not words). ``labels[k]`` is the
    lexicon label of position ``k`` or None. Raw spans, unsorted."""
    c = [forms[k] for k in index]
    m = len(c)
    out: list[tuple] = []
    # found[j]: the first reparandum start of a repair found with its onset at content position j
    found = [m] * (m + 1)

    def emit(kind: DisfluencyType, i: int, j: int, rp: int, rule: str) -> None:
        """Reparandum c[i:j], repair of ``rp`` words from j (none: a false start)."""
        if i < found[j]:
            found[j] = i
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
        if i is None or j - i > 4:
            continue
        for k in (4, 3, 2, 1):
            if k <= j and j + k <= m and c[j - k:j] == c[j:j + k] \
                    and not (w in FLUENT_REPEATS and (k == 1 or c[j + 1] in FLUENT_REPEATS)):
                emit(REP, j - k, j, k, "repetition")
                for x in range(j - k, j + k):
                    repeated[x] = 1
                break
    # 2. partial words, 3. rough copies, 4. insertions, 5. a function word replaced by another
    # of its class
    for j in range(1, m):
        w, prev = c[j], c[j - 1]
        if len(prev) > 1 and prev[-1] == "-":  # cut off at its end ("-ing" lost its start)
            if w.startswith(prev[:-1]):
                emit(REP, j - 1, j, 1, "partial")  # "th- the"
            elif w in CLAUSE_STARTS:
                emit(FS, j - 1, j, 0, "partial")  # "we were- so anyway": abandoned, a new start
            else:
                emit(REV, j - 1, j, 1, "partial")  # "wi- do"
        if _rough_copy(c, j, labels, index, found, emit):
            continue
        if j >= 2 and c[j - 2] == w \
                and (prev in ADVERBS or (prev in SUBORDINATORS and w in _SWITCH_SUBJECTS)) \
                and w not in FLUENT_REPEATS and w not in CONJUNCTIONS and not repeated[j - 2] \
                and not is_partial(w):
            emit(REV, j - 2, j - 1, 2, "insert")  # "a nice relatively nice", "I when I"
            continue
        if prev == w or prev not in _CLASS:
            continue
        cls = _CLASS[prev]
        if cls is _CLASS.get(w) and (cls is not PREPOSITIONS or _has_interregnum(labels, index, j)):
            emit(REV, j - 1, j, 1, "class")  # "the a", "and uh but", "we I"
        elif cls is SUBJECT_FORMS and w in YOU_FORMS and prev != "its":  # not "it's you"
            emit(REV, j - 1, j, 1, "class")  # "we you can't"
    return out


def _rough_copy(c: list[str], j: int, labels: list, index: list[int], found: list[int],
                emit: Emit) -> bool:
    """A revision whose repair (from ``j``) starts like its reparandum; True if one was found.

    The reparandum's first word is looked for from ``j-1`` back (the nearest decides); see the
    module docstring for the cues each rule asks for.
    """
    w = c[j]
    m = len(c)
    w_variants = VARIANTS.get(w, ())  # (variant families are symmetric)
    w_class = _SWITCH_CLASS.get(w)
    for i in range(j - 1, max(-1, j - MAX_REPARANDUM - 1), -1):
        x0 = c[i]
        if x0 != w and x0 not in w_variants and not (x0[-1] == "-" and len(x0) > 1
                                                     and w.startswith(x0[:-1])):
            # not a variant of w (inlined _variant: this loop is the tagger's hot spot)
            if w_class is not None and _SWITCH_CLASS.get(x0) is w_class and _switch(c, i, j) \
                    and _emit_switch(c, i, j, emit):
                return True
            continue
        size = j - i
        p = 1  # words said again from the start
        while p < size and j + p < m and c[i + p] == c[j + p]:
            p += 1
        exact = x0 == w
        if exact and p == size:
            if size > 4 and x0 not in CONJUNCTIONS and w not in c[j + size:j + size + 2]:
                emit(REP, i, j, size, "repetition")  # 5 or 6 words said again
                return True
            continue  # an exact repetition (pass 1); a longer rough copy may hold it
        for j0 in range(i + 1, j):
            if found[j0] < i:
                return False  # would cross a repair found before: "do what he wi- do what he"
        partial = answer = False
        for x in range(i, j):
            if is_partial(c[x]):
                partial = True
            elif c[x] in FLUENT_REPEATS:
                answer = True
        if size > 1 and not partial and (c[j - 1] in CONJUNCTIONS or w in c[j + size - 1:j + size + 2]
                                         or (i >= size and c[i - size:i - size + 2] == c[i:i + 2])):
            # "citizenship in the town citizenship in the state citizenship in …": a list
            return False
        if partial and not exact and is_partial(x0):
            continue  # "ki- the kids": the cut-off word alone is the reparandum (rule "partial")
        if size == 2 and c[i + 1] in CONTRACTIONS.get(w, ()):
            emit(REV, i, j, 1, "copy-contraction")  # "it is it's"
            return True
        rp = min(size, m - j)
        if size > 4:
            distance, end = _align(c, i, j)
            ok = (distance <= 1 and not answer and x0 not in CONJUNCTIONS
                  and c[j - 1] not in CONJUNCTIONS)
            if ok:
                emit(REV, i, j, end, "copy-long")
            return ok
        if partial:
            ok = size > 1 and (size <= 2 or p >= 2 or exact)
            rule = "copy-partial"
            if ok and not is_partial(c[j - 1]):
                q = max(x for x in range(i, j) if is_partial(c[x]))
                if q > i:  # "how you whe- once you get": "once" starts the repair
                    emit(FS, i, q + 1, 0, "copy-partial-cut")
                    return True
        elif size == 1:
            ok = x0 in STARTERS
            rule = "copy-variant"
        elif answer or x0 in CONJUNCTIONS:
            # "I think, yeah, I think so"; "and see the game and see the Patriots": said again
            # on purpose, or coordinated
            return False
        elif _has_interregnum(labels, index, j):
            ok = p >= 2 or (size <= 2 and exact)
            rule = "copy-interregnum"
        else:
            # "when I hear when I see": two words repeated, one replaced; or one word repeated
            # and the next replaced by another of its kind ("if you're if there", "I was I am")
            ok = (p >= 2 and size - p <= 1) or (
                size == 2 and j + 1 < m and _same_kind(c[i + 1], c[j + 1]))
            rule = "copy"
            if not ok and _one_inserted(c, i, j):  # "it's like it seems like": one word added
                ok, rule, rp = True, "copy-insert", size + 1
        if ok:
            emit(REV, i, j, rp, rule)
        return ok
    return False


def _switch(c: list[str], i: int, j: int) -> bool:
    """Does ``c[j]`` replace ``c[i]`` by a word of its class, the next word said again?"""
    x0, w = c[i], c[j]
    cls = _SWITCH_CLASS.get(x0)
    return (cls is not None and i < j - 1 and j + 1 < len(c) and _SWITCH_CLASS.get(w) is cls
            and _variant(c[i + 1], c[j + 1])
            and (cls is not PREPOSITIONS or c[i + 1] in DETERMINERS))


def _emit_switch(c: list[str], i: int, j: int, emit: Emit) -> bool:
    """The "switch" revision when its reparandum (2-3 words) comes again but for its first word."""
    size = j - i
    if size > 3 or any(is_partial(c[x]) or c[x] in FLUENT_REPEATS for x in range(i, j)):
        return False
    distance, end = _align(c, i, j)
    if distance != 1:
        return False
    emit(REV, i, j, min(max(end, 2), len(c) - j), "switch")
    return True
