"""Word-level scoring of disfluency tags against gold annotation.

Every figure is built from additive counts: :class:`Counts` holds true positives, false
positives and false negatives of one label; counts of files add up, and precision, recall and F1
are derived from the summed counts (never averaged over files), as pyannote.metrics does.

Labels scored, per word:

* ``FP``, ``DM``, ``ET`` - only where the gold tells them apart (Switchboard ``{F}``, ``{D}``,
  ``{E}`` markup, CHAT ``&-uh``);
* ``FP+DM+ET`` - a word is any of the three. Always scored: the Switchboard word tables
  (``.words.tsv``) tag filled pauses, discourse markers and editing terms alike as ``E``;
* ``PW`` - a partial word (gold: the word's form ends or starts with a hyphen in the tables);
* ``RM`` - a reparandum word of any REP, REV or FS: what a fluent version deletes;
* ``RM:REP``, ``RM:REV``, ``RM:FS`` - recall only: the reparandum words of gold repetitions,
  revisions (substitutions) and false starts (deletions), found when tagged RM.

Gold comes from :func:`read_gold`: Switchboard word tables (``*.words.tsv``, the development
set's format, utterances cut at a change of speaker or a pause over 1 s), CHAT files (``.cha``),
or text with one utterance per line in Switchboard markup (or verbatim conventions).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from .conventions import Lexicon, normalize, parse_transcript
from .errors import FormatError, InputError
from .fileio import decode_text, read_bytes
from .model import Disfluency, Word, seconds

__all__ = [
    "Counts", "GoldUtterance", "FileScore", "LABELS", "GROUP", "read_gold", "read_word_table",
    "gold_labels", "predicted_labels", "score_utterance", "score_files", "total", "SPLITS",
    "split_files",
]

GROUP = "FP+DM+ET"
#: Recall-only labels of word tables: reparandum words of gold repetitions, revisions
#: (substitutions) and restarts (deletions); a word is found when it is tagged RM.
BY_TYPE = ("RM:REP", "RM:REV", "RM:FS")
#: Labels in report order.
LABELS = ("FP", "DM", "ET", GROUP, "PW", "RM", *BY_TYPE)
_LEXICAL = frozenset({"FP", "DM", "ET"})
#: Pause (seconds) that ends an utterance in a word table.
UTTERANCE_PAUSE = 1.0


@dataclass(frozen=True, slots=True)
class Counts:
    """True positives, false positives and false negatives of one label (additive)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        total = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / total if total else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass(frozen=True)
class GoldUtterance:
    """Gold words of one utterance with the labels of each word.

    ``labels[i]`` is a subset of :data:`LABELS`; ``scored`` the labels this gold can tell
    (a word table cannot tell FP from DM from ET). ``where`` names file and line.
    """

    words: tuple[Word, ...]
    labels: tuple[frozenset[str], ...]
    scored: frozenset[str]
    where: str


@dataclass(frozen=True)
class FileScore:
    """Counts per label of one gold file, with its word and utterance totals."""

    path: str
    counts: Mapping[str, Counts]
    words: int
    utterances: int
    problems: tuple[str, ...] = ()


def total(scores: Iterable[FileScore]) -> dict[str, Counts]:
    """Counts summed over files, per label (labels no file scored are left out)."""
    out: dict[str, Counts] = {}
    for score in scores:
        for label, counts in score.counts.items():
            out[label] = out.get(label, Counts()) + counts
    return out


# --- labels from disfluencies ----------------------------------------------------------------

def predicted_labels(count: int, disfluencies: Iterable[Disfluency]) -> list[set[str]]:
    """Per-word labels out of FP DM ET PW RM, plus the FP+DM+ET group."""
    out: list[set[str]] = [set() for _ in range(count)]
    for dis in disfluencies:
        if dis.reparandum is not None:
            for i in dis.reparandum:
                out[i].add("RM")
        else:
            for i in dis.words:
                out[i].add(dis.type.value)
    for labels in out:
        if labels & _LEXICAL:
            labels.add(GROUP)
    return out


def gold_labels(words: Sequence[Word], disfluencies: Iterable[Disfluency]) -> tuple[frozenset[str], ...]:
    """Gold labels per word from parsed markup (PW also from the word's form, RM:REP/RM:REV/
    RM:FS from the type of the repair a reparandum word belongs to)."""
    disfluencies = tuple(disfluencies)
    labels = predicted_labels(len(words), disfluencies)
    for dis in disfluencies:
        if dis.reparandum is not None:
            for i in dis.reparandum:
                labels[i].add(f"RM:{dis.type.value}")
    for i, word in enumerate(words):
        if _is_partial(normalize(word.text)):
            labels[i].add("PW")
    return tuple(frozenset(s) for s in labels)


def _is_partial(form: str) -> bool:
    return len(form) > 1 and (form.endswith("-") or form.startswith("-"))


