"""Benchmark of ``casper-qc prelabel`` (speaker turns): speed, memory and accuracy, side by side
with webrtcvad, silero-vad and a bare numpy frame-energy pass.

Run by ``make bench`` (``bench/run.py``), not by ``make test``::

    python bench/bench_turns.py                # everything (about 10 minutes on a quiet machine)
    python bench/bench_turns.py --skip-speed   # accuracy tables only
    python bench/bench_turns.py --skip-quality # speed and memory only

Speed: every tool runs as its own process pinned to one core (``sched_setaffinity``); wall time
includes interpreter start-up and imports; peak RSS is the child's ``ru_maxrss`` (``wait4``),
started from a bare launcher (see ``LAUNCHER``).
Each figure is the median of ``--repeat`` runs after one warm-up run (which also lets Python
cache its bytecode under the cache directory, as an installed package would have it). Audio:
a 16 kHz stereo WAV conversation with crosstalk built from the real aligned phrases of
``../shared/data/dev`` (``bench/turns_data.py``), 10 min, 1 h and 4 h, cached in
``$CASPER_QC_CACHE_DIR/bench-turns/conversation-v2-*.wav`` (1.2 GB).

Accuracy: the real MFA stereo recording with crosstalk mixed in (a grid of 12 levels and delays,
and the two mixes used since the first version), the synthetic dev set (the conditions the
thresholds were tuned on), the held-out set (other phrases, seeds, reverberant crosstalk, more
noise: never tuned on), a stress set (crosstalk up to -10 dB) and the mono mixes, each scored by
``casper_qc.eval_turns`` (collar ±0.25 s) against truth made of aligned words
(``bench/turns_data.py``); besides DER, crosstalk, turn-boundary and frame F1 it reports the
IPU-boundary F1 (every IPU start and end, not only turns'). The baselines decide each channel
alone; their speech goes through the same structure step (IPUs, turns, backchannels) as ours,
so only the activity decision differs. ``--sets michael,dev`` limits the sets,
``--no-baselines`` scores prelabel only, ``--no-mono`` leaves the mono mixes out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SR = 16000


def cache_dir() -> Path:
    base = Path(os.environ.get("CASPER_QC_CACHE_DIR", Path.home() / ".cache" / "casper-qc"))
    path = base / "bench-turns"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_dir() -> Path:
    shared = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared"))
    return shared / "data" / "dev"


# --- one-file passes of the peers (run as child processes) ----------------------------------------

def energy_pass(path: str) -> int:
    """A bare numpy frame-energy pass: 10 ms frame energies of every channel, nothing else."""
    import soundfile as sf

    frames = 0
    with sf.SoundFile(path) as handle:
        buffer = np.empty((SR * 30, handle.channels), dtype=np.int16)
        while True:
            block = handle.read(out=buffer)
            if not len(block):
                break
            x = block[: len(block) // 160 * 160].astype(np.float32).reshape(-1, 160, handle.channels)
            energy = np.einsum("ijk,ijk->ik", x, x)
            frames += len(energy)
            if len(block) < len(buffer):
                break
    return frames


def webrtcvad_pass(path: str, mode: int = 3) -> list[list[tuple[float, float]]]:
    """webrtcvad on each channel alone, 30 ms frames; speech runs per channel (seconds)."""
    import soundfile as sf
    import webrtcvad

    frame = int(SR * 0.03)
    with sf.SoundFile(path) as handle:
        width = handle.channels
        vads = [webrtcvad.Vad(mode) for _ in range(width)]
        flags: list[list[bool]] = [[] for _ in range(width)]
        buffer = np.empty((frame * 1000, width), dtype=np.int16)
        while True:
            block = handle.read(out=buffer)
            if not len(block):
                break
            usable = len(block) // frame * frame
            for c in range(width):
                data = np.ascontiguousarray(block[:usable, c]).tobytes()
                step = frame * 2
                flags[c].extend(vads[c].is_speech(data[i:i + step], SR) for i in range(0, len(data), step))
            if len(block) < len(buffer):
                break
    return [_runs(np.array(f, dtype=bool), 0.03) for f in flags]


def _runs(mask: np.ndarray, hop: float) -> list[tuple[float, float]]:
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return [(s * hop, e * hop) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def silero_model() -> Path | None:
    """The silero-vad ONNX model shipped in the ``silero-vad`` wheel (fetched with pip, no deps,
    into the cache when missing). None when onnxruntime or the wheel cannot be had."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    target = cache_dir() / "silero_vad.onnx"
    if target.exists():
        return target
    import glob
    import zipfile

    wheels = cache_dir() / "wheels"
    subprocess.call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "silero-vad==6.2.3",
                     "-d", str(wheels)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = glob.glob(str(wheels / "silero_vad-*.whl"))
    if not found:
        return None
    with zipfile.ZipFile(found[0]) as archive:
        target.write_bytes(archive.read("silero_vad/data/silero_vad.onnx"))
    return target


