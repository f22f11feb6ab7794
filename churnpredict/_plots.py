"""Plots of churnpredict results.

Every function follows ``plot_x(obj, ax=None, **kwargs) -> Axes``: it draws on ``ax`` (a new
figure when None) and returns the Axes. matplotlib is imported inside the functions, so importing
this module is cheap and works on machines without a display (the Agg backend is enough).

Business metrics: :func:`plot_churn_rate` and :func:`plot_revenue_churn` take the table of
:func:`churnpredict._metrics.churn_metrics` (segmented or not); :func:`plot_cohort_retention`
takes the table of :func:`churnpredict._metrics.cohort_retention`.

Model evaluation: :func:`plot_gains`, :func:`plot_lift`, :func:`plot_calibration`,
:func:`plot_precision_recall_at_k`, :func:`plot_score_distribution` and
:func:`plot_profit_curve` take a scored frame (``churn_probability`` and the observed
``churned``); :func:`plot_shap_importance` and :func:`plot_driver_mix` show what drives the
scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError
from ._kinds import CHURN_TYPES

__all__ = [
    "GROUP_COLORS",
    "plot_calibration",
    "plot_churn_rate",
    "plot_cohort_retention",
    "plot_driver_mix",
    "plot_gains",
    "plot_lift",
    "plot_precision_recall_at_k",
    "plot_profit_curve",
    "plot_revenue_churn",
    "plot_score_distribution",
    "plot_shap_importance",
    "plot_waterfall",
]


def plot_churn_rate(metrics: pd.DataFrame, ax: Any = None, **kwargs: Any) -> Any:
    """Churn rate per period: one line, or one line per segment.

    Without segments, the voluntary and involuntary churn rates are drawn as dashed lines when
    the metrics know the churn type.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Output of :func:`churnpredict._metrics.churn_metrics`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    **kwargs
        Passed to ``Axes.plot`` for the churn-rate lines (e.g. ``marker="o"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    missing = [
        c
        for c in ("churn_rate", "churned_voluntary", "churned_involuntary", "customers_start")
        if c not in metrics.columns
    ]
    if missing:
        raise ValueError(
            f"metrics has no column(s) {missing}; pass the table returned by "
            f"churnpredict._metrics.churn_metrics"
        )
    if ax is None:
        _, ax = plt.subplots()
    if isinstance(metrics.index, pd.MultiIndex):
        for value, part in metrics.groupby(level=1, sort=False, dropna=False):
            ax.plot(part.index.get_level_values(0), part["churn_rate"], label=str(value), **kwargs)
        ax.legend(title=str(metrics.index.names[1]))
    else:
        ax.plot(metrics.index, metrics["churn_rate"], label="churn rate", **kwargs)
        at_start = metrics["customers_start"].where(metrics["customers_start"] > 0)
        for kind in CHURN_TYPES:
            churned = metrics[f"churned_{kind}"]
            if churned.notna().any():
                ax.plot(metrics.index, churned / at_start, linestyle="--", label=kind)
        ax.legend()
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Churn rate")
    ax.set_xlabel("period")
    ax.set_ylabel("customers lost / customers at start")
    return ax


def plot_revenue_churn(metrics: pd.DataFrame, ax: Any = None, **kwargs: Any) -> Any:
    """Gross and net revenue (MRR) churn per period, with a zero line.

    Net revenue churn below zero means the expansion of retained customers outweighed the
    revenue lost. With segments, each segment has a solid gross line and a dashed net line of
    the same colour.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Output of :func:`churnpredict._metrics.churn_metrics`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    **kwargs
        Passed to ``Axes.plot`` for the revenue-churn lines.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    missing = [c for c in ("gross_revenue_churn", "net_revenue_churn") if c not in metrics.columns]
    if missing:
        raise ValueError(
            f"metrics has no column(s) {missing}; pass the table returned by "
            f"churnpredict._metrics.churn_metrics"
        )
    if ax is None:
        _, ax = plt.subplots()
    if isinstance(metrics.index, pd.MultiIndex):
        parts = [
            (f"{value} ", part, part.index.get_level_values(0))
            for value, part in metrics.groupby(level=1, sort=False, dropna=False)
        ]
    else:
        parts = [("", metrics, metrics.index)]
    for prefix, part, x in parts:
        (gross,) = ax.plot(
            x, part["gross_revenue_churn"], label=f"{prefix}gross revenue churn", **kwargs
        )
        ax.plot(
            x,
            part["net_revenue_churn"],
            label=f"{prefix}net revenue churn",
            **{"color": gross.get_color(), **kwargs, "linestyle": "--"},
        )
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Revenue churn")
    ax.set_xlabel("period")
    ax.set_ylabel("share of MRR at start")
    ax.legend()
    return ax


def plot_cohort_retention(
    table: pd.DataFrame, ax: Any = None, annotate: bool | None = None, **kwargs: Any
) -> Any:
    """Heatmap of cohort retention: signup cohorts down, periods since signup across.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`churnpredict._metrics.cohort_retention` (shares between 0 and 1,
        NaN where unknown; NaN cells are left blank).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    annotate : bool, optional
        Write the percentage in each known cell; by default only when the table has at most
        300 cells.
    **kwargs
        Passed to ``Axes.imshow`` (e.g. ``cmap="viridis"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    values = table.to_numpy(dtype=np.float64)
    if ax is None:
        _, ax = plt.subplots()
    options = {"cmap": "Blues", "vmin": 0.0, "vmax": 1.0, "aspect": "auto", **kwargs}
    image = ax.imshow(values, **options)
    ax.figure.colorbar(image, ax=ax, format=PercentFormatter(1.0), label="still active")
    if annotate is None:
        annotate = values.size <= 300
    if annotate:
        rows, cols = np.nonzero(~np.isnan(values))
        for r, c in zip(rows, cols, strict=True):
            value = values[r, c]
            ax.text(
                c,
                r,
                f"{value:.0%}",
                ha="center",
                va="center",
                fontsize="small",
                color="white" if value > 0.6 else "black",
            )
    if isinstance(table.index, pd.DatetimeIndex):
        labels = table.index.strftime("%Y-%m-%d")
    else:
        labels = table.index.astype(str)
    ax.set_yticks(np.arange(len(table)), labels=list(labels))
    ax.set_xticks(np.arange(table.shape[1]), labels=[str(c) for c in table.columns])
    ax.set_title("Cohort retention")
    ax.set_xlabel("periods since signup")
    ax.set_ylabel("signup cohort")
    return ax


# Model evaluation ------------------------------------------------------------------------

#: One colour per driver group, shared by every plot that shows groups.
GROUP_COLORS = {
    "engagement": "#4C72B0",
    "support": "#DD8452",
    "payments": "#C44E52",
    "monetary": "#55A868",
    "tenure": "#8172B3",
    "profile": "#937860",
    "other": "#8C8C8C",
}


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _ranked_outcomes(scored: pd.DataFrame, label: str, score: str) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes sorted by descending score (ties in a stable order), and the sorted scores."""
    for col in (label, score):
        if col not in scored.columns:
            raise ChurnDataError(
                f"scored frame has no {col!r} column; it has {list(scored.columns)[:12]}. "
                f"Pass label=/score= to name the outcome and probability columns"
            )
    y = pd.to_numeric(scored[label], errors="coerce").to_numpy(dtype=float)
    p = pd.to_numeric(scored[score], errors="coerce").to_numpy(dtype=float)
    keep = ~(np.isnan(y) | np.isnan(p))
    y, p = y[keep], p[keep]
    if len(y) == 0:
        raise ChurnDataError(f"scored frame has no rows with both {label!r} and {score!r}")
    order = np.argsort(-p, kind="stable")
    return y[order], p[order]


def plot_gains(
    scored: pd.DataFrame,
    ax: Any = None,
    *,
    label: str = "churned",
    score: str = "churn_probability",
    **kwargs: Any,
) -> Any:
    """Cumulative gains: share of all churners found when contacting the top x% of the list.

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per customer with the outcome ``label`` (0/1) and the probability ``score``.
    ax : matplotlib.axes.Axes, optional
    label, score : str
        Column names of the outcome and the probability.
    **kwargs
        Passed to ``ax.plot`` for the model's curve.

    Returns
    -------
    matplotlib.axes.Axes
    """
    y, _ = _ranked_outcomes(scored, label, score)
    ax = _axes(ax)
    n, positives = len(y), y.sum()
    frac = np.arange(0, n + 1) / n
    found = np.concatenate([[0.0], np.cumsum(y)]) / max(positives, 1.0)
    kwargs.setdefault("label", "model")
    ax.plot(frac * 100, found * 100, **kwargs)
    base = positives / n
    ax.plot([0, base * 100, 100], [0, 100, 100], ls=":", color="grey", label="perfect")
    ax.plot([0, 100], [0, 100], ls="--", color="black", lw=1, label="random")
    ax.set_xlabel("customers contacted (% of list, highest risk first)")
    ax.set_ylabel("churners found (%)")
    ax.set_title("Cumulative gains")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.legend(loc="lower right")
    return ax


def plot_lift(
    scored: pd.DataFrame,
    ax: Any = None,
    *,
    label: str = "churned",
    score: str = "churn_probability",
    **kwargs: Any,
) -> Any:
    """Cumulative lift: churn rate among the top x% divided by the overall churn rate.

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per customer with ``label`` (0/1) and ``score``.
    ax : matplotlib.axes.Axes, optional
    label, score : str
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    y, _ = _ranked_outcomes(scored, label, score)
    ax = _axes(ax)
    n = len(y)
    base = y.mean()
    k = np.arange(1, n + 1)
    lift = (np.cumsum(y) / k) / base if base > 0 else np.full(n, np.nan)
    # Skip the first 1% (a handful of rows gives a noisy ratio).
    start = max(int(np.ceil(n * 0.01)) - 1, 0)
    kwargs.setdefault("label", "model")
    ax.plot(k[start:] / n * 100, lift[start:], **kwargs)
    ax.axhline(1.0, ls="--", color="black", lw=1, label="random")
    ax.set_xlabel("customers contacted (% of list, highest risk first)")
    ax.set_ylabel("lift (x overall churn rate)")
    ax.set_title("Cumulative lift")
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right")
    return ax


def plot_calibration(
    scored: pd.DataFrame,
    ax: Any = None,
    *,
    label: str = "churned",
    score: str = "churn_probability",
    n_bins: int = 10,
    **kwargs: Any,
) -> Any:
    """Calibration curve: observed churn rate against predicted probability, in quantile bins.

    Points on the diagonal mean "a 30% probability really churns 3 times out of 10".

    Parameters
    ----------
    scored : pandas.DataFrame
    ax : matplotlib.axes.Axes, optional
    label, score : str
    n_bins : int, default 10
        Bins of (about) equal size by predicted probability; fewer when many customers share
        the same probability, as they do after isotonic calibration.
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    y, p = _ranked_outcomes(scored, label, score)
    ax = _axes(ax)
    # Equal-count bins; tied probabilities (common after isotonic calibration) share a bin.
    bins = pd.qcut(p, q=min(n_bins, len(p)), labels=False, duplicates="drop")
    table = (
        pd.DataFrame({"p": p, "y": y, "bin": bins})
        .groupby("bin")
        .agg(predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
    )
    table = table.sort_values("predicted")
    hi = float(max(table["predicted"].max(), table["observed"].max(), 0.05)) * 1.05
    hi = min(hi, 1.0)
    ax.plot([0, hi], [0, hi], ls="--", color="black", lw=1, label="perfectly calibrated")
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("label", "model")
    ax.plot(table["predicted"], table["observed"], **kwargs)
    ax.set_xlabel("predicted churn probability (bin mean)")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration")
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.legend(loc="upper left")
    return ax


def plot_precision_recall_at_k(
    scored: pd.DataFrame,
    ax: Any = None,
    *,
    label: str = "churned",
    score: str = "churn_probability",
    **kwargs: Any,
) -> Any:
    """Precision and recall of the list against how many customers are contacted.

    Parameters
    ----------
    scored : pandas.DataFrame
    ax : matplotlib.axes.Axes, optional
    label, score : str
    **kwargs
        Passed to both ``ax.plot`` calls.

    Returns
    -------
    matplotlib.axes.Axes
    """
    y, _ = _ranked_outcomes(scored, label, score)
    ax = _axes(ax)
    k = np.arange(1, len(y) + 1)
    hits = np.cumsum(y)
    precision = hits / k
    recall = hits / max(y.sum(), 1.0)
    ax.plot(k, precision, label="precision (share of contacted who churn)", **kwargs)
    ax.plot(k, recall, label="recall (share of churners contacted)", **kwargs)
    ax.set_xlabel("list size (customers contacted)")
    ax.set_ylabel("share")
    ax.set_title("Precision and recall by list size")
    ax.set_xlim(0, len(y))
    ax.set_ylim(0, 1.02)
    ax.legend(loc="center right")
    return ax


def plot_score_distribution(
    scored: pd.DataFrame,
    ax: Any = None,
    *,
    label: str | None = "churned",
    score: str = "churn_probability",
    bins: int = 30,
    **kwargs: Any,
) -> Any:
    """Histogram of predicted churn probabilities, split by outcome when it is known.

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per customer with ``score``; ``label`` is used when present.
    ax : matplotlib.axes.Axes, optional
    label : str or None, default "churned"
        Outcome column; ignored when absent or None.
    score : str
    bins : int, default 30
    **kwargs
        Passed to ``ax.hist``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if score not in scored.columns:
        raise ChurnDataError(
            f"scored frame has no {score!r} column; it has {list(scored.columns)[:12]}"
        )
    ax = _axes(ax)
    p = pd.to_numeric(scored[score], errors="coerce")
    edges = np.linspace(0.0, max(float(p.max()), 1e-3), bins + 1)
    if label is not None and label in scored.columns:
        y = pd.to_numeric(scored[label], errors="coerce")
        kwargs.setdefault("alpha", 0.6)
        ax.hist(p[y == 0].dropna(), bins=edges, label="stayed", color="#4C72B0", **kwargs)
        ax.hist(p[y == 1].dropna(), bins=edges, label="churned", color="#C44E52", **kwargs)
        ax.legend(loc="upper right")
    else:
        ax.hist(p.dropna(), bins=edges, color="#4C72B0", **kwargs)
    ax.set_xlabel("predicted churn probability")
    ax.set_ylabel("customers")
    ax.set_title("Score distribution")
    return ax


def plot_profit_curve(
    curve: pd.DataFrame,
    ax: Any = None,
    *,
    x: str = "list_size",
    y: str = "expected_profit",
    **kwargs: Any,
) -> Any:
    """Expected campaign profit against list size, with the profit-optimal size marked.

    Parameters
    ----------
    curve : pandas.DataFrame
        The output of :func:`churnpredict.profit_curve` (list size as the index), or any
        frame with columns ``x`` (customers contacted) and ``y`` (expected profit).
    ax : matplotlib.axes.Axes, optional
    x, y : str
        Column names.
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if x not in curve.columns and curve.index.name == x:
        curve = curve.reset_index()
    for col in (x, y):
        if col not in curve.columns:
            raise ChurnDataError(
                f"profit curve has no {col!r} column; it has {list(curve.columns)}"
            )
    ax = _axes(ax)
    kwargs.setdefault("label", "expected profit")
    ax.plot(curve[x], curve[y], **kwargs)
    ax.axhline(0.0, color="black", lw=1)
    best = curve[y].idxmax()
    bx, by = curve.loc[best, x], curve.loc[best, y]
    ax.axvline(bx, ls="--", color="grey")
    ax.scatter(
        [bx], [by], color="#C44E52", zorder=3, label=f"best: contact {int(bx):,} ({by:,.0f})"
    )
    ax.set_xlabel("list size (customers contacted, highest risk first)")
    ax.set_ylabel("expected profit")
    ax.set_title("Profit by list size")
    ax.legend(loc="lower right")
    return ax


def plot_shap_importance(
    contributions: pd.DataFrame,
    ax: Any = None,
    *,
    groups: pd.Series | dict[str, str] | None = None,
    by: str = "feature",
    max_features: int = 15,
    **kwargs: Any,
) -> Any:
    """Global importance: mean absolute SHAP contribution by feature or by driver group.

    Parameters
    ----------
    contributions : pandas.DataFrame
        SHAP contributions (log-odds), one row per customer and one column per feature.
        A ``base_value`` column, if any, is ignored.
    ax : matplotlib.axes.Axes, optional
    groups : Series or dict, optional
        Driver group of each feature (feature name -> group). Needed for ``by="group"``;
        with ``by="feature"`` it colours the bars.
    by : {"feature", "group"}, default "feature"
        ``"group"`` sums the contributions of each group's features per customer first.
    max_features : int, default 15
        Bars shown for ``by="feature"`` (the most important).
    **kwargs
        Passed to ``ax.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if by not in ("feature", "group"):
        raise ValueError(f"by={by!r}; expected 'feature' or 'group'")
    values = contributions.drop(columns=["base_value"], errors="ignore")
    groups = pd.Series(groups if groups is not None else {}, dtype=object)
    if by == "group":
        if groups.empty:
            raise ValueError("by='group' needs groups= (feature name -> driver group)")
        mapping = groups.reindex(values.columns).fillna("other")
        values = values.T.groupby(mapping.to_numpy()).sum().T
    importance = values.abs().mean().sort_values(ascending=False)
    if by == "feature":
        importance = importance.head(max_features)
        colors = [
            GROUP_COLORS.get(groups.get(f, "other"), GROUP_COLORS["other"])
            for f in importance.index
        ]
    else:
        colors = [GROUP_COLORS.get(g, GROUP_COLORS["other"]) for g in importance.index]
    ax = _axes(ax, figsize=(6.0, 0.3 * len(importance) + 1.5))
    ax.barh(np.arange(len(importance)), importance.to_numpy(), color=colors, **kwargs)
    ax.set_yticks(np.arange(len(importance)), [str(i) for i in importance.index])
    ax.invert_yaxis()
    ax.set_xlabel("mean |SHAP contribution| (log-odds)")
    ax.set_title("What drives the predictions" + (" (by driver group)" if by == "group" else ""))
    if by == "feature" and not groups.empty:
        from matplotlib.patches import Patch

        shown = list(dict.fromkeys(groups.get(f, "other") for f in importance.index))
        ax.legend(
            handles=[
                Patch(color=GROUP_COLORS.get(g, GROUP_COLORS["other"]), label=g) for g in shown
            ],
            loc="lower right",
            fontsize="small",
        )
    return ax


def plot_driver_mix(
    at_risk: pd.DataFrame,
    ax: Any = None,
    *,
    top: int | None = None,
    n_buckets: int = 5,
    column: str = "reason_group_1",
    groups: Sequence[str] | None = None,
    **kwargs: Any,
) -> Any:
    """Share of each customer's main churn driver along the at-risk list (stacked bars).

    The list (already ranked, highest risk first) is cut into ``n_buckets`` equal slices; each
    bar shows which driver group is the top reason for the customers in that slice.

    Parameters
    ----------
    at_risk : pandas.DataFrame
        Ranked list with a ``column`` of driver groups (e.g. from
        :func:`churnpredict._export.at_risk_list`), highest risk first.
    ax : matplotlib.axes.Axes, optional
    top : int, optional
        Use only the first ``top`` rows.
    n_buckets : int, default 5
    column : str, default "reason_group_1"
    groups : sequence of str, optional
        Order of the stacked groups; defaults to the groups present, most frequent first.
    **kwargs
        Passed to ``ax.bar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if column not in at_risk.columns:
        raise ChurnDataError(
            f"at-risk list has no {column!r} column; it has {list(at_risk.columns)[:12]}. "
            f"Score with explain=True to get reasons"
        )
    frame = at_risk if top is None else at_risk.head(top)
    n = len(frame)
    if n == 0:
        raise ChurnDataError("at-risk list is empty; nothing to plot")
    n_buckets = max(1, min(n_buckets, n))
    bucket = np.arange(n) * n_buckets // n
    group = frame[column].astype(object).where(frame[column].notna(), "none").to_numpy()
    share = pd.crosstab(bucket, group, normalize="index")
    if groups is None:
        groups = list(pd.Series(group).value_counts().index)
    share = share.reindex(columns=list(groups), fill_value=0.0)
    ax = _axes(ax)
    bottom = np.zeros(len(share))
    edges = [int(round(b * n / n_buckets)) for b in range(n_buckets + 1)]
    names = [f"{edges[b] + 1}-{edges[b + 1]}" for b in range(n_buckets)]
    for g in share.columns:
        ax.bar(
            names,
            share[g].to_numpy() * 100,
            bottom=bottom * 100,
            label=str(g),
            color=GROUP_COLORS.get(str(g), GROUP_COLORS["other"]),
            **kwargs,
        )
        bottom += share[g].to_numpy()
    ax.set_xlabel("rank in the at-risk list")
    ax.set_ylabel("customers (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Main churn driver along the list")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    return ax


def plot_waterfall(
    contributions: pd.Series,
    base: float,
    ax: Any = None,
    *,
    max_features: int = 10,
    labels: Mapping[str, str] | None = None,
) -> Any:
    """One customer's prediction as a waterfall, from the base value to their probability.

    Parameters
    ----------
    contributions : pandas.Series
        Feature name -> contribution, in probability points (from
        :func:`churnpredict._explain.to_shap_explanation` with ``space="probability"`` or
        :func:`churnpredict._explain.probability_contributions`), so the bars end exactly at
        the churn probability shown in the at-risk list.
    base : float
        The base probability (the calibrated expected margin).
    ax : matplotlib.axes.Axes, optional
    max_features : int, default 10
        Features drawn one by one (largest absolute contributions); the rest form one bar.
    labels : dict of str -> str, optional
        Display text per feature (e.g. the customer's reasons).

    Returns
    -------
    matplotlib.axes.Axes
        The last bar ends at ``base + contributions.sum()``, written on the plot.
    """
    values = pd.Series(contributions, dtype=np.float64).fillna(0.0)
    order = values.abs().sort_values(ascending=False, kind="stable").index
    shown = list(order[:max_features])
    rest = values.drop(index=shown).sum()
    steps = [(str((labels or {}).get(f, f)), float(values[f])) for f in shown]
    if len(order) > len(shown):
        steps.append((f"{len(order) - len(shown)} other features", float(rest)))
    ax = _axes(ax, figsize=(7.0, 0.35 * len(steps) + 1.8))
    start = float(base)
    for i, (_name, step) in enumerate(steps):
        ax.barh(i, step, left=start, color="#C44E52" if step > 0 else "#4C72B0")
        start += step
    end = float(base) + float(values.sum())
    ax.axvline(float(base), color="#888888", lw=0.8, ls=":")
    ax.axvline(end, color="#222222", lw=1.0)
    ax.set_yticks(np.arange(len(steps)), [name for name, _ in steps])
    ax.invert_yaxis()
    ax.set_xlabel(f"churn probability: base {base:.3f} -> {end:.3f}")
    ax.set_title(f"Why this customer scores {end:.3f}")
    return ax
