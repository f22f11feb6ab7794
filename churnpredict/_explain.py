"""Driver-group totals and plain-language reasons from exact TreeSHAP contributions.

:func:`shap_values` (exact TreeSHAP log-odds contributions, :mod:`churnpredict._treeshap`)
is re-exported here. :func:`explain` carries the contributions into probability points
(:func:`probability_contributions`), sums them into one column per driver group and picks
the facts that raise each customer's risk most; :mod:`churnpredict._reasons` words them with
the features' description templates. :func:`global_importance` and
:func:`to_shap_explanation` summarise or hand the contributions to shap's plots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._labels import MIN_POPULATION
from ._reasons import (
    CAUSE_SHARE,
    MAX_REASON_CHARS,
    REASON_THRESHOLD,
    RELATED_CORRELATION,
    feature_metadata,
    feature_records,
    peer_reference,
    reason_texts,
    reference_percentiles,
    related_facts,
    say_what_is_new,
)
from ._treeshap import MAX_TABLE_BYTES, contributions, shap_values
from .features import DRIVER_GROUPS
from .features._base import CHANGE_KINDS, is_zero_change

# shap_values, reference_percentiles, related_facts and the constants live in treeshap and
# reasons; they stay importable from here.
__all__ = [
    "shap_values",
    "explain",
    "global_importance",
    "to_shap_explanation",
    "probability_contributions",
    "reference_percentiles",
    "related_facts",
    "REASON_THRESHOLD",
    "RELATED_CORRELATION",
    "CAUSE_SHARE",
    "MAX_REASON_CHARS",
    "MAX_TABLE_BYTES",
    "calibration_map",
    "listed_probability",
    "risk_directions",
]


#: A relative change (or ratio) this large comes from a tiny base: it is said as an amount.
RELATIVE_CHANGE_CAP = 10.0
#: Smallest rank correlation of a feature's values and contributions that gives its risky
#: direction (see :func:`explain`).
DIRECTION_CORRELATION = 0.3
#: Rows :func:`risk_directions` measures the correlations on (a random sample of more):
#: the sign of a correlation of 0.3 or more is plain from far fewer.
DIRECTION_ROWS = 50_000


# --------------------------------------------------------------------------- calibration
def _sigmoid(margin: Any) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=np.float64)))


def calibration_map(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Margin -> probability: the model's ``calibrate_margin``, else the logistic link.

    Parameters
    ----------
    model : ChurnModel, LogisticBaseline, xgboost.XGBClassifier or xgboost.Booster

    Returns
    -------
    callable
        ``calibrate(margin) -> probability``, for :func:`probability_contributions`.
    """
    calibrate = getattr(model, "calibrate_margin", None)
    return calibrate if callable(calibrate) else _sigmoid


def _group_matrix(groups: np.ndarray) -> tuple[list[str], np.ndarray]:
    present = [g for g in DRIVER_GROUPS if g in set(groups)]
    onehot = (groups[:, None] == np.asarray(present, dtype=object)[None, :]).astype(np.float64)
    return present, onehot


def _slope(margin: np.ndarray, base: np.ndarray, calibrate: Callable) -> np.ndarray:
    """(p(margin) - p(base)) / (margin - base), the derivative where the two meet."""
    p = np.asarray(calibrate(margin), dtype=np.float64)
    p0 = np.asarray(calibrate(base), dtype=np.float64)
    delta = margin - base
    close = np.abs(delta) < 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (p - p0) / np.where(close, 1.0, delta)
    if close.any():
        h = 1e-5
        up = np.asarray(calibrate(margin[close] + h), dtype=np.float64)
        down = np.asarray(calibrate(margin[close] - h), dtype=np.float64)
        slope[close] = (up - down) / (2 * h)
    return slope


