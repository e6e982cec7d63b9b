"""Developer checks on the package's own source: ``python -m l2g.devtools cycles``; and
``python -m l2g.devtools formats``, the table of the reader registry that docs/DATA.md holds.

The import graph is read from the source with :mod:`ast` (nothing is imported): an edge ``a -> b`` for
every ``import``/``from ... import`` in ``a`` that names a module ``b`` of the package, wherever the
statement stands (module level, inside a function, under ``TYPE_CHECKING``) -- a deferred import is
still a dependency, and a cycle is a helper living in the wrong module (docs/ARCHITECTURE.md).

A package's ``__init__`` is its own node (``l2g.io``); importing ``l2g.io.wfdb`` is an edge to
``l2g.io.wfdb`` only, as import-linter counts it.

Examples
--------
>>> graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
>>> import_cycles(graph)
[['a', 'b', 'c']]
>>> import_cycles({"a": {"b"}, "b": set()})
[]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> source file, for every ``.py`` file of the package."""
    root = package_dir.name
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join((root, *parts))] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package modules one import statement in ``module`` names."""
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in known:  # import l2g.io.wfdb.x -> the longest module prefix
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            here = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                here = here.rpartition(".")[0]
            base = ".".join(p for p in (here, node.module) if p)
        else:
            base = node.module or ""
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in known:  # from . import leads -> the submodule
                found.add(sub)
            elif base in known:
                found.add(base)
    return found


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """The package's import graph: module -> the package modules it imports (itself excluded).

    Parameters
    ----------
    package_dir : Path
        The package folder (the one holding ``__init__.py``); its name is the root of every module name.

    Returns
    -------
    dict of str to set of str
        Every module of the package, with the modules of the package it imports.
    """
    names = _module_names(package_dir)
    known = set(names)
    graph = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in ast.walk(tree):
            edges |= _imported(node, module, is_package, known)
        edges.discard(module)
        graph[module] = edges
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module, each sorted; sorted.

    Every import cycle lies inside one of them; a graph without cycles returns ``[]``.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(start: str) -> None:  # Tarjan, iterative (no recursion limit on deep graphs)
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the first module of ``component``: ``[a, b, ..., a]``."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth-first inside the component, back to start
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise ValueError(f"cycle_path: {component} is not a cycle of the graph")


def main(argv: list[str] | None = None) -> int:
    """``cycles``: print each import cycle of the package and exit 1 if there is one. ``formats``: print
    the Markdown table of the readers (:func:`l2g.io._registry.formats_table`)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["formats"]:
        from .io._registry import formats_table

        print(formats_table())
        return 0
    if argv != ["cycles"]:
        print("usage: python -m l2g.devtools cycles|formats", file=sys.stderr)
        return 2
    graph = import_graph()
    cycles = import_cycles(graph)
    for component in cycles:
        print(f"{len(component)} modules: {' -> '.join(cycle_path(graph, component))}")
        if len(component) > 2:
            print(f"    all of: {', '.join(component)}")
    print(f"{len(cycles)} import cycle(s) in {PACKAGE_DIR.name}/ ({len(graph)} modules)")
    return 1 if cycles else 0


if __name__ == "__main__":
    raise SystemExit(main())
