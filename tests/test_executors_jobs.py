"""Jobs and listeners the executor tests run (no tests here).

They live in their own module so that worker processes can import them by name: a process pool
inherits them, and the Ray test cluster's nodes have this directory on their ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf

from casper_qc.errors import AudioError

from turns_helpers import MP3, STEREO, read, two_party, with_crosstalk

SR = 16000


def make_corpus(folder: Path) -> Path:
    """Real and generated recordings in ``folder``: the stereo cut with crosstalk (``cut.wav``),
    an MP3 (``talk.mp3``), a two-party pair of mono files (``sess_left.wav``,
    ``sess_right.wav``), their mono mix (``mix.wav``) and two seconds of silence (``quiet.wav``)."""
    folder.mkdir(parents=True, exist_ok=True)
    audio, sr = read(STEREO)
    sf.write(str(folder / "cut.wav"), with_crosstalk(audio, sr), sr, subtype="PCM_16")
    shutil.copy(MP3, folder / "talk.mp3")
    mix, _ = two_party()
    sf.write(str(folder / "sess_left.wav"), mix[:, 0], SR, subtype="PCM_16")
    sf.write(str(folder / "sess_right.wav"), mix[:, 1], SR, subtype="PCM_16")
    sf.write(str(folder / "mix.wav"), mix.mean(axis=1), SR, subtype="PCM_16")
    sf.write(str(folder / "quiet.wav"), np.zeros((SR * 2, 2), dtype=np.int16), SR)
    return folder


def same_outputs(a: Path, b: Path) -> list[str]:
    """Names of the output files of two prelabel runs that differ (the same names expected;
    ``.stats.json`` compared without ``seconds``, the run's own timing)."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    differ = []
    for name in names:
        x, y = (a / name).read_bytes(), (b / name).read_bytes()
        if name.endswith(".stats.json"):
            x, y = ({k: v for k, v in json.loads(t).items() if k != "seconds"} for t in (x, y))
        if x != y:
            differ.append(name)
    return differ


def node_ip(_: Any) -> str:
    """The address of the Ray node that runs it (after a pause, so that tasks spread)."""
    import ray.util

    time.sleep(0.2)
    return ray.util.get_node_ip_address()


def square(x: int) -> int:
    """A pure job."""
    return x * x


def fussy(x: int) -> int:
    """Refuses odd inputs (an input error) and 4 (a bug); squares the rest."""
    if x == 4:
        raise KeyError("four")
    if x % 2:
        raise AudioError("odd", where=f"item {x}")
    return x * x


@dataclass(frozen=True)
class StallOnce:
    """``inner(item)``, but the first run on the item named ``stem`` writes its process id to
    ``<marker_dir>/stalled.pid`` and sleeps ``seconds`` (for a test to kill that process)."""

    inner: Callable[[Any], Any]
    marker_dir: str
    stem: str
    seconds: float = 120.0

    def __call__(self, item: Any) -> Any:
        if getattr(item, "stem", item) == self.stem:
            try:
                fd = os.open(Path(self.marker_dir) / "stalled.pid", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass  # a later attempt: run normally
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                time.sleep(self.seconds)
        return self.inner(item)


@dataclass(frozen=True)
class DieOn:
    """``inner(item)``, but the process dies (exit 70) on the item named ``stem``, every time."""

    inner: Callable[[Any], Any]
    stem: Any

    def __call__(self, item: Any) -> Any:
        if getattr(item, "stem", item) == self.stem:
            os._exit(70)
        return self.inner(item)


@dataclass(frozen=True)
class Slow:
    """``inner(item)`` after ``seconds`` of sleep (to keep items in flight)."""

    inner: Callable[[Any], Any]
    seconds: float = 0.05

    def __call__(self, item: Any) -> Any:
        time.sleep(self.seconds)
        return self.inner(item)


@dataclass
class Recorder:
    """A listener that keeps every event and the most items it saw in flight at once."""

    started_items: list = field(default_factory=list)
    outcomes: dict = field(default_factory=dict)
    most_in_flight: int = 0

    def started(self, item: Any) -> None:
        self.started_items.append(item)
        self.most_in_flight = max(self.most_in_flight, len(self.started_items) - len(self.outcomes))

    def finished(self, item: Any, outcome: Any) -> None:
        assert item not in self.outcomes, f"{item} reported twice"
        self.outcomes[item] = outcome


class Counted:
    """An iterable that counts how many items were taken from it."""

    def __init__(self, items: list) -> None:
        self.items, self.taken = items, 0

    def __iter__(self):
        for item in self.items:
            self.taken += 1
            yield item


def wait_for_pid(marker: Path, timeout: float = 60.0) -> int:
    """The process id written to ``marker`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.05)
    raise AssertionError(f"no process wrote {marker} within {timeout} s")
