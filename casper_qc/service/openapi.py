"""The OpenAPI 3.1 description of the QC service (served at ``/openapi.json``).

It documents every route and the report's JSON schema (``components.schemas.Report``); keys are
stable: new keys may be added, existing ones keep their name and meaning (``schema`` says the
version, :data:`casper_qc.qc.report.SCHEMA`).
"""

from __future__ import annotations

from copy import deepcopy
from functools import lru_cache
from typing import Any

__all__ = ["openapi_spec"]

_NUM = {"type": ["number", "null"]}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_ID = {"type": ["integer", "string"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties,
                           "required": list(properties) if required is None else required}
    if description:
        out["description"] = description
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


_FIGURES = {
    "unitizing_alpha": {**_NUM, "description": "Krippendorff's unitizing alpha (speaker labels as categories, ms grid)"},
    "frame_kappa": {**_NUM, "description": "Cohen's kappa of who speaks per frame (silence, A, B, A+B)"},
    "boundary_f1": {**_NUM, "description": "turn-boundary F1 within the collar"},
    "pairwise_wer": {**_NUM, "description": "WER between annotators, symmetric: 2 edits / (N_a + N_b)"},
    "disfluency_kappa": {**_NUM, "description": "Cohen's kappa of per-word disfluency tags on aligned words"},
}

_SCHEMAS: dict[str, Any] = {
    "Problem": _obj({"detail": {**_STR, "description": "one line: where and what is wrong"}}),
    "Health": _obj({"status": {"const": "ok"}, "tasks": _INT}),
    "WerCounts": _obj({"wer": _NUM, "substitutions": _INT, "deletions": _INT, "insertions": _INT, "hits": _INT,
                       "ref_words": _INT, "hyp_words": _INT, "optional_ref": _INT, "optional_hyp": _INT,
                       "utterances": _INT, "normalizer": _STR},
                      description="additive word error counts; wer is null when the reference has no words"),
    "Omission": _obj({"what": {"enum": ["task", "annotation", "prediction", "reference", "figure", "export"]},
                      "task": {"type": ["integer", "string", "null"]},
                      "annotation": {"type": ["integer", "string", "null"]}, "reason": _STR},
                     description="something the report left out, and why"),
    "Flag": _obj({"code": {**_STR, "description": "stable: no-annotations, too-few-annotators, unreadable-annotation, "
                           "invalid-annotation, nothing-to-adopt, low-unitizing-alpha, low-frame-kappa, "
                           "low-boundary-f1, high-pairwise-wer, low-disfluency-kappa, low-choice-alpha, "
                           "high-reference-wer"}, "message": _STR}),
    "Adopted": _obj({"annotation": _ID, "annotator": _STR,
                     "reason": {"enum": ["ground_truth", "adjudicated", "consensus", "only"]}, "detail": _STR},
                    description="the annotation whose result is the corrected version of the task"),
    "Reference": _obj({"kind": {"enum": ["textgrid", "stm", "jsonl", "text", "ground_truth"]}, "source": _STR,
                       "speakers": {"type": "array", "items": _STR}, "timed": {"type": "boolean"},
                       "annotation": {"type": ["integer", "string", "null"]}}),
    "Agreement": _obj({**_FIGURES, "choices": {"type": "object", "additionalProperties": _NUM,
                                               "description": "Krippendorff's alpha per per-region choice"}}),
    "PooledAgreement": _obj({**_FIGURES, "pairs": _INT, "words": _ref("WerCounts"),
                             "frame": {"type": "object"}, "disfluency": {"type": "object"},
                             "boundaries": {"type": "object"}},
                            required=[*_FIGURES, "pairs", "words"],
                            description="figures pooled over pairs of annotations (sums of counts)"),
    "ReferenceFigures": _obj({"wer": _NUM, "words": _ref("WerCounts"), "boundary_f1": _NUM}),
    "Project": _obj({
        "tasks": _INT, "tasks_left_out": _INT, "annotations": _INT, "annotators": _INT,
        "tasks_with_agreement": _INT, "tasks_with_reference": _INT, "flagged_tasks": _INT,
        "agreement": {"allOf": [_ref("PooledAgreement")],
                      "description": "unitizing alpha pools every pair of annotators on every task"},
        "reference": _ref("ReferenceFigures"),
        "prelabel": _nullable({"type": "object", "description": "pre-label edits summed (EditCounts)"}),
        "partial": {"type": "boolean", "description": "true when something was left out (see omissions)"},
        "omitted": {"type": "object", "additionalProperties": _INT},
        "updated_at": _STR, "version": _INT}),
    "TaskAnnotator": _obj({
        "annotation": _ID, "annotator": _STR, "annotator_id": {"type": ["integer", "null"]},
        "ground_truth": {"type": "boolean"}, "review": {"type": ["boolean", "null"]}, "turns": _INT, "words": _INT,
        "lead_time": _NUM, "updated_at": {"type": ["string", "null"]}, "problems": {"type": "array", "items": _STR},
        "agreement": _nullable({"type": "object", "description": "mean pairwise figures with the task's others"}),
        "reference": _nullable({"type": "object", "properties": {"wer": _NUM, "words": _ref("WerCounts"),
                                                                  "boundary_f1": _NUM}}),
        "prelabel": _nullable({"type": "object", "description": "edits of the prediction it started from"})}),
    "TaskPair": _obj({"a": _STR, "b": _STR, "a_annotation": _ID, "b_annotation": _ID, **_FIGURES}),
    "Task": _obj({
        "id": _ID, "name": {**_STR, "description": "the conversation id (task data conversation_id), else the task id"},
        "duration": {"type": "number"}, "annotations": _INT, "predictions": _INT,
        "annotators": {"type": "array", "items": _ref("TaskAnnotator")},
        "agreement": _ref("Agreement"),
        "pairs": {"type": "array", "items": _ref("TaskPair")},
        "speakers": {"type": "object", "additionalProperties": {"type": "object"}},
        "reference": _nullable(_ref("Reference")),
        "wer": {**_NUM, "description": "WER of the task's annotators against the reference, pooled"},
        "flags": {"type": "array", "items": _ref("Flag")},
        "review": {"type": "boolean"},
        "adopted": _nullable(_ref("Adopted")),
        "omissions": {"type": "array", "items": _ref("Omission")}}),
    "Annotator": _obj({
        "annotator": _STR, "annotator_id": {"type": ["integer", "null"]}, "tasks": _INT, "annotations": _INT,
        "flagged_tasks": _INT, "adopted": _INT, "turns": _INT, "words": _INT, "mean_lead_time": _NUM,
        "agreement": _ref("PooledAgreement"), "reference": _ref("ReferenceFigures"),
        "prelabel": _nullable({"type": "object"})}),
    "Pair": _obj({"a": _STR, "b": _STR, "tasks": _INT, **_FIGURES}),
    "Speaker": _obj({"speaker": _STR, "unitizing_alpha": _NUM, "frame_kappa": _NUM, "pairwise_wer": _NUM,
                     "reference_wer": _NUM, "reference_words": _INT}),
    "Report": _obj({
        "project": _ref("Project"),
        "tasks": {"type": "array", "items": _ref("Task")},
        "annotators": {"type": "array", "items": _ref("Annotator")},
        "pairs": {"type": "array", "items": _ref("Pair")},
        "speakers": {"type": "array", "items": _ref("Speaker")},
        "omissions": {"type": "array", "items": _ref("Omission")},
        "source": {"type": "object"}, "references": {"type": "object"}, "settings": {"type": "object"},
        "schema": {"const": "casper-qc/qc-report/1"}},
        description="the QC report: project figures, then per task, per annotator, per pair and per speaker"),
    "WebhookResult": _obj({"action": _STR, "status": {"enum": ["updated", "ignored"]},
                           "recomputed": {"type": "array", "items": _ID},
                           "removed": {"type": "array", "items": _ID},
                           "left_out": {"type": "array", "items": _STR}}),
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Problem")}}}


_AUTH_ERRORS = {"401": _problem("no API token"), "403": _problem("wrong API token")}


def _get(summary: str, content: dict[str, Any], *, params: list | None = None, errors: dict | None = None,
         tag: str = "report") -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag],
                                 "responses": {"200": {"description": "OK", "content": content},
                                               **_AUTH_ERRORS, **(errors or {})}}
    if params:
        operation["parameters"] = params
    return {"get": operation}


