"""Project modules whose bytes reach only the steps whose scripts import them (issue 32: an edited
helper renders again the revisions that import it, not the others).

A project module is *confined* when nothing but revision scripts' step functions can use it:

* loading it has no effect beyond binding names: its top level holds only a docstring, imports
  of project modules, of the standard library, of Alembic and of SQLAlchemy (another library may
  register compilers or types when imported), plain assignments (no call, no lambda, no
  comprehension), and functions without decorators whose defaults and annotations call nothing
  (classes, decorators and calls at the top level can register hooks, listeners or types that
  every rendering meets);
* a revision script imports it (directly, or through other confined modules), and every script
  that imports it uses it only inside functions (its own top level is *plain*: a docstring,
  imports, constant assignments, functions without decorators);
* nothing else imports it: not env.py, not a module that is not confined itself, not a module
  loaded for another reason (a setup hook, the program that called distill's API). Importing a
  package reaches every loaded module of it (its attributes).

A rendering that imports a project module not loaded with the history (inside ``upgrade()``,
or env.py) may reach any of them: its entry then depends on every confined module too
(``RenderCache.rendered``).

Every other project module is keyed for every step (the key's base), as before. Read from the
module files by their syntax: a file whose bytes are not the ones executed, or that does not
parse, is not confined. A module reached only by ``importlib.import_module`` or
``sys.modules`` lookups is unseen by the syntax (the README states this limit).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

from ..compat import watch


def confined_modules(modules: dict[str, str], scripts: Iterable[str], env_py: str,
                     known: Callable[[list[str]], ScriptImports] | None = None) -> dict[str, set[str]]:
    """Script path -> the confined modules (paths) it reaches; ``modules``: every project module
    loaded (path -> digest of the bytes executed); ``known``: given the project modules' words,
    what earlier runs found in scripts (``ScriptImports``), which this one reads and adds to."""
    names = _module_names(modules)
    pure = {path for path in modules if _pure(path, modules[path], names)}
    if not pure:  # nothing can be confined: no script need be read
        return {}
    graph = {path: _imported(path, names) for path in modules}
    words = sorted({name.rpartition(".")[2] for name in names})
    imports = known(words) if known is not None else ScriptImports(words)
    reached: dict[str, set[str]] = {}
    held = set()  # modules something other than a plain script's step functions may use
    for script in scripts:
        if script in modules:  # imported as a module too: relative imports resolve under its names
            direct, plain = _imported(script, names), _plain(script)
        else:
            found = imports.of(script)
            if found is None:  # it names no project module
                reached[script] = set()
                continue
            direct, plain = _paths(found[1], names), found[0]
        if direct and not plain:
            held |= direct
        reached[script] = _closure(direct, graph, pure)
    held |= _imported(env_py, names)
    held |= set(modules) - pure
    held |= set(modules) - set().union(*reached.values())  # loaded for another reason
    held = _closure(held, graph, None)
    return {script: {path for path in found if path not in held} for script, found in reached.items()}


def _mentions(path: str, pattern: re.Pattern[str]) -> bool:
    """Whether the file at ``path`` holds a match of ``pattern``; True if it cannot be read or
    holds a byte outside ASCII (Python reads identifiers NFKC-normalised: ``import ｃachehelper``
    imports ``cachehelper``; only the parser can tell)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return True
    return not data.isascii() or pattern.search(data.decode("ascii")) is not None


def _closure(start: set[str], graph: dict[str, set[str]], through: set[str] | None) -> set[str]:
    """``start`` and what its modules import, transitively (only through ``through``, if given)."""
    found, stack = set(), list(start)
    while stack:
        path = stack.pop()
        if path in found or path not in graph:
            continue
        found.add(path)
        if through is None or path in through:
            stack.extend(graph[path] - found)
    return found


def _module_names(modules: dict[str, str]) -> dict[str, str]:
    """Module name -> path, for every name a loaded project module has (one file may be loaded
    under two names)."""
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and os.path.abspath(path) in modules:
            found[name] = os.path.abspath(path)
    return found


