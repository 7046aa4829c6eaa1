"""Metrics over whole annotations: turn matching, pairwise WER, per-region choice agreement and
pre-label edits (casper_qc.metrics.matching, .pairwise, .choices, .prelabel_edits).

Conversational text written for these tests; real speech timing from the MFA stereo recording.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from casper_qc.errors import InputError
from casper_qc.metrics.alpha import krippendorff_alpha
from casper_qc.metrics.choices import NONE, choice_agreement, choice_value
from casper_qc.metrics.matching import match_turns
from casper_qc.metrics.pairwise import pairwise_wer, speaker_text
from casper_qc.metrics.prelabel_edits import EditCounts, prelabel_edits
from casper_qc.metrics.wer import wer_counts
from casper_qc.model import Annotation, Disfluency, Turn, Word
from test_metrics_frames import real_annotations


def turn(speaker, start, end, text="", choices=None, disfluencies=()):
    return Turn(speaker, start, end, text=text, words=tuple(Word(w) for w in text.split()),
                choices=choices or {}, disfluencies=disfluencies)


# --- matching -----------------------------------------------------------------------------

def test_matching_maximises_total_overlap_one_to_one():
    a = [Turn("A", 0, 2), Turn("A", 2, 4)]
    b = [Turn("A", 0.5, 3.5)]
    assert match_turns(a, b, min_iou=0.1) == [(0, 0)]  # IoU 1.5/3.5 beats 1.5/4
    # the isolated-pair shortcut and the solver agree with an exhaustive search
    rng = np.random.default_rng(8)
    for _ in range(60):
        def draw():
            starts = np.sort(rng.uniform(0, 10, rng.integers(0, 5)))
            return [Turn("A", float(s), float(s) + float(rng.uniform(0.2, 3))) for s in starts]
        a, b = draw(), draw()
        pairs = match_turns(a, b, min_iou=0.2)

        def iou(x, y):
            inter = max(0.0, min(x.end, y.end) - max(x.start, y.start))
            return inter / (x.duration + y.duration - inter)

        best = 0.0
        for k in range(min(len(a), len(b)) + 1):
            for chosen_a in itertools.combinations(range(len(a)), k):
                for chosen_b in itertools.permutations(range(len(b)), k):
                    scores = [iou(a[i], b[j]) for i, j in zip(chosen_a, chosen_b)]
                    if all(s >= 0.2 for s in scores):
                        best = max(best, sum(scores))
        assert sum(iou(a[i], b[j]) for i, j in pairs) == pytest.approx(best, abs=1e-3)


def test_small_crowded_clusters_are_settled_as_the_solver_settles_them(monkeypatch):
    from casper_qc.metrics import matching

    rng = np.random.default_rng(3)
    clusters = []
    for _ in range(3000):  # chained overlaps of 3 to 7 turns, times on a coarse grid (ties happen)
        n = int(rng.integers(3, 8))
        starts = np.sort(rng.integers(0, 40, n)) * 50
        clusters.append([(0, int(s), int(s) + int(rng.integers(1, 30)) * 50, int(rng.integers(0, 2)), k)
                         for k, s in enumerate(starts)])
    fast = [sorted(matching._settle(c, iou)) for c in clusters for iou in (0.2, 0.5)]
    assert sum(1 for c in clusters if matching._small([x for x in c if x[3] == 0], [x for x in c if x[3] == 1],
                                                      0.2) is not None) > 1000
    monkeypatch.setattr(matching, "_small", lambda left, right, min_iou: None)  # always the solver
    assert fast == [sorted(matching._settle(c, iou)) for c in clusters for iou in (0.2, 0.5)]


def test_matching_keeps_speakers_apart_unless_asked():
    a, b = [Turn("A", 0, 1)], [Turn("B", 0, 1)]
    assert match_turns(a, b) == [] and match_turns(a, b, same_speaker=False) == [(0, 0)]
    with pytest.raises(ValueError, match="min_iou"):
        match_turns(a, b, min_iou=0)


# --- pairwise WER -------------------------------------------------------------------------

def test_speaker_texts_are_speaker_text_of_every_speaker():
    from casper_qc.metrics.pairwise import speaker_texts

    ann = Annotation(1, [turn("A", 1, 2, "think so"), turn("A", 0, 1, "so I"), Turn("B", 0, 2, text="Yeah."),
                         Turn("B", 2, 3, text=""), Turn("C", 4, 5, text="")], annotator="ann")
    assert speaker_texts(ann) == {s: speaker_text(ann, s) for s in "ABC"} == {"A": "so I think so", "B": "Yeah.",
                                                                               "C": ""}


def test_pairwise_wer_reads_each_speaker_as_one_text():
    ann = Annotation(1, [turn("A", 0, 1, "so I"), turn("A", 1, 2, "think so"),
                         turn("B", 0, 2, "Yeah.")], annotator="ann")
    bob = Annotation(1, [turn("A", 0, 2, "so uh I think so"), turn("B", 0, 2, "yeah right")],
                     annotator="bob")
    cid = Annotation(1, [turn("A", 0, 2, "so I thing so")], annotator="ann")
    assert speaker_text(ann, "A") == "so I think so"
    pairs = pairwise_wer([ann, bob, cid])
    assert [(p.a, p.b) for p in pairs] == [("ann", "bob"), ("ann", "ann #3"), ("bob", "ann #3")]
    assert pairs[0].counts == wer_counts(["so I think so", "Yeah."],
                                         ["so uh I think so", "yeah right"])
    assert (pairs[0].counts.insertions, pairs[0].counts.errors) == (1, 1)
    assert pairs[1].counts.substitutions == 1 and pairs[1].counts.deletions == 1
    with pytest.raises(InputError, match="at least two"):
        pairwise_wer([ann])


def test_pairwise_wer_on_real_transcripts(shared_dev):
    a, b, _ = real_annotations(shared_dev)
    (pair,) = pairwise_wer([a, b], normalizer="verbatim")
    # the aligner dropped one "uh" and wrote "word" for "words" (see its SOURCES.md)
    assert (pair.counts.deletions, pair.counts.substitutions, pair.counts.errors) == (1, 1, 2)
    (normalized,) = pairwise_wer([a, b])
    assert normalized.counts.errors == normalized.counts.substitutions == 1


# --- per-region choices -------------------------------------------------------------------

def test_choice_values_and_units_across_three_annotators():
    assert choice_value(turn("A", 0, 1, choices={"tag": ("REP", "FP")}), "tag") == "FP+REP"
    assert choice_value(turn("A", 0, 1), "tag") == NONE
    a = [turn("A", 0, 2, choices={"q": "ok"}), turn("B", 2, 4, choices={"q": "ok"}),
         turn("A", 5, 6, choices={"q": "bad"})]
    b = [turn("A", 0.1, 2, choices={"q": "ok"}), turn("B", 2, 3.9, choices={"q": "bad"}),
         turn("A", 8, 9, choices={"q": "ok"})]
    c = [turn("A", 0, 2.2, choices={"q": "ok"}), turn("B", 2.1, 4), turn("B", 5, 6)]
    counts = choice_agreement([a, b, c], "q")
    # units: first A turn (ok, ok, ok), B turn (ok, bad, none); the rest match nothing
    assert (counts.regions, counts.unmatched, counts.alpha.units) == (9, 3, 2)
    expected = krippendorff_alpha([["ok", "ok"], ["ok", "bad"], ["ok", NONE]])
    assert counts.value == pytest.approx(expected.alpha, abs=1e-12)
    total = counts + choice_agreement([a, a], "q")
    assert total.alpha.units == 5 and total.regions == 15
    with pytest.raises(ValueError, match="cannot add"):
        counts + choice_agreement([a, a], "other")
    with pytest.raises(InputError, match="at least two"):
        choice_agreement([a], "q")


def test_two_regions_of_one_annotator_in_a_unit_give_no_value():
    a = [turn("A", 0, 4, choices={"q": "x"})]
    b = [turn("A", 0, 2.5, choices={"q": "x"})]
    c = [turn("A", 1.5, 4, choices={"q": "y"}), turn("A", 0, 1.5, choices={"q": "z"})]
    counts = choice_agreement([a, b, c], "q", min_iou=0.3)
    assert counts.alpha.units == 1
    assert counts.alpha.coincidences.sum() == 2  # a and b pair; c has two regions there


# --- pre-label edits ----------------------------------------------------------------------

def test_prelabel_edits_kept_moved_deleted_added_relabelled():
    fp = Disfluency("FP", (0, 1))
    prediction = Annotation(1, [
        turn("A", 0.0, 2.0, "uh we went", disfluencies=(fp,)),
        turn("B", 2.0, 3.0, "yeah", choices={"q": "ok"}),
        turn("A", 3.0, 5.0, "to Boston"),
        turn("B", 6.0, 7.0, "right"),
    ], origin="prediction")
    annotation = Annotation(1, [
        turn("A", 0.0, 2.0, "uh we went"),  # kept, but the FP tag removed
        turn("B", 2.1, 3.0, "yeah", choices={"q": "bad"}),  # moved 100 ms, choice changed
        turn("B", 3.0, 5.0, "to Boston"),  # relabelled A -> B
        turn("A", 8.0, 9.0, "okay bye"),  # added; B 6-7 was deleted
    ])
    edits = prelabel_edits(prediction, annotation)
    assert (edits.predicted, edits.annotated) == (4, 4)
    assert (edits.kept, edits.moved, edits.deleted) == (2, 1, 1)
    assert (edits.added, edits.relabelled) == (1, 1)
    assert edits.shift_ms == 100 and edits.mean_shift == pytest.approx(100 / 6 / 1000)
    assert edits.choice_changes == 1
    # aligned word pairs (hits and substitutions): 5 in A's stream, 2 in B's
    assert (edits.tag_changes, edits.tagged_words) == (1, 7)
    # word streams per speaker: A "uh we went to Boston" -> "uh we went okay bye";
    # B "yeah right" -> "yeah to Boston"
    assert edits.words == wer_counts(["uh we went to Boston", "yeah right"],
                                     ["uh we went okay bye", "yeah to Boston"], "verbatim")
    assert edits.kept_rate == 0.5 and edits.added_rate == 0.25 and edits.deleted_rate == 0.25


def test_tolerance_and_additivity():
    p = [Turn("A", 0, 1.0)]
    a = [Turn("A", 0.004, 1.0)]
    assert prelabel_edits(p, a).moved == 1
    assert prelabel_edits(p, a, tolerance=0.005).kept == 1
    total = sum([prelabel_edits(p, a), prelabel_edits(p, [])])
    assert (total.predicted, total.moved, total.deleted, total.annotated) == (2, 1, 1, 1)
    empty = EditCounts()
    assert (empty.kept_rate, empty.mean_shift, empty.word_edit_rate, empty.tag_change_rate) == \
        (None, None, None, None)


# --- prepared annotations -----------------------------------------------------------------

def test_prepared_annotations_give_the_same_figures(shared_dev):
    """Every metric that takes a prepared annotation answers as on the plain one, also when the
    preparation is shared between calls (as the QC report shares it within a task)."""
    from casper_qc.conventions import parse_transcript
    from casper_qc.metrics.boundaries import boundary_counts
    from casper_qc.metrics.disfluency_agreement import disfluency_agreement
    from casper_qc.metrics.frames import frame_kappa
    from casper_qc.metrics.prepared import Prepared
    from casper_qc.metrics.unitizing import unitizing_alpha

    a, b, duration = real_annotations(shared_dev)
    c = Annotation("michael", [Turn(t.speaker, t.start, t.end, channel=t.channel, text=t.text + " uh",
                                    choices={"disfluency": ("FP",)} if k % 3 else {})
                               for k, t in enumerate(a.turns)], annotator="third")
    plain = [Annotation(x.task_id, [t.with_words(*parse_transcript(t.text)) for t in x.turns], annotator=x.annotator)
             for x in (a, b, c)]
    prepared = [Prepared(x) for x in plain]

    def figures(x, y, z):
        return [disfluency_agreement(x, y).to_dict(), prelabel_edits(x, y).to_dict(), prelabel_edits(z, y).to_dict(),
                frame_kappa(x, y, duration=duration).to_dict(), boundary_counts(x, y).to_dict(),
                unitizing_alpha([x, y], duration).to_dict(), unitizing_alpha([x, y, z], duration).to_dict(),
                choice_agreement([x, y, z], "disfluency").to_dict(), match_turns(x, z, min_iou=0.1)]

    expected = [figures(*plain), figures(plain[1], plain[2], plain[0])]
    assert [figures(*prepared), figures(prepared[1], prepared[2], prepared[0])] == expected
    assert [figures(*prepared), figures(prepared[1], prepared[2], prepared[0])] == expected  # from what they keep
    assert Prepared(prepared[0]).source is plain[0]
