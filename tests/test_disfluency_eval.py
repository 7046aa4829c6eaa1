"""Scoring disfluency tags: additive counts, gold readers, per-file and overall figures."""

from __future__ import annotations

import pytest

from casper_qc.disfluency_eval import (
    BY_TYPE,
    GROUP,
    Counts,
    GoldUtterance,
    read_gold,
    read_markup,
    read_word_table,
    score_files,
    score_utterance,
    split_files,
    total,
)
from casper_qc.errors import FormatError, InputError
from casper_qc.model import Word

HEADER = "start\tend\tspeaker\tword\tsimple\tgold_disfluency_tags\n"


def test_counts_add_and_rates_come_from_the_counts():
    a, b = Counts(tp=3, fp=1, fn=2), Counts(tp=1, fp=0, fn=4)
    assert a + b == Counts(4, 1, 6)
    assert (a.precision, a.recall) == (0.75, 0.6)
    assert a.f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert (a.gold, a.predicted) == (5, 4)
    assert Counts().f1 == 0.0 and Counts().precision == 0.0 and Counts().recall == 0.0
    assert Counts(1, 1, 1).to_dict() == {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5,
                                         "f1": 0.5}


def gold(words: str, labels: list[set[str]], scored=("FP", "DM", "ET", GROUP, "PW", "RM")) -> GoldUtterance:
    return GoldUtterance(tuple(Word(w) for w in words.split()), tuple(frozenset(l) for l in labels),
                         frozenset(scored), "test")


def test_an_utterance_is_scored_word_by_word_per_label():
    g = gold("uh I I mean you know it", [{"FP", GROUP}, {"RM"}, {"ET", GROUP}, {"ET", GROUP},
                                        {"DM", GROUP}, {"DM", GROUP}, set()])
    predicted = [["FP"], [], ["ET"], ["ET"], ["ET"], ["DM"], ["RM"]]
    counts = score_utterance(g, predicted)
    assert counts["FP"] == Counts(1, 0, 0)
    assert counts["ET"] == Counts(2, 1, 0)  # "you" is DM in the gold
    assert counts["DM"] == Counts(1, 0, 1)
    assert counts[GROUP] == Counts(5, 0, 0)  # any of FP/DM/ET counts for the group
    assert counts["RM"] == Counts(0, 1, 1)
    assert counts["PW"] == Counts(0, 0, 0)


def test_recall_only_labels_count_no_false_positives():
    g = gold("we we went", [{"RM", "RM:REV"}, set(), set()], scored=("RM", "RM:REV"))
    counts = score_utterance(g, [["RM"], ["RM"], []])
    assert counts["RM"] == Counts(1, 1, 0)
    assert counts["RM:REV"] == Counts(1, 0, 0)


def test_a_word_table_gold_scores_only_what_it_can_tell():
    g = gold("uh well it", [{GROUP}, {GROUP}, set()], scored=(GROUP, "PW", "RM", *BY_TYPE))
    counts = score_utterance(g, [["FP"], ["DM"], []])
    assert set(counts) == {GROUP, "PW", "RM"} | set(BY_TYPE)
    assert counts[GROUP] == Counts(2, 0, 0)


def test_predictions_must_cover_every_gold_word():
    with pytest.raises(InputError, match="test: 1 predicted words for 2 gold words"):
        score_utterance(gold("a b", [set(), set()]), [[]])


def test_word_tables_are_cut_at_pauses_and_optionally_at_speaker_changes(test_data):
    path = test_data / "disfluency" / "dialogue.words.tsv"
    by_speaker = list(read_word_table(path, by_speaker=True))
    assert [[w.text for w in u.words] for u in by_speaker] == [
        ["well", "i", "i", "think", "its", "fine", "and", "th-", "the", "rest"],
        ["uh-huh"],
        ["uh", "we", "went", "you", "know", "we", "drove"]]
    assert [u.where.rsplit(": ", 1)[1] for u in by_speaker] == ["line 2", "line 8", "line 13"]
    by_turn = list(read_word_table(path, by_speaker=False))
    assert [len(u.words) for u in by_turn] == [6, 1, 4, 7]
    first = by_speaker[0]
    # RM words also carry the type of their gold repair (from the original tags column)
    assert [sorted(l) for l in first.labels[:3]] == [[GROUP], ["RM", "RM:REP"], []]
    assert sorted(first.labels[7]) == ["PW", "RM", "RM:REP"]  # PW by its form
    assert [sorted(l) for l in by_speaker[2].labels[1:3]] == [["RM", "RM:REV"]] * 2
    rest = first.words[9]
    assert rest.text == "rest" and rest.uncertain  # $unc$ stripped, remembered
    we = by_speaker[2].words[1]
    assert we.text == "we" and not we.timed  # zero-length in the table: kept without times
    assert sorted(by_speaker[2].labels[3]) == [GROUP]  # E+I (an interregnum edit term)