def probability_contributions(
    values: np.ndarray, calibrate: Callable, probability: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-odds contributions carried through the calibration map into probability points.

    Each row's contributions are scaled by one factor, ``(p - p0) / (m - m0)``, where ``m``
    is the row's margin, ``m0`` the base value (expected margin), ``p = calibrate(m)`` and
    ``p0 = calibrate(m0)``. The scaled contributions sum to ``p - p0`` exactly, keep their
    signs (calibration is increasing) and do not depend on any feature order.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_features + 1)
        Output of :func:`shap_values` (last column: base value).
    calibrate : callable
        Margin -> probability.
    probability : ndarray of shape (n_rows,), optional
        The probabilities to end at (e.g. the model's ``predict_proba``, which reads the
        margin from XGBoost in float32); defaults to ``calibrate`` of the contributions' sum.
        The contributions then sum to ``probability - p0`` exactly.

    Returns
    -------
    contributions : ndarray of shape (n_rows, n_features)
    base : ndarray of shape (n_rows,)
        ``p0`` per row.
    probability : ndarray of shape (n_rows,)
        ``p`` per row; ``base + contributions.sum(axis=1)`` equals it.
    """
    p = values.shape[1] - 1
    margin = values.sum(axis=1)
    base_margin = values[:, p]
    base = np.asarray(calibrate(base_margin), dtype=np.float64)
    if probability is None:
        prob = np.asarray(calibrate(margin), dtype=np.float64)
        slope = _slope(margin, base_margin, calibrate)
    else:
        prob = np.asarray(probability, dtype=np.float64).reshape(-1)
        delta = margin - base_margin
        close = np.abs(delta) < 1e-9
        slope = _slope(margin, base_margin, calibrate)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(close, slope, (prob - base) / np.where(close, 1.0, delta))
    contrib = values[:, :p] * slope[:, None]
    return contrib, base, prob


def explain(
    model: Any,
    X: Any,
    feature_info: Any,
    top: int = 3,
    *,
    method: str = "auto",
    threshold: float = REASON_THRESHOLD,
    percentiles: Mapping[str, Sequence[float]] | None = None,
    facts: Mapping[str, str] | None = None,
    currency: str = "",
    cause_share: float | None = CAUSE_SHARE,
    directions: Mapping[str, Sequence[float]] | None = None,
    peers: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Driver-group contributions and the top reasons raising each customer's churn risk.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
        Fitted model; a ChurnModel's ``calibrate_margin`` turns margins into probabilities,
        other models use the logistic link.
    X : pandas.DataFrame
        Feature rows (the output index is ``X.index``): the customers scored now.
    feature_info : pandas.DataFrame or list of FeatureInfo
        As returned by :func:`churnpredict.describe_features` (indexed by feature name with
        columns ``group`` and ``description`` and optionally the other FeatureInfo fields).
    top : int, default 3
        Number of reasons per row.
    method : {"auto", "fast", "xgboost"}, default "auto"
        Passed to :func:`shap_values`.
    threshold : float, default 0.01
        A reason must raise the probability by at least this many probability points
        (0.01 = one point); smaller facts are left out.
    percentiles : dict of str -> list of float, optional
        Training percentiles per feature (:func:`reference_percentiles`): the medians that
        tell a new customer's low values, and the peers of a score of fewer than
        :data:`~churnpredict._labels.MIN_POPULATION` rows. Larger scores compare each
        customer with the rows of ``X`` ("fewer than 90% of customers").
    facts : dict of str -> str, optional
        Fact id per feature (:func:`related_facts`); defaults to the declared fact keys.
    currency : str, default ""
        Symbol written before amounts ("amount 1,234" without one).
    cause_share : float or None, default 0.3
        A cause (failed payments, tickets, a price change, an onboarding that never took;
        :attr:`FeatureInfo.role`) that raises the probability by at least this share of the
        activity decline's weight is named before the decline. None orders by weight only.
    directions : dict of str -> [direction, median], optional
        The risky side of each feature (:func:`risk_directions`; a fitted pipeline passes
        its ``reason_directions_``). By default measured on ``X`` when it holds at least
        :data:`~churnpredict._labels.MIN_POPULATION` rows, else not applied.
    peers : dict of str -> ndarray, optional
        Sorted values each customer is compared with
        (:func:`~churnpredict._reasons.population_peers`): what a score explained in blocks
        of rows passes to each block. By default ``X`` itself (or ``percentiles``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X`` with columns ``reason_1..top``, ``reason_group_1..top``,
        ``reason_weight_1..top``, ``reason_feature_1..top`` (the feature whose sentence is
        shown) and one ``shap_<group>`` column per driver group present (sum of the group's
        log-odds contributions).

    Notes
    -----
    Contributions are first carried into probability points with
    :func:`probability_contributions` (they then add up to the customer's probability minus
    the base probability). Features stating one fact (``facts``) are summed into one line,
    worded by the member that raises the risk most; a fact is a reason when its sum is at
    least ``threshold`` and its wording says something: a meaningless missing value, a zero
    change, a relative change of ten-fold or more (a tiny base; its amount says it) and,
    with enough rows to tell, a value on the side of the scored customers' median that the
    model reads as lower risk (a rise in spend) never do. For a customer younger than a
    feature's ``window_days``, a positive contribution of a low value of that feature (at
    most the training median, or missing) counts as tenure: the window reaches before
    signup, so a low count says "new", not "disengaged"; the tenure line then names it
    ("customer for 2 weeks, no activity recorded yet"). Causes come first: a fact worded by
    a cause feature (tenure only for such a young customer) whose weight is at least
    ``cause_share`` of the summed weight of the activity facts (role ``symptom``) leads the
    decline it explains; the rest follow by weight. ``reason_weight_k`` is the fact's own
    summed weight, so it need not fall along the list. Rows with fewer reasons get empty
    strings and NaN weights in the remaining slots. See ``docs/reasons.md``.
    """
    # steps: contributions, facts, tenure move, pick, wording (the functions below)
    top, threshold = _checked_options(top, threshold, cause_share)
    parts = _contributions(model, X, feature_info, method)
    records, numeric, contrib = parts.records, parts.numeric, parts.contrib
    if peers is None:
        peers = peer_reference(numeric, records, percentiles, categorical=parts.categories)
    fid, n_facts = _facts(records, facts)
    if directions is None and len(numeric) >= MIN_POPULATION:  # enough customers to tell
        directions = _directions(numeric, contrib, records, parts.categories)
    silent = _silent(numeric, records, directions or {})
    moved = _moved_to_tenure(numeric, contrib, records, percentiles)
    picked = _pick(parts, fid, n_facts, silent, moved, threshold, cause_share, top)
    texts = _wording(parts, picked, moved, silent, peers, currency)
    return _reason_frame(parts, picked, texts, top)


