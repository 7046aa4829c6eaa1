"""The Predictor seam: what turns a task's audio into a pre-label.

A predictor is any object with

* ``model_class`` (str): the name ``/health`` reports;
* ``model_version`` (str, non-empty): changes whenever the pre-labels could change (code
  version, parameters), because Label Studio asks again only for tasks without a prediction of
  the current version;
* ``check_config(config)``: raises :class:`~casper_qc.errors.ConfigError` when it cannot label
  projects with that config;
* ``warm_up()``: imports what :meth:`predict` needs (called in the background after ``/setup``);
* ``task_key(task) -> str``: what, besides the audio and the label config, the prediction of
  ``task`` depends on (part of the cache key; ``""`` when nothing);
* ``predict(task, config, audio_path) -> Annotation``: the pre-label of one task, an
  :class:`~casper_qc.model.Annotation` with ``origin="prediction"`` whose turns name speakers by
  the config's label values (or ``predicted_values`` names). Pure: same audio and parameters,
  same result. Raises :class:`~casper_qc.errors.InputError` for audio it cannot use.

:class:`TurnPredictor` is the default:

1. turns: the turn pre-labeller of :mod:`casper_qc.turns` (speech activity per channel with
   crosstalk rejection, turns and backchannels), each channel's turns given the speaker label
   the config puts on that channel;
2. words: a draft transcript the task carries in its data (``CASPER_DRAFT_FIELD``, default
   ``draft``), placed into the turns by :func:`casper_qc.drafts.place_words`; or, for a task
   without one and when ``CASPER_ASR_ENGINE`` is set, the local recognizer of
   :mod:`casper_qc.asr` run on each turn's own channel;
3. disfluencies: for turns that have words, the tagger of :mod:`casper_qc.disfluency`; the types
   found become the per-region disfluency choices, the words the region's transcript.

Steps 2 and 3 are :func:`casper_qc.transcripts.fill_turns`, the step ``casper-qc prelabel
--drafts/--asr`` runs in batch.

A draft is the field's text in any format :func:`casper_qc.formats.drafts.parse_draft` reads
(Whisper JSON, CTM, SRT, WebVTT, TextGrid, plain verbatim text), or an object
``{"text": ..., "format"?: ..., "channel"?: 0, "speaker"?: ...}``, or a list of those (one per
channel, say). Tracks naming a channel go to the turns on that channel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import typing
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

from casper_qc.errors import AudioError, ConfigError, FormatError, InputError
from casper_qc.formats.labelconfig import LabelConfig
from casper_qc.model import Annotation, Turn
from casper_qc.transcripts import with_disfluency_choices

from .config import PRELABEL_PREFIX, Settings
from .errors import UpstreamError

log = logging.getLogger("ml_backend.predictor")

__all__ = ["Predictor", "TurnPredictor", "parse_params"]


@runtime_checkable
class Predictor(Protocol):
    """See the module docstring."""

    model_class: str

    @property
    def model_version(self) -> str: ...

    def check_config(self, config: LabelConfig) -> None: ...

    def warm_up(self) -> None: ...

    def task_key(self, task: dict[str, Any]) -> str: ...

    def predict(self, task: dict[str, Any], config: LabelConfig, audio_path: Path) -> Annotation: ...


def _convert(raw: str, kind: Any, env_name: str) -> Any:
    """``raw`` as a value of the annotated type ``kind`` (float, int, bool, str, Optional)."""
    args = typing.get_args(kind)
    if type(None) in args:  # Optional[X]: "none" clears it
        if raw.strip().lower() in ("none", "null"):
            return None
        kind = next(a for a in args if a is not type(None))
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered not in ("1", "true", "yes", "0", "false", "no"):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes")
        if kind in (int, float, str):
            return kind(raw)
    except ValueError:
        raise ConfigError(f"{env_name} must be a {kind.__name__}, not {raw!r}") from None
    raise ConfigError(f"{env_name} cannot be set from the environment (its type is {kind})")


def parse_params(cls: type, raw: Mapping[str, str], *, prefix: str = PRELABEL_PREFIX) -> Any:
    """An instance of the parameter dataclass ``cls`` from ``CASPER_PRELABEL_*`` values.

    ``raw`` maps lower-case names without the prefix to text: ``block_seconds`` sets a field,
    ``activity__snr_db`` the field ``snr_db`` of the nested dataclass field ``activity``.

    Raises:
        ConfigError: an unknown name, a value of the wrong type, or values the class refuses.
    """
    default = cls()
    fields = [f for f in dataclasses.fields(cls) if f.init]
    nested = {f.name: type(getattr(default, f.name)) for f in fields
              if dataclasses.is_dataclass(getattr(default, f.name))}
    hints = typing.get_type_hints(cls, localns={t.__name__: t for t in nested.values()})
    scalars = {f.name for f in fields} - set(nested)
    values: dict[str, Any] = {}
    groups: dict[str, dict[str, str]] = {}
    for name, text in sorted(raw.items()):
        head, sep, rest = name.partition("__")
        if sep and head in nested and rest:
            groups.setdefault(head, {})[rest] = text
        elif name in scalars:
            values[name] = _convert(text, hints[name], prefix + name.upper())
        else:
            known = ", ".join([prefix + n.upper() for n in sorted(scalars)]
                              + [prefix + n.upper() + "__<NAME>" for n in sorted(nested)])
            raise ConfigError(f"unknown pre-label parameter {prefix + name.upper()}; known: {known}")
    for head, sub in groups.items():
        values[head] = parse_params(nested[head], sub, prefix=prefix + head.upper() + "__")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"pre-label parameters refused: {err}") from None


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    return value


class TurnPredictor:
    """The default predictor (see the module docstring).

    Speakers: with ``splitchannels`` each label's channel (``predicted_values`` or order) is
    the channel the pre-labeller reads for that speaker; a recording lacking such a channel is
    refused (:class:`~casper_qc.errors.AudioError`). Without ``splitchannels`` the audio is a
    mix: the mono pre-labeller's speakers ``A`` and ``B`` become the labels named ``A``/``B``
    in ``predicted_values`` (else the first two labels); a config with one label is one talker.

    Raises (at construction) :class:`~casper_qc.errors.ConfigError` for an ASR engine that is
    unknown, not installed or without its model directory.
    """

    model_class = "CasperTurnPrelabeler"

    def __init__(self, params: Any = None, *, draft_field: str = "draft", asr_engine: str | None = None,
                 asr_model_dir: Path | None = None) -> None:
        from casper_qc import __version__
        from casper_qc.turns import MODEL_VERSION, PrelabelParams

        self.params = PrelabelParams() if params is None else params
        self.draft_field = draft_field
        self.asr_engine = asr_engine
        self._recognizer = _recognizer(asr_engine, asr_model_dir) if asr_engine else None
        described = json.dumps({"predictor": self.model_class, "turns": MODEL_VERSION,
                                "params": _canonical(self.params), "draft_field": draft_field,
                                "asr": asr_engine, "asr_model": str(asr_model_dir) if asr_engine else None},
                               sort_keys=True, default=str)
        digest = hashlib.sha256(described.encode("utf-8")).hexdigest()[:10]
        self._model_version = f"casper-qc-{__version__}+{MODEL_VERSION}.{digest}"

    @classmethod
    def from_settings(cls, settings: Settings) -> "TurnPredictor":
        """The predictor with the ``CASPER_PRELABEL_*``, draft and ASR settings of ``settings``."""
        from casper_qc.turns import PrelabelParams

        return cls(parse_params(PrelabelParams, settings.prelabel), draft_field=settings.draft_field,
                   asr_engine=settings.asr_engine, asr_model_dir=settings.asr_model_dir)

    @property
    def model_version(self) -> str:
        return self._model_version

    def check_config(self, config: LabelConfig) -> None:
        if config.split_channels and not config.speaker_channels:
            raise ConfigError("no speaker label is on an audio channel", where=config.source)

    def warm_up(self) -> None:
        import casper_qc.disfluency  # noqa: F401
        import casper_qc.drafts  # noqa: F401
        import casper_qc.turns  # noqa: F401
        from casper_qc import activity, audio, diarize_mono, structure  # noqa: F401

        if self._recognizer is not None:
            self._recognizer.load()

    def task_key(self, task: dict[str, Any]) -> str:
        """The task's draft (canonical JSON), or ``""`` when it has none."""
        data = task.get("data")
        draft = data.get(self.draft_field) if isinstance(data, Mapping) else None
        return "" if draft is None else json.dumps(draft, sort_keys=True, ensure_ascii=False)

    @staticmethod
    def _mono_names(config: LabelConfig) -> dict[str, str]:
        """Mono pre-labeller speaker -> label value, for configs without splitchannels."""
        values = config.speaker_values
        names: dict[str, str] = {}
        for index, name in enumerate(("A", "B")):
            label = config.speaker_label(name)
            if label is None and index < len(values):
                label = values[index]
            if label is not None:
                names[name] = label
        return names

    def predict(self, task: dict[str, Any], config: LabelConfig, audio_path: Path) -> Annotation:
        from casper_qc.turns import prelabel_file

        self.check_config(config)
        draft = self._draft(task)  # a bad draft fails before the audio is pre-labelled
        task_id = task.get("id")
        name = f"task-{task_id}" if task_id is not None else audio_path.stem
        if config.split_channels:
            channel_map = {channel: label for label, channel in config.speaker_channels.items()}
            names: dict[str, str] = {}
        elif len(config.speaker_values) == 1:
            channel_map = {0: config.speaker_values[0]}
            names = {}
        else:
            channel_map = None
            names = self._mono_names(config)
        result = prelabel_file(audio_path, self.params, channel_map=channel_map, conversation_id=name)
        turns = []
        for turn in result.annotation.turns:
            label = names.get(turn.speaker, turn.speaker)
            if config.speaker_label(label) is None:
                raise ConfigError(f"the recording has a speaker {turn.speaker!r} (channel {turn.channel}) "
                                  "that no speaker label of the config stands for", where=config.source)
            # region ids come from the region itself (formats.labelstudio.region_id), so they
            # stay the same when a turn elsewhere appears or goes; a mix has no channels to show
            turns.append(dataclasses.replace(turn, speaker=label, id=None,
                                             channel=turn.channel if config.split_channels else None))
        turns = self._words(turns, draft, audio_path, name)
        return Annotation(task_id=task_id if isinstance(task_id, (int, str)) else name,
                          turns=tuple(with_disfluency_choices(t, config) for t in turns),
                          origin="prediction", model_version=self.model_version,
                          annotator=self.model_version, score=result.annotation.score)

    def _draft(self, task: dict[str, Any]) -> Any:
        """The task's draft transcript as a :class:`casper_qc.formats.drafts.Draft`, or None."""
        data = task.get("data")
        value = data.get(self.draft_field) if isinstance(data, Mapping) else None
        if value is None or value == "" or value == []:
            return None
        from casper_qc.formats.drafts import merge_drafts, parse_draft

        source = f"data {self.draft_field!r}"
        items = value if isinstance(value, list) else [value]
        drafts = []
        for index, item in enumerate(items):
            where = f"{source} item {index}" if isinstance(value, list) else source
            if isinstance(item, str):
                drafts.append(parse_draft(item, source=where))
                continue
            if not isinstance(item, Mapping) or not isinstance(item.get("text"), str):
                raise FormatError("a draft is text or an object with a 'text' string", where=where)
            channel, speaker, fmt = item.get("channel"), item.get("speaker"), item.get("format")
            if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or channel < 0):
                raise FormatError(f"'channel' must be a channel number (0, 1...), not {channel!r}", where=where)
            if speaker is not None and not isinstance(speaker, str):
                raise FormatError(f"'speaker' must be text, not {speaker!r}", where=where)
            if fmt is not None and not isinstance(fmt, str):
                raise FormatError(f"'format' must be text, not {fmt!r}", where=where)
            drafts.append(parse_draft(item["text"], fmt, source=where, channel=channel, speaker=speaker))
        return drafts[0] if len(drafts) == 1 else merge_drafts(drafts, source=source)

    def _words(self, turns: list[Turn], draft: Any, audio_path: Path, name: str) -> list[Turn]:
        """The turns with the words of the draft, or of the recognizer, or as they are; turns
        with words get their disfluencies (:func:`casper_qc.transcripts.fill_turns`)."""
        from casper_qc.transcripts import fill_turns

        recognizer = self._recognizer if draft is None else None
        try:
            filled = fill_turns(turns, draft=draft, audio=audio_path, recognizer=recognizer)
        except AudioError:
            raise
        except InputError as err:
            if recognizer is None:
                raise
            # the engine, not the caller: a fault of this deployment
            raise UpstreamError(f"the ASR engine {self.asr_engine!r} failed: {err}", status=503) from None
        if filled.source == "draft":
            log.info("%s: draft words %s", name, filled.counts)
        return list(filled.turns)


def _recognizer(engine: str, model_dir: Path | None) -> Any:
    """The recognizer ``engine`` (nothing loaded yet); ConfigError naming the setting if unusable."""
    import importlib.util

    from casper_qc.asr import ENGINES, get_recognizer

    if engine not in ENGINES:
        raise ConfigError(f"CASPER_ASR_ENGINE must be one of {', '.join(ENGINES)} (or unset), not {engine!r}")
    module = {"pocketsphinx": "pocketsphinx", "faster-whisper": "faster_whisper"}[engine]
    if importlib.util.find_spec(module) is None:
        extra = "asr" if engine == "pocketsphinx" else "whisper"
        raise ConfigError(f"CASPER_ASR_ENGINE={engine} but {module} is not installed: "
                          f"pip install 'casper-qc[{extra}]'")
    try:
        return get_recognizer(engine, model_dir)
    except InputError as err:
        raise ConfigError(f"CASPER_ASR_ENGINE={engine}: {err.problem} (CASPER_ASR_MODEL_DIR)") from None
