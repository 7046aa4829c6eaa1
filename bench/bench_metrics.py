"""Speed of the QC metrics (casper_qc.metrics) on a generated project of about 1 M words.

The project: ``--tasks`` tasks (default 2,000), each a two-speaker conversation annotated by
three annotators plus a model prediction. A hidden "truth" transcript (fillers, partial words,
repetitions, overlaps) is perturbed per annotator: boundaries jittered by a few tens of ms, 4% of
words substituted, some fillers dropped, some tags missed, now and then a turn split in two; the
prediction is perturbed more. About 167 words per annotation, so 6,000 annotations hold ~1 M
words. Generation is not timed.

Timed, over the whole project, each metric the QC report computes per task:
pairwise WER (3 pairs, normalized-v1), frame kappa (3 pairs, joint labels and per speaker),
unitizing alpha (3 annotators), boundary F1 (3 pairs, 0.25 s collar), disfluency agreement
(3 pairs), per-region choice agreement (3 annotators) and pre-label edits (3 annotators against
the prediction), each summed into corpus counts. Then the same metrics once more on prepared
annotations (``casper_qc.metrics.prepared``: one wrapper per annotation and task, shared by the
task's metrics, as the QC report computes them); their counts must equal the first pass's.

Usage (pins itself to one CPU and one BLAS thread):

    .venv/bin/python bench/bench_metrics.py [--tasks 2000] [--repeat 3] [--seed 1]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core: no BLAS threads

import argparse  # noqa: E402 (after the thread settings)
import random  # noqa: E402 (after the thread settings)
import sys  # noqa: E402 (after the thread settings)
import time  # noqa: E402 (after the thread settings)
from pathlib import Path  # noqa: E402 (after the thread settings)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from casper_qc.model import Annotation, Disfluency, Turn, Word  # noqa: E402
from qc_data import VOCAB, truth_turns  # noqa: E402

FILLERS = ("uh", "um", "uh", "um", "oh", "hm")


def _turn(speaker, start, end, words, choice) -> Turn:
    tokens = tuple(Word(w) for w, _ in words)
    dis = []
    for i, (_, tag) in enumerate(words):
        if tag in ("FP", "PW"):
            dis.append(Disfluency(tag, (i, i + 1)))
        elif tag == "RM" and i + 1 < len(words):
            dis.append(Disfluency("REP", (i, i + 2), reparandum=(i, i + 1), repair=(i + 1, i + 2)))
    return Turn(speaker, start, end, text=" ".join(w for w, _ in words), words=tokens,
                disfluencies=tuple(dis), choices={"quality": (choice,)})


def _perturb(rng: random.Random, truth: list[tuple], noise: float, task: int, who: str,
             origin: str, keep: float = 0.0) -> Annotation:
    turns = []
    for speaker, start, end, words in truth:
        # keep each speaker's turns apart after jitter (no overlap with their own neighbour)
        prev_end = max((t.end for t in turns if t.speaker == speaker), default=0.0)
        if rng.random() < keep and start >= prev_end:  # left as the pre-label had it
            turns.append(_turn(speaker, start, end, words, "ok"))
            continue
        words = [(rng.choice(VOCAB), None) if rng.random() < 0.04 * noise else (w, t)
                 for w, t in words if not (t == "FP" and rng.random() < 0.15 * noise)]
        words = [(w, None if t and rng.random() < 0.2 * noise else t) for w, t in words]
        s = max(prev_end, round(start + rng.gauss(0, 0.04 * noise), 3))
        e = max(s + 0.05, round(end + rng.gauss(0, 0.04 * noise), 3))
        choice = "ok" if rng.random() > 0.1 * noise else "unclear"
        if not words:
            continue
        if len(words) > 6 and rng.random() < 0.05 * noise:  # split the turn in two
            cut = len(words) // 2
            middle = round(s + (e - s) / 2, 3)
            turns.append(_turn(speaker, s, middle, words[:cut], choice))
            turns.append(_turn(speaker, middle, e, words[cut:], choice))
        else:
            turns.append(_turn(speaker, s, e, words, choice))
    return Annotation(task, turns, annotator=who, origin=origin)


def _tags(turn: Turn) -> list[str | None]:
    tags: list[str | None] = [None] * len(turn.words)
    for dis in turn.disfluencies:
        if dis.reparandum is not None:
            tags[dis.reparandum.start] = "RM"
        else:
            tags[dis.words.start] = dis.type.value
    return tags


def generate(tasks: int, seed: int) -> list[tuple[float, list[Annotation], Annotation]]:
    rng = random.Random(seed)
    project = []
    for task in range(tasks):
        truth = truth_turns(rng, rng.randint(70, 97), fillers=FILLERS, repetition="RM")
        duration = round(max(t[2] for t in truth) + 1.0, 3)
        prediction = _perturb(rng, truth, 2.0, task, "model", "prediction")
        # annotators correct the pre-label: most turns kept, the rest edited
        shown = [(t.speaker, t.start, t.end, list(zip((w.text for w in t.words), _tags(t))))
                 for t in prediction.turns]
        annotators = [_perturb(rng, shown, 1.0, task, f"annotator{k}", "annotation", keep=0.6)
                      for k in range(3)]
        project.append((duration, annotators, prediction))
    return project


def run_metrics(project):
    from casper_qc.metrics.boundaries import boundary_counts
    from casper_qc.metrics.choices import choice_agreement
    from casper_qc.metrics.disfluency_agreement import disfluency_agreement
    from casper_qc.metrics.frames import frame_kappa, frame_kappa_by_speaker
    from casper_qc.metrics.pairwise import pairwise_wer
    from casper_qc.metrics.prelabel_edits import prelabel_edits
    from casper_qc.metrics.unitizing import unitizing_alpha

    pairs = ((0, 1), (0, 2), (1, 2))
    timings: dict[str, float] = {}
    totals: dict[str, object] = {}

    def timed(name, function):
        # CPU time of this process: the development machine is shared, and wall time there
        # swings with the other engineers' load
        start = time.process_time()
        totals[name] = function()
        timings[name] = time.process_time() - start

    timed("pairwise WER", lambda: sum(p.counts for _, a, _ in project for p in pairwise_wer(a)))
    timed("frame kappa, joint", lambda: sum(frame_kappa(a[i], a[j], duration=d)
                                            for d, a, _ in project for i, j in pairs))
    timed("frame kappa, per speaker", lambda: [frame_kappa_by_speaker(a[i], a[j], duration=d)
                                               for d, a, _ in project for i, j in pairs])
    timed("unitizing alpha", lambda: [unitizing_alpha(a, d) for d, a, _ in project])
    timed("boundary F1", lambda: sum(boundary_counts(a[i], a[j], collar=0.25)
                                     for _, a, _ in project for i, j in pairs))
    timed("disfluency agreement", lambda: sum(disfluency_agreement(a[i], a[j])
                                              for _, a, _ in project for i, j in pairs))
    timed("choice agreement", lambda: sum(choice_agreement(a, "quality") for _, a, _ in project))
    timed("pre-label edits", lambda: sum(prelabel_edits(p, x) for _, a, p in project for x in a))
    return timings, totals


def run_prepared(project) -> tuple[float, dict[str, object]]:
    """The metrics of :func:`run_metrics` but on prepared annotations: per task one
    ``casper_qc.metrics.prepared.Prepared`` per annotation and prediction, shared by all the
    task's metrics (how the QC report computes them). CPU seconds and the corpus counts."""
    from casper_qc.metrics.boundaries import boundary_counts
    from casper_qc.metrics.choices import choice_agreement
    from casper_qc.metrics.disfluency_agreement import disfluency_agreement
    from casper_qc.metrics.frames import frame_kappa, frame_kappa_by_speaker
    from casper_qc.metrics.pairwise import pairwise_wer
    from casper_qc.metrics.prelabel_edits import prelabel_edits
    from casper_qc.metrics.prepared import Prepared
    from casper_qc.metrics.unitizing import unitizing_alpha

    pairs = ((0, 1), (0, 2), (1, 2))
    totals: dict[str, list] = {name: [] for name in (
        "pairwise WER", "frame kappa, joint", "frame kappa, per speaker", "unitizing alpha", "boundary F1",
        "disfluency agreement", "choice agreement", "pre-label edits")}
    start = time.process_time()
    for d, given, p in project:
        a = [Prepared(x) for x in given]
        shown = Prepared(p)
        totals["pairwise WER"] += [w.counts for w in pairwise_wer(given)]  # texts only: nothing to share
        for i, j in pairs:
            totals["frame kappa, joint"].append(frame_kappa(a[i], a[j], duration=d))
            totals["frame kappa, per speaker"].append(frame_kappa_by_speaker(a[i], a[j], duration=d))
            totals["boundary F1"].append(boundary_counts(a[i], a[j], collar=0.25))
            totals["disfluency agreement"].append(disfluency_agreement(a[i], a[j]))
        totals["unitizing alpha"].append(unitizing_alpha(a, d))
        totals["choice agreement"].append(choice_agreement(a, "quality"))
        totals["pre-label edits"] += [prelabel_edits(shown, x) for x in a]
    used = time.process_time() - start
    summed: dict[str, object] = {name: values if name in ("frame kappa, per speaker", "unitizing alpha") else sum(values)
                                 for name, values in totals.items()}
    return used, summed


