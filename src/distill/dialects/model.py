"""What distill knows about a dialect, as read from its data file in ``dialects/``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LexerRules:
    """How string literals, identifiers and comments are written in this dialect."""

    backslash_escapes: bool
    escape_string_prefix: bool
    dollar_quotes: bool
    double_quote: str  # "identifier" or "string"
    backtick_identifiers: bool
    bracket_identifiers: bool
    hash_comments: bool
    nested_block_comments: bool


@dataclass(frozen=True)
class FormatProfile:
    """How distill's formatter treats this dialect's statements."""

    reindent: bool
    keyword_case: str  # "upper" or "keep"
    indent_width: int
    keep_layout: tuple[str, ...]  # statement openings whose layout is kept
    max_statement_bytes: int


def version_key(version: str) -> tuple[int, ...]:
    """"8.0.12" -> (8, 0, 12); "8.0" is the first of its series, (8, 0)."""
    return tuple(int(part) for part in version.split("."))


# the kinds of finding a rule gives (statements/findings.py)
RULE_KINDS = ("destructive", "data_loss", "lock_risk", "compatibility")
# the facts a rule's ``when`` / ``unless`` may name (statements/sequence.py decides them)
RULE_FACTS = ("sets_only_added_columns", "deletes_only_rows_its_upgrade_inserted", "added_not_valid_here",
              "valid_not_null_check", "inside_transaction")


@dataclass(frozen=True)
class Rule:
    """A finding about a statement: destructive, data loss, a lock risk or compatibility
    (dialects/_common.toml)."""

    kind: str  # one of RULE_KINDS
    pattern: re.Pattern[str]
    message: str
    on: str  # "full" or "top" (parenthesised parts elided)
    # a fact of the statements before it in the same rendering (statements/sequence.py): the
    # rule counts only when it holds (``when``) or only when it does not (``unless``)
    when: str = ""
    unless: str = ""
    # a feature of ``[server_version.features]``: the rule counts only on a server that has it
    # (``has``) or only on one that lacks it (``lacks``)
    has: str = ""
    lacks: str = ""


@dataclass(frozen=True)
class GuardTemplates:
    """SQL that stops a script: on a version-table mismatch (check) or always (fail)."""

    stop_on_error: tuple[str, ...]  # client commands at the very top of every file
    check: str
    check_revisions: str  # a second check statement, for dialects that need one ("" if none)
    base_prepare: str  # from base, a statement before check_revisions ("" if none)
    fail: str
    schema_default: str  # the version table's schema when env.py names none ("" if unused)
    schema_literal: str  # a named schema as an expression, {schema} filled in
    construct: str  # a regular expression the check matches: the construct the manual documents
    documented_by: tuple[str, ...]  # the manual sections that say the construct is valid
    # after the version UPDATE / DELETE: stops unless it changed exactly one row, as online
    # Alembic checks ("" where the guard and the bookkeeping cannot disagree)
    version_row_check: str = ""
    # Two appliers at once: ``lock`` is taken before the guard reads the version table, so a second
    # session waits (or fails) until the first is done, then its guard stops it. Where: "after_begin"
    # (right after the file's first BEGIN: the transaction holds it), "top" (a session lock before
    # the guard, ``lock_release`` at the end), "wrap" (``lock`` begins one transaction around the
    # whole file, ``lock_release`` commits it); "" (no lock). {wait_seconds}: how long to wait.
    lock: str = ""
    lock_place: str = ""
    lock_release: str = ""
    lock_comment: str = "lock: one applier at a time; a second one waits here, then its guard stops it"
    # A session lock on the same name held for the whole file, taken before the first BEGIN and
    # released at the end: where a file commits in the middle (an autocommit block), the
    # transaction's lock alone would let a second applier in before the file is done. "" if none.
    file_lock: str = ""
    file_lock_release: str = ""


@dataclass(frozen=True)
class Client:
    """The dialect's command-line client: what the runbook tells a DBA, and how rehearse runs it."""

    program: str
    package: str
    apply: str  # the runbook's command line, {file} filled in
    on_error: str = ""  # what the runbook says the client does at the first error
    resume: str = ""  # what the runbook says to do when a file stopped half-way
    alternatives: tuple[str, ...] = ()  # other names the same client is installed under
    # Arguments that run a script read on stdin, {uri} {username} {host} {port} {socket}
    # {database} filled in from a URL; an argument whose placeholder is empty is left out.
    arguments: tuple[str, ...] = ()
    password_variable: str = ""  # the password goes through this environment variable
    environment: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Server:
    """How rehearse reaches a server of this dialect and makes scratch databases on it."""

    driver: str = ""  # SQLAlchemy drivername distill uses ("" : the URL's own)
    driver_module: str = ""
    driver_extra: str = ""  # the pip extra that installs it
    # used where the first is not installed or this SQLAlchemy has no dialect for it
    fallback_driver: str = ""
    fallback_driver_module: str = ""
    fallback_driver_extra: str = ""
    identifier_quote: str = '"'
    create_database: str = "CREATE DATABASE {name}"
    drop_database: str = "DROP DATABASE IF EXISTS {name}"


