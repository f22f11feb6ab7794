"""What scoring a fitted pipeline checks and adds: the families' tables and columns, the
training column order, and what each scored customer is worth.

Shared by :meth:`ChurnPipeline.score <churnpredict._pipeline.ChurnPipeline.score>` and the
Dask scorer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._data import EventData
from ._exceptions import ChurnDataError, ChurnModelError
from .features import FeatureBuilder, expected_spend

__all__ = ["align_columns", "check_families", "check_inputs", "customer_value"]


def check_families(builders: Sequence[FeatureBuilder], data: EventData) -> None:
    """Refuse data lacking a table a fitted family reads.

    Raises
    ------
    ChurnDataError
        Naming the families and the tables.
    """
    absent = [b for b in builders if not b.applies_to(data)]
    if absent:
        tables = sorted({t for b in absent for t in b.tables if getattr(data, t, None) is None})
        raise ChurnDataError(
            f"{', '.join(type(b).__name__ for b in absent)} were trained but the data lacks "
            f"table(s) {tables}; add them, or retrain without those families"
        )


def check_inputs(required: dict[str, list[str]], data: EventData) -> None:
    """Refuse data lacking a table or column of ``required`` (:func:`required_inputs`).

    Raises
    ------
    ChurnDataError
        Naming the table or ``table.column``.
    """
    for table, columns in required.items():
        frame = getattr(data, table, None)
        if frame is None:
            raise ChurnDataError(
                f"the pipeline was trained with the {table} table but the data has none; "
                f"add {table}, or retrain without it"
            )
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            names = ", ".join(f"{table}.{c}" for c in missing)
            raise ChurnDataError(
                f"{table} is missing column(s) {missing} that the pipeline was trained "
                f"with ({names}): without them those features would be empty; add them "
                f"(missing values are fine), or retrain on data without them"
            )


def align_columns(X: pd.DataFrame, expected: Sequence[str]) -> pd.DataFrame:
    """Features built for scoring in training column order.

    Raises
    ------
    ChurnModelError
        Naming the training columns missing and the unexpected ones.
    """
    expected = list(expected)
    if list(X.columns) == expected:
        return X
    missing = [c for c in expected if c not in X.columns]
    extra = [c for c in X.columns if c not in expected]
    if missing or extra:
        raise ChurnModelError(
            f"the features built for scoring differ from training: missing {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}, unexpected {extra[:10]}"
            f"{' ...' if len(extra) > 10 else ''}; score data with the same tables and "
            f"columns as the training data, or retrain"
        )
    return X[expected]


def customer_value(
    data: EventData, X: pd.DataFrame, horizon: pd.Timedelta, business: str
) -> pd.DataFrame:
    """What each scored customer is worth: ``mrr`` (subscriptions) or ``expected_spend``.

    Subscriptions: the point-in-time MRR feature, else ``customers.mrr``, else NaN.
    Purchases: :func:`~churnpredict.features.expected_spend` over ``horizon``. Usage: like
    subscriptions when customers have ``mrr``; otherwise nothing (no column): an event log
    holds no money.

    Parameters
    ----------
    data : EventData
    X : pandas.DataFrame
        Features indexed by (customer_id, cutoff).
    horizon : pandas.Timedelta
    business : {"subscription", "purchases", "usage"}

    Returns
    -------
    pandas.DataFrame
        One column, indexed by ``customer_id`` in the order of ``X``.
    """
    customer_ids = X.index.get_level_values("customer_id")
    index = pd.Index(customer_ids, name="customer_id")
    if business == "purchases":
        spend = expected_spend(data, X.index, horizon).to_numpy()
        return pd.DataFrame({"expected_spend": spend}, index=index)
    if business == "usage" and "mrr" not in X.columns and "mrr" not in data.customers.columns:
        return pd.DataFrame(index=index)  # no money known: no value, no revenue at risk
    mrr = (
        X["mrr"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "mrr" in X.columns
        else np.full(len(X), np.nan)
    )
    if "mrr" in data.customers.columns:
        static = data.customers.set_index("customer_id")["mrr"]
        known = (
            pd.to_numeric(static, errors="coerce")
            .reindex(customer_ids)
            .to_numpy(dtype=np.float64, na_value=np.nan)
        )
        mrr = np.where(np.isnan(mrr), known, mrr)
    return pd.DataFrame({"mrr": mrr}, index=index)
