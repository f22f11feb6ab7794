"""churnpredict on public churn data: time-ordered event data and snapshot tables.

Reports ROC AUC, average precision and top-decile lift of ``ChurnModel`` next to baselines:

* **Event data, time-ordered.** Every model is trained on what was known at a test cutoff
  ``T`` (training labels end by ``T``) and tested on the population at ``T``, labelled over
  ``(T, T + horizon]``; several monthly test cutoffs.

  - UCI Online Retail (real invoices, non-contractual): 90-day horizon, inactivity labels
    (no purchase in the horizon), monthly training cutoffs. Baselines: ``LogisticBaseline``
    on the same features, the recency rule (days since the last purchase) and the BG/NBD
    model of the ``lifetimes`` package, fitted on each cutoff's purchase history, scored as
    ``1 - P(alive)`` and as ``P(no purchase in the horizon)``.
  - UCI Online Retail, **everyone who bought before the cutoff** (``--only purchases``):
    ``ChurnPipeline(business="purchases")``, whose population includes the lapsed customers
    and whose builders are the purchase defaults (``SpendFeatures``,
    ``PurchaseHistoryFeatures``); ``ChurnModel`` against ``BGNBDBaseline``
    (churnpredict's own BG/NBD fit), lifetimes' BG/NBD and two RFM-only XGBoost models on the
    same rows, with the paired bootstrap interval of each AUC difference; ChurnModel refitted
    with other seeds (``--purchase-seeds``, the seed spread) and a prototype of the same
    features boosted from BG/NBD's log-odds (``bgnbd_offset_scores``).
  - Sparkify (simulated page logs, 97 users, one month): 7-day horizon, daily cutoffs. It
    is too small for a quality claim; the bootstrap interval of the AUC says so.

* **Snapshot tables, stratified random split** (Telco, BankChurners, Bank churn): one row per
  customer and no time, so a time-ordered test is impossible; ``--seeds`` random 75/25
  splits, stratified by the label, ``ChurnModel`` against ``LogisticBaseline``.

Run from the repository root (``lifetimes`` is needed only for the BG/NBD baseline)::

    python benchmarks/real_data.py                       # data in ../shared/data
    python benchmarks/real_data.py --data DIR --out results.md
    python benchmarks/real_data.py --only online_retail sparkify
    python benchmarks/real_data.py --only purchases
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from churnpredict import (  # noqa: E402
    BGNBDBaseline,  # noqa: E402
    ChurnModel,
    ChurnPipeline,  # noqa: E402
    EventData,  # noqa: E402
    LogisticBaseline,
    classification_metrics,
    label_churn,  # noqa: E402
    time_ordered_evaluation,
)
from churnpredict.datasets import (  # noqa: E402
    load_bank_churn,
    load_bank_churners,
    load_online_retail,
    load_sparkify,
    load_telco,
)
from churnpredict.features import (  # noqa: E402
    build_features,
)
from churnpredict.features._base import window_label  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "online_retail": "online-retail-uci-invoices/online_retail_invoices.csv.gz",
    "purchases": "online-retail-uci-invoices/online_retail_invoices.csv.gz",
    "sparkify": "sparkify-eventsim-log-sample/sparkify_log_data_2018-11.jsonl.gz",
    "telco": "ibm-telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv.gz",
    "bank_churners": "credit-card-bankchurners/BankChurners.csv.gz",
    "bank_churn": "bank-churn-modelling/Churn_Modelling.csv.gz",
}
SNAPSHOTS = {
    "telco": ("IBM Telco", load_telco),
    "bank_churners": ("BankChurners (credit cards)", load_bank_churners),
    "bank_churn": ("Bank churn (Churn_Modelling)", load_bank_churn),
}
PENALIZERS = (0.001, 0.01, 0.1, 1.0)
N_BOOTSTRAP = 500


# --------------------------------------------------------------------------- metrics
def scores_row(y: np.ndarray, score: np.ndarray, probability: bool) -> dict[str, float]:
    """AUC, average precision, top-decile lift, and a bootstrap 95% interval of the AUC."""
    m = classification_metrics(y, score, probability=probability)
    lo, hi = auc_interval(y, score)
    return {
        "n": m["n"],
        "n_churned": m["n_churned"],
        "base_rate": m["base_rate"],
        "auc": m["auc"],
        "auc_lo": lo,
        "auc_hi": hi,
        "average_precision": m["average_precision"],
        "top_decile_lift": m["top_decile_lift"],
    }


def auc_interval(
    y: np.ndarray, score: np.ndarray, n_boot: int = N_BOOTSTRAP, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the ROC AUC (rows resampled with replacement).

    The resample counts are drawn for the rows in score order, as in earlier versions of this
    benchmark, so the intervals reported in docs/real_data.md are reproduced exactly.
    """
    drawn = bootstrap_weights(len(y), n_boot, seed)
    weights = np.empty_like(drawn)
    weights[:, np.argsort(np.asarray(score, dtype=float), kind="stable")] = drawn
    auc = bootstrap_aucs(y, score, weights)
    auc = auc[np.isfinite(auc)]
    if not len(auc):
        return math.nan, math.nan
    return float(np.percentile(auc, 2.5)), float(np.percentile(auc, 97.5))


