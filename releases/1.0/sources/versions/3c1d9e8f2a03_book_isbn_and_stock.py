"""books: isbn (unique) and stock (server default)

Revision ID: 3c1d9e8f2a03
Revises: 2b7e41d09c02
Create Date: 2025-02-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "3c1d9e8f2a03"
down_revision = "2b7e41d09c02"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("books", sa.Column("isbn", sa.String(20), nullable=True))
    op.add_column("books", sa.Column("stock", sa.Integer, nullable=False, server_default="0"))
    op.create_index(op.f("ix_books_isbn"), "books", ["isbn"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_books_isbn"), table_name="books")
    op.drop_column("books", "stock")
    op.drop_column("books", "isbn")
