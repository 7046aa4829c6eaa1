"""Real Lhotse, in a venv of its own, to load what casper-qc writes.

Lhotse needs torch, which the project's venv must not depend on, so the tests keep a separate
venv under the cache directory (``~/.cache/casper-qc/lhotse-<version>``), build it when it is
missing (about 35 s and 1 GB with the local torch wheel) and run small scripts in it through
``subprocess``. A lock file keeps parallel test runs from building it twice; a marker file,
written last, tells a complete venv from one whose build was interrupted.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

LHOTSE_VERSION = "1.33.0"
TORCH_VERSION = "2.13.0"
# urllib3: lhotse 1.33 imports it without declaring it.
REQUIREMENTS = (f"torch=={TORCH_VERSION}", f"lhotse=={LHOTSE_VERSION}", "urllib3")
_MARKER = ".casper-qc-complete"


def ensure_lhotse(cache_dir: Path) -> Path:
    """The python of a venv with Lhotse, built under ``cache_dir`` if missing."""
    target = cache_dir / f"lhotse-{LHOTSE_VERSION}"
    python = target / "bin" / "python"
    if (target / _MARKER).exists():
        return python
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f"lhotse-{LHOTSE_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / _MARKER).exists():  # another run finished it while we waited
            return python
        if target.exists():
            shutil.rmtree(target)
        base = shutil.which("python3.11") or sys.executable
        _run([base, "-m", "venv", str(target)], timeout=300)
        _run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], timeout=1800)
        (target / _MARKER).write_text(" ".join(REQUIREMENTS) + "\n")
    return python


def _run(command: list[str], timeout: float) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")


def run_lhotse(python: Path, script: str, *args: str, timeout: float = 600) -> Any:
    """Run ``script`` in the Lhotse venv; return the JSON it prints on its last stdout line."""
    done = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"the Lhotse script failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


#: Loads a supervisions and a recordings file with Lhotse, validates them together, re-serializes
#: every record (to compare with the lines written), and loads the audio of the supervisions
#: whose ids are listed (comma-separated) in the third argument: on their own channel, through a
#: cut trimmed to the supervision, and on every other channel of the recording.
CHECK_MANIFESTS = r'''
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import lhotse
from lhotse import CutSet, RecordingSet, SupervisionSet, load_manifest
from lhotse.qa import validate_recordings_and_supervisions

sup_path, rec_path = sys.argv[1], sys.argv[2]
audio_ids = [i for i in sys.argv[3].split(",") if i] if len(sys.argv) > 3 else []
sups = SupervisionSet.from_jsonl(sup_path)
loaded = load_manifest(sup_path)
recs = RecordingSet.from_jsonl(rec_path)
validate_recordings_and_supervisions(recs, sups)
cuts = CutSet.from_manifests(recordings=recs, supervisions=sups)
audio = []
if audio_ids:
    trimmed = {c.supervisions[0].id: c for c in cuts.trim_to_supervisions(keep_overlapping=False)}
    for sup_id in audio_ids:
        cut, sup = trimmed[sup_id], sups[sup_id]
        own = cut.load_audio()
        rec = recs[sup.recording_id]
        others = {ch: float(np.sqrt(np.mean(rec.load_audio(channels=ch, offset=sup.start,
                                                             duration=sup.duration) ** 2)))
                  for ch in rec.channel_ids if ch != cut.channel}
        audio.append({"id": sup_id, "channel": cut.channel, "shape": list(own.shape),
                      "expected": round(cut.duration * cut.sampling_rate),
                      "rms": float(np.sqrt(np.mean(own ** 2))), "other_rms": others})
print(json.dumps({
    "lhotse": lhotse.__version__,
    "manifest_type": type(loaded).__name__,
    "supervisions": [
        {"id": s.id, "recording_id": s.recording_id, "start": s.start, "duration": s.duration,
         "end": s.end, "channel": s.channel, "text": s.text, "speaker": s.speaker,
         "custom": s.custom,
         "alignment": {k: [[a.symbol, a.start, a.duration, a.score] for a in v]
                       for k, v in (s.alignment or {}).items()},
         "serialized": json.dumps(s.to_dict(), ensure_ascii=False)} for s in sups],
    "recordings": [
        {"id": r.id, "sampling_rate": r.sampling_rate, "num_samples": r.num_samples,
         "duration": r.duration, "channel_ids": r.channel_ids,
         "sources": [[src.type, src.channels, src.source] for src in r.sources],
         "serialized": json.dumps(r.to_dict(), ensure_ascii=False)} for r in recs],
    "cuts": len(cuts),
    "audio": audio,
}, ensure_ascii=False))
'''
