"""Label Studio tasks, annotations and predictions <-> the core model.

Reading takes tasks as a project's JSON export holds them and as label-studio-sdk 2.x returns
them (``client.tasks.list(project=..., fields="all")``: SDK objects or their dicts). Writing turns
turns back into prediction ``result`` lists of the shape Label Studio's editor produces for audio
regions. Tag names and label values come from a :class:`~casper_qc.formats.labelconfig.LabelConfig`.

Mapping (reading):

* A task becomes a :class:`~casper_qc.model.Task`; its conversation id is the task data's
  ``conversation_id`` when it has one, else the task id; ``audio`` is the data field the config's
  ``<Audio value="$...">`` names; ``duration`` the largest ``original_length`` of its results (the
  editor stores the audio's length in every region result); ``channels`` is 2 (or more) with
  ``splitchannels`` and 1 without; its speakers are the config's speaker labels with their channels.
* Results that share a region ``id`` form one region: the speaker ``labels`` result, the per-region
  transcript ``textarea`` result and per-region ``choices`` results. A region becomes a
  :class:`~casper_qc.model.Turn`: ``speaker`` is the label's speaker id (the first name in its
  ``predicted_values``, ``"Speaker A"`` -> ``"A"``, else the label value itself; see
  :mod:`~casper_qc.formats.labelconfig`), ``channel`` is ``value.channel`` as
  stored, ``text`` the transcript (list items joined with a space), ``words`` and
  ``disfluencies`` parsed from it by :func:`casper_qc.conventions.parse_transcript` (through
  its memo, :func:`~casper_qc.conventions.parse_transcript_cached`: equal texts share
  records), ``choices`` ``{from_name: values}``, ``id`` the region id, ``score`` the result's
  score or else the prediction's.
* A region without a speaker label (a transcript or choice only) is an error: every region the
  editor creates on the Audio has one, so such a file was edited by hand or by a broken tool.
  Results of other controls without a time span (task-level classifications) are ignored.
* Cancelled (skipped) annotations are left out. ``completed_by`` may be a user id or a user
  object; the annotator is the user's e-mail (from the object, or from ``created_username``, which
  Label Studio writes as ``"<first> <last> <email>, <id>"``), else ``user-<id>``.
* The plain JSON export lists predictions by id only; ids without content are ignored.

Errors are :class:`~casper_qc.errors.InputError` subclasses whose one-line message names the
source, the task, the annotation and the region: ``export.json: task 12: annotation 3: region
'r7': ...``. Reading does not check overlaps or turns beyond the audio: run
:func:`casper_qc.validate.check_task` (the export command does).

Nothing here imports ``label_studio_sdk`` except :func:`fetch_tasks`, which talks to a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..conventions import parse_transcript_cached
from ..errors import ConfigError, FormatError, InputError, ModelError
from ..fileio import read_json
from ..model import Annotation, Conversation, Speaker, Task, Turn
from ..validate import check_turns, ensure_valid
from .labelconfig import LabelConfig

__all__ = [
    "read_tasks",
    "read_export",
    "read_labelstudio",
    "fetch_tasks",
    "to_result",
    "to_prediction",
    "to_task",
    "region_id",
    "local_audio_path",
    "as_dict",
]


# --------------------------------------------------------------------------- reading


def read_tasks(payload: Any, config: LabelConfig, *, source: str = "tasks") -> list[Task]:
    """The tasks of ``payload`` with their (non-cancelled) annotations and predictions.

    ``payload`` is a list of task dicts (a JSON export, or SDK results as dicts), or SDK task
    objects (anything with ``model_dump``), or an iterable of them such as the SDK's pager.

    Raises:
        FormatError: the payload or a task, annotation or result does not have the structure
            Label Studio gives it.
        ConfigError: a result names a control or a value the label config does not have.
        ModelError: a region the model cannot hold (end not after start, negative times).
    """
    if isinstance(payload, (str, bytes, Mapping)) or not isinstance(payload, Iterable):
        raise FormatError(f"expected a list of tasks, not {_kind(payload)}", where=source)
    tasks: list[Task] = []
    for position, item in enumerate(payload, start=1):
        raw = as_dict(item)
        if raw is None:
            raise FormatError(
                f"item {position} is not a task object but {_kind(item)}", where=source
            )
        name = f"task {raw['id']}" if raw.get("id") is not None else f"task #{position}"
        try:
            tasks.append(_read_task(raw, config, position))
        except InputError as err:
            raise err.at(name).at(source) from None
    return tasks


def read_export(path: str | Path, config: LabelConfig) -> list[Task]:
    """The tasks of a Label Studio JSON export file (errors name the file)."""
    path = Path(path)
    payload = read_json(path, missing="file not found", not_utf8="is not UTF-8 text")
    if not isinstance(payload, list):
        raise FormatError(
            f"a Label Studio JSON export is a list of tasks, not {_kind(payload)}", where=str(path)
        )
    return read_tasks(payload, config, source=str(path))


#: ``casper_qc.read_labelstudio``: the name the package exports for :func:`read_export`.
read_labelstudio = read_export


def fetch_tasks(url: str, api_key: str, project: int, config: LabelConfig) -> list[Task]:
    """The tasks of ``project`` on the Label Studio server at ``url``, read through
    label-studio-sdk (``tasks.list(fields="all")``). The API key is never logged or shown.

    Raises:
        InputError: the server refuses the key or the project (the message has no key in it).
    """
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError

    client = LabelStudio(base_url=url, api_key=api_key)
    try:
        items = [as_dict(task) for task in client.tasks.list(project=project, fields="all")]
    except ApiError as err:
        raise InputError(
            f"Label Studio answered {err.status_code} when listing the tasks of "
            f"project {project}",
            where=url,
        ) from None
    return read_tasks(items, config, source=f"{url} project {project}")


def _read_task(raw: Mapping[str, Any], config: LabelConfig, position: int) -> Task:
    task_id = raw.get("id")
    if task_id is None:
        task_id = f"#{position}"
    elif isinstance(task_id, bool) or not isinstance(task_id, (int, str)):
        raise FormatError(f"task id must be a number or a string, not {task_id!r}")
    data = raw.get("data")
    if not isinstance(data, Mapping):
        raise FormatError(f"has no data object (found {_kind(data)})")
    audio = data.get(config.audio_value)
    if not isinstance(audio, str) or not audio:
        raise ConfigError(
            f"data has no {config.audio_value!r} field for the label config's "
            f'<Audio value="${config.audio_value}">'
        )
    conversation_id = data.get("conversation_id")
    if conversation_id is None or (
        isinstance(conversation_id, str) and not conversation_id.strip()
    ):
        conversation_id = str(task_id)
    elif not isinstance(conversation_id, (str, int)) or isinstance(conversation_id, bool):
        raise FormatError(f"data conversation_id must be a string, not {conversation_id!r}")

    annotations = _list(raw.get("annotations"), "annotations")
    # The plain JSON export lists predictions by id only: nothing to read in those.
    predictions = [
        p
        for p in _list(raw.get("predictions"), "predictions")
        if not (isinstance(p, int) and not isinstance(p, bool))
    ]
    duration = max(
        (length for item in (*annotations, *predictions) for length in _original_lengths(item)),
        default=None,
    )
    speakers = tuple(
        Speaker(config.speaker_id(label), channel=config.channel_of(label), name=label)
        for label in config.speaker_values
    )
    conversation = Conversation(
        id=str(conversation_id),
        audio=audio,
        duration=duration,
        channels=config.channel_count,
        speakers=speakers,
    )

    read_annotations = []
    for index, item in enumerate(annotations, start=1):
        raw_annotation = as_dict(item)
        if raw_annotation is None:
            raise FormatError(f"annotation {index} is not an object but {_kind(item)}")
        if raw_annotation.get("was_cancelled"):
            continue
        read_annotations.append(
            _located(
                _read_annotation,
                raw_annotation,
                task_id,
                config,
                "annotation",
                where=_name("annotation", raw_annotation, index),
            )
        )
    read_predictions = []
    for index, item in enumerate(predictions, start=1):
        raw_prediction = as_dict(item)
        if raw_prediction is None:
            raise FormatError(f"prediction {index} is not an object but {_kind(item)}")
        read_predictions.append(
            _located(
                _read_annotation,
                raw_prediction,
                task_id,
                config,
                "prediction",
                where=_name("prediction", raw_prediction, index),
            )
        )
    return Task(
        id=task_id,
        conversation=conversation,
        annotations=read_annotations,
        predictions=read_predictions,
        data=data,
    )


def _read_annotation(
    raw: Mapping[str, Any], task_id: int | str, config: LabelConfig, origin: str
) -> Annotation:
    annotator, annotator_id = None, None
    model_version, score = None, None
    if origin == "annotation":
        annotator, annotator_id = _annotator(raw)
    else:
        model_version = raw.get("model_version") or None
        score = _number(raw.get("score"), "score")
    turns = _read_result(raw.get("result"), config, score)
    try:
        return Annotation(
            task_id=task_id,
            turns=turns,
            id=raw.get("id"),
            annotator=annotator,
            annotator_id=annotator_id,
            created_at=raw.get("created_at"),
            updated_at=raw.get("updated_at"),
            lead_time=_number(raw.get("lead_time"), "lead_time"),
            ground_truth=bool(raw.get("ground_truth")),
            origin=origin,
            model_version=None if model_version is None else str(model_version),
            score=score,
        )
    except InputError:
        raise
    except (TypeError, ValueError) as err:
        raise FormatError(str(err)) from None


def _annotator(raw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(readable name, user id) of the annotation's author."""
    completed_by = raw.get("completed_by")
    user_id: int | None = None
    name: str | None = None
    if isinstance(completed_by, Mapping):  # expanded user object
        user_id = _user_id(completed_by.get("id"))
        name = completed_by.get("email") or completed_by.get("username") or None
    elif completed_by is not None:
        user_id = _user_id(completed_by)
    if name is None:
        name = _email_of_created_username(raw.get("created_username"))
    if name is None and user_id is not None:
        name = f"user-{user_id}"
    return name, user_id


