"""``make demo``: casper-qc's whole loop on this machine - Label Studio 1.23.2 with pre-labels from
the ML backend, the QC report kept current by webhooks, TextGrid downloads - on 127.0.0.1.

    python -m casper_qc.demo [--dir DIR] [--ls-port P] [--backend-port P] [--qc-port P]
    python -m casper_qc.demo --down [--dir DIR]       # make down: stop what the demo started
    python -m casper_qc.demo --offline [--out DIR]    # no servers: export the sample to ./demo-out

The servers run in the background (``--down`` stops them); their state - Label Studio's SQLite
database, logs, pid files, the generated credentials (``credentials.env``, mode 0600) - lives in
``DIR`` (default ``.demo/`` of the checkout, or ``CASPER_QC_DEMO_DIR``). Default ports 8080
(Label Studio), 9090 (ML backend), 8090 (QC service), or ``CASPER_QC_DEMO_LS_PORT``,
``CASPER_QC_DEMO_BACKEND_PORT``, ``CASPER_QC_DEMO_QC_PORT``. A second run reuses the running
servers, the project and its tasks. Details: :mod:`casper_qc.demo.stack`.

This package imports only the standard library at import time, so ``--down`` runs under any
Python 3 even when the virtual environment is gone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main"]

PROG = "casper-qc demo"


def _say(message: str, *, error: bool = False) -> None:
    print(f"{PROG}: {message}", file=sys.stderr if error else sys.stdout, flush=True)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m casper_qc.demo",
        description="casper-qc's whole loop on 127.0.0.1: Label Studio 1.23.2 with pre-labels from the ML backend, "
                    "and the QC service.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--down", action="store_true", help="stop the servers the demo started")
    mode.add_argument("--offline", action="store_true",
                      help="start no servers: export the recorded sample to TextGrids, Lhotse JSONL and NeMo")
    parser.add_argument("--dir", help="the demo's state directory (default .demo/ of the checkout)")
    parser.add_argument("--ls-port", type=_port, help="Label Studio's port (default 8080)")
    parser.add_argument("--backend-port", type=_port, help="the ML backend's port (default 9090)")
    parser.add_argument("--qc-port", type=_port, help="the QC service's port (default 8090)")
    parser.add_argument("--out", default="demo-out", help="--offline: output directory (default ./demo-out)")
    args = parser.parse_args(argv)

    from .paths import Layout

    if args.offline:
        from .offline import run

        return run(Path(args.out), _say)
    layout = Layout.at(args.dir)
    if args.down:
        from .stack import down

        return down(layout, _say)
    return _up(layout, {"label-studio": args.ls_port, "ml-backend": args.backend_port, "qc": args.qc_port})


def _up(layout, ports: dict) -> int:
    try:
        import requests  # noqa: F401  (the full demo needs the project's environment)
    except ImportError:
        _say("run it with the project's environment: `make demo` (or .venv/bin/python -m casper_qc.demo)",
             error=True)
        return 2
    from .stack import DemoError, Stack

    stack = Stack(layout, ports, _say)
    try:
        state = stack.up()
    except DemoError as err:
        _say(f"error: {err}", error=True)
        if stack.started:
            _say(f"the servers that did start keep running: `{layout.make('down')}` stops them", error=True)
        return 1
    except KeyboardInterrupt:
        _say(f"interrupted; `{layout.make('down')}` stops what was started", error=True)
        return 130
    _print_summary(stack, state)
    return 0


def _qc_summary(stack, state) -> str:
    import requests

    try:
        answer = requests.get(f"{state['urls']['qc']}/api/report", params={"tasks": "none"}, timeout=30,
                              headers={"Authorization": f"Bearer {stack.creds['CASPER_QC_TOKEN']}"})
        project = answer.json()["project"]
        return f"{project['tasks']} tasks, {project['flagged_tasks']} flagged for review"
    except (requests.RequestException, ValueError, KeyError):
        return "see the page"


def _print_summary(stack, state) -> None:
    from .paths import CONVERSATIONS

    creds, urls, layout = stack.creds, state["urls"], stack.layout
    secrets_file = _shown(layout.credentials)
    project = state["project"]
    first = CONVERSATIONS[0]
    first_task = state["tasks"][first.conversation]
    sample_task = state["tasks"]["michaelandsickmichael"]
    if stack.generated:
        login = f"log in as {creds['LABEL_STUDIO_USERNAME']} with the password {creds['LABEL_STUDIO_PASSWORD']}"
        token = f"sign in with the token {creds['CASPER_QC_TOKEN']}"
        where = (f"These credentials were generated for this demo and are shown only this once;\n"
                 f"  they are kept in {secrets_file} (readable by you only).")
    else:
        login = (f"log in as {creds['LABEL_STUDIO_USERNAME']}, password: LABEL_STUDIO_PASSWORD in {secrets_file}")
        token = f"sign in with the token CASPER_QC_TOKEN in {secrets_file}"
        where = f"The credentials are in {secrets_file} (readable by you only)."
    lines = [
        "",
        f"casper-qc demo is up ({state['seconds']:.0f} s).",
        "",
        f"  Label Studio  {urls['label-studio']}/projects/{project}/data",
        f"                {login}",
        f"  QC report     {urls['qc']}/   ({_qc_summary(stack, state)})",
        f"                {token}",
        f"  ML backend    {urls['ml-backend']}   (connected to project {project}; model {state['model_version']})",
        "",
        f"  {where}",
        f"  Exports: {_shown(layout.exports)}/textgrids/*.TextGrid and supervisions.jsonl (the adopted annotations)",
        f"  Logs: {_shown(layout.logs)}/ and {_shown(layout.labelstudio / 'server.log')}",
        "",
        "What to try first:",
        f"  1. Open task {first_task} ({first.conversation}, {first.what}):",
        f"       {urls['label-studio']}/projects/{project}/data?task={first_task}",
        "     Each speaker's turns are pre-labelled on their own channel. Drag the edge of a region, select a",
        "     region and type what is said (and tick its disfluencies), then Submit.",
        f"  2. Reload the QC report {urls['qc']}/ : your annotation is in it (Label Studio's webhook",
        f"     updates it). Task {sample_task} (michaelandsickmichael) compares two annotators' recorded",
        "     annotations with each other and with the reference transcripts.",
        "  3. Download the adopted annotation of every task as TextGrids (signed in to the QC report):",
        f"       {urls['qc']}/api/export/textgrids.zip",
        f"     or: (set -a; . {secrets_file}; curl -fsS -H \"Authorization: Bearer $CASPER_QC_TOKEN\" \\",
        f"            {urls['qc']}/api/export/textgrids.zip -o textgrids.zip)",
        f"  4. {layout.make('down')}   stops the three servers; {layout.make('demo')} brings them back with the",
        "     same data.",
        "",
    ]
    print("\n".join(lines), flush=True)


