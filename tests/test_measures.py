"""One declaration per measure (measures.py), one cell per value, and validate = run's pre-flight."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from jakisurvey import codebook as cb, measures as m, results, subgroups
from jakisurvey.cli import main
from jakisurvey.notebook import (RECORD_CALL, cells_of, producers, section_notebooks, source_of,
                                 where)

from helpers import ROOT, STUDY


SOURCES = {path.stem: path for path in section_notebooks(ROOT / "notebooks")}


def recorded_keys(measure: m.Measure) -> list[str]:
    """What cells record for a measure: its key, or `key.part` for each part."""
    return [f"{measure.key}.{p}" for p in measure.parts] or [measure.key]


def test_every_declared_measure_is_recorded_by_exactly_one_cell():
    made = producers(ROOT / "notebooks")
    declared = [key for measure in m.MEASURES for key in recorded_keys(measure)]
    assert sorted(made) == sorted(declared)          # nothing undeclared, nothing missing
    calls = [key for path in SOURCES.values() for cell in cells_of(path)
             for key in RECORD_CALL.findall(source_of(cell))]
    assert len(calls) == len(set(calls))             # no key recorded by two cells


def test_each_cell_calls_the_function_its_measure_declares():
    made = producers(ROOT / "notebooks")
    cells = {(path.stem, cell["id"]): source_of(cell) for path in SOURCES.values()
             for cell in cells_of(path)}
    for measure in m.MEASURES:
        for key in recorded_keys(measure):
            source = cells[made[key]]
            if measure.computed_by:
                assert f"{measure.computed_by}(" in source, (key, made[key])


def test_derived_lists_come_from_the_declaration():
    assert subgroups.MEASURES == {"jaki_used": m.BY_KEY["jaki_used"].rule,
                                  "improvement": m.BY_KEY["improvement"].rule,
                                  "side_effects": m.BY_KEY["side_effects"].rule}
    assert set(cb.ANALYSED_FIELDS) == {name for name, kind in m.fields_needed().items()
                                       if kind != m.RANKED}
    assert cb.ANALYSED_RANKINGS == ["barrier", "indication"]
    assert {"n_records", "n_respondents", "n_usa", "n_europe", "n_jaki_users"} == \
        m.keys_of_kind(m.COUNT)


@pytest.mark.parametrize("path, kind", [
    ("improvement", m.SHARE), ("n_usa", m.COUNT), ("pct_usa", m.FRACTION),
    ("subgroups.region.measures.improvement.Europe", m.SHARE),
    ("subgroups.society.n_not_grouped", m.COUNT), ("n_valid_rankings.barrier", m.COUNT),
    ("jaki_consider.Tofacitinib", m.SHARE), ("country_counts.FIN", m.COUNT),
    ("subgroups.region.measures.improvement.Mars", None), ("jaki_consider.Aspirin", None),
    ("ranking_stability.barrier", None), ("n_valid_rankings.colour", None), ("nothing", None),
    ("subgroups.region.measures.role.USA", None)])
def test_claim_targets_follow_the_declared_kinds(codebook, path, kind):
    assert m.claim_target(path, lambda f: list(codebook.labels(f).values())) == kind


def study_with_claim(tmp_path: Path, claim: dict) -> Path:
    """The project's study file with one more claim (country files beside it)."""
    study = yaml.safe_load(STUDY.read_text())
    study["claims"].append(claim)
    for name in ("country_aliases.csv", "regions.csv"):
        (tmp_path / name).write_text((STUDY.parent / name).read_text(encoding="utf-8"))
    (tmp_path / "study.yml").write_text(yaml.safe_dump(study), encoding="utf-8")
    return tmp_path / "study.yml"


NESTED = {"id": "europe_improvement", "claim": "Improvement in most or all, Europe",
          "published": 77, "check": "percent",
          "result": "subgroups.region.measures.improvement.Europe"}


