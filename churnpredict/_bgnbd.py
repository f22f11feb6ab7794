"""BG/NBD: the beta-geometric / negative-binomial model of repeat purchases.

Fader, Hardie and Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2), 275-284. While alive, a customer buys at a
Poisson rate ``lambda ~ Gamma(r, alpha)``; after each repeat purchase they drop out for good
with probability ``p ~ Beta(a, b)``. Each customer is summarised, at a cutoff, by

* ``x``: repeat purchases (purchases after the first one),
* ``t_x``: time from the first to the last purchase,
* ``T``: time from the first purchase to the cutoff,

all in days here. The four parameters are fitted by maximum likelihood (:func:`fit_bgnbd`,
log-parameterised, scipy's L-BFGS-B), and give per customer :func:`p_alive`,
:func:`expected_purchases` and :func:`p_no_purchase` in the next ``t`` days.

In churnpredict a "purchase" is an *order day*: a UTC calendar day with at least one purchase
event (several invoices on one day count once, as lifetimes' daily summaries do; a Poisson
count of same-day invoices would read one basket split in two as two visits).
:class:`BGNBDBaseline` scores P(no purchase in the horizon) with the interface of
:class:`~churnpredict._model.LogisticBaseline`, from the summary columns that
:class:`~churnpredict.features.PurchaseHistoryFeatures` builds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ._exceptions import ChurnDataError, ChurnModelError
from ._params import (
    Boolean,
    Constraint,
    Duration,
    ParameterChecksMixin,
    Real,
    SequenceOf,
    checks_parameters,
)
from ._windows import parse_window

__all__ = [
    "BGNBDBaseline",
    "BGNBDFit",
    "SUMMARY_COLUMNS",
    "bgnbd_log_likelihood",
    "expected_purchases",
    "fit_bgnbd",
    "p_alive",
    "p_no_purchase",
]

#: Feature columns :class:`BGNBDBaseline` reads: order days before the cutoff, days since the
#: first order day, days since the last order day (as built by PurchaseHistoryFeatures).
SUMMARY_COLUMNS = ("orders_to_date", "days_since_first_order", "days_since_last_order")

PARAM_NAMES = ("r", "alpha", "a", "b")
#: log-parameters are kept in [-20, 12] (2e-9 .. 1.6e5, alpha in units of the largest age):
#: beyond e^12 the likelihood's Beta terms lose their precision to cancellation
_LOG_LOW, _LOG_HIGH = -20.0, 12.0
_GRAD_TOL = 1e-4  # largest projected gradient (mean log-likelihood per log-parameter) accepted


@dataclass
class BGNBDFit:
    """Result of :func:`fit_bgnbd`.

    Attributes
    ----------
    params : dict
        ``r``, ``alpha`` (in days), ``a``, ``b``; NaN when the fit failed.
    log_likelihood : float
        Sum of the customers' log-likelihoods at ``params`` (NaN when the fit failed).
    converged : bool
        The optimiser reported success and the likelihood is finite.
    n_customers : int
        Customers the fit used (those with a first purchase before the cutoff).
    message : str
        Why the fit failed, or the optimiser's message.
    at_bound : list of str
        Parameters that ended on the edge of the search box (``e^-20`` or ``e^12``): the
        maximum is a limit, e.g. ``a`` and ``b`` towards 0 when nobody seems to drop out.
    """

    params: dict[str, float]
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str = ""
    at_bound: list[str] = field(default_factory=list)

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(r, alpha, a, b)``."""
        return tuple(float(self.params[k]) for k in PARAM_NAMES)  # type: ignore[return-value]


