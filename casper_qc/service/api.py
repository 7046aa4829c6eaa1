"""The JSON API, CSV tables and corrected exports (all require the API token).

=====================================  ===========================================================
``GET /api/report``                    the report (``?tasks=all|flagged|none``)
``GET /api/tasks/<id>``                one task's entry of the report
``GET /api/annotators``                the per-annotator rows
``GET /api/report/<table>.csv``        a CSV table: tasks, annotators, pairs, speakers, flagged,
                                       omissions
``GET /api/export/textgrids.zip``      the adopted annotation of every task as TextGrids
``GET /api/export/supervisions.jsonl`` the adopted annotation of every task as Lhotse JSONL
``GET /api/export/tasks/<id>.TextGrid`` one task's adopted annotation as a TextGrid
``GET /api/export/tasks/<id>.jsonl``   one task's adopted annotation as Lhotse JSONL
=====================================  ===========================================================

Exports that leave tasks out say how many in the ``X-Casper-QC-Left-Out`` header (the zip's
``manifest.tsv`` and the report's ``omissions`` say which and why).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from ..errors import InputError
from ..qc.exports import file_stem
from ..qc.tables import TABLES

__all__ = ["bp"]

bp = Blueprint("api", __name__, url_prefix="/api")


def _hub():
    return current_app.extensions["casper_qc"]


def _download(body: bytes | str, mimetype: str, filename: str, left_out: int | None = None) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if left_out is not None:
        response.headers["X-Casper-QC-Left-Out"] = str(left_out)
    return response


@bp.get("/report")
def report() -> ResponseReturnValue:
    which = request.args.get("tasks", "all")
    if which not in ("all", "flagged", "none"):
        raise InputError(f"tasks must be all, flagged or none, not {which!r}", where="query")
    return Response(_hub().report_body(which), mimetype="application/json")


@bp.get("/tasks/<task_id>")
def task(task_id: str) -> ResponseReturnValue:
    return jsonify(_hub().task(task_id))


@bp.get("/annotators")
def annotators() -> ResponseReturnValue:
    return jsonify(annotators=_hub().annotators())


@bp.get("/report/<table>.csv")
def table(table: str) -> ResponseReturnValue:
    if table not in TABLES:
        raise InputError(f"no table {table!r}; the tables are {', '.join(TABLES)}", where="route")
    return _download(_hub().table(table), "text/csv", f"{table}.csv")


@bp.get("/export/textgrids.zip")
def textgrids() -> ResponseReturnValue:
    data, left_out = _hub().textgrids()
    return _download(data, "application/zip", "textgrids.zip", left_out)


@bp.get("/export/supervisions.jsonl")
def supervisions() -> ResponseReturnValue:
    text, left_out = _hub().supervisions()
    return _download(text, "application/jsonl", "supervisions.jsonl", left_out)


@bp.get("/export/tasks/<task_id>.TextGrid")
def task_textgrid(task_id: str) -> ResponseReturnValue:
    hub = _hub()
    text = hub.task_textgrid(task_id)
    name = hub.task(task_id)["name"]
    return _download(text, "text/plain", f"{file_stem(name)}.TextGrid")


@bp.get("/export/tasks/<task_id>.jsonl")
def task_supervisions(task_id: str) -> ResponseReturnValue:
    hub = _hub()
    text, _ = hub.supervisions(task_id)
    name = hub.task(task_id)["name"]
    return _download(text, "application/jsonl", f"{file_stem(name)}.jsonl")
