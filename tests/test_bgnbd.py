"""BG/NBD: the likelihood against a hand computation, lifetimes' BetaGeoFitter, and recovery of
known parameters from simulated customers; the baseline's interface and failure modes."""

from __future__ import annotations

import contextlib
import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from churnpredict._bgnbd import (
    BGNBDBaseline,
    bgnbd_log_likelihood,
    expected_purchases,
    fit_bgnbd,
    p_alive,
    p_no_purchase,
)
from churnpredict._exceptions import ChurnDataError, ChurnModelError

#: CDNOW-like parameters (Fader, Hardie and Lee 2005 report r=0.243, alpha=4.41 weeks,
#: a=0.793, b=2.426 on CDNOW); alpha here in days
TRUE = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5}


def simulate(
    n: int, params: dict[str, float], seed: int = 0, max_purchases: int = 150
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers drawn from BG/NBD: Gamma purchase rates, Beta dropout after each purchase,
    ages of 200-500 days. Returns (x, t_x, T) in days."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=n)
    p = rng.beta(params["a"], params["b"], size=n)
    T = rng.integers(200, 501, size=n).astype(float)
    gaps = rng.exponential(1.0, size=(n, max_purchases)) / lam[:, None]
    times = np.cumsum(gaps, axis=1)
    # purchases until (and including) the one after which the customer drops out
    lives = rng.geometric(p)
    alive_for = np.arange(1, max_purchases + 1)[None, :] <= lives[:, None]
    seen = alive_for & (times <= T[:, None])
    x = seen.sum(axis=1).astype(float)
    t_x = np.where(x > 0, np.where(seen, times, 0.0).max(axis=1), 0.0)
    return x, t_x, T


@pytest.fixture(scope="module")
def simulated():
    return simulate(4000, TRUE)


def _hand_log_likelihood(r, alpha, a, b, x, t_x, T):
    """Fader, Hardie and Lee (2005), eq. 6, written out with gamma functions."""

    def beta(p, q):
        return math.gamma(p) * math.gamma(q) / math.gamma(p + q)

    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    first = beta(a, b + x) / beta(a, b) * common / (alpha + T) ** (r + x)
    second = 0.0
    if x > 0:
        second = beta(a + 1, b + x - 1) / beta(a, b) * common / (alpha + t_x) ** (r + x)
    return math.log(first + second)


@pytest.mark.parametrize("params", [(0.5, 10.0, 0.8, 2.0), (2.0, 3.0, 1.5, 0.7)])
def test_log_likelihood_matches_the_closed_form(params):
    customers = [(0, 0.0, 30.0), (1, 12.0, 40.0), (4, 35.5, 60.0), (7, 99.0, 100.0)]
    got = bgnbd_log_likelihood(params, *map(np.array, zip(*customers, strict=True)))
    expected = [_hand_log_likelihood(*params, *c) for c in customers]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # a worked value: r = alpha = a = b = 1, x = 1, t_x = 1, T = 3:
    # B(1,2)/B(1,1) * 1/4^2 + B(2,1)/B(1,1) * 1/2^2 = 1/32 + 1/8 = 5/32
    assert bgnbd_log_likelihood((1, 1, 1, 1), 1, 1.0, 3.0) == pytest.approx(math.log(5 / 32))


def test_probabilities_by_hand():
    params = (1.0, 1.0, 1.0, 1.0)
    # x = 1, t_x = 1, T = 3: odds of dead = a / b * (4 / 2)^2 = 4, P(alive) = 1/5
    assert p_alive(params, 1, 1.0, 3.0) == pytest.approx(0.2)
    assert p_alive(params, 0, 0.0, 50.0) == 1.0  # no repeat purchase: alive for sure
    # P(no purchase in 2 days) = 1 - 0.2 * (1 - (4 / 6)^2) = 1 - 0.2 * 5/9
    assert p_no_purchase(params, 2.0, 1, 1.0, 3.0) == pytest.approx(1 - 0.2 * 5 / 9)
    assert p_no_purchase(params, 0.0, 1, 1.0, 3.0) == pytest.approx(1.0)


@pytest.mark.slow
def test_p_no_purchase_matches_a_simulation():
    """Customers drawn from the posterior at (x, t_x, T) and run forward."""
    params = {"r": 0.6, "alpha": 20.0, "a": 0.9, "b": 3.0}
    # customers of age 60 days; among those with x repeat purchases, the mean predicted
    # probability of no purchase in (60, 90] must match the simulated share
    rng = np.random.default_rng(4)
    n = 200_000
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=n)
    p = rng.beta(params["a"], params["b"], size=n)
    T = np.full(n, 60.0)
    first_gap = rng.exponential(1.0, size=(n, 60)) / lam[:, None]
    times = np.cumsum(first_gap, axis=1)
    lives = rng.geometric(p)
    alive_for = np.arange(1, 61)[None, :] <= lives[:, None]
    before = alive_for & (times <= 60.0)
    x = before.sum(axis=1).astype(float)
    t_x = np.where(x > 0, np.where(before, times, 0.0).max(axis=1), 0.0)
    bought_next = (alive_for & (times > 60.0) & (times <= 90.0)).any(axis=1)
    theta = tuple(params.values())
    for k in (0, 1, 3):
        mine = x == k
        assert mine.sum() > 2000
        predicted = p_no_purchase(theta, 30.0, x[mine], t_x[mine], T[mine]).mean()
        assert predicted == pytest.approx(1 - bought_next[mine].mean(), abs=0.015)
        expected = expected_purchases(theta, 30.0, x[mine], t_x[mine], T[mine]).mean()
        counted = (alive_for & (times > 60.0) & (times <= 90.0))[mine].sum(axis=1).mean()
        assert expected == pytest.approx(counted, rel=0.06)