_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": _STR, "description": "the Label Studio task id"}
_NOT_FOUND = {"404": _problem("the report has no such task")}
_FILE = {"schema": {"type": "string", "format": "binary"}}
_LEFT_OUT = {"X-Casper-QC-Left-Out": {"description": "how many tasks the export left out", "schema": _INT}}


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": {"summary": "Liveness (no authentication, no annotator data)", "tags": ["meta"],
                            "security": [], "responses": {"200": {"description": "up", "content": {
                                "application/json": {"schema": _ref("Health")}}}}}},
        "/openapi.json": _get("This description", {"application/json": {"schema": {"type": "object"}}}, tag="meta"),
        "/api/report": _get("The QC report", {"application/json": {"schema": _ref("Report")}},
                            params=[{"name": "tasks", "in": "query", "required": False,
                                     "schema": {"enum": ["all", "flagged", "none"], "default": "all"},
                                     "description": "which tasks to include"}],
                            errors={"400": _problem("bad query")}),
        "/api/tasks/{task_id}": _get("One task of the report", {"application/json": {"schema": _ref("Task")}},
                                     params=[_TASK_ID], errors=_NOT_FOUND),
        "/api/annotators": _get("Per-annotator figures", {"application/json": {"schema": _obj(
            {"annotators": {"type": "array", "items": _ref("Annotator")}})}}),
        "/api/report/{table}.csv": _get("A table of the report as CSV", {"text/csv": {"schema": _STR}},
                                        params=[{"name": "table", "in": "path", "required": True, "schema": {
                                            "enum": ["tasks", "annotators", "pairs", "speakers", "flagged", "omissions"]}}],
                                        errors={"400": _problem("no such table")}),
        "/api/export/textgrids.zip": _get("The adopted annotation of every task as Praat TextGrids (zip with "
                                          "manifest.tsv)", {"application/zip": _FILE}, tag="export"),
        "/api/export/supervisions.jsonl": _get("The adopted annotation of every task as Lhotse supervisions",
                                               {"application/jsonl": _FILE}, tag="export"),
        "/api/export/tasks/{task_id}.TextGrid": _get("One task's adopted annotation as a TextGrid",
                                                     {"text/plain": _FILE}, params=[_TASK_ID],
                                                     errors={**_NOT_FOUND, "400": _problem("nothing to export")},
                                                     tag="export"),
        "/api/export/tasks/{task_id}.jsonl": _get("One task's adopted annotation as Lhotse supervisions",
                                                  {"application/jsonl": _FILE}, params=[_TASK_ID],
                                                  errors={**_NOT_FOUND, "400": _problem("nothing to export")},
                                                  tag="export"),
        "/webhook": {"post": {
            "summary": "Label Studio webhook events (annotations and tasks created, updated, deleted)",
            "tags": ["webhook"],
            "security": [{"bearerAuth": [], "webhookSecret": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {"action": _STR}}}}},
            "responses": {"200": {"description": "applied", "content": {"application/json": {
                "schema": _ref("WebhookResult")}}},
                "400": _problem("not an event"), **_AUTH_ERRORS, "409": _problem("another project's event"),
                "413": _problem("body too large")}}},
        "/": _get("Overview page (HTML)", {"text/html": {"schema": _STR}}, tag="pages"),
        "/annotators": _get("Annotators page (HTML)", {"text/html": {"schema": _STR}}, tag="pages"),
        "/tasks/{task_id}": _get("Task page (HTML)", {"text/html": {"schema": _STR}}, params=[_TASK_ID],
                                 errors=_NOT_FOUND, tag="pages"),
        "/login": {"post": {"summary": "Sign a browser in with the API token (sets a session cookie)",
                            "tags": ["pages"], "security": [],
                            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                                "schema": _obj({"token": _STR, "next": _STR}, required=["token"])}}},
                            "responses": {"303": {"description": "signed in; redirect to next"},
                                          "403": {"description": "wrong token (the sign-in page)"}}}},
        "/logout": {"post": {"summary": "Sign the browser out", "tags": ["pages"],
                             "responses": {"303": {"description": "signed out"}, **_AUTH_ERRORS}}},
    }
    for name in ("/api/export/textgrids.zip", "/api/export/supervisions.jsonl"):
        paths[name]["get"]["responses"]["200"]["headers"] = _LEFT_OUT
    return {
        "openapi": "3.1.0",
        "info": {"title": "casper-qc QC service", "version": "1",
                 "description": "Inter-annotator agreement, WER against references, review flags and corrected "
                                "exports of a Label Studio project. Every route but /health requires "
                                "'Authorization: Bearer <CASPER_QC_TOKEN>'; errors are {\"detail\": ...}."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "CASPER_QC_TOKEN"},
                "webhookSecret": {"type": "apiKey", "in": "header", "name": "X-Casper-QC-Webhook-Secret",
                                  "description": "CASPER_QC_WEBHOOK_SECRET (POST /webhook only)"}},
            "schemas": _SCHEMAS},
        "security": [{"bearerAuth": []}],
    }


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy)."""
    return deepcopy(_spec())
