# The two commands of the README: `make serve` and `make test`. Both create .venv on demand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

FUNCTIONS := ApiFunction OutboxFunction ProgressFunction SweeperFunction

.PHONY: serve test test-fast lint typecheck contracts template pytest clean lock $(FUNCTIONS:%=build-%)

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

# The inner loop: lint, types, contracts and the tests not marked slow (no servers, no
# subprocesses, no artifact build), without coverage.
test-fast: lint typecheck contracts
	$(BIN)/python -m pytest -q -m "not slow"

# Called by `sam build` (BuildMethod: makefile) with ARTIFACTS_DIR: the handlers' packages and
# the locked dependencies (requirements/lambda.txt), pruned to what the functions load and
# compiled by the template's Python (see tools/artifact.py). All pure Python, so the same
# package serves x86_64 and arm64. LAMBDA_PYTHON names that Python; if it cannot be found
# (nor under pyenv), the build compiles for $(PYTHON) and says so. Every function of the
# template runs the same artifact (its Handler differs): one target per function, as SAM
# calls build-<LogicalId>, and one recipe.
LAMBDA_PYTHON ?= python3.13
$(FUNCTIONS:%=build-%):
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it, or pass ARTIFACTS_DIR=dir))
	$(PYTHON) tools/artifact.py build "$(ARTIFACTS_DIR)" --python "$(LAMBDA_PYTHON)"

# Regenerates requirements/lambda.txt from the aws extra (LOCK_FLAGS=--upgrade moves the pins).
lock: $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(BIN)/python tools/artifact.py lock $(LOCK_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
