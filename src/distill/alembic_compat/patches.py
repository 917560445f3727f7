"""Process-wide patches of Alembic classes while rendering (``alembic_patched``, re-entrant)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from alembic.operations.base import AbstractOperations
from alembic.operations.batch import ApplyBatchImpl, BatchOperationsImpl
from alembic.runtime.migration import HeadMaintainer, RevisionStep

from ..statements.findings import DESTRUCTIVE, annotation, implied_annotations, parse_annotation
from ..statements.guards import version_row_check
from . import fingerprints
from .impl import LiteralsKeptImpl, note_type_change
from .operations import invoke_noting_origin
from .revisions import ancestor_ids
from .shadow import flush_reflecting


def _constraint_key(constraint: Any) -> tuple[str, str, str]:
    columns = ",".join(sorted(c.name for c in getattr(constraint, "columns", ())))
    return (type(constraint).__name__, str(constraint.name or ""), columns)


def _grab_sorted(self: ApplyBatchImpl) -> None:
    _ORIGINALS[ApplyBatchImpl, "_grab_table_elements"](self)
    self.named_constraints = dict(sorted(self.named_constraints.items()))
    self.unnamed_constraints.sort(key=_constraint_key)
    self.indexes = dict(sorted(self.indexes.items(), key=lambda item: str(item[0])))


def _merge_branch_idents(self: RevisionStep, heads):
    """Alembic's RevisionStep.merge_branch_idents, keeping from_revisions' order."""
    other_heads = set(heads).difference(self.from_revisions)
    from_revisions = list(self.from_revisions)
    if other_heads:
        ancestors = ancestor_ids(self.revision_map, other_heads)
        from_revisions = [r for r in from_revisions if r not in ancestors]
    return from_revisions[0:-1], from_revisions[-1], self.to_revisions[0]


def _unmerge_to_revisions(self: RevisionStep, heads) -> tuple[str, ...]:
    """Alembic's RevisionStep._unmerge_to_revisions, keeping to_revisions' order, and without
    its walk over every ancestor when there is nothing to deduplicate (O(N^2) downgrades)."""
    to_revisions = self.to_revisions
    other_heads = set(heads).difference([self.revision.revision])
    if other_heads:
        ancestors = ancestor_ids(self.revision_map, other_heads)
    elif len(to_revisions) <= 1:
        return tuple(to_revisions)
    else:
        ancestors = {r for to_revision in to_revisions
                     for r in ancestor_ids(self.revision_map, to_revision)
                     if r != to_revision}
    return tuple(r for r in to_revisions if r not in ancestors)


def _batch_alter_column(self: ApplyBatchImpl, table_name, column_name, *args, **kw):
    note_type_change(self.impl, table_name, column_name, kw)
    dialect = getattr(self.impl, "distill_dialect", None)
    renamed = kw.get("name")
    if dialect is not None and renamed and renamed != column_name:  # the copy holds it under its new name
        for found in implied_annotations(dialect, f"ALTER TABLE {table_name} RENAME COLUMN {column_name} TO "
                                                  f"{renamed}"):
            self.impl.output_buffer.add(found)
    return _ORIGINALS[ApplyBatchImpl, "alter_column"](self, table_name, column_name, *args, **kw)


def _batch_drop_column(self: ApplyBatchImpl, table_name, column, **kw):
    dialect = getattr(self.impl, "distill_dialect", None)
    if dialect is not None:  # the recreated table simply lacks the column: say so
        found = implied_annotations(dialect, f"ALTER TABLE {table_name} DROP COLUMN {column.name}")
        if not any(parse_annotation(a)[0] == DESTRUCTIVE for a in found):  # a name the rules cannot read
            found.insert(0, annotation(dialect, DESTRUCTIVE,
                                       f"drops column {table_name}.{column.name} and its data"))
        for statement in found:
            self.impl.output_buffer.add(statement)
    return _ORIGINALS[ApplyBatchImpl, "drop_column"](self, table_name, column, **kw)


def _offline_impl(maintainer: HeadMaintainer) -> LiteralsKeptImpl | None:
    impl = maintainer.context.impl
    return impl if impl.as_sql and isinstance(impl, LiteralsKeptImpl) else None


def _insert_version(self: HeadMaintainer, version: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_insert_version"](self, version)
    assert version not in self.heads
    self.heads.add(version)
    impl._exec(impl.version_sql("insert", version=version))


def _delete_version(self: HeadMaintainer, version: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_delete_version"](self, version)
    self.heads.remove(version)
    impl._exec(impl.version_sql("delete", version=version))
    _one_row_changed(impl, version)


def _update_version(self: HeadMaintainer, from_: str, to_: str) -> None:
    impl = _offline_impl(self)
    if impl is None:
        return _ORIGINALS[HeadMaintainer, "_update_version"](self, from_, to_)
    assert to_ not in self.heads
    self.heads.remove(from_)
    self.heads.add(to_)
    impl._exec(impl.version_sql("update", **{"from": from_, "to": to_}))
    _one_row_changed(impl, from_)


def _one_row_changed(impl: LiteralsKeptImpl, revision: str) -> None:
    # online Alembic checks the row count of these two; the script checks it where it can
    check = version_row_check(impl.distill_dialect, impl.distill_version_table.name, revision)
    if check is not None:
        impl.output_buffer.add(check)


PATCHES: dict[tuple[type, str], Callable[..., Any]] = {
    (HeadMaintainer, "_insert_version"): _insert_version,
    (HeadMaintainer, "_delete_version"): _delete_version,
    (HeadMaintainer, "_update_version"): _update_version,
    (ApplyBatchImpl, "_grab_table_elements"): _grab_sorted,
    (ApplyBatchImpl, "alter_column"): _batch_alter_column,
    (ApplyBatchImpl, "drop_column"): _batch_drop_column,
    (RevisionStep, "merge_branch_idents"): _merge_branch_idents,
    (RevisionStep, "_unmerge_to_revisions"): _unmerge_to_revisions,
    (AbstractOperations, "invoke"): invoke_noting_origin,
    (BatchOperationsImpl, "flush"): flush_reflecting,
}
_ORIGINALS: dict[tuple[type, str], Callable[..., Any]] = {}  # read on the way in, once checked
_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def alembic_patched() -> Iterator[None]:
    """While inside (re-entrant: only the outermost exit restores Alembic's own methods):
    Alembic's set-ordered choices follow a fixed order, downgrade bookkeeping is linear, and
    batch mode reports the columns it drops and the types it narrows. UntestedAlembic, with
    nothing patched, when an original it replaces changed or is gone (``require_compatible``)."""
    global _depth
    with _lock:
        if _depth == 0:
            fingerprints.require_compatible()
            _ORIGINALS.update({key: getattr(*key) for key in PATCHES})
            for (owner, name), replacement in PATCHES.items():
                setattr(owner, name, replacement)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (owner, name), original in _ORIGINALS.items():
                    setattr(owner, name, original)


def require_compatible() -> None:
    """``fingerprints.require_compatible``, unless the patches are in place (then it passed)."""
    with _lock:
        if _depth == 0:
            fingerprints.require_compatible()
