"""Speed of the QC report and of one webhook update, on a generated project of about 1 M words.

Targets (docs/PERFORMANCE.md, "QC service"): a project of 2,000 tasks x 3 annotators (~1 M
words): the full report in <= 10 s on one core; one new annotation via the webhook updates the
report in <= 100 ms.

The project is generated as Label Studio gives it (not timed): ``--tasks`` tasks (default 2,000)
of the bundled ``conversation`` label config, each a two-speaker conversation with a hidden truth
(fillers, partial words, repetitions, overlapping turns) that three annotators perturb (boundaries
jittered by ~40 ms, 4% of words substituted, some fillers dropped, a disfluency choice now and then
missed, now and then a turn split in two); a model prediction perturbed three times as much; one
task in ten has a ground-truth annotation; references for four tasks in five as one Lhotse JSONL
file (the truth). Regions are written by :func:`casper_qc.formats.labelstudio.to_result`, i.e.
exactly the result shape Label Studio's editor stores.

Timed (best and worst of ``--repeat`` runs; the process is pinned to one CPU, one BLAS thread):

* ``read``: the JSON export file -> tasks (``casper_qc.qc.source.load_export``: the Label Studio
  reader, transcripts parsed by the project's conventions), each time with an empty transcript
  memo (``conventions.parse_transcript_cached``), as a new ``casper-qc qc`` process has;
* ``references``: the references directory;
* ``report``: every task's figures and the aggregates (``build_report``), the full report;
* ``json``: serializing the whole report (what ``GET /api/report`` sends);
* ``webhook``: ``POST /webhook`` through the Flask test client (token and secret checked, body
  parsed, the annotation read, its task recomputed, the aggregates updated), an
  ``ANNOTATION_CREATED`` event adding a fourth annotator to ``--events`` different tasks;
  median and max; then ``GET /api/report`` shows the new annotation.

Usage:

    .venv/bin/python bench/bench_qc.py [--tasks 2000] [--repeat 3] [--events 30] [--seed 7]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core: no BLAS threads

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc_data import VOCAB, truth_turns  # noqa: E402 (the bench folder is on the path)

FILLERS = ("uh", "um", "uh", "um", "hm")
ANNOTATORS = ((11, "ann.lee@example.com"), (12, "ben.ortiz@example.com"), (13, "cara.nguyen@example.com"))


def _turns(rng: random.Random, truth, noise: float):
    """The truth as one annotator writes it: model turns with text and disfluency choices."""
    from casper_qc.model import Turn

    out = []
    last_end = {"A": 0.0, "B": 0.0}
    for speaker, start, end, words in truth:
        words = [(rng.choice(VOCAB), None) if rng.random() < 0.04 * noise else (w, t)
                 for w, t in words if not (t == "FP" and rng.random() < 0.15 * noise)]
        if not words:
            continue
        s = max(last_end[speaker], round(start + rng.gauss(0, 0.04 * noise), 3))
        e = max(s + 0.05, round(end + rng.gauss(0, 0.04 * noise), 3))
        tags = sorted({t for _, t in words if t and not (rng.random() < 0.1 * noise)})
        pieces = [(s, e, words)]
        if len(words) > 6 and rng.random() < 0.05 * noise:  # split the turn in two
            cut, middle = len(words) // 2, round(s + (e - s) / 2, 3)
            pieces = [(s, middle, words[:cut]), (middle, e, words[cut:])]
        for a, b, part in pieces:
            out.append(Turn(speaker, a, b, channel=0 if speaker == "A" else 1,
                            text=" ".join(w for w, _ in part), choices={"disfluency": tuple(tags)} if tags else {}))
        last_end[speaker] = e
    return out


def generate(tasks: int, seed: int, directory: Path) -> tuple[Path, Path, int]:
    """Write ``export.json`` and ``references/references.jsonl``; return their paths and the
    number of annotated words."""
    from casper_qc.formats.jsonl import write_supervisions
    from casper_qc.formats.labelconfig import bundled_config_path, load_label_config
    from casper_qc.formats.labelstudio import to_result
    from casper_qc.model import Annotation, Conversation, Speaker

    config = load_label_config(bundled_config_path("conversation"))
    rng = random.Random(seed)
    export: list[dict[str, Any]] = []
    references = []
    words = 0
    annotation_id = prediction_id = 0
    for index in range(1, tasks + 1):
        truth = truth_turns(rng, rng.randint(70, 97), fillers=FILLERS, repetition="REP")
        duration = round(max(t[2] for t in truth) + 1.0, 3)
        name = f"conv-{index:05d}"
        annotations = []
        for user, _ in ANNOTATORS:
            annotation_id += 1
            turns = _turns(rng, truth, 1.0)
            words += sum(len(t.text.split()) for t in turns)
            annotations.append({
                "id": annotation_id, "completed_by": user, "was_cancelled": False,
                "ground_truth": index % 10 == 0 and user == ANNOTATORS[0][0],
                "lead_time": round(rng.uniform(300, 900), 1),
                "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z",
                "result": to_result(turns, config, duration=duration, origin="manual"),
                "task": index, "project": 1, "parent_prediction": prediction_id + 1})
        prediction_id += 1
        prediction = {"id": prediction_id, "model_version": "casper-prelabel-bench", "score": 0.8,
                      "result": to_result(_turns(rng, truth, 3.0), config, duration=duration)}
        export.append({"id": index, "data": {"audio": f"/data/local-files/?d=audio/{name}.wav",
                                             "conversation_id": name},
                       "annotations": annotations, "predictions": [prediction], "project": 1})
        if index % 5:
            reference = _turns(random.Random(index), truth, 0.0)
            references.append((Conversation(name, duration=duration, channels=2,
                                            speakers=(Speaker("A", 0), Speaker("B", 1))),
                               Annotation(name, reference, origin="reference")))
    export_path = directory / "export.json"
    export_path.write_text(json.dumps(export), encoding="utf-8")
    reference_dir = directory / "references"
    reference_dir.mkdir()
    write_supervisions(reference_dir / "references.jsonl", references)
    return export_path, reference_dir, words


def _event(task: dict[str, Any], annotation_id: int, rng: random.Random) -> dict[str, Any]:
    """An ANNOTATION_CREATED body as Label Studio 1.23.2 sends it: a fourth annotator's
    annotation (a copy of the first one's regions, one transcript changed)."""
    result = json.loads(json.dumps(task["annotations"][0]["result"]))
    for item in result:
        if item["type"] == "textarea":
            item["value"]["text"] = [item["value"]["text"][0] + " " + rng.choice(VOCAB)]
            break
    annotation = {"id": annotation_id, "result": result, "completed_by": 14, "was_cancelled": False,
                  "ground_truth": False, "lead_time": 321.0, "task": task["id"], "project": 1,
                  "created_at": "2026-11-27T12:00:00Z", "updated_at": "2026-11-27T12:00:00Z",
                  "parent_prediction": None}
    return {"action": "ANNOTATION_CREATED", "annotation": annotation,
            "task": {"id": task["id"], "data": task["data"], "project": 1},
            "project": {"id": 1, "title": "bench"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the full report")
    parser.add_argument("--events", type=int, default=30, help="webhook events timed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})

    from casper_qc import conventions
    from casper_qc.formats.labelconfig import bundled_config_path, load_label_config
    from casper_qc.qc.references import load_references
    from casper_qc.qc.settings import QCOptions
    from casper_qc.qc.source import load_export
    from casper_qc.qc.state import QCState, build_report
    from casper_qc.service import create_app

    config = load_label_config(bundled_config_path("conversation"))
    with tempfile.TemporaryDirectory(prefix="casper-qc-bench-") as tmp:
        started = time.perf_counter()
        export_path, reference_dir, words = generate(args.tasks, args.seed, Path(tmp))
        print(f"generated {args.tasks} tasks x {len(ANNOTATORS)} annotators: {words:,} words "
              f"(+ predictions), export {export_path.stat().st_size / 1e6:.0f} MB, "
              f"in {time.perf_counter() - started:.0f} s (not timed)", flush=True)
        options = QCOptions()
        timings: dict[str, list[float]] = {"read": [], "references": [], "report": [], "json": []}
        cpu: dict[str, list[float]] = {name: [] for name in timings}
        report = source = references = None
        body = ""

        def step(name, function):
            wall, used = time.perf_counter(), time.process_time()
            value = function()
            timings[name].append(time.perf_counter() - wall)
            cpu[name].append(time.process_time() - used)
            return value

        for _ in range(args.repeat):
            conventions._memo.cache_clear()  # every read starts cold, as a new process does
            source = step("read", lambda: load_export(export_path, config))
            references = step("references", lambda: load_references(reference_dir))
            report = step("report", lambda: build_report(source, references, options))
            body = step("json", lambda: json.dumps(report.to_json()))
        assert report is not None and source is not None
        project = report.project()
        print(f"report: {project['tasks']} tasks, {project['annotations']} annotations, "
              f"{project['flagged_tasks']} flagged; unitizing alpha {project['agreement']['unitizing_alpha']:.3f}, "
              f"pairwise WER {project['agreement']['pairwise_wer']:.4f}, reference WER "
              f"{project['reference']['wer']:.4f}; JSON {len(body) / 1e6:.1f} MB")
        print(f"{'step':12s} {'wall best':>10s} {'wall worst':>11s} {'CPU best':>9s} {'CPU worst':>10s}  (seconds)")
        for name in timings:
            print(f"{name:12s} {min(timings[name]):10.2f} {max(timings[name]):11.2f} {min(cpu[name]):9.2f} "
                  f"{max(cpu[name]):10.2f}")
        print(f"load average while timing: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs", flush=True)

        state = QCState(source, references, options, report=report)
        app = create_app({"CASPER_QC_TOKEN": "bench-token-0123456789", "CASPER_QC_WEBHOOK_SECRET": "bench-secret"}, state=state)
        client = app.test_client()
        headers = {"Authorization": "Bearer bench-token-0123456789", "X-Casper-QC-Webhook-Secret": "bench-secret"}
        raw = json.loads(export_path.read_text(encoding="utf-8"))
        rng = random.Random(args.seed)
        latencies, latencies_cpu = [], []
        for k in range(args.events):
            task = raw[(k * 67) % len(raw)]
            event = _event(task, 10_000_000 + k, rng)
            t0, c0 = time.perf_counter(), time.process_time()
            answer = client.post("/webhook", json=event, headers=headers)
            latencies.append(time.perf_counter() - t0)
            latencies_cpu.append(time.process_time() - c0)
            if answer.status_code != 200:
                print(f"webhook answered {answer.status_code}: {answer.get_data(as_text=True)}", file=sys.stderr)
                return 1
        check = client.get(f"/api/tasks/{raw[0]['id']}", headers={"Authorization": "Bearer bench-token-0123456789"}).get_json()
        assert any(a["annotation"] == 10_000_000 for a in check["annotators"]), "the webhook did not update the report"
        print(f"webhook ({args.events} ANNOTATION_CREATED events, each adding a 4th annotator to a task): "
              f"wall median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
              f"CPU median {statistics.median(latencies_cpu) * 1000:.1f} ms, max {max(latencies_cpu) * 1000:.1f} ms; "
              f"report now has {state.report.project()['annotations']} annotations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
