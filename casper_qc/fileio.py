"""Writing files so that a failure leaves nothing half-written, and reading them with one-line
errors.

Every output goes to a temporary file in the target's directory and is renamed over the target
only when complete (``os.replace`` is atomic on POSIX within one file system).

Every input file is read whole by :func:`read_bytes` / :func:`read_text` / :func:`read_json`: a
file that cannot be read, or text that does not decode, raises a
:class:`~casper_qc.errors.FormatError` (or the ``error`` class the caller names) whose one-line
message names the file. The problems are worded by the caller where its messages differ
(``missing``, ``directory``, ``cannot``, ``not_utf8``).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from .errors import FormatError, InputError

__all__ = ["atomic_open", "write_text", "write_bytes", "read_bytes", "decode_text", "read_text",
           "read_json"]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = "\n") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit rename it to ``path``.

    ``mode`` is ``"w"`` or ``"wb"``. If the block raises, the temporary file is removed and
    ``path`` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes only, mode 'w' or 'wb', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        if mode == "wb":
            handle: IO = os.fdopen(fd, "wb")
        else:
            handle = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; return the path."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def read_bytes(path: str | os.PathLike[str], *, missing: str | None = None, directory: str | None = None,
               cannot: str = "cannot read", error: type[InputError] = FormatError) -> bytes:
    """The bytes of the file ``path``.

    Raises:
        ``error`` (default FormatError) naming the file: ``missing`` when it does not exist and
        ``directory`` when it is a directory (when given), else ``"<cannot>: <the system's
        reason>"``, e.g. ``cannot read: No such file or directory``.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as err:
        if missing is not None and isinstance(err, FileNotFoundError):
            problem = missing
        elif directory is not None and isinstance(err, IsADirectoryError):
            problem = directory
        else:
            problem = f"{cannot}: {err.strerror or err}"
        raise error(problem, where=os.fspath(path)) from None


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode_text(data: bytes, where: str, *, encodings: Sequence[str] = ("utf-8-sig",),
                not_utf8: str = "not UTF-8 text", error: type[InputError] = FormatError) -> str:
    """``data`` decoded by the first of ``encodings`` that fits.

    ``"utf-16"`` among ``encodings`` stands for text that starts with a UTF-16 byte-order mark:
    such data is decoded as UTF-16 and nothing else. End with ``"latin-1"`` to accept any bytes.

    Raises:
        ``error`` (default FormatError) located at ``where``: ``not valid UTF-16 text``, or
        ``"<not_utf8> (byte N)"`` with the first bad byte for the last encoding tried (a UTF-8 one).
    """
    if "utf-16" in encodings and data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise error("not valid UTF-16 text", where=where) from None
    start = 0
    for encoding in encodings:
        if encoding == "utf-16":
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as err:
            start = err.start
    raise error(f"{not_utf8} (byte {start})", where=where)


def read_text(path: str | os.PathLike[str], *, encodings: Sequence[str] = ("utf-8-sig",),
              missing: str | None = None, directory: str | None = None, cannot: str = "cannot read",
              not_utf8: str = "not UTF-8 text", error: type[InputError] = FormatError) -> str:
    """The text of the file ``path``: :func:`read_bytes`, then :func:`decode_text` (line ends are
    left as they are in the file).

    Raises:
        ``error`` (default FormatError) naming the file, as those two say.
    """
    data = read_bytes(path, missing=missing, directory=directory, cannot=cannot, error=error)
    return decode_text(data, os.fspath(path), encodings=encodings, not_utf8=not_utf8, error=error)


def read_json(path: str | os.PathLike[str], *, missing: str | None = None, directory: str | None = None,
              not_utf8: str = "not UTF-8 text") -> Any:
    """The JSON value of the UTF-8 file ``path`` (a byte-order mark is allowed).

    Raises:
        FormatError naming the file: as :func:`read_text`, or ``is not valid JSON: <why>
        (line L, column C)``.
    """
    text = read_text(path, missing=missing, directory=directory, not_utf8=not_utf8)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
                          where=os.fspath(path)) from None
