"""One task's QC: agreement between its annotators, WER against its reference, pre-label edits,
flags for review and the adopted annotation. Pure: no I/O, no Flask.

Figures of a task (:func:`compute_task`):

* **who spoke when** - Krippendorff's unitizing alpha of all its annotators (categories are the
  project's speakers, on the millisecond grid over the recording); per pair of annotators the
  2-coder unitizing alpha, Cohen's kappa of who-speaks per ``frame_step`` frame (labels: silence,
  ``A``, ``B``, ``A+B``; per speaker: speech/silence, derived from the same frames) and
  turn-boundary F1 within ``collar`` (per speaker, start with start and end with end);
* **the words** - WER between annotators per speaker over the whole conversation (a speaker's
  words in time order; symmetric: edits / mean word count) and each annotator's WER against the
  reference per speaker (the reference is N);
* **the disfluency tags** - Cohen's kappa of per-word disfluency tags on aligned words (the
  metrics' :func:`~casper_qc.metrics.disfluency_agreement.disfluency_agreement`) and
  Krippendorff's alpha per per-region choice of the label config (e.g. ``disfluency``);
* **pre-label edits** - what each annotator kept, moved, deleted and added of the prediction it
  started from (:func:`~casper_qc.metrics.prelabel_edits.prelabel_edits`).

Task-level pair figures pool the task's pairs (summed counts). Every figure is None when it is
undefined (one annotator, no words, one category), and a metric that cannot be computed on an
annotation (turns of one speaker overlapping) leaves its figure None with an omission saying why.

The **adopted annotation** (whose result is the corrected version) is, among the annotations
without structural problems: the one marked ground truth (the most recently updated if several);
else one a reviewer accepted (Label Studio Enterprise reviews; the latest); else the one that
agrees best with the others - lowest mean pairwise WER, then highest mean pairwise unitizing
alpha, then the earliest annotation id; else the only one.

Flags (:class:`Flag`) say why a task needs review, against :class:`~casper_qc.qc.settings.Thresholds`.

Each :class:`TaskQC` also carries its *contributions* to the report's aggregates (``tallies``:
per aggregate key a ``Counter`` of count cells, :mod:`casper_qc.qc.tally`; ``shared``: each
pair's cells with the aggregates they go to; ``parts``: unitizing counts per pool; all of them
through :meth:`TaskQC.contributions`) so the report can add or remove the task in time
independent of the project size.
Aggregate keys: ``("project",)``, ``("annotator", name)``, ``("pair", name_a, name_b)`` with
``name_a <= name_b``, ``("speaker", id)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterator, Sequence

from ..errors import InputError
from ..formats.labelconfig import LabelConfig
from ..metrics.boundaries import BoundaryCounts, boundary_counts
from ..metrics.choices import choice_agreement
from ..metrics.disfluency_agreement import disfluency_agreement
from ..metrics.editops import counted
from ..metrics.frames import SILENCE, frame_kappa
from ..metrics.kappa import KappaCounts
from ..metrics.normalize import get_normalizer
from ..metrics.prelabel_edits import EditCounts, prelabel_edits
from ..metrics.prepared import Prepared
from ..metrics.unitizing import UnitizingCounts, unitizing_alpha
from ..metrics.wer import WerCounts, count_counted
from ..model import Annotation, Task
from ..validate import check_annotation
from . import tally
from .references import Reference
from .settings import QCOptions, Thresholds
from .source import Omission, TaskInput

__all__ = ["Flag", "Adopted", "PairQC", "AnnotationQC", "TaskQC", "compute_task", "speaker_kappa"]

AggKey = tuple[Hashable, ...]


@dataclass(frozen=True)
class Flag:
    """A reason to review a task: a stable ``code`` and a one-line ``message``."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Adopted:
    """The adopted annotation of a task and why: ``ground_truth``, ``adjudicated``,
    ``consensus`` or ``only``."""

    annotation: Annotation
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"annotation": self.annotation.id, "annotator": self.annotation.label,
                "reason": self.reason, "detail": self.detail}


