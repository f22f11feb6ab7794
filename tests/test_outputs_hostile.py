"""Outputs under hostile data and hostile places: one regression test per case of the
hardening issue on the output side (1: CSV/Excel injection, 8: unwritable outputs, 11: output
crashes after success, and the horizon / as-of / model a list must remember).

The CLI tests run on a small simulated business whose customer ids and plan names are what an
attacker would choose: rich markup (``[/red]``), spreadsheet formulas, HTML and a NUL byte.
The tables are written as Parquet so the ids reach churnpredict exactly as written.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnpredict import cli
from churnpredict._exceptions import ChurnDataError
from churnpredict._export import AT_RISK_COLUMNS, at_risk_list, write_at_risk
from churnpredict._outputs import check_writable, manifest_path, write_frame
from churnpredict._spreadsheet import EXCEL_CELL_LIMIT, spreadsheet_safe
from churnpredict.datasets import make_subscription_data

MONTH = 365.25 / 12
END = "2024-12-31"
CONFIG = """\
horizon = "28D"
n_cutoffs = 4

[model]
n_estimators = 30
n_jobs = 1
"""
HOSTILE = [
    "[/red]",
    '=HYPERLINK("http://evil.example","click")',
    "<script>alert(1)</script>",
    "@SUM(1+1)",
    "[bold]x[/bold]\\",
    "x\x00y",
]

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("churnpredict: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


@pytest.fixture
def scores():
    """Five scored customers whose ids and reasons are built to break outputs:

    * ``a\\r=1+1``: a carriage return followed by a formula (the reported CSV injection);
    * ``b\\n=2``: a line feed; ``c,"d"``: a comma and quotes;
    * ``[/red]``: rich markup; ``x\\x00y``: a NUL byte, which an .xlsx file cannot hold.
    Reason texts start like formulas, also after spaces and control characters.
    """
    frame = pd.DataFrame(
        {
            "churn_probability": [0.9, 0.7, 0.5, 0.3, 0.1],
            "mrr": [100.0, 50.0, 20.0, 10.0, np.nan],
            "reason_1": ["=1+1", " +cmd|' /C calc'!A0", "\t-2", "\r@x", "plain"],
            "reason_group_1": ["support", "payments", "engagement", "monetary", "tenure"],
        },
        index=pd.Index(["a\r=1+1", "b\n=2", 'c,"d"', "[/red]", "x\x00y"], name="customer_id"),
    )
    return frame


# ------------------------------------------------------------------------ 1: injection
def test_1_carriage_return_id_stays_in_one_row(scores, tmp_path):
    """An id "a\\r=1+1" is quoted: csv.reader and pandas give it back whole, in one row."""
    path = write_at_risk(at_risk_list(scores.iloc[[0, 2, 3]]), tmp_path / "at_risk.csv")
    raw = path.read_bytes()
    assert b'"a\r=1+1"' in raw
    rows = read_rows(path)
    assert len(rows) == 4 and all(len(r) == len(AT_RISK_COLUMNS) for r in rows)
    assert [r[1] for r in rows[1:]] == ["a\r=1+1", 'c,"d"', "[/red]"]
    # a raw line count (line feeds) sees one line per row plus the header
    assert raw.count(b"\n") == 4
    back = pd.read_csv(path, keep_default_na=False)
    assert back["customer_id"].tolist() == ["a\r=1+1", 'c,"d"', "[/red]"]
    # no record starts with a formula character once the file is split into lines
    assert not any(
        line.lstrip().startswith((b"=", b"+", b"-", b"@")) for line in raw.split(b"\r\n")
    )


def test_1_line_feed_and_quotes_are_quoted(scores, tmp_path):
    path = write_at_risk(at_risk_list(scores), tmp_path / "at_risk.csv")
    rows = read_rows(path)
    assert len(rows) == 6
    assert [r[1] for r in rows[1:]] == ["a\r=1+1", "b\n=2", 'c,"d"', "[/red]", "x\x00y"]


@pytest.mark.parametrize(
    "text, safe",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\tplain", "'\tplain"),
        ("  =1+1", "'  =1+1"),
        ("\u00a0=1", "'\u00a0=1"),
        ("\n-1", "'\n-1"),
        ("a=1", "a=1"),
        ("1-2", "1-2"),
        ("", ""),
        ("e-mail", "e-mail"),
    ],
)
def test_1_formula_rule(text, safe):
    frame = pd.DataFrame({"text": [text], "n": [-1.5]})
    out = spreadsheet_safe(frame)
    assert out["text"].iloc[0] == safe
    assert out["n"].iloc[0] == -1.5  # numbers are numbers, never prefixed


def test_1_only_text_cells_change():
    """Mixed object columns: strings are neutralised, numbers and missing values kept."""
    frame = pd.DataFrame({"mixed": ["=x", -3, None, np.nan], "=head": [1, 2, 3, 4]})
    out = spreadsheet_safe(frame, "xlsx")
    assert out["mixed"].tolist()[:2] == ["'=x", -3]
    assert out["mixed"].iloc[2] is None and np.isnan(out["mixed"].iloc[3])
    assert list(out.columns) == ["mixed", "'=head"]
    assert frame["mixed"].iloc[0] == "=x"  # the input is not changed


def test_1_excel_cells_are_text_not_formulas(scores, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = write_at_risk(at_risk_list(scores), tmp_path / "at_risk.xlsx")
    sheet = openpyxl.load_workbook(path)["at_risk"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    header = [c.value for c in sheet[1]]
    reasons = [row[header.index("reason_1")].value for row in sheet.iter_rows(min_row=2)]
    # (an XML reader gives a carriage return back as a line feed)
    assert reasons == ["'=1+1", "' +cmd|' /C calc'!A0", "'\t-2", "'\n@x", "plain"]
    ids = [row[header.index("customer_id")].value for row in sheet.iter_rows(min_row=2)]
    assert ids[-1] == "xy"  # the NUL byte is removed, not a crash


def test_1_metrics_table_formulas_neutralised_in_xlsx_and_csv(tmp_path):
    """A plan named =HYPERLINK(...) is text in both files (metrics --out goes through the
    same writer)."""
    openpyxl = pytest.importorskip("openpyxl")
    plan = '=HYPERLINK("http://evil.example","click")'
    table = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "plan": [plan, "-basic"],
            "churn_rate": [0.1, -0.0],
        }
    )
    sheet = openpyxl.load_workbook(write_frame(table, tmp_path / "m.xlsx")).active
    assert [c.data_type for c in sheet[2]] == ["d", "s", "n"]
    assert sheet["B2"].value == "'" + plan and sheet["B3"].value == "'-basic"
    rows = read_rows(write_frame(table, tmp_path / "m.csv"))
    assert rows[1][1] == "'" + plan and rows[2][1] == "'-basic"


def test_1_excel_cell_over_the_limit_is_refused_before_writing(scores, tmp_path):
    pytest.importorskip("openpyxl")
    long = scores.copy()
    long.loc["[/red]", "reason_1"] = "x" * (EXCEL_CELL_LIMIT + 1)
    frame = at_risk_list(long)
    target = tmp_path / "at_risk.xlsx"
    with pytest.raises(
        ChurnDataError,
        match=r"column reason_1 holds 1 value\(s\) longer than "
        r"Excel's 32,767-character cell limit .*spreadsheet rows \[5\]; "
        r"shorten them or write .csv or .parquet",
    ):
        write_at_risk(frame, target)
    assert list(tmp_path.iterdir()) == []
    # exactly at the limit is fine; a formula-like cell counts its apostrophe
    long.loc["[/red]", "reason_1"] = "x" * EXCEL_CELL_LIMIT
    write_at_risk(at_risk_list(long), target)
    long.loc["[/red]", "reason_1"] = "=" + "x" * (EXCEL_CELL_LIMIT - 1)
    with pytest.raises(ChurnDataError, match="cell limit"):
        write_at_risk(at_risk_list(long), tmp_path / "other.xlsx")
    # CSV and Parquet have no such limit
    write_at_risk(at_risk_list(long), tmp_path / "at_risk.csv")


# ------------------------------------------------------------------------ horizon / as-of / model
def test_list_uses_the_horizon_the_scores_were_made_for(scores):
    scores.attrs = {"horizon": "90D", "as_of": "2024-12-31T00:00:00", "model_id": "m-42"}
    out = at_risk_list(scores)
    assert out["revenue_at_risk"].iloc[0] == pytest.approx(0.9 * 100 * 90 / MONTH)
    kept = {k: out.attrs[k] for k in ("horizon", "as_of", "model_id")}
    assert kept == {"horizon": "90D", "as_of": "2024-12-31T00:00:00", "model_id": "m-42"}
    assert set(out.attrs) == {"horizon", "as_of", "model_id", "tiers", "base_rate"}
    # the same horizon written another way is no contradiction
    same = at_risk_list(scores, horizon=pd.Timedelta(hours=90 * 24))
    assert same["revenue_at_risk"].iloc[0] == pytest.approx(out["revenue_at_risk"].iloc[0])
    with pytest.raises(
        ChurnDataError,
        match=r"horizon='28D' contradicts the scores, which "
        r"were made for a 90D horizon",
    ):
        at_risk_list(scores, horizon="28D")


def test_list_without_attrs_defaults_to_28_days(scores):
    out = at_risk_list(scores)
    assert out["revenue_at_risk"].iloc[0] == pytest.approx(0.9 * 100 * 28 / MONTH)
    assert out.attrs["horizon"] == "28D"
    assert at_risk_list(scores, horizon="7D").attrs["horizon"] == "7D"
    scores.attrs = {"horizon": "soon"}
    with pytest.raises(
        ChurnDataError,
        match=r"scores.attrs\['horizon'\] = 'soon' is not a "
        r"duration",
    ):
        at_risk_list(scores)


@pytest.fixture
def dated(scores):
    scores.attrs = {"horizon": "90D", "as_of": "2024-12-31T00:00:00", "model_id": "m-42"}
    return at_risk_list(scores)


def test_csv_manifest_remembers_the_list(dated, tmp_path):
    path = write_at_risk(dated, tmp_path / "at_risk.csv")
    manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    assert manifest_path(path) == tmp_path / "at_risk.manifest.json"
    assert {k: manifest[k] for k in ("file", "as_of", "horizon", "model_id", "rows")} == {
        "file": "at_risk.csv",
        "as_of": "2024-12-31T00:00:00",
        "horizon": "90D",
        "model_id": "m-42",
        "rows": 5,
    }
    from churnpredict import __version__

    assert manifest["churnpredict_version"] == __version__
    created = pd.Timestamp(manifest["created_at"])
    assert abs(pd.Timestamp.now(tz="UTC") - created) < pd.Timedelta(minutes=5)
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_risk.csv", "at_risk.manifest.json"]


def test_parquet_and_excel_remember_the_list(dated, tmp_path):
    import pyarrow.parquet as pq

    path = write_at_risk(dated, tmp_path / "at_risk.parquet")
    meta = json.loads(pq.read_schema(path).metadata[b"churnpredict"])
    assert (meta["as_of"], meta["horizon"], meta["model_id"], meta["rows"]) == (
        "2024-12-31T00:00:00",
        "90D",
        "m-42",
        5,
    )
    back = pd.read_parquet(path)
    assert back.attrs["horizon"] == "90D" and back.attrs["model_id"] == "m-42"
    assert back["customer_id"].tolist() == dated["customer_id"].tolist()  # values as they are

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(write_at_risk(dated, tmp_path / "at_risk.xlsx"))
    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert (props["as_of"], props["horizon"], props["model_id"], props["rows"]) == (
        "2024-12-31T00:00:00",
        "90D",
        "m-42",
        "5",
    )
    assert book.properties.creator.startswith("churnpredict ")
    assert book.sheetnames == ["at_risk", "legend"]


def test_failed_csv_write_leaves_neither_file_nor_manifest(dated, tmp_path, monkeypatch):
    def fail(self, path, **kwargs):
        Path(path).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    with pytest.raises(OSError, match="No space left") as info:
        write_at_risk(dated, tmp_path / "at_risk.csv")
    assert info.value.filename == str(tmp_path / "at_risk.csv")  # the file, not a temp name
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ 8: where outputs go
def _read_only(monkeypatch, folder: Path, code: int = errno.EROFS) -> None:
    """Make ``folder`` behave as a read-only file system (root ignores chmod)."""
    real_mkstemp, real_replace = tempfile.mkstemp, os.replace
    message = os.strerror(code)

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() == folder.resolve():
            raise OSError(code, message, str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if Path(dst).resolve().parent == folder.resolve():
            raise OSError(code, message, str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "replace", replace)


def test_8_check_writable(tmp_path, monkeypatch):
    deep = tmp_path / "new" / "deeper" / "at_risk.csv"
    assert check_writable(deep) == deep
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "file").write_text("x")
    with pytest.raises(ChurnDataError, match=r"file is a file, so no folder can be made"):
        check_writable(tmp_path / "file" / "at_risk.csv")
    with pytest.raises(ChurnDataError, match="is a folder; give a file name"):
        check_writable(tmp_path)
    _read_only(monkeypatch, tmp_path, errno.ENOSPC)
    with pytest.raises(
        ChurnDataError,
        match=r"--out .*cannot write in .*No space left on "
        r"device\); free some space",
    ):
        check_writable(deep)


def test_8_read_only_write_names_the_file(dated, tmp_path, monkeypatch):
    """Library: the OSError names the destination; nothing is left behind."""
    (tmp_path / "at_risk.csv").write_text("yesterday\n")
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).suffix == ".csv":
            raise OSError(errno.EROFS, "Read-only file system", str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="Read-only file system") as info:
        write_at_risk(dated, tmp_path / "at_risk.csv")
    assert info.value.errno == errno.EROFS
    assert info.value.filename == str(tmp_path / "at_risk.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at_risk.csv"]
    assert (tmp_path / "at_risk.csv").read_text() == "yesterday\n"


# ------------------------------------------------------------------------ CLI on hostile data
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def hostile_dir(workdir):
    """The simulated business with every customer id and two plan names made hostile."""
    sample = make_subscription_data(n_customers=300, events_per_day=0.3, random_state=7)
    ids = sample.customers["customer_id"].to_numpy()
    # every id ends in a closing tag, so the top rows always hold markup
    mapping = {int(i): f"{HOSTILE[k % len(HOSTILE)]}{k}[/i]" for k, i in enumerate(ids)}
    folder = workdir / "data"
    folder.mkdir()
    for name, frame in sample.tables.items():
        frame = frame.copy()
        frame["customer_id"] = frame["customer_id"].map(mapping).astype(object)
        if name == "customers":
            frame["plan"] = (
                frame["plan"]
                .astype(str)
                .replace({"basic": '=HYPERLINK("http://evil.example","basic")', "pro": "[/red]pro"})
            )
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def config(workdir):
    path = workdir / "churn.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def model_dir(workdir, hostile_dir, config):
    """Trained into a folder whose name is rich markup: the summary must print it as is."""
    path = workdir / "models" / "m[/b]"
    result = invoke(
        "train", hostile_dir, "--model", path, "--as-of", "2024-12-02", "--config", config
    )
    assert result.exit_code == 0, result.stderr
    assert f"Model saved to {path}" in " ".join(result.stdout.split())
    return path


def test_11_markup_ids_and_paths_print_as_they_are(tmp_path, hostile_dir, model_dir, config):
    out = tmp_path / "out[/i]" / "at_risk[/red].csv"
    result = invoke(
        "score", hostile_dir, "--model", model_dir, "--as-of", END, "--out", out, "--config", config
    )
    assert result.exit_code == 0, result.stderr
    assert all(line.startswith("warning: drift:") for line in result.stderr.splitlines())
    frame = pd.read_csv(out, keep_default_na=False)
    top = frame["customer_id"].head(10).tolist()
    assert all(i.endswith("[/i]") for i in top), top
    text = " ".join(result.stdout.split())
    assert str(out) in text
    shown = [i for i in top if "\x00" not in i and not i.startswith("'")]
    assert shown and all(i in result.stdout for i in shown)
    assert "\x00" not in result.stdout  # control characters are shown, not sent
    for i in top:
        if "\x00" in i:
            assert i.replace("\x00", "\\x00") in result.stdout
    assert "click" in "".join(frame["customer_id"])  # formula ids are kept, as text
    formulas = frame.loc[frame["customer_id"].str.contains("HYPERLINK"), "customer_id"]
    assert len(formulas) and formulas.str.startswith("'=").all()


def test_11_nul_id_in_excel_after_scoring(tmp_path, hostile_dir, model_dir, config):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "at_risk.xlsx"
    result = invoke(
        "score",
        hostile_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--config",
        config,
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out)["at_risk"]
    ids = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert any(i.startswith("xy") for i in ids)
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_11_display_failure_after_the_write_keeps_exit_0(
    tmp_path, hostile_dir, model_dir, config, monkeypatch
):
    def broken(self, *objects):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(cli._Session, "say", broken)
    out = tmp_path / "at_risk.csv"
    result = invoke(
        "score", hostile_dir, "--model", model_dir, "--as-of", END, "--out", out, "--config", config
    )
    assert result.exit_code == 0, result.stderr
    assert out.is_file() and manifest_path(out).is_file()
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("churnpredict: warning: could not print the summary")


def test_1_metrics_out_xlsx_with_formula_plans(tmp_path, hostile_dir):
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "metrics.xlsx"
    result = invoke(
        "metrics", hostile_dir, "--period", "quarter", "--segment", "plan", "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert "[/red]pro" in result.stdout  # the segment is printed as data, not markup
    sheet = openpyxl.load_workbook(out).active
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    plans = {row[1].value for row in sheet.iter_rows(min_row=2)}
    assert '\'=HYPERLINK("http://evil.example","basic")' in plans


@pytest.mark.slow
def test_1_report_html_escapes_everything(tmp_path, hostile_dir, model_dir, config):
    report = tmp_path / "report"
    result = invoke(
        "evaluate",
        hostile_dir,
        "--model",
        model_dir,
        "--as-of",
        "2024-12-02",
        "--report",
        report,
        "--config",
        config,
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x00" not in page


def test_1_long_id_refused_before_scoring(tmp_path, hostile_dir, model_dir, config, monkeypatch):
    pytest.importorskip("openpyxl")
    """One customer id is longer than an Excel cell: refused when the data is read, before
    the model scores anyone."""
    folder = tmp_path / "data"
    folder.mkdir()
    victim = pd.read_parquet(hostile_dir / "customers.parquet")["customer_id"].iloc[0]
    for path in hostile_dir.iterdir():
        frame = pd.read_parquet(path)
        frame["customer_id"] = frame["customer_id"].where(
            frame["customer_id"] != victim, "z" * (EXCEL_CELL_LIMIT + 5)
        )
        frame.to_parquet(folder / path.name, index=False)
    from churnpredict._pipeline import ChurnPipeline

    def no_scoring(*args, **kwargs):
        raise AssertionError("scoring started")

    monkeypatch.setattr(ChurnPipeline, "score", no_scoring)
    out = tmp_path / "at_risk.xlsx"
    result = invoke(
        "score", folder, "--model", model_dir, "--as-of", END, "--out", out, "--config", config
    )
    one_line_error(
        result,
        str(out),
        "column customers.customer_id holds 1 value(s) longer "
        "than Excel's 32,767-character cell limit",
        "write .csv or .parquet",
    )
    assert not out.exists()


@pytest.fixture
def no_work(monkeypatch):
    """Any loading, training, scoring or computing fails the test (exit 1, not 2)."""
    import churnpredict._metrics
    import churnpredict.datasets
    from churnpredict._data import EventData
    from churnpredict._pipeline import ChurnPipeline

    def work(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    for name in ("load", "fit", "score", "evaluate"):
        monkeypatch.setattr(ChurnPipeline, name, work)
    monkeypatch.setattr(EventData, "from_directory", work)
    monkeypatch.setattr(churnpredict.datasets, "load_sample", work)
    monkeypatch.setattr(churnpredict._metrics, "churn_metrics", work)


@pytest.mark.parametrize(
    "command", ["score", "score-xlsx", "ranked-out", "metrics", "evaluate", "demo"]
)
def test_8_read_only_destination_refused_before_any_work(
    command, tmp_path, hostile_dir, model_dir, monkeypatch, no_work
):
    locked = tmp_path / "locked"
    locked.mkdir()
    _read_only(monkeypatch, locked)
    args = {
        "score": [
            "score",
            hostile_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            locked / "at_risk.csv",
        ],
        "score-xlsx": [
            "score",
            hostile_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            locked / "sub" / "at_risk.xlsx",
        ],
        "ranked-out": [
            "score",
            hostile_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            tmp_path / "at_risk.csv",
            "--scheduler",
            "local",
            "--ranked-out",
            locked / "ranked",
        ],
        "metrics": ["metrics", hostile_dir, "--out", locked / "metrics.parquet"],
        "evaluate": [
            "evaluate",
            hostile_dir,
            "--model",
            model_dir,
            "--as-of",
            "2024-12-02",
            "--report",
            locked / "report",
        ],
        "demo": ["demo", "--out", locked / "demo"],
    }[command]
    option = {"ranked-out": "--ranked-out", "evaluate": "--report"}.get(command, "--out")
    one_line_error(
        invoke(*args), option, str(locked), "Read-only file system", "choose a writable location"
    )
    assert sorted(locked.iterdir()) == []


def test_8_output_parent_that_is_a_file(tmp_path, hostile_dir, model_dir, no_work):
    (tmp_path / "taken").write_text("x")
    result = invoke(
        "score",
        hostile_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        tmp_path / "taken" / "at_risk.csv",
    )
    one_line_error(result, "is a file, so no folder can be made there")


@pytest.mark.parametrize(
    "code, fix",
    [
        (errno.EROFS, "choose a writable location"),
        (errno.EACCES, "fix the permissions"),
        (errno.ENOSPC, "free some space"),
    ],
)
def test_8_write_failing_after_the_work_is_exit_2(
    code, fix, tmp_path, hostile_dir, model_dir, config, monkeypatch
):
    """The disk turns read-only (or full) while scoring: exit 2, one line naming the file."""
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "at_risk.csv"
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).resolve().parent == out_dir.resolve():
            raise OSError(code, os.strerror(code), str(src))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = invoke(
        "score", hostile_dir, "--model", model_dir, "--as-of", END, "--out", out, "--config", config
    )
    line = one_line_error(result, f"{out}: {os.strerror(code)}", fix)
    assert ".tmp" not in line
    assert sorted(out_dir.iterdir()) == []


# ------------------------------------------------------------------------ 1: any text at all
_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("=+-@\t\r\n \",;'[]/\\\x00\x1b\x0b\u00a0"), st.characters(codec="utf-8")
    ),
    max_size=12,
)


def _expected(text: str, *, xlsx: bool = False) -> str:
    import re

    if xlsx:
        text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
    return "'" + text if re.match(r"[\t\r]|\s*[=+\-@]", text) else text


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=st.lists(_ANY_TEXT, min_size=1, max_size=6, unique=True), reason=_ANY_TEXT)
def test_1_any_text_round_trips_through_csv_one_row_per_customer(tmp_path, ids, reason):
    """Whatever the ids and reasons hold, csv.reader finds one row per customer, and each cell
    is the value itself, or it with a leading apostrophe when a spreadsheet would run it."""
    n = len(ids)
    scores = pd.DataFrame(
        {
            "churn_probability": np.linspace(0.9, 0.1, n),
            "mrr": 1.0,
            "reason_1": reason,
            "reason_group_1": "support",
        },
        index=pd.Index(ids, name="customer_id", dtype=object),
    )
    path = write_at_risk(at_risk_list(scores), tmp_path / "at_risk.csv")
    rows = read_rows(path)
    assert len(rows) == n + 1 and all(len(r) == len(AT_RISK_COLUMNS) for r in rows)
    assert [r[1] for r in rows[1:]] == [_expected(i) for i in ids]
    assert {r[6] for r in rows[1:]} == {_expected(reason)}


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ids=st.lists(_ANY_TEXT, min_size=1, max_size=4, unique=True))
def test_1_any_text_writes_to_excel_as_text(tmp_path, ids):
    openpyxl = pytest.importorskip("openpyxl")
    scores = pd.DataFrame(
        {"churn_probability": np.linspace(0.9, 0.1, len(ids)), "mrr": 1.0},
        index=pd.Index(ids, name="customer_id", dtype=object),
    )
    path = write_at_risk(at_risk_list(scores), tmp_path / "at_risk.xlsx")
    sheet = openpyxl.load_workbook(path)["at_risk"]
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    got = [row[1].value or "" for row in sheet.iter_rows(min_row=2)]
    # XML gives CR back as LF, and openpyxl reads an all-space cell as it is
    assert got == [_expected(i, xlsx=True).replace("\r\n", "\n").replace("\r", "\n") for i in ids]


def test_11_notes_print_data_as_it_is(tmp_path, hostile_dir, model_dir, config):
    """A data-quality note quoting an id made of markup and terminal codes is printed as
    text, after the list was written, and the run still succeeds."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in hostile_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    activity = pd.read_parquet(folder / "activity.parquet")
    ghost = activity.iloc[[0]].assign(customer_id="[/x]ghost\x1b[31m")
    pd.concat([activity, ghost]).to_parquet(folder / "activity.parquet", index=False)
    out = tmp_path / "at_risk.csv"
    result = invoke(
        "score",
        folder,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--config",
        config,
        "--top",
        3,
    )
    assert result.exit_code == 0, result.stderr
    assert out.is_file()
    note = " ".join(result.stderr.split())
    assert "note:" in note and "[/x]ghost\\x1b[31m" in note
    assert "\x1b" not in result.stderr


def test_excel_warns_that_a_carriage_return_comes_back_as_a_line_feed(tmp_path):
    from churnpredict._exceptions import DataQualityWarning
    from churnpredict._outputs import write_frame

    frame = pd.DataFrame({"customer_id": ["a\rb", "c"], "note": ["x", "y"]})
    with pytest.warns(DataQualityWarning, match=r"customer_id.*carriage returns.*\.csv or"):
        write_frame(frame, tmp_path / "list.xlsx")
    read = pd.read_excel(tmp_path / "list.xlsx", dtype=str)
    assert read["customer_id"].tolist() == ["a\nb", "c"]  # what the warning says
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_frame(frame, tmp_path / "list.csv")  # CSV keeps it: no warning
        write_frame(frame.iloc[1:], tmp_path / "other.xlsx")
