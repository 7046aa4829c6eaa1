"""The QC report of a project: per task, per annotator, per pair of annotators, per speaker and
for the whole project, updated one task at a time.

:class:`QCReport` holds each task's :class:`~casper_qc.qc.taskqc.TaskQC` and the sums of their
contributions: count cells per aggregate (:mod:`casper_qc.qc.tally`) and pooled unitizing alpha
per aggregate (:class:`~casper_qc.qc.upool.UnitizingPool`). :meth:`QCReport.put` replaces one
task (subtract its old contributions, add the new ones), so a webhook costs one task's
recomputation plus work proportional to that task, not to the project.

Aggregate figures are *pooled*: sums of counts over tasks, never means of per-task rates. The
pooled unitizing alpha of the project, an annotator or a pair treats each pair of annotators on
each task as one 2-coder continuum (a task's own alpha uses all its annotators at once), so it is
defined for any mix of 1, 2, 3... annotators per task. Per annotator, agreement figures pool the
pairs the annotator is part of ("how well they agree with the others").

JSON (:meth:`QCReport.to_json`), keys stable (documented in the service's OpenAPI description,
``components.schemas.Report``): ``project`` (figures and counts), ``tasks`` (one object per
task), ``annotators``, ``pairs``, ``speakers``, ``omissions`` (everything left out, so a partial
report says what it lacks), ``source``, ``settings``, ``schema``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any, Hashable, Iterable

from . import tally
from .settings import QCOptions
from .source import Omission
from .taskqc import AggKey, TaskQC, annotation_agreement, get_edits, reference_wer, speaker_kappa
from .upool import UnitizingPool

__all__ = ["QCReport", "SCHEMA"]

#: The report's schema name and version (bumped when a key changes meaning).
SCHEMA = "casper-qc/qc-report/1"

_HISTOGRAM_EDGES = tuple(round(-0.2 + 0.1 * k, 1) for k in range(13))  # -0.2 .. 1.0


class QCReport:
    """A project's QC (module docstring). Build it with :meth:`build`, change it with
    :meth:`put` / :meth:`drop`; read it with :meth:`to_json` and the ``*_rows`` methods."""

    def __init__(self, options: QCOptions, *, speakers: Iterable[str] = (), source: dict[str, Any] | None = None,
                 references: dict[str, Any] | None = None) -> None:
        self.options = options
        self.speakers = tuple(speakers)
        self.source = dict(source or {})
        self.references = dict(references or {"directory": None, "conversations": 0, "ignored": []})
        self.tasks: dict[Any, TaskQC] = {}
        self.omissions: list[Omission] = []  # project-level (tasks left out whole)
        self._cells: dict[AggKey, Counter] = {}
        self._pools: dict[AggKey, UnitizingPool] = {}
        self._task_json: dict[Any, dict[str, Any]] = {}
        self.updated_at = datetime.now(timezone.utc)
        self.version = 0

    # ----------------------------------------------------------------- building and updating

    def build(self, results: Iterable[TaskQC]) -> "QCReport":
        """Replace the contents by ``results`` in one pass; returns self."""
        self.tasks = {}
        self._cells = {}
        parts: dict[AggKey, dict[Hashable, Any]] = {}
        # a pair's cells go to several aggregates (project, the pair, both annotators): summed
        # per such group first, then into each aggregate once (integer counts: same sums)
        shared: dict[tuple[AggKey, ...], Counter] = {}
        for tq in results:
            self.tasks[tq.task_id] = tq
            for key, cells in tq.tallies.items():
                tally.add_into(self._aggregate(key), cells)
            for keys, cells in tq.shared:
                group = shared.get(keys)
                if group is None:
                    group = shared[keys] = Counter()
                tally.add_into(group, cells)
            for pool, found in tq.parts.items():
                parts.setdefault(pool, {}).update(found)
        for keys, cells in shared.items():
            for key in keys:
                tally.add_into(self._aggregate(key), cells)
        self._pools = {key: UnitizingPool().build(found) for key, found in parts.items()}
        self._task_json = {}
        self._touch()
        return self

    def put(self, tq: TaskQC) -> None:
        """Add ``tq``, or replace the task with its id (keeping its place in the order).

        Unitizing parts that are the same objects as before (pairs whose annotations did not
        change) stay in their pools; the others leave and enter each pool in one batch."""
        old = self.tasks.get(tq.task_id)
        self._replace_cells(old, tq)
        old_parts = old.parts if old is not None else {}
        for pool in dict.fromkeys([*old_parts, *tq.parts]):
            before, after = old_parts.get(pool, {}), tq.parts.get(pool, {})
            remove = [k for k in before if after.get(k) is not before[k]]
            add = {k: v for k, v in after.items() if before.get(k) is not v}
            if not remove and not add:
                continue
            target = self._pools.setdefault(pool, UnitizingPool())
            target.update(remove, add)
            if not len(target):
                del self._pools[pool]
        self.tasks[tq.task_id] = tq
        self._task_json.pop(tq.task_id, None)
        self._touch()

    def drop(self, task_id: Any) -> bool:
        """Remove the task ``task_id``; False if the report has no such task."""
        old = self.tasks.pop(task_id, None)
        if old is None:
            return False
        self._replace_cells(old, None)
        for pool, found in old.parts.items():
            target = self._pools.get(pool)
            if target is not None:
                target.update(list(found), {})
                if not len(target):
                    del self._pools[pool]
        self._task_json.pop(task_id, None)
        self._touch()
        return True

    def _replace_cells(self, old: TaskQC | None, new: TaskQC | None) -> None:
        """Subtract a task's old count cells from the aggregates and add its new ones."""
        if old is not None:
            for key, cells in old.contributions():
                total = self._cells.get(key)
                if total is not None:
                    tally.subtract_from(total, cells)
                    if not any(v for v in total.values()):
                        del self._cells[key]
        if new is not None:
            for key, cells in new.contributions():
                tally.add_into(self._aggregate(key), cells)

    def _aggregate(self, key: AggKey) -> Counter:
        """The summed cells of one aggregate (created empty on first use)."""
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = Counter()
        return cells

    def _touch(self) -> None:
        self.version += 1
        self.updated_at = datetime.now(timezone.utc)

    # ----------------------------------------------------------------- figures

    def _figures(self, cells: Counter, pool: UnitizingPool | None, speakers: Iterable[str]) -> dict[str, Any]:
        norm, collar = self.options.normalizer, self.options.collar
        speakers = list(speakers)
        words = sum((tally.get_wer(cells, ("pwer", s), norm) for s in speakers), tally.get_wer(Counter(), (), norm))
        boundary = tally.get_boundary(cells, ("pbound",), collar)
        frame = tally.get_kappa(cells, ("frame",))
        tags = tally.get_kappa(cells, ("tags",))
        return {
            "unitizing_alpha": pool.alpha if pool is not None else None,
            "frame_kappa": frame.kappa,
            "boundary_f1": boundary.f1,
            "pairwise_wer": tally.symmetric_wer(words),
            "disfluency_kappa": tags.kappa,
            "pairs": int(cells.get(("n", "pairs"), 0)),
            "words": words.to_dict(),
            "frame": {"units": frame.units, "undefined_reason": frame.undefined_reason},
            "disfluency": {"aligned_words": tags.units, "undefined_reason": tags.undefined_reason},
            "boundaries": boundary.to_dict(),
        }

    def _reference(self, cells: Counter, speakers: Iterable[str]) -> dict[str, Any]:
        norm, collar = self.options.normalizer, self.options.collar
        speakers = list(speakers)
        words = sum((tally.get_wer(cells, ("rwer", s), norm) for s in speakers), tally.get_wer(Counter(), (), norm))
        boundary = tally.get_boundary(cells, ("rbound",), collar)
        return {"wer": words.wer, "words": words.to_dict(),
                "boundary_f1": boundary.f1 if boundary.ref_boundaries or boundary.hyp_boundaries else None}

    def project(self) -> dict[str, Any]:
        """Project figures: counts, agreement (pooled), reference WER, pre-label edits, choices."""
        cells = self._cells.get(("project",), Counter())
        agreement = self._figures(cells, self._pools.get(("project",)), self.speakers)
        choices = {}
        for spec_name in sorted({k[1] for k in cells if len(k) >= 2 and k[0] == "choice"}):
            alpha = tally.get_alpha(cells, ("choice", spec_name))
            choices[spec_name] = {"alpha": alpha.alpha, "units": alpha.units,
                                  "regions": int(cells.get(("choice", spec_name, "#regions"), 0)),
                                  "unmatched": int(cells.get(("choice", spec_name, "#unmatched"), 0)),
                                  "undefined_reason": alpha.undefined_reason}
        agreement["choices"] = choices
        edits = get_edits(cells)
        omissions = self.all_omissions()
        return {
            "tasks": len(self.tasks),
            "tasks_left_out": len(self.omissions),
            "annotations": int(cells.get(("n", "annotations"), 0)),
            "annotators": len(self.annotator_names()),
            "tasks_with_agreement": int(cells.get(("n", "with_agreement"), 0)),
            "tasks_with_reference": int(cells.get(("n", "with_reference"), 0)),
            "flagged_tasks": int(cells.get(("n", "flagged"), 0)),
            "agreement": agreement,
            "reference": self._reference(cells, self.speakers),
            "prelabel": edits.to_dict() if edits is not None else None,
            "partial": bool(omissions),
            "omitted": dict(Counter(o.what for o in omissions)),
            "updated_at": self.updated_at.isoformat(timespec="milliseconds"),
            "version": self.version,
        }

    def annotator_names(self) -> list[str]:
        return sorted(k[1] for k in self._cells if k[0] == "annotator")

    def annotator_rows(self) -> list[dict[str, Any]]:
        """Per annotator: their tasks, agreement with the others (pooled over their pairs),
        WER against the references, pre-label edits, lead time."""
        rows = []
        for name in self.annotator_names():
            cells = self._cells[("annotator", name)]
            timed = int(cells.get(("n", "timed"), 0))
            edits = get_edits(cells)
            ids = sorted({qc.annotation.annotator_id for tq in self.tasks.values() for qc in tq.annotations
                          if qc.annotation.label == name and qc.annotation.annotator_id is not None})
            rows.append({
                "annotator": name,
                "annotator_id": ids[0] if len(ids) == 1 else None,
                "tasks": int(cells.get(("n", "tasks"), 0)),
                "annotations": int(cells.get(("n", "annotations"), 0)),
                "flagged_tasks": int(cells.get(("n", "flagged"), 0)),
                "adopted": int(cells.get(("n", "adopted"), 0)),
                "turns": int(cells.get(("n", "turns"), 0)),
                "words": int(cells.get(("n", "words"), 0)),
                "mean_lead_time": cells.get(("lead_time",), 0.0) / timed if timed else None,
                "agreement": self._figures(cells, self._pools.get(("annotator", name)), self.speakers),
                "reference": self._reference(cells, self.speakers),
                "prelabel": edits.to_dict() if edits is not None else None,
            })
        return rows

    def pair_rows(self) -> list[dict[str, Any]]:
        """Per pair of annotators (the annotator x annotator matrix), pooled over shared tasks."""
        rows = []
        for key in sorted(k for k in self._cells if k[0] == "pair"):
            figures = self._figures(self._cells[key], self._pools.get(key), self.speakers)
            rows.append({"a": key[1], "b": key[2], "tasks": figures["pairs"], **{
                k: figures[k] for k in ("unitizing_alpha", "frame_kappa", "boundary_f1", "pairwise_wer",
                                        "disfluency_kappa")}})
        return rows

    def speaker_rows(self) -> list[dict[str, Any]]:
        """Per speaker: pooled agreement restricted to that speaker, and reference WER."""
        rows = []
        project_pool = self._pools.get(("project",))
        for s in self.speakers:
            cells = self._cells.get(("speaker", s), Counter())
            words = tally.get_wer(cells, ("pwer", s), self.options.normalizer)
            frame = tally.get_kappa(cells, ("sframe",))
            reference = self._reference(cells, [s])
            rows.append({"speaker": s,
                         "unitizing_alpha": project_pool.category_alpha(s) if project_pool is not None else None,
                         "frame_kappa": frame.kappa,
                         "pairwise_wer": tally.symmetric_wer(words),
                         "reference_wer": reference["wer"], "reference_words": reference["words"]["ref_words"]})
        return rows

    def task_json(self, task_id: Any) -> dict[str, Any]:
        """One task's entry of the report (cached until the task changes)."""
        cached = self._task_json.get(task_id)
        if cached is None:
            cached = self._task_json[task_id] = _task_json(self.tasks[task_id], self.speakers)
        return cached

    def all_omissions(self) -> list[Omission]:
        found = list(self.omissions)
        for tq in self.tasks.values():
            found.extend(tq.omissions)
        return found

    def flagged(self) -> list[TaskQC]:
        return [tq for tq in self.tasks.values() if tq.review]

    def distribution(self, figure: str = "unitizing_alpha") -> dict[str, Any]:
        """Histogram of one per-task agreement figure (bins of 0.1 from -0.2; lower values go
        to the first bin), and how many tasks have it undefined."""
        values = [self.task_json(t)["agreement"][figure] for t in self.tasks]
        defined = [v for v in values if v is not None]
        counts = [0] * (len(_HISTOGRAM_EDGES) - 1)
        for v in defined:
            k = int((min(max(v, -0.2), 0.999999) + 0.2) / 0.1)
            counts[min(max(k, 0), len(counts) - 1)] += 1
        return {"figure": figure, "edges": list(_HISTOGRAM_EDGES), "counts": counts,
                "undefined": len(values) - len(defined)}

    def to_json(self) -> dict[str, Any]:
        """The whole report (module docstring); ``tasks`` in source order."""
        return {
            "project": self.project(),
            "tasks": [self.task_json(t) for t in self.tasks],
            "annotators": self.annotator_rows(),
            "pairs": self.pair_rows(),
            "speakers": self.speaker_rows(),
            "omissions": [o.to_dict() for o in self.all_omissions()],
            "source": self.source,
            "references": self.references,
            "settings": self.options.to_dict(),
            "schema": SCHEMA,
        }


