"""Fixtures shared by the whole suite.

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
