"""Frame-level agreement between two annotations: Cohen's kappa on a grid of frames.

Time is cut into frames of ``step`` seconds on the integer-millisecond grid, over
``[0, duration)``. A frame belongs to a turn when the frame's **midpoint** lies in the turn
``[start, end)``. Per speaker, a frame is ``speech`` or ``silence``; across speakers its label is
the set of speakers talking (``silence``, ``A``, ``B``, ``A+B``...), so overlap is a label of its
own. Speaker identity across annotators is the speaker label.

Frames where neither annotation has speech count (they are agreement on silence), so the
result depends on ``duration``: pass the recording's length. Counts are
:class:`~casper_qc.metrics.kappa.KappaCounts` (confusion matrices), additive over recordings.

The labels are never laid out frame by frame: each annotation becomes run-length segments
(frame index where its label changes, label from there on), the two are merged, and each
merged run adds its length to one cell of the confusion matrix - O(turns log turns), whatever
the number of frames. The per-speaker matrices are read off the joint one. A prepared annotation
(:class:`~casper_qc.metrics.prepared.Prepared`) keeps its runs for its next pair.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import InputError
from ..model import Annotation, Turn, to_ms
from ._common import turns_of
from .kappa import KappaCounts
from .prepared import Prepared

__all__ = ["frame_activity", "frame_kappa", "frame_kappa_by_speaker"]

SILENCE = "silence"
SPEECH = "speech"


def _step_ms(step: float) -> int:
    ms = to_ms(step)
    if ms < 1:
        raise InputError(f"frame step {step!r} s is below the 1 ms grid")
    return ms


def _frame_count(duration_ms: int, step_ms: int) -> int:
    # frames whose midpoint (k + 1/2) * step lies before the end
    return max(0, -((step_ms - 2 * duration_ms) // (2 * step_ms)))


def _runs(turns: Sequence[Turn], lanes: dict[str, int], step_ms: int, frames: int
          ) -> tuple[list[int], list[int]]:
    """Run-length labels: frame indices where a run starts (the first is 0) and each run's
    label, a bit mask of the active lanes (speakers). Plain Python on purpose: a task has tens
    of turns, and numpy's per-call cost is larger than the whole sweep."""
    # round(s * 1000) is model.to_ms
    return _runs_ms([(t.speaker, round(t.start * 1000), round(t.end * 1000)) for t in turns], lanes, step_ms,
                    frames)


