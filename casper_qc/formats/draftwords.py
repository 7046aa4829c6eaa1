"""Words of draft transcripts: other tools' tokens made into the model's :class:`Word` records.

A draft's tokens come from other tools: Whisper's ``" Hello,"`` (a leading space, punctuation
attached), a CTM word, the text of a subtitle cue. This module turns them into words that follow
the project's verbatim conventions and lays times on the millisecond grid. It is shared by the
draft readers (:mod:`casper_qc.formats.drafts`), the placement of words into turns
(:mod:`casper_qc.drafts`) and the speech recognizers (:mod:`casper_qc.asr`).

Contracts:

* :func:`token_words` reads one token with :func:`casper_qc.conventions.tokenize`: surrounding
  punctuation is dropped (a token of punctuation only gives no word), fillers become
  ``WordKind.FILLER``, cut-off words (``th-``) ``PARTIAL``, bracketed events (``[laughter]``)
  ``EVENT`` with their canonical text. A bracket that does not balance *inside the one token*
  (``"[laughs"``) is dropped and the rest read as a word.
* :func:`timed_words` gives the words of one token the token's times (seconds). A token that
  holds more than one word shares its span by character length and its words are
  ``estimated``; a span shorter than 1 ms (Whisper writes ``start == end``) is widened to 1 ms
  and ``estimated``.
* :func:`spread_words` lays untimed words over an interval by character length (each word weighs
  its length plus one for the space after it); they are ``estimated``.
* :func:`fit_ms` is the one rule that makes times fit an interval: in order, not overlapping,
  at least 1 ms each.
* :func:`fill_untimed` gives times to the untimed words of a partly timed sequence from their
  timed neighbours.

Times are seconds (``float``) in and out; internally everything is whole milliseconds, the grid
the model rounds to. Nothing here raises on user input except :func:`timed_words` and
:func:`spread_words`, which raise :class:`~casper_qc.errors.ModelError` for times that are not
finite non-negative numbers (readers check times before calling them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..errors import FormatError
from ..model import Word, seconds, to_ms

__all__ = ["token_words", "timed_words", "spread_words", "fit_ms", "fill_untimed", "MIN_MS"]

#: The shortest word on the time grid (milliseconds).
MIN_MS = 1

_BRACKETS = str.maketrans("", "", "[]<>{}()")


def token_words(token: str, *, lexicon=None) -> tuple[Word, ...]:
    """The untimed words of one token of another tool's output (usually one, or none).

    ``lexicon`` is a :class:`casper_qc.conventions.Lexicon` (default: the project's).
    """
    from ..conventions import tokenize

    try:
        return tokenize(token, lexicon=lexicon)
    except FormatError:  # a bracket split off its partner by the other tool's tokenization
        return tokenize(token.translate(_BRACKETS), lexicon=lexicon)


def _weights(words: Sequence[Word]) -> list[int]:
    return [len(w.text) + 1 for w in words]


def fit_ms(spans: Sequence[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]] | None:
    """Spans (ms) moved as little as needed to lie in ``[lo, hi]`` in order, without overlap and
    at least :data:`MIN_MS` long; None when ``hi - lo`` has no room for them all.

    One forward pass: each span is clipped to ``[lo, hi]``, starts no earlier than the previous
    span's end, and leaves room for the spans after it. Spans already in order, inside and apart
    come back unchanged.
    """
    count = len(spans)
    if count * MIN_MS > hi - lo:
        return None
    out: list[tuple[int, int]] = []
    previous_end = lo
    for index, (start, end) in enumerate(spans):
        start = min(max(start, lo), hi)
        end = min(max(end, lo), hi)
        latest_start = hi - (count - index) * MIN_MS
        start = min(max(start, previous_end), latest_start)
        end = min(max(end, start + MIN_MS), hi - (count - 1 - index) * MIN_MS)
        out.append((start, end))
        previous_end = end
    return out


def _split_ms(words: Sequence[Word], lo: int, hi: int) -> list[tuple[int, int]]:
    """Cut ``[lo, hi]`` (ms) into one span per word by character length, then fit them."""
    weights = _weights(words)
    total = sum(weights)
    bounds = [lo]
    cumulative = 0
    for weight in weights:
        cumulative += weight
        bounds.append(lo + round((hi - lo) * cumulative / total))
    spans = list(zip(bounds[:-1], bounds[1:]))
    fitted = fit_ms(spans, lo, hi)
    if fitted is not None:
        return fitted
    # no room for 1 ms each: the words share the interval's last millisecond(s), overlapping
    last = max(lo, hi - MIN_MS)
    return [(min(s, last), min(s, last) + MIN_MS) for s, _ in spans]


def _with_ms(word: Word, start: int, end: int, estimated: bool) -> Word:
    return replace(word, start=start / 1000, end=end / 1000, estimated=estimated)


def spread_words(words: Sequence[Word], start: float, end: float) -> tuple[Word, ...]:
    """``words`` (times ignored) laid over ``[start, end]`` seconds by character length,
    ``estimated``. Words overlap only when the interval has less than 1 ms per word."""
    if not words:
        return ()
    lo, hi = to_ms(seconds(start, "start")), to_ms(seconds(end, "end"))
    hi = max(hi, lo + MIN_MS)
    return tuple(_with_ms(w, s, e, True) for w, (s, e) in zip(words, _split_ms(words, lo, hi)))


def timed_words(token: str, start: float, end: float, *, estimated: bool = False,
                lexicon=None) -> tuple[Word, ...]:
    """The words of one timed token (seconds, ``start <= end``), see the module docstring."""
    words = token_words(token, lexicon=lexicon)
    if not words:
        return ()
    lo, hi = to_ms(seconds(start, "start")), to_ms(seconds(end, "end"))
    if hi - lo < MIN_MS * len(words):
        hi = lo + MIN_MS * len(words)
        estimated = True
    if len(words) == 1:
        return (_with_ms(words[0], lo, hi, estimated),)
    return tuple(_with_ms(w, s, e, True) for w, (s, e) in zip(words, _split_ms(words, lo, hi)))


def fill_untimed(words: Sequence[Word], lo: float | None = None,
                 hi: float | None = None) -> tuple[Word, ...]:
    """``words`` with each run of untimed words given times from its timed neighbours.

    A run gets the gap between the previous timed word's end (or ``lo``) and the next timed
    word's start (or ``hi``), shared by character length (:func:`spread_words`, ``estimated``).
    When that gap is shorter than 1 ms per word, the run takes the neighbours' own spans too
    (the words then overlap their neighbours until placement fits them into a turn). A run with
    neither a neighbour nor a bound on one side uses the other side's bound for both; words with
    nothing to go by (no timed word, no bounds) stay untimed.
    """
    out = list(words)
    index = 0
    while index < len(out):
        if out[index].timed:
            index += 1
            continue
        stop = index
        while stop < len(out) and not out[stop].timed:
            stop += 1
        before = out[index - 1] if index > 0 else None
        after = out[stop] if stop < len(out) else None
        start = before.end if before is not None else lo
        end = after.start if after is not None else hi
        if start is None and end is None:
            index = stop
            continue
        if start is None or end is None:
            start = end = start if start is not None else end
        if to_ms(end) - to_ms(start) < MIN_MS * (stop - index):
            start = before.start if before is not None else min(start, end)
            end = after.end if after is not None else max(start, end)
        out[index:stop] = spread_words(out[index:stop], min(start, end), max(start, end))
        index = stop
    return tuple(out)
