"""Speed of the analysis steps on a large synthetic export, as ratios to reading the CSV with pandas.

Run with `make benchmark`. Targets (checked by eye, not by tests): loading and checking an
export costs under 10x a bare pandas.read_csv of it, and the whole analysis (results.json)
under 20x, so a 20,000-record export is analysed in seconds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from jakisurvey import pipeline
from jakisurvey.codebook import Codebook
from jakisurvey.countries import CountryResolver
from jakisurvey.load import read_export
from jakisurvey.results import compute_results
from jakisurvey.study import load_study
from jakisurvey.survey import prepare
from jakisurvey.synth import write_synthetic

N = 20_000
TARGETS = {"load and check": 10, "load, check and analyse": 20}


def best_of(repeats: int, work) -> float:
    """The fastest of several timings of a call, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Time each step and print its ratio to the pandas baseline."""
    codebook = Codebook.from_csv(pipeline.DEFAULT_DICTIONARY)
    study = load_study(pipeline.DEFAULT_STUDY)
    resolver = CountryResolver.from_files(study.country_aliases, study.regions)
    with tempfile.TemporaryDirectory() as folder:
        records = Path(folder) / "records.csv"
        write_synthetic(N, 1, records, pipeline.DEFAULT_DICTIONARY,
                        pipeline.PROJECT / "data" / "synthetic" / "targets.yml")

        def load() -> None:
            raw, problems = read_export(records, codebook)
            prepare(raw, codebook, resolver, records.name, problems)

        def analyse() -> None:
            raw, problems = read_export(records, codebook)
            survey = prepare(raw, codebook, resolver, records.name, problems)
            compute_results(survey, study, {})

        baseline = best_of(3, lambda: pd.read_csv(records, dtype=str, keep_default_na=False))
        print(f"{N} respondents; pandas.read_csv baseline {baseline * 1000:.0f} ms")
        for name, work in {"load and check": load, "load, check and analyse": analyse}.items():
            seconds = best_of(3, work)
            ratio = seconds / baseline
            verdict = "ok" if ratio <= TARGETS[name] else "SLOWER THAN TARGET"
            print(f"{name:<26} {seconds * 1000:7.0f} ms  {ratio:5.1f}x baseline "
                  f"(target <= {TARGETS[name]}x: {verdict})")


if __name__ == "__main__":
    main()
