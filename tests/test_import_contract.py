"""The import contract of ``crm_core``: packages in layers, no cycles, no forbidden imports.

The import graph comes from grimp, which reads every ``import`` statement (also those inside
functions and under ``TYPE_CHECKING``), so an import moved into a function does not hide a cycle.
docs/architecture.md describes the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import grimp
import pytest

# Top to bottom: a package may import the packages of lower layers only. Packages of one layer
# are independent: neither imports the other.
LAYERS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"api", "studio"},
    {"sweeps", "interop"},
    {"agents", "studies"},
    {"users"},
    {"store", "tasks"},
    {"tools", "scoring"},
    {"writes"},
    {"query", "sandbox"},
    {"org"},
    {"cli_options", "llm", "periods", "yaml_files"},
    {"db", "policy"},
    {"errors"},
]

KNOWN_PACKAGE_EDGES_AGAINST_THE_LAYERS: set[tuple[str, str]] = set()
"""Imports against the layers still to be untied; the set may only shrink."""
KNOWN_MODULE_CYCLES: set[frozenset[str]] = {
    # run_soql dispatches FIND to run_sosl, which reuses the engine's connection helpers
    frozenset({"crm_core.query.engine", "crm_core.query.sosl"}),
}
"""Cycles between modules of one package that are still to be untied; the list may only shrink."""

FORBIDDEN_EXTERNAL = ("streamlit",)
"""Libraries ``crm_core`` never imports: the studio's pages use them, the core does not."""


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("crm_core", include_external_packages=True, cache_dir=None)


def package_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def internal_edges() -> Iterable[tuple[str, str]]:
    g = graph()
    for module in g.modules:
        if not module.startswith("crm_core."):
            continue
        for imported in g.find_modules_directly_imported_by(module):
            if imported.startswith("crm_core."):
                yield module, imported


def layer_of(package: str) -> int:
    for number, layer in enumerate(LAYERS):
        if package in layer:
            return number
    raise AssertionError(f"package crm_core.{package} is in no layer: add it to LAYERS (and docs/architecture.md)")


def test_every_package_is_in_a_layer():
    for module in graph().modules:
        if module.startswith("crm_core."):
            layer_of(package_of(module))


def layer_violations(edges: Iterable[tuple[str, str]]) -> list[str]:
    """The module imports that go sideways or up the layers (known exceptions left out)."""
    wrong = []
    for module, imported in edges:
        importer, target = package_of(module), package_of(imported)
        if importer == target or (importer, target) in KNOWN_PACKAGE_EDGES_AGAINST_THE_LAYERS:
            continue
        if layer_of(target) <= layer_of(importer):
            wrong.append(f"{module} -> {imported}")
    return wrong


def test_packages_import_only_lower_layers():
    wrong = layer_violations(internal_edges())
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_known_exceptions_still_exist():
    """An exception that no longer happens is taken off the list, so that it cannot come back."""
    edges = {(package_of(m), package_of(i)) for m, i in internal_edges()}
    assert edges >= KNOWN_PACKAGE_EDGES_AGAINST_THE_LAYERS
    assert set(cycles(internal_edges())) >= KNOWN_MODULE_CYCLES


def cycles(edges: Iterable[tuple[str, str]]) -> list[frozenset[str]]:
    """Strongly connected components (more than one module) of an import graph."""
    successors: dict[str, set[str]] = {}
    for module, imported in edges:
        successors.setdefault(module, set()).add(imported)
        successors.setdefault(imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(root: str) -> None:  # iterative Tarjan, so deep chains cannot hit the recursion limit
        work = [(root, iter(sorted(successors[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))

    for module in sorted(successors):
        if module not in index:
            visit(module)
    return found


def test_no_module_cycles():
    found = [sorted(c) for c in cycles(internal_edges()) if c not in KNOWN_MODULE_CYCLES]
    assert not found, f"import cycles between modules: {found}"


@pytest.mark.parametrize("library", FORBIDDEN_EXTERNAL)
def test_crm_core_never_imports(library):
    g = graph()
    importers = sorted(g.find_modules_that_directly_import(library)) if library in g.modules else []
    assert importers == [], f"{library} imported by {importers}"


def test_only_the_cli_imports_command_modules():
    """``<package>.commands`` modules are the CLI: only ``crm_core.cli`` assembles them."""
    wrong = [
        f"{module} -> {imported}"
        for module, imported in internal_edges()
        if imported.endswith(".commands") and module != "crm_core.cli" and package_of(module) != package_of(imported)
    ]
    assert not wrong, wrong


def test_the_checks_catch_a_cycle_and_an_upward_import():
    """The checker itself: a cycle of three modules is found (a chain is not); store -> agents and
    studio <-> api imports are reported."""
    chain_and_cycle = [("m.a", "m.b"), ("m.b", "m.c"), ("m.c", "m.a"), ("m.c", "m.d"), ("m.d", "m.e")]
    assert cycles(chain_and_cycle) == [frozenset({"m.a", "m.b", "m.c"})]
    upward = [
        ("crm_core.store.models", "crm_core.agents.records"),
        ("crm_core.studio.replay", "crm_core.api.app"),
        ("crm_core.agents.service", "crm_core.store.models"),
    ]
    assert layer_violations(upward) == [
        "crm_core.store.models -> crm_core.agents.records",
        "crm_core.studio.replay -> crm_core.api.app",
    ]


LAZY_IMPORTS_ALLOWED = {
    # run_soql hands FIND statements to run_sosl, which imports the engine (the known cycle above)
    "crm_core/query/engine.py",
}


def imports_inside_functions(path: Path) -> list[str]:
    """`line: module` of each import of a crm_core module made inside a function of `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("crm_core"):
                    found.append(f"{inner.lineno}: {inner.module}")
                elif isinstance(inner, ast.Import) and any(a.name.startswith("crm_core") for a in inner.names):
                    found.append(f"{inner.lineno}: {', '.join(a.name for a in inner.names)}")
    return found


def test_crm_core_imports_its_own_modules_at_the_top():
    """Only a command module (lazy on purpose: a fast --help) imports crm_core inside a function."""
    root = Path(__file__).resolve().parents[1]
    wrong = []
    for path in sorted((root / "crm_core").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if path.name == "commands.py" or name in {"crm_core/cli.py", *LAZY_IMPORTS_ALLOWED}:
            continue
        wrong += [f"{name}:{found}" for found in imports_inside_functions(path)]
    assert not wrong, "imports inside functions (move them to the top):\n" + "\n".join(wrong)
