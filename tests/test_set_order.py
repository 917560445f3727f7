"""Output that Alembic renders from a set comes out in a fixed order: the indexes of a
create_table are created sorted by name, whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys

from projects import write_project

INDEXED = [{"revision": "a1", "message": "table with indexes", "body": '''
    def upgrade():
        op.create_table(
            "t",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("a", sa.Integer), sa.Column("b", sa.Integer), sa.Column("c", sa.Integer),
            sa.Column("d", sa.Integer),
            sa.Index("ix_t_c", "c"), sa.Index("ix_t_a", "a"), sa.Index("ix_t_d", "d"),
            sa.Index("ix_t_b", "b", "a"),
            sa.UniqueConstraint("d", name="uq_t_d"), sa.CheckConstraint("a > 0", name="ck_t_a"),
        )

    def downgrade():
        op.drop_table("t")
'''}]


def test_create_table_indexes_in_name_order_under_any_hash_seed(tmp_path):
    project = write_project(tmp_path / "project", INDEXED)
    outputs = set()
    for seed in range(6):
        result = subprocess.run([sys.executable, "-m", "distill", "sql", "--dialect", "postgresql"], cwd=project,
                                capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
    text = outputs.pop()
    positions = [text.index(f"CREATE INDEX ix_t_{name}") for name in "abcd"]
    assert positions == sorted(positions)
