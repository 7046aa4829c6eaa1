"""Fixtures shared by the whole suite (plain helpers are in ``tests/helpers.py``).

Real development data lives in ``../shared/data/dev`` beside the clone (``CASPER_QC_SHARED``
overrides the location); the few files a test needs are copied into ``tests/data`` with their
attribution (tests/data/SOURCES.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"
#: Debian's chromium, driven headless by Playwright (``browser`` tests).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def shared_dir() -> Path:
    return Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture(scope="session")
def shared_dev() -> Path:
    """``../shared/data/dev``; the suite requires it (CI clones main with shared/ beside it)."""
    path = shared_dir() / "data" / "dev"
    if not path.is_dir():
        raise RuntimeError(f"development data not found at {path}; set CASPER_QC_SHARED")
    return path


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """Where heavy installs (Label Studio, Lhotse) are kept between runs."""
    path = Path(os.environ.get("CASPER_QC_CACHE_DIR", Path.home() / ".cache" / "casper-qc"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def labelstudio_server(tmp_path_factory):
    """One real Label Studio 1.23.2 for the whole session (``casper_qc.labelstudio_server``:
    loopback, SQLite in a temporary directory, local files served from the repository, the
    admin's legacy token in ``server.token``). Tests create their own projects in it. Started
    on first use only; stopped (its process group alone) at the end of the session."""
    from casper_qc.labelstudio_server import LabelStudioServer

    with LabelStudioServer(tmp_path_factory.mktemp("label-studio-session"), document_root=REPO) as server:
        yield server


@pytest.fixture
def run(request, monkeypatch, capsys):
    """Run the real ``casper_qc.cli.main``; returns (exit code, stdout, stderr).

    Only the commands the test module names in its ``MINE`` set are built, so an unfinished
    module of another command cannot fail its tests; that they are registered is checked here."""
    from casper_qc import cli

    mine = request.module.MINE
    assert mine <= set(cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", {k: v for k, v in cli.COMMANDS.items() if k in mine})

    def call(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Playwright) for the module's tests."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
