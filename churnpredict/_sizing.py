"""How big a training run is, and what it keeps when it is too big.

Before the heavy steps a fit counts its cutoffs (:func:`sized_training_cutoffs`), bounds their
rows (:func:`population_bound`) and, once the builders are fitted, its feature columns
(:func:`fit_builders_within_memory`); :func:`check_training_size` refuses work that will not
fit with :class:`~churnpredict._exceptions.ResourceLimitError`. ``train_sample``
(:func:`training_rows`, :func:`auto_sample_share`) keeps every churner and a weighted share of
the others at the earlier cutoffs. See ``docs/performance_end_to_end.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import has_fit_parameter

from ._data import EventData
from ._exceptions import ChurnModelError
from ._fitplan import sample_others, validation_cutoff_count
from ._labels import training_cutoffs
from ._resources import check_memory
from ._windows import parse_window
from .features import FeatureBuilder, FeatureRows, as_rows

__all__ = [
    "AUTO_SAMPLE_FROM",
    "AUTO_SAMPLE_MIN_SHARE",
    "AUTO_SAMPLE_ROWS",
    "EXPLAIN_BLOCK_ROWS",
    "auto_sample_share",
    "check_training_size",
    "cutoff_count",
    "fit_builders_within_memory",
    "float32_features",
    "population_bound",
    "sample_training_rows",
    "sized_training_cutoffs",
    "training_memory",
    "training_rows",
]


#: Rows explained at a time when scoring (reasons cost a few KB a row while they are made).
EXPLAIN_BLOCK_ROWS = 50_000
#: Bytes a training row costs besides its features: labels, index, booster state per row.
ROW_BYTES = 200
#: Bytes per feature value of a training row: the float64 feature frame, the builders'
#: temporaries (at most about as much again) and the booster's binned copy.
FEATURE_BYTES = 17
#: Bytes per event of the indexes the feature families build (keys, flags).
EVENT_INDEX_BYTES = 12
#: The booster's blocks in flight and its working memory.
BOOSTER_BYTES = 768 << 20


def cutoff_count(data: EventData, end: pd.Timestamp, n_cutoffs: int, freq: pd.Timedelta) -> int:
    """How many of ``n_cutoffs`` cutoffs ``freq`` apart, the latest ``end``, can hold customers.

    Cutoffs at or before the first signup hold nobody and are dropped
    (:func:`~churnpredict._labels.training_cutoffs`); counting them first keeps a huge
    ``n_cutoffs`` from being laid out at all. One more than needed is returned, never fewer.
    """
    first = data.customers["signup_at"].min()
    if pd.isna(first) or end <= first:
        return min(int(n_cutoffs), 1)
    return int(min(int(n_cutoffs), (end - first) // freq + 2))


def population_bound(data: EventData, cutoffs: Any) -> int:
    """Rows of the population at ``cutoffs``, at most: customers signed up before each cutoff
    and not churned by then (inactivity populations are smaller), counted without laying
    the rows out."""
    cuts = np.asarray(pd.DatetimeIndex(cutoffs), dtype="datetime64[ns]")
    signup = np.sort(data.customers["signup_at"].to_numpy(dtype="datetime64[ns]"))
    total = np.searchsorted(signup, cuts, side="left").sum()
    if "churned_at" in data.customers:
        churned = data.customers["churned_at"].to_numpy(dtype="datetime64[ns]")
        churned = np.sort(churned[~np.isnat(churned)])
        total -= np.searchsorted(churned, cuts, side="right").sum()
    return int(max(total, 0))


def training_memory(n_rows: int, n_features: int, n_events: int = 0) -> float:
    """Bytes training adds to the loaded data: rows x features, plus the event indexes
    still to be built (``n_events``, 0 when they are); with ``n_features=0``, the labelled
    rows alone (the check made before any row is laid out)."""
    if n_features <= 0:  # before the builders are fitted: the labelled rows alone
        return float(n_rows * ROW_BYTES)
    return (
        n_rows * (ROW_BYTES + n_features * FEATURE_BYTES)
        + n_events * EVENT_INDEX_BYTES
        + BOOSTER_BYTES
    )


def check_training_size(
    n_rows: int, n_features: int, *, n_cutoffs: int, n_events: int = 0, sampled: bool = False
) -> None:
    """Refuse a training run that will not fit in memory, with the way out.

    Raises
    ------
    ResourceLimitError
        Naming the rows, cutoffs and features, the estimate, what is available and what
        would fit: fewer cutoffs, a training sample (``train_sample``), a Dask cluster.
    """
    needed = training_memory(n_rows, n_features, n_events)

    def fix(fits: float) -> str:
        cutoffs = max(1, int(n_cutoffs * fits * 0.9))
        share = max(0.01, round(fits * 0.9, 2))
        sample = (
            "a smaller train_sample"
            if sampled
            else f"a training sample (train_sample={share:g} keeps every churner and that share "
            f"of the others; --train-sample on the command line)"
        )
        return (
            f"use fewer cutoffs (n_cutoffs={cutoffs} would about fit) or fewer feature windows, "
            f"{sample}, or a Dask cluster (--scheduler)"
        )

    check_memory(
        needed,
        what=f"training on {n_rows:,} rows ({n_cutoffs:,} cutoffs)"
        + (f" x {n_features:,} features" if n_features > 0 else ""),
        fix=fix,
    )


def sample_training_rows(
    labels: pd.DataFrame, share: float, *, keep_latest: int = 0, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Every churner and a random ``share`` of the other rows of each cutoff, with weights.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`~churnpredict._labels.label_churn` output, indexed by (customer_id, cutoff).
    share : float
        In (0, 1]: the share of the non-churners kept at each sampled cutoff.
    keep_latest : int, default 0
        The latest cutoffs kept whole (the model's validation fold: early stopping and the
        calibration map then see every row).
    seed : int, default 0
        The same labels, share and seed keep the same rows.

    Returns
    -------
    labels : pandas.DataFrame
        The kept rows, in their order.
    weight : ndarray of float
        How many rows each kept row stands for: 1 for churners and whole cutoffs, and
        (non-churners of the cutoff) / (those kept) for the others, so weighted counts and
        rates are those of all the rows.
    """
    cut = labels.index.get_level_values("cutoff")
    churned = labels["churned"].to_numpy() == 1
    cutoffs = pd.DatetimeIndex(cut.unique()).sort_values()
    sampled = cutoffs[: max(0, len(cutoffs) - int(keep_latest))]
    keep = np.ones(len(labels), dtype=bool)
    weight = np.ones(len(labels), dtype=np.float64)
    rng = np.random.default_rng(seed)
    codes = pd.Index(cutoffs).get_indexer(cut)
    for k, stamp in enumerate(cutoffs):  # a dozen cutoffs, each vectorised over its rows
        if stamp not in sampled:
            continue
        others = np.flatnonzero((codes == k) & ~churned)
        n_keep = max(1, round(share * len(others))) if len(others) else 0
        if n_keep >= len(others):
            continue
        kept, stands_for = sample_others(others, n_keep, rng)
        keep[others] = False
        keep[kept] = True
        weight[kept] = stands_for
    return labels[keep], weight[keep]


