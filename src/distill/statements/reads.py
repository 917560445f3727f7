"""Which statements only read, and which tables they read: decided over distill's own lexer's
tokens (never inside a literal, a quoted name or a comment), with the dialect's rules
(``[shadow.reads]``).

A statement a revision sends through the shadow connection is written to the file unless it is
provably a read (``is_read``): when in doubt, it is written. A read's tables (``tables_read``)
are what makes a step's SQL depend on the rows; the names a WITH clause defines are not tables.
"""

from __future__ import annotations

from ..dialects import Dialect, ReadRules
from .lexer import COMMENT, PUNCT, QIDENT, WORD, WS, Token, tokenize

# functions whose FROM is part of their arguments (EXTRACT(year FROM t)), not a table
_FROM_IN_ARGUMENTS = frozenset({"EXTRACT", "SUBSTRING", "TRIM", "OVERLAY", "POSITION"})


def _significant(sql: str, dialect: Dialect) -> list[Token]:
    """The tokens of ``sql`` without whitespace and comments."""
    return [t for t in tokenize(sql, dialect.lexer) if t[0] not in (WS, COMMENT)]


def _words(tokens: list[Token]) -> list[str]:
    return [text.upper() if kind == WORD else "" for kind, text in tokens]


def _one_statement(tokens: list[Token]) -> bool:
    """True unless a ';' stands before another token (two statements in one string)."""
    ends = [i for i, (kind, text) in enumerate(tokens) if kind == PUNCT and text == ";"]
    return all(i == len(tokens) - 1 or all(t == (PUNCT, ";") for t in tokens[i:]) for i in ends)


def _holds(words: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[i:i + size]) == phrase for i in range(len(words) - size + 1))


def _called(tokens: list[Token]) -> list[tuple[str, str]]:
    """(NAME, qualified name) of each call in ``tokens``: a name right before "(", unless it
    follows AS or "::" (an alias's column list, a type's length) or the WITH clause defines it."""
    defined = cte_names(tokens)
    calls = []
    for i, (kind, text) in enumerate(tokens[:-1]):
        if kind not in (WORD, QIDENT) or tokens[i + 1] != (PUNCT, "("):
            continue
        if _plain_name(text).lower() in defined:
            continue
        before = tokens[i - 1] if i else (WS, "")
        if before == (PUNCT, "::") or (before[0] == WORD and before[1].upper() == "AS"):
            continue
        name = _plain_name(text)
        if i >= 2 and before == (PUNCT, ".") and tokens[i - 2][0] in (WORD, QIDENT):
            calls.append((name.upper(), f"{_plain_name(tokens[i - 2][1])}.{name}"))
        else:
            calls.append((name.upper(), name))
    return calls


def _calls_only_readers(tokens: list[Token], dialect: Dialect) -> bool:
    """True when every call is of a function the dialect lists as changing nothing
    (``functions``, unqualified or in its catalog schema), none of its writing ones. A function
    that merely looks like a catalog one (pg_create_logical_replication_slot), or reads the
    catalog (SELECT audit.enable(tablename) FROM pg_tables), is not known to change nothing."""
    rules = dialect.shadow.reads
    called = _called(tokens)
    if any(name in rules.writing_functions for name, _ in called):
        return False
    return all(name in rules.functions and _in_catalog_schema(qualified, name) for name, qualified in called)


def _in_catalog_schema(qualified: str, name: str) -> bool:
    """An unqualified call, or one qualified with a catalog schema (pg_catalog.format_type)."""
    schema = qualified[:-len(name)].rstrip(".").lower() if "." in qualified else ""
    return schema in ("", "pg_catalog", "information_schema", "sys", "main")


def _pragma_reads(tokens: list[Token], rules: ReadRules) -> bool:
    """PRAGMA [schema.]name, or PRAGMA [schema.]name(argument) for the pragmas that read with one."""
    rest = tokens[1:]
    if rest and rest[-1] == (PUNCT, ";"):
        rest = rest[:-1]
    if len(rest) >= 3 and rest[1] == (PUNCT, "."):
        rest = rest[2:]  # schema.
    if not rest or rest[0][0] not in (WORD, QIDENT):
        return False
    name = rest[0][1].strip('"`[]').upper()
    if len(rest) == 1:
        return name in rules.pragmas
    return (rest[1] == (PUNCT, "(") and rest[-1] == (PUNCT, ")") and name in rules.pragmas_with_argument
            and all(t[0] != PUNCT or t[1] in "()" for t in rest[2:-1]))


