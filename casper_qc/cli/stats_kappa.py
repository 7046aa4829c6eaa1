"""``casper-qc stats kappa``: Cohen's kappa (two coders) or Fleiss' kappa (more)."""

from __future__ import annotations

import argparse

from .stats import add_matrix_arguments

HELP = "Cohen's kappa (two coders) or Fleiss' kappa (three or more) of a CSV reliability matrix"


def configure(parser: argparse.ArgumentParser) -> None:
    add_matrix_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..metrics.kappa import cohen_kappa, fleiss_kappa
    from .stats import layout, print_json, print_lines, read_matrix, show

    matrix = read_matrix(args)
    rows = matrix.values("nominal")
    names = f" ({', '.join(matrix.coders)})" if matrix.coder_names_in_file else ""
    if len(rows) == 2:
        counts = cohen_kappa(rows[0], rows[1])
        title, rated, left = "Cohen's kappa", "rated by both", counts.missing
    else:
        counts = fleiss_kappa(rows)
        title, rated, left = "Fleiss' kappa", "rated by every coder", counts.skipped
    if counts.kappa is None:
        raise InputError(f"{title} is undefined: {counts.undefined_reason}", where=matrix.source)
    if args.json:
        print_json({**counts.to_dict(), **layout(matrix)})
        return 0
    lines = [
        (title, show(counts.kappa)),
        ("coders", f"{len(matrix.coders)}{names}"),
        ("units", f"{len(matrix.units)}, {rated} {counts.units}, left out {left}"),
        ("categories", f"{len(counts.categories)} ({', '.join(map(show, counts.categories))})"),
        ("observed agreement", show(counts.observed_agreement)),
        ("expected agreement", show(counts.expected_agreement)),
    ]
    if len(rows) > 2:
        lines.append(("per-category kappa", ", ".join(_per_category(counts, show))))
    print_lines(lines)
    return 0


def _per_category(counts, show):
    for category in counts.categories:
        kappa = counts.category_kappa(category)
        yield f"{show(category)} {'undefined' if kappa is None else show(kappa)}"