def test_validate_accepts_a_nested_claim_and_refuses_one_no_run_could_check(tmp_path, capsys):
    assert main(["validate", "--study", str(study_with_claim(tmp_path, NESTED))]) == 0
    bad = {**NESTED, "result": "subgroups.region.measures.improvement.Mars"}
    assert main(["validate", "--study", str(study_with_claim(tmp_path, bad))]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["error: study.yml: claim 'europe_improvement', key 'result': "
                     "'subgroups.region.measures.improvement.Mars' is not a results.json entry "
                     "a run produces (see measures.py)"]


def test_a_value_that_does_not_fit_its_declaration_is_refused():
    with pytest.raises(results.ResultError, match="declared as a share"):
        results.values_of("improvement", 3)
    with pytest.raises(results.ResultError, match="not a measure declared"):
        results.values_of("improvment", {"n": 1, "N": 2})
    with pytest.raises(results.ResultError, match="'n_valid_rankings.barrier'"):
        results.values_of("n_valid_rankings", {"barrier": 3})
    assert results.values_of("usa", {"n": 1, "N": 4, "pct": 0.25}) == {
        "usa": {"n": 1, "N": 4, "pct": 0.25}, "n_usa": 1, "pct_usa": 0.25}


def test_a_key_recorded_twice_is_an_error():
    output = {"output_type": "display_data", "metadata": {"jakisurvey": {"results": ["n_records"]}},
              "data": {"application/vnd.jakisurvey.results+json": {"n_records": 3}}}
    cells = [{"id": "a", "cell_type": "code", "outputs": [output]}]
    assert results.collect({"01": cells})[0] == {"n_records": 3}
    with pytest.raises(results.ResultError, match="recorded twice: in 01#a and in 02#a"):
        results.collect({"01": cells, "02": cells})


def test_claims_link_to_the_cell_that_computes_their_result():
    assert where("n_usa") == "01_respondents.html#cell-usa"
    assert where(NESTED["result"]) == "06_subgroups.html#cell-subgroups"
    assert where("n_valid_rankings.indication") == "04_indications.html#cell-indication_ranking"
    for claim in yaml.safe_load(STUDY.read_text())["claims"]:
        assert where(claim["result"]), claim["id"]


LAYERS = [  # lowest first: a module may import only from its own layer or below
    {"errors", "definitions", "measures", "rounding", "checklist", "markdown", "notebook",
     "terminal", "processes", "__init__"},
    {"textfile", "branching", "codebook", "study", "countries", "fieldtypes", "load", "survey",
     "inputs", "lockfile"},
    {"stats", "tallies", "subgroups", "stability", "cherries", "claims", "results", "privacy",
     "disclosure", "provenance", "changes"},
    {"tables", "figures", "spreadsheet"},
    {"cache", "execute"},
    {"assemble"},
    {"render"},
    {"outdir", "pipeline", "verify", "synth", "cli", "__main__"},
]


def layer_of(module: str) -> int:
    """The layer of a module of the package (render's modules are one layer)."""
    name = module.split(".")[0]
    return next((i for i, layer in enumerate(LAYERS) if name in layer), 0)  # else __init__


def test_modules_import_downward_only():
    package = ROOT / "src" / "jakisurvey"
    upward = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).with_suffix("").as_posix().replace("/", ".")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = module.split(".")[:-node.level] if "." in module or node.level > 1 else []
                target = ".".join([*base, node.module or ""]).strip(".")
                names = [target] if node.module else [a.name for a in node.names]
                for name in names:
                    if name and layer_of(name) > layer_of(module):
                        upward.append(f"{module} imports {name}")
    assert upward == []


def test_a_whole_number_the_gate_does_not_know_is_refused():
    """Deny by default: a number in a new table must be a count the gate knows, or declared to
    count no one; otherwise it could leave unsuppressed."""
    with pytest.raises(results.ResultError, match="'response_rate_range.users'"):
        results.values_of("response_rate_range", {"low": {"n": 1, "N": 2}, "users": 4})
    assert results.values_of("ranking_stability.barrier", {"seed": 7, "resamples": 10,
                                                           "top_k": 2, "items": []})
