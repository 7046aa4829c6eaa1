"""``make demo``: run ``casper-qc export`` end to end on the bundled sample conversation.

    python -m casper_qc.demo [--out DIR]     # default ./demo-out
    python -m casper_qc.demo --down          # stop what the demo started

The sample (``samples/`` of a casper-qc checkout) is a real two-party stereo recording, one
speaker per channel, with its Label Studio JSON export recorded from Label Studio 1.23.2 by
``tests/record_labelstudio.py`` (two annotators' annotations and one skipped one). The demo
writes one TextGrid per annotation, Lhotse ``supervisions.jsonl`` and ``recordings.jsonl``, and a
NeMo manifest, by running the ``casper-qc`` command line exactly as a user would, and prints
what it wrote. It starts no servers, so ``--down`` has nothing to stop (it says so).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SAMPLE_EXPORT = SAMPLES / "michaelandsickmichael.labelstudio.json"


def steps(out: Path) -> list[list[str]]:
    """The ``casper-qc`` command lines the demo runs, in order."""
    common = [
        "--from",
        str(SAMPLE_EXPORT),
        "--config",
        "conversation",
        "--audio-root",
        str(REPO),
        "--out",
        str(out),
    ]
    return [
        ["export", "--to", "textgrid", *common],
        ["export", "--to", "jsonl", *common],
        ["export", "--to", "nemo", *common],
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m casper_qc.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="demo-out", help="output directory (default: ./demo-out)")
    parser.add_argument("--down", action="store_true", help="stop what the demo started")
    args = parser.parse_args(argv)
    if args.down:
        print("casper-qc demo: nothing to stop (the demo starts no servers)")
        return 0
    if not SAMPLE_EXPORT.is_file():
        print(
            f"casper-qc demo: the sample is missing ({SAMPLE_EXPORT}); run the demo from a "
            "casper-qc checkout",
            file=sys.stderr,
        )
        return 2
    from .cli import main as casper_qc

    out = Path(args.out)
    for step in steps(out):
        print("$ casper-qc " + " ".join(_quote(part) for part in step), flush=True)
        code = casper_qc(step)
        if code != 0:
            return code
    print(f"casper-qc demo: done; the outputs are in {out}/")
    return 0


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


if __name__ == "__main__":
    sys.exit(main())
