"""``casper-qc ml-backend``: serve pre-labels to Label Studio as an ML backend.

Runs the Flask application of :mod:`ml_backend` in Werkzeug's threaded server, on 127.0.0.1:9090
unless told otherwise. Configuration comes from the environment (``ml_backend/README.md``);
without ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` it refuses a non-loopback ``--host``. For
production use gunicorn (see the README). Prints one line ``listening on <url>`` to stderr once
the socket is open (``--port 0`` picks a free port) and stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse

HELP = "serve turn/transcript/disfluency pre-labels to Label Studio (ML backend)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; anything else needs "
                             "BASIC_AUTH_USER and BASIC_AUTH_PASS)")
    parser.add_argument("--port", type=int, default=9090, help="port (default 9090; 0 picks a free one)")


def run(args: argparse.Namespace) -> int:
    import os
    import signal
    import sys
    import threading

    from werkzeug.serving import make_server

    from ml_backend import create_app
    from ml_backend.config import Settings, is_loopback_host

    from ..errors import InputError

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, not {args.port}")
    settings = Settings.from_env(os.environ)
    if not is_loopback_host(args.host) and not settings.auth_enabled:
        raise InputError(f"refusing to listen on {args.host} without credentials: set BASIC_AUTH_USER "
                         "and BASIC_AUTH_PASS, or listen on 127.0.0.1")
    app = create_app()
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as err:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    host = f"[{args.host}]" if ":" in args.host else args.host
    version = app.extensions["casper_ml"].model_version
    auth = "basic auth on" if settings.auth_enabled else "no credentials: loopback clients only"
    print(f"casper-qc ml-backend: listening on http://{host}:{server.server_port} "
          f"(model version {version}; {auth})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