def bootstrap_weights(n: int, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Row counts of ``n_boot`` bootstrap resamples of ``n`` rows, shape (n_boot, n)."""
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)


def bootstrap_aucs(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC of each resample (a row of ``weights``); NaN where a class is absent.

    Every resample's AUC is computed at once from the rows sorted by score (ties count one
    half). Passing the same ``weights`` for two scores gives a paired bootstrap.
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    order = np.argsort(score, kind="stable")
    y, score, weights = y[order], score[order], weights[:, order]
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])  # groups of tied scores
    pos = np.add.reduceat(weights * y, starts, axis=1)
    neg = np.add.reduceat(weights * (1.0 - y), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    pairs = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (pos * (below + 0.5 * neg)).sum(axis=1) / pairs, np.nan)


def bootstrap_lifts(
    y: np.ndarray, score: np.ndarray, weights: np.ndarray, top: float = 0.1
) -> np.ndarray:
    """Top-decile lift of each resample: churn rate among the highest-scored ``top`` share of
    the resampled rows (whole rows, from the top, until that share is reached) over the
    resample's churn rate."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    w = weights[:, order].astype(float)
    yo = y[order]
    total = w.sum(axis=1, keepdims=True)
    before = np.cumsum(w, axis=1) - w
    inside = before < np.ceil(top * total)
    top_w = (w * inside).sum(axis=1)
    top_rate = (w * inside * yo).sum(axis=1) / top_w
    base = (w * yo).sum(axis=1) / total[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return top_rate / base


def paired_lift_difference(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOTSTRAP, seed: int = 1
) -> tuple[float, float, float]:
    """Top-decile lift of ``a`` minus that of ``b`` on the same rows, with its paired
    percentile bootstrap 95% interval."""
    w = bootstrap_weights(len(y), n_boot, seed)
    diff = bootstrap_lifts(y, a, w) - bootstrap_lifts(y, b, w)
    diff = diff[np.isfinite(diff)]
    point = (
        classification_metrics(y, a, probability=False)["top_decile_lift"]
        - classification_metrics(y, b, probability=False)["top_decile_lift"]
    )
    return point, float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))


