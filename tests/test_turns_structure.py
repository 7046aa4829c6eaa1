"""casper_qc.structure: IPUs, turns, backchannels, overlaps and turn-taking statistics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casper_qc.model import Turn
from casper_qc.structure import StructureParams, TurnStats, build_structure, overlap_regions
from casper_qc.validate import check_turns


def spans(structure, speaker=None, backchannel=None):
    return [(t.speaker, round(t.start, 3), round(t.end, 3)) for t in structure.turns
            if (speaker is None or t.speaker == speaker) and (backchannel is None or t.backchannel == backchannel)]


def test_ipus_split_at_the_pause_threshold_only():
    s = build_structure({"A": [(0.0, 1.0), (1.15, 2.0), (2.25, 3.0)]}, 4.0)
    assert [(i.start, i.end) for i in s.ipus["A"]] == [(0.0, 2.0), (2.25, 3.0)]
    s = build_structure({"A": [(0.0, 1.0), (1.15, 2.0)]}, 4.0, StructureParams(pause=0.1))
    assert len(s.ipus["A"]) == 2


def test_a_turn_lasts_until_the_other_takes_the_floor():
    s = build_structure({"A": [(0.0, 2.0), (2.5, 4.0), (8.0, 9.0)], "B": [(4.3, 7.0)]}, 10.0)
    assert spans(s) == [("A", 0.0, 4.0), ("B", 4.3, 7.0), ("A", 8.0, 9.0)]
    assert s.stats.ftos == [0.3, 1.0]
    assert (s.stats.gap_count, round(s.stats.gap_time, 3)) == (2, 1.3)
    assert (s.stats.pause_count, round(s.stats.pause_time, 3)) == (1, 0.5)


def test_long_silence_ends_a_turn_even_when_nobody_takes_the_floor():
    s = build_structure({"A": [(0.0, 1.0), (3.5, 4.0)]}, 5.0)
    assert spans(s) == [("A", 0.0, 1.0), ("A", 3.5, 4.0)]
    s = build_structure({"A": [(0.0, 1.0), (3.5, 4.0)]}, 5.0, StructureParams(max_turn_pause=None))
    assert spans(s) == [("A", 0.0, 4.0)]


def test_backchannels_inside_the_others_turn_do_not_take_the_floor():
    s = build_structure({"A": [(0.0, 3.0), (3.4, 7.0)], "B": [(3.05, 3.35), (7.3, 9.0)]}, 10.0)
    assert spans(s, backchannel=True) == [("B", 3.05, 3.35)]
    assert spans(s, backchannel=False) == [("A", 0.0, 7.0), ("B", 7.3, 9.0)]
    assert s.stats.backchannels == {"A": 0, "B": 1} and s.stats.turns == {"A": 1, "B": 1}


def test_a_short_ipu_mostly_overlapping_the_other_is_a_backchannel_a_long_one_is_not():
    s = build_structure({"A": [(0.0, 4.0)], "B": [(3.7, 4.2), (6.0, 8.0)]}, 9.0)
    assert spans(s, backchannel=True) == [("B", 3.7, 4.2)]
    s = build_structure({"A": [(0.0, 4.0)], "B": [(2.0, 5.5)]}, 9.0)  # a competitive overlap
    assert spans(s, backchannel=True) == []
    assert s.stats.ftos == [-2.0]
    assert (s.stats.overlap_transfer_count, s.stats.overlap_transfer_time) == (1, 2.0)


def test_overlap_time_counts_every_overlap_including_backchannels():
    s = build_structure({"A": [(0.0, 3.0)], "B": [(2.5, 3.2), (5.0, 6.0)], "C": [(2.8, 4.0)]}, 7.0)
    assert overlap_regions({"A": [(0.0, 3.0)], "B": [(2.5, 3.2)]}) == [(2.5, 3.0)]
    assert s.stats.overlap_time == pytest.approx(0.7)  # 2.5-3.2 has two or more speakers
    assert s.stats.silence_time == pytest.approx(2.0)  # 4.0-5.0 and 6.0-7.0


def test_stats_add_up_and_rates_come_from_sums():
    one = build_structure({"A": [(0.0, 1.0)], "B": [(1.5, 2.0)]}, 3.0).stats
    two = build_structure({"A": [(0.0, 2.0)], "B": [(1.0, 4.0)]}, 5.0).stats
    total = one + two
    assert total.ftos == [0.5, -1.0] and total.duration == 8.0
    assert total.speech == {"A": 3.0, "B": 3.5}
    summary = total.to_dict()
    assert summary["fto"]["mean"] == -0.25 and summary["gaps"]["count"] == 1
    assert isinstance(TurnStats().to_dict()["fto"]["median"], type(None))


def test_silence_gives_an_empty_structure():
    s = build_structure({"A": [], "B": []}, 10.0)
    assert s.turns == () and s.stats.silence_time == 10.0 and s.stats.ftos == []


intervals = st.lists(st.tuples(st.floats(0, 60), st.floats(0.05, 3)), max_size=25)


@settings(max_examples=200, deadline=None)
@given(intervals, intervals)
def test_turns_of_one_speaker_never_overlap_and_cover_their_ipus(a, b):
    activity = {"A": [(s, s + d) for s, d in a], "B": [(s, s + d) for s, d in b]}
    s = build_structure(activity, 70.0)
    turns = [Turn(t.speaker, round(t.start, 3), round(t.end, 3)) for t in s.turns
             if round(t.end, 3) > round(t.start, 3)]
    assert check_turns(turns) == []
    for speaker, ipus in s.ipus.items():
        covered = [t for t in s.turns if t.speaker == speaker]
        for ipu in ipus:
            assert any(t.start <= ipu.start + 1e-3 and ipu.end <= t.end + 1e-3 for t in covered)
