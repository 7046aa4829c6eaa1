"""The QC report core (casper_qc.qc) on small hand-checkable projects.

The hand task (tests/test_qc_helpers.py ``hand_task``), 10 s, speakers A (channel 0) and B (1):

    ann.lee   A [0, 4) "so i think we go"    B [5, 9) "yeah right"
    ben.ortiz the same
    cara      A [0, 4) "so i think we went"  B [6, 9) "yeah"
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import pytest
from helpers import praat_tier_names
from test_qc_helpers import (CONFIG, annotation, bad_tasks, hand_task, region, task, users_export,
                             write_export)

from casper_qc.errors import ConfigError, FormatError, InputError
from casper_qc.metrics.unitizing import unitizing_alpha, unitizing_counts
from casper_qc.qc import exports, tables, tally
from casper_qc.qc.references import load_references
from casper_qc.qc.settings import QCOptions, Thresholds, load_thresholds, thresholds_from
from casper_qc.qc.source import load_export
from casper_qc.qc.state import QCState, WrongProject, build_report
from casper_qc.qc.upool import UnitizingPool


def _report(tmp_path: Path, tasks: list, *, references: Path | None = None, thresholds: Thresholds = Thresholds()):
    source = load_export(write_export(tmp_path / "export.json", users_export(tasks)), CONFIG)
    refs = load_references(references) if references is not None else None
    return QCState(source, refs, QCOptions(thresholds=thresholds))


def test_hand_task_agreement(tmp_path):
    state = _report(tmp_path, [hand_task()])
    t = state.report.to_json()["tasks"][0]
    pairs = {(p["a_annotation"], p["b_annotation"]): p for p in t["pairs"]}
    same, lee_cara, ben_cara = pairs[(101, 102)], pairs[(101, 103)], pairs[(102, 103)]
    # Identical annotations agree perfectly on everything defined.
    assert (same["unitizing_alpha"], same["frame_kappa"], same["boundary_f1"], same["pairwise_wer"]) == (1.0, 1.0, 1.0, 0.0)
    assert lee_cara == {**ben_cara, "a": lee_cara["a"], "a_annotation": 101}
    # WER, per speaker over the conversation: A "go" -> "went" is 1 substitution (N 5 and 5),
    # B "yeah right" -> "yeah" 1 deletion (N 2 and 1): symmetric 2 * 2 / (7 + 6) = 4/13.
    assert lee_cara["pairwise_wer"] == pytest.approx(4 / 13)
    # Boundaries (collar 0.25 s): A start, A end, B end hit; B start 5 vs 6 s misses: 2*3 / (4+4).
    assert lee_cara["boundary_f1"] == pytest.approx(0.75)
    # Frames of 10 ms over 10 s (1000): A/A 400, silence/silence 200, B/B 300, B/silence 100 ([5, 6)).
    # p_o = 0.9; marginals lee A .4 sil .2 B .4, cara A .4 sil .3 B .3: p_e = .16 + .06 + .12 = .34;
    # kappa = (.9 - .34) / (1 - .34) = 28/33.
    assert lee_cara["frame_kappa"] == pytest.approx(28 / 33)
    # Unitizing alpha (Krippendorff 2004, sec. 12.4), L = 10000 ms, m = 2:
    #   A: same unit [0, 4000) and gap [4000, 10000) in both: D_o(A) = 0;
    #      D_e(A) = 2/L * ((2-1)/3 * 2 (2*4000^3 - 3*4000^2 + 4000) + 2 * 4000^2 * 2 * 2001)
    #               / (2L (2L - 1) - 2 * 4000 * 3999) = 0.1159645...
    #   B: units [5000, 9000) and [6000, 9000) overlap: delta = 1000^2 + 0, counted for both
    #      ordered pairs: D_o(B) = 2e6 / (2 * 1 * L^2) = 0.01;
    #      D_e(B) = 2/L * (1/3 * (2*4000^3 - 3*4000^2 + 4000 + 2*3000^3 - 3*3000^2 + 3000)
    #               + 4000^2 (1001 + 2001) + 3000^2 (2001 + 3001))
    #               / (2L (2L - 1) - 4000*3999 - 3000*2999) = 0.0819709...
    #   alpha = 1 - 0.01 / (0.1159645 + 0.0819709) = 0.949478
    assert lee_cara["unitizing_alpha"] == pytest.approx(0.949478, abs=1e-6)
    # The task pools its three pairs: WER 2 * (0 + 2 + 2) / (14 + 13 + 13) = 0.2; boundary hits
    # 4 + 3 + 3 of 12 and 12: F1 = 20/24; frames: p_o = 2800/3000, p_e = 26/75, kappa = 44/49.
    figures = t["agreement"]
    assert figures["pairwise_wer"] == pytest.approx(0.2)
    assert figures["boundary_f1"] == pytest.approx(20 / 24)
    assert figures["frame_kappa"] == pytest.approx(44 / 49)
    # The task's own alpha uses the three annotators at once (the metric's m-coder formula).
    lee, ben, cara = state.source.tasks[1].task.annotations
    assert figures["unitizing_alpha"] == pytest.approx(unitizing_alpha([lee, ben, cara], 10.0, speakers=["A", "B"]).alpha)
    # No disfluency in the words and no disfluency choice: a single tag ("O") and a single
    # choice value, so both figures are undefined (None, never 0), and raise no flag.
    assert figures["disfluency_kappa"] is None and figures["choices"] == {"disfluency": None}
    # Per speaker: A pairs 2 * (0 + 1 + 1) / 30; B 2 * (0 + 1 + 1) / (4 + 3 + 3) = 0.4;
    # B speech/silence frames pooled: p_o 2800/3000, p_e (1200*1000 + 1800*2000) / 9e6 = 8/15: 6/7.
    assert t["speakers"]["A"]["pairwise_wer"] == pytest.approx(4 / 30)
    assert t["speakers"]["B"]["pairwise_wer"] == pytest.approx(0.4)
    assert t["speakers"]["A"]["frame_kappa"] == 1.0
    assert t["speakers"]["B"]["frame_kappa"] == pytest.approx(6 / 7)


def test_hand_task_project_annotators_and_pairs(tmp_path):
    report = _report(tmp_path, [hand_task()]).report
    data = report.to_json()
    project = data["project"]
    assert (project["tasks"], project["annotations"], project["annotators"], project["flagged_tasks"]) == (1, 3, 3, 1)
    # Pooled over the three pairs (one task): the same as the task's pooled figures.
    assert project["agreement"]["pairwise_wer"] == pytest.approx(0.2)
    assert project["agreement"]["frame_kappa"] == pytest.approx(44 / 49)
    # Project alpha pools the three pairs as 2-coder continua: the metric's sum of their counts.
    lee, ben, cara = report.tasks[1].task.annotations
    parts = [unitizing_alpha([a, b], 10.0, speakers=["A", "B"]) for a, b in ((lee, ben), (lee, cara), (ben, cara))]
    assert project["agreement"]["unitizing_alpha"] == pytest.approx(sum(parts).alpha, rel=1e-12)
    rows = {a["annotator"]: a for a in data["annotators"]}
    # ann.lee's pairs: (lee, ben) and (lee, cara): WER 2 * 2 / (14 + 13) = 4/27; lead time 100 s.
    assert rows["ann.lee@example.com"]["agreement"]["pairwise_wer"] == pytest.approx(4 / 27)
    assert rows["cara.nguyen@example.com"]["agreement"]["pairwise_wer"] == pytest.approx(8 / 26)
    assert rows["ann.lee@example.com"]["mean_lead_time"] == 100.0
    assert rows["ann.lee@example.com"]["annotator_id"] == 11
    assert rows["ann.lee@example.com"]["adopted"] == 1 and rows["ben.ortiz@example.com"]["adopted"] == 0
    pairs = {(p["a"], p["b"]): p for p in data["pairs"]}
    assert pairs[("ann.lee@example.com", "cara.nguyen@example.com")]["pairwise_wer"] == pytest.approx(4 / 13)
    speakers = {s["speaker"]: s for s in data["speakers"]}
    assert speakers["B"]["pairwise_wer"] == pytest.approx(0.4)
    assert speakers["A"]["unitizing_alpha"] == pytest.approx(sum(parts).category_alpha("A"))
    assert data["schema"] == "casper-qc/qc-report/1"
    assert list(data)[:3] == ["project", "tasks", "annotators"]


def test_hand_task_flags_adopted_and_prelabel_edits(tmp_path):
    t = _report(tmp_path, [hand_task()]).report.to_json()["tasks"][0]
    # Only the pairwise WER (0.2) passes a default threshold (0.15).
    assert [f["code"] for f in t["flags"]] == ["high-pairwise-wer"] and t["review"] is True
    # No ground truth, no review: consensus. lee and ben tie on mean pairwise WER
    # ((0 + 4/13) / 2 each) and alpha, so the earlier annotation id wins.
    assert t["adopted"]["annotation"] == 101 and t["adopted"]["reason"] == "consensus"
    lee = next(a for a in t["annotators"] if a["annotation"] == 101)
    # lee started from prediction 1 (parent_prediction): both regions kept exactly; words:
    # the prediction's B "yeah" became "yeah right": 1 insertion over 6 predicted words.
    assert lee["prelabel"]["prediction"] == 1
    assert (lee["prelabel"]["kept"], lee["prelabel"]["moved"], lee["prelabel"]["added"]) == (2, 0, 0)
    assert lee["prelabel"]["word_edit_rate"] == pytest.approx(1 / 6)
    cara = next(a for a in t["annotators"] if a["annotation"] == 103)
    # cara has no parent recorded: the task's latest prediction; her B start moved 5 -> 6 s.
    assert (cara["prelabel"]["kept"], cara["prelabel"]["moved"]) == (1, 1)


def test_plain_text_reference_per_channel(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "hand.ch1.txt").write_text("so i think\nwe go\n", encoding="utf-8")
    (refs / "hand.ch2.txt").write_text("Yeah, right.", encoding="utf-8")
    report = _report(tmp_path, [hand_task()], references=refs).report
    t = report.to_json()["tasks"][0]
    assert t["reference"] == {"kind": "text", "source": f"{refs / 'hand.ch1.txt'}, {refs / 'hand.ch2.txt'}",
                              "speakers": ["A", "B"], "timed": False, "annotation": None}
    wer = {a["annotator"]: a["reference"]["wer"] for a in t["annotators"]}
    # lee and ben wrote the reference's words (case and punctuation are normalized away); cara
    # has 1 substitution (A) and 1 deletion (B) of 7 reference words.
    assert wer == {"ann.lee@example.com": 0.0, "ben.ortiz@example.com": 0.0,
                   "cara.nguyen@example.com": pytest.approx(2 / 7)}
    assert t["wer"] == pytest.approx(2 / 21)
    assert "high-reference-wer" in [f["code"] for f in t["flags"]]
    assert report.project()["reference"]["wer"] == pytest.approx(2 / 21)
    assert report.project()["reference"]["boundary_f1"] is None  # plain text has no times


def test_ground_truth_annotation_is_the_reference(tmp_path):
    marked = hand_task()
    marked["annotations"][1]["ground_truth"] = True  # ben.ortiz
    t = _report(tmp_path, [marked]).report.to_json()["tasks"][0]
    assert t["reference"]["kind"] == "ground_truth" and t["reference"]["annotation"] == 102
    by_id = {a["annotation"]: a for a in t["annotators"]}
    assert by_id[102]["reference"] is None  # not scored against itself
    assert by_id[101]["reference"]["wer"] == 0.0
    assert by_id[103]["reference"]["wer"] == pytest.approx(2 / 7)
    # Timed reference: cara's boundaries against ben's: 3 of 4 hit.
    assert by_id[103]["reference"]["boundary_f1"] == pytest.approx(0.75)
    assert t["adopted"] == {"annotation": 102, "annotator": "ben.ortiz@example.com", "reason": "ground_truth",
                            "detail": "marked ground truth in Label Studio"}


def test_reviewer_accepted_annotation_is_adjudicated(tmp_path):
    reviewed = hand_task()
    reviewed["annotations"][2]["reviews"] = [{"accepted": False, "created_at": "2026-11-21T09:00:00Z"},
                                             {"accepted": True, "created_at": "2026-11-22T09:00:00Z"}]
    state = _report(tmp_path, [reviewed])
    t = state.report.to_json()["tasks"][0]
    assert t["adopted"]["annotation"] == 103 and t["adopted"]["reason"] == "adjudicated"
    assert state.source.reviews == "from the export"


def test_bad_inputs_leave_out_what_they_must_and_say_so(tmp_path):
    report = _report(tmp_path, [hand_task(), *bad_tasks()]).report
    data = report.to_json()
    assert [t["id"] for t in data["tasks"]] == [1, 2, 3]  # task 4 has no audio field
    assert data["project"]["partial"] is True and data["project"]["tasks_left_out"] == 1
    omissions = data["omissions"]
    assert {"what": "task", "task": 4, "annotation": None,
            "reason": "data has no 'audio' field for the label config's <Audio value=\"$audio\">"} in omissions
    outside = next(o for o in omissions if o["annotation"] == 202)
    assert outside["what"] == "annotation" and "label 'Speaker C' is not in the label config" in outside["reason"]
    by_id = {t["id"]: t for t in data["tasks"]}
    # Task 2: the cancelled annotation is not counted, the unreadable one is left out: one left.
    assert by_id[2]["annotations"] == 1
    assert [f["code"] for f in by_id[2]["flags"]] == ["too-few-annotators", "unreadable-annotation"]
    assert by_id[2]["adopted"]["reason"] == "only"
    assert by_id[2]["agreement"]["unitizing_alpha"] is None  # one annotator: undefined, not 0
    assert [f["code"] for f in by_id[3]["flags"]] == ["no-annotations"] and by_id[3]["adopted"] is None
    # The exports leave task 3 out and say why.
    archive, left_out = exports.textgrid_zip(report)
    assert [o.task for o in left_out] == [3]
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert sorted(z.namelist()) == ["bad.TextGrid", "hand.TextGrid", "manifest.tsv"]
        manifest = z.read("manifest.tsv").decode().splitlines()
        z.extractall(tmp_path / "grids")
    # The real Praat engine opens each exported TextGrid: a turns tier per speaker of the label
    # config, also in task 2, whose adopted annotation has Speaker A's words only.
    for name in ("hand", "bad"):
        assert praat_tier_names(tmp_path / "grids" / f"{name}.TextGrid") == ["A - turns", "B - turns"]
    assert manifest[3].startswith("3\tempty\t\t") and "it has no annotation" in manifest[3]
    text, left = exports.supervisions_jsonl(report)
    assert [o.task for o in left] == [3]
    records = [json.loads(line) for line in text.splitlines()]
    assert {r["recording_id"] for r in records} == {"hand", "bad"}
    assert all(r["custom"]["qc_adopted"] in ("consensus", "only") for r in records)
    header, rows = tables.table_rows(report, "flagged")
    assert header == ["task", "conversation", "code", "message"] and len(rows) == 4


def test_single_ground_truth_annotation_is_not_flagged(tmp_path):
    alone = task(5, "alone", [annotation(501, 11, [region("r", "Speaker A", 1, 2, "hi")], ground_truth=True)])
    t = _report(tmp_path, [alone]).report.to_json()["tasks"][0]
    assert t["flags"] == [] and t["adopted"]["reason"] == "ground_truth"


def test_overlapping_turns_of_one_speaker_are_flagged_not_fatal(tmp_path):
    overlapping = [region("o1", "Speaker A", 0, 3, "one two"), region("o2", "Speaker A", 2, 4, "three")]
    clean = [region("c1", "Speaker A", 0, 4, "one two three")]
    t = _report(tmp_path, [task(6, "overlap", [annotation(601, 11, overlapping), annotation(602, 12, clean)])]
                ).report.to_json()["tasks"][0]
    codes = [f["code"] for f in t["flags"]]
    assert "invalid-annotation" in codes
    assert t["adopted"]["annotation"] == 602 and t["adopted"]["reason"] == "only"
    assert t["agreement"]["unitizing_alpha"] is None  # needs every coder's units apart
    assert t["agreement"]["pairwise_wer"] == 0.0  # words still compare
    assert any(o["what"] == "figure" and o["annotation"] == 601 for o in t["omissions"])


def test_thresholds_file_overrides_and_errors(tmp_path):
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"max_pairwise_wer": 0.25, "min_annotators": 3, "min_frame_kappa": None}))
    thresholds = thresholds_from(str(path), ["max_reference_wer=0.3", "min_boundary_f1=none"])
    assert (thresholds.max_pairwise_wer, thresholds.min_annotators, thresholds.min_frame_kappa,
            thresholds.max_reference_wer, thresholds.min_boundary_f1) == (0.25, 3, None, 0.3, None)
    t = _report(tmp_path, [hand_task()], thresholds=thresholds).report.to_json()["tasks"][0]
    assert t["flags"] == []  # WER 0.2 is within 0.25 now
    with pytest.raises(ConfigError, match=r"unknown threshold 'max_wer'"):
        thresholds_from(None, ["max_wer=0.1"])
    with pytest.raises(ConfigError, match=r"--threshold: threshold max_pairwise_wer must be a number or none, not 'high'"):
        thresholds_from(None, ["max_pairwise_wer=high"])
    with pytest.raises(ConfigError, match=r"min_annotators must be a positive integer"):
        thresholds_from(None, ["min_annotators=1.5"])
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"bad.json: a thresholds file holds one JSON object"):
        load_thresholds(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match=r"thresholds file not found"):
        load_thresholds(tmp_path / "missing.json")


def test_export_file_errors_are_one_line(tmp_path):
    with pytest.raises(FormatError, match=r"missing.json: file not found"):
        load_export(tmp_path / "missing.json", CONFIG)
    (tmp_path / "object.json").write_text('{"tasks": []}')
    with pytest.raises(FormatError, match=r"object.json: a Label Studio JSON export is a list of tasks, not an object"):
        load_export(tmp_path / "object.json", CONFIG)
    (tmp_path / "broken.json").write_text('[{"id": 1,')
    with pytest.raises(FormatError, match=r"broken.json: is not valid JSON"):
        load_export(tmp_path / "broken.json", CONFIG)


# ------------------------------------------------------------------------------ aggregation


def _random_part(rng: random.Random, categories: tuple[str, ...], declare: tuple[str, ...] = ()):
    length = rng.randint(2000, 20000)
    coders = []
    for _ in range(2):
        units = []
        for name in categories:
            t = rng.randint(0, 500)
            while t < length - 100:
                end = min(length, t + rng.randint(50, 3000))
                units.append((t, end, name))
                t = end + rng.randint(1, 2000)
        coders.append(units)
    return unitizing_counts(coders, 0, length), unitizing_counts(coders, 0, length, categories=declare)


def test_unitizing_pool_equals_the_metric_sum_through_adds_and_removals():
    rng = random.Random(5)
    everything = ("A", "B", "C")
    parts, declared = {}, {}
    pool = UnitizingPool()
    for key in range(30):
        used = ("A", "B") if key % 4 else ("A", "C")  # categories missing from some parts
        parts[key], declared[key] = _random_part(rng, used, everything)
        pool.add(key, parts[key])
    for key in range(0, 30, 3):
        pool.remove(key)
        del parts[key], declared[key]
    for key in range(1, 30, 7):
        if key in parts:  # replace
            parts[key], declared[key] = _random_part(rng, everything, everything)
            pool.add(key, parts[key])
    # Each declared part holds every category (an absent one as one gap per coder over the part),
    # so summing them is exact: the pool must agree, incrementally and when built in one go.
    expected = sum(declared.values())
    assert pool.alpha == pytest.approx(expected.alpha, rel=1e-9)
    for name in everything:
        assert pool.category_alpha(name) == pytest.approx(expected.category_alpha(name), rel=1e-9)
    assert UnitizingPool().build(parts).alpha == pytest.approx(expected.alpha, rel=1e-9)
    with pytest.raises(ValueError, match="2-coder"):
        pool.add("three", unitizing_counts([[(0, 5, "A")]] * 3, 0, 10))


def test_the_reports_pooled_unitizing_alpha_is_the_sum_of_its_pairs(tmp_path):
    second = task(2, "second", [annotation(201, 11, [region("s1", "Speaker A", 0.5, 3.0, "hello there")]),
                                annotation(202, 12, [region("s2", "Speaker A", 0.6, 3.2, "hello there"),
                                                     region("s3", "Speaker B", 4.0, 6.0, "hi")])])
    report = _report(tmp_path, [hand_task(), second]).report
    for pool, figure in ((("project",), report.project()["agreement"]["unitizing_alpha"]),
                         *((("annotator", row["annotator"]), row["agreement"]["unitizing_alpha"])
                           for row in report.annotator_rows())):
        parts = [part for tq in report.tasks.values() for part in tq.parts.get(pool, {}).values()]
        assert len(parts) >= 2
        assert figure == pytest.approx(sum(parts).alpha, rel=1e-12), pool
    speaker_b = next(row for row in report.speaker_rows() if row["speaker"] == "B")
    parts = list(report.tasks[1].parts[("project",)].values()) + list(report.tasks[2].parts[("project",)].values())
    assert speaker_b["unitizing_alpha"] == pytest.approx(sum(parts).category_alpha("B"), rel=1e-12)


def test_a_bulk_pause_freezes_what_it_made_and_a_small_or_failed_one_does_not():
    import subprocess
    import sys

    script = """