class Silero:
    """silero-vad v6 through onnxruntime (its OnnxWrapper, without torch): 512-sample chunks
    with 64 samples of context, a recurrent state, one probability per 32 ms."""

    def __init__(self, model: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                                    providers=["CPUExecutionProvider"])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        state = np.zeros((2, 1, 128), dtype=np.float32)
        context = np.zeros((1, 64), dtype=np.float32)
        sr = np.array(SR, dtype=np.int64)
        count = len(x) // 512
        out = np.empty(count, dtype=np.float32)
        for i in range(count):
            chunk = np.concatenate([context, x[None, i * 512:(i + 1) * 512]], axis=1).astype(np.float32)
            prob, state = self.session.run(None, {"input": chunk, "state": state, "sr": sr})
            out[i] = float(prob[0][0])
            context = chunk[:, -64:]
        return out

    def speech(self, x: np.ndarray, threshold: float = 0.5) -> list[tuple[float, float]]:
        """Speech runs with silero's own hysteresis (on at ``threshold``, off below it - 0.15)."""
        probs = self.probabilities(x)
        on = False
        mask = np.zeros(len(probs), dtype=bool)
        for i, p in enumerate(probs):
            on = p >= threshold or (on and p >= threshold - 0.15)
            mask[i] = on
        return _runs(mask, 512 / SR)


def silero_pass(path: str) -> int:
    import soundfile as sf

    model = silero_model()
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    vad = Silero(model)
    return sum(len(vad.speech(data[:, c])) for c in range(data.shape[1]))


