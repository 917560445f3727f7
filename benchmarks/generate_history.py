"""Synthetic Alembic histories for benchmarks (and for tests of large histories).

    python benchmarks/generate_history.py OUT_DIR --revisions 1000 --shape linear|merges|depends|varied

linear: a chain. merges: every third revision merges two one-step branches. depends: two
parallel branches whose revisions depend_on the other branch's previous revision, merged at the
end. Their revisions repeat five kinds: create tables, add columns, create indexes, alter types
and run data updates. varied: a chain whose revisions all differ (``varied_revisions``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from varied_revisions import State, varied_body

ENV_PY = '''from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_offline():
    # raw `alembic -x dialect=mysql ... --sql` renders for that dialect
    dialect = context.get_x_argument(as_dictionary=True).get("dialect")
    url = f"{dialect}://" if dialect else config.get_main_option("sqlalchemy.url")
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

REVISION = '''"""{message}"""
import datetime
import decimal

import sqlalchemy as sa
from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = {depends!r}


def upgrade():
{upgrade}


def downgrade():
{downgrade}
'''


def rev_id(i: int) -> str:
    return f"{i:06x}{(i * 2654435761) % 16**6:06x}"


def body(i: int) -> tuple[str, str]:
    """upgrade and downgrade source for revision number i."""
    t = f"t{i:05d}"
    kind = i % 5
    if kind == 0 or i < 5:
        up = [
            f'op.create_table("{t}", sa.Column("id", sa.Integer, primary_key=True),',
            '                sa.Column("name", sa.String(50), nullable=False),',
            '                sa.Column("note", sa.Text), sa.Column("amount", sa.Numeric(10, 2)))',
            f'op.create_index("ix_{t}_name", "{t}", ["name"])',
        ]
        down = [f'op.drop_index("ix_{t}_name", table_name="{t}")', f'op.drop_table("{t}")']
    else:
        base = f"t{i - kind:05d}"
        if kind == 1:
            up = [f'op.add_column("{base}", sa.Column("c{i}", sa.Integer, server_default="0"))']
            down = [f'op.drop_column("{base}", "c{i}")']
        elif kind == 2:
            up = [f'op.create_index("ix_{base}_{i}", "{base}", ["amount"])']
            down = [f'op.drop_index("ix_{base}_{i}", table_name="{base}")']
        elif kind == 3:
            up = [
                'if op.get_context().dialect.name != "sqlite":',
                f'    op.alter_column("{base}", "name", type_=sa.String(80), existing_type=sa.String(50))',
            ]
            down = [
                'if op.get_context().dialect.name != "sqlite":',
                f'    op.alter_column("{base}", "name", type_=sa.String(50), existing_type=sa.String(80))',
            ]
        else:
            table = f'sa.table("{base}", sa.column("note", sa.Text), sa.column("name", sa.String))'
            up = [
                f"tbl = {table}",
                f"op.execute(tbl.update().where(tbl.c.name == 'n{i}').values(note='it''s #{i}; -- ok'))",
            ]
            down = [
                f"tbl = {table}",
                f"op.execute(tbl.update().where(tbl.c.name == 'n{i}').values(note=None))",
            ]
    return _indent(up), _indent(down)


def _indent(lines: list[str]) -> str:
    return "\n".join("    " + line for line in lines)


def topology(n: int, shape: str) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """(revision number, down revisions, depends_on) for each revision, parents first."""
    out: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
    if shape in ("linear", "varied"):
        for i in range(n):
            out.append((i, (i - 1,) if i else (), ()))
    elif shape == "merges":
        for i in range(n):
            if i == 0:
                out.append((0, (), ()))
            elif i % 3 == 0:
                out.append((i, (i - 2, i - 1), ()))  # merge of the two one-step branches
            else:
                out.append((i, (i - (i % 3),), ()))  # both branch off the previous merge
    elif shape == "depends":
        half = n // 2
        out.append((0, (), ()))
        for k in range(1, half):
            a, b = 2 * k - 1, 2 * k
            prev_a, prev_b = (a - 2, b - 2) if k > 1 else (0, 0)
            out.append((a, (prev_a,), (prev_b,) if k > 1 else ()))
            out.append((b, (prev_b,), ()))
        last = 2 * (half - 1)
        out.append((last + 1, (last - 1, last), ()))
    else:
        raise ValueError(shape)
    return out


def generate(root: Path, n: int, shape: str = "linear") -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\npath_separator = os\n"
        "sqlalchemy.url = sqlite://\n"
    )
    (root / "migrations" / "env.py").write_text(ENV_PY)
    state = State()
    for i, downs, deps in topology(n, shape):
        if shape == "varied":
            up, down = (_indent(lines) for lines in varied_body(i, state))
        else:
            up, down = body(i)
        down_rev = None if not downs else (rev_id(downs[0]) if len(downs) == 1 else tuple(map(rev_id, downs)))
        depends = None if not deps else tuple(map(rev_id, deps))
        (versions / f"{rev_id(i)}_r{i}.py").write_text(REVISION.format(
            message=f"revision {i}", rev=rev_id(i), down=down_rev, depends=depends,
            upgrade=up, downgrade=down,
        ))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--shape", choices=("linear", "merges", "depends", "varied"), default="linear")
    args = parser.parse_args()
    generate(args.out, args.revisions, args.shape)


if __name__ == "__main__":
    main()
