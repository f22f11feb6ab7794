"""Campaign readouts: what a past at-risk list's campaign saved, measured against its holdout.

A list scored with a holdout (``at_risk_list(..., holdout=0.2, random_state=11)`` or
``churnpredict score ... --holdout 0.2 --seed 11``) splits every risk tier at random into a
``treatment`` group (contacted) and a ``control`` group (left alone). Once the list's horizon
is over, :func:`campaign_readout` looks up who churned in ``(list as-of, list as-of +
horizon]`` with the same churn definition as training (:func:`churnpredict.labels.label_churn`)
and compares the groups.

Retention lift and its interval
-------------------------------
``retention_lift = churn_rate_control - churn_rate_treatment``: the share of treated customers
the campaign kept (positive when it worked). Its 95% interval is Newcombe's hybrid score
interval for a difference of two independent proportions (Newcombe 1998, *Statistics in
Medicine* 17:873-890, method 10): with Wilson score intervals ``(l1, u1)`` of the control
rate ``p1`` and ``(l2, u2)`` of the treatment rate ``p2``,

    low  = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)
    high = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2)

It keeps close to its nominal coverage with small groups and rates near 0 or 1, where the
textbook Wald interval does not (Newcombe's comparison of eleven methods), and needs no
resampling, so a readout is exact and repeatable.

Since the holdout has the same share in every tier, the pooled comparison is a fair one; each
tier is also read out on its own.

Savings
-------
``customers_saved = retention_lift x treated customers``. ``revenue_saved`` takes the list's
``revenue_at_risk`` (probability x MRR x horizon months) of the treated customers, the revenue
expected to leave without the campaign, and multiplies it by the relative reduction of churn
the campaign achieved, ``retention_lift / churn_rate_control``. Both come with the interval
of the lift carried through (``*_low``, ``*_high``).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ChurnDataError, DataQualityWarning
from .windows import horizon_text, parse_window, to_naive_utc

__all__ = [
    "campaign_readout",
    "newcombe_interval",
    "read_list",
    "readout_frame",
    "wilson_interval",
    "write_campaign",
    "CAMPAIGN_PLOTS",
]

#: Plots written by :func:`write_campaign`: file stem -> caption.
CAMPAIGN_PLOTS: dict[str, str] = {
    "campaign_rates": "Churn rate of treated and control customers, per risk tier "
    "(bars: 95% Wilson intervals)",
    "campaign_lift": "Retention lift (control minus treatment churn rate) with its 95% "
    "Newcombe interval",
}

_METHOD = (
    "Newcombe hybrid score interval (Newcombe 1998, method 10) from Wilson score "
    "intervals of each group's churn rate"
)


# ---------------------------------------------------------------------------- intervals
def _z(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level={level!r}; expected a confidence level between 0 and 1")
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def wilson_interval(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``x / n`` (no continuity correction).

    Parameters
    ----------
    x : int
        Successes (here: churners), ``0 <= x <= n``.
    n : int
        Trials (customers), ``n >= 1``.
    level : float, default 0.95

    Returns
    -------
    (float, float)

    Examples
    --------
    Newcombe (1998), "Two-sided confidence intervals for the single proportion":

    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    >>> [round(v, 4) for v in wilson_interval(0, 20)]
    [0.0, 0.1611]
    """
    if n < 1 or not 0 <= x <= n:
        raise ValueError(f"x={x!r}, n={n!r}; expected 0 <= x <= n and n >= 1")
    z = _z(level)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at x = 0 (x = n) the lower (upper) limit is exactly 0 (1); rounding would leave a hair
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of the difference ``x1/n1 - x2/n2``.

    Parameters
    ----------
    x1, n1 : int
        Successes and trials of the first group (here: the control group).
    x2, n2 : int
        Of the second group (the treatment group).
    level : float, default 0.95

    Returns
    -------
    (float, float)
        Lower and upper limits, within ``[-1, 1]``.

    Examples
    --------
    Newcombe (1998), "Interval estimation for the difference between independent
    proportions", Table II, method 10:

    >>> [round(v, 4) for v in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    >>> [round(v, 4) for v in newcombe_interval(9, 10, 3, 10)]
    [0.1705, 0.809]
    """
    l1, u1 = wilson_interval(x1, n1, level)
    l2, u2 = wilson_interval(x2, n2, level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


# ---------------------------------------------------------------------------- reading lists
def _list_metadata(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from .io import manifest_path

        sidecar = manifest_path(path)
        if not sidecar.is_file():
            return {}
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ChurnDataError(
                f"{sidecar}: not a readable manifest ({exc}); restore it or "
                f"pass the list's as-of and horizon"
            ) from None
        return meta if isinstance(meta, dict) else {}
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(b"churnpredict")
        return json.loads(raw) if raw else {}
    if suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        try:
            return {p.name: p.value for p in book.custom_doc_props.props}
        finally:
            book.close()
    return {}


def read_list(path: str | os.PathLike) -> pd.DataFrame:
    """Read an at-risk list written by :func:`churnpredict.write_at_risk`, with its metadata.

    Parameters
    ----------
    path : path-like
        ``.csv`` (its ``<name>.manifest.json`` next to it), ``.parquet`` / ``.pq`` (key-value
        metadata) or ``.xlsx`` (sheet ``at_risk``, document properties).

    Returns
    -------
    pandas.DataFrame
        The list, ``customer_id`` as text for CSV and Excel (so ids such as ``007`` keep
        their zeros); ``attrs`` hold what the file recorded (``as_of``, ``horizon``,
        ``model_id``, ``holdout_share``, ``holdout_seed``, ...), empty when it recorded
        nothing.

    Raises
    ------
    ChurnDataError
        When the file is missing or of another type.
    """
    path = Path(path)
    if not path.is_file():
        raise ChurnDataError(
            f"LIST {str(path)!r}: no such file; give the at-risk list "
            f"written by 'churnpredict score'"
        )
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".xlsx"):
        raise ChurnDataError(
            f"LIST {str(path)!r}: unsupported type {suffix or '(none)'!r}; "
            f"give the .csv, .parquet or .xlsx list"
        )
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype={"customer_id": str, "group": str, "risk_tier": str})
        elif suffix == ".xlsx":
            frame = pd.read_excel(
                path,
                sheet_name="at_risk",
                dtype={"customer_id": str, "group": str, "risk_tier": str},
            )
        else:
            frame = pd.read_parquet(path)
        metadata = _list_metadata(path)
    except ChurnDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser's complaint: the file is damaged
        raise ChurnDataError(
            f"LIST {str(path)!r} cannot be read as a {suffix} at-risk list "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
            f"give the list 'churnpredict score' wrote, unedited"
        ) from None
    frame.attrs = {k: v for k, v in metadata.items() if k not in ("file", "sha256", "title")}
    return frame


# ---------------------------------------------------------------------------- readout
def _as_of_text(value: Any) -> pd.Timestamp:
    if not isinstance(value, (str, datetime.date, np.datetime64)):  # 5 is not 1970-01-01
        raise ValueError(f"{value!r} is not a date")
    stamp = pd.Timestamp(value)
    stamp = to_naive_utc(stamp)
    return stamp


def _known(
    attrs: Mapping[str, Any], key: str, given: Any, parse: Any, what: str, option: str
) -> Any:
    """A list setting: the given one, checked against the list's own, or the list's."""
    stored = attrs.get(key)
    try:
        stored = None if stored in (None, "", "None") else parse(stored)
    except (TypeError, ValueError, OverflowError):
        raise ChurnDataError(
            f"the list's metadata records {key} = {stored!r}, which is not a usable {what}; "
            f"repair the list's manifest, or pass {option}"
        ) from None
    if given is None:
        if stored is None:
            raise ChurnDataError(
                f"the list does not record its {what} (no manifest or metadata: a list written "
                f"without churnpredict, or a CSV whose .manifest.json was lost); pass {option}"
            )
        return stored
    value = parse(given)
    if stored is not None and value != stored:
        raise ChurnDataError(
            f"{option} {given} contradicts the list, which records {what} {attrs.get(key)}; "
            f"leave {option} out"
        )
    return value


def _unescape_ids(ids: pd.Series, known: pd.Index) -> pd.Series:
    """List ids as text; a leading apostrophe the spreadsheet guard added is removed."""
    text = ids.astype(str)
    escaped = ~text.isin(known) & text.str.startswith("'")
    return text.where(~escaped, text.str[1:])


def _figures(
    x_c: int, n_c: int, x_t: int, n_t: int, revenue_t: float, level: float
) -> dict[str, Any]:
    """Rates, lift, interval and savings of one comparison (None where undefined)."""
    out: dict[str, Any] = {
        "n_treatment": int(n_t),
        "n_control": int(n_c),
        "churned_treatment": int(x_t),
        "churned_control": int(x_c),
        "churn_rate_treatment": x_t / n_t if n_t else None,
        "churn_rate_control": x_c / n_c if n_c else None,
        "retention_lift": None,
        "ci_low": None,
        "ci_high": None,
        "customers_saved": None,
        "customers_saved_low": None,
        "customers_saved_high": None,
        "revenue_at_risk_treatment": float(revenue_t),
        "revenue_saved": None,
        "revenue_saved_low": None,
        "revenue_saved_high": None,
    }
    if not (n_t and n_c):
        return out
    lift = x_c / n_c - x_t / n_t
    low, high = newcombe_interval(x_c, n_c, x_t, n_t, level)
    out.update(
        {
            "retention_lift": lift,
            "ci_low": low,
            "ci_high": high,
            "customers_saved": lift * n_t,
            "customers_saved_low": low * n_t,
            "customers_saved_high": high * n_t,
        }
    )
    if x_c:
        scale = revenue_t / (x_c / n_c)
        out.update(
            {
                "revenue_saved": lift * scale,
                "revenue_saved_low": low * scale,
                "revenue_saved_high": high * scale,
            }
        )
    return out


def campaign_readout(
    list_frame: pd.DataFrame | str | os.PathLike,
    data: Any,
    as_of: Any,
    *,
    horizon: Any = None,
    list_as_of: Any = None,
    label: str | None = None,
    lookback: Any = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Read out a campaign run on a past at-risk list against its holdout group.

    Parameters
    ----------
    list_frame : pandas.DataFrame or path-like
        The list (``at_risk_list(..., holdout=...)``, or a file :func:`read_list` reads),
        with ``customer_id``, ``group`` (``treatment``/``control``) and optionally
        ``risk_tier`` and ``revenue_at_risk``; its ``attrs`` give its as-of and horizon.
    data : EventData
        What happened since: must reach the end of the list's horizon.
    as_of : timestamp-like
        When the readout is made: what is known then (events strictly before it,
        cancellations at or before it). Must be on or after the list's as-of + horizon.
    horizon, list_as_of : optional
        The list's horizon and as-of, for a list that does not record them (a CSV without
        its manifest); when it does, they must agree with it.
    label : {"cancellation", "inactivity"}, optional
        Churn definition; default: the list's (the model's training definition), else
        cancellation when customers have ``churned_at``.
    lookback : duration, optional
        Inactivity churn only; default: the list's, else 90 days.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    dict
        Plain JSON: the list's ``list_as_of``, ``horizon``, ``model_id``, ``holdout_share``,
        ``holdout_seed`` and ``label``; the readout ``as_of``, ``level`` and
        ``interval_method``; ``n_treatment``, ``n_control``, ``churned_treatment``,
        ``churned_control``, ``churn_rate_treatment``, ``churn_rate_control``,
        ``retention_lift``, ``ci_low``, ``ci_high``, ``customers_saved`` (and ``_low`` /
        ``_high``), ``revenue_at_risk_treatment``, ``revenue_saved`` (and ``_low`` /
        ``_high``); ``tiers``: the same figures per risk tier; ``n_unmatched``: listed
        customers not found in the population of ``data`` at the list's as-of (left out).
        Figures that cannot be computed (a group with no customer) are None.

    Raises
    ------
    ChurnDataError
        When the list has no ``group`` column or a group is empty, its as-of or horizon is
        unknown, ``as_of`` is before the horizon has ended, or no listed customer is found in
        ``data``.

    Warns
    -----
    DataQualityWarning
        When the data's latest event is more than a day before the horizon ends.

    Examples
    --------
    >>> import churnpredict as cp
    >>> data = cp.make_subscription_data(n_customers=600, random_state=2)
    >>> pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=30, n_jobs=1))
    >>> pipe = pipe.fit(data, as_of="2024-11-01")
    >>> scores = pipe.score(data, "2024-11-01", explain=False)
    >>> listed = cp.at_risk_list(scores, holdout=0.5, random_state=11)
    >>> out = cp.campaign_readout(listed, data, as_of="2024-12-01")
    >>> out["n_treatment"] + out["n_control"] == len(listed)
    True
    """
    from .labels import label_churn, label_kind

    frame = read_list(list_frame) if isinstance(list_frame, (str, os.PathLike)) else list_frame
    if not isinstance(frame, pd.DataFrame):
        raise ChurnDataError(
            f"list_frame must be an at-risk list (DataFrame or file), got "
            f"{type(list_frame).__name__}"
        )
    missing = [c for c in ("customer_id", "group") if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"the list lacks column(s) {missing}; a campaign readout needs the holdout "
            f"groups: score with a holdout (churnpredict score ... --holdout 0.2, or "
            f"at_risk_list(..., holdout=0.2))"
        )
    groups = frame["group"].astype(object).where(frame["group"].notna(), None)
    bad = sorted({str(g) for g in groups} - {"treatment", "control"})
    if bad:
        raise ChurnDataError(
            f"the list's column group holds {bad[:5]}; expected 'treatment' or 'control'"
        )
    attrs = dict(frame.attrs)
    window = _known(attrs, "horizon", horizon, parse_window, "horizon", "--horizon (horizon=)")
    start = _known(attrs, "as_of", list_as_of, _as_of_text, "as-of", "--list-as-of (list_as_of=)")
    stamp = _as_of_text(as_of)
    end = start + window
    if stamp < end:
        raise ChurnDataError(
            f"the list's {horizon_text(window)} horizon after {start:%Y-%m-%d} ends on "
            f"{end:%Y-%m-%d %H:%M}, after as-of {stamp:%Y-%m-%d %H:%M}: churn is not known "
            f"yet; read out on or after {end:%Y-%m-%d}"
        )
    last = data.time_range[1]
    if last < end - pd.Timedelta(days=1):
        warnings.warn(
            f"the data's latest event is at {last:%Y-%m-%d %H:%M}, more than a day before the "
            f"list's horizon ends on {end:%Y-%m-%d %H:%M}: churn after it is not seen (or, for "
            f"inactivity churn, everyone looks inactive); load data reaching that far",
            DataQualityWarning,
            stacklevel=2,
        )
    kind = label or attrs.get("label") or "auto"
    if kind not in ("auto", "cancellation", "inactivity", "snapshot"):
        raise ChurnDataError(
            f"the list's metadata records label = {kind!r}; expected "
            f"cancellation or inactivity (repair the manifest, or pass --label)"
        )
    if kind == "snapshot":
        raise ChurnDataError(
            "the list was scored from a snapshot table, which holds no later "
            "outcomes; a readout needs event data with cancellations or "
            "activity after the list's as-of"
        )
    window_back = lookback or attrs.get("lookback") or "90D"
    try:
        parse_window(window_back)
    except (TypeError, ValueError):
        raise ChurnDataError(
            f"the list's lookback {window_back!r} is not a duration such as "
            f"'90D'; repair the manifest, or pass lookback="
        ) from None
    # inactivity lists hold lapsed customers too (everyone who has not cancelled is scored)
    lapsed = label_kind(data, kind) == "inactivity"
    outcome = label_churn(
        data, [start], window, kind=kind, as_of=stamp, lookback=window_back, lapsed=lapsed
    ).droplevel("cutoff")["churned"]
    known = pd.Index(outcome.index.astype(str))
    ids = _unescape_ids(frame["customer_id"].reset_index(drop=True), known)
    churned = pd.Series(outcome.to_numpy(), index=known)
    churned = churned[~churned.index.duplicated()].reindex(ids.to_numpy()).to_numpy()
    matched = ~pd.isna(churned)
    if not matched.any():
        raise ChurnDataError(
            f"none of the list's {len(frame):,} customers is in the population of the data at "
            f"{start:%Y-%m-%d} (e.g. {ids.head(3).tolist()}); read out with the data the "
            f"list was scored from, updated"
        )
    y = churned[matched].astype(np.int64)
    treated = (groups.to_numpy(dtype=object) == "treatment")[matched]
    tier = (
        frame["risk_tier"].astype(object).fillna("").astype(str).to_numpy()[matched]
        if "risk_tier" in frame.columns
        else np.full(int(matched.sum()), "", dtype=object)
    )
    revenue = (
        pd.to_numeric(frame["revenue_at_risk"], errors="coerce").fillna(0.0).to_numpy()[matched]
        if "revenue_at_risk" in frame.columns
        else np.zeros(int(matched.sum()))
    )

    def figures(mask: np.ndarray) -> dict[str, Any]:
        t, c = mask & treated, mask & ~treated
        return _figures(
            int(y[c].sum()),
            int(c.sum()),
            int(y[t].sum()),
            int(t.sum()),
            float(revenue[t].sum()),
            level,
        )

    overall = figures(np.ones(len(y), dtype=bool))
    if not overall["n_treatment"] or not overall["n_control"]:
        empty = "treatment" if not overall["n_treatment"] else "control"
        raise ChurnDataError(
            f"the list's {empty} group has no customer found in the data; "
            f"a readout compares both groups"
        )
    order = list(dict.fromkeys(tier.tolist()))
    holdout, seed = attrs.get("holdout_share"), attrs.get("holdout_seed")
    try:
        holdout = None if holdout in (None, "") else float(holdout)
        seed = None if seed in (None, "") else int(seed)
    except (TypeError, ValueError):
        raise ChurnDataError(
            f"the list's metadata records holdout_share = {holdout!r}, "
            f"holdout_seed = {seed!r}; expected a share and an integer seed "
            f"(repair the manifest)"
        ) from None
    return _clean(
        {
            "list_as_of": start.isoformat(),
            "horizon": horizon_text(window),
            "as_of": stamp.isoformat(),
            "model_id": attrs.get("model_id"),
            "holdout_share": holdout,
            "holdout_seed": seed,
            "label": kind,
            "level": float(level),
            "interval_method": _METHOD,
            **overall,
            "n_unmatched": int((~matched).sum()),
            "tiers": {name: figures(tier == name) for name in order if name},
        }
    )


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def readout_frame(readout: Mapping[str, Any]) -> pd.DataFrame:
    """A readout as a table: one row for all customers, then one per risk tier.

    Parameters
    ----------
    readout : dict
        From :func:`campaign_readout`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``segment`` (``"all"``, then the tiers).
    """
    keys = [
        "n_treatment",
        "n_control",
        "churned_treatment",
        "churned_control",
        "churn_rate_treatment",
        "churn_rate_control",
        "retention_lift",
        "ci_low",
        "ci_high",
        "customers_saved",
        "revenue_saved",
    ]
    rows = {"all": {k: readout.get(k) for k in keys}}
    for name, tier in readout.get("tiers", {}).items():
        rows[name] = {k: tier.get(k) for k in keys}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=keys).astype(float)
    frame.index.name = "segment"
    return frame


