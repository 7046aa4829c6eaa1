"""Corrected exports: each task's adopted annotation as a Praat TextGrid and as Lhotse JSONL.

* :func:`textgrid_zip` - a zip of ``<conversation>.TextGrid`` (long text format, UTF-8; written by
  :func:`casper_qc.formats.textgrid.to_textgrid`), plus ``manifest.tsv``: one row per task with
  the file, the adopted annotation, its annotator and why it was adopted, or, for a task that
  has no file, why it was left out. Two tasks of one conversation get ``__task<id>`` appended.
  Entries have a fixed time stamp, so the bytes depend on the content only.
* :func:`supervisions_jsonl` - one Lhotse supervision per turn of every adopted annotation
  (:func:`casper_qc.formats.jsonl.supervision_records`), with ``custom.qc_adopted`` (why it was
  adopted) and ``custom.qc_review`` (whether the task is flagged for review).
* :func:`task_textgrid`, :func:`task_supervisions` - the same for one task.

A task without an adopted annotation (none, or each has structural problems) or whose annotation
cannot be laid out as TextGrid tiers is left out; the omissions are returned (and listed in the
manifest) so a partial export says what it lacks.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any, Iterable

from ..errors import InputError
from .report import QCReport
from .source import Omission
from .taskqc import TaskQC

__all__ = ["textgrid_zip", "supervisions_jsonl", "task_textgrid", "task_supervisions", "file_stem"]

_STAMP = (1980, 1, 1, 0, 0, 0)


def file_stem(text: str) -> str:
    """``text`` as a file name part (letters, digits and ``._@+-``; never starting with a dot)."""
    name = re.sub(r"[^A-Za-z0-9._@+-]+", "_", str(text)).strip("_")
    return ("_" + name if name.startswith(".") else name) or "_"


def _missing(tq: TaskQC) -> Omission | None:
    if tq.adopted is None:
        why = "it has no annotation" if not tq.annotations else "no annotation can be adopted (structural problems)"
        return Omission("export", f"left out of the exports: {why}", task=tq.task_id)
    return None


def task_textgrid(tq: TaskQC) -> str:
    """The adopted annotation of one task as TextGrid text.

    Raises:
        InputError: the task has no adopted annotation, or it cannot be written as tiers.
    """
    from ..formats.textgrid import to_textgrid

    missing = _missing(tq)
    if missing is not None:
        raise InputError(missing.reason, where=f"task {tq.task_id}")
    try:
        return to_textgrid(tq.task.conversation, tq.adopted.annotation)
    except InputError as err:
        raise err.at(f"task {tq.task_id}") from None


def task_supervisions(tq: TaskQC) -> list[dict[str, Any]]:
    """The adopted annotation of one task as Lhotse supervision dicts.

    Raises:
        InputError: the task has no adopted annotation, or a turn cannot be written.
    """
    from ..formats.jsonl import supervision_records

    missing = _missing(tq)
    if missing is not None:
        raise InputError(missing.reason, where=f"task {tq.task_id}")
    custom = {"qc_adopted": tq.adopted.reason, "qc_review": tq.review}
    try:
        return supervision_records(tq.task.conversation, tq.adopted.annotation, custom=custom)
    except InputError as err:
        raise err.at(f"task {tq.task_id}") from None


def _tasks(report: QCReport, task_ids: Iterable[Any] | None) -> list[TaskQC]:
    if task_ids is None:
        return list(report.tasks.values())
    return [report.tasks[t] for t in task_ids]


def textgrid_zip(report: QCReport, task_ids: Iterable[Any] | None = None) -> tuple[bytes, list[Omission]]:
    """The zip of TextGrids of the adopted annotations (of ``task_ids``, default all) and what
    was left out (module docstring)."""
    buffer = io.BytesIO()
    omissions: list[Omission] = []
    used: set[str] = set()
    rows = ["task\tconversation\tfile\tannotation\tannotator\tadopted\treview\tleft_out"]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for tq in _tasks(report, task_ids):
            try:
                text = task_textgrid(tq)
            except InputError as err:
                omission = Omission("export", err.problem if err.where else str(err), task=tq.task_id)
                omissions.append(omission)
                rows.append(f"{tq.task_id}\t{tq.task.name}\t\t\t\t\t{str(tq.review).lower()}\t"
                            f"{_cell(omission.reason)}")
                continue
            stem = file_stem(tq.task.name)
            if stem.lower() in used:
                stem = f"{stem}__task{file_stem(str(tq.task_id))}"
            used.add(stem.lower())
            info = zipfile.ZipInfo(f"{stem}.TextGrid", date_time=_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
            adopted = tq.adopted
            rows.append(f"{tq.task_id}\t{tq.task.name}\t{stem}.TextGrid\t{adopted.annotation.id}\t"
                        f"{_cell(adopted.annotation.label)}\t{adopted.reason}\t{str(tq.review).lower()}\t")
        info = zipfile.ZipInfo("manifest.tsv", date_time=_STAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, ("\n".join(rows) + "\n").encode("utf-8"))
    return buffer.getvalue(), omissions


def _cell(text: str) -> str:
    return " ".join(str(text).split())


def supervisions_jsonl(report: QCReport, task_ids: Iterable[Any] | None = None) -> tuple[str, list[Omission]]:
    """JSON Lines of the adopted annotations' supervisions (of ``task_ids``, default all) and
    what was left out. Supervision ids are unique: a task whose ids would repeat another's
    (two tasks of one conversation) is left out and listed."""
    lines: list[str] = []
    omissions: list[Omission] = []
    seen: set[str] = set()
    for tq in _tasks(report, task_ids):
        try:
            records = task_supervisions(tq)
        except InputError as err:
            omissions.append(Omission("export", err.problem if err.where else str(err), task=tq.task_id))
            continue
        clash = next((r["id"] for r in records if r["id"] in seen), None)
        if clash is not None:
            omissions.append(Omission("export", f"supervision id {clash!r} is already used by another task of "
                                      f"conversation {tq.task.name!r}", task=tq.task_id))
            continue
        seen.update(r["id"] for r in records)
        lines.extend(json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records)
    return "".join(line + "\n" for line in lines), omissions
