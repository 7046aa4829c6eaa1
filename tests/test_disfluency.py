"""The disfluency tagger: each type, the per-word view, times, turns and lexicons.

Sentences here are written for these tests (conversational English, no corpus text).
"""

from __future__ import annotations

import pytest

from casper_qc.conventions import DEFAULT_LEXICON, Lexicon, tokenize
from casper_qc.disfluency import tag, tag_forms, tag_turn, word_tags
from casper_qc.labels import DisfluencyType
from casper_qc.model import Disfluency, Turn, Word, WordRange


def tags_of(sentence: str, lexicon: Lexicon | None = None) -> list[list[str]]:
    words = sentence.split()
    return word_tags(len(words), tag(words, lexicon=lexicon))


def marked(sentence: str, label: str, lexicon: Lexicon | None = None) -> list[str]:
    """The words of ``sentence`` tagged ``label``."""
    words = sentence.split()
    return [w for w, t in zip(words, tags_of(sentence, lexicon)) if label in t]


def structures(sentence: str) -> list[tuple]:
    def pair(r):
        return None if r is None else (r.start, r.stop)

    return [(d.type.value, pair(d.reparandum), pair(d.interregnum), pair(d.repair))
            for d in tag(sentence.split()) if d.reparandum is not None]


# --- FP, DM, ET ------------------------------------------------------------------------------

def test_fillers_and_editing_terms_come_from_the_lexicon():
    sentence = "uh I was um going there I mean here sorry"
    assert marked(sentence, "FP") == ["uh", "um"]
    assert marked(sentence, "ET") == ["I", "mean", "sorry"]
    assert tags_of("um, well, you know.")[0] == ["FP"]  # punctuation does not hide a filler


def test_like_is_a_marker_after_a_pause_or_before_a_number_not_as_a_verb():
    assert marked("it costs like forty dollars", "DM") == ["like"]
    assert marked("uh like I said", "DM") == ["like"]
    assert marked("I like dogs", "DM") == []
    assert marked("it feels like rain", "DM") == []
    assert marked("things like that", "DM") == []


def test_well_you_know_and_see_follow_their_context_rules():
    assert marked("well I think so", "DM") == ["well"]
    assert marked("she did it as well", "DM") == []
    assert marked("they are doing very well now", "DM") == []
    assert marked("it was you know really big", "DM") == ["you", "know"]
    assert marked("do you know him", "DM") == []
    assert marked("see I told you", "DM") == ["see"]
    assert marked("I want to see the game", "DM") == []


def test_longest_phrase_wins_and_phrases_do_not_cross_words():
    lexicon = DEFAULT_LEXICON.extended(editing_terms=["no wait wait"])
    assert marked("no wait wait it was Tuesday", "ET", lexicon) == ["no", "wait", "wait"]
    assert marked("you knowing him", "DM") == []


def test_a_custom_lexicon_replaces_the_defaults():
    lexicon = Lexicon.build(fillers=["euh", "ben"], discourse_markers=["tu sais"])
    sentence = "euh ben tu sais uh"
    assert marked(sentence, "FP", lexicon) == ["euh", "ben"]
    assert marked(sentence, "DM", lexicon) == ["tu", "sais"]
    assert tags_of(sentence, lexicon)[4] == []  # "uh" is not in this lexicon


# --- PW --------------------------------------------------------------------------------------

def test_partial_words_by_form():
    assert marked("we th- the house is wi- is wide", "PW") == ["th-", "wi-"]
    assert marked("a well-known up-to-date plan", "PW") == []


# --- REP -------------------------------------------------------------------------------------

def test_repetitions_of_one_to_four_words_mark_all_but_the_last_copy():
    assert structures("I I think so") == [("REP", (0, 1), None, (1, 2))]
    assert marked("I I I think so", "RM") == ["I", "I"]
    assert structures("it was sort of sort of big") == [("REP", (2, 4), None, (4, 6))]
    assert marked("and then we went and then we went home", "RM") == ["and", "then", "we", "went"]


def test_a_repetition_may_have_an_interregnum():
    assert structures("the uh the cat") == [("REP", (0, 1), (1, 2), (2, 3))]
    assert structures("we went I mean we went home") == [("REP", (0, 2), (2, 4), (4, 6))]


def test_answers_said_twice_are_fluent():
    for sentence in ("yeah yeah that is true", "right right", "no no no", "it was very very cold"):
        assert marked(sentence, "RM") == [], sentence


def test_a_phrase_that_starts_with_an_answer_word_said_again_is_a_repetition():
    assert marked("right now I can right now I can throw them", "RM") == ["right", "now", "I", "can"]
    assert marked("yeah right yeah right", "RM") == []  # answers, said twice on purpose


def test_a_partial_word_completed_is_a_repetition():
    assert structures("I bought th- the car") == [("REP", (2, 3), None, (3, 4))]


# --- REV -------------------------------------------------------------------------------------

