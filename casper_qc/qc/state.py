"""A project's live QC: its tasks as read, its references and its report, kept current by
Label Studio webhook events. Pure Python (no Flask); the service wraps one :class:`QCState`.

Events (``POST /webhook`` bodies as Label Studio 1.23.2 sends them with "send payload" on; see
``label_studio/webhooks/models.py`` ``WebhookAction.ACTIONS``):

=======================  ==========================================================================
``ANNOTATION_CREATED``,  ``annotation`` (the annotation's fields, ``completed_by`` a user id) and
``ANNOTATION_UPDATED``   ``task`` (its ``data``): the annotation is read and put in its task
                         (replacing its earlier version); a cancelled one is taken out; a new task
                         is added from ``task``. One task is recomputed.
``ANNOTATIONS_CREATED``  the same with lists of annotations and tasks.
``ANNOTATIONS_DELETED``  ``annotations``: ``[{"id": ...}]``; each is taken out of its task.
``TASKS_CREATED``        ``tasks``: new tasks (without annotations) are added.
``TASKS_DELETED``        ``tasks``: ``[{"id": ...}]``; the tasks leave the report.
anything else            ignored (answered, nothing changes).
=======================  ==========================================================================

An event for another project than the report's (``project.id``) is refused
(:class:`WrongProject`). An annotation that cannot be read (a label outside the config) is taken
out of its task and listed among the task's omissions, which flags the task: the event itself is
fine, so it is not refused. A malformed body (no ``action``, an annotation without ``id`` or
task) is an :class:`~casper_qc.errors.FormatError`.

:meth:`QCState.apply` recomputes only the tasks an event touches, then :meth:`QCReport.put`
replaces them: the cost of an event does not grow with the project (``bench/bench_qc.py``).
Callers serialize access (the service holds a lock around :meth:`apply` and reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import FormatError, InputError
from .references import ReferenceSet
from .report import QCReport
from .settings import QCOptions
from .source import (Omission, ProjectSource, TaskInput, gc_paused, read_annotation, read_raw_task,
                     with_annotation, without_annotation)
from .taskqc import TaskQC, compute_task

__all__ = ["QCState", "WrongProject", "EventResult", "build_report"]

ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED")


class WrongProject(InputError):
    """A webhook event of another Label Studio project than the report's."""


@dataclass
class EventResult:
    """What one event did: the ``action``, the tasks recomputed, added and removed, and the
    annotations left out (unreadable) with why."""

    action: str
    handled: bool = True
    recomputed: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "status": "updated" if self.handled else "ignored",
                "recomputed": self.recomputed, "removed": self.removed, "left_out": self.left_out}


def _compute(entry: TaskInput, source: ProjectSource, references: ReferenceSet | None,
             options: QCOptions, previous: TaskQC | None = None) -> TaskQC:
    reference, notes = (None, [])
    if references is not None:
        reference, notes = references.for_task(entry.task, source.config)
    return compute_task(entry, source.config, options, reference=reference, reference_notes=notes,
                        previous=previous)


def build_report(source: ProjectSource, references: ReferenceSet | None, options: QCOptions) -> QCReport:
    """The report of every task of ``source``.

    Raises:
        InputError: a reference cannot be matched (ambiguous speaker map).
    """
    config = source.config
    speakers = [config.speaker_id(v) for v in config.speaker_values]
    report = QCReport(options, speakers=speakers, source=source.describe(), references=_references_info(references))
    with gc_paused():
        report.build(_compute(entry, source, references, options) for entry in source.tasks.values())
    report.omissions = list(source.omissions)
    if references is not None:
        names = {entry.task.name for entry in source.tasks.values()} | {str(t) for t in source.tasks}
        unused = sorted(set(references.entries) - names)
        report.omissions.extend(Omission("reference", f"reference {', '.join(references.entries[n].sources)} matches "
                                         f"no task (by conversation id or task id)") for n in unused)
    return report


def _references_info(references: ReferenceSet | None) -> dict[str, Any]:
    if references is None:
        return {"directory": None, "conversations": 0, "ignored": []}
    return {"directory": references.directory, "conversations": len(references),
            "ignored": list(references.ignored)}


