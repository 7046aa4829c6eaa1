"""``GET /health`` (no authentication: says only that the service is up and how many tasks it
reports on) and ``GET /openapi.json`` (the API's OpenAPI 3.1 description)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from .openapi import openapi_spec

__all__ = ["bp"]

bp = Blueprint("meta", __name__)


@bp.get("/health")
def health() -> ResponseReturnValue:
    """``{"status": "ok", "tasks": N}`` - no annotator data."""
    hub = current_app.extensions["casper_qc"]
    return jsonify(status="ok", tasks=len(hub.state.report.tasks))


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_spec())
