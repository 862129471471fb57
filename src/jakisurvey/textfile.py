"""Input files as UTF-8 text, with a plain reason when a file cannot be read as such."""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

SAVE_AS_UTF8 = "(in Excel: save as 'CSV UTF-8 (Comma delimited)')"
# The csv module stops at cells over 128 KiB by default; a valid export may hold longer
# free text. 2**31 - 1 is the largest limit every platform's C long accepts.
MAX_CELL = 2**31 - 1


# The files a run read once (inputs.Snapshot), by real path: while set, every input is read from
# here, so that what is checked is exactly what was hashed, whatever happens to the files.
_snapshot: ContextVar[dict[str, bytes] | None] = ContextVar("snapshot", default=None)


@contextmanager
def reading(files: dict[str, bytes]) -> Iterator[None]:
    """Read input files from these bytes (by real path) instead of the disk, within the block."""
    token = _snapshot.set(files)
    try:
        yield
    finally:
        _snapshot.reset(token)


def file_bytes(path: Path | str) -> bytes:
    """An input file's bytes: from the run's snapshot when it holds the file, else from disk."""
    held = _snapshot.get()
    if held is not None and os.path.realpath(path) in held:
        return held[os.path.realpath(path)]
    return Path(path).read_bytes()


class NotText(Exception):
    """A file cannot be read as UTF-8 text: `rule` says why, `line` where (when known)."""

    def __init__(self, rule: str, line: int | None = None, encoding: bool = False) -> None:
        super().__init__(rule)
        self.rule, self.line, self.encoding = rule, line, encoding


def read_utf8(path: Path, remedy: str) -> str:
    """A whole file as UTF-8 text (BOM allowed); refuses empty, UTF-16, binary and other encodings."""
    try:
        data = file_bytes(path)
    except OSError as error:
        raise NotText(f"cannot be read ({error.strerror})") from None
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        raise NotText(f"the file is empty; {remedy}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotText(f"the file is UTF-16 text (Excel's 'Unicode Text'), not UTF-8; save it as "
                      f"UTF-8 CSV {SAVE_AS_UTF8}")
    if b"\x00" in data[:65536]:
        raise NotText(f"this is a binary file, not CSV text (an Excel workbook?); {remedy}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NotText(f"the file is not UTF-8 (Latin-1/Windows-encoded?); save it again as UTF-8 "
                      f"{SAVE_AS_UTF8}", line, encoding=True) from None


def allow_long_cells() -> None:
    """Let the csv module read cells of any length (its default stops at 128 KiB)."""
    if csv.field_size_limit() < MAX_CELL:
        csv.field_size_limit(MAX_CELL)


def csv_reader(text: str, **options: Any) -> Any:
    """A csv.reader over text (with its line_num) that reads cells of any length."""
    allow_long_cells()
    return csv.reader(io.StringIO(text, newline=""), **options)
