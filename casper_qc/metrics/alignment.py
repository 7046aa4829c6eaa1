"""Alignments of two transcripts: which token of one stands for which of the other.

:func:`align` and :func:`align_words` give the full alignment (:class:`Alignment`: every step,
optional fillers put back in place, printable sclite style); :func:`word_pairs` gives only the
counts and the pairs of words aligned to each other, for tag agreement over whole corpora
(:func:`word_side` prepares one word list once and :func:`side_alignment` aligns prepared lists,
for a list aligned with several others).
Their counts are those of :func:`~casper_qc.metrics.wer.wer_counts` under the same normalizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

from .editops import opcodes, tally
from .normalize import NORMALIZED, Normalizer, get_normalizer
from .wer import WerCounts

__all__ = ["AlignedPair", "Alignment", "align", "align_words", "word_pairs", "WordSide", "word_side",
           "side_alignment"]


class AlignedPair(NamedTuple):
    """One step of an alignment. ``op`` is ``hit``, ``substitution``, ``deletion``,
    ``insertion`` or ``optional`` (a filler left out); ``ref``/``hyp`` index the tokens."""

    op: str
    ref: int | None
    hyp: int | None


@dataclass(frozen=True)
class Alignment:
    """The alignment of one reference/hypothesis pair.

    ``ref``/``hyp`` are the normalized tokens; ``ref_source``/``hyp_source`` give, for each
    token, the index of the input word it came from (:func:`align_words`) or its own index
    (:func:`align`).
    """

    ref: tuple[str, ...]
    hyp: tuple[str, ...]
    ops: tuple[AlignedPair, ...]
    counts: WerCounts
    ref_source: tuple[int, ...]
    hyp_source: tuple[int, ...]

    def pairs(self) -> list[tuple[int, int]]:
        """(ref token, hyp token) index pairs aligned to each other (hits and substitutions)."""
        return [(p.ref, p.hyp) for p in self.ops  # type: ignore[misc]
                if p.op in ("hit", "substitution")]

    def __str__(self) -> str:
        """Three lines, sclite style: REF, HYP and the error marks (S, D, I; ~ optional)."""
        rows: tuple[list[str], list[str], list[str]] = ([], [], [])
        for op, r, h in self.ops:
            cells = (self.ref[r] if r is not None else "*", self.hyp[h] if h is not None else "*",
                     _MARKS[op])
            width = max(len(c) for c in cells)
            for row, cell in zip(rows, cells):
                row.append(cell.ljust(width))
        return "\n".join(f"{label} {' '.join(row)}".rstrip()
                         for label, row in zip(("REF:", "HYP:", "    "), rows))


_MARKS = {"hit": "", "substitution": "S", "deletion": "D", "insertion": "I", "optional": "~"}


_OPS = {"equal": "hit", "replace": "substitution", "delete": "deletion", "insert": "insertion"}


def _alignment(ref_tokens: list[str], hyp_tokens: list[str], norm: Normalizer,
               ref_source: tuple[int, ...], hyp_source: tuple[int, ...]) -> Alignment:
    fillers = norm.fillers
    ref_kept = [i for i, t in enumerate(ref_tokens) if t not in fillers]
    hyp_kept = [j for j, t in enumerate(hyp_tokens) if t not in fillers]
    codes = opcodes([ref_tokens[i] for i in ref_kept], [hyp_tokens[j] for j in hyp_kept],
                    norm.partial_words)
    core: list[AlignedPair] = []
    for tag, i1, i2, j1, j2 in codes:
        op = _OPS[tag]
        if tag in ("equal", "replace"):
            core.extend(AlignedPair(op, ref_kept[i1 + k], hyp_kept[j1 + k]) for k in range(i2 - i1))
        elif tag == "delete":
            core.extend(AlignedPair(op, ref_kept[i], None) for i in range(i1, i2))
        else:
            core.extend(AlignedPair(op, None, hyp_kept[j]) for j in range(j1, j2))
    # Put the optional tokens back where they stood in their own text.
    ref_opt = [i for i, t in enumerate(ref_tokens) if t in fillers]
    hyp_opt = [j for j, t in enumerate(hyp_tokens) if t in fillers]
    ops: list[AlignedPair] = []
    ro = ho = 0
    for pair in core:
        while pair.ref is not None and ro < len(ref_opt) and ref_opt[ro] < pair.ref:
            ops.append(AlignedPair("optional", ref_opt[ro], None))
            ro += 1
        while pair.hyp is not None and ho < len(hyp_opt) and hyp_opt[ho] < pair.hyp:
            ops.append(AlignedPair("optional", None, hyp_opt[ho]))
            ho += 1
        ops.append(pair)
    ops.extend(AlignedPair("optional", i, None) for i in ref_opt[ro:])
    ops.extend(AlignedPair("optional", None, j) for j in hyp_opt[ho:])
    s, d, i, h = tally(codes)
    counts = WerCounts(s, d, i, h, norm.name, 1, len(ref_opt), len(hyp_opt))
    return Alignment(tuple(ref_tokens), tuple(hyp_tokens), tuple(ops), counts,
                     ref_source, hyp_source)


def align(ref: str, hyp: str, normalizer: str | Normalizer = NORMALIZED) -> Alignment:
    """The alignment of one utterance pair (its ``counts`` equal :func:`wer_counts`)."""
    norm = get_normalizer(normalizer)
    r, h = norm.tokens(ref), norm.tokens(hyp)
    return _alignment(r, h, norm, tuple(range(len(r))), tuple(range(len(h))))


def align_words(ref_words: Sequence[str], hyp_words: Sequence[str],
                normalizer: str | Normalizer = NORMALIZED) -> Alignment:
    """Align two word lists, normalizing each word on its own so that every token can be
    traced back to its word (``ref_source``/``hyp_source``). A word that normalizes to nothing
    (an event, punctuation) takes no part."""
    norm = get_normalizer(normalizer)

    def flatten(words: Sequence[str]) -> tuple[list[str], tuple[int, ...]]:
        tokens: list[str] = []
        source: list[int] = []
        for index, toks in enumerate(norm.word_tokens(words)):
            tokens.extend(toks)
            source.extend([index] * len(toks))
        return tokens, tuple(source)

    r, r_src = flatten(ref_words)
    h, h_src = flatten(hyp_words)
    return _alignment(r, h, norm, r_src, h_src)


class WordSide(NamedTuple):
    """One word list as :func:`word_pairs` aligns it: the ``words``, their counted ``tokens``
    (fillers left out), the word each token came from (``source``), the ``optional`` (filler)
    tokens left out, and whether no word gave two counted tokens (``single``)."""

    words: list[str]
    tokens: list[str]
    source: list[int]
    optional: int
    single: bool


def word_side(words: Sequence[str], normalizer: str | Normalizer = NORMALIZED) -> WordSide:
    """``words`` normalized for :func:`side_alignment` (each word on its own, see
    :func:`align_words`); prepare a word list once to align it with several others."""
    norm = get_normalizer(normalizer)
    fillers = norm.fillers
    words = list(words)
    if norm.direct is str.split and not fillers and " ".join(words).split() == words:
        # verbatim-v1: every word (no whitespace in it) is its own token
        return WordSide(words, words, list(range(len(words))), 0, True)
    per_word = norm.word_tokens(words)
    if set(map(len, per_word)) <= {1}:  # one token per word, the usual case
        flat = [t[0] for t in per_word]
        if fillers:
            source = [i for i, t in enumerate(flat) if t not in fillers]
            return WordSide(words, [flat[i] for i in source], source, len(flat) - len(source), True)
        return WordSide(words, flat, list(range(len(flat))), 0, True)
    tokens: list[str] = []
    source = []
    optional = 0
    for index, toks in enumerate(per_word):
        for token in toks:
            if token in fillers:
                optional += 1
            else:
                tokens.append(token)
                source.append(index)
    return WordSide(words, tokens, source, optional, len(set(source)) == len(source))


def word_pairs(ref_words: Sequence[str], hyp_words: Sequence[str],
               normalizer: str | Normalizer = NORMALIZED
               ) -> tuple[WerCounts, list[tuple[int, int]]]:
    """The counts of :func:`align_words` and the ``(ref word, hyp word)`` index pairs aligned
    to each other (hits and substitutions), each word in at most one pair - without building
    the alignment's per-token records (the fast path for tag agreement over whole corpora)."""
    norm = get_normalizer(normalizer)
    ref = word_side(ref_words, norm)
    hyp = ref if list(hyp_words) == ref.words else word_side(hyp_words, norm)
    counts, at_ref, at_hyp = side_alignment(ref, hyp, norm)
    return counts, list(zip(at_ref, at_hyp))


