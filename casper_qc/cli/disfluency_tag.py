"""``casper-qc disfluency tag``: tag disfluencies in plain text, one utterance per line.

The output contract other tools rely on: one JSON object per input line, in order,

    {"words": [...], "tags": [[...], ...], "spans": [...]}

``words`` are the line's whitespace tokens, in order, none dropped or merged (with ``--markup``
they are the words the markup stands for instead). ``tags[i]`` lists the labels of word ``i`` out
of ``FP DM ET PW RM`` (RM: a reparandum word, what a fluent version deletes), ``[]`` for a fluent
word. Each span is ``{"type", "start", "stop", "reparandum", "interregnum", "repair"}`` with
half-open word ranges (``[start, stop]`` pairs, ``null`` for an absent role). A line with a
problem gets one more key, ``"problem"``, and the same message goes to stderr with its line
number: bytes that are not UTF-8 (replaced), markup that does not balance (with ``--markup``
the line's whitespace tokens are tagged instead), or text that looks like markup when none was
asked for (tagged as plain tokens all the same).

Exit status: 0; 1 when a line could not be read as asked (not UTF-8, or markup that does not
parse with ``--markup``), its object still written; 2 for usage errors and unreadable input.
"""

from __future__ import annotations

import argparse

HELP = "tag disfluencies in text, one utterance per line; JSON Lines out"

MARKUP_CHOICES = ("none", "auto", "verbatim", "swbd", "chat")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help="UTF-8 text, one utterance per line (default: standard input)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the JSON Lines here (atomically) instead of standard output")
    parser.add_argument("--markup", choices=MARKUP_CHOICES, default="none",
                        help="none (default): words are the whitespace tokens; otherwise read the "
                             "line's markup (auto, verbatim, swbd, chat) and tag the words it stands for")
    add_lexicon_options(parser)


def add_lexicon_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lexicon", metavar="FILE",
                        help="more fillers, markers and editing terms: lines 'FP uh', 'DM you know', "
                             "'ET i mean' (added to the default lexicon)")
    parser.add_argument("--no-default-lexicon", action="store_true",
                        help="use only the entries of --lexicon")


def load_lexicon(args: argparse.Namespace):
    """The lexicon the options ask for (the default one when none)."""
    from ..conventions import DEFAULT_LEXICON, Lexicon, read_lexicon
    from ..errors import InputError

    if args.no_default_lexicon and not args.lexicon:
        raise InputError("--no-default-lexicon needs --lexicon FILE")
    base = Lexicon() if args.no_default_lexicon else DEFAULT_LEXICON
    return read_lexicon(args.lexicon, base=base) if args.lexicon else base


def read_lines(path: str) -> list[tuple[str, str | None]]:
    """(text, problem) per line of a file or stdin; bytes that are not UTF-8 are replaced and
    reported as the line's problem.

    Raises:
        InputError: the file cannot be opened.
    """
    import sys

    from ..errors import InputError
    from ..fileio import read_bytes

    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        data = read_bytes(path, missing="no such file", directory="is a directory, not a text file",
                          error=InputError)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out: list[tuple[str, str | None]] = []
    for line in raw:
        line = line[:-1] if line.endswith(b"\r") else line
        try:
            out.append((line.decode("utf-8"), None))
        except UnicodeDecodeError as err:
            out.append((line.decode("utf-8", errors="replace"),
                        f"column {err.start + 1}: not UTF-8 text (replaced by U+FFFD)"))
    return out


def tag_line(text: str, markup: str, lexicon) -> tuple[dict, str | None, bool]:
    """The JSON object of one line, the problem found in it (if any), and whether the line
    could not be read as asked (so its words fell back to whitespace tokens)."""
    from ..conventions import detect_markup, parse_transcript, tokenize
    from ..disfluency import word_forms, tag_forms, word_tags
    from ..errors import InputError

    problem, fell_back = None, False
    words: list = text.split()
    if markup == "none":
        # the words are the tokens whatever happens; say when the text meant something else
        if _MARKS.intersection(text):
            kind = detect_markup(text)
            if kind != "verbatim":
                problem = f"looks like {kind} markup; tagged as plain tokens (use --markup {kind})"
            else:
                try:
                    tokenize(text, lexicon=lexicon)
                except InputError as err:
                    problem = f"{err}; tagged as plain tokens"
    else:
        try:
            words = [w.text for w in parse_transcript(text, markup=markup, lexicon=lexicon)[0]]
        except InputError as err:
            problem, fell_back = f"{err}; tagged as plain tokens", True
    spans = tag_forms(word_forms(words), lexicon)
    record = {"words": words, "tags": word_tags(len(words), spans),
              "spans": [span_record(s) for s in spans]}
    return record, problem, fell_back


# Characters without which a line holds no markup worth checking.
_MARKS = frozenset("[]<>{}()&+\x15*")


def span_record(span: tuple) -> dict:
    """The JSON form of a raw span of :func:`casper_qc.disfluency.tag_forms`."""
    kind, start, stop, rm, im, rp = span[:6]
    return {"type": kind.value, "start": start, "stop": stop,
            "reparandum": None if rm is None else list(rm),
            "interregnum": None if im is None else list(im),
            "repair": None if rp is None else list(rp)}


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from ..fileio import atomic_open

    lexicon = load_lexicon(args)
    lines = read_lines(args.file)
    name = "<stdin>" if args.file == "-" else args.file
    failed = 0

    def write(out) -> None:
        nonlocal failed
        for number, (text, undecodable) in enumerate(lines, 1):
            record, found, fell_back = tag_line(text, args.markup, lexicon)
            problem = "; ".join(p for p in (undecodable, found) if p)
            if problem:
                record["problem"] = problem
                print(f"casper-qc: warning: {name}: line {number}: {problem}", file=sys.stderr)
            failed += bool(undecodable) or fell_back
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    if args.output:
        with atomic_open(args.output) as handle:
            write(handle)
    else:
        write(sys.stdout)
        sys.stdout.flush()
    return 1 if failed else 0