def _user_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"completed_by must be a user id or a user object, not {value!r}")
    return value


def _email_of_created_username(value: Any) -> str | None:
    # Label Studio writes "<first> <last> <email>, <id>" (names may be empty).
    if not isinstance(value, str) or not value.strip():
        return None
    head = value.rsplit(",", 1)[0].split()
    return head[-1] if head else None


def _read_result(result: Any, config: LabelConfig, prediction_score: float | None) -> list[Turn]:
    items = _list(result, "result")
    regions: dict[str, dict[str, Mapping[str, Any]]] = {}
    roles: dict[str, str | None] = {}  # per control name (a result holds a few, many times)
    for index, item in enumerate(items, start=1):
        if type(item) is not dict and not isinstance(item, Mapping):  # dicts first: ABC checks are slow
            raise FormatError(f"result item {index} is not an object but {_kind(item)}")
        from_name = item.get("from_name")
        if from_name is None and item.get("type") == "relation":
            continue  # relations between regions carry no region of their own
        if not isinstance(from_name, str):
            role = _role(from_name, config)
        elif from_name in roles:
            role = roles[from_name]
        else:
            role = roles[from_name] = _role(from_name, config)
        if role is None:
            raise ConfigError(
                f"result item {index} comes from control {from_name!r}, which is not in the "
                f"label config"
            )
        value = item.get("value")
        if type(value) is not dict and not isinstance(value, Mapping):
            raise FormatError(f"result item {index} ({from_name}) has no value object")
        if role == "task-choices":
            continue  # a classification of the whole task, not part of a region
        region = item.get("id")
        if not isinstance(region, str) or not region:
            raise FormatError(f"result item {index} ({from_name}) has no region id")
        if "start" not in value or "end" not in value:
            raise FormatError(f"region {region!r}: the {from_name} result has no start and end")
        parts = regions.setdefault(region, {})
        if from_name in parts:
            raise FormatError(f"region {region!r} has two {from_name} results")
        parts[from_name] = item
    turns = []
    region_choices = config.region_choices
    for region, parts in regions.items():
        try:
            turns.append(_turn(region, parts, config, prediction_score, region_choices))
        except InputError as err:
            raise err.at(f"region {region!r}") from None
    return turns


def _role(from_name: Any, config: LabelConfig) -> str | None:
    if from_name == config.speaker_labels_name:
        return "speaker"
    if config.transcript_name is not None and from_name == config.transcript_name:
        return "transcript"
    spec = config.choices_spec(from_name) if isinstance(from_name, str) else None
    if spec is not None:
        return "choices" if spec.per_region else "task-choices"
    return None


def _turn(
    region: str,
    parts: Mapping[str, Mapping[str, Any]],
    config: LabelConfig,
    prediction_score: float | None,
    region_choices: Sequence[Any],
) -> Turn:
    labels_result = parts.get(config.speaker_labels_name)
    if labels_result is None:
        found = ", ".join(sorted(parts))
        raise FormatError(
            f"has no speaker label (no {config.speaker_labels_name!r} result, only {found})"
        )
    value = labels_result["value"]
    labels = value.get("labels")
    if not isinstance(labels, list) or not labels:
        raise FormatError("has an empty speaker label")
    if len(labels) > 1:
        raise FormatError(
            f"has {len(labels)} speaker labels ({', '.join(map(str, labels))}); "
            "a region is one speaker's"
        )
    label = labels[0]
    if label not in config.speaker_values:
        raise ConfigError(
            f"label {label!r} is not in the label config's <Labels name="
            f"\"{config.speaker_labels_name}\"> ({', '.join(config.speaker_values)})"
        )
    start, end = value["start"], value["end"]
    start_ms, end_ms = _ms(start), _ms(end)
    for name, part in parts.items():
        other = part["value"]
        a, b = other.get("start"), other.get("end")
        if (a == start and b == end) or other is value:  # the very same times: no rounding needed
            continue
        if _ms(a) != start_ms or _ms(b) != end_ms:
            raise FormatError(
                f"its {name} result spans {other.get('start')}-{other.get('end')} s but its "
                f"speaker label {start}-{end} s"
            )
    channel = value.get("channel")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int)):
        if isinstance(channel, float) and channel.is_integer():
            channel = int(channel)
        else:
            raise FormatError(f"channel must be an integer, not {channel!r}")

    text = ""
    if config.transcript_name is not None and config.transcript_name in parts:
        text = _text(parts[config.transcript_name]["value"].get("text"))
    choices: dict[str, tuple[str, ...]] = {}
    for spec in region_choices:
        if spec.name not in parts:
            continue
        picked = parts[spec.name]["value"].get("choices")
        if not isinstance(picked, list):
            raise FormatError(f"its {spec.name} result has no list of choices")
        for choice in picked:
            if choice not in spec.values:
                raise ConfigError(
                    f"choice {choice!r} is not in the label config's <Choices name="
                    f"\"{spec.name}\"> ({', '.join(spec.values)})"
                )
        choices[spec.name] = tuple(picked)

    scores = [_number(part.get("score"), "score") for part in parts.values()]
    score = next((s for s in scores if s is not None), prediction_score)
    words, disfluencies = parse_transcript_cached(text) if text.strip() else ((), ())
    return Turn(
        speaker=config.speaker_id(label),
        start=start,
        end=end,
        channel=channel,
        text=text,
        words=words,
        disfluencies=disfluencies,
        choices=choices,
        id=region,
        score=score,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if type(value) is list and len(value) == 1 and isinstance(value[0], str):
        return value[0].strip()  # what the editor stores: one string in a list
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return " ".join(item.strip() for item in value if item.strip())
    raise FormatError(f"transcript text must be a string or a list of strings, not {value!r}")


def _original_lengths(item: Any) -> list[float]:
    raw = as_dict(item)
    if raw is None:
        return []
    result = raw.get("result")
    if not isinstance(result, list):
        return []
    lengths = []
    for part in result:
        if (type(part) is dict or isinstance(part, Mapping)) and part.get("original_length") is not None:
            length = _number(part.get("original_length"), "original_length")
            if length is not None and length > 0:
                lengths.append(length)
    return lengths


# --------------------------------------------------------------------------- writing


def region_id(label: str, channel: int | None, start: float, end: float) -> str:
    """A region id that depends only on the region (speaker label, channel, times in ms), so
    writing the same turns twice gives the same ids. Ten hex digits, as short as the editor's."""
    key = f"{label}\x1f{channel}\x1f{round(start * 1000)}\x1f{round(end * 1000)}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def to_result(
    turns: Sequence[Turn],
    config: LabelConfig,
    *,
    duration: float | None = None,
    origin: str = "prediction",
) -> list[dict[str, Any]]:
    """The ``result`` list for ``turns``: per region a ``labels`` result, a ``textarea`` result
    when it has text and a ``choices`` result per per-region choice, sharing one region id (the
    turn's ``id``, else :func:`region_id`). Each carries ``value`` with ``start``, ``end`` and
    ``channel`` (the turn's, else its speaker's channel, else 0 as the editor writes for mono
    audio), ``origin``, and ``original_length`` when ``duration`` is known.

    A turn's speaker is a speaker id, a label value or a ``predicted_values`` name of one.

    Raises:
        ConfigError: a speaker, text or choice the config has no place for.
        ModelError: turns of one speaker overlap, a turn ends beyond ``duration``, or two
            regions would share an id.
    """
    labelled: list[Turn] = []
    for index, turn in enumerate(turns, start=1):
        if not isinstance(turn, Turn):
            raise ModelError(f"turn {index} is not a Turn but {type(turn).__name__}")
        label = config.speaker_label(turn.speaker)
        if label is None:
            names = ", ".join((*config.speaker_values, *config.speaker_aliases))
            raise ConfigError(
                f"speaker {turn.speaker!r} is not a speaker label of the label config ({names})",
                where=_where(turn),
            )
        speaker = config.speaker_id(label)
        labelled.append(turn if speaker == turn.speaker else replace(turn, speaker=speaker))
    # Checked against the recording the config describes, with speakers named by their ids.
    recording = Conversation(
        id="prediction",
        duration=duration,
        channels=config.channel_count,
        speakers=tuple(
            Speaker(config.speaker_id(label), config.channel_of(label))
            for label in config.speaker_values
        ),
    )
    ensure_valid(check_turns(labelled, recording))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for turn in labelled:
        try:
            results = _region_results(turn, config, duration, origin)
        except InputError as err:
            raise err.at(_where(turn)) from None
        rid = results[0]["id"]
        if rid in seen:
            raise ModelError(f"two regions share the id {rid!r}", where=_where(turn))
        seen.add(rid)
        out.extend(results)
    return out


