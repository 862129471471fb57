"""Input files as UTF-8 text, with a plain reason when a file cannot be read as such."""

from __future__ import annotations

import codecs
from pathlib import Path

SAVE_AS_UTF8 = "(in Excel: save as 'CSV UTF-8 (Comma delimited)')"


class NotText(Exception):
    """A file cannot be read as UTF-8 text: `rule` says why, `line` where (when known)."""

    def __init__(self, rule: str, line: int | None = None, encoding: bool = False) -> None:
        super().__init__(rule)
        self.rule, self.line, self.encoding = rule, line, encoding


def read_utf8(path: Path, remedy: str) -> str:
    """A whole file as UTF-8 text (BOM allowed); refuses empty, UTF-16, binary and other encodings."""
    try:
        data = Path(path).read_bytes()
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
