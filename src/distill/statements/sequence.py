"""What the statements before one in the same rendering make of it: facts some rules depend on
(a rule's ``when`` or ``unless`` in ``dialects/*.toml``).

* ``sets_only_added_columns``: an UPDATE that sets only columns its step added earlier (a
  backfill): no value that existed before the step is overwritten;
* ``added_not_valid_here``: VALIDATE CONSTRAINT of a constraint added NOT VALID earlier in the
  same rendering (one transaction): the ADD's lock is held through the validation;
* ``deletes_only_rows_its_upgrade_inserted``: a downgrade's DELETE that removes only rows the
  step's own upgrade inserted (``statements.inserted_rows``);
* ``valid_not_null_check``: SET NOT NULL on a column a valid ``CHECK (column IS NOT NULL)``
  covers (added without NOT VALID, or validated since): PostgreSQL 12+ skips its scan;
* ``inside_transaction``: after a BEGIN and before its COMMIT in the same rendering (not in an
  ``autocommit_block()``, nor where the rendering opens no transaction).

Each reads the action forms of ``statements.actions``; names compare case-insensitively.
"""

from __future__ import annotations

import re

from ..dialects import Dialect
from .inserted_rows import Rows, deletes_only_inserted

_ADD_CONSTRAINT = re.compile(r"^ALTER TABLE (?P<table>\S+) ADD CONSTRAINT (?P<name>\S+) (?P<body>.*)$", re.I)
_NOT_NULL_CHECK = re.compile(r"^CHECK \((?P<column>[^\s()]+) IS NOT NULL\)( NOT VALID)?$", re.I)
_VALIDATE = re.compile(r"^ALTER TABLE (?P<table>\S+) VALIDATE CONSTRAINT (?P<name>\S+)$", re.I)
_UPDATE = re.compile(r"^UPDATE (?P<table>\S+) SET (?P<sets>.+?)(?: (?:FROM|WHERE|RETURNING) .*)?$", re.I)
_TRANSACTION_ENDS = {"COMMIT", "COMMIT WORK", "COMMIT TRANSACTION", "END", "ROLLBACK", "END TRANSACTION"}
_TRANSACTION_STARTS = {"BEGIN", "BEGIN WORK", "BEGIN TRANSACTION", "START TRANSACTION"}
_SET_ITEM = re.compile(r"^(?P<column>[^\s=<>]+) ?=")


def _key(name: str) -> str:
    return name.lower()


def updated_columns(top: str) -> tuple[str, set[str]] | None:
    """(table, columns) an UPDATE sets, read from its form with parentheses elided; None when
    it is no UPDATE or a column cannot be named (``SET (a, b) = ...``)."""
    match = _UPDATE.match(top)
    if not match:
        return None
    columns = set()
    for item in match["sets"].split(", "):
        name = _SET_ITEM.match(item.strip())
        if not name:
            return None
        columns.add(_key(name["column"].rsplit(".", 1)[-1]))
    return _key(match["table"]), columns


class Sequence:
    """The facts gathered from one rendering's statements so far (``step`` starts a step)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.rows: Rows = {}  # the rows the current step's upgrade inserts (in a downgrade)
        self.text = ""  # the statement being read, as written
        self.added: set[tuple[str, str]] = set()  # (table, column) added in the current step
        self.not_valid: set[tuple[str, str]] = set()  # (table, constraint) added NOT VALID
        self.pending: dict[tuple[str, str], str] = {}  # NOT VALID not-null check -> its column
        self.valid_not_null: set[tuple[str, str]] = set()  # (table, column)
        self.in_transaction = False  # after a BEGIN, before its COMMIT (an autocommit_block())

    def step(self, rows: Rows | None = None) -> None:
        self.added.clear()
        self.rows = rows or {}

    def holds(self, fact: str, full: str, top: str, groups: dict[str, str]) -> bool:
        table = _key(groups.get("table", ""))
        if fact == "sets_only_added_columns":
            updated = updated_columns(top)
            return updated is not None and all((updated[0], c) in self.added for c in updated[1])
        if fact == "deletes_only_rows_its_upgrade_inserted":
            return bool(self.rows) and deletes_only_inserted(self.text, self.dialect, self.rows)
        if fact == "added_not_valid_here":
            return (table, _key(groups.get("name", ""))) in self.not_valid
        if fact == "valid_not_null_check":
            return (table, _key(groups.get("column", ""))) in self.valid_not_null
        if fact == "inside_transaction":
            return self.in_transaction
        raise ValueError(f"unknown rule condition {fact!r} in dialects/*.toml")

    def read(self, full: str) -> None:
        """Take in one action form, after the rules have read it."""
        if full.upper() in _TRANSACTION_STARTS:
            self.in_transaction = True
        elif full.upper() in _TRANSACTION_ENDS:
            self.not_valid.clear()
            self.in_transaction = False
        elif added := self.dialect.form("add_column").match(full):
            self.added.add((_key(added["table"]), _key(added["column"])))
        elif constraint := _ADD_CONSTRAINT.match(full):
            key = (_key(constraint["table"]), _key(constraint["name"]))
            not_valid = constraint["body"].upper().endswith(" NOT VALID")
            if not_valid:
                self.not_valid.add(key)
            check = _NOT_NULL_CHECK.match(constraint["body"])
            if check and not_valid:
                self.pending[key] = _key(check["column"])
            elif check:
                self.valid_not_null.add((key[0], _key(check["column"])))
        elif validated := _VALIDATE.match(full):
            key = (_key(validated["table"]), _key(validated["name"]))
            if key in self.pending:
                self.valid_not_null.add((key[0], self.pending[key]))
