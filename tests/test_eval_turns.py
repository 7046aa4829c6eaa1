"""casper_qc.eval_turns, casper_qc.formats.rttm and ``casper-qc eval turns``."""

from __future__ import annotations

import json
from pathlib import Path

import parselmouth
import pytest
from parselmouth.praat import call
from helpers import one_line_error, praat_tier_names

from casper_qc.cli import main
from casper_qc.errors import FormatError
from casper_qc.eval_turns import TurnScores, evaluate_turns
from casper_qc.formats.rttm import parse_rttm, read_rttm, write_rttm
from casper_qc.model import Annotation, Conversation, Speaker, Turn


def ann(*turns, origin="reference"):
    return Annotation("x", turns=[Turn(s, a, b) for s, a, b in turns], origin=origin)


# The worked example of pyannote.metrics' tutorial (doc/tutorial/metric.rst): DER 0.2143 with
# false alarm 3, miss 2, confusion 4 over 42 s of reference speech, no collar.
PYANNOTE_REF = ann(("Bernard", 0, 10), ("Albert", 9, 15), ("Jean", 15, 20), ("Bernard", 20, 30),
                   ("Jean", 29, 33), ("Albert", 33, 40))
PYANNOTE_HYP = ann(("s1", 1, 11), ("s1", 21, 31), ("s2", 9, 15), ("s2", 29, 33), ("s3", 15, 20),
                   ("s2", 33, 40), ("s4", 40, 41), origin="prediction")


def test_der_matches_the_pyannote_worked_example():
    scores = evaluate_turns(PYANNOTE_REF, PYANNOTE_HYP, collar=0.0)
    assert scores.reference == 42.0
    assert (scores.false_alarm, scores.missed, scores.confusion) == (3.0, 2.0, 4.0)
    assert scores.der == pytest.approx(9 / 42)
    assert scores.mapping["Bernard"] == "s1" and scores.mapping["Jean"] == "s3"


def test_collar_removes_reference_boundaries_on_both_sides():
    ref = ann(("A", 1.0, 3.0))
    hyp = ann(("A", 1.2, 3.2), origin="prediction")
    assert evaluate_turns(ref, hyp, collar=0.0).der == pytest.approx(0.4 / 2.0)
    scores = evaluate_turns(ref, hyp, collar=0.25)  # ±0.25 s: 1.25-2.75 scored, all correct
    assert scores.der == 0.0 and scores.reference == pytest.approx(1.5)
    assert scores.boundary_f1 == 1.0
    assert evaluate_turns(ref, hyp, collar=0.1).boundary_f1 == 0.0  # 0.2 s off: outside ±0.1


def test_boundaries_match_one_to_one_by_kind_and_mapped_speaker():
    ref = ann(("A", 0.0, 2.0), ("B", 2.1, 4.0), ("A", 4.5, 6.0))
    hyp = ann(("X", 0.1, 2.0), ("Y", 2.0, 4.1), ("X", 4.4, 5.0), ("X", 5.3, 6.0), origin="prediction")
    scores = evaluate_turns(ref, hyp, collar=0.25)
    assert (scores.boundaries_ref, scores.boundaries_hyp) == (6, 8)
    assert scores.boundaries_matched == 6  # the extra split at 5.0/5.3 matches nothing
    assert scores.boundary_precision == pytest.approx(6 / 8) and scores.boundary_recall == 1.0


def test_crosstalk_is_own_speech_claimed_while_only_the_other_talks():
    ref = ann(("A", 0.0, 4.0), ("B", 5.0, 9.0))
    hyp = ann(("A", 0.0, 4.0), ("B", 5.0, 9.0), ("A", 6.0, 7.0), origin="prediction")
    scores = evaluate_turns(ref, hyp, collar=0.0)
    assert scores.crosstalk == 1.0 and scores.other_solo == 8.0
    assert scores.crosstalk_rate == pytest.approx(1 / 8)
    assert scores.f1("A") == pytest.approx(8 / 9)


def test_corpus_rates_come_from_summed_counts_not_a_mean_of_rates():
    short = evaluate_turns(ann(("A", 0, 1)), ann(origin="prediction"), collar=0.0)  # DER 1.0
    long = evaluate_turns(ann(("A", 0, 9)), ann(("A", 0, 9), origin="prediction"), collar=0.0)  # 0.0
    total = short + long
    assert total.der == pytest.approx(1 / 10)  # not (1.0 + 0.0) / 2
    assert total.files == 2
    assert TurnScores().der == 0.0


