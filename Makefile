# The two commands of the README: `make serve` and `make test`. Both create .venv on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: serve test lint typecheck contracts template pytest clean build-ApiFunction

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record which extras are installed for the current pyproject.toml.
$(VENV)/.server-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.server-installed

serve: $(VENV)/.server-installed
	$(BIN)/blueprint-jobs serve --host $(HOST) --port $(PORT) --storage memory

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

template: $(VENV)/.dev-installed
	$(BIN)/cfn-lint template.yaml

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

contracts: $(VENV)/.dev-installed
	$(BIN)/lint-imports

pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest --cov --cov-report=term
	@# The 90% floor holds for each layer, not only for their sum.
	@for layer in domain ports adapters entrypoints; do \
		$(BIN)/coverage report --include="$$layer/*" --fail-under=90 > /dev/null \
			|| { echo "coverage of $$layer/ is under 90%"; exit 1; }; \
		echo "coverage of $$layer/: $$($(BIN)/coverage report --include="$$layer/*" --format=total)%"; \
	done

test: lint typecheck contracts template pytest

# Called by `sam build` (BuildMethod: makefile): the function's code is the project with its
# aws extra, all pure Python, so the package is the same on x86_64 and arm64.
build-ApiFunction:
	$(PYTHON) -m pip install --quiet --no-compile --target "$(ARTIFACTS_DIR)" '.[aws]'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
