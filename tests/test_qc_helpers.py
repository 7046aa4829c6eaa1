"""Builders of Label Studio task JSON for the QC tests (no tests here).

The shapes are those of the recorded Label Studio 1.23.2 export in ``tests/data/labelstudio``:
per region a ``labels`` result and a ``textarea`` result (and ``choices``) sharing one region
id, ``value.channel``, ``original_length``; annotations with ``completed_by`` (a user id),
``ground_truth``, ``was_cancelled``, ``lead_time``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from casper_qc.formats.labelconfig import bundled_config_path, load_label_config

CONFIG = load_label_config(bundled_config_path("conversation"))
CHANNEL = {"Speaker A": 0, "Speaker B": 1, "Speaker C": 1}
USERS = {11: "ann.lee@example.com", 12: "ben.ortiz@example.com", 13: "cara.nguyen@example.com",
         14: "dan.ruiz@example.com"}
TOKEN = "qc-test-token-0123456789"
SECRET = "qc-test-webhook-secret"


def region(rid: str, label: str, start: float, end: float, text: str | None = None, *,
           choices: Iterable[str] = (), length: float = 10.0) -> list[dict[str, Any]]:
    """The results of one audio region, as the editor stores them."""
    value = {"start": start, "end": end, "channel": CHANNEL.get(label, 0)}
    common = {"id": rid, "to_name": "audio", "origin": "manual", "original_length": length}
    out = [{**common, "from_name": "speaker", "type": "labels", "value": {**value, "labels": [label]}}]
    if text is not None:
        out.append({**common, "from_name": "transcript", "type": "textarea", "value": {**value, "text": [text]}})
    if choices:
        out.append({**common, "from_name": "disfluency", "type": "choices",
                    "value": {**value, "choices": list(choices)}})
    return out


def annotation(aid: int, user: int, regions: Iterable[list[dict[str, Any]]], *, ground_truth: bool = False,
               cancelled: bool = False, lead_time: float | None = 100.0, task: int | None = None,
               parent_prediction: int | None = None, updated_at: str = "2026-11-20T10:00:00Z") -> dict[str, Any]:
    result = [item for group in regions for item in group]
    out = {"id": aid, "completed_by": user, "result": result, "was_cancelled": cancelled,
           "ground_truth": ground_truth, "lead_time": lead_time, "created_at": updated_at,
           "updated_at": updated_at, "parent_prediction": parent_prediction}
    if task is not None:
        out["task"] = task
    return out


def prediction(pid: int, regions: Iterable[list[dict[str, Any]]], model_version: str = "prelabel-v1") -> dict[str, Any]:
    return {"id": pid, "model_version": model_version, "score": 0.5,
            "result": [item for group in regions for item in group]}


def task(tid: int, conversation: str | None, annotations: Iterable[dict[str, Any]] = (),
         predictions: Iterable[dict[str, Any]] = (), *, audio: str | None = "/data/local-files/?d=audio/x.wav",
         project: int = 1) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if audio is not None:
        data["audio"] = audio
    if conversation is not None:
        data["conversation_id"] = conversation
    return {"id": tid, "data": data, "annotations": list(annotations), "predictions": list(predictions),
            "project": project}


def hand_task() -> dict[str, Any]:
    """Task 1 (``hand``, 10 s): three annotators and a prediction.

    ann.lee (11):  A [0, 4) "so i think we go"      B [5, 9) "yeah right"
    ben.ortiz (12): the same regions and words
    cara.nguyen (13): A [0, 4) "so i think we went" B [6, 9) "yeah"
    prediction 1:  ann.lee's regions, but B says "yeah"
    """
    lee = [region("a1", "Speaker A", 0, 4, "so i think we go"), region("b1", "Speaker B", 5, 9, "yeah right")]
    ben = [region("a2", "Speaker A", 0, 4, "so i think we go"), region("b2", "Speaker B", 5, 9, "yeah right")]
    cara = [region("a3", "Speaker A", 0, 4, "so i think we went"), region("b3", "Speaker B", 6, 9, "yeah")]
    guess = [region("p1", "Speaker A", 0, 4, "so i think we go"), region("p2", "Speaker B", 5, 9, "yeah")]
    return task(1, "hand", [annotation(101, 11, lee, parent_prediction=1, lead_time=100.0),
                            annotation(102, 12, ben, lead_time=200.0),
                            annotation(103, 13, cara, lead_time=300.0)],
                [prediction(1, guess)])


def bad_tasks() -> list[dict[str, Any]]:
    """Task 2: one readable annotation, one with a label outside the config, one cancelled.
    Task 3: no annotation. Task 4: no audio field (cannot be read at all)."""
    good = region("g1", "Speaker A", 0.5, 2.0, "hello there")
    outside = region("x1", "Speaker C", 1.0, 2.0, "hi")
    return [
        task(2, "bad", [annotation(201, 11, [good]), annotation(202, 12, [outside]),
                        annotation(203, 13, [], cancelled=True)]),
        task(3, "empty", []),
        task(4, "broken", [annotation(401, 11, [good])], audio=None),
    ]


def write_export(path: Path, tasks: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def users_export(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tasks with ``completed_by`` expanded to user objects (as an export snapshot has them)."""
    out = json.loads(json.dumps(tasks))
    for t in out:
        for a in t["annotations"]:
            uid = a["completed_by"]
            a["completed_by"] = {"id": uid, "email": USERS[uid], "first_name": "", "last_name": ""}
    return out
