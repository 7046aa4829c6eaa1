"""The QC service (casper_qc.service) through Flask's test client: authentication, the API and its
OpenAPI description, CSV, exports, the webhook, errors."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from helpers import praat_tier_names
from test_qc_helpers import SECRET, TOKEN, annotation, bad_tasks, hand_task, region, users_export, write_export

from casper_qc.errors import ConfigError
from casper_qc.service import create_app

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOOK = {**AUTH, "X-Casper-QC-Webhook-Secret": SECRET}
PROTECTED = ["/api/report", "/api/tasks/1", "/api/annotators", "/api/report/tasks.csv", "/api/export/textgrids.zip",
             "/api/export/supervisions.jsonl", "/api/export/tasks/1.TextGrid", "/api/export/tasks/1.jsonl",
             "/", "/annotators", "/tasks/1", "/openapi.json"]


@pytest.fixture()
def export_file(tmp_path):
    return write_export(tmp_path / "export.json", users_export([hand_task(), *bad_tasks()]))


@pytest.fixture()
def references(tmp_path):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "hand.ch1.txt").write_text("so i think we go", encoding="utf-8")
    (refs / "hand.ch2.txt").write_text("yeah right", encoding="utf-8")
    return refs


@pytest.fixture()
def settings(export_file, references):
    return {"CASPER_QC_TOKEN": TOKEN, "CASPER_QC_WEBHOOK_SECRET": SECRET, "CASPER_QC_FROM": str(export_file),
            "CASPER_QC_REFERENCES": str(references), "TESTING": True}


@pytest.fixture()
def app(settings):
    return create_app(settings)


@pytest.fixture()
def client(app):
    return app.test_client()


def test_health_needs_no_token_and_shows_no_annotator_data(client):
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok", "tasks": 3}


@pytest.mark.parametrize("path", PROTECTED)
def test_every_other_route_requires_the_token(client, path):
    missing = client.get(path, headers={"Accept": "application/json"})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get(path, headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 403
    basic = client.get(path, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    if path.startswith(("/api", "/openapi")):
        assert set(missing.get_json()) == {"detail"} and wrong.get_json() == {"detail": "the API token is wrong"}
        assert basic.get_json() == {"detail": "send the API token as 'Authorization: Bearer <token>'"}
    else:  # a page: the sign-in form, nothing of the report
        html = missing.get_data(as_text=True)
        assert 'name="token"' in html and "ann.lee" not in html
    assert client.get(path, headers=AUTH).status_code == 200


def test_post_routes_require_the_token_too(client):
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED"}).status_code == 401
    assert client.post("/logout").status_code == 401
    assert client.get("/no/such/route").status_code == 401  # unknown routes do not tell
    assert client.get("/no/such/route", headers=AUTH).get_json() == {"detail": "no such route"}


def test_openapi_is_valid_and_describes_every_route(client, app):
    from openapi_spec_validator import validate

    spec = client.get("/openapi.json", headers=AUTH).get_json()
    validate(spec)
    documented = {path.replace("{", "<").replace("}", ">") for path in spec["paths"]}
    served = {str(rule) for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert served == documented
    for route in ("/health", "/api/report", "/api/export/textgrids.zip", "/api/export/supervisions.jsonl", "/webhook",
                  "/openapi.json", "/"):
        assert route in spec["paths"]  # the contract's routes


def test_report_matches_its_schema(client):
    from openapi_schema_validator import OAS31Validator, validate

    spec = client.get("/openapi.json", headers=AUTH).get_json()
    report = client.get("/api/report", headers=AUTH).get_json()
    validate(report, {"$ref": "#/components/schemas/Report", "components": spec["components"]}, cls=OAS31Validator)
    assert list(report)[:3] == ["project", "tasks", "annotators"]
    assert report["project"]["partial"] is True  # task 4 was left out
    task = client.get("/api/tasks/1", headers=AUTH).get_json()
    validate(task, {"$ref": "#/components/schemas/Task", "components": spec["components"]}, cls=OAS31Validator)
    assert task == report["tasks"][0]
    flagged = client.get("/api/report?tasks=flagged", headers=AUTH).get_json()
    assert [t["id"] for t in flagged["tasks"]] == [t["id"] for t in report["tasks"] if t["review"]] == [1, 2, 3]
    assert client.get("/api/report?tasks=none", headers=AUTH).get_json()["tasks"] == []
    bad = client.get("/api/report?tasks=some", headers=AUTH)
    assert bad.status_code == 400 and bad.get_json() == {"detail": "query: tasks must be all, flagged or none, not 'some'"}
    assert client.get("/api/tasks/99", headers=AUTH).get_json() == {"detail": "the report has no task '99'"}


def test_csv_tables(client):
    answer = client.get("/api/report/tasks.csv", headers=AUTH)
    assert answer.mimetype == "text/csv" and 'filename="tasks.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["task"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["pairwise_wer"] == "0.2" and rows[0]["reference_wer"] == "0.0952381"  # 2 / 21
    assert rows[2]["unitizing_alpha"] == ""  # undefined, not 0
    annotators = list(csv.DictReader(io.StringIO(client.get("/api/report/annotators.csv", headers=AUTH).get_data(as_text=True))))
    assert {r["annotator"] for r in annotators} == {"ann.lee@example.com", "ben.ortiz@example.com", "cara.nguyen@example.com"}
    omissions = client.get("/api/report/omissions.csv", headers=AUTH).get_data(as_text=True)
    assert "data has no 'audio' field" in omissions
    missing = client.get("/api/report/people.csv", headers=AUTH)
    assert missing.status_code == 400 and "no table 'people'" in missing.get_json()["detail"]


def test_exports(client, tmp_path):
    answer = client.get("/api/export/textgrids.zip", headers=AUTH)
    assert answer.mimetype == "application/zip" and answer.headers["X-Casper-QC-Left-Out"] == "1"
    with zipfile.ZipFile(io.BytesIO(answer.get_data())) as archive:
        assert sorted(archive.namelist()) == ["bad.TextGrid", "hand.TextGrid", "manifest.tsv"]
        assert archive.read("hand.TextGrid").decode() == client.get("/api/export/tasks/1.TextGrid", headers=AUTH).get_data(as_text=True)
        archive.extractall(tmp_path / "grids")
    for name in ("hand", "bad"):  # the real Praat engine opens each: a turns tier per speaker of the config
        assert praat_tier_names(tmp_path / "grids" / f"{name}.TextGrid") == ["A - turns", "B - turns"]
    lines = client.get("/api/export/supervisions.jsonl", headers=AUTH).get_data(as_text=True).splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["recording_id"] for r in records} == {"hand", "bad"}
    hand = [r for r in records if r["recording_id"] == "hand"]
    assert [r["text"] for r in hand] == ["so i think we go", "yeah right"]  # ann.lee's, adopted
    assert all(r["custom"]["annotator"] == "ann.lee@example.com" for r in hand)
    one = client.get("/api/export/tasks/1.jsonl", headers=AUTH).get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in one] == hand
    empty = client.get("/api/export/tasks/3.TextGrid", headers=AUTH)
    assert empty.status_code == 400
    assert empty.get_json() == {"detail": "task 3: left out of the exports: it has no annotation"}
    assert client.get("/api/export/tasks/42.TextGrid", headers=AUTH).status_code == 404


def _event(aid: int = 104, text: str = "so i think we go") -> dict:
    dan = annotation(aid, 14, [region("a4", "Speaker A", 0, 4, text), region("b4", "Speaker B", 5, 9, "yeah right")],
                     task=1)
    return {"action": "ANNOTATION_CREATED", "annotation": dan,
            "task": {"id": 1, "data": {"audio": "/data/local-files/?d=audio/x.wav", "conversation_id": "hand"}},
            "project": {"id": 1, "title": "QC"}}


def test_webhook_updates_the_report(client):
    before = client.get("/api/report", headers=AUTH).get_json()
    answer = client.post("/webhook", json=_event(), headers=HOOK)
    assert answer.status_code == 200
    assert answer.get_json() == {"action": "ANNOTATION_CREATED", "status": "updated", "recomputed": [1],
                                 "removed": [], "left_out": []}
    after = client.get("/api/report", headers=AUTH).get_json()
    assert after["project"]["annotations"] == before["project"]["annotations"] + 1
    assert after["project"]["version"] > before["project"]["version"]
    task = client.get("/api/tasks/1", headers=AUTH).get_json()
    assert [a["annotator"] for a in task["annotators"]][-1] == "user-14"
    # Pairwise WER of the task: the new annotator wrote lee's words: 3 more pairs, cara differs
    # from 3 people: 2 * (2 + 2 + 2) / (14 + 13 + 13 + 14 + 14 + 13) = 12/81.
    assert task["agreement"]["pairwise_wer"] == pytest.approx(12 / 81)
    csv_text = client.get("/api/report/annotators.csv", headers=AUTH).get_data(as_text=True)
    assert "user-14" in csv_text  # derived downloads follow the update


def test_webhook_refusals(client, settings):
    assert client.post("/webhook", json=_event(), headers=AUTH).get_json() == {
        "detail": "the X-Casper-QC-Webhook-Secret header is missing or wrong"}
    wrong = client.post("/webhook", json=_event(), headers={**AUTH, "X-Casper-QC-Webhook-Secret": "nope"})
    assert wrong.status_code == 403
    not_json = client.post("/webhook", data="action=1", headers=HOOK)
    assert not_json.status_code == 400 and "the body is not JSON" in not_json.get_json()["detail"]
    other = client.post("/webhook", json={**_event(), "project": {"id": 2}}, headers=HOOK)
    assert other.status_code == 409
    assert other.get_json()["detail"].endswith("this report is of project 1")
    no_action = client.post("/webhook", json={"annotation": {}}, headers=HOOK)
    assert no_action.status_code == 400 and no_action.get_json() == {"detail": "webhook: the webhook body has no 'action'"}
    off = create_app({k: v for k, v in settings.items() if k != "CASPER_QC_WEBHOOK_SECRET"}).test_client()
    answer = off.post("/webhook", json=_event(), headers=HOOK)
    assert answer.status_code == 403 and "the webhook is off" in answer.get_json()["detail"]


def test_no_token_means_this_machine_only(settings):
    app = create_app({k: v for k, v in settings.items() if k != "CASPER_QC_TOKEN"})
    client = app.test_client()
    assert client.get("/api/report").status_code == 200  # the test client is 127.0.0.1
    far = client.get("/api/report", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert far.status_code == 403 and "answers only clients on its own machine" in far.get_json()["detail"]
    assert client.get("/health", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_settings_errors(settings):
    with pytest.raises(ConfigError, match=r"CASPER_QC_TOKEN: is too short"):
        create_app({**settings, "CASPER_QC_TOKEN": "short"})
    with pytest.raises(ConfigError, match=r"nothing to report on: set CASPER_QC_FROM"):
        create_app({"CASPER_QC_TOKEN": TOKEN})
    with pytest.raises(ConfigError, match=r"CASPER_QC_PROJECT: must be a project id"):
        create_app({"CASPER_QC_TOKEN": TOKEN, "CASPER_QC_PROJECT": "seven"})


def test_body_limit_and_internal_errors(settings, app):
    small = create_app({**settings, "CASPER_QC_MAX_BODY": "1000"}).test_client()
    answer = small.post("/webhook", data=json.dumps(_event()), headers={**HOOK, "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.get_json() == {"detail": "the request body is too large (CASPER_QC_MAX_BODY)"}

    def broken(which="all"):
        raise RuntimeError("secret internals")

    app.extensions["casper_qc"].report_body = broken
    failed = app.test_client().get("/api/report", headers=AUTH)
    assert failed.status_code == 500
    assert failed.get_json() == {"detail": "internal error (RuntimeError); see the service log"}


def test_browser_session_login(client):
    page = client.post("/login", data={"token": "wrong-token-value", "next": "/annotators"})
    assert page.status_code == 403 and "the API token is wrong" in page.get_data(as_text=True)
    signed_in = client.post("/login", data={"token": TOKEN, "next": "/annotators"})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/annotators"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert client.get("/").status_code == 200
    assert client.get("/api/report").status_code == 200
    assert client.post("/webhook", json=_event(), headers={"X-Casper-QC-Webhook-Secret": SECRET}).status_code == 401
    assert client.post("/login", data={"token": TOKEN, "next": "//evil.example/"}).headers["Location"] == "/"
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 401


def test_security_headers(client):
    answer = client.get("/", headers=AUTH)
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
