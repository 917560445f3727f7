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
CORNER_TESTS := tests/test_apply_real.py tests/test_literals_real.py tests/test_guards_real.py \
                tests/test_bundle_apply_real.py tests/test_rehearse_paths.py tests/test_diagnosis.py \
                tests/test_errors.py tests/test_notices.py tests/test_upgrade_only.py tests/test_set_order.py \
                tests/test_version_table_from_env.py tests/test_alembic_compat.py tests/test_versions.py \
                tests/test_shadow.py tests/test_two_appliers.py tests/test_timeouts.py \
                tests/test_applied_record.py tests/test_status.py tests/test_data_loss.py \
                tests/test_startup.py tests/test_workers.py tests/test_progress.py \
                tests/test_exits.py tests/test_session_settings.py tests/test_shadow_writes.py \
                tests/test_shadow_url.py tests/test_rehearse_data.py

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
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(CORNER_TESTS); \
	done

clean:
	rm -rf $(VENV) .venv-corner-* build dist
