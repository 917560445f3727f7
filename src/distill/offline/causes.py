"""Why a revision cannot be rendered offline: the cause, decided from the exception's type and the
Alembic operation that failed (never from the wording of a message), and the fix for that cause.

Offline, ``op.get_bind()`` is a stand-in: ``execute()`` writes the statement to the output and
returns a result that raises when used, ``inspect()`` raises, there is no URL; SQLite batch mode
without ``copy_from`` must reflect a live table. Those need the revision to be guarded (or a
shadow database). Everything else (a type the dialect does not have, a VARCHAR without length, a
name too long, a revision that exits or forks) has a fix of its own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.util import CommandError
from sqlalchemy.exc import ArgumentError, CompileError, IdentifierError, NoInspectionAvailable

from .. import alembic_compat as compat
from ..dialects import Dialect
from ..history.plan import DOWN
from ..shadow import ShadowDatabase
from .capture import NulCharacter

GUARD_FIX = (
    "Usual fix: in the revision, guard the database access with "
    "`if context.is_offline_mode(): ...` (from alembic import context) and emit the change with "
    "op.execute() in SQL that needs no answer from the database; or render with `--shadow` (against "
    "a throwaway copy of the schema, where the database access works)."
)
_DUPLICATE_COLUMN = getattr(sa.exc, "DuplicateColumnError", None)  # SQLAlchemy >= 2.0
_NOISE = (re.compile(r"\s*\(Background on this error at: [^)]*\)"), re.compile(r" object at 0x[0-9a-f]+"))


@dataclass(frozen=True)
class Failure:
    """An exception raised while one step rendered, with what is known around it."""

    exc: BaseException
    operation: compat.FailedOperation
    dialect: Dialect
    direction: str
    raised_in_revision: bool  # the innermost frame is the revision script itself
    shadow: ShadowDatabase | None = None  # rendered against this shadow database, not offline


@dataclass(frozen=True)
class Cause:
    text: str  # what happened, in plain words
    fix: str  # what to do about it


def one_line(text: str) -> str:
    """``text`` on one line, without SQLAlchemy's links, object addresses or a final period."""
    for noise in _NOISE:
        text = noise.sub("", text)
    return " ".join(text.split()).rstrip(".")


def describe(exc: BaseException) -> str:
    """``Type: message`` in one line (``one_line``)."""
    return f"{type(exc).__name__}: {one_line(str(exc)) or '(no message)'}"


def _batch_reflects(f: Failure) -> Cause | None:
    if not f.operation.batch_reflects:
        return None
    return Cause(
        f"it uses batch mode, which on {f.dialect.name} recreates the table, without copy_from, so "
        "Alembic needs a live connection to reflect the table",
        "Usual fix: pass copy_from=sa.Table(...) with the table's current definition to "
        "op.batch_alter_table(), so the table is recreated from it instead of reflected; or render "
        "with `--shadow` (the table is then reflected from a throwaway copy of the schema).")


def _inspects(f: Failure) -> Cause | None:
    if not (isinstance(f.exc, NoInspectionAvailable) or compat.raised_by_inspection(f.exc.__traceback__)):
        return None
    return Cause("it inspects the live database (sqlalchemy.inspect(op.get_bind())), which offline "
                 f"mode cannot do ({describe(f.exc)})", GUARD_FIX)


def _connection_attribute(f: Failure) -> Cause | None:
    exc = f.exc
    if not isinstance(exc, AttributeError) or not compat.is_offline_connection(getattr(exc, "obj", None)):
        return None
    if exc.name == "url":
        return Cause("it reads the database URL (op.get_bind().engine.url), which offline mode does "
                     f"not have ({describe(exc)})", GUARD_FIX)
    return Cause(f"it calls op.get_bind().{exc.name}, which needs a database; offline mode has "
                 f"none ({describe(exc)})", GUARD_FIX)


def _result_used(f: Failure) -> Cause | None:
    exc = f.exc
    if not isinstance(exc, compat.ResultUsed):
        return None
    line = f" at line {exc.origin[1]}" if exc.origin else ""
    return Cause(f"it uses the result of a statement{line} ({exc.what}), which offline is written to "
                 "the script, not run: there is no result to use",
                 "Usual fix: render it against a database with --shadow (the statement runs on a "
                 "throwaway copy of the schema and the result is real), or guard the database access "
                 "with `if context.is_offline_mode(): ...` (from alembic import context) and emit the "
                 "change with op.execute() in SQL that needs no answer from the database.")


