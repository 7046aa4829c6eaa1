"""The prediction cache: finished predictions on disk, keyed by audio content and model version.

A key is the SHA-256 of the audio's SHA-256, the model version and the label config's
fingerprint (tag names and label values shape the result) joined with what else of the task the
predictor reads (a draft transcript in its data). The same recording imported twice,
or asked for by twenty annotators at once, is computed once.

Contracts:

* :meth:`PredictionCache.get` returns the stored JSON object or None; an unreadable or corrupt
  entry counts as a miss and is removed.
* :meth:`PredictionCache.put` writes atomically (:mod:`casper_qc.fileio`): a reader never sees
  half an entry, whichever process wrote it.
* :meth:`PredictionCache.computing` serialises work on one key across threads *and* processes
  (gunicorn workers) with ``flock`` on one of 256 lock files, so concurrent requests for the same
  audio wait for the first instead of computing it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from casper_qc.fileio import write_text

__all__ = ["PredictionCache", "cache_key"]

log = logging.getLogger("ml_backend.cache")


def cache_key(audio_digest: str, model_version: str, inputs: str) -> str:
    """The cache key of a prediction (hex SHA-256); ``inputs``: the config and task inputs."""
    text = "\n".join(("casper-qc-prediction/1", audio_digest, model_version, inputs))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PredictionCache:
    """Predictions as JSON files under ``directory/predictions``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._entries = directory / "predictions"
        self._locks = directory / "locks"

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(ch not in "0123456789abcdef" for ch in key):
            raise ValueError(f"not a cache key: {key!r}")
        return self._entries / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The prediction stored under ``key``, or None."""
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            log.warning("removing a corrupt cache entry %s", path.name)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key`` (atomically)."""
        write_text(self._path(key), json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    @contextlib.contextmanager
    def computing(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key`` for the duration of the block (blocks while another holds it)."""
        self._path(key)  # validates the key
        self._locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._locks / f"{key[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
