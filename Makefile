# Two commands on a fresh machine:
#   make serve   -> installs the package into .venv and runs the service on its embedded default
#   make test    -> installs system packages (Redis, PostgreSQL, Chromium, CJK fonts) and runs every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test lint bench fuzz system-deps clean

$(BIN)/ocr-service: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

serve: $(BIN)/ocr-service
	$(BIN)/ocr-service serve --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/install-system-deps.sh

test: system-deps $(BIN)/ocr-service
	$(BIN)/ruff check .
	bash scripts/audit.sh   # pip-audit with dated waivers + version floors
	$(BIN)/pytest

lint: $(BIN)/ocr-service
	$(BIN)/ruff check .
	$(BIN)/ruff format --check pipelines models

bench: $(BIN)/ocr-service
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_id.py

fuzz: $(BIN)/ocr-service
	$(BIN)/pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python fuzz/run.py --minutes 5

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