def test_a_rough_copy_is_a_revision():
    assert structures("we went to Boston uh to Denver") == [("REV", (2, 4), (4, 5), (5, 7))]
    assert structures("when I hear when I see that") == [("REV", (0, 3), None, (3, 6))]
    assert structures("I have some I have two dogs")[0] == ("REV", (0, 3), None, (3, 6))


def test_contractions_and_partial_words_start_revisions():
    assert structures("that that's fine")[0] == ("REV", (0, 1), None, (1, 2))
    assert marked("we wi- did it", "RM") == ["wi-"]
    assert structures("he can do what he wi- do what he wishes")[-1][0] == "REV"
    assert marked("he can do what he wi- do what he wishes", "RM") == ["do", "what", "he", "wi-"]


def test_a_function_word_replaced_by_another_of_its_class_is_a_revision():
    assert structures("I saw the a dog") == [("REV", (2, 3), None, (3, 4))]
    assert structures("and uh but then") == [("REV", (0, 1), (1, 2), (2, 3))]
    assert structures("we I went") == [("REV", (0, 1), None, (1, 2))]


def test_coordination_is_not_a_revision():
    assert marked("we go in and see the game and see the band", "RM") == []
    assert marked("citizens of the town and of the state", "RM") == []


def test_a_pronoun_and_auxiliary_taken_back_as_their_contraction_is_a_revision():
    assert structures("it is it's cold out") == [("REV", (0, 2), None, (2, 3))]
    assert structures("they are uh they're late again") == [("REV", (0, 2), (2, 3), (3, 4))]
    assert marked("it has its own room", "RM") == []  # "its" after "has" is the possessive


def test_a_word_replaced_by_one_of_its_class_with_the_next_word_again_is_a_revision():
    assert structures("we don't I don't know") == [("REV", (0, 2), None, (2, 4))]
    assert structures("they got you got lost") == [("REV", (0, 2), None, (2, 4))]
    assert structures("have you do you have a car") == [("REV", (0, 2), None, (2, 4))]
    assert marked("we waited in the at the station", "RM") == ["in", "the"]
    # prepositions only before a determiner: "from state to state" is fluent
    assert marked("it varies from state to state", "RM") == []


def test_a_subject_then_you_restarts_the_clause():
    assert structures("we you can't go there") == [("REV", (0, 1), None, (1, 2))]
    assert marked("it's you who called", "RM") == []


def test_a_word_said_again_with_a_modifier_or_subordinator_put_before_it():
    assert structures("we saw a nice relatively nice place") == [("REV", (3, 4), None, (4, 6))]
    assert structures("I when I came home it was dark")[0] == ("REV", (0, 1), None, (1, 3))
    assert marked("my car is really really old", "RM") == ["really"]  # a plain repetition
    assert marked("to go or not or stay", "RM") == []  # conjunctions: alternatives


def test_a_rough_copy_with_one_word_put_in():
    assert structures("it's like it seems like fun") == [("REV", (0, 2), None, (2, 5))]


def test_rough_copies_of_five_or_six_words_need_a_repair_one_word_off():
    assert structures("I've been to a couple I've been to a few games") == \
        [("REV", (0, 5), None, (5, 10))]
    assert marked("we went to the big lake we went to the big lake", "RM") == \
        ["we", "went", "to", "the", "big", "lake"]  # an exact repetition of six words
    # two words off: parallel clauses, not a repair
    assert marked("there were lots of big trucks there were lots of small cars", "RM") == []


def test_lists_and_parallel_phrases_are_not_rough_copies():
    sentence = "citizenship in the town citizenship in the state citizenship in the nation"
    assert marked(sentence, "RM") == []
    assert marked("we had a house and a home and a car", "RM") == []
    assert marked("I work and I pay my taxes", "RM") == []


def test_repetitions_nested_in_a_revision_are_kept():
    assert marked("I I think the I think that works", "RM") == ["I", "I", "think", "the"]
    assert marked("I guess I I guess I'm right", "RM") == ["I", "guess", "I"]


def test_a_cut_off_word_before_its_completion_is_the_reparandum_alone():
    assert marked("that ki- the kids were there", "RM") == ["ki-"]  # "the kids" is the repair
    assert marked("we did the whole big th- the whole thing", "RM") == \
        ["the", "whole", "big", "th-"]


def test_words_after_a_cut_off_word_start_the_repair():
    assert marked("so how you whe- once you get there", "RM") == ["you", "whe-"]


def test_fillers_inside_a_reparandum_keep_their_own_tag():
    sentence = "when I uh hear when I see that"
    assert structures(sentence) == [("REV", (0, 4), None, (4, 7))]
    assert tags_of(sentence)[:4] == [["RM"], ["RM"], ["FP"], ["RM"]]


