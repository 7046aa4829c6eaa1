"""Reading conversation audio: one multi-channel file, or one mono file per participant.

Contracts:

* :func:`open_audio` accepts one path (WAV, FLAC, MP3, OGG, M4A or anything else ffmpeg decodes;
  any sample rate; mono or multi-channel) or a sequence of mono paths, one per participant, that
  are read as the channels of one recording, in the order given.
* WAV/FLAC/AIFF/W64/RF64 are *streamed*: :meth:`AudioSource.blocks` reads them from disk in
  blocks, so memory stays flat however long the recording is. Other formats are decoded by
  ffmpeg through pydub into memory first (compressed files are small and rarely hours long).
* Blocks are ``numpy`` arrays of shape ``(frames, channels)``: ``int16`` for 16-bit PCM sources
  (full scale 32768, see :data:`INT16_FULL_SCALE`) — reading them without a float conversion is
  what keeps the prelabel pass ahead of 3000x real time — and ``float32`` in ``[-1, 1]`` otherwise.
* Every problem a user can cause (missing, empty or corrupt file, unsupported codec, no samples,
  mismatched pair) raises :class:`~casper_qc.errors.AudioError` whose message is one line
  naming the file.

Nothing is imported from the audio stack until a file is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from .errors import AudioError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["AudioInfo", "AudioSource", "open_audio", "read_audio", "INT16_FULL_SCALE",
           "STREAMED_FORMATS", "DEFAULT_BLOCK_SECONDS"]

#: Full scale of int16 blocks: divide by it to get [-1, 1].
INT16_FULL_SCALE = 32768.0
#: Container formats libsndfile reads block by block (everything else goes through ffmpeg).
STREAMED_FORMATS = frozenset({"WAV", "WAVEX", "FLAC", "AIFF", "W64", "RF64"})
#: Default block length of :meth:`AudioSource.blocks` (seconds); a few MB per block.
DEFAULT_BLOCK_SECONDS = 30.0


@dataclass(frozen=True)
class AudioInfo:
    """What a recording is: ``frames`` per channel at ``sampling_rate`` Hz, ``channels`` wide.

    ``paths`` holds one path, or one per channel for a pair of mono files; ``format`` is the
    container (``"WAV"``, ``"FLAC"``, ``"MP3"``…), ``streamed`` whether blocks come from disk.
    """

    paths: tuple[str, ...]
    sampling_rate: int
    channels: int
    frames: int
    format: str
    streamed: bool

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sampling_rate

    @property
    def name(self) -> str:
        """The path to show in messages (the pair joined with '+')."""
        return "+".join(self.paths)


def _one_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else str(text).strip() or "unknown error"


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise AudioError("no such file", where=path)
    if os.path.isdir(path):
        raise AudioError("is a directory, not an audio file", where=path)
    if os.path.getsize(path) == 0:
        raise AudioError("file is empty (0 bytes)", where=path)


class _Reader:
    """One file: soundfile for streamable containers, pydub/ffmpeg for the rest."""

    def __init__(self, path: str) -> None:
        _check_file(path)
        self.path = path
        self._decoded: "np.ndarray | None" = None
        import soundfile as sf

        try:
            info = sf.info(path)
        except Exception:  # not a container libsndfile knows: let ffmpeg try
            info = None
        if info is not None and info.format in STREAMED_FORMATS:
            self.format = info.format
            self.streamed = True
            self.sampling_rate = int(info.samplerate)
            self.channels = int(info.channels)
            self.frames = int(info.frames)
            # 16-bit PCM is read as int16 (no float conversion pass); the rest as float32.
            self.dtype = "int16" if info.subtype == "PCM_16" else "float32"
        else:
            self._decode()

    def _decode(self) -> None:
        import numpy as np

        try:
            import warnings

            with warnings.catch_warnings():  # pydub warns about audioop on 3.11+, not our concern
                warnings.simplefilter("ignore")
                from pydub import AudioSegment
                segment = AudioSegment.from_file(self.path)
        except FileNotFoundError as err:  # ffmpeg/ffprobe missing
            raise AudioError(f"cannot decode: ffmpeg is not installed ({_one_line(err)})",
                             where=self.path) from None
        except Exception as err:  # CouldntDecodeError, IndexError on no audio stream, ...
            raise AudioError(f"cannot decode audio (corrupt file or unsupported codec): "
                             f"{_one_line(err)}", where=self.path) from None
        if segment.sample_width != 2:
            segment = segment.set_sample_width(2)
        data = np.frombuffer(segment.raw_data, dtype="<i2")
        channels = int(segment.channels)
        frames = len(data) // channels
        self._decoded = data[: frames * channels].reshape(frames, channels)
        self.format = Path(self.path).suffix.lstrip(".").upper() or "ffmpeg"
        self.streamed = False
        self.sampling_rate = int(segment.frame_rate)
        self.channels = channels
        self.frames = frames
        self.dtype = "int16"

    def blocks(self, block_frames: int) -> Iterator["np.ndarray"]:
        if self._decoded is not None:
            for start in range(0, self.frames, block_frames):
                yield self._decoded[start:start + block_frames]
            return
        import numpy as np
        import soundfile as sf

        try:
            with sf.SoundFile(self.path) as handle:
                # one reusable buffer: memory does not grow with the file
                buffer = np.empty((block_frames, self.channels), dtype=self.dtype)
                while True:
                    block = handle.read(out=buffer)
                    if len(block) == 0:
                        return
                    yield block
                    if len(block) < block_frames:
                        return
        except AudioError:
            raise
        except Exception as err:
            raise AudioError(f"cannot read audio: {_one_line(err)}", where=self.path) from None


class AudioSource:
    """A recording opened for reading (see :func:`open_audio`)."""

    def __init__(self, readers: Sequence[_Reader]) -> None:
        self._readers = list(readers)
        first = self._readers[0]
        if len(self._readers) > 1:
            for reader in self._readers:
                if reader.channels != 1:
                    raise AudioError(f"has {reader.channels} channels; a pair of files must be "
                                     "one mono file per participant", where=reader.path)
                if reader.sampling_rate != first.sampling_rate:
                    raise AudioError(f"sample rate {reader.sampling_rate} Hz differs from "
                                     f"{first.sampling_rate} Hz of {first.path}", where=reader.path)
        frames = max(r.frames for r in self._readers)
        channels = sum(r.channels for r in self._readers)
        self.info = AudioInfo(
            paths=tuple(r.path for r in self._readers), sampling_rate=first.sampling_rate,
            channels=channels, frames=frames, format=first.format,
            streamed=all(r.streamed for r in self._readers))
        if frames == 0:
            raise AudioError("audio has no samples (zero length)", where=self.info.name)

    def blocks(self, block_seconds: float = DEFAULT_BLOCK_SECONDS) -> Iterator["np.ndarray"]:
        """Blocks of shape ``(frames, channels)`` covering the whole recording, in order.

        A yielded block may be a view of a reused buffer: use it before asking for the next.
        For a pair of mono files the shorter one is padded with silence (digital zeros).

        Raises:
            AudioError: if the file turns out unreadable part-way.
        """
        block_frames = max(1, int(round(block_seconds * self.info.sampling_rate)))
        if len(self._readers) == 1:
            yield from self._readers[0].blocks(block_frames)
            return
        import numpy as np

        dtype = "int16" if all(r.dtype == "int16" for r in self._readers) else "float32"
        iterators = [r.blocks(block_frames) for r in self._readers]
        out = np.empty((block_frames, len(iterators)), dtype=dtype)
        done = 0
        while done < self.info.frames:
            count = min(block_frames, self.info.frames - done)
            view = out[:count]
            for channel, iterator in enumerate(iterators):
                block = next(iterator, None)
                column = view[:, channel]
                if block is None:
                    column[:] = 0
                    continue
                n = min(len(block), count)
                if block.dtype != out.dtype:  # mix of int16 and float files: go float
                    column[:n] = block[:n, 0] / (INT16_FULL_SCALE if block.dtype.kind == "i" else 1.0)
                else:
                    column[:n] = block[:n, 0]
                column[n:] = 0
            yield view
            done += count


def open_audio(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> AudioSource:
    """Open a recording: one file, or one mono file per participant (read as channels 0, 1…).

    Raises:
        AudioError: missing/empty/corrupt file, unsupported codec, zero length, or a pair whose
            files are not mono or differ in sample rate.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise AudioError("no audio file given")
    return AudioSource([_Reader(p) for p in paths])


def read_audio(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
               ) -> tuple["np.ndarray", int]:
    """The whole recording as ``float32`` samples ``(frames, channels)`` in [-1, 1] and its rate.

    For short files (tests, the ML backend); long files should use :func:`open_audio` blocks.
    """
    import numpy as np

    source = open_audio(paths)
    parts = []
    for block in source.blocks():
        if block.dtype.kind == "i":
            parts.append(block.astype(np.float32) / np.float32(INT16_FULL_SCALE))
        else:
            parts.append(np.array(block, dtype=np.float32))
    return np.concatenate(parts, axis=0), source.info.sampling_rate
