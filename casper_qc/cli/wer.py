"""``casper-qc wer``: word error rate of a hypothesis against a reference, line by line."""

from __future__ import annotations

import argparse

HELP = "word error rate of HYP against REF (text files, one utterance per line)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ref", required=True, metavar="REF",
                        help="reference text, one utterance per line (UTF-8)")
    parser.add_argument("--hyp", required=True, metavar="HYP",
                        help="hypothesis text, the same number of lines as REF")
    parser.add_argument("--mode", choices=("verbatim", "normalized"), default="normalized",
                        help="verbatim: every token counts as written; normalized (default): "
                             "case and punctuation folded, events dropped, fillers optional, "
                             "partial words matched by prefix")
    parser.add_argument("--score-fillers", action="store_true",
                        help="normalized mode: count fillers like other words")
    parser.add_argument("--alignments", action="store_true",
                        help="also print the alignment of every line with an error")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def read_lines(path: str) -> list[str]:
    """The lines of a UTF-8 text file (a final newline ends the last line, it adds none).

    Raises:
        FormatError: missing, unreadable, not UTF-8, or empty.
    """
    from ..errors import FormatError
    from ..fileio import read_text

    text = read_text(path, missing="no such file", directory="is a directory, not a text file")
    if not text:
        raise FormatError("empty file: no utterances", where=path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import InputError
    from ..metrics.normalize import get_normalizer
    from ..metrics.alignment import align
    from ..metrics.wer import wer_counts

    if args.score_fillers and args.mode != "normalized":
        raise InputError("--score-fillers applies to --mode normalized only")
    refs, hyps = read_lines(args.ref), read_lines(args.hyp)
    if len(refs) != len(hyps):
        raise InputError(f"{args.ref} has {len(refs)} lines but {args.hyp} has {len(hyps)}; "
                         "the files need one utterance per line, in the same order")
    normalizer = get_normalizer(args.mode, fillers=() if args.score_fillers else None)
    counts = wer_counts(refs, hyps, normalizer)
    if counts.wer is None:
        raise InputError(f"the reference has no words under {normalizer.name}, so WER is "
                         f"undefined (the hypothesis has {counts.hyp_words})", where=args.ref)
    alignments = []
    if args.alignments:
        for line, (ref, hyp) in enumerate(zip(refs, hyps), 1):
            alignment = align(ref, hyp, normalizer)
            if alignment.counts.errors:
                alignments.append((line, alignment))
    if args.json:
        payload = {**counts.to_dict(), "normalizer": normalizer.describe(), "ref": args.ref,
                   "hyp": args.hyp}
        if args.alignments:
            payload["alignments"] = [
                {"line": line, **a.counts.to_dict(),
                 "ops": [{"op": op, "ref": None if r is None else a.ref[r],
                          "hyp": None if h is None else a.hyp[h]} for op, r, h in a.ops]}
                for line, a in alignments]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    errors = f"{counts.errors} error{'' if counts.errors == 1 else 's'}"
    print(f"WER: {100 * counts.wer:.2f}% ({errors} / {counts.ref_words} reference words)")
    print(f"S={counts.substitutions} D={counts.deletions} I={counts.insertions} "
          f"H={counts.hits} N={counts.ref_words}")
    print(f"hypothesis words: {counts.hyp_words}, utterances: {counts.utterances}")
    if normalizer.fillers:
        print(f"fillers left out as optional: reference {counts.optional_ref}, "
              f"hypothesis {counts.optional_hyp}")
    print(f"normalizer: {normalizer.name}")
    for line, alignment in alignments:
        print(f"\nline {line}: {alignment.counts.errors} error(s)\n{alignment}")
    return 0