def _where(turn: Turn) -> str:
    if turn.id is not None:
        return f"region {turn.id!r}"
    return f"turn of {turn.speaker} at {turn.start:.3f}-{turn.end:.3f} s"


def _region_results(
    turn: Turn, config: LabelConfig, duration: float | None, origin: str
) -> list[dict[str, Any]]:
    label = config.speaker_label(turn.speaker)  # known: to_result checked every speaker
    channel = turn.channel
    if channel is None:
        channel = config.channel_of(label)
    if channel is None:
        channel = 0
    rid = turn.id or region_id(label, channel, turn.start, turn.end)

    def result(from_name: str, kind: str, **value: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": rid,
            "from_name": from_name,
            "to_name": config.audio_name,
            "type": kind,
            "origin": origin,
            "value": {"start": turn.start, "end": turn.end, "channel": channel, **value},
        }
        if duration is not None:
            item["original_length"] = duration
        if turn.score is not None:
            item["score"] = turn.score
        return item

    results = [result(config.speaker_labels_name, "labels", labels=[label])]
    if turn.text.strip():
        if config.transcript_name is None:
            raise ConfigError(
                "has a transcript but the label config has no per-region <TextArea> for it"
            )
        results.append(result(config.transcript_name, "textarea", text=[turn.text]))
    for name, values in turn.choices.items():
        spec = config.choices_spec(name)
        if spec is None or not spec.per_region:
            raise ConfigError(
                f"choices {name!r} are not a per-region <Choices> of the label config"
            )
        unknown = [v for v in values if v not in spec.values]
        if unknown:
            raise ConfigError(
                f'choice {unknown[0]!r} is not in the label config\'s <Choices name="{name}"> '
                f"({', '.join(spec.values)})"
            )
        if len(values) > 1 and not spec.multiple:
            raise ConfigError(f"has {len(values)} {name} choices but the config allows one")
        if values:
            results.append(result(name, "choices", choices=list(values)))
    return results


