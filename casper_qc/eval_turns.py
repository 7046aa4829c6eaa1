"""Evaluating speaker turns against a reference: DER and its parts, per-speaker frame F1,
crosstalk taken as speech, and turn-boundary precision/recall/F1.

Definitions (times in seconds, computed exactly on the intervals, no frame grid):

* **Scored region**: everything except collars of ``±collar`` seconds around every reference
  turn's start and end (NIST md-eval's ``-c 0.25`` is ``collar=0.25`` here; pyannote.metrics
  calls the same thing ``collar=0.5``, the total width). Overlapping speech is scored.
* **DER** = (missed + false alarm + confusion) / reference speech, as in pyannote.metrics: at each
  instant with ``n_ref`` reference and ``n_hyp`` hypothesis speakers, missed = max(0, n_ref -
  n_hyp), false alarm = max(0, n_hyp - n_ref), confusion = min(n_ref, n_hyp) - correct, where
  *correct* counts reference speakers whose mapped hypothesis speaker is active. The mapping is
  the one-to-one reference <-> hypothesis speaker mapping that maximises co-occurring time
  (Hungarian algorithm), the "best mapping" also used for mono mixes.
* **Frame F1** per reference speaker: precision/recall of the mapped hypothesis speaker's
  activity against theirs (scored region). For stereo recordings this is the per-channel F1.
* **Crosstalk** taken as speech: time a hypothesis speaker is active while their reference
  speaker is silent and another reference speaker talks, over the time another reference
  speaker talks while theirs is silent (the other talker's solo time).
* **Turn boundaries**: every turn start and end is a boundary of its speaker; a hypothesis
  boundary matches a reference boundary of the mapped speaker and the same kind (start/end)
  within ``±collar``, one-to-one, as many as can be
  (:func:`casper_qc.metrics.boundaries.match_points`, on the millisecond grid the model's times
  live on). Unlike :func:`casper_qc.metrics.boundaries.boundary_counts`, which pairs speakers by
  label (annotators share a label set), speakers are paired by the mapping above: a
  hypothesis's labels are arbitrary.

:class:`TurnScores` holds additive counts; corpus rates are derived from summed counts
(summed errors over summed reference time), never averaged over files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import InputError
from .model import Annotation, Conversation, to_ms
from .structure import merge_intervals

__all__ = ["TurnScores", "evaluate_turns", "load_turns", "evaluate_files", "speaker_mapping"]


@dataclass
class TurnScores:
    """Additive evaluation counts (seconds and boundary counts); ``+`` sums two of them."""

    files: int = 0
    reference: float = 0.0
    missed: float = 0.0
    false_alarm: float = 0.0
    confusion: float = 0.0
    crosstalk: float = 0.0
    other_solo: float = 0.0
    tp: dict[str, float] = field(default_factory=dict)
    fp: dict[str, float] = field(default_factory=dict)
    fn: dict[str, float] = field(default_factory=dict)
    boundaries_ref: int = 0
    boundaries_hyp: int = 0
    boundaries_matched: int = 0
    mapping: dict[str, str | None] = field(default_factory=dict)

    def __add__(self, other: "TurnScores") -> "TurnScores":
        def add(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
            return {k: a.get(k, 0.0) + b.get(k, 0.0) for k in sorted({*a, *b})}

        return TurnScores(
            files=self.files + other.files, reference=self.reference + other.reference,
            missed=self.missed + other.missed, false_alarm=self.false_alarm + other.false_alarm,
            confusion=self.confusion + other.confusion, crosstalk=self.crosstalk + other.crosstalk,
            other_solo=self.other_solo + other.other_solo, tp=add(self.tp, other.tp),
            fp=add(self.fp, other.fp), fn=add(self.fn, other.fn),
            boundaries_ref=self.boundaries_ref + other.boundaries_ref,
            boundaries_hyp=self.boundaries_hyp + other.boundaries_hyp,
            boundaries_matched=self.boundaries_matched + other.boundaries_matched)

    @staticmethod
    def _ratio(a: float, b: float) -> float:
        return a / b if b > 0 else 0.0

    @property
    def der(self) -> float:
        return self._ratio(self.missed + self.false_alarm + self.confusion, self.reference)

    @property
    def crosstalk_rate(self) -> float:
        return self._ratio(self.crosstalk, self.other_solo)

    def f1(self, speaker: str | None = None) -> float:
        """Frame F1 of one reference speaker, or pooled over all (from summed counts)."""
        keys = [speaker] if speaker is not None else list(self.tp)
        tp = sum(self.tp.get(k, 0.0) for k in keys)
        fp = sum(self.fp.get(k, 0.0) for k in keys)
        fn = sum(self.fn.get(k, 0.0) for k in keys)
        return self._ratio(2 * tp, 2 * tp + fp + fn)

    @property
    def boundary_precision(self) -> float:
        return self._ratio(self.boundaries_matched, self.boundaries_hyp)

    @property
    def boundary_recall(self) -> float:
        return self._ratio(self.boundaries_matched, self.boundaries_ref)

    @property
    def boundary_f1(self) -> float:
        return self._ratio(2 * self.boundaries_matched, self.boundaries_ref + self.boundaries_hyp)

    def to_dict(self) -> dict:
        """Counts and the rates derived from them (JSON-ready)."""
        return {
            "files": self.files, "reference_speech": round(self.reference, 3),
            "missed": round(self.missed, 3), "false_alarm": round(self.false_alarm, 3),
            "confusion": round(self.confusion, 3), "der": round(self.der, 4),
            "missed_rate": round(self._ratio(self.missed, self.reference), 4),
            "false_alarm_rate": round(self._ratio(self.false_alarm, self.reference), 4),
            "confusion_rate": round(self._ratio(self.confusion, self.reference), 4),
            "crosstalk": round(self.crosstalk, 3), "other_solo": round(self.other_solo, 3),
            "crosstalk_rate": round(self.crosstalk_rate, 4),
            "frame_f1": {k: round(self.f1(k), 4) for k in self.tp} | {"all": round(self.f1(), 4)},
            "boundaries": {"reference": self.boundaries_ref, "hypothesis": self.boundaries_hyp,
                           "matched": self.boundaries_matched,
                           "precision": round(self.boundary_precision, 4),
                           "recall": round(self.boundary_recall, 4),
                           "f1": round(self.boundary_f1, 4)},
            **({"mapping": dict(self.mapping)} if self.mapping else {}),
        }


def _by_speaker(annotation: Annotation) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for turn in annotation.turns:
        out.setdefault(turn.speaker, []).append((turn.start, turn.end))
    return {s: merge_intervals(v) for s, v in out.items()}


def _elementary(points: Iterable[float]) -> list[float]:
    return sorted(set(points))


def _active(intervals: list[tuple[float, float]], points: list[float]) -> list[bool]:
    """For each elementary interval [points[i], points[i+1]), whether it lies in ``intervals``."""
    flags = [False] * max(0, len(points) - 1)
    j = 0
    for i in range(len(points) - 1):
        middle = (points[i] + points[i + 1]) / 2
        while j < len(intervals) and intervals[j][1] <= middle:
            j += 1
        flags[i] = j < len(intervals) and intervals[j][0] <= middle < intervals[j][1]
    return flags


def speaker_mapping(cooccurrence: Mapping[tuple[str, str], float], ref: Sequence[str],
                    hyp: Sequence[str]) -> dict[str, str | None]:
    """The one-to-one reference -> hypothesis mapping maximising co-occurring time."""
    if not ref or not hyp:
        return {r: None for r in ref}
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    matrix = np.array([[cooccurrence.get((r, h), 0.0) for h in hyp] for r in ref])
    rows, cols = linear_sum_assignment(-matrix)
    mapping: dict[str, str | None] = {r: None for r in ref}
    for i, j in zip(rows, cols):
        if matrix[i, j] > 0 or len(ref) == len(hyp):
            mapping[ref[i]] = hyp[j]
    return mapping


def evaluate_turns(reference: Annotation, hypothesis: Annotation, *, collar: float = 0.25
                   ) -> TurnScores:
    """Scores of one hypothesis against one reference (see the module docstring).

    Raises:
        ValueError: a negative collar.
    """
    from .metrics.boundaries import match_points

    if collar < 0:
        raise ValueError("collar must not be negative")
    ref = _by_speaker(reference)
    hyp = _by_speaker(hypothesis)
    collars = merge_intervals((t - collar, t + collar) for turn in reference.turns
                              for t in (turn.start, turn.end)) if collar > 0 else []
    points = _elementary([t for v in (*ref.values(), *hyp.values(), collars) for a, b in v
                          for t in (a, b)])
    lengths = [b - a for a, b in zip(points, points[1:])]
    scored = [not c for c in _active(collars, points)]
    ref_names, hyp_names = sorted(ref), sorted(hyp)
    ref_on = {s: _active(ref[s], points) for s in ref_names}
    hyp_on = {s: _active(hyp[s], points) for s in hyp_names}

    co: dict[tuple[str, str], float] = {}
    for r in ref_names:
        for h in hyp_names:
            co[(r, h)] = sum(l for l, s, a, b in zip(lengths, scored, ref_on[r], hyp_on[h])
                             if s and a and b)
    mapping = speaker_mapping(co, ref_names, hyp_names)
    scores = TurnScores(files=1, mapping=dict(mapping))
    for i, length in enumerate(lengths):
        if not scored[i] or length <= 0:
            continue
        active_ref = [r for r in ref_names if ref_on[r][i]]
        active_hyp = {h for h in hyp_names if hyp_on[h][i]}
        n_ref, n_hyp = len(active_ref), len(active_hyp)
        correct = sum(1 for r in active_ref if mapping.get(r) in active_hyp)
        scores.reference += n_ref * length
        scores.missed += max(0, n_ref - n_hyp) * length
        scores.false_alarm += max(0, n_hyp - n_ref) * length
        scores.confusion += (min(n_ref, n_hyp) - correct) * length
        for r in ref_names:
            h = mapping.get(r)
            r_on = ref_on[r][i]
            h_on = h is not None and hyp_on[h][i]
            if r_on and h_on:
                scores.tp[r] = scores.tp.get(r, 0.0) + length
            elif h_on:
                scores.fp[r] = scores.fp.get(r, 0.0) + length
            elif r_on:
                scores.fn[r] = scores.fn.get(r, 0.0) + length
            others = any(ref_on[o][i] for o in ref_names if o != r)
            if others and not r_on:
                scores.other_solo += length
                if h_on:
                    scores.crosstalk += length
    for r in ref_names:
        for table in (scores.tp, scores.fp, scores.fn):
            table.setdefault(r, 0.0)

    # Boundaries are whole milliseconds, so within ±collar (and 1e-9 s of float slack) is within
    # this many milliseconds, whatever the collar.
    collar_ms = math.floor(collar * 1000 + 1e-6)
    for kind in ("start", "end"):
        for r in ref_names:
            ref_points = [to_ms(getattr(t, kind)) for t in reference.turns if t.speaker == r]
            h = mapping.get(r)
            hyp_points = [to_ms(getattr(t, kind)) for t in hypothesis.turns if h is not None and t.speaker == h]
            scores.boundaries_matched += len(match_points(ref_points, hyp_points, collar_ms))
        scores.boundaries_ref += len(reference.turns)
        scores.boundaries_hyp += len(hypothesis.turns)
    return scores


def load_turns(path: str | os.PathLike[str]) -> list[tuple[Conversation, Annotation]]:
    """Conversations and turns from an RTTM (``.rttm``), TextGrid (``.TextGrid``) or our
    Lhotse supervisions JSONL (``.jsonl``) file.

    Raises:
        InputError: an unknown extension, or what the format reader raises (one line).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError("no such file", where=str(path))
    if suffix == ".rttm":
        from .formats.rttm import read_rttm
        return read_rttm(path)
    if suffix == ".textgrid":
        from .formats.textgrid import read_textgrid
        conversation, annotation = read_textgrid(path)
        return [(conversation, annotation)]
    if suffix in (".jsonl", ".json"):
        from .formats.jsonl import read_supervisions
        return list(read_supervisions(path))
    raise InputError(f"unknown turn file type {path.suffix!r}: expected .rttm, .TextGrid or .jsonl",
                     where=str(path))


def evaluate_files(reference: str | os.PathLike[str], hypothesis: str | os.PathLike[str], *,
                   collar: float = 0.25) -> tuple[TurnScores, dict[str, TurnScores]]:
    """Score every conversation of ``hypothesis`` against ``reference``; returns the summed
    scores and the scores per conversation id. Conversations are paired by id; when each file
    holds exactly one they are paired whatever their ids. A reference conversation without a
    hypothesis is scored against an empty one (all missed).

    Raises:
        InputError: unreadable files, or a hypothesis conversation the reference lacks.
    """
    refs = load_turns(reference)
    hyps = load_turns(hypothesis)
    if len(refs) == 1 and len(hyps) == 1:
        pairs = [(refs[0][0].id, refs[0][1], hyps[0][1])]
    else:
        by_id = {c.id: a for c, a in hyps}
        ref_ids = {c.id for c, _ in refs}
        extra = sorted(set(by_id) - ref_ids)
        if extra:
            raise InputError(f"hypothesis has conversation(s) the reference lacks: {', '.join(extra)}",
                             where=str(hypothesis))
        pairs = [(c.id, a, by_id.get(c.id, Annotation(c.id, origin="prediction"))) for c, a in refs]
    per_file: dict[str, TurnScores] = {}
    total = TurnScores()
    for name, ref_annotation, hyp_annotation in pairs:
        scores = evaluate_turns(ref_annotation, hyp_annotation, collar=collar)
        per_file[name] = scores
        total = total + scores
    return total, per_file
