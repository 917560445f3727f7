# Two entry points: `make demo` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.distill-installed
DEMO   := build/demo

.PHONY: demo test lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The main job on the embedded example: the plan, then upgrade and downgrade SQL for every dialect.
demo: $(STAMP)
	$(BIN)/distill plan --from base --to heads
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	for d in postgresql mysql mariadb sqlite oracle mssql; do \
	  $(BIN)/distill sql --from base --to heads --dialect $$d -o $(DEMO)/$$d.upgrade.sql && \
	  $(BIN)/distill sql --down --from heads --to base --dialect $$d -o $(DEMO)/$$d.downgrade.sql || exit 1; \
	done
	@echo "SQL written to $(DEMO)/"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist
