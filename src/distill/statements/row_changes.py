"""What a step does to existing rows, judged from its two directions side by side:

* ``not_restored``: the upgrade deletes or overwrites rows, and the downgrade writes nothing back
  into that table, so a downgrade leaves the data as the upgrade left it;
* ``probable_renames``: autogenerate's rename trap. A revision that drops a column and adds one
  of the same type to the same table (or drops a table and creates one with the same columns)
  is what autogenerate writes for a rename it did not recognise: the data is lost.

Both read statements normalised by the lexer (``findings.normalise``), ALTER TABLE action by
action (``statements.actions``), with the statement forms of ``dialects/_common.toml`` that the
findings and the schema summary read too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..dialects import Dialect
from .actions import forms
from .findings import normalise
from .lexer import top_level_parts
from .model import SQL, Statement
from .sequence import updated_columns

_WRITE = re.compile(r"^(?P<verb>INSERT INTO|UPDATE|DELETE FROM|MERGE INTO|REPLACE INTO) (?P<table>[^\s(]+)"
                    r"(?P<where>.* WHERE )?", re.I)
# where a column's type ends in its definition
_AFTER_TYPE = re.compile(r" (NOT NULL|NULL|DEFAULT|CONSTRAINT|REFERENCES|COLLATE|CHECK|PRIMARY|UNIQUE|"
                         r"GENERATED|AUTO_INCREMENT|IDENTITY|COMMENT)\b.*$", re.I)


def _key(name: str) -> str:
    return name.lower()


@dataclass
class StepChanges:
    """The row writes and schema changes of one step in one direction."""

    lost: dict[str, str] = field(default_factory=dict)  # table -> "deletes rows from" / "overwrites"
    # (rows of a table created earlier in the same step were not there before it: not lost; nor
    # are values of columns the step added earlier: a backfill)
    overwritten: dict[str, set[str]] = field(default_factory=dict)  # table -> columns (None: unknown)
    inserted: set[str] = field(default_factory=set)  # tables it inserts rows into (or merges)
    updated: dict[str, set[str]] = field(default_factory=dict)  # table -> columns it sets
    added: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, column) -> type
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (table, column)
    created: dict[str, str] = field(default_factory=dict)  # table -> its columns, names left out
    dropped_tables: list[str] = field(default_factory=list)


def _column_type(definition: str) -> str:
    return _AFTER_TYPE.sub("", definition).strip().upper().replace(" (", "(")


def _columns_shape(body: str) -> str:
    """A CREATE TABLE's column list without the column names (and without constraint names)."""
    parts = top_level_parts(body)
    return ", ".join(sorted(p.split(" ", 1)[1].upper() if " " in p else "" for p in parts
                            if not re.match(r"(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)\b", p, re.I)))


def changes(statements: Iterable[Statement], dialect: Dialect, version_table: str) -> StepChanges:
    """What one direction of a step writes and changes. ``version_table``: its name (its rows
    are bookkeeping, not data)."""
    out = StepChanges()
    for statement in statements:
        if statement.kind != SQL:
            continue
        full, top = normalise(statement.text, dialect)
        write = _WRITE.match(top)
        if write and _key(write["table"]) != _key(version_table):
            _write(out, _key(write["table"]), write["verb"].upper(), bool(write["where"]), top)
            continue
        for form, _ in forms(full, dialect.alter_actions):
            _schema_change(out, form, dialect)
    return out


def _schema_change(out: StepChanges, form: str, dialect: Dialect) -> None:
    """Take in one action form: a column added or dropped, a table created or dropped (the
    statement forms of dialects/_common.toml [grammar.forms])."""
    if (added := dialect.form("add_column").match(form)) and added["definition"]:
        out.added[_key(added["table"]), _key(added["column"])] = _column_type(added["definition"])
    elif dropped := dialect.form("drop_column").match(form):
        out.dropped.append((_key(dropped["table"]), _key(dropped["column"])))
    elif (created := dialect.form("create_table").match(form)) and created["body"] is not None:
        if not created["if_not_exists"]:  # IF NOT EXISTS may find the table there, rows and all
            out.created[_key(created["table"])] = _columns_shape(created["body"])
    elif dropped_table := dialect.form("drop_table").match(form):
        out.dropped_tables.append(_key(dropped_table["table"]))


