"""casper-qc's QC service: agreement, WER against references, review flags and corrected exports
of a Label Studio project, as a JSON API (OpenAPI at ``/openapi.json``), CSV downloads and HTML
pages for QC leads, kept current by Label Studio webhooks.

Start it with ``casper-qc serve`` (default ``127.0.0.1:8090``), or under a WSGI server as one
process (the report lives in memory): ``gunicorn -w 1 --threads 4 'casper_qc.service:create_app()'``
with the settings in the environment (:mod:`casper_qc.service.settings`).

Blueprints (thin; the work is in :mod:`casper_qc.qc`):

* :mod:`~casper_qc.service.meta` - ``GET /health`` (open), ``GET /openapi.json``;
* :mod:`~casper_qc.service.api` - ``GET /api/report``, ``/api/tasks/<id>``, ``/api/annotators``,
  ``/api/report/<table>.csv``, ``/api/export/textgrids.zip``, ``/api/export/supervisions.jsonl``,
  ``/api/export/tasks/<id>.TextGrid``, ``/api/export/tasks/<id>.jsonl``;
* :mod:`~casper_qc.service.webhook` - ``POST /webhook``;
* :mod:`~casper_qc.service.pages` - ``GET /``, ``/tasks/<id>``, ``/annotators``, ``POST /login``,
  ``POST /logout``.

Authentication: :mod:`casper_qc.service.auth`. Importing this package creates nothing and imports
no Flask; :func:`create_app` builds one application.
"""

from __future__ import annotations

import gc
import os
import secrets
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from ..qc.state import QCState

__all__ = ["create_app"]

#: Headers of every response: nothing on a page may come from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(test_config: Mapping[str, Any] | None = None, *, state: "QCState | None" = None) -> "Flask":
    """Build the application.

    Args:
        test_config: settings as environment variables (name -> value,
            :mod:`casper_qc.service.settings`), used *instead of* ``os.environ`` (tests, the
            ``serve`` command); ``TESTING: True`` sets Flask's testing mode. None reads
            ``os.environ``.
        state: the project's QC state; None opens the project the settings name (reading the
            export or pulling from Label Studio, and the references).

    Raises:
        casper_qc.errors.InputError: a setting, the source or the references cannot be used (one
            line naming it; ``casper-qc serve`` prints it and exits 2).
    """
    from flask import Flask, request

    from . import api, meta, pages, webhook
    from .auth import check, refused, session_key
    from .errors import register_error_handlers
    from .hub import Hub
    from .render import login_page
    from .settings import ServiceSettings

    env = os.environ if test_config is None else test_config
    settings = ServiceSettings.from_env(env)
    if state is None:
        state = settings.open_state()
    # The project's records live as long as the service: keep the cyclic collector from
    # traversing them on every full collection (a pause of ~1 s on a 1 M-word project, which
    # would land in the middle of some webhook). New objects are collected as usual.
    gc.collect()
    gc.freeze()

    app = Flask(__name__)
    app.config.from_mapping(
        TESTING=bool(test_config is not None and test_config.get("TESTING")),
        MAX_CONTENT_LENGTH=settings.max_body,
        SECRET_KEY=session_key(settings.token) if settings.token else secrets.token_bytes(32),
        SESSION_COOKIE_NAME="casper_qc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["casper_qc"] = Hub(settings, state)

    @app.before_request
    def _guard():
        verdict = check(request, settings)
        if verdict is None:
            return None
        status, detail = verdict
        wants_page = (request.endpoint or "").startswith("pages.") and request.method in ("GET", "HEAD", "POST")
        html = login_page(detail, request.full_path.rstrip("?")) if wants_page else None
        return refused(status, detail, html=html)

    @app.after_request
    def _headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    register_error_handlers(app)
    app.register_blueprint(meta.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(pages.bp)
    return app
