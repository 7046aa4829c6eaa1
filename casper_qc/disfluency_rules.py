"""The lexicon pass of the disfluency tagger (:mod:`casper_qc.disfluency`), compiled per lexicon.

Fillers, discourse markers and editing terms are looked up by first word, longest phrase first;
ambiguous entries ("well", "like", "you know", "see", "now", "so", "actually") have context rules
here. Partial words are found by form, and the repair structures by
:mod:`casper_qc.disfluency_repairs`. The context rules are hand-written from English grammar and
the Switchboard stylebook's categories (Meteer et al. 1995), checked against the tuning part of
the development set (docs/ACCURACY.md); no list or weight is learned from it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from .conventions import Lexicon
from .disfluency_repairs import find_repairs, is_partial
from .labels import DisfluencyType

__all__ = ["Compiled", "compile_lexicon"]

FP, DM, ET, PW = DisfluencyType.FP, DisfluencyType.DM, DisfluencyType.ET, DisfluencyType.PW

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
                if is_partial(form):
                    spans.append((PW, k, k + 1, None, None, None, "form"))
                index.append(k)
        if len(index) > 1:
            spans.extend(find_repairs(forms, labels, index))
        spans.sort(key=lambda s: (s[1], -s[2]))
        return spans


@lru_cache(maxsize=16)
def compile_lexicon(lexicon: Lexicon) -> Compiled:
    """The compiled lookups of ``lexicon`` (cached: lexicons are frozen and hashable)."""
    return Compiled(lexicon)
