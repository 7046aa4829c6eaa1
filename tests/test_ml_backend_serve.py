"""Starting the ML backend for real: ``casper-qc ml-backend`` and gunicorn, over TCP on loopback.

Each test starts its own server process and stops only that process (by its id).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from helpers import server_env, wait_health

from casper_qc.cli import main
from casper_qc.labelstudio_server import free_port

REPO = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without any ML backend settings of the shell, plus ``extra``."""
    return server_env(MODEL_DIR=str(tmp_path / "model"), **extra)


def stop(process: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM to the process we started (only it), then its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=timeout)


def test_cli_serves_on_loopback_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "casper_qc", "ml-backend", "--port", "0"], cwd=REPO,
                               env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+) \(model version (\S+);", line)
        assert match, line
        health = wait_health(match.group(1), process)
        assert health.json() == {"status": "UP", "model_class": "CasperTurnPrelabeler"}
        versions = requests.get(f"{match.group(1)}/versions", timeout=5).json()
        assert versions == {"versions": [match.group(2)]}
    finally:
        code = stop(process)
        process.stderr.close()
    assert code == 0


def test_cli_refuses_to_listen_beyond_loopback_without_credentials(tmp_path, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith(("BASIC_AUTH_", "CASPER_", "LABEL_STUDIO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "model"))
    assert main(["ml-backend", "--host", "0.0.0.0", "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in error and "BASIC_AUTH_USER" in error
    monkeypatch.setenv("BASIC_AUTH_USER", "only-user")
    assert main(["ml-backend", "--port", "0"]) == 2
    assert "BASIC_AUTH_PASS" in capsys.readouterr().err


def test_cli_with_credentials_may_listen_on_all_addresses(tmp_path):
    env = clean_env(tmp_path, BASIC_AUTH_USER="ls", BASIC_AUTH_PASS="pw-cli-1")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "casper_qc", "ml-backend", "--host", "0.0.0.0",
                                "--port", str(port)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert "basic auth on" in process.stderr.readline()
        url = f"http://127.0.0.1:{port}"
        assert wait_health(url, process).status_code == 401
        assert requests.get(f"{url}/health", auth=("ls", "pw-cli-1"), timeout=5).status_code == 200
    finally:
        stop(process)
        process.stderr.close()


@pytest.mark.parametrize("target", ["ml_backend.wsgi:app", "ml_backend:create_app()"])
def test_gunicorn_serves_the_app(tmp_path, target):
    port = free_port()
    process = subprocess.Popen([str(GUNICORN), "-c", "python:ml_backend.gunicorn_conf", "-b", f"127.0.0.1:{port}",
                                "--workers", "1", target], cwd=REPO, env=clean_env(tmp_path),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        health = wait_health(f"http://127.0.0.1:{port}", process)
        assert health.json()["status"] == "UP"
    finally:
        assert stop(process) == 0
        process.stderr.close()


def test_gunicorn_refuses_a_public_bind_without_credentials(tmp_path):
    done = subprocess.run([str(GUNICORN), "-c", "python:ml_backend.gunicorn_conf", "-b", f"0.0.0.0:{free_port()}",
                           "ml_backend:create_app()"], cwd=REPO, env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0" in done.stderr
