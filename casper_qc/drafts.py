"""Put the words of a draft transcript into the turns they were spoken in.

Entry point: ``place_words(turns, draft, *, by="auto", tolerance=0.3, tag=False) -> Placement``
(read the draft with :func:`casper_qc.formats.drafts.read_draft` / ``parse_draft``). The
result's ``turns`` are the input turns, in the input order; ``unplaced`` lists the words that
found no turn, and ``counts()`` / ``summary()`` report them (for an ML backend's log or reply).

Which turns a track's words may go to (``by="auto"``):

1. when the track names a channel and the turn has one, they must be equal (the speaker is then
   not compared: in a per-channel recording the channel is what says whose words they are);
2. otherwise, when the track names a speaker, the turn's speaker must be that speaker;
3. otherwise (a draft of the whole recording, or a turn without channel) any turn may take it.

``by="time"`` ignores channels and speakers: every word goes to the turn it overlaps most,
whoever speaks (for a draft made from a mix, when turns carry no channel).

Timed words: each goes to the candidate turn it overlaps most (ties: the turn that holds the
word's midpoint, then the earlier turn). A word that overlaps no turn goes to the nearest one
when it lies within ``tolerance`` seconds of it (default 0.3 s: the timing jitter of ASR word
times and the edges a voice activity detector clips), else it is not placed (``"gap"``).

Untimed words (a plain-text draft of a channel): the track's words are shared among its
candidate turns in proportion to turn duration — a word goes to the turn whose share of the
total duration holds the middle of the word's share of the track's characters — and spread over
each turn by character length. Their times are ``estimated``. Untimed words inside a timed track
take times from their neighbours first (:func:`casper_qc.formats.draftwords.fill_untimed`).

Fitting words into a turn: the model keeps word times inside their turn, so a word's times are
clipped to the turn; words then follow each other without overlap, each at least 1 ms
(:func:`casper_qc.formats.draftwords.fit_ms`). A word moved by more than the clipping (a word
from the tolerance zone, an overlap resolved) is marked ``estimated``. A turn with less than
1 ms per word keeps the first words it has room for; the others are ``"no-room"``.

A turn that receives words gets them as its ``words``, its ``text`` becomes the words joined by
spaces (runs of uncertain words inside ``(( ))``, so the text reads back to the same words), and
its ``disfluencies`` are the filled pauses and partial words the words' kinds give
(:func:`casper_qc.conventions.verbatim_disfluencies`, what reading the text back gives) or, with
``tag=True``, those of the rule-based tagger (:func:`casper_qc.disfluency.tag_turn`). A turn
that receives no word is returned unchanged.

Raises :class:`~casper_qc.errors.InputError` for an unknown ``by`` or a negative tolerance.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable, Literal, Sequence

from .errors import InputError
from .formats.drafts import Draft, Track
from .formats.draftwords import MIN_MS, fill_untimed, fit_ms, spread_words
from .model import Turn, Word, to_ms

__all__ = ["place_words", "Placement", "Unplaced", "fill_turn", "turn_text", "DEFAULT_TOLERANCE",
           "REASONS"]

#: Seconds a word may lie outside every turn and still go to the nearest one.
DEFAULT_TOLERANCE = 0.3
#: Why a word was not placed.
REASONS = {
    "no-turn": "no turn of its channel/speaker",
    "gap": "farther than the tolerance from every turn",
    "no-room": "its turn had less than 1 ms per word",
}


@dataclass(frozen=True, slots=True)
class Unplaced:
    """A draft word that found no turn: the word, its track and the ``reason`` (a key of
    :data:`REASONS`)."""

    word: Word
    track: Track
    reason: str


@dataclass(frozen=True)
class Placement:
    """What :func:`place_words` did: the turns (input order), how many words were placed and
    how many of those have ``estimated`` times, and the words not placed."""

    turns: tuple[Turn, ...]
    placed: int
    estimated: int
    unplaced: tuple[Unplaced, ...]

    def counts(self) -> dict[str, int]:
        """``placed``, ``estimated``, ``unplaced`` and ``unplaced_<reason>`` for every reason."""
        by_reason = Counter(u.reason for u in self.unplaced)
        out = {"placed": self.placed, "estimated": self.estimated, "unplaced": len(self.unplaced)}
        out.update({f"unplaced_{reason.replace('-', '_')}": by_reason.get(reason, 0)
                    for reason in REASONS})
        return out

    def summary(self) -> str:
        """One line: ``"placed 120 draft words (30 with estimated times); 4 not placed: 3
        farther than the tolerance from every turn, 1 no turn of its channel/speaker"``."""
        line = f"placed {self.placed} draft words ({self.estimated} with estimated times)"
        if not self.unplaced:
            return line
        by_reason = Counter(u.reason for u in self.unplaced)
        parts = ", ".join(f"{n} {REASONS[r]}" for r, n in sorted(by_reason.items()))
        return f"{line}; {len(self.unplaced)} not placed: {parts}"


