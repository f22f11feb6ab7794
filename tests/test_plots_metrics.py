"""Plots of business metrics: churn rate, revenue churn, cohort retention."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from churnpredict._data import EventData  # noqa: E402
from churnpredict._metrics import churn_metrics, cohort_retention  # noqa: E402
from churnpredict._plots import (  # noqa: E402
    plot_churn_rate,
    plot_cohort_retention,
    plot_revenue_churn,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def data() -> EventData:
    """Three subscribers: A (basic) stays and upgrades from 10 to 30 in February; B (pro)
    cancels voluntarily on 20 Feb; C (pro) signs up in January and is cancelled for a failed
    payment on 10 Mar."""
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "signup_at": ["2023-12-01", "2023-12-10", "2024-01-15"],
            "churned_at": [None, "2024-02-20", "2024-03-10"],
            "churn_type": [None, "voluntary", "involuntary"],
            "plan": ["basic", "pro", "pro"],
        }
    )
    payments = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "B", "C", "C"],
            "timestamp": [
                "2023-12-01",
                "2024-01-01",
                "2024-02-01",
                "2023-12-10",
                "2024-01-10",
                "2024-01-15",
                "2024-02-15",
            ],
            "amount": [10.0, 10.0, 30.0, 50.0, 50.0, 40.0, 40.0],
            "status": "succeeded",
        }
    )
    return EventData(customers, payments=payments)


def labels(ax) -> list[str]:
    return [line.get_label() for line in ax.get_lines()]


def test_plot_churn_rate_with_voluntary_and_involuntary(data):
    metrics = churn_metrics(data, end="2024-04-01")
    ax = plot_churn_rate(metrics, marker="o")
    assert labels(ax) == ["churn rate", "voluntary", "involuntary"]
    total, voluntary, involuntary = ax.get_lines()
    # December starts empty (NaN); January 0 of 2; February 1 of 3 (B); March 1 of 2 (C)
    np.testing.assert_allclose(total.get_ydata(), [np.nan, 0.0, 1 / 3, 0.5])
    np.testing.assert_allclose(voluntary.get_ydata(), [np.nan, 0.0, 1 / 3, 0.0])
    np.testing.assert_allclose(involuntary.get_ydata(), [np.nan, 0.0, 0.0, 0.5])
    assert total.get_marker() == "o"
    assert voluntary.get_linestyle() == "--"
    assert ax.get_title() == "Churn rate"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == labels(ax)


def test_plot_churn_rate_without_churn_type_draws_one_line(data):
    customers = data.customers.drop(columns="churn_type")
    ax = plot_churn_rate(churn_metrics(EventData(customers), end="2024-04-01"))
    assert labels(ax) == ["churn rate"]


def test_plot_churn_rate_one_line_per_segment(data):
    metrics = churn_metrics(data, segment="plan", end="2024-04-01")
    fig, ax = plt.subplots()
    assert plot_churn_rate(metrics, ax=ax) is ax
    assert labels(ax) == ["basic", "pro"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [np.nan, 0.0, 0.5, 1.0])
    assert ax.get_legend().get_title().get_text() == "plan"


def test_plot_revenue_churn(data):
    """February: MRR at start 100 (A 10, B 50, C 40), B's 50 lost, A expands by 20: gross
    50%, net 30%. March: C's 40 of 70 lost."""
    ax = plot_revenue_churn(churn_metrics(data, end="2024-04-01"))
    assert labels(ax)[:2] == ["gross revenue churn", "net revenue churn"]
    assert labels(ax)[2].startswith("_")  # the zero line stays out of the legend
    gross, net, zero = ax.get_lines()
    np.testing.assert_allclose(gross.get_ydata(), [np.nan, 0.0, 0.5, 40 / 70])
    np.testing.assert_allclose(net.get_ydata(), [np.nan, 0.0, 0.3, 40 / 70])
    assert net.get_linestyle() == "--"
    assert net.get_color() == gross.get_color()
    assert list(zero.get_ydata()) == [0.0, 0.0]
    assert ax.get_title() == "Revenue churn"


def test_plot_revenue_churn_per_segment(data):
    ax = plot_revenue_churn(churn_metrics(data, segment="plan", end="2024-04-01"))
    assert labels(ax)[:4] == [
        "basic gross revenue churn",
        "basic net revenue churn",
        "pro gross revenue churn",
        "pro net revenue churn",
    ]
    assert len(ax.get_lines()) == 5
    # basic in February: no loss, expansion 20 on 10 -> net -200%
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata()[2], -2.0)


def test_plot_cohort_retention_annotates_small_tables(data):
    table = cohort_retention(data, max_periods=3, end="2024-03-15")
    ax = plot_cohort_retention(table)
    assert len(ax.get_images()) == 1
    assert ax.get_title() == "Cohort retention"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2023-12-01", "2024-01-01"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]
    # December (A, B): B gone by 1 Mar. January (C): active on 1 Mar; 1 Apr is after the end
    assert [t.get_text() for t in ax.texts] == [
        "100%",
        "100%",
        "100%",
        "50%",
        "100%",
        "100%",
        "100%",
    ]
    image = ax.get_images()[0].get_array()
    assert image.shape == (2, 4)
    assert np.ma.is_masked(image[1, 3])


def test_plot_cohort_retention_annotation_can_be_turned_off(data):
    table = cohort_retention(data, max_periods=3, end="2024-04-01")
    ax = plot_cohort_retention(table, annotate=False, cmap="viridis")
    assert len(ax.texts) == 0
    assert ax.get_images()[0].get_cmap().name == "viridis"


@pytest.mark.parametrize("plot", [plot_churn_rate, plot_revenue_churn])
def test_plots_reject_other_tables(plot):
    with pytest.raises(ValueError, match="metrics has no column.*churn_metrics"):
        plot(pd.DataFrame({"x": [1.0]}))
