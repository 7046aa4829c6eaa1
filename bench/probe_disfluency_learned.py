"""How far a small learned model gets past the rule tagger's reparandum (RM) figure -- a probe.

    .venv/bin/python bench/probe_disfluency_learned.py [--epochs 8] [--json]

Question it answers: is the rule tagger's held-out RM F1 (docs/ACCURACY.md) limited by its
hand-set thresholds, or by what its cues can see? It trains, **in memory only**, an averaged
perceptron that decides per content word "reparandum or not" on the tuning part of
``../shared/data/dev/swbd_disfluency_dev`` and scores it on the held-out part, with the same
utterances and the same word-level counts as ``casper-qc eval disfluency --split test``.

Features: the rule tagger's own RM decision and the rule behind it, the word, its neighbours and
their function-word classes, whether a word 1-6 back comes again 1-6 ahead (a rough copy) and
how far, the best word alignment of a span holding the word with the words after it (edit
distance per word), an interregnum or a cut-off word next to it.

Nothing is saved: the Switchboard annotation is non-commercial (its SOURCES.md), so no weight
learned from it may ship, and this script writes no file. It is not part of ``make bench``
(``bench/run.py`` runs ``bench_*.py`` only). Figures and the command go in docs/ACCURACY.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from casper_qc import disfluency_eval as ev
from casper_qc import disfluency_repairs as rp
from casper_qc.conventions import DEFAULT_LEXICON
from casper_qc.disfluency import word_forms
from casper_qc.disfluency_rules import compile_lexicon

DEV = REPO.parent / "shared" / "data" / "dev" / "swbd_disfluency_dev"
_CLASSES = (("det", rp.DETERMINERS), ("subj", rp.SUBJECT_FORMS), ("you", rp.YOU_FORMS),
            ("conj", rp.CONJUNCTIONS), ("prep", rp.PREPOSITIONS), ("aux", rp.AUXILIARIES),
            ("adv", rp.ADVERBS), ("sub", rp.SUBORDINATORS), ("ans", rp.FLUENT_REPEATS))


def word_class(form: str) -> str:
    for name, members in _CLASSES:
        if form in members:
            return name
    return "pw" if rp.is_partial(form) else "o"


def features(forms: list[str]) -> list[tuple[int, list[str]]]:
    """(position, features) for each content word (not a filler, marker, editing term)."""
    spans = compile_lexicon(DEFAULT_LEXICON).tag(forms)
    lexical = [False] * len(forms)
    ruled: dict[int, str] = {}
    for _kind, start, stop, reparandum, _im, _rp, rule in spans:
        if rule == "lexicon":
            lexical[start:stop] = [True] * (stop - start)
        if reparandum:
            for k in range(*reparandum):
                ruled[k] = rule
    index = [k for k, form in enumerate(forms) if form and not lexical[k]]
    c = [forms[k] for k in index]
    m = len(c)
    out = []
    for j, w in enumerate(c):
        k = index[j]
        prev = c[j - 1] if j else "<s>"
        nxt = c[j + 1] if j + 1 < m else "</s>"
        f = ["bias", "w=" + w, "c=" + word_class(w), "p=" + prev, "n=" + nxt, f"wn={w}_{nxt}",
             "pc=" + word_class(prev), "nc=" + word_class(nxt), f"cnc={word_class(w)}_{word_class(nxt)}",
             f"rule={ruled.get(k, '-')}"]
        if j + 1 < m and any(lexical[x] for x in range(k + 1, index[j + 1])):
            f += ["interregnum_after", "interregnum_after_c=" + word_class(w)]
        copy = _nearest_copy(c, j)
        if copy:
            back, ahead, exact, said_again = copy
            f += [f"copy_back{back}", f"copy_ahead{ahead}", f"copy_{back}_{ahead}", f"copy_exact{exact}",
                  f"copy_{back}_{ahead}_c{word_class(c[j - back])}", f"copy_again{said_again}"]
        align = _best_alignment(c, j)
        if align:
            ratio, distance, size, ahead, same_start = align
            f += [f"al_r{ratio}", f"al_d{distance}_s{size}", f"al_ahead{ahead}",
                  f"al_same{same_start}", f"al_r{ratio}_same{same_start}", f"al_r{ratio}_c{word_class(w)}"]
        for d in (1, 2, 3):
            if j + d < m and c[j + d] == w:
                f.append(f"same+{d}")
            if j >= d and c[j - d] == w:
                f.append(f"same-{d}")
        if j + 1 < m and rp.is_partial(c[j + 1]):
            f.append("next_partial")
        if j + 1 < m and c[j + 1] != w and word_class(w) != "o" and word_class(c[j + 1]) == word_class(w):
            f.append("next_same_class")
        f.append("first" if j == 0 else "last" if j == m - 1 else "inside")
        out.append((k, f))
    return out


def _nearest_copy(c: list[str], j: int) -> tuple[int, int, bool, int] | None:
    """A word up to 5 back (or this one) said again (or a variant) up to 6 ahead."""
    for i in range(j, max(-1, j - 6), -1):
        for r in range(j + 1, min(len(c), j + 7)):
            if rp._variant(c[i], c[r]) or rp._variant(c[r], c[i]):
                again = 0
                while i + again <= j and r + again < len(c) and c[i + again] == c[r + again]:
                    again += 1
                return min(j - i, 4), min(r - j, 4), c[i] == c[r], min(again, 3)
    return None


def _best_alignment(c: list[str], j: int) -> tuple[float, int, int, int, bool] | None:
    """The span [i, e) holding word j whose following words align best with it."""
    best = None
    for e in range(j + 1, min(len(c), j + 7)):
        for i in range(max(0, e - 6), j + 1):
            if e - i < 2 and c[i] != c[e]:
                continue
            distance, _ = rp._align(c, i, e)
            size = e - i
            if distance < size and (best is None or (distance / size, -size) < best[0]):
                best = ((distance / size, -size), distance, size, e - j,
                        rp._variant(c[i], c[e]) or rp._variant(c[e], c[i]))
    if best is None:
        return None
    _, distance, size, ahead, same = best
    return round(distance / size, 1), min(distance, 3), min(size, 5), min(ahead, 4), same


def examples(split: str) -> list[tuple[list[str], bool]]:
    """(features, gold RM) per content word, and gold RM words the model cannot see (fillers)."""
    out, unseen = [], 0
    for path in ev.split_files(DEV, split):
        for gold in ev.read_gold(path, by_speaker=True):
            seen = set()
            for k, f in features(word_forms(gold.words)):
                out.append((f, "RM" in gold.labels[k]))
                seen.add(k)
            unseen += sum(1 for k, labels in enumerate(gold.labels) if k not in seen and "RM" in labels)
    return out, unseen


def train(items: list[tuple[list[str], bool]], epochs: int, seed: int = 1) -> dict[str, float]:
    """Averaged perceptron weights (lazy averaging)."""
    weights: dict[str, float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    stamps: dict[str, int] = defaultdict(int)
    t = 0
    order = list(items)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for f, gold in order:
            t += 1
            if (sum(weights.get(x, 0.0) for x in f) > 0) != gold:
                step = 1.0 if gold else -1.0
                for x in f:
                    totals[x] += (t - stamps[x]) * weights[x]
                    stamps[x] = t
                    weights[x] += step
    return {x: (totals[x] + (t - stamps[x]) * w) / t for x, w in weights.items()}


def score(weights: dict[str, float], items, unseen: int, threshold: float) -> dict[str, float]:
    tp = fp = fn = 0
    for f, gold in items:
        said = sum(weights.get(x, 0.0) for x in f) > threshold
        tp += said and gold
        fp += said and not gold
        fn += gold and not said
    fn += unseen
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"threshold": threshold, "tp": tp, "fp": fp, "fn": fn, "precision": round(p, 3),
            "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DEV.is_dir():
        print(f"probe: {DEV} is missing (the development set)", file=sys.stderr)
        return 2
    tune, tune_unseen = examples("tune")
    test, test_unseen = examples("test")
    weights = train(tune, args.epochs)
    rows = {"tune (trained on)": [score(weights, tune, tune_unseen, 0.0)],
            "test (held out)": [score(weights, test, test_unseen, t) for t in (-2.0, -1.0, 0.0, 1.0, 2.0)]}
    if args.json:
        print(json.dumps(rows))
        return 0
    for name, results in rows.items():
        for row in results:
            print(f"{name:18} threshold {row['threshold']:+.1f}  tp {row['tp']:5d} fp {row['fp']:4d} "
                  f"fn {row['fn']:4d}  P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