def turn_text(words: Sequence[Word]) -> str:
    """The words joined by spaces, runs of uncertain words inside ``(( ))``."""
    parts: list[str] = []
    run: list[str] = []
    for word in words:
        if word.uncertain:
            run.append(word.text)
            continue
        if run:
            parts.append("((" + " ".join(run) + "))")
            run = []
        parts.append(word.text)
    if run:
        parts.append("((" + " ".join(run) + "))")
    return " ".join(parts)


def _fit_into(turn: Turn, words: Sequence[Word]) -> tuple[list[Word], list[Word]]:
    """``words`` (timed, in order) fitted into ``turn``; (fitted, overflow)."""
    lo, hi = to_ms(turn.start), to_ms(turn.end)
    room = (hi - lo) // MIN_MS
    kept, overflow = list(words[:room]), list(words[room:])
    spans = [(to_ms(w.start or 0.0), to_ms(w.end or 0.0)) for w in kept]
    fitted = fit_ms(spans, lo, hi) or []
    out = []
    for word, (start, end), (fs, fe) in zip(kept, spans, fitted):
        clipped = (min(max(start, lo), hi), min(max(end, lo), hi))
        moved = (fs, fe) != clipped or clipped[0] == clipped[1]
        out.append(replace(word, start=fs / 1000, end=fe / 1000,
                           estimated=word.estimated or moved))
    return out, overflow


def fill_turn(turn: Turn, words: Sequence[Word], *, tag: bool = False,
              lexicon=None) -> tuple[Turn, list[Word]]:
    """``turn`` holding ``words`` (timed, any order; fitted as the module docstring says) and
    the words it had no room for. No words: the turn unchanged."""
    from .conventions import verbatim_disfluencies

    if not words:
        return turn, []
    ordered = sorted(enumerate(words), key=lambda e: (e[1].start, e[1].end, e[0]))
    fitted, overflow = _fit_into(turn, [w for _, w in ordered])
    filled = replace(turn, text=turn_text(fitted), words=tuple(fitted),
                     disfluencies=verbatim_disfluencies(fitted))
    if tag:
        from .disfluency import tag_turn

        filled = tag_turn(filled, lexicon=lexicon)
    return filled, overflow


def _candidates(track: Track, turns: Sequence[Turn], by: str) -> list[int]:
    def matches(turn: Turn) -> bool:
        if by == "time":
            return True
        if track.channel is not None and turn.channel is not None:
            return turn.channel == track.channel
        if track.speaker is not None:
            return turn.speaker == track.speaker
        return True

    return sorted((i for i, t in enumerate(turns) if matches(t)),
                  key=lambda i: (turns[i].start, turns[i].end, i))


