"""Tenure features: the age of the relationship at each cutoff and the onboarding period.

They read only ``customers.signup_at``, known from signup on, so no window reaches past the
cutoff; the tenure is measured over ``[signup_at, cutoff)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._exceptions import ChurnDataError, DataQualityWarning
from .._params import Constraint, Real
from ._base import FeatureBuilder, FeatureInfo, FeatureRows

__all__ = ["TenureFeatures"]

_DAY_NS = 86_400 * 10**9


class TenureFeatures(FeatureBuilder):
    """Days since signup at the cutoff, and whether the customer is still onboarding.

    Tenure is the length of ``[signup_at, cutoff)``; nothing at or after the cutoff is read.
    The family applies whenever ``customers`` has a ``signup_at`` column, snapshot tables
    included (their cutoff is ``EventData(snapshot_at=...)``).

    Parameters
    ----------
    onboarding_days : float, default 30
        Customers with a tenure below this many days are new (``is_new`` = 1).

    Attributes
    ----------
    onboarding_days_ : float
        Validated ``onboarding_days``.

    Notes
    -----
    Columns:

    * ``tenure_days``: ``(cutoff - signup_at)`` in days (fractional); NaN when the customer
      signed up after the cutoff or has no signup time;
    * ``is_new``: 1.0 when ``tenure_days < onboarding_days``, else 0.0 (NaN with the tenure).

    Examples
    --------
    >>> import pandas as pd
    >>> from churnpredict import EventData
    >>> customers = pd.DataFrame({"customer_id": [1, 2],
    ...                           "signup_at": ["2024-01-01", "2024-03-20"],
    ...                           "churned_at": [None, None]})
    >>> data = EventData(customers)
    >>> TenureFeatures().fit(data).build(data, ["2024-04-01"])["tenure_days"].tolist()
    [91.0, 12.0]
    """

    tables = ("customers",)
    group = "tenure"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "onboarding_days": Real(
            0, 36525, closed="right", expected="a positive number of days (at most 100 years)"
        ),
    }

    def __init__(self, *, onboarding_days: float = 30) -> None:
        self.onboarding_days = onboarding_days

    def applies_to(self, data: EventData) -> bool:
        """True when ``customers`` has a ``signup_at`` column."""
        return data.customers is not None and "signup_at" in data.customers.columns

    def require_tables(self, data: EventData) -> None:
        """Raise :class:`ChurnDataError` when ``customers`` has no ``signup_at`` column."""
        _require_signup(data, type(self).__name__)

    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """Check ``onboarding_days`` and that signup times exist; count late signups.

        Parameters
        ----------
        data : EventData
        rows : ignored
            Accepted for the common builder interface.

        Returns
        -------
        dict
            ``customers`` and, for a snapshot table, ``late`` (signups on or after the
            snapshot date) and ``snapshot_at``.
        """
        signup = data.customers["signup_at"]
        late = int((signup >= data.snapshot_at).sum()) if data.is_snapshot else 0
        return {
            "customers": len(signup),
            "late": late,
            "snapshot_at": data.snapshot_at if data.is_snapshot else None,
        }

    @classmethod
    def combine_statistics(cls, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Customers and late signups summed over the parts."""
        parts = list(parts)
        if not parts:
            raise ValueError("TenureFeatures.combine_statistics needs at least one part")
        return {
            "customers": sum(p["customers"] for p in parts),
            "late": sum(p["late"] for p in parts),
            "snapshot_at": parts[0]["snapshot_at"],
        }

    def _fit(self, stats: dict[str, Any]) -> None:
        """Validate ``onboarding_days``; warn when snapshot signups make tenure unknown.

        Parameters
        ----------
        stats : dict
            See :meth:`fit_statistics`.
        """
        late = int(stats.get("late", 0))
        if late:
            warnings.warn(
                f"customers.signup_at is on or after the snapshot date "
                f"{pd.Timestamp(stats['snapshot_at']).date()} for {late} of "
                f"{stats['customers']} customers, so their "
                f"tenure is unknown (NaN); pass EventData(..., snapshot_at='YYYY-MM-DD') "
                f"with the date the table was exported",
                DataQualityWarning,
                stacklevel=4,
            )

    def _fit_parameters(self) -> None:
        """Take the onboarding period in days."""
        self.onboarding_days_ = float(self.onboarding_days)

    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        onboarding = f"{self.onboarding_days_:g}"
        return [
            FeatureInfo(
                "tenure_days",
                self.group,
                "customer for {value}",
                kind="days",
                fact="tenure",
                is_tenure=True,
            ),
            FeatureInfo(
                "is_new",
                self.group,
                f"new customer, in the first {onboarding} days after signup",
                f"past the first {onboarding} days after signup",
                kind="flag",
                fact="tenure",
            ),
        ]

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Tenure features for every (customer_id, cutoff) row."""
        signup = data.customers["signup_at"].to_numpy(dtype="datetime64[ns]")[rows.codes]
        known = ~np.isnat(signup)
        delta = (
            rows.cutoffs.astype("datetime64[ns]").view(np.int64) - signup.view(np.int64)
        ).astype(np.float64) / _DAY_NS
        tenure = np.where(known & (delta >= 0), delta, np.nan)
        with np.errstate(invalid="ignore"):
            is_new = np.where(
                np.isnan(tenure), np.nan, (tenure < self.onboarding_days_).astype(np.float64)
            )
        return pd.DataFrame({"tenure_days": tenure, "is_new": is_new}, index=rows.index)


def _require_signup(data: EventData, who: str) -> None:
    if "signup_at" not in data.customers.columns:
        raise ChurnDataError(
            f"{who} needs customers.signup_at, but customers has columns "
            f"{list(data.customers.columns)[:20]}; add the signup time or leave {who} out of "
            f"the builders"
        )
