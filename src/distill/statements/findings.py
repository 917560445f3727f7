"""Findings: annotation comments in the SQL, right above what they are about.

Destructive statements and lock risks come from rules in ``dialects/`` (``_common.toml`` plus
each dialect's file) matched against each lexer-normalised statement. Lossy type changes
(``type_changes``) are annotated the same way, by the Alembic hooks that still know both types.
Lines a revision prints for offline mode are "manual steps" (whoever applies the SQL must read
them), and Python warnings issued while rendering are annotated where they were issued.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ..dialects import Dialect, LexerRules, Rule
from ..names import one_line
from .actions import elided, forms
from .inserted_rows import Rows
from .lexer import DOLLAR, QIDENT, STRING, WS, tokenize
from .model import ANNOTATION, NOTE, OUTPUT, SQL, Statement, VersionTable
from .sequence import Sequence

DESTRUCTIVE, DATA_LOSS, LOCK_RISK = "destructive", "data_loss", "lock_risk"
KINDS = (DESTRUCTIVE, DATA_LOSS, LOCK_RISK)  # every step lists these, empty or not
# breaks the application version still running during a rolling deploy (renames, drops, NOT
# NULL without a default): listed only where it occurs
COMPATIBILITY = "compatibility"
MANUAL_STEPS, WARNING = "manual_steps", "warning"
# a step rendered against a shadow that read rows of application tables (--shadow)
DATA_DEPENDENT = "data_dependent"
NOTICE_KINDS = (MANUAL_STEPS, WARNING, DATA_DEPENDENT)  # listed only where they occur
STATEMENT_KINDS = (*KINDS, COMPATIBILITY)  # findings about the statement right below
# Not an annotation: found by rendering twice (offline.reproducible), listed where it occurs.
NOT_REPRODUCIBLE = "not_reproducible"
# Not a finding: what a step printed that is no SQL comment (console output), listed where it
# occurs, at most PRINTED_LIMIT lines of it.
PRINTED, PRINTED_LIMIT = "printed", 50
LABELS = {DESTRUCTIVE: "DESTRUCTIVE", DATA_LOSS: "DATA LOSS", LOCK_RISK: "LOCK RISK",
          COMPATIBILITY: "COMPATIBILITY",
          MANUAL_STEPS: "MANUAL STEPS",
          WARNING: "WARNING", DATA_DEPENDENT: "DATA-DEPENDENT"}
_LABEL_TO_KIND = {label: kind for kind, label in LABELS.items()}


def annotation(dialect: Dialect, kind: str, message: str) -> Statement:
    """The comment that stands right above a statement with a finding of ``kind``: one line,
    whatever the message holds (a quoted name from the SQL may hold a newline)."""
    return Statement(ANNOTATION, dialect.comment_line(f"{LABELS[kind]}: {one_line(message)}"))


def parse_annotation(statement: Statement) -> tuple[str, str] | None:
    """(kind, message) of an annotation statement."""
    text = statement.text.lstrip("-#/ *")
    label, _, message = text.partition(": ")
    kind = _LABEL_TO_KIND.get(label)
    return (kind, message) if kind else None


def about_the_step(statement: Statement) -> bool:
    """True for an annotation about its step as a whole (a notice), not the statement below it."""
    parsed = parse_annotation(statement) if statement.kind == ANNOTATION else None
    return parsed is not None and parsed[0] in NOTICE_KINDS


def normalise(text: str, dialect: Dialect) -> tuple[str, str]:
    """(full, top): the statement as rules see it; top has parenthesised parts elided.

    Words keep their case (rules match case-insensitively, names in messages read as written).
    """
    return _normalised(text, dialect.lexer)


# The annotations and the row-change analysis read each statement of a rendering in turn: kept
# for 4,096 statements (a 1,000-revision rendering), each is lexed once; a longer one is lexed
# twice rather than held twice in memory.
@lru_cache(maxsize=4096)
def _normalised(text: str, lexer: LexerRules) -> tuple[str, str]:
    parts = []
    for kind, piece in tokenize(text, lexer):
        if kind == WS or piece.startswith(("--", "/*", "#")) and kind != STRING:
            parts.append(" ")
        elif kind == QIDENT:
            parts.append(piece[1:-1])
        elif kind in (STRING, DOLLAR):
            parts.append("?")
        else:
            parts.append(piece)
    full = re.sub(r"\s+", " ", "".join(parts)).strip().rstrip(";").strip()
    full = re.sub(r" ?([(),]) ?", lambda m: {"(": " (", ")": ")", ",": ", "}[m[1]], full).strip()
    full = re.sub(r"\)(?=\w)", ") ", full)  # "upper(kind) WHERE" keeps its space before WHERE
    return full, elided(full)


def is_version_statement(text: str, dialect: Dialect, table: VersionTable) -> bool:
    """True for the version table's own bookkeeping (CREATE, INSERT, UPDATE, DELETE of it)."""
    return _mentions_version_table(normalise(text, dialect)[0], table)


