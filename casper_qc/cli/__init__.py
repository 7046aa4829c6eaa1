"""The ``casper-qc`` command line: a thin layer over the library.

Each command lives in its own module of this package, which provides

* ``HELP``: one line for ``casper-qc --help``;
* ``configure(parser)``: adds its arguments (argparse only: no heavy imports at this point);
* ``run(args) -> int``: does the work and returns the exit code.

Errors a user can cause (:class:`~casper_qc.errors.InputError`) are printed as one line on
stderr with exit code 2; nothing prints a traceback unless ``CASPER_QC_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from ..errors import InputError
from ..threads import limit_numeric_threads

#: Command path -> module. Nested paths ("eval", "turns") become sub-commands.
COMMANDS: dict[tuple[str, ...], str] = {
    ("disfluency", "tag"): "casper_qc.cli.disfluency_tag",
    ("eval", "asr"): "casper_qc.cli.eval_asr",
    ("eval", "disfluency"): "casper_qc.cli.eval_disfluency",
    ("eval", "turns"): "casper_qc.cli.eval_turns",
    ("export",): "casper_qc.cli.export",
    ("ml-backend",): "casper_qc.cli.ml_backend",
    ("prelabel",): "casper_qc.cli.prelabel",
    ("qc",): "casper_qc.cli.qc",
    ("serve",): "casper_qc.cli.serve",
    ("stats", "alpha"): "casper_qc.cli.stats_alpha",
    ("stats", "kappa"): "casper_qc.cli.stats_kappa",
    ("wer",): "casper_qc.cli.wer",
}

#: Help of command groups that have sub-commands.
GROUPS: dict[tuple[str, ...], str] = {
    ("eval",): "evaluate pre-labels against references",
    ("stats",): "agreement statistics on a reliability matrix",
    ("disfluency",): "tag disfluencies in transcripts",
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="casper-qc",
        description="Annotation and quality control for two-party conversation corpora.")
    parser.add_argument("--version", action="version", version=f"casper-qc {__version__}")
    subparsers: dict[tuple[str, ...], argparse._SubParsersAction] = {
        (): parser.add_subparsers(dest="command", metavar="COMMAND")}
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): parser}

    def group(path: tuple[str, ...]) -> argparse._SubParsersAction:
        if path not in subparsers:
            parent = group(path[:-1])
            sub = parent.add_parser(path[-1], help=GROUPS.get(path, ""), description=GROUPS.get(path))
            parsers[path] = sub
            subparsers[path] = sub.add_subparsers(dest="_".join(("command",) + path), metavar="COMMAND")
            sub.set_defaults(_group=sub)
        return subparsers[path]

    for path, module_name in sorted(COMMANDS.items()):
        module = importlib.import_module(module_name)
        sub = group(path[:-1]).add_parser(path[-1], help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(_run=module.run, _group=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``casper-qc`` console script; returns the exit code."""
    limit_numeric_threads()  # before any command imports numpy (see casper_qc.threads)
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        (getattr(args, "_group", None) or parser).print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(run(args) or 0)
    except InputError as err:
        print(f"casper-qc: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("casper-qc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. piped into head): not an error worth a message
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as err:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("CASPER_QC_DEBUG"):
            raise
        print(f"casper-qc: internal error: {type(err).__name__}: {err} "
              "(set CASPER_QC_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
