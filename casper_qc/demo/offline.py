"""``python -m casper_qc.demo --offline``: ``casper-qc export`` on the bundled sample, no servers.

The sample (``samples/`` of a casper-qc checkout) is a real two-party stereo recording, one
speaker per channel, with its Label Studio JSON export recorded from Label Studio 1.23.2 by
``tests/record_labelstudio.py`` (two annotators' annotations and one skipped one). This writes one
TextGrid per annotation, Lhotse ``supervisions.jsonl`` and ``recordings.jsonl``, and a NeMo
manifest into ``--out`` (default ``./demo-out``), by running the ``casper-qc`` command line
exactly as a user would, and prints what it wrote.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .paths import REPO, SAMPLES

SAMPLE_EXPORT = SAMPLES / "michaelandsickmichael.labelstudio.json"


def steps(out: Path) -> list[list[str]]:
    """The ``casper-qc`` command lines the offline demo runs, in order."""
    common = ["--from", str(SAMPLE_EXPORT), "--config", "conversation", "--audio-root", str(REPO),
              "--out", str(out)]
    return [
        ["export", "--to", "textgrid", *common],
        ["export", "--to", "jsonl", *common],
        ["export", "--to", "nemo", *common],
    ]


def run(out: Path, say) -> int:
    """Run the export steps; 0 when all succeeded, else the failing step's exit code."""
    if not SAMPLE_EXPORT.is_file():
        say(f"the sample is missing ({SAMPLE_EXPORT}); run the demo from a casper-qc checkout", error=True)
        return 2
    from ..cli import main as casper_qc

    for step in steps(out):
        print("$ casper-qc " + " ".join(shlex.quote(part) for part in step), flush=True)
        code = casper_qc(step)
        if code != 0:
            return code
    say(f"done; the outputs are in {out}/")
    return 0
