"""The backend's core, below the HTTP layer: label configs in, one prediction per task out.

:class:`Backend` holds what one application instance shares: its settings, the
:class:`~ml_backend.predictor.Predictor`, the media fetcher, the prediction cache and the webhook
journal. Blueprints call :meth:`Backend.label_config` and :meth:`Backend.predict_tasks`.

Contracts:

* :meth:`Backend.predict_tasks` returns exactly one item per task, in order: a prediction
  ``{"model_version", "score", "result"}`` with the model version ``/setup`` announced (or an
  error item, see below).
* A task that cannot be predicted is named in the error: when *no* task of the request can be
  predicted, :meth:`Backend.predict_tasks` raises the first task's
  :class:`~casper_qc.errors.InputError` (answered 4xx) or
  :class:`~ml_backend.errors.UpstreamError` (5xx), saying which other tasks failed. When some
  tasks succeed, each failing task's place in the list holds ``{"detail": "task 7: ...",
  "status": 404}`` instead of a prediction: Label Studio 1.23.2 stores the other predictions,
  skips an item without ``result`` and logs it with our message, and asks again for that task
  next time (a whole-request error would have cost every task of the batch its prediction).
* Predictions are cached by audio content, model version, label config and the task inputs
  the predictor reads (a draft transcript); concurrent requests for the same audio compute it
  once. At most ``CASPER_MAX_CONCURRENT_PREDICTIONS`` predictions
  run at a time in a process, which bounds memory under load.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

from casper_qc.errors import AudioError, InputError
from casper_qc.formats.labelconfig import LabelConfig, parse_label_config

from .cache import PredictionCache, cache_key
from .config import Settings
from .errors import UpstreamError, status_of
from .media import MediaFetcher, MediaError
from .predictor import Predictor
from .webhook import EventJournal

__all__ = ["Backend"]

log = logging.getLogger("ml_backend")

_CONFIG_CACHE_SIZE = 32


def _fingerprint(config: LabelConfig) -> str:
    return hashlib.sha256(config.xml.encode("utf-8")).hexdigest()


def _duration(path: Path) -> float | None:
    """The recording's length from its header (None when libsndfile cannot tell)."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, ValueError):  # soundfile raises LibsndfileError (a RuntimeError)
        return None
    return info.duration if info.frames > 0 else None


