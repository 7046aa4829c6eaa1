"""casper-qc's Label Studio ML backend: turn, transcript and disfluency pre-labels as predictions.

Label Studio calls it over HTTP (``/health``, ``/setup``, ``/predict``, ``/webhook``,
``/versions``; see :mod:`ml_backend.routes`). Start it with ``casper-qc ml-backend`` or, in
production, ``gunicorn -c python:ml_backend.gunicorn_conf 'ml_backend:create_app()'``.
Configuration comes from environment variables (``ml_backend/README.md``).

Importing this package creates nothing; :func:`create_app` builds one application.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Mapping

from flask import Flask, Response, current_app, request

if TYPE_CHECKING:  # pragma: no cover
    from .predictor import Predictor

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, str] | None = None, *,
               predictor: "Predictor | None" = None) -> Flask:
    """Build the application.

    Args:
        test_config: settings as environment variables (name -> value). None reads
            ``os.environ``; a mapping is used *instead of* the environment, so tests do not
            depend on the shell they run in.
        predictor: what computes the pre-labels (default: :class:`~ml_backend.predictor.
            TurnPredictor` with the ``CASPER_PRELABEL_*`` parameters).

    Raises:
        casper_qc.errors.ConfigError: a setting is unusable (the message names the variable).
    """
    from . import routes, webhook
    from .auth import check_basic_auth, check_request, check_webhook
    from .config import Settings
    from .errors import register_error_handlers
    from .predictor import TurnPredictor
    from .service import Backend

    settings = Settings.from_env(os.environ if test_config is None else test_config)
    _configure_logging(settings.log_level)

    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=settings.max_request_bytes, TESTING=test_config is not None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["casper_ml"] = Backend(settings, predictor or TurnPredictor.from_settings(settings))

    @app.before_request
    def _guard() -> Response | None:
        current = current_app.extensions["casper_ml"].settings
        refused = check_request(request, current)
        if refused is not None:
            return refused
        if request.endpoint == "webhook.receive":
            return check_webhook(request, current)
        return check_basic_auth(request, current)

    register_error_handlers(app)
    app.register_blueprint(routes.bp)
    app.register_blueprint(webhook.bp)
    return app


def _configure_logging(level: str) -> None:
    """Send the ``ml_backend`` logger to stderr at ``level`` unless logging is set up already."""
    logger = logging.getLogger("ml_backend")
    logger.setLevel(level)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
