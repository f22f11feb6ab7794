"""Point-in-time feature builders, one module per driver group.

Every builder sees only events strictly before each cutoff; windows are
``[cutoff - window, cutoff)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .._data import EventData
from .._eventindex import EventIndex
from .._kinds import BUSINESS_KINDS
from .._progress import ProgressArg, reporter
from .._resources import return_free_memory
from .._windows import parse_window
from ._base import (
    DRIVER_GROUPS,
    INFO_FIELDS,
    FeatureBuilder,
    FeatureInfo,
    FeatureRows,
    as_rows,
    format_value,
)
from ._engagement import EngagementFeatures
from ._monetary import MonetaryFeatures, SpendFeatures, expected_spend
from ._payments import PaymentFeatures
from ._profile import ProfileFeatures
from ._purchases import PurchaseHistoryFeatures
from ._support import SupportFeatures
from ._tenure import TenureFeatures
from ._usage import UsageFeatures

__all__ = [
    "DRIVER_GROUPS",
    "EngagementFeatures",
    "EventIndex",
    "FeatureBuilder",
    "FeatureInfo",
    "FeatureRows",
    "MonetaryFeatures",
    "PaymentFeatures",
    "ProfileFeatures",
    "PurchaseHistoryFeatures",
    "SpendFeatures",
    "SupportFeatures",
    "TenureFeatures",
    "UsageFeatures",
    "as_rows",
    "build_features",
    "default_builders",
    "describe_features",
    "expected_spend",
    "format_value",
    "parse_window",
]


logger = logging.getLogger("churnpredict")

#: Fewest rows in a block built on its own thread: smaller blocks cost more than they save.
MIN_BLOCK_ROWS = 50_000


def default_builders(
    business: str = "subscription", *, horizon: Any = None, windows: Sequence[Any] | None = None
) -> list[FeatureBuilder]:
    """The default feature families of a business kind.

    Parameters
    ----------
    business : {"subscription", "purchases", "usage"}, default "subscription"
        * subscription: engagement, support, payments, monetary (:class:`MonetaryFeatures`:
          paid amounts, point-in-time MRR, price changes, refunds), tenure, profile;
        * purchases: the same with :class:`SpendFeatures` as the monetary family (spend per
          period, orders, average order value, spend trend, refunds; no MRR, no price),
          plus :class:`PurchaseHistoryFeatures` (order gaps, overdue-ness, order-rate
          trends, spend per order, BG/NBD probabilities);
        * usage (an app's or service's event log): engagement, :class:`UsageFeatures`
          (sessions, active days, regularity), support, tenure, profile; no payment or
          monetary family.
    horizon : duration, optional
        The prediction horizon, for the families that look ahead (BG/NBD's expected orders
        and P(no order) in the horizon); default 90 days.
    windows : sequence of durations, optional
        Windows of every family that has a ``windows`` parameter; default each family's own.

    Returns
    -------
    list of FeatureBuilder
        Unfitted builders, in column order.
    """
    if business == "subscription":
        money: list[FeatureBuilder] = [PaymentFeatures(), MonetaryFeatures()]
    elif business == "purchases":
        money = [PaymentFeatures(), SpendFeatures()]
    elif business == "usage":
        money = []
    else:
        raise ValueError(f"business={business!r}; expected one of {BUSINESS_KINDS}")
    builders = [
        EngagementFeatures(),
        *(
            [UsageFeatures(horizon=28 if horizon is None else horizon)]
            if business == "usage"
            else []
        ),
        SupportFeatures(),
        *money,
        TenureFeatures(),
        ProfileFeatures(),
    ]
    if business == "purchases":
        builders.append(PurchaseHistoryFeatures(horizon=90 if horizon is None else horizon))
    if windows is not None:
        for builder in builders:
            if "windows" in builder.get_params():
                builder.set_params(windows=tuple(windows))
    return builders


def build_features(
    data: EventData,
    rows: Any,
    builders: Sequence[FeatureBuilder] | None = None,
    *,
    fit: bool = True,
    progress: ProgressArg = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Build every applicable family's features for (customer_id, cutoff) rows.

    Parameters
    ----------
    data : EventData
    rows : cutoffs, pandas.MultiIndex or FeatureRows
        Cutoffs (the population at each is computed with :func:`churnpredict.population`),
        or explicit (customer_id, cutoff) rows such as a labels frame's index.
    builders : sequence of FeatureBuilder, optional
        Defaults to :func:`default_builders`. Families whose tables are absent are skipped
        with a logged note.
    fit : bool, default True
        Fit each builder on ``data`` first (learns event types, categories). Pass False to
        reuse builders fitted earlier (scoring), so columns match training.
    progress : bool or callable, optional
        Default: a bar when the work takes more than a second or two and the output is a
        notebook or terminal; False: silent; a callable: ``progress(builder_name, step,
        total)`` after each family (see :mod:`churnpredict._progress`).
    n_jobs : int, optional
        Threads that build blocks of rows at once (families with ``row_wise = True``, on at
        least :data:`MIN_BLOCK_ROWS` rows a block). Default (None or -1): every processor
        this process may use. The features are the same, bit for bit, whatever the number.

    Returns
    -------
    pandas.DataFrame
        Indexed by (customer_id, cutoff), one column per feature.

    Examples
    --------
    >>> import churnpredict as cp
    >>> data = cp.load_sample()
    >>> X = cp.build_features(data, ["2024-06-01"])
    >>> X.index.names
    FrozenList(['customer_id', 'cutoff'])
    """
    builders = default_builders() if builders is None else list(builders)
    feature_rows = as_rows(data, rows)
    parts = []
    active = [b for b in builders if b.applies_to(data)]
    for b in builders:
        if b not in active:
            logger.info(
                "%s skipped: it does not apply to this data (needs %s)",
                type(b).__name__,
                ", ".join(b.tables) or "columns it lacks",
            )
    with reporter(progress, "features") as report:
        for step, builder in enumerate(active, start=1):
            if fit:
                builder.fit(data, feature_rows)
            parts.append(_build_in_blocks(builder, data, feature_rows, n_jobs))
            if report is not None:
                report(type(builder).__name__, step, len(active))
    if not parts:
        return pd.DataFrame(index=feature_rows.index)
    out = pd.concat(parts, axis=1)
    return_free_memory()  # the threads' temporaries: the next step (the model) needs the room
    dup = out.columns[out.columns.duplicated()].tolist()
    if dup:
        raise ValueError(f"two builders produce the same feature names {dup}; rename one")
    return out


