"""The lock file, uv.lock: every distribution the report is made with, pinned with its hashes.

`make lock` makes it with uv and exports it for plain pip (requirements.txt, hashed) and for
conda (environment.yml). Two questions are answered here without the network:

- is the lock in step with pyproject.toml? (`python -m jakisurvey.lockfile check`, standard
  library only: `make setup` asks before it installs anything);
- is the running environment the one locked? (run.json and the provenance section).

The command line also writes environment.yml from requirements.txt (`environment-yml`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LOCK = PROJECT / "uv.lock"
PYPROJECT = PROJECT / "pyproject.toml"
REQUIREMENTS = PROJECT / "requirements.txt"
ENVIRONMENT = PROJECT / "environment.yml"
RELOCK = "run `make lock` and commit uv.lock, requirements.txt and environment.yml"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*?)\s*"
                          r"(?:;\s*(.*?))?\s*$")


def normal(name: str) -> str:
    """A distribution name as names are compared (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sha256(path: Path = LOCK) -> str | None:
    """SHA-256 of the lock file's bytes; None without one (installed without the sources)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def metadata_folders() -> list[str]:
    """Every installed distribution's metadata folder ('pandas-3.1.1.dist-info'), in the order
    Python finds them (sys.path), read from folder names alone (fast: no metadata is parsed)."""
    found: list[str] = []
    for folder in filter(None, sys.path):   # '' (the working folder) is not an install place
        try:
            with os.scandir(folder) as entries:
                found += sorted(e.name for e in entries
                                if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return found


def installed() -> list[str]:
    """Every installed distribution by the name of its metadata folder (name and version)."""
    return sorted(set(metadata_folders()))


def installed_versions(folders: list[str] | None = None) -> dict[str, str | None]:
    """{normalised name: version} of the distributions Python imports (the first found of a
    name wins, as for imports); None for a folder that names no version."""
    versions: dict[str, str | None] = {}
    for folder in metadata_folders() if folders is None else folders:
        name, _, rest = folder.rsplit(".", 1)[0].partition("-")
        versions.setdefault(normal(name), rest.split("-")[0] or None)
    return versions


def read(path: Path) -> dict:
    """A TOML file (pyproject.toml, uv.lock)."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def root_of(lock: dict, name: str = "jakisurvey") -> dict:
    """The project's own entry in the lock."""
    for package in lock.get("package", []):
        if normal(package.get("name", "")) == normal(name):
            return package
    raise KeyError(name)


def locked(lock: dict, extras: tuple[str, ...] = ()) -> dict[str, str]:
    """The version the lock pins for each distribution the project needs on this interpreter
    and platform: its dependencies (and `extras`), followed through the lock, each marker
    evaluated here."""
    from packaging.markers import Marker

    by_name: dict[str, list[dict]] = {}
    for package in lock.get("package", []):
        by_name.setdefault(normal(package["name"]), []).append(package)
    pins: dict[str, str] = {}
    todo, seen = [(root_of(lock), extras)], set()
    while todo:
        package, wanted = todo.pop()
        edges = list(package.get("dependencies", []))
        for extra in wanted:
            edges += package.get("optional-dependencies", {}).get(extra, [])
        for edge in edges:
            if edge.get("marker") and not Marker(edge["marker"]).evaluate({"extra": ""}):
                continue
            name = normal(edge["name"])
            target = next(p for p in by_name[name] if p["version"] == edge.get("version",
                                                                                p["version"]))
            step = (name, target["version"], tuple(sorted(edge.get("extra", []))))
            if step not in seen:
                seen.add(step)
                pins[name] = target["version"]
                todo.append((target, step[2]))
    return pins


def differences(pins: dict[str, str], versions: dict[str, str | None]) -> list[dict]:
    """Each locked distribution whose installed version is another (None: not installed)."""
    return [{"package": name, "locked": version, "installed": versions.get(name)}
            for name, version in sorted(pins.items()) if versions.get(name) != version]


def environment(lock: Path = LOCK) -> dict:
    """The lock file's name and SHA-256, and whether the running environment is the one it
    pins for the report (the project's dependencies; the dev tools aside): the distributions
    that differ, each with its locked and installed version."""
    digest = sha256(lock)
    if digest is None:
        return {"lock": None, "as_locked": False, "differs": []}
    try:
        differs = differences(locked(read(lock)), installed_versions())
    except (tomllib.TOMLDecodeError, KeyError, StopIteration, TypeError, ValueError) as error:
        return {"lock": lock.name, "sha256": digest, "as_locked": False, "differs": [],
                "unreadable": f"{type(error).__name__}: {error}"[:200]}
    return {"lock": lock.name, "sha256": digest, "as_locked": not differs, "differs": differs}


def warning(env: dict) -> str | None:
    """The warning line for an environment that is not the one locked (None when it is)."""
    if env["lock"] is None:
        return "environment: no uv.lock beside the project; the environment is not checked"
    if env.get("unreadable"):
        return (f"environment: {env['lock']} cannot be read ({env['unreadable']}); the "
                f"environment is not checked ({RELOCK})")
    if env["as_locked"]:
        return None
    shown = ", ".join(f"{d['package']} {d['installed'] or 'missing'} (locked {d['locked']})"
                      for d in env["differs"][:5])
    more = f" and {len(env['differs']) - 5} more" if len(env["differs"]) > 5 else ""
    return (f"environment: {len(env['differs'])} package(s) differ from uv.lock: {shown}{more}; "
            "the report says so (`make setup` installs the locked versions)")


# ------------------------------------------------------------- the lock against pyproject.toml

def requirement(text: str) -> tuple:
    """A PEP 508 requirement as compared with the lock: name, extras, version clauses."""
    match = _REQUIREMENT.match(text)
    if not match:
        return (text.strip(),)
    name, extras, spec, _ = match.groups()
    return (normal(name), frozenset(normal(e) for e in (extras or "").split(",") if e.strip()),
            frozenset(c.replace(" ", "") for c in spec.split(",") if c.strip()))


def declared(project: dict, groups: dict) -> dict[str, set]:
    """pyproject.toml's requirements by where they are declared ('' the dependencies, an
    extra's name, 'group:NAME')."""
    wanted = {"": {requirement(r) for r in project.get("dependencies", [])}}
    for extra, items in project.get("optional-dependencies", {}).items():
        wanted[normal(extra)] = {requirement(r) for r in items}
    for group, items in groups.items():
        wanted[f"group:{normal(group)}"] = {requirement(r) for r in items if isinstance(r, str)}
    return {k: v for k, v in wanted.items() if v}


def recorded(root: dict) -> dict[str, set]:
    """The requirements the lock was made from, as `declared` gives pyproject's."""
    metadata = root.get("metadata", {})
    found: dict[str, set] = {}
    for item in metadata.get("requires-dist", []):
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", item.get("marker", ""))
        found.setdefault(normal(extra[1]) if extra else "", set()).add(as_declared(item))
    for group, items in metadata.get("requires-dev", {}).items():
        found.setdefault(f"group:{normal(group)}", set()).update(as_declared(i) for i in items)
    return found


def as_declared(item: dict) -> tuple:
    """A requirement of the lock's metadata in the form `requirement` gives."""
    return (normal(item["name"]), frozenset(normal(e) for e in item.get("extras", [])),
            frozenset(c.replace(" ", "") for c in item.get("specifier", "").split(",")
                      if c.strip()))


def out_of_step(pyproject: dict, lock: dict) -> list[str]:
    """What pyproject.toml asks for that the lock was not made from (empty: in step).

    Names, extras, version specifiers, extras and groups, and requires-python are compared;
    `uv lock --check` compares the rest (environment markers), and the tests ask it too."""
    project = pyproject.get("project", {})
    try:
        root = root_of(lock, project.get("name", "jakisurvey"))
    except KeyError:
        return [f"the project {project.get('name')!r} is not in the lock"]
    problems = []
    if project.get("requires-python", "").replace(" ", "") != lock.get("requires-python",
                                                                        "").replace(" ", ""):
        problems.append(f"requires-python {project.get('requires-python')!r}")
    wanted, made = declared(project, pyproject.get("dependency-groups", {})), recorded(root)
    for where in sorted(set(wanted) | set(made)):
        label = {"": "dependencies"}.get(where, where if where.startswith("group:")
                                         else f"extra {where}")
        for item in sorted(wanted.get(where, set()) - made.get(where, set()), key=str):
            problems.append(f"{label}: {shown(item)} is not locked")
        for item in sorted(made.get(where, set()) - wanted.get(where, set()), key=str):
            problems.append(f"{label}: {shown(item)} is locked but no longer declared")
    return problems


def shown(item: tuple) -> str:
    """A compared requirement as text ('pandas==3.1.1')."""
    if len(item) == 1:
        return item[0]
    name, extras, clauses = item
    return name + (f"[{','.join(sorted(extras))}]" if extras else "") + ",".join(sorted(clauses))


def check(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> str | None:
    """The one line saying the lock must be made again, or None when it is in step."""
    if not lock.is_file():
        return f"{lock.name} is missing: {RELOCK}"
    try:
        problems = out_of_step(read(pyproject), read(lock))
    except tomllib.TOMLDecodeError as error:
        return f"{lock.name} or {pyproject.name} is not valid TOML ({error}): {RELOCK}"
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{lock.name} is out of step with {pyproject.name} ({problems[0]}{more}): {RELOCK}"


# ------------------------------------------------------------- environment.yml from the lock

def pinned_lines(requirements: str) -> list[str]:
    """The `name==version ; marker` lines of an exported requirements file (hashes dropped)."""
    joined = re.sub(r"\\\n", " ", requirements)
    lines = []
    for line in joined.splitlines():
        line = line.split(" --hash")[0].split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(re.sub(r"\s+", " ", line))
    return lines


def environment_yml(requirements: str, pyproject: dict) -> str:
    """environment.yml: conda-forge's Python and Quarto, and every locked package by pip."""
    project = pyproject["project"]
    python = re.search(r">=\s*(\d+\.\d+)", project["requires-python"])[1]
    quarto = requirement(project["optional-dependencies"]["quarto"][0])
    minor = ".".join(next(iter(quarto[2])).lstrip("=").split(".")[:2])
    pins = "".join(f'      - "{line}"\n' for line in pinned_lines(requirements))
    return ("# Conda alternative to `make setup` (which uses a venv and uv or pip):\n"
            "#   conda env create -f environment.yml && conda activate jakisurvey && "
            "jakisurvey run\n"
            "# Written by `make lock` from the lock (requirements.txt, exported from uv.lock):\n"
            "# the same exact versions as `make setup` installs (tests/test_lock.py checks it).\n"
            "# Quarto comes from conda-forge, the same minor release as the `quarto` extra.\n"
            "name: jakisurvey\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={python}\n  - quarto={minor}\n  - pip\n  - pip:\n{pins}      - -e .\n")


def main(argv: list[str] | None = None) -> int:
    """`check [FOLDER]`: one line and exit 1 when the lock is out of step with pyproject.toml
    (FOLDER: the project's, by default this one); `environment-yml`: write environment.yml from
    requirements.txt."""
    command = (sys.argv[1:] if argv is None else argv) or ["check"]
    if command[0] == "check" and len(command) <= 2:
        folder = Path(command[1]) if len(command) == 2 else PROJECT
        line = check(folder / PYPROJECT.name, folder / LOCK.name)
        if line:
            print(line, file=sys.stderr)
        return 1 if line else 0
    if command == ["environment-yml"]:
        text = environment_yml(REQUIREMENTS.read_text(encoding="utf-8"), read(PYPROJECT))
        ENVIRONMENT.write_text(text, encoding="utf-8")
        return 0
    print("usage: python -m jakisurvey.lockfile [check [FOLDER] | environment-yml]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