# ---------------------------------------------------------------------------- writing
def _plot_rates(frame: pd.DataFrame, level: float, ax: Any) -> None:
    x = np.arange(len(frame))
    width = 0.38
    for offset, group, color in (
        (-width / 2, "control", "#8c959f"),
        (width / 2, "treatment", "#0969da"),
    ):
        rates = frame[f"churn_rate_{group}"].to_numpy(dtype=float)
        ns = frame[f"n_{group}"].to_numpy(dtype=float)
        churned = frame[f"churned_{group}"].to_numpy(dtype=float)
        low, high = [], []
        for rate, count, n in zip(rates, churned, ns, strict=True):  # a few segments
            if n and rate == rate:
                lo, hi = wilson_interval(int(count), int(n), level)
                low.append(max(0.0, rate - lo))  # rounding can put a limit a hair inside
                high.append(max(0.0, hi - rate))
            else:
                low.append(0.0)
                high.append(0.0)
        ax.bar(
            x + offset,
            np.nan_to_num(rates),
            width,
            yerr=[low, high],
            capsize=3,
            color=color,
            label=group,
        )
    ax.set_xticks(x, [str(s) for s in frame.index])
    ax.set_ylabel("churn rate in the horizon")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(frameon=False)


def _plot_lift(frame: pd.DataFrame, ax: Any) -> None:
    y = np.arange(len(frame))[::-1]
    lift = frame["retention_lift"].to_numpy(dtype=float)
    low = frame["ci_low"].to_numpy(dtype=float)
    high = frame["ci_high"].to_numpy(dtype=float)
    ok = ~np.isnan(lift)
    ax.errorbar(
        lift[ok],
        y[ok],
        xerr=[np.maximum(lift - low, 0.0)[ok], np.maximum(high - lift, 0.0)[ok]],
        fmt="o",
        color="#0969da",
        capsize=4,
    )
    ax.axvline(0.0, color="#cf222e", lw=1, ls="--")
    ax.set_yticks(y, [str(s) for s in frame.index])
    ax.set_xlabel("retention lift (control minus treatment churn rate)")
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:+.0%}")