class _Contributions(NamedTuple):
    """What :func:`explain` knows of the rows before it picks reasons."""

    values: np.ndarray  # log-odds contributions, base value last (shap_values)
    prepared: Any  # the model's inputs (treeshap.PreparedInputs)
    records: Sequence[Any]  # one FeatureInfo-like record per feature
    numeric: np.ndarray  # the inputs as float64, (n_rows, n_features)
    contrib: np.ndarray  # contributions in probability points, (n_rows, n_features)

    @property
    def categories(self) -> Any:
        """Training categories of the categorical features, by position."""
        return self.prepared.categories


class _Picked(NamedTuple):
    """The reasons picked per row, ``k`` slots each (:func:`_slots`)."""

    order: np.ndarray  # the fact in each slot
    valid: np.ndarray  # the slot holds a reason
    idx: np.ndarray  # the feature wording it (-1: none)
    weights: np.ndarray  # its summed weight (NaN: none)
    tenure_fact: int  # the fact of the tenure feature (-1: none)


def _contributions(model: Any, X: Any, feature_info: Any, method: str) -> _Contributions:
    """Step 1: exact TreeSHAP contributions, carried into probability points.

    :func:`shap_values` (through :func:`~churnpredict._treeshap.contributions`), the feature
    records in the model's order and :func:`probability_contributions` through the model's
    calibration map.
    """
    values, prepared = contributions(model, X, method)
    records = feature_records(feature_info, prepared.names)
    contrib, _, _ = probability_contributions(values, calibration_map(model))
    numeric = prepared.matrix.astype(np.float64)
    return _Contributions(values, prepared, records, numeric, contrib)


