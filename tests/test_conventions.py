"""Transcription conventions: lexicons, verbatim tokens, Switchboard and CHAT markup."""

from __future__ import annotations

import pytest

from casper_qc import conventions, labels
from casper_qc.conventions import (
    DEFAULT_LEXICON,
    Lexicon,
    detect_markup,
    event_text,
    normalize,
    parse_chat,
    parse_swbd,
    parse_transcript,
    read_chat,
    read_lexicon,
    tokenize,
)
from casper_qc.errors import FormatError, InputError
from casper_qc.labels import DisfluencyType, WordKind
from casper_qc.model import WordRange


def spans(disfluencies):
    """(type, words, reparandum, interregnum, repair) with ranges as tuples, for comparing."""
    def pair(r):
        return None if r is None else (r.start, r.stop)

    return [(d.type.value, pair(d.words), pair(d.reparandum), pair(d.interregnum), pair(d.repair))
            for d in disfluencies]


def texts(words):
    return [w.text for w in words]


# --- labels and lexicons ----------------------------------------------------------------------

def test_the_label_set_is_re_exported_not_copied():
    assert conventions.DisfluencyType is labels.DisfluencyType
    assert conventions.EventType is labels.EventType
    assert conventions.WORD_TAGS == ("FP", "DM", "ET", "PW", "RM")
    assert {t.value for t in conventions.DisfluencyType} == {"FP", "DM", "ET", "PW", "REP", "REV", "FS"}


def test_normalize_folds_case_apostrophes_and_punctuation_but_keeps_hyphens():
    assert normalize("It's,") == "its"
    assert normalize("th-") == "th-"
    assert normalize("Uh-huh.") == "uh-huh"
    assert normalize("--") == "" and normalize("...") == ""
    assert normalize("Café") == "café"


def test_lexicon_entries_are_normalized_phrases_and_hashable():
    lex = Lexicon.build(fillers=["Uh", "UM"], discourse_markers=["You  know"], editing_terms=["I'm sorry"])
    assert lex.fillers == frozenset({"uh", "um"})
    assert lex.label("you know") is DisfluencyType.DM
    assert lex.label("im sorry") is DisfluencyType.ET
    assert lex.label("like") is None
    assert lex.longest == 2
    assert hash(lex) == hash(Lexicon.build(["uh", "um"], ["you know"], ["i'm sorry"]))


def test_lexicon_refuses_an_entry_in_two_lists_and_empty_entries():
    with pytest.raises(InputError, match="'well' is both a filler and a discourse marker"):
        Lexicon.build(fillers=["well"], discourse_markers=["Well,"])
    with pytest.raises(InputError, match="has no word"):
        Lexicon.build(fillers=["..."])


def test_extending_a_lexicon_moves_an_entry_between_lists():
    lex = DEFAULT_LEXICON.extended(fillers=["like"], editing_terms=["no wait wait"])
    assert lex.label("like") is DisfluencyType.FP
    assert "like" not in lex.discourse_markers
    assert lex.label("no wait wait") is DisfluencyType.ET
    assert DEFAULT_LEXICON.label("like") is DisfluencyType.DM  # the default is untouched


def test_default_lexicon_follows_the_switchboard_categories():
    for word in ("uh", "um", "er", "hm", "mm", "oh"):
        assert DEFAULT_LEXICON.label(word) is DisfluencyType.FP
    assert DEFAULT_LEXICON.label("you know") is DisfluencyType.DM
    assert DEFAULT_LEXICON.label("i mean") is DisfluencyType.ET
    assert DEFAULT_LEXICON.label("uh-huh") is None  # a backchannel is a word