def _id(value: Any) -> Any:
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return value


class QCState:
    """The source, references, options and report of one project (module docstring)."""

    def __init__(self, source: ProjectSource, references: ReferenceSet | None, options: QCOptions,
                 report: QCReport | None = None) -> None:
        self.source = source
        self.references = references
        self.options = options
        self.report = report if report is not None else build_report(source, references, options)
        self._owner = {a.id: tid for tid, e in source.tasks.items() for a in e.task.annotations}

    @property
    def config(self):
        return self.source.config

    def recompute(self, task_id: Any) -> TaskQC:
        """Recompute one task and put it in the report."""
        entry = self.source.tasks[task_id]
        tq = _compute(entry, self.source, self.references, self.options, self.report.tasks.get(task_id))
        self.report.put(tq)
        return tq

    # ----------------------------------------------------------------- events

    def apply(self, event: Any) -> EventResult:
        """Apply one Label Studio webhook body (module docstring).

        Raises:
            FormatError: the body is not an event; WrongProject: another project's event.
        """
        if not isinstance(event, Mapping):
            raise FormatError("a webhook body must be a JSON object", where="webhook")
        action = event.get("action")
        if not isinstance(action, str) or not action:
            raise FormatError("the webhook body has no 'action'", where="webhook")
        project = _id(event.get("project"))
        if project is not None and self.source.project is not None and project != self.source.project:
            raise WrongProject(f"{action} is an event of project {project}, but this report is of project "
                               f"{self.source.project}", where="webhook")
        result = EventResult(action)
        if action in ANNOTATION_EVENTS:
            annotations = event.get("annotation")
            tasks = event.get("task")
            annotations = annotations if isinstance(annotations, list) else [annotations]
            tasks = tasks if isinstance(tasks, list) else [tasks]
            task_data = {_id(t): t for t in tasks if isinstance(t, Mapping) and _id(t) is not None}
            placed: list[tuple[Mapping[str, Any], Any]] = []
            for raw in annotations:  # check the whole event before changing anything
                if not isinstance(raw, Mapping) or _id(raw) is None:
                    raise FormatError(f"{action} has no annotation object with an id (send the payload)",
                                      where="webhook")
                task_id = _id(raw.get("task"))
                if task_id is None and len(task_data) == 1:
                    task_id = next(iter(task_data))
                if task_id is None:
                    raise FormatError(f"annotation {raw.get('id')} does not say its task", where="webhook")
                placed.append((raw, task_id))
            touched: list[Any] = []
            try:
                for raw, task_id in placed:
                    self._put_annotation(raw, task_id, task_data.get(task_id), result)
                    if task_id not in touched:
                        touched.append(task_id)
            finally:  # whatever was put in is in the report, even if a later part was refused
                for task_id in touched:
                    self.recompute(task_id)
                    result.recomputed.append(task_id)
        elif action == "ANNOTATIONS_DELETED":
            items = event.get("annotations")
            if not isinstance(items, list):
                raise FormatError("ANNOTATIONS_DELETED has no 'annotations' list", where="webhook")
            touched = []
            for item in items:
                annotation_id = _id(item)
                task_id = self._owner.pop(annotation_id, None)
                if task_id is None or task_id not in self.source.tasks:
                    continue
                entry = self.source.tasks[task_id]
                entry.task = without_annotation(entry.task, annotation_id)
                entry.omissions = [o for o in entry.omissions if o.annotation != annotation_id]
                if task_id not in touched:
                    touched.append(task_id)
            for task_id in touched:
                self.recompute(task_id)
                result.recomputed.append(task_id)
        elif action == "TASKS_CREATED":
            items = event.get("tasks")
            if not isinstance(items, list):
                raise FormatError("TASKS_CREATED has no 'tasks' list", where="webhook")
            for raw in items:
                task_id = _id(raw)
                if task_id is None or task_id in self.source.tasks:
                    continue
                self._new_task(raw, result)
                if task_id in self.source.tasks:
                    self.recompute(task_id)
                    result.recomputed.append(task_id)
        elif action == "TASKS_DELETED":
            items = event.get("tasks")
            if not isinstance(items, list):
                raise FormatError("TASKS_DELETED has no 'tasks' list", where="webhook")
            for item in items:
                task_id = _id(item)
                entry = self.source.tasks.pop(task_id, None)
                if entry is None:
                    continue
                for annotation in entry.task.annotations:
                    self._owner.pop(annotation.id, None)
                self.report.drop(task_id)
                result.removed.append(task_id)
        else:
            result.handled = False
        return result

    def _new_task(self, raw_task: Mapping[str, Any], result: EventResult) -> TaskInput | None:
        skeleton = {k: v for k, v in raw_task.items() if k not in ("annotations", "predictions")}
        read = read_raw_task({**skeleton, "annotations": [], "predictions": []}, self.config, source="webhook",
                             users=self.source.users)
        if isinstance(read, Omission):
            result.left_out.append(str(read))
            raise FormatError(f"task {read.task} cannot be read: {read.reason}", where="webhook")
        self.source.tasks[read.task.id] = read
        return read

    def _put_annotation(self, raw: Mapping[str, Any], task_id: Any, raw_task: Mapping[str, Any] | None,
                        result: EventResult) -> None:
        entry = self.source.tasks.get(task_id)
        if entry is None:
            if raw_task is None:
                raise FormatError(f"annotation {raw.get('id')} is of task {task_id}, which the report does not "
                                  "know, and the event has no task object", where="webhook")
            entry = self._new_task(raw_task, result)
            assert entry is not None
        annotation_id = _id(raw)
        entry.omissions = [o for o in entry.omissions if o.annotation != annotation_id]
        try:
            annotation, duration = read_annotation(raw, entry.task, self.config, users=self.source.users)
        except InputError as err:
            entry.task = without_annotation(entry.task, annotation_id)
            self._owner.pop(annotation_id, None)
            reason = err.message
            for prefix in ("webhook: ", f"task {task_id}: ", f"annotation {annotation_id}: "):
                reason = reason[len(prefix):] if reason.startswith(prefix) else reason
            omission = Omission("annotation", reason, task=task_id, annotation=annotation_id)
            entry.omissions.append(omission)
            result.left_out.append(str(omission))
            return
        if annotation is None:  # cancelled (skipped)
            entry.task = without_annotation(entry.task, annotation_id)
            self._owner.pop(annotation_id, None)
            return
        entry.task = with_annotation(entry.task, annotation, duration)
        parent = raw.get("parent_prediction")
        entry.parents[annotation_id] = parent.get("id") if isinstance(parent, Mapping) else parent
        self._owner[annotation_id] = task_id


