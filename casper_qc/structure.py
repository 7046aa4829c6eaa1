"""From speech activity to conversation structure: IPUs, turns, backchannels, overlaps and
turn-taking statistics.

Definitions (after Heldner & Edlund 2010, "Pauses, gaps and overlaps in conversations"):

* **IPU** (inter-pausal unit): a stretch of one speaker's speech with no silence of
  ``StructureParams.pause`` (200 ms) or more inside.
* **Backchannel**: an IPU no longer than ``backchannel_max`` that lies inside another speaker's
  floor span (that speaker talks before and after it, with pauses shorter than
  ``max_turn_pause``) or overlaps that speaker's speech for at least ``backchannel_overlap`` of
  its length ("mhm", "yeah" while the other talks). Backchannels do not take the floor.
* **Turn**: a speaker's consecutive non-backchannel IPUs until another speaker starts a
  non-backchannel IPU (takes the floor), or until a silence longer than ``max_turn_pause``.
* **Floor transfer**: a turn followed (by start time) by another speaker's turn that ends later;
  its floor-transfer offset ``FTO = next.start - previous.end`` is a *gap* when positive and a
  *between-speaker overlap* when negative.
* **Pause**: silence between consecutive IPUs of one speaker with no floor transfer between.
* **Overlap**: any time at which two or more speakers' IPUs are active.

All functions are pure: sorted ``(start, end)`` intervals in seconds in, frozen records out.
Statistics are additive counts and totals (see :class:`TurnStats`), so corpus figures are sums
over conversations, never means of per-conversation rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .model import Segment

__all__ = ["StructureParams", "SpeakerTurn", "Structure", "TurnStats", "build_structure",
           "merge_intervals", "overlap_regions"]


@dataclass(frozen=True)
class StructureParams:
    """Parameters of :func:`build_structure` (seconds).

    Attributes:
        pause: silences shorter than this do not end an IPU (default 0.2 s).
        max_turn_pause: a silence longer than this ends a turn even if nobody else takes the
            floor (``None``: never).
        backchannel_max: IPUs longer than this are never backchannels.
        backchannel_overlap: fraction of its length a short IPU must overlap another speaker's
            speech to be a backchannel when it is not inside their floor span.
        min_ipu: IPUs shorter than this are dropped (clicks, isolated blips).
    """

    pause: float = 0.2
    max_turn_pause: float | None = 2.0
    backchannel_max: float = 1.0
    backchannel_overlap: float = 0.5
    min_ipu: float = 0.1

    def __post_init__(self) -> None:
        if self.pause < 0 or self.backchannel_max < 0 or self.min_ipu < 0:
            raise ValueError("pause, backchannel_max and min_ipu must not be negative")
        if self.max_turn_pause is not None and self.max_turn_pause < self.pause:
            raise ValueError("max_turn_pause must not be shorter than pause")
        if not 0.0 < self.backchannel_overlap <= 1.0:
            raise ValueError("backchannel_overlap must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """A turn (or a backchannel) of ``speaker``: its extent and the IPUs inside it."""

    speaker: str
    start: float
    end: float
    ipus: tuple[Segment, ...]
    backchannel: bool = False

    @property
    def segment(self) -> Segment:
        return Segment(self.start, self.end)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def speech(self) -> float:
        """Seconds of speech inside the turn (its IPUs)."""
        return sum(ipu.end - ipu.start for ipu in self.ipus)


@dataclass
class TurnStats:
    """Additive turn-taking counts of one conversation (or the sum of several).

    Times are seconds. ``ftos`` lists every floor-transfer offset so that distributions can be
    pooled; every other field adds up over conversations (``+``), and rates come from the sums.
    """

    duration: float = 0.0
    speech: dict[str, float] = field(default_factory=dict)
    ipus: dict[str, int] = field(default_factory=dict)
    turns: dict[str, int] = field(default_factory=dict)
    backchannels: dict[str, int] = field(default_factory=dict)
    pause_count: int = 0
    pause_time: float = 0.0
    gap_count: int = 0
    gap_time: float = 0.0
    overlap_transfer_count: int = 0
    overlap_transfer_time: float = 0.0
    overlap_time: float = 0.0
    silence_time: float = 0.0
    ftos: list[float] = field(default_factory=list)

    def __add__(self, other: "TurnStats") -> "TurnStats":
        def add(a: Mapping, b: Mapping) -> dict:
            return {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}

        return TurnStats(
            duration=self.duration + other.duration, speech=add(self.speech, other.speech),
            ipus=add(self.ipus, other.ipus), turns=add(self.turns, other.turns),
            backchannels=add(self.backchannels, other.backchannels),
            pause_count=self.pause_count + other.pause_count,
            pause_time=self.pause_time + other.pause_time,
            gap_count=self.gap_count + other.gap_count, gap_time=self.gap_time + other.gap_time,
            overlap_transfer_count=self.overlap_transfer_count + other.overlap_transfer_count,
            overlap_transfer_time=self.overlap_transfer_time + other.overlap_transfer_time,
            overlap_time=self.overlap_time + other.overlap_time,
            silence_time=self.silence_time + other.silence_time,
            ftos=self.ftos + other.ftos)

    def to_dict(self) -> dict:
        """A JSON-ready summary: the counts plus rates and FTO quantiles derived from them."""
        ftos = sorted(self.ftos)

        def quantile(q: float) -> float | None:
            if not ftos:
                return None
            pos = q * (len(ftos) - 1)
            lo = int(pos)
            hi = min(lo + 1, len(ftos) - 1)
            return round(ftos[lo] + (ftos[hi] - ftos[lo]) * (pos - lo), 3)

        def mean(total: float, count: int) -> float | None:
            return round(total / count, 3) if count else None

        transfers = len(ftos)
        return {
            "duration": round(self.duration, 3),
            "speech": {k: round(v, 3) for k, v in self.speech.items()},
            "ipus": dict(self.ipus), "turns": dict(self.turns),
            "backchannels": dict(self.backchannels),
            "pauses": {"count": self.pause_count, "total": round(self.pause_time, 3),
                       "mean": mean(self.pause_time, self.pause_count)},
            "gaps": {"count": self.gap_count, "total": round(self.gap_time, 3),
                     "mean": mean(self.gap_time, self.gap_count)},
            "overlaps": {"transfers": self.overlap_transfer_count,
                         "transfer_total": round(self.overlap_transfer_time, 3),
                         "total": round(self.overlap_time, 3),
                         "share_of_speech": round(self.overlap_time / max(sum(self.speech.values()), 1e-9), 4)},
            "silence": round(self.silence_time, 3),
            "floor_transfers": transfers,
            "fto": {"count": transfers, "mean": mean(sum(ftos), transfers),
                    "median": quantile(0.5), "q10": quantile(0.1), "q90": quantile(0.9)},
        }


@dataclass(frozen=True)
class Structure:
    """The structure of one conversation: IPUs per speaker, turns and backchannels in time
    order, regions where two or more speakers talk, and the statistics."""

    ipus: Mapping[str, tuple[Segment, ...]]
    turns: tuple[SpeakerTurn, ...]
    overlaps: tuple[Segment, ...]
    stats: TurnStats


def merge_intervals(intervals: Iterable[tuple[float, float]], gap: float = 0.0
                    ) -> list[tuple[float, float]]:
    """Sort intervals and merge those separated by less than ``gap`` seconds (or touching)."""
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if out and (start - out[-1][1] < gap or start <= out[-1][1]):
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def overlap_regions(by_speaker: Mapping[str, Sequence[tuple[float, float]]]
                    ) -> list[tuple[float, float]]:
    """Intervals where two or more speakers are active (each speaker's own intervals must not
    overlap each other)."""
    events: list[tuple[float, int]] = []
    for intervals in by_speaker.values():
        for start, end in intervals:
            events.append((start, 1))
            events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same time
    out: list[tuple[float, float]] = []
    active = 0
    since = 0.0
    for time, step in events:
        before = active
        active += step
        if before < 2 <= active:
            since = time
        elif before >= 2 > active and time > since:
            out.append((since, time))
    return out


def _total(intervals: Iterable[tuple[float, float]]) -> float:
    return sum(b - a for a, b in intervals)


def _absorb_backchannels(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """A backchannel that falls inside its own speaker's turn (both talk in short bursts) is
    part of that turn: one speaker's turns never overlap."""
    out = [t for t in turns if not t.backchannel]
    by_speaker: dict[str, list[int]] = {}
    for index, turn in enumerate(out):
        by_speaker.setdefault(turn.speaker, []).append(index)
    for bc in (t for t in turns if t.backchannel):
        host = next((i for i in by_speaker.get(bc.speaker, ())
                     if out[i].start < bc.end and bc.start < out[i].end), None)
        if host is None:
            out.append(bc)
            continue
        turn = out[host]
        ipus = tuple(sorted((*turn.ipus, *bc.ipus), key=lambda s: s.start))
        out[host] = SpeakerTurn(turn.speaker, min(turn.start, bc.start), max(turn.end, bc.end), ipus)
    return out