def _mentions_version_table(full: str, table: VersionTable) -> bool:
    words = full.replace("(", " ").split()[:4]
    return table.name.upper() in (w.upper() for w in words) or table.sql.upper() in full.upper()[:80]


def _on_this_server(rule: Rule, dialect: Dialect, version: str) -> bool:
    """False for a rule about a feature the server has (``lacks``) or lacks (``has``)."""
    if rule.lacks and dialect.has_feature(rule.lacks, version):
        return False
    return not (rule.has and not dialect.has_feature(rule.has, version))


def assumed_version(dialect: Dialect) -> str:
    """What a version-dependent finding says when the project names no server version."""
    return (f" (assuming {dialect.title} {dialect.oldest_version}, the oldest distill assumes; set "
            f"server_version = {{ {dialect.name} = \"...\" }} in [tool.distill])")


def _findings(full: str, dialect: Dialect, sequence: Sequence, version: str = "",
              ) -> list[tuple[str, str, str]]:
    """(kind, message, table) for every rule that matches the normalised statement, read action
    by action (``statements.actions``) and in the light of the statements before it, on a
    server of ``version`` ("": the dialect's oldest, and the message says so)."""
    found = []
    for form, top in forms(full, dialect.alter_actions):
        for rule in dialect.rules:
            match = rule.pattern.search(top if rule.on == "top" else form)
            if not match or not _on_this_server(rule, dialect, version):
                continue
            groups = {k: (v or "") for k, v in match.groupdict().items()}
            if rule.when and not sequence.holds(rule.when, form, top, groups):
                continue
            if rule.unless and sequence.holds(rule.unless, form, top, groups):
                continue
            message = rule.message.format(**groups)
            if (rule.has or rule.lacks) and not version:
                message += assumed_version(dialect)
            found.append((rule.kind, message, groups.get("table", "")))
        sequence.read(form)
    return found


def implied_annotations(dialect: Dialect, text: str, kinds: tuple[str, ...] = (DESTRUCTIVE, COMPATIBILITY),
                        ) -> list[Statement]:
    """The annotations of ``kinds`` that the statement ``text`` would get, for a change a dialect
    makes without writing it (SQLite batch mode recreates a table: the copy simply lacks a dropped
    column, or holds a renamed one under its new name). The messages come from the dialect's
    rules, as for the plain statement; the annotator later drops compatibility findings of a
    downgrade or of a table created earlier in the run."""
    full, _ = normalise(text, dialect)
    return [annotation(dialect, kind, message)
            for kind, message, _ in _findings(full, dialect, Sequence(dialect)) if kind in kinds]


