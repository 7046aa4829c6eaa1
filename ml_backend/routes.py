"""The ML backend protocol as Label Studio 1.23.2 speaks it (thin: the work is in
:mod:`ml_backend.service`).

* ``GET /health``, ``GET /``: ``{"status": "UP", "model_class": ...}``; touches nothing.
* ``POST /setup`` ``{"project", "schema", "hostname", "access_token", "extra_params"}``:
  checks the label config and answers ``{"model_version": ...}``; loads nothing (it starts a
  background warm-up and returns).
* ``POST /predict`` ``{"tasks": [...], "project", "label_config", "params"}``:
  ``{"results": [one prediction per task, in order]}``, each ``{"model_version", "score",
  "result"}``; a task that fails among tasks that do not is ``{"detail", "status"}`` in its place,
  and a request none of whose tasks can be predicted is a 4xx/5xx (see :mod:`ml_backend.service`).
* ``GET /versions``: ``{"versions": [the model version]}``.

``/setup``'s ``access_token`` and ``hostname`` are ignored on purpose: media is fetched only from
the configured ``LABEL_STUDIO_URL`` with the configured ``LABEL_STUDIO_API_KEY``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from casper_qc.errors import FormatError

from .service import Backend

__all__ = ["bp"]

bp = Blueprint("api", __name__)


def _backend() -> Backend:
    return current_app.extensions["casper_ml"]


def _body(route: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise FormatError("the request body must be a JSON object (Content-Type: application/json)",
                          where=route)
    return body


def _source(route: str, body: dict[str, Any]) -> str:
    """Where a label config error is: ``predict: project 3: label config``."""
    project = body.get("project")
    if project in (None, ""):
        return f"{route}: label config"
    return f"{route}: project {str(project).split('.', 1)[0]}: label config"


@bp.get("/")
@bp.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="UP", model_class=_backend().predictor.model_class)


@bp.post("/setup")
def setup() -> ResponseReturnValue:
    body = _body("setup")
    backend = _backend()
    backend.label_config(body.get("schema"), source=_source("setup", body))
    backend.warm_up()
    return jsonify(model_version=backend.model_version)


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    body = _body("predict")
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise FormatError("'tasks' must be a non-empty list of tasks", where="predict")
    backend = _backend()
    config = backend.label_config(body.get("label_config"), source=_source("predict", body))
    return jsonify(results=backend.predict_tasks(tasks, config))


@bp.get("/versions")
def versions() -> ResponseReturnValue:
    return jsonify(versions=[_backend().model_version])
