"""Revision bodies whose statements all differ, for the ``varied`` benchmark history (issue 19).

Real histories are varied: tables of 2 to 9 columns of ten types, foreign keys, check
constraints, indexes of 1 to 3 columns, bulk inserts of 1 to 12 rows (some values NULL), views,
updates with 1 to 4 conditions. Each revision draws from a random generator seeded with its
number, so the same number always gives the same script. Every body renders offline on
PostgreSQL, MySQL/MariaDB and SQLite, up and down.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# (SQLAlchemy type source, kind of literal it takes, can be indexed on MySQL)
TYPES = [
    ("sa.Integer", "int", True), ("sa.BigInteger", "int", True), ("sa.SmallInteger", "small", True),
    ("sa.String({n})", "str", True), ("sa.Text", "text", False), ("sa.Numeric({p}, {s})", "num", True),
    ("sa.Float", "float", True), ("sa.Boolean", "bool", True), ("sa.Date", "date", True),
    ("sa.DateTime", "datetime", True),
]
WORDS = ["alpha", "bravo", "it's", "delta", "echo; --", "fox", "golf", "hotel", "india", "juliett", "kilo",
         "lima", "50%", "oscar", "papa", "quebec"]


@dataclass
class Table:
    name: str
    columns: list[tuple[str, int]]  # (name, index into TYPES)
    next_id: int = 1
    indexes: int = 0


@dataclass
class State:
    tables: list[Table] = field(default_factory=list)


def _type(rng: random.Random, kind: int) -> str:
    length, precision, scale = rng.choice([20, 40, 80, 120, 255]), rng.randint(6, 14), rng.randint(0, 4)
    return TYPES[kind][0].format(n=length, p=precision, s=scale)


def _literal(rng: random.Random, kind: int, allow_null: bool = True) -> str:
    """Python source of a value for a column of TYPES[kind]."""
    what = TYPES[kind][1]
    if allow_null and rng.random() < 0.15:
        return "None"
    if what in ("int", "small"):
        return str(rng.randint(-500, 30000 if what == "int" else 300))
    if what in ("str", "text"):
        return repr(" ".join(rng.sample(WORDS, rng.randint(1, 3 if what == "str" else 6))))
    if what == "num":
        return f'decimal.Decimal("{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}")'
    if what == "float":
        return repr(round(rng.uniform(-1000, 1000), 3))
    if what == "bool":
        return rng.choice(["True", "False"])
    if what == "date":
        return f"datetime.date({rng.randint(1990, 2030)}, {rng.randint(1, 12)}, {rng.randint(1, 28)})"
    return (f"datetime.datetime({rng.randint(1990, 2030)}, {rng.randint(1, 12)}, {rng.randint(1, 28)}, "
            f"{rng.randint(0, 23)}, {rng.randint(0, 59)})")


def _condition(rng: random.Random, table: Table) -> str:
    name, kind = rng.choice(table.columns)
    column, what = f"tbl.c.{name}", TYPES[kind][1]
    choice = rng.randrange(5)
    if choice == 0:
        return f"{column}.is_(None)"
    if choice == 1 and what in ("int", "small", "num", "float", "date", "datetime"):
        low, high = sorted([_literal(rng, kind, False), _literal(rng, kind, False)])
        return f"{column}.between({low}, {high})"
    if choice == 2 and what != "bool":
        return f"{column}.in_([{', '.join(_literal(rng, kind, False) for _ in range(rng.randint(2, 5)))}])"
    if choice == 3 and what in ("str", "text"):
        return f"{column}.like({repr(rng.choice(WORDS)[:3] + '%')})"
    operator = rng.choice(["==", "!=", "<", ">=", "<="] if what != "bool" else ["==", "!="])
    return f"{column} {operator} {_literal(rng, kind, False)}"


def _where(rng: random.Random, table: Table) -> str:
    conditions = [_condition(rng, table) for _ in range(rng.randint(1, 4))]
    if len(conditions) > 2 and rng.random() < 0.5:
        return f"sa.and_({conditions[0]}, sa.or_({', '.join(conditions[1:])}))"
    return f"sa.and_({', '.join(conditions)})" if len(conditions) > 1 else conditions[0]


def _table_source(table: Table, columns: list[tuple[str, int]] | None = None) -> str:
    """``tbl = sa.table(...)`` with typed columns: literal values render only for a known type."""
    typed = ", ".join(f"sa.column({name!r}, {TYPES[kind][0].format(n=255, p=14, s=4)})"
                      for name, kind in (table.columns if columns is None else columns))
    return f"tbl = sa.table({table.name!r}, sa.column('id', sa.Integer), {typed})"


def _create_table(rng: random.Random, i: int, state: State) -> tuple[list[str], list[str]]:
    name = f"t{i:05d}"
    count = rng.randint(2, 9)
    table = Table(name, [(f"c{i}_{k}", rng.randrange(len(TYPES))) for k in range(count)])
    lines = [f'op.create_table("{name}",', '    sa.Column("id", sa.Integer, primary_key=True),']
    for column, kind in table.columns:
        extra = ""
        if rng.random() < 0.3:
            extra += ", nullable=False"
        if TYPES[kind][1] in ("int", "small") and rng.random() < 0.3:
            extra += f', server_default="{rng.randint(0, 9)}"'
        lines.append(f'    sa.Column("{column}", {_type(rng, kind)}{extra}),')
    if state.tables and rng.random() < 0.5:
        parent = rng.choice(state.tables[-20:])
        ondelete = f", ondelete={rng.choice(['CASCADE', 'SET NULL'])!r}" if rng.random() < 0.5 else ""
        reference = f'sa.ForeignKey("{parent.name}.id"{ondelete})'
        lines.append(f'    sa.Column("{parent.name}_id", sa.Integer, {reference}),')
    numeric = [c for c, k in table.columns if TYPES[k][1] in ("int", "small")]
    if numeric and rng.random() < 0.5:
        check = " AND ".join(f"{c} {rng.choice(['>', '<>', '>='])} {rng.randint(-5, 5)}"
                             for c in rng.sample(numeric, min(len(numeric), rng.randint(1, 2))))
        lines.append(f'    sa.CheckConstraint("{check}", name="ck_{name}"),')
    lines.append(")")
    state.tables.append(table)
    return lines, [f'op.drop_table("{name}")']


def _create_index(rng: random.Random, i: int, table: Table) -> tuple[list[str], list[str]]:
    usable = [c for c, k in table.columns if TYPES[k][2]]
    if not usable:
        return [], []
    columns = rng.sample(usable, min(len(usable), rng.randint(1, 3)))
    name = f"ix_{table.name}_{i}"
    unique = ", unique=True" if rng.random() < 0.2 else ""
    return ([f'op.create_index("{name}", "{table.name}", {columns!r}{unique})'],
            [f'op.drop_index("{name}", table_name="{table.name}")'])


def _add_column(rng: random.Random, i: int, table: Table) -> tuple[list[str], list[str]]:
    kind = rng.choice([0, 1, 2, 3, 5, 6, 8])
    column = f"a{i}"
    default = f', server_default="{rng.randint(0, 99)}"' if TYPES[kind][1] in ("int", "small") else ""
    table.columns.append((column, kind))
    return ([f'op.add_column("{table.name}", sa.Column("{column}", {_type(rng, kind)}{default}))'],
            [f'op.drop_column("{table.name}", "{column}")'])


def _insert(rng: random.Random, table: Table) -> tuple[list[str], list[str]]:
    """1 to 12 rows: mostly one multi-row INSERT (``insert().values([...])``), sometimes
    ``op.bulk_insert`` (which Alembic renders offline as one INSERT per row)."""
    columns = rng.sample(table.columns, rng.randint(1, len(table.columns)))
    bulk = rng.random() < 0.05
    rows, ids = [], []
    for _ in range(rng.randint(1 if bulk else 2, 12)):
        ids.append(table.next_id)
        values = ", ".join(f"{name!r}: {_literal(rng, kind)}" for name, kind in columns)
        rows.append(f"    {{'id': {table.next_id}, {values}}},")
        table.next_id += 1
    insert = ["op.bulk_insert(tbl, ["] if bulk else ["op.execute(tbl.insert().values(["]
    end = "])" if bulk else "]))"
    return ([_table_source(table, columns), *insert, *rows, end],
            [_table_source(table), f"op.execute(tbl.delete().where(tbl.c.id.in_({ids!r})))"])


def _update(rng: random.Random, table: Table) -> tuple[list[str], list[str]]:
    targets = rng.sample(table.columns, min(len(table.columns), rng.randint(1, 3)))
    values = ", ".join(f"{name}={_literal(rng, kind)}" for name, kind in targets)
    nulls = ", ".join(f"{name}=None" for name, _ in targets)
    where = _where(rng, table)
    return ([_table_source(table), f"op.execute(tbl.update().where({where}).values({values}))"],
            [_table_source(table), f"op.execute(tbl.update().where({where}).values({nulls}))"])


def _view(rng: random.Random, i: int, table: Table) -> tuple[list[str], list[str]]:
    picked = rng.sample(table.columns, min(len(table.columns), rng.randint(1, 5)))
    columns = []
    for name, kind in picked:
        what = TYPES[kind][1]
        if what in ("int", "small", "num", "float") and rng.random() < 0.4:
            columns.append(f"{name} {rng.choice(['*', '+', '-'])} {rng.randint(2, 9)} AS {name}_x")
        elif what in ("str", "text") and rng.random() < 0.4:
            columns.append(f"COALESCE({name}, '{rng.choice(WORDS[:2])}') AS {name}_s")
        else:
            columns.append(name)
    numeric = [c for c, k in table.columns if TYPES[k][1] in ("int", "small")]
    conditions = [f"{rng.choice(numeric)} {rng.choice(['>', '<', '<>', '>='])} {rng.randint(0, 50)}"
                  for _ in range(rng.randint(1, 3))] if numeric else []
    where = f" WHERE {rng.choice([' AND ', ' OR ']).join(conditions)}" if conditions else ""
    order = f" ORDER BY {picked[0][0]}{rng.choice(['', ' DESC'])}" if rng.random() < 0.3 else ""
    select = f"SELECT id, {', '.join(columns)} FROM {table.name}{where}{order}"
    return ([f'op.execute("CREATE VIEW v{i:05d} AS {select}")'], [f'op.execute("DROP VIEW v{i:05d}")'])


def _operation(rng: random.Random, number: int, state: State) -> tuple[list[str], list[str]]:
    if not state.tables or rng.random() < 0.2:
        return _create_table(rng, number, state)
    table = rng.choice(state.tables[-30:])
    pick = rng.random()
    if pick < 0.36:
        return _insert(rng, table)
    if pick < 0.73:
        return _update(rng, table)
    if pick < 0.93:
        return _view(rng, number, table)
    if pick < 0.97:
        return _create_index(rng, number, table)
    return _add_column(rng, number, table)


def varied_body(i: int, state: State) -> tuple[list[str], list[str]]:
    """Upgrade and downgrade lines of revision ``i`` (``state``: the tables so far, updated)."""
    rng = random.Random(i)
    up: list[str] = []
    down: list[str] = []
    operations = 1 if i < 3 else rng.randint(1, 3)
    for _ in range(operations):
        part = _operation(rng, i * 10 + len(up), state)
        up += part[0]
        down = part[1] + down  # reverted in reverse order
    return up or ["pass"], down or ["pass"]
