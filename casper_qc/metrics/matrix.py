"""Reading a reliability matrix from CSV: one row per coder, one column per unit.

The file (UTF-8, comma-separated, as the ``csv`` module reads it) holds:

* one row per coder and one column per unit; an **empty cell is a missing value** (nothing else
  is: ``NA`` is a nominal category like any other);
* optionally a **first column of coder names**, detected when every coder row's first cell is
  non-empty and not a number, the names are distinct, and none of them occurs anywhere else in
  the coder rows (so a column of category values is never taken for names);
* optionally a **header row of unit names**, detected when its first cell (the corner) is one
  of :data:`CORNER_WORDS` (``coder``, ``rater``, ``annotator``... any case), or when every cell
  after the first is non-empty and not a number, they are distinct, and none occurs in the other
  rows.

Detection can be overridden (``header=``, ``coder_names=`` True/False); numeric names (a header
``1,2,3``) are only taken as names when asked. Blank lines are skipped; every other row must have
the same number of cells.

Errors are :class:`~casper_qc.errors.FormatError` whose message names the file and the row and
column (counted from 1, as a spreadsheet shows them).
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from typing import Any

from ..errors import FormatError
from ..fileio import read_text

__all__ = ["CORNER_WORDS", "ReliabilityMatrix", "read_reliability_csv", "parse_reliability_rows",
           "number"]


#: Corner cells that announce a header row (so ``coder,1,2,3`` is a header of numbered units).
CORNER_WORDS = frozenset({"coder", "coders", "rater", "raters", "annotator", "annotators",
                          "observer", "observers", "judge", "judges", "name", "id"})


def number(text: str) -> float | None:
    """``text`` as a finite float, or None if it is not one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class ReliabilityMatrix:
    """Cells as text (None = missing), with the names and where each row came from.

    ``lines`` are the file line of each coder row; ``first_column`` is the file column of the
    first unit (2 when the file has coder names).
    """

    coders: tuple[str, ...]
    units: tuple[str, ...]
    cells: tuple[tuple[str | None, ...], ...]
    lines: tuple[int, ...]
    first_column: int = 1
    coder_names_in_file: bool = False
    header_in_file: bool = False
    source: str = "<matrix>"

    def values(self, level: str) -> list[list[Any]]:
        """The matrix as values for ``level``: numbers for ordinal/interval/ratio data; for
        nominal data numbers when every cell is a number (so ``1`` and ``1.0`` agree), else
        the cell texts.

        Raises:
            FormatError: a cell is not a number where one is needed, or a ratio value < 0.
        """
        if level == "nominal":
            numeric = all(number(c) is not None for row in self.cells for c in row if c is not None)
            if not numeric:
                return [list(row) for row in self.cells]
        out: list[list[Any]] = []
        for row, line in zip(self.cells, self.lines):
            converted: list[Any] = []
            for u, cell in enumerate(row):
                if cell is None:
                    converted.append(None)
                    continue
                value = number(cell)
                where = f"row {line}, column {u + self.first_column}"
                if value is None:
                    raise FormatError(f"{where}: {cell!r} is not a number ({level} data needs "
                                      "numbers)", where=self.source)
                if level == "ratio" and value < 0:
                    raise FormatError(f"{where}: {cell} is negative (ratio data has no negative "
                                      "values)", where=self.source)
                converted.append(value)
            out.append(converted)
        return out


def _names(cells: list[str], elsewhere: set[str]) -> bool:
    return (all(cells) and all(number(c) is None for c in cells)
            and len(set(cells)) == len(cells) and not (set(cells) & elsewhere))


def parse_reliability_rows(rows: list[tuple[int, list[str]]], *, source: str = "<matrix>",
                           header: bool | None = None,
                           coder_names: bool | None = None) -> ReliabilityMatrix:
    """Build a matrix from ``(line number, cells)`` rows (blank lines already dropped).

    Raises:
        FormatError: no rows, ragged rows, fewer than two coders or no unit.
    """
    if not rows:
        raise FormatError("empty file: no rows", where=source)
    width = len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            raise FormatError(f"row {line} has {len(cells)} cells but row {rows[0][0]} has {width} "
                              "(every row needs one cell per unit; leave a cell empty for a "
                              "missing value)", where=source)
    cells = [[c.strip() for c in r] for _, r in rows]
    if header is None:
        rest = {c for r in cells[1:] for c in r}
        header = len(cells) > 1 and width > 1 and (
            cells[0][0].lower() in CORNER_WORDS or _names(cells[0][1:], rest))
    body = cells[1:] if header else cells
    lines = [line for line, _ in rows][1 if header else 0:]
    if coder_names is None:
        firsts = [r[0] for r in body]
        others = {c for r in body for c in r[1:]}
        coder_names = width > 1 and bool(body) and _names(firsts, others)
    skip = 1 if coder_names else 0
    if len(body) < 2:
        raise FormatError(f"a reliability matrix needs at least two coder rows, found {len(body)}",
                          where=source)
    if width - skip < 1:
        raise FormatError("no unit columns", where=source)
    if coder_names:
        coders = tuple(r[0] for r in body)
    else:
        coders = tuple(str(i) for i in range(1, len(body) + 1))
    if header:
        units = tuple(name or str(i) for i, name in enumerate(cells[0][skip:], 1))
    else:
        units = tuple(str(i) for i in range(1, width - skip + 1))
    matrix = tuple(tuple(c or None for c in r[skip:]) for r in body)
    return ReliabilityMatrix(coders, units, matrix, tuple(lines), 1 + skip, bool(coder_names),
                             bool(header), source)


def read_reliability_csv(path: str | os.PathLike[str], *, header: bool | None = None,
                         coder_names: bool | None = None) -> ReliabilityMatrix:
    """Read a reliability matrix CSV (see the module docstring for the layout).

    Raises:
        FormatError: the file cannot be read or is not a reliability matrix; the message names
            the file, and the row and column where it applies.
    """
    source = os.fspath(path)
    text = read_text(source, missing="no such file", directory="is a directory, not a CSV file")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = [(reader.line_num, cells) for cells in reader
                if any(c.strip() for c in cells) or (cells and len(cells) > 1)]
    except csv.Error as err:
        raise FormatError(f"not valid CSV: {err}", where=source) from None
    return parse_reliability_rows(rows, source=source, header=header, coder_names=coder_names)
