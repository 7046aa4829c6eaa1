"""Whisper JSON drafts: openai-whisper, faster-whisper and WhisperX output with word times.

Accepted shapes (all UTF-8 JSON):

* openai-whisper ``--output_format json --word_timestamps True``:
  ``{"text": …, "segments": [{"start", "end", "text", "words": [{"word": " Hello,",
  "start": 0.5, "end": 0.9, "probability": 0.97}, …]}, …], "language": "en"}``;
* faster-whisper segments dumped as a JSON list: ``[{"start", "end", "text", "words": […]}, …]``;
* WhisperX: ``{"segments": [{"start", "end", "text", "words": [{"word", "start", "end",
  "score", "speaker"?}]}], "word_segments": […]}``. WhisperX leaves ``start``/``end`` out for
  words its aligner cannot place (numbers, symbols).

Reading (:func:`parse_whisper`): words come from ``segments[].words``; when no segment has
words, from WhisperX's top-level ``word_segments``; a segment without words (transcribed without
word timestamps) has its ``text`` spread over the segment, ``estimated``. Word text is read with
the verbatim conventions (:func:`casper_qc.formats.draftwords.timed_words`: Whisper's leading
space and attached punctuation go; ``"uh,"`` is a filler). A word without times gets a share of
the gap between its timed neighbours, bounded by its segment (``estimated``). Probabilities and
scores, and diarization ``speaker`` labels, are not kept.

Errors: :class:`~casper_qc.errors.FormatError` naming the source and the JSON path
(``whisper.json: segments[2].words[5]: start 'x' is not a number of seconds``) or, for text that
is not JSON, the line and column.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import FormatError
from ..model import Word
from .draftwords import fill_untimed, spread_words, timed_words, token_words

__all__ = ["parse_whisper"]


def _fail(problem: str, source: str, where: str) -> FormatError:
    return FormatError(problem, where=f"{source}: {where}" if where else source)


def _seconds(value: Any, what: str, source: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise _fail(f"{what} {value!r} is not a number of seconds", source, where)
    return float(value)


def _times(item: dict, source: str, where: str,
           required: bool) -> tuple[float | None, float | None]:
    start, end = item.get("start"), item.get("end")
    if start is None and end is None and not required:
        return None, None
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise _fail(f"has no {missing!r} time", source, where)
    start_s = _seconds(start, "start", source, where)
    end_s = _seconds(end, "end", source, where)
    if end_s < start_s:
        raise _fail(f"end {end_s:g} s is before start {start_s:g} s", source, where)
    return start_s, end_s


def _text(item: dict, key: str, source: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _fail(f"has no {key!r} text", source, where)
    return value


def _word_list(items: Any, lo: float | None, hi: float | None, source: str, where: str,
               lexicon) -> list[Word]:
    if not isinstance(items, list):
        raise _fail("must be a list of words", source, where)
    words: list[Word] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise _fail("must be a JSON object with 'word', 'start' and 'end'", source, at)
        token = _text(item, "word", source, at)
        start, end = _times(item, source, at, required=False)
        if start is None:
            words.extend(token_words(token, lexicon=lexicon))
        else:
            words.extend(timed_words(token, start, end, lexicon=lexicon))
    return list(fill_untimed(words, lo, hi))


def _segment_text_words(text: str, lexicon) -> list[Word]:
    words: list[Word] = []
    for token in text.split():
        words.extend(token_words(token, lexicon=lexicon))
    return words


def parse_whisper(text: str, *, source: str = "whisper.json", lexicon=None) -> tuple[Word, ...]:
    """The words of a Whisper / faster-whisper / WhisperX JSON text, in order.

    Raises:
        FormatError: not JSON, or not one of the shapes above (naming the JSON path).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise _fail(f"not JSON: {err.msg}", source, where) from None
    if isinstance(data, list):
        segments, prefix = data, ""
        word_segments = None
    elif isinstance(data, dict):
        segments, prefix = data.get("segments"), "segments"
        word_segments = data.get("word_segments")
        if segments is None and word_segments is None:
            raise _fail("has no 'segments' list (expected openai-whisper, faster-whisper or "
                        "WhisperX JSON)", source, "")
    else:
        raise _fail("is neither a JSON object with 'segments' nor a list of segments", source, "")
    if segments is not None and not isinstance(segments, list):
        raise _fail("must be a list of segments", source, prefix)
    segments = segments or []
    any_words = any(isinstance(s, dict) and s.get("words") for s in segments)
    if not any_words and word_segments:
        return tuple(_word_list(word_segments, None, None, source, "word_segments", lexicon))
    words: list[Word] = []
    for index, segment in enumerate(segments):
        at = f"{prefix}[{index}]"
        if not isinstance(segment, dict):
            raise _fail("must be a JSON object with 'start', 'end' and 'text'", source, at)
        start, end = _times(segment, source, at, required=True)
        if segment.get("words"):
            words.extend(_word_list(segment["words"], start, end, source, f"{at}.words", lexicon))
        else:
            untimed = _segment_text_words(_text(segment, "text", source, at), lexicon)
            words.extend(spread_words(untimed, start, end))
    return tuple(words)
