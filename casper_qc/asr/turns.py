"""Run a recognizer over the turns of a conversation, each on its own channel.

Entry point: ``transcribe_turns(audio, turns, recognizer, *, pad=0.0, tag=False)``.

``audio`` is one of

* a path (or a sequence of mono paths, one per channel) that :func:`casper_qc.audio.open_audio`
  opens: WAV/FLAC and the other formats libsndfile streams are read turn by turn from disk, so
  memory does not grow with the recording; other formats (MP3…) are decoded whole first;
* a ``(samples, sample_rate)`` pair: ``samples`` a ``(frames,)`` or ``(frames, channels)`` array
  (``float32`` in [-1, 1] or ``int16``), ``sample_rate`` in Hz.

Each turn is cut from its own channel (``turn.channel``; a turn without a channel uses the only
channel of a mono recording, or the mean of all channels), widened by ``pad`` seconds on each
side within the recording, and given to ``recognizer.transcribe``. The words it returns are
shifted to recording time; those whose midpoint lies outside the turn (heard in the padding)
are dropped, the others fitted into the turn by :func:`casper_qc.drafts.fill_turn`
(clipped to the turn, in order, at least 1 ms; times aligned, so ``estimated`` only where a word
had to move). A turn gets the words as ``words``, their text as ``text`` and the filled pauses
and partial words they give as ``disfluencies`` (``tag=True``: the rule-based tagger's); a turn
in which nothing was recognized is returned unchanged.

Raises :class:`~casper_qc.errors.AudioError` (one line naming the file or turn) for audio that
cannot be read or a turn on a channel the audio does not have; the recognizer's
:class:`~casper_qc.errors.InputError` when its engine cannot load.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from ..errors import AudioError, InputError
from ..model import Turn

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from . import Recognizer

__all__ = ["transcribe_turns"]


class _Samples:
    """Per-turn access to a recording's samples (see the module docstring)."""

    def __init__(self, audio) -> None:
        import numpy as np

        self.files: list[str] = []  # files read turn by turn (streamed formats), else []
        pair = isinstance(audio, tuple) and len(audio) == 2
        if pair and not isinstance(audio[0], (str, os.PathLike)):
            samples, rate = audio
            array = np.asarray(samples)
            if array.ndim == 1:
                array = array[:, None]
            if array.ndim != 2 or isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
                raise AudioError("audio must be (samples, sample_rate) with samples of shape "
                                 "(frames,) or (frames, channels) and a positive integer rate")
            if array.dtype == np.int16:
                array = array.astype(np.float32) / np.float32(32768.0)
            self.array = array.astype(np.float32, copy=False)
            self.rate, self.channels, self.name = rate, array.shape[1], "audio"
            self.frames = array.shape[0]
            return
        from ..audio import open_audio, read_audio

        paths = [audio] if isinstance(audio, (str, os.PathLike)) else list(audio)
        info = open_audio(paths).info
        self.rate, self.channels, self.frames, self.name = (info.sampling_rate, info.channels,
                                                            info.frames, info.name)
        self.array = None
        if info.streamed:
            self.files = [os.fspath(p) for p in paths]
        else:
            self.array, _ = read_audio(paths)

    def cut(self, channel: int | None, start: float, end: float) -> "np.ndarray":
        """Mono ``float32`` samples of ``channel`` (None: the mix) from ``start`` to ``end`` s."""
        import numpy as np

        first = max(0, min(self.frames, int(round(start * self.rate))))
        last = max(first, min(self.frames, int(round(end * self.rate))))
        if self.array is not None:
            block = self.array[first:last]
        elif len(self.files) == 1:
            import soundfile as sf

            block, _ = sf.read(self.files[0], start=first, stop=last, dtype="float32",
                               always_2d=True)
        else:
            import soundfile as sf

            names = self.files if channel is None else [self.files[channel]]
            columns = []
            for name in names:
                data, _ = sf.read(name, start=first, stop=last, dtype="float32", always_2d=True)
                columns.append(np.pad(data[:, 0], (0, (last - first) - len(data))))
            block = np.stack(columns, axis=1)
            return block[:, 0] if channel is not None else block.mean(axis=1)
        if channel is None:
            return block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
        return block[:, channel]


def _channel(turn: Turn, channels: int, name: str) -> int | None:
    if turn.channel is None:
        return 0 if channels == 1 else None
    if turn.channel >= channels:
        label = turn.id if turn.id is not None else f"of {turn.speaker} at {turn.start:.3f} s"
        raise AudioError(f"turn {label} is on channel {turn.channel} but the audio has "
                         f"{channels} channel(s)", where=name)
    return turn.channel


def transcribe_turns(audio, turns: Iterable[Turn], recognizer: "Recognizer", *,
                     pad: float = 0.0, tag: bool = False, lexicon=None) -> tuple[Turn, ...]:
    """``turns`` (same order) with the words ``recognizer`` hears in each (module docstring).

    ``pad`` is in seconds (non-negative); ``tag`` runs the disfluency tagger with ``lexicon``.
    """
    from ..drafts import fill_turn

    if not pad >= 0:
        raise InputError(f"pad must be a non-negative number of seconds, not {pad!r}")
    turns = tuple(turns)
    source = _Samples(audio)
    channels = [_channel(turn, source.channels, source.name) for turn in turns]
    out: list[Turn] = []
    for turn, channel in zip(turns, channels):
        start = max(0.0, turn.start - pad)
        samples = source.cut(channel, start, turn.end + pad)
        words = recognizer.transcribe(samples, source.rate)
        shifted = [replace(w, start=w.start + start, end=w.end + start) for w in words if w.timed]
        # words heard in the padding belong to speech around the turn, not to it
        shifted = [w for w in shifted if turn.start <= (w.start + w.end) / 2 < turn.end]
        filled, _overflow = fill_turn(turn, shifted, tag=tag, lexicon=lexicon)
        out.append(filled)
    return tuple(out)
