"""The command line end to end: train, score, evaluate, metrics, demo; exit codes and errors.

The data is a small simulated subscription business (300 customers over two years, see
``make_subscription_data``) written as CSV files, as a batch job would find it on disk. The model
is kept small (50 trees) through a config file.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnpredict import cli
from churnpredict.datasets import make_subscription_data

EXPORT_COLUMNS = [
    "rank",
    "customer_id",
    "churn_probability",
    "risk_tier",
    "mrr",
    "revenue_at_risk",
    "reason_1",
    "reason_2",
    "reason_3",
    "reason_group_1",
    "reason_group_2",
    "reason_group_3",
    "suggested_action",
]
END = "2024-12-31"
CONFIG = """\
horizon = "28D"
n_cutoffs = 6

[model]
n_estimators = 50
n_jobs = 1

[actions]
payments = "Ask for a new card today"
"""

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def sample():
    return make_subscription_data(n_customers=300, events_per_day=0.3, random_state=7)


@pytest.fixture(scope="module")
def data_dir(workdir, sample):
    folder = workdir / "data"
    folder.mkdir()
    for name, frame in sample.tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def config(workdir):
    path = workdir / "churn.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def model_dir(workdir, data_dir, config):
    path = workdir / "model"
    result = invoke("train", data_dir, "--model", path, "--as-of", "2024-12-02", "--config", config)
    assert result.exit_code == 0, result.stderr
    assert "Model saved to" in result.stdout
    return path


def one_line_error(result, *fragments):
    """The run failed with exit code 2 and exactly one line on stderr naming the problem."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("churnpredict: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------ train / score
def test_train_writes_a_bundle(model_dir):
    assert model_dir.is_dir()
    assert any(model_dir.iterdir())


