"""``python -m casper_qc.demo``: the offline export of the bundled sample, and the parts of the
full demo that need no Label Studio (stopping only its own processes, refusing a taken port).
The full stack is tests/test_demo_stack.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import parselmouth
import pytest
import soundfile
from parselmouth.praat import call

REPO = Path(__file__).resolve().parent.parent


def test_the_offline_demo_writes_textgrids_and_jsonl_for_the_sample(tmp_path):
    # Run from another directory, so nothing depends on the working directory.
    done = subprocess.run(
        [sys.executable, "-m", "casper_qc.demo", "--offline", "--out", "out"],
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


def _demo(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casper_qc.demo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_make_down_without_the_virtual_environment_has_nothing_to_stop(tmp_path):
    # `make down` must work when the venv is gone: it falls back to the system's Python (the demo's
    # --down path needs the standard library only).
    done = subprocess.run(["make", "-s", "down", f"VENV={tmp_path / 'no-venv'}", f"DEMO_DIR={tmp_path / 'demo'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"casper-qc demo: nothing to stop ({tmp_path / 'demo'} does not exist)"


def test_down_stops_its_own_processes_and_nothing_else(tmp_path):
    from casper_qc.demo import processes
    from casper_qc.demo.paths import Layout

    from casper_qc.labelstudio_server import free_port

    layout = Layout(tmp_path / "demo")
    port = free_port()  # nothing listens there: stopping waits for the port to be free
    ours = subprocess.Popen(["sleep", "300"], start_new_session=True)
    other = subprocess.Popen(["sleep", "301"], start_new_session=True)
    ended = subprocess.Popen(["true"], start_new_session=True)
    try:
        processes.write_record(layout.pidfile("qc"), "qc", ours.pid, port, command=["sleep", "300"])
        # A pid file whose process is now another program (as after a reboot and pid reuse).
        record = processes.write_record(layout.pidfile("ml-backend"), "ml-backend", other.pid, 9090,
                                        command=["sleep", "301"])
        layout.pidfile("ml-backend").write_text(json.dumps(
            {**record.__dict__, "cmdline": [sys.executable, "-m", "casper_qc", "ml-backend"]}))
        ended_pid = ended.pid
        ended.wait()
        layout.pidfile("label-studio").write_text(json.dumps({"service": "label-studio", "pid": ended_pid,
                                                              "start_time": 1, "cmdline": ["label-studio"],
                                                              "port": 8080}))

        done = _demo("--down", "--dir", str(layout.root))
        assert done.returncode == 0, done.stderr
        assert ours.wait(timeout=30) == -15  # SIGTERM, by its process group
        assert other.poll() is None  # not the demo's: left alone
        assert f"stopped the QC service (pid {ours.pid}, port {port})" in done.stdout
        assert f"the ML backend (pid {other.pid}) had already ended" in done.stdout
        assert f"Label Studio (pid {ended_pid}) had already ended" in done.stdout
        assert not list(layout.run.iterdir())
        assert "nothing to stop" in _demo("--down", "--dir", str(layout.root)).stdout
    finally:
        for process in (ours, other):
            if process.poll() is None:
                process.kill()  # the processes this test started, by their ids
                process.wait()


def test_a_taken_port_is_refused_in_one_line_before_anything_starts(tmp_path):
    import socket

    from casper_qc.labelstudio_server import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _demo("--dir", str(tmp_path / "demo"), "--ls-port", str(port), "--backend-port", str(free_port()),
                     "--qc-port", str(free_port()))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"casper-qc demo: error: port {port} on 127.0.0.1 is taken by another program; give Label Studio another "
        "one with --ls-port (make demo DEMO_LS_PORT=…)"]
    assert not (tmp_path / "demo" / "run").exists()  # nothing was started
    same = _demo("--dir", str(tmp_path / "demo"), "--ls-port", "18123", "--backend-port", "18123")
    assert same.returncode == 1 and "three different ports" in same.stderr and "Traceback" not in same.stderr


def test_credentials_are_generated_once_and_private(tmp_path):
    import stat

    from casper_qc.demo.credentials import load_or_create

    path = tmp_path / "credentials.env"
    values, generated = load_or_create(path)
    assert generated and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert values["LABEL_STUDIO_USERNAME"] == "demo@example.com"
    secrets = [v for k, v in values.items() if k not in ("LABEL_STUDIO_USERNAME", "BASIC_AUTH_USER")]
    assert len(set(secrets)) == len(secrets) and min(map(len, secrets)) >= 16
    assert load_or_create(path) == (values, False)
    assert load_or_create(tmp_path / "other.env")[0]["CASPER_QC_TOKEN"] != values["CASPER_QC_TOKEN"]
    path.write_text(path.read_text().replace("CASPER_QC_TOKEN=", "#"))
    with pytest.raises(ValueError, match=r"has no CASPER_QC_TOKEN; remove the demo directory"):
        load_or_create(path)
