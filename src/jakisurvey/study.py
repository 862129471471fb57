"""The study configuration (data/study.yml): what the records do not hold."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import measures
from .checklist import STUDY_KEYS
from .errors import StudyError
from .textfile import file_bytes

CHECKS = ("equals", "percent", "over", "leading")
CLAIM_KEYS = ("id", "claim", "published", "check", "result")
DEFAULT_SEED = 20250301    # seeds the bootstrap and the Monte Carlo tests
DEFAULT_RESAMPLES = 2000   # bootstrap resamples of the ranking stability
# REDCap's missing-data codes when the study file names none: the standardized codes REDCap
# offers in Project Setup (Additional customizations, Missing Data Codes), the HL7 V3
# NullFlavor codes. A project's own codes go under `missing_codes:` in the study file.
REDCAP_MISSING_CODES = {
    "NI": "No information", "INV": "Invalid", "DER": "Derived", "OTH": "Other",
    "PINF": "Positive infinity", "NINF": "Negative infinity", "UNC": "Unencoded",
    "MSK": "Masked", "NA": "Not applicable", "UNK": "Unknown", "ASKU": "Asked but unknown",
    "NAV": "Temporarily unavailable", "NASK": "Not asked", "NAVU": "Not available",
    "QS": "Sufficient quantity", "TRC": "Trace", "NP": "Not present"}
# A missing-data code as REDCap allows it: letters, digits, dots, dashes and underscores.
MISSING_CODE = re.compile(r"[A-Za-z0-9_.\-]+")


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
    n_invited_range: tuple[int, int] | None = None
    seed: int = DEFAULT_SEED
    resamples: int = DEFAULT_RESAMPLES
    cherries: dict[str, str] = field(default_factory=dict)
    missing_codes: dict[str, str] = field(default_factory=lambda: dict(REDCAP_MISSING_CODES))
    date: dt.date | None = None   # the report's date (provenance.report_date)


def shown(value: object) -> str:
    """A YAML value as an error message shows it: its repr, cut to one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_whole(value: object) -> bool:
    """Whether a YAML value is a whole number (not true/false, not a quoted text)."""
    return isinstance(value, int) and not isinstance(value, bool)


def published_value(value: object, check: str) -> int | list[int] | None:
    """The published value in the type its check needs, or None if it has another type."""
    if check in ("equals", "over"):
        return value if is_whole(value) and value >= 0 else None
    if check == "percent":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if is_whole(value) and 0 <= value <= 100 else None
    if (isinstance(value, list) and value and all(is_whole(v) for v in value)
            and len(set(value)) == len(value)):
        return list(value)
    return None


PUBLISHED_RULE = {
    "equals": "a whole number of at least 0 (a count, written without quotes)",
    "over": "a whole number of at least 0 (a count, written without quotes)",
    "percent": "a whole-number percentage from 0 to 100, written without quotes or % (published "
               "percentages are whole numbers, and a reproduced one matches when it rounds to it)",
    "leading": "a non-empty list of distinct whole numbers, the ranking's leading dictionary codes "
               "in order (e.g. [1, 2])",
}


def parse_claim(entry: object, number: int, path: Path) -> Claim:
    """Build one Claim, each key of the type its use needs."""
    if not isinstance(entry, dict):
        raise StudyError(f"{path}: claim {number}: must be a mapping with keys "
                         f"{', '.join(CLAIM_KEYS)} (found {shown(entry)})")
    name = f"claim {number}"
    unknown_keys(entry, CLAIM_KEYS, path, f"{name}, key '{{key}}'", "a key of a claim")
    for key in CLAIM_KEYS:
        if key not in entry:
            raise StudyError(f"{path}: {name}, key '{key}': missing; every claim needs "
                             f"{', '.join(CLAIM_KEYS)}")
        value = entry[key]
        if key != "published" and not (isinstance(value, str) and value.strip()):
            raise StudyError(f"{path}: {name}, key '{key}': must be a non-empty text "
                             f"(found {shown(value)})")
        if key == "id":
            name = f"claim '{value}'"
    if entry["check"] not in CHECKS:
        raise StudyError(f"{path}: {name}, key 'check': {shown(entry['check'])} is not one of "
                         f"{', '.join(CHECKS)}")
    published = published_value(entry["published"], entry["check"])
    if published is None:
        raise StudyError(f"{path}: {name}, key 'published': check '{entry['check']}' needs "
                         f"{PUBLISHED_RULE[entry['check']]} (found {shown(entry['published'])})")
    return Claim(id=entry["id"], claim=entry["claim"], published=published,
                 check=entry["check"], result=entry["result"])


