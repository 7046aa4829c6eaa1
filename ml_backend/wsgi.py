"""The WSGI entry point for production servers: ``gunicorn -c python:ml_backend.gunicorn_conf
ml_backend.wsgi:app`` (or ``gunicorn 'ml_backend:create_app()'``).

Importing this module builds the application from the environment (that is its purpose; nothing
else imports it). Configuration errors stop the worker with the one-line message.
"""

from __future__ import annotations

from casper_qc.threads import limit_numeric_threads

limit_numeric_threads()  # before the app imports numpy: one BLAS thread per gunicorn worker

from . import create_app  # noqa: E402

app = create_app()
