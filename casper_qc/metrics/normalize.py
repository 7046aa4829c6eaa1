"""Named, versioned text normalizers for WER and CER.

A normalizer turns a transcript into the tokens that are compared, and says which tokens are
*optional* (fillers) and which are *partial words*. Every result carries the normalizer's name,
so two figures are comparable only when their names match.

Two pipelines, each a :class:`jiwer.Compose` (so jiwer users can apply exactly the same text
steps, e.g. ``jiwer.process_words(ref, hyp, reference_transform=n.transform,
hypothesis_transform=n.transform)``):

``verbatim-v1``
    Whitespace split, nothing else: case, punctuation, fillers, events and partial words all
    count as written.

``normalized-v1``
    1. typographic apostrophes (U+2018, U+2019, U+02BC) become ``'``;
    2. markup goes, in one pass: events ``[laughter]``, ``<noise>``, ``{breath}``, ``(coughs)``
       and the marks of uncertain words ``((maybe this))``, whose words stay (the project's
       transcript conventions, ``casper_qc.conventions``);
    3. lower case;
    4. punctuation becomes a space, except apostrophes (``don't``, ``'er``: dropping them would
       turn ``'er`` into the filler ``er``) and hyphens (they mark partial words);
    5. split on whitespace; a token of hyphens only (a dash standing alone) is dropped.

    On top of the text steps, the alignment (:mod:`casper_qc.metrics.wer`) applies two rules in
    the spirit of NIST sclite:

    * **fillers are optional on both sides** (sclite's optionally deletable ``(%HESITATION)``,
      made symmetric because annotators are compared with each other): a filler is removed from
      both texts before alignment, so it is never an error and never counted in N. sclite would
      count a filler matched by a filler as correct (and in N); we do not, so N depends on the
      reference alone. Only single-word lexicon entries apply.
    * **partial words match by prefix** (sclite's fragment rule): ``th-`` matches any word that
      starts with ``th``; ``-cause`` any word ending in ``cause``; two partials match when one
      stem extends the other. The rule applies where the two texts differ: an exact word match
      is never given up for a partial one (``I think`` / ``I th- think``: ``th-`` is inserted).

    ``normalized-v1`` takes its fillers from ``casper_qc.conventions.DEFAULT_LEXICON`` when that
    module is present, else from :data:`FILLERS_V1` (the same words). If the lexicon ever differs
    from ``FILLERS_V1`` the name becomes ``normalized-v1+fillers-<hash>``; with fillers scored
    (``fillers=()``) it is ``normalized-v1+scored-fillers``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Sequence

import jiwer

__all__ = [
    "VERBATIM",
    "NORMALIZED",
    "MODES",
    "FILLERS_V1",
    "Normalizer",
    "get_normalizer",
    "Translate",
    "RemovePunctuation",
    "SplitWords",
]

VERBATIM = "verbatim-v1"
NORMALIZED = "normalized-v1"
#: Short mode names (CLI ``--mode``) -> normalizer names.
MODES = {"verbatim": VERBATIM, "normalized": NORMALIZED}

#: The filler words of ``normalized-v1``: the single-word fillers of the project lexicon
#: (``casper_qc.conventions.DEFAULT_LEXICON``; Switchboard stylebook filled pauses).
FILLERS_V1 = frozenset({"uh", "um", "uhm", "umm", "er", "erm", "ah", "eh", "hm", "hmm", "mm",
                        "mmm", "oh", "huh"})

# Events and the marks of uncertain words, in one pass: at each place the first alternative that
# fits wins, so "((" and "))" go before a parenthesised event is tried.
_MARKUP = r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}|\(\(|\)\)|\([^()]*\)"
_PUNCTUATION = r"[^\w\s'-]"  # \w keeps letters of every script and digits
_APOSTROPHES = {0x2018: "'", 0x2019: "'", 0x02BC: "'"}
# ASCII text (nearly all of it) drops punctuation through str.translate, not the regex: the
# same characters, ten times faster.
_ASCII_PUNCTUATION = {c: " " for c in range(128)
                      if not (chr(c).isalnum() or chr(c) in "_'- \t\n\r\f\v")}


class Translate(jiwer.AbstractTransform):
    """``str.translate`` with a fixed table."""

    def __init__(self, table: dict[int, str]):
        self.table = table

    def process_string(self, s: str) -> str:
        return s.translate(self.table)


class RemovePunctuation(jiwer.AbstractTransform):
    """Every character but letters, digits, ``_``, whitespace, ``'`` and ``-`` becomes a space
    (a regex for text outside ASCII, ``str.translate`` for ASCII: the same characters)."""

    pattern = re.compile(_PUNCTUATION)

    def process_string(self, s: str) -> str:
        if s.isascii():
            return s.translate(_ASCII_PUNCTUATION)
        return self.pattern.sub(" ", s)


class SplitWords(jiwer.AbstractTransform):
    """Split on any whitespace into jiwer's list of lists of words (the last step of a WER
    pipeline); with ``drop_dashes``, tokens of hyphens only (a dash standing alone) go."""

    def __init__(self, drop_dashes: bool = False):
        self.drop_dashes = drop_dashes

    def process_string(self, s: str) -> list[list[str]]:
        return [self._split(s)]

    def process_list(self, inp: list[str]) -> list[list[str]]:
        return [self._split(s) for s in inp]

    def _split(self, s: str) -> list[str]:
        words = s.split()
        if self.drop_dashes and "-" in s:
            words = [w for w in words if w.strip("-")]
        return words


@dataclass(frozen=True, eq=False)
class Normalizer:
    """A named text pipeline plus the token rules of the alignment.

    Attributes:
        name: the versioned name every result carries (``"normalized-v1"``…).
        transform: a ``jiwer.Compose`` mapping a string or a list of strings to lists of tokens.
        fillers: tokens that are optional on both sides (empty: every token counts).
        partial_words: whether ``th-`` / ``-cause`` match by prefix / suffix.
        direct: the steps of ``transform`` on one string as a plain function (same tokens,
            without jiwer's per-step dispatch), or None to call ``transform``.
    """

    name: str
    transform: Any
    fillers: frozenset[str] = frozenset()
    partial_words: bool = False
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    direct: Callable[[str], list[str]] | None = field(default=None, repr=False, compare=False)

    def tokens(self, text: str) -> list[str]:
        """The tokens of one text (fillers included; the alignment drops them)."""
        if self.direct is not None and isinstance(text, str):
            return self.direct(text)
        return self.transform(text)[0]

    def tokens_many(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text, in one pass of the pipeline."""
        if not texts:
            return []
        direct = self.direct
        if direct is not None and all(isinstance(t, str) for t in texts):
            return [direct(t) for t in texts]
        return self.transform(list(texts))

    def word_tokens(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """The tokens of each word taken on its own (usually one; none for an event).

        Cached per word form: transcripts repeat a small vocabulary, and running the regex
        pipeline once per word would dominate the cost of aligning word lists."""
        cache = self._cache
        missing = [w for w in set(words) if w not in cache]
        if missing:
            if len(cache) > 200_000:  # bound the memory of a long-lived normalizer
                cache.clear()
            for word, tokens in zip(missing, self.tokens_many(missing)):
                cache[word] = tuple(tokens)
        return [cache[w] for w in words]

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description: name, fillers and whether partial words match."""
        return {"name": self.name, "fillers": sorted(self.fillers),
                "partial_words": self.partial_words}

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Normalizer({self.name!r})"


def get_normalizer(name: str | Normalizer = NORMALIZED, *,
                   fillers: Iterable[str] | None = None) -> Normalizer:
    """The normalizer called ``name`` (``"verbatim-v1"``, ``"normalized-v1"``, or the short
    modes ``"verbatim"``, ``"normalized"``).

    ``fillers`` overrides the optional words of the normalized pipeline (``()`` scores every
    filler); the name then says so. A :class:`Normalizer` is returned as it is.

    Raises:
        ValueError: for an unknown name, or fillers given for the verbatim pipeline.
    """
    if isinstance(name, Normalizer):
        return name
    full = MODES.get(name, name)
    if full == VERBATIM:
        if fillers is not None and frozenset(fillers):
            raise ValueError("the verbatim-v1 normalizer scores every token; it takes no fillers")
        return _verbatim()
    if full == NORMALIZED:
        chosen = _lexicon_fillers() if fillers is None else _single_words(fillers)
        return _normalized(chosen)
    raise ValueError(f"unknown normalizer {name!r}; choose one of {', '.join(sorted(MODES))}, "
                     f"{VERBATIM}, {NORMALIZED}")


def _single_words(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w.lower() for w in words if w and not any(ch.isspace() for ch in w))


@lru_cache(maxsize=1)
def _lexicon_fillers() -> frozenset[str]:
    # The project lexicon is the authority on fillers; imported on first use only.
    try:
        from ..conventions import DEFAULT_LEXICON
    except ImportError:
        return FILLERS_V1
    return _single_words(DEFAULT_LEXICON.fillers)


def _normalized_tokens(s: str) -> list[str]:
    """The steps of the ``normalized-v1`` pipeline (:func:`_normalized`) on one string."""
    if s.isascii():  # no typographic apostrophe to replace
        s = _MARKUP_PATTERN.sub(" ", s).lower()
    else:
        s = _MARKUP_PATTERN.sub(" ", s.translate(_APOSTROPHES)).lower()
    s = s.translate(_ASCII_PUNCTUATION) if s.isascii() else RemovePunctuation.pattern.sub(" ", s)
    words = s.split()
    if "-" in s and _DASHES.search(s):  # a token of hyphens only (a dash standing alone)
        words = [w for w in words if w.strip("-")]
    return words


_MARKUP_PATTERN = re.compile(_MARKUP)
_DASHES = re.compile(r"(?<!\S)-+(?!\S)")


@lru_cache(maxsize=1)
def _verbatim() -> Normalizer:
    return Normalizer(VERBATIM, jiwer.Compose([SplitWords(drop_dashes=False)]), direct=str.split)


@lru_cache(maxsize=16)
def _normalized(fillers: frozenset[str]) -> Normalizer:
    transform = jiwer.Compose([
        Translate(_APOSTROPHES),
        jiwer.SubstituteRegexes({_MARKUP: " "}),
        jiwer.ToLowerCase(),
        RemovePunctuation(),
        SplitWords(drop_dashes=True),
    ])
    if fillers == FILLERS_V1:
        name = NORMALIZED
    elif not fillers:
        name = f"{NORMALIZED}+scored-fillers"
    else:
        digest = hashlib.sha1(" ".join(sorted(fillers)).encode()).hexdigest()[:8]
        name = f"{NORMALIZED}+fillers-{digest}"
    return Normalizer(name, transform, fillers, partial_words=True, direct=_normalized_tokens)
