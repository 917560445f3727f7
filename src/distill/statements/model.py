"""One unit of output and the version table it may touch: the data every stage passes on."""

from __future__ import annotations

from dataclasses import dataclass

SQL, COMMENT, SEPARATOR, NOTE = "sql", "comment", "separator", "note"
# A log record a revision wrote to stdout while rendering, as level and message only.
LOG = "log"
# A line printed to stdout while rendering that is no SQL comment (a progress line, a logger
# writing straight to stdout): console output, kept as a comment with its times masked; no finding.
OUTPUT = "output"
# Written by distill itself: a guard or stop (never formatted or analysed), and an annotation
# comment that belongs right above the statement after it.
GUARD, ANNOTATION = "guard", "annotation"
# Written by distill right after one of Alembic's statements, and belonging to it (the check that
# a version UPDATE changed one row): it stays with that statement, inside its transaction.
CHECK = "check"


@dataclass(frozen=True)
class Statement:
    """One unit of output: a SQL statement, Alembic's comment, a batch separator or a note."""

    kind: str
    text: str  # as written to the file, without the blank line that follows it

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class VersionTable:
    """The version table as a rendering used it (env.py may rename it or move it to a schema)."""

    name: str
    schema: str | None
    sql: str  # quoted and qualified for the dialect
    create: str  # the CREATE TABLE statement, as the rendering writes it (without terminator)

    @property
    def display(self) -> str:
        """``schema.name`` or ``name``, as the runbook names it."""
        return f"{self.schema}.{self.name}" if self.schema else self.name
