"""``casper-qc export``: a Label Studio JSON export to TextGrids, Lhotse JSONL or a NeMo manifest.

What it writes into ``--out``:

* ``--to textgrid``: one TextGrid per task and annotation, ``<name>__<annotator>.TextGrid``, where
  ``<name>`` is the task data's ``conversation_id`` (else the task id) and ``<annotator>`` the
  annotator's e-mail (``user-<id>`` when the export knows users by id only); characters other
  than letters, digits and ``._@+-`` become ``_``. Should two files get one name (one person
  annotating a task twice), both get ``__task<T>_annotation<A>`` appended.
* ``--to jsonl``: ``supervisions.jsonl``, every turn of every annotation (the annotator under
  ``custom``), and with ``--audio-root`` also ``recordings.jsonl``.
* ``--to nemo``: ``nemo_manifest.json``, every turn of every annotation.

Cancelled (skipped) annotations and predictions are left out (and a prediction's problems do
not stop the export). ``--audio-root`` is the directory
Label Studio serves local files from (its ``LOCAL_FILES_DOCUMENT_ROOT``): with it, the
``/data/local-files/?d=...`` audio of the tasks is found on disk, so recordings get their
sampling rate and the manifests a path a trainer can open; without it the audio stays as the
tasks name it and no ``recordings.jsonl`` is written (it needs the sampling rate).

Everything is read and checked before the first file is written (malformed JSON, regions whose
end is not after their start, labels or choices not in the config, one speaker's regions
overlapping, regions beyond the audio, missing audio): an error is one line naming the file,
task, annotation and region, the exit code is 2, and nothing is written. Each file is written
atomically (temporary file, then rename).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..formats.labelconfig import LabelConfig
    from ..model import Annotation, Conversation, Task

HELP = "write a Label Studio JSON export as TextGrids, Lhotse JSONL or a NeMo manifest"

FORMATS = ("textgrid", "jsonl", "nemo")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="FILE",
        help="a Label Studio JSON export (a list of tasks)",
    )
    parser.add_argument(
        "--to",
        dest="format",
        required=True,
        choices=FORMATS,
        help="textgrid: one TextGrid per task and annotation; jsonl: Lhotse "
        "supervisions (+ recordings with --audio-root); nemo: a NeMo manifest",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    parser.add_argument(
        "--config",
        default="conversation",
        metavar="XML",
        help="the project's label config: a file, or a bundled one "
        "(conversation, conversation_mono); default: conversation",
    )
    parser.add_argument(
        "--audio-root",
        metavar="DIR",
        help="Label Studio's local-files document root, to find the tasks' audio",
    )
    parser.add_argument("--short", action="store_true", help="TextGrids in Praat's short format")


def safe_name(text: str) -> str:
    """``text`` as a file-name part: characters other than letters, digits and ``._@+-``
    become ``_``, and it never starts with a dot."""
    name = re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("_")
    return ("_" + name if name.startswith(".") else name) or "_"


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..formats.labelconfig import BUNDLED_CONFIGS, bundled_config_path, load_label_config
    from ..formats.labelstudio import read_export

    config_path = (
        bundled_config_path(args.config) if args.config in BUNDLED_CONFIGS else Path(args.config)
    )
    config = load_label_config(config_path)
    tasks = read_export(args.source, config)
    try:
        written = export_tasks(
            tasks,
            config,
            args.format,
            Path(args.out),
            audio_root=None if args.audio_root is None else Path(args.audio_root),
            short=args.short,
        )
    except InputError as err:
        raise err.at(args.source) from None
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("nothing to write: the export has no annotations")
    return 0


def export_tasks(
    tasks: "list[Task]",
    config: "LabelConfig",
    format: str,
    out: Path,
    *,
    audio_root: Path | None = None,
    short: bool = False,
) -> list[Path]:
    """Check ``tasks`` and write their annotations in ``format`` into ``out``; the paths written.

    Raises:
        InputError: a problem of the tasks or their audio (nothing has been written then).
    """
    from dataclasses import replace

    from ..validate import Problem, check_annotation, ensure_valid

    checked = []
    for task in tasks:
        if audio_root is not None:
            task = replace(
                task, conversation=_with_audio(task.conversation, config, audio_root, task.id)
            )
        # The annotations are what is exported; a prediction's problems do not hold them back.
        ensure_valid(
            Problem(f"task {task.id}: {problem.where}", problem.message)
            for annotation in task.annotations
            for problem in check_annotation(annotation, task.conversation)
        )
        checked.append(task)
    items = [(task.conversation, annotation) for task in checked for annotation in task.annotations]
    if format == "textgrid":
        return _write_textgrids(checked, out, short)
    if format == "jsonl":
        return _write_jsonl(items, out, with_recordings=audio_root is not None)
    if format == "nemo":
        return _write_nemo(items, out)
    raise ValueError(f"unknown export format {format!r}")


def _with_audio(
    conversation: "Conversation", config: "LabelConfig", audio_root: Path, task_id: object
) -> "Conversation":
    """The conversation with its audio as a local file and that file's sampling rate, and its
    duration from the file when Label Studio's results did not give it."""
    from dataclasses import replace

    from ..audio import open_audio
    from ..errors import AudioError
    from ..formats.labelstudio import local_audio_path

    path = local_audio_path(conversation.audio or "", audio_root)
    if path is None:
        raise AudioError(
            f"audio {conversation.audio!r} is not a local file under the audio root",
            where=f"task {task_id}",
        )
    try:
        info = open_audio(path).info
    except AudioError as err:
        raise err.at(f"task {task_id}") from None
    if config.split_channels and info.channels < config.channel_count:
        raise AudioError(
            f"{path} has {info.channels} channel(s) but the label config puts speakers on "
            f"{config.channel_count} channels",
            where=f"task {task_id}",
        )
    duration = (
        conversation.duration
        if conversation.duration is not None
        else info.frames / info.sampling_rate
    )
    return replace(
        conversation,
        audio=str(path),
        sampling_rate=info.sampling_rate,
        duration=duration,
        channels=max(conversation.channels, info.channels),
    )


