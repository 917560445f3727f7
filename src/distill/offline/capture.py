"""Capturing what Alembic writes in offline mode, statement by statement and step by step.

Alembic's ``static_output`` makes exactly one ``write(text + "\\n\\n")`` per statement, comment or
separator line, so the boundaries come from Alembic itself; nothing is re-split. Markers from the
renderer cut the stream into steps. Text a revision prints to stdout is turned into SQL comments
at the point where it was printed; a log record that a handler writes to stdout becomes one comment
with its level and message only (the handler's timestamp, host or pid would change every run).

The rule for printed lines: a line printed as a SQL comment (it starts with the dialect's comment
marker, ``print("-- run VACUUM by hand")``) is written for whoever applies the SQL: a note, and a
"manual steps" finding. Any other line (``print(f"batch {n}")``, a logger writing straight to
stdout such as structlog's PrintLogger) is console output: a comment in the step with the times in
it read ``<time>`` (``masked_times``), listed in the runbook, and no finding.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..compat import log_records_through
from ..names import one_line
from ..statements.model import COMMENT, LOG, NOTE, OUTPUT, SEPARATOR, SQL, Statement

MASK = "<time>"
# a date with a time of day (ISO 8601, logging's asctime, structlog's), a time of day alone, and
# seconds since the epoch with a fraction (structlog's default timestamp)
_TIMES = re.compile(
    r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
    r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
    r"|\b1\d{9}\.\d+\b")


def masked_times(line: str) -> str:
    """``line`` with every time of day and timestamp in it replaced by ``<time>``."""
    return _TIMES.sub(MASK, line)


class NulCharacter(ValueError):
    """A statement holds a NUL character, which no SQL client can send."""


@dataclass
class Segment:
    """Statements that belong to one step (``step`` is its index) or to the run itself (None)."""

    step: int | None
    statements: list[Statement] = field(default_factory=list)


class StatementCapture(io.TextIOBase):
    """The ``output_buffer`` handed to Alembic."""

    def __init__(self, batch_separator: str, comment: str) -> None:
        self.segments: list[Segment] = [Segment(None)]
        self.current_step: int | None = None
        self.heads_after: list[tuple[str, ...]] = []  # the version table after each step
        self.result_used: Exception | None = None  # the current step used an offline result
        self._separator = batch_separator
        self._comment = comment

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        body = text[:-2] if text.endswith("\n\n") else text.rstrip("\n")
        if self._separator and body == self._separator:
            kind = SEPARATOR
        elif body.startswith(self._comment) and "\n" not in body:
            kind, body = COMMENT, one_line(body)  # Alembic's "-- Running ..." carries the message
        else:
            kind = SQL
            if "\x00" in body:
                raise NulCharacter("the SQL holds a NUL character")
        self.add(Statement(kind, body))
        return len(text)

    def add(self, statement: Statement) -> None:
        self.segments[-1].statements.append(statement)

    def add_above_last(self, statement: Statement) -> None:
        """``statement`` right above the last SQL statement written (at the end if none)."""
        statements = self.segments[-1].statements
        last = max((i for i, s in enumerate(statements) if s.kind == SQL), default=len(statements))
        statements.insert(last, statement)

    def note_result_used(self, error: Exception) -> None:
        """The current step used the result of a statement it ran through op.get_bind() (first
        use kept): the step fails even where the revision swallowed the error."""
        if self.result_used is None:
            self.result_used = error

    def start_step(self, index: int) -> None:
        self.current_step = index
        self.result_used = None
        self.segments.append(Segment(index))

    def end_step(self, heads: tuple[str, ...]) -> None:
        self.current_step = None
        self.heads_after.append(heads)
        self.segments.append(Segment(None))

    def result(self) -> list[Segment]:
        """The segments, without empty ones."""
        return [s for s in self.segments if s.statements or s.step is not None]


class PrintedNotes(io.TextIOBase):
    """Stands in for sys.stdout while rendering: each printed line becomes a comment statement."""

    def __init__(self, capture: StatementCapture, comment: str) -> None:
        self._capture = capture
        self._comment = comment
        self._pending = ""
        self._record_written = False
        self._in_record = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._in_record:  # a logging handler's formatted line: replaced by the record itself
            self._record_written = True
            return len(text)
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""

    def _emit(self, line: str, kind: str = NOTE) -> None:
        line = line.rstrip().replace("\r", "")
        if not line.strip():
            return
        if kind == LOG:
            text = f"{self._comment} {line}"
        elif line.lstrip().startswith(self._comment):  # written as SQL comment: for the DBA
            text = line
        else:  # console output
            kind, text = OUTPUT, f"{self._comment} {masked_times(line)}"
        self._capture.add(Statement(kind, one_line(text)))

    def handle_record(self, handle: Callable[[], None], record: logging.LogRecord) -> None:
        """Run the handlers of ``record``; if one writes to stdout (here), write the record as
        ``[level] message`` comments instead of what the handler formatted."""
        self.flush()
        self._in_record, self._record_written = True, False
        try:
            handle()
        finally:
            self._in_record = False
        if self._record_written:
            for line in record.getMessage().splitlines():
                self._emit(f"[{record.levelname.lower()}] {line}", LOG)


def log_records_as_notes(notes: PrintedNotes) -> contextlib.AbstractContextManager[None]:
    """While inside, every log record goes through ``notes.handle_record``."""
    return log_records_through(notes.handle_record)