def _arrays(x: Any, t_x: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    return np.broadcast_arrays(x, t_x, T)  # type: ignore[return-value]


def bgnbd_log_likelihood(params: Sequence[float], x: Any, t_x: Any, T: Any) -> np.ndarray:
    """Log-likelihood of each customer's purchase summary under BG/NBD.

    ``L = B(a, b + x) / B(a, b) * G(r + x) alpha^r / (G(r) (alpha + T)^(r + x))
    + [x > 0] B(a + 1, b + x - 1) / B(a, b) * G(r + x) alpha^r / (G(r) (alpha + t_x)^(r + x))``
    (Fader, Hardie and Lee 2005, eq. 6); the sum of the two terms is taken in log space.

    Parameters
    ----------
    params : (r, alpha, a, b)
    x, t_x, T : array-like
        Repeat purchases, time of the last purchase and age, both from the first purchase.

    Returns
    -------
    ndarray
        ``log L`` per customer.

    Examples
    --------
    >>> float(bgnbd_log_likelihood((1.0, 1.0, 1.0, 1.0), 0, 0.0, 1.0).round(6))  # log(1/2)
    -0.693147
    """
    r, alpha, a, b = (float(v) for v in params)
    x, t_x, T = _arrays(x, t_x, T)
    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) - betaln(a, b)
    first = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        second = betaln(a + 1.0, b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x)
    second = np.where(repeat, second, -np.inf)
    return head + np.logaddexp(first, second)


def p_alive(params: Sequence[float], x: Any, t_x: Any, T: Any) -> np.ndarray:
    """Probability that each customer is still alive (has not dropped out) at age ``T``.

    ``P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))``.
    A customer with no repeat purchase is alive for sure (BG/NBD lets customers drop out only
    right after a repeat purchase).

    Examples
    --------
    >>> p_alive((1.0, 1.0, 1.0, 1.0), [0, 1], [0.0, 1.0], [1.0, 3.0]).round(4).tolist()
    [1.0, 0.2]
    """
    r, alpha, a, b = (float(v) for v in params)
    x, t_x, T = _arrays(x, t_x, T)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_odds = (
            math.log(a)
            - np.log(b + np.maximum(x, 1.0) - 1.0)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, expit(-log_odds), 1.0)


def p_no_purchase(params: Sequence[float], t: float, x: Any, t_x: Any, T: Any) -> np.ndarray:
    """Probability of no purchase in the next ``t`` days, ``(T, T + t]``.

    Dead customers never buy; a customer alive at ``T`` buys at rate ``lambda``, whose posterior
    given alive is ``Gamma(r + x, alpha + T)``, and can only drop out right after a purchase,
    so they make none in ``t`` with probability ``E[exp(-lambda t)] = ((alpha + T) /
    (alpha + T + t))^(r + x)``. Hence

    ``P(no purchase in (T, T + t]) = 1 - P(alive) (1 - ((alpha + T) / (alpha + T + t))^(r + x))``.

    Examples
    --------
    >>> float(p_no_purchase((1.0, 1.0, 1.0, 1.0), 1.0, 0, 0.0, 1.0))  # alive: (2 / 3)^1
    0.6666666666666666
    """
    r, alpha, _, _ = (float(v) for v in params)
    x, t_x, T = _arrays(x, t_x, T)
    alive = p_alive(params, x, t_x, T)
    quiet = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + float(t))))
    return 1.0 - alive * (1.0 - quiet)


def expected_purchases(params: Sequence[float], t: float, x: Any, t_x: Any, T: Any) -> np.ndarray:
    """Expected number of purchases in the next ``t`` days, ``(T, T + t]``.

    ``E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1) (1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))) P(alive)`` (Fader, Hardie and Lee
    2005, eq. 10). NaN where the hypergeometric function does not evaluate to a finite number.

    Examples
    --------
    >>> round(float(expected_purchases((1.0, 1.0, 3.0, 1.0), 1.0, 0, 0.0, 1.0)), 4)
    0.3656
    """
    r, alpha, a, b = (float(v) for v in params)
    x, t_x, T = _arrays(x, t_x, T)
    alive = p_alive(params, x, t_x, T)
    z = float(t) / (alpha + T + float(t))
    with np.errstate(all="ignore"):
        h = hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + float(t))))
        out = (a + b + x - 1.0) / (a - 1.0) * (1.0 - ratio * h) * alive
    out = np.where(np.isfinite(out) & (out >= 0), out, np.nan)
    return out


