"""What the compatibility layer assumes: the source fingerprints of every Alembic original it
patches, wraps, copies or re-implements, as they are in TESTED_ALEMBIC."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os

import alembic
import sqlalchemy
from alembic.ddl.impl import DefaultImpl
from alembic.ddl.mssql import MSSQLImpl
from alembic.operations.base import AbstractOperations
from alembic.operations.batch import ApplyBatchImpl, BatchOperationsImpl
from alembic.runtime.migration import HeadMaintainer, MigrationContext, RevisionStep
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionMap

from ..compat import watch
from ..errors import UntestedAlembic
from . import versions

TESTED_ALEMBIC = "1.20.1"

# (owner, attribute) of each original a patch, wrapper, copy or re-implementation depends on.
CHECKED: dict[str, tuple[type, str]] = {
    "HeadMaintainer._insert_version": (HeadMaintainer, "_insert_version"),
    "HeadMaintainer._delete_version": (HeadMaintainer, "_delete_version"),
    "HeadMaintainer._update_version": (HeadMaintainer, "_update_version"),
    "HeadMaintainer.update_to_step": (HeadMaintainer, "update_to_step"),
    "HeadMaintainer.__init__": (HeadMaintainer, "__init__"),
    "ApplyBatchImpl._grab_table_elements": (ApplyBatchImpl, "_grab_table_elements"),
    "ApplyBatchImpl.alter_column": (ApplyBatchImpl, "alter_column"),
    "ApplyBatchImpl.drop_column": (ApplyBatchImpl, "drop_column"),
    "RevisionStep.merge_branch_idents": (RevisionStep, "merge_branch_idents"),
    "RevisionStep._unmerge_to_revisions": (RevisionStep, "_unmerge_to_revisions"),
    "RevisionStep.__init__": (RevisionStep, "__init__"),
    "DefaultImpl._exec": (DefaultImpl, "_exec"),
    "DefaultImpl.alter_column": (DefaultImpl, "alter_column"),
    "DefaultImpl.create_table": (DefaultImpl, "create_table"),
    "MSSQLImpl.bulk_insert": (MSSQLImpl, "bulk_insert"),
    "RevisionMap._topological_sort": (RevisionMap, "_topological_sort"),
    "RevisionMap._collect_upgrade_revisions": (RevisionMap, "_collect_upgrade_revisions"),
    "RevisionMap._collect_downgrade_revisions": (RevisionMap, "_collect_downgrade_revisions"),
    "ScriptDirectory._upgrade_revs": (ScriptDirectory, "_upgrade_revs"),
    "ScriptDirectory._downgrade_revs": (ScriptDirectory, "_downgrade_revs"),
    "AbstractOperations.invoke": (AbstractOperations, "invoke"),
    "BatchOperationsImpl.flush": (BatchOperationsImpl, "flush"),
    # replaced on a shadow rendering's context where transactional_ddl is off (shadow.attach)
    "MigrationContext.autocommit_block": (MigrationContext, "autocommit_block"),
}

# The sha256 (first 16 hex digits) of each original's source, per Alembic version that was read
# and found to fit. A change means: read the new original, adapt the patch, add the version here.
# 1.13.3 and 1.16.5 are the CI corners (make corners): their originals differ from 1.20.1's in
# type annotations, in what batch mode does with a reflected table (never offline) and in
# create_table's test for a comment (versions.comment_is_set).
FINGERPRINTS: dict[str, dict[str, str]] = {
    "1.13.3": {
        "HeadMaintainer._insert_version": "1fd0b659e3d6908e",
        "HeadMaintainer._delete_version": "dc7b35abab12103b",
        "HeadMaintainer._update_version": "2ca6a7be41c956bc",
        "HeadMaintainer.update_to_step": "36a921819588bb37",
        "HeadMaintainer.__init__": "b69d1974c2d97818",
        "ApplyBatchImpl._grab_table_elements": "bc3681121f382257",
        "ApplyBatchImpl.alter_column": "2d703156e4967939",
        "ApplyBatchImpl.drop_column": "fa38adcc8a88e002",
        "RevisionStep.merge_branch_idents": "a0ba4f4e286f8600",
        "RevisionStep._unmerge_to_revisions": "cd35d6c482f6d431",
        "RevisionStep.__init__": "51216a0c805d0a0e",
        "DefaultImpl._exec": "cdfa03d8e48feba9",
        "DefaultImpl.alter_column": "65038965b438e299",
        "DefaultImpl.create_table": "33d2fbc261de6e54",
        "MSSQLImpl.bulk_insert": "e42dc22f4692b1cb",
        "RevisionMap._topological_sort": "3428d6812c73c489",
        "RevisionMap._collect_upgrade_revisions": "3a3c296af7d2d81c",
        "RevisionMap._collect_downgrade_revisions": "f53ddf201eee1cf6",
        "ScriptDirectory._upgrade_revs": "2f9264c85571be42",
        "ScriptDirectory._downgrade_revs": "fd3e26e6b31d2f79",
        "AbstractOperations.invoke": "adbcdf2fdd4c08d7",
        "BatchOperationsImpl.flush": "570042248e7901ff",
        "MigrationContext.autocommit_block": "12cdace853c95168",
    },
    "1.16.5": {
        "HeadMaintainer._insert_version": "1fd0b659e3d6908e",
        "HeadMaintainer._delete_version": "dc7b35abab12103b",
        "HeadMaintainer._update_version": "2ca6a7be41c956bc",
        "HeadMaintainer.update_to_step": "36a921819588bb37",
        "HeadMaintainer.__init__": "b69d1974c2d97818",
        "ApplyBatchImpl._grab_table_elements": "bc3681121f382257",
        "ApplyBatchImpl.alter_column": "2d703156e4967939",
        "ApplyBatchImpl.drop_column": "fa38adcc8a88e002",
        "RevisionStep.merge_branch_idents": "a0ba4f4e286f8600",
        "RevisionStep._unmerge_to_revisions": "cd35d6c482f6d431",
        "RevisionStep.__init__": "51216a0c805d0a0e",
        "DefaultImpl._exec": "cdfa03d8e48feba9",
        "DefaultImpl.alter_column": "bbd45266a74a4c6d",
        "DefaultImpl.create_table": "33d2fbc261de6e54",
        "MSSQLImpl.bulk_insert": "e42dc22f4692b1cb",
        "RevisionMap._topological_sort": "3428d6812c73c489",
        "RevisionMap._collect_upgrade_revisions": "3a3c296af7d2d81c",
        "RevisionMap._collect_downgrade_revisions": "f53ddf201eee1cf6",
        "ScriptDirectory._upgrade_revs": "2f9264c85571be42",
        "ScriptDirectory._downgrade_revs": "fd3e26e6b31d2f79",
        "AbstractOperations.invoke": "adbcdf2fdd4c08d7",
        "BatchOperationsImpl.flush": "570042248e7901ff",
        "MigrationContext.autocommit_block": "12cdace853c95168",
    },
    "1.20.1": {
        "HeadMaintainer._insert_version": "1fd0b659e3d6908e",
        "HeadMaintainer._delete_version": "dc7b35abab12103b",
        "HeadMaintainer._update_version": "2ca6a7be41c956bc",
        "HeadMaintainer.update_to_step": "fc6423b214669e3d",
        "HeadMaintainer.__init__": "b69d1974c2d97818",
        "ApplyBatchImpl._grab_table_elements": "3642f9501b3d3cdb",
        "ApplyBatchImpl.alter_column": "a703ada7693efe0d",
        "ApplyBatchImpl.drop_column": "30a0ed6ea4fab96e",
        "RevisionStep.merge_branch_idents": "01be94b34c497422",
        "RevisionStep._unmerge_to_revisions": "52dd56c5cc486def",
        "RevisionStep.__init__": "51216a0c805d0a0e",
        "DefaultImpl._exec": "39c947398da12e04",
        "DefaultImpl.alter_column": "e5b7dccac71f5d9a",
        "DefaultImpl.create_table": "43cc220341a0d60d",
        "MSSQLImpl.bulk_insert": "4508e33f20d1acf7",
        "RevisionMap._topological_sort": "a18356b32bae0896",
        "RevisionMap._collect_upgrade_revisions": "47f91b9cfc5eb68e",
        "RevisionMap._collect_downgrade_revisions": "77705eabcb70ffef",
        "ScriptDirectory._upgrade_revs": "049c673c15153043",
        "ScriptDirectory._downgrade_revs": "3c80da16e9a494c4",
        "AbstractOperations.invoke": "adbcdf2fdd4c08d7",
        "BatchOperationsImpl.flush": "5fc046970c191113",
        "MigrationContext.autocommit_block": "6c2d3eb63446285e",
    },
}


# Set to 1, it lets distill run on an Alembic whose patched originals differ from every version read
ALLOW_UNTESTED = "DISTILL_ALLOW_UNTESTED_ALEMBIC"
_found: dict[tuple[object, ...], list[str]] = {}  # the originals found -> the changed ones


def fingerprint(owner: type, attribute: str) -> str | None:
    """The first 16 hex digits of the sha256 of the source of ``owner.attribute``; None when it
    is gone (or has no source to read)."""
    original = getattr(owner, attribute, None)
    try:
        source = inspect.getsource(original)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def changed_originals() -> list[str]:
    """The originals (as found now) whose source matches none of the versions that were read, or
    that are gone; read once per set of originals."""
    key = tuple(getattr(owner, attribute, None) for owner, attribute in CHECKED.values())
    if key not in _found:
        for path in library_sources():  # the bytes the verdict is read from
            _verdict_read.setdefault(path, watch.file_digest(path))
        _found[key] = [name for name, where in CHECKED.items()
                       if fingerprint(*where) not in {known[name] for known in FINGERPRINTS.values()}]
    return _found[key]


_verdict_read: dict[str, str | None] = {}  # library source -> digest of its bytes when first checked


def library_sources() -> list[str]:
    """The files whose bytes decide the compatibility verdict and its warning: the source of every
    patched original (``CHECKED``: its class's file and its own) and the files that give Alembic's
    and SQLAlchemy's versions."""
    found = {inspect.getsourcefile(alembic), inspect.getsourcefile(sqlalchemy)}
    for owner, attribute in CHECKED.values():
        found.add(inspect.getsourcefile(owner))
        with contextlib.suppress(TypeError):
            found.add(inspect.getsourcefile(inspect.unwrap(getattr(owner, attribute, owner))))
    return sorted(os.path.abspath(path) for path in found if path)


def checked_sources() -> dict[str, str | None] | None:
    """``library_sources`` with the digests of their bytes when the compatibility verdict was
    read from them (a whole result found before Alembic is imported, or checked, depends on them);
    None when one changed since (a reinstall during the run: the verdict may not be theirs)."""
    changed_originals()
    now = {path: watch.file_digest(path) for path in library_sources()}
    if any(_verdict_read.get(path, digest) != digest for path, digest in now.items()):
        return None
    return now


def require_compatible() -> None:
    """UntestedAlembic (one paragraph: what changed, the tested versions, ``ALLOW_UNTESTED``) when
    an original distill patches is gone, or differs from every version read and the user did not
    set ``ALLOW_UNTESTED=1``. Call it only while the originals are in place (not patched)."""
    changed = changed_originals()
    gone = [name for name in changed if getattr(*CHECKED[name], None) is None]
    if not changed or (not gone and os.environ.get(ALLOW_UNTESTED) == "1"):
        return
    differ = [name for name in changed if name not in gone]
    what = "; ".join(part for part in (
        f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} gone" if gone else "",
        f"{', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} from every tested version"
        if differ else "") if part)
    low, high = versions.SUPPORTED["alembic"]
    message = (f"Alembic {alembic.__version__} (with SQLAlchemy {sqlalchemy.__version__}) changed "
               f"internals that distill patches to render SQL: {what}. distill was tested with "
               f"{versions.tested_range()} (CI runs Alembic {', '.join(sorted(FINGERPRINTS))}), so it "
               "stops rather than write SQL that may be wrong. Install a tested Alembic (pip install "
               f"'alembic>={low[0]}.{low[1]},<{high[0]}.{high[1]}')")
    if gone:
        message += (f"; {ALLOW_UNTESTED}=1 lets distill try an Alembic whose internals differ, but not "
                    "one without an internal it patches")
    else:
        message += f", or set {ALLOW_UNTESTED}=1 to try this one anyway and review every SQL file it writes"
    raise UntestedAlembic(message + ".")


def compatibility_warning() -> str | None:
    """One line for stderr when Alembic or SQLAlchemy is outside the tested range or this
    Alembic's patched originals were not read; None when everything was tested."""
    outside = versions.untested()
    unread = alembic.__version__ not in FINGERPRINTS
    if not outside and not unread and not changed_originals():
        return None
    what = ", ".join(outside) if outside else f"alembic {alembic.__version__}"
    message = (f"distill: warning: {what} was not tested with distill (tested: {versions.tested_range()}; "
               "CI runs Alembic " + ", ".join(sorted(FINGERPRINTS)) + ")")
    changed = changed_originals()
    if changed:
        message += (f"; these Alembic internals that distill patches differ from every tested version: "
                    f"{', '.join(changed)}. Review the SQL before use, or install a tested version")
    return message
