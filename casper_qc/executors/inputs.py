"""The recordings a batch step works on, expanded lazily from what the user named.

A batch command (``casper-qc prelabel``, and any per-recording step) takes a list of *specs*:

* a path to an audio file (read as given; a missing file is that input's error, later);
* a glob pattern (``'corpus/**/*.wav'``, quoted so that the shell leaves it alone), expanded here
  in the driver, when no file of that literal name exists; a pattern matching nothing is an error
  of that spec;
* a Lhotse recordings manifest (``*.jsonl`` or ``*.jsonl.gz``): one recording per line. A
  recording with one source is that file (all its channels); a recording with one mono source per
  channel (``"channels": [0]``, ``[1]``…) is that list of files read as channels 0, 1…. Its
  outputs are named after the recording ``id``. Source paths are used as written (Lhotse reads
  relative paths from the current directory too); ``"url"`` sources are refused;
* and pairs of mono files (``--pair LEFT RIGHT``), read as channels 0 and 1.

:func:`expand` yields one :class:`Recording` per input, or an :class:`~casper_qc.errors.InputError`
for an input that cannot be one (a bad manifest line, an unmatched pattern, an output name used
twice): the caller reports it and goes on. It holds no list of the inputs: manifests are read
line by line and globs expanded lazily, so memory does not grow with their length (bar the set
of output names, kept to catch two inputs that would overwrite each other's outputs).
:func:`count` walks the same specs without keeping anything, for a progress bar's total.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import InputError

__all__ = ["Recording", "expand", "count", "is_manifest", "stem_of"]

MANIFEST_SUFFIXES = (".jsonl", ".jsonl.gz")


@dataclass(frozen=True)
class Recording:
    """One input of a batch step: ``paths`` (one file, or one mono file per channel) as given,
    and ``stem``, the name of its outputs (``<stem>.jsonl``…) and its conversation id;
    ``origin`` says where a manifest named it (``"recordings.jsonl: line 5"``)."""

    stem: str
    paths: tuple[str, ...]
    origin: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return "+".join(self.paths)


def stem_of(paths: Sequence[str]) -> str:
    """Output stem of files given by path: the file's stem, or the common prefix of a pair's
    stems (``sess_left``, ``sess_right`` -> ``sess``), or the stems joined by ``+``."""
    stems = [Path(p).stem for p in paths]
    if len(stems) == 1:
        return stems[0]
    prefix = os.path.commonprefix(stems).rstrip("-_. ")
    return prefix or "+".join(stems)


def is_manifest(spec: str) -> bool:
    """True for a Lhotse recordings manifest (``.jsonl`` or ``.jsonl.gz``)."""
    return spec.endswith(MANIFEST_SUFFIXES)


def _is_pattern(spec: str) -> bool:
    return glob.has_magic(spec) and not os.path.lexists(spec)


def expand(specs: Sequence[str],
           pairs: Sequence[Sequence[str]] = ()) -> Iterator[Recording | InputError]:
    """Every input of ``specs`` then ``pairs``, in order (a glob's matches in directory order).

    Yields an :class:`InputError` (one line naming the spec, the manifest line or the input) in
    place of an input that cannot be a recording; never raises for one.
    """
    seen: dict[str, str] = {}
    for item in _raw(specs, pairs):
        if isinstance(item, InputError):
            yield item
            continue
        first = seen.setdefault(item.stem, str(item))
        if first != str(item):
            yield InputError(f"would write the same outputs '{item.stem}.*' as {first}",
                             where=item.origin or str(item))
            continue
        yield item


def count(specs: Sequence[str], pairs: Sequence[Sequence[str]] = ()) -> int:
    """How many items :func:`expand` yields (errors included), keeping nothing in memory."""
    total = len(pairs)
    for spec in specs:
        if is_manifest(spec):
            total += sum(1 for _ in _manifest(spec))
        elif _is_pattern(spec):
            total += max(1, sum(1 for _ in glob.iglob(spec, recursive=True)))
        else:
            total += 1
    return total


def _raw(specs: Sequence[str], pairs: Sequence[Sequence[str]]) -> Iterator[Recording | InputError]:
    for spec in specs:
        if is_manifest(spec):
            yield from _manifest(spec)
        elif _is_pattern(spec):
            matched = False
            for path in glob.iglob(spec, recursive=True):
                matched = True
                yield Recording(stem_of([path]), (path,))
            if not matched:
                yield InputError("no file matches this pattern", where=spec)
        else:
            yield Recording(stem_of([spec]), (spec,))
    for pair in pairs:
        yield Recording(stem_of(pair), tuple(pair))


def _manifest(path: str) -> Iterator[Recording | InputError]:
    """One item per non-blank line of a recordings manifest; a file that cannot be read at all
    (or whose gzip or UTF-8 breaks part-way) yields one error and ends."""
    try:
        handle = gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else \
            open(path, encoding="utf-8")
    except OSError as err:
        yield InputError(f"cannot read: {err.strerror or err}", where=path)
        return
    number = 0
    try:
        with handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield _recording(line, f"{path}: line {number}")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        cause = "not UTF-8 text" if isinstance(err, UnicodeDecodeError) else f"cannot read: {err}"
        yield InputError(cause, where=f"{path}: line {number + 1}")


def _recording(line: str, where: str) -> Recording | InputError:
    from ..formats.jsonl import validate_recording

    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return InputError(f"not JSON ({err.msg} at column {err.colno})", where=where)
    if not isinstance(record, dict):
        return InputError(f"a JSON {type(record).__name__}, not an object", where=where)
    try:
        sources = record.get("sources")
        if isinstance(sources, list) and len(sources) > 1:
            paths = _mono_sources(sources)
            merged = {"type": "file", "channels": list(range(len(paths))), "source": paths[0]}
            validate_recording({**record, "sources": [merged]})
        else:
            validate_recording(record)
            source = record["sources"][0]
            if source["type"] != "file":
                raise InputError(f"its source is a URL ({source['source']}); give a file path "
                                 "every worker can read")
            paths = (source["source"],)
        stem = record["id"]
        if "/" in stem or "\0" in stem or stem in (".", ".."):
            raise InputError(f"recording id {stem!r} cannot name output files")
    except InputError as err:
        return InputError(err.problem, where=f"{where}: {err.where}" if err.where else where)
    return Recording(stem, paths, origin=where)


def _mono_sources(sources: list[Any]) -> tuple[str, ...]:
    """The files of a recording with one mono file per channel, in channel order."""
    by_channel: dict[int, str] = {}
    for index, source in enumerate(sources):
        if not (isinstance(source, dict) and source.get("type") == "file"
                and isinstance(source.get("source"), str)
                and isinstance(source.get("channels"), list) and len(source["channels"]) == 1
                and isinstance(source["channels"][0], int)):
            raise InputError(f"source {index + 1}: a recording with several sources needs one "
                             "mono file per channel: "
                             '{"type": "file", "channels": [N], "source": path}')
        by_channel[source["channels"][0]] = source["source"]
    if sorted(by_channel) != list(range(len(sources))):
        raise InputError(f"its sources' channels {sorted(by_channel)} must be "
                         f"0..{len(sources) - 1}, each once")
    return tuple(by_channel[c] for c in range(len(sources)))