def score_utterance(gold: GoldUtterance, predicted: Sequence[Iterable[str]]) -> dict[str, Counts]:
    """Counts per scored label of one utterance; ``predicted[i]`` are the labels of word i."""
    if len(predicted) != len(gold.words):
        raise InputError(f"{len(predicted)} predicted words for {len(gold.words)} gold words",
                         where=gold.where)
    counts = {label: [0, 0, 0] for label in LABELS if label in gold.scored}
    for want, have in zip(gold.labels, predicted):
        have = set(have)
        if have & _LEXICAL:
            have.add(GROUP)
        if "RM" in have:
            have.update(BY_TYPE)
        for label, c in counts.items():
            if label in want:
                c[0 if label in have else 2] += 1
            elif label in have and label not in BY_TYPE:
                c[1] += 1
    return {label: Counts(*c) for label, c in counts.items()}


# --- gold files ------------------------------------------------------------------------------

_TSV_HEADER = ("start", "end", "speaker", "word", "simple")
_UNCERTAIN = "$unc$"


def read_word_table(path: str | Path, *, by_speaker: bool = False) -> Iterator[GoldUtterance]:
    """Utterances of a Switchboard word table (the development set's ``*.words.tsv``).

    Columns ``start end speaker word simple [gold_disfluency_tags]``; ``simple`` is F, E,
    E+I, RM, RP or RM+RP. ``$unc$`` prefixes are stripped (the word is marked uncertain); a
    word of zero length keeps no times. An utterance ends where the speaker changes or pauses
    more than :data:`UTTERANCE_PAUSE` seconds; with ``by_speaker`` each speaker's words are
    cut at their own pauses only, so the other side's backchannels do not split them.

    Raises:
        FormatError: a row that cannot be read, naming file and line.
    """
    path = Path(path)
    rows: list[tuple[int, str, float, float, Word, frozenset[str]]] = []
    text = decode_text(read_bytes(path, error=InputError), str(path), encodings=("utf-8",))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:5]) != _TSV_HEADER:
        raise FormatError(f"not a word table: the header must start with {' '.join(_TSV_HEADER)}",
                          where=f"{path}: line 1")
    for number, row in enumerate(reader, 2):
        if any(cell.strip() for cell in row):
            rows.append((number, *_table_row(row, f"{path}: line {number}"), row[5:6]))
    rows = _with_repair_types(rows)
    streams = [[r for r in rows if r[1] == sp] for sp in sorted({r[1] for r in rows})] if by_speaker else [rows]
    utterances: list[list] = []
    for stream in streams:
        current: list = []
        for row in stream:
            if current and (row[1] != current[-1][1] or row[2] - current[-1][3] > UTTERANCE_PAUSE):
                utterances.append(current)
                current = []
            current.append(row)
        if current:
            utterances.append(current)
    utterances.sort(key=lambda u: u[0][0])
    for items in utterances:
        yield GoldUtterance(tuple(r[4] for r in items), tuple(r[5] for r in items), _TABLE_SCORED,
                            f"{path}: line {items[0][0]}")


_TAG = re.compile(r'<(rms|rm|rpnrep|rpnsub|rpndel) id="?(\w+)"?\s*/>')
_REPAIR_TYPES = {"rpnrep": "RM:REP", "rpnsub": "RM:REV", "rpndel": "RM:FS"}


def _with_repair_types(rows: list[tuple]) -> list[tuple]:
    """Rows with RM:REP/RM:REV/RM:FS added to reparandum words, from the original tags column
    (``<rms id=N/>``/``<rm id=N/>`` mark reparandum N, ``<rpnrep|rpnsub|rpndel id=N/>`` its type;
    ids are per speaker). Tables without that column are left as they are."""
    types: dict[tuple[str, str], str] = {}
    for row in rows:
        for name, ident in _TAG.findall(row[6][0] if row[6] else ""):
            if name in _REPAIR_TYPES:
                types[(row[1], ident)] = _REPAIR_TYPES[name]
    out = []
    for number, speaker, start, end, word, labels, tags in rows:
        if "RM" in labels and tags:
            extra = {types[(speaker, i)] for n, i in _TAG.findall(tags[0])
                     if n in ("rms", "rm") and (speaker, i) in types}
            labels = labels | extra
        out.append((number, speaker, start, end, word, labels))
    return out


def _table_row(row: list[str], where: str) -> tuple[str, float, float, Word, frozenset[str]]:
    if len(row) < 5:
        raise FormatError(f"{len(row)} columns, expected at least 5", where=where)
    text = row[3].replace(_UNCERTAIN, "").strip()
    if not text or any(ch.isspace() for ch in text):
        raise FormatError(f"word {row[3]!r} is empty or has spaces", where=where)
    try:
        start, end = seconds(row[0], "start"), seconds(row[1], "end")
    except InputError as err:
        raise FormatError(err.problem, where=where) from None
    uncertain = _UNCERTAIN in row[3]
    # zero-length words occur in the alignments: keep the word, without times
    word = Word(text, start, end, uncertain=uncertain) if start < end else Word(text, uncertain=uncertain)
    labels = _TABLE_TAGS.get(row[4].strip())
    if labels is None:
        raise FormatError(f"simple tag {row[4]!r} is not one of {' '.join(_TABLE_TAGS)}", where=where)
    if _is_partial(normalize(text)):
        labels = labels | {"PW"}
    return row[2].strip(), start, max(start, end), word, labels


