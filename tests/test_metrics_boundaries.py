"""Turn-boundary precision/recall/F1 within a collar (casper_qc.metrics.boundaries).

The one-to-one matching is checked against a maximum bipartite matching by augmenting paths
(Kuhn's algorithm, written here independently) on random points and on real speech (the MFA
stereo recording: utterance tiers against turns rebuilt from the word alignment).
"""

from __future__ import annotations

import numpy as np
import pytest

from casper_qc.errors import InputError
from casper_qc.metrics.boundaries import BoundaryCounts, boundary_counts, match_points
from casper_qc.model import Turn
from test_metrics_frames import real_annotations


def _max_matching(ref, hyp, collar):
    match_of_hyp: dict[int, int] = {}

    def augment(r, seen):
        for h, point in enumerate(hyp):
            if abs(ref[r] - point) <= collar and h not in seen:
                seen.add(h)
                if h not in match_of_hyp or augment(match_of_hyp[h], seen):
                    match_of_hyp[h] = r
                    return True
        return False

    return sum(augment(r, set()) for r in range(len(ref)))


def test_one_to_one_within_the_collar():
    assert match_points([1000], [800, 1000], 250) == [(0, 1)]  # the nearer of two
    assert match_points([1000], [750], 250) == [(0, 0)]  # the collar is inclusive
    assert match_points([1000], [749], 250) == []
    assert len(match_points([1000, 1000], [1000], 250)) == 1  # each boundary used once
    # nearest-first would give 200 -> 150 and leave 100 unmatched: the most hits win
    assert sorted(match_points([100, 200], [150, 290], 100)) == [(0, 0), (1, 1)]


def test_random_points_get_a_maximum_matching_with_the_least_shift():
    rng = np.random.default_rng(4)
    for _ in range(200):
        ref = np.sort(rng.integers(0, 3000, rng.integers(0, 12)))
        hyp = np.sort(rng.integers(0, 3000, rng.integers(0, 12)))
        collar = int(rng.integers(0, 400))
        pairs = match_points(ref, hyp, collar)
        assert len(pairs) == _max_matching(ref.tolist(), hyp.tolist(), collar)
        assert len({r for r, _ in pairs}) == len({h for _, h in pairs}) == len(pairs)
        assert all(abs(ref[r] - hyp[h]) <= collar for r, h in pairs)


def test_counts_precision_recall_f1():
    ref = [Turn("A", 0.0, 1.0), Turn("B", 0.8, 2.0), Turn("A", 2.5, 3.0)]
    hyp = [Turn("A", 0.05, 1.1), Turn("B", 1.0, 2.0), Turn("A", 2.4, 3.3), Turn("A", 4.0, 5.0)]
    counts = boundary_counts(ref, hyp, collar=0.1)
    # hits: A starts 0/.05 and 2.5/2.4, A end 1.0/1.1, B end 2.0/2.0;
    # misses: B start .8/1.0 and A end 3.0/3.3
    assert counts == BoundaryCounts(4, 6, 8, 50 + 100 + 100 + 0, 0.1)
    assert (counts.precision, counts.recall) == (0.5, 4 / 6)
    assert counts.f1 == pytest.approx(8 / 14)
    assert counts.mean_shift == pytest.approx(0.0625)
    # speakers are kept apart unless asked otherwise, and starts never match ends
    swapped = [Turn("B", t.start, t.end) for t in ref]
    assert boundary_counts(swapped, ref, collar=0.1).hits == 2  # only ref's B turn has a B twin
    assert boundary_counts(swapped, ref, collar=0.1, by_speaker=False).hits == 6


def test_counts_add_and_empty_rates_are_undefined():
    empty = boundary_counts([], [], collar=0.25)
    assert empty == BoundaryCounts(collar=0.25)
    assert (empty.precision, empty.recall, empty.f1, empty.mean_shift) == (None, None, None, None)
    one = boundary_counts([Turn("A", 0, 1)], [Turn("A", 0.1, 1)], collar=0.25)
    assert one + empty == one and sum([one, one]).hits == 4
    with pytest.raises(ValueError, match="collars"):
        one + boundary_counts([], [], collar=0.5)
    with pytest.raises(InputError, match="collar"):
        boundary_counts([], [], collar=-1)


def test_real_speech_hits_are_a_maximum_matching(shared_dev):
    a, b, _ = real_annotations(shared_dev)
    for collar in (0.0, 0.05, 0.25, 1.0):
        counts = boundary_counts(a, b, collar=collar)
        expected = 0
        for speaker in {t.speaker for t in a.turns}:
            for kind in ("start", "end"):
                ref = [round(getattr(t, kind) * 1000) for t in a.turns if t.speaker == speaker]
                hyp = [round(getattr(t, kind) * 1000) for t in b.turns if t.speaker == speaker]
                expected += _max_matching(ref, hyp, round(collar * 1000))
        assert counts.hits == expected, collar
        assert counts.ref_boundaries == 2 * len(a.turns)
        assert counts.hyp_boundaries == 2 * len(b.turns)
    assert boundary_counts(a, b, collar=0.25).f1 <= boundary_counts(a, b, collar=1.0).f1
