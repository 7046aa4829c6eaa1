"""``POST /webhook``: Label Studio's project events, answered at once, handled in the background.

Label Studio creates this webhook itself when the ML backend is connected (every action, with
payload) and gives it one second to answer, without basic-auth credentials: the route checks the
``X-Casper-Webhook-Secret`` header instead (:mod:`ml_backend.auth`).

The background work is the event journal: one JSON line per event in
``MODEL_DIR/webhook-events.jsonl`` with the action, the project, task and annotation ids, the
annotator's user id and how many regions the annotation has: the record a later training or
pre-label acceptance report starts from. It holds ids and counts only, never the annotation's
text. Appends are locked (``flock``), so several gunicorn workers share the journal.
"""

from __future__ import annotations

import fcntl
import json
import logging
import queue
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from casper_qc.errors import FormatError

from .errors import problem

__all__ = ["bp", "EventJournal", "summarize_event"]

log = logging.getLogger("ml_backend.webhook")

bp = Blueprint("webhook", __name__)

JOURNAL_NAME = "webhook-events.jsonl"


def _id(value: Any) -> int | str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, bool):
        return None
    return value if isinstance(value, (int, str)) else None


def summarize_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The journal record of one webhook payload: ids and counts only."""
    annotation = event.get("annotation") if isinstance(event.get("annotation"), Mapping) else {}
    result = annotation.get("result") if isinstance(annotation.get("result"), list) else []
    regions = {item.get("id") for item in result if isinstance(item, Mapping) and item.get("id")}
    record: dict[str, Any] = {
        "received_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "action": str(event.get("action")),
        "project": _id(event.get("project")),
        "task": _id(event.get("task")) or _id(annotation.get("task")),
        "annotation": _id(annotation) if annotation else None,
        "annotator": _id(annotation.get("completed_by")),
        "regions": len(regions) if annotation else None,
    }
    return record


class EventJournal:
    """A queue of webhook events and the daemon thread that journals them.

    The thread starts with the first event (nothing runs at import or app creation).
    :meth:`submit` never blocks: it returns False when the queue is full.
    """

    def __init__(self, directory: Path, max_pending: int = 1000) -> None:
        self.path = directory / JOURNAL_NAME
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, event: dict[str, Any]) -> bool:
        """Queue ``event`` for the journal; False if the queue is full."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            return False
        return True

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is journalled (for shutdown and tests); True if so."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="casper-webhook-journal", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                self._write(summarize_event(event))
            except Exception:  # the worker must survive a bad event or a full disk
                log.exception("could not journal a webhook event")
            finally:
                self._queue.task_done()

    def _write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.write(line)
        log.info("webhook %s: project %s task %s annotation %s", record["action"], record["project"],
                 record["task"], record["annotation"])


@bp.post("/webhook")
def receive() -> ResponseReturnValue:
    """Accept one event: 200 ``{"status": "accepted"}`` at once, the work in the background."""
    event = request.get_json(silent=True)
    if not isinstance(event, dict):
        raise FormatError("a webhook body must be a JSON object", where="webhook")
    action = event.get("action")
    if not isinstance(action, str) or not action:
        raise FormatError("the webhook has no 'action'", where="webhook")
    journal: EventJournal = current_app.extensions["casper_ml"].journal
    if not journal.submit(event):
        return problem(503, "webhook queue is full; Label Studio may retry later")
    return jsonify(status="accepted", action=action)