def parse_claims(value: object, path: Path) -> tuple[Claim, ...]:
    """The 'claims' setting: a list of claim mappings with distinct ids (none when absent)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise StudyError(f"{path}: 'claims' must be a list of claims, one '- {{id: ..., claim: "
                         f"..., published: ..., check: ..., result: ...}}' line each (found "
                         f"{shown(value)})")
    claims = [parse_claim(entry, number, path) for number, entry in enumerate(value, 1)]
    ids = [claim.id for claim in claims]
    for number, claim in enumerate(claims, 1):
        if claim.id in ids[: number - 1]:
            raise StudyError(f"{path}: claim '{claim.id}', key 'id': also the id of claim "
                             f"{ids.index(claim.id) + 1}; each claim needs its own id")
    return tuple(claims)


def positive_int(settings: dict, key: str, path: Path, default: int | None = None) -> int:
    """Read a positive whole number setting."""
    value = settings.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise StudyError(f"{path}: '{key}' must be a whole number of at least 1 (found {value!r})")
    return value


def invited_range(settings: dict, path: Path) -> tuple[int, int] | None:
    """Read the optional [low, high] range of the invitation count."""
    value = settings.get("n_invited_range")
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
            and value[0] <= value[1]):
        raise StudyError(f"{path}: 'n_invited_range' must be [low, high], two whole numbers of at "
                         f"least 1 with low <= high (found {value!r})")
    return value[0], value[1]


def seed_setting(settings: dict, path: Path) -> int:
    """Read the random seed: a whole number of at least 0."""
    value = settings.get("seed", DEFAULT_SEED)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StudyError(f"{path}: 'seed' must be a whole number of at least 0 (found {value!r})")
    return value


def text_setting(settings: dict, key: str, path: Path, default: str, empty: bool = False) -> str:
    """A text setting (title, citation): a text, not empty unless `empty` (a bare `title:` is
    empty: the report would be titled 'None')."""
    value = settings.get(key, default)
    if value is None and empty:
        return ""
    if not isinstance(value, str) or not (value.strip() or empty):
        raise StudyError(f"{path}: '{key}' must be a non-empty text (found {shown(value)}); "
                         f"write it after the colon, e.g. {key}: {default or 'Survey report'}")
    return value


def file_setting(settings: dict, key: str, path: Path) -> Path:
    """A setting naming a file (country_aliases, regions): a path relative to the study file
    ('~' expanded; a study file that is a symbolic link: relative to the file it names)."""
    value = settings.get(key, f"{key}.csv")
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise StudyError(f"{path}: '{key}' must name a file, relative to the study file (e.g. "
                         f"{key}: {key}.csv), or be left out for {key}.csv (found {shown(value)})")
    return Path(path).resolve().parent / Path(value.strip()).expanduser()


def cherries_setting(settings: dict, path: Path) -> dict[str, str]:
    """Read the CHERRIES design items: known keys, each with a non-empty text."""
    value = settings.get("cherries") or {}
    if not isinstance(value, dict):
        raise StudyError(f"{path}: 'cherries' must be 'item: text' lines (found {value!r})")
    unknown_keys(value, STUDY_KEYS, path, "'cherries.{key}'", "a checklist item")
    for key, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise StudyError(f"{path}: 'cherries.{key}' must be a non-empty text (found {text!r})")
    return {key: text.strip() for key, text in value.items()}


def missing_codes_setting(settings: dict, path: Path) -> dict[str, str]:
    """Read the project's missing-data codes: a list ('UNK' or 'UNK, Unknown' each), a mapping
    {code: label} or REDCap's own 'UNK, Unknown | NASK, Not asked'; REDCap's when absent."""
    if "missing_codes" not in settings:
        return dict(REDCAP_MISSING_CODES)
    value = settings["missing_codes"]
    if value is None:
        return {}
    if isinstance(value, str):
        value = [part for part in re.split(r"\||\n", value) if part.strip()]
    if isinstance(value, dict):
        entries = [(code, label) for code, label in value.items()]
    elif isinstance(value, list):
        entries = [tuple(str(entry).partition(",")[::2]) if not isinstance(entry, dict)
                   else next(iter(entry.items()), ("", "")) for entry in value]
    else:
        raise StudyError(f"{path}: 'missing_codes' must be a list of REDCap missing-data codes "
                         f"('- UNK, Unknown' lines) or 'code: label' lines (found {shown(value)})")
    codes = {}
    for number, (code, label) in enumerate(entries, 1):
        code = str(code).strip()
        if not MISSING_CODE.fullmatch(code):
            raise StudyError(f"{path}: 'missing_codes' entry {number}: {shown(code)} is not a "
                             "REDCap missing-data code (letters, digits, dots, dashes and "
                             "underscores)")
        codes[code] = str(label or "").strip() or code
    return codes
def date_setting(settings: dict, path: Path) -> dt.date | None:
    """Read the report's date: a day written YYYY-MM-DD (YAML reads it as a date)."""
    value = settings.get("date")
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise StudyError(f"{path}: 'date' must be a day written YYYY-MM-DD, such as 2025-03-01 "
                     f"(found {shown(value)})")


