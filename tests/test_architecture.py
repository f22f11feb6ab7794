"""The shape of the package: no import cycle, no private reach-in, no oversized module.

Checked from the source with :mod:`ast`, so imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "churnpredict"
MAX_LINES = 1000
#: Private modules any module may import from: the version string written at build time.
SHARED_PRIVATE = {"churnpredict._version"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _package_of(name: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every package import in ``name``."""
    package = _package_of(name)
    out = []
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "churnpredict" or module.startswith("churnpredict."):
                out += [(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [
                (alias.name, "", node.lineno)
                for alias in node.names
                if alias.name.startswith("churnpredict")
            ]
    return out


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for module, imported, _ in _imports(name):
            target = f"{module}.{imported}" if f"{module}.{imported}" in MODULES else module
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_even_through_imports_inside_functions():
    edges = _edges()
    # a package importing its own submodules (re-exports) is not a cycle of the layering
    for name in edges:
        if MODULES[name].name == "__init__.py":
            edges[name] = {t for t in edges[name] if not t.startswith(name + ".")}
    assert _cycles(edges) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _private_reach_ins(name: str) -> list[str]:
    package = _package_of(name)
    found = []
    for module, imported, line in _imports(name):
        full = f"{module}.{imported}" if imported else module
        private = [
            part
            for part in full.split(".")[1:]
            if part.startswith("_") and not part.startswith("__")
        ]
        if not private or module in SHARED_PRIVATE:
            continue
        # inside a subpackage (not the top level), its modules may share private names
        if package != "churnpredict" and (module == package or module.startswith(package + ".")):
            continue
        found.append(f"{name}:{line} imports {full}")
    return found


def test_no_module_imports_a_private_name_from_outside_its_subpackage():
    found = [hit for name in MODULES for hit in _private_reach_ins(name)]
    assert found == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_1000_lines(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by what the code is"
