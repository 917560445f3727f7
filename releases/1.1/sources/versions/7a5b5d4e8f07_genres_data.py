"""genres: reference data, loaded with bulk_insert and op.execute

The values are chosen to break naive SQL handling: quotes, ';' and '--' inside strings, unicode,
a tab, a newline, trailing spaces and a string that ends in a backslash.

Revision ID: 7a5b5d4e8f07
Revises: 6f4a6c5d9e06
Create Date: 2025-04-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "7a5b5d4e8f07"
down_revision = "6f4a6c5d9e06"
branch_labels = None
depends_on = None

GENRES = [
    {"id": 1, "name": "Fiction", "description": "Don't panic; it's \"only\" fiction"},
    {"id": 2, "name": "Science -- fiction", "description": "a;b -- this is data, not a comment"},
    {"id": 3, "name": "Café Ñandú 日本語 📚", "description": "unicode ✓ ß Ω"},
    {"id": 4, "name": "Paths", "description": "C:\\books\\new\\"},
    {"id": 5, "name": "Layout", "description": "tab\there\nnew line and trailing spaces   "},
    {"id": 6, "name": "Empty", "description": ""},
    {"id": 7, "name": "Nothing", "description": None},
]


def upgrade() -> None:
    genres = op.create_table(
        "genres",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
    )
    op.bulk_insert(genres, GENRES)

    table = sa.table(
        "genres",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
    )
    op.execute(
        table.update()
        .where(table.c.id == 2)
        .values(description="updated; -- still data\\")
    )
    op.execute("UPDATE genres SET name = 'Science fiction' WHERE name = 'Science -- fiction'")


def downgrade() -> None:
    op.drop_table("genres")
