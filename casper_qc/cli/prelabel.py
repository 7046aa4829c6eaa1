"""``casper-qc prelabel``: pre-label speaker turns of conversation recordings.

For every input ``<stem>`` it writes, into ``--out``:

* ``<stem>.jsonl`` — Lhotse supervisions, one per turn or backchannel (``channel``,
  ``speaker``; ``custom.turn_type`` is ``"turn"`` or ``"backchannel"``, ``custom.score`` the
  confidence);
* ``<stem>.TextGrid`` — one turns tier per speaker;
* ``<stem>.tasks.json`` — a list with one Label Studio task carrying the prediction, importable
  as it is (config ``conversation``, or ``conversation_mono`` for a mono mix, or ``--config``);
* ``<stem>.stats.json`` — turn-taking statistics, the parameters' fingerprint and timings.

A re-run skips an input whose outputs are newer than it and were made with the same
parameters (``--force`` redoes it). A bad input is reported in one line and the others still
finish; the exit code is then 2 (0 when all went well). Heavy imports stay inside ``run`` and
the worker, so the command starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Sequence

HELP = "pre-label speaker turns (IPUs, turns, overlaps, backchannels) of conversation audio"

OUTPUT_SUFFIXES = (".jsonl", ".TextGrid", ".tasks.json", ".stats.json")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", nargs="*", metavar="AUDIO",
                        help="recordings (WAV, FLAC, MP3, OGG, M4A…; one participant per channel, "
                             "or a mono mix of two talkers)")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("LEFT", "RIGHT"),
                        help="two mono files, one per participant, read as channels 0 and 1 "
                             "(repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="process N recordings at once (default 1)")
    parser.add_argument("--channels", metavar="MAP",
                        help="channel -> speaker mapping, e.g. '0=A,1=B' (default: 0=A, 1=B, …; "
                             "a mono file without a mapping is a two-talker mix)")
    parser.add_argument("--config", metavar="XML",
                        help="Label Studio label config for the tasks (default: the bundled "
                             "'conversation', or 'conversation_mono' for mono mixes)")
    parser.add_argument("--audio-url", metavar="PREFIX",
                        help="task audio is PREFIX + file name (e.g. '/data/local-files/?d=corpus/'); "
                             "default: the path as given")
    parser.add_argument("--pause", type=float, default=0.2, metavar="S",
                        help="silence that ends an IPU (default 0.2 s)")
    parser.add_argument("--max-turn-pause", type=float, default=2.0, metavar="S",
                        help="silence that ends a turn when nobody takes the floor (default 2.0 s)")
    parser.add_argument("--backchannel-max", type=float, default=1.0, metavar="S",
                        help="longest IPU that can be a backchannel (default 1.0 s)")
    parser.add_argument("--crosstalk-margin", type=float, default=None, metavar="DB",
                        help="own speech must exceed the predicted crosstalk by this (default 10 dB)")
    parser.add_argument("--force", action="store_true", help="redo inputs whose outputs are up to date")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None,
                        help="show a progress bar (default: when stderr is a terminal)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")


def parse_channel_map(text: str | None) -> dict[int, str] | None:
    """``"0=A,1=B"`` -> ``{0: "A", 1: "B"}``.

    Raises:
        InputError: malformed text.
    """
    if text is None:
        return None
    from ..errors import InputError

    mapping: dict[int, str] = {}
    for part in text.split(","):
        channel, sep, speaker = part.partition("=")
        if not sep or not channel.strip().isdigit() or not speaker.strip():
            raise InputError(f"--channels: expected CHANNEL=SPEAKER pairs like '0=A,1=B', not {text!r}")
        mapping[int(channel)] = speaker.strip()
    return mapping


def _stem(paths: Sequence[str]) -> str:
    stems = [Path(p).stem for p in paths]
    if len(stems) == 1:
        return stems[0]
    prefix = os.path.commonprefix(stems).rstrip("-_. ")
    return prefix or "+".join(stems)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that changes the outputs (it goes into the fingerprint)."""
    return {"pause": args.pause, "max_turn_pause": args.max_turn_pause,
            "backchannel_max": args.backchannel_max, "crosstalk_margin": args.crosstalk_margin,
            "channels": args.channels, "config": args.config, "audio_url": args.audio_url}


