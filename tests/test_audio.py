"""casper_qc.audio: real speech in every container, streaming blocks, pairs, bad input."""

from __future__ import annotations

import subprocess
import wave

import numpy as np
import pytest
import soundfile as sf

from casper_qc.audio import INT16_FULL_SCALE, open_audio, read_audio
from casper_qc.errors import AudioError

from turns_helpers import CLIP_SHORT, MP3, STEREO


def ffmpeg(src, dst, *args):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), *args, str(dst)], check=True)
    return dst


def test_stereo_wav_is_streamed_as_int16_blocks_covering_every_frame():
    source = open_audio(STEREO)
    info = source.info
    assert (info.sampling_rate, info.channels, info.format, info.streamed) == (16000, 2, "WAV", True)
    assert info.frames == 12 * 16000 and info.duration == pytest.approx(12.0)
    blocks = list(np.array(b) for b in source.blocks(block_seconds=5.0))
    assert [len(b) for b in blocks] == [80000, 80000, 32000]
    assert all(b.dtype == np.int16 and b.shape[1] == 2 for b in blocks)
    whole, _ = sf.read(str(STEREO), dtype="int16")
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_streaming_reuses_one_buffer_so_memory_does_not_grow_with_length():
    seen = []
    for block in open_audio(STEREO).blocks(block_seconds=2.0):
        seen.append(block)
    bases = {id(b.base if b.base is not None else b) for b in seen}
    assert len(bases) == 1  # every block is a view of the same buffer


@pytest.mark.parametrize("suffix,args", [(".flac", []), (".ogg", ["-c:a", "libvorbis"]),
                                         (".mp3", []), (".m4a", ["-c:a", "aac"])])
def test_compressed_and_lossless_containers_decode_real_speech(tmp_path, suffix, args):
    path = ffmpeg(STEREO, tmp_path / f"conv{suffix}", *args)
    samples, sr = read_audio(path)
    reference, _ = read_audio(STEREO)
    assert sr == 16000 and samples.shape[1] == 2
    assert abs(len(samples) - len(reference)) < 0.1 * sr  # codec padding, never seconds
    # the decoded speech has the original's loudness per channel (within 1 dB)
    for c in range(2):
        level = 10 * np.log10(np.mean(samples[:, c] ** 2))
        expected = 10 * np.log10(np.mean(reference[:, c] ** 2))
        assert level == pytest.approx(expected, abs=1.0)


def test_mp3_of_real_speech_at_44k(tmp_path):
    source = open_audio(MP3)
    assert source.info.sampling_rate == 44100 and source.info.streamed is False
    assert 5.5 < source.info.duration < 6.5
    assert all(b.dtype == np.int16 for b in source.blocks())


def test_other_sample_rates_and_float_wav(tmp_path):
    path = ffmpeg(CLIP_SHORT, tmp_path / "clip8k.wav", "-ar", "8000")
    samples, sr = read_audio(path)
    assert sr == 8000 and samples.shape == (len(samples), 1)
    data, rate = sf.read(str(CLIP_SHORT), dtype="float32")
    sf.write(str(tmp_path / "float.wav"), data, rate, subtype="FLOAT")
    source = open_audio(tmp_path / "float.wav")
    block = next(source.blocks())
    assert block.dtype == np.float32 and np.abs(block).max() <= 1.0


def test_a_pair_of_mono_files_is_one_recording_with_two_channels(tmp_path):
    stereo, sr = sf.read(str(STEREO), dtype="int16")
    sf.write(str(tmp_path / "a.wav"), stereo[:, 0], sr, subtype="PCM_16")
    sf.write(str(tmp_path / "b.wav"), stereo[: sr * 10, 1], sr, subtype="PCM_16")  # shorter
    source = open_audio([tmp_path / "a.wav", tmp_path / "b.wav"])
    assert source.info.channels == 2 and source.info.frames == len(stereo)
    joined = np.concatenate([np.array(b) for b in source.blocks(block_seconds=3.0)])
    np.testing.assert_array_equal(joined[:, 0], stereo[:, 0])
    np.testing.assert_array_equal(joined[: sr * 10, 1], stereo[: sr * 10, 1])
    assert not joined[sr * 10:, 1].any()  # padded with silence


def test_pair_errors_name_the_file(tmp_path):
    stereo, sr = sf.read(str(STEREO), dtype="int16")
    sf.write(str(tmp_path / "a.wav"), stereo[:, 0], sr)
    sf.write(str(tmp_path / "b8k.wav"), stereo[::2, 1], 8000)
    with pytest.raises(AudioError, match=r"b8k\.wav: sample rate 8000 Hz differs"):
        open_audio([tmp_path / "a.wav", tmp_path / "b8k.wav"])
    with pytest.raises(AudioError, match=r"michael_stereo_19-31s\.wav: has 2 channels"):
        open_audio([tmp_path / "a.wav", STEREO])


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_empty_corrupt_and_zero_length_files_raise_one_line(tmp_path):
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "nope.wav")
    assert _one_line(err).endswith("nope.wav: no such file")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "empty.wav")
    assert "empty.wav: file is empty" in _one_line(err)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(200)))
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "corrupt.wav")
    assert "corrupt.wav: cannot decode audio" in _one_line(err)
    (tmp_path / "text.mp3").write_text("this is not audio at all\n" * 20)
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "text.mp3")
    assert "text.mp3: cannot decode audio" in _one_line(err)
    with wave.open(str(tmp_path / "zero.wav"), "wb") as handle:  # a valid header, no samples
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(16000)
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "zero.wav")
    assert "zero.wav: audio has no samples" in _one_line(err)


def test_unsupported_codec_is_an_audio_error(tmp_path):
    # a well-formed RIFF/WAVE whose fmt chunk names a codec nobody implements (tag 0x7777)
    import struct

    data = bytes(4000)
    fmt = struct.pack("<HHIIHH", 0x7777, 1, 16000, 32000, 2, 16)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    (tmp_path / "odd.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    with pytest.raises(AudioError) as err:
        open_audio(tmp_path / "odd.wav")
    assert _one_line(err).startswith(str(tmp_path / "odd.wav") + ": cannot decode audio")


def test_read_audio_scales_int16_to_unit_range():
    samples, _ = read_audio(STEREO)
    raw, _ = sf.read(str(STEREO), dtype="int16")
    np.testing.assert_allclose(samples, raw / INT16_FULL_SCALE, atol=1e-7)
