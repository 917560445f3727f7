"""A server standing in for a dialect's own (MariaDB for MySQL, where no MySQL server runs): the
statements it writes its own way (``[[shadow.stand_in]]``). The file keeps the dialect's
statement; only what runs on the stand-in changes, and the step says so."""

from __future__ import annotations

from ..dialects import Dialect, StandInForm


def stand_in_form(sql: str, dialect: Dialect, server: str) -> tuple[str, StandInForm | None]:
    """(what runs on ``server`` standing in for ``dialect``, the form that changed it or None)."""
    if not server:
        return sql, None
    body = sql.strip().rstrip(";").strip()
    for form in dialect.shadow.stand_in:
        match = form.pattern.fullmatch(body) if form.server == server else None
        if match:
            return match.expand(form.replacement), form
    return sql, None


def stand_in_note(dialect: Dialect, form: StandInForm, ran: str) -> str:
    """What the step's WARNING says about a statement run on the stand-in in its own form."""
    return (f"{form.why}: the shadow ran the statement below as `{ran}`; the statement as "
            f"written was not run on {dialect.title} (documented: {form.documented_by[0]})")