def test_known_parameters_are_recovered(simulated):
    fit = fit_bgnbd(*simulated)
    assert fit.converged and not fit.at_bound
    assert fit.n_customers == 4000
    for name, true in TRUE.items():
        assert fit.params[name] == pytest.approx(true, rel=0.25), name
    # the fitted likelihood beats the true parameters' (it is the maximum)
    at_true = bgnbd_log_likelihood(tuple(TRUE.values()), *simulated).sum()
    assert fit.log_likelihood >= at_true
    assert fit.log_likelihood == pytest.approx(
        bgnbd_log_likelihood(fit.as_tuple(), *simulated).sum()
    )


def test_parameters_and_likelihood_match_lifetimes(simulated):
    """lifetimes is in the test extra: this reference check runs in every test install."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter

        x, t_x, T = simulated
        theirs = BetaGeoFitter(penalizer_coef=0.0).fit(x.astype(int), t_x, T)
        their_alive = np.asarray(theirs.conditional_probability_alive(x, t_x, T))
        their_expected = np.asarray(
            theirs.conditional_expected_number_of_purchases_up_to_time(30.0, x, t_x, T)
        )
    mine = fit_bgnbd(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert mine.params[name] == pytest.approx(float(theirs.params_[name]), rel=2e-3), name
    # lifetimes keeps the mean negative log-likelihood in its scaled time units
    scale = 1.0 / T.max()
    scaled = (mine.params["r"], mine.params["alpha"] * scale, mine.params["a"], mine.params["b"])
    my_nll = -bgnbd_log_likelihood(scaled, x, t_x * scale, T * scale).mean()
    assert my_nll == pytest.approx(theirs._negative_log_likelihood_, abs=1e-6)
    theta = mine.as_tuple()
    np.testing.assert_allclose(p_alive(theta, x, t_x, T), their_alive, atol=2e-3)
    np.testing.assert_allclose(
        expected_purchases(theta, 30.0, x, t_x, T), their_expected, rtol=5e-3, atol=1e-3
    )


@pytest.mark.parametrize(
    "case, message",
    [
        ("once", "bought more than once"),
        ("few", "only 3 customers"),
        ("bad", "must be finite"),
    ],
)
def test_degenerate_data_gives_an_unconverged_fit_not_an_error(case, message):
    if case == "once":
        x, t_x, T = np.zeros(100), np.zeros(100), np.linspace(10, 200, 100)
    elif case == "few":
        x, t_x, T = np.array([1, 2, 0.0]), np.array([5, 9, 0.0]), np.array([10, 20, 30.0])
    else:
        x, t_x, T = np.array([1.0, np.nan]), np.array([5.0, 1.0]), np.array([10.0, 20.0])
    fit = fit_bgnbd(x, t_x, T)
    assert not fit.converged
    assert message in fit.message
    assert all(math.isnan(v) for v in fit.params.values())


def _summary_frame(x, t_x, T, cutoff="2024-06-01"):
    n = len(x)
    index = pd.MultiIndex.from_arrays(
        [np.arange(n), pd.DatetimeIndex([cutoff] * n)], names=["customer_id", "cutoff"]
    )
    return pd.DataFrame(
        {
            "orders_to_date": x + 1,
            "days_since_first_order": T,
            "days_since_last_order": T - t_x,
            "other": 1.0,
        },
        index=index,
    )


def test_baseline_scores_p_no_purchase(simulated):
    x, t_x, T = simulated
    X = _summary_frame(x, t_x, T)
    base = BGNBDBaseline(horizon="30D").fit(X, np.zeros(len(X)))
    theta = base.fit_.as_tuple()
    proba = base.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba[:, 1], p_no_purchase(theta, 30.0, x, t_x, T))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        base.calibrate_margin(base.decision_function(X)), proba[:, 1], rtol=1e-9
    )
    assert list(base.get_feature_names_out()) == [
        "orders_to_date",
        "days_since_first_order",
        "days_since_last_order",
    ]
    assert base.summary.loc[("fit", "converged"), "value"]
    # customers without an order score the prior: alive, no purchase with (a / (a + t))^r
    none = X.iloc[:1].copy()
    none[["orders_to_date", "days_since_first_order", "days_since_last_order"]] = [
        0,
        np.nan,
        np.nan,
    ]
    r, alpha = theta[0], theta[1]
    with pytest.warns(ConvergenceWarning, match="refit at 2024-06-01.* failed"):
        alone = base.predict_proba(none)[0, 1]  # one row cannot be refitted: fit()'s params
    assert alone == pytest.approx((alpha / (alpha + 30)) ** r)


def test_baseline_refits_at_each_cutoff(simulated):
    x, t_x, T = simulated
    early = _summary_frame(x[:2000], t_x[:2000], T[:2000], "2024-01-01")
    late = _summary_frame(x[2000:] * 0 + 1, t_x[2000:] * 0, T[2000:], "2024-06-01")
    late["orders_to_date"] = np.where(np.arange(2000) % 3 == 0, 3, 1)
    late["days_since_last_order"] = np.where(
        np.arange(2000) % 3 == 0, 5.0, late["days_since_first_order"]
    )
    X = pd.concat([early, late])
    refit = BGNBDBaseline().fit(X).predict_proba(X)[:, 1]
    fixed = BGNBDBaseline(refit=False).fit(X).predict_proba(X)[:, 1]
    np.testing.assert_allclose(refit[2000:], fixed[2000:])  # fit() used the latest cutoff
    assert not np.allclose(refit[:2000], fixed[:2000])


def test_baseline_errors_name_the_fix():
    X = pd.DataFrame({"orders_to_date": [1.0]})
    with pytest.raises(ChurnDataError, match="PurchaseHistoryFeatures"):
        BGNBDBaseline().fit(X)
    X = _summary_frame(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    with pytest.raises(ChurnModelError, match="bought more than once"):
        BGNBDBaseline().fit(X)
    with pytest.raises(ChurnModelError, match="horizon"):
        BGNBDBaseline(horizon="soon").fit(X)


def test_bgnbd_joins_the_time_ordered_comparison_with_inactivity_labels():
    """A random shop: BGNBDBaseline is scored on the test rows, fitted on the history
    before as_of; with cancellation labels (the subscription tests) it is not listed."""
    from test_features_purchases import random_shop

    from churnpredict._evaluate import classification_metrics, time_ordered_evaluation
    from churnpredict._labels import label_churn
    from churnpredict._model import ChurnModel
    from churnpredict._pipeline import ChurnPipeline
    from churnpredict.features import PurchaseHistoryFeatures, build_features

    data = random_shop(n=300, seed=1)
    pipe = ChurnPipeline(
        model=ChurnModel(n_jobs=1, validation_cutoffs=1),
        horizon="60D",
        label="inactivity",
        n_cutoffs=6,
        cutoff_freq="30D",
        lookback="3650D",
    )
    table = time_ordered_evaluation(data, "2023-11-01", pipeline=pipe)
    assert table.index.tolist() == [
        "ChurnModel",
        "LogisticBaseline",
        "BGNBDBaseline",
        "recency rule",
    ]
    test = label_churn(data, ["2023-11-01"], "60D", kind="inactivity", lookback="3650D")
    S = build_features(data, test.index, [PurchaseHistoryFeatures(bgnbd=False)])
    x = S["orders_to_date"].to_numpy() - 1
    T = S["days_since_first_order"].to_numpy()
    t_x = T - S["days_since_last_order"].to_numpy()
    fit = fit_bgnbd(x, t_x, T)
    expected = classification_metrics(
        test["churned"], p_no_purchase(fit.as_tuple(), 60.0, x, t_x, T)
    )
    assert table.loc["BGNBDBaseline", "auc"] == pytest.approx(expected["auc"], rel=1e-12)
    assert table.loc["BGNBDBaseline", "auc"] > 0.6
