"""The season a fit never saw: a warning when the horizon scored next lies outside it.

Training stacks cutoffs over a few months; a business whose churn follows the year may churn
more or less in the weeks after ``as_of`` than in any training horizon. :func:`season_gap`
says so at fit (:class:`~churnpredict.SeasonWarning`), with what to do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._windows import parse_window

__all__ = ["SEASON_COVERAGE", "SEASON_P_VALUE", "season_gap"]

#: The scoring horizon is in an unseen part of the year when training horizons cover less
#: than this share of its days of the year.
SEASON_COVERAGE = 0.5
#: ... and the training churn rate moved across the cutoffs more than chance allows: a
#: chi-square test of the rates' homogeneity below this p-value (a rate that held steady over
#: the weeks training saw gives no sign of a season, and a short log always misses the rest
#: of the year).
SEASON_P_VALUE = 0.01


def _steady(churned: np.ndarray, rows: np.ndarray) -> bool:
    """Whether churn rates per cutoff are one rate and chance (p >= :data:`SEASON_P_VALUE`)."""
    from scipy.stats import chi2_contingency

    table = np.stack([churned, rows - churned]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return True  # one cutoff, or nobody (or everybody) churned: no rate moved
    return bool(chi2_contingency(table, correction=False).pvalue >= SEASON_P_VALUE)


def _days_of_year(starts: Any, days: int) -> np.ndarray:
    """Which of the 365 days of the year the horizons ``[start, start + days)`` touch."""
    seen = np.zeros(365, dtype=bool)
    for start in pd.DatetimeIndex(starts):
        first = (start - pd.Timestamp(start.year, 1, 1)).days
        seen[(first + np.arange(min(days, 365))) % 365] = True
    return seen


def season_gap(
    labels: pd.DataFrame,
    horizon: pd.Timedelta,
    as_of: pd.Timestamp,
    data_start: pd.Timestamp,
    cutoff_freq: Any,
) -> str | None:
    """Why probabilities may be off in the horizon after ``as_of``, or None.

    The horizon scored right after training, ``[as_of, as_of + horizon)``, is compared by
    day of the year with the training horizons ``[cutoff, cutoff + horizon)``: when they
    cover less than :data:`SEASON_COVERAGE` of its days, churn in that part of the year
    was never seen, and a seasonal business may churn more or less than the model expects
    (its ranking holds better than its probabilities). The warning is given only when the
    training churn rate itself moved across the cutoffs more than chance allows (chi-square
    test of homogeneity, p < :data:`SEASON_P_VALUE`): a rate that held steady over the
    weeks training saw gives no sign of a season, and a log of a few weeks always misses
    the rest of the year.

    Parameters
    ----------
    labels : pandas.DataFrame
        Training labels (``churned``) indexed by (customer_id, cutoff).
    horizon : pandas.Timedelta
    as_of : pandas.Timestamp
        The end of training: the next scoring time.
    data_start : pandas.Timestamp
        The first event: whether a year earlier could have been used.
    cutoff_freq : duration
        Spacing of the training cutoffs.

    Returns
    -------
    str or None
        A warning message naming the dates, the training churn rates and what to do.
    """
    days = max(int(horizon / pd.Timedelta(days=1)), 1)
    cutoffs = labels.index.get_level_values("cutoff").unique().sort_values()
    if len(cutoffs) == 0:
        return None
    scored = _days_of_year([as_of], days)
    covered = (scored & _days_of_year(cutoffs, days)).sum() / scored.sum()
    if covered >= SEASON_COVERAGE:
        return None
    counts = labels.groupby(level="cutoff")["churned"].agg(["sum", "count"])
    rates = counts["sum"] / counts["count"]
    if _steady(counts["sum"].to_numpy(), counts["count"].to_numpy()):
        return None
    end = as_of + horizon
    message = (
        f"the scoring horizon after {as_of:%Y-%m-%d} ({as_of:%d %b}-{end:%d %b}) falls in a "
        f"part of the year no training horizon covered ({covered:.0%} of its days; training "
        f"horizons ran from {cutoffs[0]:%Y-%m-%d} to {cutoffs[-1] + horizon:%Y-%m-%d}, with "
        f"churn rates from {rates.min():.1%} to {rates.max():.1%}): if churn is seasonal, "
        f"the probabilities may run high or low there while the ranking holds. Compare the "
        f"mean predicted with the observed churn once the first outcomes are in "
        f"(churnpredict evaluate) and recalibrate (churnpredict recalibrate)"
    )
    freq = parse_window(cutoff_freq)
    if data_start <= as_of - pd.Timedelta(days=365):
        needed = int(np.ceil((pd.Timedelta(days=365) - horizon) / freq)) + 1
        message += f", or train with n_cutoffs={needed} to reach the same weeks a year earlier"
    return message