def build_structure(activity: Mapping[str, Sequence[tuple[float, float]]], duration: float,
                    params: StructureParams = StructureParams()) -> Structure:
    """IPUs, turns, backchannels, overlaps and statistics from each speaker's speech intervals.

    ``activity`` maps speaker -> speech intervals in seconds (any order; they are merged into
    IPUs with ``params.pause``). ``duration`` is the recording length (for silence time).
    Speakers with no speech still appear in the statistics with zero counts.
    """
    speakers = sorted(activity)
    ipus: dict[str, list[tuple[float, float]]] = {}
    for speaker in speakers:
        merged = merge_intervals(activity[speaker], params.pause)
        ipus[speaker] = [(a, b) for a, b in merged if b - a >= params.min_ipu and b > a]
    # floor spans: each speaker's IPUs joined across pauses shorter than max_turn_pause
    span_gap = params.max_turn_pause if params.max_turn_pause is not None else float("inf")
    spans = {s: merge_intervals(ipus[s], span_gap + 1e-9) for s in speakers}

    def is_backchannel(speaker: str, start: float, end: float) -> bool:
        length = end - start
        if length > params.backchannel_max:
            return False
        for other in speakers:
            if other == speaker:
                continue
            for a, b in spans[other]:
                if a > end:
                    break
                if a <= start and end <= b:
                    return True
            shared = sum(max(0.0, min(end, b) - max(start, a)) for a, b in ipus[other]
                         if a < end and start < b)
            if shared >= params.backchannel_overlap * length:
                return True
        return False

    units = sorted((start, end, speaker, is_backchannel(speaker, start, end))
                   for speaker in speakers for start, end in ipus[speaker])
    turns: list[SpeakerTurn] = []
    current: dict[str, list[tuple[float, float]]] = {}
    last_speaker: str | None = None
    pause_count, pause_time = 0, 0.0

    def close(speaker: str) -> None:
        parts = current.pop(speaker, None)
        if parts:
            turns.append(SpeakerTurn(speaker, parts[0][0], max(e for _, e in parts),
                                     tuple(Segment(a, b) for a, b in parts)))

    previous_end: dict[str, float] = {}
    for start, end, speaker, backchannel in units:
        if backchannel:
            turns.append(SpeakerTurn(speaker, start, end, (Segment(start, end),), True))
            continue
        parts = current.get(speaker)
        if parts is not None and last_speaker == speaker and start - parts[-1][1] <= span_gap:
            parts.append((start, end))
        else:
            close(speaker)
            current[speaker] = [(start, end)]
        if last_speaker == speaker and speaker in previous_end and start > previous_end[speaker]:
            pause_count += 1  # within-speaker silence, no floor transfer in between
            pause_time += start - previous_end[speaker]
        previous_end[speaker] = max(end, previous_end.get(speaker, end))
        last_speaker = speaker
    for speaker in list(current):
        close(speaker)
    turns = _absorb_backchannels(turns)
    turns.sort(key=lambda t: (t.start, t.end, t.speaker))

    # floor transfers: a turn of another speaker that outlasts the current floor holder
    ftos: list[float] = []
    holder: SpeakerTurn | None = None
    for turn in (t for t in turns if not t.backchannel):
        if holder is None:
            holder = turn
        elif turn.end > holder.end:
            if turn.speaker != holder.speaker:
                ftos.append(round(turn.start - holder.end, 3))
            holder = turn
    gaps = [f for f in ftos if f > 0]
    between = [f for f in ftos if f < 0]
    overlaps = overlap_regions(ipus)
    union = merge_intervals([iv for s in speakers for iv in ipus[s]])
    stats = TurnStats(
        duration=duration,
        speech={s: round(_total(ipus[s]), 3) for s in speakers},
        ipus={s: len(ipus[s]) for s in speakers},
        turns={s: sum(1 for t in turns if t.speaker == s and not t.backchannel) for s in speakers},
        backchannels={s: sum(1 for t in turns if t.speaker == s and t.backchannel) for s in speakers},
        pause_count=pause_count, pause_time=pause_time,
        gap_count=len(gaps), gap_time=sum(gaps),
        overlap_transfer_count=len(between), overlap_transfer_time=-sum(between),
        overlap_time=_total(overlaps), silence_time=max(0.0, duration - _total(union)),
        ftos=ftos)
    return Structure(
        ipus={s: tuple(Segment(a, b) for a, b in ipus[s] if round(b, 3) > round(a, 3)) for s in speakers},
        turns=tuple(turns),
        overlaps=tuple(Segment(a, b) for a, b in overlaps if round(b, 3) > round(a, 3)),
        stats=stats)