class _Index:
    """Candidate turns sorted by start, with the running maximum of their ends, so that the
    turns near a time are found without scanning them all."""

    def __init__(self, turns: Sequence[Turn], order: list[int]) -> None:
        self.turns = turns
        self.order = order
        self.starts = [turns[i].start for i in order]
        self.max_end: list[float] = []
        running = float("-inf")
        for i in order:
            running = max(running, turns[i].end)
            self.max_end.append(running)

    def best(self, word: Word, tolerance: float) -> int | None:
        """The turn index for a timed word, or None (a gap)."""
        start, end = word.start, word.end
        middle = (start + end) / 2
        stop = bisect.bisect_right(self.starts, end + tolerance)
        best_key = None
        best = None
        k = stop - 1
        while k >= 0 and self.max_end[k] > start - tolerance:
            turn = self.turns[self.order[k]]
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > 0:
                key = (1, round(overlap, 6), turn.start <= middle < turn.end, -turn.start)
            else:
                distance = max(turn.start - end, start - turn.end)
                if distance > tolerance:
                    k -= 1
                    continue
                key = (0, -round(distance, 6), False, -turn.start)
            if best_key is None or key > best_key:
                best_key, best = key, self.order[k]
            k -= 1
        return best


def _share_untimed(words: Sequence[Word], turns: Sequence[Turn],
                   order: list[int]) -> dict[int, list[Word]]:
    """Untimed words shared among turns by duration, spread over each by character length."""
    durations = [turns[i].end - turns[i].start for i in order]
    total_time = sum(durations)
    weights = [len(w.text) + 1 for w in words]
    total_chars = sum(weights)
    bounds = []
    cumulative = 0.0
    for duration in durations:
        cumulative += duration
        bounds.append(cumulative / total_time)
    shares: dict[int, list[Word]] = {}
    position = 0
    k = 0
    for word, weight in zip(words, weights):
        middle = (position + weight / 2) / total_chars
        position += weight
        while k < len(bounds) - 1 and middle > bounds[k]:
            k += 1
        shares.setdefault(order[k], []).append(word)
    return {i: list(spread_words(ws, turns[i].start, turns[i].end)) for i, ws in shares.items()}


def place_words(turns: Iterable[Turn], draft: Draft, *, by: Literal["auto", "time"] = "auto",
                tolerance: float = DEFAULT_TOLERANCE, tag: bool = False,
                lexicon=None) -> Placement:
    """The draft's words placed into ``turns`` (see the module docstring).

    ``tolerance`` is in seconds; ``tag`` runs the disfluency tagger on the filled turns with
    ``lexicon`` (a :class:`casper_qc.conventions.Lexicon`, default the project's).

    Raises:
        InputError: ``by`` is not ``"auto"`` or ``"time"``, or ``tolerance`` is negative.
    """
    if by not in ("auto", "time"):
        raise InputError(f"by must be 'auto' or 'time', not {by!r}")
    if not tolerance >= 0:
        raise InputError(f"tolerance must be a non-negative number of seconds, not {tolerance!r}")
    turns = tuple(turns)
    if not isinstance(draft, Draft):
        raise InputError(f"place_words needs a Draft (see read_draft), not {type(draft).__name__}")
    assigned: dict[int, list[Word]] = {}
    track_of: dict[int, Track] = {}  # id(word) -> its track, for words a turn has no room for
    unplaced: list[Unplaced] = []
    for track in draft.tracks:
        if not track.words:
            continue
        order = _candidates(track, turns, by)
        if not order:
            unplaced.extend(Unplaced(w, track, "no-turn") for w in track.words)
            continue
        if not track.timed:
            for turn_index, share in _share_untimed(track.words, turns, order).items():
                assigned.setdefault(turn_index, []).extend(share)
                track_of.update((id(w), track) for w in share)
            continue
        finder = _Index(turns, order)
        for word in fill_untimed(track.words):
            if not word.timed:  # cannot happen after fill_untimed of a timed track
                unplaced.append(Unplaced(word, track, "gap"))
                continue
            best = finder.best(word, tolerance)
            if best is None:
                unplaced.append(Unplaced(word, track, "gap"))
            else:
                assigned.setdefault(best, []).append(word)
                track_of[id(word)] = track
    out = list(turns)
    placed = estimated = 0
    for turn_index, given in assigned.items():
        filled, overflow = fill_turn(turns[turn_index], given, tag=tag, lexicon=lexicon)
        out[turn_index] = filled
        unplaced.extend(Unplaced(w, track_of[id(w)], "no-room") for w in overflow)
        placed += len(filled.words)
        estimated += sum(w.estimated for w in filled.words)
    return Placement(tuple(out), placed, estimated, tuple(unplaced))