class _Annotator:
    """Annotates the statements of one rendering, segment by segment, in output order: tables
    created earlier in the same rendering are empty, so locking them is no risk."""

    def __init__(self, dialect: Dialect, table: VersionTable, inserted: dict[int, Rows],
                 version: str = "", upgrade: bool = True) -> None:
        self.dialect, self.table, self.inserted, self.version = dialect, table, inserted, version
        self.upgrade = upgrade
        self.created: set[str] = set()
        self.sequence = Sequence(dialect)
        self.version_words = {table.name.upper(), table.sql.upper()}

    def _bookkeeping(self, text: str) -> bool:
        """The version table's own statements: a cheap test on the first words."""
        words = text[:120].replace("(", " ").split()[:4]
        return any(w.upper().strip('"`[]') in self.version_words or w.upper() in self.version_words
                   for w in words)

    def __call__(self, statements: list[Statement], step: int | None = None) -> list[Statement]:
        normalised = {i: normalise(s.text, self.dialect) for i, s in enumerate(statements)
                      if s.kind == SQL and not self._bookkeeping(s.text)}
        # SQLite batch mode copies a table, drops it and renames the copy: that DROP loses nothing.
        batch_recreated = {m["to"] for full, _ in normalised.values()
                           for m in [self.dialect.form("batch_rename").match(full)] if m}
        out: list[Statement] = self._manual_steps(statements)
        # each segment is a step (or the run's wrapper)
        self.sequence.step(self.inserted.get(step) if step is not None else None)
        for index, statement in enumerate(statements):
            if index in normalised and not _mentions_version_table(normalised[index][0], self.table):
                self.sequence.text = statement.text
                out += self._annotations(*normalised[index], out[-3:], batch_recreated)
            if statement.kind == ANNOTATION and not self._implied_applies(statement, statements, index):
                continue
            out.append(statement)
        return out

    def _implied_applies(self, statement: Statement, statements: list[Statement], index: int) -> bool:
        """Whether a compatibility annotation a batch operation put above its table copy
        (``implied_annotations``) holds: an upgrade's, of a table not created earlier in the run."""
        parsed = parse_annotation(statement)
        if not parsed or parsed[0] != COMPATIBILITY:
            return True
        if not self.upgrade:
            return False
        following = next((s for s in statements[index + 1:] if s.kind == SQL), None)
        created = following and self.dialect.form("create_table").match(normalise(following.text,
                                                                                   self.dialect)[0])
        return not (created and created["table"].removeprefix("_alembic_tmp_") in self.created)

    def _manual_steps(self, statements: list[Statement]) -> list[Statement]:
        """One annotation at the top for the lines the revision printed (none when it printed none)."""
        printed = [s.text.strip().lstrip(self.dialect.comment).strip() for s in statements if s.kind == NOTE]
        if not printed:
            return []
        first = printed[0] if len(printed[0]) <= 120 else printed[0][:117] + "..."
        return [annotation(self.dialect, MANUAL_STEPS, f"the revision prints {len(printed)} line(s) for "
                                                       f"offline mode, to read before applying: {first}")]

    def _annotations(self, full: str, top: str, previous: list[Statement],
                     batch_recreated: set[str]) -> list[Statement]:
        already = {parse_annotation(s) for s in previous if s.kind == ANNOTATION}
        found = []
        for kind, message, table_name in _findings(full, self.dialect, self.sequence, self.version):
            dropped = full.upper().startswith("DROP TABLE")
            if kind == COMPATIBILITY and not self.upgrade:
                continue  # a rolling deploy runs the upgrade beside the previous version
            if kind in (DESTRUCTIVE, COMPATIBILITY) and dropped and table_name in batch_recreated:
                continue  # SQLite batch mode: the table was copied and is renamed back
            if kind in (LOCK_RISK, DATA_LOSS, COMPATIBILITY) and table_name in self.created:
                continue  # created earlier in this run: nothing to lock, no earlier rows to lose,
                # no running application that knows it
            if (kind, message) not in already:
                found.append(annotation(self.dialect, kind, message))
        created = self.dialect.form("create_table").match(full)
        # IF NOT EXISTS may find the table there already, rows and all: not a new table
        if created and not created["if_not_exists"] and not created["table"].startswith("_alembic_tmp_"):
            self.created.add(created["table"])
        return found


def annotator(dialect: Dialect, table: VersionTable, inserted: dict[int, Rows] | None = None,
              server_version: str = "", upgrade: bool = True,
              ) -> Callable[[list[Statement], int | None], list[Statement]]:
    """A function that puts an annotation right above every destructive or lock-risky statement
    of each list it is given (call it on a rendering's segments in output order, with the index
    of the segment's step). ``inserted``: in a downgrade, the rows each step's upgrade inserts,
    by step index (``statements.inserted_rows``). ``server_version``: the project's
    ``server_version`` for the dialect ("": none named, the dialect's oldest is assumed).
    Compatibility findings (what breaks the application version running beside a rolling
    deploy) are an upgrade's only (``upgrade``)."""
    return _Annotator(dialect, table, inserted or {}, server_version, upgrade)


def printed_of(statements: list[Statement], comment: str) -> dict[str, list[str]]:
    """{"printed": lines} of the console output among ``statements`` (none: empty), at most
    PRINTED_LIMIT lines and then how many more the step's SQL holds."""
    lines = [s.text.removeprefix(comment).removeprefix(" ") for s in statements if s.kind == OUTPUT]
    if len(lines) > PRINTED_LIMIT:
        lines[PRINTED_LIMIT:] = [f"... and {len(lines) - PRINTED_LIMIT} more line(s), in the step's SQL"]
    return {PRINTED: lines} if lines else {}


def findings_of(statements: list[Statement]) -> dict[str, list[str]]:
    """The annotations among ``statements``, by kind, in order: every kind of KINDS, and those
    of NOTICE_KINDS that occur."""
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for statement in statements:
        parsed = parse_annotation(statement) if statement.kind == ANNOTATION else None
        if parsed:
            out.setdefault(parsed[0], []).append(parsed[1])
    return out
