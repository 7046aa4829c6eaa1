"""The WSGI entry point for production servers: ``gunicorn -c python:ml_backend.gunicorn_conf
ml_backend.wsgi:app`` (or ``gunicorn 'ml_backend:create_app()'``).

Importing this module builds the application from the environment (that is its purpose; nothing
else imports it). Configuration errors stop the worker with the one-line message.
"""

from __future__ import annotations

from . import create_app

app = create_app()