def _runs_ms(spans: Sequence[tuple[str, int, int]], lanes: dict[str, int], step_ms: int, frames: int
             ) -> tuple[list[int], list[int]]:
    """:func:`_runs` of (speaker, start ms, end ms) spans."""
    two = 2 * step_ms
    events = []
    for speaker, start, end in spans:
        bit = lanes.get(speaker)
        if bit is None:
            continue
        # the first frame k with (2k + 1) step >= 2 start, and the first frame past the end likewise
        first = min(max(-((step_ms - 2 * start) // two), 0), frames)
        last = min(max(-((step_ms - 2 * end) // two), 0), frames)
        if first < last:
            events.append((first, 1, bit))
            events.append((last, -1, bit))
    events.sort()  # at one frame, ends (-1) come before starts (+1)
    active = [0] * len(lanes)  # turns of one speaker that overlap still count once
    points, codes = [0], [0]
    code = 0
    for position, delta, bit in events:
        active[bit] += delta
        code = code | (1 << bit) if active[bit] > 0 else code & ~(1 << bit)
        if position == points[-1]:
            codes[-1] = code
        elif code != codes[-1]:
            points.append(position)
            codes.append(code)
    return points, codes


def _joint(runs_a: tuple[list[int], list[int]], runs_b: tuple[list[int], list[int]],
           frames: int, size: int) -> list[int]:
    """Frames per pair of labels (A's label * size + B's label), merging the two runs."""
    (pa, ca), (pb, cb) = runs_a, runs_b
    cells = [0] * (size * size)
    i = j = position = 0
    na, nb = len(pa), len(pb)
    while position < frames:
        next_a = pa[i + 1] if i + 1 < na else frames
        next_b = pb[j + 1] if j + 1 < nb else frames
        stop = next_a if next_a < next_b else next_b  # both at most ``frames``
        cells[ca[i] * size + cb[j]] += stop - position
        position = stop
        if next_a == stop and i + 1 < na:
            i += 1
        if next_b == stop and j + 1 < nb:
            j += 1
    return cells


def _kappa(names: list[str], cells: list[int]) -> KappaCounts:
    """The confusion matrix of the labels either annotation used (plain Python: a few cells)."""
    size = len(names)
    rows = [cells[i * size:(i + 1) * size] for i in range(size)]
    used = [k for k in range(size) if any(rows[k]) or any(row[k] for row in rows)]
    if not used:
        return KappaCounts((), np.zeros((0, 0), dtype=np.int64))
    return KappaCounts(tuple(names[i] for i in used), np.array([[rows[i][j] for j in used] for i in used]))


def _speaker_cells(cells: list[int], size: int, bit: int) -> list[int]:
    """The speech/silence cells of one speaker from the joint cells."""
    out = [0, 0, 0, 0]
    for cell, count in enumerate(cells):
        if count:
            out[((cell // size) >> bit & 1) * 2 + ((cell % size) >> bit & 1)] += count
    return out


def frame_activity(turns: Sequence[Turn], *, step: float = 0.01, frames: int,
                   speaker: str | None = None) -> np.ndarray:
    """Boolean activity per frame of the turns (of ``speaker`` when given), laid out frame by
    frame (for inspection and plots; the kappas do not need it)."""
    if speaker is None:
        turns = [Turn("any", t.start, t.end) for t in turns]
        speaker = "any"
    points, codes = _runs(turns, {speaker: 0}, _step_ms(step), frames)
    lengths = np.diff(np.append(np.array(points, dtype=np.int64), frames))
    return np.repeat(np.array(codes) > 0, lengths)


def _duration_ms(a: tuple[Turn, ...], b: tuple[Turn, ...], duration: float | None) -> int:
    last = max((t.end for t in (*a, *b)), default=0.0)
    if duration is None:
        return to_ms(last)
    total = to_ms(duration)
    if to_ms(last) > total:
        turn = next(t for t in (*a, *b) if to_ms(t.end) > total)
        raise InputError(f"turn of {turn.speaker} ends at {turn.end:.3f} s, after the "
                         f"duration {total / 1000:.3f} s")
    return total


def _runs_of(source: Annotation | Sequence[Turn] | Prepared, turns: Sequence[Turn], lanes: dict[str, int],
             step_ms: int, frames: int) -> tuple[list[int], list[int]]:
    """:func:`_runs`, kept by a prepared annotation for its next pair (same lanes and grid)."""
    if isinstance(source, Prepared):
        return source.memo(("frame runs", tuple(lanes), step_ms, frames),
                           lambda: _runs_ms(source.spans(), lanes, step_ms, frames))
    return _runs(turns, lanes, step_ms, frames)


def _merged(a, b, step: float, duration: float | None) -> tuple[list[str], list[int]]:
    ta, tb = turns_of(a), turns_of(b)
    step_ms = _step_ms(step)
    frames = _frame_count(_duration_ms(ta, tb, duration), step_ms)
    speakers = sorted({t.speaker for t in (*ta, *tb)})
    lanes = {name: bit for bit, name in enumerate(speakers)}
    cells = _joint(_runs_of(a, ta, lanes, step_ms, frames), _runs_of(b, tb, lanes, step_ms, frames),
                   frames, 1 << len(speakers))
    return speakers, cells


def frame_kappa(a: Annotation | Sequence[Turn] | Prepared, b: Annotation | Sequence[Turn] | Prepared, *,
                speaker: str | None = None, step: float = 0.01,
                duration: float | None = None) -> KappaCounts:
    """Cohen's kappa of two annotations frame by frame.

    With ``speaker`` the labels are speech/silence of that speaker; without, the set of active
    speakers. ``duration`` (seconds) defaults to the last turn end of either annotation.

    Raises:
        InputError: a step below 1 ms, or a turn ending after ``duration``.
    """
    speakers, cells = _merged(a, b, step, duration)
    size = 1 << len(speakers)
    if speaker is not None:
        if speaker not in speakers:  # nobody speaks: every frame is silence for both
            return _kappa([SILENCE, SPEECH], [sum(cells), 0, 0, 0])
        return _kappa([SILENCE, SPEECH], _speaker_cells(cells, size, speakers.index(speaker)))
    names = ["+".join(s for bit, s in enumerate(speakers) if value >> bit & 1) or SILENCE
             for value in range(size)]
    return _kappa(names, cells)


def frame_kappa_by_speaker(a: Annotation | Sequence[Turn] | Prepared, b: Annotation | Sequence[Turn] | Prepared,
                           *, step: float = 0.01, duration: float | None = None
                           ) -> dict[str, KappaCounts]:
    """:func:`frame_kappa` for each speaker label either annotation uses (one merge for all)."""
    speakers, cells = _merged(a, b, step, duration)
    size = 1 << len(speakers)
    return {s: _kappa([SILENCE, SPEECH], _speaker_cells(cells, size, bit))
            for bit, s in enumerate(speakers)}