def _figures(counts) -> object:
    """What a corpus count says (its ``to_dict``), for comparing two ways of computing it."""
    return counts.to_dict() if hasattr(counts, "to_dict") else counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    start = time.perf_counter()
    project = generate(args.tasks, args.seed)
    words = sum(len(t.words) for _, a, _ in project for x in a for t in x.turns)
    turns = sum(len(x.turns) for _, a, _ in project for x in a)
    print(f"generated {args.tasks} tasks x 3 annotators: {words:,} words, {turns:,} turns "
          f"(+ predictions) in {time.perf_counter() - start:.1f} s")
    runs, walls, shared = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        timings, totals = run_metrics(project)
        walls.append(time.perf_counter() - start)
        runs.append(timings)
        used, prepared_totals = run_prepared(project)
        shared.append(used)
        for name in ("pairwise WER", "frame kappa, joint", "boundary F1", "disfluency agreement", "choice agreement",
                     "pre-label edits"):
            if _figures(prepared_totals[name]) != _figures(totals[name]):
                raise AssertionError(f"{name}: prepared annotations gave other counts")
    best = {name: min(r[name] for r in runs) for name in runs[0]}
    worst = {name: max(r[name] for r in runs) for name in runs[0]}
    print(f"{'metric (CPU seconds)':28s} {'best':>8s} {'worst':>8s}")
    for name in best:
        print(f"{name:28s} {best[name]:8.2f} {worst[name]:8.2f}")
    print(f"{'all metrics':28s} {min(sum(r.values()) for r in runs):8.2f} "
          f"{max(sum(r.values()) for r in runs):8.2f}")
    print(f"{'all metrics, wall clock':28s} {min(walls):8.2f} {max(walls):8.2f}  "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"{'all, on prepared annotations':28s} {min(shared):8.2f} {max(shared):8.2f}  "
          "(one Prepared per annotation and task, as the QC report; same counts)")
    wer = totals["pairwise WER"]
    print(f"check: pairwise WER {wer.wer:.4f} over {wer.ref_words:,} words; boundary F1 "
          f"{totals['boundary F1'].f1:.3f}; frame kappa {totals['frame kappa, joint'].kappa:.3f}; "
          f"tag kappa {totals['disfluency agreement'].kappa.kappa:.3f}; "
          f"kept {totals['pre-label edits'].kept_rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
