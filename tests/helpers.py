"""Helpers several test modules share (plain functions and data; the fixtures are in conftest.py).

* CLI tests: :func:`write` a file, :func:`one_line_error` checks a refused command;
* TextGrids a test writes: :func:`praat_tier_names` opens one with the real Praat engine;
* servers the tests start: :func:`server_env`, :func:`wait_health`;
* published data: :data:`FLEISS_1971`.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests


def write(tmp_path: Path, name: str, text: str) -> Path:
    """``text`` written as UTF-8 to ``tmp_path / name``; returns the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(code: int, err: str, *fragments: str) -> None:
    """The command exited 2 with a one-line ``casper-qc: error: ...`` holding every fragment."""
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("casper-qc: error: ")
    for fragment in fragments:
        assert fragment in err, err


def praat_tier_names(path: Path) -> list[str]:
    """The tier names of the TextGrid at ``path`` as the real Praat engine (praat-parselmouth)
    reads them; raises ``parselmouth.PraatError`` when Praat cannot open it."""
    import parselmouth
    from parselmouth.praat import call

    grid = parselmouth.read(str(path))
    return [call(grid, "Get tier name...", tier) for tier in range(1, call(grid, "Get number of tiers") + 1)]


#: Environment variables of the apps: a server a test starts must not see the shell's.
APP_SETTINGS = ("LABEL_STUDIO_", "BASIC_AUTH_", "CASPER_", "LOCAL_FILES_", "MODEL_DIR", "LOG_LEVEL", "GUNICORN_")


def server_env(**extra: str) -> dict[str, str]:
    """The environment without any app or gunicorn settings of the shell, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(APP_SETTINGS)}
    env.update(extra)
    return env


def wait_health(url: str, process: subprocess.Popen, *, timeout: float = 30.0, log: Path | None = None,
                **kwargs) -> requests.Response:
    """The first answer of ``GET <url>/health`` from the server the test started as ``process``.

    Raises:
        AssertionError: the process exited, or nothing answered within ``timeout`` seconds (with
            the end of ``log`` when given).
    """
    def tail() -> str:
        return f": {log.read_text()[-2000:]}" if log is not None else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}{tail()}")
        try:
            return requests.get(f"{url}/health", timeout=5, **kwargs)
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s{tail()}")


#: Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
#: Bulletin 76(5), p. 379: six psychiatrists' diagnoses (1-5) of each of 30 patients.
FLEISS_1971 = [
    (4, 4, 4, 4, 4, 4), (2, 2, 2, 5, 5, 5), (2, 3, 3, 3, 3, 5), (5, 5, 5, 5, 5, 5),
    (2, 2, 2, 4, 4, 4), (1, 1, 3, 3, 3, 3), (3, 3, 3, 3, 5, 5), (1, 1, 3, 3, 3, 4),
    (1, 1, 4, 4, 4, 4), (5, 5, 5, 5, 5, 5), (1, 4, 4, 4, 4, 4), (1, 2, 4, 4, 4, 4),
    (2, 2, 2, 3, 3, 3), (1, 4, 4, 4, 4, 4), (2, 2, 4, 4, 4, 5), (3, 3, 3, 3, 3, 5),
    (1, 1, 1, 4, 5, 5), (1, 1, 1, 1, 1, 2), (2, 2, 4, 4, 4, 4), (1, 3, 3, 5, 5, 5),
    (5, 5, 5, 5, 5, 5), (2, 4, 4, 4, 4, 4), (2, 2, 4, 5, 5, 5), (1, 1, 4, 4, 4, 4),
    (1, 4, 4, 4, 4, 5), (2, 2, 2, 2, 2, 4), (1, 1, 1, 1, 5, 5), (2, 2, 4, 4, 4, 4),
    (1, 3, 3, 3, 3, 3), (5, 5, 5, 5, 5, 5),
]
