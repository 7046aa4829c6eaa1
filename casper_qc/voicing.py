"""Periodicity (voicing) of every 10 ms frame, cheap enough to run on every sample of an hour of
stereo audio while it streams past.

Why: a frame-energy detector takes any sound above the noise floor for speech. Next to words
that means breaths, lip smacks, clicks, rustle and keyboard noise, which stretch an IPU's start
or end by a few hundred milliseconds or make IPUs of their own. What they have in common is that
they are not *voiced*: voiced speech (vowels, nasals, liquids, voiced consonants) is periodic at
the pitch of the voice (about 50-400 Hz); breath, frication and clicks are not.

Method (Talkin's normalised cross-correlation, NCCF, as in RAPT and in Praat's
cross-correlation pitch method, on a decimated signal):

1. **Decimated, rumble-filtered signal.** :class:`casper_qc.activity.FrameLevels` already sums
   every ~2 ms chunk of samples for its rumble filter. It now sums every ~0.5 ms sub-chunk
   instead (one matrix product per block, as before) and gets the 2 ms sums from those, so the
   signal boxcar-averaged over 0.5 ms with each 2 ms chunk's mean removed comes almost for
   free: a 2 kHz signal holding the ~100-1000 Hz band, where the fundamental and the first
   formant of voiced speech carry most of their energy (the 0.5 ms boxcar is -3.9 dB at 1 kHz
   and has nulls at 2, 4, 6 kHz, which keeps most frication out).
2. **NCCF.** The signal is cut into groups of ``group`` frames (4: 40 ms); each group's window
   is its first ``span`` frames (3: 30 ms). For every lag ``k`` in the pitch range (``1/fmax``
   to ``1/fmin``, 50-400 Hz: 5-40 samples at 2 kHz) the raw correlation ``sum x[n] x[n + k]``
   over the window is computed (one ``einsum`` per block), and at the lag where it peaks
   ``r = sum x[n] x[n + k] / sqrt(sum x[n]^2 * sum x[n + k]^2)``. Each value depends only on
   the samples around its window, never on block boundaries.
3. **Voicing** ``v = r`` of the group, given to its 4 frames, stored as one byte per frame and
   channel (``round(250 v)``, 0.7 MB per stereo hour). On the MFA stereo recording, 66-73 % of
   the frames of vowels (MFA phone alignment, frames 6 dB above the floor) reach 0.5, against
   4-17 % of unvoiced fricatives and 3-16 % of the pauses (the higher figures on the channel
   with mains hum); of white noise none, of noise band-limited to 300-3000 Hz (breath-like)
   1.3 %. Creaky voice below 50 Hz and vocal fry (single pulses 30-40 ms apart) are not
   periodic within 30 ms: the decision counts loud frames as speech evidence too
   (``ActivityParams.voice_loud_db``).

A window every 40 ms instead of one every 10 ms: the lag products cover three quarters of the
samples instead of all of them, and the peak search and the normalisation run a quarter as
often; the decision's allowances around voiced evidence (0.2-0.25 s) are much coarser than
40 ms. The cost is about 0.15-0.2 s of CPU per stereo hour on one core (0.04-0.05 s of it the
decimation); the sample pass of :class:`~casper_qc.activity.FrameLevels` without it costs
about 0.3 s. How the decision uses the voicing is in :mod:`casper_qc.activity` (step 5 of its
docstring, ``ActivityParams.voicing`` and the fields after it).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["VoicingTracker", "VOICING_SCALE"]

#: voicing values are stored as ``uint8`` of ``round(VOICING_SCALE * v)``
VOICING_SCALE = 250.0


class VoicingTracker:
    """NCCF voicing from a decimated signal fed in whole frames.

    ``per_frame`` decimated samples make one frame; ``rate`` is the decimated sampling rate.
    The signal is cut into groups of ``group`` frames; each group gets the voicing of a window
    of ``span`` frames inside it (centred as far as whole frames allow; the same value for all
    its frames), so the lag products cover ``span / group`` of the samples. Feed
    ``(samples, channels)`` float32 blocks (whole frames) with :meth:`add`; :meth:`values`
    gives ``(frames, channels)`` ``uint8`` voicing (see :data:`VOICING_SCALE`); frames beyond
    the samples given are silence.
    """

    def __init__(self, per_frame: int, rate: float, channels: int, *, fmin: float = 50.0,
                 fmax: float = 400.0, group: int = 4, span: int = 3) -> None:
        if not 1 <= span <= group:
            raise ValueError("the window must lie inside its group (1 <= span <= group)")
        self.per_frame = int(per_frame)
        self.channels = int(channels)
        self.group, self.span = int(group), int(span)
        self.offset = (self.group - self.span) // 2  # first window frame within a group
        self.min_lag = max(1, int(np.floor(rate / fmax)))
        self.max_lag = max(self.min_lag, int(np.ceil(rate / fmin)))
        self._parts: list[np.ndarray] = []
        self._buffer = np.zeros((0, self.channels), dtype=np.float32)
        self._first = 0  # sample index (decimated) of self._buffer[0]
        self._groups = 0  # groups whose voicing is in self._parts

    def _need(self, group: int) -> tuple[int, int]:
        """First and end (exclusive) decimated sample a group's window and lags read."""
        start = (group * self.group + self.offset) * self.per_frame
        return start, start + self.span * self.per_frame + self.max_lag

    def add(self, decimated: np.ndarray) -> None:
        """Add decimated samples ``(whole frames * per_frame, channels)``."""
        if len(decimated) == 0:
            return
        self._buffer = np.concatenate([self._buffer, decimated.astype(np.float32, copy=False)])
        end = self._first + len(self._buffer)
        # groups whose samples are all here: need(g)[1] <= end
        reach = self._need(0)[1]
        whole = (end - reach) // (self.group * self.per_frame) + 1 if end >= reach else 0
        ready = max(self._groups, whole)
        if ready > self._groups:
            self._parts.append(self._voicing(self._buffer, self._first, self._groups, ready))
            self._groups = ready
            keep = max(0, min(self._need(ready)[0], end) - self._first)
            self._buffer = self._buffer[keep:].copy()
            self._first += keep

    def _voicing(self, buffer: np.ndarray, first: int, begin: int, end: int) -> np.ndarray:
        """``uint8`` voicing of groups ``begin`` to ``end`` (exclusive) from ``buffer``, whose
        first row is decimated sample ``first``."""
        count = end - begin
        lags = np.arange(self.min_lag, self.max_lag + 1)
        width = self.span * self.per_frame  # samples in a window
        hop = self.group * self.per_frame  # samples from one window to the next
        out = np.zeros((count, self.channels), dtype=np.uint8)
        start = self._need(begin)[0] - first  # buffer row of the first window
        for c in range(self.channels):
            x = np.ascontiguousarray(buffer[:, c])
            step = x.strides[0]
            own = as_strided(x[start:], shape=(count, width), strides=(hop * step, step))
            later = as_strided(x[start + self.min_lag:], shape=(count, len(lags), width),
                               strides=(hop * step, step, step))
            products = np.einsum("gi,gki->gk", own, later)
            power = np.einsum("gi,gi->g", own, own)
            # the best lag by raw correlation, then the exact normalised value at that lag
            best = np.argmax(products, axis=1)
            shifted = x[(start + np.arange(count) * hop + lags[best])[:, None] + np.arange(width)]
            energy = np.einsum("gi,gi->g", shifted, shifted)
            peak = products[np.arange(count), best]
            denominator = np.sqrt(np.maximum(power * energy, 1e-30))
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                r = np.where(power > 1e-20, peak / denominator, 0.0)
            out[:, c] = np.round(np.clip(r, 0.0, 1.0) * VOICING_SCALE).astype(np.uint8)
        return out

    def values(self, frames: int) -> np.ndarray:
        """``(frames, channels)`` uint8 voicing of the first ``frames`` frames (non-destructive:
        more samples may be added afterwards)."""
        parts = list(self._parts)
        groups = -(-frames // self.group)
        if self._groups < groups:  # the rest, with silence after the signal
            end = self._need(groups - 1)[1] - self._first
            buffer = self._buffer
            if len(buffer) < end:
                buffer = np.concatenate([buffer, np.zeros((end - len(buffer), self.channels),
                                                          dtype=np.float32)])
            parts.append(self._voicing(buffer, self._first, self._groups, groups))
        if not parts:
            return np.zeros((frames, self.channels), dtype=np.uint8)
        return np.repeat(np.concatenate(parts), self.group, axis=0)[:frames]