@dataclass
class PairQC:
    """Figures of one pair of annotations (indices ``a`` < ``b`` into the task's annotations)."""

    a: int
    b: int
    unitizing: UnitizingCounts | None = None
    frame: KappaCounts | None = None
    boundary: BoundaryCounts | None = None  # speakers matched by label
    wer: dict[str, WerCounts] = field(default_factory=dict)  # b against a, per speaker
    disfluency: Any = None  # DisfluencyAgreement
    summary: dict[str, float | None] = field(default_factory=dict)
    notes: list[Omission] = field(default_factory=list)  # what could not be computed

    def summarize(self, normalizer: str) -> None:
        """Cache the pair's figures (``unitizing_alpha``, ``frame_kappa``, ``boundary_f1``,
        ``pairwise_wer``, ``disfluency_kappa``)."""
        words = _sum(list(self.wer.values()), WerCounts(normalizer=normalizer))
        self.summary = {
            "unitizing_alpha": self.unitizing.alpha if self.unitizing is not None else None,
            "frame_kappa": self.frame.kappa if self.frame is not None else None,
            "boundary_f1": self.boundary.f1 if self.boundary is not None else None,
            "pairwise_wer": tally.symmetric_wer(words),
            "disfluency_kappa": self.disfluency.kappa.kappa if self.disfluency is not None else None,
        }


@dataclass
class AnnotationQC:
    """One annotation's own figures: against the reference (per speaker), its pre-label edits."""

    annotation: Annotation
    problems: list[str] = field(default_factory=list)
    reference_wer: dict[str, WerCounts] | None = None
    reference_boundary: BoundaryCounts | None = None
    prelabel: EditCounts | None = None
    prediction: Annotation | None = None
    review: bool | None = None


