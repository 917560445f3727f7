"""The package's shape: imports flow one way (no cycles), no private name crosses a module, and
modules and functions stay small enough to read. Read from the source, not by importing it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "distill"
MAX_MODULE_LINES = 500  # catches monsters; modules are split by concept, not by size
MAX_FUNCTION_LINES = 50


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _runtime_imports(tree: ast.Module):
    """Import statements that run when the module is imported (not under TYPE_CHECKING)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    """(module -> distill modules it imports, private names imported across modules)."""
    edges: dict[str, set[str]] = {}
    private = []
    for module, path in MODULES.items():
        edges[module] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges[module] |= {a.name for a in node.names if a.name in MODULES}
                continue
            source = _absolute(module, node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in MODULES:
                    edges[module].add(target)
                elif source in MODULES:
                    edges[module].add(source)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{module} imports {alias.name} from {source}")
        edges[module] |= _lazy_imports(path)
        edges[module].discard(module)
    return edges, private


def _lazy_imports(path: Path) -> set[str]:
    """Modules named by ``LazyModule("distill.x")``: imported later, but imports all the same."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LazyModule" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and argument.value in MODULES:
                found.add(argument.value)
    return found


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_walk_finds_the_package_and_its_imports():
    edges, _ = _graph()
    assert "distill.offline.render" in edges and "distill.cli" in edges
    assert "distill.history.plan" in edges["distill.offline.render"]
    assert "distill.api" in edges["distill.cli"]


def test_no_import_cycle():
    edges, _ = _graph()
    assert _cycle(edges) is None, " -> ".join(_cycle(edges) or [])


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# The packages (and top-level modules) from the bottom up: a package imports only from its own
# layer or a lower one, and the package graph has no cycle, so inside a layer imports flow one way
# too (offline uses shadow, audit uses rehearsal; never back). "distill" is the package's
# __init__ (its version). A new package or module has to be placed here.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "distill compat errors names atomic progress resources terminal tomlfile lazy workers",  # small shared modules
    "dialects",
    "statements",  # the model of SQL statements and findings; every renderer produces them
    "alembic_compat",  # Alembic's internals, patched while rendering to produce statements
    "config",
    "history",
    "offline shadow",
    "cache",  # the render cache: keyed on the history, holds offline renderings
    "bundle",  # building, publishing and verifying bundles
    "audit rehearsal",
    "project api cli cli_audit cli_options cli_completion __main__",  # the front
))


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for module, targets in edges.items():
        found.setdefault(_package(module), set()).update(_package(t) for t in targets)
    for package, targets in found.items():
        targets.discard(package)
    return found


def _layer_violations(packages: dict[str, set[str]], layers: tuple[frozenset[str], ...]) -> list[str]:
    """Packages placed in no layer, imports of a higher layer, and a cycle between packages."""
    rank = {package: number for number, layer in enumerate(layers) for package in layer}
    found = [f"{package} is in no layer" for package in sorted(packages) if package not in rank]
    found += [f"{package} (layer {rank[package]}) imports {target} (layer {rank[target]})"
              for package, targets in sorted(packages.items()) for target in sorted(targets)
              if package in rank and target in rank and rank[target] > rank[package]]
    cycle = _cycle({p: {t for t in ts if t in packages} for p, ts in packages.items()})
    if cycle:
        found.append("cycle: " + " -> ".join(cycle))
    return found


def test_packages_import_down_the_layers_only():
    edges, _ = _graph()
    assert _layer_violations(_package_edges(edges), LAYERS) == []


def test_the_layer_check_fails_an_upward_import_a_cycle_and_an_unplaced_package():
    layers = (frozenset({"errors"}), frozenset({"history"}), frozenset({"audit", "rehearsal"}))
    assert _layer_violations({"errors": set(), "history": {"errors"}, "audit": {"rehearsal", "history"},
                              "rehearsal": {"errors"}}, layers) == []
    upward = {"errors": set(), "history": {"audit"}, "audit": set()}
    assert _layer_violations(upward, layers) == ["history (layer 1) imports audit (layer 2)"]
    cycle = {"audit": {"rehearsal"}, "rehearsal": {"audit"}}
    assert _layer_violations(cycle, layers) == ["cycle: audit -> rehearsal -> audit"]
    assert _layer_violations({"newpkg": {"errors"}, "errors": set()}, layers) == ["newpkg is in no layer"]


def test_the_package_walk_sees_the_real_package_edges():
    packages = _package_edges(_graph()[0])
    assert "history" in packages["offline"] and "shadow" in packages["offline"]
    assert "bundle" in packages["rehearsal"] and "audit" not in packages["rehearsal"]


def test_no_private_name_imported_from_another_module():
    _, private = _graph()
    assert private == []


# What distill may import from Alembic outside the compatibility package: its public API.
PUBLIC_ALEMBIC = {
    "alembic.config": {"Config"},
    "alembic.runtime.environment": {"EnvironmentContext"},
    "alembic.script": {"Script", "ScriptDirectory"},
    "alembic.script.revision": {"RangeNotAncestorError", "RevisionError"},
    "alembic.util": {"CommandError"},
}


def _internals(module: str, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("alembic"):
            found += [f"{module} imports {a.name} from {node.module}" for a in node.names
                      if a.name not in PUBLIC_ALEMBIC.get(node.module, set())]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner not in ("self", "cls", "os", "sys"):
                found.append(f"{module} reads {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and node.attr == "__class__" and isinstance(node.ctx, ast.Store):
            found.append(f"{module} swaps a __class__")
    return found


def test_alembic_internals_only_in_the_compatibility_package():
    """Private attributes of other objects, Alembic's non-public classes and class swaps are
    used in alembic_compat only."""
    offenders = []
    for module, path in MODULES.items():
        if not module.startswith("distill.alembic_compat"):
            offenders += _internals(module, ast.parse(path.read_text(encoding="utf-8")))
    assert offenders == []


def test_the_internals_finder_finds_them():
    tree = ast.parse("from alembic.runtime.migration import HeadMaintainer\nx = script._revision_map\n"
                     "impl.__class__ = type\n")
    assert len(_internals("m", tree)) == 3


def test_modules_and_functions_are_small():
    too_long = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []


def _imported_names(tree: ast.Module) -> set[str]:
    """Names a module binds by importing something that is not distill (stdlib, dependencies)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {(a.asname or a.name).split(".")[0] for a in node.names if not a.name.startswith("distill")}
        elif isinstance(node, ast.ImportFrom) and not node.level and not (node.module or "").startswith("distill"):
            found |= {a.asname or a.name for a in node.names}
    return found


def _root(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _patches(module: str, tree: ast.Module) -> list[str]:
    """Attributes set or deleted on something imported from outside distill: a patch."""
    imported, found = _imported_names(tree), []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("setattr", "delattr") and node.args:
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        found += [f"{module} patches {ast.unparse(t)}" for t in targets
                  if isinstance(t, ast.Attribute) and _root(t) in imported]
    return found


def test_the_stdlib_and_dependencies_are_patched_only_in_the_compatibility_packages():
    offenders = []
    for module, path in MODULES.items():
        if not module.startswith(("distill.compat", "distill.alembic_compat")):
            offenders += _patches(module, ast.parse(path.read_text(encoding="utf-8")))
    assert offenders == []


def test_the_patch_finder_finds_them():
    tree = ast.parse("import logging\nimport importlib.machinery\nfrom alembic.runtime import migration as m\n"
                     "from . import progress\nlogging.Logger.callHandlers = f\n"
                     "del importlib.machinery.SourceFileLoader.exec_module\nsetattr(m.HeadMaintainer, 'x', f)\n"
                     "progress.QUIET = True\nlocal = object()\nlocal.x = 1\n")
    assert _patches("m", tree) == ["m patches logging.Logger.callHandlers",
                                   "m patches importlib.machinery.SourceFileLoader.exec_module",
                                   "m patches m.HeadMaintainer.?"]

