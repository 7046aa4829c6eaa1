"""Live: a real Label Studio 1.23.2 (the session's ``labelstudio_server``), a project made through
its API by real users, pulled through label-studio-sdk into the QC report; then Label Studio's
own webhooks keep a running QC service current.

The project holds the hand task of tests/test_qc_helpers.py (three annotators, each with their
own account and token; a prediction), a cancelled annotation and a task with one annotator, so
the report must show the hand-derived figures of tests/test_qc_core.py.
"""

from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests
from test_qc_helpers import SECRET, TOKEN, hand_task, region

from casper_qc.errors import InputError
from casper_qc.formats.labelconfig import bundled_config_path
from casper_qc.qc.settings import QCOptions
from casper_qc.qc.source import pull_project
from casper_qc.qc.state import QCState
from casper_qc.service import create_app

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

DATA = {"audio": "/data/local-files/?d=samples/michaelandsickmichael.wav", "conversation_id": "hand"}


@pytest.fixture(scope="module")
def live_project(labelstudio_server):
    """(server, project id, task ids, e-mails of the annotators, their SDK clients)."""
    from label_studio_sdk import LabelStudio

    server = labelstudio_server
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    project = admin.projects.create(title=f"casper-qc QC {secrets.token_hex(3)}",
                                    label_config=bundled_config_path("conversation").read_text(encoding="utf-8"))
    suffix = secrets.token_hex(3)
    emails = [f"{name}.{suffix}@example.com" for name in ("lee", "ben", "cara", "dan")]
    clients = [LabelStudio(base_url=server.url, api_key=server.sign_up(email, f"pw-{suffix}-Qc9!")) for email in emails]
    hand = hand_task()
    first = admin.tasks.create(project=project.id, data=DATA)
    second = admin.tasks.create(project=project.id, data={"audio": DATA["audio"], "conversation_id": "solo"})
    prediction = admin.predictions.create(task=first.id, result=hand["predictions"][0]["result"],
                                          model_version="prelabel-v1", score=0.5)
    for client, raw in zip(clients, hand["annotations"]):
        client.annotations.create(id=first.id, result=raw["result"], lead_time=raw["lead_time"],
                                  parent_prediction=prediction.id if raw["parent_prediction"] else None)
    clients[3].annotations.create(id=first.id, result=[], was_cancelled=True, lead_time=2.0)  # a skip
    clients[0].annotations.create(id=second.id, result=region("s1", "Speaker A", 1.0, 3.0, "all alone"), lead_time=50.0)
    return server, project.id, (first.id, second.id), emails, clients


def test_pull_through_the_sdk_gives_the_hand_figures(live_project):
    server, project, (first, second), emails, _ = live_project
    source = pull_project(server.url, server.token, project)
    assert source.kind == "labelstudio" and source.project == project
    assert source.reviews.startswith("unavailable (HTTP")  # Community edition: no reviews
    report = QCState(source, None, QCOptions()).report
    t = report.task_json(first)
    assert [a["annotator"] for a in t["annotators"]] == emails[:3]  # names from users.list; the skip left out
    figures = t["agreement"]
    assert figures["pairwise_wer"] == pytest.approx(0.2)  # 2 * (0 + 2 + 2) / 40, tests/test_qc_core.py
    assert figures["frame_kappa"] == pytest.approx(44 / 49)
    assert figures["boundary_f1"] == pytest.approx(20 / 24)
    pairs = {(p["a"], p["b"]): p for p in t["pairs"]}
    assert pairs[(emails[0], emails[2])]["unitizing_alpha"] == pytest.approx(0.949478, abs=1e-6)
    lee = t["annotators"][0]
    assert lee["prelabel"]["model_version"] == "prelabel-v1" and lee["prelabel"]["word_edit_rate"] == pytest.approx(1 / 6)
    assert t["adopted"]["annotation"] == lee["annotation"] and t["adopted"]["reason"] == "consensus"
    solo = report.task_json(second)
    assert [f["code"] for f in solo["flags"]] == ["too-few-annotators"]
    assert report.project()["annotators"] == 3


