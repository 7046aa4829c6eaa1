"""The core model every part of casper-qc speaks: conversations, speakers, turns, words,
disfluencies and annotations.

Contracts:

* Records are frozen dataclasses; they validate themselves when built and raise
  :class:`~casper_qc.errors.ModelError` (a ``ValueError``) with a one-line message.
* Times are seconds (``float``), rounded to the millisecond at construction, never negative,
  never NaN. Every interval has ``start < end`` after rounding.
* Word ranges are half-open index ranges ``[start, stop)`` into the words of the turn that holds
  the disfluency.
* Checks that need more than one record (overlapping turns of one speaker, turns beyond the end
  of the recording, speakers the conversation does not know) live in :mod:`casper_qc.validate`,
  which reports all problems instead of stopping at the first.

Nothing here touches files or the network; formats live in :mod:`casper_qc.formats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Iterable, Iterator, Literal, Mapping, Sequence

from .errors import ModelError
from .labels import SIMPLE_TYPES, DisfluencyType, Role, WordKind

__all__ = [
    "Segment",
    "WordRange",
    "Word",
    "Disfluency",
    "Turn",
    "Speaker",
    "Conversation",
    "Annotation",
    "Task",
    "to_ms",
    "seconds",
]

Origin = Literal["annotation", "prediction", "reference"]


def seconds(value: Any, what: str = "time") -> float:
    """``value`` as seconds rounded to the millisecond.

    Raises:
        ModelError: if it is not a finite, non-negative number.
    """
    if isinstance(value, bool):
        raise ModelError(f"{what} must be a number of seconds, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be a number of seconds, not {value!r}") from None
    if not math.isfinite(number):
        raise ModelError(f"{what} must be finite, not {value!r}")
    rounded = round(number, 3)
    if rounded < 0:
        raise ModelError(f"{what} {number:g} s is negative")
    return rounded + 0.0  # turn -0.0 into 0.0


def to_ms(value: float) -> int:
    """Seconds to integer milliseconds (the grid all times live on)."""
    return int(round(value * 1000))


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _check_interval(obj: object, start: Any, end: Any, what: str) -> None:
    start_s = seconds(start, f"{what} start")
    end_s = seconds(end, f"{what} end")
    if not start_s < end_s:
        raise ModelError(f"{what} end {end_s:.3f} s is not after its start {start_s:.3f} s")
    _set(obj, "start", start_s)
    _set(obj, "end", end_s)


@dataclass(frozen=True, slots=True)
class Segment:
    """A time interval ``[start, end)`` in seconds, ``start < end``."""

    start: float
    end: float

    def __post_init__(self) -> None:
        _check_interval(self, self.start, self.end, "segment")

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    def overlaps(self, other: "Segment | Turn") -> bool:
        """True if the two intervals share more than a point."""
        return self.start < other.end and other.start < self.end

    def overlap(self, other: "Segment | Turn") -> float:
        """Length of the shared part in seconds (0.0 if none)."""
        return max(0.0, round(min(self.end, other.end) - max(self.start, other.start), 3))

    def contains(self, time: float) -> bool:
        return self.start <= time < self.end


@dataclass(frozen=True, slots=True)
class WordRange:
    """A half-open range ``[start, stop)`` of word indices, ``0 <= start < stop``."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        for name in ("start", "stop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ModelError(f"word range {name} must be an integer, not {value!r}")
        if self.start < 0 or self.stop <= self.start:
            raise ModelError(f"word range [{self.start}, {self.stop}) is empty or negative")

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self.start <= index < self.stop

    def within(self, other: "WordRange") -> bool:
        return other.start <= self.start and self.stop <= other.stop

    def __str__(self) -> str:
        return f"[{self.start}, {self.stop})"


@dataclass(frozen=True, slots=True)
class Word:
    """One token of a verbatim transcript.

    ``start``/``end`` are both given or both None. ``estimated`` is True when the times were
    spread over the turn rather than aligned to the audio. ``uncertain`` marks words written
    inside ``(( ))``.
    """

    text: str
    start: float | None = None
    end: float | None = None
    kind: WordKind = WordKind.WORD
    uncertain: bool = False
    estimated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ModelError(f"word text must be a non-empty string, not {self.text!r}")
        if any(ch.isspace() for ch in self.text):
            raise ModelError(f"word {self.text!r} contains whitespace")
        try:
            _set(self, "kind", WordKind(self.kind))
        except ValueError:
            raise ModelError(f"word {self.text!r}: unknown kind {self.kind!r}") from None
        if (self.start is None) != (self.end is None):
            raise ModelError(f"word {self.text!r} has a start or an end but not both")
        if self.start is not None:
            _check_interval(self, self.start, self.end, f"word {self.text!r}")
        elif self.estimated:
            raise ModelError(f"word {self.text!r} is marked estimated but has no times")

    @property
    def timed(self) -> bool:
        return self.start is not None


def _word_range(value: Any, what: str) -> WordRange | None:
    if value is None or isinstance(value, WordRange):
        return value
    try:
        start, stop = value
    except (TypeError, ValueError):
        raise ModelError(f"{what} must be a (start, stop) pair, not {value!r}") from None
    return WordRange(start, stop)


@dataclass(frozen=True, slots=True)
class Disfluency:
    """A disfluency inside one turn.

    ``words`` is the whole span. FP, DM, ET and PW have no roles. REP and REV have a reparandum
    and a repair, FS a reparandum and no repair; all three may have an interregnum. Roles come
    in the order reparandum, interregnum, repair, do not overlap, and lie inside ``words``.
    ``start``/``end`` are the span's times when its words have times.
    """

    type: DisfluencyType
    words: WordRange
    reparandum: WordRange | None = None
    interregnum: WordRange | None = None
    repair: WordRange | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        try:
            kind = DisfluencyType(self.type)
        except ValueError:
            raise ModelError(f"unknown disfluency type {self.type!r}") from None
        _set(self, "type", kind)
        for name in ("words", "reparandum", "interregnum", "repair"):
            _set(self, name, _word_range(getattr(self, name), f"{kind.value} {name}"))
        if self.words is None:
            raise ModelError(f"{kind.value} disfluency needs a word range")
        roles = [(r, getattr(self, n)) for r, n in _ROLE_FIELDS if getattr(self, n) is not None]
        if kind in SIMPLE_TYPES:
            if roles:
                raise ModelError(f"{kind.value} disfluency cannot have a {roles[0][0].name.lower()}")
        else:
            if self.reparandum is None:
                raise ModelError(f"{kind.value} disfluency needs a reparandum")
            if kind is DisfluencyType.FS and self.repair is not None:
                raise ModelError("FS (false start) has no repair; use REV for a replaced reparandum")
            if kind is not DisfluencyType.FS and self.repair is None:
                raise ModelError(f"{kind.value} disfluency needs a repair")
            previous_stop = self.words.start
            for role, rng in roles:
                if not rng.within(self.words):
                    raise ModelError(f"{kind.value} {role.name.lower()} {rng} lies outside its span {self.words}")
                if rng.start < previous_stop:
                    raise ModelError(f"{kind.value} roles overlap or are out of order at {rng}")
                previous_stop = rng.stop
        if (self.start is None) != (self.end is None):
            raise ModelError(f"{kind.value} disfluency has a start or an end but not both")
        if self.start is not None:
            _check_interval(self, self.start, self.end, f"{kind.value} disfluency")

    def role_of(self, index: int) -> Role | None:
        """The role word ``index`` plays in this disfluency, if any."""
        for role, name in _ROLE_FIELDS:
            rng = getattr(self, name)
            if rng is not None and index in rng:
                return role
        return None

    def roles(self) -> Iterator[tuple[Role, WordRange]]:
        for role, name in _ROLE_FIELDS:
            rng = getattr(self, name)
            if rng is not None:
                yield role, rng

    def shifted(self, offset: int) -> "Disfluency":
        """The same disfluency with word indices moved by ``offset``."""
        def move(r: WordRange | None) -> WordRange | None:
            return None if r is None else WordRange(r.start + offset, r.stop + offset)

        return replace(self, words=move(self.words), reparandum=move(self.reparandum),
                       interregnum=move(self.interregnum), repair=move(self.repair))


_ROLE_FIELDS = ((Role.REPARANDUM, "reparandum"), (Role.INTERREGNUM, "interregnum"), (Role.REPAIR, "repair"))


