"""Which table one file is and which canonical column each of its columns is.

A file is placed by its columns, never by its name alone: the customer id column (by name,
then values), whether it is unique per row (one row per customer: a customers or snapshot
table) or repeats (an event table), then what the other columns hold: a churn label, ticket
columns, an amount with or without a payment status, event types. Within the table, each
canonical column takes the column whose name says so and whose values fit; two equally good
columns are left for the user, and a required column found by its values only is offered,
not mapped.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._data import EventData
from .._exceptions import ChurnDataError
from .._reading import ids_as_text
from .._tables import CHURN_TYPES, normalise_label, toml_key
from .._training import business_kind
from ._columns import ColumnProfile, profile_column
from ._vocabulary import NEGATIVE_LABELS, POSITIVE_LABELS, squash

__all__ = ["Decision", "FileResult", "Gap", "ROLE_TABLE", "place_file", "toml_key"]

#: The canonical table of each kind of file.
ROLE_TABLE = {
    "customers": "customers",
    "snapshot": "customers",
    "activity": "activity",
    "purchases": "activity",
    "payments": "payments",
    "tickets": "tickets",
}
ROLE_WORDS = {
    "customers": "one row per customer",
    "snapshot": "one row per customer with a churn label (a snapshot)",
    "activity": "an event log",
    "purchases": "a shop's orders or invoices (each row a purchase with its amount)",
    "payments": "payments",
    "tickets": "support tickets",
}
#: ``activity.value`` from each concept: what the value is (``value_kind``).
VALUE_KINDS = {"amount": "amount", "duration": "duration", "count": "count", "value": None}


@dataclass
class Decision:
    """What became of one column."""

    column: str
    target: str | None = None  # canonical column, "label", or None
    sure: str = ""  # "sure", "likely" or "" when not mapped
    why: str = ""
    status: str = "not used"  # mapped, feature, not used, ambiguous, outcome, not read yet
    value_kind: str | None = None


@dataclass
class Gap:
    """Something the user must settle: what, why, and the config lines to choose from."""

    what: str
    text: str
    lines: list[str] = field(default_factory=list)  # commented TOML lines offered
    python: str = ""  # the same as Python arguments
    blocking: bool = True  # train would fail without it


@dataclass
class FileResult:
    """One file: its table (``role``), how sure and why, and a decision per column."""

    name: str
    rows: int
    profiles: dict[str, ColumnProfile]
    role: str | None = None
    sure: str = ""
    why: str = ""
    decisions: dict[str, Decision] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status_map: dict[str, str] = field(default_factory=dict)
    default_status: str | None = None
    positive_label: Any = None
    ids: pd.Series | None = None  # customer ids as text (present ones)
    times: pd.Series | None = None  # the table's own time, parsed
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def table(self) -> str | None:
        return ROLE_TABLE.get(self.role or "")

    def mapped(self, target: str) -> ColumnProfile | None:
        """The column mapped to ``target``, if any."""
        for d in self.decisions.values():
            if d.status == "mapped" and d.target == target:
                return self.profiles[d.column]
        return None

    def columns_config(self) -> dict[str, str]:
        """``{your name: canonical name}`` of the mapped columns (the label is not renamed)."""
        return {
            d.column: d.target
            for d in self.decisions.values()
            if d.status == "mapped" and d.target and d.target != "label" and d.column != d.target
        }


# ------------------------------------------------------------------------- value checks
def _times(p: ColumnProfile) -> bool:
    return p.times is not None


def _numeric(p: ColumnProfile) -> bool:
    return p.is_numeric


def _csat(p: ColumnProfile) -> bool:
    return p.is_numeric and bool(np.min(p.numbers) >= 1 and np.max(p.numbers) <= 5)


def _churn_type(p: ColumnProfile) -> bool:
    return p.counts is not None and {squash(v) for v in p.counts.index} <= set(CHURN_TYPES)


def _plan(p: ColumnProfile) -> bool:
    return p.kind == "text" and p.numbers is None and p.fits_category(50)


#: Per table: canonical column -> (tiers of concepts, value check, required).
TARGETS: dict[str, dict[str, tuple[Sequence[Sequence[str]], Callable[..., bool], bool]]] = {
    "activity": {
        "timestamp": ((("event_time",), ("row_time",)), _times, True),
        "event": ((("event_type",),), ColumnProfile.fits_event_type, False),
    },
    "payments": {
        "timestamp": ((("event_time",), ("row_time",)), _times, True),
    },
    "tickets": {
        "created_at": ((("row_time",), ("event_time",)), _times, True),
        "resolved_at": ((("resolved",), ("end_time",)), _times, False),
        "priority": ((("priority",),), lambda p: p.fits_category(10), False),
        "csat": ((("csat",),), _csat, False),
    },
    "customers": {
        "signup_at": ((("signup",), ("row_time",)), _times, True),
        "churned_at": ((("churn_time",), ("end_time",)), _times, False),
        "churn_type": ((("churn_type", "churn_reason"),), _churn_type, False),
        "plan": ((("plan",),), _plan, False),
        "mrr": ((("mrr",),), _numeric, False),
    },
    "snapshot": {
        "mrr": ((("mrr",),), _numeric, False),
        "plan": ((("plan",),), _plan, False),
    },
}


# ------------------------------------------------------------------------- placing a file
class _Placer:
    """Decides one file's table and columns (see the module docstring)."""

    def __init__(self, name: str, frame: pd.DataFrame) -> None:
        self.frame = frame
        profiles = {str(c): profile_column(name, str(c), frame[c]) for c in frame.columns}
        self.r = FileResult(name, len(frame), profiles, frame=frame)
        self.used: set[str] = set()

    # ---------------------------------------------------------------- choosing a column
    def find(
        self, tiers: Sequence[Sequence[str]], check: Callable[[ColumnProfile], bool]
    ) -> tuple[ColumnProfile | None, list[ColumnProfile], int]:
        """The best unused column named as one of the tiers' concepts whose values fit.

        Returns the chosen column (or None), the columns tied for best (when more than
        one), and the strength of the name match.
        """
        profiles = [p for n, p in self.r.profiles.items() if n not in self.used]
        for concepts in tiers:
            found = [(p.strength(*concepts), p) for p in profiles]
            found = [(s, p) for s, p in found if s and check(p)]
            if not found:
                continue
            best = max(s for s, _ in found)
            top = [p for s, p in found if s == best]
            return (None, top, best) if len(top) > 1 else (top[0], [], best)
        return None, [], 0

    def choose(
        self,
        table: str,
        target: str,
        tiers: Sequence[Sequence[str]],
        check: Callable[[ColumnProfile], bool],
        *,
        required: bool = False,
    ) -> ColumnProfile | None:
        """Map the column for ``table.target``; ties and values-only fits are left open."""
        chosen, tied, strength = self.find(tiers, check)
        if tied:
            self.ambiguous(table, target, tied)
        elif chosen is not None:
            self.map(chosen, target, strength)
        elif required:
            self.offer(
                table,
                target,
                [p for n, p in self.r.profiles.items() if n not in self.used and check(p)],
            )
        return chosen

    def map(self, p: ColumnProfile, target: str, strength: int) -> None:
        self.used.add(p.name)
        how = "name" if strength == 2 else "words of the name"
        self.r.decisions[p.name] = Decision(
            p.name,
            target,
            "sure" if strength == 2 else "likely",
            f"{how}; {p.describe()}",
            "mapped",
        )

    def ambiguous(self, table: str, target: str, columns: list[ColumnProfile]) -> None:
        names = [p.name for p in columns]
        for p in columns:
            others = ", ".join(repr(n) for n in names if n != p.name)
            self.r.decisions[p.name] = Decision(
                p.name, None, "", f"could be {table}.{target}, as could {others}", "ambiguous"
            )
        self.r.gaps.append(
            Gap(
                f"{table}.{target}",
                f"{', '.join(repr(n) for n in names)} could each be {table}.{target}; keep one",
                [f'{toml_key(n)} = "{target}"' for n in names],
                f"columns={{'{table}': {{'{names[0]}': '{target}'}}}}",
                blocking=target in _REQUIRED.get(table, ()),
            )
        )

    def offer(self, table: str, target: str, candidates: list[ColumnProfile]) -> None:
        """A required column not found by name: name the gap and offer what the values fit."""
        names = [p.name for p in candidates]
        text = f"no column is named as {table}.{target}"
        text += (
            f"; by their values {', '.join(repr(n) for n in names)} could be"
            if names
            else f"; the columns are {', '.join(repr(n) for n in self.r.profiles)}"
        )
        for p in candidates:
            if p.name not in self.r.decisions:
                self.r.decisions[p.name] = Decision(
                    p.name, None, "", f"values fit {table}.{target} ({p.describe()})", "ambiguous"
                )
        self.r.gaps.append(
            Gap(
                f"{table}.{target}",
                text,
                [f'{toml_key(n)} = "{target}"' for n in names] or [f'your_name = "{target}"'],
                f"columns={{'{table}': {{'your_name': '{target}'}}}}",
            )
        )

    # ---------------------------------------------------------------- the customer id
    def customer_id(self) -> ColumnProfile | None:
        """The customer id column: by name, or a plain unique "id" next to customer columns."""
        chosen, tied, _ = self.find((("customer",),), ColumnProfile.fits_id)
        if tied:
            names = [p.name for p in tied]
            for p in tied:
                self.r.decisions[p.name] = Decision(
                    p.name, None, "", "one of several columns named as the customer id", "ambiguous"
                )
            self.r.gaps.append(
                Gap(
                    f"{self.r.name}: customer id",
                    f"{', '.join(map(repr, names))} could each be the customer id of "
                    f"{self.r.name}; keep one",
                    [f'{toml_key(n)} = "customer_id"' for n in names],
                    f"columns={{'<table>': {{'{names[0]}': 'customer_id'}}}}",
                )
            )
            return None
        if chosen is not None:
            return chosen
        # a one-row-per-customer file may call its key just "id"
        plain = [p for p in self.r.profiles.values() if squash(p.name) == "id" and p.unique_per_row]
        clue = any(p.strength("label", "signup") for p in self.r.profiles.values())
        if len(plain) == 1 and plain[0].fits_id() and clue:
            return plain[0]
        return None

    # ---------------------------------------------------------------- placing
    def place(self) -> FileResult:
        r = self.r
        id_col = self.customer_id()
        if id_col is None:
            r.why = "no column is recognised as the customer id"
            if not r.gaps:
                r.gaps.append(
                    Gap(
                        f"{r.name}: customer id",
                        f"{r.name}: no column is named as a customer id (e.g. customer_id, "
                        f"user_id, CustomerID, Kundennummer); the columns are "
                        f"{', '.join(repr(c) for c in list(r.profiles)[:12])}",
                        ['your_name = "customer_id"'],
                        "columns={'<table>': {'your_name': 'customer_id'}}",
                        blocking=False,  # the tables placed may be all there is
                    )
                )
            return self.finish()
        strength = id_col.strength("customer") or 1
        r.ids = ids_as_text(self.frame[id_col.name].dropna())
        if id_col.unique_per_row:
            self.place_customers(id_col)
        else:
            self.place_events(id_col)
        if r.role is not None:
            self.map(id_col, "customer_id", strength)
            how = "name" if strength == 2 else "words of the name"
            r.decisions[id_col.name].why = how + (
                f"; {id_col.n_unique:,} ids, one per row"
                if id_col.unique_per_row
                else _per_customer(r.ids)
            )
        return self.finish()

    def place_customers(self, id_col: ColumnProfile) -> None:
        r = self.r
        self.used.add(id_col.name)
        label = self.choose("customers", "label", (("label",),), ColumnProfile.fits_binary)
        if label is not None:
            r.role, r.sure = "snapshot", "sure"
            r.why = f"one row per {id_col.name!r}, with the churn label {label.name!r}"
            self.label(label)
        else:
            r.role = "customers"
            r.why = f"one row per {id_col.name!r}"
        for target, (tiers, check, required) in TARGETS[r.role].items():
            self.choose("customers", target, tiers, check, required=required)
        if r.role == "customers":
            r.sure = "sure" if r.mapped("signup_at") is not None else "likely"
            signup = r.mapped("signup_at")
            if signup is not None:
                r.times = signup.times

    def label(self, label: ColumnProfile) -> None:
        """The label column: mapped as the label; which value means churned, if not evident."""
        try:
            normalise_label("customers", label.name, self.frame[label.name], None)
        except ChurnDataError:
            if label.counts is not None:
                values = [str(v) for v in label.counts.index]
            else:
                values = sorted({float(v) for v in self.frame[label.name].dropna()})
            positive = [v for v in values if squash(v) in POSITIVE_LABELS]
            negative = [v for v in values if squash(v) in NEGATIVE_LABELS]
            if len(positive) == 1 and len(negative) == 1:
                self.r.positive_label = positive[0]
            else:
                self.r.gaps.append(
                    Gap(
                        "positive_label",
                        f"the label {label.name!r} holds {values}; which one means churned?",
                        [f"positive_label = {json.dumps(str(v))}" for v in values],
                        f"positive_label={values[0]!r}",
                    )
                )

    def place_events(self, id_col: ColumnProfile) -> None:
        """An event file: which table it is (by its columns), then its columns mapped."""
        r = self.r
        self.used.add(id_col.name)
        time, _, _ = self.find(TARGETS["activity"]["timestamp"][0], _times)
        amount = self.amount_column()
        status, by_values = self.status()
        self.event_role(id_col, time, amount, status)
        if r.role is None:
            return
        table = ROLE_TABLE[r.role]
        for target, (tiers, check, required) in TARGETS[table].items():
            self.choose(table, target, tiers, check, required=required)
        if table == "activity":
            self.value()
        elif table == "payments":
            self.payment_columns(status, by_values)
        own = r.mapped("created_at" if table == "tickets" else "timestamp")
        r.times = own.times if own is not None else None

    def event_role(
        self,
        id_col: ColumnProfile,
        time: ColumnProfile | None,
        amount: ColumnProfile | None,
        status: ColumnProfile | None,
    ) -> None:
        """Tickets, payments, a shop's orders or activity, and why (None: left open)."""
        r = self.r
        event, _, _ = self.find((("event_type",),), ColumnProfile.fits_event_type)
        ticket = [
            p.name
            for t in ("resolved_at", "priority", "csat")
            for p in [self.find(*TARGETS["tickets"][t][:2])[0]]
            if p is not None
        ]
        if ticket and amount is None:
            r.role, r.sure = "tickets", "sure"
            r.why = f"rows per customer with ticket columns ({', '.join(map(repr, ticket))})"
        elif status is not None:
            r.role, r.sure = "payments", "sure"
            r.why = f"a payment status ({status.name!r})" + (
                f" and an amount ({amount.name!r})" if amount is not None else ""
            )
        elif amount is not None and event is None:
            self.orders_or_payments(id_col, time, amount)
        else:
            r.role, r.sure = "activity", "sure" if time is not None else "likely"
            r.why = "rows per customer with a time" + (
                f" and event types ({event.name!r})" if event is not None else ""
            )

    def payment_columns(self, status: ColumnProfile | None, by_values: bool) -> None:
        """A payments file's amount, and its status with the map of its values."""
        r = self.r
        self.choose("payments", "amount", (("amount",),), self.amount_check(), required=True)
        if status is None:
            return
        self.map(status, "status", 1 if by_values else 2)
        if by_values:
            r.decisions[status.name].why = f"values are payment statuses; {status.describe()}"
        self.status_map(status)

    def orders_or_payments(self, id_col, time, amount) -> None:
        """An amount without a status: recurring billing (payments) or a shop's orders."""
        r = self.r
        if time is None:  # whether the amounts recur cannot be told without their times
            r.why = (
                f"an amount ({amount.name!r}) without a payment status and no recognised "
                f"time: a shop's orders or recurring payments?"
            )
            r.gaps.append(
                Gap(
                    f"{r.name}: time",
                    f"{r.name}: no column is named as the time of its rows; name it (e.g. "
                    f'date = "timestamp"), then inspect again to tell orders from payments',
                    [
                        f'{toml_key(p.name)} = "timestamp"'
                        for p in r.profiles.values()
                        if p.times is not None
                    ],
                    "columns={'activity': {'your_name': 'timestamp'}}",
                )
            )
            return
        kind, reason = _billing_kind(self.frame, id_col, time, amount)
        if kind == "subscription":
            r.role, r.sure, r.default_status = "payments", "likely", "succeeded"
            r.why = f"an amount ({amount.name!r}) that recurs: {reason}; no status column"
            r.notes.append(
                f"{r.name} has no payment status: every row is declared a succeeded payment "
                f'([payments] default_status = "succeeded"); change it if the file holds '
                f"failed payments too"
            )
        else:
            r.role, r.sure = "purchases", "sure"
            r.why = f"each row a purchase with its amount ({amount.name!r}), no payment status"

    def amount_check(self) -> Callable[[ColumnProfile], bool]:
        """Money: numbers, not a count, a duration or MRR; a price next to a quantity is per
        unit, not the amount paid."""
        counted = any(p.strength("count") for p in self.r.profiles.values())

        def check(p: ColumnProfile) -> bool:
            per_unit = counted and squash(p.name) in ("price", "preis", "precio", "prix")
            return p.is_numeric and not per_unit and not p.strength("count", "duration", "mrr")

        return check

    def amount_column(self) -> ColumnProfile | None:
        return self.find((("amount",),), self.amount_check())[0]

    def status(self) -> tuple[ColumnProfile | None, bool]:
        """The payment status column, by name or by values that are all payment statuses."""

        def mostly(p: ColumnProfile) -> bool:  # most values are payment statuses
            known, unknown = p.statuses()
            return len(known) >= 2 * len(unknown) and bool(known)

        named, _, _ = self.find((("status",),), mostly)
        if named is not None:
            return named, False
        by_values = [
            p
            for n, p in self.r.profiles.items()
            if n not in self.used and p.statuses()[0] and not p.statuses()[1] and p.n_unique >= 2
        ]
        return (by_values[0], True) if len(by_values) == 1 else (None, False)

    def status_map(self, status: ColumnProfile) -> None:
        known, unknown = status.statuses()
        self.r.status_map = {k: v for k, v in known.items() if k.strip().lower() != v}
        if unknown:
            self.r.gaps.append(
                Gap(
                    "status_map",
                    f"payment statuses {unknown} of {status.name!r} are not recognised; map "
                    f"each to succeeded, failed or refunded",
                    [f'{toml_key(v)} = "failed"' for v in unknown],
                    "status_map={" + ", ".join(f"{v!r}: 'failed'" for v in unknown) + "}",
                )
            )

    def value(self) -> None:
        """``activity.value``: money for a shop; else a generic value, money, duration or count."""
        if self.r.role == "purchases":
            tiers: tuple[tuple[str, ...], ...] = (("amount",),)
        else:
            tiers = (("value",), ("amount",), ("duration",), ("count",))
        for concepts in tiers:
            check = self.amount_check() if concepts == ("amount",) else _numeric
            tied = self.find((concepts,), check)[1]
            chosen = self.choose("activity", "value", (concepts,), check)
            if chosen is not None:
                self.r.decisions[chosen.name].value_kind = VALUE_KINDS[concepts[0]]
            if chosen is not None or tied:  # a tie is left open: lower tiers are not tried
                return

    # ---------------------------------------------------------------- the rest
    def finish(self) -> FileResult:
        """Every column decided; the mapped ones first (the id leading), then file order."""
        r = self.r
        for name, p in r.profiles.items():
            if name not in r.decisions:
                r.decisions[name] = self.unused(p)
        order = {name: i for i, name in enumerate(r.profiles)}

        def key(d: Decision) -> tuple[int, int]:
            rank = 0 if d.target == "customer_id" else 1 if d.status == "mapped" else 2
            return rank, order[d.column]

        r.decisions = {d.column: d for d in sorted(r.decisions.values(), key=key)}
        if r.role is not None and r.table != "customers":
            id_col = next(d.column for d in r.decisions.values() if d.target == "customer_id")
            missing = r.rows - r.profiles[id_col].n_present
            if missing:
                r.notes.append(
                    f"{r.name}: {missing:,} of {r.rows:,} rows have no {id_col} (e.g. logged-out "
                    f"traffic); they belong to no customer"
                )
        return r

    def unused(self, p: ColumnProfile) -> Decision:
        """Why a column is not mapped (or, in a customers table, a profile feature)."""
        r = self.r
        if r.role in ("customers", "snapshot"):
            why = "a customer attribute: a profile feature"
            if p.strength("personal"):
                why += " (personal data: consider leaving it out of the export)"
            elif p.unique_per_row and p.kind in ("integer", "float"):
                why += " (unique per row: a row number? consider leaving it out)"
            return Decision(p.name, None, "", why, "feature")
        if p.unique_per_row:
            why = "unique per row: a row's own number (invoice, order, event), not a customer"
        elif p.strength("row_id"):
            why = "the number of the session, invoice or order a row belongs to, not a customer"
        elif p.strength("personal"):
            why = "personal data"
        elif p.strength("signup") and p.times is not None and r.role is not None:
            why = "a signup time inside the event rows; customers sign up at their first event"
        elif p.strength("customer"):
            why = "named as a customer id, but another column is the id"
        else:
            why = f"not a column of {r.table or 'a known table'} ({p.describe()})"
        return Decision(p.name, None, "", why, "not used")


