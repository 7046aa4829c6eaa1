"""Word and character error rates as additive counts, with alignments.

Contracts:

* :class:`WerCounts` / :class:`CerCounts` hold hits, substitutions, deletions and insertions;
  ``+`` adds them, so the rate of a set is total errors / total reference words (not a mean of
  per-utterance rates). Counts of different normalizers cannot be added (``ValueError``).
* N (``ref_words``) is hits + substitutions + deletions: the reference words that count under
  the normalizer (fillers are optional in ``normalized-v1``, so they are not in N).
* **Empty reference rule**: an utterance whose reference has no (counted) words adds its
  hypothesis words as insertions and nothing to N; the rate is ``None`` (undefined) while the
  summed N is 0 — never 0 and never infinity.
* Alignment is the minimum edit distance over tokens, by rapidfuzz's Levenshtein opcodes (the
  engine inside ``jiwer.process_words``, called directly: ``jiwer.process_words`` builds a
  dataclass per chunk and costs about 2 s per million words, more than this whole path). The
  counts equal ``jiwer.process_words`` for ``verbatim-v1`` (tested). Under ``normalized-v1``,
  fillers are dropped from both sides first, and each stretch between runs of equal tokens that
  holds a partial word is re-aligned by a small dynamic programme with the prefix rule of
  :mod:`casper_qc.metrics.normalize` (ties: hit/substitution, then deletion, then insertion), so
  an exact word match is never given up for a partial one.

Raises :class:`~casper_qc.errors.InputError` when reference and hypothesis lists differ in length.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Sequence

from ..errors import InputError
from .editops import counted, edit_counts, tally
from .normalize import NORMALIZED, Normalizer, get_normalizer

__all__ = ["WerCounts", "CerCounts", "wer_counts", "count_tokens", "count_counted", "cer_counts"]


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


class _EditCounts:
    """What word and character counts share: errors, totals, and ``+`` of like counts of one
    normalizer (every field but ``normalizer`` summed)."""

    __slots__ = ()
    _unit: ClassVar[str]

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions  # type: ignore[attr-defined]

    @property
    def _ref_total(self) -> int:
        return self.hits + self.substitutions + self.deletions  # type: ignore[attr-defined]

    @property
    def _hyp_total(self) -> int:
        return self.hits + self.substitutions + self.insertions  # type: ignore[attr-defined]

    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        if other.normalizer != self.normalizer:  # type: ignore[attr-defined]
            raise ValueError(f"cannot add {self._unit} counts of {self.normalizer} "  # type: ignore[attr-defined]
                             f"and {other.normalizer}")
        return type(self)(**{f.name: getattr(self, f.name) if f.name == "normalizer"
                             else getattr(self, f.name) + getattr(other, f.name)
                             for f in fields(self)})  # type: ignore[arg-type]

    def __radd__(self, other: Any) -> Any:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented


@dataclass(frozen=True, slots=True)
class WerCounts(_EditCounts):
    """Word-level edit counts of one or more utterances under one normalizer.

    ``optional_ref`` / ``optional_hyp`` count fillers dropped as optional (not errors, not in N).
    """

    _unit: ClassVar[str] = "WER"
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    hits: int = 0
    normalizer: str = NORMALIZED
    utterances: int = 0
    optional_ref: int = 0
    optional_hyp: int = 0

    @property
    def ref_words(self) -> int:
        """N: reference words that count (hits + substitutions + deletions)."""
        return self._ref_total

    @property
    def hyp_words(self) -> int:
        """Hypothesis words that count (hits + substitutions + insertions)."""
        return self._hyp_total

    @property
    def wer(self) -> float | None:
        """(S + D + I) / N; None when N is 0 (see the empty reference rule)."""
        return _rate(self.errors, self.ref_words)

    def to_dict(self) -> dict[str, Any]:
        return {"wer": self.wer, "substitutions": self.substitutions, "deletions": self.deletions,
                "insertions": self.insertions, "hits": self.hits, "ref_words": self.ref_words,
                "hyp_words": self.hyp_words, "optional_ref": self.optional_ref,
                "optional_hyp": self.optional_hyp, "utterances": self.utterances,
                "normalizer": self.normalizer}


@dataclass(frozen=True, slots=True)
class CerCounts(_EditCounts):
    """Character-level edit counts (spaces between words count as characters, as in jiwer)."""

    _unit: ClassVar[str] = "CER"
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    hits: int = 0
    normalizer: str = NORMALIZED
    utterances: int = 0

    @property
    def ref_chars(self) -> int:
        return self._ref_total

    @property
    def hyp_chars(self) -> int:
        return self._hyp_total

    @property
    def cer(self) -> float | None:
        """(S + D + I) / reference characters; None when the reference has none."""
        return _rate(self.errors, self.ref_chars)

    def to_dict(self) -> dict[str, Any]:
        return {"cer": self.cer, "substitutions": self.substitutions, "deletions": self.deletions,
                "insertions": self.insertions, "hits": self.hits, "ref_chars": self.ref_chars,
                "hyp_chars": self.hyp_chars, "utterances": self.utterances,
                "normalizer": self.normalizer}


def _as_lists(ref: str | Sequence[str], hyp: str | Sequence[str]) -> tuple[list[str], list[str]]:
    refs = [ref] if isinstance(ref, str) else list(ref)
    hyps = [hyp] if isinstance(hyp, str) else list(hyp)
    if len(refs) != len(hyps):
        raise InputError(f"the reference has {len(refs)} utterance(s) but the hypothesis has "
                         f"{len(hyps)}")
    return refs, hyps


def wer_counts(ref: str | Sequence[str], hyp: str | Sequence[str],
               normalizer: str | Normalizer = NORMALIZED) -> WerCounts:
    """Word error counts of one utterance pair, or summed over parallel lists of utterances.

    Raises:
        InputError: if the two lists differ in length.
        ValueError: for an unknown normalizer name.
    """
    norm = get_normalizer(normalizer)
    refs, hyps = _as_lists(ref, hyp)
    return count_tokens(norm.tokens_many(refs), norm.tokens_many(hyps), norm)


def count_tokens(refs: Sequence[list[str]], hyps: Sequence[list[str]],
                 normalizer: Normalizer) -> WerCounts:
    """:func:`wer_counts` of texts already split by ``normalizer`` (``tokens_many``), for
    callers that compare one tokenized text with several others."""
    fillers = normalizer.fillers
    s = d = ins = h = opt_r = opt_h = 0
    for r_all, h_all in zip(refs, hyps):
        r, hy = counted(r_all, fillers), counted(h_all, fillers)
        opt_r += len(r_all) - len(r)
        opt_h += len(h_all) - len(hy)
        if r == hy:  # the common case between annotators: no alignment needed
            h += len(r)
            continue
        ds, dd, di, dh = edit_counts(r, hy, normalizer.partial_words)
        s, d, ins, h = s + ds, d + dd, ins + di, h + dh
    return WerCounts(s, d, ins, h, normalizer.name, len(refs), opt_r, opt_h)


def count_counted(ref: list[str], hyp: list[str], normalizer: Normalizer, *, optional_ref: int = 0,
                  optional_hyp: int = 0) -> WerCounts:
    """:func:`count_tokens` of one utterance pair whose tokens are already the counted ones
    (``editops.counted``: fillers taken out), with the number of optional tokens each side had;
    for callers that compare one text with several others and keep its counted tokens."""
    if ref == hyp:
        return WerCounts(0, 0, 0, len(ref), normalizer.name, 1, optional_ref, optional_hyp)
    s, d, ins, h = edit_counts(ref, hyp, normalizer.partial_words)
    return WerCounts(s, d, ins, h, normalizer.name, 1, optional_ref, optional_hyp)


def cer_counts(ref: str | Sequence[str], hyp: str | Sequence[str],
               normalizer: str | Normalizer = NORMALIZED) -> CerCounts:
    """Character error counts over the normalized text.

    Characters are those of the counted tokens joined by single spaces: fillers are left out
    under ``normalized-v1`` and the hyphen of a partial word is dropped (``th-`` -> ``th``).
    """
    from rapidfuzz.distance import Levenshtein

    norm = get_normalizer(normalizer)
    refs, hyps = _as_lists(ref, hyp)

    def text(tokens: list[str]) -> str:
        kept = counted(tokens, norm.fillers)
        if norm.partial_words:
            kept = [t.strip("-") or t for t in kept]
        return " ".join(kept)

    s = d = ins = h = 0
    for r, hy in zip(norm.tokens_many(refs), norm.tokens_many(hyps)):
        ds, dd, di, dh = tally(Levenshtein.opcodes(text(r), text(hy)).as_list())
        s, d, ins, h = s + ds, d + dd, ins + di, h + dh
    return CerCounts(s, d, ins, h, norm.name, len(refs))


