"""The ``faster-whisper`` engine: a CTranslate2 Whisper model from a local directory.

The model directory (:func:`check_model_dir`) must hold ``model.bin``, ``config.json`` and
``tokenizer.json``: without ``tokenizer.json`` faster-whisper would fetch a tokenizer from the
Hugging Face hub, and nothing here may download. The model loads with
``WhisperModel(path, device="cpu", compute_type="int8", local_files_only=True)`` on first use,
once per recognizer.

Decoding: samples resampled to 16 kHz ``float32``; ``transcribe(…, word_timestamps=True,
beam_size=5, vad_filter=False, condition_on_previous_text=False)`` (turns are already speech;
not conditioning on earlier text keeps one turn's errors out of the next), ``language`` as given
(None: detected per call). Word times are Whisper's, clipped to the samples; a word of zero
length gets 1 ms and is ``estimated``. Words are read with the verbatim conventions
(:func:`casper_qc.formats.draftwords.timed_words`): Whisper's leading space and punctuation go.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..formats.draftwords import timed_words
from .signal import TARGET_RATE, resample

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..model import Word

__all__ = ["FasterWhisperRecognizer", "check_model_dir", "REQUIRED_FILES"]

#: Files a model directory must hold.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")


def _one_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[-1] if lines else type(err).__name__


def check_model_dir(directory: str | Path | None) -> Path:
    """``directory`` if it holds a faster-whisper model's files.

    Raises:
        InputError: None (no directory configured), not a directory, or files missing.
    """
    if directory is None:
        raise InputError("the faster-whisper engine needs a local model directory: set "
                         "CASPER_ASR_MODEL_DIR to a CTranslate2 Whisper model (model.bin, "
                         "config.json, tokenizer.json); nothing is downloaded")
    path = Path(directory)
    if not path.is_dir():
        raise InputError("the faster-whisper model directory does not exist", where=str(path))
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise InputError(f"not a faster-whisper model directory: {', '.join(missing)} missing "
                         f"(it needs {', '.join(REQUIRED_FILES)})", where=str(path))
    return path


class FasterWhisperRecognizer:
    """faster-whisper on a local model directory (see the module docstring)."""

    name = "faster-whisper"

    def __init__(self, model_dir: str | Path | None, *, language: str | None = None,
                 compute_type: str = "int8", beam_size: int = 5) -> None:
        """Raises InputError for a missing or incomplete ``model_dir`` (nothing loads yet)."""
        self.model_dir = check_model_dir(model_dir)
        self.language = language
        self.compute_type = compute_type
        self.beam_size = beam_size
        self._model = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model, once.

        Raises:
            InputError: faster-whisper is not installed, or the model does not load.
        """
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise InputError("the faster-whisper engine is not installed: pip install "
                             "'casper-qc[whisper]'") from None
        try:
            self._model = WhisperModel(str(self.model_dir), device="cpu",
                                       compute_type=self.compute_type, local_files_only=True)
        except Exception as err:  # ctranslate2 / tokenizers report bad files in many ways
            raise InputError(f"cannot load the faster-whisper model: {_one_line(err)}",
                             where=str(self.model_dir)) from None

    def transcribe(self, samples: "np.ndarray", sample_rate: int) -> "list[Word]":
        """The words Whisper hears in mono ``samples`` (see :class:`casper_qc.asr.Recognizer`)."""
        audio = resample(samples, sample_rate)
        duration = len(audio) / TARGET_RATE
        if len(audio) == 0:
            return []
        with self._lock:
            self._load_locked()
            segments, _info = self._model.transcribe(
                audio, language=self.language, beam_size=self.beam_size, word_timestamps=True,
                vad_filter=False, condition_on_previous_text=False)
            found = [(w.word, w.start, w.end)
                     for segment in segments for w in (segment.words or ())]
        words: list[Word] = []
        for token, start, end in found:
            latest = max(0.0, duration - 0.001)  # room for a 1 ms word before the end
            start = min(max(float(start), 0.0), latest)
            end = min(max(float(end), start), duration)
            words.extend(timed_words(token, start, end))
        return words
