"""Pre-labelling speaker turns from conversation audio (the pure part of ``casper-qc prelabel``).

Pipeline, one pass over the samples (blocks in, model out):

1. :class:`casper_qc.activity.FrameLevels` — 10 ms frame levels of every channel;
2. :func:`casper_qc.activity.detect_activity` — each channel's *own* speech, rejecting
   crosstalk from the other headsets (method in that module's docstring);
3. :func:`casper_qc.structure.build_structure` — IPUs (pause 200 ms), turns, backchannels,
   overlaps and turn-taking statistics;
4. mono recordings with two talkers: :mod:`casper_qc.diarize_mono` splits the speech between
   two speakers by clustering spectral features; those turns carry a score of at most 0.5.

Channel -> speaker mapping: ``channel_map`` (default: channel 0 = ``A``, 1 = ``B``, 2 = ``C``…).
A mono recording with no mapping is taken as a two-talker mix (speakers ``A`` and ``B``); a mono
recording with an explicit one-speaker mapping is one talker. A mapping naming a channel the
audio does not have raises :class:`~casper_qc.errors.AudioError`.

Entry points: :func:`prelabel_file` (a path, or a pair of mono paths), :func:`prelabel_array`
(samples in memory, e.g. the ML backend) and :func:`prelabel_blocks` (any iterable of blocks,
e.g. from another executor). All return a :class:`PrelabelResult`; writing files is the CLI's
job (``casper_qc.cli.prelabel``). Silence gives an empty but valid annotation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from .errors import AudioError
from .model import Annotation, Conversation, Speaker, Turn

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .activity import ActivityParams
    from .diarize_mono import MonoParams
    from .structure import Structure, StructureParams, TurnStats

__all__ = ["PrelabelParams", "PrelabelResult", "prelabel_file", "prelabel_array",
           "prelabel_blocks", "resolve_channel_map", "MODEL_VERSION", "MONO_MAX_SCORE"]

#: ``model_version`` of the predictions (bump when decisions change).
MODEL_VERSION = "casper-turns-2"  # 2: non-speech rejected by voicing
#: Mono (one channel, two talkers) turns never score above this.
MONO_MAX_SCORE = 0.5


def _default_activity() -> "ActivityParams":
    from .activity import ActivityParams
    return ActivityParams()


def _default_structure() -> "StructureParams":
    from .structure import StructureParams
    return StructureParams()


def _default_mono() -> "MonoParams":
    from .diarize_mono import MonoParams
    return MonoParams()


@dataclass(frozen=True)
class PrelabelParams:
    """All parameters of pre-labelling (see each part's own dataclass for the meaning)."""

    activity: "ActivityParams" = field(default_factory=_default_activity)
    structure: "StructureParams" = field(default_factory=_default_structure)
    mono: "MonoParams" = field(default_factory=_default_mono)
    block_seconds: float = 30.0


@dataclass(frozen=True)
class PrelabelResult:
    """What pre-labelling found: the recording, the predicted turns (one :class:`Turn` per turn
    or backchannel, ``origin="prediction"``), the full structure and whether the recording was
    treated as a mono mix. Unpacks as ``conversation, annotation, stats``."""

    conversation: Conversation
    annotation: Annotation
    structure: "Structure"
    mono: bool
    backchannels: frozenset[str] = frozenset()  # ids of turns that are backchannels

    @property
    def stats(self) -> "TurnStats":
        return self.structure.stats

    def __iter__(self) -> Iterator:
        return iter((self.conversation, self.annotation, self.stats))


def resolve_channel_map(channels: int, channel_map: Mapping[int, str] | None, *,
                        where: str | None = None) -> tuple[dict[int, str], bool]:
    """The channel -> speaker mapping to use and whether the audio is a two-talker mono mix.

    Raises:
        AudioError: if the mapping names a channel the audio lacks, or repeats a speaker.
    """
    if channel_map is None:
        if channels == 1:
            return {0: "A"}, True
        return {c: _letter(c) for c in range(channels)}, False
    mapping = {int(c): str(s) for c, s in channel_map.items()}
    if not mapping:
        raise AudioError("the channel mapping is empty", where=where)
    for channel in sorted(mapping):
        if channel < 0 or channel >= channels:
            raise AudioError(f"speaker {mapping[channel]} is mapped to channel {channel} but the "
                             f"audio has {channels} channel(s)", where=where)
    if len(set(mapping.values())) != len(mapping):
        raise AudioError("the channel mapping names a speaker twice", where=where)
    return mapping, False


def _letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"S{index}"


def _score(margin_db: float) -> float:
    """Confidence of a stereo run from its mean margin over the thresholds: 0.5 at 0 dB, 1.0
    from 20 dB up."""
    return round(0.5 + 0.5 * min(1.0, max(0.0, margin_db / 20.0)), 3)


def prelabel_blocks(blocks: Iterable["np.ndarray"], sampling_rate: int, channels: int, *,
                    conversation_id: str, audio: str | None = None,
                    channel_map: Mapping[int, str] | None = None,
                    params: PrelabelParams | None = None) -> PrelabelResult:
    """Pre-label a recording given as blocks of samples ``(frames, channels)`` (int16 or float).

    Raises:
        AudioError: no samples, or a channel mapping the audio does not cover.
    """
    import numpy as np

    from .activity import FrameLevels, detect_activity
    from .structure import build_structure

    params = params or PrelabelParams()
    where = audio or conversation_id
    mapping, mono = resolve_channel_map(channels, channel_map, where=where)
    levels_acc = FrameLevels(sampling_rate, channels, params.activity.frame,
                             voicing=params.activity.voicing)
    mono_features = None
    if mono:
        from .diarize_mono import SpectralFeatures
        mono_features = SpectralFeatures(sampling_rate, params.activity.frame)
    for block in blocks:
        levels_acc.add(block)
        if mono_features is not None:
            mono_features.add(block)
    if levels_acc.samples == 0:
        raise AudioError("audio has no samples (zero length)", where=where)
    duration = levels_acc.samples / sampling_rate
    levels = levels_acc.levels(np.float16)
    hop = levels_acc.hop
    activity = detect_activity(levels, params.activity, channels=sorted(mapping),
                               voicing=levels_acc.voicing())

    scores: dict[str, list[tuple[float, float, float]]] = {}
    intervals: dict[str, list[tuple[float, float]]] = {}
    if mono:
        from .diarize_mono import split_speakers

        run = activity[0]
        speech = [(float(s * hop), float(min(e * hop, duration))) for s, e in zip(run.starts, run.ends)]
        labelled = split_speakers(speech, mono_features, params.mono, ("A", "B"))
        for speaker in ("A", "B"):
            intervals[speaker] = [(a, b) for a, b, s, _ in labelled if s == speaker]
            scores[speaker] = [(a, b, MONO_MAX_SCORE * conf) for a, b, s, conf in labelled if s == speaker]
        speakers = (Speaker("A", None), Speaker("B", None))
        channel_of = {"A": 0, "B": 0}
    else:
        speakers = tuple(Speaker(mapping[c], c) for c in sorted(mapping))
        channel_of = {mapping[c]: c for c in mapping}
        for channel, speaker in mapping.items():
            run = activity[channel]
            spans = [(float(s * hop), float(min(e * hop, duration))) for s, e in zip(run.starts, run.ends)]
            intervals[speaker] = spans
            scores[speaker] = [(a, b, _score(m)) for (a, b), m in zip(spans, run.margins)]
    structure = build_structure(intervals, duration, params.structure)

    turns: list[Turn] = []
    backchannels: set[str] = set()
    for index, item in enumerate(structure.turns, start=1):
        start = round(item.start, 3)
        end = round(min(item.end, duration), 3)
        if end <= start:
            continue
        turn_id = f"{item.speaker}{index:04d}"
        turns.append(Turn(item.speaker, start, end, channel=channel_of[item.speaker], id=turn_id,
                          score=_turn_score(scores[item.speaker], item.start, item.end)))
        if item.backchannel:
            backchannels.add(turn_id)
    conversation = Conversation(conversation_id, audio=audio, duration=round(duration, 3) or None,
                                channels=channels, speakers=speakers, sampling_rate=int(sampling_rate))
    mean_score = (sum(t.score or 0.0 for t in turns) / len(turns)) if turns else None
    annotation = Annotation(conversation_id, turns=turns, origin="prediction",
                            model_version=MODEL_VERSION,
                            score=None if mean_score is None else round(mean_score, 3))
    return PrelabelResult(conversation, annotation, structure, mono, frozenset(backchannels))


def _turn_score(runs: Sequence[tuple[float, float, float]], start: float, end: float) -> float:
    """Speech-weighted mean score of the runs inside [start, end] (runs sorted, disjoint)."""
    total = weight = 0.0
    for a, b, score in runs[_first_ending_after(runs, start):]:
        if a >= end:
            break
        shared = min(b, end) - max(a, start)
        if shared > 0:
            total += shared * score
            weight += shared
    return round(total / weight, 3) if weight else 0.5


def _first_ending_after(runs: Sequence[tuple[float, float, float]], time: float) -> int:
    lo, hi = 0, len(runs)
    while lo < hi:  # runs are disjoint and sorted, so their ends are sorted too
        mid = (lo + hi) // 2
        if runs[mid][1] <= time:
            lo = mid + 1
        else:
            hi = mid
    return lo


def prelabel_array(samples: "np.ndarray", sampling_rate: int, *, conversation_id: str = "audio",
                   audio: str | None = None, channel_map: Mapping[int, str] | None = None,
                   params: PrelabelParams | None = None) -> PrelabelResult:
    """Pre-label samples in memory: ``(frames,)`` or ``(frames, channels)``, int16 or float in
    [-1, 1] (the ML backend's entry point)."""
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise AudioError(f"samples must be (frames, channels), not shape {samples.shape}",
                         where=audio or conversation_id)
    block = max(1, int(sampling_rate * 30))
    blocks = (samples[i:i + block] for i in range(0, len(samples), block))
    return prelabel_blocks(blocks, sampling_rate, samples.shape[1], conversation_id=conversation_id,
                           audio=audio, channel_map=channel_map, params=params)


def prelabel_file(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                  params: PrelabelParams | None = None, *,
                  channel_map: Mapping[int, str] | None = None,
                  conversation_id: str | None = None) -> PrelabelResult:
    """Pre-label a recording file (streamed for WAV/FLAC), or a pair of mono files (one per
    participant, read as channels 0, 1…). ``conversation_id`` defaults to the (first) file's
    stem. Unpacks as ``conversation, annotation, stats``.

    Raises:
        AudioError: unreadable, empty or zero-length audio, unsupported codec, or a channel
            mapping the audio does not cover (one line naming the file).
    """
    from .audio import open_audio

    params = params or PrelabelParams()
    source = open_audio(paths)
    info = source.info
    name = conversation_id or Path(info.paths[0]).stem
    return prelabel_blocks(source.blocks(params.block_seconds), info.sampling_rate, info.channels,
                           conversation_id=name, audio=info.name, channel_map=channel_map,
                           params=params)
