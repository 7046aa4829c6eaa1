"""The demo's background servers: pid files, identity checks, stopping (standard library only, so
``make down`` works with any Python 3, even without the project's virtual environment).

Each server is started in its own session, so its process id is also its process group id. Its
pid file (``<demo dir>/run/<service>.json``) records the pid, the process start time (field 22 of
``/proc/<pid>/stat``, in clock ticks since boot), its command line and its port. A pid is only
taken for the demo's server when all three still match: a recycled pid, or any other process,
is never signalled. Stopping sends SIGTERM to that process group, waits, and sends SIGKILL only to
the same group if it has not ended.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Record", "process_info", "is_running", "read_record", "write_record", "stop", "port_free",
           "listening", "group_members"]


@dataclass(frozen=True)
class Record:
    """What the demo knows about one server it started."""

    service: str
    pid: int
    start_time: int
    cmdline: list[str]
    port: int
    extra: dict | None = None


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    return raw[raw.rfind(")") + 2:].split()


def process_info(pid: int) -> tuple[int, list[str]] | None:
    """(start time, command line) of a live (not zombie) process, else None."""
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    except OSError:
        return None
    return int(fields[19]), [part.decode("utf-8", "replace") for part in cmdline]


def is_running(record: Record) -> bool:
    """Whether the process of ``record`` is still the one the demo started."""
    info = process_info(record.pid)
    return info is not None and info == (record.start_time, record.cmdline)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def read_record(path: Path) -> Record | None:
    """The record in ``path`` (None if there is none or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record(service=str(data["service"]), pid=int(data["pid"]), start_time=int(data["start_time"]),
                      cmdline=[str(part) for part in data["cmdline"]], port=int(data["port"]),
                      extra=data.get("extra"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(path: Path, service: str, pid: int, port: int, extra: dict | None = None,
                 command: list[str] | None = None, marker: str | None = None) -> Record:
    """Record the just-started process ``pid`` (it must be alive) in ``path``.

    Right after ``exec`` the kernel may show an empty command line for a moment: wait until it is
    ``command`` (or, without one, holds ``marker``, or is not empty).
    """
    deadline = time.monotonic() + 10
    while True:
        info = process_info(pid)
        if info is None:
            raise ProcessLookupError(f"process {pid} ended right after it started")
        if info[1] != [""] and (command is None or info[1] == command) and \
                (marker is None or marker in " ".join(info[1])):
            break
        if time.monotonic() > deadline:
            raise ProcessLookupError(f"process {pid} does not run {command}")
        time.sleep(0.02)
    record = Record(service=service, pid=pid, start_time=info[0], cmdline=info[1], port=port, extra=extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_text(json.dumps(asdict(record), indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return record


def stop(record: Record, timeout: float = 30.0) -> bool:
    """Stop the process group of ``record`` if it is still the demo's; True if it was running.

    SIGTERM first; SIGKILL to the same group if some member is still alive after ``timeout``.
    """
    if not is_running(record):
        return False
    try:
        # Started in its own session, the server leads its own process group (pgid == pid).
        group = os.getpgid(record.pid) == record.pid
    except ProcessLookupError:
        return False

    def alive() -> bool:
        return bool(group_members(record.pid)) if group else is_running(record)

    def send(signum: int) -> None:
        try:
            if group:
                os.killpg(record.pid, signum)
            else:
                os.kill(record.pid, signum)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive():
        send(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive() and time.monotonic() < deadline:
            time.sleep(0.2)
    # The kernel closes a dead process's listening socket a moment later: return once the port is
    # free, so that the next start finds it so.
    deadline = time.monotonic() + 5
    while listening(record.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def listening(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on ``port`` (IPv4 dotted; IPv6 as the kernel's
    hex), from ``/proc/net/tcp`` and ``/proc/net/tcp6``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add(address)
    return found


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now: nothing listens on the port, and it can
    be bound (connections of a server that has just ended may linger; servers reuse the address)."""
    if listening(port):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
