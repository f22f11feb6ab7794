"""Ranked at-risk lists for retention teams, written atomically to CSV, Parquet or Excel."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ChurnDataError
from .features._base import DRIVER_GROUPS, parse_window
from .io import OUTPUT_SUFFIXES, write_frame

__all__ = [
    "at_risk_list",
    "write_at_risk",
    "DEFAULT_ACTIONS",
    "DEFAULT_TIER_SHARES",
    "GROUP_MEANINGS",
    "AT_RISK_COLUMNS",
]

#: Suggested action per driver group (the top reason's group picks the action).
DEFAULT_ACTIONS: dict[str, str] = {
    "support": "proactive service call",
    "payments": "card update and dunning follow-up",
    "engagement": "re-engagement campaign / product training",
    "monetary": "loyalty offer / price review",
    "tenure": "onboarding help",
    "profile": "account review",
}

#: What each driver group covers, for the legend sheet.
GROUP_MEANINGS: dict[str, str] = {
    "engagement": "usage: recency, frequency and trend of activity",
    "support": "support tickets: volume, time to resolve, satisfaction",
    "payments": "payment failures and dunning (risk of involuntary churn)",
    "monetary": "spend, MRR and price changes",
    "tenure": "age of the relationship and onboarding",
    "profile": "static attributes such as plan or region",
}

#: Default tiers: share of the scored customers (highest probability first) in each tier.
DEFAULT_TIER_SHARES: dict[str, float] = {"high": 0.10, "medium": 0.20, "low": 0.70}

_N_REASONS = 3
AT_RISK_COLUMNS: tuple[str, ...] = (
    "rank", "customer_id", "churn_probability", "risk_tier", "mrr", "revenue_at_risk",
    *(f"reason_{k}" for k in range(1, _N_REASONS + 1)),
    *(f"reason_group_{k}" for k in range(1, _N_REASONS + 1)),
    "suggested_action",
)
_DAYS_PER_MONTH = 365.25 / 12


def _customer_ids(scores: pd.DataFrame) -> pd.Series:
    """Customer ids of the score rows (index level or column ``customer_id``), one per row."""
    if "customer_id" in scores.columns:
        ids = scores["customer_id"]
    elif "customer_id" in (scores.index.names or []):
        ids = pd.Series(scores.index.get_level_values("customer_id"), index=scores.index)
    elif scores.index.nlevels == 1:
        ids = pd.Series(scores.index, index=scores.index)
    else:
        raise ChurnDataError(
            f"scores: index levels {list(scores.index.names)} hold no 'customer_id'; index the "
            f"scores by customer_id (the ChurnPipeline.score output) or add that column"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise ChurnDataError(
            f"scores: column customer_id repeats {dup.nunique()} customer(s), e.g. "
            f"{dup.unique()[:5].tolist()}; score one row per customer (a single as-of date)"
        )
    return ids.reset_index(drop=True)


def _tiers(prob: np.ndarray, tiers: Mapping[str, float] | None) -> np.ndarray:
    """Tier name per row: quantile shares by default, else probability thresholds."""
    n = prob.size
    out = np.empty(n, dtype=object)
    if tiers is None:
        # thresholds at the probability of the last customer inside each cumulative share;
        # ties at a boundary share the higher tier
        ordered = np.sort(prob)[::-1]
        names = list(DEFAULT_TIER_SHARES)
        out[:] = names[-1]
        cum = 0.0
        thresholds = []
        for name in names[:-1]:
            cum += DEFAULT_TIER_SHARES[name]
            count = int(np.ceil(cum * n - 1e-9))
            thresholds.append((name, ordered[count - 1] if count > 0 else np.inf))
        for name, threshold in reversed(thresholds):
            out[prob >= threshold] = name
        return out
    if not isinstance(tiers, Mapping) or not tiers:
        raise ValueError(
            f"tiers={tiers!r}; expected None (quantile tiers) or a dict of tier name -> "
            f"minimum churn probability, e.g. {{'high': 0.5, 'medium': 0.2, 'low': 0.0}}"
        )
    items = []
    for name, threshold in tiers.items():
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or \
                not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(
                f"tiers[{name!r}]={threshold!r}; thresholds are minimum churn probabilities "
                f"in [0, 1]"
            )
        items.append((str(name), float(threshold)))
    if min(t for _, t in items) > 0.0:
        if "low" in {name for name, _ in items}:
            raise ValueError(
                "tiers: every threshold is above 0 and 'low' is taken; add a tier with "
                "threshold 0.0 for the customers below all others"
            )
        items.append(("low", 0.0))
    items.sort(key=lambda item: item[1])
    out[:] = items[0][0]
    for name, threshold in items[1:]:
        out[prob >= threshold] = name
    return out


def at_risk_list(
    scores: pd.DataFrame,
    *,
    horizon: Any = None,
    rank_by: str = "probability",
    top: int | None = None,
    min_probability: float | None = None,
    tiers: Mapping[str, float] | None = None,
    actions: Mapping[str, str] | None = None,
    customers: pd.DataFrame | None = None,
    extra_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Ranked list of the customers most likely to churn, with revenue at risk and actions.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per customer, indexed by ``customer_id`` (or with that column), holding
        ``churn_probability`` and ``mrr`` (NaN when unknown) and optionally ``reason_1..3`` and
        ``reason_group_1..3``: the output of ``ChurnPipeline.score``.
    horizon : duration, optional
        The prediction horizon; ``revenue_at_risk = churn_probability * mrr * months`` with
        ``months = horizon days / (365.25 / 12)``. By default the horizon the scores were
        made for (``scores.attrs["horizon"]``, set by ``ChurnPipeline.score``), else 28 days.
        A horizon that contradicts ``scores.attrs["horizon"]`` is an error: the
        probabilities are for the model's horizon only.
    rank_by : {"probability", "revenue"}, default "probability"
        Order by churn probability (ties: higher revenue at risk first) or by revenue at risk
        (unknown revenue last; ties: higher probability first). Remaining ties go by
        customer id.
    top : int, optional
        Keep only the first ``top`` customers after ranking.
    min_probability : float, optional
        Keep only customers with ``churn_probability >= min_probability``.
    tiers : dict of str -> float, optional
        Tier name -> minimum churn probability; a customer gets the highest tier whose
        threshold it reaches, and a ``"low"`` tier at 0 is added when no threshold is 0.
        By default tiers are shares of all scored customers: ``"high"`` the top 10% by
        probability, ``"medium"`` the next 20%, ``"low"`` the rest (customers tied at a
        boundary get the higher tier). Tiers are assigned before ``top`` and
        ``min_probability`` filter the list.
    actions : dict of str -> str, optional
        Driver group -> suggested action, overriding :data:`DEFAULT_ACTIONS` per group.
    customers : pandas.DataFrame, optional
        Customer attributes indexed by ``customer_id`` (or with that column), the source of
        ``extra_columns`` not found in ``scores``.
    extra_columns : sequence of str, default ()
        Columns to carry into the list (e.g. ``"plan"``, ``"account_manager"``), appended
        after the standard columns.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AT_RISK_COLUMNS` (``rank, customer_id, churn_probability, risk_tier,
        mrr, revenue_at_risk, reason_1..3, reason_group_1..3, suggested_action``) then the
        extra columns; ``rank`` starts at 1. ``suggested_action`` comes from the top reason's
        group (empty when a customer has no reason). ``attrs`` hold the ``horizon`` used
        (e.g. ``"28D"``) and, when ``scores.attrs`` has them, ``as_of`` and ``model_id``;
        :func:`write_at_risk` keeps them in the file.

    Raises
    ------
    ChurnDataError
        When ``scores`` lacks a needed column, repeats customers or holds probabilities
        outside [0, 1], an extra column is found nowhere, or ``horizon`` contradicts
        ``scores.attrs["horizon"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame(
    ...     {"churn_probability": [0.2, 0.7, 0.05, 0.4], "mrr": [50.0, 100.0, 80.0, None]},
    ...     index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    >>> at_risk_list(scores)[["rank", "customer_id", "risk_tier", "revenue_at_risk"]].round(2)
       rank customer_id risk_tier  revenue_at_risk
    0     1           b      high            64.39
    1     2           d    medium              NaN
    2     3           a       low             9.20
    3     4           c       low             3.68
    """
    if not isinstance(scores, pd.DataFrame):
        raise ChurnDataError(f"scores must be a DataFrame (ChurnPipeline.score output), "
                             f"got {type(scores).__name__}")
    missing = [c for c in ("churn_probability", "mrr") if c not in scores.columns]
    if missing:
        raise ChurnDataError(
            f"scores lacks column(s) {missing}; pass the ChurnPipeline.score output (mrr may "
            f"be NaN when unknown)"
        )
    for k in range(1, _N_REASONS + 1):
        pair = [f"reason_{k}", f"reason_group_{k}"]
        present = [c for c in pair if c in scores.columns]
        if len(present) == 1:
            absent = next(c for c in pair if c not in scores.columns)
            raise ChurnDataError(
                f"scores has {present[0]} but lacks {absent}; keep reasons and their groups "
                f"together (score with explain=True)"
            )
    if rank_by not in ("probability", "revenue"):
        raise ValueError(f"rank_by={rank_by!r}; expected 'probability' or 'revenue'")
    if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer))
                            or top < 0):
        raise ValueError(f"top={top!r}; expected a non-negative integer or None")
    window = _list_horizon(scores, horizon)
    days = window / pd.Timedelta(days=1)

    prob = pd.to_numeric(scores["churn_probability"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    bad = ~((prob >= 0.0) & (prob <= 1.0))
    if bad.any():
        ids = _customer_ids(scores)
        raise ChurnDataError(
            f"scores: column churn_probability holds {int(bad.sum())} value(s) outside [0, 1] "
            f"or missing, e.g. customers {ids[bad].head(5).tolist()} with "
            f"{scores['churn_probability'][bad].head(5).tolist()}; pass calibrated "
            f"probabilities"
        )
    mrr = pd.to_numeric(scores["mrr"], errors="coerce").to_numpy(dtype=np.float64,
                                                                  na_value=np.nan)
    ids = _customer_ids(scores)
    revenue = prob * mrr * (days / _DAYS_PER_MONTH)
    tier = _tiers(prob, tiers)

    def text(column: str) -> np.ndarray:
        if column not in scores.columns:
            return np.full(len(scores), "", dtype=object)
        col = scores[column]
        return col.astype(object).where(col.notna(), "").to_numpy(dtype=object)

    columns: dict[str, Any] = {
        "customer_id": ids,
        "churn_probability": prob,
        "risk_tier": tier,
        "mrr": mrr,
        "revenue_at_risk": revenue,
    }
    for k in range(1, _N_REASONS + 1):
        columns[f"reason_{k}"] = text(f"reason_{k}")
    for k in range(1, _N_REASONS + 1):
        columns[f"reason_group_{k}"] = text(f"reason_group_{k}")
    mapping = {**DEFAULT_ACTIONS, **dict(actions or {})}
    columns["suggested_action"] = pd.Series(columns["reason_group_1"], dtype=object).map(
        mapping).fillna("").to_numpy(dtype=object)

    extras = _extra_columns(scores, ids, customers, extra_columns)
    frame = pd.DataFrame(columns)
    for name, values in extras.items():
        frame[name] = values

    keep = np.ones(len(frame), dtype=bool)
    if min_probability is not None:
        keep &= prob >= float(min_probability)
    # order: primary key descending, secondary descending, then customer id ascending
    primary, secondary = (prob, revenue) if rank_by == "probability" else (revenue, prob)
    try:
        id_order, _ = pd.factorize(ids, sort=True)
    except TypeError:  # ids of mixed types: keep their input order
        id_order = np.arange(len(ids))
    order = np.lexsort((id_order, np.nan_to_num(-secondary, nan=np.inf),
                        np.nan_to_num(-primary, nan=np.inf)))
    order = order[keep[order]]
    if top is not None:
        order = order[: int(top)]
    out = frame.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    out.attrs = {"horizon": _horizon_label(window),
                 **{key: str(scores.attrs[key]) for key in ("as_of", "model_id")
                    if scores.attrs.get(key) is not None}}
    return out


def _horizon_label(window: Any) -> str:
    """A horizon as a short string that :func:`pandas.Timedelta` reads back.

    Examples
    --------
    >>> _horizon_label("4W"), _horizon_label("36h")
    ('28D', '36h')
    """
    window = parse_window(window)
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{window.days}D"
    if window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return f"{int(window / pd.Timedelta(hours=1))}h"
    return window.isoformat()


def _list_horizon(scores: pd.DataFrame, horizon: Any) -> pd.Timedelta:
    """The horizon of the list: the given one, checked against the scores' own, or theirs."""
    known = scores.attrs.get("horizon")
    if known is not None:
        try:
            known = parse_window(known)
        except ValueError:
            raise ChurnDataError(
                f"scores.attrs['horizon'] = {known!r} is not a duration; set it to the "
                f"model's horizon (e.g. '28D') or clear it"
            ) from None
    if horizon is None:
        return known if known is not None else pd.Timedelta(days=28)
    window = parse_window(horizon)
    if known is not None and window != known:
        raise ChurnDataError(
            f"horizon={horizon!r} contradicts the scores, which were made for a "
            f"{_horizon_label(known)} horizon (scores.attrs['horizon']); leave horizon out "
            f"or score with a model of that horizon"
        )
    return window


def _extra_columns(scores: pd.DataFrame, ids: pd.Series, customers: pd.DataFrame | None,
                   extra_columns: Sequence[str]) -> dict[str, np.ndarray]:
    if isinstance(extra_columns, str):
        extra_columns = [extra_columns]
    out: dict[str, Any] = {}
    clash = [c for c in extra_columns if c in AT_RISK_COLUMNS]
    if clash:
        raise ChurnDataError(f"extra_columns {clash} clash with the list's own columns; "
                             f"rename them")
    table = None
    if customers is not None:
        table = customers
        if "customer_id" in customers.columns:
            table = customers.set_index("customer_id")
        elif "customer_id" not in (customers.index.names or []) and customers.index.name is None:
            raise ChurnDataError(
                "customers: no customer_id column or index; index it by customer_id"
            )
        if table.index.nlevels > 1:
            table = table.reset_index(
                [n for n in table.index.names if n != "customer_id"], drop=True)
        if table.index.has_duplicates:
            dup = table.index[table.index.duplicated()].unique()[:5].tolist()
            raise ChurnDataError(f"customers: customer_id repeats, e.g. {dup}; keep one row "
                                 f"per customer")
    for name in extra_columns:
        if name in scores.columns:
            out[name] = scores[name].to_numpy()
        elif table is not None and name in table.columns:
            out[name] = table[name].reindex(pd.Index(ids)).to_numpy()
        else:
            where = "scores" + (" or customers" if table is not None else "")
            raise ChurnDataError(
                f"extra column {name!r} is in neither {where}; pass customers=... holding it "
                f"or drop it from extra_columns"
            )
    return out


def _legend(frame: pd.DataFrame, actions: Mapping[str, str] | None) -> pd.DataFrame:
    mapping = {**DEFAULT_ACTIONS, **dict(actions or {})}
    if {"reason_group_1", "suggested_action"} <= set(frame.columns):
        seen = frame.loc[frame["reason_group_1"].astype(str) != "",
                         ["reason_group_1", "suggested_action"]].drop_duplicates("reason_group_1")
        mapping.update(dict(zip(seen["reason_group_1"].astype(str),
                                seen["suggested_action"].astype(str), strict=True)))
    groups = list(DRIVER_GROUPS) + sorted(set(mapping) - set(DRIVER_GROUPS))
    return pd.DataFrame({
        "driver_group": groups,
        "meaning": [GROUP_MEANINGS.get(g, "") for g in groups],
        "suggested_action": [mapping.get(g, "") for g in groups],
    })


#: Background colour of each risk tier in the Excel list.
TIER_COLORS: dict[str, str] = {"high": "F4CCCC", "medium": "FCE5CD", "low": "D9EAD3"}


def write_at_risk(frame: pd.DataFrame, path: str | os.PathLike, *, legend: bool = True,
                  actions: Mapping[str, str] | None = None, currency: str = "") -> Path:
    """Write an at-risk list to CSV, Parquet or Excel (by suffix), atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        The output of :func:`at_risk_list`.
    path : path-like
        Destination ending in ``.csv``, ``.parquet`` (or ``.pq``) or ``.xlsx``.
    legend : bool, default True
        Excel only: add a sheet ``legend`` listing each driver group, what it means and its
        suggested action (next to the sheet ``at_risk``).
    actions : dict of str -> str, optional
        Actions for the legend's groups that do not appear in ``frame`` (defaults:
        :data:`DEFAULT_ACTIONS`); groups in ``frame`` show the action used there.
    currency : str, default ""
        Excel only: symbol of the ``mrr`` and ``revenue_at_risk`` amount format.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ChurnDataError
        For an unsupported suffix or a frame lacking the list's columns; nothing is written.

    Notes
    -----
    The file appears only when complete (temporary file, then rename); on any error an
    existing file is left untouched. It goes through :func:`churnpredict.io.write_frame`:
    in CSV and Excel, text cells that a spreadsheet would run as a formula (starting with
    ``=``, ``+``, ``-``, ``@``, tab or carriage return, also after leading spaces) get a
    leading apostrophe, CSV fields holding a comma, quote, CR or LF are quoted, and Excel
    cells lose the control characters the format cannot hold; an Excel cell over 32,767
    characters is refused before anything is written. In Excel the probability shows as a
    percentage, amounts with thousands separators (and ``currency``), the header is frozen
    with filters, and rows are coloured by risk tier (:data:`TIER_COLORS`). The list's ``attrs`` (``as_of``,
    ``horizon``, ``model_id``), its row count, the churnpredict version and the creation
    time are kept with the file: Parquet key-value metadata, Excel document properties, or
    for CSV a sidecar ``<name>.manifest.json`` (see :func:`churnpredict.io.manifest_path`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ChurnDataError(
            f"{path}: unsupported output type {suffix or '(none)'!r}; use .csv, .parquet or .xlsx"
        )
    if not isinstance(frame, pd.DataFrame):
        raise ChurnDataError(f"frame must be a DataFrame from at_risk_list, got "
                             f"{type(frame).__name__}")
    missing = [c for c in AT_RISK_COLUMNS if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"frame lacks column(s) {missing}; build it with at_risk_list(scores, ...)"
        )
    metadata = {"title": "churnpredict at-risk list",
                **{key: frame.attrs.get(key) for key in ("as_of", "horizon", "model_id")}}
    sheets = {"legend": _legend(frame, actions)} if legend and suffix == ".xlsx" else None
    symbol = str(currency or "").replace('"', "")
    amount = f'"{symbol}"#,##0.00' if symbol else "#,##0.00"
    formats = {"at_risk": {"churn_probability": "0.0%", "mrr": amount,
                           "revenue_at_risk": amount}}
    fills = {"at_risk": {"risk_tier": TIER_COLORS}}
    return write_frame(frame, path, sheet_name="at_risk", sheets=sheets, metadata=metadata,
                       excel_formats=formats, excel_fills=fills)
