"""distill's linear-time ordering gives exactly Alembic's order: on the example and on generated
histories with merges and depends_on, upgrades and downgrades, whole and partial ranges; and the
SQL rendered through it is byte-identical to what rendering Alembic's own step lists gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from distill import dialects
from distill.config import load
from distill.history.ordering import ordered_revisions
from distill.history.plan import Plan, make_plan, step_of
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements.script_text import script_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate_history import generate  # noqa: E402


@pytest.fixture(scope="module", params=[("linear", 40), ("merges", 150), ("depends", 150)])
def generated(request, tmp_path_factory) -> History:
    shape, n = request.param
    return History(load(generate(tmp_path_factory.mktemp(shape), n, shape)))


def _ranges(history: History):
    revs = [s.revision for s in reversed(list(history.script.walk_revisions()))]
    heads = tuple(history.heads())
    yield "heads", None
    yield heads, revs[len(revs) // 3]
    yield revs[2 * len(revs) // 3], revs[len(revs) // 4]


def _alembic_up(history, upper, lower):
    return list(history.script.iterate_revisions(upper, lower, implicit_base=True))


def _alembic_down(history, upper, lower):
    return list(history.script.iterate_revisions(upper, lower, select_for_downgrade=True))


def _same(ours, theirs) -> None:
    """Both give the same list, or both refuse the range."""
    try:
        expected = theirs()
    except Exception as exc:
        with pytest.raises(type(exc)):
            ours()
        return
    assert ours() == expected


def test_same_order_as_alembic_on_generated_histories(generated):
    checked = 0
    for upper, lower in _ranges(generated):
        _same(lambda u=upper, lo=lower: ordered_revisions(generated.script, u, lo, downgrade=False),
              lambda u=upper, lo=lower: _alembic_up(generated, u, lo))
        down_upper = tuple(generated.heads()) if upper == "heads" else upper
        down_lower = lower or "base"
        _same(lambda u=down_upper, lo=down_lower: ordered_revisions(generated.script, u, lo, downgrade=True),
              lambda u=down_upper, lo=down_lower: _alembic_down(generated, u, lo))
        checked += 1
    assert checked == 3


def test_same_order_as_alembic_on_the_example(example_history):
    for upper, lower in [("heads", None), ("heads", "6f4a6c5d9e06"), ("bc9f1b0c4d11", "7a5b5d4e8f07"),
                         ("heads", ("8b6c4e3f7a08", "9c7d3f2a6b09"))]:
        assert ordered_revisions(example_history.script, upper, lower, downgrade=False) == _alembic_up(
            example_history, upper, lower)
    for upper, lower in [(("f03d6b5a4c15",), "base"), (("bc9f1b0c4d11",), "7a5b5d4e8f07"),
                         (("ab8e2a1b5c10", "9c7d3f2a6b09"), "6f4a6c5d9e06")]:
        assert ordered_revisions(example_history.script, upper, lower, downgrade=True) == _alembic_down(
            example_history, upper, lower)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_rendered_sql_is_byte_identical_to_alembics_step_order(generated, dialect):
    d = dialects.get(dialect)
    for down in (False, True):
        fast = make_plan(generated, "heads" if down else "base", "base" if down else "heads", down=down)
        script = generated.script
        slow_steps = (script._downgrade_revs("base", tuple(generated.heads())) if down
                      else script._upgrade_revs("heads", None))
        slow = Plan(fast.direction, fast.start, fast.target,
                    [step_of(generated, m) for m in slow_steps], slow_steps)
        assert [s.revision for s in fast.steps] == [s.revision for s in slow.steps]
        assert script_text(render(generated, fast, d).statements(), d) == script_text(
            render(generated, slow, d).statements(), d)
