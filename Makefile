# Two entry points: `make demo` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.distill-installed

.PHONY: demo test lint clean corners sqlparse-corners

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

# The version corners of the supported range (pyproject.toml): the oldest Alembic with SQLAlchemy
# 1.4, and Alembic 1.16 with SQLAlchemy 2.0, each in its own venv, running the tests that render
# and apply on real servers (the pinned newest runs the whole suite in `make test`). The committed
# releases rebuild byte for byte only with the pinned versions, so those tests are not among these.
CORNERS := alembic==1.13.3,sqlalchemy==1.4.54,psycopg2-binary==2.9.13 \
           alembic==1.16.5,sqlalchemy==2.0.58,psycopg[binary]==3.3.9
# Only what depends on the Alembic or SQLAlchemy version: rendering, applying rendered SQL, online
# Alembic, reflection, the compatibility layer. Left to `make test` alone: distill's own SQL
# (guards, timeouts, two appliers), the progress line, workers, start-up imports, and the exits and
# server starts that are about processes (CORNER_DESELECT).
CORNER_TESTS := tests/test_apply_real.py tests/test_literals_real.py \
                tests/test_bundle_apply_real.py tests/test_rehearse_paths.py tests/test_diagnosis.py \
                tests/test_errors.py tests/test_notices.py tests/test_upgrade_only.py tests/test_set_order.py \
                tests/test_version_table_from_env.py tests/test_alembic_compat.py tests/test_versions.py \
                tests/test_shadow.py tests/test_applied_record.py tests/test_status.py tests/test_data_loss.py \
                tests/test_exits.py tests/test_session_settings.py tests/test_shadow_writes.py \
                tests/test_shadow_url.py tests/test_rehearse_data.py
EXITS_CASE := tests/test_exits.py::test_every_command_ends_with_one_paragraph_naming_the_revision
CORNER_DESELECT := $(foreach case,sysexit osexit forks kills,--deselect '$(EXITS_CASE)[$(case)-') \
                   --deselect tests/test_exits.py::test_sigterm_stops_distill_and_everything_it_started \
                   --deselect tests/test_exits.py::test_a_killed_distill_leaves_no_worker_and_no_second_rendering \
                   --deselect tests/test_exits.py::test_a_thread_a_revision_leaves_running_does_not_hang_build_or_check \
                   --deselect tests/test_shadow.py::test_check_with_a_shadow_starts_one_server_per_dialect

# closed_forms (statements/closed_forms.py) is enabled only on the sqlparse versions listed in
# statements/styles.py (CLOSED_FORMS_SQLPARSE): each one is proven here, in one venv, by the tests
# that compare its layouts with sqlparse's byte for byte. SQLPARSE_VERSIONS="0.5.4" tries another.
SQLPARSE_TESTS := tests/test_closed_forms.py

sqlparse-corners:
	set -e; venv=.venv-corner-sqlparse; \
	test -x $$venv/bin/python || $(PYTHON) -m venv $$venv; \
	grep -v -E '^sqlparse' constraints.txt > $$venv/constraints.txt; \
	$$venv/bin/python -m pip install -q -c $$venv/constraints.txt -e . pytest hypothesis jsonschema pymysql; \
	versions="$(SQLPARSE_VERSIONS)"; test -n "$$versions" || versions=$$($$venv/bin/python -c \
	  'from distill.statements.styles import CLOSED_FORMS_SQLPARSE as v; print(*v)'); \
	for version in $$versions; do \
	  $$venv/bin/python -m pip install -q -c $$venv/constraints.txt sqlparse==$$version; \
	  echo "== corner sqlparse==$$version"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(SQLPARSE_TESTS); \
	done

corners: sqlparse-corners
	set -e; for corner in $(CORNERS); do \
	  name=$$(echo "$$corner" | cut -d, -f1-2 | tr -c 'a-z0-9.\n' '-'); venv=.venv-corner-$$name; \
	  test -x $$venv/bin/python || $(PYTHON) -m venv $$venv; \
	  grep -v -E '^(alembic|sqlalchemy|psycopg)' constraints.txt > $$venv/constraints.txt; \
	  $$venv/bin/python -m pip install -q -c $$venv/constraints.txt $$(echo "$$corner" | tr , ' ') \
	    -e . pytest hypothesis jsonschema pymysql; \
	  echo "== corner $$corner"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(CORNER_TESTS) $(CORNER_DESELECT); \
	done

clean:
	rm -rf $(VENV) .venv-corner-* build dist