def _frozen_choices(value: Mapping[str, Iterable[str]] | None) -> Mapping[str, tuple[str, ...]]:
    if not value:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ModelError(f"choices must be a mapping of tag name to values, not {type(value).__name__}")
    out: dict[str, tuple[str, ...]] = {}
    for name in sorted(value):
        values = value[name]
        if isinstance(values, str):
            values = (values,)
        out[str(name)] = tuple(str(v) for v in values)
    return MappingProxyType(out)


@dataclass(frozen=True)
class Turn:
    """A stretch of one speaker's speech (a region in Label Studio, an interval in a TextGrid).

    ``text`` is the verbatim transcript as written; ``words`` its tokens, with times where known
    (inside the turn). ``disfluencies`` index into ``words``. ``choices`` holds per-region
    choices of the label config (e.g. ``{"disfluency": ("FP", "REP")}``). ``id`` is the region
    id, ``score`` a prediction's confidence in [0, 1].
    """

    speaker: str
    start: float
    end: float
    channel: int | None = None
    text: str = ""
    words: tuple[Word, ...] = ()
    disfluencies: tuple[Disfluency, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    id: str | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.speaker, str) or not self.speaker.strip():
            raise ModelError(f"turn speaker must be a non-empty string, not {self.speaker!r}")
        what = f"turn of {self.speaker}" if self.id is None else f"turn {self.id!r}"
        _check_interval(self, self.start, self.end, what)
        if self.channel is not None and (isinstance(self.channel, bool) or not isinstance(self.channel, int) or self.channel < 0):
            raise ModelError(f"{what}: channel must be a non-negative integer, not {self.channel!r}")
        if not isinstance(self.text, str):
            raise ModelError(f"{what}: text must be a string, not {type(self.text).__name__}")
        if self.score is not None:
            score = float(self.score)
            if not 0.0 <= score <= 1.0:
                raise ModelError(f"{what}: score {score:g} is outside [0, 1]")
            _set(self, "score", score)
        words = tuple(self.words)
        disfluencies = tuple(self.disfluencies)
        _set(self, "words", words)
        _set(self, "disfluencies", disfluencies)
        _set(self, "choices", _frozen_choices(self.choices))
        for word in words:
            if not isinstance(word, Word):
                raise ModelError(f"{what}: words must be Word records, not {type(word).__name__}")
            if word.start is not None and (word.start < self.start or word.end > self.end):
                raise ModelError(
                    f"{what}: word {word.text!r} at {word.start:.3f}-{word.end:.3f} s lies outside "
                    f"the turn {self.start:.3f}-{self.end:.3f} s")
        for dis in disfluencies:
            if not isinstance(dis, Disfluency):
                raise ModelError(f"{what}: disfluencies must be Disfluency records")
            if dis.words.stop > len(words):
                raise ModelError(f"{what}: {dis.type.value} span {dis.words} is beyond its {len(words)} words")

    @property
    def segment(self) -> Segment:
        return Segment(self.start, self.end)

    @property
    def duration(self) -> float:
        return round(self.end - self.start, 3)

    def overlaps(self, other: "Turn | Segment") -> bool:
        return self.start < other.end and other.start < self.end

    def with_words(self, words: Sequence[Word], disfluencies: Sequence[Disfluency] = ()) -> "Turn":
        """A copy with other words (and disfluencies over them)."""
        return replace(self, words=tuple(words), disfluencies=tuple(disfluencies))


@dataclass(frozen=True, slots=True)
class Speaker:
    """A participant. ``channel`` is the audio channel carrying their headset (None in a mix)."""

    id: str
    channel: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ModelError(f"speaker id must be a non-empty string, not {self.id!r}")
        if self.channel is not None and (isinstance(self.channel, bool) or not isinstance(self.channel, int) or self.channel < 0):
            raise ModelError(f"speaker {self.id}: channel must be a non-negative integer, not {self.channel!r}")