def _log_likelihood_and_gradient(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bgnbd_log_likelihood` per customer and its gradient, shape (4, n), in
    (r, alpha, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    ll = bgnbd_log_likelihood(params, x, t_x, T)
    head = gammaln(r + x) - gammaln(r) + r * math.log(alpha) - betaln(a, b)
    repeat = x > 0
    first = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    w_first = np.exp(head + first - ll)  # the two terms' shares of the likelihood
    w_second = np.where(repeat, 1.0 - w_first, 0.0)
    xr = np.maximum(x, 1.0)
    d_abx = digamma(a + b + x)
    d_r = (
        digamma(r + x)
        - digamma(r)
        + math.log(alpha)
        - w_first * np.log(alpha + T)
        - w_second * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - (r + x) * (w_first / (alpha + T) + w_second / (alpha + t_x))
    d_a = (
        -(digamma(a) - digamma(a + b))
        + w_first * (digamma(a) - d_abx)
        + w_second * (digamma(a + 1.0) - d_abx)
    )
    d_b = (
        -(digamma(b) - digamma(a + b))
        + w_first * (digamma(b + x) - d_abx)
        + w_second * np.where(repeat, digamma(b + xr - 1.0) - d_abx, 0.0)
    )
    return ll, np.vstack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(
    x: Any,
    t_x: Any,
    T: Any,
    *,
    weights: Any = None,
    penalizer: float = 0.0,
    min_customers: int = 20,
    min_repeaters: int = 5,
    tol: float = 1e-9,
) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters from per-customer purchase summaries.

    Never raises on data it cannot fit: the result then has ``converged=False``, NaN
    parameters and a ``message`` saying why.

    Parameters
    ----------
    x, t_x, T : array-like
        Repeat purchases, time from the first to the last purchase, and age (time from the
        first purchase to the cutoff), in days; ``0 <= t_x <= T``.
    weights : array-like, optional
        Number of customers with each summary (default 1 each).
    penalizer : float, default 0.0
        L2 penalty on the parameters, added to the mean negative log-likelihood as in
        lifetimes' ``BetaGeoFitter(penalizer_coef=...)`` (on ``alpha`` in units of the
        largest age).
    min_customers : int, default 20
        Fewer customers with ``T > 0`` are too few for four parameters.
    min_repeaters : int, default 5
        Fewer customers with a repeat purchase say nothing about dropout.
    tol : float, default 1e-9
        Optimiser tolerance.

    Returns
    -------
    BGNBDFit

    Notes
    -----
    Identical summaries are pooled (with weights) first, so the cost grows with the number of
    distinct ``(x, t_x, T)``, not of customers. Times are divided by the largest age before
    optimising (``alpha`` is scaled back), and the log-parameters start at 0.1, as lifetimes
    does; L-BFGS-B uses the analytic gradient. The fit counts as converged when the optimiser
    says so or its projected gradient is below 1e-4 (a flat likelihood, e.g. with ``a`` and
    ``b`` large, stops the line search before the tolerance). When the likelihood is highest
    at a limit (e.g. ``a, b -> 0``), the parameters stop on the edge of a wide box and are
    listed in ``at_bound``; the fit still counts as converged, since the probabilities it
    gives are those of the limit.
    """
    x, t_x, T = (np.ravel(v) for v in _arrays(x, t_x, T))
    w = np.ones(len(x)) if weights is None else np.ravel(np.asarray(weights, dtype=np.float64))
    nan = {k: math.nan for k in PARAM_NAMES}
    n, why = _unfit(x, t_x, T, w, min_customers, min_repeaters)
    if why:
        return BGNBDFit(nan, math.nan, False, n, why)
    keep = (T > 0) & (w > 0)
    x, t_x, T, w = _pooled(x[keep], t_x[keep], T[keep], w[keep])
    scale = 1.0 / T.max()
    res, ok = _optimise(x, t_x * scale, T * scale, w, penalizer, tol)
    log_params = np.clip(res.x, _LOG_LOW, _LOG_HIGH)
    params = np.exp(log_params)
    params[1] /= scale
    values = dict(zip(PARAM_NAMES, (float(p) for p in params), strict=True))
    ll = float(w @ bgnbd_log_likelihood(params, x, t_x, T))
    converged = ok and math.isfinite(ll)
    at_bound = [
        k
        for k, v in zip(PARAM_NAMES, log_params, strict=True)
        if v <= _LOG_LOW + 1e-3 or v >= _LOG_HIGH - 1e-3
    ]
    if not converged:
        return BGNBDFit(
            nan, math.nan, False, n, f"the optimiser did not converge: {res.message}", at_bound
        )
    return BGNBDFit(values, ll, True, n, str(res.message), at_bound)


def _unfit(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    min_customers: int,
    min_repeaters: int,
) -> tuple[int, str]:
    """The customers with history (``T > 0``) counted, and why no fit is tried ("" to fit).

    Summaries must be finite with ``0 <= t_x <= T``; at least ``min_customers`` customers
    with history and ``min_repeaters`` of them with a repeat purchase.
    """
    bad = ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(T) & np.isfinite(w))
    if bad.any() or (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        return len(x), "purchase summaries must be finite with x >= 0 and 0 <= t_x <= T"
    keep = (T > 0) & (w > 0)
    n = int(round(w[keep].sum()))
    if n < min_customers:
        return n, (
            f"only {n} customers with purchase history; BG/NBD needs at least {min_customers}"
        )
    repeaters = int(round(w[keep & (x > 0)].sum()))
    if repeaters < min_repeaters:
        return n, (
            f"only {repeaters} customers bought more than once; BG/NBD needs at "
            f"least {min_repeaters} to estimate dropout"
        )
    return n, ""


def _pooled(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Identical ``(x, t_x, T)`` summaries pooled into one, their weights summed."""
    stacked = np.column_stack([x, t_x, T])
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    w = np.bincount(np.ravel(inverse), weights=w, minlength=len(uniq))
    return uniq[:, 0], uniq[:, 1], uniq[:, 2], w


def _optimise(
    x: np.ndarray,
    st_x: np.ndarray,
    sT: np.ndarray,
    w: np.ndarray,
    penalizer: float,
    tol: float,
) -> tuple[Any, bool]:
    """Minimise the weighted mean negative log-likelihood over the log-parameters.

    Times are scaled (``st_x``, ``sT``). L-BFGS-B with the analytic gradient from 0.1, then
    Nelder-Mead from where it stopped when it neither succeeded nor reached a stationary
    point. Returns scipy's result and whether it counts as converged.
    """
    total = w.sum()

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = _log_likelihood_and_gradient(params, x, st_x, sT)
        value = -(w @ ll) / total + penalizer * float(np.sum(params**2))
        # d/d log(theta) = theta * d/d theta
        jac = -(grad @ w) / total * params + 2.0 * penalizer * params**2
        if not (np.isfinite(value) and np.all(np.isfinite(jac))):
            return 1e300, np.zeros(4)
        return float(value), jac

    def stationary(log_params: np.ndarray) -> bool:
        """Gradient ~ 0, except where a bound stops a parameter going further."""
        value, jac = objective(log_params)
        free = jac.copy()
        free[(log_params <= _LOG_LOW + 1e-6) & (jac > 0)] = 0.0
        free[(log_params >= _LOG_HIGH - 1e-6) & (jac < 0)] = 0.0
        return value < 1e300 and float(np.abs(free).max()) < _GRAD_TOL

    bounds = [(_LOG_LOW, _LOG_HIGH)] * 4
    # L-BFGS-B's small BLAS calls are many times slower when OpenBLAS spreads them on threads
    with np.errstate(all="ignore"), threadpool_limits(1, user_api="blas"):
        res = minimize(
            objective,
            np.full(4, 0.1),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 5000, "ftol": tol * 1e-3, "gtol": 1e-9},
        )
        ok = bool(res.success) or stationary(res.x)
        if not ok:  # a second try from where L-BFGS-B stopped
            res = minimize(
                lambda v: objective(v)[0],
                res.x,
                method="Nelder-Mead",
                bounds=bounds,
                options={"maxiter": 2000, "xatol": 1e-8, "fatol": tol},
            )
            ok = stationary(res.x)
    return res, ok


# ----------------------------------------------------------------------------- baseline
def _summaries(
    X: pd.DataFrame, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` in days from the orders / first / last columns; no orders -> zeros."""
    orders, first, last = (
        pd.to_numeric(X[c], errors="coerce").to_numpy(np.float64) for c in columns
    )
    has = np.isfinite(orders) & (orders > 0) & np.isfinite(first) & np.isfinite(last)
    x = np.where(has, orders - 1.0, 0.0)
    T = np.where(has, np.maximum(first, 0.0), 0.0)
    t_x = np.where(has, np.clip(first - last, 0.0, None), 0.0)
    t_x = np.minimum(t_x, T)
    return x, t_x, T


class BGNBDBaseline(ParameterChecksMixin, ClassifierMixin, BaseEstimator):
    """BG/NBD's probability of no purchase in the horizon, as a churn score.

    The classic model for non-contractual churn, with the interface of
    :class:`~churnpredict._model.LogisticBaseline`. It reads each row's purchase summary
    (order days, days since the first and since the last order day: :data:`SUMMARY_COLUMNS`,
    built by :class:`~churnpredict.features.PurchaseHistoryFeatures`) and scores
    ``P(no purchase in (cutoff, cutoff + horizon])`` (see :func:`p_no_purchase`).

    BG/NBD does not learn from churn labels: ``y`` is accepted and ignored. :meth:`fit` fits
    the parameters on the rows of the latest cutoff in ``X``; with ``refit=True`` (default)
    :meth:`predict_proba` refits them on each cutoff's own rows first (their summaries use only
    purchases before that cutoff, so this is point-in-time), the way BG/NBD is used in
    practice: fitted on all history up to the day it scores. When such a refit fails, the
    parameters from :meth:`fit` are used. Customers with no order yet score the model's prior.

    Parameters
    ----------
    horizon : duration, default "90D"
        Days ahead the probability of no purchase covers (the label horizon).
    refit : bool, default True
    penalizer : float, default 0.0
        See :func:`fit_bgnbd`.
    columns : sequence of 3 str, default :data:`SUMMARY_COLUMNS`

    Attributes
    ----------
    fit_ : BGNBDFit
    params_ : dict
    classes_ : ndarray
        ``[0, 1]``.
    feature_names_in_ : ndarray
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "horizon": Duration(expected="a positive duration such as '90D' or 90 (days)"),
        "refit": Boolean(),
        "penalizer": Real(min=0),
        "columns": SequenceOf(
            str,
            length=3,
            expected=("three column names (orders, days since first order, days since last order)"),
        ),
    }

    def __init__(
        self,
        *,
        horizon: Any = "90D",
        refit: bool = True,
        penalizer: float = 0.0,
        columns: Sequence[str] = SUMMARY_COLUMNS,
    ) -> None:
        self.horizon = horizon
        self.refit = refit
        self.penalizer = penalizer
        self.columns = columns

    def _horizon_days(self) -> float:

        try:
            return parse_window(self.horizon) / pd.Timedelta(days=1)
        except ValueError as exc:
            raise ChurnModelError(f"horizon={self.horizon!r}: {exc}") from None

    def _check_frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise ChurnDataError(
                f"BGNBDBaseline needs a feature DataFrame with columns {list(self.columns)}; "
                f"got {type(X).__name__}"
            )
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ChurnDataError(
                f"features: BGNBDBaseline needs the purchase summary columns {missing}, "
                f"which are absent; build features with PurchaseHistoryFeatures()"
            )
        return X

    def _fit_rows(self, X: pd.DataFrame) -> BGNBDFit:
        x, t_x, T = _summaries(X, self.columns)
        return fit_bgnbd(x, t_x, T, penalizer=float(self.penalizer))

    @checks_parameters
    def fit(self, X: Any, y: Any = None) -> BGNBDBaseline:
        """Fit BG/NBD on the purchase summaries of the latest cutoff in ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            Features holding :data:`SUMMARY_COLUMNS`, optionally indexed by
            (customer_id, cutoff).
        y : ignored

        Returns
        -------
        BGNBDBaseline
        """
        X = self._check_frame(X)
        rows = X
        if isinstance(X.index, pd.MultiIndex) and "cutoff" in X.index.names and len(X):
            cut = X.index.get_level_values("cutoff")
            rows = X.loc[np.asarray(cut == cut.max())]
        self.fit_ = self._fit_rows(rows)
        if not self.fit_.converged:
            raise ChurnModelError(f"BG/NBD could not be fitted: {self.fit_.message}")
        self.params_ = dict(self.fit_.params)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def _params_for(self, X: pd.DataFrame) -> list[tuple[np.ndarray, tuple[float, ...]]]:
        """(row positions, parameters) per cutoff of ``X`` (one group without cutoffs)."""
        fitted = tuple(self.params_[k] for k in PARAM_NAMES)
        if not (self.refit and isinstance(X.index, pd.MultiIndex) and "cutoff" in X.index.names):
            return [(np.arange(len(X)), fitted)]
        cut = np.asarray(X.index.get_level_values("cutoff"))
        out = []
        for value in pd.unique(cut):
            pos = np.flatnonzero(cut == value)
            result = self._fit_rows(X.iloc[pos])
            if not result.converged:
                warnings.warn(
                    f"BG/NBD refit at {value} failed ({result.message}); using the "
                    f"parameters fitted earlier",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            out.append((pos, result.as_tuple() if result.converged else fitted))
        return out

    def p_no_purchase(self, X: Any) -> np.ndarray:
        """P(no purchase in the horizon) for each row of ``X``."""
        check_is_fitted(self, "params_")
        X = self._check_frame(X)
        t = self._horizon_days()
        out = np.empty(len(X))
        x, t_x, T = _summaries(X, self.columns)
        for pos, params in self._params_for(X):
            out[pos] = p_no_purchase(params, t, x[pos], t_x[pos], T[pos])
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, shape (n_rows, 2); column 1 is churn (no purchase in the horizon)."""
        p = np.clip(self.p_no_purchase(X), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of churn for each row."""
        p = np.clip(self.p_no_purchase(X), 1e-15, 1 - 1e-15)
        return logit(p)

    def calibrate_margin(self, margin: Any) -> np.ndarray:
        """Probability from log-odds (the logistic function)."""
        check_is_fitted(self, "params_")
        return expit(np.asarray(margin, dtype=np.float64))

    def predict(self, X: Any) -> np.ndarray:
        """1 where the probability of no purchase exceeds 0.5."""
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """The summary columns the score reads."""
        return np.asarray(list(self.columns), dtype=object)

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters and fit facts as a one-column DataFrame."""
        check_is_fitted(self, "params_")
        rows = [(("parameter", k), v) for k, v in self.params_.items()]
        rows += [
            (("fit", "log_likelihood"), self.fit_.log_likelihood),
            (("fit", "n_customers"), self.fit_.n_customers),
            (("fit", "converged"), self.fit_.converged),
            (("fit", "horizon_days"), self._horizon_days()),
        ]
        index = pd.MultiIndex.from_tuples([k for k, _ in rows], names=["kind", "name"])
        return pd.DataFrame({"value": [v for _, v in rows]}, index=index, dtype=object)
