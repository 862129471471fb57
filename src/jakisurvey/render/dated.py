"""The report's date in what is rendered, never the clock: the same report notebook gives the
same bytes.

The report notebook carries its date (assemble.dated): a Typst ``set document(date: ...)``
cell, which dates the PDF whichever renderer (and Typst build) makes it, and its metadata
``jakisurvey.date``, from which Word files, whoever wrote them, get the dates of their core
properties and of their archive's entries.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import nbformat

ZIP_START = dt.datetime(1980, 1, 1)   # the earliest time a zip entry can carry
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:)")


def notebook_date(nb: nbformat.NotebookNode) -> str | None:
    """The date a report notebook carries (YYYY-MM-DD), if any."""
    return nb.metadata.get("jakisurvey", {}).get("date")


def dated_docx(path: Path, day: str | None) -> None:
    """Give a Word file the report's date (its first second, UTC): its core properties' created
    and modified dates and its archive entries' times (nothing to do without a day)."""
    if day is None or not path.is_file():
        return
    moment = dt.datetime.fromisoformat(day)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(lambda m: m[1] + stamp + m[2], data)
            info.date_time = max(moment, ZIP_START).timetuple()[:6]
            archive.writestr(info, data)