def to_prediction(
    annotation: Annotation,
    config: LabelConfig,
    *,
    model_version: str,
    score: float | None = None,
    duration: float | None = None,
) -> dict[str, Any]:
    """A Label Studio prediction ``{"model_version", "score", "result"}`` for ``annotation``
    (``score`` defaults to the annotation's; see :func:`to_result` for the result and errors)."""
    if not isinstance(model_version, str) or not model_version.strip():
        raise ModelError("a prediction needs a model_version")
    if score is None:
        score = annotation.score
    if score is not None:
        score = float(score)
    try:
        result = to_result(annotation.turns, config, duration=duration, origin="prediction")
    except InputError as err:
        raise (
            err.at(f"{annotation.origin} {annotation.id}") if annotation.id is not None else err
        ) from None
    return {"model_version": model_version, "score": score, "result": result}


def to_task(
    conversation: Conversation,
    data: Mapping[str, Any],
    predictions: Iterable[Mapping[str, Any]] = (),
    *,
    config: LabelConfig | None = None,
) -> dict[str, Any]:
    """An importable Label Studio task: ``{"data": {...}, "predictions": [...]}``.

    ``data`` gets ``conversation_id`` (the conversation's id) and, with ``config``, the
    conversation's audio under the config's audio field when ``data`` has none.

    Raises:
        FormatError: ``data`` names another conversation.
    """
    task_data = dict(data)
    named = task_data.get("conversation_id")
    if named is not None and str(named) != conversation.id:
        raise FormatError(
            f"task data names conversation {named!r} but the conversation is {conversation.id!r}"
        )
    task_data["conversation_id"] = conversation.id
    if config is not None and config.audio_value not in task_data and conversation.audio:
        task_data[config.audio_value] = conversation.audio
    task: dict[str, Any] = {"data": task_data}
    predictions = [dict(p) for p in predictions]
    if predictions:
        task["predictions"] = predictions
    return task