def test_read_lexicon_extends_a_base(tmp_path):
    path = tmp_path / "lex.txt"
    path.write_text("# site words\nFP\tehm\nDM  kind of\n\nET scratch that\n", encoding="utf-8")
    lex = read_lexicon(path, base=DEFAULT_LEXICON)
    assert lex.label("ehm") is DisfluencyType.FP
    assert lex.label("kind of") is DisfluencyType.DM
    assert lex.label("scratch that") is DisfluencyType.ET
    assert lex.label("uh") is DisfluencyType.FP
    assert read_lexicon(path).label("uh") is None


@pytest.mark.parametrize("content,message", [
    ("FP uh\nXX what\n", "line 2: label 'XX' is not FP, DM or ET"),
    ("FP\n", "line 1: filler entry '' has no word in it"),
    ("FP well\nDM well\n", "'well' is both a filler and a discourse marker"),
])
def test_read_lexicon_names_the_bad_line(tmp_path, content, message):
    path = tmp_path / "lex.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_lexicon(path)
    assert str(path) in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_read_lexicon_reports_a_missing_or_binary_file(tmp_path):
    with pytest.raises(InputError, match="cannot read lexicon"):
        read_lexicon(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"FP \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_lexicon(tmp_path / "bin.txt")


# --- verbatim tokens -------------------------------------------------------------------------

def test_tokenize_recognizes_fillers_partials_events_and_uncertain_spans():
    words = tokenize("Well, I- I th- think um (( maybe this )) [laughs] <noise> {breath} (coughs) uh-huh.")
    assert texts(words) == ["Well", "I-", "I", "th-", "think", "um", "maybe", "this", "[laughter]",
                            "[noise]", "[breath]", "[noise]", "uh-huh"]
    kinds = [w.kind for w in words]
    assert kinds[1] is WordKind.PARTIAL and kinds[3] is WordKind.PARTIAL
    assert kinds[5] is WordKind.FILLER
    assert kinds[8:12] == [WordKind.EVENT] * 4
    assert kinds[12] is WordKind.WORD  # a backchannel, not a filler
    assert [w.uncertain for w in words[5:9]] == [False, True, True, False]
    assert all(not w.timed for w in words)


def test_an_empty_uncertain_span_is_unintelligible_speech():
    words = tokenize("so (( )) anyway")
    assert texts(words) == ["so", "[unintelligible]", "anyway"]
    assert words[1].kind is WordKind.EVENT


def test_event_names_map_to_the_canonical_events():
    assert event_text("laughs") == "[laughter]"
    assert event_text("Laughing") == "[laughter]"
    assert event_text("inaudible") == "[unintelligible]"
    assert event_text("sigh") == "[breath]"
    assert event_text("door slams") == "[noise]"


def test_tokenize_keeps_non_ascii_words_and_drops_punctuation_tokens():
    words = tokenize("— Ça va , très bien … euh ?")
    assert texts(words) == ["Ça", "va", "très", "bien", "euh"]


def test_tokenize_uses_the_lexicon_it_is_given():
    lex = Lexicon.build(fillers=["euh", "you know"])
    words = tokenize("euh you know uh", lexicon=lex)
    assert [w.kind for w in words] == [WordKind.FILLER, WordKind.FILLER, WordKind.FILLER, WordKind.WORD]


@pytest.mark.parametrize("text,message", [
    ("a [laughter b", "column 3: '[' is never closed"),
    ("a laughter] b", "column 11: ']' closes nothing"),
    ("a <noise b", "column 3: '<' is never closed"),
    ("(( a b", "column 1: '((' is never closed"),
    ("a b ))", "column 5: '))' closes nothing"),
    ("(( a (( b )) ))", "column 6: '((' inside another '((' opened at column 1"),
    ("[ I + I ] think", "column 1: '[ I + I ]' is not an event like [laughter] (Switchboard markup?"),
    ("ok\nthen [x", "line 2, column 6: '[' is never closed"),
])
def test_tokenize_reports_unbalanced_marks_with_their_column(text, message):
    with pytest.raises(FormatError) as info:
        tokenize(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_tokenize_refuses_what_is_not_text():
    with pytest.raises(InputError, match="must be text"):
        tokenize(b"uh")  # type: ignore[arg-type]


# --- whole transcripts ----------------------------------------------------------------------

@pytest.mark.parametrize("text,kind", [
    ("{F uh} I think", "swbd"),
    ("[ I + I ] think", "swbd"),
    ("I [/] I think .", "chat"),
    ("&-um here's some retracing .", "chat"),
    ("*PAR0:\thello .", "chat"),
    ("uh I [laughter] think {breath}", "verbatim"),
])
def test_markup_is_detected(text, kind):
    assert detect_markup(text) == kind


def test_verbatim_transcripts_yield_filler_and_partial_word_spans():
    words, dis = parse_transcript("uh we th- the [laughter] um")
    assert spans(dis) == [("FP", (0, 1), None, None, None), ("PW", (2, 3), None, None, None),
                          ("FP", (5, 6), None, None, None)]
    with pytest.raises(InputError, match="markup must be one of"):
        parse_transcript("uh", markup="tei")


def test_auto_dispatches_to_switchboard_and_chat():
    assert texts(parse_transcript("{F uh} [ I + I ] think")[0]) == ["uh", "I", "I", "think"]
    assert texts(parse_transcript("&-uh <I> [/] I think .")[0]) == ["uh", "I", "I", "think"]
    with pytest.raises(FormatError):
        parse_transcript("[ I + I ]", markup="verbatim")


# --- Switchboard markup ----------------------------------------------------------------------

def test_switchboard_groups_give_fp_dm_et_and_c_a_are_plain_words():
    words, dis = parse_swbd("{F Uh, } {D you know, } {C and } {E I mean } {A as I said } it")
    assert texts(words) == ["Uh", "you", "know", "and", "I", "mean", "as", "I", "said", "it"]
    assert spans(dis) == [("FP", (0, 1), None, None, None), ("DM", (1, 3), None, None, None),
                          ("ET", (4, 6), None, None, None)]
    assert words[0].kind is WordKind.FILLER


def test_switchboard_repairs_are_typed_by_their_repair():
    _, rep = parse_swbd("[ the + the ] cat")
    assert spans(rep) == [("REP", (0, 2), (0, 1), None, (1, 2))]
    _, rev = parse_swbd("[ to Boston + {F uh} {E I mean} to Denver ]")
    assert spans(rev) == [("REV", (0, 7), (0, 2), (2, 5), (5, 7)), ("FP", (2, 3), None, None, None),
                          ("ET", (3, 5), None, None, None)]
    _, fs = parse_swbd("[ we were + ] so anyway")
    assert spans(fs) == [("FS", (0, 2), (0, 2), None, None)]
    _, fs_im = parse_swbd("[ we were + {F uh} ] so")
    assert spans(fs_im)[0] == ("FS", (0, 3), (0, 2), (2, 3), None)
    _, partial = parse_swbd("[ th- + the ] cat")
    assert spans(partial) == [("REP", (0, 2), (0, 1), None, (1, 2)), ("PW", (0, 1), None, None, None)]


def test_switchboard_repairs_nest():
    words, dis = parse_swbd("[ [ I + I ] + I ] think")
    assert texts(words) == ["I", "I", "I", "think"]
    # the outer reparandum "I I" says "I" once a fluent version drops the inner reparandum
    assert spans(dis) == [("REP", (0, 3), (0, 2), None, (2, 3)), ("REP", (0, 2), (0, 1), None, (1, 2))]
    _, inner_repair = parse_swbd("[ we + [ we + we ] ] went")
    assert spans(inner_repair) == [("REP", (0, 3), (0, 1), None, (1, 3)),
                                   ("REP", (1, 3), (1, 2), None, (2, 3))]


def test_switchboard_boundaries_overlap_marks_and_events_are_not_words():
    words, dis = parse_swbd("# yeah # / it's [ a + a ] <laughter> good (( thing )) -/ <<long pause>> --")
    assert texts(words) == ["yeah", "it's", "a", "a", "[laughter]", "good", "thing"]
    assert words[6].uncertain and not words[5].uncertain
    assert spans(dis) == [("REP", (2, 4), (2, 3), None, (3, 4))]


@pytest.mark.parametrize("text,message", [
    ("[ a + b", "column 1: '[' is never closed"),
    ("a ] b", "column 3: ']' closes no '[' repair"),
    ("{F uh", "column 1: '{F' is never closed"),
    ("uh }", "column 4: '}' closes no {F/D/E/C/A} group"),
    ("[ a b ]", "column 7: the repair opened at column 1 has no '+'"),
    ("[ + b ]", "column 3: empty reparandum before '+' in the repair opened at column 1"),
    ("[ a + b + c ]", "column 9: a second '+' in the repair opened at column 1"),
    ("{D [ a + b } ]", "column 12: '}' closes no {F/D/E/C/A} group (the '[' at column 4 is still open)"),
    ("[ {D a + b ]", "column 8: '+' inside the {D group opened at column 3"),
    ("a + b", "column 3: '+' outside a [ reparandum + repair ] bracket"),
    ("a <laughter", "column 3: '<' is never closed"),
    ("x\n[ a + b", "line 2, column 1: '[' is never closed"),
])
def test_unbalanced_switchboard_markup_names_the_place(text, message):
    with pytest.raises(FormatError) as info:
        parse_swbd(text)
    assert message in str(info.value)


# --- CHAT ------------------------------------------------------------------------------------

def test_chat_fillers_fragments_events_and_retracing():
    words, dis = parse_chat("*CHI:\t&-um <I want> [//] &-uh I need &+co cookie &=laughs xxx [?] .")
    assert texts(words) == ["um", "I", "want", "uh", "I", "need", "co-", "cookie", "[laughter]",
                            "[unintelligible]"]
    assert words[0].kind is WordKind.FILLER and words[6].kind is WordKind.PARTIAL
    assert words[9].uncertain and not words[8].uncertain
    assert spans(dis) == [("FP", (0, 1), None, None, None), ("REV", (1, 6), (1, 3), (3, 4), (4, 6)),
                          ("FP", (3, 4), None, None, None), ("PW", (6, 7), None, None, None)]


def test_chat_repetition_repair_is_what_says_the_reparandum_again():
    words, dis = parse_chat("&-um <i like i like> [/] i like beans .")
    assert spans(dis) == [("FP", (0, 1), None, None, None), ("REP", (1, 7), (1, 5), None, (5, 7))]
    _, single = parse_chat("test [/] test .")
    assert spans(single) == [("REP", (0, 2), (0, 1), None, (1, 2))]


def test_chat_reformulations_and_false_starts_are_fs():
    _, dis = parse_chat("<I wanted> [///] can I have one ?")
    assert spans(dis) == [("FS", (0, 2), (0, 2), None, None)]
    _, dis = parse_chat("<the> [/-] &-uh when is she coming ?")
    assert spans(dis) == [("FS", (0, 2), (0, 1), (1, 2), None), ("FP", (1, 2), None, None, None)]
    _, dis = parse_chat("I [/?] I think .")
    assert spans(dis)[0][0] == "REP"
    words, dis = parse_chat("and then he +//.")
    assert texts(words) == ["and", "then", "he"] and dis == ()


def test_chat_codes_linkers_pauses_and_omissions_are_not_words():
    words, _ = parse_chat("+< yeah (.) that's 0is [: is] my@s:spa boo:k [!] (1.5) ‡ „ right +...")
    assert texts(words) == ["yeah", "that's", "my", "book", "right"]


@pytest.mark.parametrize("text,message", [
    ("<a b [/] c .", "column 1: '<' is never closed"),
    ("a > b .", "column 3: '>' closes no '<' group"),
    ("a [/ b .", "column 3: '[' is never closed"),
    ("[/] a .", "column 1: [/] follows no word or <group>"),
    ("a ] b .", "column 3: ']' closes nothing"),
])
def test_unbalanced_chat_markup_names_the_place(text, message):
    with pytest.raises(FormatError) as info:
        parse_chat(text)
    assert message in str(info.value)


def test_read_chat_gives_every_utterance_with_word_times_from_wor(test_data):
    utterances = read_chat(test_data / "talkbank_batchalign3" / "test.cha")
    assert len(utterances) == 13
    assert [u.speaker for u in utterances] == ["PAR0"] * 13
    first = utterances[0]
    assert texts(first.words) == ["Hello"] and (first.start, first.end) == (0.125, 0.475)
    assert (first.words[0].start, first.words[0].end) == (0.125, 0.475)
    # the second utterance has no %wor tier: its words stay untimed
    assert texts(utterances[1].words)[-1] == "wake-up" and not any(w.timed for w in utterances[1].words)
    retrace = next(u for u in utterances if "beans" in texts(u.words) and "um" in texts(u.words))
    assert texts(retrace.words) == ["um", "i", "like", "i", "like", "i", "like", "beans"]
    assert [w.start for w in retrace.words] == [20.735, 21.395, 21.545, 22.235, 22.355, 22.715, 22.835, 23.605]
    assert spans(retrace.disfluencies) == [("FP", (0, 1), None, None, None),
                                           ("REP", (1, 7), (1, 5), None, (5, 7))]
    rep = retrace.disfluencies[1]
    assert (rep.start, rep.end) == (21.395, 23.075)
    turn = retrace.to_turn(channel=0)
    assert (turn.start, turn.end, turn.channel) == (20.735, 23.955, 0)
    assert turn.disfluencies[1].reparandum == WordRange(1, 5)
    test = next(u for u in utterances if texts(u.words) == ["test", "test"])
    assert spans(test.disfluencies) == [("REP", (0, 2), (0, 1), None, (1, 2))]
    for utterance in utterances:  # every timed utterance makes a valid turn
        utterance.to_turn()


def test_read_chat_reports_bad_files_with_their_line(tmp_path):
    bad = tmp_path / "bad.cha"
    bad.write_text("@Begin\n*CHI:\t<I want [/] more .\n@End\n", encoding="utf-8")
    with pytest.raises(FormatError) as info:
        read_chat(bad)
    assert str(info.value) == f"{bad}: line 2: column 1: '<' is never closed"
    stray = tmp_path / "stray.cha"
    stray.write_text("@Begin\nhello there\n", encoding="utf-8")
    with pytest.raises(FormatError, match="line 2: 'hello there' is not a CHAT header"):
        read_chat(stray)
    binary = tmp_path / "bin.cha"
    binary.write_bytes(b"@Begin\n*CHI:\t\xff .\n")
    with pytest.raises(FormatError, match="not UTF-8"):
        read_chat(binary)
    untimed = tmp_path / "untimed.cha"
    untimed.write_text("@Begin\n*CHI:\tmore juice .\n\tplease .\n@End\n", encoding="utf-8")
    (utterance,) = read_chat(untimed)
    assert texts(utterance.words) == ["more", "juice", "please"]
    with pytest.raises(InputError, match="line 2: utterance has no time bullet"):
        utterance.to_turn()


# --- any text: a record or a FormatError, never anything else ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from(["[", "]", "+", "{F", "{D", "{E", "{C", "}", "((", "))", "<", ">", "<laughter>",
                           "[noise]", "uh", "I", "th-", "we", "-/", "/", "&-um", "&=laughs", "[/]", "[//]",
                           "[///]", "[?]", "x", "é", ",", "\t", "\n", "+/."])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=14).map(" ".join), st.sampled_from(["verbatim", "swbd", "chat", "auto"]))
