"""orders: composite index; book_stock view

Revision ID: ef2c8e7f1a14
Revises: de1b9d8e2f13
Create Date: 2025-08-04 09:00:00

"""
from alembic import op

revision = "ef2c8e7f1a14"
down_revision = "de1b9d8e2f13"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_status_customer", "orders", ["status", "customer_id"])
    op.execute(
        "CREATE VIEW book_stock AS "
        "SELECT b.id, b.title, b.stock, a.full_name AS author "
        "FROM books b JOIN authors a ON a.id = b.author_id"
    )


def downgrade() -> None:
    op.execute("DROP VIEW book_stock")
    op.drop_index("ix_orders_status_customer", table_name="orders")