def test_score_writes_the_ranked_csv(tmp_path, data_dir, model_dir, config, sample):
    out = tmp_path / "at_risk.csv"
    result = invoke(
        "score", data_dir, "--model", model_dir, "--as-of", END, "--out", out, "--config", config
    )
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["churn_probability"].round(3).is_monotonic_decreasing  # ties by revenue
    assert frame["churn_probability"].between(0, 1).all()
    # everyone active at the end of the data is scored once
    customers = sample.customers
    active = customers["churned_at"].isna() | (customers["churned_at"] > pd.Timestamp(END))
    assert len(frame) == int((active & (customers["signup_at"] < pd.Timestamp(END))).sum())
    assert frame["customer_id"].is_unique
    # the config's action for payment reasons is used
    payments = frame.loc[frame["reason_group_1"] == "payments", "suggested_action"]
    assert (payments == "Ask for a new card today").all()
    assert f"wrote {len(frame):,} rows" in result.stdout
    assert "Top 10 at risk" in result.stdout
    # stderr holds only warnings (drift since training), never an error
    assert all(line.startswith("warning: drift:") for line in result.stderr.splitlines())


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_score_other_formats_with_top(tmp_path, data_dir, model_dir, config, suffix):
    out = tmp_path / f"list{suffix}"
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--top",
        7,
        "--config",
        config,
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_excel(out)
    assert len(frame) == 7
    assert list(frame.columns[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS


def test_score_min_probability_and_rank_by_revenue(tmp_path, data_dir, model_dir, config):
    out = tmp_path / "rich.csv"
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--min-probability",
        0.1,
        "--rank-by",
        "revenue",
        "--config",
        config,
    )
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert (frame["churn_probability"] >= 0.1).all()
    assert frame["revenue_at_risk"].is_monotonic_decreasing


# ------------------------------------------------------------------------ evaluate / metrics
@pytest.mark.slow
def test_evaluate_prints_metrics_and_writes_the_report(tmp_path, data_dir, model_dir, config):
    report = tmp_path / "report"
    result = invoke(
        "evaluate",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        "2024-12-02",
        "--report",
        report,
        "--config",
        config,
    )
    assert result.exit_code == 0, result.stderr
    for name in ("AUC", "average precision", "top-decile lift", "Brier score", "mean predicted"):
        assert name in result.stdout
    page = report / "report.html"
    assert page.is_file()
    assert (report / "gains.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_needs_a_horizon_after_as_of(tmp_path, data_dir, model_dir):
    report = tmp_path / "report"
    result = invoke(
        "evaluate", data_dir, "--model", model_dir, "--as-of", "2024-12-20", "--report", report
    )
    one_line_error(result, "needs the 28-day horizon", "2024-12-02")
    assert not report.exists()


def test_metrics_prints_a_table_and_writes_it(tmp_path, data_dir):
    out = tmp_path / "metrics.csv"
    result = invoke("metrics", data_dir, "--period", "quarter", "--segment", "plan", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "Churn metrics per quarter" in result.stdout
    assert "2024-10-01" in result.stdout
    table = pd.read_csv(out)
    assert {"period", "plan", "churn_rate", "net_revenue_churn"} <= set(table.columns)
    assert set(table["plan"]) == {"basic", "pro", "business"}


# ------------------------------------------------------------------------ bad input -> exit 2
@pytest.fixture
def broken_dir(tmp_path, data_dir):
    """A copy of the data folder to break."""
    folder = tmp_path / "broken"
    shutil.copytree(data_dir, folder)
    return folder


def test_missing_customers_table(tmp_path, broken_dir, model_dir):
    (broken_dir / "customers.csv").unlink()
    out = tmp_path / "at_risk.csv"
    result = invoke("score", broken_dir, "--model", model_dir, "--as-of", END, "--out", out)
    one_line_error(result, "customers table not found")
    assert not out.exists()


def test_wrong_column_name(tmp_path, broken_dir, model_dir):
    activity = pd.read_csv(broken_dir / "activity.csv").rename(columns={"timestamp": "time"})
    activity.to_csv(broken_dir / "activity.csv", index=False)
    out = tmp_path / "at_risk.csv"
    result = invoke("score", broken_dir, "--model", model_dir, "--as-of", END, "--out", out)
    one_line_error(result, "activity is missing required column(s) ['timestamp']")
    assert not out.exists()


def test_column_mapping_in_config_fixes_it(tmp_path, broken_dir, model_dir):
    activity = pd.read_csv(broken_dir / "activity.csv").rename(columns={"timestamp": "time"})
    activity.to_csv(broken_dir / "activity.csv", index=False)
    config = tmp_path / "map.toml"
    config.write_text('[columns.activity]\ntime = "timestamp"\n')
    out = tmp_path / "at_risk.csv"
    result = invoke(
        "score",
        broken_dir,
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
    assert len(pd.read_csv(out)) == 3


@pytest.mark.parametrize("as_of", ["2024-13-45", "yesterday-ish", ""])
def test_unparseable_as_of(tmp_path, data_dir, model_dir, as_of):
    out = tmp_path / "at_risk.csv"
    result = invoke("score", data_dir, "--model", model_dir, "--as-of", as_of, "--out", out)
    one_line_error(result, f"--as-of {as_of!r} is not a date")
    assert not out.exists()


def test_wrong_model_dir(tmp_path, data_dir):
    out = tmp_path / "at_risk.csv"
    result = invoke("score", data_dir, "--model", tmp_path / "nope", "--as-of", END, "--out", out)
    one_line_error(result, "--model", "no such directory", "churnpredict train")
    assert not out.exists()


def test_model_dir_that_is_not_a_bundle(tmp_path, data_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "at_risk.csv"
    result = invoke("score", data_dir, "--model", empty, "--as-of", END, "--out", out)
    one_line_error(result)
    assert not out.exists()


def test_unsupported_output_type(tmp_path, data_dir, model_dir):
    out = tmp_path / "at_risk.json"
    result = invoke("score", data_dir, "--model", model_dir, "--as-of", END, "--out", out)
    one_line_error(result, "unsupported file type '.json'")
    assert not out.exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('horizn = "28D"\n', "unknown key(s) ['horizn']"),
        ("horizon = \n", "is not valid TOML"),
        ('horizon = "soon"\n', "horizon='soon'; expected 'auto' or a positive duration"),
        ("[model]\nn_trees = 5\n", "config [model]"),
        ("[score]\ntop_n = 5\n", "unknown key(s) ['top_n'] in [score]"),
        ('windows = "30D"\n', "config windows = '30D'"),
        ("[report]\nsave_rate = 30\n", "[report] save_rate = 30"),
        ('windows = [7, "soon"]\n', "windows 'soon' is not a usable duration"),
    ],
)
def test_bad_config(tmp_path, data_dir, text, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    model = tmp_path / "model"
    result = invoke("train", data_dir, "--model", model, "--config", config)
    one_line_error(result, fragment)
    assert not model.exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--rank-by", "mood"], "--rank-by 'mood'"),
        (["--top", "0"], "--top 0"),
        (["--min-probability", "1.5"], "--min-probability 1.5"),
        (["--as-of", "1999-01-01"], "no customer is in the population"),
        (["--top", "-3"], "--top -3; must be a whole number of at least 1"),
        (["--status", "gone"], "--status 'gone'; use active, lapsed, new or all"),
        (["--holdout", "1.5"], "--holdout 1.5; give the control share"),
        (["--seed", "11"], "--seed 11; the seed of the holdout draw"),
        (["--holdout", "0.2", "--seed", "-1"], "--seed -1"),
    ],
)
def test_bad_score_options(tmp_path, data_dir, model_dir, args, fragment):
    out = tmp_path / "at_risk.csv"
    base = ["--as-of", END] if "--as-of" not in args else []
    result = invoke("score", data_dir, "--model", model_dir, "--out", out, *base, *args)
    one_line_error(result, fragment)
    assert not out.exists()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('[score]\ntop = "ten"\n', "--top 'ten'; must be a whole number of at least 1"),
        ("[score]\ntop = 0\n", "--top 0;"),
        ('[score]\nrank_by = "mood"\n', "--rank-by 'mood'"),
        ('[score]\nstatus = ["lapsed", "gone"]\n', "--status ['lapsed', 'gone']"),
        ('[score]\nextra_columns = ["rank"]\n', "extra_columns ['rank'] clash with the list's"),
        ("[tiers]\nhigh = 2.0\n", "tiers['high']=2.0; thresholds are minimum churn"),
        ("[actions]\npayments = 3\n", "actions="),
    ],
)
def test_bad_list_options_in_the_config(monkeypatch, tmp_path, data_dir, model_dir, text, fragment):
    """The config's list options are checked as one ListOptions before the model is loaded;
    a bad one names its flag, or the config for options only a config sets."""
    from churnpredict._pipeline import ChurnPipeline

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(ChurnPipeline, "load", no_loading)
    config = tmp_path / "list.toml"
    config.write_text(text)
    out = tmp_path / "at_risk.csv"
    line = one_line_error(
        invoke(
            "score",
            data_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            out,
            "--config",
            config,
        ),
        fragment,
    )
    if not fragment.startswith("--"):
        assert str(config) in line
    assert not out.exists()