# Every setting the study file may hold (a misspelt one is an error, never silently ignored).
SETTINGS = ("title", "citation", "n_invited", "n_invited_range", "min_cell", "country_aliases",
            "regions", "claims", "seed", "resamples", "cherries", "missing_codes", "date")


def unknown_keys(given: dict, known: tuple[str, ...], path: Path, label: str = "'{key}'",
                 what: str = "a setting of the study file") -> None:
    """One line for the first key that is not a known one, naming the nearest known one."""
    from difflib import get_close_matches

    for key in given:
        if key not in known:
            near = get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"did you mean '{near[0]}'?" if near else f"known: {', '.join(known)}"
            raise StudyError(f"{path}: {label.format(key=key)} is not {what}; {hint}")


def load_study(path: Path) -> Study:
    """Read and check a study configuration file."""
    path = Path(path)
    try:
        settings = yaml.safe_load(file_bytes(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StudyError(f"{path}: cannot be read as YAML ({error})")
    if not isinstance(settings, dict):
        raise StudyError(f"{path}: expected settings as 'key: value' lines")
    unknown_keys(settings, SETTINGS, path)
    return Study(
        path=path,
        title=text_setting(settings, "title", path, "Survey report"),
        citation=text_setting(settings, "citation", path, "", empty=True),
        n_invited=positive_int(settings, "n_invited", path),
        min_cell=positive_int(settings, "min_cell", path, default=1),
        country_aliases=file_setting(settings, "country_aliases", path),
        regions=file_setting(settings, "regions", path),
        claims=parse_claims(settings.get("claims"), path),
        n_invited_range=invited_range(settings, path),
        seed=seed_setting(settings, path),
        resamples=positive_int(settings, "resamples", path, default=DEFAULT_RESAMPLES),
        cherries=cherries_setting(settings, path),
        missing_codes=missing_codes_setting(settings, path),
        date=date_setting(settings, path),
    )


NEEDS = {"percent": "an {n, N} share such as 'improvement'",
         "leading": "a ranking such as 'barrier_ranking'",
         "equals": "a count such as 'n_respondents'", "over": "a count such as 'n_respondents'"}


def claim_problems(claims: tuple[Claim, ...], codebook) -> list[str]:
    """Why each claim could not be checked by a run: its result is no results.json entry, its
    check does not fit the entry's kind, or a ranking claim names codes the ranking lacks."""
    found = []
    for claim in claims:
        kind = measures.claim_target(claim.result,
                                     lambda name: list(codebook.labels(name).values()))
        where = f"claim '{claim.id}'"
        if kind is None:
            found.append(f"{where}, key 'result': '{claim.result}' is not a results.json entry "
                         "a run produces (see measures.py)")
        elif kind not in measures.CHECKABLE[claim.check]:
            found.append(f"{where}, key 'result': a '{claim.check}' check needs "
                         f"{NEEDS[claim.check]}; '{claim.result}' is not one")
        elif claim.check == "leading":
            codes = list(codebook.rankings[measures.ranking_of(claim.result)].choices)
            unknown = [c for c in claim.published if c not in codes]
            if unknown:
                found.append(f"{where}, key 'published': {unknown} are not codes of the ranking "
                             f"'{claim.result}' (codes: {sorted(codes)})")
    return found


def check_claims(study: Study, codebook) -> None:
    """Every claim names a result a run produces (measures.py), with a check that fits it."""
    found = claim_problems(study.claims, codebook)
    if found:
        raise StudyError("\n".join(f"{Path(study.path).name}: {line}" for line in found))
