"""Statements: what distill knows about one SQL statement, whoever rendered it.

Its model (``model``), a dialect-aware lexer, the meaning-preserving formatter, the findings a
DBA must see (destructive changes, lock risks, lossy type changes, irreversible downgrades), the
guards at the top of every file, and the text of a script for the dialect's client. Nothing here
knows about Alembic; everything here is told the dialect.
"""
