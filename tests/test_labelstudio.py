"""The Label Studio adapter on JSON recorded from a real Label Studio 1.23.2 server
(tests/record_labelstudio.py), bad inputs derived from those recordings, and one end-to-end run
against a fresh server (marker ``labelstudio``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from label_studio_sdk.label_interface import LabelInterface

from casper_qc import Annotation, Conversation, Turn
from casper_qc.errors import ConfigError, FormatError, InputError, ModelError
from casper_qc.formats.labelconfig import bundled_config_path, load_label_config
from casper_qc.formats.labelstudio import (
    local_audio_path,
    read_export,
    read_tasks,
    region_id,
    to_prediction,
    to_result,
    to_task,
)
from casper_qc.labels import DisfluencyType, WordKind
from casper_qc.validate import check_task

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "tests" / "data" / "labelstudio"
SHAPES = ("export", "snapshot", "sdk_tasks", "sdk_task_get")


@pytest.fixture(scope="module")
def stereo():
    return load_label_config(bundled_config_path("conversation"))


@pytest.fixture(scope="module")
def mono():
    return load_label_config(bundled_config_path("conversation_mono"))


def recorded(project: str, shape: str) -> list[dict]:
    """A fresh copy of a recording (tests may change it)."""
    return json.loads((RECORDED / f"{project}.{shape}.json").read_text(encoding="utf-8"))


def config_of(project: str, stereo, mono):
    return stereo if project == "conversation" else mono


def turns_key(annotation: Annotation) -> list[tuple]:
    return [
        (
            t.id,
            t.speaker,
            t.start,
            t.end,
            t.channel,
            t.text,
            dict(t.choices),
            t.words,
            t.disfluencies,
        )
        for t in annotation.turns
    ]


# --------------------------------------------------------------------------- what LS really sends


def test_the_recordings_come_from_label_studio_1_23_2():
    meta = json.loads((RECORDED / "recording.json").read_text())
    assert meta["label_studio"] == "1.23.2" and meta["label_studio_sdk"].startswith("2.")


def test_completed_by_is_an_id_or_a_user_object_depending_on_the_endpoint():
    """What the recordings show about Label Studio itself (the reader must take both)."""
    export = recorded("conversation", "export")[0]["annotations"][0]
    snapshot = recorded("conversation", "snapshot")[0]["annotations"][0]
    listed = recorded("conversation", "sdk_tasks")[0]["annotations"][0]
    detail = recorded("conversation", "sdk_task_get")[0]["annotations"][0]
    assert isinstance(export["completed_by"], int) and "created_username" not in export
    assert isinstance(snapshot["completed_by"], dict) and snapshot["completed_by"]["email"]
    assert isinstance(listed["completed_by"], int) and listed["created_username"].endswith(
        f", {listed['completed_by']}"
    )
    assert isinstance(detail["completed_by"], dict)
    assert all(isinstance(p, int) for p in recorded("conversation", "export")[0]["predictions"])
    assert all(isinstance(p, dict) for p in recorded("conversation", "snapshot")[0]["predictions"])


@pytest.mark.parametrize("project", ["conversation", "conversation_mono"])
def test_every_shape_of_a_project_reads_to_the_same_turns(project, stereo, mono):
    config = config_of(project, stereo, mono)
    read = {shape: read_tasks(recorded(project, shape), config) for shape in SHAPES}
    reference = read["snapshot"]
    assert reference and all(task.annotations for task in reference)
    for shape, tasks in read.items():
        assert [t.id for t in tasks] == [t.id for t in reference], shape
        for task, ref in zip(tasks, reference):
            assert task.conversation == ref.conversation, shape
            assert [a.id for a in task.annotations] == [a.id for a in ref.annotations], shape
            for annotation, ref_annotation in zip(task.annotations, ref.annotations):
                assert turns_key(annotation) == turns_key(ref_annotation), shape
                assert annotation.annotator_id == ref_annotation.annotator_id
                assert (annotation.ground_truth, annotation.lead_time, annotation.created_at) == (
                    ref_annotation.ground_truth,
                    ref_annotation.lead_time,
                    ref_annotation.created_at,
                )


def test_annotators_are_named_by_email_when_label_studio_says_it(stereo):
    by_shape = {shape: read_tasks(recorded("conversation", shape), stereo)[0] for shape in SHAPES}
    emails = ["ann.lee@example.com", "ben.ortiz@example.com"]
    for shape in ("snapshot", "sdk_tasks", "sdk_task_get"):
        assert [a.annotator for a in by_shape[shape].annotations] == emails, shape
    # The plain export has user ids only.
    ids = [a.annotator_id for a in by_shape["export"].annotations]
    assert [a.annotator for a in by_shape["export"].annotations] == [f"user-{i}" for i in ids]


def test_cancelled_annotations_are_left_out(stereo):
    raw = recorded("conversation", "snapshot")[0]
    cancelled = [a["id"] for a in raw["annotations"] if a["was_cancelled"]]
    assert cancelled  # the recording has one
    task = read_tasks([raw], stereo)[0]
    assert [a.id for a in task.annotations] == [
        a["id"] for a in raw["annotations"] if not a["was_cancelled"]
    ]


def test_the_sample_task_maps_onto_the_model(stereo):
    task = read_tasks(recorded("conversation", "snapshot"), stereo)[0]
    conversation = task.conversation
    assert conversation.id == "michaelandsickmichael" == task.name
    assert conversation.audio == "/data/local-files/?d=samples/michaelandsickmichael.wav"
    assert conversation.channels == 2
    assert [(s.id, s.channel, s.name) for s in conversation.speakers] == [
        ("A", 0, "Speaker A"),
        ("B", 1, "Speaker B"),
    ]
    raw = recorded("conversation", "snapshot")[0]
    assert conversation.duration == round(raw["annotations"][0]["result"][0]["original_length"], 3)

    ann, ben = task.annotations
    assert ann.ground_truth and not ben.ground_truth and ann.lead_time == 412.7
    assert {t.speaker: t.channel for t in ann.turns} == {"A": 0, "B": 1}
    first = ben.turns[0]
    result = [r for r in raw["annotations"][1]["result"] if r["id"] == first.id]
    assert {r["type"] for r in result} == {"labels", "textarea", "choices"}  # joined by region id
    assert first.text == result[[r["type"] for r in result].index("textarea")]["value"]["text"][0]
    assert first.choices == {"disfluency": ("REV", "DM")}
    assert [d.type for d in first.disfluencies] == [DisfluencyType.REV, DisfluencyType.DM]
    assert check_task(task) == []

    (prediction,) = task.predictions
    assert (
        prediction.origin == "prediction" and prediction.model_version == "mfa-reference-textgrid"
    )
    assert prediction.score == 1.0 and all(t.score == 1.0 for t in prediction.turns)
    assert [(t.speaker, t.start, t.end, t.text) for t in prediction.turns] == [
        (t.speaker, t.start, t.end, t.text) for t in ann.turns
    ]


def test_overlapping_speech_events_partials_and_a_task_without_conversation_id(stereo):
    _, overlap, plain = read_tasks(recorded("conversation", "sdk_tasks"), stereo)
    a, b = overlap.annotations[0].turns
    assert (a.speaker, b.speaker) == ("A", "B") and a.overlaps(b) and check_task(overlap) == []
    noisy = overlap.annotations[1].turns[1]
    assert noisy.words[-1].kind is WordKind.EVENT and noisy.words[-1].text == "[noise]"
    assert plain.name == str(plain.id) and "conversation_id" not in plain.data
    partial = plain.annotations[0].turns[0]
    assert any(w.kind is WordKind.PARTIAL and w.text == "diff-" for w in partial.words)
    assert partial.choices == {"disfluency": ("FP", "PW")}


def test_mono_regions_keep_channel_zero_and_speakers_have_no_channel(mono):
    tasks = read_tasks(recorded("conversation_mono", "snapshot"), mono)
    assert [t.name for t in tasks] == ["mfa_laughter", "mfa_uhum"]
    for task in tasks:
        assert task.conversation.channels == 1 and all(
            s.channel is None for s in task.conversation.speakers
        )
        assert all(t.channel == 0 for a in task.annotations for t in a.turns)
    laughter = tasks[0].annotations[0].turns[0]
    assert [w.kind for w in laughter.words].count(WordKind.EVENT) == 4


def test_sdk_objects_read_like_their_dicts(stereo):
    """Parse the recorded SDK answers with the SDK's own types, as tasks.list() returns them."""
    from label_studio_sdk.core.pydantic_utilities import parse_obj_as
    from label_studio_sdk.types.role_based_task import RoleBasedTask

    raw = recorded("conversation", "sdk_tasks")
    objects = [parse_obj_as(RoleBasedTask, item) for item in raw]
    assert not isinstance(objects[0], dict)
    from_objects = read_tasks(iter(objects), stereo)
    from_dicts = read_tasks(raw, stereo)
    assert [[turns_key(a) for a in t.annotations] for t in from_objects] == [
        [turns_key(a) for a in t.annotations] for t in from_dicts
    ]