def test_any_markup_parses_or_raises_a_format_error(text, markup):
    try:
        words, dis = parse_transcript(text, markup=markup)
    except FormatError as err:
        assert "\n" not in str(err) and "column" in str(err)
        return
    for d in dis:
        assert d.words.stop <= len(words)


def test_every_example_of_the_annotators_guide_parses():
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parent.parent / "label_configs" / "README.md"
    text = guide.read_text(encoding="utf-8").split("## The Label Studio configs")[0]
    examples = [re.sub(r"\s{2,}\(\w+\)$", "", line.strip()) for line in text.splitlines()
                if line.startswith("    ") and line.strip()]
    assert len(examples) >= 7
    for example in examples:
        words, _ = parse_transcript(example)
        assert words, example
    # and the quick-reference table's cells
    cells = re.findall(r"`([^`]+)`", text.split("## Quick reference")[1])
    for cell in cells:
        parse_transcript(cell)


# --- the parse memo (parse_transcript_cached) ------------------------------------------------

def _as_data(parsed):
    words, dis = parsed
    return [(w.text, w.kind, w.uncertain, w.start) for w in words], spans(dis), [(d.start, d.end) for d in dis]


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=14).map(" ".join), st.sampled_from(["verbatim", "swbd", "chat", "auto"]))
def test_the_memo_gives_what_parse_transcript_gives(text, markup):
    try:
        expected = parse_transcript(text, markup=markup)
    except FormatError as err:
        with pytest.raises(FormatError) as found:
            conventions.parse_transcript_cached(text, markup=markup)
        assert str(found.value) == str(err)
        return
    assert _as_data(conventions.parse_transcript_cached(text, markup=markup)) == _as_data(expected)
    assert _as_data(conventions.parse_transcript_cached(text, markup=markup)) == _as_data(expected)  # from the memo


