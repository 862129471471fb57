# The two commands a user types: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv, when it is on PATH, installs from uv.lock; without it pip installs from requirements.txt
# (the lock exported with its hashes). `make setup UV=` uses pip even where uv is installed.
UV ?= $(shell command -v uv 2>/dev/null)
# The locker: uv on PATH, else the one `make setup` installed (a locked dev dependency).
LOCKER := $(or $(UV),$(wildcard $(BIN)/uv))

.PHONY: setup lock report test test-fast synth benchmark clean

setup: $(STAMP)

# Exactly the locked versions, hash-checked, again only when the lock changes. First: is the
# lock in step with pyproject.toml? (one line saying to run `make lock` when it is not)
# Neither installer compiles every module of every package ahead (uv does not by default; pip
# is told so): Python compiles what is imported on first use, a second, not a minute here.
# Neither removes what else the venv holds (uv: --inexact), such as Quarto from the quarto extra.
$(STAMP): pyproject.toml uv.lock requirements.txt
	@PYTHONPATH=src $(PYTHON) -m jakisurvey.lockfile check
ifneq ($(UV),)
	$(UV) sync --locked --inexact --extra dev --python $(PYTHON) --no-python-downloads --quiet
else
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
		--require-hashes --no-deps -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
		--no-build-isolation -e .
endif
	touch $(STAMP)

# After a change to pyproject.toml: the lock made again (`uv lock --upgrade` for newer versions
# of everything), then exported for pip (requirements.txt) and conda (environment.yml).
lock:
	@test -n "$(LOCKER)" || { echo "make lock needs uv: pip install uv (or make setup, which \
	installs it in $(VENV))"; exit 1; }
	$(LOCKER) lock
	$(LOCKER) export --frozen --quiet --format requirements-txt --extra dev --group build \
		--no-emit-project --output-file requirements.txt
	PYTHONPATH=src $(PYTHON) -m jakisurvey.lockfile environment-yml

report: setup
	$(BIN)/jakisurvey run

test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The tests that need no kernel, browser or renderer (under 30 s): for working on the code.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

synth: setup
	$(BIN)/jakisurvey synth --n 229 --seed 20250301 --out data/synthetic/records.csv --force

benchmark: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/run.py

# Only what the tool made: the report folder, Quarto's build folder, the cache, standalone
# notebook output (the tool refuses to replace a report folder holding anything else).
clean:
	rm -rf _output _build _standalone .jakisurvey-cache .quarto .pytest_cache
