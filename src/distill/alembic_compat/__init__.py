"""Every place distill reaches into Alembic's or SQLAlchemy's internals, and nowhere else.

Checked against Alembic 1.20.1 (``TESTED_ALEMBIC``). Each original distill patches, wraps, copies
or re-implements has its source fingerprint in ``fingerprints.FINGERPRINTS``;
tests/test_alembic_compat.py fails when one of them changes, so a new Alembic cannot silently
change what a patch assumes.

* ``revisions``: reading the revision map (private attributes and methods).
* ``environment``: driving an EnvironmentContext, the version table, skipped steps, the version
  bookkeeping without SQL.
* ``impl``: corrections of one migration context while rendering offline (``patch_context``):
  literals kept exact (``DefaultImpl._exec`` copied); version-table RETURNING off (the version
  INSERT would carry ``RETURNING`` on PostgreSQL and SQLite, ``OUTPUT inserted...`` on SQL Server,
  ``RETURNING ... INTO :ret_0`` on Oracle); version-table statements compiled once per run;
  SQL Server's IDENTITY_INSERT only where the rows carry an identity column; lossy type changes
  annotated.
* ``patches``: process-wide patches while rendering (``alembic_patched``, re-entrant): batch mode
  and the version bookkeeping in a fixed order instead of set order (the SQL changed with
  PYTHONHASHSEED), a downgrade's bookkeeping without a walk over every ancestor at every step
  (O(N^2)), batch-mode column drops and type changes annotated, and where each operation queued
  in a batch block was asked for.
* ``process``: while revision scripts load or render, ``os._exit()`` raises SystemExit and
  ``os.fork()`` raises ``ForkRefused`` (``process_kept``), so a script cannot end distill without a
  word or leave a copy of it running.
* ``versions``: which Alembic and SQLAlchemy run here, the supported range, and one named branch
  per difference between versions that distill depends on.
* ``watch``: for the render cache's keys, the bytes each module was imported from
  (``SourceFileLoader.exec_module`` wrapped) and the files opened while loading and rendering (an
  audit hook).
* ``operations``: what a failure's traceback says about the operation that failed (for the
  diagnosis), and counting queries a revision sends through ``op.get_bind()`` offline.

Everything else in distill imports from here, never from Alembic's private names.
"""

from ..errors import UntestedAlembic


def _gone(exc: ImportError) -> str:
    """The paragraph for a name distill imports from Alembic that this Alembic does not have."""
    from importlib import metadata

    text = str(exc)
    name = text.split("'")[1] if text.startswith("cannot import name '") else text
    where = f"{exc.name}.{name}" if exc.name else name
    try:  # versions imports only Alembic's public Config
        from .versions import SUPPORTED, tested_range
        (low_major, low_minor), (high_major, high_minor) = SUPPORTED["alembic"]
        tested = (f"distill was tested with {tested_range()}: install a tested Alembic (pip install "
                  f"'alembic>={low_major}.{low_minor},<{high_major}.{high_minor}')")
    except ImportError:
        tested = "install an Alembic distill was tested with (the README lists them)"
    return (f"Alembic {metadata.version('alembic')} has no {where}, which distill reaches into to render "
            f"SQL, so distill stops rather than write SQL that may be wrong. {tested}")


try:  # a class or function Alembic removed fails here: one paragraph, exit 2, not a traceback
    from .environment import heads_after, run_env, skipped_step, version_table_of
    from .fingerprints import TESTED_ALEMBIC, checked_sources, compatibility_warning, library_sources
    from .impl import patch_context
    from .operations import (
        FailedOperation,
        OfflineResult,
        ResultUsed,
        failed_operation,
        is_offline_connection,
        offline_bind_results,
        raised_by_inspection,
        unrenderable_literal,
        unsupported_type,
        warned_by_alembic,
    )
    from .patches import alembic_patched, require_compatible
    from .process import ForkRefused, process_kept
    from .revisions import (
        ancestor_ids,
        collect_revisions,
        declared_parents,
        downgrade_step,
        online_steps,
        parent_table,
        revision_ids,
        steps_from,
        upgrade_step,
        version_locations,
    )
    from .shadow import CannotRender, ShadowLink
    from .shadow import attach as attach_shadow
    from .shadow import detach as detach_shadow
    from .versions import TOML_CONFIG, alembic_config
except ImportError as exc:
    raise UntestedAlembic(_gone(exc)) from None

__all__ = [
    "CannotRender", "FailedOperation", "ForkRefused", "OfflineResult", "ResultUsed", "ShadowLink",
    "TESTED_ALEMBIC", "TOML_CONFIG", "alembic_config", "alembic_patched", "ancestor_ids", "attach_shadow",
    "checked_sources",
    "collect_revisions", "compatibility_warning", "declared_parents", "detach_shadow", "downgrade_step",
    "failed_operation", "heads_after", "is_offline_connection", "library_sources", "offline_bind_results",
    "online_steps",
    "parent_table", "patch_context", "process_kept", "raised_by_inspection", "require_compatible",
    "revision_ids", "run_env", "skipped_step", "steps_from", "unrenderable_literal", "unsupported_type",
    "upgrade_step", "version_locations", "version_table_of", "warned_by_alembic",
]
