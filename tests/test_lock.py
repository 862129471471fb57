"""The lock: uv.lock in step with pyproject.toml (and a dependency added without relocking
caught, the way `uv lock --check` catches it), requirements.txt and environment.yml exported
from it, `make setup` installing exactly it, and the running environment checked against it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml

from jakisurvey import lockfile

from helpers import ROOT, need


def uv() -> str:
    """uv: a locked dev dependency, so `make setup` installed it beside this Python."""
    return need("uv")


def uv_check(folder) -> int:
    """`uv lock --check` without the network (and without this machine's uv cache)."""
    return subprocess.run([uv(), "lock", "--check", "--offline"], cwd=folder, capture_output=True,
                          env={"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(folder / ".uv")},
                          timeout=120).returncode


def lock_check(folder) -> subprocess.CompletedProcess:
    """The check `make setup` makes first, as it makes it (standard library only)."""
    return subprocess.run([sys.executable, "-m", "jakisurvey.lockfile", "check", str(folder)],
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")})


@pytest.fixture
def project(tmp_path):
    """pyproject.toml and uv.lock of the project, in a folder of their own."""
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_lock_is_in_step_with_pyproject(project):
    assert lockfile.check() is None
    assert lock_check(ROOT).returncode == 0
    assert uv_check(project) == 0


EDITS = {  # pyproject.toml changed without `make lock`
    "a dependency added": ('    "typst==0.15.2",\n', '    "typst==0.15.2",\n    "rich==14.0.0",\n'),
    "a pin changed": ('"pandas==3.1.1"', '"pandas==3.1.0"'),
    "a dependency removed": ('    "seaborn==0.13.2",\n', ""),
    "a dev tool added": ('"uv==0.13.10"', '"uv==0.13.10", "ruff==0.15.0"'),
    "a group changed": ('build = ["setuptools==84.2.1"]', 'build = ["setuptools==84.2.0"]'),
    "requires-python changed": ('requires-python = ">=3.11"', 'requires-python = ">=3.12"'),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
def test_pyproject_changed_without_relocking_is_one_line_saying_make_lock(project, edit):
    old, new = EDITS[edit]
    text = (project / "pyproject.toml").read_text()
    assert old in text
    (project / "pyproject.toml").write_text(text.replace(old, new, 1))
    done = lock_check(project)
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "uv.lock is out of step with pyproject.toml" in done.stderr
    assert "run `make lock`" in done.stderr
    if edit == "a dependency added":
        assert "dependencies: rich==14.0.0 is not locked" in done.stderr
    assert uv_check(project) != 0        # uv itself says the same


def test_a_missing_lock_says_make_lock(project):
    (project / "uv.lock").unlink()
    done = lock_check(project)
    assert done.returncode == 1 and "uv.lock is missing: run `make lock`" in done.stderr


def exported_command() -> list[str]:
    """The `uv export` command requirements.txt says it was made by."""
    header = (ROOT / "requirements.txt").read_text().splitlines()[1]
    return header.lstrip("# ").split()


def test_requirements_txt_is_the_lock_exported_as_make_lock_exports_it(tmp_path):
    command = exported_command()
    assert command[:3] == ["uv", "export", "--frozen"] and "--no-emit-project" in command
    makefile = " ".join((ROOT / "Makefile").read_text().replace("\\\n", " ").split())
    recipe = " ".join(command[1:]).replace("--frozen", "--frozen --quiet")
    assert f"$(LOCKER) {recipe}" in makefile          # `make lock` writes it so
    out = tmp_path / "requirements.txt"
    args = command[1:command.index("--output-file")] + ["--output-file", str(out)]
    subprocess.run([uv(), *args, "--quiet"], cwd=ROOT, check=True, timeout=120)
    body = (ROOT / "requirements.txt").read_text().split("\n", 2)[2]   # after the header
    assert out.read_text().split("\n", 2)[2] == body
    blocks = re.split(r"\n(?=[a-z0-9])", body)                          # one per package
    assert len(blocks) == len(lockfile.pinned_lines(body)) > 50
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}", block) for block in blocks)


def test_every_locked_package_has_its_hashes():
    lock = lockfile.read(ROOT / "uv.lock")
    for package in lock["package"]:
        if package["name"] == "jakisurvey":
            continue
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(f["hash"].startswith("sha256:") for f in files), package["name"]


def test_environment_yml_takes_its_versions_from_the_lock():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = (ROOT / "requirements.txt").read_text()
    assert (ROOT / "environment.yml").read_text() == lockfile.environment_yml(requirements,
                                                                                pyproject)
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert pip[-1] == "-e ." and pip[:-1] == lockfile.pinned_lines(requirements)
    assert "pandas==3.1.1" in pip                 # the whole tree, not only what pyproject names
    quarto = next(d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("quarto"))
    extra = pyproject["project"]["optional-dependencies"]["quarto"]
    assert len(extra) == 1 and re.fullmatch(r"quarto-cli==\d+\.\d+\.\d+", extra[0])   # pinned
    assert quarto.split("=")[1] == ".".join(extra[0].split("==")[1].split(".")[:2])  # same minor


def dry_run(*args: str) -> str:
    """What `make setup` would run (every step, as if nothing were installed)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return subprocess.run(["make", "--no-print-directory", "-n", "-B", "setup", *args], cwd=ROOT,
                          capture_output=True, text=True, check=True, env=env).stdout


def test_setup_installs_the_lock_with_uv_or_with_pip_from_its_export():
    with_uv, with_pip = dry_run("UV=/opt/uv/bin/uv"), dry_run("UV=")
    for steps in (with_uv, with_pip):
        assert steps.splitlines()[0].endswith("-m jakisurvey.lockfile check")   # first
    assert "/opt/uv/bin/uv sync --locked" in with_uv and "pip" not in with_uv
    pip = " ".join(with_pip.replace("\\\n", " ").split())
    assert "pip install" in pip and "--require-hashes --no-deps -r requirements.txt" in pip
    assert "--no-deps --no-build-isolation -e ." in pip       # the backend from the lock, too
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert build["build-system"]["requires"] == build["dependency-groups"]["build"]


def test_this_environment_is_the_locked_one():
    """`make setup` installed exactly what the lock pins (with uv or with pip, whichever ran)."""
    env = lockfile.environment()
    assert env["lock"] == "uv.lock" and env["sha256"] == lockfile.sha256(ROOT / "uv.lock")
    assert env["differs"] == [] and env["as_locked"] is True


def test_installed_versions_come_from_metadata_folder_names():
    found = lockfile.installed_versions(["pypandoc_binary-1.17.dist-info", "PyYAML-6.0.3.dist-info",
                                         "pandas-3.1.1.dist-info", "pandas-2.0.0.dist-info",
                                         "jakisurvey.egg-info", "foo-1.0-py3.11.egg-info"])
    assert found == {"pypandoc-binary": "1.17", "pyyaml": "6.0.3", "pandas": "3.1.1",
                     "jakisurvey": None, "foo": "1.0"}     # the first found wins, as for imports


LOCK = {"package": [
    {"name": "jakisurvey", "version": "0.1.0", "dependencies": [
        {"name": "pandas"}, {"name": "colorama", "marker": "sys_platform == 'never'"},
        {"name": "pyproj", "version": "3.7.2", "marker": "python_full_version < '3.0'"},
        {"name": "pyproj", "version": "3.8.0", "marker": "python_full_version >= '3.0'"}],
     "optional-dependencies": {"dev": [{"name": "pytest"}]}},
    {"name": "pandas", "version": "3.1.1", "dependencies": [{"name": "numpy"}]},
    {"name": "numpy", "version": "2.4.6"}, {"name": "colorama", "version": "0.4.6"},
    {"name": "pyproj", "version": "3.7.2"}, {"name": "pyproj", "version": "3.8.0"},
    {"name": "pytest", "version": "9.2.0"}]}


def test_the_lock_pins_what_this_platform_needs():
    assert lockfile.locked(LOCK) == {"pandas": "3.1.1", "numpy": "2.4.6", "pyproj": "3.8.0"}
    assert lockfile.locked(LOCK, ("dev",))["pytest"] == "9.2.0"


def test_a_differing_environment_is_listed_package_by_package():
    pins = lockfile.locked(LOCK)
    differs = lockfile.differences(pins, {"pandas": "3.0.6", "numpy": "2.4.6"})
    assert differs == [{"package": "pandas", "locked": "3.1.1", "installed": "3.0.6"},
                       {"package": "pyproj", "locked": "3.8.0", "installed": None}]
    env = {"lock": "uv.lock", "sha256": "ab" * 32, "as_locked": False, "differs": differs}
    line = lockfile.warning(env)
    assert line.startswith("environment: 2 package(s) differ from uv.lock: pandas 3.0.6 "
                           "(locked 3.1.1), pyproj missing (locked 3.8.0)")
    assert lockfile.warning({**env, "as_locked": True, "differs": []}) is None
    assert lockfile.warning({"lock": None, "as_locked": False, "differs": []}).startswith(
        "environment: no uv.lock beside the project")


def test_an_unreadable_lock_is_a_warning_not_a_refusal(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text("version = 1\n[[package]\n")
    env = lockfile.environment(lock)
    assert env["lock"] == "uv.lock" and env["as_locked"] is False and env["unreadable"]
    assert lockfile.warning(env).startswith("environment: uv.lock cannot be read (")