@dataclass
class TaskQC:
    """Everything the report holds about one task (module docstring)."""

    task: Task
    duration: float
    annotations: list[AnnotationQC]
    pairs: list[PairQC]
    unitizing: UnitizingCounts | None
    choices: dict[str, Any]
    reference: Reference | None
    flags: list[Flag]
    adopted: Adopted | None
    omissions: list[Omission]
    normalizer: str
    collar: float
    tallies: dict[AggKey, Counter] = field(default_factory=dict)
    shared: list[tuple[tuple[AggKey, ...], Counter]] = field(default_factory=list)
    parts: dict[AggKey, dict[Hashable, UnitizingCounts]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    speakers: tuple[str, ...] = ()

    @property
    def review(self) -> bool:
        return bool(self.flags)

    @property
    def task_id(self) -> Any:
        return self.task.id

    def contributions(self) -> Iterator[tuple[AggKey, Counter]]:
        """Every (aggregate key, count cells) this task adds: its own cells per aggregate, then
        each pair's cells once for each aggregate the pair belongs to."""
        yield from self.tallies.items()
        for keys, cells in self.shared:
            for key in keys:
                yield key, cells


# --------------------------------------------------------------------------- helpers


def _active(label: Any, speaker: str) -> str:
    return "speech" if label != SILENCE and speaker in str(label).split("+") else SILENCE


def _put_speaker_frames(cells: Counter, frame: KappaCounts, speaker: str) -> None:
    """Speech/silence frame cells of one speaker under ``("sframe",)``."""
    rows = frame.confusion.tolist()
    active = [_active(c, speaker) for c in frame.categories]
    for i, row in enumerate(rows):
        for j, n in enumerate(row):
            if n:
                cells[("sframe", active[i], active[j])] += n


def speaker_kappa(frame: KappaCounts, speaker: str) -> KappaCounts:
    """Speech/silence kappa of one speaker from a who-speaks frame confusion matrix (a frame
    label is ``silence`` or the active speakers joined by ``+``)."""
    cells: Counter = Counter()
    _put_speaker_frames(cells, frame, speaker)
    return tally.get_kappa(cells, ("sframe",))


def _sum(values: Sequence[Any], empty: Any) -> Any:
    values = [v for v in values if v is not None]
    return sum(values[1:], values[0]) if values else empty


def _duration(task: Task, annotations: Sequence[Annotation], reference: Reference | None) -> float:
    ends = [t.end for a in annotations for t in a.turns]
    if reference is not None and reference.annotation is not None:
        ends.extend(t.end for t in reference.annotation.turns)
    return max([task.conversation.duration or 0.0, *ends, 0.001])


def _latest_prediction(task: Task) -> Annotation | None:
    if not task.predictions:
        return None
    return max(task.predictions, key=lambda p: (p.created_at.timestamp() if p.created_at else 0.0,
                                               p.id if isinstance(p.id, int) else 0))


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


# --------------------------------------------------------------------------- computation


def compute_task(entry: TaskInput, config: LabelConfig, options: QCOptions, *,
                 reference: Reference | None = None, reference_notes: Sequence[Omission] = (),
                 previous: TaskQC | None = None) -> TaskQC:
    """The QC of one task (module docstring). ``reference`` is its file reference, if any; the
    task's ground-truth annotation is used when there is none.

    ``previous`` is the task's last result: figures of pairs whose two annotations are the very
    same objects (and of annotations against the same prediction or reference) are taken over
    from it when the recording's duration is unchanged, so a webhook that adds or changes one
    annotation computes only what that annotation takes part in.

    Each annotation (and prediction, and the reference's turns) is wrapped once in a
    :class:`~casper_qc.metrics.prepared.Prepared`, so its word streams, texts, tokens, turn
    times and partitions are computed once for all the task's figures.

    Never raises for bad annotations: problems become omissions and flags.
    """
    from .references import ground_truth_reference

    task = entry.task
    norm = get_normalizer(options.normalizer)
    speakers = sorted({config.speaker_id(v) for v in config.speaker_values}
                      | {t.speaker for a in task.annotations for t in a.turns})
    omissions: list[Omission] = list(entry.omissions) + list(reference_notes)
    if reference is None:
        reference = ground_truth_reference(task)
    annotations = list(task.annotations)
    duration = _duration(task, annotations, reference)
    if previous is not None and (previous.duration != duration or previous.speakers != tuple(speakers)
                                 or previous.normalizer != norm.name):
        previous = None
    old_pairs: dict[tuple[int, int], PairQC] = {}
    old_qcs: dict[int, AnnotationQC] = {}
    if previous is not None:
        old = [qc.annotation for qc in previous.annotations]
        old_pairs = {(id(old[p.a]), id(old[p.b])): p for p in previous.pairs}
        old_qcs = {id(qc.annotation): qc for qc in previous.annotations}

    qcs = [AnnotationQC(a, review=entry.reviews.get(a.id)) for a in annotations]
    for qc in qcs:
        qc.problems = [str(p) for p in check_annotation(qc.annotation, None)]
        if qc.problems:
            omissions.append(Omission("figure", f"unitizing alpha and exports skip it: {qc.problems[0]}",
                                      task=task.id, annotation=qc.annotation.id))
    # each annotation's streams, texts and tokens are computed once for all its figures
    preps = [Prepared(a) for a in annotations]

    # ---- pairs
    pairs: list[PairQC] = []
    for i in range(len(annotations)):
        for j in range(i + 1, len(annotations)):
            a, b = annotations[i], annotations[j]
            reused = old_pairs.get((id(a), id(b)))
            if reused is not None:
                pair = PairQC(i, j, reused.unitizing, reused.frame, reused.boundary, reused.wer, reused.disfluency,
                              reused.summary, reused.notes)
                omissions.extend(pair.notes)
                pairs.append(pair)
                continue
            pair = PairQC(i, j)
            if not (qcs[i].problems or qcs[j].problems):
                try:
                    pair.unitizing = unitizing_alpha([preps[i], preps[j]], duration, speakers=speakers)
                except InputError as err:
                    pair.notes.append(Omission("figure", f"unitizing alpha of {a.label} and {b.label}: {err}",
                                               task=task.id))
            pair.frame = frame_kappa(preps[i], preps[j], step=options.frame_step, duration=duration)
            pair.boundary = boundary_counts(preps[i], preps[j], collar=options.collar)
            for s in speakers:
                (ref, opt_ref), (hyp, opt_hyp) = preps[i].counted(s, norm), preps[j].counted(s, norm)
                pair.wer[s] = count_counted(ref, hyp, norm, optional_ref=opt_ref, optional_hyp=opt_hyp)
            if config.transcript_name is not None:
                pair.disfluency = disfluency_agreement(preps[i], preps[j])
            pair.summarize(norm.name)
            omissions.extend(pair.notes)
            pairs.append(pair)

    unitizing: UnitizingCounts | None = None
    clean = [prep for prep, qc in zip(preps, qcs) if not qc.problems]
    if len(clean) >= 2:
        if len(clean) == 2 and len(pairs) == 1 and pairs[0].unitizing is not None:
            unitizing = pairs[0].unitizing
        else:
            try:
                unitizing = unitizing_alpha(clean, duration, speakers=speakers)
            except InputError as err:
                omissions.append(Omission("figure", f"unitizing alpha: {err}", task=task.id))

    choices: dict[str, Any] = {}
    if len(annotations) >= 2:
        for spec in config.region_choices:
            choices[spec.name] = choice_agreement(preps, spec.name, min_iou=options.min_iou)

    # ---- reference
    same_reference = previous is not None and previous.reference == reference
    if reference is not None:
        reference_tokens: dict[str, tuple[list[str], int]] = {}
        reference_turns: Prepared | None = None
        for index, qc in enumerate(qcs):
            if reference.annotation_id is not None and qc.annotation.id == reference.annotation_id:
                continue  # the ground truth is not scored against itself
            before = old_qcs.get(id(qc.annotation)) if same_reference else None
            if before is not None and before.reference_wer is not None:
                qc.reference_wer, qc.reference_boundary = before.reference_wer, before.reference_boundary
                continue
            if not reference_tokens:
                for s, text in reference.texts.items():
                    tokens = norm.tokens(text)
                    kept = counted(tokens, norm.fillers)
                    reference_tokens[s] = (kept, len(tokens) - len(kept))
            qc.reference_wer = {}
            for s, (ref, opt_ref) in reference_tokens.items():
                hyp, opt_hyp = preps[index].counted(s, norm)
                qc.reference_wer[s] = count_counted(ref, hyp, norm, optional_ref=opt_ref, optional_hyp=opt_hyp)
            if reference.annotation is not None:
                if reference_turns is None:
                    reference_turns = Prepared(reference.annotation)
                scored = [t for t in qc.annotation.turns if t.speaker in reference.texts]
                # every turn scored (the usual case): the prepared annotation's boundaries serve
                mine = preps[index] if len(scored) == len(qc.annotation.turns) else scored
                qc.reference_boundary = boundary_counts(reference_turns, mine, collar=options.collar)
    else:
        omissions.append(Omission("reference", "no reference (no file for it, no ground-truth annotation): "
                                  "no WER against a reference", task=task.id))

    # ---- pre-label edits
    by_id = {p.id: p for p in task.predictions}
    latest = _latest_prediction(task)
    shown: dict[int, Prepared] = {}  # per prediction (by identity), prepared once for all annotations
    for index, qc in enumerate(qcs):
        parent = entry.parents.get(qc.annotation.id)
        prediction = by_id.get(parent) if parent is not None else latest
        if prediction is not None:
            qc.prediction = prediction
            before = old_qcs.get(id(qc.annotation))
            if before is not None and before.prediction is prediction and before.prelabel is not None:
                qc.prelabel = before.prelabel
            else:
                if id(prediction) not in shown:
                    shown[id(prediction)] = Prepared(prediction)
                qc.prelabel = prelabel_edits(shown[id(prediction)], preps[index])

    result = TaskQC(task, duration, qcs, pairs, unitizing, choices, reference, [], None, omissions,
                    norm.name, options.collar, speakers=tuple(speakers))
    result.adopted = _adopt(result)
    _contributions(result, speakers)
    result.figures = task_figures(result)
    result.flags = _flags(result, options.thresholds)
    if result.review:
        for key in [("project",), *(("annotator", n) for n in {qc.annotation.label for qc in qcs})]:
            result.tallies[key][("n", "flagged")] += 1
    return result


# --------------------------------------------------------------------------- task-level views


def task_figures(tq: TaskQC) -> dict[str, Any]:
    """The task's agreement figures, its pairs pooled (their counts summed: the same sums the
    aggregates hold)."""
    pooled = bool(tq.pairs)
    words = _sum([p.wer[s] for s in tq.speakers for p in tq.pairs], WerCounts(normalizer=tq.normalizer))
    boundaries = _sum([p.boundary for p in tq.pairs], BoundaryCounts(collar=tq.collar))
    frames = [p.frame for p in tq.pairs if p.frame is not None]
    tags = [p.disfluency.kappa for p in tq.pairs if p.disfluency is not None]
    return {
        "unitizing_alpha": tq.unitizing.alpha if tq.unitizing is not None else None,
        "frame_kappa": _pooled_kappa(frames) if pooled else None,
        "boundary_f1": boundaries.f1 if pooled else None,
        "pairwise_wer": tally.symmetric_wer(words) if pooled and tq.speakers else None,
        "disfluency_kappa": _pooled_kappa(tags) if pooled else None,
        "choices": {name: c.value for name, c in tq.choices.items()},
    }


def _pooled_kappa(parts: Sequence[KappaCounts]) -> float | None:
    """Kappa of the summed confusion matrices (None without any: no unit)."""
    if len(parts) == 1:
        return parts[0].kappa
    return sum(parts[1:], parts[0]).kappa if parts else None


def _mean(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def annotation_agreement(tq: TaskQC, index: int) -> dict[str, float | None]:
    """Mean pairwise figures of annotation ``index`` with the task's other annotations."""
    mine = [p.summary for p in tq.pairs if index in (p.a, p.b)]
    return {name: _mean([m[name] for m in mine])
            for name in ("pairwise_wer", "unitizing_alpha", "frame_kappa", "boundary_f1")}


def reference_wer(qc: AnnotationQC, normalizer: str) -> WerCounts | None:
    if qc.reference_wer is None:
        return None
    return _sum(list(qc.reference_wer.values()), WerCounts(normalizer=normalizer))


def _adopt(tq: TaskQC) -> Adopted | None:
    candidates = [(k, qc) for k, qc in enumerate(tq.annotations) if not qc.problems]
    if not candidates:
        return None

    def recency(a: Annotation) -> tuple:
        return (a.updated_at.timestamp() if a.updated_at else 0.0, a.id if isinstance(a.id, int) else 0)

    truth = [qc.annotation for _, qc in candidates if qc.annotation.ground_truth]
    if truth:
        chosen = max(truth, key=recency)
        return Adopted(chosen, "ground_truth", "marked ground truth in Label Studio")
    accepted = [qc.annotation for _, qc in candidates if qc.review is True]
    if accepted:
        chosen = max(accepted, key=recency)
        return Adopted(chosen, "adjudicated", "accepted by a reviewer")
    if len(candidates) == 1:
        return Adopted(candidates[0][1].annotation, "only", "the only annotation that can be exported")

    def key(item: tuple[int, AnnotationQC]) -> tuple:
        index, qc = item
        figures = annotation_agreement(tq, index)
        wer = figures["pairwise_wer"]
        alpha = figures["unitizing_alpha"]
        ident = qc.annotation.id if isinstance(qc.annotation.id, int) else 0
        return (wer if wer is not None else float("inf"), -(alpha if alpha is not None else -2.0), ident)

    index, best = min(candidates, key=key)
    figures = annotation_agreement(tq, index)
    return Adopted(best.annotation, "consensus",
                   f"agrees best with the others: mean pairwise WER {_fmt(figures['pairwise_wer'])}, "
                   f"mean pairwise unitizing alpha {_fmt(figures['unitizing_alpha'])}")


def _flags(tq: TaskQC, limits: Thresholds) -> list[Flag]:
    flags: list[Flag] = []
    count = len(tq.annotations)
    if count == 0:
        flags.append(Flag("no-annotations", "no annotation to check (none, or all cancelled or unreadable)"))
    elif limits.min_annotators is not None and count < limits.min_annotators:
        only_truth = count == 1 and tq.annotations[0].annotation.ground_truth
        if not only_truth:
            flags.append(Flag("too-few-annotators", f"{count} annotator(s), fewer than {limits.min_annotators}: "
                              "agreement cannot be checked"))
    left_out = [o for o in tq.omissions if o.what in ("annotation", "prediction")]
    if left_out:
        flags.append(Flag("unreadable-annotation", f"{len(left_out)} annotation(s)/prediction(s) left out: {left_out[0]}"))
    broken = [qc for qc in tq.annotations if qc.problems]
    if broken:
        flags.append(Flag("invalid-annotation", f"annotation {broken[0].annotation.id} ({broken[0].annotation.label}): "
                          f"{broken[0].problems[0]}"))
    if count and tq.adopted is None:
        flags.append(Flag("nothing-to-adopt", "no annotation can be adopted (each has structural problems)"))
    figures = tq.figures

    def below(name: str, value: float | None, limit: float | None, code: str) -> None:
        if value is not None and limit is not None and value < limit:
            flags.append(Flag(code, f"{name} {value:.3f} is below {limit:g}"))

    def above(name: str, value: float | None, limit: float | None, code: str) -> None:
        if value is not None and limit is not None and value > limit:
            flags.append(Flag(code, f"{name} {value:.3f} is above {limit:g}"))

    below("unitizing alpha", figures["unitizing_alpha"], limits.min_unitizing_alpha, "low-unitizing-alpha")
    below("frame kappa", figures["frame_kappa"], limits.min_frame_kappa, "low-frame-kappa")
    below("boundary F1", figures["boundary_f1"], limits.min_boundary_f1, "low-boundary-f1")
    above("pairwise WER", figures["pairwise_wer"], limits.max_pairwise_wer, "high-pairwise-wer")
    below("disfluency tag kappa", figures["disfluency_kappa"], limits.min_disfluency_kappa, "low-disfluency-kappa")
    for name, value in figures["choices"].items():
        below(f"choice {name!r} alpha", value, limits.min_choice_alpha, "low-choice-alpha")
    if limits.max_reference_wer is not None:
        for qc in tq.annotations:
            counts = reference_wer(qc, tq.normalizer)
            if counts is not None and counts.wer is not None and counts.wer > limits.max_reference_wer:
                flags.append(Flag("high-reference-wer", f"{qc.annotation.label}: WER {counts.wer:.3f} against the "
                                  f"reference is above {limits.max_reference_wer:g}"))
    return flags


# --------------------------------------------------------------------------- contributions


def _contributions(tq: TaskQC, speakers: Sequence[str]) -> None:
    """Fill ``tq.tallies``, ``tq.shared`` and ``tq.parts`` (see the module docstring)."""
    tallies: dict[AggKey, Counter] = {}
    shared: list[tuple[tuple[AggKey, ...], Counter]] = []
    parts: dict[AggKey, dict[Hashable, UnitizingCounts]] = {}

    def cells(key: AggKey) -> Counter:
        found = tallies.get(key)
        if found is None:
            found = tallies[key] = Counter()
        return found

    names = [qc.annotation.label for qc in tq.annotations]
    project = cells(("project",))
    project[("n", "tasks")] += 1
    project[("n", "annotations")] += len(tq.annotations)
    if tq.reference is not None:
        project[("n", "with_reference")] += 1
    if len(tq.annotations) >= 2:
        project[("n", "with_agreement")] += 1
    for name in set(names):
        person = cells(("annotator", name))
        person[("n", "tasks")] += 1
    for qc in tq.annotations:
        person = cells(("annotator", qc.annotation.label))
        person[("n", "annotations")] += 1
        person[("n", "turns")] += len(qc.annotation.turns)
        person[("n", "words")] += sum(len(t.words) if t.words else len(t.text.split()) for t in qc.annotation.turns)
        if qc.annotation.lead_time is not None:
            person[("lead_time",)] += qc.annotation.lead_time
            person[("n", "timed")] += 1
        if tq.adopted is not None and tq.adopted.annotation is qc.annotation:
            person[("n", "adopted")] += 1
        targets = [project, person]
        if qc.reference_wer is not None:
            for s, counts in qc.reference_wer.items():
                for target in (*targets, cells(("speaker", s))):
                    tally.put_wer(target, ("rwer", s), counts)
            project[("n", "scored_annotations")] += 1
        if qc.reference_boundary is not None:
            for target in targets:
                tally.put_boundary(target, ("rbound",), qc.reference_boundary)
        if qc.prelabel is not None:
            for target in targets:
                _put_edits(target, qc.prelabel)
    for pair in tq.pairs:
        a, b = sorted((names[pair.a], names[pair.b]))
        groups: tuple[AggKey, ...] = (("project",), ("pair", a, b), ("annotator", names[pair.a]))
        if names[pair.b] != names[pair.a]:
            groups += (("annotator", names[pair.b]),)
        mine: Counter = Counter()  # integer counts only (the report sums them in any order)
        mine[("n", "pairs")] += 1
        if pair.frame is not None:
            tally.put_kappa(mine, ("frame",), pair.frame)
        if pair.boundary is not None:
            tally.put_boundary(mine, ("pbound",), pair.boundary)
        for s in speakers:
            tally.put_wer(mine, ("pwer", s), pair.wer[s])
        if pair.disfluency is not None:
            tally.put_kappa(mine, ("tags",), pair.disfluency.kappa)
        shared.append((groups, mine))
        for s in speakers:
            speaker = cells(("speaker", s))
            tally.put_wer(speaker, ("pwer", s), pair.wer[s])
            if pair.frame is not None:
                _put_speaker_frames(speaker, pair.frame, s)
        if pair.unitizing is not None:
            key = (tq.task.id, tq.annotations[pair.a].annotation.id, tq.annotations[pair.b].annotation.id)
            pool_keys = [("project",), ("pair", a, b), ("annotator", names[pair.a]), ("annotator", names[pair.b])]
            for pool in dict.fromkeys(pool_keys):
                parts.setdefault(pool, {})[key] = pair.unitizing
    for name, counts in tq.choices.items():
        tally.put_alpha(project, ("choice", name), counts.alpha)
        project[("choice", name, "#regions")] += counts.regions
        project[("choice", name, "#unmatched")] += counts.unmatched
    for s in speakers:
        cells(("speaker", s))[("n", "tasks")] += 1
    tq.tallies = tallies
    tq.shared = shared
    tq.parts = parts


_EDIT_INTS = ("predicted", "annotated", "kept", "moved", "deleted", "added", "relabelled", "shift_ms",
              "tag_changes", "tagged_words", "choice_changes")


def _put_edits(cells: Counter, edits: EditCounts) -> None:
    cells[("edits", "#annotations")] += 1
    for name in _EDIT_INTS:
        value = getattr(edits, name)
        if value:
            cells[("edits", name)] += value
    tally.put_wer(cells, ("edits", "words"), edits.words)


def get_edits(cells: Counter) -> EditCounts | None:
    """The pre-label edits summed in ``cells`` (None when no annotation had a prediction)."""
    if not cells.get(("edits", "#annotations")):
        return None
    from ..metrics.normalize import VERBATIM

    values = {name: int(cells.get(("edits", name), 0)) for name in _EDIT_INTS}
    return EditCounts(words=tally.get_wer(cells, ("edits", "words"), VERBATIM), **values)