def _facts(records: Sequence[Any], facts: Mapping[str, str] | None) -> tuple[np.ndarray, int]:
    """Step 2: the fact each feature states, as ids in first-seen order, and how many.

    Features stating one fact (``facts``, else each record's ``fact_key``) are summed into
    one reason line.
    """
    fact_of = [str((facts or {}).get(r.name, r.fact_key)) for r in records]
    fact_names = list(dict.fromkeys(fact_of))
    fid = np.array([fact_names.index(f) for f in fact_of], dtype=np.int64)
    return fid, len(fact_names)


def _pick(
    parts: _Contributions,
    fid: np.ndarray,
    n_facts: int,
    silent: np.ndarray,
    moved: np.ndarray,
    threshold: float,
    cause_share: float | None,
    top: int,
) -> _Picked:
    """Step 4: the facts that become reasons and their order, ``min(top, n_facts)`` per row.

    A fact is a reason when its summed weight (:func:`_fact_weights`, moved contributions in
    the tenure fact) reaches ``threshold`` and a member can word it; causes that reach
    ``cause_share`` of the decline's weight come first (:func:`_causes`), the rest by weight,
    then :func:`_slots` merges the "nothing in the last W" facts of one driver group.
    """
    records, numeric = parts.records, parts.numeric
    tenure_cols = [j for j, r in enumerate(records) if r.is_tenure]
    tenure_fact = int(fid[tenure_cols[0]]) if tenure_cols else -1
    totals, lead = _fact_weights(parts.contrib, fid, n_facts, silent, moved, tenure_cols)
    groups = np.array([r.group for r in records], dtype=object)
    fact_group = np.array([groups[np.flatnonzero(fid == f)[0]] for f in range(n_facts)])
    valid_fact = (lead >= 0) & (totals >= max(float(threshold), 1e-12))
    score = np.where(valid_fact, totals, -np.inf)
    if cause_share is not None:
        first = _causes(totals, lead, fid, records, fact_group, moved.any(axis=1), cause_share)
        score = np.where(first & valid_fact, score + 2.0, score)  # weights are at most 1
    order, valid, idx, weights = _slots(score, totals, lead, numeric, records, min(top, n_facts))
    return _Picked(order, valid, idx, weights, tenure_fact)


def _wording(
    parts: _Contributions,
    picked: _Picked,
    moved: np.ndarray,
    silent: np.ndarray,
    peers: Mapping[str, np.ndarray],
    currency: str,
) -> np.ndarray:
    """Step 5: the sentence of every picked reason, (n_rows, k).

    :func:`~churnpredict._reasons.reason_texts` words each with its feature's template
    against ``peers``; the tenure line of a young customer says what is new
    (:func:`~churnpredict._reasons.say_what_is_new`).
    """
    records, numeric, source = parts.records, parts.numeric, parts.prepared.frame
    texts = reason_texts(
        picked.idx,
        records,
        numeric,
        source=source,
        categorical=parts.categories,
        peers=peers,
        currency=currency,
    )
    if picked.tenure_fact >= 0:
        say_what_is_new(
            texts,
            picked.valid & (picked.order == picked.tenure_fact) & moved.any(axis=1)[:, None],
            parts.contrib,
            moved,
            silent,
            records,
            source,
            numeric,
            currency,
        )
    return texts


def _reason_frame(
    parts: _Contributions, picked: _Picked, texts: np.ndarray, top: int
) -> pd.DataFrame:
    """The output of :func:`explain`: ``top`` reason slots and one ``shap_<group>`` column
    per driver group present (summed log-odds contributions), indexed like ``X``."""
    n, p = parts.numeric.shape
    k = picked.idx.shape[1]
    valid, idx = picked.valid, np.maximum(picked.idx, 0)
    groups = np.array([r.group for r in parts.records], dtype=object)
    names = np.asarray(parts.prepared.names, dtype=object)
    columns: dict[str, Any] = {}
    for name, block, empty in (
        ("reason", texts, ""),
        ("reason_group", np.where(valid, groups[idx], ""), ""),
        ("reason_weight", picked.weights, np.nan),
        ("reason_feature", np.where(valid, names[idx], ""), ""),
    ):
        for s in range(top):
            columns[f"{name}_{s + 1}"] = (
                block[:, s]
                if s < k
                else np.full(n, empty, dtype=object if empty == "" else np.float64)
            )
    present, group_onehot = _group_matrix(groups)
    totals_g = parts.values[:, :p] @ group_onehot
    for g, name in enumerate(present):
        columns[f"shap_{name}"] = totals_g[:, g]
    return pd.DataFrame(columns, index=parts.prepared.index)


