"""The study configuration (data/study.yml): what the records do not hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import StudyError

CHECKS = ("equals", "percent", "over", "leading")


@dataclass(frozen=True)
class Claim:
    """A published claim and how a reproduced value is checked against it."""

    id: str
    claim: str
    published: int | list[int]
    check: str
    result: str


@dataclass(frozen=True)
class Study:
    """Study settings read from a YAML file."""

    path: Path
    title: str
    citation: str
    n_invited: int
    min_cell: int
    country_aliases: Path
    regions: Path
    claims: tuple[Claim, ...]


def parse_claim(entry: dict, path: Path) -> Claim:
    """Build one Claim, refusing unknown checks."""
    try:
        claim = Claim(**{key: entry[key] for key in ("id", "claim", "published", "check", "result")})
    except (KeyError, TypeError) as error:
        raise StudyError(f"{path}: claim {entry!r} needs id, claim, published, check, result ({error})")
    if claim.check not in CHECKS:
        raise StudyError(f"{path}: claim '{claim.id}': check '{claim.check}' is not one of {CHECKS}")
    return claim


def positive_int(settings: dict, key: str, path: Path, default: int | None = None) -> int:
    """Read a positive whole number setting."""
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise StudyError(f"{path}: '{key}' must be a whole number of at least 1 (found {value!r})")
    return value


def load_study(path: Path) -> Study:
    """Read and check a study configuration file."""
    path = Path(path)
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StudyError(f"{path}: cannot be read as YAML ({error})")
    if not isinstance(settings, dict):
        raise StudyError(f"{path}: expected settings as 'key: value' lines")
    here = path.parent
    return Study(
        path=path,
        title=str(settings.get("title", "Survey report")),
        citation=str(settings.get("citation", "")),
        n_invited=positive_int(settings, "n_invited", path),
        min_cell=positive_int(settings, "min_cell", path, default=1),
        country_aliases=here / settings.get("country_aliases", "country_aliases.csv"),
        regions=here / settings.get("regions", "regions.csv"),
        claims=tuple(parse_claim(entry, path) for entry in settings.get("claims") or []),
    )
