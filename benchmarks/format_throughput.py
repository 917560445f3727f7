"""Formatting throughput: distill's formatter vs plain sqlparse.format(reindent=True), one run.

    python benchmarks/format_throughput.py [--revisions 1000] [--shape linear|varied] [--dialect postgresql]
    python benchmarks/format_throughput.py --project DIR --json     (issue19.py: its varied history)

Renders the Alembic output of a generated history once, then formats every statement with both,
side by side, and prints MB/s, the ratio, how many statements each changed in meaning (tokens
differ, by distill's lexer), the time for one 10,000-row INSERT, and peak memory for 1x and 4x
the input (flat memory means the peak does not grow with the input).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

import sqlparse
import sqlparse.exceptions
from generate_history import generate

from distill import dialects
from distill.config import load
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements.formatting import Formatter, clear_shape_cache, significant_tokens
from distill.statements.lexer import tokenize
from distill.statements.model import SQL, Statement


def statements_of(root: Path, dialect_name: str) -> list[Statement]:
    history = History(load(root))
    plan = make_plan(history, "base", "heads")
    return [s for s in render(history, plan, dialects.get(dialect_name)).statements() if s.kind == SQL]


def timed(func, repeat: int = 3) -> tuple[float, object]:
    """Best of ``repeat`` runs (this machine is shared: the minimum is the least disturbed)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def example_statements() -> list[tuple[object, list[Statement]]]:
    """The bookshop example in every dialect: varied statements, few repeated shapes."""
    history = History(load(Path(__file__).resolve().parent.parent))
    plan = make_plan(history, "base", "heads")
    return [
        (dialects.get(name), [s for s in render(history, plan, dialects.get(name)).statements()
                              if s.kind == SQL])
        for name in dialects.available()
    ]


def semantic_changes(before: list[str], after: list[str], dialect) -> int:
    fold = dialect.format.keyword_case == "upper"
    return sum(
        significant_tokens(tokenize(a, dialect.lexer), fold)
        != significant_tokens(tokenize(b, dialect.lexer), fold)
        for a, b in zip(before, after, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--shape", default="linear", choices=("linear", "varied"))
    parser.add_argument("--dialect", default="postgresql")
    parser.add_argument("--project", type=Path, help="format this project's output instead")
    parser.add_argument("--json", action="store_true", help="only the throughput figures, as JSON")
    args = parser.parse_args()
    dialect = dialects.get(args.dialect)
    root = args.project or generate(Path(tempfile.mkdtemp(prefix="distill-bench-")), args.revisions,
                                    args.shape)
    statements = statements_of(root, args.dialect)
    texts = [s.text for s in statements]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6

    def ours_cold() -> list[str]:
        global formatter
        clear_shape_cache()  # cold: no shape formatted before
        formatter = Formatter(dialect)
        return [formatter.statement(s).text for s in statements]

    ours_s, ours = timed(ours_cold)
    theirs_s, theirs = timed(lambda: [sqlparse.format(t, reindent=True) for t in texts])
    if args.json:
        print(json.dumps({"statements": len(texts), "megabytes": megabytes,
                          "distill_mb_s": megabytes / ours_s, "sqlparse_mb_s": megabytes / theirs_s,
                          "ratio": theirs_s / ours_s,
                          "changed_in_meaning": semantic_changes(texts, ours, dialect),
                          "counts": formatter.stats.summary()}))
        return

    rows = ", ".join(f"({i}, 'name {i}', 'it''s row {i}; -- x', {i}.5)" for i in range(10_000))
    big = f"INSERT INTO t (id, name, note, amount) VALUES {rows};"
    big_s, _ = timed(lambda: Formatter(dialect).statement(Statement(SQL, big)))
    big_sqlparse = "refused"
    try:
        sqlparse.format(big, reindent=True)
        big_sqlparse = "formatted"
    except sqlparse.exceptions.SQLParseError as exc:
        big_sqlparse = f"raises SQLParseError ({exc})"

    def peak(copies: int) -> int:
        clear_shape_cache()
        tracemalloc.start()
        f = Formatter(dialect)
        for _ in range(copies):
            for s in statements:
                f.statement(s)  # results are streamed out, not kept
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak1, peak4 = peak(1), peak(4)
    print(f"input: {len(texts)} statements, {megabytes:.3f} MB of {args.dialect} SQL "
          f"from a {args.revisions}-revision history")
    print(f"distill formatter : {ours_s:.3f} s  {megabytes / ours_s:.2f} MB/s  "
          f"semantic changes: {semantic_changes(texts, ours, dialect)}  ({formatter.stats.summary()})")
    print(f"sqlparse reindent : {theirs_s:.3f} s  {megabytes / theirs_s:.2f} MB/s  "
          f"semantic changes: {semantic_changes(texts, theirs, dialect)}")
    print(f"ratio             : {theirs_s / ours_s:.1f}x sqlparse's throughput")
    print(f"10,000-row INSERT : {big_s:.4f} s ({len(big) / 1e6:.2f} MB, kept verbatim: over the size "
          f"cap); plain sqlparse {big_sqlparse}")
    varied = example_statements()
    varied_mb = sum(len(s.text.encode()) for _, sts in varied for s in sts) / 1e6
    varied_ours, _ = timed(lambda: clear_shape_cache() or [Formatter(d).statements(sts) for d, sts in varied])
    varied_theirs, _ = timed(lambda: [sqlparse.format(s.text, reindent=True) for _, sts in varied
                                      for s in sts])
    print(f"varied input      : bookshop example, 6 dialects, {varied_mb:.3f} MB, cold caches: "
          f"distill {varied_mb / varied_ours:.2f} MB/s, sqlparse {varied_mb / varied_theirs:.2f} MB/s, "
          f"ratio {varied_theirs / varied_ours:.1f}x")
    print(f"peak memory       : {peak1 / 1e6:.2f} MB for 1x input, {peak4 / 1e6:.2f} MB for 4x")


if __name__ == "__main__":
    main()
