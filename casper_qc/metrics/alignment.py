"""Alignments of two transcripts: which token of one stands for which of the other.

:func:`align` and :func:`align_words` give the full alignment (:class:`Alignment`: every step,
optional fillers put back in place, printable sclite style); :func:`word_pairs` gives only the
counts and the pairs of words aligned to each other, for tag agreement over whole corpora.
Their counts are those of :func:`~casper_qc.metrics.wer.wer_counts` under the same normalizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

from .editops import opcodes, tally
from .normalize import NORMALIZED, Normalizer, get_normalizer
from .wer import WerCounts

__all__ = ["AlignedPair", "Alignment", "align", "align_words", "word_pairs"]


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


def word_pairs(ref_words: Sequence[str], hyp_words: Sequence[str],
               normalizer: str | Normalizer = NORMALIZED
               ) -> tuple[WerCounts, list[tuple[int, int]]]:
    """The counts of :func:`align_words` and the ``(ref word, hyp word)`` index pairs aligned
    to each other (hits and substitutions), each word in at most one pair - without building
    the alignment's per-token records (the fast path for tag agreement over whole corpora)."""
    norm = get_normalizer(normalizer)
    fillers = norm.fillers

    def kept(words: Sequence[str]) -> tuple[list[str], list[int], int, bool]:
        """Counted tokens, the word each came from, optional tokens, one token per word?"""
        per_word = norm.word_tokens(words)
        if set(map(len, per_word)) <= {1}:  # one token per word, the usual case
            flat = [t[0] for t in per_word]
            source = [i for i, t in enumerate(flat) if t not in fillers] if fillers \
                else list(range(len(flat)))
            return [flat[i] for i in source], source, len(flat) - len(source), True
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
        return tokens, source, optional, len(set(source)) == len(source)

    r, r_src, r_opt, r_single = kept(ref_words)
    if list(hyp_words) == list(ref_words):  # unchanged words: every counted token is a hit
        pairs = list(zip(r_src, r_src)) if r_single else \
            sorted({i: (i, i) for i in r_src}.values())
        return WerCounts(0, 0, 0, len(r), norm.name, 1, r_opt, r_opt), pairs
    h, h_src, h_opt, h_single = kept(hyp_words)
    ops = opcodes(r, h, norm.partial_words)
    pairs: list[tuple[int, int]] = []
    used_r: set[int] = set()
    used_h: set[int] = set()
    for tag, i1, i2, j1, j2 in ops:
        if tag != "equal" and tag != "replace":
            continue
        if r_single and h_single:
            pairs.extend(zip(r_src[i1:i2], h_src[j1:j2]))
            continue
        for i, j in zip(r_src[i1:i2], h_src[j1:j2]):
            if i not in used_r and j not in used_h:  # a word split into tokens pairs once
                used_r.add(i)
                used_h.add(j)
                pairs.append((i, j))
    s, d, ins, hits = tally(ops)
    return WerCounts(s, d, ins, hits, norm.name, 1, r_opt, h_opt), pairs