def is_read(sql: str, dialect: Dialect) -> bool:
    """True for one statement that provably only reads: it opens with one of the dialect's read
    openings (after any opening parentheses), holds none of its writing words (DML in a CTE,
    FOR UPDATE, SELECT ... INTO, EXPLAIN ANALYZE) and calls only functions known to change
    nothing; or a PRAGMA that reads. Anything else (when in doubt) is not."""
    rules = dialect.shadow.reads
    tokens = _significant(sql, dialect)
    while tokens and tokens[0] == (PUNCT, "("):
        tokens = tokens[1:]
    if not tokens or tokens[0][0] != WORD or not _one_statement(tokens):
        return False
    words = _words(tokens)
    if words[0] == "PRAGMA":
        return _pragma_reads(tokens, rules)
    if words[0] not in rules.openings or _assigns(tokens):
        return False
    return not any(_holds(words, phrase) for phrase in rules.writing_words) \
        and _calls_only_readers(tokens, dialect)


def _assigns(tokens: list[Token]) -> bool:
    """A user-variable assignment (MySQL's SELECT @m := ...): the session changes."""
    return any(text == ":=" or (text == ":" and following == (PUNCT, "="))
               for (kind, text), following in zip(tokens, [*tokens[1:], (WS, "")], strict=True)
               if kind == PUNCT)


_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})


def queries(sql: str, dialect: Dialect) -> bool:
    """True for a statement whose rows a revision may use: a read, or one that opens like a read
    and changes no rows (SELECT ... FOR UPDATE, a call of a function with side effects) but is
    written all the same. A step that sent one depends on the rows it saw."""
    if is_read(sql, dialect):
        return True
    tokens = _significant(sql, dialect)
    while tokens and tokens[0] == (PUNCT, "("):
        tokens = tokens[1:]
    words = _words(tokens)
    if not words or words[0] not in dialect.shadow.reads.openings or not _one_statement(tokens):
        return False
    # UPDATE in FOR UPDATE / FOR NO KEY UPDATE locks rows; anywhere else it changes them
    return not any(word in _DML and not (word == "UPDATE" and i and words[i - 1] in ("FOR", "KEY"))
                   for i, word in enumerate(words))


def cte_names(tokens: list[Token]) -> set[str]:
    """The names a WITH clause defines: a name, optional (columns), AS, [NOT] [MATERIALIZED], (."""
    names = set()
    for i, (kind, text) in enumerate(tokens):
        if kind not in (WORD, QIDENT):
            continue
        j = i + 1
        if j < len(tokens) and tokens[j] == (PUNCT, "("):
            j = _after_parentheses(tokens, j)
        words = _words(tokens[j:j + 4])
        if words[:1] == ["AS"]:
            skip = 1 + (words[1:3] == ["NOT", "MATERIALIZED"]) * 2 + (words[1:2] == ["MATERIALIZED"])
            if tokens[j + skip:j + skip + 1] == [(PUNCT, "(")]:
                names.add(_plain_name(text).lower())
    return names


def _after_parentheses(tokens: list[Token], start: int) -> int:
    """The index after the parenthesis that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += (tokens[index] == (PUNCT, "(")) - (tokens[index] == (PUNCT, ")"))
        if depth == 0:
            return index + 1
    return len(tokens)


def _plain_name(text: str) -> str:
    return text[1:-1] if text[:1] in '"`[' else text


def _name_at(tokens: list[Token], i: int) -> str | None:
    """The (possibly schema-qualified) name starting at token ``i``, unquoted."""
    while i < len(tokens) and tokens[i][0] == WORD and tokens[i][1].upper() in ("ONLY", "LATERAL"):
        i += 1
    if i >= len(tokens) or tokens[i][0] not in (WORD, QIDENT):
        return None
    name = _plain_name(tokens[i][1])
    if i + 2 < len(tokens) and tokens[i + 1] == (PUNCT, ".") and tokens[i + 2][0] in (WORD, QIDENT):
        name += "." + _plain_name(tokens[i + 2][1])
        i += 2
    return None if tokens[i + 1:i + 2] == [(PUNCT, "(")] else name  # a function, not a table


def names_after_from(sql: str, dialect: Dialect) -> set[str]:
    """The names after FROM / JOIN in ``sql`` (not a subquery, not a function such as
    generate_series(...), not EXTRACT(... FROM x)), without the names its WITH clauses define."""
    return _from_names(_significant(sql, dialect))


def _from_names(tokens: list[Token]) -> set[str]:
    opened: list[str] = []  # the word before each open parenthesis
    found = set()
    for i, (kind, text) in enumerate(tokens):
        if (kind, text) == (PUNCT, "("):
            opened.append(tokens[i - 1][1].upper() if i and tokens[i - 1][0] == WORD else "")
        elif (kind, text) == (PUNCT, ")") and opened:
            opened.pop()
        elif kind == WORD and text.upper() in ("FROM", "JOIN"):
            if opened and opened[-1] in _FROM_IN_ARGUMENTS:
                continue
            name = _name_at(tokens, i + 1)
            if name is not None:
                found.add(name)
    defined = cte_names(tokens)
    return {name for name in found if name.lower() not in defined}
