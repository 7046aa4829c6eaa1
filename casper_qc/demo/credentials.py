"""The demo's credentials: generated once per demo directory, kept in ``credentials.env`` (mode
0600, ``KEY=value`` lines a shell can ``source``; the names are the variables the servers read).

Nothing else stores them: the servers get them through their environment, never on a command
line, and the demo prints the login and the QC token only on the run that generated them.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["USERNAME", "BACKEND_USER", "load_or_create"]

#: The Label Studio admin's e-mail address (Label Studio logs in by e-mail).
USERNAME = "demo@example.com"
#: The user name Label Studio sends to the ML backend (basic auth).
BACKEND_USER = "label-studio"

_KEYS = ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY", "BASIC_AUTH_USER",
         "BASIC_AUTH_PASS", "CASPER_WEBHOOK_SECRET", "CASPER_QC_TOKEN", "CASPER_QC_WEBHOOK_SECRET",
         "DEMO_ANNOTATOR_PASSWORD")


def _generate() -> dict[str, str]:
    return {
        "LABEL_STUDIO_USERNAME": USERNAME,
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(12),
        "LABEL_STUDIO_API_KEY": secrets.token_hex(20),  # Label Studio's legacy token format
        "BASIC_AUTH_USER": BACKEND_USER,
        "BASIC_AUTH_PASS": secrets.token_urlsafe(24),
        "CASPER_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "CASPER_QC_TOKEN": secrets.token_urlsafe(32),
        "CASPER_QC_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "DEMO_ANNOTATOR_PASSWORD": secrets.token_urlsafe(12),
    }


def _read(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def load_or_create(path: Path) -> tuple[dict[str, str], bool]:
    """The credentials in ``path`` and whether they were generated just now.

    Raises:
        ValueError: the file exists but lacks a value (one line naming the file and the key).
    """
    if path.exists():
        values = _read(path)
        missing = [key for key in _KEYS if not values.get(key)]
        if missing:
            raise ValueError(f"{path} has no {missing[0]}; remove the demo directory to start afresh")
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return values, False
    values = _generate()
    lines = [f"# casper-qc demo credentials, generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Private:",
             "# only this user may read this file. `set -a; . ./credentials.env; set +a` exports them."]
    lines += [f"{key}={values[key]}" for key in _KEYS]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with mode 0600 from the start (never readable by others, even for a moment).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return values, True