def side_alignment(ref: WordSide, hyp: WordSide, normalizer: str | Normalizer = NORMALIZED
                   ) -> tuple[WerCounts, list[int], list[int]]:
    """:func:`word_pairs` of two prepared sides (:func:`word_side` under the same normalizer),
    the pairs given as two lists: the ref words and the hyp words aligned to each other, in
    order (the k-th of one with the k-th of the other)."""
    norm = get_normalizer(normalizer)
    r, r_src = ref.tokens, ref.source
    if hyp.words == ref.words:  # unchanged words: every counted token is a hit
        at = list(r_src) if ref.single else sorted(set(r_src))
        return WerCounts(0, 0, 0, len(r), norm.name, 1, ref.optional, ref.optional), at, list(at)
    h_src = hyp.source
    single = ref.single and hyp.single
    at_ref: list[int] = []
    at_hyp: list[int] = []
    used_r: set[int] = set()
    used_h: set[int] = set()
    s = d = ins = hits = 0
    for tag, i1, i2, j1, j2 in opcodes(r, hyp.tokens, norm.partial_words):
        if tag == "delete":
            d += i2 - i1
            continue
        if tag == "insert":
            ins += j2 - j1
            continue
        if tag == "equal":
            hits += i2 - i1
        else:
            s += i2 - i1
        if single:
            n = min(i2 - i1, j2 - j1)
            at_ref += r_src[i1:i1 + n]
            at_hyp += h_src[j1:j1 + n]
            continue
        for i, j in zip(r_src[i1:i2], h_src[j1:j2]):
            if i not in used_r and j not in used_h:  # a word split into tokens pairs once
                used_r.add(i)
                used_h.add(j)
                at_ref.append(i)
                at_hyp.append(j)
    return WerCounts(s, d, ins, hits, norm.name, 1, ref.optional, hyp.optional), at_ref, at_hyp