def usable_cores() -> int:
    """Processors this process may run on (its CPU affinity where the system tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _build_in_blocks(
    builder: FeatureBuilder, data: EventData, rows: FeatureRows, n_jobs: int | None
) -> pd.DataFrame:
    """``builder.build(data, rows)``, in blocks of rows on several threads when it may be.

    Blocks are contiguous runs of rows; joined in order they are the whole, bit for bit, for
    a ``row_wise`` builder. The threads share ``data`` and its cached indexes; NumPy lets go
    of the interpreter lock in the searches and sums that make most of the work.
    """
    workers = usable_cores() if n_jobs is None or n_jobs < 1 else int(n_jobs)
    blocks = min(workers, len(rows) // MIN_BLOCK_ROWS)
    if not builder.row_wise or blocks < 2:
        return builder.build(data, rows)
    edges = np.linspace(0, len(rows), blocks + 1).astype(np.int64)
    parts = Parallel(n_jobs=blocks, backend="threading")(
        delayed(builder.build)(data, _row_block(rows, lo, hi))
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )
    out = pd.concat(parts, axis=0)
    out.index = rows.index
    return out


def _row_block(rows: FeatureRows, lo: int, hi: int) -> FeatureRows:
    return FeatureRows(rows.index[lo:hi], rows.codes[lo:hi], rows.cutoffs[lo:hi])


def describe_features(
    builders: Sequence[FeatureBuilder], data: EventData | None = None
) -> pd.DataFrame:
    """Metadata of the builders' features: name, group, description (one row each).

    Parameters
    ----------
    builders : sequence of FeatureBuilder
        Fitted builders.
    data : EventData, optional
        If given, only builders that apply to it are listed.

    Returns
    -------
    pandas.DataFrame
        Indexed by feature name, columns ``group`` and ``description`` then the other
        :class:`FeatureInfo` fields (``description_if_zero``, ``description_if_missing``,
        ``kind``, ``noun``, ``fact``, ``window_days``, ``is_tenure``) that reasons use.
    """
    infos: list[FeatureInfo] = []
    for b in builders:
        if data is not None and not b.applies_to(data):
            continue
        infos.extend(b.feature_info())
    return pd.DataFrame(
        {f: pd.Series([getattr(i, f) for i in infos], dtype=object) for f in INFO_FIELDS},
    ).set_axis(pd.Index([i.name for i in infos], name="feature"))