def test_list_options_from_the_config_and_flags(tmp_path, data_dir, model_dir, config):
    """[score] sets the list (flags override it): the status filter, the extra column and
    the ranking from the config, --top from the flag."""
    listed = tmp_path / "list.toml"
    listed.write_text(
        CONFIG + '\n[score]\nstatus = "active"\nrank_by = "revenue"\n'
        'top = 50\nextra_columns = ["plan"]\n'
    )
    out = tmp_path / "at_risk.csv"
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--config",
        listed,
        "--top",
        12,
    )
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 12
    assert (frame["status"] == "active").all()
    assert frame["revenue_at_risk"].is_monotonic_decreasing
    assert frame.columns[-1] == "plan" and frame["plan"].notna().all()


def test_missing_config_file(tmp_path, data_dir):
    result = invoke("metrics", data_dir, "--config", tmp_path / "none.toml")
    one_line_error(result, "none.toml not found")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--label", "sometimes"], "--label 'sometimes'"),
        (["--horizon", "-5D"], "must be positive"),
        (["--horizon", "soon"], "--horizon 'soon' is not a usable duration"),
        (["--as-of", "31/31/2024"], "is not a date"),
    ],
)
def test_bad_train_options(tmp_path, data_dir, args, fragment):
    model = tmp_path / "model"
    result = invoke("train", data_dir, "--model", model, *args)
    one_line_error(result, fragment)
    assert not model.exists()


def test_missing_data_dir(tmp_path):
    result = invoke("metrics", tmp_path / "nowhere")
    one_line_error(result, "no such directory")


