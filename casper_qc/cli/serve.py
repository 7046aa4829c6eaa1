"""``casper-qc serve``: the QC service (:mod:`casper_qc.service`) on one project.

    casper-qc serve [--host H] [--port P] (--from EXPORT.json | --project ID) [--references DIR]

Default ``127.0.0.1:8090``. The API token comes from ``CASPER_QC_TOKEN`` (clients send
``Authorization: Bearer <token>``), the webhook secret from ``CASPER_QC_WEBHOOK_SECRET``, Label
Studio from ``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY``. Without a token the service
answers this machine only, and listening beyond loopback is refused (exit 2).

The project is read and the report computed before the server listens, so a bad export,
unreachable Label Studio or unreadable references end the command with one line (exit 2). Then it
prints ``casper-qc serve: listening on http://H:P`` to stderr and serves (threads, one process:
the report lives in memory) until interrupted.
"""

from __future__ import annotations

import argparse
import ipaddress

HELP = "serve the QC report (JSON API, CSV, HTML pages, exports, Label Studio webhook)"

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8090


def configure(parser: argparse.ArgumentParser) -> None:
    from .qc import add_source_arguments

    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    add_source_arguments(parser)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import os
    import signal
    import sys

    from werkzeug.serving import make_server

    from ..errors import ConfigError
    from ..service import create_app
    from ..service.settings import ServiceSettings
    from .qc import open_state

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"port {args.port} is not between 0 and 65535", where="--port")
    settings = ServiceSettings.from_env(os.environ)
    if settings.token is None and not is_loopback(args.host):
        raise ConfigError(f"refusing to listen on {args.host} without an API token: set CASPER_QC_TOKEN (or listen "
                          "on 127.0.0.1)", where="--host")
    state = open_state(args)
    app = create_app(dict(os.environ), state=state)
    server = make_server(args.host, args.port, app, threaded=True)
    project = state.report.project()
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"casper-qc serve: {project['tasks']} task(s), {project['flagged_tasks']} flagged; "
          f"listening on http://{host}:{server.server_port}"
          + ("" if settings.token else " (no CASPER_QC_TOKEN: this machine only)"), file=sys.stderr, flush=True)

    def stop(signum, frame):  # SIGTERM: finish like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("casper-qc serve: stopped", file=sys.stderr)
    return 0
