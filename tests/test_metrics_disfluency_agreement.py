"""Disfluency-tag agreement after aligning two transcripts (casper_qc.metrics.disfluency_agreement).

Conversational text written for these tests (Switchboard data is non-commercial and stays out).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from casper_qc.metrics.alpha import krippendorff_alpha
from casper_qc.metrics.disfluency_agreement import (
    FLUENT,
    SpanCounts,
    disfluency_agreement,
    speaker_stream,
    word_tags,
)
from casper_qc.model import Annotation, Disfluency, Turn, Word


def turn(speaker, start, end, text, *disfluencies):
    words = tuple(Word(w) for w in text.split())
    return Turn(speaker, start, end, text=text, words=words, disfluencies=disfluencies)


def FP(i):
    return Disfluency("FP", (i, i + 1))


def test_word_tags_reparandum_first_then_simple_types():
    t = turn("A", 0, 2, "I uh I think th- the plan",
             Disfluency("REP", (0, 3), reparandum=(0, 1), interregnum=(1, 2), repair=(2, 3)),
             FP(1),
             Disfluency("PW", (4, 5)),
             Disfluency("REP", (4, 6), reparandum=(4, 5), repair=(5, 6)))
    assert word_tags(t) == ("RM", "FP", FLUENT, FLUENT, "RM", FLUENT, FLUENT)
    assert word_tags(turn("A", 0, 1, "well you know", Disfluency("DM", (0, 1)),
                          Disfluency("DM", (1, 3)))) == ("DM", "DM", "DM")


def test_streams_join_a_speakers_turns_in_time_order():
    turns = [turn("A", 2, 3, "think so"), turn("B", 0, 1, "yeah"), turn("A", 0, 1, "uh I", FP(0))]
    words, tags, spans = speaker_stream(turns, "A")
    assert words == ["uh", "I", "think", "so"] and tags == ["FP", "O", "O", "O"]
    assert spans == [("FP", 0, 0)]
    plain = speaker_stream([Turn("A", 0, 1, text="no words given")], "A")
    assert plain == (["no", "words", "given"], ["O", "O", "O"], [])


def test_identical_annotations_agree_perfectly_even_when_cut_differently():
    a = Annotation(1, [turn("A", 0, 1, "so uh I", FP(1)), turn("A", 1, 2, "I think so",),
                       turn("B", 0.5, 1.5, "um yeah", FP(0))])
    b = Annotation(1, [turn("A", 0, 1.5, "so uh I I", FP(1)), turn("A", 1.5, 2, "think so"),
                       turn("B", 0.5, 1.5, "um yeah", FP(0))])
    result = disfluency_agreement(a, b)
    assert result.kappa.kappa == 1.0 and result.alpha.alpha == 1.0
    assert result.kappa.units == 6 + 2 and result.words.errors == 0
    assert result.span_total == SpanCounts(2, 2, 2) and result.span_total.f1 == 1.0


def test_hand_computed_tag_agreement_and_spans():
    a = Annotation(1, [turn("A", 0, 3, "so uh we we went to to Boston yesterday",
                            FP(1),
                            Disfluency("REP", (2, 4), reparandum=(2, 3), repair=(3, 4)),
                            Disfluency("REP", (5, 7), reparandum=(5, 6), repair=(6, 7)))])
    b = Annotation(1, [turn("A", 0, 3, "so uh we we went to to Boston you know yesterday",
                            FP(1),
                            Disfluency("REP", (2, 4), reparandum=(2, 3), repair=(3, 4)),
                            Disfluency("DM", (8, 10)))])
    result = disfluency_agreement(a, b)
    assert result.words.insertions == 2 and result.kappa.units == 9
    pairs = [("O", "O"), ("FP", "FP"), ("RM", "RM"), ("O", "O"), ("O", "O"),
             ("RM", "O"), ("O", "O"), ("O", "O"), ("O", "O")]
    n = len(pairs)
    p_o = Fraction(sum(x == y for x, y in pairs), n)
    cats = {x for p in pairs for x in p}
    p_e = sum(Fraction(sum(x == c for x, _ in pairs) * sum(y == c for _, y in pairs), n * n)
              for c in cats)
    assert result.kappa.kappa == pytest.approx(float((p_o - p_e) / (1 - p_e)), abs=1e-12)
    alpha = krippendorff_alpha([[x for x, _ in pairs], [y for _, y in pairs]], "nominal")
    assert result.alpha.alpha == pytest.approx(alpha.alpha, abs=1e-12)
    assert result.spans["FP"] == SpanCounts(1, 1, 1)
    assert result.spans["REP"] == SpanCounts(1, 2, 1)
    assert result.spans["DM"] == SpanCounts(0, 0, 1)
    total = result.span_total
    assert (total.precision, total.recall) == (2 / 3, 2 / 3)


def test_fillers_are_scored_so_their_tags_pair_up():
    a = [turn("A", 0, 1, "uh yes", FP(0))]
    b = [turn("A", 0, 1, "uh yes")]
    result = disfluency_agreement(a, b)
    assert result.kappa.confusion[result.kappa.categories.index("FP"),
                                  result.kappa.categories.index(FLUENT)] == 1
    assert result.words.normalizer == "normalized-v1+scored-fillers"


def test_results_add_up_over_tasks():
    a = [turn("A", 0, 1, "uh yes", FP(0))]
    b = [turn("A", 0, 1, "um yes", FP(0))]
    one = disfluency_agreement(a, b)
    two = sum([one, one])
    assert two.kappa.units == 4 and two.spans["FP"] == SpanCounts(2, 2, 2)
    assert two.words.substitutions == 2
    assert two.to_dict()["span_f1"] == 1.0