import gc
from casper_qc.qc.source import BULK_OBJECTS, gc_paused

before = gc.get_freeze_count()
with gc_paused():
    assert not gc.isenabled()
    small = [[] for _ in range(1000)]
assert gc.isenabled() and gc.get_freeze_count() == before
try:
    with gc_paused():
        failed = [[] for _ in range(BULK_OBJECTS + 10)]
        raise ValueError("a read that fails")
except ValueError:
    pass
assert gc.isenabled() and gc.get_freeze_count() == before
with gc_paused():
    kept = [[] for _ in range(BULK_OBJECTS + 10)]
assert gc.isenabled() and gc.get_freeze_count() >= before + BULK_OBJECTS
gc.disable()
with gc_paused():
    more = [[] for _ in range(BULK_OBJECTS + 10)]
assert not gc.isenabled()  # the caller's state is restored
print("checked")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0 and done.stdout.strip() == "checked", done.stderr


def test_tallies_rebuild_the_metric_objects():
    from collections import Counter

    from casper_qc.metrics.alpha import krippendorff_alpha
    from casper_qc.metrics.boundaries import BoundaryCounts
    from casper_qc.metrics.kappa import cohen_kappa
    from casper_qc.metrics.wer import wer_counts

    cells: Counter = Counter()
    w = wer_counts(["a b c d", "x y"], ["a c d e", "x"])
    k = cohen_kappa(["a", "b", "a", "c"], ["a", "b", "b", "c"])
    b = BoundaryCounts(3, 4, 5, 120, 0.25)
    al = krippendorff_alpha([["a", "b", None, "a"], ["a", "b", "b", "b"]])
    tally.put_wer(cells, ("w",), w)
    tally.put_kappa(cells, ("k",), k)
    tally.put_boundary(cells, ("b",), b)
    tally.put_alpha(cells, ("al",), al)
    assert tally.get_wer(cells, ("w",), w.normalizer) == w
    assert tally.get_kappa(cells, ("k",)).kappa == pytest.approx(k.kappa)
    assert tally.get_boundary(cells, ("b",), 0.25) == b
    assert tally.get_alpha(cells, ("al",)).alpha == pytest.approx(al.alpha)
    twice = Counter(cells)
    tally.add_into(twice, cells)
    tally.subtract_from(twice, cells)
    assert tally.get_wer(twice, ("w",), w.normalizer) == w and tally.get_kappa(twice, ("k",)).kappa == pytest.approx(k.kappa)
    assert tally.symmetric_wer(w) == pytest.approx(2 * w.errors / (w.ref_words + w.hyp_words))


