"""``casper-qc stats alpha`` and ``casper-qc stats kappa`` on CSV reliability matrices.

The matrices are the published worked examples (Krippendorff 2011; Fleiss 1971; Wikipedia's
Cohen's kappa example), written as CSV files the way users write them.
"""

from __future__ import annotations

import json

import pytest
from helpers import FLEISS_1971, one_line_error, write

MINE = {("stats", "alpha"), ("stats", "kappa"), ("wer",)}  # what the ``run`` fixture (conftest.py) builds

KRIPPENDORFF_CSV = """coder,u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12
A,1,2,3,3,2,1,4,1,2,,,
B,1,2,3,3,2,2,4,1,2,5,,3
C,,3,3,3,2,3,4,2,2,5,1,
D,1,2,3,3,2,4,4,1,2,5,1,
"""
PLAIN_CSV = "\n".join(line.split(",", 1)[1] for line in KRIPPENDORFF_CSV.splitlines()[1:]) + "\n"


def lines(out):
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


@pytest.mark.parametrize("level,published", [("nominal", "0.743"), ("ordinal", "0.815"),
                                             ("interval", "0.849"), ("ratio", "0.797")])
def test_alpha_reproduces_krippendorff_2011(run, tmp_path, level, published):
    path = write(tmp_path, "k.csv", KRIPPENDORFF_CSV)
    code, out, err = run("stats", "alpha", "--level", level, path)
    assert code == 0 and err == ""
    shown = lines(out)
    value = float(shown[f"Krippendorff's alpha ({level})"])
    assert f"{value:.3f}" == published
    assert shown["coders"] == "4 (A, B, C, D)"
    assert shown["units"] == "12, pairable 11"
    assert shown["pairable values"] == "40, unpairable 1"


def test_alpha_json_has_the_value_and_the_counts_behind_it(run, tmp_path):
    code, out, _ = run("stats", "alpha", "--level", "interval", "--json",
                       write(tmp_path, "k.csv", KRIPPENDORFF_CSV))
    data = json.loads(out)
    assert code == 0 and data["statistic"] == "krippendorff_alpha" and data["level"] == "interval"
    assert round(data["alpha"], 3) == 0.849
    assert (data["units"], data["pairable_units"], data["pairable_values"]) == (12, 11, 40)
    assert round(data["observed_disagreement"], 3) == 0.433
    assert round(data["expected_disagreement"], 3) == 2.872
    assert data["coders"] == ["A", "B", "C", "D"]
    assert data["coder_names_in_file"] and data["header_in_file"]


def test_layout_detection_and_overrides(run, tmp_path):
    plain = run("stats", "alpha", "--json", write(tmp_path, "plain.csv", PLAIN_CSV))[1]
    named = run("stats", "alpha", "--json", write(tmp_path, "named.csv", KRIPPENDORFF_CSV))[1]
    p, n = json.loads(plain), json.loads(named)
    assert p["alpha"] == n["alpha"] and p["coders"] == ["1", "2", "3", "4"]
    assert not p["coder_names_in_file"] and not p["header_in_file"]
    # a header row of numbers is only a header when asked
    numbered = "1,2,3\n1,2,3\n1,2,2\n"
    numbers = write(tmp_path, "n.csv", numbered)
    assert json.loads(run("stats", "alpha", "--json", numbers)[1])["units"] == 3
    asked = json.loads(run("stats", "alpha", "--json", "--header", numbers)[1])
    assert asked["header_in_file"] and len(asked["coders"]) == 2
    cornered = write(tmp_path, "c.csv", "Coder,1,2,3\nA,1,2,3\nB,1,2,2\n")
    found = json.loads(run("stats", "alpha", "--json", cornered)[1])
    assert found["header_in_file"] and found["coders"] == ["A", "B"]
    # nominal words: a first column of repeated categories is data, not names
    words = "yes,no,no\nyes,no,yes\nno,no,yes\n"
    categories = write(tmp_path, "w.csv", words)
    data = json.loads(run("stats", "alpha", "--json", categories)[1])
    assert not data["coder_names_in_file"] and data["units"] == 3
    forced = json.loads(run("stats", "alpha", "--json", "--coder-names", categories)[1])
    assert forced["coders"] == ["yes", "yes", "no"] and forced["units"] == 2


