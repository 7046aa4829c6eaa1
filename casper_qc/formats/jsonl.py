"""Lhotse manifests (``supervisions.jsonl``, ``recordings.jsonl``) and NeMo ASR manifests.

One JSON object per line, UTF-8 with ``ensure_ascii=False`` and a trailing newline, the way
Lhotse's ``save_to_jsonl`` writes them; a path ending in ``.gz`` is gzip-compressed (with a zero
timestamp, so the bytes depend on the content only) and read back transparently.

Supervisions (:func:`supervision_records`, :func:`write_supervisions`)
======================================================================

One line per turn, in Lhotse's ``SupervisionSegment.to_dict()`` form: top-level keys only
those the dataclass accepts, in its field order: ``id``, ``recording_id``, ``start``,
``duration``, ``channel``, ``text``, ``speaker``, ``custom``, ``alignment``.

* ``id`` is ``"<recording>-<annotator slug>-<speaker>-<NNNNN>"``: the slug is the annotation's
  label (annotator, model version or ``origin-id``) in lower case with every run of other
  characters than ``a-z0-9`` turned into ``-``; ``NNNNN`` counts the speaker's turns in that
  annotation from 00001 in time order. When two annotations of one recording in one file have
  the same slug, both get their annotation id appended (``alice-7``, ``alice-9``).
* ``channel`` is the turn's channel, else its speaker's, else ``0`` for a one-channel recording
  and the list of all channels otherwise (Lhotse's way to say "the whole recording").
* ``alignment`` is ``{"word": [[symbol, start, duration, null], ...]}``, exactly as Lhotse
  serializes ``AlignmentItem`` (start relative to the recording; no score), present when the
  turn has words and all of them have times.
* ``custom`` holds what Lhotse has no field for; keys appear only when they have a value:
  ``annotator``, ``annotator_id``, ``annotation_id``, ``task_id``, ``origin``,
  ``model_version``, ``ground_truth`` (only when true), ``annotation_score``, ``lead_time``,
  ``created_at``, ``updated_at`` (ISO 8601) describe the annotation (repeated on each of its
  lines); ``region_id``, ``score``, ``choices`` (``{name: [values]}``) describe the turn;
  ``words`` holds the tokens when some have no times (a token is ``"text"`` or
  ``["text", start, duration]``); ``word_kinds`` (one kind per word, when any is not a plain
  word), ``uncertain_words`` and ``estimated_words`` (word indices) keep the word flags;
  ``disfluencies`` is a list of ``{"type", "words": [start, stop], "reparandum",
  "interregnum", "repair", "start", "end"}`` (half-open word index ranges into the turn's
  words; roles and times when present). The ``custom=`` argument adds keys of its own (QC
  figures, the normalizer used); they must not reuse these names.

Lines are sorted by recording, start, speaker, annotator label, end and id.

Lhotse turns any dict value at the top level of ``custom`` that has the keys ``width``,
``shape`` or ``array`` (or ``id``, ``sources`` and ``sampling_rate``) into an image, array or
recording when it loads the file, so such values are refused when writing.

Recordings (:func:`write_recordings`)
=====================================

``Recording.to_dict()`` form, one line per conversation, sorted by id::

    {"id": ..., "sources": [{"type": "file", "channels": [0, 1], "source": <audio>}],
     "sampling_rate": 16000, "num_samples": ..., "duration": ..., "channel_ids": [0, 1]}

``type`` is ``"url"`` when the audio is a URL (``scheme://``). ``num_samples`` is the duration
times the sampling rate rounded half up (Lhotse's ``compute_num_samples``) and ``duration`` is
then ``num_samples / sampling_rate``, as Lhotse's ``Recording.from_file`` writes it. A
conversation needs its audio, sampling rate and duration to be written. Durations in the model
are rounded to the millisecond, so that ``num_samples`` can be a few samples off the file's;
``probe_audio=True`` reads the exact count (and checks rate and channels) from the file header.

NeMo manifests (:func:`write_nemo_manifest`)
============================================

One line per turn: ``audio_filepath``, ``offset``, ``duration``, ``text``, plus ``speaker`` and
``channel`` (the latter only when the turn's channel is known). NeMo's manifest parser
(``nemo.collections.common.parts.preprocessing.manifest.__parse_item``) reads ``speaker`` and
ignores other keys; its Lhotse adapter keeps unknown keys in ``cut.custom``. NeMo's loaders do
not select a channel: for two-channel recordings, train on per-channel audio files.

Reading (:func:`read_supervisions`, :func:`read_recordings`)
============================================================

Each line is checked against Lhotse's schema first (required keys, types, no unknown keys),
then built into the model. Supervisions are grouped into one annotation per recording and
annotation (``task_id``, ``annotation_id``, ``origin``, ``annotator``, ``annotator_id``,
``model_version`` in ``custom``); lines without those keys (files from other tools) form one
``origin="reference"`` annotation per recording with ``task_id`` = the recording id, and the
supervision id becomes the turn id. Lhotse's ``language`` and ``gender``, alignments other than
``word``, alignment scores and ``custom`` keys of ``custom=`` are not part of the model and are
dropped. Problems raise :class:`~casper_qc.errors.FormatError` naming the file and line.

What these files do not keep: the conversation's speakers without turns and speaker names;
from the recordings, nothing of the model is lost except speakers. Everything of a turn and an
annotation is kept, so write → read → write gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import defaultdict
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import AudioError, FormatError, InputError, ModelError
from ..fileio import read_bytes, write_bytes, write_text
from ..labels import WordKind
from ..model import Annotation, Conversation, Disfluency, Speaker, Turn, Word, WordRange

__all__ = [
    "supervision_records",
    "write_supervisions",
    "recording_record",
    "write_recordings",
    "nemo_records",
    "write_nemo_manifest",
    "read_supervisions",
    "read_recordings",
    "annotator_slug",
    "validate_supervision",
    "validate_recording",
    "SUPERVISION_KEYS",
    "RECORDING_KEYS",
]

Item = tuple[Conversation, Annotation]

#: Lhotse 1.33 SupervisionSegment fields, in to_dict() order.
SUPERVISION_KEYS = ("id", "recording_id", "start", "duration", "channel", "text", "language",
                    "speaker", "gender", "custom", "alignment")
#: Lhotse 1.33 Recording fields, in to_dict() order.
RECORDING_KEYS = ("id", "sources", "sampling_rate", "num_samples", "duration", "channel_ids",
                  "transforms")
_ANNOTATION_KEYS = ("annotator", "annotator_id", "annotation_id", "task_id", "origin",
                    "model_version", "ground_truth", "annotation_score", "lead_time",
                    "created_at", "updated_at")
#: custom keys that tell annotations apart; the others must agree within one annotation.
_GROUP_KEYS = ("task_id", "annotation_id", "origin", "annotator", "annotator_id", "model_version")
_TURN_KEYS = ("region_id", "score", "choices", "words", "word_kinds", "uncertain_words",
              "estimated_words", "disfluencies")
_RESERVED = frozenset(_ANNOTATION_KEYS + _TURN_KEYS)
_ROLE_KEYS = ("reparandum", "interregnum", "repair")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


# --------------------------------------------------------------------------------------------
# Writing


def annotator_slug(annotation: Annotation) -> str:
    """The annotation's label as used in supervision ids (``"alice@x.org"`` → ``"alice-x-org"``)."""
    return _slug(annotation.label) or annotation.origin


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _channel(conversation: Conversation, turn: Turn) -> int | list[int]:
    if turn.channel is not None:
        return turn.channel
    speaker = conversation.speaker(turn.speaker)
    if speaker is not None and speaker.channel is not None:
        return speaker.channel
    return 0 if conversation.channels == 1 else list(range(conversation.channels))