def _task_json(tq: TaskQC, speakers: Iterable[str]) -> dict[str, Any]:
    task = tq.task
    annotators = []
    for index, qc in enumerate(tq.annotations):
        a = qc.annotation
        ref = reference_wer(qc, tq.normalizer)
        boundary = qc.reference_boundary.f1 if qc.reference_boundary is not None else None
        prelabel = None
        if qc.prelabel is not None:
            prelabel = {"prediction": qc.prediction.id if qc.prediction is not None else None,
                        "model_version": qc.prediction.model_version if qc.prediction is not None else None,
                        **qc.prelabel.to_dict()}
        annotators.append({
            "annotation": a.id, "annotator": a.label, "annotator_id": a.annotator_id,
            "ground_truth": a.ground_truth, "review": qc.review, "turns": len(a.turns),
            "words": sum(len(t.words) if t.words else len(t.text.split()) for t in a.turns),
            "lead_time": a.lead_time,
            "updated_at": a.updated_at.isoformat() if a.updated_at else None,
            "problems": qc.problems,
            "agreement": annotation_agreement(tq, index) if len(tq.annotations) > 1 else None,
            "reference": None if ref is None else {"wer": ref.wer, "words": ref.to_dict(), "boundary_f1": boundary},
            "prelabel": prelabel,
        })
    pairs = []
    for pair in tq.pairs:
        a, b = tq.annotations[pair.a].annotation, tq.annotations[pair.b].annotation
        pairs.append({"a": a.label, "b": b.label, "a_annotation": a.id, "b_annotation": b.id, **pair.summary})
    per_speaker = {}
    for s in speakers:
        words = [p.wer[s] for p in tq.pairs if s in p.wer]
        frames = [speaker_kappa(p.frame, s) for p in tq.pairs if p.frame is not None]
        refs = [qc.reference_wer[s] for qc in tq.annotations if qc.reference_wer and s in qc.reference_wer]
        per_speaker[s] = {
            "unitizing_alpha": tq.unitizing.category_alpha(s) if tq.unitizing is not None and s in tq.unitizing.categories else None,
            "frame_kappa": sum(frames[1:], frames[0]).kappa if frames else None,
            "pairwise_wer": tally.symmetric_wer(sum(words[1:], words[0])) if words else None,
            "reference_wer": sum(refs[1:], refs[0]).wer if refs else None,
        }
    scored = [reference_wer(qc, tq.normalizer) for qc in tq.annotations]
    scored = [c for c in scored if c is not None]
    return {
        "id": task.id,
        "name": task.name,
        "duration": tq.duration,
        "annotations": len(tq.annotations),
        "predictions": len(task.predictions),
        "annotators": annotators,
        "agreement": tq.figures,
        "pairs": pairs,
        "speakers": per_speaker,
        "reference": tq.reference.to_dict() if tq.reference is not None else None,
        "wer": sum(scored[1:], scored[0]).wer if scored else None,
        "flags": [f.to_dict() for f in tq.flags],
        "review": tq.review,
        "adopted": tq.adopted.to_dict() if tq.adopted is not None else None,
        "omissions": [o.to_dict() for o in tq.omissions],
    }