# ------------------------------------------------------------------------------ incremental updates


def _figures(data: dict) -> dict:
    """The report without the fields that say when it was built."""
    data = json.loads(json.dumps(data))
    for key in ("updated_at", "version"):
        data["project"].pop(key)
    return data


def _approx_equal(a, b, path="report"):
    if isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
    elif isinstance(a, dict):
        assert sorted(a) == sorted(b), path
        for key in a:
            _approx_equal(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b)):
            _approx_equal(x, y, f"{path}[{k}]")
    else:
        assert a == b, path


def test_webhook_events_update_the_report_as_a_rebuild_would(tmp_path):
    tasks = users_export([hand_task(), *bad_tasks()[:2]])
    state = QCState(load_export(write_export(tmp_path / "before.json", tasks), CONFIG), None, QCOptions())
    state.source.users.update({14: "dan.ruiz@example.com"})
    dan = annotation(104, 14, [region("a4", "Speaker A", 0.1, 4, "so i think we go"),
                               region("b4", "Speaker B", 5, 9, "yeah right")], task=1)
    cara_fixed = annotation(103, 13, [region("a3", "Speaker A", 0, 4, "so i think we go"),
                                      region("b3", "Speaker B", 5, 9, "yeah right")], task=1)
    new_task = task(7, "later", [])
    events = [
        {"action": "ANNOTATION_CREATED", "annotation": dan, "task": {"id": 1, "data": tasks[0]["data"]},
         "project": {"id": 1}},
        {"action": "ANNOTATION_UPDATED", "annotation": cara_fixed, "task": {"id": 1, "data": tasks[0]["data"]},
         "project": {"id": 1}},
        {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 102}], "project": {"id": 1}},
        {"action": "TASKS_CREATED", "tasks": [{k: v for k, v in new_task.items() if k != "annotations"}],
         "project": {"id": 1}},
        {"action": "TASKS_DELETED", "tasks": [{"id": 3}], "project": {"id": 1}},
        {"action": "PROJECT_UPDATED", "project": {"id": 1}},
    ]
    results = [state.apply(e).to_dict() for e in events]
    assert [r["status"] for r in results] == ["updated"] * 5 + ["ignored"]
    assert results[0]["recomputed"] == [1] and results[4]["removed"] == [3]
    # The same project read from scratch.
    after = users_export([hand_task(), *bad_tasks()[:2]])
    after[0]["annotations"] = [after[0]["annotations"][0], users_export([task(0, "", [cara_fixed])])[0]["annotations"][0],
                               {**dan, "completed_by": {"id": 14, "email": "dan.ruiz@example.com"}}]
    after = [after[0], after[1], {**new_task, "predictions": []}]
    rebuilt = build_report(load_export(write_export(tmp_path / "after.json", after), CONFIG), None, QCOptions())
    incremental = _figures(state.report.to_json())
    expected = _figures(rebuilt.to_json())
    incremental.pop("source"), expected.pop("source")
    _approx_equal(incremental, expected)
    t1 = state.report.task_json(1)
    assert [a["annotation"] for a in t1["annotators"]] == [101, 103, 104]
    assert t1["agreement"]["pairwise_wer"] == 0.0  # everyone now wrote the same words