def test_the_memo_shares_records_but_tokenize_makes_new_ones():
    lexicon = Lexicon.build(fillers=["uh", "you know"])
    text = "so uh you know th- the plan"
    first = conventions.parse_transcript_cached(text, lexicon=lexicon)
    again = conventions.parse_transcript_cached(text, lexicon=lexicon)
    assert again is first  # one parse per distinct text
    other = conventions.parse_transcript_cached("uh the plan", lexicon=lexicon)
    assert other[0][0] is first[0][1] and other[0][1] is first[0][5]  # equal tokens, one record
    assert [w.kind for w in first[0]] == [WordKind.WORD, WordKind.FILLER, WordKind.FILLER, WordKind.FILLER,
                                          WordKind.PARTIAL, WordKind.WORD, WordKind.WORD]
    # the memo is per lexicon: the default one has no phrase fillers
    assert [w.kind for w in conventions.parse_transcript_cached(text)[0]][2:4] == [WordKind.WORD, WordKind.WORD]
    # tokenize hands out new records every call: callers may tell equal words apart by identity
    a, b = tokenize("uh uh"), tokenize("uh uh")
    assert a == b and a[0] is not a[1] and a[0] is not b[0]


def test_the_memo_refuses_what_parse_transcript_refuses():
    with pytest.raises(InputError, match="markup must be one of"):
        conventions.parse_transcript_cached("hello", markup="html")
    with pytest.raises(InputError, match="must be text"):
        conventions.parse_transcript_cached(None)  # type: ignore[arg-type]
    for _ in range(2):  # an error is never remembered
        with pytest.raises(FormatError, match="column 4"):
            conventions.parse_transcript_cached("hi [laughter")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}[]&+*/=-~?!%:._^<>,\"FDECA uhx\t\n\x15") + ["\u00e9", "0", "1"]),
               max_size=30))
def test_markup_detection_checks_hint_characters_first(text):
    # the two hint patterns, as detect_markup applied them before it looked for their first characters
    expected = ("swbd" if conventions._SWBD_HINT.search(text) else
                "chat" if conventions._CHAT_HINT.search(text) else "verbatim")
    assert detect_markup(text) == expected
