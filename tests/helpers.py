"""Helpers shared by the test files: the project's paths, running the command line, reading
what a report published (visible HTML text, PDF text, every published file) and checking it for
disclosure. Fixtures live in conftest.py."""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from scipy.stats import chi2_contingency

from jakisurvey import disclosure
from jakisurvey.codebook import Codebook
from jakisurvey.privacy import IMPLIED, SMALL, SUPPRESSED, WITHHELD, count_cells


ROOT = Path(__file__).resolve().parents[1]


DATA = ROOT / "data"


DICTIONARY = DATA / "data_dictionary.csv"


RECORDS = DATA / "synthetic" / "records.csv"


STUDY = DATA / "study.yml"


def raw_records(codebook: Codebook, rows: list[dict]) -> pd.DataFrame:
    """A raw export (all cells strings) from a few answers per record; the rest left empty."""
    columns = codebook.columns
    frame = pd.DataFrame([{c: str(row.get(c, "")) for c in columns} for row in rows],
                         columns=columns, dtype="str")
    frame["record_id"] = [str(row.get("record_id", f"R{i}")) for i, row in enumerate(rows, 1)]
    frame.index = pd.Index(range(2, len(rows) + 2), name="row")
    return frame


def write_csv(path: Path, header: list[str], rows: list[list[str]], **kwargs) -> Path:
    """Write a small CSV export for loader tests."""
    with path.open("w", newline="", encoding=kwargs.pop("encoding", "utf-8")) as handle:
        writer = csv.writer(handle, lineterminator="\n", **kwargs)
        writer.writerow(header)
        writer.writerows(rows)
    return path


VENV_BIN = Path(sys.executable).parent

# CI sets this: a missing browser, PDF tool or Quarto is then a failure, never a skip.


REQUIRE_TOOLS = os.environ.get("JAKISURVEY_REQUIRE_TOOLS") == "1"


def tool_path() -> str:
    """PATH with this venv's commands first (the Quarto hooks call `jakisurvey`)."""
    return os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")])


def wanted(tool: str) -> bool:
    """Whether tests that need a tool run here: it is installed, or CI requires it."""
    return REQUIRE_TOOLS or shutil.which(tool, path=tool_path()) is not None


def need(tool: str) -> str:
    """A command's path; skip (or fail, in CI) when it is missing: the one way tests require a
    tool (Quarto, Chromium, poppler-utils)."""
    from outputcheck import require

    found = shutil.which(tool, path=tool_path())
    require(None if found else f"{tool} is not installed", "JAKISURVEY_REQUIRE_TOOLS")
    return found


