"""``casper-qc prelabel``: pre-label speaker turns of conversation recordings.

For every input ``<stem>`` it writes, into ``--out``:

* ``<stem>.jsonl`` — Lhotse supervisions, one per turn or backchannel (``channel``,
  ``speaker``; ``custom.turn_type`` is ``"turn"`` or ``"backchannel"``, ``custom.score`` the
  confidence);
* ``<stem>.TextGrid`` — one turns tier per speaker;
* ``<stem>.tasks.json`` — a list with one Label Studio task carrying the prediction, importable
  as it is (config ``conversation``, or ``conversation_mono`` for a mono mix, or ``--config``);
* ``<stem>.stats.json`` — turn-taking statistics, the parameters' fingerprint and timings
  (and, with the draft-transcript step, where the words came from and how many were placed).

The draft-transcript step (:mod:`casper_qc.transcripts`), optional: with ``--drafts DIR`` each
recording's draft transcript is read from ``DIR`` (``<stem>.json`` Whisper/WhisperX,
``<stem>.ctm``, ``<stem>.srt``/``.vtt``, ``<stem>.TextGrid``, ``<stem>.txt``, or one file per
channel: ``<stem>.ch1.json``, ``<stem>.ch2.txt``…) and its words placed into the turns; with
``--asr ENGINE`` a recording without a draft is transcribed turn by turn on its own channel by
the local recognizer (``pocketsphinx``, or ``faster-whisper`` with ``--asr-model DIR``; nothing
is downloaded). Turns with words get their disfluencies tagged; the supervisions carry text and
word alignments, the TextGrid words and disfluencies tiers, the task's prediction transcripts and
disfluency choices per region. It runs inside the same per-recording job, so it takes the same
executors.

Inputs: audio files, glob patterns expanded here (``'corpus/**/*.wav'``), Lhotse recordings
manifests (``recordings.jsonl[.gz]``: outputs named after each recording id; a recording with one
mono source per channel is read as those files) and ``--pair LEFT RIGHT``
(:mod:`casper_qc.executors.inputs`).

Executors (:mod:`casper_qc.executors`): ``--executor local`` (default) runs in this process, or
in ``--workers N`` processes; ``--executor ray [--address ADDR]`` runs one task per recording on a
Ray cluster (or on a Ray instance started here when no address is given and ``RAY_ADDRESS`` is
unset). Either way the per-recording job (:class:`PrelabelJob`) is the same pure function: it
reads the audio and returns the outputs as text; this process writes them, atomically, as each
result arrives. At most ``--max-in-flight`` recordings are in flight; a recording whose worker
process dies is run again up to ``--retries`` times.

A re-run skips an input whose outputs are newer than it and were made with the same
parameters (``--force`` redoes it), so a run that was stopped picks up where it was. A bad
input is reported in one line and the others still finish; the exit code is then 2 (0 when all
went well). Heavy imports (and Ray) stay inside ``run`` and the workers, so the command starts
fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..executors.base import Outcome
    from ..executors.inputs import Recording
    from ..transcripts import Filled

HELP = ("pre-label speaker turns (IPUs, turns, overlaps, backchannels) of conversation audio, "
        "and with --drafts/--asr their words and disfluencies")

OUTPUT_SUFFIXES = (".jsonl", ".TextGrid", ".tasks.json", ".stats.json")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", nargs="*", metavar="AUDIO",
                        help="recordings (WAV, FLAC, MP3, OGG, M4A…; one participant per channel, "
                             "or a mono mix of two talkers), quoted glob patterns "
                             "('corpus/**/*.wav'), or Lhotse recordings manifests (*.jsonl[.gz])")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("LEFT", "RIGHT"),
                        help="two mono files, one per participant, read as channels 0 and 1 "
                             "(repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local: process N recordings at once (default 1); ray without an "
                             "address: CPUs of the Ray instance started here (default: all)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where the work runs: this machine (default) or a Ray cluster "
                             "(needs: pip install 'casper-qc[ray]')")
    parser.add_argument("--address", metavar="ADDR",
                        help="ray: the cluster's head, HOST:PORT (or ray://HOST:PORT, or 'auto'); "
                             "default: $RAY_ADDRESS, else a Ray instance started for this run")
    parser.add_argument("--max-in-flight", type=int, default=None, metavar="N",
                        help="recordings submitted and not finished at most (default: twice the "
                             "workers or the cluster's CPUs)")
    parser.add_argument("--retries", type=int, default=None, metavar="N",
                        help="runs of a recording after the first when its worker process dies "
                             "(default 3)")
    parser.add_argument("--connect-timeout", type=float, default=None, metavar="S",
                        help="ray: seconds to wait for the cluster to answer and accept us (default 30)")
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
    parser.add_argument("--drafts", metavar="DIR",
                        help="draft transcripts to place into the turns: DIR/<stem>.json (Whisper), "
                             ".ctm, .srt, .vtt, .TextGrid or .txt, or one per channel "
                             "(<stem>.ch1.json, <stem>.ch2.txt…)")
    parser.add_argument("--asr", choices=("pocketsphinx", "faster-whisper"), metavar="ENGINE",
                        help="transcribe the turns of recordings without a draft with a local "
                             "recognizer: pocketsphinx (offline English model; needs "
                             "'casper-qc[asr]') or faster-whisper (needs --asr-model)")
    parser.add_argument("--asr-model", metavar="DIR",
                        help="faster-whisper: a local CTranslate2 Whisper model directory "
                             "(default: $CASPER_ASR_MODEL_DIR); nothing is downloaded")
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


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that changes the outputs (it goes into the fingerprint; the draft-transcript
    settings only when set, so that runs without them keep their fingerprints)."""
    settings = {"pause": args.pause, "max_turn_pause": args.max_turn_pause,
                "backchannel_max": args.backchannel_max, "crosstalk_margin": args.crosstalk_margin,
                "channels": args.channels, "config": args.config, "audio_url": args.audio_url}
    if args.drafts is not None:
        settings["drafts"] = args.drafts
    if args.asr is not None:
        settings["asr"] = args.asr
        if args.asr == "faster-whisper":
            from ..asr import resolve_model_dir

            settings["asr_model"] = str(resolve_model_dir(args.asr_model))
    return settings


