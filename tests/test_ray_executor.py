"""The Ray executor on a real two-node Ray cluster on loopback.

The module's cluster: ``ray start --head`` on 127.0.0.2 and a second node on 127.0.0.3, one CPU
each, token authentication with a fresh token file, sessions under a private temporary
directory, this directory on the nodes' ``PYTHONPATH`` (so that workers can import the test
jobs). Both are stopped at the end by process id (``SIGTERM`` to each ``ray start --block``,
then ``SIGKILL`` to whatever is left of its own process group): nothing else is touched, and
``ray stop`` is never run. Ray itself replaces 127.0.0.1 by the machine's address for a node
of a multi-node cluster, hence the other loopback addresses.

``prelabel --executor ray`` runs as a subprocess (as a user runs it); the executor-level tests
run in this process, joined to the same cluster.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from casper_qc.cli import build_parser, main
from casper_qc.executors import make_executor
from casper_qc.executors.inputs import expand
from casper_qc.labelstudio_server import free_port

from test_executors_jobs import (Counted, DieOn, Recorder, Slow, StallOnce, make_corpus, node_ip,
                                 same_outputs, square, wait_for_pid)

pytestmark = pytest.mark.slow  # a Ray cluster starts for the module (about 10 s)

HERE = Path(__file__).resolve().parent
HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
RAY_BIN = Path(sys.executable).with_name("ray")


@dataclass
class Cluster:
    address: str
    env: dict[str, str]  # for drivers: auth token, temp dir, no RAY_ADDRESS
    temp: Path


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as handle:
        return subprocess.Popen([str(RAY_BIN), "start", *args, "--block"], env=env, stdout=handle,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    """Stop one ``ray start --block`` and its process group, nothing else."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # it drains its node and stops the processes it started
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of that group only
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _wait_for_port(host: str, port: int, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the Ray head did not listen on {host}:{port} within {timeout} s")


@pytest.fixture(scope="module")
def cluster():
    temp = Path(tempfile.mkdtemp(prefix="cqray-", dir="/tmp"))  # short: Ray puts sockets in it
    token = temp / "auth_token"
    token.write_text(secrets.token_hex(32))
    settings = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_TMPDIR": str(temp),
                "RAY_USAGE_STATS_ENABLED": "0"}
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | settings
    nodes_env = env | {"PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    port = free_port()
    address = f"{HEAD_IP}:{port}"
    saved = {k: os.environ.get(k) for k in [*settings, "RAY_ADDRESS"]}
    procs: list[subprocess.Popen] = []
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.update(settings)  # before ray is imported here: it reads the auth mode then
    import ray

    try:
        procs.append(_start(["--head", "--node-ip-address", HEAD_IP, "--port", str(port), "--num-cpus", "1",
                             "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp)],
                            nodes_env, temp / "head.log"))
        _wait_for_port(HEAD_IP, port, procs[0], temp / "head.log")
        procs.append(_start(["--address", address, "--node-ip-address", WORKER_IP, "--num-cpus", "1"],
                            nodes_env, temp / "worker.log"))
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        deadline = time.monotonic() + 90
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            if time.monotonic() > deadline or procs[1].poll() is not None:
                raise RuntimeError(f"the second node did not join: {(temp / 'worker.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield Cluster(address, env, temp)
    finally:
        ray.shutdown()
        for proc in reversed(procs):
            _stop(proc)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(temp, ignore_errors=True)


def prelabel(cluster_env: dict[str, str], *args: str, cwd: Path, timeout: float = 300,
             **extra_env: str) -> subprocess.CompletedProcess:
    """``casper-qc prelabel ARGS`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", *args], cwd=cwd,
                          env=cluster_env | extra_env, capture_output=True, text=True, timeout=timeout)


def write_manifest(path: Path, recordings: dict[str, list[str]]) -> Path:
    """A Lhotse recordings manifest: id -> its files (one stereo file, or mono files per channel)."""
    import soundfile as sf

    lines = []
    for rid, files in recordings.items():
        info = sf.info(str(path.parent / files[0]))  # relative to the manifest's folder here
        if len(files) == 1:
            sources = [{"type": "file", "channels": list(range(info.channels)), "source": files[0]}]
        else:
            sources = [{"type": "file", "channels": [c], "source": f} for c, f in enumerate(files)]
        lines.append(json.dumps({"id": rid, "sources": sources, "sampling_rate": info.samplerate,
                                 "num_samples": info.frames, "duration": info.frames / info.samplerate,
                                 "channel_ids": list(range(len(sources) if len(files) > 1 else info.channels))}))
    path.write_text("\n".join(lines) + "\n")
    return path


# --- prelabel --executor ray -------------------------------------------------------------------

def test_ray_outputs_are_those_of_the_local_executor(cluster, tmp_path, monkeypatch):
    make_corpus(tmp_path / "corpus")
    write_manifest(tmp_path / "recordings.jsonl", {"conv-7": ["corpus/sess_left.wav", "corpus/sess_right.wav"]})
    # relative paths: the workers resolve them against the driver's directory
    args = ["corpus/cut.wav", "corpus/talk.mp3", "corpus/m*.wav", "corpus/quiet.wav", "recordings.jsonl",
            "--pair", "corpus/sess_left.wav", "corpus/sess_right.wav", "--no-progress"]
    proc = prelabel(cluster.env, *args, "--out", "ray-out", "--executor", "ray", "--address", cluster.address,
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["prelabel: Ray, 2 CPUs, at most 4 recordings in flight",
                                        "prelabel: 6 written, 0 up to date, 0 failed"]
    monkeypatch.chdir(tmp_path)
    assert main(["prelabel", *args, "--out", "local-out"]) == 0
    assert len(list((tmp_path / "ray-out").iterdir())) == 6 * 4
    assert same_outputs(tmp_path / "ray-out", tmp_path / "local-out") == []
    task = json.loads((tmp_path / "ray-out" / "sess.tasks.json").read_text())[0]
    assert task["data"]["audio"] == "corpus/sess_left.wav+corpus/sess_right.wav"  # as the user named them


def test_the_draft_transcript_step_on_ray_gives_the_local_executors_outputs(cluster, tmp_path, monkeypatch):
    """Drafts from a folder and pocketsphinx for the recordings without one, run by Ray workers
    that resolve the relative --drafts folder against the driver's directory."""
    make_corpus(tmp_path / "corpus")
    (tmp_path / "drafts").mkdir()
    shutil.copy(HERE / "data" / "drafts" / "michael_19-31s.ctm", tmp_path / "drafts" / "cut.ctm")
    args = ["corpus/cut.wav", "corpus/talk.mp3", "corpus/mix.wav", "--drafts", "drafts", "--asr",
            "pocketsphinx", "--no-progress"]
    proc = prelabel(cluster.env, *args, "--out", "ray-out", "--executor", "ray", "--address", cluster.address,
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[-1] == "prelabel: 3 written, 0 up to date, 0 failed"
    monkeypatch.chdir(tmp_path)
    assert main(["prelabel", *args, "--out", "local-out"]) == 0
    assert same_outputs(tmp_path / "ray-out", tmp_path / "local-out") == []
    sources = {stem: json.loads((tmp_path / "ray-out" / f"{stem}.stats.json").read_text())["transcript"]
               for stem in ("cut", "talk", "mix")}
    assert sources["cut"]["source"] == "draft" and sources["cut"]["words"] > 20
    assert sources["talk"]["source"] == "asr" and sources["talk"]["words"] > 0


def test_a_missing_input_is_one_line_naming_its_node_and_a_rerun_picks_up(cluster, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    late = corpus / "late.wav"
    args = [str(corpus / "cut.wav"), str(late), "--out", str(tmp_path / "out"), "--executor", "ray",
            "--no-progress"]
    first = prelabel(cluster.env, *args, cwd=tmp_path, RAY_ADDRESS=cluster.address)  # Ray's variable
    assert first.returncode == 2
    lines = first.stderr.splitlines()
    assert len(lines) == 3 and "Traceback" not in first.stderr
    assert lines[1].startswith(f"casper-qc: error: {late}: no such file (on node 127.0.0.")
    assert lines[2] == "prelabel: 1 written, 0 up to date, 1 failed"
    shutil.copy(corpus / "cut.wav", late)  # the file arrives on the storage
    second = prelabel(cluster.env, *args, cwd=tmp_path, RAY_ADDRESS=cluster.address)
    assert second.returncode == 0, second.stderr
    assert second.stderr.splitlines()[-1] == "prelabel: 1 written, 1 up to date, 0 failed"


def test_an_unreachable_address_fails_fast_in_one_line(tmp_path):
    port = free_port()  # nothing listens there
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", str(tmp_path / "a.wav"), "--out",
                           str(tmp_path / "out"), "--executor", "ray", "--address", f"127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (f"casper-qc: error: Ray cluster at 127.0.0.1:{port}: connection refused "
                           f"(no Ray head is listening on port {port})\n")
    assert time.monotonic() - started < 20


def test_a_port_that_never_answers_as_ray_is_given_up_after_the_timeout(tmp_path):
    with socket.socket() as listener:  # the kernel completes the handshake; nobody speaks gRPC
        listener.bind((HEAD_IP, 0))
        listener.listen(16)
        address = f"{HEAD_IP}:{listener.getsockname()[1]}"
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", str(tmp_path / "a.wav"),
                               "--out", str(tmp_path / "out"), "--executor", "ray", "--address", address,
                               "--connect-timeout", "4"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (f"casper-qc: error: Ray cluster at {address}: could not join it "
                                            "within 4 s (is it a Ray head of this Ray version?)")
    assert time.monotonic() - started < 30


def test_cluster_addresses_are_parsed_or_refused():
    from casper_qc.errors import InputError
    from casper_qc.executors.ray_executor import split_address

    assert split_address("10.0.0.5:6380") == ("10.0.0.5", 6380)
    assert split_address("head.example") == ("head.example", 6379)
    assert split_address("ray://head:10001") == ("head", 10001)
    assert split_address("[::1]:7000") == ("::1", 7000)
    with pytest.raises(InputError, match="Ray cluster address 'head:port': expected HOST:PORT"):
        split_address("head:port")


def test_a_driver_without_the_clusters_token_is_told_so(cluster, tmp_path):
    env = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")} | {"HOME": str(tmp_path)}
    env["RAY_gcs_server_port_wait_time_s"] = "3"  # Ray's join attempts (default 20, one a second)
    proc = subprocess.run([sys.executable, "-m", "casper_qc", "prelabel", str(tmp_path / "a.wav"), "--out",
                           str(tmp_path / "out"), "--executor", "ray", "--address", cluster.address],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    last = proc.stderr.splitlines()[-1]  # Ray's own retry warnings come before it
    assert last == (f"casper-qc: error: Ray cluster at {cluster.address}: cannot join it: AuthenticationError: "
                    "RPC error: InvalidAuthToken: Authentication token is missing or incorrect (this driver "
                    "needs the cluster's token: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)")
    assert not (tmp_path / ".ray").exists()


def test_workers_do_not_apply_to_a_cluster_address(tmp_path, capsys):
    assert main(["prelabel", "a.wav", "--out", str(tmp_path), "--executor", "ray", "--address", "h:1",
                 "--workers", "2"]) == 2
    assert "--workers sets the CPUs of a local Ray instance" in capsys.readouterr().err


def test_without_an_address_a_private_loopback_instance_runs_it(cluster, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    proc = prelabel(cluster.env, str(corpus / "cut.wav"), str(corpus / "gone.wav"), "--out", str(tmp_path / "o"),
                    "--executor", "ray", "--workers", "1", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "prelabel: Ray, 1 CPUs, at most 2 recordings in flight"
    assert f"casper-qc: error: {corpus / 'gone.wav'}: no such file (on node 127.0.0.1)" in proc.stderr
    assert (tmp_path / "o" / "cut.stats.json").exists()


# --- the executor itself, in this process --------------------------------------------------------

def test_tasks_spread_over_both_nodes_with_a_bounded_number_in_flight(cluster):
    items = Counted(list(range(16)))
    recorder = Recorder()
    executor = make_executor("ray", address=cluster.address, max_in_flight=3)
    assert executor.cpus == 2
    executor.map(node_ip, items, recorder)
    executor.close()
    assert sorted(recorder.outcomes) == list(range(16))
    assert {o.result for o in recorder.outcomes.values()} == {HEAD_IP, WORKER_IP}
    assert recorder.most_in_flight <= 3


def test_a_worker_killed_mid_recording_is_retried_and_every_output_written(cluster, tmp_path):
    from casper_qc.cli.prelabel import PrelabelJob, _fingerprint, _settings, write_outputs
    from casper_qc.turns import MODEL_VERSION

    corpus = make_corpus(tmp_path / "corpus")
    settings = _settings(build_parser().parse_args(["prelabel", "x", "--out", "y"]))
    job = PrelabelJob(settings, _fingerprint(settings), MODEL_VERSION)
    items = list(expand([str(corpus / "*.wav"), str(corpus / "talk.mp3")]))
    victims: list[int] = []

    def kill() -> None:
        victims.append(wait_for_pid(tmp_path / "stalled.pid"))
        os.kill(victims[0], signal.SIGKILL)

    killer = threading.Thread(target=kill)
    killer.start()
    recorder = Recorder()
    executor = make_executor("ray", address=cluster.address)
    executor.map(StallOnce(job, str(tmp_path), "cut"), items, recorder)
    executor.close()
    killer.join()
    assert victims and victims[0] != os.getpid()
    for outcome in recorder.outcomes.values():
        assert outcome.ok, outcome.error
        write_outputs(tmp_path / "ray", outcome.result)
    assert main(["prelabel", str(corpus / "*.wav"), str(corpus / "talk.mp3"), "--out", str(tmp_path / "local"),
                 "--no-progress"]) == 0
    assert len(list((tmp_path / "ray").iterdir())) == 4 * len(items)
    assert same_outputs(tmp_path / "ray", tmp_path / "local") == []


def test_an_input_that_always_kills_its_worker_is_reported_after_its_retries(cluster):
    recorder = Recorder()
    executor = make_executor("ray", address=cluster.address, retries=1)
    executor.map(DieOn(Slow(square, 0.01), 3), range(8), recorder, describe=lambda x: f"item {x}")
    executor.close()
    assert {x: o.result for x, o in recorder.outcomes.items() if o.ok} == {x: x * x for x in range(8) if x != 3}
    assert recorder.outcomes[3].error == "item 3: its worker process died while running it (2 attempts)"