@pytest.mark.parametrize("rows,message", [
    ("0.1\t0.2\tA\tword\n", "line 2: 4 columns, expected at least 5"),
    ("0.1\t0.2\tA\tword\tX\t\n", "line 2: simple tag 'X' is not one of"),
    ("0.1\tnan\tA\tword\tF\t\n", "line 2: end must be finite"),
    ("0.1\t0.2\tA\t$unc$\tF\t\n", "line 2: word '$unc$' is empty or has spaces"),
])
def test_bad_word_table_rows_name_file_and_line(tmp_path, rows, message):
    path = tmp_path / "bad.words.tsv"
    path.write_text(HEADER + rows, encoding="utf-8")
    with pytest.raises(FormatError) as info:
        list(read_word_table(path))
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_a_file_that_is_not_a_word_table_is_refused(tmp_path):
    path = tmp_path / "other.tsv"
    path.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(FormatError, match="line 1: not a word table"):
        list(read_word_table(path))


def test_markup_gold_skips_and_reports_bad_lines(tmp_path):
    path = tmp_path / "gold.txt"
    path.write_text("A.1 utt1: {F uh} [ I + I ] left /\n\nB: [ we + \nA: {D well} ok\n", encoding="utf-8")
    problems: list[str] = []
    utterances = list(read_markup(path, problems=problems))
    assert [[w.text for w in u.words] for u in utterances] == [["uh", "I", "I", "left"], ["well", "ok"]]
    assert problems == [f"{path}: line 3: column 1: '[' is never closed"]
    with pytest.raises(FormatError, match="line 3: column 1"):
        list(read_markup(path))


def test_per_file_counts_add_up_to_the_overall_counts(test_data, tmp_path):
    other = tmp_path / "other.swbd.txt"
    other.write_text("[ the + the ] dog {F um} ran\nit [ was + is ] fine\n", encoding="utf-8")
    files = [test_data / "disfluency" / "conversation.swbd.txt", other,
             test_data / "disfluency" / "dialogue.words.tsv"]

    def tagger(words):  # a fixed prediction: only fillers by form, so the counts are known
        return [["FP"] if w.text.lower() in ("uh", "um", "oh") else [] for w in words]

    scores = score_files(files, tagger)
    assert [s.utterances for s in scores] == [20, 2, 3]
    assert [s.words for s in scores] == [148, 9, 18]
    overall = total(scores)
    for label in overall:
        assert overall[label] == sum((s.counts.get(label, Counts()) for s in scores), Counts())
    # the word table cannot tell FP from DM: its FP counts are absent, not zero
    assert "FP" not in scores[2].counts and scores[2].counts[GROUP] == Counts(1, 0, 3)
    assert scores[1].counts["RM"] == Counts(0, 0, 2) and scores[1].counts["FP"] == Counts(1, 0, 0)
    assert overall["FP"] == Counts(10, 0, 0)
    # the overall F1 comes from summed counts, not from the mean of the files' F1
    rm = overall["RM"]
    assert rm.f1 == pytest.approx(2 * rm.tp / (2 * rm.tp + rm.fp + rm.fn))
    group_f1 = [s.counts[GROUP].f1 for s in scores]
    assert overall[GROUP].f1 != pytest.approx(sum(group_f1) / len(group_f1))


def test_chat_gold_is_read_by_its_suffix(test_data):
    (first, *rest) = list(read_gold(test_data / "talkbank_batchalign3" / "test.cha"))
    assert len(rest) == 12
    retrace = next(u for u in rest if [w.text for w in u.words][:2] == ["um", "i"])
    assert [sorted(l) for l in retrace.labels[:3]] == [["FP", GROUP], ["RM", "RM:REP"], ["RM", "RM:REP"]]


def test_the_split_is_fixed_by_sorted_name(tmp_path):
    for k in range(51, 0, -1):
        (tmp_path / f"sw{k:04d}.words.tsv").write_text(HEADER, encoding="utf-8")
    tune, test, everything = (split_files(tmp_path, s) for s in ("tune", "test", "all"))
    assert len(tune) == 34 and len(test) == 17 and everything == tune + test
    assert tune[-1].name == "sw0034.words.tsv" and test[0].name == "sw0035.words.tsv"
    with pytest.raises(InputError, match="split must be one of"):
        split_files(tmp_path, "dev")
    with pytest.raises(InputError, match="no \\*.words.tsv word tables"):
        split_files(tmp_path / "nothing", "all")


def test_the_development_tables_read_with_their_documented_counts(shared_dev):
    """Reads (never copies) the non-commercial Switchboard set: the reader agrees with the
    counts its SOURCES.md gives (48,008 words; E 3,427 + E+I 495; RM 2,579 + RM+RP 504)."""
    directory = shared_dev / "swbd_disfluency_dev"
    tune, test = split_files(directory, "tune"), split_files(directory, "test")
    assert len(tune) == 34 and len(test) == 17 and not set(tune) & set(test)
    words = group = rm = 0
    for path in tune + test:
        for utterance in read_word_table(path):
            words += len(utterance.words)
            group += sum(GROUP in l for l in utterance.labels)
            rm += sum("RM" in l for l in utterance.labels)
    assert (words, group, rm) == (48008, 3427 + 495, 2579 + 504)