#: ``train_sample="auto"`` samples when the sampled cutoffs hold more rows than this...
AUTO_SAMPLE_FROM = 500_000
#: ...keeping about this many of them (every churner and a share of the others)...
AUTO_SAMPLE_ROWS = 400_000
#: ...but never less than this share of the others.
AUTO_SAMPLE_MIN_SHARE = 0.1


def auto_sample_share(labels: pd.DataFrame, keep_latest: int) -> float | None:
    """The share of non-churners ``train_sample="auto"`` keeps; None: every row.

    Big data only: when the cutoffs that would be sampled (all but the ``keep_latest``
    latest) hold more than :data:`AUTO_SAMPLE_FROM` rows, every churner and enough of the
    others to keep about :data:`AUTO_SAMPLE_ROWS` rows, and at least
    :data:`AUTO_SAMPLE_MIN_SHARE` of them. Measured on the generator's data (see
    ``docs/performance_end_to_end.md``): on 200,000 customers the sample's ROC AUC on the
    next horizon is within 0.002 of every row's, in a fraction of the time and memory.
    """
    cut = labels.index.get_level_values("cutoff")
    latest = pd.DatetimeIndex(cut.unique()).sort_values()[-keep_latest:]
    sampled = ~np.asarray(cut.isin(latest))
    n_rows = int(sampled.sum())
    if n_rows <= AUTO_SAMPLE_FROM:
        return None
    churned = int((labels["churned"].to_numpy()[sampled] == 1).sum())
    others = n_rows - churned
    share = max(AUTO_SAMPLE_MIN_SHARE, (AUTO_SAMPLE_ROWS - churned) / max(others, 1))
    return None if share >= 1 else round(share, 3)