_REQUIRED = {
    "activity": ("timestamp",),
    "payments": ("timestamp", "amount", "status"),
    "tickets": ("created_at",),
    "customers": ("signup_at",),
}


def _per_customer(ids: pd.Series) -> str:
    counts = ids.value_counts()
    return (
        f"; {len(counts):,} customers, {int(counts.min()):,}-{int(counts.max()):,} rows each"
        if len(counts)
        else ""
    )


def _billing_kind(
    frame: pd.DataFrame, id_col: ColumnProfile, time: ColumnProfile, amount: ColumnProfile
) -> tuple[str, str]:
    """The library's own rule (:func:`churnpredict._training.business_kind`) on these rows."""
    rows = pd.DataFrame(
        {
            "customer_id": ids_as_text(frame[id_col.name]),
            "timestamp": time.times,
            "amount": pd.to_numeric(frame[amount.name], errors="coerce").abs(),
            "status": "succeeded",
        }
    ).dropna()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = EventData(None, payments=rows, unknown_customers="drop")
        return business_kind(data)
    except ChurnDataError:
        return "purchases", "the amounts could not be read as payments"


def place_file(name: str, frame: pd.DataFrame) -> FileResult:
    """Place one file: its table, how sure and why, and what becomes of each column."""
    return _Placer(name, frame).place()
