"""The hidden truth of the generated QC projects of ``bench/bench_metrics.py`` and
``bench/bench_qc.py``: two-speaker conversations with fillers, partial words, repetitions and
overlapping turns, from a seeded ``random.Random`` (the same seed gives the same project).
"""

from __future__ import annotations

import random

VOCAB = ("the a to and i you it that we was of in is so like just know they have but not "
         "what this there yeah right well think go going really people would about get one "
         "can do time all no some when out them because thing things mean kind pretty good "
         "work school money house car kids years lot little bit last week year said told").split()


def truth_turns(rng: random.Random, words_per_speaker: int, *, fillers: tuple[str, ...],
                repetition: str) -> list[tuple[str, float, float, list[tuple[str, str | None]]]]:
    """(speaker, start, end, [(word, tag)]) turns of one conversation, alternating, some
    overlapping. Tags: ``FP`` (a filler drawn from ``fillers``), ``PW`` (a partial word before
    the word), ``repetition`` (a word said twice: the tag is on the first)."""
    turns = []
    clock = 0.3
    budget = {"A": words_per_speaker, "B": words_per_speaker}
    speaker = "A"
    while budget["A"] > 0 or budget["B"] > 0:
        if budget[speaker] <= 0:
            speaker = "B" if speaker == "A" else "A"
        n = min(budget[speaker], rng.choice((1, 2, 3, 5, 8, 12, 16, 20)))
        budget[speaker] -= n
        words: list[tuple[str, str | None]] = []
        while len(words) < n:
            roll = rng.random()
            if roll < 0.06:
                words.append((rng.choice(fillers), "FP"))
            elif roll < 0.08 and len(words) + 2 <= n:
                w = rng.choice(VOCAB)
                words += [(w[:2] + "-", "PW"), (w, None)]
            elif roll < 0.12 and len(words) + 2 <= n:
                w = rng.choice(VOCAB)
                words += [(w, repetition), (w, None)]
            else:
                words.append((rng.choice(VOCAB), None))
        words = words[:n]
        duration = 0.28 * n + rng.uniform(0.1, 0.5)
        start = max(0.0, clock - (rng.uniform(0.1, 0.6) if rng.random() < 0.2 else 0.0))
        turns.append((speaker, round(start, 3), round(start + duration, 3), words))
        clock = start + duration + rng.uniform(0.05, 0.8)
        speaker = "B" if speaker == "A" else "A"
    return turns
