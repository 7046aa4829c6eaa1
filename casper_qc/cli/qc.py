"""``casper-qc qc``: the QC report of a Label Studio project, and its corrected exports.

    casper-qc qc --from export.json --references refs/ --out qc/
    casper-qc qc --project 7 --references refs/ --out qc/      (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY)

Writes into ``--out`` (each file atomically):

==============================  ==============================================================
``report.html``                 the report as one page (inline SVG plots, no external resources)
``report.json``                 the report (the schema of ``GET /api/report``)
``tasks.csv`` ... ``omissions.csv``  the report's tables (:mod:`casper_qc.qc.tables`)
``textgrids.zip``               the adopted annotation of every task as TextGrids (+ manifest.tsv)
``supervisions.jsonl``          the adopted annotation of every task as Lhotse supervisions
==============================  ==============================================================

Prints a summary (tasks, flagged, left out). Exit 0 when the report was written, whatever it
found; 2 on bad input (an unreadable export, references or thresholds; Label Studio unreachable
or refusing the key), with one line naming the problem.
"""

from __future__ import annotations

import argparse

HELP = "QC report (agreement, WER against references, review flags) and corrected exports of a project"


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments ``qc`` and ``serve`` share: the source, references and QC settings."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="FILE", help="a Label Studio JSON export (a list of tasks)")
    source.add_argument("--project", type=int, metavar="ID",
                        help="a Label Studio project, read live (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY: a legacy "
                             "token or a personal access token)")
    parser.add_argument("--references", metavar="DIR",
                        help="reference transcripts: <conversation>.TextGrid, *.stm, *.jsonl, "
                             "<conversation>.ch<N>.txt or <conversation>.<speaker>.txt, optional speakers.json")
    parser.add_argument("--config", metavar="XML",
                        help="label config file or bundled name (conversation, conversation_mono); default: the "
                             "project's own with --project, conversation with --from")
    parser.add_argument("--thresholds", metavar="FILE", help="JSON file of review thresholds")
    parser.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                        help="one review threshold (repeatable; 'none' turns it off), e.g. max_reference_wer=0.2")
    parser.add_argument("--normalizer", choices=("normalized", "verbatim"), default="normalized",
                        help="WER normalizer (default normalized: case, punctuation and events folded, fillers "
                             "optional)")


def configure(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")


def open_state(args: argparse.Namespace):
    """The QC state the arguments describe (environment for Label Studio access)."""
    import os

    from ..metrics.normalize import MODES
    from ..qc.settings import QCOptions, thresholds_from
    from ..qc.state import load_state

    options = QCOptions(thresholds=thresholds_from(args.thresholds, args.threshold), normalizer=MODES[args.normalizer])
    return load_state(export=args.source, project=args.project, url=os.environ.get("LABEL_STUDIO_URL"),
                      api_key=os.environ.get("LABEL_STUDIO_API_KEY"), references=args.references,
                      config=args.config, options=options)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from ..fileio import write_bytes, write_text
    from ..qc import exports, tables
    from ..service.render import report_html

    state = open_state(args)
    report = state.report
    out = Path(args.out)
    written = []
    written.append(write_text(out / "report.json", json.dumps(report.to_json(), ensure_ascii=False, indent=1,
                                                               allow_nan=False) + "\n"))
    for name in tables.TABLES:
        written.append(write_text(out / f"{name}.csv", tables.to_csv(*tables.table_rows(report, name))))
    archive, zip_left_out = exports.textgrid_zip(report)
    written.append(write_bytes(out / "textgrids.zip", archive))
    jsonl, jsonl_left_out = exports.supervisions_jsonl(report)
    written.append(write_text(out / "supervisions.jsonl", jsonl))
    written.append(write_text(out / "report.html", report_html(report)))
    project = report.project()
    for path in written:
        print(f"wrote {path}")
    agreement = project["agreement"]

    def show(value, percent=False):
        if value is None:
            return "n/a"
        return f"{100 * value:.1f}%" if percent else f"{value:.3f}"

    print(f"{project['tasks']} task(s), {project['annotations']} annotation(s) by {project['annotators']} "
          f"annotator(s); {project['flagged_tasks']} task(s) flagged for review")
    print(f"unitizing alpha {show(agreement['unitizing_alpha'])}, frame kappa {show(agreement['frame_kappa'])}, "
          f"WER between annotators {show(agreement['pairwise_wer'], True)}, WER against references "
          f"{show(project['reference']['wer'], True)} ({project['tasks_with_reference']} task(s) with a reference)")
    omissions = report.all_omissions()
    if omissions or zip_left_out or jsonl_left_out:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(project["omitted"].items()))
        print(f"partial: left out {counts or 'nothing from the report'}; exports left out "
              f"{len(zip_left_out)} task(s) (see omissions.csv and textgrids.zip/manifest.tsv)", file=sys.stderr)
    return 0
