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
from .textfile import reading

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
    """Stop with one line when an input file is missing, or its name cannot be written down
    (a name that is not UTF-8 cannot be recorded in run.json or a notebook)."""
    for role, path in files.items():
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            shown = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
            raise SurveyError(f"{shown}: the {role.replace('_', ' ')} file's name is not valid "
                              "UTF-8 text; rename the file (or its folder)") from None
        if not Path(path).is_file():
            raise SurveyError(f"{path}: {role.replace('_', ' ')} file not found")


def study_files(inputs: Inputs) -> tuple[Study, dict[str, Path]]:
    """The study settings and every input file they and the command line name (all present)."""
    snapshot = Snapshot.take(inputs)
    return snapshot.study, snapshot.files


Signature = tuple[int, int, int, int, int]   # device, inode, size, modified, changed (ns)


def signature(status: os.stat_result) -> Signature:
    """What changes whenever a file's bytes change or another file takes its name."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


class InputChanged(SurveyError):
    """An input file changed while a run was using it."""


@dataclass(frozen=True)
class Snapshot:
    """Every input file read once: the bytes a run checks, keys, records and hands its kernels,
    with their SHA-256; and a check that the files still hold them."""

    study: Study
    files: dict[str, Path]          # by role (the study's country files included)
    data: dict[str, bytes]          # by role
    hashes: dict[str, str]          # SHA-256 of `data`, by role
    signatures: dict[str, Signature]

    @classmethod
    def take(cls, inputs: Inputs) -> "Snapshot":
        """Read the given files and the country files the study names (each once)."""
        given = inputs.paths()
        require_files(given)
        data, signatures = {}, {}
        for role, path in given.items():
            data[role], signatures[role] = read_once(path)
        with reading({os.path.realpath(given["study"]): data["study"]}):
            study = load_study(inputs.study)
        files = all_files(inputs, study)
        require_files(files)
        for role in ("country_aliases", "regions"):
            data[role], signatures[role] = read_once(files[role])
        hashed = {role: hashlib.sha256(data[role]).hexdigest() for role in files}
        return cls(study, files, data, hashed, signatures)

    def by_path(self) -> dict[str, bytes]:
        """The bytes by real path (what textfile.reading reads from)."""
        return {os.path.realpath(path): self.data[role] for role, path in self.files.items()}

    def changed(self, rehash: bool = False) -> list[str]:
        """The roles whose file no longer holds the bytes read (by its status; `rehash`: by
        its SHA-256 too)."""
        found = []
        for role, path in self.files.items():
            try:
                same = signature(os.stat(path)) == self.signatures[role] and (
                    not rehash or sha256(path) == self.hashes[role])
            except OSError:
                same = False
            if not same:
                found.append(role)
        return found

    def check_unchanged(self, rehash: bool = False) -> None:
        """Stop the run with one line when an input changed since it was read."""
        for role in self.changed(rehash)[:1]:
            raise InputChanged(f"{self.files[role]}: the {role.replace('_', ' ')} file changed "
                               "while the report was being made (a run reads each input once, "
                               "at its start); nothing more was published or cached: run again "
                               "to use the file as it is now")


def read_once(path: Path) -> tuple[bytes, Signature]:
    """A file's bytes and status, read again when the file changed while it was being read."""
    for _ in range(3):
        with open(path, "rb") as handle:
            before = signature(os.fstat(handle.fileno()))
            data = handle.read()
        if signature(os.stat(path)) == before:
            return data, before
    raise InputChanged(f"{path}: the file keeps changing while it is being read; run again "
                       "when it is complete")


def check_inputs(inputs: Inputs, snapshot: Snapshot | None = None) -> Checked:
    """Read and check every input, and every claim against the measures a run produces: the
    pre-flight of `validate` and `run`, which needs no kernel. Raises SurveyError (one line per
    problem) before any work, so that nothing it accepts fails later for an input reason.
    `snapshot`: the files as the run read them (else they are read now); everything is checked
    from its bytes, so what is checked is what was hashed."""
    from .codebook import Codebook
    from .countries import CountryResolver
    from .survey import load_survey

    snapshot = snapshot or Snapshot.take(inputs)
    study, files = snapshot.study, snapshot.files
    with reading(snapshot.by_path()):
        codebook = Codebook.from_csv(inputs.dictionary)
        check_claims(study, codebook)
        resolver = CountryResolver.from_files(study.country_aliases, study.regions)
        survey = load_survey(inputs.records, codebook, resolver, frozenset(study.missing_codes))
    respondents = len(survey.respondents)
    if study.n_invited < respondents:
        raise StudyError(f"{Path(inputs.study).name}: field 'n_invited': {study.n_invited} "
                         f"providers invited is fewer than the {respondents} respondents in "
                         f"{Path(inputs.records).name}; set the number of providers invited")
    return Checked(study, codebook, resolver, survey, files, dict(snapshot.hashes))


HANDED_OVER = "JAKISURVEY_CHECKED"  # a run hands its kernels the inputs it has checked
_loaded: dict[tuple, Checked] = {}


def given_files(inputs: Inputs) -> dict[str, str]:
    """The given files by role, as real paths (what identifies a run's inputs to its kernels)."""
    return {role: os.path.realpath(path) for role, path in inputs.paths().items()}


def hand_over(checked: Checked, inputs: Inputs, path: Path) -> dict[str, str]:
    """Save checked inputs for the run's kernels; the environment variable that names them."""
    with open(path, "wb") as handle:
        pickle.dump({"files": given_files(inputs), "checked": checked}, handle)
    return {HANDED_OVER: str(path)}


def handed_over(inputs: Inputs) -> Checked | None:
    """The inputs the run that started this kernel checked, if it was given these files: what
    the run read once, whatever the files hold now (the run checks they did not change)."""
    path = os.environ.get(HANDED_OVER)
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as handle:
        saved = pickle.load(handle)
    return saved["checked"] if saved.get("files") == given_files(inputs) else None


def load(records: str | Path, dictionary: str | Path, study: str | Path) -> Checked:
    """check_inputs for notebooks, remembered by the files' content.

    In a run's kernel, the inputs the run read and checked (for the same files); elsewhere the
    files are read once per kernel and checked from those bytes. Every call gets its own copy
    of the records, so no notebook can change what another one sees.
    """
    inputs = Inputs(Path(records), Path(dictionary), Path(study))
    key: tuple = ("run", os.environ.get(HANDED_OVER), tuple(given_files(inputs).items()))
    if key not in _loaded:
        kept = handed_over(inputs)
        if kept is None:
            snapshot = Snapshot.take(inputs)
            key = tuple(sorted(given_files(inputs).items())) + tuple(sorted(snapshot.hashes.items()))
            kept = _loaded.get(key) or check_inputs(inputs, snapshot)
        _loaded.clear()
        _loaded[key] = kept
    kept = _loaded[key]
    return replace(kept, survey=replace(kept.survey, data=kept.survey.data.copy(),
                                        problems=list(kept.survey.problems)))
