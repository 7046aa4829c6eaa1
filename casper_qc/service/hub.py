"""The service's one shared object: the project's QC state behind a lock, and the thin calls the
blueprints make (each a core function of :mod:`casper_qc.qc` under the lock).

Reads and webhook updates are serialized by one lock; the serialized report is cached per report
version, so repeated ``GET /api/report`` calls between updates cost nothing. One process holds
the state: run the service as one process (``casper-qc serve``, or gunicorn with one worker and
threads).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ..errors import InputError
from ..qc import exports, tables
from ..qc.state import EventResult, QCState
from .settings import ServiceSettings

__all__ = ["Hub", "TaskNotFound"]


class TaskNotFound(InputError):
    """A task id the report does not have (answered 404)."""


class Hub:
    """State, lock and cached serializations of one service instance."""

    def __init__(self, settings: ServiceSettings, state: QCState) -> None:
        self.settings = settings
        self.state = state
        self.lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}

    def _cached(self, key: tuple, build) -> Any:
        version = self.state.report.version
        found = self._cache.get(key)
        if found is not None and found[0] == version:
            return found[1]
        value = build()
        self._cache = {k: v for k, v in self._cache.items() if v[0] == version}
        self._cache[key] = (version, value)
        return value

    def task_key(self, text: str) -> Any:
        """The report's key of the task named ``text`` in a URL (ids are ints or strings)."""
        tasks = self.state.report.tasks
        if text in tasks:
            return text
        if text.lstrip("-").isdigit() and int(text) in tasks:
            return int(text)
        raise TaskNotFound(f"the report has no task {text!r}")

    # ------------------------------------------------------------------ reads
    def report_body(self, which: str = "all") -> bytes:
        """The report as JSON bytes; ``which`` keeps ``all`` tasks, only ``flagged`` ones or ``none``.

        The payload is assembled under the lock (task entries are cached and replaced, never
        changed in place, by updates); it is serialized outside it, so a webhook does not wait
        for the serialization of a large report."""
        with self.lock:
            version = self.state.report.version
            found = self._cache.get(("report", which))
            if found is not None and found[0] == version:
                return found[1]
            payload = self.state.report.to_json()
        if which == "flagged":
            payload["tasks"] = [t for t in payload["tasks"] if t["review"]]
        elif which == "none":
            payload["tasks"] = []
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
        with self.lock:
            if self.state.report.version == version:
                self._cached(("report", which), lambda: body)
        return body

    def task(self, text: str) -> dict[str, Any]:
        with self.lock:
            return self.state.report.task_json(self.task_key(text))

    def annotators(self) -> list[dict[str, Any]]:
        with self.lock:
            return self._cached(("annotators",), self.state.report.annotator_rows)

    def table(self, name: str) -> str:
        with self.lock:
            return self._cached(("table", name), lambda: tables.to_csv(*tables.table_rows(self.state.report, name)))

    def textgrids(self, task: str | None = None) -> tuple[bytes, int]:
        """The TextGrid zip (all tasks, or one) and how many tasks it left out."""
        with self.lock:
            ids = None if task is None else [self.task_key(task)]
            data, left_out = self._cached(("zip", str(ids)), lambda: exports.textgrid_zip(self.state.report, ids))
            return data, len(left_out)

    def task_textgrid(self, task: str) -> str:
        with self.lock:
            return exports.task_textgrid(self.state.report.tasks[self.task_key(task)])

    def supervisions(self, task: str | None = None) -> tuple[str, int]:
        """The JSONL of supervisions (all tasks, or one) and how many tasks it left out."""
        with self.lock:
            ids = None if task is None else [self.task_key(task)]
            if ids is not None:
                return "".join(json.dumps(r, ensure_ascii=False) + "\n"
                               for r in exports.task_supervisions(self.state.report.tasks[ids[0]])), 0
            text, left_out = self._cached(("jsonl",), lambda: exports.supervisions_jsonl(self.state.report))
            return text, len(left_out)

    def page_context(self) -> dict[str, Any]:
        """What the HTML pages show (built under the lock, cached per version)."""
        from .render import overview_context

        with self.lock:
            return self._cached(("page",), lambda: overview_context(self.state.report))

    # ------------------------------------------------------------------ writes
    def apply(self, event: Any) -> EventResult:
        with self.lock:
            return self.state.apply(event)
