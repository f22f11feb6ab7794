"""Recipes for public datasets (skipped cleanly when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from churnpredict import ChurnDataError, datasets, label_churn

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def dataset(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        pytest.skip(f"{relative} not available beside the project")
    return path


def test_online_retail_is_event_data_with_inactivity_labels():
    data = datasets.load_online_retail(
        dataset("online-retail-uci-invoices/online_retail_invoices.csv.gz")
    )
    assert len(data.customers) == 4338 and len(data.payments) == 18532
    labels = label_churn(data, ["2011-09-09"], "90D", lookback="365D")
    # README: cutoff 2011-09-09, 90-day horizon -> 1,441 churners among 3,362 customers.
    # Our horizon is (cutoff, cutoff + 90D] and the cutoff day itself belongs to neither side.
    assert 3300 < len(labels) < 3400
    assert 0.40 < labels["churned"].mean() < 0.46


def test_sparkify_drops_logged_out_events():
    data = datasets.load_sparkify(
        dataset("sparkify-eventsim-log-sample/sparkify_log_data_2018-11.jsonl.gz")
    )
    assert len(data.customers) == 97
    assert data.activity["customer_id"].ne("").all()
    assert data.tickets is not None


@pytest.mark.parametrize(
    ("loader", "relative", "rows", "rate"),
    [
        (
            datasets.load_telco,
            "ibm-telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv.gz",
            7043,
            1869 / 7043,
        ),
        (
            datasets.load_bank_churners,
            "credit-card-bankchurners/BankChurners.csv.gz",
            10127,
            1627 / 10127,
        ),
        (datasets.load_bank_churn, "bank-churn-modelling/Churn_Modelling.csv.gz", 10000, 0.2037),
    ],
)
def test_snapshot_recipes(loader, relative, rows, rate):
    data = loader(dataset(relative))
    assert data.is_snapshot and len(data.customers) == rows
    assert data.customers[data.label_column].mean() == pytest.approx(rate)
    assert not any(c.startswith("Naive_Bayes") for c in data.customers.columns)


def test_recipe_on_wrong_file(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ChurnDataError, match=r"x\.csv lacks columns \['customerID'"):
        datasets.load_telco(bad)
