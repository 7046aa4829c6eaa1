"""``casper-qc prelabel``: outputs on real speech, re-runs, batches with bad files, workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from casper_qc.cli import main
from casper_qc.formats.jsonl import read_supervisions
from casper_qc.formats.textgrid import read_textgrid

from turns_helpers import MP3, STEREO, read, two_party, with_crosstalk

SR = 16000


@pytest.fixture()
def stereo(tmp_path):
    audio, sr = read(STEREO)
    path = tmp_path / "in" / "cut.wav"
    path.parent.mkdir()
    sf.write(str(path), with_crosstalk(audio, sr), sr, subtype="PCM_16")
    return path


def outputs(out, stem):
    return [out / f"{stem}{s}" for s in (".jsonl", ".TextGrid", ".tasks.json", ".stats.json")]


def test_writes_supervisions_textgrid_and_tasks_for_a_stereo_recording(tmp_path, stereo, capsys):
    out = tmp_path / "out"
    assert main(["prelabel", str(stereo), "--out", str(out), "--no-progress"]) == 0
    jsonl, grid, tasks, stats = outputs(out, "cut")
    assert all(p.exists() for p in (jsonl, grid, tasks, stats))
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records and {r["speaker"] for r in records} == {"A", "B"}
    assert all(r["channel"] == {"A": 0, "B": 1}[r["speaker"]] for r in records)
    assert {r["custom"]["turn_type"] for r in records} <= {"turn", "backchannel"}
    [(conversation, annotation)] = read_supervisions(jsonl)
    assert conversation.id == "cut" and len(annotation.turns) == len(records)
    # Praat itself opens the TextGrid and sees one interval per turn
    import parselmouth

    praat = parselmouth.read(str(grid))
    assert parselmouth.praat.call(praat, "Get number of tiers") >= 2
    _, back = read_textgrid(grid)
    assert [(t.speaker, t.start, t.end) for t in back.turns] == [(t.speaker, t.start, t.end) for t in annotation.turns]
    [task] = json.loads(tasks.read_text())
    assert task["data"]["audio"] == str(stereo) and task["data"]["conversation_id"] == "cut"
    [prediction] = task["predictions"]
    assert prediction["model_version"].startswith("casper-turns-") and prediction["result"]
    labels = {r["value"]["labels"][0] for r in prediction["result"] if r["type"] == "labels"}
    assert labels == {"Speaker A", "Speaker B"}
    summary = json.loads(stats.read_text())
    assert summary["mono"] is False and summary["duration"] == 12.0 and "fto" in summary


def test_a_rerun_skips_up_to_date_outputs_and_force_redoes_them(tmp_path, stereo, capsys):
    out = tmp_path / "out"
    args = ["prelabel", str(stereo), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    before = [p.stat().st_mtime_ns for p in outputs(out, "cut")]
    assert main(args) == 0
    assert "0 written, 1 up to date" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in outputs(out, "cut")] == before
    assert main(args + ["--pause", "0.3"]) == 0  # other parameters: not up to date
    assert "1 written, 0 up to date" in capsys.readouterr().err
    after = [p.stat().st_mtime_ns for p in outputs(out, "cut")]
    assert after != before
    os.utime(stereo)  # the audio changed after the outputs
    assert main(args + ["--pause", "0.3"]) == 0
    assert [p.stat().st_mtime_ns for p in outputs(out, "cut")] != after


def test_a_bad_file_in_a_batch_is_one_line_and_the_others_finish(tmp_path, stereo, capsys):
    bad = tmp_path / "in" / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEnothing useful here")
    empty = tmp_path / "in" / "empty.flac"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    code = main(["prelabel", str(bad), str(stereo), str(empty), "--out", str(out), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    broken = [line for line in err if "broken.wav" in line]
    assert len(broken) == 1 and broken[0].startswith("casper-qc: error: ")
    assert "broken.wav: cannot decode audio" in broken[0]
    assert any(line.startswith("casper-qc: error: ") and "empty.flac: file is empty" in line for line in err)
    assert not any("Traceback" in line for line in err)
    assert all(p.exists() for p in outputs(out, "cut"))
    assert not (out / "broken.jsonl").exists()


def test_a_single_bad_input_exits_2_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", str(tmp_path / "none.wav"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("none.wav: no such file") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_channel_map_not_covered_by_the_audio_is_reported(tmp_path, stereo, capsys):
    assert main(["prelabel", str(stereo), "--out", str(tmp_path / "o"), "--channels", "0=A,3=D",
                 "--no-progress"]) == 2
    assert "speaker D is mapped to channel 3 but the audio has 2 channel(s)" in capsys.readouterr().err
    assert main(["prelabel", str(stereo), "--out", str(tmp_path / "o"), "--channels", "zero"]) == 2


def test_silence_only_gives_empty_valid_outputs(tmp_path, capsys):
    path = tmp_path / "quiet.wav"
    sf.write(str(path), np.zeros((SR * 2, 2), dtype=np.int16), SR)
    assert main(["prelabel", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "quiet.jsonl").read_text() == ""
    [task] = json.loads((tmp_path / "out" / "quiet.tasks.json").read_text())
    assert task["predictions"][0]["result"] == []
    read_textgrid(tmp_path / "out" / "quiet.TextGrid")


def test_mono_mix_pair_and_mp3_inputs_with_two_workers(tmp_path, capsys):
    audio, _ = two_party()
    mono = tmp_path / "mix.wav"
    sf.write(str(mono), audio.mean(axis=1), SR, subtype="PCM_16")
    left, right = tmp_path / "sess_left.wav", tmp_path / "sess_right.wav"
    sf.write(str(left), audio[:, 0], SR, subtype="PCM_16")
    sf.write(str(right), audio[:, 1], SR, subtype="PCM_16")
    out = tmp_path / "out"
    code = main(["prelabel", str(mono), str(MP3), "--pair", str(left), str(right), "--out", str(out),
                 "--workers", "2", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    mono_task = json.loads((out / "mix.tasks.json").read_text())[0]
    assert all(r["value"].get("channel") in (None, 0) for r in mono_task["predictions"][0]["result"]
               if r["type"] == "labels")
    scores = [json.loads(line)["custom"]["score"] for line in (out / "mix.jsonl").read_text().splitlines()]
    assert scores and max(scores) <= 0.5
    assert json.loads((out / "mix.stats.json").read_text())["mono"] is True
    [(conversation, annotation)] = read_supervisions(out / "sess.jsonl")  # common stem of the pair
    assert conversation.channels == 2 and {t.channel for t in annotation.turns} == {0, 1}
    assert (out / "talkbank_test_0-6s.jsonl").exists()
    # the same outputs as one worker
    single = tmp_path / "single"
    assert main(["prelabel", "--pair", str(left), str(right), "--out", str(single), "--no-progress"]) == 0
    assert (single / "sess.jsonl").read_text() == (out / "sess.jsonl").read_text()