def _write(out: StepChanges, table: str, verb: str, where: bool, top: str) -> None:
    """Take in one INSERT, UPDATE, DELETE, MERGE or REPLACE of ``table``."""
    if verb == "UPDATE":
        updated = updated_columns(top)
        columns = updated[1] if updated else {"*"}  # "*": a column it sets cannot be named
        out.updated.setdefault(table, set()).update(columns)
        backfill = updated is not None and all((table, c) in out.added for c in columns)
        if where and table not in out.created and not backfill:
            out.lost.setdefault(table, "overwrites rows of")
            out.overwritten.setdefault(table, set()).update(columns)
    elif verb == "DELETE FROM":
        if where and table not in out.created:
            out.lost[table] = "deletes rows from"
    else:
        out.inserted.add(table)


def _restores(downgrade: StepChanges, table: str, upgrade: StepChanges) -> bool:
    """Whether the downgrade writes back what the upgrade lost of ``table``: deleted rows only
    by inserting rows into it, overwritten values only by setting one of those columns again."""
    if upgrade.lost[table] == "deletes rows from":
        return table in downgrade.inserted
    columns = downgrade.updated.get(table, set())
    return "*" in columns or bool(columns & upgrade.overwritten.get(table, {"*"}))


def _not_restored(table: str, how: str, upgrade: StepChanges, downgrade: StepChanges) -> str:
    columns = sorted(upgrade.overwritten.get(table, set()) - {"*"})
    if how == "overwrites rows of" and table in downgrade.updated and columns:
        return (f"the upgrade overwrites {', '.join(columns)} in rows of {table}; the downgrade "
                f"sets none of them back")
    if how == "deletes rows from" and (table in downgrade.updated or table in downgrade.inserted):
        return f"the upgrade deletes rows from {table}; the downgrade inserts none back into {table}"
    return f"the upgrade {how} {table}; the downgrade writes nothing back into {table}"


# what comparing a step's two directions finds: the manifest's step keys, check's finding kinds
NOT_RESTORED, PROBABLE_RENAMES = "data_not_restored", "probable_renames"
STEP_VERDICTS = (NOT_RESTORED, PROBABLE_RENAMES)


@dataclass(frozen=True)
class StepVerdicts:
    """What comparing a step's upgrade with its downgrade finds (messages, in statement order)."""

    not_restored: list[str]
    probable_renames: list[str]


def step_verdicts(upgrade: StepChanges, downgrade: StepChanges) -> StepVerdicts:
    """The data a step's downgrade does not restore, and the drop + add pairs that look like a
    rename autogenerate did not recognise (``changes`` of each direction)."""
    not_restored = [_not_restored(table, how, upgrade, downgrade) for table, how in upgrade.lost.items()
                    if not _restores(downgrade, table, upgrade)]
    renames = []
    for table, column in upgrade.dropped:
        old_type = downgrade.added.get((table, column))  # the downgrade adds it back: its type
        for (added_table, new_column), new_type in upgrade.added.items():
            if added_table == table and new_column != column and old_type and new_type == old_type:
                renames.append(f"drop + add of {table}.{column}/{table}.{new_column}, same type "
                               f"({new_type}): a rename? the data in {column} is lost. Usual fix: "
                               f"op.alter_column(\"{table}\", \"{column}\", "
                               f"new_column_name=\"{new_column}\")")
    for table in upgrade.dropped_tables:
        shape = downgrade.created.get(table)
        for new_table, new_shape in upgrade.created.items():
            if new_table != table and shape and new_shape == shape:
                renames.append(f"drop + create of tables {table}/{new_table} with the same columns: a "
                               f"rename? the rows of {table} are lost. Usual fix: op.rename_table("
                               f"\"{table}\", \"{new_table}\")")
    return StepVerdicts(not_restored, renames)


def verdicts_by_revision(up: dict[str, StepChanges],
                         down: dict[str, StepChanges]) -> dict[str, dict[str, list[str]]]:
    """For each revision rendered both ways, what comparing its directions found, as the
    manifest's step keys (``data_not_restored``, ``probable_renames``; only those with entries)."""
    out: dict[str, dict[str, list[str]]] = {}
    for revision in sorted(up.keys() & down.keys()):
        verdicts = step_verdicts(up[revision], down[revision])
        found = {NOT_RESTORED: verdicts.not_restored, PROBABLE_RENAMES: verdicts.probable_renames}
        if any(found.values()):
            out[revision] = {key: value for key, value in found.items() if value}
    return out
