"""The layout stays true: imports point one way (hub -> bots, nlu, storage) and no module imports itself back.

Read with `ast` from the source, so a type-only import (`if TYPE_CHECKING:`) and an import inside a
function count like any other: each is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("hub", "bots", "nlu", "storage")
#: What each top-level package may import besides itself.
ALLOWED = {"hub": {"bots", "nlu", "storage"}, "bots": set(), "nlu": set(), "storage": set()}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the four layers by dotted name (migrations are scripts Alembic loads, not modules)."""
    found: dict[str, Path] = {}
    for layer in LAYERS:
        for path in (root / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imported(tree: ast.AST, name: str, is_package: bool) -> Iterator[str]:
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(found: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the four layers it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imported(tree, name, path.name == "__init__.py")
        graph[name] = {t for t in targets if t in found and t != name}
    return graph


def layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    """Imports against the layer order."""
    bad = []
    for source, targets in graph.items():
        layer = source.split(".")[0]
        for target in sorted(targets):
            other = target.split(".")[0]
            if other != layer and other not in ALLOWED[layer]:
                bad.append(f"{source} -> {target}")
    return bad


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_follow_the_layer_order() -> None:
    assert layer_violations(import_graph(modules())) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles(import_graph(modules())) == []


def test_the_checks_see_a_back_edge_and_a_cycle(tmp_path: Path) -> None:
    """The checks themselves: a storage -> hub import and a two-module circle are both caught."""
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "hub" / "a.py").write_text("from hub import b\n")
    type_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hub.a\n"
    (tmp_path / "hub" / "b.py").write_text(type_only)
    (tmp_path / "storage" / "repo.py").write_text("def f():\n    from hub.a import x\n")
    graph = import_graph(modules(tmp_path))
    assert layer_violations(graph) == ["storage.repo -> hub.a"]
    assert cycles(graph) == [["hub.a", "hub.b"]]
