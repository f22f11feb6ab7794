"""Evaluation plots: each returns the Axes it drew on, with the expected data."""

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

from churnpredict._exceptions import ChurnDataError
from churnpredict._plots import (
    GROUP_COLORS,
    plot_calibration,
    plot_driver_mix,
    plot_gains,
    plot_lift,
    plot_precision_recall_at_k,
    plot_profit_curve,
    plot_score_distribution,
    plot_shap_importance,
)


@pytest.fixture
def scored():
    """Ten customers, two churners: the model ranks one churner first and the other fourth."""
    return pd.DataFrame(
        {
            "churn_probability": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05],
            "churned": [1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        },
        index=pd.Index([f"c{i}" for i in range(10)], name="customer_id"),
    )


def _ax():
    return Figure().add_subplot()


def test_gains_curve_counts_churners_found(scored):
    ax = plot_gains(scored, _ax())
    x, y = ax.lines[0].get_data()
    # top 10% holds 1 of 2 churners, top 40% both
    assert x[1] == pytest.approx(10.0) and y[1] == pytest.approx(50.0)
    assert x[4] == pytest.approx(40.0) and y[4] == pytest.approx(100.0)
    assert [line.get_label() for line in ax.lines] == ["model", "perfect", "random"]


def test_lift_is_top_rate_over_base_rate(scored):
    ax = plot_lift(scored, _ax())
    x, y = ax.lines[0].get_data()
    # base rate 0.2; the top 1 is a churner -> lift 5; top 4 holds 2 -> 0.5 / 0.2 = 2.5
    assert y[0] == pytest.approx(5.0)
    assert y[3] == pytest.approx(2.5)
    assert y[-1] == pytest.approx(1.0)


def test_precision_recall_by_list_size(scored):
    ax = plot_precision_recall_at_k(scored, _ax())
    precision = ax.lines[0].get_ydata()
    recall = ax.lines[1].get_ydata()
    assert precision[:4].tolist() == pytest.approx([1.0, 0.5, 1 / 3, 0.5])
    assert recall[:4].tolist() == pytest.approx([0.5, 0.5, 0.5, 1.0])


def test_calibration_bins_mean_prediction_and_rate(scored):
    ax = plot_calibration(scored, _ax(), n_bins=2)
    predicted, observed = ax.lines[1].get_data()
    # lowest five: mean p 0.21, no churner; highest five: mean p 0.7, two churners of five
    assert list(predicted) == pytest.approx([0.21, 0.7])
    assert list(observed) == pytest.approx([0.0, 0.4])


def test_score_distribution_splits_by_outcome(scored):
    ax = plot_score_distribution(scored, _ax(), bins=5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["stayed", "churned"]
    assert sum(p.get_height() for p in ax.containers[1].patches) == 2
    unlabeled = plot_score_distribution(scored.drop(columns="churned"), _ax(), bins=5)
    assert sum(p.get_height() for p in unlabeled.patches) == 10


def test_profit_curve_marks_the_best_size():
    curve = pd.DataFrame({"list_size": [0, 1, 2, 3], "expected_profit": [0.0, 25.0, 30.0, 15.0]})
    ax = plot_profit_curve(curve, _ax(), y="expected_profit")
    (best,) = ax.collections[0].get_offsets()
    assert tuple(best) == (2.0, 30.0)
    assert "contact 2" in ax.get_legend().get_texts()[1].get_text()


def test_shap_importance_by_feature_and_group():
    contributions = pd.DataFrame(
        {
            "logins_30d": [-1.0, 1.0, 2.0],  # mean |.| 4/3
            "open_tickets": [0.5, -0.5, 0.5],  # 0.5
            "overdue_tickets": [0.5, 0.5, 0.5],  # 0.5
            "base_value": [-2.0, -2.0, -2.0],
        }
    )
    groups = {"logins_30d": "engagement", "open_tickets": "support", "overdue_tickets": "support"}
    ax = plot_shap_importance(contributions, _ax(), groups=groups)
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([4 / 3, 0.5, 0.5])
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "logins_30d"
    by_group = plot_shap_importance(contributions, _ax(), groups=groups, by="group")
    # support per row: 1.0, 0.0, 1.0 -> mean |.| 2/3
    assert [t.get_text() for t in by_group.get_yticklabels()] == ["engagement", "support"]
    assert [p.get_width() for p in by_group.patches] == pytest.approx([4 / 3, 2 / 3])
    assert by_group.patches[1].get_facecolor() == pytest.approx(
        matplotlib.colors.to_rgba(GROUP_COLORS["support"])
    )
    with pytest.raises(ValueError, match="by='group' needs groups="):
        plot_shap_importance(contributions, _ax(), by="group")


def test_driver_mix_stacks_shares_per_slice():
    """Four customers in two slices: payments twice at the top, then support and payments."""
    at_risk = pd.DataFrame(
        {"rank": [1, 2, 3, 4], "reason_group_1": ["payments", "payments", "support", "payments"]}
    )
    ax = plot_driver_mix(at_risk, _ax(), n_buckets=2)
    payments, support = ax.containers
    assert [p.get_height() for p in payments.patches] == pytest.approx([100.0, 50.0])
    assert [p.get_height() for p in support.patches] == pytest.approx([0.0, 50.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1-2", "3-4"]


@pytest.mark.parametrize(
    "func", [plot_gains, plot_lift, plot_calibration, plot_precision_recall_at_k]
)
def test_missing_outcome_column_is_named(func, scored):
    with pytest.raises(ChurnDataError, match="no 'churned' column"):
        func(scored.drop(columns="churned"), _ax())


def test_new_figure_when_no_axes(scored):
    ax = plot_gains(scored)
    assert ax.figure is not None
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_driver_mix_needs_reasons():
    with pytest.raises(ChurnDataError, match="explain=True"):
        plot_driver_mix(pd.DataFrame({"rank": [1]}), _ax())


def test_profit_curve_takes_profit_curve_output():
    import numpy as np

    from churnpredict._evaluate import profit_curve

    curve = profit_curve(
        np.array([0.9, 0.5, 0.1]),
        np.array([100.0, 100.0, 100.0]),
        horizon_months=1,
        contact_cost=20,
        save_rate=0.5,
    )
    ax = plot_profit_curve(curve, _ax())
    (best,) = ax.collections[0].get_offsets()
    assert tuple(best) == (2.0, curve["expected_profit"].max())
