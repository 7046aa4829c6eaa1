"""Quality control of a Label Studio project: agreement, WER against references, review flags,
adopted annotations and their corrected exports. Pure: no Flask, no network except
:func:`casper_qc.qc.source.pull_project`.

=====================  ========================================================================
module                 what
=====================  ========================================================================
``settings``           thresholds and options
``source``             data in: a JSON export file or a live pull through label-studio-sdk
``references``         reference transcripts per task (TextGrid, STM, JSONL, plain text, ground
                       truth)
``taskqc``             one task's figures, flags and adopted annotation
``tally``, ``upool``   additive aggregates (count cells; incremental pooled unitizing alpha)
``report``             the project report, updated one task at a time
``state``              the live report of a project and Label Studio webhook events
``exports``            the adopted annotations as TextGrids (zip) and Lhotse JSONL
``tables``             the report as CSV tables
``plots``              inline SVG plots for the HTML pages
=====================  ========================================================================

Importing this package loads nothing else.
"""
