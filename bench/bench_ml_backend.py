"""Benchmark of the Label Studio ML backend (``ml_backend``): latency, load and memory.

Run by ``make bench`` (``bench/run.py``), not by ``make test``::

    python bench/bench_ml_backend.py                    # gunicorn and the CLI server
    python bench/bench_ml_backend.py --server gunicorn  # one of them
    python bench/bench_ml_backend.py --json out.json    # also write the figures as JSON

What it measures, against a real server process on 127.0.0.1 with basic auth on (as Label Studio
connects to it) and the task audio read from a shared local-files document root:

* ``GET /health`` latency (``--health`` sequential requests on one keep-alive connection);
* ``POST /predict`` on a 10-minute 16 kHz stereo conversation (real utterances of
  ``../shared/data/dev`` with crosstalk, built by ``bench/turns_data.py``), uncached (the
  prediction cache emptied and the file's mtime changed before each of ``--uncached`` requests,
  so it is hashed and pre-labelled afresh) and cached (``--cached``);
* load: ``wrk`` (Debian package ``wrk``) with 20 connections posting that task for
  ``--duration`` seconds, twice, starting from an empty cache (the first 20 requests share one
  computation); then ``--rounds`` rounds of 20 simultaneous uncached requests for 20 *different*
  10-minute recordings (a Python thread pool and a barrier: wrk sends one body per script, not
  twenty), the cache emptied before each round. Errors are non-2xx answers and socket errors.
  Memory is the resident set of the server's processes (gunicorn's master and workers) after
  warm-up, after each load round and after 5 s idle: flat means the later rounds do not add.

Latencies are measured by the client (``time.perf_counter`` around the request), so they include
HTTP and JSON; figures are median, 95th percentile and maximum. The machine's load average is
printed with the figures: the development machine is shared, so compare runs on a quiet one.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402
import soundfile  # noqa: E402

SR = 16000
USER, PASSWORD = "bench", "bench-password"
CONFIG = (REPO / "label_configs" / "conversation.xml").read_text(encoding="utf-8")
TARGETS = {"health_ms": 50.0, "uncached_s": 2.0, "cached_ms": 50.0}


def cache_base() -> Path:
    base = Path(os.environ.get("CASPER_QC_CACHE_DIR", Path.home() / ".cache" / "casper-qc"))
    path = base / "bench-ml-backend"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_dir() -> Path:
    shared = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared"))
    return shared / "data" / "dev"


def ten_minutes() -> Path:
    """The 10-minute stereo conversation (built once, kept in the cache directory)."""
    path = cache_base() / "conversation-10min.wav"
    if not path.exists():
        from turns_data import long_plan, write_wav

        print(f"building {path} from {dev_dir()} ...", flush=True)
        write_wav(path, long_plan(dev_dir(), 10 / 60, seed=11))
    return path


def variants(source: Path, folder: Path, count: int) -> list[str]:
    """``count`` different recordings of the same length: the source rotated by 7 s steps."""
    samples, rate = soundfile.read(source, dtype="int16")
    names = []
    for index in range(count):
        name = f"variant-{index:02d}.wav"
        soundfile.write(folder / name, np.roll(samples, (index + 1) * 7 * rate, axis=0), rate, subtype="PCM_16")
        names.append(name)
    return names


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "max": ordered[-1], "n": len(ordered)}


class Server:
    """The backend as a child process (gunicorn or ``casper-qc ml-backend``); stopped by its pid."""

    def __init__(self, kind: str, port: int, env: dict[str, str], log: Path) -> None:
        self.kind = kind
        self.url = f"http://127.0.0.1:{port}"
        if kind == "gunicorn":
            command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:ml_backend.gunicorn_conf",
                       "-b", f"127.0.0.1:{port}", "ml_backend.wsgi:app"]
        else:
            command = [sys.executable, "-m", "casper_qc", "ml-backend", "--port", str(port)]
        self._log = open(log, "w")
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", auth=(USER, PASSWORD), timeout=2).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"{kind} did not start; see {log}")

    def rss_mb(self) -> float:
        root = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 1024**2

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def body(name: str, task_id: int = 1) -> dict:
    return {"tasks": [{"id": task_id, "data": {"audio": f"/data/local-files/?d={name}"}}],
            "project": "1.1700000000", "label_config": CONFIG, "params": {"context": None}}


def timed(session: requests.Session, method: str, url: str, **kwargs) -> float:
    started = time.perf_counter()
    response = session.request(method, url, timeout=120, **kwargs)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: HTTP {response.status_code} {response.text[:300]}")
    return elapsed


def wrk(url: str, seconds: int, folder: Path) -> dict:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    script = folder / "predict.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body('conversation.wav')))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Basic {token}"\n', encoding="utf-8")
    done = subprocess.run(["wrk", "-t2", "-c20", f"-d{seconds}s", "--timeout", "30s", "--latency",
                           "-s", str(script), f"{url}/predict"], capture_output=True, text=True, check=True)
    out = done.stdout
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M))
    return {"requests": requests_done, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "latency": latency, "raw": out}


def concurrent_uncached(url: str, names: list[str]) -> dict:
    barrier = threading.Barrier(len(names))

    def one(item: tuple[int, str]) -> tuple[int, float]:
        index, name = item
        with requests.Session() as session:
            barrier.wait()
            started = time.perf_counter()
            response = session.post(f"{url}/predict", json=body(name, index + 100), auth=(USER, PASSWORD),
                                    timeout=300)
            return response.status_code, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        answers = list(pool.map(one, enumerate(names)))
    return {"requests": len(answers), "errors": sum(code != 200 for code, _ in answers),
            "wall_s": time.perf_counter() - started, "latency_s": quantiles([t for _, t in answers])}


def run_server(kind: str, args: argparse.Namespace, media: Path, names: list[str], work: Path) -> dict:
    cache = work / f"cache-{kind}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABEL_STUDIO_", "BASIC_AUTH_", "CASPER_", "LOCAL_FILES_"))}
    env.update(LOCAL_FILES_DOCUMENT_ROOT=str(media), MODEL_DIR=str(work / f"model-{kind}"),
               CASPER_CACHE_DIR=str(cache), BASIC_AUTH_USER=USER, BASIC_AUTH_PASS=PASSWORD, LOG_LEVEL="WARNING")
    from casper_qc.labelstudio_server import free_port

    server = Server(kind, free_port(), env, work / f"{kind}.log")
    result: dict = {"server": kind}
    try:
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        for _ in range(4):  # every worker: setup (starts the warm-up) and one small prediction
            timed(session, "POST", f"{server.url}/setup", json={"project": "1.1700000000", "schema": CONFIG})
            timed(session, "POST", f"{server.url}/predict", json=body("warm-up.wav"))
        result["health_ms"] = {k: v * 1000 if k != "n" else v for k, v in quantiles(
            [timed(session, "GET", f"{server.url}/health") for _ in range(args.health)]).items()}
        uncached = []
        for _ in range(args.uncached):
            shutil.rmtree(cache / "predictions", ignore_errors=True)
            os.utime(media / "conversation.wav")  # a new mtime: the file is hashed again too
            uncached.append(timed(session, "POST", f"{server.url}/predict", json=body("conversation.wav")))
        result["uncached_s"] = quantiles(uncached)
        result["cached_ms"] = {k: v * 1000 if k != "n" else v for k, v in quantiles(
            [timed(session, "POST", f"{server.url}/predict", json=body("conversation.wav"))
             for _ in range(args.cached)]).items()}
        session.close()
        rss = {"after_warm_up": server.rss_mb()}
        shutil.rmtree(cache / "predictions", ignore_errors=True)
        result["wrk_1"] = wrk(server.url, args.duration, work)
        rss["after_wrk_1"] = server.rss_mb()
        result["wrk_2"] = wrk(server.url, args.duration, work)
        rss["after_wrk_2"] = server.rss_mb()
        for round_ in range(1, args.rounds + 1 if names else 1):
            shutil.rmtree(cache / "predictions", ignore_errors=True)
            for name in names:
                os.utime(media / name)
            result[f"distinct_{round_}"] = concurrent_uncached(server.url, names)
            rss[f"after_distinct_{round_}"] = server.rss_mb()
        time.sleep(5)
        rss["idle_5s"] = server.rss_mb()
        result["rss_mb"] = rss
    finally:
        server.stop()
    return result


def report(results: list[dict]) -> None:
    print(f"\nload average (1, 5, 15 min): {os.getloadavg()}; CPUs: {os.cpu_count()}")
    for r in results:
        print(f"\n== {r['server']}")
        h, u, c = r["health_ms"], r["uncached_s"], r["cached_ms"]
        verdict = lambda value, target: "ok" if value <= target else "OVER TARGET"  # noqa: E731
        print(f"GET /health      median {h['median']:.1f} ms, p95 {h['p95']:.1f}, max {h['max']:.1f} "
              f"(n={h['n']}; target <= {TARGETS['health_ms']:g} ms: {verdict(h['median'], TARGETS['health_ms'])})")
        print(f"/predict uncached median {u['median']:.2f} s, p95 {u['p95']:.2f}, max {u['max']:.2f} "
              f"(n={u['n']}; target <= {TARGETS['uncached_s']:g} s: {verdict(u['median'], TARGETS['uncached_s'])})")
        print(f"/predict cached  median {c['median']:.1f} ms, p95 {c['p95']:.1f}, max {c['max']:.1f} "
              f"(n={c['n']}; target <= {TARGETS['cached_ms']:g} ms: {verdict(c['median'], TARGETS['cached_ms'])})")
        for key in ("wrk_1", "wrk_2"):
            w = r[key]
            print(f"{key}: wrk -c20: {w['requests']} requests, {w['rps']:.0f}/s, non-2xx {w['non_2xx']}, "
                  f"socket errors {w['socket_errors']}, latency {w['latency']}")
        for key in sorted(k for k in r if k.startswith("distinct_")):
            if key in r:
                d = r[key]
                print(f"{key}: {d['requests']} simultaneous, errors {d['errors']}, wall {d['wall_s']:.1f} s, "
                      f"latency median {d['latency_s']['median']:.1f} s, max {d['latency_s']['max']:.1f} s")
        print("RSS (MB, all server processes): " + ", ".join(f"{k} {v:.0f}" for k, v in r["rss_mb"].items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=("gunicorn", "cli", "both"), default="both")
    parser.add_argument("--health", type=int, default=200)
    parser.add_argument("--uncached", type=int, default=5)
    parser.add_argument("--cached", type=int, default=50)
    parser.add_argument("--duration", type=int, default=15, help="seconds of each wrk round")
    parser.add_argument("--distinct", type=int, default=20, help="different recordings posted at once (0: skip)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --distinct uncached requests")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"bench_ml_backend: ignoring arguments meant for other benchmarks: {unknown}", file=sys.stderr)
    if shutil.which("wrk") is None:
        print("bench_ml_backend: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 1
    source = ten_minutes()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ml-backend-") as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        shutil.copy(source, media / "conversation.wav")
        samples, rate = soundfile.read(source, dtype="int16", frames=20 * SR)
        soundfile.write(media / "warm-up.wav", samples, rate, subtype="PCM_16")
        names = variants(source, media, args.distinct) if args.distinct else []
        info = soundfile.info(media / "conversation.wav")
        print(f"task audio: {info.duration:.0f} s, {info.channels} channels, {info.samplerate} Hz, "
              f"{(media / 'conversation.wav').stat().st_size / 1024**2:.0f} MB", flush=True)
        for kind in (("gunicorn", "cli") if args.server == "both" else (args.server,)):
            print(f"running {kind} ...", flush=True)
            results.append(run_server(kind, args, media, names, work))
    report(results)
    if args.json:
        for r in results:
            for key in ("wrk_1", "wrk_2"):
                r[key].pop("raw", None)
        args.json.write_text(json.dumps({"loadavg": os.getloadavg(), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
