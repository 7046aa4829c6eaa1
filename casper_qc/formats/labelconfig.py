"""Label Studio label configs: what casper-qc needs to know about a project's XML.

A conversation config has one ``<Audio>`` object, one ``<Labels>`` control on it whose labels
are the speakers, optionally a per-region ``<TextArea>`` (the verbatim transcript of a region)
and ``<Choices>`` (per-region ones become :attr:`casper_qc.model.Turn.choices`). Tag names and
label values are read from the XML, never assumed: the reader and writer of Label Studio JSON
(:mod:`casper_qc.formats.labelstudio`) take them from a :class:`LabelConfig`.

Contracts:

* :func:`parse_label_config` reads the XML with :mod:`defusedxml` (a label config is user input)
  and raises :class:`~casper_qc.errors.FormatError` for XML that is not well-formed and
  :class:`~casper_qc.errors.ConfigError` for a config that lacks what is needed (an Audio tag
  with a ``$field`` value, speaker Labels on it), each with one line naming ``source``.
* Tag and attribute names are matched without regard to case, as Label Studio's editor does
  (``toName`` and ``toname`` are the same attribute).
* The first ``<Labels>`` whose ``toName`` names the Audio is the speaker control; the first
  per-region ``<TextArea>`` on the Audio is the transcript.
* Channels (only when ``<Audio splitchannels="true">``): a ``<Label>`` may carry
  ``predicted_values="1,B"`` — a comma-separated list, as Label Studio's ML backends use the
  attribute: an integer item is the audio channel (0-based) that speaker is recorded on, any other
  item is a name a pre-labeller may emit for that speaker. When no label names a channel, the
  labels' order gives them (first label = channel 0). Without ``splitchannels`` every speaker's
  channel is None: the audio is one mix.
* Speaker ids: the first non-integer item of a label's ``predicted_values`` is that speaker's id
  in the model (``"Speaker A"`` with ``predicted_values="0,A"`` is speaker ``"A"``, so ids have
  no spaces for Lhotse, Kaldi and file names); a label without one is its own id. Writers accept
  the label value, the id or any other ``predicted_values`` name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping
from xml.etree.ElementTree import Element, ParseError

from ..errors import ConfigError, FormatError

__all__ = [
    "ChoicesSpec",
    "LabelConfig",
    "parse_label_config",
    "load_label_config",
    "bundled_config_path",
    "BUNDLED_CONFIGS",
]

#: Names of the configs shipped in ``label_configs/`` (``<name>.xml``).
BUNDLED_CONFIGS = ("conversation", "conversation_mono")

# Label Studio's legacy name for the Audio object tag is still accepted by its editor.
_AUDIO_TAGS = frozenset({"audio", "audioplus"})
_TRUE = frozenset({"true", "1", "yes"})


@dataclass(frozen=True, slots=True)
class ChoicesSpec:
    """A ``<Choices>`` control on the Audio: its ``name``, the ``values`` a result may hold
    (a Choice's ``alias`` when it has one, as Label Studio stores it, else its ``value``),
    whether it is ``per_region`` and whether several values may be chosen (``multiple``)."""

    name: str
    values: tuple[str, ...]
    per_region: bool
    multiple: bool = False


@dataclass(frozen=True)
class LabelConfig:
    """The parts of a label config that casper-qc reads and writes.

    ``audio_value`` is the task data key the Audio plays (``"audio"`` for ``value="$audio"``).
    ``speaker_values`` are the speaker label values in config order. ``speaker_channels`` maps a
    label value to its channel (empty unless ``split_channels``); ``speaker_aliases`` maps the
    names of ``predicted_values`` to label values; ``speaker_ids`` maps a label value to its
    speaker id when that is not the label itself. ``xml`` is the config as given.
    """

    xml: str
    audio_name: str
    audio_value: str
    split_channels: bool
    speaker_labels_name: str
    speaker_values: tuple[str, ...]
    transcript_name: str | None = None
    choices: tuple[ChoicesSpec, ...] = ()
    speaker_channels: Mapping[str, int] = field(default_factory=dict)
    speaker_aliases: Mapping[str, str] = field(default_factory=dict)
    speaker_ids: Mapping[str, str] = field(default_factory=dict)
    source: str = "label config"

    def __post_init__(self) -> None:
        for name in ("speaker_channels", "speaker_aliases", "speaker_ids"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def channel_count(self) -> int:
        """Channels the recordings of this project have: enough for every mapped speaker
        (at least 2) with ``splitchannels``, else 1."""
        if not self.split_channels:
            return 1
        return max(2, max(self.speaker_channels.values(), default=0) + 1)

    def channel_of(self, label_value: str) -> int | None:
        """The channel a speaker (label value or id) is recorded on, or None (mono configs,
        unmapped labels)."""
        label = self.speaker_label(label_value)
        return None if label is None else self.speaker_channels.get(label)

    def speaker_id(self, label_value: str) -> str:
        """The model's speaker id for a label value (``"Speaker A"`` -> ``"A"``)."""
        return self.speaker_ids.get(label_value, label_value)

    def label_for_channel(self, channel: int) -> str | None:
        """The speaker label recorded on ``channel``, or None."""
        return next((label for label, ch in self.speaker_channels.items() if ch == channel), None)

    def speaker_label(self, name: str) -> str | None:
        """The label value for ``name``: a label value itself, or a speaker id or other
        predicted_values name of one (``"B"`` -> ``"Speaker B"``); None when the config knows
        neither."""
        if name in self.speaker_values:
            return name
        return self.speaker_aliases.get(name)

    def choices_spec(self, name: str) -> ChoicesSpec | None:
        """The ``<Choices>`` control called ``name``, or None."""
        return next((spec for spec in self.choices if spec.name == name), None)

    @property
    def region_choices(self) -> tuple[ChoicesSpec, ...]:
        """The per-region Choices (those that become :attr:`Turn.choices`)."""
        return tuple(spec for spec in self.choices if spec.per_region)


def parse_label_config(xml: str, *, source: str = "label config") -> LabelConfig:
    """Read a Label Studio label config.

    Raises:
        FormatError: ``xml`` is not well-formed XML.
        ConfigError: it lacks an Audio tag with a ``$field`` value or speaker Labels on it, or
            its labels or channels are ambiguous.
    """
    from defusedxml import ElementTree as SafeET  # hardened against entity expansion attacks
    from defusedxml.common import DefusedXmlException

    if not isinstance(xml, str):
        raise FormatError(
            f"a label config must be XML text, not {type(xml).__name__}", where=source
        )
    try:
        root = SafeET.fromstring(xml)
    except ParseError as err:
        line, column = getattr(err, "position", (None, None))
        raise FormatError(
            f"is not well-formed XML ({_parse_message(err)}, line {line}, column {column})",
            where=source,
        ) from None
    except DefusedXmlException as err:
        raise FormatError(
            f"XML with forbidden constructs ({type(err).__name__})", where=source
        ) from None

    elements = list(root.iter())
    audio = next((el for el in elements if _tag(el) in _AUDIO_TAGS), None)
    if audio is None:
        raise ConfigError(
            "the label config has no <Audio> tag; casper-qc labels audio regions", where=source
        )
    audio_name = _attr(audio, "name")
    if not audio_name:
        raise ConfigError("the <Audio> tag has no name attribute", where=source)
    value = (_attr(audio, "value") or "").strip()
    if not value.startswith("$") or len(value) < 2:
        raise ConfigError(
            f'<Audio name="{audio_name}"> needs value="$field" naming the task data field '
            f"holding the audio, not {value!r}",
            where=source,
        )
    split = (_attr(audio, "splitchannels") or "").strip().lower() in _TRUE

    def on_audio(el: Element) -> bool:
        return audio_name in [n.strip() for n in (_attr(el, "toname") or "").split(",")]

    labels = next((el for el in elements if _tag(el) == "labels" and on_audio(el)), None)
    if labels is None:
        raise ConfigError(
            f'the label config has no <Labels toName="{audio_name}"> with the speakers',
            where=source,
        )
    labels_name = _attr(labels, "name")
    if not labels_name:
        raise ConfigError(f'the <Labels toName="{audio_name}"> has no name attribute', where=source)
    speakers, channels, aliases, ids = _speakers(labels, labels_name, split, source)

    transcript = next(
        (
            el
            for el in elements
            if _tag(el) == "textarea" and on_audio(el) and _flag(el, "perregion")
        ),
        None,
    )
    transcript_name = _attr(transcript, "name") if transcript is not None else None
    if transcript is not None and not transcript_name:
        raise ConfigError("the per-region <TextArea> has no name attribute", where=source)

    choices = []
    for el in elements:
        if _tag(el) != "choices" or not on_audio(el):
            continue
        name = _attr(el, "name")
        if not name:
            raise ConfigError(
                f'a <Choices toName="{audio_name}"> has no name attribute', where=source
            )
        values = tuple(
            _attr(c, "alias") or _attr(c, "value") or "" for c in el.iter() if _tag(c) == "choice"
        )
        if "" in values:
            raise ConfigError(f'a <Choice> of <Choices name="{name}"> has no value', where=source)
        choices.append(
            ChoicesSpec(
                name=name,
                values=values,
                per_region=_flag(el, "perregion"),
                multiple=(_attr(el, "choice") or "").strip().lower() == "multiple",
            )
        )

    return LabelConfig(
        xml=xml,
        audio_name=audio_name,
        audio_value=value[1:],
        split_channels=split,
        speaker_labels_name=labels_name,
        speaker_values=speakers,
        transcript_name=transcript_name,
        choices=tuple(choices),
        speaker_channels=channels,
        speaker_aliases=aliases,
        speaker_ids=ids,
        source=source,
    )


def load_label_config(path: str | Path) -> LabelConfig:
    """Read the label config in the file at ``path`` (errors name the file)."""
    path = Path(path)
    try:
        xml = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("label config file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the label config: {err}", where=str(path)) from None
    return parse_label_config(xml, source=str(path))


def bundled_config_path(name: str = "conversation") -> Path:
    """The path of a config shipped with casper-qc (``conversation`` or ``conversation_mono``).

    Works from a checkout and from an installed package (``label_configs`` is package data).
    """
    if name not in BUNDLED_CONFIGS:
        raise ConfigError(
            f"no bundled label config {name!r}; there are {', '.join(BUNDLED_CONFIGS)}"
        )
    from importlib.resources import files

    try:
        return Path(str(files("label_configs").joinpath(f"{name}.xml")))
    except ModuleNotFoundError:  # a checkout whose editable install predates label_configs
        return Path(__file__).resolve().parents[2] / "label_configs" / f"{name}.xml"


def _tag(el: Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _attr(el: Element, name: str) -> str | None:
    """Attribute ``name`` (lower case) of ``el``, whatever case the config wrote it in."""
    for key, value in el.attrib.items():
        if key.lower() == name:
            return value
    return None


def _flag(el: Element, name: str) -> bool:
    return (_attr(el, name) or "").strip().lower() in _TRUE


def _parse_message(err: ParseError) -> str:
    return str(err).split(":", 1)[0]


def _speakers(
    labels: Element, labels_name: str, split: bool, source: str
) -> tuple[tuple[str, ...], dict[str, int], dict[str, str], dict[str, str]]:
    values: list[str] = []
    declared: dict[str, int] = {}
    aliases: dict[str, str] = {}
    ids: dict[str, str] = {}
    for el in labels.iter():
        if _tag(el) != "label":
            continue
        value = _attr(el, "value")
        if not value:
            raise ConfigError(
                f'a <Label> of <Labels name="{labels_name}"> has no value', where=source
            )
        if value in values:
            raise ConfigError(
                f'<Labels name="{labels_name}"> has the label {value!r} twice', where=source
            )
        values.append(value)
        for item in (_attr(el, "predicted_values") or "").split(","):
            item = item.strip()
            if not item:
                continue
            if item.isdigit():
                if value in declared and declared[value] != int(item):
                    raise ConfigError(
                        f"label {value!r} names two channels in predicted_values", where=source
                    )
                declared[value] = int(item)
            elif item != value:
                if aliases.get(item, value) != value:
                    raise ConfigError(
                        f"predicted_values name {item!r} is given to both {aliases[item]!r} "
                        f"and {value!r}",
                        where=source,
                    )
                aliases[item] = value
                ids.setdefault(value, item)
    if not values:
        raise ConfigError(
            f'<Labels name="{labels_name}"> has no <Label>: it needs one per speaker', where=source
        )
    clash = sorted(set(aliases) & set(values))
    if clash:
        raise ConfigError(f"predicted_values name {clash[0]!r} is also a label value", where=source)
    if not split:
        return tuple(values), {}, aliases, ids
    channels = declared if declared else {value: index for index, value in enumerate(values)}
    seen: dict[int, str] = {}
    for value, channel in channels.items():
        if channel in seen:
            raise ConfigError(
                f"labels {seen[channel]!r} and {value!r} are both on channel {channel}",
                where=source,
            )
        seen[channel] = value
    return tuple(values), channels, aliases, ids
