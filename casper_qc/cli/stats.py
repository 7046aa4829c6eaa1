"""What ``stats alpha`` and ``stats kappa`` share: the matrix layout options and printing.

Not a command itself; the commands are :mod:`casper_qc.cli.stats_alpha` and
:mod:`casper_qc.cli.stats_kappa`. Their output is a contract other tools rely on: the human
form is ``name: value`` lines, the first one the statistic; ``--json`` prints one object with the
same content.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, Iterable

__all__ = ["add_matrix_arguments", "read_matrix", "show", "print_lines", "print_json"]


def add_matrix_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="CSV reliability matrix: one row per coder, one column per unit, an "
                             "empty cell for a missing value, optional first column of coder names "
                             "and optional header row of unit names (detected)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                        help="the first row is (not) a header of unit names (default: detect)")
    parser.add_argument("--coder-names", action=argparse.BooleanOptionalAction, default=None,
                        help="the first column is (not) coder names (default: detect)")


def read_matrix(args: argparse.Namespace):
    from ..metrics.matrix import read_reliability_csv

    return read_reliability_csv(args.file, header=args.header, coder_names=args.coder_names)


def show(value: Any) -> str:
    """A value as a person reads it: ``3`` not ``3.0``, six decimals for fractions."""
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return f"{value:.6f}"
    return str(value)


def layout(matrix) -> dict[str, Any]:
    return {"file": matrix.source, "coders": list(matrix.coders), "units": len(matrix.units),
            "coder_names_in_file": matrix.coder_names_in_file,
            "header_in_file": matrix.header_in_file}


def print_lines(lines: Iterable[tuple[str, Any]]) -> None:
    for name, value in lines:
        print(f"{name}: {value}")


def print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))