def _textgrid_names(tasks: "list[Task]") -> "list[tuple[Task, Annotation, str]]":
    """(task, annotation, file stem) for every annotation; stems that would clash get the task
    and annotation ids appended."""
    planned = [
        (task, annotation, f"{safe_name(task.name)}__{safe_name(annotation.label)}")
        for task in tasks
        for annotation in task.annotations
    ]
    counts: dict[str, int] = {}
    for _, _, stem in planned:
        counts[stem] = counts.get(stem, 0) + 1
    named = []
    for task, annotation, stem in planned:
        if counts[stem] > 1:
            ids = f"task{safe_name(str(task.id))}_annotation{safe_name(str(annotation.id))}"
            stem = f"{stem}__{ids}"
        named.append((task, annotation, stem))
    return named


def _write_textgrids(tasks: "list[Task]", out: Path, short: bool) -> list[Path]:
    from ..errors import InputError
    from ..fileio import write_text
    from ..formats.textgrid import to_textgrid

    rendered = []
    for task, annotation, name in _textgrid_names(tasks):
        try:
            rendered.append(
                (out / f"{name}.TextGrid", to_textgrid(task.conversation, annotation, short=short))
            )
        except InputError as err:
            raise err.at(f"task {task.id}: {annotation.origin} {annotation.id}") from None
    return [write_text(path, text) for path, text in rendered]


def _write_jsonl(
    items: "list[tuple[Conversation, Annotation]]", out: Path, *, with_recordings: bool
) -> list[Path]:
    from ..formats.jsonl import (
        recording_record,
        supervision_records,
        write_recordings,
        write_supervisions,
    )

    # Build every record first: the writers check their own file, this checks both before either.
    for conversation, annotation in items:
        supervision_records(conversation, annotation)
    conversations = _conversations(items)
    if with_recordings:
        for conversation in conversations:
            recording_record(conversation)
    written = [write_supervisions(out / "supervisions.jsonl", items)]
    if with_recordings:
        written.append(write_recordings(out / "recordings.jsonl", conversations))
    return written


def _conversations(items: "list[tuple[Conversation, Annotation]]") -> "list[Conversation]":
    from ..errors import ModelError

    seen: "dict[str, Conversation]" = {}
    for conversation, annotation in items:
        known = seen.setdefault(conversation.id, conversation)
        if known != conversation:
            raise ModelError(
                f"two tasks name conversation {conversation.id!r} but differ in audio or length",
                where=f"task {annotation.task_id}",
            )
    return list(seen.values())


def _write_nemo(items: "list[tuple[Conversation, Annotation]]", out: Path) -> list[Path]:
    from ..formats.jsonl import write_nemo_manifest

    return [write_nemo_manifest(out / "nemo_manifest.json", items)]
