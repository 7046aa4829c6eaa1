"""The draft-transcript step: give pre-labelled turns their words and disfluencies.

One step, shared by the batch command (``casper-qc prelabel --drafts DIR`` / ``--asr ENGINE``)
and the Label Studio ML backend, so both fill turns the same way:

1. words from a **draft transcript** when there is one (:func:`casper_qc.drafts.place_words`:
   each word goes to the turn it falls in; words without times are spread over their turns and
   marked ``estimated``), else from the **local recognizer** when one is given
   (:func:`casper_qc.asr.transcribe_turns`, each turn on its own channel), else none;
2. **disfluencies** of every turn that has words, from the rule-based tagger
   (:func:`casper_qc.disfluency.tag_turn`).

:func:`find_drafts` finds a recording's draft files in a folder, :func:`read_drafts` reads them
as one draft, :func:`fill_turns` does the step, :func:`with_disfluency_choices` turns a turn's
disfluency types into the per-region choices of a Label Studio config. Nothing here knows which
executor (or server) runs it; the step is a pure function of the turns, the draft and the audio.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .asr import Recognizer
    from .formats.drafts import Draft
    from .formats.labelconfig import LabelConfig
    from .model import Turn

__all__ = [
    "DRAFT_EXTENSIONS",
    "Filled",
    "fill_turns",
    "find_drafts",
    "read_drafts",
    "with_disfluency_choices",
]

#: File extensions a draft may have (lower case), as :mod:`casper_qc.formats.drafts` detects them.
DRAFT_EXTENSIONS = (".json", ".ctm", ".srt", ".vtt", ".textgrid", ".txt", ".lab")
#: Names ``casper-qc prelabel`` writes next to its outputs; never read as drafts.
_NOT_DRAFTS = (".tasks.json", ".stats.json")
_CHANNEL = re.compile(r"^ch([1-9][0-9]*)$", re.IGNORECASE)


def find_drafts(directory: str | os.PathLike[str], stem: str) -> tuple[Path, ...]:
    """The draft files of recording ``stem`` in ``directory``, sorted by name.

    A draft file is named ``<stem><ext>`` (the whole recording; a CTM or TextGrid may hold
    several channels), ``<stem>.ch<N><ext>`` (channel N, counted from 1) or, for plain text,
    ``<stem>.<speaker>.txt``, with ``<ext>`` one of :data:`DRAFT_EXTENSIONS` (any case).
    Other files are not drafts of ``stem`` (``<stem>.tasks.json`` and ``<stem>.stats.json``
    never are). A missing directory has none.

    The directory is listed once and indexed by stem, then listed again only when it changes
    (its modification time), so a corpus of N recordings costs one listing, not N.
    """
    names = _listing(os.fspath(directory)).get(stem, ())
    return tuple(Path(directory) / name for name in names if _draft_target(name, stem) is not None)


#: directory -> (its modification time in ns, {stem prefix: sorted names}); per process.
_LISTINGS: dict[str, tuple[int, dict[str, tuple[str, ...]]]] = {}
#: A directory changed less than this long ago (ns) is listed afresh every time: a file added
#: within the same tick of its clock would not change its modification time again.
_SETTLED_NS = 2_000_000_000


def _listing(directory: str) -> dict[str, tuple[str, ...]]:
    """The names in ``directory`` with a draft extension, by every prefix that ends before a dot
    (``a.b.ch1.txt`` under ``a``, ``a.b`` and ``a.b.ch1``); empty when it cannot be listed."""
    import time

    try:
        changed = os.stat(directory).st_mtime_ns
        cached = _LISTINGS.get(directory)
        if cached is not None and cached[0] == changed:
            return cached[1]
        names = sorted(os.listdir(directory))
    except OSError:
        return {}
    index: dict[str, list[str]] = {}
    for name in names:
        if not name.lower().endswith(DRAFT_EXTENSIONS):
            continue
        dot = name.find(".")
        while dot > 0:
            index.setdefault(name[:dot], []).append(name)
            dot = name.find(".", dot + 1)
    listing = {stem: tuple(found) for stem, found in index.items()}
    if time.time_ns() - changed > _SETTLED_NS:
        _LISTINGS[directory] = (changed, listing)
    return listing


def _draft_target(name: str, stem: str) -> tuple[int | None, str | None] | None:
    """``(channel, speaker)`` a draft file named ``name`` holds for ``stem``; None when it is
    not one of ``stem``'s draft files."""
    lower = name.lower()
    if not name.startswith(stem + ".") or lower.endswith(_NOT_DRAFTS):
        return None
    ext = next((e for e in DRAFT_EXTENSIONS if lower.endswith(e)), None)
    if ext is None:
        return None
    middle = name[len(stem):len(name) - len(ext)]
    if not middle:
        return None, None
    who = middle[1:]
    if not who or "." in who:
        return None
    match = _CHANNEL.match(who)
    if match:
        return int(match.group(1)) - 1, None
    if ext == ".txt":
        return None, who
    return None