def test_pull_refusals_are_one_line(live_project):
    server, project, _, _, _ = live_project
    with pytest.raises(InputError) as refused:
        pull_project(server.url, "0123456789abcdef0123456789abcdef01234567", project)
    assert str(refused.value) == f"{server.url}: Label Studio refused the API key (HTTP 401) when reading project {project}"
    with pytest.raises(InputError, match=r"Label Studio has no project 987654 \(HTTP 404\)"):
        pull_project(server.url, server.token, 987654)


def test_personal_access_token_through_the_sdk(live_project):
    from label_studio_sdk import LabelStudio

    server, project, _, emails, _ = live_project
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    admin.jwt_settings.update(api_token_ttl_days=30, api_tokens_enabled=True, legacy_api_tokens_enabled=True)
    refresh = admin.tokens.create().token  # a JWT refresh token: the SDK exchanges it for access tokens
    source = pull_project(server.url, refresh, project)
    assert len(source.tasks) == 2 and emails[0] in source.users.values()


def test_label_studio_webhooks_keep_the_service_current(live_project):
    from label_studio_sdk import LabelStudio
    from werkzeug.serving import make_server

    server, project, (first, _), emails, clients = live_project
    state = QCState(pull_project(server.url, server.token, project), None, QCOptions())
    app = create_app({"CASPER_QC_TOKEN": TOKEN, "CASPER_QC_WEBHOOK_SECRET": SECRET}, state=state)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    service = f"http://127.0.0.1:{http.server_port}"
    admin = LabelStudio(base_url=server.url, api_key=server.token)
    hook = admin.webhooks.create(url=f"{service}/webhook", project=project, send_payload=True,
                                 send_for_all_actions=True,
                                 headers={"Authorization": f"Bearer {TOKEN}", "X-Casper-QC-Webhook-Secret": SECRET})
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def annotators() -> list[str]:
        return [a["annotator"] for a in requests.get(f"{service}/api/tasks/{first}", headers=auth, timeout=10).json()["annotators"]]

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"the report did not change: {annotators()}")

    try:
        before = requests.get(f"{service}/api/report", headers=auth, timeout=10).json()["project"]["version"]
        dan = clients[3].annotations.create(
            id=first, lead_time=77.0,
            result=[*region("d1", "Speaker A", 0, 4, "so i think we go"), *region("d2", "Speaker B", 5, 9, "yeah right")])
        wait_for(lambda: emails[3] in annotators())  # ANNOTATION_CREATED arrived, named from users.list
        t = requests.get(f"{service}/api/tasks/{first}", headers=auth, timeout=10).json()
        # cara now differs from three people: 2 * (2 + 2 + 2) / 81 (see tests/test_service.py).
        assert t["agreement"]["pairwise_wer"] == pytest.approx(12 / 81)
        clients[3].annotations.update(
            id=dan.id, result=[*region("d1", "Speaker A", 0, 4, "so i think we went"), *region("d2", "Speaker B", 6, 9, "yeah")])
        wait_for(lambda: requests.get(f"{service}/api/tasks/{first}", headers=auth, timeout=10).json()["agreement"]
                 ["pairwise_wer"] == pytest.approx(2 * (0 + 2 + 2 + 2 + 2 + 0) / (14 + 13 + 13 + 13 + 13 + 12)))
        clients[3].annotations.delete(id=dan.id)
        wait_for(lambda: emails[3] not in annotators())
        after = requests.get(f"{service}/api/report", headers=auth, timeout=10).json()["project"]
        assert after["version"] > before and after["agreement"]["pairwise_wer"] == pytest.approx(0.2)
    finally:
        admin.webhooks.delete(id=hook.id)
        http.shutdown()
        thread.join(timeout=10)


def test_qc_command_on_the_live_project(live_project, tmp_path, monkeypatch, capsys):
    import json

    from casper_qc.cli import main

    server, project, (first, _), emails, _ = live_project
    monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.token)
    assert main(["qc", "--project", str(project), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr()
    assert server.token not in out.out + out.err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["source"]["kind"] == "labelstudio" and report["source"]["project"] == project
    assert report["source"]["name"] == server.url  # never the key
    hand = next(t for t in report["tasks"] if t["id"] == first)
    assert hand["agreement"]["pairwise_wer"] == pytest.approx(0.2)
    assert [a["annotator"] for a in report["annotators"]] == sorted(emails[:3])
