"""The notebooks in ``notebooks/`` run top to bottom; their last cell asserts on key outputs.

Each is executed with nbclient in a ``python3`` kernel started from this interpreter, with the
notebook folder as working directory and the repository on ``PYTHONPATH`` (so a source
checkout works without installing churnpredict). ``04_real_data`` needs the public datasets
in ``../shared/data`` next to the repository and is skipped without them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
REAL_DATA = ROOT.parent / "shared" / "data"  # what 04 reads as Path("..").resolve().parent
CELL_TIMEOUT = 300  # seconds per cell

NAMES = ["01_quickstart", "02_features_and_leakage", "03_explain_and_act", "04_real_data"]


@pytest.fixture
def kernel_env(monkeypatch):
    """Kernels inherit the environment: put the repository first on PYTHONPATH."""
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), path) if p))


def run(nb, cwd: Path = NOTEBOOKS):
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


@pytest.mark.slow
def test_kernel_uses_this_interpreter(kernel_env):
    """The python3 kernel runs sys.executable, so it sees the packages under test."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import sys, os, churnpredict\nprint(sys.executable)\nprint(os.getcwd())"
        )
    ]
    out = run(nb)
    lines = out.cells[0].outputs[0]["text"].splitlines()
    assert Path(lines[0]).resolve() == Path(sys.executable).resolve()
    assert Path(lines[1]).resolve() == NOTEBOOKS.resolve()


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "assert" in code[-1].source  # the last cell checks the key outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, kernel_env):
    if name == "04_real_data" and not REAL_DATA.is_dir():
        pytest.skip(f"public datasets not found in {REAL_DATA}")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    executed = run(nb)  # raises CellExecutionError, naming the cell, when a cell fails
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors
