"""The import graph of ``src/moasim`` has no cycle.

Every module is parsed with :mod:`ast`; each ``import`` and ``from ... import`` anywhere in the
file (module level or inside a function: a deferred import still ties the two modules
together) that names a module of the ``moasim`` package becomes an edge. Imports under
``if TYPE_CHECKING:`` are not executed and are left out.

Resolution rules:

- ``import moasim.a.b`` and ``from moasim.a import b`` / ``from .a import b`` with ``b`` a
  module: an edge to ``moasim.a.b``;
- ``from moasim.a import name`` with ``name`` not a module: an edge to ``moasim.a`` (its
  ``__init__`` when ``moasim.a`` is a package);
- the parent packages that Python initialises on the way are not edges (every module would
  otherwise depend on ``moasim/__init__.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "moasim"


def _module_names(src: Path = SRC, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package`` (packages as their ``__init__``)."""
    out = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """``Import``/``ImportFrom`` nodes anywhere in ``tree``, except in ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that one import statement in module ``name`` loads."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    out = set()
    for alias in node.names:
        sub = f"{origin}.{alias.name}"
        if sub in modules:
            out.add(sub)
        elif origin in modules:
            out.add(origin)
    return out


def _packages_initialised(target: str, importer: str) -> list[str]:
    """Parent packages of ``target`` that importing it runs and that are not already running (not ancestors of ``importer``)."""
    parts = target.split(".")
    ancestors = {".".join(importer.split(".")[:i]) for i in range(1, importer.count(".") + 2)}
    return [p for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p not in ancestors]


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> modules of ``package`` it imports (anywhere in its file)."""
    modules = _module_names(src, package)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in _import_nodes(tree):
            edges |= _targets(node, name, is_package, modules)
        edges |= {pkg for target in edges for pkg in _packages_initialised(target, name)}
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None if the graph is acyclic (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    for root in sorted(graph):
        if colour[root] != WHITE:
            continue
        colour[root] = GREY
        path, stack = [root], [iter(sorted(graph[root]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour[nxt] == GREY:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_is_read():
    # guards the test against silently resolving nothing
    g = import_graph()
    assert "moasim.simulation" in g and "moasim.library.build" in g
    assert "moasim.library.build" in g["moasim.simulation"]  # from .library.build import ...
    assert "moasim.library.receptor_params" in g["moasim.library.invitro._pharmacology"]  # from .. import receptor_params


def test_find_cycle_reports_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles_in_src():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in src/moasim: " + " -> ".join(cycle)
