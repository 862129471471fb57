"""A run's input files: read once, checked, identified by SHA-256 (files are only ever read)."""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StudyError, SurveyError
from .study import Study, check_claims, load_study

if TYPE_CHECKING:  # the records are read with pandas only when they are checked
    from .codebook import Codebook
    from .countries import CountryResolver
    from .survey import Survey


def resolved(path: str | os.PathLike) -> Path:
    """A path as a user typed it, made absolute: '~' expanded, a relative path read from the
    working folder; a symbolic link is kept as given (the report names the file as typed)."""
    return Path(os.path.abspath(Path(path).expanduser()))


@dataclass(frozen=True)
class Inputs:
    """The three files a run is given: records export, data dictionary, study settings.

    Each path is resolved once, when the inputs are named (resolved()); everything after, the
    run's kernels included, reads that absolute path, whatever its working folder.
    """

    records: Path
    dictionary: Path
    study: Path

    def __post_init__(self) -> None:
        for role in ("records", "dictionary", "study"):
            object.__setattr__(self, role, resolved(getattr(self, role)))

    def paths(self) -> dict[str, Path]:
        """The given files by role."""
        return {"records": self.records, "dictionary": self.dictionary, "study": self.study}


@dataclass(frozen=True)
class Checked:
    """Every input read and checked: what the analysis works from."""

    study: Study
    codebook: Codebook
    resolver: CountryResolver
    survey: Survey
    files: dict[str, Path]   # every file read, by role (the study's country files included)
    hashes: dict[str, str]   # the SHA-256 of each file read, by role


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hashes(files: dict[str, Path]) -> dict[str, str]:
    """SHA-256 of each file by role."""
    return {role: sha256(path) for role, path in files.items()}


def all_files(inputs: Inputs, study: Study) -> dict[str, Path]:
    """The given files and the files the study settings name."""
    return {**inputs.paths(), "country_aliases": study.country_aliases, "regions": study.regions}


def require_files(files: dict[str, Path]) -> None:
    """Stop with one line when an input file is missing."""
    for role, path in files.items():
        if not Path(path).is_file():
            raise SurveyError(f"{path}: {role.replace('_', ' ')} file not found")


def study_files(inputs: Inputs) -> tuple[Study, dict[str, Path]]:
    """The study settings and every input file they and the command line name (all present)."""
    require_files(inputs.paths())
    study = load_study(inputs.study)
    files = all_files(inputs, study)
    require_files(files)
    return study, files


def check_inputs(inputs: Inputs, digests: dict[str, str] | None = None) -> Checked:
    """Read and check every input, and every claim against the measures a run produces: the
    pre-flight of `validate` and `run`, which needs no kernel. Raises SurveyError (one line per
    problem) before any work, so that nothing it accepts fails later for an input reason.
    `digests`: the SHA-256 of the files by role, when the caller has them already."""
    from .codebook import Codebook
    from .countries import CountryResolver
    from .survey import load_survey

    study, files = study_files(inputs)
    codebook = Codebook.from_csv(inputs.dictionary)
    check_claims(study, codebook)
    resolver = CountryResolver.from_files(study.country_aliases, study.regions)
    survey = load_survey(inputs.records, codebook, resolver, frozenset(study.missing_codes))
    respondents = len(survey.respondents)
    if study.n_invited < respondents:
        raise StudyError(f"{Path(inputs.study).name}: field 'n_invited': {study.n_invited} "
                         f"providers invited is fewer than the {respondents} respondents in "
                         f"{Path(inputs.records).name}; set the number of providers invited")
    return Checked(study, codebook, resolver, survey, files, digests or hashes(files))


HANDED_OVER = "JAKISURVEY_CHECKED"  # a run hands its kernels the inputs it has checked
_loaded: dict[tuple, Checked] = {}


def content_key(inputs: Inputs) -> tuple:
    """What identifies checked inputs: each file's role, location and SHA-256."""
    files = study_files(inputs)[1]
    return tuple(sorted((role, str(Path(path).resolve()), digest)
                        for (role, path), digest in zip(files.items(), hashes(files).values())))


def hand_over(checked: Checked, inputs: Inputs, path: Path) -> dict[str, str]:
    """Save checked inputs for the run's kernels; the environment variable that names them."""
    with open(path, "wb") as handle:
        pickle.dump({"key": content_key(inputs), "checked": checked}, handle)
    return {HANDED_OVER: str(path)}


def handed_over(key: tuple) -> Checked | None:
    """The inputs the run that started this kernel checked, if they are these very files."""
    path = os.environ.get(HANDED_OVER)
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as handle:
        saved = pickle.load(handle)
    return saved["checked"] if saved.get("key") == key else None


def load(records: str | Path, dictionary: str | Path, study: str | Path) -> Checked:
    """check_inputs for notebooks, remembered by the files' content.

    The files are checked once per kernel (or once per run, which hands its kernels what it
    checked, for the same files with the same SHA-256 only); every call gets its own copy of
    the records, so no notebook can change what another one sees.
    """
    inputs = Inputs(Path(records), Path(dictionary), Path(study))
    key = content_key(inputs)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = handed_over(key) or check_inputs(inputs)
    kept = _loaded[key]
    return replace(kept, survey=replace(kept.survey, data=kept.survey.data.copy(),
                                        problems=list(kept.survey.problems)))