@dataclass(frozen=True)
class Conversation:
    """A recording of a conversation.

    ``audio`` is where the audio is (path or URL), ``duration`` its length in seconds when known,
    ``channels`` its channel count. Speaker ids are unique and their channels exist.
    """

    id: str
    audio: str | None = None
    duration: float | None = None
    channels: int = 1
    speakers: tuple[Speaker, ...] = ()
    sampling_rate: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ModelError(f"conversation id must be a non-empty string, not {self.id!r}")
        if self.duration is not None:
            duration = seconds(self.duration, f"conversation {self.id} duration")
            if duration <= 0:
                raise ModelError(f"conversation {self.id}: duration must be positive")
            _set(self, "duration", duration)
        if isinstance(self.channels, bool) or not isinstance(self.channels, int) or self.channels < 1:
            raise ModelError(f"conversation {self.id}: channel count must be a positive integer, not {self.channels!r}")
        if self.sampling_rate is not None and (not isinstance(self.sampling_rate, int) or self.sampling_rate <= 0):
            raise ModelError(f"conversation {self.id}: sampling rate must be a positive integer")
        speakers = tuple(self.speakers)
        _set(self, "speakers", speakers)
        seen: set[str] = set()
        for speaker in speakers:
            if speaker.id in seen:
                raise ModelError(f"conversation {self.id}: speaker {speaker.id} appears twice")
            seen.add(speaker.id)
            if speaker.channel is not None and speaker.channel >= self.channels:
                raise ModelError(
                    f"conversation {self.id}: speaker {speaker.id} is on channel {speaker.channel} "
                    f"but the recording has {self.channels} channel(s)")

    def speaker(self, speaker_id: str) -> Speaker | None:
        return next((s for s in self.speakers if s.id == speaker_id), None)


def _timestamp(value: Any, what: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):  # fromisoformat accepts "Z" only from Python 3.11
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ModelError(f"{what} must be an ISO 8601 time, not {value!r}")


@dataclass(frozen=True)
class Annotation:
    """One person's (or model's) labelling of one task.

    ``origin`` says whether it is a human annotation, a model prediction or a reference.
    ``annotator`` is a readable name (e-mail, user name or model version), ``annotator_id``
    Label Studio's user id. ``lead_time`` is the seconds the annotator spent. Turns are kept
    sorted by start, end and speaker.
    """

    task_id: int | str
    turns: tuple[Turn, ...] = ()
    id: int | str | None = None
    annotator: str | None = None
    annotator_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    lead_time: float | None = None
    ground_truth: bool = False
    origin: Origin = "annotation"
    model_version: str | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        if self.origin not in ("annotation", "prediction", "reference"):
            raise ModelError(f"annotation origin must be annotation, prediction or reference, not {self.origin!r}")
        turns = tuple(self.turns)
        for turn in turns:
            if not isinstance(turn, Turn):
                raise ModelError(f"annotation {self.id}: turns must be Turn records, not {type(turn).__name__}")
        _set(self, "turns", tuple(sorted(turns, key=lambda t: (t.start, t.end, t.speaker, t.channel or 0))))
        _set(self, "created_at", _timestamp(self.created_at, "created_at"))
        _set(self, "updated_at", _timestamp(self.updated_at, "updated_at"))
        if self.lead_time is not None:
            _set(self, "lead_time", float(self.lead_time))
            if not math.isfinite(self.lead_time) or self.lead_time < 0:
                raise ModelError(f"annotation {self.id}: lead time {self.lead_time!r} is not a non-negative number")
        if self.score is not None:
            _set(self, "score", float(self.score))

    @property
    def label(self) -> str:
        """A readable name: the annotator, the model version, or the annotation id."""
        if self.annotator:
            return self.annotator
        if self.model_version:
            return self.model_version
        return f"{self.origin}-{self.id}" if self.id is not None else self.origin

    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({t.speaker for t in self.turns}))

    def turns_of(self, speaker: str) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.speaker == speaker)


@dataclass(frozen=True)
class Task:
    """A Label Studio task: one conversation with its annotations and predictions.

    ``data`` is the task's data dictionary as Label Studio holds it (read-only).
    """

    id: int | str
    conversation: Conversation
    annotations: tuple[Annotation, ...] = ()
    predictions: tuple[Annotation, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, "annotations", tuple(self.annotations))
        _set(self, "predictions", tuple(self.predictions))
        _set(self, "data", MappingProxyType(dict(self.data)))

    @property
    def name(self) -> str:
        """The conversation id when the task data names one, else the task id."""
        return self.conversation.id
