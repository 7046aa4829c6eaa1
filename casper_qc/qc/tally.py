"""Additive tallies: the metrics' counts flattened into ``Counter`` cells that add *and subtract*.

The report keeps, per aggregate (the project, an annotator, a pair of annotators, a speaker), one
:class:`collections.Counter` that is the sum of its tasks' contributions. Replacing one task is
then: subtract its old cells, add its new ones - O(size of one task), whatever the project's size.
The metrics' own count objects (``WerCounts``, ``KappaCounts``...) add but do not subtract, and
building them by summing thousands of objects costs far more than a webhook may take; here they
are rebuilt from the summed cells only when a figure is read.

Cells are keyed ``(prefix, field...)``; the ``put_*`` functions write a count object's cells and
the ``get_*`` functions rebuild an equal object from them.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import repeat
from operator import add
from typing import Any, Hashable

import numpy as np

from ..metrics.alpha import AlphaCounts
from ..metrics.boundaries import BoundaryCounts
from ..metrics.kappa import KappaCounts
from ..metrics.wer import WerCounts

__all__ = [
    "put_wer", "get_wer", "put_kappa", "get_kappa", "put_boundary", "get_boundary",
    "put_alpha", "get_alpha", "add_into", "subtract_from", "symmetric_wer",
]

_WER_FIELDS = ("substitutions", "deletions", "insertions", "hits", "utterances", "optional_ref", "optional_hyp")


def add_into(total: Counter, part: Counter) -> None:
    """``total += part`` keeping zero cells (``Counter.update`` semantics: new cells come in
    ``part``'s order). Runs in C (``dict.update`` over ``map``), not in ``Counter.update``'s
    Python loop: the report adds a few hundred cells per task."""
    keys = part.keys()
    dict.update(total, zip(keys, map(add, part.values(), map(total.get, keys, repeat(0)))))


def subtract_from(total: Counter, part: Counter) -> None:
    """``total -= part``; cells that reach zero are dropped (float cells within 1e-9)."""
    total.subtract(part)
    for key in part:
        value = total.get(key)
        if value is not None and abs(value) < 1e-9:
            del total[key]


def put_wer(cells: Counter, prefix: tuple, counts: WerCounts) -> None:
    values = (counts.substitutions, counts.deletions, counts.insertions, counts.hits, counts.utterances,
              counts.optional_ref, counts.optional_hyp)  # the order of _WER_FIELDS
    for key, value in zip(_wer_keys(prefix), values):
        if value:
            cells[key] += value


@lru_cache(maxsize=256)
def _wer_keys(prefix: tuple) -> tuple[tuple, ...]:
    return tuple((*prefix, name) for name in _WER_FIELDS)


def get_wer(cells: Counter, prefix: tuple, normalizer: str) -> WerCounts:
    values = {name: int(cells.get((*prefix, name), 0)) for name in _WER_FIELDS}
    return WerCounts(normalizer=normalizer, **values)


def symmetric_wer(counts: WerCounts) -> float | None:
    """WER between two peers: edits / mean of their word counts, ``2 E / (N_a + N_b)``.

    The edit distance is the same both ways (insertions and deletions swap); only N differs,
    so this is the WER of either against the other with N their mean. None when both are empty.
    """
    total = counts.ref_words + counts.hyp_words
    return 2.0 * counts.errors / total if total else None


def put_kappa(cells: Counter, prefix: tuple, counts: KappaCounts) -> None:
    rows = counts.confusion.tolist()
    categories = counts.categories
    for i, a in enumerate(categories):
        for j, n in enumerate(rows[i]):
            if n:
                cells[(*prefix, a, categories[j])] += n
    if counts.missing:
        cells[(*prefix, "#missing")] += counts.missing


def get_kappa(cells: Counter, prefix: tuple) -> KappaCounts:
    size = len(prefix)
    found = {key[size:]: int(v) for key, v in cells.items()
             if len(key) == size + 2 and key[:size] == prefix and v}
    categories = tuple(sorted({c for pair in found for c in pair}, key=str))
    index = {c: k for k, c in enumerate(categories)}
    matrix = np.zeros((len(categories), len(categories)), dtype=np.int64)
    for (a, b), n in found.items():
        matrix[index[a], index[b]] = n
    return KappaCounts(categories, matrix, int(cells.get((*prefix, "#missing"), 0)))


def put_boundary(cells: Counter, prefix: tuple, counts: BoundaryCounts) -> None:
    for name, value in (("hits", counts.hits), ("ref", counts.ref_boundaries),
                        ("hyp", counts.hyp_boundaries), ("shift", counts.shift_ms)):
        if value:
            cells[(*prefix, name)] += value


def get_boundary(cells: Counter, prefix: tuple, collar: float) -> BoundaryCounts:
    def value(name: str) -> int:
        return int(cells.get((*prefix, name), 0))

    return BoundaryCounts(value("hits"), value("ref"), value("hyp"), value("shift"), collar)


def put_alpha(cells: Counter, prefix: tuple, counts: AlphaCounts) -> None:
    """Nominal alpha: the coincidence matrix, units and unpairable values."""
    rows = counts.coincidences.tolist()  # Python floats: the values float(matrix[i, j]) gives
    for i, a in enumerate(counts.values):
        for j, b in enumerate(counts.values):
            if rows[i][j]:
                cells[(*prefix, "o", a, b)] += rows[i][j]
    cells[(*prefix, "#units")] += counts.units
    cells[(*prefix, "#unpairable")] += counts.unpairable


def get_alpha(cells: Counter, prefix: tuple, coders: int = 0) -> AlphaCounts:
    size = len(prefix)
    found: dict[tuple[Hashable, Hashable], float] = {}
    for key, v in cells.items():
        if len(key) == size + 3 and key[:size] == prefix and key[size] == "o" and abs(v) > 1e-9:
            found[key[size + 1:]] = float(v)
    values = tuple(sorted({c for pair in found for c in pair}, key=str))
    index = {c: k for k, c in enumerate(values)}
    matrix = np.zeros((len(values), len(values)))
    for (a, b), n in found.items():
        matrix[index[a], index[b]] = n
    return AlphaCounts("nominal", values, matrix, int(cells.get((*prefix, "#units"), 0)), coders,
                       int(cells.get((*prefix, "#unpairable"), 0)))


def cell(cells: Counter, *key: Any) -> float:
    """One cell's value (0 when absent)."""
    return cells.get(key, 0)
