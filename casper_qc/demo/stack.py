"""``make demo``: Label Studio 1.23.2, the ML backend and the QC service on 127.0.0.1, set up on
the bundled sample conversations.

Steps (each reuses what a previous run left, so a second run is quick and changes nothing):

1. credentials: generated once into ``<dir>/credentials.env`` (mode 0600);
2. the audio of ``samples/`` is copied into ``<dir>/media/samples/`` (Label Studio's local-files
   document root, which the ML backend reads directly too) and the reference transcripts into
   ``<dir>/references/``;
3. Label Studio (installed into the cache on first use, with progress lines), its SQLite data in
   ``<dir>/label-studio/``; the ML backend (``casper-qc ml-backend``, basic auth, webhook secret)
   starts meanwhile;
4. the project "casper-qc demo" from ``label_configs/conversation.xml``, a local-files storage,
   one task per sample conversation; the ML backend connected (the webhook Label Studio creates
   for it gets the secret header); every task pre-labelled ("Retrieve predictions") and checked;
5. two annotators' recorded annotations of the MFA sample (``samples/michaelandsickmichael.
   labelstudio.json``) posted by those annotators, so the QC report compares something from the
   start;
6. the QC service (``casper-qc serve --project``) pulling the project live, its webhook
   registered with the token and the secret header;
7. the QC service's exports of every task's adopted annotation saved into ``<dir>/exports/``:
   ``textgrids/*.TextGrid`` (Praat), ``textgrids.zip`` and ``supervisions.jsonl`` (Lhotse);
8. URLs, the login and what to try first are printed.

Every server runs in its own session with its pid recorded (:mod:`.processes`); ``--down`` stops
exactly those. Errors end the run with one line (and the log file to look at); servers already
started keep running so that the next run reuses them, and ``make down`` stops them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from . import processes
from .credentials import load_or_create
from .paths import (CONVERSATIONS, DEFAULT_PORTS, PORT_VARIABLES, RECORDED, REFERENCES, REPO, SAMPLES, THE, TITLES,
                    Layout)

PROJECT_TITLE = "casper-qc demo"
BACKEND_TITLE = "casper-qc ML backend"
BACKEND_SECRET_HEADER = "X-Casper-Webhook-Secret"
QC_SECRET_HEADER = "X-Casper-QC-Webhook-Secret"
SERVICES = ("label-studio", "ml-backend", "qc")

Say = Callable[..., None]


class DemoError(RuntimeError):
    """The demo cannot go on; the message is one line for the user."""


# --------------------------------------------------------------------------- small helpers


@contextlib.contextmanager
def progress(what: str, every: float = 5.0) -> Iterator[None]:
    """Print ``  ... <what>: N s`` every ``every`` seconds while the block runs."""
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(every):
            print(f"  ... {what}: {time.monotonic() - started:.0f} s", flush=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoError(f"another `make demo` is running on {path.parent}; wait for it") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(path: Path) -> str:
    """The last non-empty line of a log (for one-line errors)."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else ""


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a server: this one without any casper-qc / Label Studio / backend settings
    of the shell (so the demo runs the same way every time), plus ``extra``."""
    names = ("LABEL_STUDIO_", "CASPER_", "BASIC_AUTH_", "LOCAL_FILES_", "MODEL_DIR", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names) or k == "CASPER_QC_CACHE_DIR"}
    env.update(extra)
    return env


class LabelStudio:
    """Label Studio's REST API as one user (token auth); errors become one-line DemoErrors."""

    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, *, timeout: float = 60, **kwargs: Any) -> Any:
        import requests

        try:
            answer = self.session.request(method, f"{self.url}{path}", timeout=timeout, **kwargs)
        except requests.RequestException as err:
            raise DemoError(f"Label Studio did not answer {method} {path}: {type(err).__name__}") from None
        if not answer.ok:
            detail = " ".join(answer.text.split())[:200]
            raise DemoError(f"Label Studio answered {method} {path} with HTTP {answer.status_code}: {detail}")
        return answer.json() if answer.content else None

    def listing(self, path: str, **params: Any) -> list[dict]:
        """A list endpoint's items (paginated or not)."""
        found = self.call("GET", path, params={"page_size": 1000, **params})
        if isinstance(found, dict):
            return found.get("results", found.get("tasks", []))
        return found


