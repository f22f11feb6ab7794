"""Population drift at scoring time: is the scored population still the one the model learned?

A fitted :class:`~churnpredict.ChurnPipeline` keeps, in ``reference_``, the distribution of
every feature and of the churn probability over its training rows (plain JSON, saved with the
bundle). At scoring time the scored population is compared with it, feature by feature.

Binning
-------
* **Numeric features and the score**: the training values' deciles (``np.quantile`` at
  0.1, ..., 0.9 with ``method="higher"``, so every edge is a training value, and without
  repeated edges, so a feature with few distinct values gets fewer bins and each frequent
  value starts its own). Bin ``k`` holds the values in ``[edge[k-1], edge[k])``; the first
  and last bins are open-ended, so every value falls in one.
* **Categorical features** (pandas ``category``, text, booleans): one bin per category seen in
  training; values never seen in training share one extra "unseen" bin (expected share 0).
* **Missing values** are one more bin in both cases, so a feature that suddenly goes missing
  drifts.

Population stability index
--------------------------
``PSI = sum_k (a_k - e_k) * ln(a_k / e_k)`` over the bins, with ``e_k`` the training share
and ``a_k`` the scored share; shares below ``EPSILON`` (1e-4) are raised to it, so an empty
bin adds a finite amount. The usual reading (Siddiqi, *Credit Risk Scorecards*, 2006;
Yurdakul, 2018): below 0.1 no real change, 0.1 to 0.25 a moderate shift worth a look
(``notice``), 0.25 and above a major shift (``warn``): check the data feed, then recalibrate
(``churnpredict recalibrate``) or retrain. Both thresholds are parameters.

Drift is information, not failure: nothing here raises on a shifted population.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EPSILON",
    "SCORE_NAME",
    "reference_distribution",
    "population_drift",
    "drift_frame",
    "drift_messages",
    "write_drift",
    "psi",
]

#: PSI thresholds: ``notice`` (moderate shift) and ``warn`` (major shift).
DEFAULT_THRESHOLDS: dict[str, float] = {"notice": 0.1, "warn": 0.25}
#: Smallest share a bin counts with in the PSI (empty bins would make it infinite).
EPSILON = 1e-4
#: Name of the score's row in a drift summary.
SCORE_NAME = "churn_probability"
_BINS = 10
_MAX_CATEGORIES = 200


def psi(expected: Any, actual: Any, epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins.

    Parameters
    ----------
    expected, actual : array-like of float
        Shares per bin (each sums to 1), training first.
    epsilon : float, default :data:`EPSILON`
        Shares below it count as ``epsilon``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6)
    0.0
    >>> round(psi([0.5, 0.5], [0.25, 0.75]), 4)
    0.2747
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(actual, dtype=np.float64), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def _is_categorical(values: pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    return not pd.api.types.is_numeric_dtype(dtype)


def _numeric(values: Any) -> np.ndarray:
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _numeric_reference(values: Any, bins: int) -> dict[str, Any]:
    x = _numeric(values)
    missing = np.isnan(x)
    known = x[~missing]
    n = x.size
    if known.size:
        edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1), method="higher")[1:-1])
        edges = edges[np.isfinite(edges)]
    else:
        edges = np.empty(0)
    counts = np.bincount(np.searchsorted(edges, known, side="right"), minlength=edges.size + 1)
    return {
        "kind": "numeric",
        "edges": [float(v) for v in edges],
        "shares": [float(c / n) if n else 0.0 for c in counts],
        "missing_share": float(missing.mean()) if n else 0.0,
        "n": int(n),
    }


def _text(values: pd.Series) -> pd.Series:
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else str(v))
    )


def _categorical_reference(values: pd.Series) -> dict[str, Any]:
    text = _text(values)
    n = len(text)
    counts = text.value_counts(dropna=True)
    if len(counts) > _MAX_CATEGORIES:  # keep the JSON small: the rest count as "unseen"
        counts = counts.iloc[:_MAX_CATEGORIES]
    counts = counts.sort_index()
    return {
        "kind": "categorical",
        "categories": [str(c) for c in counts.index],
        "shares": [float(c / n) if n else 0.0 for c in counts.to_numpy()],
        "missing_share": float(text.isna().mean()) if n else 0.0,
        "n": int(n),
    }


def reference_distribution(
    X: pd.DataFrame, scores: Any = None, *, bins: int = _BINS
) -> dict[str, Any]:
    """Distributions of the training features (and scores) that drift is measured against.

    Parameters
    ----------
    X : pandas.DataFrame
        Training features, one column per feature.
    scores : array-like of float, optional
        Churn probabilities of the same rows.
    bins : int, default 10
        Quantile bins of numeric features and of the score (fewer when values repeat).

    Returns
    -------
    dict
        Plain JSON: ``{"bins": bins, "features": {name: {...}}, "score": {...} or None}``;
        a numeric entry holds ``edges`` (inner bin edges), ``shares`` (one per bin, of all
        rows), ``missing_share`` and ``n``; a categorical one ``categories`` and their
        ``shares`` instead of edges.
    """
    if not isinstance(X, pd.DataFrame):
        raise ChurnDataError(f"X must be a DataFrame of features, got {type(X).__name__}")
    features = {}
    for name in X.columns:
        col = X[name]
        features[str(name)] = (
            _categorical_reference(col) if _is_categorical(col) else _numeric_reference(col, bins)
        )
    score = None if scores is None else _numeric_reference(scores, bins)
    return {"bins": int(bins), "features": features, "score": score}


def _compare(ref: Mapping[str, Any], values: Any) -> dict[str, Any]:
    """One feature: PSI, missing shares and unseen categories against its reference."""
    if ref["kind"] == "numeric":
        x = _numeric(values)
        n = x.size
        missing = np.isnan(x)
        edges = np.asarray(ref["edges"], dtype=np.float64)
        counts = np.bincount(
            np.searchsorted(edges, x[~missing], side="right"), minlength=edges.size + 1
        )
        actual = np.r_[counts / max(n, 1), missing.mean() if n else 0.0]
        expected = np.r_[np.asarray(ref["shares"], dtype=np.float64), ref["missing_share"]]
        unseen: list[str] = []
        unseen_share = 0.0
    else:
        text = _text(pd.Series(values).reset_index(drop=True))
        n = len(text)
        cats = list(ref["categories"])
        codes = pd.Index(cats, dtype=object).get_indexer(text.to_numpy(dtype=object))
        missing = text.isna().to_numpy()
        new = (codes < 0) & ~missing
        counts = np.bincount(codes[codes >= 0], minlength=len(cats))
        unseen_counts = text[new].value_counts()
        unseen = [str(c) for c in unseen_counts.index[:20]]
        unseen_share = float(new.mean()) if n else 0.0
        actual = np.r_[counts / max(n, 1), unseen_share, missing.mean() if n else 0.0]
        expected = np.r_[np.asarray(ref["shares"], dtype=np.float64), 0.0, ref["missing_share"]]
    return {
        "kind": ref["kind"],
        "psi": psi(expected, actual) if n else math.nan,
        "missing_share_reference": float(ref["missing_share"]),
        "missing_share": float(actual[-1]),
        "unseen_categories": unseen,
        "unseen_share": unseen_share,
        "n": int(n),
    }


def _level(value: float, thresholds: Mapping[str, float]) -> str:
    if value is None or math.isnan(value):
        return "ok"
    if value >= thresholds["warn"]:
        return "warn"
    if value >= thresholds["notice"]:
        return "notice"
    return "ok"


def _thresholds(notice: float, warn: float) -> dict[str, float]:
    for name, value in (("notice", notice), ("warn", warn)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name}={value!r}; expected a PSI threshold >= 0")
    if notice > warn:
        raise ValueError(f"notice={notice!r} is above warn={warn!r}; expected notice <= warn")
    return {"notice": float(notice), "warn": float(warn)}


def population_drift(
    reference: Mapping[str, Any],
    X: pd.DataFrame,
    scores: Any = None,
    *,
    notice: float = DEFAULT_THRESHOLDS["notice"],
    warn: float = DEFAULT_THRESHOLDS["warn"],
) -> dict[str, Any]:
    """Compare a scored population with the training reference.

    Parameters
    ----------
    reference : dict
        :func:`reference_distribution` of the training rows (``ChurnPipeline.reference_``).
    X : pandas.DataFrame
        Features of the scored population.
    scores : array-like of float, optional
        Their churn probabilities.
    notice, warn : float, default 0.1 and 0.25
        PSI thresholds of a moderate and a major shift (see the module notes).

    Returns
    -------
    dict
        Plain JSON, the content of ``<list>.drift.json``: ``thresholds``, ``binning`` (how bins were
        made), ``n_scored``, ``features`` (one entry per feature, highest PSI first: ``name``,
        ``kind``, ``psi``, ``level`` in ``ok``/``notice``/``warn``, ``missing_share`` and
        ``missing_share_reference``, ``unseen_categories`` and ``unseen_share``), ``score``
        (the same for the churn probability, or None) and ``drifted`` (names at ``warn``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    >>> ref = reference_distribution(train)
    >>> now = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(1.0, size=2000)})
    >>> population_drift(ref, now)["drifted"]
    ['b']
    """
    limits = _thresholds(notice, warn)
    if not isinstance(reference, Mapping) or "features" not in reference:
        raise ChurnDataError(
            "reference: not a drift reference; build it with "
            "reference_distribution(X, scores) (ChurnPipeline.reference_)"
        )
    rows = []
    for name, ref in reference["features"].items():
        if name not in X.columns:
            raise ChurnDataError(
                f"X lacks feature {name!r} of the drift reference; pass the features built "
                f"by the same pipeline"
            )
        entry = {"name": name, **_compare(ref, X[name])}
        entry["level"] = _level(entry["psi"], limits)
        rows.append(entry)
    rows.sort(key=lambda r: -(r["psi"] if r["psi"] == r["psi"] else -1.0))
    score = None
    if scores is not None and reference.get("score") is not None:
        score = {"name": SCORE_NAME, **_compare(reference["score"], scores)}
        score["level"] = _level(score["psi"], limits)
    drifted = [r["name"] for r in rows if r["level"] == "warn"]
    if score is not None and score["level"] == "warn":
        drifted.append(SCORE_NAME)
    return _clean(
        {
            "thresholds": limits,
            "binning": (
                f"numeric features and the score: training deciles "
                f"({reference.get('bins', _BINS)} quantile bins, repeated edges merged); "
                f"categorical features: one bin per training category plus one for unseen "
                f"ones; missing values: one bin; shares below {EPSILON:g} count as "
                f"{EPSILON:g}"
            ),
            "n_scored": int(len(X)),
            "features": rows,
            "score": score,
            "drifted": drifted,
        }
    )


def _clean(value: Any) -> Any:
    """NaN to None, so the JSON is standard."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def drift_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """A drift summary as a table: one row per feature (the score first when present).

    Parameters
    ----------
    summary : dict
        From :func:`population_drift` (or read back from ``<list>.drift.json``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``: ``kind``, ``psi``, ``level``, ``missing_share``,
        ``missing_share_reference``, ``unseen_share`` and ``unseen_categories`` (text).
    """
    rows = ([summary["score"]] if summary.get("score") else []) + list(summary["features"])
    frame = pd.DataFrame(
        [{**r, "unseen_categories": ", ".join(r.get("unseen_categories", []))} for r in rows],
        columns=[
            "name",
            "kind",
            "psi",
            "level",
            "missing_share",
            "missing_share_reference",
            "unseen_share",
            "unseen_categories",
        ],
    )
    frame["psi"] = pd.to_numeric(frame["psi"], errors="coerce")
    return frame.set_index("name")


def drift_messages(summary: Mapping[str, Any], *, limit: int = 5) -> list[str]:
    """Short warnings for the features (and score) above the thresholds; empty when none.

    Parameters
    ----------
    summary : dict
        From :func:`population_drift`.
    limit : int, default 5
        At most this many names per line.

    Returns
    -------
    list of str
        At most three lines: features at ``warn``, features at ``notice`` and unseen
        categories, each naming the features with their PSI.
    """
    limits = summary["thresholds"]
    rows = ([summary["score"]] if summary.get("score") else []) + list(summary["features"])

    def names(level: str) -> list[str]:
        return [f"{r['name']} (PSI {r['psi']:.2f})" for r in rows if r["level"] == level]

    out = []
    for level, text in (
        ("warn", f"major drift (PSI >= {limits['warn']:g})"),
        ("notice", f"moderate drift (PSI >= {limits['notice']:g})"),
    ):
        found = names(level)
        if found:
            more = f" and {len(found) - limit} more" if len(found) > limit else ""
            out.append(f"{text} since training: {', '.join(found[:limit])}{more}")
    unseen = [
        f"{r['name']}: {', '.join(r['unseen_categories'][:3])}"
        for r in rows
        if r.get("unseen_categories")
    ]
    if unseen:
        out.append(f"categories not seen in training: {'; '.join(unseen[:limit])}")
    return out


def write_drift(summary: Mapping[str, Any], path: str | os.PathLike, **extra: Any) -> Path:
    """Write a drift summary as JSON, atomically.

    Parameters
    ----------
    summary : dict
        From :func:`population_drift`.
    path : path-like
        E.g. ``<list>.drift.json`` next to the at-risk list
        (:func:`churnpredict._outputs.drift_path`).
    **extra
        More top-level keys (e.g. ``as_of``, ``model_id``), written first.

    Returns
    -------
    pathlib.Path
    """
    from ._atomic import atomic_write

    path = Path(path)
    payload = _clean({**{k: v for k, v in extra.items() if v is not None}, **dict(summary)})
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path
