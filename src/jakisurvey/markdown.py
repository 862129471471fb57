"""Text from input files as literal Markdown, for every place it lands (tables, prose, captions).

pandoc (and Quarto, which reads Markdown with pandoc) turns many characters into markup inside
a line: emphasis, code, links, raw HTML and entities, attributes and shortcodes, tables, maths,
citations, sub/superscript, and typographic ("smart") quotes, dashes and dots. Escaping them
with a backslash keeps the text exactly as typed; Jupyter's Markdown reads the same escapes.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|$@~^&#\"']|-(?=-)|\.(?=\.))")


def escape(text: object) -> str:
    """Input text as literal Markdown on one line (runs of whitespace become one space)."""
    return _SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))
