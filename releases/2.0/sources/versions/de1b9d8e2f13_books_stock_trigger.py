"""books: updated_at, kept by a trigger that also refuses negative stock

The trigger bodies are compound statements (BEGIN ... END with inner ';'), written per dialect.
Like some real projects, this revision prints a note that belongs in the generated SQL.

Revision ID: de1b9d8e2f13
Revises: ab3a0c9d3e12
Create Date: 2025-07-07 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "de1b9d8e2f13"
down_revision = "ab3a0c9d3e12"
branch_labels = None
depends_on = None

MESSAGE = "stock cannot be negative; check orders"

CREATE = {
    "postgresql": [
        f"""CREATE FUNCTION books_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stock < 0 THEN
        RAISE EXCEPTION '{MESSAGE}';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$""",
        """CREATE TRIGGER trg_books_touch BEFORE UPDATE ON books
FOR EACH ROW EXECUTE FUNCTION books_touch()""",
    ],
    "mysql": [
        f"""CREATE TRIGGER trg_books_touch BEFORE UPDATE ON books FOR EACH ROW
BEGIN
    IF NEW.stock < 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{MESSAGE}';
    END IF;
    SET NEW.updated_at = CURRENT_TIMESTAMP;
END"""
    ],
    "sqlite": [
        f"""CREATE TRIGGER trg_books_touch AFTER UPDATE OF stock ON books FOR EACH ROW
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}') WHERE NEW.stock < 0;
    UPDATE books SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END"""
    ],
    # ':NEW' would be a bind parameter for SQLAlchemy's text(): the colon is escaped.
    "oracle": [
        f"""CREATE OR REPLACE TRIGGER trg_books_touch BEFORE UPDATE ON books FOR EACH ROW
BEGIN
    IF \\:NEW.stock < 0 THEN
        RAISE_APPLICATION_ERROR(-20001, '{MESSAGE}');
    END IF;
    \\:NEW.updated_at := SYSTIMESTAMP;
END;"""
    ],
    "mssql": [
        f"""CREATE TRIGGER trg_books_touch ON books AFTER UPDATE AS
BEGIN
    SET NOCOUNT ON;
    IF EXISTS (SELECT 1 FROM inserted WHERE stock < 0)
        THROW 50001, '{MESSAGE}', 1;
    UPDATE books SET updated_at = CURRENT_TIMESTAMP WHERE id IN (SELECT id FROM inserted);
END"""
    ],
}
CREATE["mariadb"] = CREATE["mysql"]

DROP = {
    "postgresql": ["DROP TRIGGER trg_books_touch ON books", "DROP FUNCTION books_touch()"],
    "default": ["DROP TRIGGER trg_books_touch"],
}


def upgrade() -> None:
    print("-- NOTE: books.updated_at is maintained by trigger trg_books_touch")
    op.add_column("books", sa.Column("updated_at", sa.DateTime, nullable=True))
    for statement in CREATE[op.get_context().dialect.name]:
        op.execute(sa.text(statement))


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    for statement in DROP.get(dialect, DROP["default"]):
        op.execute(statement)
    op.drop_column("books", "updated_at")