def test_importing_the_adapter_does_not_import_the_sdk():
    code = (
        "import sys, casper_qc.formats.labelstudio, casper_qc.formats.labelconfig; "
        "sys.exit('label_studio_sdk' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("project", ["conversation", "conversation_mono"])
def test_to_result_writes_exactly_what_label_studio_stored(project, stereo, mono):
    """The human annotations were posted as to_result(origin="manual") wrote them: reading them
    back and writing again gives Label Studio's stored result, key for key."""
    config = config_of(project, stereo, mono)
    raw = recorded(project, "snapshot")
    for raw_task, task in zip(raw, read_tasks(raw, config)):
        stored = [a for a in raw_task["annotations"] if not a["was_cancelled"]]
        for raw_annotation, annotation in zip(stored, task.annotations):
            written = to_result(
                annotation.turns,
                config,
                duration=raw_annotation["result"][0]["original_length"],
                origin="manual",
            )
            assert sorted(written, key=json.dumps) == sorted(
                raw_annotation["result"], key=json.dumps
            )


@pytest.mark.parametrize("project", ["conversation", "conversation_mono"])
def test_predictions_validate_against_the_config_and_read_back(project, stereo, mono):
    config = config_of(project, stereo, mono)
    interface = LabelInterface(config.xml)
    for task in read_tasks(recorded(project, "snapshot"), config):
        for annotation in task.annotations:
            prediction = to_prediction(
                annotation,
                config,
                model_version="test-model",
                score=0.75,
                duration=task.conversation.duration,
            )
            assert interface.validate_prediction(prediction, return_errors=True) == []
            assert set(prediction) == {"model_version", "score", "result"}
            item = to_task(task.conversation, {"audio": task.conversation.audio}, [prediction])
            back = read_tasks([{"id": task.id, **item}], config)[0].predictions[0]
            assert back.model_version == "test-model" and back.score == 0.75
            assert [
                (t.id, t.speaker, t.start, t.end, t.channel, t.text, dict(t.choices))
                for t in back.turns
            ] == [
                (t.id, t.speaker, t.start, t.end, t.channel, t.text, dict(t.choices))
                for t in annotation.turns
            ]


def test_region_ids_are_derived_from_the_region(stereo):
    turns = [Turn("A", 1.0, 2.0, text="hello"), Turn("Speaker B", 1.5, 2.5, text="mhm")]
    first = to_result(turns, stereo)
    assert first == to_result(turns, stereo)  # deterministic
    ids = [r["id"] for r in first]
    assert ids[0] == ids[1] != ids[2]  # labels + textarea share one id; the other region differs
    assert ids[0] == region_id("Speaker A", 0, 1.0, 2.0)
    assert first[2]["value"] == {"start": 1.5, "end": 2.5, "channel": 1, "labels": ["Speaker B"]}
    assert "original_length" not in first[0] and first[0]["origin"] == "prediction"
    assert to_result(turns, stereo, duration=3.0)[0]["original_length"] == 3.0


@pytest.mark.parametrize(
    "turns, error, message",
    [
        ([Turn("Speaker C", 0, 1)], ConfigError, "not a speaker label"),
        ([Turn("A", 0, 1, choices={"disfluency": ("XX",)})], ConfigError, "choice 'XX' is not in"),
        ([Turn("A", 0, 1, choices={"topic": ("x",)})], ConfigError, "not a per-region <Choices>"),
        ([Turn("A", 0, 2), Turn("A", 1, 3)], ModelError, "overlaps their own turn"),
        ([Turn("A", 2, 4, id="r9")], ModelError, "beyond the end of the recording"),
        ([Turn("A", 0, 1, channel=1)], ModelError, "belongs on channel 0"),
        ([Turn("A", 0, 1, id="same"), Turn("B", 0, 1, id="same")], ModelError, "share the id"),
    ],
)
def test_to_result_refuses_what_the_config_or_recording_cannot_hold(turns, error, message, stereo):
    with pytest.raises(error, match=message) as info:
        to_result(turns, stereo, duration=3.0)
    assert "\n" not in str(info.value)


def test_a_transcript_needs_a_textarea(stereo):
    from xml.etree import ElementTree as ET

    from casper_qc.formats.labelconfig import parse_label_config

    root = ET.fromstring(stereo.xml)
    for parent in root.iter():
        for child in list(parent):
            if child.tag == "TextArea":
                parent.remove(child)
    config = parse_label_config(ET.tostring(root, encoding="unicode"))
    assert to_result([Turn("A", 0, 1)], config)
    with pytest.raises(ConfigError, match="no per-region <TextArea>"):
        to_result([Turn("A", 0, 1, text="hi")], config)


def test_to_task_makes_an_importable_task(stereo):
    conversation = Conversation("c7", audio="/data/local-files/?d=a.wav", duration=2.0, channels=2)
    assert to_task(conversation, {}, config=stereo) == {
        "data": {"conversation_id": "c7", "audio": "/data/local-files/?d=a.wav"}
    }
    with pytest.raises(FormatError, match="names conversation 'x'"):
        to_task(conversation, {"conversation_id": "x"})


@pytest.mark.parametrize(
    "audio, expected",
    [
        ("/data/local-files/?d=samples/a%20b.wav", "ROOT/samples/a b.wav"),
        ("http://127.0.0.1:8080/data/local-files/?d=x/y.flac", "ROOT/x/y.flac"),
        ("audio/c.wav", "ROOT/audio/c.wav"),
        ("/abs/d.wav", "/abs/d.wav"),
        ("/data/upload/1/e.wav", None),
        ("s3://bucket/f.wav", None),
    ],
)
def test_local_audio_path(audio, expected):
    found = local_audio_path(audio, "/ROOT")
    assert (None if found is None else str(found).replace("/ROOT", "ROOT")) == expected


# --------------------------------------------------------------------------- bad input


def sample_raw() -> list[dict]:
    return recorded("conversation", "snapshot")


def region_results(
    raw: list[dict], task: int = 0, annotation: int = 0, region: int = 0
) -> list[dict]:
    result = raw[task]["annotations"][annotation]["result"]
    rid = result[0]["id"] if region == 0 else list(dict.fromkeys(r["id"] for r in result))[region]
    return [r for r in result if r["id"] == rid]


def one_line_error(error: type, raw, config, source="export.json") -> str:
    with pytest.raises(error) as info:
        read_tasks(raw, config, source=source)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{source}: ")
    return message


def test_malformed_json_names_the_file_and_line(tmp_path, stereo):
    text = (RECORDED / "conversation.snapshot.json").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text(text[: len(text) // 2])
    with pytest.raises(FormatError) as info:
        read_export(broken, stereo)
    assert str(info.value).startswith(f"{broken}: is not valid JSON") and "line " in str(info.value)
    not_a_list = tmp_path / "object.json"
    not_a_list.write_text(json.dumps(json.loads(text)[0]))
    with pytest.raises(FormatError, match="list of tasks, not an object"):
        read_export(not_a_list, stereo)


def test_a_region_whose_end_is_not_after_its_start(stereo):
    raw = sample_raw()
    parts = region_results(raw)
    for part in parts:
        part["value"]["end"] = part["value"]["start"]
    message = one_line_error(ModelError, raw, stereo)
    task, annotation = raw[0]["id"], raw[0]["annotations"][0]["id"]
    assert message.startswith(
        f"export.json: task {task}: annotation {annotation}: region '{parts[0]['id']}': "
    )
    assert "is not after its start" in message


def test_a_label_not_in_the_config(stereo):
    raw = sample_raw()
    labels = next(p for p in region_results(raw) if p["type"] == "labels")
    labels["value"]["labels"] = ["Speaker Z"]
    message = one_line_error(ConfigError, raw, stereo)
    assert f"region '{labels['id']}': label 'Speaker Z' is not in the label config" in message


def test_a_choice_not_in_the_config(stereo):
    raw = sample_raw()
    choices = next(r for r in raw[0]["annotations"][1]["result"] if r["type"] == "choices")
    choices["value"]["choices"] = ["FP", "XYZ"]
    message = one_line_error(ConfigError, raw, stereo)
    assert f"region '{choices['id']}': choice 'XYZ' is not in" in message


def test_a_control_not_in_the_config(stereo):
    raw = sample_raw()
    region_results(raw)[0]["from_name"] = "speakers"
    assert "control 'speakers', which is not in the label config" in one_line_error(
        ConfigError, raw, stereo
    )


def test_a_region_without_a_speaker_label(stereo):
    raw = sample_raw()
    result = raw[0]["annotations"][0]["result"]
    rid = result[0]["id"]
    raw[0]["annotations"][0]["result"] = [
        r for r in result if not (r["id"] == rid and r["type"] == "labels")
    ]
    message = one_line_error(FormatError, raw, stereo)
    assert f"region '{rid}': has no speaker label" in message


def test_results_of_one_region_that_disagree_on_times(stereo):
    raw = sample_raw()
    textarea = next(p for p in region_results(raw) if p["type"] == "textarea")
    textarea["value"]["end"] += 0.5
    assert "its transcript result spans" in one_line_error(FormatError, raw, stereo)


def test_task_data_without_the_audio_field(stereo):
    raw = sample_raw()
    del raw[1]["data"]["audio"]
    message = one_line_error(ConfigError, raw, stereo)
    assert message.startswith(f"export.json: task {raw[1]['id']}: data has no 'audio' field")


def test_a_same_speaker_overlap_is_found_by_check_task(stereo):
    raw = sample_raw()
    result = raw[0]["annotations"][0]["result"]
    first, second = list(dict.fromkeys(r["id"] for r in result))[:2]  # two turns of speaker A
    end = next(r for r in result if r["id"] == first)["value"]["end"]
    for r in result:
        if r["id"] == second:
            r["value"]["start"] = end - 1.0
    task = read_tasks(raw, stereo)[0]
    problems = check_task(task)
    assert len(problems) == 1
    assert (
        problems[0].where
        == f"task {task.id}: annotation {task.annotations[0].id}: region '{second}'"
    )
    assert "speaker A overlaps their own turn" in problems[0].message


def test_times_beyond_the_audio_are_found_by_check_task(stereo):
    raw = sample_raw()
    for annotation in raw[0]["annotations"]:
        for r in annotation["result"]:
            r["original_length"] = 40.0
    for prediction in raw[0]["predictions"]:
        for r in prediction["result"]:
            r["original_length"] = 40.0
    task = read_tasks(raw, stereo)[0]
    assert task.conversation.duration == 40.0
    problems = check_task(task)
    late = [p for p in problems if "beyond the end of the recording (40.000 s)" in p.message]
    assert late and all(p.where.startswith(f"task {task.id}: ") for p in late)


def test_broken_structure(stereo):
    assert "expected a list of tasks" in one_line_error(FormatError, {"id": 1}, stereo)
    assert "item 1 is not a task object" in one_line_error(FormatError, [3], stereo)
    raw = sample_raw()
    raw[0]["annotations"][0]["result"] = {"id": "x"}
    assert "result must be a list" in one_line_error(FormatError, raw, stereo)
    raw = sample_raw()
    raw[0]["data"] = "oops"
    assert "has no data object" in one_line_error(FormatError, raw, stereo)


# --------------------------------------------------------------------------- a real server


@pytest.mark.labelstudio
@pytest.mark.slow
def test_a_real_server_accepts_the_configs_and_gives_our_predictions_back(tmp_path, stereo, mono):
    """One fresh Label Studio 1.23.2 (started by casper_qc.labelstudio_server): it takes both
    configs with predicted_values, imports tasks and predictions written by to_task/to_prediction,
    serves the audio from local-files storage, returns them through the SDK as they went in,
    never shows the API key, and is stopped (only it) at the end."""
    import requests

    from casper_qc.formats.labelstudio import fetch_tasks
    from casper_qc.labelstudio_server import LabelStudioServer

    with LabelStudioServer(tmp_path / "data", document_root=REPO) as server:
        pid = server.pid
        for project_name, config in (("conversation", stereo), ("conversation_mono", mono)):
            created = requests.post(
                f"{server.url}/api/projects",
                headers=server.headers,
                timeout=60,
                json={"title": project_name, "label_config": config.xml},
            )
            assert created.status_code == 201, created.text
            project = created.json()
            # Label Studio keeps predicted_values among the label attributes of its parsed config.
            attrs = project["parsed_label_config"][config.speaker_labels_name]["labels_attrs"]
            assert attrs["Speaker A"]["predicted_values"] in ("0,A", "A")

            source = read_tasks(recorded(project_name, "snapshot"), config)
            tasks = [
                to_task(
                    t.conversation,
                    {"audio": t.conversation.audio},
                    [
                        to_prediction(
                            t.annotations[0],
                            config,
                            model_version="e2e",
                            score=0.5,
                            duration=t.conversation.duration,
                        )
                    ],
                )
                for t in source
            ]
            imported = requests.post(
                f"{server.url}/api/projects/{project['id']}/import",
                headers=server.headers,
                json=tasks,
                timeout=60,
            )
            assert imported.status_code == 201, imported.text

            fetched = fetch_tasks(server.url, server.token, project["id"], config)
            assert [t.name for t in fetched] == [t.name for t in source]
            for got, want in zip(fetched, source):
                assert got.conversation == want.conversation
                (prediction,) = got.predictions
                assert (prediction.model_version, prediction.score) == ("e2e", 0.5)
                assert [
                    (t.id, t.speaker, t.start, t.end, t.channel, t.text, dict(t.choices))
                    for t in prediction.turns
                ] == [
                    (t.id, t.speaker, t.start, t.end, t.channel, t.text, dict(t.choices))
                    for t in want.annotations[0].turns
                ]

        storage = requests.post(
            f"{server.url}/api/storages/localfiles",
            headers=server.headers,
            timeout=60,
            json={
                "project": project["id"],
                "path": str(REPO / "tests" / "data" / "audio"),
                "use_blob_urls": True,
            },
        )
        assert storage.status_code == 201, storage.text
        audio = requests.get(
            f"{server.url}/data/local-files/?d=tests/data/audio/mfa_uhum.wav",
            headers=server.headers,
            timeout=60,
        )
        assert (
            audio.ok
            and audio.content == (REPO / "tests" / "data" / "audio" / "mfa_uhum.wav").read_bytes()
        )

        with pytest.raises(InputError) as info:
            fetch_tasks(server.url, "not-the-token", 1, stereo)
        assert "401" in str(info.value) and "not-the-token" not in str(info.value)
        assert server.token not in server.log_path.read_text(errors="replace")
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