def test_rttm_round_trip_and_errors(tmp_path):
    conversation = Conversation("conv", channels=2, speakers=(Speaker("A", 0), Speaker("B", 1)))
    annotation = Annotation("conv", turns=[Turn("A", 0.5, 1.25, channel=0), Turn("B", 1.0, 2.0, channel=1)])
    path = write_rttm(tmp_path / "x.rttm", [(conversation, annotation)])
    assert path.read_text().splitlines()[0] == "SPEAKER conv 1 0.500 0.750 <NA> <NA> A <NA> <NA>"
    [(conv, back)] = read_rttm(path)
    assert conv.id == "conv" and [(t.speaker, t.start, t.end, t.channel) for t in back.turns] == [
        ("A", 0.5, 1.25, 0), ("B", 1.0, 2.0, 1)]
    with pytest.raises(FormatError, match=r"bad\.rttm: line 2: onset 'x'"):
        parse_rttm("SPEAKER c 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER c 1 x 1 <NA> <NA> A <NA> <NA>\n",
                   source="bad.rttm")


def test_cli_scores_rttm_against_rttm(tmp_path, capsys):
    ref = tmp_path / "ref.rttm"
    hyp = tmp_path / "hyp.rttm"
    ref.write_text("".join(f"SPEAKER ex 1 {a} {b - a} <NA> <NA> {s} <NA> <NA>\n" for s, a, b in
                           [("Bernard", 0, 10), ("Albert", 9, 15), ("Jean", 15, 20), ("Bernard", 20, 30),
                            ("Jean", 29, 33), ("Albert", 33, 40)]))
    hyp.write_text("".join(f"SPEAKER ex 1 {a} {b - a} <NA> <NA> {s} <NA> <NA>\n" for s, a, b in
                           [("s1", 1, 11), ("s1", 21, 31), ("s2", 9, 15), ("s2", 29, 33), ("s3", 15, 20),
                            ("s2", 33, 40), ("s4", 40, 41)]))
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(hyp), "--collar", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"]["der"] == round(9 / 42, 4) and out["collar"] == 0.0
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(hyp)]) == 0
    text = capsys.readouterr().out
    assert "DER" in text and "collar ±0.25 s" in text and "turn boundaries" in text


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    ref = tmp_path / "ref.rttm"
    ref.write_text("SPEAKER ex 1 0 1 <NA> <NA> A <NA> <NA>\n")
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(tmp_path / "missing.rttm")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("missing.rttm: no such file") and "\n" not in err
    (tmp_path / "hyp.csv").write_text("x")
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(tmp_path / "hyp.csv")]) == 2
    assert "unknown turn file type '.csv'" in capsys.readouterr().err
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(ref), "--collar", "-1"]) == 2


GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


def test_cli_scores_a_textgrid_reference_against_lhotse_supervisions(capsys):
    """The golden TextGrid and supervisions.jsonl (both written by casper-qc from the MFA
    reference) hold the same ten turns: a perfect score across the two formats."""
    ref, hyp = GOLDEN / "michael.TextGrid", GOLDEN / "michael.supervisions.jsonl"
    supervisions = [json.loads(line) for line in hyp.read_text().splitlines()]
    grid = parselmouth.read(str(ref))  # the turns of the reference as the real Praat engine reads them
    assert praat_tier_names(ref)[::3] == ["michael - turns", "sickmichael - turns"]
    for tier, speaker in ((1, "michael"), (4, "sickmichael")):
        spans = [(call(grid, "Get start time of interval", tier, i), call(grid, "Get end time of interval", tier, i))
                 for i in range(1, call(grid, "Get number of intervals", tier) + 1)
                 if call(grid, "Get label of interval", tier, i)]
        assert spans == [(s["start"], round(s["start"] + s["duration"], 3))
                         for s in supervisions if s["speaker"] == speaker]
        assert len(spans) == 5
    # Reference speech is scored outside ±0.25 s of each of the 20 turn boundaries.
    scored = sum(s["duration"] for s in supervisions) - 20 * 0.25
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(hyp), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["files"] == 1 and total["reference_speech"] == pytest.approx(scored) == pytest.approx(35.68)
    assert (total["missed"], total["false_alarm"], total["confusion"], total["der"]) == (0.0, 0.0, 0.0, 0.0)
    assert total["frame_f1"] == {"michael": 1.0, "sickmichael": 1.0, "all": 1.0}
    assert total["boundaries"] == {"reference": 20, "hypothesis": 20, "matched": 20,
                                   "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert main(["eval", "turns", "--ref", str(ref), "--hyp", str(hyp)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert "  DER 0.00 %  (missed 0.00 %, false alarm 0.00 %, confusion 0.00 %)" in text
    assert ("  turn boundaries: precision 1.000, recall 1.000, F1 1.000 (20 of 20 reference, 20 predicted)"
            in text)


def test_cli_a_reference_that_is_not_a_textgrid_is_one_line_and_exit_2(tmp_path, capsys):
    ref = tmp_path / "ref.TextGrid"
    ref.write_text("hello", encoding="utf-8")
    with pytest.raises(parselmouth.PraatError):  # Praat refuses it too
        praat_tier_names(ref)
    code = main(["eval", "turns", "--ref", str(ref), "--hyp", str(GOLDEN / "michael.supervisions.jsonl")])
    captured = capsys.readouterr()
    one_line_error(code, captured.err, str(ref), "not a Praat TextGrid")
    assert captured.out == ""
