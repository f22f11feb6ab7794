"""Regression tests of the third trust review: one or more per finding, named by its number.

1 folders replaced by file names; 2 code run from a bundle (tests/test_bundle.py); 3 Excel
ids; 4 float ids; 5 config durations; 6 readouts that do not check their list; 7 duplicated
customers in a readout; 8 unbounded bundle reads; 9 side files; 10 ``--out`` naming an
input; 11 a save undoing a concurrent one; 12 exit 1 for bad input; 14 Dask errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnpredict import cli
from churnpredict.exceptions import ChurnDataError
from churnpredict.folders import MARKER, check_output_folder, folder_kind, mark_output_folder

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("churnpredict: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def scores():
    """Six scored customers: probabilities, MRR and one reason each."""
    return pd.DataFrame(
        {
            "churn_probability": [0.9, 0.8, 0.6, 0.4, 0.2, 0.1],
            "mrr": [100.0, 50.0, 20.0, 10.0, 5.0, 1.0],
            "reason_1": ["a", "b", "c", "d", "e", "f"],
            "reason_group_1": ["support"] * 6,
        },
        index=pd.Index([f"c{i}" for i in range(6)], name="customer_id"),
    )


# ---------------------------------------------------------------- 1: folders by marker
@pytest.fixture
def foreign(tmp_path):
    """A folder of someone's files whose names the old rule took for ours: Parquet input
    tables and an ``_archive`` folder."""
    folder = tmp_path / "tables"
    (folder / "_archive").mkdir(parents=True)
    (folder / "_archive" / "thesis.docx").write_bytes(b"four years of work")
    pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}).to_parquet(
        folder / "customers.parquet"
    )
    return folder


def test_1_ranked_parquet_list_never_replaces_a_folder_it_did_not_write(foreign, scores):
    dd = pytest.importorskip("dask.dataframe")
    from churnpredict.dask import write_at_risk_dask

    before = snapshot(foreign)
    lazy = dd.from_pandas(scores.reset_index(), npartitions=2)
    with pytest.raises(ChurnDataError, match="churnpredict did not write it"):
        write_at_risk_dask(lazy, horizon="28D", ranked_out=foreign)
    assert snapshot(foreign) == before
    # a folder it wrote (the marker) is replaced; the new one carries the marker again
    out = foreign.parent / "ranked"
    write_at_risk_dask(lazy, horizon="28D", ranked_out=out)
    (out / "stale.parquet").write_bytes(b"")  # gone with the swap
    write_at_risk_dask(lazy, horizon="28D", ranked_out=out)
    assert folder_kind(out) == "ranked-list" and not (out / "stale.parquet").exists()
    assert len(pd.read_parquet(out)) == len(scores)


@pytest.mark.parametrize("kind", ["report", "campaign", "ranked-list", "demo"])
def test_1_output_folders_are_recognised_by_their_marker(tmp_path, foreign, kind):
    with pytest.raises(ChurnDataError, match="churnpredict did not write it"):
        check_output_folder(foreign, kind)
    (tmp_path / "empty").mkdir()
    assert check_output_folder(tmp_path / "empty", kind) == tmp_path / "empty"
    assert check_output_folder(tmp_path / "new", kind) == tmp_path / "new"
    mark_output_folder(foreign, kind)
    assert check_output_folder(foreign, kind) == foreign
    other = next(k for k in ("report", "campaign") if k != kind)
    with pytest.raises(ChurnDataError, match="not "):
        check_output_folder(foreign, other)
    # a marker file someone else wrote (not churnpredict's JSON) does not count
    (foreign / MARKER).write_text("anything")
    assert folder_kind(foreign) is None


def test_1_cli_report_and_readout_refuse_foreign_folders_before_any_work(tmp_path, foreign):
    before = snapshot(foreign)
    result = invoke("evaluate", tmp_path / "no-data", "--model", tmp_path / "no-model",
                    "--as-of", "2024-01-01", "--report", foreign)  # fmt: skip
    one_line_error(result, "--report", "churnpredict did not write it")
    listed = tmp_path / "list.csv"
    listed.write_text("customer_id,group\nc1,control\n")
    result = invoke("campaign", listed, tmp_path / "no-data", "--as-of", "2024-01-01",
                    "--out", foreign)  # fmt: skip
    one_line_error(result, "--out", "churnpredict did not write it")
    result = invoke("demo", "--out", foreign)
    one_line_error(result, "--out", "churnpredict did not write it")
    assert snapshot(foreign) == before
