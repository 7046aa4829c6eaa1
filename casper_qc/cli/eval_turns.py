"""``casper-qc eval turns``: score speaker turns (RTTM, TextGrid or our JSONL) against a
reference: missed speech, false alarm, speaker confusion, DER, per-speaker (per-channel) frame
F1, crosstalk taken as speech, turn-boundary precision/recall/F1. Definitions in
:mod:`casper_qc.eval_turns`."""

from __future__ import annotations

import argparse

HELP = "score predicted turns against reference turns (DER, frame F1, crosstalk, boundary F1)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ref", required=True, metavar="REF", help="reference: .rttm, .TextGrid or .jsonl")
    parser.add_argument("--hyp", required=True, metavar="HYP", help="hypothesis: .rttm, .TextGrid or .jsonl")
    parser.add_argument("--collar", type=float, default=0.25, metavar="S",
                        help="forgiveness around reference boundaries, ± seconds (default 0.25; "
                             "pyannote.metrics' collar=0.5); also the boundary tolerance")
    parser.add_argument("--per-file", action="store_true", help="also print each conversation's scores")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _lines(name: str, scores) -> list[str]:
    d = scores.to_dict()
    b = d["boundaries"]
    f1 = ", ".join(f"{k} {v:.3f}" for k, v in d["frame_f1"].items())
    return [
        f"{name}: reference speech {d['reference_speech']:.2f} s in {d['files']} file(s)",
        f"  DER {100 * d['der']:.2f} %  (missed {100 * d['missed_rate']:.2f} %, false alarm "
        f"{100 * d['false_alarm_rate']:.2f} %, confusion {100 * d['confusion_rate']:.2f} %)",
        f"  crosstalk taken as speech {100 * d['crosstalk_rate']:.2f} % of the other talker's solo time",
        f"  frame F1: {f1}",
        f"  turn boundaries: precision {b['precision']:.3f}, recall {b['recall']:.3f}, F1 {b['f1']:.3f} "
        f"({b['matched']} of {b['reference']} reference, {b['hypothesis']} predicted)",
    ]


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import InputError
    from ..eval_turns import evaluate_files

    if args.collar < 0:
        raise InputError(f"--collar must not be negative, not {args.collar}")
    total, per_file = evaluate_files(args.ref, args.hyp, collar=args.collar)
    if args.json:
        out = {"collar": args.collar, "total": total.to_dict()}
        if args.per_file:
            out["files"] = {k: v.to_dict() for k, v in per_file.items()}
        print(json.dumps(out, indent=1))
        return 0
    print(f"collar ±{args.collar:g} s (scored outside the collars; boundaries matched within it)")
    for line in _lines("total", total):
        print(line)
    if args.per_file:
        for name, scores in per_file.items():
            for line in _lines(name, scores):
                print(line)
    return 0
