"""How long reading and checking a large export takes, and what the branching logic adds.

Run with `.venv/bin/python benchmarks/loading.py` (a minute or so). On a synthetic export of
`--n` respondents (100,000 by default) it times, in this process, the pre-flight every run makes
(`inputs.check_inputs`: read, check, type the records, apply the branching logic, rankings,
countries):

  g  the export in the bundled layout (data/data_dictionary.csv)
  h  the same answers as the REDCap fixture project writes them (tests/fixtures/redcap/:
     ranking matrices, letter codes, branching in five forms, eight more fields)

and, within g, the time the branching logic takes. It prints medians and the ratios. Targets:
branching / g <= 0.05 (a 100,000-row export must not slow down measurably for it), h/g <= 1.5.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
FIXTURES = ROOT / "tests" / "fixtures"
TARGETS = {"branching/g": 0.05, "h/g": 1.5}


def fixture_writer():
    """The fixture project's generator (it converts records to the other project's layout)."""
    spec = importlib.util.spec_from_file_location("make_redcap",
                                                  FIXTURES / "make_redcap_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exports(folder: Path, n: int) -> tuple[Path, Path]:
    """n synthetic respondents in the bundled layout and in the fixture project's layout."""
    from jakisurvey.codebook import Codebook
    from jakisurvey.synth import generate, load_targets, write_csv

    bundled = folder / "bundled.csv"
    write_csv(generate(Codebook.from_csv(DATA / "data_dictionary.csv"),
                       load_targets(DATA / "synthetic" / "targets.yml"), n, 1), bundled)
    make = fixture_writer()
    _, fields = make.dictionary()
    with bundled.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header, _ = make.records(fields)
    other = folder / "redcap.csv"
    with other.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(make.record(row, i) for i, row in enumerate(rows))
    return bundled, other


def study(folder: Path, n: int) -> Path:
    """The bundled study file, inviting enough providers, its country files found from anywhere."""
    text = (DATA / "study.yml").read_text(encoding="utf-8")
    text = text.replace("n_invited: 1272", f"n_invited: {5 * n}")
    text = text.replace("country_aliases: country_aliases.csv",
                        f"country_aliases: {DATA / 'country_aliases.csv'}")
    text = text.replace("regions: regions.csv", f"regions: {DATA / 'regions.csv'}")
    path = folder / "study.yml"
    path.write_text(text, encoding="utf-8")
    return path


def timed_check(records: Path, dictionary: Path, study_file: Path) -> tuple[float, float]:
    """Seconds of the whole pre-flight, and of the branching logic within it."""
    from jakisurvey import survey
    from jakisurvey.inputs import Inputs, check_inputs

    spent = []
    apply = survey.apply_branching

    def timed(*args, **kwargs):
        start = time.perf_counter()
        apply(*args, **kwargs)
        spent.append(time.perf_counter() - start)

    survey.apply_branching = timed
    try:
        start = time.perf_counter()
        check_inputs(Inputs(records, dictionary, study_file))
        return time.perf_counter() - start, sum(spent)
    finally:
        survey.apply_branching = apply


def main() -> None:
    """Time both layouts and print the ratios."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--n", type=int, default=100_000)
    options.add_argument("--repeats", type=int, default=3)
    args = options.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory(prefix="jakisurvey-loading-") as name:
        folder = Path(name)
        bundled, other = exports(folder, args.n)
        settings = study(folder, args.n)
        g, h, branching = [], [], []
        for _ in range(args.repeats):
            seconds, logic = timed_check(bundled, DATA / "data_dictionary.csv", settings)
            g.append(seconds)
            branching.append(logic)
            h.append(timed_check(other, FIXTURES / "redcap" / "data_dictionary.csv",
                                 settings)[0])
    median = {"g": statistics.median(g), "h": statistics.median(h),
              "branching": statistics.median(branching)}
    print(f"{args.n:,} respondents, medians of {args.repeats}: g {median['g']:.2f} s, "
          f"h {median['h']:.2f} s, branching within g {median['branching']:.3f} s")
    for name, ratio in {"branching/g": median["branching"] / median["g"],
                        "h/g": median["h"] / median["g"]}.items():
        verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
        print(f"  {name} = {ratio:.3f}  (target <= {TARGETS[name]}: {verdict})")


if __name__ == "__main__":
    main()
