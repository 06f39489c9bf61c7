# Two entry points: `make certify` (the main job) and `make test` (the whole suite).
# Both create .venv and install the package with its test extra on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: certify test deps lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

certify: $(STAMP)
	$(BIN)/tmem-conformance matrix
	$(BIN)/tmem-conformance certify --backend simulator --profile ci -n auto --report certify-simulator.json

# System packages the tests use (chromium, gcc-multilib): installed as root, else the command to run.
deps:
	bash .ci/deps

test: deps $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check conformance models strategies candidates tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