def load_state(*, export: str | None = None, project: int | None = None, url: str | None = None,
               api_key: str | None = None, references: str | None = None, config: str | None = None,
               options: QCOptions | None = None) -> QCState:
    """Open a project for QC: a JSON export file (``export``) or a live Label Studio project
    (``project`` on ``url`` with ``api_key``), the references directory, and the report.

    ``config`` is a label config file or a bundled config name; default: the project's own
    config on a live pull, the bundled ``conversation`` config for an export.

    Raises:
        InputError: no source or two, or anything the readers refuse (one line naming it).
    """
    from pathlib import Path

    from ..formats.labelconfig import BUNDLED_CONFIGS, bundled_config_path, load_label_config
    from .references import load_references
    from .source import load_export, pull_project

    if (export is None) == (project is None):
        raise InputError("give either a Label Studio JSON export (--from FILE) or a project id (--project ID)")
    label_config = None
    if config is not None:
        label_config = load_label_config(bundled_config_path(config) if config in BUNDLED_CONFIGS else Path(config))
    if export is not None:
        source = load_export(export, label_config or load_label_config(bundled_config_path("conversation")))
    else:
        source = pull_project(url or "", api_key or "", int(project), config=label_config)  # type: ignore[arg-type]
    refs = load_references(references) if references else None
    return QCState(source, refs, options or QCOptions())
