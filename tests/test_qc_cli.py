"""``casper-qc qc`` and ``casper-qc serve`` as users run them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import parselmouth
import pytest
import requests
from parselmouth.praat import call
from test_qc_helpers import TOKEN, bad_tasks, hand_task, users_export, write_export

from casper_qc.cli import main
from casper_qc.formats.jsonl import read_supervisions
from casper_qc.labelstudio_server import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def project(tmp_path):
    export = write_export(tmp_path / "export.json", users_export([hand_task(), *bad_tasks()]))
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "hand.ch1.txt").write_text("so i think we go", encoding="utf-8")
    (refs / "hand.ch2.txt").write_text("yeah right", encoding="utf-8")
    return export, refs


def _tiers(path: Path) -> list[tuple[str, list[tuple[float, float, str]]]]:
    """The tiers of a TextGrid as the real Praat engine reads them."""
    grid = parselmouth.read(str(path))
    tiers = []
    for tier in range(1, call(grid, "Get number of tiers") + 1):
        intervals = [(call(grid, "Get start time of interval", tier, i), call(grid, "Get end time of interval", tier, i),
                      call(grid, "Get label of interval", tier, i))
                     for i in range(1, call(grid, "Get number of intervals", tier) + 1)]
        tiers.append((call(grid, "Get tier name...", tier), intervals))
    return tiers


def test_qc_writes_the_report_and_the_corrected_exports(project, tmp_path, capsys):
    export, refs = project
    out = tmp_path / "out"
    code = main(["qc", "--from", str(export), "--references", str(refs), "--out", str(out),
                 "--threshold", "max_pairwise_wer=0.25"])
    printed = capsys.readouterr()
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "report.html", "report.json", "tasks.csv", "annotators.csv", "pairs.csv", "speakers.csv", "flagged.csv",
        "omissions.csv", "textgrids.zip", "supervisions.jsonl"])
    assert "3 task(s), 4 annotation(s) by 3 annotator(s); 3 task(s) flagged for review" in printed.out
    assert re.search(r"partial: left out .*1 task", printed.err)
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["thresholds"]["max_pairwise_wer"] == 0.25
    hand = report["tasks"][0]
    assert [f["code"] for f in hand["flags"]] == ["high-reference-wer"]  # cara: 2/7 against the text
    # The zip: the adopted annotations as TextGrids the Praat engine opens.
    with zipfile.ZipFile(out / "textgrids.zip") as archive:
        archive.extractall(tmp_path / "grids")
    tiers = _tiers(tmp_path / "grids" / "hand.TextGrid")
    # Label Studio regions have no word times: a turns tier per speaker (formats.textgrid).
    assert [name for name, _ in tiers] == ["A - turns", "B - turns"]
    turns = dict(tiers)
    assert [(s, e, label) for s, e, label in turns["A - turns"] if label] == [(0.0, 4.0, "so i think we go")]
    assert [(s, e, label) for s, e, label in turns["B - turns"] if label] == [(5.0, 9.0, "yeah right")]
    assert _tiers(tmp_path / "grids" / "bad.TextGrid")[0][1][1] == (0.5, 2.0, "hello there")
    manifest = (tmp_path / "grids" / "manifest.tsv").read_text().splitlines()
    assert manifest[1].split("\t")[:6] == ["1", "hand", "hand.TextGrid", "101", "ann.lee@example.com", "consensus"]
    # The JSONL reads back as Lhotse supervisions of the adopted annotations.
    items = read_supervisions(out / "supervisions.jsonl")
    assert [(c.id, a.annotator, len(a.turns)) for c, a in items] == [("bad", "ann.lee@example.com", 1),
                                                                     ("hand", "ann.lee@example.com", 2)]
    html = (out / "report.html").read_text()
    for plot in ("histogram", "matrix", "wer", "flags"):
        assert f'data-plot="{plot}"' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert (out / "flagged.csv").read_text().splitlines()[0] == "task,conversation,code,message"


@pytest.mark.parametrize("args, message", [
    (["--from", "{tmp}/missing.json"], r"missing.json: file not found"),
    (["--from", "{export}", "--references", "{tmp}/nowhere"], r"nowhere: references directory not found"),
    (["--from", "{export}", "--threshold", "max_wer=1"], r"--threshold: unknown threshold 'max_wer'"),
    (["--from", "{export}", "--thresholds", "{tmp}/none.json"], r"none.json: thresholds file not found"),
    (["--from", "{export}", "--config", "{tmp}/missing.xml"], r"missing.xml: label config file not found"),
    (["--project", "3"], r"LABEL_STUDIO_URL: the Label Studio URL must start with http:// or https://"),
])
def test_qc_bad_input_is_one_line_and_exit_2(project, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    export, _ = project
    filled = [a.format(tmp=tmp_path, export=export) for a in args]
    code = main(["qc", *filled, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
    assert not (tmp_path / "out" / "report.json").exists()


def test_qc_label_studio_unreachable_or_without_key(project, tmp_path, capsys, monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-legacy-token")
    assert main(["qc", "--project", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"casper-qc: error: http://127.0.0.1:{port}: cannot reach Label Studio (ConnectError) when "
                   "reading project 1")
    assert "some-legacy-token" not in err
    monkeypatch.delenv("LABEL_STUDIO_API_KEY")
    assert main(["qc", "--project", "1", "--out", str(tmp_path / "out")]) == 2
    assert "LABEL_STUDIO_API_KEY: no API key" in capsys.readouterr().err


def test_serve_refuses_the_network_without_a_token(project, capsys, monkeypatch):
    monkeypatch.delenv("CASPER_QC_TOKEN", raising=False)
    export, _ = project
    assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--from", str(export)]) == 2
    assert capsys.readouterr().err.strip() == (
        "casper-qc: error: --host: refusing to listen on 0.0.0.0 without an API token: set CASPER_QC_TOKEN "
        "(or listen on 127.0.0.1)")


def _start(args: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    handle = open(log, "w")
    process = subprocess.Popen([sys.executable, "-m", "casper_qc", "serve", "--port", "0", *args], cwd=REPO, env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log.read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"serve did not start: {log.read_text()}")


def test_serve_answers_then_stops_on_sigterm(project, tmp_path):
    export, refs = project
    env = {**os.environ, "CASPER_QC_TOKEN": TOKEN, "CASPER_QC_WEBHOOK_SECRET": "another-secret-value"}
    process, url = _start(["--from", str(export), "--references", str(refs)], env, tmp_path / "serve.log")
    try:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/health", timeout=10).json() == {"status": "ok", "tasks": 3}
        assert requests.get(f"{url}/api/report", timeout=10).status_code == 401
        report = requests.get(f"{url}/api/report", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
        assert report["project"]["tasks"] == 3 and report["project"]["flagged_tasks"] == 3
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    log = (tmp_path / "serve.log").read_text()
    assert "casper-qc serve: stopped" in log
    assert TOKEN not in log and "another-secret-value" not in log


def test_serve_bad_export_is_one_line(tmp_path):
    (tmp_path / "export.json").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "casper_qc", "serve", "--port", "0", "--from",
                           str(tmp_path / "export.json")], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CASPER_QC_TOKEN": TOKEN})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"casper-qc: error: {tmp_path / 'export.json'}: a Label Studio JSON export is a "
                                   "list of tasks, not an object")


def test_serve_label_studio_unreachable_is_one_line():
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "casper_qc", "serve", "--port", "0", "--project", "4"], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CASPER_QC_TOKEN": TOKEN, "LABEL_STUDIO_URL": f"http://127.0.0.1:{port}",
                               "LABEL_STUDIO_API_KEY": "a-legacy-token-value"})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"casper-qc: error: http://127.0.0.1:{port}: cannot reach Label Studio "
                                   "(ConnectError) when reading project 4")
