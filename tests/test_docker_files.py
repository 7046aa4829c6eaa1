"""``docker/``: what can be checked without a Docker engine (none runs on the development machine).

The compose file parses and its parts hang together (build contexts, Dockerfiles, the shared media
volume, loopback-only published ports, secrets from ``.env``); every environment variable the apps
read is documented; and each image's command - the Dockerfile's ``CMD`` as it stands, with only the
bind address swapped for 127.0.0.1 - really serves, run here with the test environment's gunicorn.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from helpers import server_env, wait_health

from casper_qc.labelstudio_server import LS_VERSION, free_port

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
GUNICORN = Path(sys.executable).parent / "gunicorn"
#: Where the apps read their environment.
APP_SOURCES = [*sorted((REPO / "ml_backend").glob("*.py")), *sorted((REPO / "casper_qc" / "service").glob("*.py")),
               *sorted((REPO / "casper_qc" / "qc").glob("*.py")), *sorted((REPO / "casper_qc" / "asr").glob("*.py")),
               REPO / "casper_qc" / "cli" / "serve.py", REPO / "casper_qc" / "cli" / "ml_backend.py"]
ENV_NAME = re.compile(r'"((?:CASPER|LABEL_STUDIO|BASIC_AUTH|LOCAL_FILES)_[A-Z0-9_]*|MODEL_DIR|LOG_LEVEL)"')


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile(name: str) -> str:
    return (DOCKER / name).read_text()


def cmd_of(name: str) -> list[str]:
    (line,) = [line for line in dockerfile(name).splitlines() if line.startswith("CMD ")]
    return json.loads(line[len("CMD "):])


def app_variables() -> set[str]:
    names = set()
    for path in APP_SOURCES:
        names |= set(ENV_NAME.findall(path.read_text()))
    return names


def test_the_compose_file_has_the_four_services_and_its_builds_exist(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "label-studio", "ml-backend", "qc"}
    assert services["label-studio"]["image"] == f"heartexlabs/label-studio:{LS_VERSION}"
    assert re.fullmatch(r"postgres:\d+[-\w.]*", services["postgres"]["image"])
    for name in ("ml-backend", "qc"):
        build = services[name]["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == REPO and (context / build["dockerfile"]).is_file(), name
        assert (context / f"{build['dockerfile']}.dockerignore").is_file(), name
        assert services[name]["depends_on"]["label-studio"]["condition"] == "service_healthy"
    assert services["label-studio"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_label_studio_runs_on_postgres_with_its_secrets_from_the_env_file(compose):
    env = compose["services"]["label-studio"]["environment"]
    assert env["DJANGO_DB"] == "default" and env["POSTGRE_HOST"] == "postgres" and env["POSTGRE_PORT"] == "5432"
    database = compose["services"]["postgres"]["environment"]
    assert env["POSTGRE_NAME"] == database["POSTGRES_DB"] and env["POSTGRE_USER"] == database["POSTGRES_USER"]
    assert env["POSTGRE_PASSWORD"] == database["POSTGRES_PASSWORD"]
    # Secrets: only from docker/.env, required (":?"), never a value in the file.
    required = re.compile(r"\$\{[A-Z_]+:\?[^}]*\}")
    for service, name in [("postgres", "POSTGRES_PASSWORD"), ("label-studio", "LABEL_STUDIO_PASSWORD"),
                          ("label-studio", "LABEL_STUDIO_USER_TOKEN"), ("ml-backend", "BASIC_AUTH_PASS"),
                          ("ml-backend", "CASPER_WEBHOOK_SECRET"), ("ml-backend", "LABEL_STUDIO_API_KEY"),
                          ("qc", "CASPER_QC_TOKEN"), ("qc", "CASPER_QC_WEBHOOK_SECRET"),
                          ("qc", "LABEL_STUDIO_API_KEY")]:
        assert required.fullmatch(compose["services"][service]["environment"][name]), (service, name)
    example = dict(line.split("=", 1) for line in (DOCKER / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for name in ("POSTGRES_PASSWORD", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_API_KEY", "BASIC_AUTH_PASS",
                 "CASPER_WEBHOOK_SECRET", "CASPER_QC_TOKEN", "CASPER_QC_WEBHOOK_SECRET"):
        assert example[name] == "", f"docker/.env.example must leave {name} empty"


def test_the_media_volume_is_the_document_root_of_label_studio_and_the_backend(compose):
    services = compose["services"]
    mounts = {name: {m.split(":")[0]: m.split(":")[1] for m in services[name]["volumes"]}
              for name in ("label-studio", "ml-backend")}
    assert mounts["label-studio"]["media"] == mounts["ml-backend"]["media"] == "/media"
    assert services["label-studio"]["environment"]["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] == "/media"
    assert services["label-studio"]["environment"]["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] == "true"
    assert services["ml-backend"]["environment"]["LOCAL_FILES_DOCUMENT_ROOT"] == "/media"
    assert compose["volumes"]["media"]["driver_opts"]["device"].startswith("${MEDIA_DIR:?")
    for name in ("ml-backend", "qc"):
        assert services[name]["environment"]["LABEL_STUDIO_URL"] == "http://label-studio:8080"


def test_published_ports_bind_to_loopback_and_the_backend_is_not_published(compose):
    services = compose["services"]
    assert "ports" not in services["ml-backend"] and "ports" not in services["postgres"]
    for name in ("label-studio", "qc"):
        (port,) = services[name]["ports"]
        assert port.startswith("127.0.0.1:"), (name, port)


def test_the_dockerfiles_build_a_slim_python_image_run_by_its_own_user():
    for name in ("Dockerfile.ml-backend", "Dockerfile.qc"):
        text = dockerfile(name)
        instructions = [line.split()[0] for line in text.splitlines() if line and not line.startswith(("#", " "))]
        assert re.search(r"^FROM python:3\.11-slim$", text, re.M), name
        assert re.search(r"apt-get install -y --no-install-recommends ffmpeg", text), name
        assert "pip install '.[serve]'" in text, name
        users = re.findall(r"^USER (\S+)$", text, re.M)
        assert users and users[-1] not in ("root", "0"), name
        assert instructions.index("USER") < instructions.index("CMD"), name
        for copied in re.findall(r"^COPY (\S+)", text, re.M):
            assert (REPO / copied).exists(), (name, copied)
    assert cmd_of("Dockerfile.ml-backend") == ["gunicorn", "-c", "python:ml_backend.gunicorn_conf", "-b",
                                                "0.0.0.0:9090", "ml_backend.wsgi:app"]
    qc = cmd_of("Dockerfile.qc")
    assert qc[:5] == ["gunicorn", "-w", "1", "--threads", "4"]  # one process: the report lives in memory
    assert qc[-1] == "casper_qc.service:create_app()"


def test_every_variable_the_apps_read_is_documented():
    names = app_variables()
    assert {"CASPER_QC_TOKEN", "LABEL_STUDIO_API_KEY", "CASPER_WEBHOOK_SECRET", "CASPER_PRELABEL_",
            "CASPER_MAX_CONCURRENT_PREDICTIONS", "CASPER_ASR_LANGUAGE"} <= names  # the scan finds them
    readme = (DOCKER / "README.md").read_text()
    example = (DOCKER / ".env.example").read_text()
    for name in sorted(names):
        assert re.search(rf"\b{name}", readme), f"{name} is not in docker/README.md"
        assert re.search(rf"\b{name}", example), f"{name} is not in docker/.env.example"


def test_every_variable_the_compose_file_reads_is_in_the_env_example(compose):
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    listed = {line.split("=", 1)[0] for line in (DOCKER / ".env.example").read_text().splitlines()
              if line and not line.startswith("#")}
    assert used == listed
    readme = (DOCKER / "README.md").read_text()
    for name in used:
        assert name in readme, name


# --------------------------------------------------------------------------- the images' commands


def _serve(command: list[str], env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """The image's command with the bind address on 127.0.0.1 (never beyond loopback here)."""
    port = free_port()
    bind = command.index("-b") + 1
    assert command[bind].startswith("0.0.0.0:")
    local = [str(GUNICORN), *command[1:bind], f"127.0.0.1:{port}", *command[bind + 1:]]
    handle = open(log, "w")
    process = subprocess.Popen(local, cwd=log.parent, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the group of the gunicorn this test started
    return process.wait(timeout=60)


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_the_ml_backend_image_command_serves(tmp_path):
    user, password = "label-studio", secrets.token_urlsafe(16)
    env = server_env(MODEL_DIR=str(tmp_path / "model"), BASIC_AUTH_USER=user, BASIC_AUTH_PASS=password,
                     CASPER_WEBHOOK_SECRET=secrets.token_urlsafe(16), LOCAL_FILES_DOCUMENT_ROOT=str(REPO / "samples"))
    log = tmp_path / "ml-backend.log"
    process, url = _serve(cmd_of("Dockerfile.ml-backend"), env, log)
    try:
        assert wait_health(url, process, timeout=120, log=log).status_code == 401  # basic auth is on
        health = requests.get(f"{url}/health", auth=(user, password), timeout=10)
        assert health.json() == {"status": "UP", "model_class": "CasperTurnPrelabeler"}
        assert len(_workers(process.pid)) == 2  # ml_backend/gunicorn_conf.py: two workers
    finally:
        assert _stop(process) == 0
    assert password not in log.read_text()


def test_the_qc_image_command_serves_one_process(tmp_path):
    token = secrets.token_urlsafe(32)
    env = server_env(CASPER_QC_TOKEN=token, CASPER_QC_WEBHOOK_SECRET=secrets.token_urlsafe(16),
                     CASPER_QC_FROM=str(REPO / "samples" / "michaelandsickmichael.labelstudio.json"))
    log = tmp_path / "qc.log"
    process, url = _serve(cmd_of("Dockerfile.qc"), env, log)
    try:
        health = wait_health(url, process, timeout=120, log=log)
        assert health.json() == {"status": "ok", "tasks": 1}
        assert requests.get(f"{url}/api/report", timeout=10).status_code == 401
        report = requests.get(f"{url}/api/report", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert report["project"]["tasks"] == 1 and report["project"]["annotators"] == 2
        assert len(_workers(process.pid)) == 1
    finally:
        assert _stop(process) == 0
    assert token not in log.read_text()