def test_time_stays_linear_in_the_words_of_a_line():
    import time

    line = "so I I think uh we were th- there and it is it's the a book I was I am "
    words = (line * 6000).split()
    started = time.perf_counter()
    spans = tag_forms([w.lower().replace("'", "") for w in words])
    assert len(spans) >= 6000 * 6
    # linear: well under a second on one core; the quadratic crossing check of before took 20 s
    assert time.perf_counter() - started < 8


# --- FS --------------------------------------------------------------------------------------

def test_an_abandoned_fragment_before_a_new_clause_is_a_false_start():
    spans = tag("it was tr- so we left".split())
    (fs,) = [d for d in spans if d.type is DisfluencyType.FS]
    assert fs.reparandum == WordRange(2, 3) and fs.repair is None
    assert marked("it was tr- so we left", "RM") == ["tr-"]


# --- records, times, turns -------------------------------------------------------------------

def test_spans_are_model_records_sorted_by_start():
    spans = tag("uh I I th- the wi- house".split())
    assert all(isinstance(d, Disfluency) for d in spans)
    assert [d.words.start for d in spans] == sorted(d.words.start for d in spans)
    assert [d.type.value for d in spans] == ["FP", "REP", "REP", "PW", "REV", "PW"]  # longest first


def test_word_tags_view_uses_the_fixed_alphabet_and_order():
    sentence = "um I I wi- went you know home"
    tags = tags_of(sentence)
    assert len(tags) == len(sentence.split())
    assert tags == [["FP"], ["RM"], [], ["PW", "RM"], [], ["DM"], ["DM"], []]
    assert all(t in ("FP", "DM", "ET", "PW", "RM") for word in tags for t in word)


def test_times_come_from_timed_words():
    words = [Word("I", 0.0, 0.2), Word("I", 0.3, 0.5), Word("uh", 0.5, 0.9, kind="filler"),
             Word("think", 1.0, 1.4)]
    rep, fp = tag(words)
    assert (rep.type, rep.start, rep.end) == (DisfluencyType.REP, 0.0, 0.5)
    assert (fp.type, fp.start, fp.end) == (DisfluencyType.FP, 0.5, 0.9)
    untimed = tag(["I", "I", "think"])
    assert untimed[0].start is None and untimed[0].end is None


def test_events_and_punctuation_are_transparent():
    words = tokenize("I [laughter] I think") + (Word("."),)
    assert structures(" ".join(w.text for w in words)) == [("REP", (0, 1), (1, 2), (2, 3))]
    assert tags_of("I , I think")[0] == ["RM"]


def test_tag_turn_fills_the_turns_disfluencies():
    words = (Word("we", 1.0, 1.2), Word("we", 1.3, 1.5), Word("um", 1.5, 1.9), Word("left", 2.0, 2.4))
    turn = Turn("A", 1.0, 2.5, channel=0, text="we we um left", words=words,
                disfluencies=(Disfluency("PW", (3, 4)),), id="r1")
    tagged = tag_turn(turn)
    assert [d.type.value for d in tagged.disfluencies] == ["REP", "FP"]
    assert (tagged.id, tagged.text, tagged.words) == ("r1", turn.text, words)
    assert tagged.disfluencies[0].start == 1.0 and tagged.disfluencies[0].end == 1.5
    empty = Turn("B", 0, 1)
    assert tag_turn(empty) is empty


def test_fast_path_and_record_path_agree():
    sentence = "so uh we we went to the a the lake th- there I mean you know".split()
    raw = tag_forms([w.lower() for w in sentence])
    records = tag(sentence)
    assert [(r[0], r[1], r[2], r[3]) for r in raw] == [
        (d.type, d.words.start, d.words.stop, None if d.reparandum is None else (d.reparandum.start, d.reparandum.stop))
        for d in records]


@pytest.mark.parametrize("sentence", ["", "   ", "[laughter]", ". , ?", "uh"])
def test_degenerate_inputs(sentence):
    words = sentence.split()
    assert len(tags_of(sentence)) == len(words)


def test_a_hundred_thousand_character_line_is_tagged_in_one_pass():
    sentence = ("so I I think uh we were th- there and it was you know fine " * 1700)[:100_000]
    words = sentence.split()
    tags = word_tags(len(words), tag(words))
    assert len(tags) == len(words)
    assert tags[:3] == [[], ["RM"], []]
    assert sum("RM" in t for t in tags) >= 1700


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TOKENS = st.sampled_from(["I", "i", "we", "the", "a", "and", "but", "uh", "um", "you", "know", "like",
                           "well", "th-", "-ing", "that", "that's", "to", "go", "[laughter]", ",", "--",
                           "yeah", "é", "see", "I'm", "mean"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_TOKENS, max_size=30))
def test_any_token_sequence_gives_valid_spans_and_one_tag_list_per_word(words):
    spans = tag(words)
    tags = word_tags(len(words), spans)
    assert len(tags) == len(words)
    for d in spans:  # Disfluency validated its own structure; it must also fit the words
        assert d.words.stop <= len(words)
