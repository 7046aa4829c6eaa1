"""Reference transcripts per task, from a directory of files or a ground-truth annotation.

A references directory (``--references DIR``) holds, named by the task's conversation id (the
task data's ``conversation_id``) or else its task id:

==============================  =================================================================
``<name>.TextGrid``             a Praat TextGrid (:mod:`casper_qc.formats.textgrid`)
``*.stm``                       NIST STM; one file may hold many recordings, by their file id
``*.jsonl`` / ``*.jsonl.gz``    Lhotse supervisions (casper-qc's JSONL); many recordings, by
                                ``recording_id``; one annotation per recording
``<name>.ch<N>.txt``            plain text of channel N (1-based), no times
``<name>.<speaker>.txt``        plain text of one speaker (a speaker id or label), no times
``speakers.json``               optional: reference speaker names -> the project's speakers
==============================  =================================================================

Speakers. A reference speaker is one of the project's speakers (from the label config) when, in
this order: ``speakers.json`` maps it (``{"michael": "A"}`` for every conversation, or
``{"<conversation>": {"michael": "A"}}`` for one); its name is a speaker id, label or
``predicted_values`` name of the config; its channel is a speaker's channel. A reference speaker
none of these rules maps is left out, and the report says so.

Precedence: a reference file is the reference of its task. Without one, a task's annotation marked
*ground truth* in Label Studio is the reference of the task's *other* annotations (the most
recently updated one when several are marked). A task with neither has no reference, and the
report lists it.

WER against a reference is computed per speaker over the whole conversation (each side's words
of that speaker in time order), so it does not depend on how turns were cut; boundaries need a
timed reference (TextGrid, STM, JSONL, ground truth).

Errors: a file that cannot be read is an :class:`~casper_qc.errors.InputError` naming it (a bad
reference is not silently dropped); two kinds of files for one conversation, or two annotations
of one recording in a JSONL file, are too. Files of other kinds are listed as ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, FormatError, InputError
from ..formats.labelconfig import LabelConfig
from ..metrics.pairwise import speaker_texts
from ..model import Annotation, Conversation, Task
from .source import Omission, gc_paused

__all__ = ["Reference", "ReferenceSet", "load_references", "ground_truth_reference", "SPEAKER_MAP"]

#: The optional speaker map's file name.
SPEAKER_MAP = "speakers.json"


@dataclass(frozen=True)
class Reference:
    """The reference of one task: ``texts`` per project speaker id, the timed ``annotation``
    (speakers mapped; None for plain text), its ``kind`` and ``source`` (files or
    ``annotation <id>``), and for a ground-truth reference the ``annotation_id`` it is."""

    kind: str
    source: str
    texts: Mapping[str, str]
    annotation: Annotation | None = None
    annotation_id: Any = None

    @property
    def timed(self) -> bool:
        return self.annotation is not None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "speakers": sorted(self.texts),
                "timed": self.timed, "annotation": self.annotation_id}


@dataclass
class _Entry:
    kind: str
    sources: list[str]
    conversation: Conversation | None = None
    annotation: Annotation | None = None
    texts: dict[tuple[int | None, str | None], str] = field(default_factory=dict)  # (channel, speaker)


@dataclass
class ReferenceSet:
    """The references of a directory, by conversation (or task) name, and its speaker map."""

    directory: str | None = None
    entries: dict[str, _Entry] = field(default_factory=dict)
    speaker_map: dict[str, str] = field(default_factory=dict)
    conversation_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    _mapped: dict[tuple[str, str], tuple[Reference | None, list[Omission]]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.entries)

    def for_task(self, task: Task, config: LabelConfig) -> tuple[Reference | None, list[Omission]]:
        """The file reference of ``task`` (by conversation id, else task id), speakers mapped
        to the project's, and what was left out of it. None when there is no file for it."""
        entry = self.entries.get(task.name) or self.entries.get(str(task.id))
        if entry is None:
            return None, []
        name = task.name if task.name in self.entries else str(task.id)
        key = (name, str(task.id))
        if key not in self._mapped:  # the same object every time: a webhook's recomputation reuses figures
            self._mapped[key] = self._map(task, config, entry, name)
        reference, notes = self._mapped[key]
        return reference, list(notes)

    def _map(self, task: Task, config: LabelConfig, entry: _Entry, name: str
             ) -> tuple[Reference | None, list[Omission]]:
        mapping = {**self.speaker_map, **self.conversation_maps.get(name, {})}
        source = ", ".join(entry.sources)
        notes: list[Omission] = []

        def mapped(speaker: str | None, channel: int | None) -> str | None:
            target = mapping.get(speaker) if speaker is not None else None
            if target is not None:
                label = config.speaker_label(target)
                if label is None:
                    notes.append(Omission("reference", f"{SPEAKER_MAP} maps {speaker!r} to {target!r}, which is "
                                          f"not a speaker of the label config ({_speakers(config)})", task=task.id))
                    return None
                return config.speaker_id(label)
            if speaker is not None:
                label = config.speaker_label(speaker)
                if label is not None:
                    return config.speaker_id(label)
            if channel is not None:
                label = config.label_for_channel(channel)
                if label is not None:
                    return config.speaker_id(label)
            who = f"speaker {speaker!r}" if speaker is not None else f"channel {channel + 1 if channel is not None else '?'}"
            notes.append(Omission("reference", f"{who} of {source} matches no speaker of the label config "
                                  f"({_speakers(config)}); map it in {SPEAKER_MAP}", task=task.id))
            return None

        if entry.annotation is not None and entry.conversation is not None:
            channel_of = {s.id: s.channel for s in entry.conversation.speakers}
            names: dict[str, str | None] = {}
            for speaker in sorted({*channel_of, *(t.speaker for t in entry.annotation.turns)}):
                channels = {t.channel for t in entry.annotation.turns if t.speaker == speaker} - {None}
                channel = channel_of.get(speaker)
                if channel is None and len(channels) == 1:
                    channel = next(iter(channels))
                names[speaker] = mapped(speaker, channel)
            targets = [n for n in names.values() if n is not None]
            clash = sorted({n for n in targets if targets.count(n) > 1})
            if clash:
                raise ConfigError(f"several reference speakers map to speaker {clash[0]!r}; map them one to one "
                                  f"in {SPEAKER_MAP}", where=source)
            turns = [t if names[t.speaker] == t.speaker else replace(t, speaker=names[t.speaker])
                     for t in entry.annotation.turns if names.get(t.speaker) is not None]
            annotation = Annotation(task_id=task.id, turns=turns, origin="reference", annotator=f"reference:{entry.kind}")
            spoken = speaker_texts(annotation)
            timed = {n: spoken.get(n, "") for n in sorted(set(targets))}
            if not timed:
                return None, notes
            return Reference(entry.kind, source, timed, annotation), notes
        texts: dict[str, str] = {}
        for (channel, speaker), text in sorted(entry.texts.items(), key=lambda kv: str(kv[0])):
            target = mapped(speaker, channel)
            if target is None:
                continue
            if target in texts:
                raise ConfigError(f"two plain-text files give the words of speaker {target!r}", where=source)
            texts[target] = text
        if not texts:
            return None, notes
        return Reference(entry.kind, source, texts), notes


def _speakers(config: LabelConfig) -> str:
    return ", ".join(config.speaker_id(v) for v in config.speaker_values)


def ground_truth_reference(task: Task) -> Reference | None:
    """The task's ground-truth annotation as the reference of its other annotations (the most
    recently updated when several are marked), or None."""
    marked = [a for a in task.annotations if a.ground_truth]
    if not marked:
        return None
    chosen = max(marked, key=lambda a: (a.updated_at.timestamp() if a.updated_at else 0.0,
                                        a.id if isinstance(a.id, int) else 0))
    speakers = sorted({t.speaker for t in chosen.turns} | {s.id for s in task.conversation.speakers})
    spoken = speaker_texts(chosen)
    return Reference("ground_truth", f"annotation {chosen.id} ({chosen.label})",
                     {s: spoken.get(s, "") for s in speakers}, chosen, chosen.id)


def _add(entries: dict[str, _Entry], name: str, kind: str, source: str, **parts: Any) -> _Entry:
    entry = entries.get(name)
    if entry is None:
        entry = entries[name] = _Entry(kind, [source], **parts)
        return entry
    if entry.kind != kind or kind != "text":
        raise FormatError(f"conversation {name!r} has references in both {entry.sources[0]} and {source}; "
                          "keep one", where=source)
    entry.sources.append(source)
    return entry


def load_references(directory: str | os.PathLike[str]) -> ReferenceSet:
    """Read every reference file of ``directory`` (see the module docstring).

    Raises:
        InputError: the directory does not exist, or a file cannot be read (naming it).
    """
    root = Path(directory)
    if not root.is_dir():
        raise InputError("references directory not found" if not root.exists() else "is not a directory",
                         where=str(root))
    refs = ReferenceSet(directory=str(root))
    with gc_paused():  # a directory of references is a bulk read too
        for path in sorted(root.iterdir()):
            _read_reference(refs, path)
    return refs


def _read_reference(refs: ReferenceSet, path: Path) -> None:
    """Add the reference file ``path`` to ``refs`` (see :func:`load_references`)."""
    from ..formats.jsonl import read_supervisions
    from ..formats.plaintext import parse_name, read_plaintext
    from ..formats.stm import read_stm
    from ..formats.textgrid import read_textgrid

    if path.name.startswith(".") or not path.is_file():
        return
    lower = path.name.lower()
    if lower == SPEAKER_MAP:
        refs.speaker_map, refs.conversation_maps = _read_speaker_map(path)
    elif lower.endswith(".textgrid"):
        conversation, annotation = read_textgrid(path, conversation_id=path.stem)
        _add(refs.entries, path.stem, "textgrid", str(path), conversation=conversation, annotation=annotation)
    elif lower.endswith(".stm"):
        for conversation, annotation in read_stm(path):
            _add(refs.entries, conversation.id, "stm", str(path), conversation=conversation, annotation=annotation)
    elif lower.endswith((".jsonl", ".jsonl.gz")):
        found: dict[str, tuple[Conversation, Annotation]] = {}
        for conversation, annotation in read_supervisions(path):
            if conversation.id in found:
                raise FormatError(f"holds several annotations of recording {conversation.id!r}; a reference "
                                  "file holds one per recording", where=str(path))
            found[conversation.id] = (conversation, annotation)
        for name, (conversation, annotation) in found.items():
            _add(refs.entries, name, "jsonl", str(path), conversation=conversation, annotation=annotation)
    elif lower.endswith(".txt"):
        name = parse_name(path)
        entry = _add(refs.entries, name.conversation, "text", str(path))
        key = (name.channel, name.speaker)
        entry.texts[key] = read_plaintext(path)
    else:
        refs.ignored.append(path.name)


def _read_speaker_map(path: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read: {err}", where=str(path)) from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"is not valid JSON: {err.msg} (line {err.lineno})", where=str(path)) from None
    if not isinstance(payload, dict):
        raise ConfigError("must be a JSON object of reference speaker -> project speaker", where=str(path))
    common: dict[str, str] = {}
    per: dict[str, dict[str, str]] = {}
    for key, value in payload.items():
        if isinstance(value, str):
            common[str(key)] = value
        elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            per[str(key)] = {str(k): v for k, v in value.items()}
        else:
            raise ConfigError(f"value of {key!r} must be a speaker name or an object of them", where=str(path))
    return common, per