# --------------------------------------------------------------------------- the stack


class Stack:
    """One demo directory's servers and Label Studio project."""

    def __init__(self, layout: Layout, ports: dict[str, int | None], say: Say) -> None:
        self.layout = layout
        self.wanted = ports
        self.say = say
        self.creds: dict[str, str] = {}
        self.generated = False
        self.ports: dict[str, int] = {}
        self.started: list[str] = []

    # ---------------------------------------------------------------- URLs
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    # ---------------------------------------------------------------- entry
    def up(self) -> dict[str, Any]:
        for sample in CONVERSATIONS:
            if not (SAMPLES / sample.file).is_file():
                raise DemoError(f"the sample {SAMPLES / sample.file} is missing; run the demo from a casper-qc "
                                "checkout")
        began = time.monotonic()
        if not self.layout.root.exists():  # private from the start; an existing directory is left as it is
            self.layout.root.mkdir(parents=True)
            os.chmod(self.layout.root, 0o700)
        with locked(self.layout.lock):
            try:
                self.creds, self.generated = load_or_create(self.layout.credentials)
            except ValueError as err:
                raise DemoError(str(err)) from None
            self._choose_ports()
            self._copy_media()
            state = self._bring_up()
            state["seconds"] = round(time.monotonic() - began, 1)
            self._save_state(state)
        return state

    def _choose_ports(self) -> None:
        """Ports: ``--*-port`` or its variable; else the port the running server (or the last run)
        used; else the default. A running server is never moved: that needs ``make down``."""
        previous = self._load_state().get("ports", {})
        for service in SERVICES:
            wanted = self.wanted.get(service)
            if wanted is None and os.environ.get(PORT_VARIABLES[service]):
                raw = os.environ[PORT_VARIABLES[service]]
                if not raw.strip().isdigit():
                    raise DemoError(f"{PORT_VARIABLES[service]} must be a port number, not {raw!r}")
                wanted = int(raw)
            if wanted is not None and not 1 <= wanted <= 65535:
                raise DemoError(f"port {wanted} for {THE[service]} is not between 1 and 65535")
            record = self._running(service)
            if record is not None:
                if wanted is not None and wanted != record.port:
                    raise DemoError(f"this demo's {TITLES[service]} is running on port {record.port}, not {wanted}: "
                                    f"`{self.layout.make('down')}` first to change ports")
                self.ports[service] = record.port
            else:
                remembered = previous.get(service)
                self.ports[service] = wanted or (remembered if isinstance(remembered, int) else None) \
                    or DEFAULT_PORTS[service]
        if len(set(self.ports.values())) < len(SERVICES):
            raise DemoError(f"the three servers need three different ports, not {self.ports}")
        for service in SERVICES:  # before anything starts
            if self._running(service) is None:
                self._check_port_free(service)
        self._save_state({**self._load_state(), "ports": self.ports})

    def _running(self, service: str) -> processes.Record | None:
        path = self.layout.pidfile(service)
        record = processes.read_record(path)
        if record is None:
            return None
        if processes.is_running(record):
            return record
        path.unlink(missing_ok=True)  # that process has ended: its pid may now be anybody's
        return None

    def _copy_media(self) -> None:
        target = self.layout.media / "samples"
        target.mkdir(parents=True, exist_ok=True)
        for sample in CONVERSATIONS:
            source, copy = SAMPLES / sample.file, target / sample.file
            if not copy.exists() or copy.stat().st_size != source.stat().st_size:
                shutil.copyfile(source, copy)
        # The references directory mirrors samples/references (the QC service reads it at start).
        self.layout.references.mkdir(parents=True, exist_ok=True)
        wanted = {p.name: p for p in REFERENCES.iterdir() if p.is_file()}
        for stale in self.layout.references.iterdir():
            if stale.name not in wanted:
                stale.unlink()
        for name, reference in sorted(wanted.items()):
            shutil.copyfile(reference, self.layout.references / name)

    def _bring_up(self) -> dict[str, Any]:
        from ..labelstudio_server import LS_VERSION

        self.say(f"Label Studio {LS_VERSION}, the ML backend and the QC service on 127.0.0.1 "
                 f"(state in {self.layout.root})")
        install_first = self._running("label-studio") is None
        if install_first:
            self._ensure_labelstudio_installed()
        # The backend needs nothing from Label Studio to start: it boots while Label Studio does.
        self._ensure_backend(wait=False)
        self._ensure_labelstudio()
        self._ensure_backend(wait=True)
        ls = LabelStudio(self.url("label-studio"), self.creds["LABEL_STUDIO_API_KEY"])
        project = self._ensure_project(ls)
        tasks = self._ensure_tasks(ls, project)
        model_version = self._connect_backend(ls, project)
        self._prelabel(ls, project, tasks)
        self._seed_annotations(ls, tasks)
        self._ensure_qc(project)
        self._connect_qc(ls, project)
        self._save_exports()
        return {"project": project, "tasks": tasks, "ports": self.ports, "model_version": model_version,
                "urls": {s: self.url(s) for s in SERVICES}}

    # ---------------------------------------------------------------- Label Studio
    def _ensure_labelstudio_installed(self) -> None:
        from ..labelstudio_server import LS_VERSION, LabelStudioError, ensure_installed, venv_dir

        if (venv_dir() / "bin" / "label-studio").exists():
            try:
                ensure_installed(log=self.say)
                return
            except LabelStudioError as err:
                raise DemoError(str(err).splitlines()[0]) from None
        with progress(f"installing Label Studio {LS_VERSION}"):
            try:
                ensure_installed(log=self.say)
            except LabelStudioError as err:
                raise DemoError(" ".join(str(err).split())[:300]) from None

    def _labelstudio_answers(self) -> bool:
        import requests

        try:
            if not requests.get(f"{self.url('label-studio')}/health", timeout=5).ok:
                return False
            whoami = requests.get(f"{self.url('label-studio')}/api/current-user/whoami", timeout=10,
                                  headers={"Authorization": f"Token {self.creds['LABEL_STUDIO_API_KEY']}"})
        except requests.RequestException:
            return False
        if whoami.status_code in (401, 403):
            raise DemoError(f"Label Studio in {self.layout.labelstudio} refuses this demo's token (another "
                            f"credentials file?): `{self.layout.make('down')}` and remove {self.layout.root} to "
                            "start afresh")
        return whoami.ok

    def _ensure_labelstudio(self) -> None:
        from ..labelstudio_server import LabelStudioError, LabelStudioServer

        record = self._running("label-studio")
        if record is not None:
            self._wait_reused("label-studio", record, self._labelstudio_answers)
            self.say(f"Label Studio is running at {self.url('label-studio')} (pid {record.pid}): reused")
            return
        port = self.ports["label-studio"]
        self._check_port_free("label-studio")
        fresh = not (self.layout.labelstudio / "label_studio.sqlite3").exists()
        pidfile = self.layout.pidfile("label-studio")

        def spawned(pid: int) -> None:  # recorded at once: `make down` can stop an interrupted start
            processes.write_record(pidfile, "label-studio", pid, port, marker=f"--port {port}")
            self.started.append("label-studio")

        server = LabelStudioServer(
            self.layout.labelstudio, document_root=self.layout.media, port=port,
            username=self.creds["LABEL_STUDIO_USERNAME"], password=self.creds["LABEL_STUDIO_PASSWORD"],
            token=self.creds["LABEL_STUDIO_API_KEY"], startup_timeout=900, log=self.say, on_spawn=spawned)
        what = "Label Studio's first start (creating its database)" if fresh else "Label Studio is starting"
        with progress(what):
            try:
                server.start()  # on failure it has stopped the server again
            except LabelStudioError as err:
                pidfile.unlink(missing_ok=True)
                raise DemoError(f"{str(err).splitlines()[0]} (log: {server.log_path})") from None
            except ProcessLookupError as err:
                pidfile.unlink(missing_ok=True)
                raise DemoError(f"Label Studio: {err} (log: {server.log_path})") from None
            except BaseException:  # interrupted: the server has been stopped
                pidfile.unlink(missing_ok=True)
                raise

    # ---------------------------------------------------------------- our two servers
    def _check_port_free(self, service: str) -> None:
        port = self.ports[service]
        if processes.port_free(port):
            return
        option = {"label-studio": "--ls-port (make demo DEMO_LS_PORT=…)",
                  "ml-backend": "--backend-port (make demo DEMO_BACKEND_PORT=…)",
                  "qc": "--qc-port (make demo DEMO_QC_PORT=…)"}[service]
        if processes.listening(port):
            raise DemoError(f"port {port} on 127.0.0.1 is taken by another program; give {THE[service]} "
                            f"another one with {option}")
        raise DemoError(f"port {port} on 127.0.0.1 cannot be bound yet (connections of a server that has just "
                        f"stopped?): try again in a minute, or give {THE[service]} another port with {option}")

    def _wait_reused(self, service: str, record: processes.Record, answers: Callable[[], bool],
                     timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        with progress(f"waiting for the running {TITLES[service]} (pid {record.pid})"):
            while time.monotonic() < deadline:
                if answers():
                    return
                if not processes.is_running(record):
                    break
                time.sleep(1.0)
        raise DemoError(f"this demo's {TITLES[service]} (pid {record.pid}) does not answer on port {record.port}: "
                        f"`{self.layout.make('down')}` and run the demo again (log: {self.layout.log(service)})")

    def _spawn(self, service: str, command: list[str], env: dict[str, str], extra: dict) -> processes.Record:
        self._check_port_free(service)
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        log = self.layout.log(service)
        with open(log, "ab") as handle:
            process = subprocess.Popen(command, cwd=self.layout.root, env=env, stdin=subprocess.DEVNULL,
                                       stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            record = processes.write_record(self.layout.pidfile(service), service, process.pid,
                                            self.ports[service], extra, command=command)
        except ProcessLookupError:
            if process.poll() is None:  # the process we have just started, by its id
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            raise DemoError(f"{THE[service]} exited at once: {_tail(log)} (log: {log})") from None
        self.started.append(service)
        return record

    def _wait_started(self, service: str, record: processes.Record, answers: Callable[[], bool],
                      timeout: float = 180.0) -> None:
        log = self.layout.log(service)
        deadline = time.monotonic() + timeout
        with progress(f"{THE[service]} is starting"):
            while time.monotonic() < deadline:
                if not processes.is_running(record):
                    self.layout.pidfile(service).unlink(missing_ok=True)
                    raise DemoError(f"{THE[service]} exited while starting: {_tail(log)} (log: {log})")
                if answers():
                    return
                time.sleep(0.3)
        processes.stop(record)
        self.layout.pidfile(service).unlink(missing_ok=True)
        raise DemoError(f"{THE[service]} did not answer within {timeout:.0f} s (log: {log})")

    def _reuse_or_restart(self, service: str, extra: dict) -> processes.Record | None:
        """The running record of ``service`` if it runs with ``extra``; a server running with other
        settings (another project, another Label Studio port) is stopped."""
        record = self._running(service)
        if record is not None and (record.extra or {}) != extra:
            self.say(f"restarting {THE[service]} (pid {record.pid}): its settings changed")
            processes.stop(record)
            self.layout.pidfile(service).unlink(missing_ok=True)
            return None
        return record

    def _backend_answers(self) -> bool:
        import requests

        try:
            health = requests.get(f"{self.url('ml-backend')}/health", timeout=5,
                                  auth=(self.creds["BASIC_AUTH_USER"], self.creds["BASIC_AUTH_PASS"]))
        except requests.RequestException:
            return False
        return health.ok and health.json().get("status") == "UP"

    def _ensure_backend(self, *, wait: bool) -> None:
        extra = {"label_studio_port": self.ports["label-studio"]}
        record = self._reuse_or_restart("ml-backend", extra)
        if record is None:
            env = _server_env({
                "LABEL_STUDIO_URL": self.url("label-studio"),
                "LABEL_STUDIO_API_KEY": self.creds["LABEL_STUDIO_API_KEY"],
                "BASIC_AUTH_USER": self.creds["BASIC_AUTH_USER"],
                "BASIC_AUTH_PASS": self.creds["BASIC_AUTH_PASS"],
                "CASPER_WEBHOOK_SECRET": self.creds["CASPER_WEBHOOK_SECRET"],
                "LOCAL_FILES_DOCUMENT_ROOT": str(self.layout.media),
                "MODEL_DIR": str(self.layout.backend_model_dir),
            })
            command = [sys.executable, "-m", "casper_qc", "ml-backend", "--host", "127.0.0.1",
                       "--port", str(self.ports["ml-backend"])]
            record = self._spawn("ml-backend", command, env, extra)
            self.say(f"starting the ML backend at {self.url('ml-backend')} (log: {self.layout.log('ml-backend')})")
        if not wait:
            return
        if "ml-backend" in self.started:
            self._wait_started("ml-backend", record, self._backend_answers)
            self.say(f"the ML backend is up at {self.url('ml-backend')}")
        else:
            self._wait_reused("ml-backend", record, self._backend_answers)
            self.say(f"the ML backend is running at {self.url('ml-backend')} (pid {record.pid}): reused")

    def _qc_answers(self) -> bool:
        import requests

        try:
            return requests.get(f"{self.url('qc')}/health", timeout=5).ok
        except requests.RequestException:
            return False

    def _ensure_qc(self, project: int) -> None:
        extra = {"project": project, "label_studio_port": self.ports["label-studio"]}
        record = self._reuse_or_restart("qc", extra)
        if record is not None:
            self._wait_reused("qc", record, self._qc_answers)
            self.say(f"the QC service is running at {self.url('qc')} (pid {record.pid}): reused")
            return
        env = _server_env({
            "LABEL_STUDIO_URL": self.url("label-studio"),
            "LABEL_STUDIO_API_KEY": self.creds["LABEL_STUDIO_API_KEY"],
            "CASPER_QC_TOKEN": self.creds["CASPER_QC_TOKEN"],
            "CASPER_QC_WEBHOOK_SECRET": self.creds["CASPER_QC_WEBHOOK_SECRET"],
        })
        command = [sys.executable, "-m", "casper_qc", "serve", "--host", "127.0.0.1", "--port",
                   str(self.ports["qc"]), "--project", str(project), "--references", self.layout.references.name]
        record = self._spawn("qc", command, env, extra)
        self.say(f"starting the QC service at {self.url('qc')} on project {project} (log: {self.layout.log('qc')})")
        self._wait_started("qc", record, self._qc_answers)
        self.say(f"the QC service is up at {self.url('qc')}")

    def _save_exports(self) -> None:
        """Save the adopted annotations as the QC service exports them (a fresh copy each run)."""
        import zipfile

        import requests

        from ..fileio import write_bytes

        headers = {"Authorization": f"Bearer {self.creds['CASPER_QC_TOKEN']}"}
        for name in ("textgrids.zip", "supervisions.jsonl"):
            try:
                answer = requests.get(f"{self.url('qc')}/api/export/{name}", headers=headers, timeout=120)
            except requests.RequestException as err:
                raise DemoError(f"the QC service did not answer /api/export/{name}: {type(err).__name__}") from None
            if not answer.ok:
                raise DemoError(f"the QC service answered /api/export/{name} with HTTP {answer.status_code}: "
                                f"{' '.join(answer.text.split())[:200]}")
            write_bytes(self.layout.exports / name, answer.content)
        textgrids = self.layout.exports / "textgrids"
        with zipfile.ZipFile(self.layout.exports / "textgrids.zip") as archive:
            for member in archive.namelist():
                if member.endswith(".TextGrid"):  # by base name only: no path from the archive is trusted
                    write_bytes(textgrids / Path(member).name, archive.read(member))
        self.say(f"the adopted annotations are exported to {self.layout.exports}/ "
                 "(textgrids/*.TextGrid, supervisions.jsonl)")

    # ---------------------------------------------------------------- the project
    def _ensure_project(self, ls: LabelStudio) -> int:
        mine = [p for p in ls.listing("/api/projects") if p.get("title") == PROJECT_TITLE]
        if mine:
            project = min(p["id"] for p in mine)
            self.say(f"project {project} \"{PROJECT_TITLE}\": reused")
        else:
            config = (REPO / "label_configs" / "conversation.xml").read_text(encoding="utf-8")
            created = ls.call("POST", "/api/projects", json={
                "title": PROJECT_TITLE, "label_config": config, "maximum_annotations": 3,
                "show_collab_predictions": True,
                "description": "The bundled sample conversations, pre-labelled by casper-qc's ML backend.",
            })
            project = created["id"]
            self.say(f"created project {project} \"{PROJECT_TITLE}\" from label_configs/conversation.xml")
        audio = str(self.layout.media / "samples")
        storages = ls.listing("/api/storages/localfiles", project=project)
        if not any(s.get("path") == audio for s in storages):
            ls.call("POST", "/api/storages/localfiles", json={
                "project": project, "title": "sample conversations", "path": audio, "use_blob_urls": True,
                "regex_filter": r".*\.(wav|flac)$"})
            self.say(f"connected local-files storage {audio}")
        return project

    def _tasks(self, ls: LabelStudio, project: int) -> list[dict]:
        return ls.listing("/api/tasks", project=project, fields="all")

    def _ensure_tasks(self, ls: LabelStudio, project: int) -> dict[str, int]:
        def by_conversation() -> dict[str, int]:
            found: dict[str, int] = {}
            for task in self._tasks(ls, project):
                name = (task.get("data") or {}).get("conversation_id")
                if name is not None and name not in found:
                    found[name] = task["id"]
            return found

        existing = by_conversation()
        missing = [s for s in CONVERSATIONS if s.conversation not in existing]
        if missing:
            ls.call("POST", f"/api/projects/{project}/import", timeout=120, json=[
                {"audio": f"/data/local-files/?d=samples/{s.file}", "conversation_id": s.conversation}
                for s in missing])
            existing = by_conversation()
            self.say(f"imported {len(missing)} task(s): " + ", ".join(s.conversation for s in missing))
        else:
            self.say(f"{len(existing)} tasks: reused")
        absent = [s.conversation for s in CONVERSATIONS if s.conversation not in existing]
        if absent:
            raise DemoError(f"Label Studio did not create the task(s) {', '.join(absent)}")
        return {s.conversation: existing[s.conversation] for s in CONVERSATIONS}

    def _connect_backend(self, ls: LabelStudio, project: int) -> str:
        url = self.url("ml-backend")
        connections = ls.listing("/api/ml", project=project)
        ours = [c for c in connections if c.get("url", "").rstrip("/") == url]
        auth = {"auth_method": "BASIC_AUTH", "basic_auth_user": self.creds["BASIC_AUTH_USER"],
                "basic_auth_pass": self.creds["BASIC_AUTH_PASS"]}
        if ours:  # saving it again makes Label Studio check the backend again (/health, /setup)
            connection = ls.call("PATCH", f"/api/ml/{ours[0]['id']}",
                                 json={"project": project, "url": url, **auth})
        else:
            moved = [c for c in connections if c.get("title") == BACKEND_TITLE]
            if moved:  # the backend of an earlier run, on another port
                connection = ls.call("PATCH", f"/api/ml/{moved[0]['id']}",
                                     json={"project": project, "url": url, **auth})
                self.say(f"moved the ML backend connection to {url}")
            else:
                connection = ls.call("POST", "/api/ml", json={"project": project, "url": url, "title": BACKEND_TITLE,
                                                              **auth})
                self.say(f"connected the ML backend {url} to project {project}")
        connection = ls.call("GET", f"/api/ml/{connection['id']}")
        if connection.get("state") != "CO":
            problem = " ".join(str(connection.get("error_message") or connection.get("state")).split())[:200]
            raise DemoError(f"Label Studio cannot use the ML backend at {url}: {problem}")
        self._ensure_webhook(ls, project, f"{url}/webhook",
                             {BACKEND_SECRET_HEADER: self.creds["CASPER_WEBHOOK_SECRET"]})
        return str(connection.get("model_version") or "")

    def _ensure_webhook(self, ls: LabelStudio, project: int, url: str, headers: dict[str, str]) -> None:
        """Exactly one webhook of the project to ``url`` with ``headers``; webhooks of earlier runs to
        other loopback ports (recognized by our secret headers) are removed."""
        ours = (BACKEND_SECRET_HEADER, QC_SECRET_HEADER)
        header_name = next(h for h in headers if h in ours)
        found = None
        for hook in ls.listing("/api/webhooks", project=project):
            if hook.get("url") == url and found is None:
                found = hook
            elif (hook.get("url") == url or (re.match(r"http://127\.0\.0\.1:\d+/webhook$", hook.get("url", ""))
                                               and header_name in (hook.get("headers") or {}))):
                ls.call("DELETE", f"/api/webhooks/{hook['id']}")
        if found is None:
            ls.call("POST", "/api/webhooks", json={"project": project, "url": url, "send_payload": True,
                                                   "send_for_all_actions": True, "headers": headers,
                                                   "is_active": True})
        elif (found.get("headers") or {}) != headers or not found.get("is_active", True):
            ls.call("PATCH", f"/api/webhooks/{found['id']}", json={"headers": headers, "is_active": True})

    def _prelabel(self, ls: LabelStudio, project: int, tasks: dict[str, int]) -> None:
        def unlabelled() -> list[int]:
            have = {t["id"] for t in self._tasks(ls, project) if t.get("predictions")}
            return [task for task in tasks.values() if task not in have]

        todo = unlabelled()
        if not todo:
            self.say(f"all {len(tasks)} tasks have pre-labels: reused")
            return
        self.say(f"pre-labelling {len(todo)} task(s) with the ML backend (Retrieve predictions)")
        deadline = time.monotonic() + 300
        with progress("pre-labelling"):
            while todo and time.monotonic() < deadline:
                ls.call("POST", "/api/dm/actions", timeout=300, params={"id": "retrieve_tasks_predictions",
                                                                          "project": project},
                        json={"selectedItems": {"all": False, "included": todo}})
                todo = unlabelled()
                if todo:
                    time.sleep(2.0)
        if todo:
            raise DemoError(f"task(s) {', '.join(map(str, todo))} got no prediction from the ML backend "
                            f"(log: {self.layout.log('ml-backend')})")
        self.say(f"every task has its pre-labels ({len(tasks)} of {len(tasks)})")

    # ---------------------------------------------------------------- recorded annotations
    def _seed_annotations(self, ls: LabelStudio, tasks: dict[str, int]) -> None:
        recorded = json.loads(RECORDED.read_text(encoding="utf-8"))[0]
        task = tasks[recorded["data"]["conversation_id"]]
        if ls.call("GET", f"/api/tasks/{task}").get("total_annotations", 0) or ls.listing(
                f"/api/tasks/{task}/annotations"):
            return
        annotations = [a for a in recorded["annotations"] if not a.get("was_cancelled")]
        users = {u.get("email"): u for u in ls.listing("/api/users")}
        for annotation in annotations:
            email = annotation["completed_by"]["email"]
            token = self._annotator_token(ls, email, email in users)
            LabelStudio(ls.url, token).call("POST", f"/api/tasks/{task}/annotations", json={
                "result": annotation["result"], "lead_time": annotation.get("lead_time"),
                "ground_truth": bool(annotation.get("ground_truth"))})
        self.say(f"posted the recorded annotations of {', '.join(a['completed_by']['email'] for a in annotations)} "
                 f"on task {task} (michaelandsickmichael), as those annotators")

    def _annotator_token(self, ls: LabelStudio, email: str, exists: bool) -> str:
        """The legacy token of annotator ``email``: signed up through the organization's invite link
        the first time, logged in with the demo's annotator password after that."""
        import requests

        password = self.creds["DEMO_ANNOTATOR_PASSWORD"]
        if exists:
            page_url = f"{ls.url}/user/login/"
        else:
            page_url = f"{ls.url}{ls.call('GET', '/api/invite')['invite_url']}"
        with requests.Session() as session:
            page = session.get(page_url, timeout=30)
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            if not page.ok or match is None:
                raise DemoError(f"Label Studio's {'login' if exists else 'sign-up'} page has no form "
                                f"(HTTP {page.status_code})")
            answer = session.post(page_url, data={"csrfmiddlewaretoken": match.group(1), "email": email,
                                                  "password": password},
                                  headers={"Referer": page_url}, allow_redirects=False, timeout=30)
            if answer.status_code != 302:
                raise DemoError(f"{'logging in' if exists else 'signing up'} {email} failed "
                                f"(HTTP {answer.status_code})")
            token = session.get(f"{ls.url}/api/current-user/token", timeout=30)
            if not token.ok:
                raise DemoError(f"Label Studio gave no token for {email} (HTTP {token.status_code})")
            return token.json()["token"]

    def _connect_qc(self, ls: LabelStudio, project: int) -> None:
        self._ensure_webhook(ls, project, f"{self.url('qc')}/webhook", {
            "Authorization": f"Bearer {self.creds['CASPER_QC_TOKEN']}",
            QC_SECRET_HEADER: self.creds["CASPER_QC_WEBHOOK_SECRET"]})

    def _load_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.layout.state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        temporary = self.layout.state.with_suffix(".part")
        temporary.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        temporary.replace(self.layout.state)


# --------------------------------------------------------------------------- down


def down(layout: Layout, say: Say) -> int:
    """Stop what the demo started in ``layout`` (the QC service, the ML backend, Label Studio)."""
    stopped = 0
    for service in reversed(SERVICES):
        path = layout.pidfile(service)
        record = processes.read_record(path)
        if record is None:
            if path.exists():
                say(f"{path} cannot be read; left alone", error=True)
            continue
        if processes.stop(record):
            say(f"stopped {THE[service]} (pid {record.pid}, port {record.port})")
            stopped += 1
        else:
            say(f"{THE[service]} (pid {record.pid}) had already ended")
        path.unlink(missing_ok=True)
    if not stopped:
        say("nothing to stop" + ("" if layout.root.exists() else f" ({layout.root} does not exist)"))
    else:
        say(f"the data stays in {layout.root} (`{layout.make('demo')}` brings it back; remove the directory to "
            "start afresh)")
    return 0
