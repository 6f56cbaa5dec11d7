"""No import circle anywhere in our packages: the folders read in the order data flows.

The graph is built from the source with ``ast`` (nothing is imported), one node per module. Every import
counts, wherever it stands: at module level, inside a function, or under ``if TYPE_CHECKING:``. A
function-level import only postpones a circle from import time to call time (that is how the old
``components`` <-> ``producer``/``consumer`` circle hid); the two modules still cannot be read, changed
or loaded apart. Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``, so an import is an edge
to the module and to each of its packages the importer is not itself inside.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[2]

#: top-level package name -> its directory (the portal's code is imported as ``chalicelib``)
PACKAGES: dict[str, Path] = {
    name: REPO / folder
    for name, folder in {
        "broker_contract": "broker_contract",
        "chalicelib": "portal_chalice/chalicelib",
        "generator": "generator",
        "component_stacks": "component_stacks",
        "cdktf_stacks": "cdktf_stacks",
        "modules": "modules",
        "local_mode": "local_mode",
        "broker_cli": "broker_cli",
    }.items()
}


def module_files(packages: Mapping[str, Path]) -> dict[str, Path]:
    """Every module of ``packages`` by dotted name (a package by its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for top, directory in packages.items():
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((top, *parts))] = path
    return found


def _package_of(module: str, path: Path) -> str:
    """The package relative imports of ``module`` start from."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imported_modules(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules of ``known`` that ``module`` (the file ``path``) imports, wherever the import stands."""
    names = set(known)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = _package_of(module, path).split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                # ``from package import submodule`` imports the submodule; ``from module import name`` the module
                candidate = f"{base}.{alias.name}"
                targets.add(candidate if candidate in names else base)
    imported: set[str] = set()
    for target in targets:
        # the longest known prefix: ``import cdktf_stacks.app`` is cdktf_stacks.app, ``from x.y import Z`` x.y
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in names:
                imported.add(prefix)
                break
    return imported


def import_graph(packages: Mapping[str, Path]) -> nx.DiGraph:
    """Module -> module it names in an import, and -> the packages that import runs the importer is not inside."""
    files = module_files(packages)
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        own_packages = {".".join(module.split(".")[:end]) for end in range(1, module.count(".") + 2)}
        for target in imported_modules(module, path, files):
            if target != module:
                graph.add_edge(module, target)
            # the packages the import runs first; those around the importer are running already
            parts = target.split(".")
            for end in range(1, len(parts)):
                runs = ".".join(parts[:end])
                if runs in files and runs not in own_packages:
                    graph.add_edge(module, runs)
    return graph


def tangles(graph: nx.DiGraph) -> list[set[str]]:
    """The strongly connected components of more than one module: modules that all reach each other."""
    return sorted((set(c) for c in nx.strongly_connected_components(graph) if len(c) > 1), key=sorted)


def circles(graph: nx.DiGraph) -> list[list[str]]:
    """One circle through each tangle, as a path of imports that ends where it starts."""
    found = []
    for tangle in tangles(graph):
        cycle = nx.find_cycle(graph.subgraph(tangle))
        found.append([edge[0] for edge in cycle] + [cycle[0][0]])
    return found


def describe(graph: nx.DiGraph) -> str:
    """Each circle as ``a -> b -> a``, with every module of its tangle."""
    lines = ["import circles:"]
    for circle, tangle in zip(circles(graph), tangles(graph), strict=True):
        lines.append(f"  {' -> '.join(circle)}  (modules in this tangle: {', '.join(sorted(tangle))})")
    return "\n".join(lines)


def test_our_packages_import_each_other_without_a_circle() -> None:
    graph = import_graph(PACKAGES)
    # the graph is real: every package is in it, and the layers import downwards
    assert {node.split(".")[0] for node in graph} == set(PACKAGES)
    assert graph.has_edge("component_stacks.dispatch", "component_stacks.producer")
    assert graph.has_edge("generator.synth", "component_stacks.dispatch")  # a function-level import
    assert not tangles(graph), describe(graph)


def test_the_generator_image_holds_every_package_the_generator_reaches_and_no_operator_stack() -> None:
    """The image copies package folders one by one: one it misses fails the Lambda at its first import."""
    graph = import_graph(PACKAGES)
    generator = {node for node in graph if node.split(".")[0] == "generator"}
    reached = {node.split(".")[0] for node in generator.union(*(nx.descendants(graph, node) for node in generator))}
    assert {"generator", "component_stacks", "modules", "broker_contract"} <= reached
    # the core stacks are applied by operators; the generator's runtime library is component_stacks
    assert "cdktf_stacks" not in reached
    dockerfile = (REPO / "generator" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \$\{LAMBDA_TASK_ROOT\}/src/\1$", dockerfile, re.MULTILINE))
    assert reached <= copied, f"generator/Dockerfile does not COPY {sorted(reached - copied)}"
    assert "cdktf_stacks" not in copied


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "circle"),
    [
        # the old shape of the component stacks: the base imports the stacks in a function, they import the base
        (
            {
                "__init__.py": "",
                "base.py": "def build():\n    from pkg.producer import Stack\n",
                "producer.py": "from pkg.base import build\n",
            },
            ["pkg.base", "pkg.producer", "pkg.base"],
        ),
        # relative imports, three modules, one of them only under TYPE_CHECKING
        (
            {
                "__init__.py": "",
                "a.py": "from . import b\n",
                "sub/__init__.py": "",
                "sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import x\n",
                "b.py": "from .sub.c import y\n",
            },
            ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"],
        ),
        # a package whose __init__ imports a module that imports the package back
        (
            {"__init__.py": "from pkg.names import NAME\n", "names.py": "import pkg\n"},
            ["pkg", "pkg.names", "pkg"],
        ),
    ],
)
def test_a_circle_is_found_and_named(tmp_path: Path, files: dict[str, str], circle: list[str]) -> None:
    _write(tmp_path / "pkg", files)
    graph = import_graph({"pkg": tmp_path / "pkg"})
    assert tangles(graph) == [set(circle)]
    # the path may start anywhere on the circle
    (path,) = circles(graph)
    start = path.index(circle[0])
    assert path[start:-1] + path[:start] + [circle[0]] == circle
    assert f"  {' -> '.join(path)}  (modules in this tangle: {', '.join(sorted(set(circle)))})" in describe(graph)


def test_layers_that_import_downwards_have_no_circle(tmp_path: Path) -> None:
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "hooks.py": "",
            "base.py": "from pkg import hooks\n",
            "producer.py": "from pkg.base import x\nfrom pkg.hooks import H\n",
            "dispatch.py": "def f():\n    from pkg.producer import P\n    from pkg import base\n",
        },
    )
    graph = import_graph({"pkg": tmp_path / "pkg"})
    assert graph.has_edge("pkg.dispatch", "pkg.producer")
    assert tangles(graph) == []