def jakisurvey(*args: str, cwd: Path = ROOT, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the command line as a user would."""
    return subprocess.run([sys.executable, "-m", "jakisurvey.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PATH": tool_path(), **(env or {})},
                          timeout=timeout)


def project_copy(target: Path) -> Path:
    """A copy of the project's files (as git sees them), as in a fresh clone."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def copied(pandoc_report: Path, tmp_path: Path) -> Path:
    """A copy of the project folder holding the bundled report (its cache included)."""
    subprocess.run(["cp", "-a", str(pandoc_report.parent), str(tmp_path / "project")], check=True)
    return tmp_path / "project" / pandoc_report.name


def wait_for(process: subprocess.Popen, text: str, timeout: float = 120) -> str:
    """Read a process's standard error until a line contains `text`; what it printed so far."""
    end, said = time.time() + timeout, []
    while time.time() < end:
        line = process.stderr.readline()
        said.append(line)
        if text in line:
            return "".join(said)
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never printed {text!r}: {''.join(said)[-2000:]}")


def bundled_inputs(project: Path) -> list[str]:
    """The command-line options naming a project's bundled inputs."""
    data = project / "data"
    return ["--records", str(data / "synthetic" / "records.csv"),
            "--dictionary", str(data / "data_dictionary.csv"), "--study", str(data / "study.yml")]


def digest(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_of(page: str) -> str:
    """Visible text of an HTML page, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def squeezed(text: str) -> str:
    """Text without any whitespace (syntax highlighting splits code at will)."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    """A PDF's text, whitespace collapsed (Typst's hyphens are extracted as soft hyphens)."""
    return extracted(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)


def extracted(path: str, changed: int) -> str:
    """A PDF's text by poppler's pdftotext where installed (fast), else pypdf."""
    tool = shutil.which("pdftotext")
    if tool:
        text = subprocess.run([tool, "-enc", "UTF-8", path, "-"], capture_output=True,
                              text=True, check=True).stdout
    else:
        text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    return " ".join(text.replace("\xad", "-").split())


def published_files(out: Path) -> dict[str, str]:
    """The text of every output file outside private/ (PDF text extracted)."""
    texts = {}
    for path in out.rglob("*"):
        if not path.is_file() or "private" in path.relative_to(out).parts:
            continue
        if path.suffix == ".pdf":
            texts[str(path)] = pdf_text(path)
        elif path.suffix == ".docx":   # the Word XML: text, alt texts, link targets
            with zipfile.ZipFile(path) as archive:
                texts[str(path)] = " ".join(archive.read(name).decode("utf-8")
                                            for name in archive.namelist()
                                            if name.endswith((".xml", ".rels")))
        elif path.suffix != ".png":
            texts[str(path)] = path.read_text(encoding="utf-8")
    return texts


def assert_absent(out: Path, secrets: list[str]) -> None:
    """None of these strings appears as a word in any published output."""
    assert secrets
    blobs = re.compile(r"[A-Za-z0-9+/=\\n]{400,}")  # embedded images: nothing to find in them
    words = "|".join(re.escape(s) for s in sorted(set(secrets), key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{words})(?![\w-])")
    for path, text in published_files(out).items():
        found = pattern.search(blobs.sub(" ", text))
        assert not found, f"{path} contains {found.group(0)!r}"


def private_strings(records: Path) -> list[str]:
    """Record ids, free-text comments and timestamps of an export: none may reach the report."""
    with records.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found = [row["record_id"] for row in rows]
    found += [line.strip() for row in rows for line in row["comments"].splitlines()
              if len(line.strip()) >= 8]
    found += [row["redcap_survey_identifier"] for row in rows if row["redcap_survey_identifier"]]
    return found + [row["jaki_survey_timestamp"] for row in rows if row["jaki_survey_timestamp"]]


class _Visible(HTMLParser):
    """Text a reader sees in the body of a page: no scripts, styles or table of contents."""

    HIDDEN = {"head", "script", "style", "nav", "title", "button"}
    VOID = {"br", "img", "meta", "link", "hr", "input", "col", "source", "wbr"}
    INLINE = {"a", "span", "strong", "em", "code", "b", "i", "sub", "sup", "small", "abbr"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.hidden = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        self.open.append(tag)
        self.hidden += tag in self.HIDDEN
        if tag not in self.INLINE:
            self.text.append(" ")

    def handle_endtag(self, tag):
        while self.open:
            closed = self.open.pop()
            self.hidden -= closed in self.HIDDEN
            if closed == tag:
                break
        if tag not in self.INLINE:
            self.text.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.text.append(data)


def visible_text(html: str) -> str:
    """The visible text of an HTML page, whitespace collapsed (renderer markup ignored)."""
    parser = _Visible()
    parser.feed(html)
    return " ".join("".join(parser.text).split())


def _content_text(page) -> str:
    """A page's text outside artifacts: Typst marks page numbers, table headers it repeats on a
    new page and table-of-contents leaders as artifacts (tagged PDF), so they are left out."""
    artifact: list[bool] = []
    text: list[str] = []

    def operator(op, args, cm, tm):
        if op in (b"BDC", b"BMC"):
            artifact.append(bool(args) and args[0] == "/Artifact")
        elif op == b"EMC" and artifact:
            artifact.pop()

    def shown(piece, cm, tm, font, size):
        if not any(artifact):
            text.append(piece)

    page.extract_text(visitor_operand_before=operator, visitor_text=shown)
    return "".join(text)


def reading_text(path: Path) -> str:
    """The text of a PDF as a reader sees it, without what depends on pagination.

    Artifacts (page numbers, repeated table headers, leaders), the page numbers of the table of
    contents and icon glyphs (private-use characters) are dropped; words hyphenated at a line
    end are joined; whitespace is collapsed.
    """
    lines = "\n".join(_content_text(page) for page in PdfReader(path).pages).splitlines()
    text = "\n".join(re.sub(r"\s{2,}\d+$", "", line) for line in lines)  # "Summary  1"
    text = re.sub("[\ue000-\uf8ff]", "", re.sub("\xad\n", "", text).replace("\xad", "-"))
    return " ".join(text.split())


def assert_same_text(left: str, right: str, what: str) -> None:
    """Equal up to whitespace and hyphens (line breaking differs between renderers)."""
    a, b = (re.sub(r"[\s\-]", "", text) for text in (left, right))
    if a != b:
        block = next(m for m in difflib.SequenceMatcher(None, a, b, autojunk=False)
                     .get_opcodes() if m[0] != "equal")
        _, i1, i2, j1, j2 = block
        pytest.fail(f"{what} differ: pandoc {a[max(0, i1 - 40):i2 + 40]!r}\n"
                    f"                  quarto {b[max(0, j1 - 40):j2 + 40]!r}")


MIN_CELL = 5


def value_at(results: dict, path: str):
    """The published value at a privacy path (list entries by code, measure, key, question)."""
    from jakisurvey.privacy import item_key

    value = results
    for name in path.split("."):
        if isinstance(value, list):
            value = next(v for i, v in enumerate(value) if item_key(v, i) == name)
        else:
            value = value[name]
    return value


def published_hidden(public: dict, exact: dict) -> dict[str, str]:
    """What a reader sees hidden in a published results.json: '<k' small, 'x' complementary,
    and the scores and bounds left out (null) where the exact one exists."""
    hidden = {}
    for key, value in exact.items():
        for path, _ in count_cells(key, value).items():
            shown = value_at(public, path)
            if isinstance(shown, str):
                hidden[path] = SMALL if shown.startswith("<") else SUPPRESSED
    for key in ("barrier_ranking", "indication_ranking"):
        for item in public.get(key, []):
            for name in ("borda", "mean_position"):
                if item.get(name) is None:
                    hidden[f"{key}.{item['code']}.{name}"] = WITHHELD
    for key in ("patients_lower_bound", "patients_upper_bound"):
        if public.get(key) is None and exact.get(key) is not None:
            hidden[key] = WITHHELD
    return hidden


def check_report(out: Path, codebook: Codebook, regions: dict[str, str]) -> list[str]:
    """Every way found to learn a small count from the published files (empty: none)."""
    public = json.loads((out / "results.json").read_text())
    exact = json.loads((out / "private" / "results.json").read_text())
    plan = json.loads((out / "disclosure.json").read_text())["hidden"]
    problems = []
    implied_values = set()
    for key, value in exact.items():      # 1. no small count published, but those implied
        for path in count_cells(key, value):
            n = value_at(public, path)
            if isinstance(n, int) and 0 < n < MIN_CELL:
                if plan.get(path) != IMPLIED:
                    problems.append(f"{path} = {n} published")
                implied_values.add(n)
    model = disclosure.model_of(exact, codebook, regions)   # 2. linear recovery, from what
    hidden = {c: why for c, why in published_hidden(public, exact).items()   # is published
              if c in model.values}
    problems += [f"{c} worked out" for c in disclosure.disclosed(model, hidden, MIN_CELL)]
    for grouping, found in public["subgroups"].items():     # 3. statistics
        for test in found["tests"]:
            cells = [found["measures"][test["measure"]][g] for g in found["groups"]]
            if test["statistic"] is None:
                continue
            if not all(isinstance(c[k], int) for c in cells for k in ("n", "N")):
                problems.append(f"{grouping} {test['measure']}: a statistic over hidden cells")
                continue
            table = [[c["n"], c["N"] - c["n"]] for c in cells if c["N"]]
            assert chi2_contingency(table, correction=False).statistic == \
                pytest.approx(test["statistic"])
    texts = {"report.html": text_of((out / "report.html").read_text(encoding="utf-8")),
             "report.pdf": pdf_text(out / "report.pdf"), "changes.json":
             (out / "changes.json").read_text(), "report.ipynb": (out / "report.ipynb").read_text()}
    for view in (out / "notebooks").glob("*.html"):
        texts[view.name] = text_of(view.read_text(encoding="utf-8"))
    for name, text in texts.items():      # 4. n/N in every published text
        for n, N in re.findall(r"\b(\d+)/(\d+)\)", text):
            for v in (int(n), int(N)):
                if 0 < v < MIN_CELL and v not in implied_values:
                    problems.append(f"{name}: {n}/{N}")
    return sorted(set(problems))


def regions_of(out: Path, resolver) -> dict[str, str]:
    """The region of each country code of a report."""
    exact = json.loads((out / "private" / "results.json").read_text())
    return {c: resolver.region(c) if c != "Unknown" else "Unknown" for c in exact["country_counts"]}
