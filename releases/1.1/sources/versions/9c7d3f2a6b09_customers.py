"""customers, and orders.customer_id (SQLite-safe batch with copy_from)

Revision ID: 9c7d3f2a6b09
Revises: 7a5b5d4e8f07
Create Date: 2025-05-12 09:00:00

"""
import sqlalchemy as sa
from alembic import op

from bookshop_app.models import NAMING_CONVENTION

revision = "9c7d3f2a6b09"
down_revision = "7a5b5d4e8f07"
branch_labels = None
depends_on = None


def orders_table(with_customer: bool) -> sa.Table:
    """The orders table as it stands on either side of this revision."""
    columns = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "book_id",
            sa.Integer,
            sa.ForeignKey("books.id"),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "status",
            sa.Enum("pending", "paid", "shipped", "cancelled", name="order_status"),
            nullable=False,
            server_default="pending",
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    ]
    if with_customer:
        columns.append(
            sa.Column(
                "customer_id",
                sa.Integer,
                sa.ForeignKey("customers.id"),
                nullable=True,
            )
        )
    # the application's naming convention: a table recreated by SQLite batch mode keeps its names
    return sa.Table("orders", sa.MetaData(naming_convention=NAMING_CONVENTION), *columns)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False, server_default="reader"),
        sa.UniqueConstraint("email"),
    )
    with op.batch_alter_table("orders", copy_from=orders_table(False)) as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer, nullable=True))
        batch.create_foreign_key(
            "fk_orders_customer_id_customers", "customers", ["customer_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", copy_from=orders_table(True)) as batch:
        batch.drop_constraint("fk_orders_customer_id_customers", type_="foreignkey")
        batch.drop_column("customer_id")
    op.drop_table("customers")
