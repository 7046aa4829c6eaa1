"""``casper-qc export`` on Label Studio exports recorded from a real 1.23.2 server: what it writes
(every TextGrid opened by Praat itself) and how it refuses bad input (one line, exit 2, nothing
written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import parselmouth
from parselmouth.praat import call

from casper_qc.cli import main
from casper_qc.formats.labelconfig import bundled_config_path, load_label_config
from casper_qc.formats.labelstudio import read_export

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "tests" / "data" / "labelstudio"
SNAPSHOT = RECORDED / "conversation.snapshot.json"


def raw(name: str = "conversation.snapshot.json") -> list[dict]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def write_json(path: Path, payload) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def praat_turn_tiers(path: Path) -> dict[str, list[str]]:
    grid = parselmouth.read(str(path))
    tiers = {}
    for tier in range(1, call(grid, "Get number of tiers") + 1):
        name = call(grid, "Get tier name", tier)
        count = call(grid, "Get number of intervals", tier)
        labels = [call(grid, "Get label of interval", tier, i) for i in range(1, count + 1)]
        tiers[name] = [label for label in labels if label]
    return tiers


def test_textgrids_one_per_task_and_annotation(tmp_path, capsys):
    out = tmp_path / "grids"
    code, stdout, err = run(capsys, "--from", str(SNAPSHOT), "--to", "textgrid", "--out", str(out))
    assert code == 0 and err == ""
    expected = {
        "michaelandsickmichael__ann.lee@example.com.TextGrid",
        "michaelandsickmichael__ben.ortiz@example.com.TextGrid",  # Cara skipped this task: no grid
        "mfa_uh_um_overlap__ann.lee@example.com.TextGrid",
        "mfa_uh_um_overlap__cara.nguyen@example.com.TextGrid",
        "3__cara.nguyen@example.com.TextGrid",  # no conversation_id: the task id
    }
    assert {p.name for p in out.iterdir()} == expected
    assert stdout.splitlines() == [
        f"wrote {out / name}"
        for name in (  # task order, then annotation order
            "michaelandsickmichael__ann.lee@example.com.TextGrid",
            "michaelandsickmichael__ben.ortiz@example.com.TextGrid",
            "mfa_uh_um_overlap__ann.lee@example.com.TextGrid",
            "mfa_uh_um_overlap__cara.nguyen@example.com.TextGrid",
            "3__cara.nguyen@example.com.TextGrid",
        )
    ]

    tasks = read_export(SNAPSHOT, load_label_config(bundled_config_path()))
    ben = tasks[0].annotations[1]
    tiers = praat_turn_tiers(out / "michaelandsickmichael__ben.ortiz@example.com.TextGrid")
    assert tiers["A - turns"] == [t.text for t in ben.turns_of("A")]
    assert tiers["B - turns"] == [t.text for t in ben.turns_of("B")]
    overlap = praat_turn_tiers(out / "mfa_uh_um_overlap__ann.lee@example.com.TextGrid")
    assert overlap["A - turns"] == ["montreal uh forced aligner"]
    assert overlap["B - turns"] == ["montreal forced um aligner"]


def test_the_plain_export_names_annotators_by_user_id(tmp_path, capsys):
    code, _, _ = run(
        capsys,
        "--from",
        str(RECORDED / "conversation_mono.export.json"),
        "--to",
        "textgrid",
        "--config",
        "conversation_mono",
        "--out",
        str(tmp_path),
    )
    users = [
        a["completed_by"] for t in raw("conversation_mono.export.json") for a in t["annotations"]
    ]
    assert code == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        f"mfa_laughter__user-{users[0]}.TextGrid",
        f"mfa_uhum__user-{users[1]}.TextGrid",
        f"mfa_uhum__user-{users[2]}.TextGrid",
    }
    for path in tmp_path.iterdir():
        assert praat_turn_tiers(path)["A - turns"]


def test_one_annotator_twice_on_a_task_gets_distinct_names(tmp_path, capsys):
    payload = raw()
    again = json.loads(json.dumps(payload[1]["annotations"][0]))
    again["id"] = 999
    payload[1]["annotations"].append(again)
    source = write_json(tmp_path / "twice.json", payload)
    code, _, err = run(
        capsys, "--from", str(source), "--to", "textgrid", "--out", str(tmp_path / "out")
    )
    assert code == 0, err
    names = {p.name for p in (tmp_path / "out").iterdir()}
    task = payload[1]["id"]
    first = payload[1]["annotations"][0]["id"]
    assert {
        f"mfa_uh_um_overlap__ann.lee@example.com__task{task}_annotation{first}.TextGrid",
        f"mfa_uh_um_overlap__ann.lee@example.com__task{task}_annotation999.TextGrid",
    } <= names


def test_jsonl_holds_every_turn_of_every_annotation(tmp_path, capsys):
    code, stdout, _ = run(
        capsys,
        "--from",
        str(SNAPSHOT),
        "--to",
        "jsonl",
        "--out",
        str(tmp_path),
        "--audio-root",
        str(REPO),
    )
    assert code == 0
    lines = [
        json.loads(line) for line in (tmp_path / "supervisions.jsonl").read_text().splitlines()
    ]
    tasks = read_export(SNAPSHOT, load_label_config(bundled_config_path()))
    turns = [(a.annotator, t.id) for task in tasks for a in task.annotations for t in a.turns]
    assert sorted((s["custom"]["annotator"], s["custom"]["region_id"]) for s in lines) == sorted(
        turns
    )
    assert "cara.nguyen@example.com" in {s["custom"]["annotator"] for s in lines}
    skipped = [a["id"] for t in raw() for a in t["annotations"] if a["was_cancelled"]]
    assert not {s["custom"]["annotation_id"] for s in lines} & set(skipped)

    recordings = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "recordings.jsonl").read_text().splitlines())
    }
    assert set(recordings) == {"michaelandsickmichael", "mfa_uh_um_overlap", "3"}
    michael = recordings["michaelandsickmichael"]
    assert michael["sampling_rate"] == 16000 and michael["channel_ids"] == [0, 1]
    assert Path(michael["sources"][0]["source"]) == REPO / "samples" / "michaelandsickmichael.wav"


def test_jsonl_without_audio_root_writes_supervisions_only(tmp_path, capsys):
    code, stdout, _ = run(capsys, "--from", str(SNAPSHOT), "--to", "jsonl", "--out", str(tmp_path))
    assert code == 0 and [p.name for p in tmp_path.iterdir()] == ["supervisions.jsonl"]


def test_nemo_manifest(tmp_path, capsys):
    code, _, _ = run(
        capsys,
        "--from",
        str(SNAPSHOT),
        "--to",
        "nemo",
        "--out",
        str(tmp_path),
        "--audio-root",
        str(REPO),
    )
    assert code == 0
    entries = [
        json.loads(line) for line in (tmp_path / "nemo_manifest.json").read_text().splitlines()
    ]
    tasks = read_export(SNAPSHOT, load_label_config(bundled_config_path()))
    assert len(entries) == sum(len(a.turns) for t in tasks for a in t.annotations)
    assert {e["audio_filepath"] for e in entries} == {
        str(REPO / "samples" / "michaelandsickmichael.wav"),
        str(REPO / "tests" / "data" / "audio" / "mfa_uh_um_overlap.flac"),
    }


# --------------------------------------------------------------------------- bad input


def refused(capsys, tmp_path: Path, source: Path, *extra: str) -> str:
    """Run the export on bad input: exit 2, one line on stderr, nothing written."""
    out = tmp_path / "out"
    code, stdout, err = run(
        capsys, "--from", str(source), "--to", "textgrid", "--out", str(out), *extra
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("casper-qc: error: ") and "Traceback" not in err
    assert not out.exists()
    return err.strip()


def regions(payload, task=0, annotation=0):
    result = payload[task]["annotations"][annotation]["result"]
    return list(dict.fromkeys(r["id"] for r in result)), result


def test_malformed_json(tmp_path, capsys):
    source = tmp_path / "cut.json"
    source.write_text(SNAPSHOT.read_text()[:5000])
    err = refused(capsys, tmp_path, source)
    assert f"{source}: is not valid JSON" in err and "line " in err


def test_region_end_not_after_start(tmp_path, capsys):
    payload = raw()
    ids, result = regions(payload)
    for r in result:
        if r["id"] == ids[2]:
            r["value"]["end"] = r["value"]["start"] - 0.25
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source)
    assert (
        f"{source}: task {payload[0]['id']}: annotation {payload[0]['annotations'][0]['id']}: "
        f"region '{ids[2]}': " in err
        and "is not after its start" in err
    )


def test_label_not_in_the_config(tmp_path, capsys):
    payload = raw()
    ids, result = regions(payload, task=1)
    next(r for r in result if r["type"] == "labels")["value"]["labels"] = ["Interviewer"]
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source)
    assert (
        f"task {payload[1]['id']}: " in err
        and f"region '{ids[0]}': label 'Interviewer' is not in" in err
    )


def test_same_speaker_overlap(tmp_path, capsys):
    payload = raw()
    ids, result = regions(payload)
    first_end = next(r for r in result if r["id"] == ids[0])["value"]["end"]
    for r in result:
        if r["id"] == ids[1]:
            r["value"]["start"] = first_end - 0.5
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source)
    assert (
        f"{source}: task {payload[0]['id']}: annotation {payload[0]['annotations'][0]['id']}: "
        f"region '{ids[1]}': speaker A overlaps their own turn" in err
    )


def test_times_beyond_the_audio(tmp_path, capsys):
    payload = raw()
    for kind in ("annotations", "predictions"):
        for item in payload[1][kind]:
            for r in item["result"]:
                r["original_length"] = 6.0  # the clip is 11.9 s; speaker B talks until ~11.5 s
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source)
    assert (
        f"task {payload[1]['id']}: " in err and "beyond the end of the recording (6.000 s)" in err
    )


def test_times_beyond_the_audio_file_when_the_export_has_no_length(tmp_path, capsys):
    payload = raw()
    ids, result = regions(payload, task=1)
    for kind in ("annotations", "predictions"):
        for item in payload[1][kind]:
            for r in item["result"]:
                r.pop("original_length", None)
    for r in result:
        if r["id"] == ids[1]:
            r["value"]["end"] = 30.0  # the file lasts 11.9 s
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source, "--audio-root", str(REPO))
    assert f"region '{ids[1]}': ends at 30.000 s, beyond the end of the recording (11.931 s)" in err


def test_audio_that_is_not_there(tmp_path, capsys):
    payload = raw()
    payload[2]["data"]["audio"] = "/data/local-files/?d=samples/missing.wav"
    source = write_json(tmp_path / "export.json", payload)
    err = refused(capsys, tmp_path, source, "--audio-root", str(REPO))
    assert f"{source}: task {payload[2]['id']}: " in err and "missing.wav" in err


def test_a_config_lacking_its_audio_tag(tmp_path, capsys):
    config = tmp_path / "cfg.xml"
    config.write_text(
        bundled_config_path()
        .read_text()
        .replace(
            '<Audio name="audio" value="$audio" '
            'splitchannels="true" height="160" waveheight="64"/>',
            "",
        )
    )
    err = refused(capsys, tmp_path, SNAPSHOT, "--config", str(config))
    assert (
        err
        == f"casper-qc: error: {config}: the label config has no <Audio> tag; casper-qc labels audio regions"
    )


def test_the_mono_config_refuses_the_stereo_export(tmp_path, capsys):
    """Stereo regions on channel 1 do not fit a one-channel project."""
    err = refused(capsys, tmp_path, SNAPSHOT, "--config", "conversation_mono")
    assert "is on channel 1 but the recording has 1 channel(s)" in err


def test_a_failed_export_leaves_earlier_outputs_alone(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, "--from", str(SNAPSHOT), "--to", "jsonl", "--out", str(out))[0] == 0
    before = (out / "supervisions.jsonl").read_bytes()
    payload = raw()
    regions(payload)[1][0]["value"]["labels"] = ["Nobody"]
    code, _, err = run(
        capsys,
        "--from",
        str(write_json(tmp_path / "bad.json", payload)),
        "--to",
        "jsonl",
        "--out",
        str(out),
    )
    assert code == 2 and (out / "supervisions.jsonl").read_bytes() == before
    assert [p.name for p in out.iterdir()] == ["supervisions.jsonl"]  # no temporary files left


def test_the_console_script_prints_no_traceback(tmp_path):
    source = tmp_path / "bad.json"
    source.write_text("[{")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "casper_qc",
            "export",
            "--from",
            str(source),
            "--to",
            "jsonl",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr.startswith(f"casper-qc: error: {source}: is not valid JSON")
        and done.stderr.count("\n") == 1
    )
