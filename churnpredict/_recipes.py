"""Recipes that map public churn datasets into churnpredict's input contract.

Each ``load_*`` function takes the path of the file as published and returns an
:class:`~churnpredict._data.EventData`. They double as worked examples of mapping your own
tables: rename columns, derive ``signup_at`` when it is missing, choose the label.

* :func:`load_online_retail`: UCI Online Retail invoices (real, non-contractual purchases):
  invoices become successful payments and "purchase" activity; churn is inactivity, and the
  pipeline settings to use are :data:`ONLINE_RETAIL_SETTINGS` (``business="purchases"``).
* :func:`load_sparkify`: Sparkify event logs (simulated music streaming): page events become
  activity (song lengths declared durations), Help and Error pages become support tickets;
  an app's log of use (business ``usage``), churn is inactivity.
* :func:`load_telco`, :func:`load_bank_churners`, :func:`load_bank_churn`: one-row-per-customer
  snapshot tables with a churn label (no event history).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._data import EventData
from ._exceptions import ChurnDataError

__all__ = [
    "ONLINE_RETAIL_SETTINGS",
    "load_online_retail",
    "load_sparkify",
    "load_telco",
    "load_bank_churners",
    "load_bank_churn",
]


#: ChurnPipeline settings for :func:`load_online_retail`: a shop, so purchase mode (spend
#: features, expected spend and status, everyone who ever bought scored); churn is no purchase
#: in the next 90 days; monthly training cutoffs; customers without a purchase in the last 90
#: days are ``lapsed``. Use as ``ChurnPipeline(**ONLINE_RETAIL_SETTINGS)``.
ONLINE_RETAIL_SETTINGS: dict[str, object] = {
    "business": "purchases",
    "label": "inactivity",
    "horizon": "90D",
    "cutoff_freq": "30D",
    "n_cutoffs": 12,
    "lookback": "90D",
}


def _read_csv(path: str | os.PathLike, expected: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ChurnDataError(f"{path}: no such file; download the dataset or check the path")
    frame = pd.read_csv(path)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ChurnDataError(
            f"{path.name} lacks columns {missing}; is this the right file? It has "
            f"{list(frame.columns)[:10]}"
        )
    return frame


def load_online_retail(path: str | os.PathLike) -> EventData:
    """UCI Online Retail, one row per invoice (``InvoiceNo, InvoiceDate, CustomerID, TotalPrice``).

    Every invoice is a succeeded payment of ``TotalPrice`` and a ``purchase`` activity event
    whose ``value`` is the invoice total. ``signup_at`` is the customer's first invoice, which
    is an event the features may see (it is before or at every later cutoff). There is no
    cancellation, so labels are inactivity: no purchase in the horizon. It is a shop: train
    with ``ChurnPipeline(**ONLINE_RETAIL_SETTINGS)`` (``business="purchases"``, which
    :func:`churnpredict._pipeline.business_kind` also detects from the irregular invoices).

    Parameters
    ----------
    path : path-like
        ``online_retail_invoices.csv.gz``.

    Returns
    -------
    EventData
    """
    raw = _read_csv(path, ["InvoiceNo", "InvoiceDate", "CustomerID", "TotalPrice"])
    raw = raw.dropna(subset=["CustomerID"])
    raw = raw.assign(
        CustomerID=raw["CustomerID"].astype(np.int64),
        InvoiceDate=pd.to_datetime(raw["InvoiceDate"]),
    )
    customers = (
        raw.groupby("CustomerID", as_index=False)["InvoiceDate"]
        .min()
        .rename(columns={"CustomerID": "customer_id", "InvoiceDate": "signup_at"})
    )
    payments = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"],
            "timestamp": raw["InvoiceDate"],
            "amount": raw["TotalPrice"].round(2),
            "status": "succeeded",
        }
    )
    activity = pd.DataFrame(
        {
            "customer_id": raw["CustomerID"],
            "timestamp": raw["InvoiceDate"],
            "event": "purchase",
            "value": raw["TotalPrice"].round(2),
        }
    )
    return EventData(customers, activity=activity, payments=payments)


def load_sparkify(path: str | os.PathLike) -> EventData:
    """Sparkify / eventsim page logs (JSON Lines with ``userId, ts, page, registration, level``).

    Logged-out events (empty ``userId``) are dropped. Page views are activity (``event`` = page,
    ``value`` = song length in seconds, declared ``value_kind="duration"``: listening time,
    never money); ``Help`` and ``Error`` pages become support tickets resolved at once;
    ``registration`` is the signup time. ``Cancellation Confirmation`` pages, when the log
    has them, give ``churned_at``; otherwise churn is inactivity. ``level`` (free/paid) changes
    over time, so it is not used as a static plan.

    With the defaults, ``ChurnPipeline()`` reads it as an app's event log (business
    ``usage``: sessions, active days, listening time) and fits the horizon, cutoff spacing
    and feature windows to the month the sample spans; the log starts after its users
    registered, so nothing before its first event is read as silence.

    Parameters
    ----------
    path : path-like
        A ``.json``/``.jsonl`` (optionally ``.gz``) event log.

    Returns
    -------
    EventData
    """
    path = Path(path)
    if not path.is_file():
        raise ChurnDataError(f"{path}: no such file; check the path")
    raw = pd.read_json(path, lines=True)
    for col in ("userId", "ts", "page"):
        if col not in raw.columns:
            raise ChurnDataError(f"{path.name} lacks column {col!r}; is this a Sparkify log?")
    user = raw["userId"].astype("string").str.strip()
    raw = raw.loc[user.notna() & (user != "")].assign(userId=user[user.notna() & (user != "")])
    raw = raw.assign(time=pd.to_datetime(raw["ts"], unit="ms"))
    first_seen = raw.groupby("userId")["time"].min()
    if "registration" in raw:
        reg = pd.to_datetime(raw.groupby("userId")["registration"].min(), unit="ms")
        signup = reg.where(reg.notna() & (reg <= first_seen), first_seen)
    else:
        signup = first_seen
    customers = pd.DataFrame({"customer_id": signup.index, "signup_at": signup.to_numpy()})
    if "gender" in raw:
        customers["gender"] = (
            raw.groupby("userId")["gender"].first().reindex(signup.index).to_numpy()
        )
    cancel = raw.loc[raw["page"] == "Cancellation Confirmation"].groupby("userId")["time"].min()
    if len(cancel):
        customers["churned_at"] = customers["customer_id"].map(cancel)
    activity = pd.DataFrame(
        {
            "customer_id": raw["userId"],
            "timestamp": raw["time"],
            "event": raw["page"].astype("string"),
            "value": pd.to_numeric(raw.get("length"), errors="coerce"),
        }
    )
    support = raw.loc[raw["page"].isin(["Help", "Error"])]
    tickets = None
    if len(support):
        tickets = pd.DataFrame(
            {
                "customer_id": support["userId"],
                "created_at": support["time"],
                "resolved_at": support["time"],
                "priority": np.where(support["page"] == "Error", "high", "normal"),
            }
        )
    return EventData(customers, activity=activity, tickets=tickets, value_kind="duration")


def _snapshot(
    frame: pd.DataFrame, id_column: str, label: str, drop: list[str], positive: object
) -> EventData:
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    return EventData(
        frame,
        columns={"customers": {id_column: "customer_id"}},
        label_column=label,
        positive_label=positive,
    )


def load_telco(path: str | os.PathLike) -> EventData:
    """IBM Telco Customer Churn snapshot (``customerID``, ``Churn`` Yes/No).

    ``TotalCharges`` is parsed as a number (11 blanks become NaN). Snapshot table: profile
    features only.

    Parameters
    ----------
    path : path-like
        ``WA_Fn-UseC_-Telco-Customer-Churn.csv.gz``.

    Returns
    -------
    EventData
    """
    raw = _read_csv(path, ["customerID", "Churn", "TotalCharges"])
    raw = raw.assign(TotalCharges=pd.to_numeric(raw["TotalCharges"], errors="coerce"))
    return _snapshot(raw, "customerID", "Churn", [], "Yes")


def load_bank_churners(path: str | os.PathLike) -> EventData:
    """Credit-card customers snapshot (``CLIENTNUM``, ``Attrition_Flag``).

    The two ``Naive_Bayes_Classifier_*`` columns are another model's outputs and leak the
    label: they are dropped.

    Parameters
    ----------
    path : path-like
        ``BankChurners.csv.gz``.

    Returns
    -------
    EventData
    """
    raw = _read_csv(path, ["CLIENTNUM", "Attrition_Flag"])
    leaks = [c for c in raw.columns if c.startswith("Naive_Bayes_Classifier")]
    return _snapshot(raw, "CLIENTNUM", "Attrition_Flag", leaks, "Attrited Customer")


def load_bank_churn(path: str | os.PathLike) -> EventData:
    """Bank customer churn snapshot (``CustomerId``, ``Exited``); drops ``RowNumber``, ``Surname``.

    Parameters
    ----------
    path : path-like
        ``Churn_Modelling.csv.gz``.

    Returns
    -------
    EventData
    """
    raw = _read_csv(path, ["CustomerId", "Exited"])
    return _snapshot(raw, "CustomerId", "Exited", ["RowNumber", "Surname"], 1)
