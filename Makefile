# Two entry points: `make demo` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.distill-installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The main job on the embedded example: its plan, then every release bundle under releases/ for
# every dialect (byte-identical to what is committed: "unchanged"), then a verify with a rebuild.
demo: $(STAMP)
	$(BIN)/distill plan --from base --to heads
	$(BIN)/distill release --all --archive
	for a in releases/*.tar.gz; do $(BIN)/distill verify "$$a" --rebuild || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist
