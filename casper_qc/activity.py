"""Speech activity per channel of a multi-channel (headset per talker) recording, with crosstalk
rejection.

Method (frame level, 10 ms frames, every threshold a field of :class:`ActivityParams`):

1. **Frame levels.** :class:`FrameLevels` turns blocks of samples into the level of every
   10 ms frame of every channel, ``L[t, c]`` in dB re full scale, after a cheap rumble filter
   (each 2 ms chunk's mean is removed: a high-pass, -9 dB at 100 Hz; headsets pick up rumble
   and breath pops below 100 Hz). One pass over the samples: a sum of squares and a matrix
   product per block. Only the levels are kept (2 bytes per frame and channel), so memory
   grows by 0.7 MB per hour of stereo instead of with the samples.
2. **Noise floor and speech level per channel.** The floor is a low percentile of each second's
   levels, pooled over the surrounding 20 s (so it follows slow changes of background noise,
   and digital silence is ignored); the speech level is a high percentile of the frames above the floor. A frame can be
   speech only if it is ``snr_db`` above the floor and no more than ``dynamic_range_db`` below the
   speech level (the latter matters on digitally silent channels, whose floor is -100 dB). The
   floor does not sink across an abrupt change of background (``floor_window``): otherwise a
   channel that goes quiet (digital silence, a muted mic) pulls the floor of the seconds before
   the change down and its ordinary background there passes for speech.
3. **Crosstalk.** Every headset also hears the other talkers, attenuated by a coupling ``c``
   (dB, estimated per ordered channel pair as the median of ``L_own - L_other`` over frames where
   the other channel is loud and louder) and smeared in time by the room. The crosstalk a channel
   can contain at frame ``t`` is predicted as ``c + max_k (L_other[t - k] - decay * k)`` over a
   short look-back (``crosstalk_window``; ``decay`` dB per frame models the reverberant tail).
   A frame is the channel's own speech only if its level exceeds that prediction by
   ``crosstalk_margin_db``: a frame loud on channel A only because B is talking is rejected,
   while A talking over B (overlap, backchannels) is kept because A's own voice is 15-30 dB
   above the crosstalk in A's headset.
4. **Decisions.** Hysteresis: runs of frames passing the *low* thresholds are kept if they hold
   at least one frame passing the *high* ones; runs shorter than ``min_speech`` are dropped;
   onsets and offsets are padded (frame energy misses weak consonant onsets and decays).
5. **Non-speech sounds** (``ActivityParams.voicing``; needs the voicing of
   :meth:`FrameLevels.voicing`, :mod:`casper_qc.voicing`). A frame-energy decision takes
   breaths, lip smacks, clicks, rustle and keyboard noise for speech: at a turn's edge they move
   its boundary by a few hundred milliseconds, alone they make IPUs, even turns, of their own.
   Speech is voiced most of the time; those sounds are not. *Evidence* of speech is a run of
   at least ``voiced_min_run`` (80 ms) of voiced frames (NCCF at least ``voiced_threshold``)
   that also pass the high thresholds, or a *loud* frame, no more than ``voice_loud_db``
   (10 dB) below the channel's voiced speech (90th percentile of its voiced frames; vocal fry
   and creak, not periodic within a 30 ms window, and loud fricatives; a channel with less
   than one second of voiced frames has no loud frames). Of each run, only what lies within
   ``voice_onset`` (0.25 s) before and ``voice_offset`` (0.2 s) after evidence is kept: runs
   without evidence (breaths, clicks, noise bursts) are dropped, unvoiced quiet stretches at
   their ends are trimmed to those allowances, and long unvoiced stretches inside them become
   pauses. The allowances are what unvoiced sounds a word may start or end with need (/s/, /f/,
   /h/, /θ/, aspiration, "-ps"/"-sts" codas): trimming is conservative; a breath right after a
   word is trimmed only beyond 0.2 s after its last voiced or loud frame. Padding comes after.

The result per channel is a sorted array of speech runs in frames; :mod:`casper_qc.structure`
makes IPUs, turns, overlaps and backchannels out of them. Everything here is numpy on frame
levels and voicing (100 values per second and channel), hence fast: the cost is dominated by
the one pass over the samples in :class:`FrameLevels` (levels, and the voicing's decimated
signal and lag products).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

__all__ = ["ActivityParams", "FrameLevels", "ChannelActivity", "detect_activity", "runs",
           "close_gaps", "LEVEL_FLOOR_DB"]

#: length (s) of the sub-chunks whose means make the decimated signal of the voicing measure
VOICING_SUBCHUNK = 0.0005
#: Level given to digital silence (dB re full scale); keeps logs finite.
LEVEL_FLOOR_DB = -100.0


@dataclass(frozen=True)
class ActivityParams:
    """Thresholds of speech activity detection (dB, seconds).

    Attributes:
        frame: frame length and hop in seconds (0.010).
        snr_db: a frame starts speech only if this far above the channel's noise floor.
        snr_low_db: … and continues speech if this far above it (hysteresis).
        snr_min_db: on channels whose speech is less than ``2 * snr_db`` above the floor, the
            demand is half that distance, but at least this.
        dynamic_range_db: thresholds are never lower than the channel's speech level minus this.
        crosstalk_margin_db: own speech must exceed the predicted crosstalk by this much
            (to start speech); ``crosstalk_margin_low_db`` to continue it.
        crosstalk_decay_db: dB per frame the crosstalk tail may decay (reverberation).
        crosstalk_window: seconds of look-back of the crosstalk prediction.
        coupling_db: fixed crosstalk coupling (dB) instead of the per-file estimate.
        noise_percentile: percentile of each second's levels that estimates its noise.
        noise_window: seconds around a frame whose per-second estimates give its floor.
        floor_window: the floor of each tenth of a second is never below the quietest frame
            of the ``floor_window`` seconds before it nor below that of the ``floor_window``
            seconds after it, whichever of the two is higher (0: off). The pooled estimate alone
            sinks when a much quieter stretch lies within ``noise_window`` (a channel that goes
            digitally silent, a muted mic), and the channel's own background then passes for
            speech next to it.
        min_speech: speech runs shorter than this (seconds) are dropped.
        bridge: gaps shorter than this (seconds) inside speech are bridged before ``min_speech``
            (a syllable's dip is not a pause).
        pad_onset, pad_offset: seconds added before each run and after it.
        voicing: use the frames' voicing (when :func:`detect_activity` is given it) to reject
            sounds that are not speech (step 5 of the module docstring).
        voiced_threshold: a frame is voiced when its voicing (NCCF, 0-1) reaches this.
        voiced_min_run: voiced frames count as evidence in runs at least this long (seconds).
        voice_onset, voice_offset: seconds of a run kept before the first and after the last
            evidence of speech: the unvoiced sounds a word may start or end with (/s/, /f/,
            /h/, /θ/, stop bursts and aspiration, "-ps", "-sts" codas).
        voice_loud_db: frames no more than this below the level of the channel's voiced
            frames are evidence too, voiced or not.
    """

    frame: float = 0.010
    snr_db: float = 12.0
    snr_low_db: float = 6.0
    snr_min_db: float = 4.0
    dynamic_range_db: float = 42.0
    crosstalk_margin_db: float = 10.0
    crosstalk_margin_low_db: float = 6.0
    crosstalk_decay_db: float = 1.0
    crosstalk_window: float = 0.12
    coupling_db: float | None = None
    noise_percentile: float = 10.0
    noise_window: float = 20.0
    floor_window: float = 5.0
    min_speech: float = 0.08
    bridge: float = 0.06
    pad_onset: float = 0.02
    pad_offset: float = 0.04
    voicing: bool = True
    voiced_threshold: float = 0.5
    voiced_min_run: float = 0.08
    voice_onset: float = 0.25
    voice_offset: float = 0.2
    voice_loud_db: float = 10.0

    def __post_init__(self) -> None:
        if not 0.001 <= self.frame <= 0.1:
            raise ValueError(f"frame {self.frame} s is outside [0.001, 0.1]")
        for name in ("min_speech", "bridge", "pad_onset", "pad_offset", "crosstalk_window",
                     "crosstalk_decay_db", "floor_window", "voiced_min_run", "voice_onset",
                     "voice_offset"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


class FrameLevels:
    """Accumulates frame levels (dB re full scale) from blocks of samples.

    Feed blocks of shape ``(samples, channels)`` (``int16`` with full scale 32768, or float in
    [-1, 1]) with :meth:`add`, in order; blocks need not be whole frames long. :meth:`levels`
    returns ``float32`` levels of shape ``(frames, channels)``; a last partial frame counts as a
    frame when it is at least half a frame long.
    """

    def __init__(self, sampling_rate: int, channels: int, frame: float = 0.010, *,
                 voicing: bool = True) -> None:
        if sampling_rate <= 0:
            raise ValueError("sampling rate must be positive")
        self.sampling_rate = int(sampling_rate)
        self.channels = int(channels)
        self.frame_samples = max(1, int(round(frame * sampling_rate)))
        #: the hop in seconds (exact, from whole samples)
        self.hop = self.frame_samples / self.sampling_rate
        # rumble-filter chunk: the divisor of the frame length closest to 2 ms, and the
        # decimation sub-chunk for the voicing: the divisor of the chunk closest to 0.5 ms
        target = 0.002 * self.sampling_rate
        divisors = [d for d in range(1, self.frame_samples + 1) if self.frame_samples % d == 0]
        self.chunk = min(divisors, key=lambda d: (abs(d - target), d))
        target = VOICING_SUBCHUNK * self.sampling_rate
        self.sub = min((d for d in range(1, self.chunk + 1) if self.chunk % d == 0),
                       key=lambda d: (abs(d - target), d))
        self._selector = np.zeros((self.sub * self.channels, self.channels), dtype=np.float32)
        for c in range(self.channels):
            self._selector[c::self.channels, c] = 1.0
        self._voicing = None
        if voicing:
            from .voicing import VoicingTracker
            self._voicing = VoicingTracker(self.frame_samples // self.sub,
                                           self.sampling_rate / self.sub,
                                           self.channels)
        self._parts: list[np.ndarray] = []
        self._rest: np.ndarray | None = None
        self.samples = 0

    def add(self, block: np.ndarray) -> None:
        """Add the next block (not kept: only its frame levels are)."""
        if block.ndim == 1:
            block = block[:, None]
        if block.shape[1] != self.channels:
            raise ValueError(f"block has {block.shape[1]} channels, expected {self.channels}")
        self.samples += len(block)
        if self._rest is not None and len(self._rest):
            block = np.concatenate([self._rest, block.astype(self._rest.dtype, copy=False)])
            self._rest = None
        n = self.frame_samples
        whole = (len(block) // n) * n
        if whole:
            self._parts.append(self._levels(block[:whole]))
        if whole < len(block):
            self._rest = np.array(block[whole:])  # a copy: the caller may reuse its buffer

    def _levels(self, block: np.ndarray, voicing: bool = True) -> np.ndarray:
        n, q, width, sub = self.frame_samples, self.chunk, self.channels, self.sub
        scale = 1.0
        if block.dtype.kind in "iu":
            scale = 1.0 / (float(np.iinfo(block.dtype).max) + 1.0) ** 2
        x = block.astype(np.float32, copy=False)
        frames = x.reshape(-1, n, width)
        # einsum sums squares without a squared temporary (the one pass over the samples)
        power = np.einsum("ijk,ijk->ik", frames, frames, dtype=np.float32)
        # Rumble filter: remove each 2 ms chunk's mean (x = chunk mean + residual, and the two
        # parts are orthogonal, so residual energy = energy - q * mean^2). This is a high-pass
        # (-15 dB at 50 Hz, -9 dB at 100 Hz, -2 dB at 250 Hz) that costs one matrix product,
        # where a recursive filter would cost three times the whole pass. Headsets pick up
        # rumble and breath pops mostly below 100 Hz. The chunk sums are made of 0.5 ms
        # sub-chunk sums, which also give the decimated signal of the voicing measure.
        fine = (x.reshape(-1, sub * width) @ self._selector).reshape(-1, q // sub, width)
        sums = fine[:, 0].copy()
        for j in range(1, q // sub):  # slices, not a reduction over a middle axis (3x faster)
            sums += fine[:, j]
        if voicing and self._voicing is not None:
            # 0.5 ms means minus their 2 ms chunk's mean: the ~100-1000 Hz band at ~2 kHz
            decimated = fine - (sums * np.float32(sub / q))[:, None, :]
            decimated *= np.float32(np.sqrt(scale) / sub)
            self._voicing.add(decimated.reshape(-1, width))
        sums *= sums
        power -= sums.reshape(-1, n // q, width).sum(axis=1) * np.float32(1.0 / q)
        power *= np.float32(scale / n)
        np.maximum(power, np.float32(10.0 ** (LEVEL_FLOOR_DB / 10.0)), out=power)
        np.log10(power, out=power)
        power *= np.float32(10.0)
        return power.astype(np.float16)  # 0.06 dB steps at worst: plenty, and half the memory

    def levels(self, dtype: "np.typing.DTypeLike" = np.float32) -> np.ndarray:
        """Levels so far, ``(frames, channels)`` in dB re full scale (``float32`` by default;
        ``float16`` halves the memory and is what :func:`detect_activity` needs)."""
        parts = list(self._parts)
        if self._rest is not None and len(self._rest) * 2 >= self.frame_samples:
            rest = self._rest
            padded = np.zeros((self.frame_samples, self.channels), dtype=rest.dtype)
            padded[: len(rest)] = rest
            level = self._levels(padded, voicing=False).astype(np.float32)
            # the padding zeros must not lower the level of the partial frame
            level += np.float32(10.0 * np.log10(self.frame_samples / len(rest)))
            parts.append(level.astype(np.float16))
        if not parts:
            return np.zeros((0, self.channels), dtype=dtype)
        return np.concatenate(parts).astype(dtype, copy=False)

    def frames(self) -> int:
        """Number of frames :meth:`levels` returns."""
        whole = sum(len(p) for p in self._parts)
        partial = self._rest is not None and len(self._rest) * 2 >= self.frame_samples
        return whole + int(partial)

    def voicing(self) -> np.ndarray | None:
        """Voicing of every frame ``(frames, channels)`` as ``uint8`` (``round(250 * NCCF)``,
        :mod:`casper_qc.voicing`; a last partial frame gets 0), or None when the accumulator
        was made with ``voicing=False``."""
        if self._voicing is None:
            return None
        return self._voicing.values(self.frames())


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean mask."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def close_gaps(starts: np.ndarray, ends: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge runs separated by fewer than ``gap`` frames (sorted, non-overlapping runs)."""
    if len(starts) <= 1 or gap <= 0:
        return starts, ends
    keep = (starts[1:] - ends[:-1]) >= gap  # True where a real gap separates run i and i+1
    new_starts = np.concatenate([starts[:1], starts[1:][keep]])
    new_ends = np.concatenate([ends[:-1][keep], ends[-1:]])
    return new_starts, new_ends


def _windowed_max(levels: np.ndarray, back: int, decay: float) -> np.ndarray:
    """``max_k (levels[t-k] - decay*k)`` for k in [-1, back] (one frame of look-ahead covers
    crosstalk arriving before the frame grid catches the source)."""
    out = levels.copy()
    if len(levels) > 1:
        np.maximum(out[:-1], levels[1:] - decay, out=out[:-1])
    for k in range(1, back + 1):
        if k >= len(levels):
            break
        np.maximum(out[k:], levels[:-k] - decay * k, out=out[k:])
    return out


@dataclass
class ChannelActivity:
    """Speech runs of one channel, in frames (``starts``/``ends`` exclusive), and the figures
    the decision used: noise floor and speech level (dB), crosstalk coupling from every other
    channel (dB), and the mean margin (dB) of each run over its thresholds (its confidence)."""

    starts: np.ndarray
    ends: np.ndarray
    margins: np.ndarray
    noise_db: float
    speech_db: float
    coupling_db: dict[int, float] = field(default_factory=dict)


def _row_percentile(rows: np.ndarray, percentile: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile of the finite values of each row (NaN = missing) and their count; fast
    because it sorts instead of calling ``nanpercentile`` row by row."""
    ordered = np.sort(np.where(np.isfinite(rows), rows, np.inf), axis=1)
    count = np.isfinite(rows).sum(axis=1)
    index = np.round(percentile / 100.0 * np.maximum(count - 1, 0)).astype(np.int64)
    values = np.take_along_axis(ordered, index[:, None], axis=1)[:, 0]
    return np.where(count > 0, values, np.nan).astype(np.float32), count


#: frames decided at a time (60 s): the temporaries stay small however long the recording is
CHUNK = 6000


def _noise_floor(level: np.ndarray, step: int, span: int, percentile: float,
                 local: int = 0, parts: int = 10) -> tuple[np.ndarray, int]:
    """Noise floor of each ``step // parts`` frames (a tenth of a second), following slow
    changes of the background.

    Each step (1 s) gets the ``percentile`` of its live levels (digital silence is not noise: it
    is left out); its floor is the 25th percentile of those values over ``±span`` steps. With
    ``local`` > 0 the floor of each tenth is also not below the lowest live frame of the
    ``local`` steps before it nor below that of the ``local`` steps after it (each side's
    minimum, the higher of the two): a floor that sinks across an abrupt change of background
    stops at the change. Steps with no live frame borrow the nearest live floor. Returns the
    values and the number of frames each one covers.
    """
    n = len(level)
    count = max(1, -(-n // step))
    fine = max(1, step // parts)
    parts = step // fine
    per_step = np.full(count, np.nan, dtype=np.float32)
    lowest = np.full(count * parts, np.nan, dtype=np.float32)
    rows_at_once = max(1, CHUNK // step)
    for first in range(0, count, rows_at_once):
        last = min(count, first + rows_at_once)
        block = np.full((last - first) * step, np.nan, dtype=np.float32)
        part = level[first * step:last * step]
        block[: len(part)] = part
        block[block <= LEVEL_FLOOR_DB + 10.0] = np.nan
        rows = block.reshape(last - first, step)
        values, live = _row_percentile(rows, percentile)
        values[live < max(5, step // 10)] = np.nan
        per_step[first:last] = values
        if local > 0:
            tenths = block[: (last - first) * parts * fine].reshape(-1, fine)
            has = np.isfinite(tenths).any(axis=1)
            lowest[first * parts:first * parts + len(tenths)] = np.where(
                has, np.where(np.isfinite(tenths), tenths, np.inf).min(axis=1), np.nan)
    if not np.isfinite(per_step).any():
        return np.full(count * parts, LEVEL_FLOOR_DB, dtype=np.float32), fine
    if count > 1 and span > 0:
        edge = np.full(span, np.nan, dtype=np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([edge, per_step, edge]),
                                                           2 * span + 1)
        per_step, _ = _row_percentile(windows, 25.0)
    known = np.isfinite(per_step)
    if not known.all():
        idx = np.flatnonzero(known)
        nearest = idx[np.clip(np.searchsorted(idx, np.arange(count)), 0, len(idx) - 1)]
        per_step = per_step[nearest]
    floor = np.repeat(per_step, parts)
    if local > 0:
        reach = local * parts
        padded = np.concatenate([np.full(reach, np.inf, dtype=np.float32),
                                 np.where(np.isfinite(lowest), lowest, np.inf),
                                 np.full(reach, np.inf, dtype=np.float32)])
        windows = np.lib.stride_tricks.sliding_window_view(padded, reach + 1)
        total = len(floor)
        before = windows[:total].min(axis=1)  # tenths q-reach .. q
        after = windows[reach:reach + total].min(axis=1)  # tenths q .. q+reach
        bound = np.maximum(np.where(np.isfinite(before), before, -np.inf),
                           np.where(np.isfinite(after), after, -np.inf))
        floor = np.maximum(floor, bound).astype(np.float32)
    return floor, fine


class _Histogram:
    """Counts of values on a fixed dB grid: percentiles of millions of frames in constant memory."""

    def __init__(self, low: float, high: float, width: float = 0.05) -> None:
        self.low, self.width = low, width
        self.counts = np.zeros(int(round((high - low) / width)) + 1, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        if len(values):
            index = np.clip(((values - self.low) / self.width).astype(np.int64), 0, len(self.counts) - 1)
            self.counts += np.bincount(index, minlength=len(self.counts))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile(self, q: float) -> float:
        cumulative = np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, q / 100.0 * (cumulative[-1] - 1) + 1))
        return self.low + (min(index, len(self.counts) - 1) + 0.5) * self.width


def _mask(starts: np.ndarray, ends: np.ndarray, frames: int) -> np.ndarray:
    """Boolean mask of ``frames`` frames, True inside the runs (sorted, possibly overlapping or
    touching, as after a dilation); built by one ``repeat``, so it costs one byte a frame."""
    starts = np.clip(starts, 0, frames)
    ends = np.clip(ends, 0, frames)
    if len(starts) > 1:  # merge overlapping runs (starts sorted, ends sorted too)
        starts, ends = close_gaps(starts, ends, 1)
    edges = np.empty(2 * len(starts) + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, frames
    edges[1:-1:2], edges[2:-1:2] = starts, ends
    values = np.zeros(len(edges) - 1, dtype=bool)
    values[1::2] = True
    return np.repeat(values, np.diff(edges))


def _voiced_only(starts: np.ndarray, ends: np.ndarray, voicing: np.ndarray, strong: np.ndarray,
                 loud: np.ndarray, params: ActivityParams) -> tuple[np.ndarray, np.ndarray]:
    """The parts of the runs within ``voice_onset`` before and ``voice_offset`` after evidence
    of speech (see :class:`ActivityParams`); pieces shorter than ``min_speech`` are dropped.
    ``strong`` marks the frames passing the high thresholds, ``loud`` those near the voiced
    speech level. Full-length temporaries are boolean (one byte a frame)."""
    from .voicing import VOICING_SCALE

    hop = params.frame
    frames = len(voicing)
    voiced_starts, voiced_ends = runs(voicing >= params.voiced_threshold * VOICING_SCALE)
    keep = (voiced_ends - voiced_starts) >= max(1, int(round(params.voiced_min_run / hop)))
    evidence = _mask(voiced_starts[keep], voiced_ends[keep], frames)
    evidence &= strong
    if not evidence.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    evidence |= loud
    evidence_starts, evidence_ends = runs(evidence)
    del evidence
    allowed = _mask(evidence_starts - int(round(params.voice_onset / hop)),
                    evidence_ends + int(round(params.voice_offset / hop)), frames)
    allowed &= _mask(starts, ends, frames)
    starts, ends = runs(allowed)
    keep = (ends - starts) >= max(1, int(round(params.min_speech / hop)))
    return starts[keep], ends[keep]


def detect_activity(levels: np.ndarray, params: ActivityParams = ActivityParams(),
                    channels: Iterable[int] | None = None,
                    voicing: np.ndarray | None = None) -> dict[int, ChannelActivity]:
    """Speech runs of each channel from frame levels ``(frames, channels)`` in dB.

    ``channels`` selects the channels to decide (all by default); every channel of ``levels``
    is used as a possible crosstalk source. ``voicing`` (``(frames, channels)`` uint8 from
    :meth:`FrameLevels.voicing`) lets the decision reject unvoiced sounds (``params.voicing``);
    without it the decision is on levels alone. Silence gives empty runs, never an error.
    Frames are decided :data:`CHUNK` at a time, so memory beyond the levels themselves is
    about 4 bytes per frame and channel.
    """
    frames, width = levels.shape
    wanted = list(range(width)) if channels is None else list(channels)
    hop = params.frame
    if frames == 0:
        empty = np.zeros(0, dtype=np.int64)
        return {c: ChannelActivity(empty, empty, np.zeros(0), LEVEL_FLOOR_DB, LEVEL_FLOOR_DB)
                for c in wanted}
    step = max(1, int(round(1.0 / hop)))
    span = max(0, int(round(params.noise_window / 2)))
    local = max(0, int(round(params.floor_window)))
    floors = []
    for c in range(width):
        floor, fine = _noise_floor(levels[:, c], step, span, params.noise_percentile, local)
        floors.append(floor)
    chunks = [(a, min(frames, a + CHUNK)) for a in range(0, frames, CHUNK)]

    def floor_of(c: int, a: int, b: int) -> np.ndarray:
        return np.repeat(floors[c][a // fine:-(-b // fine)], fine)[a - (a // fine) * fine:][: b - a]

    # pass 1: speech level per channel (90th percentile of frames above the floor), and the
    # level of its voiced frames (the reference of "loud" in the voicing decision; None when
    # the channel has less than a second of voiced frames)
    use_voicing = voicing is not None and params.voicing
    if use_voicing:
        from .voicing import VOICING_SCALE
        voiced_code = params.voiced_threshold * VOICING_SCALE
    speech_level = []
    voiced_level: list[float | None] = []
    for c in range(width):
        histogram = _Histogram(LEVEL_FLOOR_DB - 1.0, 30.0)
        voiced_histogram = _Histogram(LEVEL_FLOOR_DB - 1.0, 30.0)
        for a, b in chunks:
            own = levels[a:b, c].astype(np.float32)
            above = own > floor_of(c, a, b) + 3.0
            histogram.add(own[above])
            if use_voicing:
                voiced_histogram.add(own[above & (voicing[a:b, c] >= voiced_code)])
        speech_level.append(histogram.percentile(90) if histogram.total >= 20
                            else float(np.max(levels[:, c])))
        voiced_level.append(voiced_histogram.percentile(90)
                            if voiced_histogram.total >= int(round(1.0 / hop)) else None)

    def thresholds(c: int, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        # On quiet or noisy channels (speech only 10-20 dB above the floor) the SNR demand
        # shrinks with the room there is, down to snr_min_db: stationary noise, rumble
        # removed, moves less than 1-2 dB from frame to frame.
        floor = floor_of(c, a, b)
        level = speech_level[c]
        snr_high = np.clip(0.5 * (level - floor), params.snr_min_db, params.snr_db)
        snr_low = snr_high * (params.snr_low_db / params.snr_db)
        bottom = level - params.dynamic_range_db
        return (np.maximum(floor + snr_high, bottom),
                np.maximum(floor + snr_low, bottom - (params.snr_db - params.snr_low_db)))

    back = max(0, int(round(params.crosstalk_window / hop)))

    def crosstalk_max(o: int, a: int, b: int) -> np.ndarray:
        lo, hi = max(0, a - back), min(frames, b + 1)
        window = _windowed_max(levels[lo:hi, o].astype(np.float32), back, params.crosstalk_decay_db)
        return window[a - lo:a - lo + (b - a)]

    # pass 2: crosstalk coupling per ordered pair (own channel c, source o)
    couplings: dict[int, dict[int, float]] = {c: {} for c in wanted}
    for c in wanted:
        for o in range(width):
            if o == c:
                continue
            if params.coupling_db is not None:
                couplings[c][o] = params.coupling_db
                continue
            histogram = _Histogram(-160.0, 60.0)
            for a, b in chunks:
                own = levels[a:b, c].astype(np.float32)
                other = levels[a:b, o].astype(np.float32)
                high_o, _ = thresholds(o, a, b)
                loud = (other >= np.maximum(high_o, speech_level[o] - 12.0)) & (other > own + 3.0)
                histogram.add((own - crosstalk_max(o, a, b))[loud])
            if histogram.total >= 50:  # half a second of evidence at least
                couplings[c][o] = histogram.percentile(50)

    # pass 3: frame decisions into compact full-length masks
    result: dict[int, ChannelActivity] = {}
    for c in wanted:
        strong_all = np.zeros(frames, dtype=bool)
        weak_all = np.zeros(frames, dtype=bool)
        margin_all = np.zeros(frames, dtype=np.float16)
        for a, b in chunks:
            own = levels[a:b, c].astype(np.float32)
            high, low = thresholds(c, a, b)
            strong = own > high
            weak = own > low
            margin = own - high
            for o, coupling in couplings[c].items():
                excess = own - (crosstalk_max(o, a, b) + np.float32(coupling))
                strong &= excess > params.crosstalk_margin_db
                weak &= excess > params.crosstalk_margin_low_db
                np.minimum(margin, excess - params.crosstalk_margin_db, out=margin)
            strong_all[a:b], weak_all[a:b] = strong, weak
            margin_all[a:b] = np.clip(margin, -20, 40)
        starts, ends = runs(weak_all)
        if len(starts):  # hysteresis: a weak run is speech if it holds a strong frame
            keep = np.array([strong_all[s:e].any() for s, e in zip(starts, ends)], dtype=bool)
            starts, ends = starts[keep], ends[keep]
        starts, ends = close_gaps(starts, ends, int(round(params.bridge / hop)))
        if len(starts):
            keep = (ends - starts) >= max(1, int(round(params.min_speech / hop)))
            starts, ends = starts[keep], ends[keep]
        if len(starts) and use_voicing:
            if voiced_level[c] is None:
                loud = np.zeros(frames, dtype=bool)
            else:
                loud = levels[:, c] >= np.float16(voiced_level[c] - params.voice_loud_db)
            starts, ends = _voiced_only(starts, ends, voicing[:, c], strong_all, loud, params)
        if len(starts):
            starts = np.maximum(starts - int(round(params.pad_onset / hop)), 0)
            ends = np.minimum(ends + int(round(params.pad_offset / hop)), frames)
            starts, ends = close_gaps(starts, ends, 1)  # padding may make runs touch
            margins = np.array([margin_all[s:e].mean(dtype=np.float64) for s, e in zip(starts, ends)])
        else:
            margins = np.zeros(0)
        result[c] = ChannelActivity(starts.astype(np.int64), ends.astype(np.int64), margins,
                                    float(np.median(floors[c])), speech_level[c], couplings[c])
    return result
