"""books, with a foreign key, a check constraint and an index

Revision ID: 2b7e41d09c02
Revises: 1a0f3c5e7b01
Create Date: 2025-01-13 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "2b7e41d09c02"
down_revision = "1a0f3c5e7b01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "books",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "author_id",
            sa.Integer,
            sa.ForeignKey("authors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.CheckConstraint("price >= 0", name="price_nonneg"),
    )
    op.create_index(op.f("ix_books_title"), "books", ["title"])


def downgrade() -> None:
    op.drop_index(op.f("ix_books_title"), table_name="books")
    op.drop_table("books")