def test_webhook_annotation_outside_the_config_is_left_out_and_flagged(tmp_path):
    state = _report(tmp_path, [hand_task()])
    data = {"audio": "/data/local-files/?d=audio/x.wav", "conversation_id": "hand"}
    wrong = annotation(105, 12, [region("z", "Speaker C", 1, 2, "hm")], task=1)
    result = state.apply({"action": "ANNOTATION_CREATED", "annotation": wrong, "task": {"id": 1, "data": data}})
    assert result.left_out == ["task 1: annotation 105: region 'z': label 'Speaker C' is not in the label config's "
                               "<Labels name=\"speaker\"> (Speaker A, Speaker B)"]
    t = state.report.task_json(1)
    assert "unreadable-annotation" in [f["code"] for f in t["flags"]] and t["annotations"] == 3
    fixed = annotation(105, 12, [region("z", "Speaker B", 5, 9, "yeah right")], task=1)
    state.apply({"action": "ANNOTATION_UPDATED", "annotation": fixed, "task": {"id": 1, "data": data}})
    t = state.report.task_json(1)
    assert t["annotations"] == 4 and not any(o["annotation"] == 105 for o in t["omissions"])
    cancelled = {**fixed, "was_cancelled": True}
    state.apply({"action": "ANNOTATION_UPDATED", "annotation": cancelled, "task": {"id": 1, "data": data}})
    assert state.report.task_json(1)["annotations"] == 3


def test_bad_webhook_bodies(tmp_path):
    state = _report(tmp_path, [hand_task()])
    with pytest.raises(FormatError, match=r"webhook: the webhook body has no 'action'"):
        state.apply({"annotation": {}})
    with pytest.raises(FormatError, match=r"a webhook body must be a JSON object"):
        state.apply([1, 2])
    with pytest.raises(WrongProject, match=r"ANNOTATION_CREATED is an event of project 9, but this report is of project 1"):
        state.apply({"action": "ANNOTATION_CREATED", "project": {"id": 9}, "annotation": {"id": 1}})
    with pytest.raises(FormatError, match=r"has no annotation object with an id"):
        state.apply({"action": "ANNOTATION_CREATED", "project": {"id": 1}})
    with pytest.raises(FormatError, match=r"annotation 77 is of task 55, which the report does not know"):
        state.apply({"action": "ANNOTATION_CREATED", "annotation": {"id": 77, "task": 55, "result": []}})
    with pytest.raises(InputError, match=r"task 56 cannot be read: data has no 'audio' field"):
        state.apply({"action": "ANNOTATION_CREATED", "annotation": {"id": 78, "task": 56, "result": []},
                     "task": {"id": 56, "data": {"text": "no audio"}}})