_TABLE_TAGS = {
    "F": frozenset(), "RP": frozenset(),
    "E": frozenset({GROUP}), "E+I": frozenset({GROUP}),
    "RM": frozenset({"RM"}), "RM+RP": frozenset({"RM"}),
}
_TABLE_SCORED = frozenset({GROUP, "PW", "RM", *BY_TYPE})


# "A.1 utt1: ", "B.22 utt3: " (Treebank .dps) or "A: " speaker prefixes of markup lines.
_LINE_PREFIX = re.compile(r"^\s*(?:[A-Z]\.\d+\s+utt\d+:|[A-Z]:)\s*")
_MARKUP_SCORED = frozenset(LABELS)


def read_markup(path: str | Path, *, lexicon: Lexicon | None = None,
                problems: list[str] | None = None) -> Iterator[GoldUtterance]:
    """Utterances of a text file in Switchboard markup, one per line (or verbatim conventions).

    Lines that do not parse are reported into ``problems`` (``"file: line N: …"``) and skipped;
    blank lines are skipped. Without ``problems`` the first bad line raises.
    """
    path = Path(path)
    text = decode_text(read_bytes(path, error=InputError), str(path), encodings=("utf-8",))
    for number, line in enumerate(text.splitlines(), 1):
        line = _LINE_PREFIX.sub("", line)
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            words, spans = parse_transcript(line, markup="auto", lexicon=lexicon)
        except InputError as err:
            if problems is None:
                raise err.at(where) from None
            problems.append(err.at(where).message)
            continue
        if words:
            yield GoldUtterance(words, gold_labels(words, spans), _MARKUP_SCORED, where)


def read_chat_gold(path: str | Path, *, lexicon: Lexicon | None = None) -> Iterator[GoldUtterance]:
    """Utterances of a CHAT file as gold (FP from ``&-uh``, RM from retrace codes)."""
    from .markup_chat import read_chat

    for utterance in read_chat(path, lexicon=lexicon):
        if utterance.words:
            yield GoldUtterance(utterance.words, gold_labels(utterance.words, utterance.disfluencies),
                                _MARKUP_SCORED, f"{path}: line {utterance.line}")


def read_gold(path: str | Path, *, lexicon: Lexicon | None = None,
              problems: list[str] | None = None, by_speaker: bool = True) -> Iterator[GoldUtterance]:
    """Gold utterances of one file, by its kind: ``.tsv`` word table (cut as ``by_speaker``
    says, see :func:`read_word_table`), ``.cha`` CHAT, else markup lines."""
    path = Path(path)
    if path.suffix.lower() == ".tsv":
        return read_word_table(path, by_speaker=by_speaker)
    if path.suffix.lower() == ".cha":
        return read_chat_gold(path, lexicon=lexicon)
    return read_markup(path, lexicon=lexicon, problems=problems)


Tagger = Callable[[Sequence[Word]], Sequence[Iterable[str]]]


def score_files(paths: Iterable[str | Path], tagger: Tagger, *, lexicon: Lexicon | None = None,
                by_speaker: bool = True) -> list[FileScore]:
    """Score ``tagger`` (words -> labels per word) on each gold file; counts per file.

    Markup lines that do not parse are skipped and listed in the file's ``problems``.
    """
    scores = []
    for path in paths:
        problems: list[str] = []
        counts: dict[str, Counts] = {}
        words = utterances = 0
        for gold in read_gold(path, lexicon=lexicon, problems=problems, by_speaker=by_speaker):
            for label, c in score_utterance(gold, tagger(gold.words)).items():
                counts[label] = counts.get(label, Counts()) + c
            words += len(gold.words)
            utterances += 1
        scores.append(FileScore(str(path), counts, words, utterances, tuple(problems)))
    return scores


# --- the development set's fixed split ---------------------------------------------------------

SPLITS = ("tune", "test", "all")
#: Conversations of the development set, sorted by id: the first TUNE_COUNT are for tuning,
#: the rest are held out for reporting.
TUNE_COUNT = 34


def split_files(directory: str | Path, split: str) -> list[Path]:
    """The word tables of ``directory`` in ``split``: ``tune`` (the first 34 by sorted name),
    ``test`` (the rest) or ``all``.

    Raises:
        InputError: no word tables in the directory, or an unknown split.
    """
    if split not in SPLITS:
        raise InputError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    files = sorted(Path(directory).glob("*.words.tsv"))
    if not files:
        raise InputError("no *.words.tsv word tables in the directory", where=str(directory))
    if split == "tune":
        return files[:TUNE_COUNT]
    if split == "test":
        return files[TUNE_COUNT:]
    return files
