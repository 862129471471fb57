# The two commands a user types: `make report` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup report test test-fast synth benchmark clean

setup: $(STAMP)

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

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
