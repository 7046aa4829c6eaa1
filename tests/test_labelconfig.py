"""Label configs: our parse of the bundled configs against label-studio-sdk's own LabelInterface,
channel and speaker mapping, and configs that lack what casper-qc needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from label_studio_sdk.label_interface import LabelInterface

from casper_qc.errors import ConfigError, FormatError
from casper_qc.formats.labelconfig import (
    BUNDLED_CONFIGS,
    bundled_config_path,
    load_label_config,
    parse_label_config,
)

REPO = Path(__file__).resolve().parent.parent


def bundled_xml(name: str) -> str:
    return bundled_config_path(name).read_text(encoding="utf-8")


def without(xml: str, tag: str) -> str:
    """The config with every element ``tag`` (and what it holds) taken out."""
    root = ET.fromstring(xml)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == tag:
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def edited(xml: str, tag: str, **attrs: str | None) -> str:
    """The config with attributes of every ``tag`` element set (None removes one)."""
    root = ET.fromstring(xml)
    for el in root.iter(tag):
        for key, value in attrs.items():
            if value is None:
                el.attrib.pop(key, None)
            else:
                el.set(key, value)
    return ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("name", BUNDLED_CONFIGS)
def test_our_parse_agrees_with_the_sdk_label_interface(name):
    xml = bundled_xml(name)
    ours = parse_label_config(xml)
    sdk = LabelInterface(xml)
    sdk.validate()  # raises on a config Label Studio would refuse

    audio = sdk.get_object(ours.audio_name)
    assert type(audio).__name__ == "AudioTag"
    assert audio.value == f"${ours.audio_value}" == "$audio"
    assert (audio.attr.get("splitchannels") == "true") is ours.split_channels

    speakers = sdk.get_control(ours.speaker_labels_name)
    assert type(speakers).__name__ == "LabelsTag"
    assert speakers.to_name == [ours.audio_name]
    assert tuple(speakers.labels) == ours.speaker_values
    for label, tag in speakers.labels_attrs.items():
        items = [i.strip() for i in tag.attr.get("predicted_values", "").split(",") if i.strip()]
        names = [i for i in items if not i.isdigit()]
        assert ours.speaker_id(label) == (names[0] if names else label)
        assert all(ours.speaker_label(n) == label for n in names)
        if ours.split_channels:
            assert ours.channel_of(label) == int(next(i for i in items if i.isdigit()))
        else:
            assert ours.channel_of(label) is None

    transcript = sdk.get_control(ours.transcript_name)
    assert type(transcript).__name__ == "TextAreaTag"
    assert transcript.attr.get("perRegion") == "true" and transcript.to_name == [ours.audio_name]

    sdk_choices = [c for c in sdk.controls if type(c).__name__ == "ChoicesTag"]
    assert [c.name for c in sdk_choices] == [spec.name for spec in ours.choices]
    for control, spec in zip(sdk_choices, ours.choices):
        assert tuple(control.labels) == spec.values
        assert spec.per_region is (control.attr.get("perRegion") == "true")
        assert spec.multiple is (control.attr.get("choice") == "multiple")


def test_the_disfluency_choices_are_the_canonical_label_set():
    from casper_qc.labels import DisfluencyType

    for name in BUNDLED_CONFIGS:
        spec = parse_label_config(bundled_xml(name)).choices_spec("disfluency")
        assert spec is not None and spec.per_region and spec.multiple
        assert spec.values == tuple(t.value for t in DisfluencyType)


def test_stereo_and_mono_configs():
    stereo = load_label_config(bundled_config_path("conversation"))
    assert stereo.split_channels and stereo.channel_count == 2
    assert dict(stereo.speaker_channels) == {"Speaker A": 0, "Speaker B": 1}
    assert stereo.label_for_channel(1) == "Speaker B" and stereo.label_for_channel(2) is None
    assert stereo.channel_of("B") == 1 and stereo.channel_of("nobody") is None
    assert stereo.speaker_label("A") == "Speaker A" and stereo.speaker_label("C") is None
    assert stereo.source == str(bundled_config_path("conversation"))

    mono = load_label_config(bundled_config_path("conversation_mono"))
    assert not mono.split_channels and mono.channel_count == 1
    assert mono.channel_of("Speaker A") is None and mono.label_for_channel(0) is None
    assert (mono.speaker_id("Speaker A"), mono.speaker_id("Speaker B")) == ("A", "B")


def test_channels_follow_label_order_without_predicted_values():
    xml = edited(bundled_xml("conversation"), "Label", predicted_values=None)
    config = parse_label_config(xml)
    assert dict(config.speaker_channels) == {"Speaker A": 0, "Speaker B": 1}
    assert config.speaker_id("Speaker A") == "Speaker A"  # no names: the label is the id


def test_predicted_values_can_put_speakers_on_other_channels():
    root = ET.fromstring(bundled_xml("conversation"))
    first, second = root.iter("Label")
    first.set("predicted_values", "1,left")
    second.set("predicted_values", "0,right")
    config = parse_label_config(ET.tostring(root, encoding="unicode"))
    assert config.label_for_channel(0) == "Speaker B" and config.channel_of("left") == 1
    assert config.speaker_id("Speaker A") == "left"


def test_tag_and_attribute_names_ignore_case_like_the_editor():
    xml = (
        bundled_xml("conversation")
        .replace("<Audio ", "<audio ")
        .replace("toName=", "toname=")
        .replace("splitchannels=", "splitChannels=")
    )
    config = parse_label_config(xml)
    assert config.split_channels and config.transcript_name == "transcript"


@pytest.mark.parametrize(
    "tag, message",
    [
        ("Audio", "no <Audio> tag"),
        ("Labels", 'no <Labels toName="audio">'),
    ],
)
def test_a_config_lacking_an_element_names_what_is_missing(tag, message):
    with pytest.raises(ConfigError) as info:
        parse_label_config(without(bundled_xml("conversation"), tag), source="project 7 config")
    assert message in str(info.value)
    assert str(info.value).startswith("project 7 config: ") and "\n" not in str(info.value)


def test_a_config_without_transcript_or_choices_is_still_a_speaker_config():
    xml = without(without(bundled_xml("conversation"), "TextArea"), "Choices")
    config = parse_label_config(xml)
    assert config.transcript_name is None and config.choices == ()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda x: edited(x, "Audio", value="audio.wav"), 'needs value="$field"'),
        (lambda x: edited(x, "Audio", name=None), "no name attribute"),
        (lambda x: without(x, "Label"), "has no <Label>"),
        (lambda x: edited(x, "Label", value="Speaker A"), "twice"),
        (lambda x: edited(x, "Label", predicted_values="0"), "both on channel 0"),
        (lambda x: edited(x, "Label", predicted_values="X"), "given to both"),
    ],
)
def test_ambiguous_or_broken_configs_are_refused(edit, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_label_config(edit(bundled_xml("conversation")))


def test_malformed_xml_is_a_format_error_with_its_line():
    xml = bundled_xml("conversation")
    broken = xml.replace("</Labels>", "</Label>", 1)
    with pytest.raises(FormatError) as info:
        parse_label_config(broken, source="cfg.xml")
    assert str(info.value).startswith("cfg.xml: is not well-formed XML") and "line " in str(
        info.value
    )


def test_entity_expansion_is_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<View><Audio name="audio" value="$audio"/><Header value="&b;"/></View>'
    )
    with pytest.raises(FormatError, match="forbidden"):
        parse_label_config(bomb)


def test_load_label_config_names_the_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found") as info:
        load_label_config(tmp_path / "nope.xml")
    assert str(tmp_path / "nope.xml") in str(info.value)


def test_unknown_bundled_name():
    with pytest.raises(ConfigError, match="conversation_mono"):
        bundled_config_path("nope")


@pytest.mark.slow
def test_the_configs_ship_in_the_wheel(tmp_path):
    """bundled_config_path must work from an installed package: the wheel holds the XML.

    Built from a copy of the sources, so the shared checkout gets no build/ or egg-info."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("casper_qc", "ml_backend", "label_configs"):
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("casper_qc-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "label_configs/__init__.py",
        "label_configs/conversation.xml",
        "label_configs/conversation_mono.xml",
    } <= names