@dataclass(frozen=True)
class ReadRules:
    """Which statements only read (``[shadow.reads]``); anything else is written."""

    openings: tuple[str, ...] = ()  # first words of statements that may only read
    # word sequences that make such a statement write (or lock) after all, wherever they stand
    # outside literals and quoted names: DML in a CTE, FOR UPDATE, SELECT ... INTO, EXPLAIN ANALYZE
    writing_words: tuple[tuple[str, ...], ...] = ()
    # the words that may stand before "(" in a read: keywords, built-ins that change nothing
    functions: tuple[str, ...] = ()
    writing_functions: tuple[str, ...] = ()  # functions with side effects (setval, GET_LOCK)
    pragmas: tuple[str, ...] = ()  # PRAGMA names that read when given no value (SQLite)
    pragmas_with_argument: tuple[str, ...] = ()  # ... and those that read with one in parentheses


@dataclass(frozen=True)
class StandInForm:
    """A statement the stand-in server refuses but the dialect's manual documents, and the
    stand-in's own form of it, run on the shadow instead (the file keeps the dialect's)."""

    server: str  # the stand-in server, as the SQL comments name it ("MariaDB")
    pattern: re.Pattern[str]  # the statement as written (full match, case-insensitive)
    replacement: str  # the stand-in's form (re.sub template with the pattern's groups)
    why: str  # what the step's WARNING says, one line
    documented_by: tuple[str, ...]


@dataclass(frozen=True)
class Shadow:
    """How distill renders against a shadow database of this dialect (``--shadow``)."""

    # tables whose reads are schema introspection, not rows (a regular expression, full match,
    # on the table name as the statement writes it, lower-cased)
    catalog_tables: str = ""
    # the throwaway shadow distill makes by itself: "file" (a temp file), "postgresql-server" or
    # "mariadb-server" (a temporary local server, shadow/servers.py), "" (none: --shadow-url)
    throwaway: str = ""
    # what a statement sent through the shadow connection must look like to be a read (run on
    # the shadow, never written): statements/reads.py
    reads: ReadRules = field(default_factory=ReadRules)
    # statements of this dialect another server standing in for it writes its own way
    stand_in: tuple[StandInForm, ...] = ()
    # --shadow-url on a server dialect: what makes a transaction read-only (the first statement),
    # the query that reads the named database's properties in it, the CREATE DATABASE that gives
    # the copy the same ones ({name}, then {0}, {1}... the query's columns as string literals)
    read_only: str = ""
    source_query: str = ""
    copy_database: str = ""
    # the program (then its alternatives) and arguments that dump the named database's schema and
    # rows as SQL on stdout ({uri}, {username}, {host}, {port}, {socket}, {database}: from the URL)
    dump: tuple[str, ...] = ()
    dump_alternatives: tuple[str, ...] = ()

    @property
    def on_server(self) -> bool:
        """Its throwaway shadow is a database on a temporary local server (not a file, not none)."""
        return self.throwaway not in ("", "file")


@dataclass(frozen=True)
class TimeoutSettings:
    """The session settings for --lock-timeout and --statement-timeout (lines with {ms},
    {seconds}, {seconds_decimal}); where there are none, why."""

    lock: tuple[str, ...] = ()
    statement: tuple[str, ...] = ()
    lock_missing: str = ""
    statement_missing: str = ""


@dataclass(frozen=True)
class RecordSQL:
    """The record of applied files (record_applied): the table's CREATE if absent and the INSERT,
    with {table}, {bundle}, {release}, {file}, {direction}, {from_revisions}, {to_revisions},
    {bundle_sha256} (SQL literals or NULL); empty where distill cannot record yet."""

    create: str = ""
    insert: str = ""


@dataclass(frozen=True)
class Catalog:
    """Queries a schema snapshot runs beyond SQLAlchemy's inspector (triggers, functions ...)."""

    queries: tuple[tuple[str, str], ...] = ()  # (key, query) whose rows are compared as they are
    table_ddl_query: str = ""  # one query giving (table, CREATE statement) rows
    table_ddl_per_table: str = ""  # or one query per table, {table} filled in
    enums: bool = False  # named enum types (PostgreSQL)


@dataclass(frozen=True)
class Dialect:
    """One target database: how its SQL is written and how its scripts are applied."""

    name: str
    title: str
    sqlalchemy_dialect: str
    lexer: LexerRules
    terminator: str
    batch_separator: str
    comment: str
    compound_statements: str  # "as-is" or "delimiter"
    carriage_return: str  # inside literals: "as-is", "backslash-escape" or "concatenate"
    carriage_return_expression: str  # with "concatenate": the expression for one CR
    national_string_prefix: str  # before a literal that holds names and messages ("N" or "")
    version_table_create: str  # template: {create} {rest} {table_in_literal} {create_in_literal}
    delimiter_candidates: tuple[str, ...]
    preamble: tuple[str, ...]
    postamble: tuple[str, ...]  # lines at the very end of every file (Oracle: COMMIT; EXIT)
    before_commit: tuple[str, ...]  # statements before every COMMIT of a file (SQLite: foreign keys)
    format: FormatProfile
    guard: GuardTemplates
    rules: tuple[Rule, ...]
    client: Client
    server: Server = field(default_factory=Server)
    shadow: Shadow = field(default_factory=Shadow)
    catalog: Catalog = field(default_factory=Catalog)
    timeouts: TimeoutSettings = field(default_factory=TimeoutSettings)
    record: RecordSQL = field(default_factory=RecordSQL)
    alembic_impl_hooks: tuple[str, ...] = ()  # named corrections of Alembic's impl (alembic_compat)
    drop_constraint_needs_type: bool = False  # op.drop_constraint() needs type_= (MySQL)
    # the words an ALTER TABLE action starts with (statements/actions.py)
    alter_actions: frozenset[str] = frozenset()
    # the statement forms of dialects/_common.toml [grammar.forms], by name (the dialect file's
    # own [grammar.forms] replace some)
    forms: tuple[tuple[str, re.Pattern[str]], ...] = ()
    # [server_version]: the version assumed when the project names none ("": the dialect has no
    # version-dependent rules), and from which version the server has each feature rules name
    oldest_version: str = ""
    features: tuple[tuple[str, str], ...] = ()

    def has_feature(self, feature: str, version: str) -> bool:
        """True when a server of ``version`` ("": the oldest assumed) has ``feature``."""
        return version_key(version or self.oldest_version) >= version_key(dict(self.features)[feature])

    def form(self, name: str) -> re.Pattern[str]:
        """The statement form ``name`` (add_column, drop_table ...) of ``[grammar.forms]``."""
        return dict(self.forms)[name]

    def comment_line(self, text: str) -> str:
        """``text`` as a one-line SQL comment."""
        return f"{self.comment} {text}".rstrip() if text else self.comment

    def quote_identifier(self, name: str) -> str:
        """``name`` quoted for this dialect's server (names distill makes itself)."""
        quote = self.server.identifier_quote
        return f"{quote}{name.replace(quote, quote * 2)}{quote}"