def _fingerprint(settings: dict[str, Any]) -> str:
    import hashlib
    import json

    from ..turns import MODEL_VERSION

    text = json.dumps({"model": MODEL_VERSION, **settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _up_to_date(paths: Sequence[str], out: Path, stem: str, fingerprint: str,
                drafts: str | None = None) -> bool:
    """Are the outputs of ``stem`` newer than its audio (and its draft files in ``drafts``),
    made with these parameters and from the same draft files?"""
    import json

    from ..transcripts import find_drafts

    outputs = [out / f"{stem}{suffix}" for suffix in OUTPUT_SUFFIXES]
    found = find_drafts(drafts, stem) if drafts is not None else ()
    try:
        newest_input = max(os.stat(p).st_mtime for p in [*paths, *found])
        if any(os.stat(o).st_mtime < newest_input for o in outputs):
            return False
        with open(outputs[-1], encoding="utf-8") as handle:
            stats = json.load(handle)
        if drafts is not None and stats.get("transcript", {}).get("drafts") != [p.name for p in found]:
            return False  # a draft file came or went
        return stats.get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class Rendered:
    """The outputs of one recording as text, ready to write: ``files`` is
    ``((suffix, text), ...)`` in writing order (``.stats.json`` last)."""

    stem: str
    files: tuple[tuple[str, str], ...]
    summary: str


def render(paths: Sequence[str], stem: str, settings: dict[str, Any], fingerprint: str, *,
           read_paths: Sequence[str] | None = None, base: str | None = None) -> Rendered:
    """Pre-label one recording and render its outputs (pure: reads the audio and its drafts,
    writes nothing).

    ``paths`` are the audio files as the user named them (they go into the outputs);
    ``read_paths`` the same files as this process can open them (default: ``paths``); ``base``
    resolves the relative directories of ``settings`` (drafts, ASR model) the same way.

    Raises:
        InputError: the audio, a draft (or a renderer) refuses it; the message names the file.
    """
    import dataclasses
    import json
    import time

    from ..activity import ActivityParams
    from ..formats.jsonl import supervision_records
    from ..formats.labelconfig import bundled_config_path, load_label_config
    from ..formats.labelstudio import to_prediction, to_task
    from ..formats.textgrid import to_textgrid
    from ..structure import StructureParams
    from ..turns import MODEL_VERSION, PrelabelParams, prelabel_file

    started = time.perf_counter()
    activity = ActivityParams() if settings["crosstalk_margin"] is None else ActivityParams(
        crosstalk_margin_db=settings["crosstalk_margin"],
        crosstalk_margin_low_db=max(0.0, settings["crosstalk_margin"] - 4.0))
    params = PrelabelParams(activity=activity, structure=StructureParams(
        pause=settings["pause"], max_turn_pause=settings["max_turn_pause"],
        backchannel_max=settings["backchannel_max"]))
    read = list(read_paths or paths)
    result = prelabel_file(read if len(read) > 1 else read[0], params,
                           channel_map=parse_channel_map(settings["channels"]), conversation_id=stem)
    conversation, annotation = result.conversation, result.annotation
    where = "+".join(paths)
    transcript, drafts = None, ()
    if "drafts" in settings or "asr" in settings:
        transcript, drafts = _transcribe(read, stem, annotation, settings, base, where)
    took = time.perf_counter() - started
    if read != list(paths):  # the outputs name the files as the user did
        conversation = dataclasses.replace(conversation, audio="+".join(paths))
    model_version = MODEL_VERSION
    if transcript is not None:
        if transcript.source is not None:  # what made the words is part of the pre-label
            model_version += "+draft" if transcript.source == "draft" else f"+asr-{settings['asr']}"
        annotation = dataclasses.replace(annotation, turns=transcript.turns, model_version=model_version)
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
        predicted = annotation
        if transcript is not None:
            from ..transcripts import with_disfluency_choices

            predicted = dataclasses.replace(annotation, turns=tuple(
                with_disfluency_choices(t, config) for t in annotation.turns))
        prediction = to_prediction(predicted, config, model_version=model_version,
                                   duration=conversation.duration)
        task = to_task(conversation, {config.audio_value: audio}, [prediction])
        files = [(".jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)),
                 (".TextGrid", to_textgrid(conversation, annotation)),
                 (".tasks.json", json.dumps([task], ensure_ascii=False, indent=1) + "\n")]
    except Exception as err:
        from ..errors import InputError

        if isinstance(err, InputError):
            raise err.at(where) from None
        raise
    stats = {"conversation": conversation.id, "audio": list(paths), "model_version": MODEL_VERSION,
             "fingerprint": fingerprint, "mono": result.mono, "duration": conversation.duration,
             "seconds": round(took, 3), **result.stats.to_dict()}
    summary = f"{len(annotation.turns)} turns ({len(result.backchannels)} backchannels), " \
              f"{conversation.duration:.1f} s"
    if transcript is not None:
        stats["transcript"] = {"source": transcript.source, "drafts": [p.name for p in drafts],
                               "model_version": model_version, **transcript.counts}
        summary += f", {transcript.counts['words']} words" + (
            f" from the {transcript.source}" if transcript.source else "")
    files.append((".stats.json", json.dumps(stats, indent=1) + "\n"))
    return Rendered(stem, tuple(files), summary)


def _transcribe(read: Sequence[str], stem: str, annotation: Any, settings: dict[str, Any],
                base: str | None, where: str) -> tuple["Filled", tuple[Path, ...]]:
    """The draft-transcript step for one recording: its draft files in ``settings["drafts"]``,
    else the recognizer ``settings["asr"]`` (see :mod:`casper_qc.transcripts`); returns what
    it did and the draft files it read."""
    from ..errors import InputError
    from ..transcripts import fill_turns, find_drafts, read_drafts

    def resolve(path: str) -> str:
        return os.path.join(base, path) if base is not None else path

    found: tuple[Path, ...] = ()
    draft = recognizer = None
    if "drafts" in settings:
        found = find_drafts(resolve(settings["drafts"]), stem)
        if found:
            draft = read_drafts(found, stem)
    if draft is None and "asr" in settings:
        from ..asr import get_recognizer

        model = settings.get("asr_model")
        recognizer = get_recognizer(settings["asr"], resolve(model) if model else None)
    try:
        filled = fill_turns(annotation.turns, draft=draft, recognizer=recognizer,
                            audio=list(read) if len(read) > 1 else read[0])
    except InputError as err:
        raise err.at(where) if err.where is None else err from None
    return filled, found


def write_outputs(out: str | os.PathLike[str], rendered: Rendered) -> None:
    """Write each output atomically (temporary file + rename), ``.stats.json`` last: its
    fingerprint marks the set complete for the up-to-date check."""
    from ..fileio import write_text

    for suffix, text in rendered.files:
        write_text(Path(out) / f"{rendered.stem}{suffix}", text)


def process(paths: Sequence[str], out: str, stem: str, settings: dict[str, Any],
            fingerprint: str) -> tuple[str, str]:
    """Pre-label one recording and write its outputs into ``out``; returns ``(stem, summary)``.

    Raises:
        InputError: the audio (or a writer) refuses it; the message names the file.
    """
    rendered = render(paths, stem, settings, fingerprint)
    write_outputs(out, rendered)
    return stem, rendered.summary


@dataclass(frozen=True)
class PrelabelJob:
    """The per-recording job any executor runs: ``job(recording) -> Rendered`` (pure).

    ``base`` (the driver's working directory) resolves relative paths on workers that start
    elsewhere; ``model_version`` is the driver's, so that a worker with another casper-qc refuses
    to produce outputs that would not match the fingerprint.
    """

    settings: dict[str, Any]
    fingerprint: str
    model_version: str
    base: str | None = None

    def __call__(self, recording: "Recording") -> Rendered:
        from ..errors import InputError
        from ..turns import MODEL_VERSION

        if MODEL_VERSION != self.model_version:
            raise InputError(f"this worker's casper-qc makes {MODEL_VERSION} predictions, the "
                             f"driver's {self.model_version}: install one version everywhere",
                             where=str(recording))
        read = None
        if self.base is not None:
            read = [os.path.join(self.base, p) for p in recording.paths]
        return render(recording.paths, recording.stem, self.settings, self.fingerprint,
                      read_paths=read, base=self.base)


class _Run:
    """The driver's side of one run: skips, reports, writes results, counts, shows progress."""

    def __init__(self, out: Path, fingerprint: str, force: bool, bar: Any,
                 drafts: str | None = None) -> None:
        self.out, self.fingerprint, self.force, self.bar = out, fingerprint, force, bar
        self.drafts = drafts
        self.inputs = self.written = self.skipped = self.failed = self.in_flight = 0

    def items(self, specs: Sequence[str], pairs: Sequence[Sequence[str]]) -> Iterator["Recording"]:
        """The recordings to do, lazily; reports bad inputs and skips up-to-date ones."""
        from ..errors import InputError
        from ..executors.inputs import expand

        for item in expand(specs, pairs):
            self.inputs += 1
            if isinstance(item, InputError):
                self._fail(str(item))
            elif not self.force and _up_to_date(item.paths, self.out, item.stem, self.fingerprint,
                                                self.drafts):
                self.skipped += 1
                self._tick(1)
            else:
                yield item

    def started(self, item: "Recording") -> None:
        self.in_flight += 1
        self._tick(0)

    def finished(self, item: "Recording", outcome: "Outcome[Rendered]") -> None:
        self.in_flight -= 1
        if outcome.error is not None:
            self._fail(outcome.error)
            return
        from ..errors import InputError

        assert outcome.result is not None
        try:
            write_outputs(self.out, outcome.result)
        except (OSError, InputError) as err:
            cause = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self._fail(f"{item}: cannot write its outputs to {self.out}: {cause}")
            return
        self.written += 1
        self._tick(1)

    def _fail(self, message: str) -> None:
        self.failed += 1
        line = f"casper-qc: error: {message}"
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)
        self._tick(1)

    def _tick(self, done: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"failed {self.failed}, in flight {self.in_flight}",
                                     refresh=False)
            self.bar.update(done)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..executors import make_executor
    from ..turns import MODEL_VERSION

    if not args.audio and not args.pair:
        raise InputError("no audio given: name files, a glob, a recordings.jsonl, "
                         "or --pair LEFT RIGHT")
    if args.workers is not None and args.workers < 1:
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
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output directory: {err.strerror or err}",
                         where=str(out)) from None
    _check_transcript_options(args, out)
    settings = _settings(args)
    fingerprint = _fingerprint(settings)
    executor = make_executor(args.executor, workers=args.workers, max_in_flight=args.max_in_flight,
                             retries=args.retries, address=args.address,
                             connect_timeout=args.connect_timeout, exit_on_timeout=True)
    bar = None
    try:
        remote = args.executor != "local"
        if remote:
            cpus = getattr(executor, "cpus", "?")
            print(f"prelabel: Ray, {cpus} CPUs, at most {executor.max_in_flight} recordings "
                  "in flight", file=sys.stderr, flush=True)
        show = args.progress if args.progress is not None else sys.stderr.isatty()
        if show:
            from tqdm import tqdm

            from ..executors.inputs import count

            bar = tqdm(total=count(args.audio, args.pair), unit="file", file=sys.stderr,
                       desc="prelabel")
        state = _Run(out, fingerprint, args.force, bar, args.drafts)
        job = PrelabelJob(settings, fingerprint, MODEL_VERSION,
                          base=os.getcwd() if remote else None)
        executor.map(job, state.items(args.audio, args.pair), state, describe=str)
    finally:
        if bar is not None:
            bar.close()
        executor.close()
    if state.inputs > 1 or not state.failed:  # a single bad input: its error line says it all
        print(f"prelabel: {state.written} written, {state.skipped} up to date, "
              f"{state.failed} failed", file=sys.stderr)
    return 2 if state.failed else 0


def _check_transcript_options(args: argparse.Namespace, out: Path) -> None:
    """Refuse ``--drafts``/``--asr``/``--asr-model`` values that cannot work, before any work.

    Raises:
        InputError: one line naming the option and the problem.
    """
    import importlib.util

    from ..errors import InputError

    if args.drafts is not None:
        drafts = Path(args.drafts)
        if not drafts.is_dir():
            raise InputError("not a directory" if drafts.exists() else "no such directory",
                             where=f"--drafts {drafts}")
        if drafts.resolve() == out.resolve():
            raise InputError("is the --out directory: the TextGrids prelabel writes there would be "
                             "read as drafts", where=f"--drafts {drafts}")
    if args.asr_model is not None and args.asr != "faster-whisper":
        raise InputError("--asr-model is for --asr faster-whisper")
    if args.asr is None:
        return
    module, extra = {"pocketsphinx": ("pocketsphinx", "asr"),
                     "faster-whisper": ("faster_whisper", "whisper")}[args.asr]
    if importlib.util.find_spec(module) is None:
        raise InputError(f"--asr {args.asr}: {module} is not installed: "
                         f"pip install 'casper-qc[{extra}]'")
    from ..asr import get_recognizer

    try:
        get_recognizer(args.asr, args.asr_model)  # checks the model directory; loads nothing
    except InputError as err:
        hint = " (or pass --asr-model DIR)" if args.asr_model is None else ""
        raise InputError(f"--asr {args.asr}: {err.problem}{hint}") from None
