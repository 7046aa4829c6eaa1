"""gunicorn settings for the ML backend: ``gunicorn -c python:ml_backend.gunicorn_conf
'ml_backend:create_app()'``.

Defaults suit Label Studio as the only client (override any of them on the command line or in
``GUNICORN_CMD_ARGS``): loopback, two worker processes with eight threads each (a ``/predict``
holds a thread while it waits for audio; the predictions themselves are limited by
``CASPER_MAX_CONCURRENT_PREDICTIONS`` per worker), and a worker timeout longer than Label Studio's
100 s prediction timeout.

:func:`on_starting` refuses to start when ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` are not set
and a bind address is not a loopback TCP address (the backend without credentials answers
loopback clients only).
"""

from __future__ import annotations

import os

bind = ["127.0.0.1:9090"]
workers = 2
threads = 8
worker_class = "gthread"
timeout = 120
graceful_timeout = 30


def _host(address: str) -> str | None:
    """The host part of a gunicorn bind address (None for a unix socket or file descriptor,
    whose clients the backend cannot tell from remote ones)."""
    if address.startswith(("unix:", "fd://")):
        return None
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if ":" in address else address


def on_starting(server) -> None:  # gunicorn hook: the master process, before binding
    from ml_backend.config import Settings, is_loopback_host

    settings = Settings.from_env(os.environ)
    if settings.auth_enabled:
        return
    for address in server.cfg.bind:
        host = _host(address)
        if host is None or not is_loopback_host(host):
            raise SystemExit(f"casper-qc ml-backend: refusing to listen on {address} without credentials: "
                             "set BASIC_AUTH_USER and BASIC_AUTH_PASS (or bind to 127.0.0.1)")
