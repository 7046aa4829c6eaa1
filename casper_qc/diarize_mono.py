"""Best-effort two-speaker split of a mono mix (one channel, two talkers).

Method: the speech regions (from :mod:`casper_qc.activity`) are cut into chunks of about
``MonoParams.chunk`` seconds; each chunk is described by the mean of 12 mel-cepstral
coefficients over the louder half of its frames and the median pitch of its voiced frames (a
32 ms FFT every 10 ms, computed while the audio streams past); two Gaussians with one shared
covariance are fitted to the chunks by EM (a linear discriminant found without labels; seeded
by median splits along the first principal axes), and the chunk sequence is smoothed by a
Viterbi pass over the posteriors that makes a speaker change inside a speech region cost more
than one across a pause.

The input is assumed to hold two talkers. ``min_separation`` (Mahalanobis distance of the two
means) only catches degenerate fits: on our data one-talker mixes separated as well as
two-talker ones (d' 4-6), so a monologue in a mono file is split too; give it a one-speaker
channel mapping instead. The result is a guess: overlapping speech goes to one speaker only,
and chunk boundaries (not acoustic change points) limit where a change can fall. Callers score
mono turns low (:data:`casper_qc.turns.MONO_MAX_SCORE`); each segment's confidence in [0, 1] is
the mean of its chunks' ``|2 * posterior - 1|``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["MonoParams", "SpectralFeatures", "split_speakers"]


@dataclass(frozen=True)
class MonoParams:
    """Parameters of the mono split.

    Attributes:
        chunk: target chunk length in seconds (regions are cut into equal chunks near this).
        switch_penalty: cost (in nats, against ``-log posterior`` of each chunk) of a speaker
            change between two chunks of one speech region; ``pause_penalty`` across a pause.
        min_separation: below this separation of the two fitted means (d') everything is one
            speaker.
        iterations: EM iterations at most.
    """

    chunk: float = 1.0
    switch_penalty: float = 10.0
    pause_penalty: float = 2.0
    min_separation: float = 2.5
    iterations: int = 30


class SpectralFeatures:
    """Mel-cepstra and pitch of channel 0 every ``frame`` seconds, accumulated block by block
    (float16, 14 values a frame: about 10 MB per hour)."""

    COEFFICIENTS = 12
    BANDS = 24

    def __init__(self, sampling_rate: int, frame: float = 0.010) -> None:
        self.sampling_rate = int(sampling_rate)
        self.hop = max(1, int(round(frame * sampling_rate)))
        self.window = 1 << int(np.ceil(np.log2(max(2, 0.032 * sampling_rate))))
        self._tail = np.zeros(0, dtype=np.float32)
        self._parts: list[np.ndarray] = []
        self._hann = np.hanning(self.window).astype(np.float32)
        self._mel = _mel_matrix(self.sampling_rate, self.window, self.BANDS)
        self._dct = _dct_matrix(self.BANDS, self.COEFFICIENTS + 1)  # c0 (loudness) + 12
        self._min_lag = int(self.sampling_rate / 400)
        self._max_lag = min(self.window - 1, int(self.sampling_rate / 60))

    def add(self, block: np.ndarray) -> None:
        """Add the next block ``(samples, channels)``; only channel 0 is used."""
        x = block[:, 0] if block.ndim == 2 else block
        x = x.astype(np.float32) / (32768.0 if x.dtype.kind in "iu" else 1.0)
        data = np.concatenate([self._tail, x])
        count = (len(data) - self.window) // self.hop + 1 if len(data) >= self.window else 0
        if count > 0:
            idx = np.arange(self.window)[None, :] + self.hop * np.arange(count)[:, None]
            frames = data[idx] * self._hann
            spectrum = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32) ** 2
            bands = np.log(spectrum @ self._mel + 1e-10)
            # pitch: the autocorrelation peak (inverse FFT of the power spectrum) between
            # 60 and 400 Hz, kept where the frame is clearly periodic
            ac = np.fft.irfft(spectrum, axis=1)[:, : self._max_lag + 1]
            lags = ac[:, self._min_lag:]
            peak = lags.argmax(axis=1)
            strength = lags[np.arange(len(lags)), peak] / np.maximum(ac[:, 0], 1e-12)
            pitch = np.where(strength > 0.45, np.log(self.sampling_rate / (peak + self._min_lag)), np.nan)
            self._parts.append(np.concatenate([bands @ self._dct, pitch[:, None]], axis=1).astype(np.float16))
            self._tail = data[count * self.hop:]
        else:
            self._tail = data

    def cepstra(self) -> np.ndarray:
        """``(frames, 14)`` float32: c0 (loudness), 12 cepstra, log pitch (NaN when unvoiced);
        frame ``i`` starts at ``i * hop`` samples."""
        if not self._parts:
            return np.zeros((0, self.COEFFICIENTS + 2), dtype=np.float32)
        return np.concatenate(self._parts).astype(np.float32)


def _mel_matrix(sampling_rate: int, window: int, bands: int) -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    top = min(sampling_rate / 2.0, 8000.0)
    points = 700.0 * (10 ** (np.linspace(mel(60.0), mel(top), bands + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(window, 1.0 / sampling_rate)
    matrix = np.zeros((len(freqs), bands), dtype=np.float32)
    for b in range(bands):
        lo, mid, hi = points[b], points[b + 1], points[b + 2]
        up = (freqs - lo) / max(mid - lo, 1e-9)
        down = (hi - freqs) / max(hi - mid, 1e-9)
        matrix[:, b] = np.clip(np.minimum(up, down), 0.0, None)
    return matrix


def _dct_matrix(n: int, k: int) -> np.ndarray:
    i = np.arange(n)[:, None]
    j = np.arange(k)[None, :]
    return np.cos(np.pi / n * (i + 0.5) * j).astype(np.float32)


def _chunks(speech: Sequence[tuple[float, float]], length: float) -> list[tuple[int, float, float]]:
    """(region index, start, end) chunks of about ``length`` seconds."""
    out = []
    for region, (start, end) in enumerate(speech):
        count = max(1, int(round((end - start) / length)))
        step = (end - start) / count
        for i in range(count):
            out.append((region, start + i * step, start + (i + 1) * step))
    return out


def _gmm2(x: np.ndarray, iterations: int) -> tuple[np.ndarray, float, float]:
    """Two Gaussians with one shared full covariance (a linear discriminant found without
    labels), by EM. Seeds: the median split along each of the first three principal axes; the
    most likely fit wins. Returns posteriors of class 1, the means' Mahalanobis distance
    (d'), and the log-likelihood."""
    n, dim = x.shape
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    best = None
    for axis in range(min(3, len(vt))):
        projection = centred @ vt[axis]
        post = (projection > np.median(projection)).astype(np.float64)
        loglik = -np.inf
        for _ in range(iterations):
            weight = np.clip(post.mean(), 0.05, 0.95)
            m1 = (post[:, None] * x).sum(axis=0) / max(post.sum(), 1e-9)
            m0 = ((1 - post)[:, None] * x).sum(axis=0) / max((1 - post).sum(), 1e-9)
            r1, r0 = x - m1, x - m0
            cov = ((post[:, None] * r1).T @ r1 + ((1 - post)[:, None] * r0).T @ r0) / n
            cov += np.eye(dim) * (1e-3 + 1e-2 * np.trace(cov) / dim)  # few chunks: regularise
            inv = np.linalg.inv(cov)
            d1 = np.einsum("ij,jk,ik->i", r1, inv, r1)
            d0 = np.einsum("ij,jk,ik->i", r0, inv, r0)
            a1 = np.log(weight) - 0.5 * d1
            a0 = np.log(1 - weight) - 0.5 * d0
            top = np.maximum(a0, a1)
            total = top + np.log(np.exp(a0 - top) + np.exp(a1 - top))
            post = np.exp(a1 - total)
            new = float(total.sum() - 0.5 * n * np.linalg.slogdet(cov)[1])
            if abs(new - loglik) < 1e-6:
                break
            loglik = new
        diff = m1 - m0
        separation = float(np.sqrt(diff @ inv @ diff))
        if best is None or loglik > best[3]:
            best = (post, separation, diff, loglik)
    post, separation, _, loglik = best
    return post, separation, loglik


def split_speakers(speech: Sequence[tuple[float, float]], features: SpectralFeatures,
                   params: MonoParams = MonoParams(), names: Sequence[str] = ("A", "B")
                   ) -> list[tuple[float, float, str, float]]:
    """Give each stretch of ``speech`` (seconds, sorted) to one of two speakers.

    Returns ``(start, end, speaker, confidence)`` tuples, confidence in [0, 1]. The speaker who
    talks first is ``names[0]``.
    """
    if not speech:
        return []
    cepstra = features.cepstra()
    hop = features.hop / features.sampling_rate
    chunks = _chunks(speech, params.chunk)
    rows = []
    for _, start, end in chunks:
        a = int(start / hop)
        b = max(a + 1, int(end / hop))
        part = cepstra[a:b]
        if len(part) == 0:
            part = cepstra[-1:] if len(cepstra) else np.zeros((1, SpectralFeatures.COEFFICIENTS + 2))
        # the voice is in the loud frames; pauses and weak consonants describe the room
        loud = part[part[:, 0] >= np.median(part[:, 0])]
        pitch = part[:, -1][np.isfinite(part[:, -1])]
        rows.append(np.concatenate([loud[:, 1:-1].mean(axis=0), [np.median(pitch) if len(pitch) else np.nan]]))
    x = np.array(rows, dtype=np.float64)
    missing = ~np.isfinite(x[:, -1])  # chunks without a voiced frame get the median pitch
    x[missing, -1] = np.median(x[~missing, -1]) if (~missing).any() else 0.0
    if len(x) < 6:
        return [(s, e, names[0], 0.0) for _, s, e in chunks]
    posterior, separation, _ = _gmm2(x, params.iterations)
    if separation < params.min_separation or min((posterior > 0.5).sum(), (posterior <= 0.5).sum()) < 2:
        return _merge([(r, s, e, names[0], 0.0) for r, s, e in chunks])
    p = np.clip(posterior, 1e-6, 1 - 1e-6)
    cost = np.stack([-np.log(1 - p), -np.log(p)], axis=1)
    labels = _viterbi(cost, [c[0] for c in chunks], params)
    confidence = np.abs(2 * posterior - 1)
    first = labels[0]
    named = [names[0] if label == first else names[1] for label in labels]
    return _merge([(r, s, e, n, float(c)) for (r, s, e), n, c in zip(chunks, named, confidence)])


def _viterbi(cost: np.ndarray, regions: Sequence[int], params: MonoParams) -> np.ndarray:
    n = len(cost)
    total = cost[0].copy()
    back = np.zeros((n, 2), dtype=np.int64)
    for i in range(1, n):
        penalty = params.switch_penalty if regions[i] == regions[i - 1] else params.pause_penalty
        stay = total
        switch = total[::-1] + penalty
        back[i] = np.where(stay <= switch, [0, 1], [1, 0])
        total = np.minimum(stay, switch) + cost[i]
    labels = np.zeros(n, dtype=np.int64)
    labels[-1] = int(total.argmin())
    for i in range(n - 1, 0, -1):
        labels[i - 1] = back[i, labels[i]]
    return labels


def _merge(items: list[tuple[int, float, float, str, float]]) -> list[tuple[float, float, str, float]]:
    out: list[list] = []
    for region, start, end, speaker, conf in items:
        if out and out[-1][0] == region and out[-1][3] == speaker:
            previous = out[-1]
            weight_a, weight_b = previous[2] - previous[1], end - start
            previous[4] = (previous[4] * weight_a + conf * weight_b) / (weight_a + weight_b)
            previous[2] = end
        else:
            out.append([region, start, end, speaker, conf])
    return [(s, e, spk, round(c, 3)) for _, s, e, spk, c in out]
