"""The draft-transcript step of ``casper-qc prelabel`` (``--drafts DIR``, ``--asr ENGINE``) on
real speech: drafts placed into the turns, local ASR for recordings without one, disfluencies,
re-runs, bad drafts and options. The same step under Ray is in test_ray_executor.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import one_line_error, praat_tier_names
from label_studio_sdk.label_interface import LabelInterface
from turns_helpers import DATA, STEREO

from casper_qc.cli import main
from casper_qc.formats.jsonl import read_supervisions
from casper_qc.formats.labelconfig import bundled_config_path
from casper_qc.formats.textgrid import read_textgrid
from casper_qc.transcripts import find_drafts, read_drafts

DRAFTS = DATA / "drafts"
SPEECH = DATA / "turns" / "talkbank_test_10-20s.wav"  # real conversational speech, mono
SUFFIXES = (".jsonl", ".TextGrid", ".tasks.json", ".stats.json")


@pytest.fixture()
def corpus(tmp_path):
    """``audio/m.wav`` (the stereo cut) with ``drafts/m.ctm`` (its words, both channels), and
    ``audio/t.wav`` (a real mono recording) without a draft."""
    (tmp_path / "audio").mkdir()
    (tmp_path / "drafts").mkdir()
    shutil.copy(STEREO, tmp_path / "audio" / "m.wav")
    shutil.copy(SPEECH, tmp_path / "audio" / "t.wav")
    shutil.copy(DRAFTS / "michael_19-31s.ctm", tmp_path / "drafts" / "m.ctm")
    return tmp_path


def stats(out: Path, stem: str) -> dict:
    return json.loads((out / f"{stem}.stats.json").read_text())


def records(out: Path, stem: str) -> list[dict]:
    return [json.loads(line) for line in (out / f"{stem}.jsonl").read_text().splitlines()]


def ctm_words() -> list[str]:
    lines = (DRAFTS / "michael_19-31s.ctm").read_text().splitlines()
    return [line.split()[4] for line in lines if line.strip() and not line.startswith(";;")]


def test_a_draft_gives_the_turns_words_times_and_disfluencies_in_every_output(corpus, capsys):
    out = corpus / "out"
    assert main(["prelabel", str(corpus / "audio" / "m.wav"), "--out", str(out),
                 "--drafts", str(corpus / "drafts"), "--no-progress"]) == 0
    assert "1 written" in capsys.readouterr().err
    summary = stats(out, "m")["transcript"]
    assert summary["source"] == "draft" and summary["drafts"] == ["m.ctm"]
    assert summary["model_version"].endswith("+draft")
    assert summary["words"] == summary["placed"] == len(ctm_words()) and summary["unplaced"] == 0
    # Lhotse supervisions: text, word alignments, the filler and the repetition tagged
    lines = records(out, "m")
    assert sorted(w for r in lines for w in r["text"].split()) == sorted(ctm_words())
    for r in lines:
        assert [a[0] for a in r["alignment"]["word"]] == r["text"].split()
        for _, start, duration, _ in r["alignment"]["word"]:
            assert r["start"] - 1e-3 <= start and start + duration <= r["start"] + r["duration"] + 1e-3
    types = {d["type"] for r in lines for d in r["custom"].get("disfluencies", [])}
    assert {"FP", "REP"} <= types  # "um", "uh"; "words words"
    [(_, annotation)] = read_supervisions(out / "m.jsonl")
    assert sum(len(t.words) for t in annotation.turns) == len(ctm_words())
    # Praat opens the TextGrid, which now has words and disfluencies tiers per speaker
    names = praat_tier_names(out / "m.TextGrid")
    assert {"A - turns", "A - words", "A - disfluencies", "B - turns", "B - words"} <= set(names)
    _, back = read_textgrid(out / "m.TextGrid")
    assert sorted(w.text for t in back.turns for w in t.words) == sorted(ctm_words())
    # the Label Studio task: transcripts and disfluency choices per region, valid for the config
    [task] = json.loads((out / "m.tasks.json").read_text())
    [prediction] = task["predictions"]
    assert prediction["model_version"] == summary["model_version"]
    results = prediction["result"]
    texts = {r["id"]: r["value"]["text"][0] for r in results if r["type"] == "textarea"}
    assert sorted(w for text in texts.values() for w in text.split()) == sorted(ctm_words())
    choices = {c for r in results if r["type"] == "choices" for c in r["value"]["choices"]}
    assert {"FP", "REP"} <= choices
    xml = Path(bundled_config_path("conversation")).read_text()
    assert LabelInterface(xml).validate_prediction(prediction, return_errors=True) == []


def test_per_channel_text_drafts_are_spread_over_their_channels_turns(corpus):
    drafts = corpus / "drafts"
    (drafts / "m.ctm").unlink()
    shutil.copy(DRAFTS / "michael_19-31s.ch1.txt", drafts / "m.ch1.txt")
    shutil.copy(DRAFTS / "michael_19-31s.ch2.txt", drafts / "m.ch2.txt")
    out = corpus / "out"
    assert main(["prelabel", str(corpus / "audio" / "m.wav"), "--out", str(out),
                 "--drafts", str(drafts), "--no-progress"]) == 0
    summary = stats(out, "m")["transcript"]
    assert summary["drafts"] == ["m.ch1.txt", "m.ch2.txt"]
    assert summary["placed"] == summary["estimated"] == summary["words"] > 0
    by_speaker: dict[str, list[str]] = {}
    for r in records(out, "m"):
        by_speaker.setdefault(r["speaker"], []).extend(r["text"].split())
        assert r["custom"]["estimated_words"] == list(range(len(r["text"].split())))
    assert by_speaker["A"] == (DRAFTS / "michael_19-31s.ch1.txt").read_text().split()
    assert by_speaker["B"] == (DRAFTS / "michael_19-31s.ch2.txt").read_text().split()


def test_asr_transcribes_recordings_without_a_draft_and_drafts_win_where_there_is_one(corpus, capsys):
    out = corpus / "out"
    args = ["prelabel", str(corpus / "audio" / "m.wav"), str(corpus / "audio" / "t.wav"),
            "--drafts", str(corpus / "drafts"), "--asr", "pocketsphinx", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    assert stats(out, "m")["transcript"]["source"] == "draft"
    heard = stats(out, "t")["transcript"]
    assert heard["source"] == "asr" and heard["drafts"] == []
    assert heard["model_version"].endswith("+asr-pocketsphinx") and heard["words"] > 5
    lines = records(out, "t")
    assert sum(len(r["text"].split()) for r in lines) == heard["words"]
    for r in lines:  # recognized words are aligned inside their own turn
        for _, start, duration, _ in r.get("alignment", {}).get("word", []):
            assert r["start"] - 1e-3 <= start and start + duration <= r["start"] + r["duration"] + 1e-3
    assert praat_tier_names(out / "t.TextGrid")
    # two worker processes give the same outputs as one
    assert main([*args, "--out", str(corpus / "two"), "--workers", "2"]) == 0
    for stem in ("m", "t"):
        for suffix in SUFFIXES[:3]:
            assert (out / f"{stem}{suffix}").read_bytes() == (corpus / "two" / f"{stem}{suffix}").read_bytes()


def test_a_rerun_redoes_a_recording_whose_draft_changed_came_or_went(corpus, capsys):
    out = corpus / "out"
    drafts = corpus / "drafts"
    shutil.copy(STEREO, corpus / "audio" / "n.wav")
    args = ["prelabel", str(corpus / "audio" / "m.wav"), str(corpus / "audio" / "n.wav"),
            "--out", str(out), "--drafts", str(drafts), "--no-progress"]

    def rerun() -> str:
        assert main(args) == 0
        return capsys.readouterr().err.strip().splitlines()[-1]

    assert rerun() == "prelabel: 2 written, 0 up to date, 0 failed"
    assert rerun() == "prelabel: 0 written, 2 up to date, 0 failed"
    os.utime(drafts / "m.ctm")  # the draft was edited after the outputs were written
    assert rerun() == "prelabel: 1 written, 1 up to date, 0 failed"
    assert stats(out, "n")["transcript"]["source"] is None
    shutil.copy(drafts / "m.ctm", drafts / "n.ctm")  # a draft arrives for n
    os.utime(drafts / "n.ctm", (1, 1))  # even one older than n's outputs
    assert rerun() == "prelabel: 1 written, 1 up to date, 0 failed"
    assert stats(out, "n")["transcript"]["drafts"] == ["n.ctm"]
    (drafts / "n.ctm").unlink()  # and goes again
    assert rerun() == "prelabel: 1 written, 1 up to date, 0 failed"
    assert stats(out, "n")["transcript"]["source"] is None
    # without --drafts the outputs are those of a run without the step: redone, no transcript
    assert main(args[:-3] + ["--no-progress"]) == 0
    assert "transcript" not in stats(out, "m")


def test_a_bad_draft_is_one_line_naming_it_and_the_others_finish(corpus, capsys):
    drafts = corpus / "drafts"
    shutil.copy(STEREO, corpus / "audio" / "n.wav")
    (drafts / "n.json").write_text('{"segments": [{"words": [{"word": "hi", "start": "soon"}]}]}')
    out = corpus / "out"
    code = main(["prelabel", str(corpus / "audio" / "m.wav"), str(corpus / "audio" / "n.wav"),
                 "--out", str(out), "--drafts", str(drafts), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not any("Traceback" in line for line in err)
    [bad] = [line for line in err if "n.json" in line]
    assert bad.startswith(f"casper-qc: error: {drafts / 'n.json'}: ")
    assert err[-1] == "prelabel: 1 written, 0 up to date, 1 failed"
    assert all((out / f"m{s}").exists() for s in SUFFIXES)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("n")) == []  # nothing half-written


def test_two_drafts_for_the_same_channel_are_refused(corpus, capsys):
    shutil.copy(DRAFTS / "michael_19-31s.ch1.txt", corpus / "drafts" / "m.ch1.txt")  # the CTM has ch 1 too
    code = main(["prelabel", str(corpus / "audio" / "m.wav"), "--out", str(corpus / "out"),
                 "--drafts", str(corpus / "drafts"), "--no-progress"])
    one_line_error(code, capsys.readouterr().err, "two drafts hold the words of channel 0",
                   "m.ch1.txt", "m.ctm")


@pytest.mark.parametrize("extra, fragments", [
    (["--drafts", "nowhere"], ["--drafts nowhere: no such directory"]),
    (["--drafts", "OUT"], ["is the --out directory"]),
    (["--asr-model", "models"], ["--asr-model is for --asr faster-whisper"]),
    (["--asr", "faster-whisper", "--asr-model", "models"], ["--asr faster-whisper: ", "model.bin"]),
])
def test_transcript_options_that_cannot_work_are_refused_before_any_work(corpus, capsys, monkeypatch,
                                                                         extra, fragments):
    monkeypatch.chdir(corpus)
    (corpus / "models").mkdir()
    extra = [str(corpus / "out") if e == "OUT" else e for e in extra]
    code = main(["prelabel", "audio/m.wav", "--out", str(corpus / "out"), *extra, "--no-progress"])
    one_line_error(code, capsys.readouterr().err, *fragments)
    assert not list((corpus / "out").glob("m.*")) if (corpus / "out").exists() else True


def test_find_drafts_takes_the_recordings_own_names_only(tmp_path):
    names = ["m.ctm", "m.ch2.json", "m.B.txt", "m.tasks.json", "m.stats.json", "m.wav", "mm.ctm",
             "m2.txt", "m.x.ctm", "m.a.b.txt", "M.ctm", "m.TextGrid"]
    for name in names:
        (tmp_path / name).write_text("")
    assert [p.name for p in find_drafts(tmp_path, "m")] == ["m.B.txt", "m.TextGrid", "m.ch2.json", "m.ctm"]
    assert find_drafts(tmp_path / "missing", "m") == ()


def test_read_drafts_gives_each_file_its_channel_or_speaker(tmp_path):
    (tmp_path / "m.ch2.txt").write_text("so this is")
    (tmp_path / "m.Ann.txt").write_text("hello there")
    draft = read_drafts(find_drafts(tmp_path, "m"), "m")
    assert sorted(((t.channel, t.speaker, tuple(w.text for w in t.words)) for t in draft.tracks), key=str) == [
        (1, None, ("so", "this", "is")), (None, "Ann", ("hello", "there"))]


def test_the_drafts_folder_is_listed_once_and_again_when_it_changes(tmp_path, monkeypatch):
    (tmp_path / "a.ctm").write_text("")
    (tmp_path / "b.ch1.txt").write_text("")
    os.utime(tmp_path, (1_000_000, 1_000_000))  # settled long ago: the listing may be kept
    listed = []
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real(path))
    assert [p.name for p in find_drafts(tmp_path, "a")] == ["a.ctm"]
    assert [p.name for p in find_drafts(tmp_path, "b")] == ["b.ch1.txt"]
    assert len(listed) == 1
    (tmp_path / "b.ch2.txt").write_text("")  # the folder changes: listed again
    assert [p.name for p in find_drafts(tmp_path, "b")] == ["b.ch1.txt", "b.ch2.txt"]
    assert len(listed) == 2
