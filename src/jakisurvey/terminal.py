"""Text printed to a terminal: control characters from input files shown, never obeyed.

A claim text, a country answer or a file name can hold escape sequences (colours, cursor
moves, a new window title, a cleared screen) or characters that reorder the line (bidi
controls). Everything the command line prints passes through `printable`, which shows each
such character as its escape (`\\x1b`, `\\u202e`), so a line says what the file holds.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi marks, embeddings, overrides and
# isolates, line and paragraph separators, and lone surrogates (a file name that is not UTF-8).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """Text with every terminal control character replaced by its visible escape."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape",
                                                             "backslashreplace").decode("ascii"),
                        str(text))
