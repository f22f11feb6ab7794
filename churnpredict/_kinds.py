"""The kinds and statuses churnpredict speaks of, each defined once as a ``Literal`` type.

Each type names the values a parameter or a column may take; the tuple beside it is the same
values in order (``typing.get_args``), for checks and messages. A leaf module: it imports
nothing from the package.

Examples
--------
>>> BUSINESS_KINDS
('subscription', 'purchases', 'usage')
>>> "lapsed" in STATUSES
True
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ACTIVITY_VALUE_KINDS",
    "BUSINESS_KINDS",
    "CHURN_TYPES",
    "GROUPS",
    "LABEL_KINDS",
    "PAYMENT_STATUSES",
    "STATUSES",
    "ActivityValueKind",
    "BusinessKind",
    "ChurnType",
    "Group",
    "LabelKind",
    "PaymentStatus",
    "Status",
]

#: What a business sells, which decides the features, the value column and the actions:
#: recurring payments, one-off orders, or an app's use without billing.
BusinessKind = Literal["subscription", "purchases", "usage"]
BUSINESS_KINDS: tuple[str, ...] = get_args(BusinessKind)

#: How churn is defined: a recorded cancellation (``customers.churned_at``), or no activity
#: over the horizon. ``"auto"`` (cancellation when churn dates exist) is accepted beside them.
LabelKind = Literal["cancellation", "inactivity"]
LABEL_KINDS: tuple[str, ...] = get_args(LabelKind)

#: Status of a scored customer: ``active`` (active in the lookback), ``lapsed`` (inactivity
#: churn only: no activity in the lookback) or ``new`` (signed up within one horizon).
Status = Literal["active", "lapsed", "new"]
STATUSES: tuple[str, ...] = get_args(Status)

#: Canonical payment statuses (``payments.status``).
PaymentStatus = Literal["succeeded", "failed", "refunded"]
PAYMENT_STATUSES: tuple[str, ...] = get_args(PaymentStatus)

#: Canonical cancellation kinds (``customers.churn_type``).
ChurnType = Literal["voluntary", "involuntary"]
CHURN_TYPES: tuple[str, ...] = get_args(ChurnType)

#: What ``activity.value`` may be declared to hold (``EventData(value_kind=...)``): money,
#: seconds, or a number of things. Undeclared (None), it is money only in a shop.
ActivityValueKind = Literal["amount", "duration", "count"]
ACTIVITY_VALUE_KINDS: tuple[str, ...] = get_args(ActivityValueKind)

#: The groups of an at-risk list with a holdout: contacted, or held out for comparison.
Group = Literal["treatment", "control"]
GROUPS: tuple[str, ...] = get_args(Group)
