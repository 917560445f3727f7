"""reviews: first revision of the 'reviews' branch

Revision ID: 8b6c4e3f7a08
Revises: 7a5b5d4e8f07
Create Date: 2025-05-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "8b6c4e3f7a08"
down_revision = "7a5b5d4e8f07"
branch_labels = ("reviews",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("books.id"), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    )
    op.create_index(op.f("ix_reviews_book_id"), "reviews", ["book_id"])


def downgrade() -> None:
    # The index goes with the table (MySQL refuses to drop it first: the foreign key needs it).
    op.drop_table("reviews")
