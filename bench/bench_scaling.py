"""Throughput of ``casper-qc prelabel`` with the local and the Ray executor, 1 and 2 workers.

Run by ``make bench`` (``bench/run.py``), not by ``make test``; figures go to docs/SCALING.md::

    python bench/bench_scaling.py                 # everything (about 7 minutes on a quiet machine)
    python bench/bench_scaling.py --files 12 --repeat 1 --no-cold --driver-tasks 0
    python bench/bench_scaling.py --skip-ray      # local executor only

Audio: ``--files`` copies (separate files, so that each can be dropped from the page cache) of
one generated 10-minute 16 kHz stereo conversation with crosstalk, built from the real
utterances of ``../shared/data/dev`` (``bench/turns_data.py``, as ``bench_turns.py`` does),
cached in ``$CASPER_QC_CACHE_DIR/bench-scaling`` (38.4 MB a file, 2.8 GB for 72).

Every run has ``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`` (as ``bench_turns.py``;
Ray sets the same in its one-CPU workers, the local pool in its processes); ``--keep-threads``
leaves them as they are. Each configuration runs the real command as a user runs it (``python -m casper_qc prelabel
<files> --out DIR --force --no-progress`` plus its executor options), timed from start to exit:

* ``local``: ``--workers 1`` and ``--workers 2``;
* ``ray``: a cluster this script starts on loopback and stops by process id — one node with one
  CPU, then a head and a second node with one CPU each (``ray start --block``, 127.0.0.2 and
  127.0.0.3, token authentication, sessions in a private temporary directory); the command joins
  it with ``--address``.

For each: ``up_to_date_run_s`` is the same command when every output is up to date (start-up,
imports, joining the cluster, the up-to-date checks); ``first_files_run_s`` a run on as many
files as there are workers (that plus starting the workers, Ray's included: each run is a new Ray
job with new worker processes); the *marginal* throughput is what the remaining files cost,
``(files - workers) * 10 min / (wall - first_files_run_s)``; ``file_s_median`` is the median
time one worker spent on one file (``seconds`` in the ``.stats.json`` outputs), the per-core
speed, slowed down when other processes take the CPU; ``cpu_s`` the CPU time of the run: the
command and the children it waited for, plus, for Ray, every process of the cluster's nodes
(raylets, GCS, workers: their counters in ``/proc``, read every 0.1 s during the run); ``cores_obtained`` = ``cpu_s / wall``, how much of
the machine the run actually got on a shared machine, and ``cpu_s_per_file`` the cost of one
recording, overheads included. Walls are the best of ``--repeat`` (CPU of that run).
Warm: the files are in the page cache (read once before).
Cold: every input is dropped from the page cache first (``posix_fadvise(DONTNEED)``), so the
run reads this machine's disk; ``disk_read`` is how fast plain sequential reads of up to 24 of
the files go from a cold cache (the storage bandwidth the runs had). ``--driver`` also measures how many tasks per second the Ray
driver turns around when the work is nil (a job returning 125 kB of text, the outputs of one
10-minute recording), the ceiling that no number of workers lifts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

MINUTES = 10.0
RESULT_BYTES = 125_000  # the four outputs of one 10-minute recording (measured: ~124.6 kB)


def cache_dir() -> Path:
    base = Path(os.environ.get("CASPER_QC_CACHE_DIR", Path.home() / ".cache" / "casper-qc"))
    path = base / "bench-scaling"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_dir() -> Path:
    shared = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared"))
    return shared / "data" / "dev"


def build_files(count: int) -> list[Path]:
    """``count`` copies of one 10-minute conversation (built once, then cached)."""
    import turns_data as td

    folder = cache_dir()
    base = folder / "conversation-10min.wav"
    if not base.exists():
        print(f"building {base.name} …", flush=True)
        td.write_wav(base, td.long_plan(dev_dir(), MINUTES / 60.0, seed=11))
    files = []
    for index in range(count):
        path = folder / f"conv-{index:03d}.wav"
        if not path.exists() or path.stat().st_size != base.stat().st_size:
            shutil.copyfile(base, path)
        files.append(path)
    return files


def drop_from_cache(files: list[Path]) -> None:
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def disk_read(files: list[Path]) -> dict:
    """Sequential read speed of the files from disk (dropped from the page cache first)."""
    drop_from_cache(files)
    started = time.perf_counter()
    warm(files)
    wall = time.perf_counter() - started
    size = sum(path.stat().st_size for path in files)
    return {"files": len(files), "MB": round(size / 1e6), "wall_s": round(wall, 2),
            "MB_per_s": round(size / 1e6 / wall)}


def warm(files: list[Path]) -> None:
    for path in files:
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


# --- a Ray cluster on loopback ------------------------------------------------------------------

def session_cpu(sessions: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of every live process of these sessions, by process id."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) in sessions:  # the session (6th field of stat): a Ray node's processes
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class CpuSampler:
    """CPU used by a Ray cluster's processes (workers included) while it runs: their CPU
    counters, read every 0.1 s (a process living less than that can be missed)."""

    def __init__(self, sessions: list[int]) -> None:
        self.sessions = sessions
        self.first = session_cpu(sessions)
        self.last = dict(self.first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.last.update(session_cpu(self.sessions))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.last.update(session_cpu(self.sessions))
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


@contextmanager
def ray_cluster(nodes: int) -> Iterator[tuple[str, dict[str, str], list[int]]]:
    """``nodes`` one-CPU Ray nodes on 127.0.0.2, .3…; yields (address, env for drivers,
    the nodes' sessions)."""
    temp = Path(tempfile.mkdtemp(prefix="cqbench-", dir="/tmp"))
    token = temp / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token), RAY_TMPDIR=str(temp),
               RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(HERE))
    from casper_qc.labelstudio_server import free_port

    port = free_port()
    address = f"127.0.0.2:{port}"
    ray = str(Path(sys.executable).with_name("ray"))
    procs: list[subprocess.Popen] = []
    try:
        for index in range(nodes):
            ip = f"127.0.0.{2 + index}"
            where = ["--head", "--port", str(port), "--include-dashboard=false", "--disable-usage-stats",
                     "--temp-dir", str(temp)] if index == 0 else ["--address", address]
            log = open(temp / f"node{index}.log", "wb")
            procs.append(subprocess.Popen([ray, "start", *where, "--node-ip-address", ip, "--num-cpus", "1",
                                           "--block"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True))
            if index == 0:
                deadline = time.monotonic() + 90
                while True:
                    try:
                        socket.create_connection(("127.0.0.2", port), timeout=1).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline or procs[0].poll() is not None:
                            raise RuntimeError((temp / "node0.log").read_text()[-2000:]) from None
                        time.sleep(0.2)
        probe = ("import ray, time, logging\n"
                 f"ray.init(address={address!r}, logging_level=logging.ERROR)\n"
                 f"while ray.cluster_resources().get('CPU', 0) < {nodes}: time.sleep(0.2)\n")
        subprocess.run([sys.executable, "-c", probe], env=env, check=True, timeout=120)
        yield address, env, [proc.pid for proc in procs]
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        shutil.rmtree(temp, ignore_errors=True)


# --- measuring ------------------------------------------------------------------------------------

def run_prelabel(files: list[Path], out: Path, options: list[str], env: dict[str, str], *,
                 force: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and the children it waited for)."""
    command = [sys.executable, "-m", "casper_qc", "prelabel", *map(str, files), "--out", str(out),
               "--no-progress", *options] + (["--force"] if force else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(name: str, files: list[Path], workers: int, options: list[str], env: dict[str, str],
            repeat: int, cold: bool, groups: list[int] | None = None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="cqbench-out-"))
    try:
        audio_hours = len(files) * MINUTES / 60.0
        warm(files)
        run_prelabel(files, out, options, env)  # warm-up: bytecode, outputs present
        fixed = min(run_prelabel(files, out, options, env, force=False)[0] for _ in range(repeat))
        first = min(run_prelabel(files[:workers], out, options, env)[0] for _ in range(repeat))
        walls, cpus, per_file = [], [], []
        for _ in range(repeat):
            sampler = CpuSampler(groups) if groups else None
            wall, cpu = run_prelabel(files, out, options, env)
            walls.append(wall)
            cpus.append(cpu + (sampler.stop() if sampler else 0.0))
            per_file.append(statistics.median(json.loads(p.read_text())["seconds"]
                                              for p in out.glob("*.stats.json")))
        wall = min(walls)
        extra = (len(files) - workers) * MINUTES / 60.0
        row = {"configuration": name, "files": len(files), "audio_hours": round(audio_hours, 3),
               "up_to_date_run_s": round(fixed, 2), "first_files_run_s": round(first, 2),
               "wall_s": [round(w, 2) for w in walls], "cpu_s": round(cpus[walls.index(wall)], 2),
               "cores_obtained": round(cpus[walls.index(wall)] / wall, 2),
               "cpu_s_per_file": round(cpus[walls.index(wall)] / len(files), 3),
               "file_s_median": round(min(per_file), 3),
               "files_per_s": round(len(files) / wall, 2),
               "audio_h_per_wall_h": round(audio_hours * 3600 / wall),
               "marginal_audio_h_per_wall_h": round(extra * 3600 / max(wall - first, 1e-3))}
        if cold:
            drop_from_cache(files)
            cold_wall = run_prelabel(files, out, options, env)[0]
            row["cold_wall_s"] = round(cold_wall, 2)
            row["cold_audio_h_per_wall_h"] = round(audio_hours * 3600 / cold_wall)
        print(f"  {name:28s} {json.dumps({k: v for k, v in row.items() if k != 'configuration'})}", flush=True)
        return row
    finally:
        shutil.rmtree(out, ignore_errors=True)


def echo_job(index: int) -> str:
    """A task that does nothing but return one recording's worth of output text."""
    return "x" * RESULT_BYTES


class _Count:
    def __init__(self) -> None:
        self.done = 0

    def started(self, item: object) -> None:
        pass

    def finished(self, item: object, outcome: object) -> None:
        self.done += 1


def driver_ceiling(address: str, env: dict[str, str], tasks: int, in_flight: int | None) -> dict:
    """Tasks per second the Ray driver turns around with nil work (run in a child process that
    joins the cluster, like the CLI), with ``in_flight`` tasks at most (None: the default)."""
    code = ("import json, sys, time\n"
            f"sys.path.insert(0, {str(HERE)!r})\n"
            "import bench_scaling as b\n"
            "from casper_qc.executors import make_executor\n"
            f"ex = make_executor('ray', address={address!r}, max_in_flight={in_flight!r})\n"
            "count = b._Count()\n"
            "ex.map(b.echo_job, range(200), count)\n"  # warm-up: worker processes started
            "t = time.perf_counter()\n"
            f"ex.map(b.echo_job, range({tasks}), count)\n"
            "wall = time.perf_counter() - t\n"
            "ex.close()\n"
            f"print(json.dumps({{'tasks': {tasks}, 'wall_s': round(wall, 2), "
            f"'tasks_per_s': round({tasks} / wall), 'result_bytes': {RESULT_BYTES}, "
            "'max_in_flight': ex.max_in_flight}))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          cwd=REPO)
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  ray driver ceiling           {json.dumps(row)}", flush=True)
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=72, help="10-minute recordings per run (default 72)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per configuration (best is kept)")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="skip the cold-cache runs")
    parser.add_argument("--driver-tasks", type=int, default=2000,
                        help="tasks of the driver-ceiling run (0: skip it)")
    parser.add_argument("--keep-threads", action="store_true",
                        help="leave OMP_NUM_THREADS & co. as they are (default: 1 for every run)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    files = build_files(args.files)
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    if not args.keep_threads:  # one BLAS/OpenMP thread per worker, as bench_turns.py and Ray do
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = "1"
    results: dict = {"machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()}, "runs": []}
    print(f"{len(files)} files x {MINUTES:g} min ({files[0].stat().st_size / 1e6:.1f} MB each), "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    results["disk_read"] = disk_read(files[:24])
    print(f"  disk read, cold cache        {json.dumps(results['disk_read'])}", flush=True)
    for workers in (1, 2):
        results["runs"].append(measure(f"local, {workers} worker(s)", files, workers, ["--workers", str(workers)],
                                       env, args.repeat, args.cold))
    if not args.skip_ray:
        for nodes in (1, 2):
            with ray_cluster(nodes) as (address, ray_env, groups):
                results["runs"].append(measure(f"ray, {nodes} node(s) x 1 CPU", files, nodes,
                                               ["--executor", "ray", "--address", address], ray_env,
                                               args.repeat, args.cold, groups))
                if nodes == 2 and args.driver_tasks:
                    results["driver"] = [driver_ceiling(address, ray_env, args.driver_tasks, in_flight)
                                         for in_flight in (None, 64)]
    results["machine"]["load_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
