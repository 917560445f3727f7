"""The layouts ``closed_forms`` computes are sqlparse's own, byte for byte: on thousands of
generated shapes of each form, on near misses (which must be refused or still agree), and on
whole rendered histories (the formatter gives the same text with and without the forms)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import sqlparse
from projects import CREATE_T, run_distill, write_project

from distill import dialects
from distill.config import load
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements import closed_forms, formatting, styles
from distill.statements.formatting import _TRAILING_SPACE, Formatter, _needs_upper, clear_shape_cache
from distill.statements.model import SQL, Statement

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate_history import generate  # noqa: E402


def sqlparse_reindented(shape: str, width: int) -> str:
    return _TRAILING_SPACE.sub("", sqlparse.format(shape, reindent=True, indent_width=width)).strip()


def sqlparse_upper(shape: str) -> str:
    return _TRAILING_SPACE.sub("", sqlparse.format(shape, keyword_case="upper")).strip()


class Shapes:
    """Shapes of the forms' grammars, with placeholders numbered as the formatter numbers them
    (and now and then out of order), and near misses of them."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.count = 0

    def p(self) -> str:
        self.count += 1
        return f"q{self.count if self.random.random() < 0.9 else self.random.randint(0, 2000)}x"

    def name(self) -> str:
        return self.p() + (f".{self.p()}" if self.random.random() < 0.4 else "")

    def signed(self) -> str:
        return ("-" if self.random.random() < 0.3 else "") + self.p()

    def condition(self) -> str:
        choice = self.random.choice
        return choice([
            lambda: f"{self.name()} {choice(['=', '!=', '<>', '<', '>', '<=', '>='])} {self.signed()}",
            lambda: f"{self.name()} IS {choice(['', 'NOT '])}NULL",
            lambda: f"{self.name()} BETWEEN {self.signed()} AND {self.signed()}",
            lambda: f"{self.name()} {choice(['', 'NOT '])}LIKE {self.p()}",
            lambda: f"{self.name()} IN ({', '.join(self.p() for _ in range(self.random.randint(1, 6)))})",
        ])()

    def conditions(self, depth: int = 0) -> str:
        """Conditions joined by AND/OR, some of them in parentheses (nested now and then)."""
        def term() -> str:
            if depth < 3 and self.random.random() < 0.2:
                return f"({self.conditions(depth + 1)})"
            return self.condition()
        joined = term()
        for _ in range(self.random.randint(0, 4 if depth == 0 else 2)):
            joined += f" {self.random.choice(['AND', 'OR'])} {term()}"
        return joined

    def where(self) -> str:
        return "" if self.random.random() < 0.2 else " WHERE " + self.conditions()

    def select(self) -> str:
        def item() -> str:
            expression = self.random.choice([
                self.name, lambda: f"{self.p()}({', '.join(self.name() for _ in range(self.random.randint(0, 3)))})",
                lambda: f"{self.name()} {self.random.choice('-+*/')} {self.name()}"])()
            return expression + (f" AS {self.p()}" if self.random.random() < 0.4 else "")
        head = self.random.choice(["", f"CREATE VIEW {self.name()} AS ",
                                   f"INSERT INTO {self.name()} ({', '.join(self.p() for _ in range(3))}) "])
        items = ", ".join(item() for _ in range(self.random.randint(1, 8)))
        source = self.name() + (f" AS {self.p()}" if self.random.random() < 0.2 else "")
        order = "" if self.random.random() < 0.6 else " ORDER BY " + ", ".join(
            self.name() + self.random.choice(["", " ASC", " DESC"]) for _ in range(self.random.randint(1, 3)))
        return f"{head}SELECT {items} FROM {source}{self.where()}{order}"

    def shape(self) -> str:
        self.count = -1
        end = self.random.choice([";", ""])
        kind = self.random.randrange(4)
        if kind == 0:
            columns = self.random.randint(1, 9)
            head = f"INSERT INTO {self.name()}"
            if self.random.random() < 0.8:
                head += f" ({', '.join(self.p() for _ in range(columns))})"
            value = lambda: self.random.choice([self.signed(), "NULL", self.signed()])  # noqa: E731
            rows = ", ".join("(" + ", ".join(value() for _ in range(columns)) + ")"
                             for _ in range(self.random.randint(1, 12)))
            return f"{head} VALUES {rows}{end}"
        if kind == 1:
            sets = ", ".join(f"{self.p()}={self.random.choice([self.signed(), 'NULL'])}"
                             for _ in range(self.random.randint(1, 4)))
            return f"UPDATE {self.name()} SET {sets}{self.where()}{end}"
        if kind == 2:
            return f"DELETE FROM {self.name()}{self.where()}{end}"
        return self.select() + end

    def near_miss(self, shape: str) -> str:
        return self.random.choice([
            lambda s: s.replace(", ", ",", 1), lambda s: s.replace(" AND ", " and ", 1),
            lambda s: s.replace("(", "( ", 1), lambda s: s.replace("NULL", "-NULL", 1),
            lambda s: s.replace(" WHERE ", " WHERE (", 1) + ")", lambda s: s.replace("=", "=-", 1),
            lambda s: s.replace(" IN (", " IN (-", 1), lambda s: s + " RETURNING q9x",
            lambda s: s.replace(";", "; q7x", 1), lambda s: s.replace("q", "Q", 1),
            lambda s: s.replace(" VALUES ", " VALUES (q1x), ", 1), lambda s: s.replace(" ", "  ", 1),
            lambda s: s.replace(" BETWEEN ", " BETWEEN (", 1), lambda s: s.replace(" OR ", " || ", 1),
            lambda s: s.replace(")", "", 1), lambda s: s.replace(" FROM ", " FROM (", 1),
            lambda s: s.replace(" AS ", " ", 1), lambda s: s.replace(", ", " , ", 1),
            lambda s: s.replace(" ORDER BY ", " GROUP BY ", 1), lambda s: s.replace("SELECT ", "SELECT DISTINCT ", 1),
            lambda s: s.replace(" (", " NOT (", 1), lambda s: s.replace(" - ", " - -", 1),
        ])(shape)


