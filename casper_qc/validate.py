"""Checks across records: what a single record cannot know about itself.

Each ``check_*`` function returns every :class:`Problem` it finds (an empty list when all is
well); :func:`ensure_valid` raises the first as a :class:`~casper_qc.errors.ModelError`.

* Turns of the *same* speaker must not overlap (different speakers overlapping is normal).
* Turns lie inside the recording (``0 <= start < end <= duration``) when its duration is known.
* A turn's channel exists in the recording and matches its speaker's channel when both are known.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from .errors import ModelError
from .model import Annotation, Conversation, Task, Turn

__all__ = ["Problem", "check_turns", "check_annotation", "check_task", "ensure_valid"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: ``where`` (e.g. ``"region 'r3'"``) and ``message``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def _name(turn: Turn) -> str:
    if turn.id is not None:
        return f"region {turn.id!r}"
    return f"turn of {turn.speaker} at {turn.start:.3f}-{turn.end:.3f} s"


def check_turns(turns: Sequence[Turn], conversation: Conversation | None = None) -> list[Problem]:
    """Problems of a set of turns, optionally against the recording they belong to."""
    problems: list[Problem] = []
    by_speaker: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        by_speaker[turn.speaker].append(turn)
    for speaker in sorted(by_speaker):
        ordered = sorted(by_speaker[speaker], key=lambda t: (t.start, t.end))
        latest = ordered[0]
        for turn in ordered[1:]:
            if turn.start < latest.end:
                problems.append(Problem(
                    _name(turn),
                    f"speaker {speaker} overlaps their own turn {_name(latest)} "
                    f"({turn.start:.3f} s starts before {latest.end:.3f} s)"))
            if turn.end > latest.end:
                latest = turn
    if conversation is None:
        return problems
    for turn in turns:
        if conversation.duration is not None and turn.end > conversation.duration:
            problems.append(Problem(
                _name(turn),
                f"ends at {turn.end:.3f} s, beyond the end of the recording ({conversation.duration:.3f} s)"))
        if turn.channel is not None and turn.channel >= conversation.channels:
            problems.append(Problem(
                _name(turn),
                f"is on channel {turn.channel} but the recording has {conversation.channels} channel(s)"))
        speaker = conversation.speaker(turn.speaker)
        if speaker is not None and speaker.channel is not None and turn.channel is not None \
                and speaker.channel != turn.channel:
            problems.append(Problem(
                _name(turn),
                f"speaker {turn.speaker} belongs on channel {speaker.channel}, not {turn.channel}"))
    return problems


def check_annotation(annotation: Annotation, conversation: Conversation | None = None) -> list[Problem]:
    """Problems of one annotation; locations name the annotation."""
    where = f"{annotation.origin} {annotation.id}" if annotation.id is not None else annotation.origin
    return [Problem(f"{where}: {p.where}", p.message) for p in check_turns(annotation.turns, conversation)]


def check_task(task: Task) -> list[Problem]:
    """Problems of every annotation and prediction of a task; locations name the task."""
    problems: list[Problem] = []
    for annotation in (*task.annotations, *task.predictions):
        problems.extend(Problem(f"task {task.id}: {p.where}", p.message)
                        for p in check_annotation(annotation, task.conversation))
    return problems


def ensure_valid(problems: Iterable[Problem]) -> None:
    """Raise the first problem as a ModelError (saying how many more there are)."""
    problems = list(problems)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ModelError(first.message + more, where=first.where)