# --------------------------------------------------------------------------- audio


def local_audio_path(audio: str, document_root: str | Path) -> Path | None:
    """The file behind a task's audio reference when it is on this machine: a local-files URL
    (``/data/local-files/?d=<path under the document root>``, as Label Studio serves local
    storage) or a plain path (relative ones are taken from ``document_root``). None for other
    URLs (uploads, ``http``, cloud storage), which only the server can resolve.
    """
    from urllib.parse import parse_qs, urlsplit

    root = Path(document_root)
    parts = urlsplit(audio)
    if parts.path.rstrip("/").endswith("/data/local-files"):
        found = parse_qs(parts.query).get("d")
        return root / found[0] if found and found[0] else None
    if parts.scheme or audio.startswith("/data/"):
        return None
    path = Path(audio)
    return path if path.is_absolute() else root / path


# --------------------------------------------------------------------------- helpers


def as_dict(item: Any) -> dict[str, Any] | None:
    """A plain dict of a task/annotation: dicts as they are, SDK (pydantic) objects dumped."""
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
        return value if isinstance(value, dict) else None
    return None


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(f"{what} must be a list, not {_kind(value)}")
    return value


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"{what} must be a number, not {value!r}")
    return float(value)


def _ms(value: Any) -> int | None:
    try:
        return round(float(value) * 1000)
    except (TypeError, ValueError):
        return None


def _name(kind: str, raw: Mapping[str, Any], index: int) -> str:
    return f"{kind} {raw['id']}" if raw.get("id") is not None else f"{kind} #{index}"


def _located(function, *args: Any, where: str):
    try:
        return function(*args)
    except InputError as err:
        raise err.at(where) from None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"
