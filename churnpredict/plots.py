"""Plots of churnpredict results.

Every function follows ``plot_x(obj, ax=None, **kwargs) -> Axes``: it draws on ``ax`` (a new
figure when None) and returns the Axes. matplotlib is imported inside the functions, so importing
this module is cheap and works on machines without a display (the Agg backend is enough).

Business metrics: :func:`plot_churn_rate` and :func:`plot_revenue_churn` take the table of
:func:`churnpredict.metrics.churn_metrics` (segmented or not); :func:`plot_cohort_retention`
takes the table of :func:`churnpredict.metrics.cohort_retention`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_churn_rate", "plot_revenue_churn", "plot_cohort_retention"]


def plot_churn_rate(metrics: pd.DataFrame, ax: Any = None, **kwargs: Any) -> Any:
    """Churn rate per period: one line, or one line per segment.

    Without segments, the voluntary and involuntary churn rates are drawn as dashed lines when
    the metrics know the churn type.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Output of :func:`churnpredict.metrics.churn_metrics`.
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

    missing = [c for c in ("churn_rate", "churned_voluntary", "churned_involuntary",
                           "customers_start") if c not in metrics.columns]
    if missing:
        raise ValueError(
            f"metrics has no column(s) {missing}; pass the table returned by "
            f"churnpredict.metrics.churn_metrics"
        )
    if ax is None:
        _, ax = plt.subplots()
    if isinstance(metrics.index, pd.MultiIndex):
        for value, part in metrics.groupby(level=1, sort=False, dropna=False):
            ax.plot(part.index.get_level_values(0), part["churn_rate"], label=str(value),
                    **kwargs)
        ax.legend(title=str(metrics.index.names[1]))
    else:
        ax.plot(metrics.index, metrics["churn_rate"], label="churn rate", **kwargs)
        at_start = metrics["customers_start"].where(metrics["customers_start"] > 0)
        for kind in ("voluntary", "involuntary"):
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
        Output of :func:`churnpredict.metrics.churn_metrics`.
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

    missing = [c for c in ("gross_revenue_churn", "net_revenue_churn")
               if c not in metrics.columns]
    if missing:
        raise ValueError(
            f"metrics has no column(s) {missing}; pass the table returned by "
            f"churnpredict.metrics.churn_metrics"
        )
    if ax is None:
        _, ax = plt.subplots()
    if isinstance(metrics.index, pd.MultiIndex):
        parts = [(f"{value} ", part, part.index.get_level_values(0))
                 for value, part in metrics.groupby(level=1, sort=False, dropna=False)]
    else:
        parts = [("", metrics, metrics.index)]
    for prefix, part, x in parts:
        (gross,) = ax.plot(x, part["gross_revenue_churn"], label=f"{prefix}gross revenue churn",
                           **kwargs)
        ax.plot(x, part["net_revenue_churn"], label=f"{prefix}net revenue churn",
                **{"color": gross.get_color(), **kwargs, "linestyle": "--"})
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
        Output of :func:`churnpredict.metrics.cohort_retention` (shares between 0 and 1,
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
            ax.text(c, r, f"{value:.0%}", ha="center", va="center", fontsize="small",
                    color="white" if value > 0.6 else "black")
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