def read_drafts(paths: Sequence[str | os.PathLike[str]], stem: str, *, lexicon=None) -> Draft:
    """The draft files ``paths`` of recording ``stem`` (named as :func:`find_drafts` finds
    them) read as one draft.

    Raises:
        InputError: a file cannot be read, or two files hold the words of the same channel,
            speaker or of the whole recording (one line naming them).
        FormatError: a file is not valid in its format (one line naming file and place).
    """
    from .formats.drafts import merge_drafts, read_draft

    drafts = []
    claimed: dict[str, str] = {}
    for path in paths:
        target = _draft_target(Path(path).name, stem)
        channel, speaker = target if target is not None else (None, None)
        draft = read_draft(path, channel=channel, speaker=speaker, lexicon=lexicon)
        for track in draft.tracks or ():
            whose = track.describe()
            if whose in claimed and claimed[whose] != str(path):
                raise InputError(f"two drafts hold the words of {whose}: {Path(claimed[whose]).name} "
                                 f"and {Path(path).name}; keep one", where=str(Path(path).parent))
            claimed[whose] = str(path)
        drafts.append(draft)
    if len(drafts) == 1:
        return drafts[0]
    return merge_drafts(drafts, source=" + ".join(str(p) for p in paths))


@dataclass(frozen=True)
class Filled:
    """What :func:`fill_turns` did: the turns (input order), where their words came from
    (``source``: ``"draft"``, ``"asr"`` or ``None``) and counts for the record
    (``words``; for a draft also ``placed``, ``estimated``, ``unplaced`` and ``unplaced_<reason>``)."""

    turns: tuple[Turn, ...]
    source: str | None
    counts: dict[str, int]


def fill_turns(turns: Sequence[Turn], *, draft: Draft | None = None, audio=None,
               recognizer: Recognizer | None = None, tag: bool = True, lexicon=None) -> Filled:
    """``turns`` with words from ``draft``, else from ``recognizer`` run on ``audio``, and
    (``tag``) their disfluencies tagged (see the module docstring).

    ``audio`` is what :func:`casper_qc.asr.transcribe_turns` takes (a path, a list of mono
    paths, or ``(samples, sample_rate)``); it is read only when the recognizer runs. Turns
    that get no words are returned as they are.

    Raises:
        InputError: ``recognizer`` without ``audio``; the recognizer's engine cannot load.
        AudioError: the audio cannot be read, or a turn is on a channel it does not have.
    """
    from .disfluency import tag_turn

    turns = tuple(turns)
    source: str | None = None
    counts: dict[str, int] = {}
    if draft is not None:
        from .drafts import place_words

        placement = place_words(turns, draft)
        turns, source, counts = placement.turns, "draft", placement.counts()
    elif recognizer is not None and turns:
        if audio is None:
            raise InputError("the recognizer needs the audio of the turns")
        from .asr import transcribe_turns

        turns, source = transcribe_turns(audio, turns, recognizer), "asr"
    if tag:
        turns = tuple(tag_turn(t, lexicon=lexicon) for t in turns)
    counts = {"words": sum(len(t.words) for t in turns), **counts}
    return Filled(turns, source, counts)


def with_disfluency_choices(turn: Turn, config: LabelConfig) -> Turn:
    """``turn`` as a region of ``config``: its text dropped when the config has no transcript
    field, and the types of its disfluencies (first seen first) set as the choices of the
    config's per-region choices whose values are disfluency types (only the first when that
    choice takes one value). A turn without disfluencies, or a config without such choices,
    keeps its choices."""
    from .labels import DisfluencyType

    if config.transcript_name is None and turn.text:
        turn = replace(turn, text="")
    if not turn.disfluencies:
        return turn
    types = {t.value for t in DisfluencyType}
    spec = next((s for s in config.region_choices if set(s.values) & types), None)
    if spec is None:
        return turn
    found: list[str] = []
    for dis in turn.disfluencies:
        if dis.type.value in spec.values and dis.type.value not in found:
            found.append(dis.type.value)
    if not spec.multiple:
        found = found[:1]
    return replace(turn, choices={**turn.choices, spec.name: tuple(found)})
