"""Errors as answers: every failure is a 4xx/5xx JSON ``{"detail": "<one line>"}``, never a
traceback.

* :class:`~casper_qc.errors.InputError` (bad input the caller can fix): 400, except
  :class:`~casper_qc.service.hub.TaskNotFound` (404) and
  :class:`~casper_qc.qc.state.WrongProject` (409);
* HTTP errors (404 unknown route, 405, 413 body too large, 400 bad JSON): their status, with a
  one-line detail;
* anything else is a bug: 500 ``{"detail": "internal error ..."}``; the traceback goes to the
  service log (``casper_qc.service`` logger), which never holds request headers or bodies.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import InputError
from ..qc.state import WrongProject
from .hub import TaskNotFound

__all__ = ["register_error_handlers", "problem"]

log = logging.getLogger("casper_qc.service")

_DETAILS = {
    404: "no such route",
    405: "method not allowed on this route",
    413: "the request body is too large (CASPER_QC_MAX_BODY)",
}


def problem(status: int, detail: str):
    response = jsonify(detail=" ".join(str(detail).split()))
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(InputError)
    def _input(err: InputError):
        status = 404 if isinstance(err, TaskNotFound) else 409 if isinstance(err, WrongProject) else 400
        return problem(status, str(err))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        detail = _DETAILS.get(status) or (err.description or err.name)
        return problem(status, detail)

    @app.errorhandler(Exception)
    def _bug(err: Exception):
        log.exception("internal error while answering a request (%s)", type(err).__name__)
        return problem(500, f"internal error ({type(err).__name__}); see the service log")
