"""Speed of the disfluency tagger on one core, in words per second.

    .venv/bin/python bench/bench_disfluency.py [--text FILE] [--repeat 5] [--json]

The words are the 51 Switchboard conversations of ``../shared/data/dev/swbd_disfluency_dev``
(48,008 words, cut into utterances as ``casper-qc eval disfluency`` cuts them; read from there,
never copied), or the lines of ``--text``. The process is pinned to one CPU first. Three paths
are timed, best of ``--repeat`` runs each:

* ``forms``: :func:`casper_qc.disfluency.tag_forms` on normalized forms plus the per-word tags
  (the tagger's core);
* ``records``: :func:`casper_qc.disfluency.tag` on the tokens, building ``Disfluency`` records,
  plus :func:`~casper_qc.disfluency.word_tags` (the library call);
* ``cli``: what ``casper-qc disfluency tag`` does per line: split, tag, build the JSON object,
  serialize it (no file I/O).

Figures and the command go in docs/PERFORMANCE.md; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def utterances(text: str | None) -> list[list[str]]:
    if text:
        return [line.split() for line in Path(text).read_text(encoding="utf-8").splitlines()]
    from casper_qc.disfluency_eval import read_word_table, split_files

    shared = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared"))
    directory = shared / "data" / "dev" / "swbd_disfluency_dev"
    return [[w.text for w in u.words] for path in split_files(directory, "all")
            for u in read_word_table(path, by_speaker=True)]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", help="UTF-8 text, one utterance per line (default: the dev set)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from casper_qc.cli.disfluency_tag import tag_line
    from casper_qc.conventions import DEFAULT_LEXICON, normalize
    from casper_qc.disfluency import tag, tag_forms, word_tags

    data = utterances(args.text)
    lines = [" ".join(u) for u in data]
    words = sum(len(u) for u in data)
    tag_forms(["warm", "up", "uh"])  # compile the lexicon once, as a long run would

    def forms_path() -> None:
        for u in data:
            word_tags(len(u), tag_forms([normalize(w) for w in u]))

    def records_path() -> None:
        for u in data:
            word_tags(len(u), tag(u))

    def cli_path() -> None:
        for line in lines:
            json.dumps(tag_line(line, "none", DEFAULT_LEXICON)[0], ensure_ascii=False)

    results = {}
    for name, fn in (("forms", forms_path), ("records", records_path), ("cli", cli_path)):
        seconds = best(fn, args.repeat)
        results[name] = {"seconds": round(seconds, 4), "words_per_second": round(words / seconds)}
    report = {"words": words, "utterances": len(data), "repeat": args.repeat, "cpus": 1,
              "python": platform.python_version(), "machine": platform.machine(), "paths": results}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{words} words in {len(data)} utterances, one CPU, best of {args.repeat}, "
              f"Python {report['python']}")
        for name, r in results.items():
            print(f"  {name:8} {r['words_per_second']:>10,} words/s  ({r['seconds']:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
