"""``casper-qc disfluency tag`` (the JSON Lines contract) and ``casper-qc eval disfluency``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from casper_qc.cli import main

ALPHABET = {"FP", "DM", "ET", "PW", "RM"}


def run_tag(tmp_path, text: str | bytes, *args: str, capsys) -> tuple[int, list[dict], str]:
    path = tmp_path / "in.txt"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    code = main(["disfluency", "tag", str(path), *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def check_contract(lines: list[str], records: list[dict]) -> None:
    assert len(records) == len(lines)
    for line, record in zip(lines, records):
        assert record["words"] == line.split()  # none dropped, none merged, in order
        assert len(record["tags"]) == len(record["words"])
        for tags in record["tags"]:
            assert set(tags) <= ALPHABET and tags == sorted(tags, key=["FP", "DM", "ET", "PW", "RM"].index)
        n = len(record["words"])
        for span in record["spans"]:
            assert span["type"] in {"FP", "DM", "ET", "PW", "REP", "REV", "FS"}
            assert 0 <= span["start"] < span["stop"] <= n
            for role in ("reparandum", "interregnum", "repair"):
                if span[role] is not None:
                    start, stop = span[role]
                    assert span["start"] <= start < stop <= span["stop"]


def test_every_whitespace_token_is_a_word_and_every_line_an_object(tmp_path, capsys):
    lines = ["uh I I th- think we went to Boston uh to Denver",
             "",
             "  Well,   it's (( maybe )) [laughter] fine -- you know.  ",
             "Ça va très très bien",
             "{F uh} [ we + we ] left",
             "\ttabs\tand  spaces\t"]
    code, records, err = run_tag(tmp_path, "\n".join(lines) + "\n", capsys=capsys)
    check_contract(lines, records)
    assert records[1] == {"words": [], "tags": [], "spans": []}
    assert records[0]["tags"][:5] == [["FP"], ["RM"], [], ["PW", "RM"], []]
    assert records[3]["tags"][2] == ["RM"]  # non-ASCII words are tagged like any other
    # markup without --markup: the tokens are still the words, and the line says why
    assert "looks like swbd markup" in records[4]["problem"]
    assert err.count("warning") == 1 and "line 5:" in err
    assert code == 0


def test_the_output_matches_the_golden_file(test_data, capsys):
    source = test_data / "disfluency" / "conversation.txt"
    assert main(["disfluency", "tag", str(source)]) == 0
    out, _ = capsys.readouterr()
    golden = (test_data / "disfluency" / "conversation.tag.jsonl").read_text(encoding="utf-8")
    assert out == golden
    check_contract(source.read_text(encoding="utf-8").splitlines(),
                   [json.loads(line) for line in out.splitlines()])


def test_standard_input_and_output_file(tmp_path):
    out = tmp_path / "deep" / "tags.jsonl"
    done = subprocess.run([sys.executable, "-m", "casper_qc", "disfluency", "tag", "-o", str(out)],
                          input="the the cat\num yes\n".encode(), capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["tags"] for r in records] == [[["RM"], [], []], [["FP"], []]]
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".part")]


def test_markup_mode_reads_the_markup_and_falls_back_on_bad_lines(tmp_path, capsys):
    lines = "{F uh} [ we + we ] left\n[ we were + \n&-um <I want> [//] I need it .\n"
    code, records, err = run_tag(tmp_path, lines, "--markup", "auto", capsys=capsys)
    assert records[0]["words"] == ["uh", "we", "we", "left"]
    assert records[0]["tags"] == [["FP"], ["RM"], [], []]
    assert records[1]["words"] == ["[", "we", "were", "+"]
    assert records[1]["problem"] == "column 1: '[' is never closed; tagged as plain tokens"
    assert records[2]["words"] == ["um", "I", "want", "I", "need", "it"]
    assert f"in.txt: line 2: column 1: '[' is never closed" in err
    assert code == 1  # a line could not be read as asked; its object is still there


def test_unbalanced_verbatim_marks_are_reported_but_tagged(tmp_path, capsys):
    code, records, err = run_tag(tmp_path, "the ((cat sat\nit was [laughter fine\n", capsys=capsys)
    assert [r["words"] for r in records] == [["the", "((cat", "sat"], ["it", "was", "[laughter", "fine"]]
    assert "line 1: column 5: '((' is never closed" in err
    assert "line 2: column 8: '[' is never closed" in err
    assert code == 0


def test_bytes_that_are_not_utf8_are_replaced_and_reported(tmp_path, capsys):
    code, records, err = run_tag(tmp_path, b"fine line\nbad \xff\xfe here here\n", capsys=capsys)
    assert records[1]["words"] == ["bad", "\ufffd\ufffd", "here", "here"]
    assert records[1]["tags"][2] == ["RM"]
    assert "line 2: column 5: not UTF-8 text" in err
    assert code == 1


def test_a_hundred_thousand_character_line(tmp_path, capsys):
    line = ("uh so I I th- think it was like ten " * 3000)[:100_000]
    code, records, _ = run_tag(tmp_path, line + "\nshort line\n", capsys=capsys)
    check_contract([line, "short line"], records)
    assert code == 0


def test_missing_input_and_bad_lexicon_are_usage_errors(tmp_path, capsys):
    assert main(["disfluency", "tag", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt: no such file" in capsys.readouterr().err
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("FP ehm\nQQ x\n", encoding="utf-8")
    (tmp_path / "in.txt").write_text("ehm well\n", encoding="utf-8")
    assert main(["disfluency", "tag", str(tmp_path / "in.txt"), "--lexicon", str(lexicon)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lex.txt: line 2: label 'QQ'" in err
    assert main(["disfluency", "tag", str(tmp_path / "in.txt"), "--no-default-lexicon"]) == 2
    assert "needs --lexicon" in capsys.readouterr().err


def test_a_lexicon_file_changes_the_tags(tmp_path, capsys):
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("FP ehm\n", encoding="utf-8")
    code, records, _ = run_tag(tmp_path, "ehm uh well\n", "--lexicon", str(lexicon), "--no-default-lexicon",
                               capsys=capsys)
    assert records[0]["tags"] == [["FP"], [], []]


# --- eval ------------------------------------------------------------------------------------

def test_eval_prints_per_label_figures(test_data, capsys):
    gold = test_data / "disfluency" / "conversation.swbd.txt"
    assert main(["eval", "disfluency", "--gold", str(gold)]) == 0
    out = capsys.readouterr().out
    assert "overall: 1 file(s), 148 words, 20 utterances" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    assert list(rows) == ["FP", "DM", "ET", "FP+DM+ET", "PW", "RM", "RM:REP", "RM:REV", "RM:FS"]
    assert rows["FP"][:5] == ["9", "9", "9", "0", "0"]  # gold, tagged, tp, fp, fn
    assert rows["RM"][0] == "25"
    assert [rows[label][0] for label in ("RM:REP", "RM:REV", "RM:FS")] == ["10", "11", "4"]
    assert rows["RM:REV"][-3:] == ["-", rows["RM:REV"][-2], "-"]  # recall only


def test_eval_json_per_file_adds_up(test_data, capsys):
    files = [test_data / "disfluency" / "conversation.swbd.txt", test_data / "disfluency" / "dialogue.words.tsv"]
    assert main(["eval", "disfluency", "--gold", *map(str, files), "--per-file", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["files"] == 2 and payload["words"] == 148 + 18
    for label, overall in payload["overall"].items():
        for key in ("tp", "fp", "fn"):
            if key in overall:
                assert overall[key] == sum(f["counts"].get(label, {}).get(key, 0) for f in payload["per_file"])
    assert "FP" not in payload["per_file"][1]["counts"]


def test_eval_reports_bad_gold_lines_and_goes_on(tmp_path, capsys):
    gold = tmp_path / "gold.txt"
    gold.write_text("[ I + I ] left\n{F uh [ x + y ]\nwe [ went + ] so\n", encoding="utf-8")
    assert main(["eval", "disfluency", "--gold", str(gold)]) == 0
    captured = capsys.readouterr()
    assert "2 utterances" in captured.out and "1 gold line(s) skipped" in captured.out
    assert f"{gold}: line 2: column 1: '{{F' is never closed (line skipped)" in captured.err


def test_eval_usage_errors(tmp_path, test_data, capsys):
    gold = test_data / "disfluency" / "conversation.swbd.txt"
    assert main(["eval", "disfluency", "--gold", str(gold), "--split", "test"]) == 2
    assert "no --gold is a directory" in capsys.readouterr().err
    assert main(["eval", "disfluency", "--gold", str(tmp_path / "none.txt")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["eval", "disfluency", "--gold", str(tmp_path)]) == 2
    assert "no *.words.tsv word tables" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_runs_on_the_held_out_development_split(shared_dev, capsys):
    """The evaluation command itself on the real (non-commercial, read-only) tables; the figures
    are reported in docs/ACCURACY.md, not asserted here."""
    directory = shared_dev / "swbd_disfluency_dev"
    assert main(["eval", "disfluency", "--gold", str(directory), "--split", "test", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["files"] == 17
    assert set(payload["overall"]) == {"FP+DM+ET", "PW", "RM", "RM:REP", "RM:REV", "RM:FS"}
    assert set(payload["overall"]["RM:REV"]) == {"tp", "fn", "recall"}  # recall only
    assert payload["skipped_lines"] == []
