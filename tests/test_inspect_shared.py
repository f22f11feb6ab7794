"""The shared public exports, each copied as shipped into an empty folder, go to a ranked list
with ``inspect --write-config``, then ``train`` and ``score`` with that config, unedited
(skipped cleanly when ../shared/data is absent)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import churnpredict as cp
from churnpredict import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RETAIL = "online-retail-uci-invoices/online_retail_invoices.csv.gz"
SPARKIFY = "sparkify-eventsim-log-sample/sparkify_log_data_2018-11.jsonl.gz"
TELCO = "ibm-telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv.gz"

#: What inspect must infer from each file, exactly.
EXPECTED = {
    RETAIL: {
        "derive_customers": True,
        "business": "purchases",
        "horizon": "90D",  # the usual gap between a customer's orders is 28 days
        "tables": {"activity": "online_retail_invoices.csv.gz"},
        "columns": {
            "activity": {
                "CustomerID": "customer_id",
                "InvoiceDate": "timestamp",
                "TotalPrice": "value",  # money: value_kind = "amount"
            }
        },
        "value_kind": "amount",
    },
    SPARKIFY: {
        "derive_customers": True,  # no Cancellation Confirmation page in this sample
        "unknown_customers": "drop",  # 286 logged-out events without a userId
        "time_unit": "ms",
        "horizon": "7D",
        "cutoff_freq": "1D",  # 29 days of events
        "tables": {"activity": "sparkify_log_data_2018-11.jsonl.gz"},
        "columns": {
            "activity": {
                "userId": "customer_id",
                "ts": "timestamp",
                "page": "event",
                # a song's length is a duration: read only once value_kind is
                "length": "value",
            }
        },
        "value_kind": "duration",
    },
    TELCO: {
        "label_column": "Churn",
        "tables": {"customers": "WA_Fn-UseC_-Telco-Customer-Churn.csv.gz"},
        "columns": {"customers": {"customerID": "customer_id", "MonthlyCharges": "mrr"}},
    },
}


@pytest.fixture(params=[RETAIL, SPARKIFY, TELCO], ids=["online-retail", "sparkify", "telco"])
def export(request, tmp_path):
    """The shared file, copied as shipped into an empty folder."""
    source = SHARED / request.param
    if not source.is_file():
        pytest.skip(f"{request.param} not available beside the project")
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(source, folder / source.name)
    return request.param, folder


def test_inspect_infers_the_mapping(export):
    name, folder = export
    found = cp.inspect(folder)
    assert found.config == EXPECTED[name]
    assert found.ready
    sure = found.mappings.dropna(subset=["maps_to"]).set_index("column")["how_sure"]
    assert (sure[sure.index != "MonthlyCharges"] == "sure").all()
    if name == TELCO:
        assert sure["MonthlyCharges"] == "likely"  # "monthly" and "charges": words of MRR
    if name == RETAIL:
        why = found.mappings.set_index("column").loc["InvoiceNo", "why"]
        assert "unique per row" in why  # an invoice number, not a customer


@pytest.mark.slow
def test_inspect_train_score_unedited(export, tmp_path):
    name, folder = export
    runner = CliRunner()
    config = tmp_path / "churn.toml"
    result = runner.invoke(cli.app, ["inspect", str(folder), "--write-config", str(config)])
    assert result.exit_code == 0, result.output
    assert tomllib.loads(config.read_text()) == EXPECTED[name]
    next_steps = [line.strip() for line in result.stdout.splitlines() if "churnpredict " in line]
    train, score = next_steps[-2:]
    model, out = tmp_path / "model", tmp_path / "at_risk.csv"
    train_args = train.split()[1:]
    train_args[train_args.index("model")] = str(model)
    result = runner.invoke(cli.app, train_args)
    assert result.exit_code == 0, result.output
    score_args = score.split()[1:]
    score_args[score_args.index("model")] = str(model)
    score_args[score_args.index("at_risk.csv")] = str(out)
    if name == TELCO:  # a snapshot has one cutoff: any date
        score_args = score_args[: score_args.index("--as-of") + 1] + [
            "2024-01-01",
            "--out",
            str(out),
        ]
    result = runner.invoke(cli.app, score_args)
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(out)
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["churn_probability"].round(3).is_monotonic_decreasing  # ties by revenue
    assert ranked["reason_1"].head(10).notna().all()  # the top of the list says why
    if name == RETAIL:
        assert len(ranked) == 4338 and "expected_spend" in ranked  # everyone who ever bought
    if name == SPARKIFY:
        # Today an event log without money is detected as purchases (its list carries
        # expected_spend, empty: no value is read as money). Once the usage kind and
        # value_kind are read, it is detected as usage and `length` is a duration.
        assert len(ranked) == 97
    if name == TELCO:
        assert len(ranked) == 7043 and ranked["mrr"].notna().all()
