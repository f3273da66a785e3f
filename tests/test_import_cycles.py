"""No import cycles between the modules of `slimmer/`: data flows one way (see the README's "How it is built").

The graph is built from the package's own source with `ast`, not by importing it: every `import`
and `from ... import` anywhere in a module (inside functions and under `TYPE_CHECKING` too, since
the point is layering, not what happens to work at run time), relative imports resolved, `from
PKG import NAME` counted as an import of the submodule PKG.NAME when there is one, else of PKG.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "slimmer"

# Cycles allowed while they are being removed: each entry is the exact set of modules of one
# cycle; the test fails when one of them is gone, so that the entry is deleted then.
TEMPORARILY_ALLOWED: list[frozenset[str]] = []


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int


def module_name(path: Path, root: Path) -> str:
    """`root/a/b.py` -> "root.a.b"; a package's `__init__.py` is the package itself."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(root: Path) -> list[Edge]:
    """Every import between modules of the package at `root`, with the line it is on."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    edges = []
    for importer, path in files.items():
        package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                           for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:  # `import a.b.c` of a package's attribute
                    target = target.rpartition(".")[0]
                if target and target != importer:
                    edges.append(Edge(importer, target, node.lineno))
    return edges


@dataclass(frozen=True)
class Cycle:
    modules: frozenset[str]  # a strongly connected component: each module imports all others, directly or not
    path: list[Edge]  # one cycle through it, to show

    def __str__(self) -> str:
        """`a:3 -> b:7 -> a`: line 3 of a imports b, line 7 of b imports a."""
        return " -> ".join(f"{e.importer}:{e.line}" for e in self.path) + f" -> {self.path[0].importer}"


def cycles(edges: list[Edge]) -> list[Cycle]:
    """Each strongly connected component with more than one module (Tarjan), with a cycle through it."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        graph.setdefault(e.importer, {}).setdefault(e.imported, e)
        graph.setdefault(e.imported, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [Cycle(frozenset(component), _cycle_in(graph, component)) for component in components]


def _cycle_in(graph: dict[str, dict[str, Edge]], component: set[str]) -> list[Edge]:
    """A shortest cycle from the component's first module back to it, as import edges."""
    start = min(component)
    paths: dict[str, list[Edge]] = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w, edge in sorted(graph[v].items()):
                if w == start:
                    return paths[v] + [edge]
                if w in component and w not in paths:
                    paths[w] = paths[v] + [edge]
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle in the strongly connected component {sorted(component)}")


def test_slimmer_has_no_import_cycles():
    found = cycles(import_edges(PACKAGE_DIR))
    allowed = set(TEMPORARILY_ALLOWED)
    unexpected = [c for c in found if c.modules not in allowed]
    assert not unexpected, "import cycles:\n" + "\n".join(f"{c} (all of: {sorted(c.modules)})" for c in unexpected)
    gone = allowed - {c.modules for c in found}
    assert not gone, f"these cycles are gone: delete them from TEMPORARILY_ALLOWED: {[sorted(g) for g in gone]}"


def test_the_graph_has_the_imports_it_should():
    edges = {(e.importer, e.imported) for e in import_edges(PACKAGE_DIR)}
    assert ("slimmer.image.dockerarchive", "slimmer.image.ocilayout") in edges  # `from slimmer.image import ocilayout`
    assert ("slimmer.cli", "slimmer.analysis") in edges  # an import inside a function
    assert ("slimmer.image.layers", "slimmer.image.digest") in edges
    assert len(edges) > 100


def _package(root: Path, modules: dict[str, str]) -> Path:
    for name, text in modules.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_cycle_finder_on_a_small_package(tmp_path):
    pkg = _package(tmp_path / "pkg", {
        "__init__.py": "",
        "a.py": "from . import b\n",  # relative, a submodule
        "b.py": "import os\n\nfrom .sub.c import thing\n",  # relative into a subpackage
        "sub/__init__.py": "VALUE = 1\n",
        "sub/c.py": ("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                     "    from ..a import A\n"),  # counted although only for the type checker
        "sub/d.py": "from . import VALUE\nimport pkg.sub.c\n",  # the package itself; absolute
        "e.py": "def f():\n    from pkg import a\n",  # inside a function
    })
    edges = {(e.importer, e.imported): e.line for e in import_edges(pkg)}
    assert edges == {("pkg.a", "pkg.b"): 1, ("pkg.b", "pkg.sub.c"): 3, ("pkg.sub.c", "pkg.a"): 4,
                     ("pkg.sub.d", "pkg.sub"): 1, ("pkg.sub.d", "pkg.sub.c"): 2, ("pkg.e", "pkg.a"): 2}
    [cycle] = cycles(import_edges(pkg))
    assert cycle.modules == {"pkg.a", "pkg.b", "pkg.sub.c"}
    assert str(cycle) == "pkg.a:1 -> pkg.b:3 -> pkg.sub.c:4 -> pkg.a"


def test_cycle_finder_finds_nothing_in_a_layered_package(tmp_path):
    pkg = _package(tmp_path / "pkg", {"__init__.py": "", "low.py": "import json\n",
                                      "mid.py": "from pkg.low import x\n",
                                      "top.py": "from pkg import low, mid\n"})
    assert cycles(import_edges(pkg)) == []


def test_cycle_finder_reports_each_cycle_once(tmp_path):
    pkg = _package(tmp_path / "pkg", {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "from pkg import a\n",
                                      "c.py": "from pkg import d\n", "d.py": "from pkg import c, a\n"})
    assert sorted(str(c) for c in cycles(import_edges(pkg))) == [
        "pkg.a:1 -> pkg.b:1 -> pkg.a", "pkg.c:1 -> pkg.d:1 -> pkg.c"]
