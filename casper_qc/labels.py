"""The canonical label set: disfluency types, their roles, events and word kinds.

These names are the project's vocabulary. Label configs, TextGrid tiers, JSONL ``custom`` fields
and the tagging CLI all use the string values below; ``casper_qc.conventions`` maps the markup of
other corpora (Switchboard, CHAT) onto them.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "DisfluencyType",
    "Role",
    "EventType",
    "WordKind",
    "SIMPLE_TYPES",
    "STRUCTURED_TYPES",
    "WORD_TAGS",
]


class DisfluencyType(str, Enum):
    """Disfluency types. The first four mark single words or fixed phrases; the last three
    have a reparandum (and, except FS, a repair)."""

    FP = "FP"  # filled pause: uh, um, er, hm
    DM = "DM"  # discourse marker: you know, like, well, so
    ET = "ET"  # editing term: I mean, sorry, no
    PW = "PW"  # partial word: th-, wi-
    REP = "REP"  # repetition: I I think
    REV = "REV"  # revision: to Boston to Denver
    FS = "FS"  # false start / restart: we were- so anyway

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    def __str__(self) -> str:
        return self.value


_DESCRIPTIONS = {
    DisfluencyType.FP: "filled pause",
    DisfluencyType.DM: "discourse marker",
    DisfluencyType.ET: "editing term",
    DisfluencyType.PW: "partial word",
    DisfluencyType.REP: "repetition",
    DisfluencyType.REV: "revision",
    DisfluencyType.FS: "false start / restart",
}

#: Types that cover their own words and have no reparandum/repair structure.
SIMPLE_TYPES = frozenset({DisfluencyType.FP, DisfluencyType.DM, DisfluencyType.ET, DisfluencyType.PW})
#: Types with a reparandum (what a fluent version deletes) and optional interregnum/repair.
STRUCTURED_TYPES = frozenset({DisfluencyType.REP, DisfluencyType.REV, DisfluencyType.FS})


class Role(str, Enum):
    """Roles of words inside a structured disfluency (Shriberg 1994)."""

    REPARANDUM = "RM"
    INTERREGNUM = "IM"
    REPAIR = "RP"

    def __str__(self) -> str:
        return self.value


class EventType(str, Enum):
    """Non-lexical events written in brackets in a verbatim transcript."""

    LAUGHTER = "laughter"
    NOISE = "noise"
    BREATH = "breath"
    UNINTELLIGIBLE = "unintelligible"

    def __str__(self) -> str:
        return self.value


class WordKind(str, Enum):
    """What a token of a verbatim transcript is."""

    WORD = "word"
    FILLER = "filler"  # a filled pause token (uh, um…)
    PARTIAL = "partial"  # a cut-off word, written with a trailing hyphen (th-)
    EVENT = "event"  # [laughter], <noise>, {breath}

    def __str__(self) -> str:
        return self.value


#: The per-word tag set of the tagging CLI: RM marks a reparandum word of any structured type.
WORD_TAGS = ("FP", "DM", "ET", "PW", "RM")
