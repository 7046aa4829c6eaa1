"""``make demo``: ``python -m casper_qc.demo`` runs the export end to end on the bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import parselmouth
import soundfile
from parselmouth.praat import call

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_writes_textgrids_and_jsonl_for_the_sample(tmp_path):
    # Run as `make demo` does, from another directory, so nothing depends on the working directory.
    done = subprocess.run(
        [sys.executable, "-m", "casper_qc.demo", "--out", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "michaelandsickmichael__ann.lee@example.com.TextGrid",
        "michaelandsickmichael__ben.ortiz@example.com.TextGrid",
        "nemo_manifest.json",
        "recordings.jsonl",
        "supervisions.jsonl",
    ]
    assert all(f"wrote out/{name}" in done.stdout for name in written)

    sample = json.loads((REPO / "samples" / "michaelandsickmichael.labelstudio.json").read_text())
    regions = {
        a["completed_by"]["email"]: len({r["id"] for r in a["result"]})
        for a in sample[0]["annotations"]
        if not a["was_cancelled"]
    }
    for email, count in regions.items():
        grid = parselmouth.read(str(out / f"michaelandsickmichael__{email}.TextGrid"))
        labelled = sum(
            1
            for tier in range(1, call(grid, "Get number of tiers") + 1)
            for i in range(1, call(grid, "Get number of intervals", tier) + 1)
            if call(grid, "Get label of interval", tier, i)
        )
        assert labelled == count
        assert call(grid, "Get end time") == round(
            soundfile.info(REPO / "samples" / "michaelandsickmichael.wav").duration, 3
        )

    supervisions = (out / "supervisions.jsonl").read_text().splitlines()
    assert len(supervisions) == sum(regions.values())
    (recording,) = map(json.loads, (out / "recordings.jsonl").read_text().splitlines())
    assert recording["id"] == "michaelandsickmichael" and recording["channel_ids"] == [0, 1]
    assert len((out / "nemo_manifest.json").read_text().splitlines()) == sum(regions.values())


def test_demo_down_has_nothing_to_stop():
    done = subprocess.run(
        [sys.executable, "-m", "casper_qc.demo", "--down"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "nothing to stop" in done.stdout
