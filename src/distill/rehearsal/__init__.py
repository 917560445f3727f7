"""Rehearsal: a bundle applied with the dialect's real client on scratch databases and compared
with what online Alembic produces (``online``), schema and rows (``snapshot``, ``schema_diff``)."""
