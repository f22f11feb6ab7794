"""The shape of the package: a small public face, no import cycle, short functions.

* Public modules are ``churnpredict`` itself, ``churnpredict.features``, ``churnpredict.dask``,
  ``churnpredict.datasets`` and the command line (``churnpredict.cli``); every other module is
  private (``_name.py`` or inside a ``_name`` package) and the package ``__init__`` decides
  what is public.
* Nothing a user reads imports a private module: not the notebooks, the README or the docs'
  code. The unit tests in ``tests/`` and the timings in ``benchmarks/`` are the exception,
  as they test and time the parts.
* Each public name is defined in exactly one public module (the top level may repeat a name
  of a public subpackage); at most :data:`MAX_PUBLIC` of them.
* No module imports a private name (``_x``) of another module outside its own subpackage.
* No import cycle, even through imports inside functions.
* No function over cyclomatic complexity :data:`MAX_COMPLEXITY` or :data:`MAX_STATEMENTS`
  statements (nested functions count on their own).

Checked from the source with :mod:`ast` (and radon for complexity).
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "churnpredict"
PUBLIC_MODULES = (
    "churnpredict",
    "churnpredict.features",
    "churnpredict.datasets",
    "churnpredict.dask",
)
MAX_PUBLIC = 120
MAX_COMPLEXITY = 15
MAX_STATEMENTS = 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _is_private(dotted: str) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in dotted.split(".")[1:])


def _package_of(name: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    return name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]


def _import_nodes(tree: ast.AST, package: str) -> list[tuple[str, str, int]]:
    out = []
    for node in ast.walk(tree):
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


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every package import in ``name``."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return _import_nodes(tree, _package_of(name))


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


# ---------------------------------------------------------------- the public face
def test_only_the_chosen_modules_are_public():
    public = sorted(
        name
        for name in MODULES
        if not _is_private(name)
        and not name.startswith("churnpredict.cli")
        and name != "churnpredict.__main__"
    )
    assert public == sorted(PUBLIC_MODULES)


def _public_names() -> dict[str, list[str]]:
    """Public name -> the public modules (other than the top level) whose ``__all__`` has it."""
    where: dict[str, list[str]] = {}
    for module in PUBLIC_MODULES:
        if module == "churnpredict.dask":
            pytest.importorskip("dask")
        for name in importlib.import_module(module).__all__:
            where.setdefault(name, []).append(module)
    return where


def test_the_public_face_is_small_and_each_name_has_one_home():
    where = _public_names()
    assert len(where) <= MAX_PUBLIC, f"{len(where)} public names (at most {MAX_PUBLIC})"
    twice = {
        name: modules
        for name, modules in where.items()
        if len([m for m in modules if m != "churnpredict"]) > 1
    }
    assert twice == {}


def test_every_public_name_exists_where_it_is_listed():
    for module in PUBLIC_MODULES:
        if module == "churnpredict.dask":
            pytest.importorskip("dask")
        mod = importlib.import_module(module)
        missing = [name for name in mod.__all__ if not hasattr(mod, name)]
        assert missing == [], module


def test_dir_shows_the_api_not_the_modules():
    import churnpredict

    shown = dir(churnpredict)
    assert set(churnpredict.__all__) <= set(shown)
    assert not [n for n in shown if n.startswith("_") and not n.startswith("__")]
    modules = {n for n in shown if type(getattr(churnpredict, n, None)).__name__ == "module"}
    assert modules == {"features", "datasets", "dask"}  # each one reachable as an attribute


# ---------------------------------------------------------------- private modules
def _outside_sources() -> list[tuple[str, str, str]]:
    """(file, package, source) of the Python a user reads: the notebooks' code cells and the
    README's and docs' code blocks."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(
            line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        out.append((str(path.relative_to(ROOT)), "", code))
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
        for block in blocks:
            out.append((str(path.relative_to(ROOT)), "", textwrap.dedent(block)))
    return out


def test_nothing_a_user_reads_imports_a_private_module():
    found = []
    for file, package, source in _outside_sources():
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a docs fragment that is not a whole program
            continue
        found += [
            f"{file}:{line} imports {module}"
            for module, imported, line in _import_nodes(tree, package)
            if _is_private(module) or (imported.startswith("_") and not imported.startswith("__"))
        ]
    assert found == []


def test_no_module_imports_a_private_name_from_outside_its_subpackage():
    found = []
    for name in MODULES:
        package = _package_of(name)
        for module, imported, line in _imports(name):
            if not imported.startswith("_") or imported.startswith("__"):
                continue
            if module == "churnpredict" and imported in {p.rpartition(".")[2] for p in MODULES}:
                continue  # "from . import _plots": a private module, not a private name
            if f"{module}.{imported}" in MODULES:
                continue
            if package != "churnpredict" and (
                module == package or module.startswith(package + ".")
            ):
                continue
            found.append(f"{name}:{line} imports {module}.{imported}")
    assert found == []


# ---------------------------------------------------------------- short functions
def _statements(node: ast.AST) -> int:
    """Statements in a function's own body (nested functions and classes count apart)."""
    count = 0
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.stmt):
            count += 1
        stack.extend(ast.iter_child_nodes(child))
    return count


def _functions(blocks):
    """Every function, method and closure radon found, nested ones included."""
    for block in blocks:
        if hasattr(block, "methods"):  # a class
            yield from _functions([*block.methods, *block.inner_classes])
        else:
            yield block
            yield from _functions(block.closures)


def test_no_function_is_too_complex_or_too_long():
    import radon.complexity as radon

    found = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        found += [
            f"{name}:{f.lineno} {f.name} complexity {f.complexity}"
            for f in _functions(radon.cc_visit(source))
            if f.complexity > MAX_COMPLEXITY
        ]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _statements(node)
                if n > MAX_STATEMENTS:
                    found.append(f"{name}:{node.lineno} {node.name} has {n} statements")
    assert found == []


def test_the_length_check_counts_statements_not_lines():
    tree = ast.parse("def f():\n    a = 1\n    if a:\n        b = 2\n    def g():\n        c = 3\n")
    assert _statements(tree.body[0]) == 3