def paired_auc_difference(
    y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOTSTRAP, seed: int = 0
) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) on the same rows, with its paired percentile bootstrap 95% interval."""
    w = bootstrap_weights(len(y), n_boot, seed)
    diff = bootstrap_aucs(y, a, w) - bootstrap_aucs(y, b, w)
    diff = diff[np.isfinite(diff)]
    point = (
        classification_metrics(y, a, probability=False)["auc"]
        - classification_metrics(y, b, probability=False)["auc"]
    )
    return point, float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))


# --------------------------------------------------------------------------- BG/NBD
def purchase_history(data: EventData, as_of: pd.Timestamp) -> pd.DataFrame:
    """Frequency, recency and age (days) of every customer's purchase days before ``as_of``.

    Computed here because ``lifetimes.utils.summary_data_from_transaction_data`` does not run
    on pandas 3. A purchase is a succeeded payment; several on one day count once, as in
    lifetimes' daily summaries. ``frequency`` = repeat purchase days, ``recency`` = first to
    last purchase day, ``T`` = first purchase day to ``as_of``.
    """
    pay = data.payments
    keep = (pay["status"] == "succeeded") & (pay["timestamp"] < as_of)
    days = pd.DataFrame(
        {
            "customer_id": pay.loc[keep, "customer_id"].to_numpy(),
            "day": pay.loc[keep, "timestamp"].dt.floor("D").to_numpy(),
        }
    )
    days = days.drop_duplicates()
    g = days.groupby("customer_id")["day"].agg(["min", "max", "count"])
    return pd.DataFrame(
        {
            "frequency": (g["count"] - 1).to_numpy(dtype=float),
            "recency": ((g["max"] - g["min"]) / pd.Timedelta(days=1)).to_numpy(dtype=float),
            "T": ((as_of.floor("D") - g["min"]) / pd.Timedelta(days=1)).to_numpy(dtype=float),
        },
        index=g.index,
    )


def bgnbd_scores(
    data: EventData, as_of: pd.Timestamp, horizon_days: float
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit BG/NBD on the purchase history before ``as_of``; churn scores per customer.

    Returns ``p_alive`` (lifetimes' conditional probability alive) and ``p_no_purchase``,
    the probability of no purchase in ``(as_of, as_of + horizon]``:
    ``1 - p_alive + p_alive * ((alpha + T) / (alpha + T + t)) ** (r + frequency)`` (a customer
    alive at ``as_of`` buys at a Gamma(r + x, alpha + T) rate and only drops out right after
    a purchase). The penalizer is the first of :data:`PENALIZERS` that converges.
    """
    with warnings.catch_warnings():  # lifetimes sets a pandas option deprecated in pandas 3
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter
        from lifetimes.utils import ConvergenceError

    hist = purchase_history(data, as_of)
    f, rec, age = (hist[c].to_numpy() for c in ("frequency", "recency", "T"))
    model, used = None, None
    for pen in PENALIZERS:
        # lifetimes prints the optimiser's report before raising ConvergenceError
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                model = BetaGeoFitter(penalizer_coef=pen).fit(f, rec, age)
                used = pen
                break
            except ConvergenceError:
                continue
    if model is None:
        raise RuntimeError(f"BG/NBD did not converge at {as_of} with penalizers {PENALIZERS}")
    r, alpha = float(model.params_["r"]), float(model.params_["alpha"])
    with np.errstate(divide="ignore", invalid="ignore"):
        alive = np.asarray(model.conditional_probability_alive(f, rec, age), dtype=float)
    no_buy = 1.0 - alive + alive * ((alpha + age) / (alpha + age + horizon_days)) ** (r + f)
    info = {"penalizer": used, **{k: float(v) for k, v in model.params_.items()}}
    return pd.DataFrame({"p_alive": alive, "p_no_purchase": no_buy}, index=hist.index), info


