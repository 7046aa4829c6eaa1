"""Optional local speech recognition: draft transcripts for tasks that come without one.

Entry points (for the ML backend):

* ``get_recognizer(name, model_dir=None) -> Recognizer``: an engine by name (:data:`ENGINES`),
  cached per process (one instance per name and model directory). Nothing is loaded when it is
  created: the model loads on the first ``transcribe`` (or an explicit ``load()``), once.
* ``transcribe_turns(audio, turns, recognizer) -> tuple[Turn, ...]``
  (:func:`casper_qc.asr.turns.transcribe_turns`): the recognizer run on each turn's own channel,
  its words placed into the turn (times aligned, not estimated).
* :class:`Recognizer`: the one small interface every engine has,
  ``transcribe(samples, sample_rate) -> list[Word]`` for mono ``float32`` samples in [-1, 1];
  word times are seconds from the first sample, in order, inside the samples.

Engines. Neither downloads anything, ever:

``pocketsphinx``  CMU PocketSphinx 5 with the US English acoustic model, language model and
    dictionary that ship inside the ``pocketsphinx`` wheel (``pip install 'casper-qc[asr]'``),
    so it runs offline anywhere. Measured word error rate on the development data:
    ``docs/ACCURACY.md`` ("Offline ASR drafts") — read it before offering its drafts to
    annotators.
``faster-whisper``  a CTranslate2 Whisper model from a local directory
    (``pip install 'casper-qc[whisper]'``). The directory is ``model_dir`` or, when None, the
    environment variable ``CASPER_ASR_MODEL_DIR``, or else ``MODEL_DIR`` *if* that directory
    holds a Whisper model (``model.bin``): the Label Studio ML backend also keeps its own files
    in ``MODEL_DIR``. The directory must hold ``model.bin``, ``config.json`` and
    ``tokenizer.json`` (without ``tokenizer.json`` faster-whisper would fetch one from the
    Hugging Face hub, which is refused here). ``CASPER_ASR_LANGUAGE`` (e.g. ``en``) fixes the
    language; unset, Whisper detects it for every turn.

Errors: :class:`~casper_qc.errors.InputError` (one line) for an unknown engine, an engine whose
package is not installed, a model directory that is missing or incomplete, or a model that does
not load. Importing this package imports no engine.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..model import Turn, Word

__all__ = ["Recognizer", "ENGINES", "MODEL_DIR_ENV", "LANGUAGE_ENV", "get_recognizer", "resolve_model_dir",
           "transcribe_turns", "clear_cache"]

#: Engine names accepted by :func:`get_recognizer`.
ENGINES = ("pocketsphinx", "faster-whisper")
#: The environment variable naming a faster-whisper model directory.
MODEL_DIR_ENV = "CASPER_ASR_MODEL_DIR"
#: The environment variable fixing faster-whisper's language (unset: detected per call).
LANGUAGE_ENV = "CASPER_ASR_LANGUAGE"


@runtime_checkable
class Recognizer(Protocol):
    """A speech recognizer: mono samples in, timed words out."""

    name: str

    def load(self) -> None:
        """Load the model now (otherwise the first :meth:`transcribe` does). Idempotent.

        Raises:
            InputError: the engine or its model cannot be loaded (one line).
        """

    def transcribe(self, samples: "np.ndarray", sample_rate: int) -> "list[Word]":
        """The words heard in ``samples`` (1-D ``float32`` in [-1, 1], any rate; resampled as
        the engine needs), with times in seconds from the first sample, in order, inside
        ``[0, len(samples) / sample_rate]``; ``estimated`` False."""


_CACHE: dict[tuple[str, str | None, str | None], Recognizer] = {}
_LOCK = threading.Lock()


def resolve_model_dir(model_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The faster-whisper model directory: ``model_dir``, else ``$CASPER_ASR_MODEL_DIR``, else
    ``$MODEL_DIR`` when it holds a ``model.bin``; None when none is configured."""
    if model_dir is not None and str(model_dir).strip():
        return Path(model_dir)
    configured = os.environ.get(MODEL_DIR_ENV, "").strip()
    if configured:
        return Path(configured)
    backend_dir = os.environ.get("MODEL_DIR", "").strip()
    if backend_dir and (Path(backend_dir) / "model.bin").is_file():
        return Path(backend_dir)
    return None


def get_recognizer(name: str, model_dir: str | os.PathLike[str] | None = None) -> Recognizer:
    """The recognizer ``name`` (see :data:`ENGINES`), created once per process.

    ``model_dir`` is used by ``faster-whisper`` only (see :func:`resolve_model_dir`). The
    directory is checked here; the model itself loads on first use.

    Raises:
        InputError: an unknown engine, or (faster-whisper) no model directory configured or one
            that lacks the model's files.
    """
    if name not in ENGINES:
        raise InputError(f"unknown ASR engine {name!r}; choose one of {', '.join(ENGINES)}")
    directory = resolve_model_dir(model_dir) if name == "faster-whisper" else None
    language = (os.environ.get(LANGUAGE_ENV, "").strip() or None) if name == "faster-whisper" \
        else None
    key = (name, str(directory.resolve()) if directory is not None else None, language)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        if name == "pocketsphinx":
            from .sphinx import PocketsphinxRecognizer

            recognizer: Recognizer = PocketsphinxRecognizer()
        else:
            from .whisper import FasterWhisperRecognizer

            recognizer = FasterWhisperRecognizer(directory, language=language)
        _CACHE[key] = recognizer
        return recognizer


def clear_cache() -> None:
    """Forget the recognizers created so far (their models are freed when unused)."""
    with _LOCK:
        _CACHE.clear()


def transcribe_turns(audio, turns, recognizer: Recognizer, **options) -> "tuple[Turn, ...]":
    """See :func:`casper_qc.asr.turns.transcribe_turns`."""
    from .turns import transcribe_turns as run

    return run(audio, turns, recognizer, **options)