def training_rows(
    model: Any, labels: pd.DataFrame, train_sample: float | str | None
) -> tuple[pd.DataFrame, np.ndarray | None, float | None]:
    """The labelled rows a fit builds features for, their weights and the share kept.

    With ``train_sample`` (a share, or "auto": :func:`auto_sample_share`),
    :func:`sample_training_rows` keeps every churner and that share of the others, but the
    model's validation cutoffs (at least the latest) whole. Weights and share are None when
    every row is kept.

    Raises
    ------
    ChurnModelError
        When a share is asked of a model whose ``fit`` takes no ``sample_weight``.
    """
    n_cutoffs = labels.index.get_level_values("cutoff").nunique()
    params = model.get_params(deep=False)
    keep = max(
        1,
        validation_cutoff_count(params["validation_cutoffs"], n_cutoffs)
        if "validation_cutoffs" in params
        else 1,
    )
    weighted = has_fit_parameter(model, "sample_weight")
    share = train_sample
    if share == "auto":
        share = auto_sample_share(labels, keep) if weighted else None
    if share is None or float(share) >= 1:
        return labels, None, None
    if not weighted:
        raise ChurnModelError(
            f"train_sample needs a model whose fit takes sample_weight; "
            f"{type(model).__name__} does not (use ChurnModel, or train_sample=None)"
        )
    kept, weight = sample_training_rows(labels, float(share), keep_latest=keep)
    return kept, weight, float(share)


def sized_training_cutoffs(
    data: EventData, as_of: pd.Timestamp, horizon: pd.Timedelta, n_cutoffs: int, freq: Any
) -> pd.DatetimeIndex:
    """:func:`~churnpredict._labels.training_cutoffs`, counted and sized before any row exists.

    Cutoffs before the first signup are not laid out at all (see :func:`cutoff_count`), and
    the population they would hold is checked against the memory available.

    Raises
    ------
    ResourceLimitError
        When the rows of those cutoffs alone would not fit.
    """
    n = cutoff_count(data, as_of - horizon, n_cutoffs, parse_window(freq))
    cutoffs = training_cutoffs(data, as_of, horizon, n, freq)
    check_training_size(population_bound(data, cutoffs), 0, n_cutoffs=len(cutoffs))
    return cutoffs


def fit_builders_within_memory(
    data: EventData, labels: pd.DataFrame, builders: Sequence[FeatureBuilder], *, sampled: bool
) -> FeatureRows:
    """Fit the builders on the rows of ``labels``, then check that their columns will fit.

    Returns the rows as :class:`~churnpredict.features.FeatureRows`, for
    ``build_features(data, rows, builders, fit=False)``.

    Raises
    ------
    ResourceLimitError
        When rows x columns (and the event indexes still to build) will not fit in memory.
    """
    rows = as_rows(data, labels.index)
    for builder in builders:
        builder.fit(data, rows)
    check_training_size(
        len(rows),
        sum(len(b.get_feature_names_out()) for b in builders),
        n_cutoffs=labels.index.get_level_values("cutoff").nunique(),
        n_events=sum(len(t) for name, t in data.tables.items() if name != "customers"),
        sampled=sampled,
    )
    return rows


def float32_features(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its float64 columns as float32 (other columns as they are).

    What XGBoost reads anyway (it casts every input to float32), in half the memory: the
    booster is the same, split for split.
    """
    return X.astype({c: np.float32 for c in X.columns if X[c].dtype == np.float64})
