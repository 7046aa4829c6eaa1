"""``casper-qc eval asr``: word error rate and real-time factor of an offline ASR engine.

Decodes the turns of the development data's corpora (``--data``, layout in
:mod:`casper_qc.asr.evaluate`) with ``--engine`` and prints, per corpus and overall, the WER as
total errors / total reference words under ``normalized-v1`` (fillers optional) and with
fillers scored, the real-time factor (decoding wall and CPU time / audio seconds; model load
apart), and whether drafts of that quality would help annotators (WER at most 30 %,
Gaur et al. 2016). Exit code 0 whatever the WER: this reports, it does not gate.
"""

from __future__ import annotations

import argparse

HELP = "word error rate and speed of an offline ASR engine on the development data"


def configure(parser: argparse.ArgumentParser) -> None:
    from ..asr.evaluate import CORPORA

    parser.add_argument("--engine", default="pocketsphinx",
                        help="ASR engine: pocketsphinx (model shipped in its package; default) or "
                             "faster-whisper (needs --model-dir or CASPER_ASR_MODEL_DIR)")
    parser.add_argument("--model-dir", metavar="DIR",
                        help="faster-whisper model directory "
                             "(model.bin, config.json, tokenizer.json)")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="development data directory holding " + ", ".join(CORPORA))
    parser.add_argument("--corpus", action="append", choices=CORPORA,
                        help="score only this corpus (repeatable; default: every one found)")
    parser.add_argument("--pad", type=float, default=0.0, metavar="SECONDS",
                        help="decode each turn with this much audio around it (default 0)")
    parser.add_argument("--per-item", action="store_true",
                        help="also print each recording's WER and each turn's hypothesis")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _pct(value: float | None) -> str:
    return f"{value:6.1%}" if value is not None else f"{'-':>6}"


def _table(summary: dict) -> list[str]:
    lines = [f"{'corpus':22} {'turns':>5} {'ref words':>9} {'WER':>6} {'S':>4} {'D':>4} {'I':>4} "
             f"{'WER+fill':>8} {'audio s':>8} {'RTF wall':>8} {'RTF cpu':>8}"]
    rows = list(summary["corpora"].items()) + [("overall", summary["overall"])]
    for name, block in rows:
        n, f = block["normalized"], block["scored-fillers"]
        lines.append(f"{name:22} {block['turns']:5d} {n['ref_words']:9d} {_pct(n['wer'])} "
                     f"{n['substitutions']:4d} {n['deletions']:4d} {n['insertions']:4d} "
                     f"{_pct(f['wer']):>8} {block['audio_seconds']:8.1f} "
                     f"{block['rtf_wall'] or 0:8.3f} {block['rtf_cpu'] or 0:8.3f}")
    return lines


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from ..asr import get_recognizer
    from ..asr.evaluate import dev_items, evaluate, summarize
    from ..errors import InputError

    if not args.pad >= 0:
        raise InputError(f"--pad must be a non-negative number of seconds, not {args.pad}")
    recognizer = get_recognizer(args.engine, args.model_dir)
    items = dev_items(args.data, args.corpus)
    started = time.perf_counter()
    recognizer.load()
    load_seconds = time.perf_counter() - started

    def progress(result) -> None:
        if not args.json:
            print(f"decoded {result.item.corpus}/{result.item.name} "
                  f"({result.audio_seconds:.1f} s of audio in {result.wall_seconds:.1f} s)",
                  file=sys.stderr)

    results = evaluate(items, recognizer, pad=args.pad, progress=progress)
    summary = summarize(results)
    summary = {"engine": args.engine, "load_seconds": round(load_seconds, 3), **summary}
    if args.per_item:
        summary["items"] = [
            {"corpus": r.item.corpus, "name": r.item.name,
             "wer": r.counts["normalized"].wer,
             "turns": [{"id": t.id, "reference": ref, "hypothesis": hyp}
                       for t, ref, hyp in zip(r.item.turns, r.item.references, r.hypotheses)]}
            for r in results]
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"engine {args.engine} (model loaded in {load_seconds:.1f} s); WER = errors / "
          "reference words, normalized-v1 (fillers optional); WER+fill scores fillers too")
    for line in _table(summary):
        print(line)
    if args.per_item:
        for entry in summary["items"]:
            print(f"\n{entry['corpus']}/{entry['name']}: WER {_pct(entry['wer']).strip()}")
            for turn in entry["turns"]:
                print(f"  {turn['id']}\n    REF: {turn['reference']}\n"
                      f"    HYP: {turn['hypothesis']}")
    print(f"verdict: {summary['verdict']}")
    return 0
