"""books: widen title and price (SQLite-safe batch with copy_from)

On SQLite the batch recreates the table from the definition below, so it works offline without
reflecting the database; elsewhere it emits plain ALTER statements.

Revision ID: 5e3f7b6c0d05
Revises: 4d2e8a7b1c04
Create Date: 2025-03-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op

from bookshop_app.models import NAMING_CONVENTION

revision = "5e3f7b6c0d05"
down_revision = "4d2e8a7b1c04"
branch_labels = None
depends_on = None


def books_table(title_length: int, price_precision: int) -> sa.Table:
    """The books table as it stands on either side of this revision. Its metadata has the
    application's naming convention, so the table SQLite batch mode recreates keeps the
    constraint names the original had."""
    return sa.Table(
        "books",
        sa.MetaData(naming_convention=NAMING_CONVENTION),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "author_id",
            sa.Integer,
            sa.ForeignKey("authors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(title_length), nullable=False),
        sa.Column("price", sa.Numeric(price_precision, 2), nullable=False),
        sa.Column("isbn", sa.String(20), nullable=True),
        sa.Column("stock", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint("price >= 0", name="price_nonneg"),
        sa.Index("ix_books_title", "title"),
        sa.Index("ix_books_isbn", "isbn", unique=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("books", copy_from=books_table(200, 10)) as batch:
        batch.alter_column(
            "title", existing_type=sa.String(200), type_=sa.String(400), existing_nullable=False
        )
        batch.alter_column(
            "price",
            existing_type=sa.Numeric(10, 2),
            type_=sa.Numeric(12, 2),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("books", copy_from=books_table(400, 12)) as batch:
        batch.alter_column(
            "price",
            existing_type=sa.Numeric(12, 2),
            type_=sa.Numeric(10, 2),
            existing_nullable=False,
        )
        batch.alter_column(
            "title", existing_type=sa.String(400), type_=sa.String(200), existing_nullable=False
        )
