"""A broad corpus of literal values survives offline rendering byte for byte: the rows written by
distill's SQL through the real clients equal the rows online Alembic writes.

Alembic's own offline writer replaces every tab in a statement with four spaces; this corpus is
what found it (see distill.statements.literals and distill.alembic_compat)."""

from __future__ import annotations

import pytest
from helpers import assert_same_database, online, render_sql
from projects import write_project

from distill.config import load
from distill.history.scripts import History

CORPUS = [
    "plain", "", " ", "  leading", "trailing  ", "\t", "tab\tinside", "\ttab first", "tab last\t",
    "\t\tdouble tab", "  \t mixed \t  ", "new\nline", "\n", "crlf\r\nline", "cr\ronly",
    "trailing newline\n", "blank\n\nline", "\n\n\n", "back\\slash", "\\", "ends in a backslash\\",
    "\\\\double", "C:\\temp\\", "\\'", "\\n not a newline", "\\t not a tab", "it's", "''", "'",
    '"double"', "`tick`", "[bracket]", "a;b", ";", "-- dash comment", "x -- y", "/* block */",
    "*/", "/*", "#hash", "$$dollar$$", "$tag$ x $tag$", "%", "%s", "%%", "%(name)s", "a:b", "::",
    "?", "unicode é ñ ü ß", "日本語", "emoji 📚🎉", "zero\u200bwidth", "rtl \u05d0\u05d1",
    "GO", "/", "line\nGO\nline", "line\n/\nline", "DELIMITER //", "\\G", "\\c", "\\q",
    ".quit", "\n.quit\n", "\\! echo no", "end; -- ;", "'; DROP TABLE corpus; --",
]

BODY = '''
CORPUS = {corpus!r}


def upgrade():
    corpus = op.create_table(
        "corpus",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("tabbed", sa.String(40), nullable=False, server_default="tab\\there  "),
    )
    op.bulk_insert(corpus, [{{"id": i, "via": "bulk_insert", "value": v}}
                            for i, v in enumerate(CORPUS)])
    light = sa.table("corpus", sa.column("id", sa.Integer), sa.column("via", sa.String),
                     sa.column("value", sa.Text))
    for i, v in enumerate(CORPUS):
        op.execute(light.insert().values(id=1000 + i, via="execute", value=v))
    op.execute(light.update().where(light.c.id == 0).values(value="updated\\tvalue\\\\"))
    op.execute("INSERT INTO corpus (id, via, value) VALUES (5000, 'raw', 'raw\\ttab  ')")


def downgrade():
    op.drop_table("corpus")
'''


@pytest.fixture(scope="module")
def corpus_history(tmp_path_factory) -> History:
    root = write_project(
        tmp_path_factory.mktemp("literals"),
        [{"revision": "c0ffee000001", "message": "literal corpus", "body": BODY.format(corpus=CORPUS)}],
    )
    return History(load(root))


def test_every_literal_arrives_unchanged(databases, corpus_history):
    reference, candidate = databases.create(), databases.create()
    online(corpus_history.settings, reference.url, "upgrade", "heads")
    candidate.apply(render_sql(corpus_history, databases.dialect, "base", "heads"))
    assert_same_database(reference.url, candidate.url)
