"""The executor seam on this machine: the local executor (in-process and a process pool, a worker
killed mid-run), input expansion (globs, Lhotse manifests), and ``prelabel`` over them."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from casper_qc.cli import main
from casper_qc.errors import InputError
from casper_qc.executors import make_executor
from casper_qc.executors.inputs import Recording, count, expand
from casper_qc.executors.local import LocalExecutor
from casper_qc.formats.jsonl import read_supervisions

from helpers import praat_tier_names
from test_executors_jobs import (Counted, DieOn, Recorder, Slow, StallOnce, fussy, make_corpus,
                                 same_outputs, square, wait_for_pid)

SR = 16000


# --- the local executor ---------------------------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_every_item_is_reported_once_with_input_errors_and_bugs_as_lines(workers):
    recorder = Recorder()
    with LocalExecutor(workers) as executor:
        executor.map(fussy, range(8), recorder, describe=lambda x: f"item {x}")
    assert sorted(recorder.outcomes) == list(range(8)) and sorted(recorder.started_items) == list(range(8))
    assert [recorder.outcomes[x].result for x in (0, 2, 6)] == [0, 4, 36]
    assert recorder.outcomes[3].error == "item 3: odd"
    assert recorder.outcomes[4].error == "item 4: internal error: KeyError: 'four'"
    assert all(o.attempts == 1 for o in recorder.outcomes.values())


def test_a_pool_keeps_at_most_max_in_flight_and_takes_inputs_lazily():
    items = Counted(list(range(40)))
    recorder = Recorder()
    taken_when_finished = []

    class Watch(Recorder):
        def finished(self, item, outcome):
            taken_when_finished.append(items.taken - len(recorder.outcomes))
            recorder.finished(item, outcome)

        def started(self, item):
            recorder.started(item)

    with LocalExecutor(2, max_in_flight=3) as executor:
        executor.map(Slow(square, 0.02), items, Watch())
    assert {x: o.result for x, o in recorder.outcomes.items()} == {x: x * x for x in range(40)}
    assert recorder.most_in_flight <= 3
    assert max(taken_when_finished) <= 3  # never more taken than finished + in flight


def test_a_killed_pool_worker_costs_a_rerun_not_a_result(tmp_path):
    """The pool breaks when a worker is killed; the items in flight run again, one at a time."""
    recorder = Recorder()
    job = StallOnce(square, str(tmp_path), stem=5)
    killer = threading.Thread(target=lambda: os.kill(wait_for_pid(tmp_path / "stalled.pid"), signal.SIGKILL))
    killer.start()
    with LocalExecutor(2, max_in_flight=4) as executor:
        executor.map(job, range(12), recorder)
    killer.join()
    assert {x: o.result for x, o in recorder.outcomes.items()} == {x: x * x for x in range(12)}
    assert all(o.ok for o in recorder.outcomes.values())


def test_an_input_that_always_kills_its_worker_fails_alone_after_its_retries():
    recorder = Recorder()
    with LocalExecutor(2, max_in_flight=4, retries=2) as executor:
        executor.map(DieOn(square, 3), range(10), recorder, describe=lambda x: f"item {x}")
    failed = {x: o for x, o in recorder.outcomes.items() if not o.ok}
    assert list(failed) == [3]
    assert failed[3].error == "item 3: its worker process died while running it (3 attempts)"
    assert failed[3].attempts == 3
    assert {x: o.result for x, o in recorder.outcomes.items() if o.ok} == {x: x * x for x in range(10) if x != 3}


def test_bad_executor_options_are_input_errors():
    for kwargs, message in (({"workers": 0}, "--workers must be at least 1"),
                            ({"max_in_flight": 0}, "--max-in-flight must be at least 1"),
                            ({"retries": -1}, "--retries must not be negative"),
                            ({"address": "h:1"}, "--address applies to --executor ray only"),
                            ({"connect_timeout": 5.0}, "--connect-timeout applies to --executor ray only"),
                            ({"connect_timeout": 0.0}, "--connect-timeout must be positive, not 0")):
        with pytest.raises(InputError, match=message):
            make_executor("local", **kwargs)
    with pytest.raises(InputError, match="unknown executor 'slurm'"):
        make_executor("slurm")


# --- inputs ---------------------------------------------------------------------------------------

def write_manifest(path, records):
    text = "".join(json.dumps(r) + "\n" for r in records)
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def recording_line(rid, sources, duration=12.0):
    return {"id": rid, "sources": sources, "sampling_rate": SR, "num_samples": int(duration * SR),
            "duration": duration, "channel_ids": list(range(sum(len(s["channels"]) for s in sources)))}


def test_globs_manifests_and_pairs_expand_lazily_with_bad_entries_as_errors(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("x.wav", "y.wav", "z.flac"):
        (tmp_path / "a" / name).write_bytes(b"")
    manifest = write_manifest(tmp_path / "recordings.jsonl.gz", [
        recording_line("stereo-1", [{"type": "file", "channels": [0, 1], "source": "s.wav"}]),
        recording_line("pair-1", [{"type": "file", "channels": [1], "source": "r.wav"},
                                  {"type": "file", "channels": [0], "source": "l.wav"}]),
        recording_line("web", [{"type": "url", "channels": [0, 1], "source": "https://example.org/a.wav"}]),
        recording_line("gap", [{"type": "file", "channels": [0], "source": "l.wav"},
                               {"type": "file", "channels": [2], "source": "r.wav"}]),
        recording_line("x", [{"type": "file", "channels": [0, 1], "source": "other/x.wav"}]),
    ])
    with open(manifest, "ab") as handle:
        handle.write(gzip.compress(b"\n{not json\n"))
    specs = [str(tmp_path / "a" / "*.wav"), str(manifest), str(tmp_path / "none-*.wav"), "plain.wav"]
    pairs = [("sess_left.wav", "sess_right.wav")]
    items = list(expand(specs, pairs))
    assert len(items) == count(specs, pairs) == 11
    good = [i for i in items if isinstance(i, Recording)]
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert sorted((r.stem, r.paths) for r in good) == sorted([
        ("x", (str(tmp_path / "a" / "x.wav"),)), ("y", (str(tmp_path / "a" / "y.wav"),)),
        ("stereo-1", ("s.wav",)), ("pair-1", ("l.wav", "r.wav")), ("plain", ("plain.wav",)),
        ("sess", ("sess_left.wav", "sess_right.wav"))])
    line = f"{manifest}: line"
    assert errors == [
        f"{line} 3: its source is a URL (https://example.org/a.wav); give a file path every worker can read",
        f"{line} 4: its sources' channels [0, 2] must be 0..1, each once",
        f"{line} 5: would write the same outputs 'x.*' as {tmp_path / 'a' / 'x.wav'}",
        f"{line} 7: not JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{tmp_path / 'none-*.wav'}: no file matches this pattern",
    ]


def test_a_missing_manifest_is_one_error():
    [error] = list(expand(["/no/such/recordings.jsonl"]))
    assert str(error) == "/no/such/recordings.jsonl: cannot read: No such file or directory"


# --- prelabel over the local executor -------------------------------------------------------------

@pytest.fixture()
def corpus(tmp_path):
    return make_corpus(tmp_path / "corpus")


def test_prelabel_takes_a_glob_and_a_manifest_and_matches_plain_paths(tmp_path, corpus, capsys):
    manifest = write_manifest(tmp_path / "recordings.jsonl", [
        recording_line("conv-7", [{"type": "file", "channels": [0], "source": str(corpus / "sess_left.wav")},
                                  {"type": "file", "channels": [1], "source": str(corpus / "sess_right.wav")}]),
        recording_line("conv-8", [{"type": "file", "channels": [0, 1], "source": str(corpus / "cut.wav")}]),
    ])
    out = tmp_path / "out"
    code = main(["prelabel", str(corpus / "[cmq]*.wav"), str(manifest), "--out", str(out),
                 "--workers", "2", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "conv-7.jsonl", "conv-8.jsonl", "cut.jsonl", "mix.jsonl", "quiet.jsonl"]
    [(conversation, annotation)] = read_supervisions(out / "conv-7.jsonl")
    assert conversation.id == "conv-7" and {t.channel for t in annotation.turns} == {0, 1}
    plain = tmp_path / "plain"
    assert main(["prelabel", "--pair", str(corpus / "sess_left.wav"), str(corpus / "sess_right.wav"),
                 "--out", str(plain), "--no-progress"]) == 0
    assert (plain / "sess.TextGrid").read_text() == (out / "conv-7.TextGrid").read_text()
    grids = sorted(out.glob("*.TextGrid")) + [plain / "sess.TextGrid"]
    assert [g.stem for g in grids] == ["conv-7", "conv-8", "cut", "mix", "quiet", "sess"]
    for grid in grids:  # the real Praat engine opens every TextGrid written
        assert len(praat_tier_names(grid)) >= 2, grid
    rerun = main(["prelabel", str(corpus / "[cmq]*.wav"), str(manifest), "--out", str(out), "--no-progress"])
    assert rerun == 0 and "0 written, 5 up to date, 0 failed" in capsys.readouterr().err


def test_a_killed_worker_during_prelabel_still_gives_every_output(tmp_path, corpus):
    """The prelabel job itself under a pool whose worker is killed mid-recording."""
    from casper_qc.cli.prelabel import PrelabelJob, _fingerprint, _settings, write_outputs
    from casper_qc.cli import build_parser
    from casper_qc.turns import MODEL_VERSION

    args = build_parser().parse_args(["prelabel", "x", "--out", "y"])
    settings = _settings(args)
    job = PrelabelJob(settings, _fingerprint(settings), MODEL_VERSION)
    items = [i for i in expand([str(corpus / "*.wav"), str(corpus / "talk.mp3")])]
    recorder = Recorder()
    killer = threading.Thread(target=lambda: os.kill(wait_for_pid(tmp_path / "stalled.pid"), signal.SIGKILL))
    killer.start()
    with LocalExecutor(2) as executor:
        executor.map(StallOnce(job, str(tmp_path), "cut"), items, recorder)
    killer.join()
    out, single = tmp_path / "out", tmp_path / "single"
    for outcome in recorder.outcomes.values():
        assert outcome.ok, outcome.error
        write_outputs(out, outcome.result)
    assert main(["prelabel", str(corpus / "*.wav"), str(corpus / "talk.mp3"), "--out", str(single),
                 "--no-progress"]) == 0
    assert len(list(out.iterdir())) == 4 * len(items) and same_outputs(out, single) == []


def test_the_progress_bar_shows_failed_and_in_flight(tmp_path, corpus, capsys):
    code = main(["prelabel", str(corpus / "cut.wav"), str(tmp_path / "gone.wav"), "--out", str(tmp_path / "o"),
                 "--progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "gone.wav: no such file" in err and "failed 1, in flight 0" in err and "2/2" in err


def test_neither_import_nor_a_local_run_loads_ray(tmp_path, corpus):
    code = ("import sys, casper_qc, casper_qc.executors, casper_qc.cli.prelabel\n"
            "from casper_qc.cli import main\n"
            f"rc = main(['prelabel', {str(corpus / 'cut.wav')!r}, '--out', {str(tmp_path / 'o')!r}, "
            "'--workers', '2', '--no-progress', '--executor', 'local'])\n"
            "assert rc == 0, rc\n"
            "assert 'ray' not in sys.modules, 'ray was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_executor_ray_without_ray_installed_says_how_to_get_it(tmp_path, corpus):
    code = ("import sys; sys.modules['ray'] = None\n"  # what an environment without Ray gives
            "from casper_qc.cli import main\n"
            f"sys.exit(main(['prelabel', {str(corpus / 'cut.wav')!r}, '--out', {str(tmp_path / 'o')!r}, "
            "'--executor', 'ray']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "casper-qc: error: --executor ray needs Ray: pip install 'casper-qc[ray]'"