def energy15(audio: np.ndarray) -> list[list[tuple[float, float]]]:
    """The fifteen-line baseline: per-channel frame energy over a percentile floor, gaps closed."""
    out = []
    for c in range(audio.shape[1]):
        x = audio[: len(audio) // 160 * 160, c].reshape(-1, 160)
        level = 10 * np.log10((x.astype(np.float64) ** 2).mean(axis=1) + 1e-10)
        mask = level > np.percentile(level, 20) + 15.0
        runs = _runs(mask, 0.01)
        merged: list[list[float]] = []
        for s, e in runs:
            if merged and s - merged[-1][1] < 0.3:
                merged[-1][1] = e
            else:
                merged.append([s, e])
        out.append([(s, e) for s, e in merged if e - s >= 0.1])
    return out


# --- speed and memory -------------------------------------------------------------------------------

# A small launcher measures each run: ru_maxrss of a child includes what its parent held when it
# forked (Linux records the old address space at exec), so the child is started by a bare
# interpreter (about 10 MB, less than any tool measured here) instead of this process (numpy,
# audio plans). It pins itself, hence its child, to one core.
LAUNCHER = r"""
import json, os, subprocess, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
err = open(sys.argv[2], "wb")
t = time.perf_counter()
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL, stderr=err)
_, status, usage = os.wait4(p.pid, 0)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}))
"""


def _core() -> int:
    return sorted(os.sched_getaffinity(0))[0]


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process pinned to one core."""
    with tempfile.NamedTemporaryFile(suffix=".err") as err:
        out = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(_core()), err.name, *command],
                             env=env, cwd=REPO, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout)
        if result["code"] != 0:
            raise SystemExit(f"{' '.join(command)} failed ({result['code']}): "
                             f"{Path(err.name).read_text(errors='replace').strip()[-400:]}")
    return result["wall"], result["maxrss_kb"] / 1024.0


def timed(command: list[str], env: dict[str, str], repeat: int) -> dict[str, float]:
    measure(command, env)  # warm-up: page cache, bytecode cache
    runs = [measure(command, env) for _ in range(repeat)]
    walls = [w for w, _ in runs]
    return {"wall_median": statistics.median(walls), "wall_min": min(walls),
            "rss_mb": max(r for _, r in runs)}


def build_audio(hours: float) -> Path:
    import turns_data as td

    path = cache_dir() / f"conversation-v2-{hours:g}h.wav"  # v2: phrases with aligned-word truth
    if not path.exists():
        print(f"building {path.name} …", flush=True)
        td.write_wav(path, td.long_plan(dev_dir(), hours))
    return path


def speed(repeat: int, with_silero: bool, lengths: list[float]) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir() / "pycache")
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    out_dir = Path(tempfile.mkdtemp(prefix="bench-turns-"))
    py = sys.executable
    me = str(Path(__file__).resolve())
    results: dict = {"one_hour": {}, "scaling": {}}
    hour = build_audio(1.0)
    tools = {
        "prelabel": [py, "-m", "casper_qc", "prelabel", str(hour), "--out", str(out_dir), "--force",
                     "--no-progress"],
        "webrtcvad": [py, me, "--tool", "webrtcvad", str(hour)],
        "numpy energy pass": [py, me, "--tool", "energy", str(hour)],
    }
    if with_silero and silero_model() is not None:
        tools["silero-vad"] = [py, me, "--tool", "silero", str(hour)]
    for name, command in tools.items():
        results["one_hour"][name] = timed(command, env, repeat if name != "silero-vad" else 1)
        print(f"  1 h  {name:18s} {results['one_hour'][name]}", flush=True)
    for hours in lengths:
        path = build_audio(hours)
        command = [py, "-m", "casper_qc", "prelabel", str(path), "--out", str(out_dir), "--force",
                   "--no-progress"]
        results["scaling"][f"{hours:g} h"] = timed(command, env, repeat)
        print(f"  prelabel {hours:g} h {results['scaling'][f'{hours:g} h']}", flush=True)
    results["stages"] = json.loads(subprocess.check_output(
        ["taskset", "-c", str(_core()), py, me, "--stages", str(hour)], env=env, cwd=REPO))
    print(f"  stages (1 h): {results['stages']}", flush=True)
    return results


def stages(path: str) -> dict[str, float]:
    """Seconds of each stage of prelabel on one file, in one process (imports excluded)."""
    from casper_qc.activity import FrameLevels, detect_activity
    from casper_qc.audio import open_audio
    from casper_qc.cli.prelabel import _fingerprint, process
    from casper_qc.structure import build_structure

    out: dict[str, float] = {}
    t = time.perf_counter()
    source = open_audio(path)
    for _ in source.blocks():
        pass
    out["read (soundfile, int16 blocks)"] = time.perf_counter() - t
    t = time.perf_counter()
    levels = FrameLevels(source.info.sampling_rate, source.info.channels)
    for block in source.blocks():
        levels.add(block)
    out["read + frame levels"] = time.perf_counter() - t
    t = time.perf_counter()
    frame_levels = levels.levels()
    activity = detect_activity(frame_levels)
    out["activity + crosstalk decision"] = time.perf_counter() - t
    t = time.perf_counter()
    build_structure({str(c): [(s * levels.hop, e * levels.hop) for s, e in zip(a.starts, a.ends)]
                     for c, a in activity.items()}, source.info.duration)
    out["structure (IPUs, turns, stats)"] = time.perf_counter() - t
    settings = {"pause": 0.2, "max_turn_pause": 2.0, "backchannel_max": 1.0, "crosstalk_margin": None,
                "channels": None, "config": None, "audio_url": None}
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        process([path], tmp, "stages", settings, _fingerprint(settings))
    out["whole prelabel of the file, outputs written"] = time.perf_counter() - t
    return {k: round(v, 3) for k, v in out.items()}


# --- accuracy --------------------------------------------------------------------------------------



def quality_sets(which: set[str] | None = None) -> dict[str, list[tuple[str, np.ndarray, dict, float]]]:
    """name -> [(conversation id, stereo audio, truth speech per speaker, duration)]."""
    import dataclasses

    import turns_data as td

    dev = dev_dir()
    sets: dict[str, list] = {}
    audio, truth, _ = td.michael_stereo(dev)
    truth = {"A": truth["michael"], "B": truth["sickmichael"]}
    duration = len(audio) / SR
    if which is None or "michael" in which:
        sets["MFA stereo + crosstalk, grid (-25..-10 dB x 0/5/20 ms, 12 mixes)"] = [
            (name, mix, truth, duration) for name, mix in td.michael_grid(dev)]
        sets["MFA stereo + crosstalk, the dev mix (-20/-18 dB, 1/2 ms)"] = [
            ("michael-dev", td.michael_with_crosstalk(dev, *td.MICHAEL_DEV), truth, duration)]
        sets["MFA stereo + crosstalk, the held-out mix (-16/-23 dB, 2.5/0.8 ms, room)"] = [
            ("michael-heldout", td.michael_with_crosstalk(dev, *td.MICHAEL_HELDOUT), truth, duration)]
    for part, label in (("dev", "synthetic dev (4 conv.)"), ("heldout", "synthetic held-out (4 conv.)")):
        if which is None or part in which:
            sets[label] = [(plan.name, td.render(plan), plan.truth, plan.duration)
                           for plan in td.conversation_plans(dev, part)]
    if which is None or "stress" in which:
        utts, tokens = td.load_utterances(dev)
        pools, token_pools = td.split_pools(utts, tokens, "heldout")
        stress = dataclasses.replace(td.HELDOUT_CONDITIONS, coupling_db=(-15.0, -10.0))
        items = []
        for i, (a, b) in enumerate([("M", "T"), ("T", "S")]):
            plan = td.plan_conversation(f"stress-{a}{b}-{i}", (pools[a], pools[b]),
                                        (token_pools[a], token_pools[b]), 150.0, stress, 200 + i)
            items.append((plan.name, td.render(plan), plan.truth, plan.duration))
        sets["stress, held-out material (crosstalk -15..-10 dB, 2 conv.)"] = items
    return sets


def _annotation(structure, duration: float, name: str, *, ipus: bool = False):
    """Turns (or, with ``ipus``, every IPU as a turn) of a structure as an annotation."""
    from casper_qc.model import Annotation, Turn

    if ipus:
        items = [(s, seg.start, seg.end) for s, segs in structure.ipus.items() for seg in segs]
    else:
        items = [(t.speaker, t.start, t.end) for t in structure.turns]
    turns = [Turn(s, round(a, 3), round(min(b, duration), 3)) for s, a, b in sorted(items, key=lambda x: x[1])
             if round(min(b, duration), 3) > round(a, 3)]
    return Annotation(name, turns=turns, origin="prediction")


def _structure_from(speech: list[list[tuple[float, float]]], duration: float):
    from casper_qc.structure import build_structure

    return build_structure({"AB"[c]: runs for c, runs in enumerate(speech)}, duration)


def _score(truth: dict, duration: float, name: str, structure) -> tuple[object, object]:
    """Turn scores and IPU-boundary scores of a hypothesis structure against the truth."""
    from casper_qc.eval_turns import evaluate_turns
    from casper_qc.structure import build_structure

    reference = build_structure(truth, duration)
    turns = evaluate_turns(_annotation(reference, duration, name), _annotation(structure, duration, name))
    ipus = evaluate_turns(_annotation(reference, duration, name, ipus=True),
                          _annotation(structure, duration, name, ipus=True))
    return turns, ipus


def _line(method: str, scores, ipus) -> str:
    return (f"    {method:34s} DER {100 * scores.der:5.2f} %  crosstalk {100 * scores.crosstalk_rate:5.2f} %  "
            f"boundary F1 {scores.boundary_f1:.3f}  frame F1 {scores.f1():.3f}  IPU boundary F1 {ipus.boundary_f1:.3f}")


def quality(with_silero: bool, baselines: bool = True, which: set[str] | None = None,
            mono: bool = True) -> dict:
    from casper_qc.eval_turns import TurnScores, evaluate_turns
    from casper_qc.turns import prelabel_array

    import turns_data as td

    silero = None
    if with_silero and baselines:
        model = silero_model()
        silero = Silero(model) if model is not None else None
        if silero is None:
            print("  silero-vad: not available (needs onnxruntime and the silero-vad wheel)", flush=True)
    results: dict = {}
    for set_name, items in quality_sets(which).items():
        totals: dict[str, list] = {}
        per_file: dict[str, dict] = {}
        for name, audio, truth, duration in items:
            structures = {"prelabel": prelabel_array(audio, SR, conversation_id=name).structure}
            if baselines:
                structures["energy threshold (15 lines)"] = _structure_from(energy15(audio), duration)
                with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
                    import soundfile as sf

                    sf.write(tmp.name, audio, SR, subtype="PCM_16")
                    structures["webrtcvad (mode 3), per channel"] = _structure_from(webrtcvad_pass(tmp.name), duration)
                if silero is not None:
                    structures["silero-vad, per channel"] = _structure_from(
                        [silero.speech(audio[:, c]) for c in range(2)], duration)
            for method, structure in structures.items():
                turns, ipus = _score(truth, duration, name, structure)
                total = totals.setdefault(method, [TurnScores(), TurnScores()])
                total[0], total[1] = total[0] + turns, total[1] + ipus
                if method == "prelabel":
                    per_file[name] = {"der": round(turns.der, 4), "crosstalk": round(turns.crosstalk_rate, 4),
                                      "boundary_f1": round(turns.boundary_f1, 3),
                                      "ipu_boundary_f1": round(ipus.boundary_f1, 3)}
        results[set_name] = {m: {**t.to_dict(), "ipu_boundaries": i.to_dict()["boundaries"]}
                             for m, (t, i) in totals.items()}
        results[set_name]["per_file (prelabel)"] = per_file
        print(f"  {set_name}:", flush=True)
        for method, (scores, ipus) in totals.items():
            print(_line(method, scores, ipus), flush=True)
    if not mono:
        return results
    # mono mixes of the synthetic conversations: prelabel's best-effort split
    for part in ("dev", "heldout"):
        if which is not None and part not in which:
            continue
        total = TurnScores()
        per_pair: dict[str, TurnScores] = {}
        for plan in td.conversation_plans(dev_dir(), part):
            mono_mix = td.render(plan, mono=True)
            reference = td.reference(plan.truth, plan.duration, plan.name, mono=True)[1]
            scores = evaluate_turns(reference, prelabel_array(mono_mix, SR, conversation_id=plan.name).annotation)
            total = total + scores
            pair = plan.name.split("-")[1]
            per_pair[pair] = per_pair.get(pair, TurnScores()) + scores
        results[f"mono {part}"] = {"prelabel": total.to_dict(),
                                   **{f"pair {k}": v.to_dict() for k, v in per_pair.items()}}
        print(f"  mono {part}: DER {100 * total.der:.2f} % (missed {100 * total.missed / total.reference:.2f}, "
              f"false alarm {100 * total.false_alarm / total.reference:.2f}, confusion "
              f"{100 * total.confusion / total.reference:.2f}); per voice pair: "
              + ", ".join(f"{k} {100 * v.der:.1f} %" for k, v in per_pair.items()), flush=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tool", choices=("energy", "webrtcvad", "silero"))
    parser.add_argument("--stages", metavar="WAV")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--no-silero", action="store_true", help="leave silero-vad out")
    parser.add_argument("--silero-speed", action="store_true",
                        help="also time silero-vad on the 1 h file (slow: tens of seconds)")
    parser.add_argument("--hours", default="0.1667,1,4", help="lengths for the scaling run (hours)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--no-baselines", action="store_true",
                        help="accuracy of prelabel only (no energy threshold, webrtcvad, silero-vad)")
    parser.add_argument("--sets", help="comma-separated subset of michael,dev,heldout,stress (default: all)")
    parser.add_argument("--no-mono", action="store_true", help="leave the mono mixes out")
    args = parser.parse_args(argv)
    if args.tool:
        {"energy": energy_pass, "webrtcvad": webrtcvad_pass, "silero": silero_pass}[args.tool](args.file)
        return 0
    if args.stages:
        print(json.dumps(stages(args.stages)))
        return 0
    results: dict = {"machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    if not args.skip_speed:
        print("speed and memory (one core, whole process):", flush=True)
        results["speed"] = speed(args.repeat, args.silero_speed and not args.no_silero,
                                 [float(h) for h in args.hours.split(",")])
    if not args.skip_quality:
        print("accuracy (collar ±0.25 s):", flush=True)
        results["quality"] = quality(not args.no_silero, not args.no_baselines,
                                     set(args.sets.split(",")) if args.sets else None, not args.no_mono)
    results["machine"]["load_after"] = os.getloadavg()
    text = json.dumps(results, indent=1)
    (cache_dir() / "results.json").write_text(text)
    if args.json:
        Path(args.json).write_text(text)
    print(f"results: {cache_dir() / 'results.json'} (load average before/after: "
          f"{results['machine']['load']} / {results['machine']['load_after']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