@pytest.mark.parametrize("seed", [1, 2])
def test_reindented_forms_are_sqlparse_s_layout(seed):
    shapes = Shapes(seed)
    matched = refused = 0
    for _ in range(800):
        shape = shapes.shape()
        near = shapes.random.random() < 0.3
        if near:
            shape = shapes.near_miss(shape)
        for width in (4, 2):
            ours = closed_forms.reindented(shape, width)
            if ours is None:
                refused += 1
                continue
            matched += 1
            assert ours == sqlparse_reindented(shape, width), shape
    # the forms are used (most shapes of their grammar match) and refuse what they do not know
    assert matched > 900 and refused > 150, (matched, refused)


@pytest.mark.parametrize("shape", [
    "DELETE FROM q0x WHERE q1x IN (q2x, -q3x)",  # sqlparse's own layout when an item is negative
    "UPDATE q0x SET q1x=q2x WHERE NOT (q3x = q4x OR q5x = q6x)",
    "SELECT DISTINCT q1x FROM q2x",
    "SELECT q1x FROM q2x GROUP BY q1x",
    "UPDATE q0x SET q1x=q2x WHERE q1x = q2x" + " AND (q1x = q2x" * 21 + ")" * 21,  # deeper than 20
    "INSERT INTO q0x (q1x) VALUES (q2x) RETURNING q3x",
    "INSERT INTO q0x (q1x) SELECT q2x",
    "DELETE FROM q0x WHERE q1x = q2x; DELETE FROM q3x",
    "INSERT INTO q0x VALUES (" + ", ".join(f"q{i}x" for i in range(1, 1800)) + ")",  # > MAX_SHAPE
])
def test_shapes_outside_the_grammars_are_left_to_sqlparse(shape):
    assert closed_forms.reindented(shape, 4) is None


# What sqlparse does with a statement of over 10,000 tokens, where it differs from refusing it:
# 0.5.0-0.5.3 have no cap, 0.5.4 stops grouping (and lays it out all the same); 0.5.5 on refuse it
LAYS_OUT_OVER_THE_CAP = ("0.5.0", "0.5.1", "0.5.2", "0.5.3", "0.5.4")


def test_a_shape_over_the_cap_is_left_to_sqlparse_which_refuses_it():
    rows = ", ".join(f"(q{i}x)" for i in range(1, 3400))
    shape = f"INSERT INTO q0x VALUES {rows};"
    assert len(shape) > closed_forms.MAX_SHAPE and closed_forms.reindented(shape, 4) is None
    if sqlparse.__version__ in LAYS_OUT_OVER_THE_CAP:  # no refusal for a form to hide
        assert sqlparse.format(shape, reindent=True).startswith("INSERT INTO q0x")
        return
    with pytest.raises(sqlparse.exceptions.SQLParseError):
        sqlparse.format(shape, reindent=True)


KEPT_PIECES = ["CREATE", "TABLE", "q1x", "q22x", "(", ")", ",", " ", "\n\t", "\n", "\t", "NOT NULL",
               "PRIMARY KEY", "FOREIGN KEY", "REFERENCES", "CHECK", "DEFAULT", "ON", "DELETE", "CASCADE",
               "UNIQUE", "CONSTRAINT", "  ", " \n", ".", "=", "-", "::", "q3x(", ">=", "AS", "IN", "[", "]"]