def test_debug_shows_the_traceback(tmp_path, data_dir):
    result = invoke("metrics", data_dir, "--segment", "region", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("churnpredict: error: --segment")


def test_unexpected_error_exits_1(monkeypatch, data_dir):
    import churnpredict._metrics

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(churnpredict._metrics, "churn_metrics", broken)
    result = invoke("metrics", data_dir)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "churnpredict: unexpected error (RuntimeError): disk on fire; rerun with "
        "--debug for details"
    )


# ------------------------------------------------------------------------ help / demo
@pytest.mark.parametrize("command", ["demo", "train", "score", "evaluate", "metrics"])
def test_every_command_has_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"churnpredict {command}" in result.stdout


def test_version():
    from churnpredict import __version__

    result = invoke("--version")
    assert result.stdout.strip() == f"churnpredict {__version__}"


@pytest.mark.slow
def test_demo_on_a_small_sample(monkeypatch, tmp_path, sample):
    """The demo flow, with the bundled sample swapped for the small one to stay fast."""
    import churnpredict.datasets
    from churnpredict._model import ChurnModel
    from churnpredict._pipeline import ChurnPipeline

    monkeypatch.setattr(churnpredict.datasets, "load_sample", lambda: sample)
    monkeypatch.setattr(churnpredict.datasets, "SAMPLE_AS_OF", pd.Timestamp(END))
    paths = cli.run_demo(
        tmp_path / "demo",
        pipeline=ChurnPipeline(model=ChurnModel(n_estimators=50, n_jobs=1), n_cutoffs=6),
    )
    frame = pd.read_csv(paths["at_risk"])
    assert list(frame.columns[: len(EXPORT_COLUMNS)]) == EXPORT_COLUMNS
    assert paths["report"] == tmp_path / "demo" / "report" / "report.html"
    assert paths["report"].is_file()
    assert paths["model"].is_dir()
    assert Path(paths["at_risk"]).parent == tmp_path / "demo"


@pytest.mark.slow
def test_score_on_dask_matches_pandas(tmp_path, data_dir, model_dir, config):
    """`score --scheduler local` writes the same list as the single-machine path."""
    pytest.importorskip("dask.distributed")
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    assert (
        invoke(
            "score",
            data_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            local,
            "--config",
            config,
        ).exit_code
        == 0
    )
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        dask_out,
        "--config",
        config,
        "--scheduler",
        "local",
        "--npartitions",
        3,
    )
    assert result.exit_code == 0, result.stderr
    a, b = pd.read_csv(local), pd.read_csv(dask_out)
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    np.testing.assert_allclose(a["churn_probability"], b["churn_probability"], atol=1e-9)
    # each partition's customers are its peers (a random share of everyone, by customer
    # hash): the reasons agree but for the share of customers they are compared with
    peers = re.compile(r", (?:\w+ than|like) \d+% of customers")
    same = [[peers.sub("", str(t)) for t in f["reason_1"].fillna("")] for f in (a, b)]
    assert same[0] == same[1]
    assert a["reason_group_1"].tolist() == b["reason_group_1"].tolist()
    # the list options travel to Dask as one ListOptions: status filter and holdout too
    flags = ["--status", "active", "--holdout", "0.25", "--seed", "5", "--top", "40"]
    assert (
        invoke(
            "score",
            data_dir,
            "--model",
            model_dir,
            "--as-of",
            END,
            "--out",
            local,
            "--config",
            config,
            *flags,
        ).exit_code
        == 0
    )
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        dask_out,
        "--config",
        config,
        "--scheduler",
        "local",
        "--npartitions",
        3,
        *flags,
    )
    assert result.exit_code == 0, result.stderr
    a, b = pd.read_csv(local), pd.read_csv(dask_out)
    assert len(a) == 40 and set(a["status"]) == {"active"}
    for col in ("customer_id", "risk_tier", "status", "group"):
        assert a[col].tolist() == b[col].tolist(), col


def test_ranked_out_needs_a_scheduler(tmp_path, data_dir, model_dir, config):
    out = tmp_path / "x.csv"
    result = invoke(
        "score",
        data_dir,
        "--model",
        model_dir,
        "--as-of",
        END,
        "--out",
        out,
        "--ranked-out",
        tmp_path / "ranked",
    )
    one_line_error(result, "--ranked-out needs --scheduler")
    assert not out.exists()
