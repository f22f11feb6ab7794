"""What a retention team does about a customer: an action per driver group and status.

The first reason's driver group says why a customer is at risk; their status (``new``,
``active`` or ``lapsed``, see :func:`churnpredict._labels.customer_status`) says where they
are. Together they pick the suggested action: onboarding help for a new customer, a
win-back offer only for a lapsed one, billing help for payment failures and a service call
for ticket trouble whatever the status. Teams override any cell: ``{group: action}`` for
every status, ``{status: {group: action}}`` for one (the ``[actions]`` table of the config,
with ``[actions.lapsed]`` sub-tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._kinds import BUSINESS_KINDS, STATUSES
from .features import DRIVER_GROUPS

__all__ = [
    "DEFAULT_ACTIONS",
    "PURCHASE_ACTIONS",
    "USAGE_ACTIONS",
    "STATUS_ACTIONS",
    "PURCHASE_STATUS_ACTIONS",
    "USAGE_STATUS_ACTIONS",
    "GROUP_MEANINGS",
    "PURCHASE_GROUP_MEANINGS",
    "USAGE_GROUP_MEANINGS",
    "action_table",
    "check_actions",
    "group_meanings",
    "suggested_actions",
]

#: Suggested action per driver group for an active customer (and for every status unless
#: :data:`STATUS_ACTIONS` says otherwise).
DEFAULT_ACTIONS: dict[str, str] = {
    "support": "proactive service call",
    "payments": "billing help: card update and dunning follow-up",
    "engagement": "re-engagement campaign / product training",
    "monetary": "loyalty offer / price review",
    "tenure": "onboarding help",
    "profile": "account review",
}
#: What changes with the status: a new customer gets onboarding help, a lapsed one a win-back
#: offer, unless the driver is payments or support (billing help, service call).
STATUS_ACTIONS: dict[str, dict[str, str]] = {
    "new": {"engagement": "onboarding help", "profile": "onboarding help"},
    "lapsed": {
        "engagement": "win-back offer",
        "monetary": "win-back offer",
        "tenure": "win-back offer",
        "profile": "win-back offer",
    },
}

#: Suggested actions of purchase data (scores with ``expected_spend``) for an active
#: customer: shopper wording, no price review.
PURCHASE_ACTIONS: dict[str, str] = {
    **DEFAULT_ACTIONS,
    "engagement": "re-engagement email / next-order reminder",
    "monetary": "loyalty offer / voucher for the next order",
    "tenure": "re-engagement email / next-order reminder",
}
_WELCOME = "welcome follow-up / second-order incentive"
#: Purchase data by status: new buyers are welcomed, lapsed ones won back.
PURCHASE_STATUS_ACTIONS: dict[str, dict[str, str]] = {
    "new": {"engagement": _WELCOME, "monetary": _WELCOME, "tenure": _WELCOME, "profile": _WELCOME},
    "lapsed": STATUS_ACTIONS["lapsed"],
}

#: Suggested actions of an app's or service's log of use (business ``usage``) for an active
#: user: the groups its features fall in, worded for users, not buyers.
USAGE_ACTIONS: dict[str, str] = {
    "engagement": "re-engagement message / tips on what they used",
    "support": "proactive service call",
    "tenure": "onboarding help",
    "profile": "account review",
}
#: A log of use by status: new users get onboarding help, lapsed ones a win-back message.
USAGE_STATUS_ACTIONS: dict[str, dict[str, str]] = {
    "new": {"engagement": "onboarding help", "profile": "onboarding help"},
    "lapsed": {
        "engagement": "win-back message / what is new since their last visit",
        "tenure": "win-back message / what is new since their last visit",
        "profile": "win-back message / what is new since their last visit",
    },
}

#: What each driver group covers, for the legend sheet and the report.
GROUP_MEANINGS: dict[str, str] = {
    "engagement": "usage: recency, frequency and trend of activity",
    "support": "support tickets: volume, time to resolve, satisfaction",
    "payments": "payment failures and dunning (risk of involuntary churn)",
    "monetary": "spend, MRR and price changes",
    "tenure": "age of the relationship and onboarding",
    "profile": "static attributes such as plan or region",
}

#: What each driver group covers in purchase data (no MRR, no price).
PURCHASE_GROUP_MEANINGS: dict[str, str] = {
    **GROUP_MEANINGS,
    "engagement": "orders: recency, frequency and trend (an order is a day with purchases)",
    "monetary": "spend: amounts paid per period and per order, spend trend",
}

#: What each driver group covers in a log of use (no payment or monetary family).
USAGE_GROUP_MEANINGS: dict[str, str] = {
    "engagement": "use: sessions, active days, events and their types, recency and trend",
    "support": GROUP_MEANINGS["support"],
    "tenure": GROUP_MEANINGS["tenure"],
    "profile": GROUP_MEANINGS["profile"],
}

#: Per business kind: the action per group, the per-status changes, the groups' meanings.
_BY_KIND: dict[str, tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]] = {
    "subscription": (DEFAULT_ACTIONS, STATUS_ACTIONS, GROUP_MEANINGS),
    "purchases": (PURCHASE_ACTIONS, PURCHASE_STATUS_ACTIONS, PURCHASE_GROUP_MEANINGS),
    "usage": (USAGE_ACTIONS, USAGE_STATUS_ACTIONS, USAGE_GROUP_MEANINGS),
}


def _kind(kind: str) -> str:
    if kind not in BUSINESS_KINDS:
        raise ValueError(f"kind={kind!r}; expected one of {list(BUSINESS_KINDS)}")
    return kind


def group_meanings(kind: str = "subscription") -> dict[str, str]:
    """What each driver group covers, in the words of a business kind (a copy).

    A log of use (``usage``) has no payments or monetary group.
    """
    return dict(_BY_KIND[_kind(kind)][2])


def check_actions(actions: Any) -> dict[str, Any]:
    """``actions`` as a plain dict, or ValueError saying what an override looks like.

    Parameters
    ----------
    actions : dict
        ``{group: action}`` (every status) and ``{status: {group: action}}`` (one status),
        in any mix.

    Returns
    -------
    dict
        A copy, the per-status tables copied too.
    """
    example = (
        "a dict of driver group -> action text, with optional per-status tables such as "
        "{'lapsed': {'engagement': 'win-back voucher'}}"
    )
    if not isinstance(actions, Mapping):
        raise ValueError(f"actions={actions!r}; expected {example}")
    out: dict[str, Any] = {}
    for key, value in actions.items():
        if isinstance(value, Mapping) and key in STATUSES:
            ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
            out[key] = dict(value)
        else:
            ok = isinstance(key, str) and isinstance(value, str) and key not in STATUSES
            out[key] = value
        if not ok:
            raise ValueError(
                f"actions={dict(actions)!r}: {key!r} = {value!r}; expected {example} "
                f"(statuses: {', '.join(STATUSES)})"
            )
    return out


def action_table(
    kind: str = "subscription", actions: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The suggested action of every driver group (rows) and status (columns).

    Parameters
    ----------
    kind : {"subscription", "purchases", "usage"}, default "subscription"
        The business kind: shopper wording for purchases, user wording (and only the groups
        a log of use has) for usage.
    actions : dict, optional
        Overrides (see :func:`check_actions`): ``{group: action}`` wins over the defaults
        for every status, ``{status: {group: action}}`` over everything for that status.

    Returns
    -------
    pandas.DataFrame
        Indexed by driver group (the kind's groups, then any other group the overrides name),
        one column per status.

    Examples
    --------
    >>> table = action_table()
    >>> table.loc["engagement"].tolist()  # active, lapsed, new
    ['re-engagement campaign / product training', 'win-back offer', 'onboarding help']
    >>> action_table(actions={"lapsed": {"support": "call and apologise"}}).loc["support"].tolist()
    ['proactive service call', 'call and apologise', 'proactive service call']
    """
    given = check_actions(actions or {})
    base, by_status, meanings = _BY_KIND[_kind(kind)]
    per_group = {k: v for k, v in given.items() if isinstance(v, str)}
    extra = {g for table in given.values() if isinstance(table, dict) for g in table}
    own = [g for g in DRIVER_GROUPS if g in meanings]
    groups = own + sorted((set(per_group) | extra) - set(own))
    columns = {}
    for status in STATUSES:
        columns[status] = [
            given.get(status, {}).get(group)
            or per_group.get(group)
            or by_status.get(status, {}).get(group)
            or base.get(group, "")
            for group in groups
        ]
    return pd.DataFrame(columns, index=pd.Index(groups, name="driver_group"))


def suggested_actions(
    groups: Any,
    statuses: Any,
    *,
    kind: str = "subscription",
    actions: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """The action for each customer's first driver group and status ("" without a reason).

    Parameters
    ----------
    groups : array-like of str
        ``reason_group_1`` per customer ("" when there is no reason).
    statuses : array-like of str
        ``status`` per customer; an unknown or empty status reads as ``active``.
    kind : {"subscription", "purchases", "usage"}, default "subscription"
    actions : dict, optional
        Overrides, as in :func:`action_table`.

    Returns
    -------
    ndarray of object
    """
    table = action_table(kind, actions)
    group = pd.Series(np.asarray(groups, dtype=object)).fillna("").astype(str)
    status = pd.Series(np.asarray(statuses, dtype=object)).fillna("").astype(str)
    status = status.where(status.isin(STATUSES), "active")
    lookup = pd.Series(
        table.to_numpy(dtype=object).ravel(),
        index=pd.MultiIndex.from_product([table.index, table.columns]),
        dtype=object,
    )
    found = lookup.reindex(pd.MultiIndex.from_arrays([group, status]))
    return np.where(found.isna().to_numpy(), "", found.astype(object).to_numpy()).astype(object)
