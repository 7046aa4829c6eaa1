"""HTML of the QC pages and of the stand-alone ``report.html`` the ``qc`` command writes: Jinja2
templates in ``casper_qc/service/templates`` (autoescaped), inline SVG from
:mod:`casper_qc.qc.plots`. No Flask here, so the command line renders the same pages.

:func:`overview_context` gathers what the pages show from a report; :func:`render` fills a
template; :func:`report_html` is the one-file report (links point at the CSV and export files
written beside it).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..qc import plots
from ..qc.report import QCReport

__all__ = ["render", "overview_context", "report_html", "login_page"]

_OMISSIONS_SHOWN = 200


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def render(template: str, **context: Any) -> str:
    """The template filled with ``context``."""
    return _environment().get_template(template).render(**context)


def login_page(detail: str, next_path: str = "/") -> str:
    """The sign-in page a browser gets with a 401/403 (a form posting the token to ``/login``)."""
    return render("login.html", detail=detail, next_path=next_path if next_path.startswith("/") else "/",
                  standalone=True)


def overview_context(report: QCReport) -> dict[str, Any]:
    """Everything the overview, annotators and report pages show (plots rendered here)."""
    thresholds = report.options.thresholds
    project = report.project()
    annotators = report.annotator_rows()
    pairs = report.pair_rows()
    names = [a["annotator"] for a in annotators]
    matrix = {(p["a"], p["b"]): p["unitizing_alpha"] for p in pairs}
    flagged = [report.task_json(tq.task_id) for tq in report.flagged()]
    codes = Counter(f["code"] for t in flagged for f in t["flags"])
    omissions = report.all_omissions()
    tasks = [report.task_json(t) for t in report.tasks]
    return {
        "project": project,
        "source": report.source,
        "references": report.references,
        "settings": report.options.to_dict(),
        "annotators": annotators,
        "pairs": pairs,
        "speakers": report.speaker_rows(),
        "flagged": flagged,
        "tasks": tasks,
        "omissions": [o.to_dict() for o in omissions[:_OMISSIONS_SHOWN]],
        "omissions_total": len(omissions),
        "plots": {
            "distribution": plots.histogram_svg(report.distribution("unitizing_alpha"),
                                                "Unitizing alpha per task (who spoke when)",
                                                threshold=thresholds.min_unitizing_alpha),
            "matrix": plots.matrix_svg(names, matrix, "Unitizing alpha between annotators (pooled over shared tasks)",
                                       figure="unitizing alpha"),
            "wer": plots.bars_svg([(a["annotator"], a["reference"]["wer"]) for a in annotators],
                                  "WER against the references per annotator", limit=thresholds.max_reference_wer,
                                  plot="wer", unit="WER against the references"),
            "pair_wer": plots.bars_svg([(f"{p['a']} / {p['b']}", p["pairwise_wer"]) for p in pairs],
                                       "WER between annotators", limit=thresholds.max_pairwise_wer,
                                       plot="pair-wer", unit="WER between annotators (symmetric)"),
            "flags": plots.bars_svg(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])),
                                    "Flagged tasks by reason", percent=False, plot="flags",
                                    unit=f"{len(flagged)} of {project['tasks']} task(s) flagged for review"),
        },
    }


def report_html(report: QCReport) -> str:
    """The stand-alone report page (links to the files the ``qc`` command writes beside it)."""
    return render("overview.html", **overview_context(report), standalone=True)
