"""A local Label Studio 1.23.2 server for recordings, end-to-end tests and the demo.

Label Studio lives in its own virtual environment, ``<cache>/label-studio-1.23.2`` (``<cache>`` is
``$CASPER_QC_CACHE_DIR`` or ``~/.cache/casper-qc``), created with ``python3.11 -m venv`` and
``pip install label-studio==1.23.2`` the first time it is needed; a lock file keeps parallel runs
from installing at once. :class:`LabelStudioServer` starts one server on 127.0.0.1 with its own
SQLite data directory, local-files serving from a document root, and a legacy API token for its
admin user, waits until ``GET /health`` answers, and stops it again by its process group: it only
ever signals the process it started.

    with LabelStudioServer(data_dir=tmp / "ls", document_root=repo) as server:
        client = LabelStudio(base_url=server.url, api_key=server.token)

Nothing here runs at import time; nothing here prints or logs an API key or a password.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

__all__ = [
    "LS_VERSION",
    "LabelStudioServer",
    "LabelStudioError",
    "cache_root",
    "venv_dir",
    "ensure_installed",
    "free_port",
]

LS_VERSION = "1.23.2"

Log = Callable[[str], None]


class LabelStudioError(RuntimeError):
    """Label Studio could not be installed, started or asked (not a user input error)."""


def _print(message: str) -> None:
    print(f"casper-qc: {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    """Where heavy installs live: ``$CASPER_QC_CACHE_DIR`` or ``~/.cache/casper-qc``."""
    return Path(
        os.environ.get("CASPER_QC_CACHE_DIR") or Path.home() / ".cache" / "casper-qc"
    ).expanduser()


def venv_dir() -> Path:
    """The virtual environment Label Studio is installed in."""
    return cache_root() / f"label-studio-{LS_VERSION}"


def _installed(venv: Path) -> bool:
    # pip writes RECORD when it has finished installing a distribution: its presence (with the
    # console script) tells a complete install from one that was interrupted.
    records = list(
        venv.glob(f"lib/python3*/site-packages/label_studio-{LS_VERSION}.dist-info/RECORD")
    )
    return bool(records) and (venv / "bin" / "label-studio").exists()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _base_python() -> str:
    found = shutil.which("python3.11")
    if found:
        return found
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    raise LabelStudioError(
        "Label Studio 1.23.2 needs Python 3.11: install python3.11 (and python3.11-venv)"
    )


def ensure_installed(*, log: Log = _print) -> Path:
    """The ``label-studio`` executable, installing Label Studio first if it is missing.

    Safe to call from parallel processes: one installs while the others wait on the lock.
    """
    venv = venv_dir()
    if _installed(venv):
        return venv / "bin" / "label-studio"
    with _locked(cache_root() / f"label-studio-{LS_VERSION}.lock"):
        if _installed(venv):  # another process finished the install while we waited
            return venv / "bin" / "label-studio"
        python = venv / "bin" / "python"
        if not python.exists():
            log(f"creating the Label Studio {LS_VERSION} environment in {venv}")
            _run([_base_python(), "-m", "venv", str(venv)], "creating the virtual environment")
        log(f"installing label-studio=={LS_VERSION} into {venv} (once; takes a few minutes)")
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"label-studio=={LS_VERSION}",
            ],
            f"pip install label-studio=={LS_VERSION}",
        )
        if not _installed(venv):
            raise LabelStudioError(
                f"pip finished but {venv} has no complete Label Studio {LS_VERSION}"
            )
        log(f"Label Studio {LS_VERSION} installed")
    return venv / "bin" / "label-studio"


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.strip().splitlines()[-15:])
        raise LabelStudioError(f"{what} failed (exit {done.returncode}):\n{tail}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabelStudioServer:
    """One Label Studio server process; a context manager (``with ... as server``).

    Args:
        data_dir: its SQLite database, uploads and log (``server.log``); created if missing.
        document_root: the directory local-files storage may serve from (None: serving off).
        port: the port on 127.0.0.1 (None: a free one).
        username, password: the admin user (an e-mail address), created at first start.
        token: the admin's legacy API token (None: a random one); read it from :attr:`token`.
        startup_timeout: seconds to wait for ``/health`` (migrating a fresh database is slow).
        on_spawn: called with the server's process id as soon as it is started, before waiting
            for it (the demo records the pid then, so that an interrupted start can be stopped).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        document_root: str | os.PathLike[str] | None = None,
        port: int | None = None,
        username: str = "admin@example.com",
        password: str | None = None,
        token: str | None = None,
        startup_timeout: float = 300.0,
        log: Log = _print,
        on_spawn: Callable[[int], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.document_root = Path(document_root).resolve() if document_root is not None else None
        self.port = port
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.token = token or secrets.token_hex(20)
        self.startup_timeout = startup_timeout
        self._log = log
        self._on_spawn = on_spawn
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise LabelStudioError("the server has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers that authenticate as the admin (keep them out of logs)."""
        return {"Authorization": f"Token {self.token}"}

    def _environment(self) -> dict[str, str]:
        # Start from a clean slate: settings from the caller's LABEL_STUDIO_* variables would make
        # the server differ from run to run.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LABEL_STUDIO_", "HEARTEX_", "DJANGO_"))
        }
        env.update(
            {
                "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                "LABEL_STUDIO_USERNAME": self.username,
                "LABEL_STUDIO_PASSWORD": self.password,
                "LABEL_STUDIO_USER_TOKEN": self.token,
                "ML_BLOCK_LOCAL_IP": "false",  # the ML backend under test runs on 127.0.0.1
                "SSRF_PROTECTION_ENABLED": "false",
                "LATEST_VERSION_CHECK": "false",  # no PyPI look-up at every start
                "COLLECT_ANALYTICS": "false",
                "LOG_LEVEL": "WARNING",
            }
        )
        if self.document_root is not None:
            env["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] = "true"
            env["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] = str(self.document_root)
        else:
            env["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] = "false"
        return env

    def start(self) -> "LabelStudioServer":
        """Start the server and wait until it answers ``/health`` and accepts the token."""
        if self._process is not None:
            raise LabelStudioError("the server is already running")
        executable = ensure_installed(log=self._log)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        command = [
            str(executable),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        self._log(f"starting Label Studio {LS_VERSION} at {self.url} (data in {self.data_dir})")
        self._log_file = open(self.log_path, "ab")
        # Its own session makes it a process group we can stop as a whole, and only it.
        self._process = subprocess.Popen(
            command,
            env=self._environment(),
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            if self._on_spawn is not None:
                self._on_spawn(self._process.pid)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._log(f"Label Studio is up at {self.url}")
        return self

    def _wait_ready(self) -> None:
        import requests

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LabelStudioError(
                    f"Label Studio exited with code {self._process.returncode} while "
                    f"starting; last lines of {self.log_path}:\n{self._log_tail()}"
                )
            try:
                health = requests.get(f"{self.url}/health", timeout=5)
                if health.ok:
                    whoami = requests.get(
                        f"{self.url}/api/current-user/whoami", headers=self.headers, timeout=10
                    )
                    if whoami.ok:
                        return
                    raise LabelStudioError(
                        f"Label Studio is up but refuses the admin token "
                        f"(HTTP {whoami.status_code}); is {self.data_dir} from another run?"
                    )
            except requests.ConnectionError:
                pass
            except requests.Timeout:
                pass
            time.sleep(1.0)
        raise LabelStudioError(
            f"Label Studio did not answer /health within {self.startup_timeout:.0f} s; "
            f"last lines of {self.log_path}:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        # The log never holds the token (nothing prints it), but mask it should a future version.
        return re.sub(re.escape(self.token), "<token>", "\n".join(text.splitlines()[-lines:]))

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server this object started (its process group) and wait for it to end."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
            self._log("Label Studio stopped")
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> "LabelStudioServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- helpers for scripts

    def sign_up(self, email: str, password: str) -> str:
        """Sign a new user up through the organisation's invite link, as a person would in the
        browser, and return their legacy API token (so their annotations are really theirs)."""
        import requests

        invite = requests.get(f"{self.url}/api/invite", headers=self.headers, timeout=30)
        invite.raise_for_status()
        signup_url = f"{self.url}{invite.json()['invite_url']}"
        with requests.Session() as session:
            page = session.get(signup_url, timeout=30)
            page.raise_for_status()
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            if match is None:
                raise LabelStudioError("the sign-up page has no CSRF token")
            answer = session.post(
                signup_url,
                data={"csrfmiddlewaretoken": match.group(1), "email": email, "password": password},
                headers={"Referer": signup_url},
                allow_redirects=False,
                timeout=30,
            )
            if answer.status_code != 302:
                raise LabelStudioError(f"signing up {email} failed (HTTP {answer.status_code})")
            token = session.get(f"{self.url}/api/current-user/token", timeout=30)
            token.raise_for_status()
            return token.json()["token"]
