"""The layouts a statement can be given: ``sqlparse`` (reindented, verified token by token, see
``formatting``) or ``none`` (as Alembic wrote it)."""

STYLES = ("sqlparse", "none")
