"""The edit-distance engine behind WER, alignments and word pairs.

Opcodes are rapidfuzz's ``(tag, i1, i2, j1, j2)`` tuples (``equal``, ``replace``, ``delete``,
``insert``), from its Levenshtein distance over token lists - the engine inside
``jiwer.process_words``. With partial words (``th-``, ``-cause``), each stretch between runs
of equal tokens that holds one is re-aligned by a small dynamic programme in which a partial
word equals a word it is a prefix (suffix) of; exact matches are kept as they are.
"""

from __future__ import annotations

from itertools import filterfalse
from typing import Sequence

__all__ = ["has_partial", "same", "opcodes", "edit_counts", "tally", "counted"]


def has_partial(tokens: Sequence[str]) -> bool:
    # one join instead of a Python test per token: a partial starts or ends with a hyphen
    joined = f" {' '.join(tokens)} "
    return "- " in joined or " -" in joined


def same(a: str, b: str) -> bool:
    """Token equality with partial words: ``th-`` matches a word starting with ``th``."""
    if a == b:
        return True
    a_pre, b_pre = a.endswith("-"), b.endswith("-")
    a_suf, b_suf = a.startswith("-") and not a_pre, b.startswith("-") and not b_pre
    sa, sb = a.strip("-"), b.strip("-")
    if not sa or not sb:
        return False
    if a_pre and b_pre:
        return sa.startswith(sb) or sb.startswith(sa)
    if a_suf and b_suf:
        return sa.endswith(sb) or sb.endswith(sa)
    if a_pre and not (b_pre or b_suf):
        return b.startswith(sa)
    if b_pre and not (a_pre or a_suf):
        return a.startswith(sb)
    if a_suf and not (b_pre or b_suf):
        return b.endswith(sa)
    if b_suf and not (a_pre or a_suf):
        return a.endswith(sb)
    return False


def _dp_opcodes(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """Minimum edit alignment with :func:`same` as equality, as one-token opcodes."""
    n, m = len(ref), len(hyp)
    cost = [list(range(m + 1))]
    for i in range(1, n + 1):
        row = [i] + [0] * m
        above = cost[i - 1]
        r = ref[i - 1]
        for j in range(1, m + 1):
            diagonal = above[j - 1] + (0 if same(r, hyp[j - 1]) else 1)
            row[j] = min(diagonal, above[j] + 1, row[j - 1] + 1)
        cost.append(row)
    ops: list[tuple[str, int, int, int, int]] = []
    i, j = n, m
    while i or j:  # walk back preferring the diagonal, then deletion, then insertion
        if i and j:
            match = same(ref[i - 1], hyp[j - 1])
            if cost[i][j] == cost[i - 1][j - 1] + (0 if match else 1):
                ops.append(("equal" if match else "replace", i - 1, i, j - 1, j))
                i, j = i - 1, j - 1
                continue
        if i and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("delete", i - 1, i, j, j))
            i -= 1
        else:
            ops.append(("insert", i, i, j - 1, j))
            j -= 1
    ops.reverse()
    return ops


def _partial_stretches(found: list, ref: list[str], hyp: list[str]):
    """``(first, k)`` for each maximal run ``found[first:k]`` of differing opcodes whose tokens
    hold a partial word: the stretches the partial-word rule may align differently."""
    first = -1
    for k in range(len(found) + 1):
        if k < len(found) and found[k][0] != "equal":
            if first < 0:
                first = k
            continue
        if first >= 0:
            i1, j1, i2, j2 = found[first][1], found[first][3], found[k - 1][2], found[k - 1][4]
            if has_partial(ref[i1:i2]) or has_partial(hyp[j1:j2]):
                yield first, k
            first = -1


def _realigned(found: list, first: int, k: int, ref: list[str], hyp: list[str]) -> list:
    """The stretch ``found[first:k]`` aligned again with :func:`same` as equality."""
    i1, j1, i2, j2 = found[first][1], found[first][3], found[k - 1][2], found[k - 1][4]
    return [(tag, a + i1, b + i1, c + j1, d + j1)
            for tag, a, b, c, d in _dp_opcodes(ref[i1:i2], hyp[j1:j2])]


def opcodes(ref: list[str], hyp: list[str], partial_words: bool) -> list:
    """Edit opcodes ``(tag, i1, i2, j1, j2)``: rapidfuzz's exact-token alignment, with each
    stretch between its runs of equal tokens re-aligned by the partial-word rule when a partial
    word is in it (exact within the stretch; the runs of equal tokens are kept). Only the
    differing stretches are searched for partial words, so equal text costs nothing extra."""
    from rapidfuzz.distance import Levenshtein

    found: list = Levenshtein.opcodes(ref, hyp).as_list()
    if not partial_words:
        return found
    out: list = []
    done = 0  # found[:done] is in out (a stretch ends at 1 or later, so 0: none re-aligned)
    for first, k in _partial_stretches(found, ref, hyp):
        out.extend(found[done:first])
        out.extend(_realigned(found, first, k, ref, hyp))
        done = k
    if not done:
        return found
    out.extend(found[done:])
    return out


def edit_counts(ref: list[str], hyp: list[str], partial_words: bool) -> tuple[int, int, int, int]:
    """``tally(opcodes(ref, hyp, partial_words))`` without building the opcode list."""
    from rapidfuzz.distance import Levenshtein

    found: list = Levenshtein.opcodes(ref, hyp).as_list()
    s, d, i, h = tally(found)
    if partial_words:
        for first, k in _partial_stretches(found, ref, hyp):
            old, new = tally(found[first:k]), tally(_realigned(found, first, k, ref, hyp))
            s, d, i, h = s + new[0] - old[0], d + new[1] - old[1], i + new[2] - old[2], h + new[3] - old[3]
    return s, d, i, h


def tally(ops: list) -> tuple[int, int, int, int]:
    s = d = i = h = 0
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            h += i2 - i1
        elif tag == "replace":
            s += i2 - i1
        elif tag == "delete":
            d += i2 - i1
        else:
            i += j2 - j1
    return s, d, i, h


def counted(tokens: list[str], fillers: frozenset[str]) -> list[str]:
    return list(filterfalse(fillers.__contains__, tokens)) if fillers else tokens