def write_campaign(
    readout: Mapping[str, Any], out_dir: str | os.PathLike, *, title: str = "Campaign readout"
) -> Path:
    """Write ``campaign.json``, ``campaign.html`` and its PNG plots to ``out_dir``, atomically.

    Parameters
    ----------
    readout : dict
        From :func:`campaign_readout`.
    out_dir : path-like
        Created if needed; an existing folder must be empty or a readout folder churnpredict
        wrote (its marker, see :mod:`churnpredict.folders`).
    title : str

    Returns
    -------
    pathlib.Path
        The path of ``campaign.html``.
    """
    from .folders import check_output_folder, mark_output_folder
    from .htmlpage import PAGE_CSS, Plot, escape, figure_html, number, render_plot, write_page

    out = check_output_folder(Path(out_dir), "campaign")
    frame = readout_frame(readout)
    level = float(readout.get("level", 0.95))
    plots = [
        Plot(
            "campaign_rates",
            CAMPAIGN_PLOTS["campaign_rates"],
            render_plot(lambda ax: _plot_rates(frame, level, ax)),
        ),
        Plot(
            "campaign_lift",
            CAMPAIGN_PLOTS["campaign_lift"],
            render_plot(lambda ax: _plot_lift(frame, ax), size=(6.4, 0.5 * len(frame) + 1.6)),
        ),
    ]
    pct = "{:.1%}"
    cards = [
        (
            "Churn rate, treated",
            number(readout.get("churn_rate_treatment"), pct),
            f"{number(readout.get('churned_treatment'))} of {number(readout.get('n_treatment'))}",
        ),
        (
            "Churn rate, control",
            number(readout.get("churn_rate_control"), pct),
            f"{number(readout.get('churned_control'))} of {number(readout.get('n_control'))}",
        ),
        (
            "Retention lift",
            number(readout.get("retention_lift"), "{:+.1%}"),
            f"{level:.0%} interval {number(readout.get('ci_low'), '{:+.1%}')} to "
            f"{number(readout.get('ci_high'), '{:+.1%}')}",
        ),
        (
            "Customers saved",
            number(readout.get("customers_saved"), "{:,.1f}"),
            f"{number(readout.get('customers_saved_low'), '{:,.1f}')} to "
            f"{number(readout.get('customers_saved_high'), '{:,.1f}')}",
        ),
        (
            "Revenue saved",
            number(readout.get("revenue_saved"), "{:,.0f}"),
            f"{number(readout.get('revenue_saved_low'), '{:,.0f}')} to "
            f"{number(readout.get('revenue_saved_high'), '{:,.0f}')}",
        ),
    ]
    card_html = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{v}</div>'
            f'<div class="h">{escape(h)}</div></div>'
            for k, v, h in cards
        )
        + "</div>"
    )
    head = (
        "<tr><th>segment</th><th>treated</th><th>control</th><th>churn rate, treated</th>"
        "<th>churn rate, control</th><th>retention lift</th><th>interval</th>"
        "<th>customers saved</th><th>revenue saved</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{number(r['n_treatment'])}</td>"
        f"<td class=n>{number(r['n_control'])}</td>"
        f"<td class=n>{number(r['churn_rate_treatment'], pct)}</td>"
        f"<td class=n>{number(r['churn_rate_control'], pct)}</td>"
        f"<td class=n>{number(r['retention_lift'], '{:+.1%}')}</td>"
        f"<td class=n>{number(r['ci_low'], '{:+.1%}')} to {number(r['ci_high'], '{:+.1%}')}</td>"
        f"<td class=n>{number(r['customers_saved'], '{:,.1f}')}</td>"
        f"<td class=n>{number(r['revenue_saved'], '{:,.0f}')}</td></tr>"
        for name, r in frame.to_dict("index").items()
    )
    unmatched = int(readout.get("n_unmatched") or 0)
    note = (
        f'<p class="note">{unmatched:,} listed customers were not in the data\'s population '
        f"at the list's as-of and are left out.</p>"
        if unmatched
        else ""
    )
    figs = "".join(figure_html(p) for p in plots)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body><main>"
        f"<header><h1>{escape(title)}</h1><p class=sub>List of "
        f"<b>{escape(readout.get('list_as_of'))}"
        f"</b> (model {escape(readout.get('model_id') or 'unknown')}), churn within "
        f"<b>{escape(readout.get('horizon'))}</b> ({escape(readout.get('label'))}), read out on "
        f"{escape(readout.get('as_of'))}; holdout share "
        f"{number(readout.get('holdout_share'), '{:.0%}')}, seed "
        f"{escape(readout.get('holdout_seed'))}.</p></header>{card_html}{note}"
        f"<section id=tiers><h2>By risk tier</h2><table>{head}{body}</table></section>"
        f'<section id=plots><h2>Plots</h2><div class="grid">{figs}</div></section>'
        f"<footer>Retention lift = control churn rate minus treated churn rate. Intervals: "
        f"{escape(readout.get('interval_method'))}. Revenue saved = the treated customers' "
        f"revenue at risk x lift / control churn rate.</footer></main></body></html>\n"
    )
    mark_output_folder(out, "campaign")
    for plot in plots:
        write_page(out / f"{plot.stem}.png", plot.png)
    write_page(
        out / "campaign.json",
        (json.dumps(_clean(dict(readout)), indent=2, allow_nan=False) + "\n").encode("utf-8"),
    )
    target = out / "campaign.html"
    write_page(target, page.encode("utf-8"))
    return target