# what sqlparse's case and output steps do something with: upper-casing, CR LF, Unicode spaces,
# quotes, statements split at ';' and GO, comments
ODD_PIECES = ["not null", "create", "\r\n", "\r", "\xa0", "\u2003", ";", "'", '"', "`", "$", "#", "q4x$",
              "$q5x", "#q6x", "é", "ß", "GO", "go", "\x0c", "\x1c", "--", "/*", "*/", "$$", "Q7X", "x",
              "table", "CASE", "END", "BEGIN"]


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_layout_form_is_sqlparse_s_case_step(seed):
    rng = random.Random(seed)
    matched = refused = 0
    for _ in range(4000):
        parts = [rng.choice(KEPT_PIECES) for _ in range(rng.randint(1, 40))]
        for _ in range(rng.choice([0, 0, 1, 2])):
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(ODD_PIECES))
        shape = "".join(parts) + rng.choice(["", ";", ";\n", " "])
        ours = closed_forms.kept_layout_upper(shape, _needs_upper(shape))
        if ours is None:
            refused += 1
            continue
        matched += 1
        assert _TRAILING_SPACE.sub("", ours).strip() == sqlparse_upper(shape), repr(shape)
    assert matched > 800 and refused > 1000, (matched, refused)


@pytest.mark.parametrize("shape", ["CREATE TABLE q0x (q1x) GO  q2x", "CREATE TABLE q0x (\r\n\tq1x)",
                                   "CREATE TABLE q0x (q1x\xa0\n)", "CREATE TABLE q0x (q1x); q2x"])
def test_kept_layout_form_refuses_what_sqlparse_s_output_step_rewrites(shape):
    assert closed_forms.kept_layout_upper(shape, False) is None
    assert sqlparse_upper(shape) != _TRAILING_SPACE.sub("", shape).strip()


@pytest.fixture(scope="module")
def varied_history(tmp_path_factory) -> History:
    return History(load(generate(tmp_path_factory.mktemp("varied"), 80, "varied")))


@pytest.mark.parametrize("name", ["postgresql", "mysql", "sqlite", "mssql"])
def test_formatting_a_varied_history_gives_the_same_text_without_the_forms(varied_history, name,
                                                                           monkeypatch):
    dialect = dialects.get(name)
    texts = []
    for plan in (make_plan(varied_history, "base", "heads"),
                 make_plan(varied_history, "heads", "base", down=True)):
        texts += [s for s in render(varied_history, plan, dialect).statements() if s.kind == SQL]
    hits = []
    monkeypatch.setattr(formatting, "closed_forms_on", lambda: True)  # on a sqlparse being proven too
    for form in ("reindented", "kept_layout_upper"):
        original = getattr(closed_forms, form)
        monkeypatch.setattr(closed_forms, form, lambda *a, f=original: hits.append(f(*a)) or hits[-1])
    clear_shape_cache()
    with_forms = [s.text for s in Formatter(dialect).statements(texts)]
    assert sum(hit is not None for hit in hits) > 50  # the forms did lay out many of these shapes
    monkeypatch.setattr(closed_forms, "reindented", lambda shape, width: None)
    monkeypatch.setattr(closed_forms, "kept_layout_upper", lambda shape, needs_upper: None)
    clear_shape_cache()
    without = [s.text for s in Formatter(dialect).statements(texts)]
    clear_shape_cache()
    assert with_forms == without
    assert sum(a != s.text for a, s in zip(with_forms, texts, strict=True)) > len(texts) // 2


def test_an_unproven_sqlparse_lays_out_every_shape_itself(monkeypatch):
    """On a sqlparse CI does not prove the forms on, they are never asked: sqlparse's own text."""
    shapes = Shapes(7)
    texts = [Statement(SQL, shapes.shape()) for _ in range(40)]
    monkeypatch.setattr(sqlparse, "__version__", "0.4.4")
    asked = []
    for form in ("reindented", "kept_layout_upper"):
        monkeypatch.setattr(closed_forms, form, lambda *a: asked.append(a))
    clear_shape_cache()
    try:
        formatted = [s.text for s in Formatter(dialects.get("postgresql")).statements(texts)]
    finally:
        clear_shape_cache()
    assert asked == []
    assert sum(f != s.text for f, s in zip(formatted, texts, strict=True)) > 10  # sqlparse laid them out


def test_an_unproven_sqlparse_gets_one_notice_line(tmp_path, monkeypatch):
    project = write_project(tmp_path, [CREATE_T])
    monkeypatch.setattr(styles, "installed_sqlparse", lambda: styles.CLOSED_FORMS_SQLPARSE[-1])
    assert "notice" not in run_distill(["plan"], project).stderr
    monkeypatch.setattr(styles, "installed_sqlparse", lambda: "0.7.0")
    result = run_distill(["plan"], project)
    assert result.returncode == 0
    assert result.stderr == ("distill: notice: sqlparse 0.7.0 was not proven with distill's closed forms "
                             f"(proven: {', '.join(styles.CLOSED_FORMS_SQLPARSE)}); sqlparse lays out every "
                             "statement itself, which is slower\n")
