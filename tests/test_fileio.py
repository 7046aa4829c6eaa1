"""``casper_qc.fileio``: reading files whole with one-line errors that name the file (the readers
of every format call these; their own tests check each reader's wording)."""

from __future__ import annotations

import pytest

from casper_qc.errors import ConfigError, FormatError
from casper_qc.fileio import decode_text, read_bytes, read_json, read_text


def test_unreadable_files_are_one_line_errors_worded_by_the_caller(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(FormatError) as info:
        read_bytes(missing)
    assert str(info.value) == f"{missing}: cannot read: No such file or directory"
    with pytest.raises(ConfigError, match=r"missing.txt: no such file$"):
        read_bytes(missing, missing="no such file", error=ConfigError)
    with pytest.raises(FormatError, match=r": cannot read lexicon: Is a directory$"):
        read_bytes(tmp_path, cannot="cannot read lexicon")
    with pytest.raises(FormatError, match=r": is a directory, not a text file$"):
        read_text(tmp_path, directory="is a directory, not a text file")


def test_decoding_tries_the_encodings_in_order():
    assert decode_text("\ufeffhé".encode("utf-8"), "x") == "hé"  # the BOM goes
    assert decode_text("hé".encode("latin-1"), "x", encodings=("utf-8-sig", "latin-1")) == "hé"
    assert decode_text("\ufeffhé".encode("utf-16-le"), "x", encodings=("utf-16", "utf-8-sig")) == "hé"
    with pytest.raises(FormatError, match=r"^x: not UTF-8 text \(byte 3\)$"):
        decode_text(b"abc\xff", "x", encodings=("utf-16", "utf-8-sig"))
    with pytest.raises(FormatError, match=r"^x: is not UTF-8 text \(byte 0\)$"):
        decode_text(b"\xff", "x", not_utf8="is not UTF-8 text")
    with pytest.raises(FormatError, match=r"^x: not valid UTF-16 text$"):
        decode_text(b"\xff\xfeh\x00\x00\xd8", "x", encodings=("utf-16", "utf-8-sig", "latin-1"))


def test_line_ends_are_kept_and_json_errors_say_where(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\r\ntwo\r")
    assert read_text(path) == "one\r\ntwo\r"
    path.write_bytes(b'\xef\xbb\xbf[1, {"a": 2}]')
    assert read_json(path) == [1, {"a": 2}]
    path.write_bytes(b"[1,\n 2")
    with pytest.raises(FormatError) as info:
        read_json(path)
    assert str(info.value).startswith(f"{path}: is not valid JSON: ") and str(info.value).endswith("(line 2, column 3)")
