from __future__ import annotations

import dataclasses
import math

import pytest

from casper_qc import (
    Annotation,
    Conversation,
    Disfluency,
    DisfluencyType,
    ModelError,
    Segment,
    Speaker,
    Turn,
    Word,
    WordKind,
    WordRange,
    check_annotation,
    check_turns,
)
from casper_qc.validate import ensure_valid


def test_times_are_rounded_to_milliseconds_at_construction():
    turn = Turn("A", 1.23449, 2.0006, channel=0)
    assert (turn.start, turn.end) == (1.234, 2.001)
    assert Word("hi", 0.0004, 0.0016).start == 0.0


@pytest.mark.parametrize("start,end", [(2.0, 2.0), (2.0, 1.0), (2.0, 2.0004), (-0.5, 1.0),
                                       (math.nan, 1.0), (0.0, math.inf), ("x", 1.0), (True, 2.0)])
def test_bad_intervals_are_refused_with_one_line(start, end):
    with pytest.raises(ModelError) as info:
        Turn("A", start, end)
    assert "\n" not in str(info.value)


def test_records_are_frozen():
    turn = Turn("A", 0, 1, words=[Word("hi")])
    with pytest.raises(dataclasses.FrozenInstanceError):
        turn.start = 3  # type: ignore[misc]
    assert isinstance(turn.words, tuple)
    with pytest.raises(TypeError):
        turn.choices["x"] = ("y",)  # type: ignore[index]


def test_word_times_come_in_pairs_and_stay_inside_the_turn():
    with pytest.raises(ModelError, match="not both"):
        Word("hi", start=1.0)
    with pytest.raises(ModelError, match="whitespace"):
        Word("two words")
    with pytest.raises(ModelError, match="outside the turn"):
        Turn("A", 1.0, 2.0, words=[Word("hi", 0.5, 1.2)])
    assert Word("uh", kind="filler").kind is WordKind.FILLER


def test_disfluency_structure_is_checked():
    rep = Disfluency("REP", WordRange(0, 2), reparandum=(0, 1), repair=(1, 2))
    assert rep.type is DisfluencyType.REP and rep.reparandum == WordRange(0, 1)
    assert [str(r) for r, _ in rep.roles()] == ["RM", "RP"]
    with pytest.raises(ModelError, match="needs a repair"):
        Disfluency("REV", (0, 2), reparandum=(0, 1))
    with pytest.raises(ModelError, match="has no repair"):
        Disfluency("FS", (0, 2), reparandum=(0, 1), repair=(1, 2))
    with pytest.raises(ModelError, match="cannot have"):
        Disfluency("FP", (0, 1), reparandum=(0, 1))
    with pytest.raises(ModelError, match="out of order"):
        Disfluency("REV", (0, 4), reparandum=(2, 4), repair=(0, 2))
    with pytest.raises(ModelError, match="outside its span"):
        Disfluency("REP", (0, 2), reparandum=(0, 1), repair=(1, 3))
    with pytest.raises(ModelError, match="unknown disfluency type"):
        Disfluency("XX", (0, 1))
    with pytest.raises(ModelError, match="beyond its 1 words"):
        Turn("A", 0, 1, words=[Word("uh")], disfluencies=[Disfluency("FP", (0, 2))])


def test_same_speaker_overlap_is_reported_different_speakers_are_not():
    turns = [Turn("A", 0, 2, id="a1"), Turn("B", 1, 3, id="b1"), Turn("A", 1.5, 2.5, id="a2"),
             Turn("A", 2.5, 3.0, id="a3")]
    problems = check_turns(turns)
    assert len(problems) == 1
    assert problems[0].where == "region 'a2'" and "overlaps their own turn region 'a1'" in problems[0].message
    with pytest.raises(ModelError, match="region 'a2'"):
        ensure_valid(problems)


def test_turns_are_checked_against_the_recording():
    conv = Conversation("c1", duration=10.0, channels=2, speakers=(Speaker("A", 0), Speaker("B", 1)))
    ann = Annotation(task_id=1, id=7, turns=[Turn("A", 9.0, 10.5, channel=0, id="x"),
                                             Turn("B", 1.0, 2.0, channel=0, id="y"),
                                             Turn("B", 3.0, 4.0, channel=2, id="z")])
    messages = [str(p) for p in check_annotation(ann, conv)]
    assert any("annotation 7: region 'x': ends at 10.500 s, beyond the end" in m for m in messages)
    assert any("region 'y'" in m and "belongs on channel 1" in m for m in messages)
    assert any("region 'z'" in m and "recording has 2 channel(s)" in m for m in messages)


def test_conversation_checks_its_speakers():
    with pytest.raises(ModelError, match="appears twice"):
        Conversation("c", channels=2, speakers=(Speaker("A", 0), Speaker("A", 1)))
    with pytest.raises(ModelError, match="channel 2"):
        Conversation("c", channels=2, speakers=(Speaker("A", 2),))


def test_annotation_sorts_turns_and_parses_timestamps():
    ann = Annotation(task_id=1, turns=[Turn("B", 3, 4), Turn("A", 1, 2)],
                     created_at="2026-11-27T10:00:00.123456Z", lead_time=12.5)
    assert [t.speaker for t in ann.turns] == ["A", "B"]
    assert ann.created_at.tzinfo is not None and ann.created_at.microsecond == 123456
    with pytest.raises(ModelError, match="ISO 8601"):
        Annotation(task_id=1, created_at="yesterday")


def test_segment_arithmetic():
    a, b = Segment(0, 2), Segment(1.5, 3)
    assert a.overlaps(b) and a.overlap(b) == 0.5
    assert not a.overlaps(Segment(2, 3))
    assert a.duration == 2.0
