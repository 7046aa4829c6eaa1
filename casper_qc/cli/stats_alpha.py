"""``casper-qc stats alpha``: Krippendorff's alpha of a CSV reliability matrix."""

from __future__ import annotations

import argparse

from .stats import add_matrix_arguments

HELP = "Krippendorff's alpha of a CSV reliability matrix (coders x units, missing values allowed)"

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--level", choices=LEVELS, default="nominal",
                        help="level of measurement (default: nominal)")
    add_matrix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..metrics.alpha import krippendorff_alpha
    from .stats import layout, print_json, print_lines, read_matrix, show

    matrix = read_matrix(args)
    counts = krippendorff_alpha(matrix.values(args.level), args.level)
    if counts.alpha is None:
        raise InputError(f"Krippendorff's alpha is undefined: {counts.undefined_reason}",
                         where=matrix.source)
    if args.json:
        print_json({"statistic": "krippendorff_alpha", **counts.to_dict(), **layout(matrix)})
        return 0
    names = f" ({', '.join(matrix.coders)})" if matrix.coder_names_in_file else ""
    print_lines([
        (f"Krippendorff's alpha ({args.level})", show(counts.alpha)),
        ("coders", f"{len(matrix.coders)}{names}"),
        ("units", f"{len(matrix.units)}, pairable {counts.units}"),
        ("pairable values", f"{show(counts.pairable_values)}, unpairable {counts.unpairable}"),
        ("observed disagreement", show(counts.observed_disagreement)),
        ("expected disagreement", show(counts.expected_disagreement)),
    ])
    return 0