@functools.lru_cache(maxsize=65536)
def _tree(path: str, digest: str | None) -> ast.Module | None:
    """The syntax of the file at ``path`` if its bytes have ``digest`` (any, when None)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if digest is not None and watch.digest_bytes(data) != digest:
            return None
        return ast.parse(data, path)
    except (OSError, SyntaxError, ValueError):
        return None


class ScriptImports:
    """What revision scripts import, by the digest of the bytes each was executed from, for one
    set of project module names (``words``: their last parts): None for a script whose text names
    none of them (a statement importing a module names its last part: parsing 1,000 scripts took
    a second), else whether its top level is plain and the module names it imports. Kept in the
    render cache between runs (``cache.known_imports``): a function of the bytes and the words."""

    def __init__(self, words: list[str], table: dict[str, Any] | None = None) -> None:
        self.words, self.table, self.added = words, dict(table or {}), False
        self._mentioned = re.compile(rf"\b(?:{'|'.join(map(re.escape, words))})\b")

    def of(self, script: str) -> tuple[bool, list[str]] | None:
        digest = watch.executed(script)
        if digest is not None and digest in self.table:
            return self.table[digest]
        found: tuple[bool, list[str]] | None = None
        if _mentions(script, self._mentioned):
            tree = _tree(script, digest)
            names = sorted(_imported_names(tree, [], script)) if tree is not None else []
            found = (_plain_tree(tree), names)
        if digest is not None and not script.endswith("__init__.py"):  # no relative import resolves
            self.table[digest] = found
            self.added = True
        return found


def _imported(path: str, names: dict[str, str]) -> set[str]:
    """The loaded project modules (paths) the file at ``path`` imports anywhere in it (relative
    imports resolved under each name the file was loaded as; a package imported reaches every
    loaded module of it)."""
    tree = _tree(path, None)
    if tree is None:
        return set()
    own = [name for name, where in names.items() if where == path]
    return _paths(_imported_names(tree, own, path), names)


def _paths(wanted: Iterable[str], names: dict[str, str]) -> set[str]:
    """The loaded project modules (paths) that importing the module names ``wanted`` reaches."""
    wanted = set(wanted)
    packages = [name for name in wanted if name in names and names[name].endswith("__init__.py")]
    wanted |= {name for name in names for package in packages if name.startswith(package + ".")}
    return {names[name] for name in wanted if name in names}


def _imported_names(tree: ast.Module, own_names: list[str], path: str) -> set[str]:
    """Every module name an import statement of ``tree`` names (and the packages above it)."""
    packages = [name if path.endswith("__init__.py") else name.rpartition(".")[0] for name in own_names]
    wanted: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bases = [alias.name for alias in node.names]
            wanted |= {".".join(b.split(".")[:i]) for b in bases for i in range(1, b.count(".") + 2)}
        elif isinstance(node, ast.ImportFrom):
            bases = [node.module or ""] if not node.level else []
            for package in packages if node.level else ():
                try:
                    bases.append(importlib.util.resolve_name("." * node.level + (node.module or ""), package))
                except (ImportError, ValueError):
                    continue
            for base in bases:
                wanted |= {".".join(base.split(".")[:i]) for i in range(1, base.count(".") + 2)}
                wanted |= {f"{base}.{alias.name}" for alias in node.names}
    return wanted


def _calls_nothing(*nodes: ast.AST | None) -> bool:
    """Whether evaluating these expressions can call nothing (no call, lambda, comprehension,
    await or yield among them)."""
    risky = (ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Await,
             ast.Yield, ast.YieldFrom, ast.NamedExpr)
    return not any(isinstance(inner, risky) for node in nodes if node is not None for inner in ast.walk(node))


def _plain_function(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.decorator_list:
        return False
    arguments = node.args
    annotations = [a.annotation for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                          arguments.vararg, arguments.kwarg) if a is not None]
    return _calls_nothing(*arguments.defaults, *arguments.kw_defaults, *annotations, node.returns)


# what a confined module may import when it loads: importing these binds names and no more
_KNOWN_IMPORTS = frozenset({"__future__", "alembic", "sqlalchemy"}) | frozenset(sys.stdlib_module_names)


def _plain_statement(node: ast.stmt, names: dict[str, str] | None = None) -> bool:
    """A top-level statement whose execution only binds names (``names``: a module's, whose
    imports must be of project modules, the standard library, Alembic or SQLAlchemy)."""
    if isinstance(node, ast.Import):
        return names is None or all(_known(alias.name, names) for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return names is None or bool(node.level) or _known(node.module or "", names)
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _calls_nothing(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and _calls_nothing(node.value, node.annotation)
    return _plain_function(node)


def _plain(path: str) -> bool:
    """Whether loading the file at ``path`` only binds names (see the module docstring)."""
    return _plain_tree(_tree(path, None))


def _plain_tree(tree: ast.Module | None) -> bool:
    """Whether a module of this syntax only binds names when loaded (False: it did not parse)."""
    return tree is not None and all(_plain_statement(node) for node in tree.body)


def _known(module: str, names: dict[str, str]) -> bool:
    """Whether importing ``module`` at a confined module's top level binds names and no more."""
    return module in names or module.partition(".")[0] in _KNOWN_IMPORTS


def _pure(path: str, digest: str, names: dict[str, str]) -> bool:
    """Whether the module at ``path``, as executed (``digest``), only binds names when loaded."""
    tree = _tree(path, digest)
    return tree is not None and all(_plain_statement(node, names) for node in tree.body)
