"""The ``pocketsphinx`` engine: CMU PocketSphinx 5 with the English model inside its wheel.

Model: the acoustic model (``en-us/en-us``), the trigram language model (``en-us.lm.bin``) and
the CMU pronouncing dictionary (``cmudict-en-us.dict``) that the ``pocketsphinx`` package ships
(``pocketsphinx.get_model_path()``), passed explicitly so that nothing else is looked up and
nothing is downloaded.

Decoding: samples are resampled to 16 kHz and given to the decoder as 16-bit PCM in one
utterance (``full_utt=True``: cepstral mean normalization over the whole turn). The feature
extraction is reset before every call (``reinit_feat``): PocketSphinx's noise estimate otherwise
carries over from one utterance to the next, and the same turn would come out differently
depending on what was decoded before it. Word times come
from the decoder's segmentation in frames of 10 ms (``frate`` 100): a word spans
``start_frame / frate`` to ``(end_frame + 1) / frate`` seconds (``end_frame`` is inclusive),
clipped to the samples. Digital silence (every sample zero) gives no words without decoding
(the decoder hears a "huh" in it). Non-words are dropped: ``<s>``, ``</s>``, ``<sil>`` and
filler entries (``[NOISE]``, ``[SPEECH]``, ``++…++``); pronunciation variants lose their suffix
(``to(2)`` -> ``to``). Words are read with the verbatim conventions, so a recognized ``uh`` is
a filler.

One decoder per recognizer, loaded on first use and reused; calls are serialized by a lock
(the decoder is not thread-safe).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..formats.draftwords import timed_words
from .signal import TARGET_RATE, resample, to_pcm16

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..model import Word

__all__ = ["PocketsphinxRecognizer", "model_files"]

_VARIANT = re.compile(r"\(\d+\)$")


def _is_filler(token: str) -> bool:
    return token.startswith(("<", "[", "++")) or not token.strip()


def model_files() -> dict[str, Path]:
    """The ``hmm``, ``lm`` and ``dict`` paths of the model in the installed pocketsphinx.

    Raises:
        InputError: pocketsphinx is not installed, or its package lacks the model.
    """
    try:
        import pocketsphinx
    except ImportError:
        raise InputError("the pocketsphinx engine is not installed: pip install "
                         "'casper-qc[asr]'") from None
    base = Path(pocketsphinx.get_model_path())
    files = {"hmm": base / "en-us" / "en-us", "lm": base / "en-us" / "en-us.lm.bin",
             "dict": base / "en-us" / "cmudict-en-us.dict"}
    for role, path in files.items():
        if not path.exists():
            raise InputError(f"the pocketsphinx package has no English {role} model at {path}; "
                             "reinstall pocketsphinx>=5 (it ships the model)")
    return files


class PocketsphinxRecognizer:
    """PocketSphinx with its shipped US English model (see the module docstring)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._decoder = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Create the decoder (about a second), once.

        Raises:
            InputError: pocketsphinx or its model is missing, or the decoder does not start.
        """
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._decoder is not None:
            return
        files = model_files()
        import pocketsphinx

        try:
            self._decoder = pocketsphinx.Decoder(
                hmm=str(files["hmm"]), lm=str(files["lm"]), dict=str(files["dict"]),
                samprate=TARGET_RATE, loglevel="FATAL")
        except (RuntimeError, ValueError) as err:
            raise InputError(f"cannot start the pocketsphinx decoder: {err}") from None

    def transcribe(self, samples: "np.ndarray", sample_rate: int) -> "list[Word]":
        """The words PocketSphinx hears in mono ``samples`` (see
        :class:`casper_qc.asr.Recognizer`)."""
        audio = resample(samples, sample_rate)
        duration = len(audio) / TARGET_RATE
        if len(audio) == 0:
            return []
        pcm = to_pcm16(audio)
        if not pcm.strip(b"\x00"):  # digital silence: PocketSphinx would still "hear" a word or two
            return []
        with self._lock:
            self._load_locked()
            decoder = self._decoder
            decoder.reinit_feat()  # forget earlier turns' noise estimate: same turn, same words
            decoder.start_utt()
            try:
                decoder.process_raw(pcm, full_utt=True)
            finally:
                decoder.end_utt()
            if decoder.hyp() is None:
                return []
            frate = int(decoder.config["frate"])
            segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
        words: list[Word] = []
        for token, first, last in segments:
            if _is_filler(token):
                continue
            start = min(first / frate, duration)
            end = min((last + 1) / frate, duration)
            if end <= start:
                continue
            words.extend(timed_words(_VARIANT.sub("", token), start, end))
        return words