# --------------------------------------------------------------------------- event data
def event_benchmark(
    name: str,
    data: EventData,
    test_cutoffs: list[pd.Timestamp],
    pipeline: ChurnPipeline,
    *,
    bgnbd: bool,
    population: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Time-ordered evaluation at each test cutoff: ChurnModel, baselines, optionally BG/NBD."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    horizon = pd.Timedelta(pipeline.horizon)
    for cut in test_cutoffs:
        start = time.perf_counter()
        table = time_ordered_evaluation(data, cut, pipeline=pipeline)
        test = label_churn(
            data, [cut], horizon, kind=pipeline.label, lookback=pipeline.lookback
        ).droplevel("cutoff")
        y = test["churned"].to_numpy()
        # refit to get the scores themselves (time_ordered_evaluation returns metrics only)
        scored = _time_ordered_scores(data, cut, pipeline, test.index)
        for model_name, (score, is_proba) in scored.items():
            row = scores_row(y, score, is_proba)
            # same rows as the pipeline's own test population (everyone not cancelled, the
            # lapsed included): the metrics must agree; a narrower population (recent buyers
            # only) is scored here alone
            if int(table.loc[model_name, "n"]) == len(y):
                check = table.loc[model_name, "auc"]
                if not math.isclose(row["auc"], check, rel_tol=1e-9, abs_tol=1e-12):
                    raise RuntimeError(f"{model_name} at {cut}: AUC {row['auc']} != {check}")
            rows.append(
                {
                    "dataset": name,
                    "population": population,
                    "test_cutoff": cut.date(),
                    "model": model_name,
                    "train_rows": table.attrs["n_train_rows"],
                    **row,
                }
            )
        if bgnbd:
            bg, info = bgnbd_scores(data, cut, horizon / pd.Timedelta(days=1))
            bg = bg.reindex(test.index)
            if bg.isna().any().any():
                raise RuntimeError("BG/NBD has no history for some test customers")
            for model_name, col in (
                ("BG/NBD 1 - P(alive)", "p_alive"),
                ("BG/NBD P(no purchase in horizon)", "p_no_purchase"),
            ):
                score = bg[col].to_numpy()
                score = 1.0 - score if col == "p_alive" else score
                rows.append(
                    {
                        "dataset": name,
                        "population": population,
                        "test_cutoff": cut.date(),
                        "model": model_name,
                        "train_rows": len(purchase_history(data, cut)),
                        **scores_row(y, score, True),
                    }
                )
            notes.append(
                f"{name} {population} {cut.date()}: BG/NBD penalizer "
                f"{info['penalizer']}, r={info['r']:.3f}, alpha={info['alpha']:.1f}, "
                f"a={info['a']:.3g}, b={info['b']:.3g}"
            )
        print(
            f"  {name:<14} {population:<22} {cut.date()}  {time.perf_counter() - start:5.1f} s",
            flush=True,
        )
    return rows, notes


def _time_ordered_scores(
    data: EventData, cut: pd.Timestamp, pipeline: ChurnPipeline, test_index: pd.Index
) -> dict[str, tuple[np.ndarray, bool]]:
    """The test scores behind :func:`time_ordered_evaluation` (same training, same rows)."""
    from sklearn.base import clone

    from churnpredict import recency_rule
    from churnpredict.features import build_features

    pipe = clone(pipeline)
    X_train, labels = pipe.fit_training(data, cut, progress=False)
    rows = pd.MultiIndex.from_arrays(
        [test_index, pd.DatetimeIndex([cut] * len(test_index)).astype("datetime64[ns]")],
        names=["customer_id", "cutoff"],
    )
    X_test = pipe.align_features(
        build_features(data, rows, pipe.builders_, fit=False, progress=False)
    )
    base = LogisticBaseline().fit(X_train, labels["churned"].to_numpy())
    out = {
        type(pipe.model_).__name__: (pipe.model_.predict_proba(X_test)[:, 1], True),
        "LogisticBaseline": (base.predict_proba(X_test)[:, 1], True),
    }
    try:
        out["recency rule"] = (recency_rule(X_test).to_numpy(), False)
    except Exception:  # no recency feature
        pass
    return out


def monthly_test_cutoffs(
    data: EventData, horizon: pd.Timedelta, n: int, step: str = "30D"
) -> list[pd.Timestamp]:
    """The latest cutoff whose horizon the data covers, and ``n - 1`` earlier ones."""
    last = (data.time_range[1] - horizon).floor("D")
    return [last - pd.Timedelta(step) * k for k in range(n - 1, -1, -1)]


# --------------------------------------------------------------------------- purchases
RFM_COLUMNS = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days")


def rfm_features(data: EventData, index: pd.MultiIndex) -> pd.DataFrame:
    """Recency, frequency, monetary value, average order value and tenure (days) per row.

    The classic RFM summary in plain pandas, from the succeeded payments (invoices) strictly
    before each row's cutoff: recency = days since the last invoice, frequency = invoices,
    monetary = their total, average order value = monetary / frequency, tenure = days since
    the first invoice.
    """
    pay = data.payments.loc[
        data.payments["status"] == "succeeded", ["customer_id", "timestamp", "amount"]
    ]
    parts = []
    for cut in index.get_level_values("cutoff").unique():
        before = pay[pay["timestamp"] < cut]
        g = before.groupby("customer_id").agg(
            last=("timestamp", "max"),
            first=("timestamp", "min"),
            frequency=("amount", "size"),
            monetary=("amount", "sum"),
        )
        day = pd.Timedelta(days=1)
        part = pd.DataFrame(
            {
                "recency_days": (cut - g["last"]) / day,
                "frequency": g["frequency"].astype(float),
                "monetary": g["monetary"],
                "avg_order_value": g["monetary"] / g["frequency"],
                "tenure_days": (cut - g["first"]) / day,
            }
        )
        part.index = pd.MultiIndex.from_arrays(
            [part.index, pd.DatetimeIndex([cut] * len(part))], names=["customer_id", "cutoff"]
        )
        parts.append(part)
    return pd.concat(parts).reindex(index)


def bgnbd_offset_scores(
    model: ChurnModel, X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, column: str
) -> tuple[np.ndarray, int]:
    """Boost from BG/NBD: XGBoost trees that correct BG/NBD's log-odds of no order.

    A prototype, built on ``model``'s own recipe (:meth:`ChurnModel.plan_fit` folds, purge
    gap and seed, :meth:`ChurnModel.xgb_params`, early stopping on the validation fold, refit
    on every row with the best number of rounds), with one difference: every row starts from
    ``base_margin = logit(P(no order in the horizon))`` read from ``column`` (clipped to
    [1e-6, 1 - 1e-6]; rows without it start from the training churn rate's log-odds) instead
    of one global base score, so the trees learn corrections to BG/NBD instead of re-learning
    it. Returns the test rows' log-odds (the ranking; a monotone calibration would not change
    AUC or lift) and the best round.
    """
    import xgboost as xgb
    from scipy.special import logit

    y_train = np.asarray(y_train)
    plan = model.plan_fit(X_train.index, y_train)
    params = model.xgb_params(plan.candidates[0], plan.scale_pos_weight, plan.seed)
    prior = float(logit(y_train.mean()))

    def offset(X: pd.DataFrame) -> np.ndarray:
        p = np.clip(X[column].to_numpy(dtype=np.float64), 1e-6, 1.0 - 1e-6)
        return np.where(np.isfinite(p), logit(p), prior)

    o_train, o_test = offset(X_train), offset(X_test)
    nthread = {} if model.n_jobs is None else {"nthread": int(model.n_jobs)}

    def matrix(
        X: pd.DataFrame, rows: np.ndarray, base: np.ndarray, y: np.ndarray | None
    ) -> xgb.DMatrix:
        return xgb.DMatrix(
            X.iloc[rows],
            label=None if y is None else y[rows],
            base_margin=base[rows],
            missing=np.nan,
            **nthread,
        )

    train, valid = np.flatnonzero(plan.train), np.flatnonzero(plan.valid)
    booster = xgb.train(
        params,
        matrix(X_train, train, o_train, y_train),
        num_boost_round=int(model.n_estimators),
        evals=[(matrix(X_train, valid, o_train, y_train), "validation")],
        early_stopping_rounds=model.early_stopping_rounds,
        verbose_eval=False,
    )
    best = model.best_round(booster)
    every = np.arange(len(X_train))
    booster = xgb.train(
        params,
        matrix(X_train, every, o_train, y_train),
        num_boost_round=best + 1,
        verbose_eval=False,
    )
    test = matrix(X_test, np.arange(len(X_test)), o_test, None)
    return booster.predict(test, output_margin=True), best


def purchase_benchmark(
    data: EventData, test_cutoffs: list[pd.Timestamp], n_jobs: int, seeds: int = 3
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every customer who bought before each cutoff scored; ChurnModel vs BG/NBD vs RFM.

    The pipeline is ``ChurnPipeline(business="purchases")``: its population is everyone who
    bought before the cutoff, lapsed customers included, at every training cutoff too, so
    lapsed customers are learned, not extrapolated; its builders are the purchase defaults
    (:func:`~churnpredict.features.default_builders`). On the same test rows:
    ``BGNBDBaseline`` (maximum likelihood on the purchase history before the cutoff),
    lifetimes' penalised BG/NBD
    when installed, and two RFM-only XGBoost models trained on the pipeline's training rows
    and labels: ``ChurnModel`` (same training procedure) on the five RFM columns, and a plain
    ``xgboost.XGBClassifier`` with its default settings. Two more rows measure what is not a
    baseline: ``ChurnModel`` refitted with ``random_state`` 1 .. ``seeds - 1`` on the same rows
    (the seed spread), and :func:`bgnbd_offset_scores`, the same features boosted from
    BG/NBD's log-odds (a prototype).
    """
    from sklearn.base import clone
    from xgboost import XGBClassifier

    pipeline = ChurnPipeline(
        business="purchases", model=ChurnModel(n_jobs=n_jobs), horizon="90D"
    )  # every other setting at its default
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for cut in test_cutoffs:
        start = time.perf_counter()
        pipe = clone(pipeline)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            X_train, labels = pipe.fit_training(data, cut, progress=False)
        test = label_churn(data, [cut], pipe.horizon_, **pipe.population_rule())
        X_test = pipe.align_features(
            build_features(data, test.index, pipe.builders_, fit=False, progress=False)
        )
        y = test["churned"].to_numpy()
        y_train = labels["churned"].to_numpy()
        scores: dict[str, np.ndarray] = {"ChurnModel": pipe.model_.predict_proba(X_test)[:, 1]}
        for seed in range(1, seeds):
            other = clone(pipe.model_).set_params(random_state=seed).fit(X_train, y_train)
            scores[f"ChurnModel, random_state={seed}"] = other.predict_proba(X_test)[:, 1]
        column = f"bgnbd_p_no_order_{window_label(pipe.horizon_)}"
        if column in X_train.columns:
            margin, best = bgnbd_offset_scores(pipe.model_, X_train, y_train, X_test, column)
            scores["ChurnModel features boosted from BG/NBD log-odds (prototype)"] = 1.0 / (
                1.0 + np.exp(-margin)
            )  # uncalibrated; same ranking
            notes.append(
                f"purchases {cut.date()}: boosted from BG/NBD, best round {best}; "
                f"ChurnModel best round {pipe.model_.best_iteration_}"
            )
        bg = BGNBDBaseline(horizon=pipe.horizon_).fit(X_test)
        scores["BG/NBD P(no purchase), churnpredict"] = bg.predict_proba(X_test)[:, 1]
        p = bg.fit_.params
        notes.append(
            f"purchases {cut.date()}: churnpredict BG/NBD r={p['r']:.3f}, "
            f"alpha={p['alpha']:.1f}, a={p['a']:.3g}, b={p['b']:.3g}, "
            f"log-likelihood {bg.fit_.log_likelihood:,.1f}, "
            f"at bound {bg.fit_.at_bound or 'none'}"
        )
        try:
            life, info = bgnbd_scores(data, cut, pipe.horizon_ / pd.Timedelta(days=1))
            scores["BG/NBD P(no purchase), lifetimes"] = (
                life["p_no_purchase"].reindex(test.index.get_level_values(0)).to_numpy()
            )
            notes.append(
                f"purchases {cut.date()}: lifetimes BG/NBD penalizer "
                f"{info['penalizer']}, r={info['r']:.3f}, alpha={info['alpha']:.1f}"
            )
        except ImportError:
            pass
        R_train, R_test = rfm_features(data, X_train.index), rfm_features(data, test.index)
        rfm_model = ChurnModel(n_jobs=n_jobs, horizon=pipe.horizon_)
        scores["RFM-only XGBoost (ChurnModel)"] = rfm_model.fit(R_train, y_train).predict_proba(
            R_test
        )[:, 1]
        plain = XGBClassifier(n_jobs=n_jobs, random_state=0).fit(R_train.to_numpy(), y_train)
        scores["RFM-only XGBoost (XGBClassifier defaults)"] = plain.predict_proba(
            R_test.to_numpy()
        )[:, 1]
        for name, score in scores.items():
            row = scores_row(y, score, True)
            d, lo, hi = (
                paired_auc_difference(y, scores["ChurnModel"], score)
                if name != "ChurnModel"
                else (math.nan,) * 3
            )
            ld, llo, lhi = (
                paired_lift_difference(y, scores["ChurnModel"], score)
                if name != "ChurnModel"
                else (math.nan,) * 3
            )
            rows.append(
                {
                    "dataset": "Online Retail",
                    "population": "everyone who bought",
                    "test_cutoff": cut.date(),
                    "model": name,
                    "train_rows": len(X_train),
                    "n_features": X_train.shape[1] if name == "ChurnModel" else math.nan,
                    "diff": d,
                    "diff_lo": lo,
                    "diff_hi": hi,
                    "lift_diff": ld,
                    "lift_diff_lo": llo,
                    "lift_diff_hi": lhi,
                    **row,
                }
            )
        print(
            f"  purchases      everyone who bought    {cut.date()}  "
            f"{time.perf_counter() - start:5.1f} s",
            flush=True,
        )
    return rows, notes


def purchase_table(rows: pd.DataFrame) -> str:
    """Per test cutoff: every model's AUC, lift, and ChurnModel's paired AUC advantage."""
    lines = [
        "| test cutoff | model | test rows | churners | ROC AUC (95% bootstrap) | "
        "average precision | top-decile lift | ChurnModel AUC minus this (paired 95%) | "
        "ChurnModel lift minus this (paired 95%) |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for r in rows.itertuples():
        first = r.model == "ChurnModel"
        diff = "" if first else f"{r.diff:+.4f} ({r.diff_lo:+.3f} to {r.diff_hi:+.3f})"
        lift = (
            "" if first else f"{r.lift_diff:+.2f} ({r.lift_diff_lo:+.2f} to {r.lift_diff_hi:+.2f})"
        )
        name = f"**{r.model}**" if r.model == "ChurnModel" else r.model
        lines.append(
            f"| {r.test_cutoff} | {name} | {r.n:,} | {r.n_churned:,} | {_fmt(r.auc)} "
            f"({_fmt(r.auc_lo, 2)}-{_fmt(r.auc_hi, 2)}) | {_fmt(r.average_precision)} | "
            f"{_fmt(r.top_decile_lift, 2)} | {diff} | {lift} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- snapshots
def snapshot_benchmark(
    name: str, data: EventData, seeds: int, n_jobs: int, test_size: float = 0.25
) -> list[dict[str, Any]]:
    """Stratified random splits: ChurnModel and LogisticBaseline through ChurnPipeline."""
    from sklearn.model_selection import train_test_split

    customers = data.customers
    label = data.label_column
    rows = []
    for seed in range(seeds):
        start = time.perf_counter()
        train, test = train_test_split(
            customers, test_size=test_size, stratify=customers[label], random_state=seed
        )
        d_train = EventData(train.reset_index(drop=True), label_column=label)
        d_test = EventData(test.reset_index(drop=True), label_column=label)
        for model in (ChurnModel(n_jobs=n_jobs), LogisticBaseline()):
            pipe = ChurnPipeline(model=model).fit(d_train)
            ev = pipe.evaluate(d_test, None)
            s = ev.scores
            rows.append(
                {
                    "dataset": name,
                    "population": "all customers",
                    "test_cutoff": None,
                    "seed": seed,
                    "model": type(model).__name__,
                    "train_rows": len(train),
                    **scores_row(s["churned"].to_numpy(), s["churn_probability"].to_numpy(), True),
                }
            )
        print(f"  {name:<28} split {seed}  {time.perf_counter() - start:5.1f} s", flush=True)
    return rows


# --------------------------------------------------------------------------- report
def _fmt(value: float, digits: int = 3) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def summary_table(rows: pd.DataFrame) -> str:
    """One line per (dataset, population, model): mean over test cutoffs or splits."""
    lines = [
        "| dataset | test design | population | model | test rows | churn rate | "
        "ROC AUC | average precision | top-decile lift |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    keys = ["dataset", "design", "population", "model"]
    for key, g in rows.groupby(keys, sort=False):
        dataset, design, population, model = key

        def cell(col: str, digits: int = 3, g: pd.DataFrame = g) -> str:
            mean = g[col].mean()
            if len(g) > 1:
                return f"{_fmt(mean, digits)} ± {_fmt(g[col].std(ddof=1), digits)}"
            return _fmt(mean, digits)

        bold = model == "ChurnModel"
        name = f"**{model}**" if bold else model
        lines.append(
            f"| {dataset} | {design} | {population} | {name} | {g['n'].mean():,.0f} | "
            f"{g['base_rate'].mean():.1%} | {cell('auc')} | {cell('average_precision')} | "
            f"{cell('top_decile_lift', 2)} |"
        )
    return "\n".join(lines)


def detail_table(rows: pd.DataFrame) -> str:
    """Every test set of the event data, with the bootstrap 95% interval of the AUC."""
    lines = [
        "| dataset | population | test cutoff | model | test rows | churners | ROC AUC "
        "(95% bootstrap) | average precision | top-decile lift |",
        "| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.dataset} | {r.population} | {r.test_cutoff} | {r.model} | {r.n:,} | "
            f"{r.n_churned:,} | {_fmt(r.auc)} ({_fmt(r.auc_lo, 2)}-{_fmt(r.auc_hi, 2)}) | "
            f"{_fmt(r.average_precision)} | {_fmt(r.top_decile_lift, 2)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding the dataset folders (default: ../shared/data)",
    )
    parser.add_argument("--only", nargs="+", choices=list(FILES), default=list(FILES))
    parser.add_argument("--seeds", type=int, default=5, help="random splits per snapshot table")
    parser.add_argument(
        "--purchase-seeds",
        type=int,
        default=3,
        help="random_state values of ChurnModel in the purchase comparison "
        "(0 .. N-1: the seed spread)",
    )
    parser.add_argument(
        "--test-cutoffs", type=int, default=3, help="monthly test cutoffs for Online Retail"
    )
    parser.add_argument("--n-jobs", type=int, default=2, help="XGBoost threads")
    parser.add_argument("--out", type=Path, help="also write the markdown tables here")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    missing = [k for k in args.only if not (args.data / FILES[k]).is_file()]
    for key in missing:
        print(f"skipping {key}: {args.data / FILES[key]} not found", file=sys.stderr)
    todo = [k for k in args.only if k not in missing]
    started = time.perf_counter()

    if "online_retail" in todo:
        data = load_online_retail(args.data / FILES["online_retail"])
        horizon = pd.Timedelta("90D")
        cuts = monthly_test_cutoffs(data, horizon, args.test_cutoffs)
        for lookback, population in (
            ("365D", "all customers seen"),
            ("90D", "bought in last 90 days"),
        ):
            pipe = ChurnPipeline(
                model=ChurnModel(validation_cutoffs=1, n_jobs=args.n_jobs),
                horizon="90D",
                label="inactivity",
                n_cutoffs=12,
                cutoff_freq="30D",
                lookback=lookback,
            )
            r, n = event_benchmark(
                "Online Retail", data, cuts, pipe, bgnbd=True, population=population
            )
            rows += [{**x, "design": "time-ordered, 90-day horizon"} for x in r]
            notes += n

    purchase_rows: list[dict[str, Any]] = []
    if "purchases" in todo:
        data = load_online_retail(args.data / FILES["purchases"])
        cuts = monthly_test_cutoffs(data, pd.Timedelta("90D"), args.test_cutoffs)
        purchase_rows, n = purchase_benchmark(data, cuts, args.n_jobs, args.purchase_seeds)
        notes += n

    if "sparkify" in todo:
        data = load_sparkify(args.data / FILES["sparkify"])
        horizon = pd.Timedelta("7D")
        cuts = [(data.time_range[1] - horizon).floor("D")]
        pipe = ChurnPipeline(
            model=ChurnModel(validation_cutoffs=1, n_jobs=args.n_jobs),
            horizon="7D",
            label="inactivity",
            n_cutoffs=14,
            cutoff_freq="1D",
            lookback="30D",
        )
        r, n = event_benchmark(
            "Sparkify (simulated)",
            data,
            cuts,
            pipe,
            bgnbd=False,
            population="active in last 30 days",
        )
        rows += [{**x, "design": "time-ordered, 7-day horizon"} for x in r]
        notes += n

    for key in (k for k in SNAPSHOTS if k in todo):
        label, loader = SNAPSHOTS[key]
        data = loader(args.data / FILES[key])
        r = snapshot_benchmark(label, data, args.seeds, args.n_jobs)
        rows += [{**x, "design": f"stratified random 75/25 split x {args.seeds}"} for x in r]

    frame = pd.DataFrame(rows)
    purchases = pd.DataFrame(purchase_rows)
    if frame.empty and purchases.empty:
        print("no dataset found; pass --data", file=sys.stderr)
        return frame
    parts = []
    if len(purchases):
        parts += [
            "## Online Retail, everyone who bought before the cutoff",
            "",
            purchase_table(purchases),
            "",
        ]
    if len(frame):
        events = frame[frame["test_cutoff"].notna()]
        parts += [
            "## Summary",
            "",
            "Means over test cutoffs (event data) or over random splits (snapshot "
            "tables), ± their standard deviation.",
            "",
            summary_table(frame),
            "",
        ]
        if len(events):
            parts += ["## Every time-ordered test set", "", detail_table(events), ""]
    if notes:
        parts += ["BG/NBD fits:", ""] + [f"* {x}" for x in notes] + [""]
    parts += [f"Total time: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(parts)
    print()
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return pd.concat([frame, purchases], ignore_index=True)


if __name__ == "__main__":
    main()