def _exits(f: Failure) -> Cause | None:
    if not isinstance(f.exc, SystemExit):
        return None
    return Cause(f"it exits the program while distill renders it ({describe(f.exc)}, from sys.exit(), "
                 "os._exit() or raise SystemExit), which would end distill without its SQL",
                 "Remove the exit: return from the function instead (`if context.is_offline_mode(): "
                 "return` to skip work offline), or raise an exception that says why it cannot run.")


def _forks(f: Failure) -> Cause | None:
    if not isinstance(f.exc, compat.ForkRefused):
        return None
    return Cause("it forks the process (os.fork()) while distill renders it, and the copy would go on "
                 "running distill", "Remove the fork: a migration runs in one process "
                 "(subprocess.run() for an external command is fine).")


def _literal_value(f: Failure) -> Cause | None:
    found = compat.unrenderable_literal(f.exc)
    if found is None:
        return None
    value, type_, column = found
    name = one_line(column)[:80] if column else "name"
    column = f"column {name}" if column else "its column"
    kind = type(value).__name__
    if isinstance(type_, sa.types.NullType):
        return Cause(f"SQL written without a database carries every value as a literal, and {column} "
                     f"has no type (sa.column() without one), so the {kind} value it is given has no "
                     f"literal form ({describe(f.exc)})",
                     f"Give the column its type (sa.column(\"{name}\", sa.<Type>)) so the {kind} value "
                     "is written as a literal of that type, or write the value into the SQL text.")
    return Cause(f"SQL written without a database carries every value as a literal, and the {kind} "
                 f"value given to {column} has no literal form as {type_} ({describe(f.exc)})",
                 "Write the value into the SQL text, or pass it as a value of the column's own type.")


def _family(type_: type) -> str:
    """The dialect a SQLAlchemy type belongs to ("postgresql"), or "" for a generic type."""
    parts = type_.__module__.split(".")
    return parts[2] if parts[:2] == ["sqlalchemy", "dialects"] and len(parts) > 2 else ""


def _dialect_only_type(f: Failure) -> Cause | None:
    type_ = compat.unsupported_type(f.exc)
    if type_ is None:
        return None
    name, family, here = type_.__name__, _family(type_), f.dialect.name
    guard = "guard it with `op.get_context().dialect.name`"
    if family and family != f.dialect.sqlalchemy_dialect:
        return Cause(f"it uses {name}, a {family}-only type that {here} cannot render",
                     f"This revision is written for {family} only; leave {here} out of this range's "
                     f"dialects, or {guard}.")
    return Cause(f"{here} has no {name} type",
                 f"Leave {here} out of this range's dialects, or {guard} and use a type {here} has.")


def _string_without_length(f: Failure) -> Cause | None:
    if not isinstance(f.exc, CompileError):
        return None
    changed = getattr(f.operation.operation, "modify_type", None)
    types = [(c.name, c.type) for c in f.operation.columns()] + [("", changed)]
    bare = [name for name, type_ in types if isinstance(type_, sa.String) and type_.length is None]
    if not bare:
        return None
    column = f"column {bare[0]}" if bare[0] else "the new type"
    return Cause(f"{column} is a String without a length, and {f.dialect.name}'s VARCHAR needs one",
                 "Give it a length (sa.String(255)), or use sa.Text for text without a limit.")


def _existing_type_needed(f: Failure) -> Cause | None:
    operation = f.operation.operation
    if not (isinstance(f.exc, CommandError) and f.operation.name == "alter_column"
            and getattr(operation, "existing_type", 0) is None):
        return None
    return Cause(f"on {f.dialect.name}, Alembic restates the whole column to alter it, so "
                 f"op.alter_column() needs the column's current type ({describe(f.exc)})",
                 "Pass existing_type= (and existing_nullable=, existing_server_default= where they "
                 "apply) to op.alter_column().")


def _constraint_type_needed(f: Failure) -> Cause | None:
    operation = f.operation.operation
    if not (isinstance(f.exc, NotImplementedError) and f.operation.name == "drop_constraint"
            and f.dialect.drop_constraint_needs_type and getattr(operation, "constraint_type", "") is None):
        return None
    return Cause(f"op.drop_constraint() does not say which kind of constraint it drops, and "
                 f"{f.dialect.name} drops each kind its own way ({describe(f.exc)})",
                 "Pass the constraint's kind: op.drop_constraint(name, table, type_=\"foreignkey\") "
                 "(or type_=\"unique\", \"check\", \"primary\").")


def _no_alter(f: Failure) -> Cause | None:
    if not (isinstance(f.exc, NotImplementedError) and f.operation.name and not f.operation.in_batch):
        return None
    operation = f.operation.operation
    table = getattr(operation, "table_name", None) or getattr(operation, "source_table", None) or "<table>"
    return Cause(f"{f.dialect.name} has no ALTER TABLE for op.{f.operation.name}() ({describe(f.exc)})",
                 f"Do it in batch mode, which recreates the table: `with op.batch_alter_table(\"{table}\", "
                 f"copy_from=sa.Table(...)) as batch_op: batch_op.{f.operation.name}(...)`; offline, "
                 "batch mode needs copy_from with the table's current definition.")


def _bad_arguments(f: Failure) -> Cause | None:
    if _DUPLICATE_COLUMN is not None and isinstance(f.exc, _DUPLICATE_COLUMN):
        return Cause(f"it defines a column twice ({describe(f.exc)})",
                     "Remove or rename the duplicate column in the revision.")
    if isinstance(f.exc, ArgumentError):
        return Cause(f"SQLAlchemy refused the operation's arguments ({describe(f.exc)})",
                     "Correct the call at the line above.")
    return None


def _name_too_long(f: Failure) -> Cause | None:
    if not isinstance(f.exc, IdentifierError):
        return None
    return Cause(f"a name is longer than {f.dialect.name} allows ({describe(f.exc)})",
                 "Give the table, column, index or constraint a shorter explicit name (name=...).")


def _revision_raises(f: Failure) -> Cause | None:
    if not f.raised_in_revision:
        return None
    if f.direction == DOWN:
        return Cause(f"its downgrade() raises {describe(f.exc)}; the revision declares itself "
                     "irreversible",
                     "Usual fix: do not downgrade across this revision; restore from a backup "
                     "taken before it, or write a downgrade.")
    return Cause(f"the revision itself raises {describe(f.exc)}",
                 _RAISES_FIX.format(dialect=f.dialect.name) + ("" if f.shadow else _REFUSES_OFFLINE))


# where a revision raises offline, it may refuse offline mode on purpose
_REFUSES_OFFLINE = " If it refuses offline mode on purpose (it needs a database), render with `--shadow`."


def _shadow_refused(f: Failure) -> Cause | None:
    if f.shadow is None or not isinstance(f.exc, sa.exc.DBAPIError):
        return None
    only_copied = "" if f.shadow.record.get("kind") != "url" else (
        " Only the --shadow-url database itself is copied for the rendering: a name qualified "
        "with another database (schema) of its server is not there (that database is never "
        "reached), so such a statement fails here even where it would run when applied.")
    if f.shadow.stand_in:  # MariaDB refusing is no evidence about MySQL
        return Cause(f"{f.shadow.description} refused a statement it sends ({describe(f.exc)})",
                     f"{f.shadow.stand_in} stood in for {f.dialect.title}, so this is not proven for "
                     f"{f.dialect.title}: no {f.dialect.title} server ran the statement. If "
                     f"{f.dialect.title}'s manual documents the statement, its {f.shadow.stand_in} form "
                     f"belongs in dialects/{f.dialect.name}.toml ([[shadow.stand_in]]); otherwise correct "
                     f"the operation at the line above, or leave {f.dialect.name} out of this range's "
                     f"dialects.{only_copied}")
    return Cause(f"{f.shadow.description} refused a statement it sends ({describe(f.exc)})",
                 f"The statement would fail the same way when the SQL is applied to {f.dialect.name} "
                 "(offline mode writes it without running it): correct the operation at the line "
                 f"above, or leave {f.dialect.name} out of this range's dialects.{only_copied}")


def _nul_character(f: Failure) -> Cause | None:
    if not isinstance(f.exc, NulCharacter):
        return None
    return Cause("it writes a NUL character (\\x00) into its SQL, which no SQL client can send",
                 "Remove the NUL character from the string the revision executes.")


_CLASSIFIERS: tuple[Callable[[Failure], Cause | None], ...] = (
    _nul_character, _exits, _forks, _batch_reflects, _inspects, _connection_attribute, _result_used,
    _literal_value, _dialect_only_type,
    _string_without_length, _existing_type_needed, _constraint_type_needed, _no_alter, _bad_arguments,
    _name_too_long, _revision_raises,
)


# causes that only exist offline, where op.get_bind() is a stand-in without a database
_OFFLINE_ONLY = (_batch_reflects, _inspects, _connection_attribute, _result_used)


def _first(failure: Failure, classifiers: tuple[Callable[[Failure], Cause | None], ...]) -> Cause | None:
    return next((cause for classify in classifiers if (cause := classify(failure)) is not None), None)


def _raised_while_handling(exc: BaseException) -> list[BaseException]:
    """The exceptions ``exc`` was raised while handling (``__cause__``, ``__context__``), innermost
    last: a helper's ``finally`` that fails (an UnboundLocalError) hides the real cause."""
    chain: list[BaseException] = []
    inner = exc.__cause__ or exc.__context__
    while inner is not None and inner is not exc and inner not in chain and len(chain) < 8:
        chain.append(inner)
        inner = inner.__cause__ or inner.__context__
    return chain


def cause_of(failure: Failure) -> Cause:
    """The first cause that fits the exception, else one that fits an exception it was raised
    while handling (the real cause a ``finally`` hid); else the revision raising, or a plain
    account of the exception."""
    classifiers = _CLASSIFIERS if failure.shadow is None else \
        (_shadow_refused, *(c for c in _CLASSIFIERS if c not in _OFFLINE_ONLY))
    specific = tuple(c for c in classifiers if c is not _revision_raises)
    cause = _first(failure, specific)
    if cause is not None:
        return cause
    for inner in _raised_while_handling(failure.exc):
        cause = _first(dataclasses.replace(failure, exc=inner), specific)
        if cause is not None:
            return Cause(f"{cause.text}; {describe(failure.exc)}, raised while handling that, hid it",
                         cause.fix)
    cause = _first(failure, (_revision_raises,) if _revision_raises in classifiers else ())
    if cause is not None:
        return cause
    # no claim that Alembic online (or the database) would fail too: nothing here ran it
    return Cause(f"rendering it raised {describe(failure.exc)}",
                 _FALLBACK_FIX.format(dialect=failure.dialect.name))


_FALLBACK_FIX = "Correct the operation at the line above, or leave {dialect} out of this range's dialects."
_RAISES_FIX = ("It refuses to render for {dialect} this way: leave {dialect} out of this range's dialects, "
               "or change the revision.")
# the fix of a cause that is the same on every dialect checked, where the fix for one dialect
# would be to leave it out
_EVERYWHERE = {
    _FALLBACK_FIX: "It fails the same way on every dialect checked, so leaving dialects out does not help: "
                   "correct the operation at the line above.",
    _RAISES_FIX: "It raises the same way on every dialect checked, so leaving dialects out does not help: "
                 "correct the revision.",
    _RAISES_FIX + _REFUSES_OFFLINE: "It raises the same way on every dialect checked, so leaving dialects "
                                    "out does not help: correct the revision." + _REFUSES_OFFLINE,
}


def on_every_dialect(unrenderable: dict[tuple[str, ...], list[str]], names: tuple[str, ...],
                     ) -> dict[tuple[str, ...], list[str]]:
    """``distill check``'s failures (revision, message, direction, location, cause, fix) ->
    dialects, where a cause that fails the same revision on every dialect checked (more than one)
    is one entry whose fix is to correct the revision, not to leave each dialect out of it."""
    groups: dict[tuple[str, ...], list[tuple[tuple[str, ...], list[str]]]] = {}
    for key, found in unrenderable.items():
        groups.setdefault(key[:5], []).append((key, found))
    out: dict[tuple[str, ...], list[str]] = {}
    for head, entries in groups.items():
        failed = [name for _, found in entries for name in found]
        fixes = {_template(key[5], found) for key, found in entries}
        if len(names) > 1 and sorted(failed) == sorted(names) and len(fixes) == 1 and None not in fixes:
            out[(*head, _EVERYWHERE[fixes.pop()])] = failed
        else:
            out.update(entries)
    return out


def _template(fix: str, found: list[str]) -> str | None:
    """The fix template of _EVERYWHERE that ``fix`` is for each of ``found`` (one dialect)."""
    if len(found) != 1:
        return None
    return next((t for t in _EVERYWHERE if t.format(dialect=found[0]) == fix), None)