def _annotation_custom(annotation: Annotation) -> dict[str, Any]:
    values = {
        "annotator": annotation.annotator,
        "annotator_id": annotation.annotator_id,
        "annotation_id": annotation.id,
        "task_id": annotation.task_id,
        "origin": annotation.origin,
        "model_version": annotation.model_version,
        "ground_truth": True if annotation.ground_truth else None,
        "annotation_score": annotation.score,
        "lead_time": annotation.lead_time,
        "created_at": annotation.created_at.isoformat() if annotation.created_at else None,
        "updated_at": annotation.updated_at.isoformat() if annotation.updated_at else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _range(rng: WordRange | None) -> list[int] | None:
    return None if rng is None else [rng.start, rng.stop]


def _duration(start: float, end: float) -> float:
    return round(end - start, 3)


def _turn_custom(turn: Turn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if turn.id is not None:
        out["region_id"] = turn.id
    if turn.score is not None:
        out["score"] = turn.score
    if turn.choices:
        out["choices"] = {name: list(values) for name, values in turn.choices.items()}
    words = turn.words
    if words and not all(w.timed for w in words):
        out["words"] = [w.text if w.start is None else [w.text, w.start, _duration(w.start, w.end)]
                        for w in words]  # type: ignore[arg-type]
    if any(w.kind is not WordKind.WORD for w in words):
        out["word_kinds"] = [w.kind.value for w in words]
    if any(w.uncertain for w in words):
        out["uncertain_words"] = [i for i, w in enumerate(words) if w.uncertain]
    if any(w.estimated for w in words):
        out["estimated_words"] = [i for i, w in enumerate(words) if w.estimated]
    if turn.disfluencies:
        out["disfluencies"] = [_disfluency_dict(d) for d in turn.disfluencies]
    return out


def _disfluency_dict(dis: Disfluency) -> dict[str, Any]:
    out: dict[str, Any] = {"type": dis.type.value, "words": _range(dis.words)}
    for name in _ROLE_KEYS:
        rng = getattr(dis, name)
        if rng is not None:
            out[name] = _range(rng)
    if dis.start is not None:
        out["start"], out["end"] = dis.start, dis.end
    return out


def _check_custom(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = dict(extra or {})
    for key, value in extra.items():
        if not isinstance(key, str):
            raise InputError(f"custom keys must be strings, not {key!r}")
        if key in _RESERVED:
            raise InputError(f"custom key {key!r} is reserved for casper-qc's own fields")
        _check_lhotse_safe(key, value)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InputError(f"custom value of {key!r} cannot be written as JSON: {err}") from None
    return extra


def _check_lhotse_safe(key: str, value: Any) -> None:
    if isinstance(value, Mapping) and (
            any(k in value for k in ("width", "shape", "array"))
            or all(k in value for k in ("id", "sources", "sampling_rate"))):
        raise InputError(f"custom value of {key!r} is a mapping that Lhotse would load as an image, "
                         "array or recording (it has a 'width', 'shape', 'array' or recording key)")


def _records(conversation: Conversation, annotation: Annotation, slug: str,
             extra: Mapping[str, Any]) -> list[dict[str, Any]]:
    ann_custom = _annotation_custom(annotation)
    records = []
    for speaker in annotation.speakers():
        for number, turn in enumerate(annotation.turns_of(speaker), 1):
            where = f"recording {conversation.id}: {annotation.label}: speaker {speaker}: turn {number}"
            channel = _channel(conversation, turn)
            # Lhotse's validate_recordings_and_supervisions() refuses both; so do we, earlier.
            if isinstance(channel, int) and channel >= conversation.channels:
                raise ModelError(f"is on channel {channel} but the recording has {conversation.channels} "
                                 "channel(s)", where=where)
            if conversation.duration is not None and turn.end > conversation.duration:
                raise ModelError(f"ends at {turn.end:.3f} s, beyond the end of the recording "
                                 f"({conversation.duration:.3f} s)", where=where)
            record: dict[str, Any] = {
                "id": f"{conversation.id}-{slug}-{speaker}-{number:05d}",
                "recording_id": conversation.id,
                "start": turn.start,
                "duration": turn.duration,
                "channel": channel,
                "text": turn.text,
                "speaker": turn.speaker,
            }
            # a JSON copy of the additions: records share no mutable values with the caller or each other
            custom = {**ann_custom, **_turn_custom(turn), **json.loads(json.dumps(extra))}
            if "choices" in custom:
                try:
                    _check_lhotse_safe("choices", custom["choices"])
                except InputError as err:
                    raise ModelError(err.problem, where=where) from None
            record["custom"] = custom
            if turn.words and all(w.timed for w in turn.words):
                record["alignment"] = {"word": [[w.text, w.start, _duration(w.start, w.end), None]  # type: ignore[arg-type]
                                                for w in turn.words]}
            records.append(record)
    return records


def _sort_key(record: dict[str, Any]) -> tuple:
    custom = record.get("custom") or {}
    # the annotation's label (Annotation.label), rebuilt from what the record carries
    origin, annotation_id = custom.get("origin", ""), custom.get("annotation_id")
    label = str(custom.get("annotator") or custom.get("model_version")
                or (f"{origin}-{annotation_id}" if annotation_id is not None else origin))
    return (record["recording_id"], record["start"], record["speaker"], label,
            record["start"] + record["duration"], record["id"])


def supervision_records(conversation: Conversation, annotation: Annotation, *,
                        custom: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The annotation's turns as Lhotse supervision dicts (see the module docstring), sorted.

    ``custom`` adds keys to every record's ``custom``.

    Raises:
        InputError: ``custom`` reuses a reserved key, is not JSON, or would confuse Lhotse.
        ModelError: a turn's choices would confuse Lhotse.
    """
    records = _records(conversation, annotation, annotator_slug(annotation), _check_custom(custom))
    return sorted(records, key=_sort_key)


def _slugs(items: Sequence[Item]) -> list[str]:
    """Slugs that keep supervision ids unique across the annotations of one recording."""
    base = [annotator_slug(a) for _, a in items]
    clash = defaultdict(list)
    for index, ((conversation, _), slug) in enumerate(zip(items, base)):
        clash[(conversation.id, slug)].append(index)
    slugs = list(base)
    for (recording, slug), indices in clash.items():
        if len(indices) == 1:
            continue
        for index in indices:
            annotation = items[index][1]
            slugs[index] = f"{slug}-{_slug(str(annotation.id))}" if annotation.id is not None else slug
        if len({slugs[i] for i in indices}) < len(indices):
            raise ModelError(f"{len(indices)} annotations labelled {slug!r} cannot be told apart "
                             "(same label, no distinct annotation ids)", where=f"recording {recording}")
    return slugs


def write_supervisions(path: str | os.PathLike[str], items: Iterable[Item], *,
                       custom: Mapping[str, Any] | None = None) -> Path:
    """Write the turns of every (conversation, annotation) as one Lhotse supervisions file.

    Atomic: on any error nothing is written. Returns the path.

    Raises:
        InputError: see :func:`supervision_records`; ModelError if two lines would share an id.
    """
    items = list(items)
    extra = _check_custom(custom)
    records = [r for (conversation, annotation), slug in zip(items, _slugs(items))
               for r in _records(conversation, annotation, slug, extra)]
    return _write_lines(path, sorted(records, key=_sort_key), unique="supervision")


def _compute_num_samples(duration: float, sampling_rate: int) -> int:
    # Lhotse's compute_num_samples: half-up rounding, not Python's banker's rounding.
    return int(Decimal(round(duration * sampling_rate, 8)).quantize(0, rounding=ROUND_HALF_UP))


def recording_record(conversation: Conversation, *, probe_audio: bool = False) -> dict[str, Any]:
    """The conversation as a Lhotse ``Recording.to_dict()``.

    The model keeps times to the millisecond, so ``num_samples`` is computed from the rounded
    duration and may differ from the file by a few samples (Lhotse tolerates that when loading
    audio, but not in ``validate(read_data=True)``). With ``probe_audio`` the audio file's header
    gives the exact sample count, rate and channel count (the conversation's must agree).

    Raises:
        ModelError: the conversation lacks its audio, sampling rate or duration (unless probed),
            or the probed file disagrees with it.
        AudioError: the probed file cannot be read.
    """
    where = f"conversation {conversation.id}"
    if probe_audio:
        sampling_rate, num_samples, channels = _probe(conversation)
    else:
        missing = [name for name in ("audio", "sampling_rate", "duration") if getattr(conversation, name) is None]
        if missing:
            raise ModelError(f"a Lhotse recording needs the {', '.join(missing).replace('_', ' ')}, "
                             "which the conversation lacks", where=where)
        assert conversation.sampling_rate is not None and conversation.duration is not None
        sampling_rate, channels = conversation.sampling_rate, conversation.channels
        num_samples = _compute_num_samples(conversation.duration, sampling_rate)
    channel_ids = list(range(channels))
    source_type = "url" if _URL.match(str(conversation.audio)) else "file"
    return {
        "id": conversation.id,
        "sources": [{"type": source_type, "channels": channel_ids, "source": conversation.audio}],
        "sampling_rate": sampling_rate,
        "num_samples": num_samples,
        "duration": num_samples / sampling_rate,
        "channel_ids": channel_ids,
    }


def _probe(conversation: Conversation) -> tuple[int, int, int]:
    import soundfile

    where = f"conversation {conversation.id}"
    if conversation.audio is None or _URL.match(conversation.audio):
        raise ModelError("probing the audio needs a local audio file", where=where)
    try:
        info = soundfile.info(conversation.audio)
    except (RuntimeError, OSError) as err:  # soundfile raises LibsndfileError, a RuntimeError
        raise AudioError(f"cannot read the audio header: {err}", where=f"{where}: {conversation.audio}") from None
    problems = []
    if conversation.sampling_rate is not None and conversation.sampling_rate != info.samplerate:
        problems.append(f"sampling rate {conversation.sampling_rate} Hz but the file has {info.samplerate} Hz")
    if conversation.channels != info.channels:
        problems.append(f"{conversation.channels} channel(s) but the file has {info.channels}")
    if conversation.duration is not None and abs(conversation.duration - info.frames / info.samplerate) > 0.0005:
        problems.append(f"duration {conversation.duration:.3f} s but the file lasts "
                        f"{info.frames / info.samplerate:.3f} s")
    if problems:
        raise ModelError("; ".join(problems), where=where)
    return info.samplerate, info.frames, info.channels


def write_recordings(path: str | os.PathLike[str], conversations: Iterable[Conversation], *,
                     probe_audio: bool = False) -> Path:
    """Write a Lhotse recordings file, one line per conversation sorted by id; atomic.

    ``probe_audio``: see :func:`recording_record`.

    Raises:
        ModelError: a conversation lacks what a recording needs, or two share an id.
    """
    records = sorted((recording_record(c, probe_audio=probe_audio) for c in conversations),
                     key=lambda r: r["id"])
    return _write_lines(path, records, unique="recording")


def nemo_records(conversation: Conversation, annotation: Annotation) -> list[dict[str, Any]]:
    """The turns as NeMo manifest entries (see the module docstring), sorted by start.

    Raises:
        ModelError: the conversation has no audio.
    """
    if conversation.audio is None:
        raise ModelError("a NeMo manifest needs the audio path, which the conversation lacks",
                         where=f"conversation {conversation.id}")
    records = []
    for turn in annotation.turns:
        record: dict[str, Any] = {"audio_filepath": conversation.audio, "offset": turn.start,
                                  "duration": turn.duration, "text": turn.text, "speaker": turn.speaker}
        channel = _channel(conversation, turn)
        if isinstance(channel, int):
            record["channel"] = channel
        records.append(record)
    return records


def write_nemo_manifest(path: str | os.PathLike[str], items: Iterable[Item]) -> Path:
    """Write a NeMo manifest of every turn, sorted by recording, start, speaker, annotator; atomic."""
    keyed = []
    for conversation, annotation in items:
        for record in nemo_records(conversation, annotation):
            keyed.append(((conversation.id, record["offset"], record["speaker"], annotation.label,
                           record["duration"], record["text"]), record))
    keyed.sort(key=lambda pair: pair[0])
    return _write_lines(path, [record for _, record in keyed])


def _write_lines(path: str | os.PathLike[str], records: Sequence[dict[str, Any]],
                 unique: str | None = None) -> Path:
    if unique is not None:
        seen: set[str] = set()
        for record in records:
            if record["id"] in seen:
                raise ModelError(f"two {unique}s would have the id {record['id']!r}")
            seen.add(record["id"])
    text = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in records)
    if str(path).endswith(".gz"):
        return write_bytes(path, gzip.compress(text.encode("utf-8"), mtime=0))
    return write_text(path, text)


# --------------------------------------------------------------------------------------------
# Reading: lines and schema checks


def _lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line; FormatError names the file and line."""
    data = read_bytes(path)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise FormatError(f"broken gzip data: {err}", where=str(path)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text", where=f"{path}: line {line}") from None
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise FormatError(f"not JSON ({err.msg} at column {err.colno})", where=f"{path}: line {number}") from None
        if not isinstance(value, dict):
            raise FormatError(f"a JSON {type(value).__name__}, not an object", where=f"{path}: line {number}")
        yield number, value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expect(ok: bool, problem: str) -> None:
    if not ok:
        raise FormatError(problem)


def _check_keys(record: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str], what: str) -> None:
    for key in required:
        _expect(key in record, f"lacks the required key {key!r}")
    unknown = [k for k in record if k not in allowed]
    _expect(not unknown, f"has the key {unknown[0]!r}, which Lhotse's {what} does not accept"
            if unknown else "")


def validate_supervision(record: Mapping[str, Any]) -> None:
    """Check one supervisions line against Lhotse's schema and casper-qc's ``custom`` keys.

    Raises:
        FormatError: the first problem (without a location: the caller adds file and line).
    """
    _check_keys(record, SUPERVISION_KEYS, ("id", "recording_id", "start", "duration", "speaker"),
                "SupervisionSegment")
    for key in ("id", "recording_id", "speaker"):
        _expect(isinstance(record[key], str) and record[key] != "", f"{key} must be a non-empty string")
    for key in ("start", "duration"):
        _expect(_is_number(record[key]), f"{key} must be a number of seconds, not {record[key]!r}")
    channel = record.get("channel", 0)
    _expect(_is_int(channel) or (isinstance(channel, list) and bool(channel) and all(_is_int(c) for c in channel)),
            f"channel must be an integer or a list of integers, not {channel!r}")
    for key in ("text", "language", "gender"):
        _expect(record.get(key) is None or isinstance(record[key], str), f"{key} must be a string")
    alignment = record.get("alignment")
    if alignment is not None:
        _expect(isinstance(alignment, dict) and all(isinstance(v, list) for v in alignment.values()),
                "alignment must map alignment kinds to lists")
        for item in alignment.get("word", []):
            _check_alignment_item(item)
    custom = record.get("custom")
    if custom is not None:
        _expect(isinstance(custom, dict), "custom must be an object")
        _check_custom_fields(custom)


def _check_alignment_item(item: Any) -> None:
    if isinstance(item, dict):  # the form Lhotse wrote before 1.8
        item = [item.get("symbol"), item.get("start"), item.get("duration"), item.get("score")]
    _expect(isinstance(item, list) and len(item) in (3, 4) and isinstance(item[0], str)
            and _is_number(item[1]) and _is_number(item[2]) and (len(item) == 3 or item[3] is None or _is_number(item[3])),
            f"a word alignment item must be [symbol, start, duration, score], not {item!r}")


def _check_custom_fields(custom: Mapping[str, Any]) -> None:
    types: dict[str, tuple[Callable[[Any], bool], str]] = {
        "annotator": (lambda v: isinstance(v, str), "a string"),
        "annotator_id": (_is_int, "an integer"),
        "annotation_id": (lambda v: _is_int(v) or isinstance(v, str), "an integer or a string"),
        "task_id": (lambda v: _is_int(v) or isinstance(v, str), "an integer or a string"),
        "origin": (lambda v: v in ("annotation", "prediction", "reference"), "annotation, prediction or reference"),
        "model_version": (lambda v: isinstance(v, str), "a string"),
        "ground_truth": (lambda v: isinstance(v, bool), "true or false"),
        "annotation_score": (_is_number, "a number"),
        "lead_time": (_is_number, "a number"),
        "created_at": (lambda v: isinstance(v, str), "an ISO 8601 string"),
        "updated_at": (lambda v: isinstance(v, str), "an ISO 8601 string"),
        "region_id": (lambda v: isinstance(v, str), "a string"),
        "score": (_is_number, "a number"),
        "choices": (lambda v: isinstance(v, dict) and all(
            isinstance(x, list) and all(isinstance(s, str) for s in x) for x in v.values()),
            "an object of lists of strings"),
        "words": (lambda v: isinstance(v, list) and all(
            isinstance(w, str) or (isinstance(w, list) and len(w) == 3 and isinstance(w[0], str)
                                   and _is_number(w[1]) and _is_number(w[2])) for w in v),
            'a list of "text" or ["text", start, duration]'),
        "word_kinds": (lambda v: isinstance(v, list) and all(k in WordKind._value2member_map_ for k in v),
                       f"a list of {', '.join(k.value for k in WordKind)}"),
        "uncertain_words": (lambda v: isinstance(v, list) and all(_is_int(i) for i in v), "a list of word indices"),
        "estimated_words": (lambda v: isinstance(v, list) and all(_is_int(i) for i in v), "a list of word indices"),
        "disfluencies": (lambda v: isinstance(v, list) and all(isinstance(d, dict) for d in v), "a list of objects"),
    }
    for key, (check, expected) in types.items():
        if key in custom:
            _expect(check(custom[key]), f"custom {key} must be {expected}, not {custom[key]!r}")
    for index, dis in enumerate(custom.get("disfluencies", []), 1):
        allowed = ("type", "words", *_ROLE_KEYS, "start", "end")
        unknown = [k for k in dis if k not in allowed]
        _expect(not unknown, f"custom disfluency {index} has the unknown key {unknown[0]!r}" if unknown else "")
        _expect("type" in dis and "words" in dis, f"custom disfluency {index} lacks its type or words")
        for key in ("words", *_ROLE_KEYS):
            value = dis.get(key)
            _expect(value is None or (isinstance(value, list) and len(value) == 2 and all(_is_int(i) for i in value)),
                    f"custom disfluency {index}: {key} must be a [start, stop] word index pair, not {value!r}")


def validate_recording(record: Mapping[str, Any]) -> None:
    """Check one recordings line against Lhotse's schema and what the model can hold.

    Raises:
        FormatError: the first problem (without a location: the caller adds file and line).
    """
    _check_keys(record, RECORDING_KEYS, ("id", "sources", "sampling_rate", "num_samples", "duration"), "Recording")
    _expect(isinstance(record["id"], str) and record["id"] != "", "id must be a non-empty string")
    _expect("transforms" not in record, "has audio transforms, which casper-qc cannot represent")
    sources = record["sources"]
    _expect(isinstance(sources, list) and len(sources) == 1,
            "needs exactly one audio source (one file holding every channel)")
    source = sources[0]
    _expect(isinstance(source, dict) and isinstance(source.get("source"), str)
            and source.get("type") in ("file", "url") and isinstance(source.get("channels"), list)
            and bool(source["channels"]) and all(_is_int(c) for c in source["channels"]),
            "its source must be {\"type\": \"file\" or \"url\", \"channels\": [...], \"source\": path}")
    unknown = [k for k in source if k not in ("type", "channels", "source")]
    _expect(not unknown, f"its source has the key {unknown[0]!r}, which casper-qc cannot represent" if unknown else "")
    _expect(_is_int(record["sampling_rate"]) and record["sampling_rate"] > 0, "sampling_rate must be a positive integer")
    _expect(_is_int(record["num_samples"]) and record["num_samples"] >= 0, "num_samples must be a whole number")
    _expect(_is_number(record["duration"]) and record["duration"] > 0, "duration must be a positive number")
    channels = record.get("channel_ids", sorted(source["channels"]))
    _expect(isinstance(channels, list) and channels == list(range(len(channels))) == sorted(source["channels"]),
            f"channel ids {channels!r} must be 0..N-1 and match its source's channels")


# --------------------------------------------------------------------------------------------
# Reading: building the model


def read_recordings(path: str | os.PathLike[str]) -> list[Conversation]:
    """Conversations of a Lhotse recordings file (``.jsonl`` or ``.jsonl.gz``), in file order.

    Raises:
        FormatError: the first bad line, as ``"<path>: line 3: …"``.
    """
    conversations, seen = [], {}
    for number, record in _lines(path):
        where = f"{path}: line {number}"
        try:
            validate_recording(record)
            _expect(record["id"] not in seen, f"recording {record['id']!r} already appears on line {seen.get(record['id'])}")
            seen[record["id"]] = number
            conversations.append(Conversation(
                record["id"], audio=record["sources"][0]["source"], duration=record["duration"],
                channels=len(record["sources"][0]["channels"]), sampling_rate=record["sampling_rate"]))
        except InputError as err:
            raise FormatError(err.problem, where=f"{where}: {err.where}" if err.where else where) from None
    return conversations


def _words(record: Mapping[str, Any], custom: Mapping[str, Any]) -> list[Word]:
    if "words" in custom:
        raw = [(w, None, None) if isinstance(w, str) else (w[0], w[1], round(w[1] + w[2], 3))
               for w in custom["words"]]
    else:
        items = (record.get("alignment") or {}).get("word", [])
        raw = []
        for item in items:
            if isinstance(item, dict):
                item = [item.get("symbol"), item.get("start"), item.get("duration")]
            raw.append((item[0], item[1], round(item[1] + item[2], 3)))
    kinds = custom.get("word_kinds", [WordKind.WORD.value] * len(raw))
    _expect(len(kinds) == len(raw), f"custom word_kinds has {len(kinds)} entries for {len(raw)} words")
    for key in ("uncertain_words", "estimated_words"):
        bad = [i for i in custom.get(key, []) if not 0 <= i < len(raw)]
        _expect(not bad, f"custom {key} names word {bad[0] if bad else 0}, but the turn has {len(raw)} words")
    uncertain, estimated = set(custom.get("uncertain_words", [])), set(custom.get("estimated_words", []))
    return [Word(text, start, end, kind=kinds[i], uncertain=i in uncertain, estimated=i in estimated)
            for i, (text, start, end) in enumerate(raw)]


def _turn(record: Mapping[str, Any], custom: Mapping[str, Any], foreign: bool) -> Turn:
    words = _words(record, custom)
    disfluencies = []
    for index, dis in enumerate(custom.get("disfluencies", []), 1):
        try:
            disfluencies.append(Disfluency(dis["type"], dis["words"], reparandum=dis.get("reparandum"),
                                           interregnum=dis.get("interregnum"), repair=dis.get("repair"),
                                           start=dis.get("start"), end=dis.get("end")))
        except InputError as err:
            raise FormatError(f"custom disfluency {index}: {err.problem}") from None
    channel = record.get("channel", 0)
    start = record["start"]
    return Turn(record["speaker"], start, round(start + record["duration"], 3),
                channel=channel if isinstance(channel, int) else None, text=record.get("text") or "",
                words=words, disfluencies=disfluencies, choices=custom.get("choices") or {},
                id=record["id"] if foreign else custom.get("region_id"), score=custom.get("score"))


def read_supervisions(path: str | os.PathLike[str], *,
                      recordings: Iterable[Conversation] | None = None) -> list[Item]:
    """(conversation, annotation) pairs of a Lhotse supervisions file, grouped by recording and
    annotation: recordings in sorted order, annotations in the order they first appear.

    Conversations are built from the supervisions (speakers with the channel all their turns
    share, channel count = highest channel + 1, no duration or audio) unless ``recordings``
    gives them (e.g. from :func:`read_recordings`); then every recording id must be among them.

    Raises:
        FormatError: the first bad line, as ``"<path>: line 3: …"``.
    """
    known = {c.id: c for c in recordings} if recordings is not None else None
    groups: dict[tuple, dict[str, Any]] = {}
    seen_ids: dict[str, int] = {}
    for number, record in _lines(path):
        where = f"{path}: line {number}"
        try:
            validate_supervision(record)
            _expect(record["id"] not in seen_ids,
                    f"supervision id {record['id']!r} already appears on line {seen_ids.get(record['id'])}")
            seen_ids[record["id"]] = number
            if known is not None:
                _expect(record["recording_id"] in known, f"recording {record['recording_id']!r} is not among the recordings")
            custom = record.get("custom") or {}
            foreign = not any(k in custom for k in _GROUP_KEYS)
            key = (record["recording_id"], *(repr(custom.get(k)) for k in _GROUP_KEYS))
            meta = {k: custom.get(k) for k in _ANNOTATION_KEYS if k not in _GROUP_KEYS}
            group = groups.setdefault(key, {"recording": record["recording_id"], "first": number,
                                            "meta": meta, "custom": custom, "turns": []})
            for name, value in meta.items():
                _expect(group["meta"][name] == value,
                        f"custom {name} {value!r} differs from {group['meta'][name]!r} on line {group['first']}, "
                        "a line of the same annotation")
            group["turns"].append((number, record, _turn(record, custom, foreign)))
        except InputError as err:
            raise FormatError(err.problem, where=f"{where}: {err.where}" if err.where else where) from None
    return _assemble(path, groups, known)


def _assemble(path: str | os.PathLike[str], groups: Mapping[tuple, dict[str, Any]],
              known: Mapping[str, Conversation] | None) -> list[Item]:
    by_recording: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for group in sorted(groups.values(), key=lambda g: g["first"]):
        by_recording[group["recording"]].append(group)
    out: list[Item] = []
    for recording in sorted(by_recording):
        lines = [entry for g in by_recording[recording] for entry in g["turns"]]
        first_line = min(n for n, _, _ in lines)
        try:
            conversation = _conversation(recording, lines, known)
        except InputError as err:
            raise FormatError(err.problem, where=f"{path}: recording {recording} (from line {first_line})") from None
        for group in by_recording[recording]:
            custom, meta = group["custom"], group["meta"]
            try:
                annotation = Annotation(
                    task_id=custom.get("task_id", recording), turns=[t for _, _, t in group["turns"]],
                    id=custom.get("annotation_id"), annotator=custom.get("annotator"),
                    annotator_id=custom.get("annotator_id"), created_at=meta["created_at"],
                    updated_at=meta["updated_at"], lead_time=meta["lead_time"],
                    ground_truth=bool(meta["ground_truth"]), origin=custom.get("origin", "reference"),
                    model_version=custom.get("model_version"), score=meta["annotation_score"])
            except InputError as err:
                raise FormatError(err.problem, where=f"{path}: line {group['first']}") from None
            out.append((conversation, annotation))
    return out


def _conversation(recording: str, lines: Sequence[tuple[int, dict[str, Any], Turn]],
                  known: Mapping[str, Conversation] | None) -> Conversation:
    channels_of: dict[str, set] = defaultdict(set)
    top = 0
    for _, record, turn in lines:
        channel = record.get("channel", 0)
        channels_of[turn.speaker].add(channel if isinstance(channel, int) else tuple(channel))
        top = max(top, *(channel if isinstance(channel, list) else [channel]))
    speakers = tuple(Speaker(name, next(iter(chs)) if len(chs) == 1 and isinstance(next(iter(chs)), int) else None)
                     for name, chs in sorted(channels_of.items()))
    if known is None:
        return Conversation(recording, channels=top + 1, speakers=speakers)
    conversation = known[recording]
    return conversation if conversation.speakers else replace(conversation, speakers=speakers)