def _slots(
    score: np.ndarray,
    totals: np.ndarray,
    lead: np.ndarray,
    numeric: np.ndarray,
    records: Sequence[Any],
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first ``k`` reasons of every row: fact, valid, wording feature, weight.

    Facts go in ``score`` order (infinite: no reason). One fact once: every fact worded by a
    windowed quantity at zero (or missing, which then means none: a missing value makes a
    reason only with a ``description_if_missing``) says "nothing in the last W" ("no order
    in the last 180 days", "0 activity events in the last 7 days"); a customer hears it
    once per driver group (no activity and no payment are two facts), in the place of the
    first, worded by the longest window, with the summed weight.
    """
    n, n_facts = score.shape
    ranked = np.argsort(-score, axis=1, kind="stable")
    valid = np.isfinite(np.take_along_axis(score, ranked, axis=1))
    said = np.take_along_axis(lead, ranked, axis=1)
    window = np.array([np.nan if r.window_days is None else r.window_days for r in records])
    rows = np.arange(n)[:, None]
    value = numeric[rows, np.maximum(said, 0)]
    with np.errstate(invalid="ignore"):
        # zero, or missing where that means none ("no order in the last 180 days")
        nothing = (
            valid
            & (said >= 0)
            & np.isfinite(window[np.maximum(said, 0)])
            & ((value == 0) | np.isnan(value))
        )
    weight = np.take_along_axis(totals, ranked, axis=1)
    group = np.array([r.group for r in records], dtype=object)[np.maximum(said, 0)]
    for name in np.unique(group[nothing]):  # one subject (driver group) at a time
        same = nothing & (group == name)
        first = np.argmax(same, axis=1)
        has = np.flatnonzero(same.any(axis=1))
        valid &= ~(same & (np.arange(n_facts)[None, :] != first[:, None]))
        # the longest window words the one line, which carries the summed weight
        longest = np.argmax(np.where(same, window[np.maximum(said, 0)], -np.inf), axis=1)
        merged = np.where(same, weight, 0.0).sum(axis=1)
        said[has, first[has]] = said[has, longest[has]]
        weight[has, first[has]] = merged[has]
    # the first k valid places
    keep = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(valid, keep, axis=1)
    order = np.take_along_axis(ranked, keep, axis=1)
    idx = np.where(valid, np.take_along_axis(said, keep, axis=1), -1)
    weights = np.where(valid, np.take_along_axis(weight, keep, axis=1), np.nan)
    return order, valid, idx, weights


def _checked_options(top: Any, threshold: Any, cause_share: Any) -> tuple[int, float]:
    """``top`` and ``threshold`` checked (``cause_share`` too); ValueError naming the bad one."""
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top={top!r}; expected a positive integer")
    for name, value, example in (
        ("threshold", threshold, "0.01 for one point"),
        ("cause_share", 0.0 if cause_share is None else cause_share, "0.3, or None"),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.number))
            or not 0.0 <= float(value) < 1.0
        ):
            raise ValueError(f"{name}={value!r}; expected a number in [0, 1), e.g. {example}")
    return int(top), float(threshold)


def _silent(
    numeric: np.ndarray,
    records: Sequence[Any],
    directions: Mapping[str, Sequence[float]],
) -> np.ndarray:
    """Where a value makes no reason, (n_rows, n_features).

    A missing value that means nothing; a change that rounds to zero; a relative change of
    ten-fold or more (a tiny base: the amount says it better); and a value on the side of
    the median that the model reads as lower risk (``directions``, see
    :func:`risk_directions`): a customer whose spend rose is never told "spend +40%" as a
    risk, nor one likelier to order than most "less likely to order than 40% of customers".
    """
    missing = np.isnan(numeric)
    silent = missing & np.array([r.description_if_missing is None for r in records])[None, :]
    for j, r in enumerate(records):
        if r.kind in CHANGE_KINDS:
            silent[:, j] |= ~missing[:, j] & is_zero_change(numeric[:, j], r.kind)
        if r.kind in ("share", "share_change"):
            with np.errstate(invalid="ignore"):
                silent[:, j] |= np.abs(numeric[:, j]) >= RELATIVE_CHANGE_CAP
        if r.name in directions and not r.is_tenure:  # tenure words a new customer's history
            direction, median = directions[r.name]
            with np.errstate(invalid="ignore"):
                silent[:, j] |= direction * (numeric[:, j] - median) < 0
    return silent


def risk_directions(
    model: Any,
    X: Any,
    feature_info: Any,
    *,
    method: str = "auto",
    max_rows: int | None = DIRECTION_ROWS,
) -> dict[str, list[float]]:
    """The side of each feature that raises the risk, measured on ``X``.

    For every numeric feature (not flags, categories or categoricals): the sign of the rank
    correlation of its values and its contributions over the rows (+1: higher values raise
    the risk, -1: they lower it; left out when the correlation is under
    :data:`DIRECTION_CORRELATION` in size) and the median of its values. A fitted pipeline
    keeps those of its latest training cutoff (``reason_directions_``), so the same customer
    reads the same reasons wherever and with whomever they are scored.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
    X : pandas.DataFrame
        Rows to measure on (e.g. the latest training cutoff's).
    feature_info : pandas.DataFrame or list of FeatureInfo
    method : {"auto", "fast", "xgboost"}, default "auto"
    max_rows : int or None, default :data:`DIRECTION_ROWS`
        The correlations are measured on a random sample of this many rows of a bigger
        ``X`` (the same rows every time); the medians on every row. None: every row.

    Returns
    -------
    dict of str -> [direction, median]
    """
    if max_rows is None or len(X) <= max_rows:
        parts = _contributions(model, X, feature_info, method)
        return _directions(parts.numeric, parts.contrib, parts.records, parts.categories)
    rows = np.sort(np.random.default_rng(0).choice(len(X), size=int(max_rows), replace=False))
    parts = _contributions(model, X.iloc[rows], feature_info, method)
    out = _directions(parts.numeric, parts.contrib, parts.records, parts.categories)
    for name, (direction, _) in out.items():  # a sign needs a sample; a median every row
        values = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        # as the model reads them (its float32 matrix), as the median of every row would be
        values = values.astype(parts.prepared.matrix.dtype).astype(np.float64)
        out[name] = [direction, float(np.median(values[~np.isnan(values)]))]
    return out


def _directions(
    numeric: np.ndarray, contrib: np.ndarray, records: Sequence[Any], categorical: Any
) -> dict[str, list[float]]:
    """:func:`risk_directions` of contributions already computed."""
    out = {}
    for j, r in enumerate(records):
        known = ~np.isnan(numeric[:, j])
        if r.kind in ("flag", "category") or j in categorical or known.sum() < 3:
            continue
        direction = _risk_direction(numeric[:, j], contrib[:, j])
        if direction:
            out[r.name] = [float(direction), float(np.median(numeric[known, j]))]
    return out


def _risk_direction(values: np.ndarray, contrib: np.ndarray) -> int:
    """+1 when higher values raise the risk over these rows, -1 when they lower it, else 0.

    The sign of the rank correlation of values and contributions, when it is at least
    :data:`DIRECTION_CORRELATION` in size.
    """
    known = ~np.isnan(values)
    if known.sum() < 3:
        return 0
    ranks = pd.DataFrame({"v": values[known], "c": contrib[known]}).rank().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.corrcoef(ranks[:, 0], ranks[:, 1])[0, 1]
    if not np.isfinite(rho) or abs(rho) < DIRECTION_CORRELATION:
        return 0
    return 1 if rho > 0 else -1


def _moved_to_tenure(
    numeric: np.ndarray,
    contrib: np.ndarray,
    records: Sequence[Any],
    percentiles: Mapping[str, Sequence[float]] | None,
) -> np.ndarray:
    """Step 3, the tenure move: contributions a young customer's short history makes.

    A customer younger than a feature's window (``window_days``) has a window reaching
    before signup: a short history can only make a value look low (few events, little
    paid, no activity yet), so only low (at most the training median) or missing values
    raising the risk are moved. Nothing moves without a tenure feature.
    """
    n, p = numeric.shape
    tenure_cols = [j for j, r in enumerate(records) if r.is_tenure]
    if not tenure_cols:
        return np.zeros((n, p), dtype=bool)
    age = numeric[:, tenure_cols[0]]
    windows = np.array(
        [np.nan if r.window_days is None or r.group == "tenure" else r.window_days for r in records]
    )
    given = percentiles or {}
    medians = np.array(
        [np.inf if given.get(r.name) is None else float(given[r.name][50]) for r in records]
    )
    with np.errstate(invalid="ignore"):
        low = np.isnan(numeric) | (numeric <= medians[None, :])
        return (age[:, None] < windows[None, :]) & (contrib > 0) & low


def _fact_weights(
    contrib: np.ndarray,
    fid: np.ndarray,
    n_facts: int,
    silent: np.ndarray,
    moved: np.ndarray,
    tenure_cols: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Each fact's summed weight and the feature that words it, (n_rows, n_facts) each.

    Moved contributions count in the tenure fact. The wording member is the largest
    positive, speakable, unmoved one (-1: none); the tenure fact of a young customer is
    worded by the tenure feature, which :func:`say_what_is_new` completes.
    """
    n, p = contrib.shape
    onehot = np.zeros((p, n_facts))
    onehot[np.arange(p), fid] = 1.0
    totals = np.where(moved, 0.0, contrib) @ onehot
    tenure_fact = int(fid[tenure_cols[0]]) if tenure_cols else -1
    if tenure_fact >= 0:
        totals[:, tenure_fact] += np.where(moved, contrib, 0.0).sum(axis=1)
    lead = np.full((n, n_facts), -1, dtype=np.int64)
    speak = np.where(silent | moved, -np.inf, contrib)
    for f in range(n_facts):
        members = np.flatnonzero(fid == f)
        sub = speak[:, members]
        pick = np.argmax(sub, axis=1)
        lead[:, f] = np.where(sub[np.arange(n), pick] > 0, members[pick], -1)
        if f == tenure_fact:
            t = tenure_cols[0]
            lead[:, f] = np.where(moved.any(axis=1) & ~silent[:, t], t, lead[:, f])
    return totals, lead


def _causes(
    totals: np.ndarray,
    lead: np.ndarray,
    fid: np.ndarray,
    records: Sequence[Any],
    fact_group: np.ndarray,
    young: np.ndarray,
    cause_share: float,
) -> np.ndarray:
    """Facts that lead as the cause of the customer's activity decline, (n_rows, n_facts).

    A fact is a cause for a customer when the feature wording it has role ``cause`` (a
    tenure fact only for a ``young`` customer, one with contributions moved to tenure) and
    its weight is at least ``cause_share`` of the summed positive weight of the symptom
    facts (all members of role ``symptom``: the activity decline).
    """
    roles = np.array([r.story_role for r in records] + ["context"], dtype=object)
    said = roles[lead]  # lead -1 reads the last entry: no role
    symptom = np.array(
        [
            all(roles[j] == "symptom" for j in np.flatnonzero(fid == f))
            for f in range(len(fact_group))
        ]
    )
    decline = np.where(symptom[None, :], np.clip(totals, 0.0, None), 0.0).sum(axis=1)
    cause = (said == "cause") & ((fact_group != "tenure")[None, :] | young[:, None])
    return cause & (totals >= cause_share * decline[:, None])


def global_importance(
    model: Any, X: Any, feature_info: Any = None, *, by: str = "feature", method: str = "auto"
) -> pd.DataFrame:
    """Mean absolute SHAP contribution per feature or per driver group.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
    X : pandas.DataFrame or ndarray
        Rows to average over (e.g. the scored population).
    feature_info : pandas.DataFrame or list of FeatureInfo, optional
        Feature metadata; needed for ``by="group"`` and adds a ``group`` column otherwise.
    by : {"feature", "group"}, default "feature"
        "group" averages the absolute *group total* per row (contributions of a group's
        features are summed before taking the absolute value).
    method : {"auto", "fast", "xgboost"}, default "auto"

    Returns
    -------
    pandas.DataFrame
        Indexed by feature (or group), sorted by ``mean_abs_shap`` descending, with columns
        ``mean_abs_shap`` (log-odds) and ``share`` (of the column total), plus ``group`` for
        features when ``feature_info`` is given.
    """
    if by not in ("feature", "group"):
        raise ValueError(f"by={by!r}; expected 'feature' or 'group'")
    if by == "group" and feature_info is None:
        raise ValueError("by='group' needs feature_info (see describe_features)")
    values, prepared = contributions(model, X, method)
    p = prepared.matrix.shape[1]
    phi = values[:, :p]
    info = None if feature_info is None else feature_metadata(feature_info, prepared.names)
    if by == "group":
        present, onehot = _group_matrix(info["group"].astype(str).to_numpy(dtype=object))
        importance = np.abs(phi @ onehot).mean(axis=0) if len(phi) else np.zeros(len(present))
        out = pd.DataFrame({"mean_abs_shap": importance}, index=pd.Index(present, name="group"))
    else:
        importance = np.abs(phi).mean(axis=0) if len(phi) else np.zeros(p)
        out = pd.DataFrame(
            {"mean_abs_shap": importance}, index=pd.Index(prepared.names, name="feature")
        )
        if info is not None:
            out.insert(0, "group", info["group"].astype(str).to_numpy())
    total = out["mean_abs_shap"].sum()
    out["share"] = out["mean_abs_shap"] / total if total > 0 else 0.0
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable")


def listed_probability(model: Any, X: Any) -> np.ndarray | None:
    """The churn probability the model reports for ``X`` (``predict_proba``), when it has one."""
    predict = getattr(model, "predict_proba", None)
    if not callable(predict):
        return None
    try:
        return np.asarray(predict(X), dtype=np.float64)[:, 1]
    except Exception:  # a model that cannot predict on these inputs: use the calibration map
        return None


def to_shap_explanation(
    model: Any, X: Any, *, method: str = "auto", space: str = "log-odds"
) -> Any:
    """Contributions as a :class:`shap.Explanation`, so shap's plots work.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
    X : pandas.DataFrame or ndarray
    method : {"auto", "fast", "xgboost"}, default "auto"
    space : {"log-odds", "probability"}, default "log-odds"
        "log-odds": the exact TreeSHAP contributions to the uncalibrated margin.
        "probability": the same contributions carried through the model's calibration
        (:func:`probability_contributions`): each row's contributions are scaled by
        ``(p - p0) / (m - m0)``, so ``base_values + values.sum(1)`` is exactly the calibrated
        churn probability the list shows, and ``base_values`` is the calibrated base value.

    Returns
    -------
    shap.Explanation
        ``values`` (n_rows, n_features), ``base_values`` (n_rows,), ``data`` the numeric model
        inputs (categoricals as training codes), ``display_data`` the original values, and
        ``feature_names``.
    """
    import shap

    if space not in ("log-odds", "probability"):
        raise ValueError(f"space={space!r}; expected 'log-odds' or 'probability'")
    values, prepared = contributions(model, X, method)
    p = prepared.matrix.shape[1]
    display = None
    if prepared.frame is not None:
        display = prepared.frame.to_numpy(dtype=object)
    if space == "probability":
        contrib, base, _ = probability_contributions(
            values, calibration_map(model), listed_probability(model, X)
        )
    else:
        contrib, base = values[:, :p], values[:, p]
    return shap.Explanation(
        values=contrib,
        base_values=base,
        data=prepared.matrix.astype(np.float64),
        display_data=display,
        feature_names=list(prepared.names),
    )
