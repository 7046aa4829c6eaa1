"""The report as CSV tables (UTF-8, comma-separated, a header row, ``\\r\\n`` line ends as the
``csv`` module writes them; an undefined figure is an empty cell).

==============  ==================================================================================
table           one row per
==============  ==================================================================================
``tasks``       task: its figures, flags (codes joined by ``;``), review, adopted annotation
``annotators``  annotator: tasks, agreement with the others, WER against references, edits
``pairs``       pair of annotators (the annotator x annotator matrix, long form)
``speakers``    speaker
``flagged``     flag of a task that needs review (task, code, message)
``omissions``   thing the report left out
==============  ==================================================================================
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

from .report import QCReport

__all__ = ["TABLES", "table_rows", "to_csv"]

TABLES = ("tasks", "annotators", "pairs", "speakers", "flagged", "omissions")


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def table_rows(report: QCReport, table: str) -> tuple[Sequence[str], list[list[Any]]]:
    """(header, rows) of one table.

    Raises:
        KeyError: an unknown table name.
    """
    if table == "tasks":
        header = ["task", "conversation", "annotations", "unitizing_alpha", "frame_kappa", "boundary_f1",
                  "pairwise_wer", "disfluency_kappa", "reference", "reference_wer", "review", "flags",
                  "adopted_annotation", "adopted_annotator", "adopted_reason"]
        rows = []
        for task_id in report.tasks:
            t = report.task_json(task_id)
            figures = t["agreement"]
            adopted = t["adopted"] or {}
            rows.append([t["id"], t["name"], t["annotations"], figures["unitizing_alpha"], figures["frame_kappa"],
                         figures["boundary_f1"], figures["pairwise_wer"], figures["disfluency_kappa"],
                         (t["reference"] or {}).get("kind"), t["wer"], t["review"],
                         ";".join(f["code"] for f in t["flags"]), adopted.get("annotation"),
                         adopted.get("annotator"), adopted.get("reason")])
        return header, rows
    if table == "annotators":
        header = ["annotator", "annotator_id", "tasks", "annotations", "flagged_tasks", "adopted", "words",
                  "unitizing_alpha", "frame_kappa", "boundary_f1", "pairwise_wer", "disfluency_kappa",
                  "reference_wer", "reference_words", "prelabel_kept_rate", "prelabel_word_edit_rate",
                  "mean_lead_time"]
        rows = []
        for a in report.annotator_rows():
            g, r, p = a["agreement"], a["reference"], a["prelabel"] or {}
            rows.append([a["annotator"], a["annotator_id"], a["tasks"], a["annotations"], a["flagged_tasks"],
                         a["adopted"], a["words"], g["unitizing_alpha"], g["frame_kappa"], g["boundary_f1"],
                         g["pairwise_wer"], g["disfluency_kappa"], r["wer"], r["words"]["ref_words"],
                         p.get("kept_rate"), p.get("word_edit_rate"), a["mean_lead_time"]])
        return header, rows
    if table == "pairs":
        header = ["annotator_a", "annotator_b", "tasks", "unitizing_alpha", "frame_kappa", "boundary_f1",
                  "pairwise_wer", "disfluency_kappa"]
        return header, [[p["a"], p["b"], p["tasks"], p["unitizing_alpha"], p["frame_kappa"], p["boundary_f1"],
                         p["pairwise_wer"], p["disfluency_kappa"]] for p in report.pair_rows()]
    if table == "speakers":
        header = ["speaker", "unitizing_alpha", "frame_kappa", "pairwise_wer", "reference_wer", "reference_words"]
        return header, [[s["speaker"], s["unitizing_alpha"], s["frame_kappa"], s["pairwise_wer"],
                         s["reference_wer"], s["reference_words"]] for s in report.speaker_rows()]
    if table == "flagged":
        header = ["task", "conversation", "code", "message"]
        return header, [[tq.task_id, tq.task.name, f.code, f.message] for tq in report.flagged() for f in tq.flags]
    if table == "omissions":
        header = ["what", "task", "annotation", "reason"]
        return header, [[o.what, o.task, o.annotation, o.reason] for o in report.all_omissions()]
    raise KeyError(table)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of a header and rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_value(v) for v in row])
    return buffer.getvalue()
