"""``casper-qc eval disfluency``: word-level precision, recall and F1 of the disfluency tagger.

Gold files are Switchboard word tables (``*.words.tsv``), CHAT files (``.cha``) or text in
Switchboard markup, one utterance per line. A directory stands for the word tables in it, of
the fixed split ``--split`` (``tune``: the first 34 by sorted name, ``test``: the other 17,
``all``). Figures are computed from counts summed over all files (and per file with
``--per-file``); FP, DM and ET are scored apart only where the gold tells them apart, and always
together as FP+DM+ET. Word tables also give RM recall by the gold repair's type (RM:REP,
RM:REV, RM:FS; recall only). Gold lines whose markup does not parse are reported and skipped.
"""

from __future__ import annotations

import argparse

from .disfluency_tag import add_lexicon_options

HELP = "score the disfluency tagger against gold files (word-level P/R/F1 per label)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", nargs="+", required=True, metavar="FILE",
                        help="gold files (.words.tsv, .cha, or Switchboard markup text) or "
                             "directories of .words.tsv word tables")
    parser.add_argument("--split", choices=("tune", "test", "all"),
                        help="which word tables of a --gold directory to score (default: all)")
    parser.add_argument("--segment", choices=("speaker", "turn"), default="speaker",
                        help="how word tables are cut into utterances: speaker (default) cuts each "
                             "speaker's words at their own pauses over 1 s; turn also cuts at "
                             "every change of speaker")
    parser.add_argument("--per-file", action="store_true", help="also score each file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_lexicon_options(parser)


def gold_paths(items: list[str], split: str | None) -> list:
    """Files to score: files as given, directories expanded to their word tables of ``split``."""
    from pathlib import Path

    from ..disfluency_eval import split_files
    from ..errors import InputError

    paths = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(split_files(path, split or "all"))
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError("no such file or directory", where=item)
    if split is not None and not any(Path(i).is_dir() for i in items):
        raise InputError("--split chooses word tables of a directory; no --gold is a directory")
    return paths


def table(counts: dict) -> list[str]:
    from ..disfluency_eval import BY_TYPE, LABELS

    lines = [f"{'label':9} {'gold':>6} {'tagged':>6} {'tp':>6} {'fp':>6} {'fn':>6} "
             f"{'P':>6} {'R':>6} {'F1':>6}"]
    for label in LABELS:
        c = counts.get(label)
        if c is not None:
            # a rate with nothing to count is undefined: "-" rather than a misleading 0
            recall_only = label in BY_TYPE
            p = f"{c.precision:6.3f}" if c.predicted and not recall_only else f"{'-':>6}"
            r = f"{c.recall:6.3f}" if c.gold else f"{'-':>6}"
            f = f"{c.f1:6.3f}" if (c.predicted or c.gold) and not recall_only else f"{'-':>6}"
            lines.append(f"{label:9} {c.gold:6d} {c.predicted:6d} {c.tp:6d} {c.fp:6d} {c.fn:6d} {p} {r} {f}")
    return lines


def as_dict(label: str, counts) -> dict:
    """Counts and rates of one label; recall-only labels (RM:REP…) have no fp, precision, F1."""
    from ..disfluency_eval import BY_TYPE

    out = counts.to_dict()
    if label in BY_TYPE:
        return {key: out[key] for key in ("tp", "fn", "recall")}
    return out


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from .. import disfluency_eval as ev
    from ..disfluency import tag, word_tags
    from .disfluency_tag import load_lexicon

    lexicon = load_lexicon(args)
    paths = gold_paths(args.gold, args.split)

    def tagger(words):
        return word_tags(len(words), tag(words, lexicon=lexicon))

    started = time.perf_counter()
    scores = ev.score_files(paths, tagger, lexicon=lexicon, by_speaker=args.segment == "speaker")
    seconds = time.perf_counter() - started
    overall = ev.total(scores)
    problems = [p for s in scores for p in s.problems]
    for problem in problems:
        print(f"casper-qc: warning: {problem} (line skipped)", file=sys.stderr)
    words = sum(s.words for s in scores)
    if args.json:
        payload = {
            "files": len(scores), "words": words, "utterances": sum(s.utterances for s in scores),
            "segment": args.segment, "seconds": round(seconds, 3),
            "overall": {label: as_dict(label, c) for label, c in overall.items()},
            "skipped_lines": problems,
        }
        if args.per_file:
            payload["per_file"] = [{"file": s.path, "words": s.words, "utterances": s.utterances,
                                    "counts": {label: as_dict(label, c) for label, c in s.counts.items()}}
                                   for s in scores]
        print(json.dumps(payload, indent=2))
        return 0
    if args.per_file:
        for score in scores:
            print(f"{score.path}: {score.words} words, {score.utterances} utterances")
            print("\n".join("  " + line for line in table(dict(score.counts))))
        print()
    print(f"overall: {len(scores)} file(s), {words} words, "
          f"{sum(s.utterances for s in scores)} utterances (segment: {args.segment})"
          + (f", {len(problems)} gold line(s) skipped" if problems else ""))
    print("\n".join(table(overall)))
    return 0
