"""Every error the backend answers is JSON ``{"detail": "..."}``; no traceback leaves the process.

* :class:`casper_qc.errors.InputError` (and subclasses) are the client's fault: 4xx. The status
  is the error's ``status`` attribute when it has one (see :mod:`ml_backend.media`), else 422
  for a label config or audio that cannot be used and 400 for anything else.
* :class:`UpstreamError` is a fault of a service we depend on (Label Studio unreachable or
  refusing our API key, a media host failing): 502 or 504.
* Werkzeug's HTTP errors (unknown route, wrong method, body too large, broken JSON) keep their
  status.
* Anything else is a bug: 500, logged with its traceback under a short reference that the
  response names.
"""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from casper_qc.errors import AudioError, CasperError, ConfigError, InputError

__all__ = ["UpstreamError", "status_of", "problem", "register_error_handlers"]

log = logging.getLogger("ml_backend")


class UpstreamError(CasperError):
    """A service the backend depends on failed (not the caller's fault).

    ``status`` is 502 (bad answer, refused credentials, unreachable) or 504 (timed out).
    """

    def __init__(self, message: str, *, status: int = 502) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status


def status_of(err: InputError) -> int:
    """The 4xx status an input error is answered with."""
    status = getattr(err, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    if isinstance(err, (ConfigError, AudioError)):
        return 422
    return 400


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON error response ``{"detail": detail}``."""
    response = jsonify(detail=detail)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""

    @app.errorhandler(InputError)
    def _input_error(err: InputError) -> ResponseReturnValue:
        status = status_of(err)
        log.warning("%s %s", status, err)
        return problem(status, str(err))

    @app.errorhandler(UpstreamError)
    def _upstream_error(err: UpstreamError) -> ResponseReturnValue:
        log.error("%s %s", err.status, err)
        return problem(err.status, str(err))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> ResponseReturnValue:
        status = err.code or 500
        detail = err.description or err.name
        headers = {}
        if status == 405 and err.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(err.valid_methods)  # type: ignore[attr-defined]
        return problem(status, " ".join(str(detail).split()), headers)

    @app.errorhandler(Exception)
    def _bug(err: Exception) -> ResponseReturnValue:
        reference = uuid.uuid4().hex[:12]
        log.exception("internal error (reference %s)", reference)
        return problem(500, f"internal error in the ML backend (reference {reference}); "
                            "its log has the details")