def test_kappa_is_cohen_for_two_coders(run, tmp_path):
    a = ",".join(["yes"] * 25 + ["no"] * 25)
    b = ",".join(["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15)
    code, out, _ = run("stats", "kappa", write(tmp_path, "c.csv", f"ann,{a}\nbob,{b}\n"))
    shown = lines(out)
    assert code == 0 and shown["Cohen's kappa"] == "0.400000"
    assert shown["observed agreement"] == "0.700000" and shown["expected agreement"] == "0.500000"
    assert shown["units"] == "50, rated by both 50, left out 0"
    data = json.loads(run("stats", "kappa", "--json", tmp_path / "c.csv")[1])
    assert data["statistic"] == "cohen" and data["confusion"] == [[15, 10], [5, 20]]


def test_kappa_is_fleiss_for_more_coders(run, tmp_path):
    rows = [",".join(str(d[k]) for d in FLEISS_1971) for k in range(6)]
    code, out, _ = run("stats", "kappa", write(tmp_path, "f.csv", "\n".join(rows) + "\n"))
    shown = lines(out)
    assert code == 0 and round(float(shown["Fleiss' kappa"]), 3) == 0.430
    assert shown["units"] == "30, rated by every coder 30, left out 0"
    assert shown["categories"] == "5 (1, 2, 3, 4, 5)"
    assert shown["per-category kappa"].startswith("1 0.24")
    data = json.loads(run("stats", "kappa", "--json", tmp_path / "f.csv")[1])
    assert data["statistic"] == "fleiss" and data["raters"] == 6
    assert round(data["kappa"], 3) == 0.430


def test_one_category_only_is_undefined_and_said_so(run, tmp_path):
    path = write(tmp_path, "one.csv", "A,3,3,\nB,3,3,3\n")
    code, _, err = run("stats", "alpha", "--level", "interval", path)
    one_line_error(code, err,
                   f"{path}: Krippendorff's alpha is undefined: every pairable value is 3")
    code, _, err = run("stats", "kappa", path)
    one_line_error(code, err,
                   f"{path}: Cohen's kappa is undefined: both coders put every unit in 3")
    three = write(tmp_path, "three.csv", "1,1\n1,1\n1,1\n")
    code, _, err = run("stats", "kappa", three)
    one_line_error(code, err, "Fleiss' kappa is undefined: every rating is 1")


def test_bad_files_give_one_line_errors_naming_file_row_and_column(run, tmp_path):
    ragged = write(tmp_path, "ragged.csv", "1,2,3\n1,2\n")
    code, _, err = run("stats", "alpha", ragged)
    one_line_error(code, err, f"{ragged}: row 2 has 2 cells but row 1 has 3")
    words = write(tmp_path, "words.csv", "A,1,2,3\nB,1,two,3\n")
    code, _, err = run("stats", "alpha", "--level", "interval", words)
    one_line_error(code, err, f"{words}: row 2, column 3: 'two' is not a number "
                              "(interval data needs numbers)")
    negative = write(tmp_path, "neg.csv", "1,2\n1,-2\n")
    code, _, err = run("stats", "alpha", "--level", "ratio", negative)
    one_line_error(code, err, "row 2, column 2: -2 is negative")
    empty = write(tmp_path, "empty.csv", "")
    code, _, err = run("stats", "kappa", empty)
    one_line_error(code, err, f"{empty}: empty file: no rows")
    blank = write(tmp_path, "blank.csv", "\n\n")
    code, _, err = run("stats", "alpha", blank)
    one_line_error(code, err, "empty file")
    single = write(tmp_path, "single.csv", "A,1,2,3\n")
    code, _, err = run("stats", "alpha", single)
    one_line_error(code, err, "needs at least two coder rows, found 1")
    code, _, err = run("stats", "alpha", tmp_path / "missing.csv")
    one_line_error(code, err, "missing.csv: no such file")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("A,caf\xe9\nB,caf\xe9\n".encode("latin-1"))
    code, _, err = run("stats", "kappa", latin)
    one_line_error(code, err, "not UTF-8 text")


def test_usage_errors_exit_2(run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run("stats", "alpha", "--level", "circular", "x.csv")
    assert exit_info.value.code == 2
    assert run("stats")[0] == 2
