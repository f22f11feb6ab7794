"""Tables derived from the others: a customers table from the events when none is exported.

An app's event log or a shop's invoice file names its customers in every row but has no
table of them. :func:`derive_customers` makes one: every customer id seen in the events,
``signup_at`` at the customer's first event, and ``churned_at`` only when the events record
cancellations (an event type named by ``cancel_event``). :class:`~churnpredict.EventData`
calls it when ``customers`` is None.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ._exceptions import ChurnDataError
from ._tables import SCHEMA, format_examples, mapping_error

__all__ = ["derive_customers"]


def derive_customers(
    events: Mapping[str, pd.DataFrame], *, cancel_event: str | None = None
) -> tuple[pd.DataFrame, str]:
    """One row per customer seen in the events: first event as signup, cancellations if any.

    Parameters
    ----------
    events : mapping of str -> pandas.DataFrame
        Event tables by name (``activity``, ``payments``, ``tickets``) with canonical column
        names and their time column already parsed (``datetime64``). Rows without a
        customer id are ignored.
    cancel_event : str, optional
        The ``activity.event`` value that records a cancellation (e.g. ``"Cancellation
        Confirmation"``): a customer's first such event is their ``churned_at``. Without
        it there is no ``churned_at`` and churn can only mean inactivity.

    Returns
    -------
    customers : pandas.DataFrame
        ``customer_id``, ``signup_at`` (and ``churned_at`` with ``cancel_event``), one row
        per customer, sorted by id.
    note : str
        What was derived, for :attr:`EventData.notes`.

    Raises
    ------
    ChurnDataError
        No event table, no event with a customer id, or ``cancel_event`` without an
        ``activity.event`` column holding it.

    Examples
    --------
    >>> activity = pd.DataFrame({"customer_id": ["a", "b", "a"],
    ...                          "timestamp": pd.to_datetime(["2024-01-05", "2024-01-02",
    ...                                                       "2024-01-01"])})
    >>> customers, note = derive_customers({"activity": activity})
    >>> customers
      customer_id  signup_at
    0           a 2024-01-01
    1           b 2024-01-02
    """
    pieces = []
    for name, frame in events.items():
        if frame is None:
            continue
        tcol = SCHEMA[name].time_column
        if "customer_id" not in frame or tcol not in frame:
            continue  # the table's own validation names what is missing
        pieces.append(
            pd.DataFrame(
                {"customer_id": frame["customer_id"].to_numpy(), "time": frame[tcol].to_numpy()}
            )
        )
    if not pieces:
        raise ChurnDataError(
            "no customers table and no event table to derive it from; give customers or at "
            "least one of activity, payments or tickets"
        )
    seen = pd.concat(pieces, ignore_index=True).dropna(subset=["customer_id"])
    if len(seen) == 0:
        raise ChurnDataError(
            "no customers table, and no event has a customer id to derive one from; map the "
            "events' customer id column"
        )
    first = seen.groupby("customer_id", sort=True)["time"].min()
    customers = first.rename("signup_at").reset_index()
    what = ", ".join(name for name, frame in events.items() if frame is not None)
    note = (
        f"customers derived from the events ({what}): {len(customers):,} customers, each "
        f"signing up at their first event"
    )
    if cancel_event is None:
        return customers, note + "; no cancellations are recorded, so churn is inactivity"
    cancelled = _cancellations(events.get("activity"), cancel_event)
    customers["churned_at"] = customers["customer_id"].map(cancelled).astype("datetime64[ns]")
    n = int(customers["churned_at"].notna().sum())
    return customers, note + f"; {n:,} cancelled (first {cancel_event!r} event)"


def _cancellations(activity: pd.DataFrame | None, cancel_event: str) -> pd.Series:
    """Each customer's first ``cancel_event`` time (indexed by customer id)."""
    if not isinstance(cancel_event, str) or not cancel_event.strip():
        raise ChurnDataError(
            f"cancel_event={cancel_event!r}; give the activity event type that records a "
            f"cancellation, e.g. 'Cancellation Confirmation'"
        )
    if activity is None or "event" not in activity:
        raise mapping_error(
            f"cancel_event={cancel_event!r} needs activity events with types, but there is no "
            f"activity.event column",
            "map the event type column with columns={'activity': {'your_name': 'event'}}",
            'map the event type column in the config: [columns.activity] your_name = "event"',
        )
    types = activity["event"].astype("string").str.strip()
    hits = activity.loc[(types == cancel_event.strip()).fillna(False).to_numpy()]
    if len(hits) == 0:
        raise ChurnDataError(
            f"activity.event has no {cancel_event!r} event (its types include "
            f"{format_examples(types.dropna(), 8)}); check cancel_event"
        )
    hits = hits.dropna(subset=["customer_id"])
    return hits.groupby("customer_id")["timestamp"].min()