def _fingerprint(settings: dict[str, Any]) -> str:
    import hashlib
    import json

    from ..turns import MODEL_VERSION

    text = json.dumps({"model": MODEL_VERSION, **settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _up_to_date(paths: Sequence[str], out: Path, stem: str, fingerprint: str) -> bool:
    import json

    outputs = [out / f"{stem}{suffix}" for suffix in OUTPUT_SUFFIXES]
    try:
        newest_input = max(os.stat(p).st_mtime for p in paths)
        if any(os.stat(o).st_mtime < newest_input for o in outputs):
            return False
        with open(outputs[-1], encoding="utf-8") as handle:
            return json.load(handle).get("fingerprint") == fingerprint
    except (OSError, ValueError):
        return False


def process(paths: Sequence[str], out: str, stem: str, settings: dict[str, Any],
            fingerprint: str) -> tuple[str, str]:
    """Pre-label one recording and write its outputs; returns ``(stem, summary)``.

    Raises:
        InputError: the audio (or a writer) refuses it; the message names the file.
    """
    import json
    import time

    from ..activity import ActivityParams
    from ..fileio import write_text
    from ..formats.jsonl import supervision_records
    from ..formats.labelconfig import bundled_config_path, load_label_config
    from ..formats.labelstudio import to_prediction, to_task
    from ..formats.textgrid import write_textgrid
    from ..structure import StructureParams
    from ..turns import MODEL_VERSION, PrelabelParams, prelabel_file

    started = time.perf_counter()
    activity = ActivityParams() if settings["crosstalk_margin"] is None else ActivityParams(
        crosstalk_margin_db=settings["crosstalk_margin"],
        crosstalk_margin_low_db=max(0.0, settings["crosstalk_margin"] - 4.0))
    params = PrelabelParams(activity=activity, structure=StructureParams(
        pause=settings["pause"], max_turn_pause=settings["max_turn_pause"],
        backchannel_max=settings["backchannel_max"]))
    result = prelabel_file(list(paths) if len(paths) > 1 else paths[0], params,
                           channel_map=parse_channel_map(settings["channels"]), conversation_id=stem)
    took = time.perf_counter() - started
    conversation, annotation = result.conversation, result.annotation
    where = "+".join(paths)
    target = Path(out)
    try:
        records = supervision_records(conversation, annotation)
        for record in records:
            custom = record.setdefault("custom", {})
            custom["turn_type"] = "backchannel" if custom.get("region_id") in result.backchannels else "turn"
        config_path = settings["config"] or bundled_config_path(
            "conversation_mono" if result.mono else "conversation")
        config = load_label_config(config_path)
        audio = conversation.audio or paths[0]
        if settings["audio_url"]:
            audio = settings["audio_url"] + "+".join(Path(p).name for p in paths)
        prediction = to_prediction(annotation, config, model_version=MODEL_VERSION,
                                   duration=conversation.duration)
        task = to_task(conversation, {config.audio_value: audio}, [prediction])
        write_text(target / f"{stem}.jsonl",
                   "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        write_textgrid(target / f"{stem}.TextGrid", conversation, annotation)
        write_text(target / f"{stem}.tasks.json", json.dumps([task], ensure_ascii=False, indent=1) + "\n")
    except Exception as err:
        from ..errors import InputError

        if isinstance(err, InputError):
            raise err.at(where) from None
        raise
    stats = {"conversation": conversation.id, "audio": list(paths), "model_version": MODEL_VERSION,
             "fingerprint": fingerprint, "mono": result.mono, "duration": conversation.duration,
             "seconds": round(took, 3), **result.stats.to_dict()}
    # written last: its fingerprint marks the set of outputs complete
    write_text(target / f"{stem}.stats.json", json.dumps(stats, indent=1) + "\n")
    turns = sum(1 for t in annotation.turns)
    return stem, f"{turns} turns ({len(result.backchannels)} backchannels), {conversation.duration:.1f} s"


def _work(job: tuple) -> tuple[str, str | None, str | None]:
    """Pool entry: ``(stem, summary, error)``; never raises (errors become one line)."""
    paths, out, stem, settings, fingerprint = job
    from ..errors import InputError

    try:
        return (*process(paths, out, stem, settings, fingerprint), None)
    except InputError as err:
        return stem, None, str(err)
    except MemoryError:
        return stem, None, f"{'+'.join(paths)}: out of memory"
    except Exception as err:  # a bug: one line, keep going with the others
        if os.environ.get("CASPER_QC_DEBUG"):
            raise
        return stem, None, f"{'+'.join(paths)}: internal error: {type(err).__name__}: {err}"


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError

    inputs: list[list[str]] = [[p] for p in args.audio] + [list(pair) for pair in args.pair]
    if not inputs:
        raise InputError("no audio given: name files, or --pair LEFT RIGHT")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, not {args.workers}")
    for name, value in (("--pause", args.pause), ("--max-turn-pause", args.max_turn_pause),
                        ("--backchannel-max", args.backchannel_max)):
        if value < 0:
            raise InputError(f"{name} must not be negative")
    if args.max_turn_pause < args.pause:
        raise InputError("--max-turn-pause must not be shorter than --pause")
    parse_channel_map(args.channels)  # fail early on a malformed map
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("is not a directory", where=str(out))
    settings = _settings(args)
    fingerprint = _fingerprint(settings)
    jobs, skipped, seen = [], 0, set()
    for paths in inputs:
        stem = _stem(paths)
        if stem in seen:
            raise InputError(f"two inputs would write the same outputs '{stem}.*'", where="+".join(paths))
        seen.add(stem)
        if not args.force and _up_to_date(paths, out, stem, fingerprint):
            skipped += 1
            continue
        jobs.append((paths, str(out), stem, settings, fingerprint))

    show = args.progress if args.progress is not None else sys.stderr.isatty()
    bar = None
    if show and jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="file", file=sys.stderr, desc="prelabel")
    failures = 0

    def report(stem: str, summary: str | None, error: str | None) -> None:
        nonlocal failures
        if error is not None:
            failures += 1
            message = f"casper-qc: error: {error}"
            (bar.write(message, file=sys.stderr) if bar is not None else print(message, file=sys.stderr))
        if bar is not None:
            bar.update(1)

    if args.workers == 1 or len(jobs) <= 1:
        for job in jobs:
            report(*_work(job))
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(args.workers, len(jobs))) as pool:
            for outcome in pool.map(_work, jobs):
                report(*outcome)
    if bar is not None:
        bar.close()
    done = len(jobs) - failures
    if len(inputs) > 1 or not failures:  # a single bad input: its error line says it all
        print(f"prelabel: {done} written, {skipped} up to date, {failures} failed", file=sys.stderr)
    return 2 if failures else 0