class Backend:
    """One application's shared state (created by :func:`ml_backend.create_app`)."""

    def __init__(self, settings: Settings, predictor: Predictor) -> None:
        self.settings = settings
        self.predictor = predictor
        self.media = MediaFetcher(settings)
        self.cache = PredictionCache(settings.cache_dir)
        self.journal = EventJournal(settings.model_dir)
        self._slots = threading.BoundedSemaphore(settings.max_concurrent_predictions)
        self._configs: OrderedDict[str, LabelConfig] = OrderedDict()
        self._configs_lock = threading.Lock()
        self._warm = threading.Event()

    @property
    def model_version(self) -> str:
        return self.predictor.model_version

    def label_config(self, xml: Any, *, source: str) -> LabelConfig:
        """The parsed label config (remembered by content).

        Raises:
            InputError: ``xml`` is missing or not XML (400), or lacks an Audio tag with speaker
                Labels (ConfigError, 422).
        """
        if not isinstance(xml, str) or not xml.strip():
            raise InputError("the label config is missing", where=source)
        # keyed by where it came from too: its errors name the project
        key = hashlib.sha256(f"{source}\n{xml}".encode("utf-8")).hexdigest()
        with self._configs_lock:
            config = self._configs.get(key)
            if config is not None:
                self._configs.move_to_end(key)
                return config
        config = parse_label_config(xml, source=source)
        self.predictor.check_config(config)
        with self._configs_lock:
            self._configs[key] = config
            while len(self._configs) > _CONFIG_CACHE_SIZE:
                self._configs.popitem(last=False)
        return config

    def warm_up(self) -> None:
        """Load the predictor's modules in a background thread (once); never blocks."""
        if self._warm.is_set():
            return
        self._warm.set()
        threading.Thread(target=self._warm_up, name="casper-warm-up", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            self.predictor.warm_up()
        except Exception:  # a failed warm-up only costs the first request its import time
            log.exception("warming up the predictor failed")

    def predict_tasks(self, tasks: Sequence[Any], config: LabelConfig) -> list[dict[str, Any]]:
        """One prediction (or, for a failing task among good ones, one error item) per task, in
        order (see the module docstring)."""
        results: list[dict[str, Any]] = []
        failures: list[tuple[str, Exception]] = []
        for position, task in enumerate(tasks, start=1):
            where = _task_name(task, position)
            try:
                results.append(self.predict_task(task, config, where=where))
            except (InputError, UpstreamError) as err:
                failures.append((where, err))
                status = status_of(err) if isinstance(err, InputError) else err.status
                results.append({"detail": str(err), "status": status})
        if len(failures) == len(results):
            raise _batch_error(failures, len(tasks))
        for _, err in failures:
            log.warning("%s (the other tasks of the request were predicted)", err)
        return results

    def predict_task(self, task: Any, config: LabelConfig, *, where: str) -> dict[str, Any]:
        """The prediction of one task (cached)."""
        try:
            if not isinstance(task, Mapping):
                raise InputError(f"a task must be a JSON object, not {type(task).__name__}")
            data = task.get("data")
            if not isinstance(data, Mapping):
                raise InputError("the task has no 'data' object")
            value = data.get(config.audio_value)
            if value is None:
                raise InputError(f"the task data has no {config.audio_value!r} field, which "
                                 f"<Audio name=\"{config.audio_name}\" value=\"${config.audio_value}\"> plays")
            with self.media.open(value, task_id=task.get("id")) as audio:
                key = cache_key(audio.digest, self.model_version,
                                _fingerprint(config) + "\n" + self.predictor.task_key(dict(task)))
                cached = self.cache.get(key)
                if cached is not None:
                    return cached
                with self.cache.computing(key):
                    cached = self.cache.get(key)  # computed by another request meanwhile
                    if cached is not None:
                        return cached
                    with self._slots:
                        prediction = self._compute(task, config, audio.path, reference=str(value))
                    self.cache.put(key, prediction)
                    return prediction
        except InputError as err:
            raise err.at(where) from None
        except UpstreamError as err:
            raise UpstreamError(f"{where}: {err}", status=err.status) from None

    def _compute(self, task: Mapping[str, Any], config: LabelConfig, path: Path, *,
                 reference: str) -> dict[str, Any]:
        from casper_qc.formats.labelstudio import to_prediction

        try:
            annotation = self.predictor.predict(dict(task), config, path)
        except AudioError as err:  # name the task's audio as the task gives it, not our local copy
            problem = err.problem.replace(str(path), "the file")
            raise AudioError(problem, where=f"audio {reference!r}") from None
        return to_prediction(annotation, config, model_version=self.model_version,
                             duration=_duration(path))


def _task_name(task: Any, position: int) -> str:
    task_id = task.get("id") if isinstance(task, Mapping) else None
    if isinstance(task_id, (int, str)) and not isinstance(task_id, bool):
        return f"task {task_id}"
    return f"task #{position} of the request"


def _batch_error(failures: list[tuple[str, Exception]], total: int) -> Exception:
    """The first failure of a request none of whose tasks could be predicted, naming the others."""
    _, first = failures[0]
    if total == 1:
        return first
    others = ", ".join(where for where, _ in failures[1:6]) + (", ..." if len(failures) > 6 else "")
    note = f" (all {total} tasks failed; also {others})"
    if isinstance(first, InputError):
        clone = type(first).__new__(type(first))
        InputError.__init__(clone, first.problem + note, where=first.where)
        if isinstance(first, MediaError):
            clone.status = first.status  # type: ignore[attr-defined]
        return clone
    if isinstance(first, UpstreamError):
        return UpstreamError(str(first) + note, status=first.status)
    return first
