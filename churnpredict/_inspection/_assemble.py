"""From placed files to one configuration: tables, customers, outcome columns and settings.

Each file was placed on its own (``_files``); here the files meet: one file per table (two
candidates are left for the user), a customers table or customers derived from the events
(with cancellations only when an event type records them), columns that describe the outcome
rather than the customer, what the events' times and values are (epoch unit, date order,
money or not) and the settings the data's span and rhythm call for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._reading import ids_as_text
from .._training import outcome_columns
from ._files import ROLE_WORDS, FileResult, Gap
from ._vocabulary import CANCEL_WORDS, CONFIRM_WORDS, tokens

__all__ = ["Setting", "assemble"]

#: Horizons inspect chooses from (days).
_HORIZONS = (7, 14, 28, 56, 90, 180, 365)
#: A quiet spell this many times a customer's usual gap between active days is churn.
_GAPS_PER_HORIZON = 3
#: The data must span this many horizons (training cutoffs, validation, the labels' horizon).
_SPANS_PER_HORIZON = 3
_DEFAULT_CUTOFFS, _DEFAULT_FREQ_DAYS = 12, 14
#: A column that alone separates churned from stayed customers this well is the outcome.
_OUTCOME_AUC = 0.99
#: ... over at least this many churned and this many stayed customers.
_OUTCOME_MIN_EACH = 20


@dataclass
class Setting:
    """A top-level config key inspect decided, why, and whether it is written or offered."""

    key: str
    value: Any
    why: str
    written: bool = True


class _Assembler:
    def __init__(self, files: list[FileResult]) -> None:
        self.files = files
        self.tables: dict[str, FileResult] = {}
        self.settings: dict[str, Setting] = {}
        self.gaps: list[Gap] = []
        self.notes: list[str] = []
        self.label_kind: str | None = None
        self.as_of: pd.Timestamp | None = None

    def set(self, key: str, value: Any, why: str, written: bool = True) -> None:
        self.settings[key] = Setting(key, value, why, written)

    # ---------------------------------------------------------------- tables
    def assign_tables(self) -> None:
        """One file per table: two candidates for a table are left for the user to choose."""
        by_table: dict[str, list[FileResult]] = {}
        for f in self.files:
            if f.table is not None:
                by_table.setdefault(f.table, []).append(f)
        for table, found in by_table.items():
            if len(found) == 1:
                self.tables[table] = found[0]
            else:
                self._ask_which(table, found)
        self._snapshot_alone()

    def _ask_which(self, table: str, found: list[FileResult]) -> None:
        """Several files look like ``table``: a gap listing them, none is placed."""
        names = [f.name for f in found]
        for f in found:
            f.why += f"; {', '.join(n for n in names if n != f.name)} looks like {table} too"
            f.sure = ""
        self.gaps.append(
            Gap(
                f"tables.{table}",
                f"{', '.join(map(repr, names))} each look like the {table} table; keep one "
                f"(or combine them into one file)",
                [f"{table} = {_quote(n)}" for n in names],
                f"tables={{'{table}': {names[0]!r}}}",
            )
        )

    def _snapshot_alone(self) -> None:
        """A snapshot table is trained on alone: with event files next to it, a gap."""
        snapshot = self.tables.get("customers")
        events = [t for t in ("activity", "payments", "tickets") if t in self.tables]
        if snapshot is not None and snapshot.role == "snapshot" and events:
            del self.tables["customers"]
            self.gaps.append(
                Gap(
                    "tables.customers",
                    f"{snapshot.name!r} is a snapshot (one row per customer with a churn label) "
                    f"and {', '.join(self.tables[t].name for t in events)} hold events: a "
                    f"snapshot is trained on alone; inspect them in separate folders",
                    [],
                    "",
                )
            )

    # ---------------------------------------------------------------- customers
    def customers(self) -> None:
        """The customers table, or customers derived from the events; the kind of label."""
        events = [t for t in ("activity", "payments", "tickets") if t in self.tables]
        own = self.tables.get("customers")
        if own is None and events:
            self._derive_customers(events)
        if own is not None and own.ids is not None:
            self._check_shared_ids(own, events)
        if own is not None and own.role == "snapshot":
            self.label_kind = "snapshot"
        elif own is not None and own.mapped("churned_at") is not None:
            self.label_kind = "cancellation"
        elif "cancel_event" in self.settings:
            self.label_kind = "cancellation"
        elif events:
            self.label_kind = "inactivity"

    def _derive_customers(self, events: list[str]) -> None:
        """No customers table: derive the customers, unless an unplaced file may be it."""
        unplaced = [f.name for f in self.files if f.role is None]
        if unplaced:  # one of them may be the customers table
            self.gaps.append(
                Gap(
                    "derive_customers",
                    f"no customers table was found, and {', '.join(map(repr, unplaced))} could "
                    f"not be placed: place it as customers ([tables] customers = ... and its "
                    f"[columns.customers]), or derive the customers from the events",
                    ["derive_customers = true"],
                    "derive_customers=True",
                )
            )
            return
        self.set(
            "derive_customers",
            True,
            "no customers file: each customer seen in the events signs up at their first event",
        )
        self.cancellations()
        no_id = {self.tables[t].name: self.tables[t].rows - len(self.tables[t].ids) for t in events}
        no_id = {name: n for name, n in no_id.items() if n}
        if no_id:  # every other id is a derived customer: only these rows are dropped
            self.set(
                "unknown_customers",
                "drop",
                "rows without a customer id are dropped at load ("
                + ", ".join(f"{n:,} in {name}" for name, n in no_id.items())
                + ": logged-out traffic?)",
            )

    def _check_shared_ids(self, own: FileResult, events: list[str]) -> None:
        """A note for each event file whose customer ids are mostly not in customers."""
        known = set(own.ids)
        for table in events:
            ids = pd.unique(self.tables[table].ids)
            share = float(np.isin(ids, list(known)).mean()) if len(ids) else 1.0
            if share < 0.5:
                self.notes.append(
                    f"only {share:.0%} of the customer ids in {self.tables[table].name} are "
                    f"in {own.name}: check that both id columns hold the same ids"
                )

    def cancellations(self) -> None:
        """With derived customers: an event type that records cancellations, if the log has one."""
        activity = self.tables.get("activity")
        event = activity.mapped("event") if activity is not None else None
        if event is None or event.counts is None:
            return
        found = [v for v in event.counts.index if CANCEL_WORDS & set(tokens(str(v)))]
        if len(found) > 1:
            final = [v for v in found if CONFIRM_WORDS & set(tokens(str(v)))]
            found = final if len(final) == 1 else found
        if len(found) == 1:
            value = str(found[0])
            self.set(
                "cancel_event",
                value,
                f"{event.name} {value!r} records cancellations ({int(event.counts[value]):,} "
                f"events): a customer's first one is their churned_at",
            )
        elif found:
            self.gaps.append(
                Gap(
                    "cancel_event",
                    f"{event.name} has several cancellation-like events {found}; keep the one "
                    f"that records a cancellation (or none: churn is then inactivity)",
                    [f"cancel_event = {_quote(str(v))}" for v in found],
                    f"cancel_event={str(found[0])!r}",
                    blocking=False,
                )
            )

    # ---------------------------------------------------------------- outcome columns
    def outcomes(self) -> None:
        """customers columns that describe the outcome are left out of the features."""
        own = self.tables.get("customers")
        if own is None or own.frame is None or own.ids is None:
            return
        churned = _churned(own)
        if churned is None:
            return
        found = _outcome_columns(own, churned)
        for col, why in found.items():
            d = own.decisions[col]
            d.status, d.why = "outcome", f"describes the outcome, not a feature: {why}"
        if found:
            self.set(
                "outcome_columns",
                list(found),
                "columns that describe the outcome are left out of the features",
            )

    # ---------------------------------------------------------------- times and values
    def times(self) -> None:
        units, open_order = {}, []
        for f in self.tables.values():
            for d in f.decisions.values():
                p = f.profiles[d.column]
                if d.status != "mapped" or p.times is None:
                    continue
                if p.epoch_unit and p.time_how.startswith("epoch"):
                    units[f"{f.name}:{d.column}"] = p.epoch_unit
                if p.date_order_open:
                    open_order.append(f"{f.name}:{d.column}")
        if len(set(units.values())) == 1:
            unit = next(iter(units.values()))
            self.set(
                "time_unit",
                unit,
                f"{', '.join(units)} hold epoch times in {_UNIT_WORDS[unit]}",
            )
        elif units:
            self.gaps.append(
                Gap(
                    "time_unit",
                    f"epoch times in different units ({units}); convert them to one unit",
                    [],
                    "",
                )
            )
        if open_order:
            self.gaps.append(
                Gap(
                    "dayfirst",
                    f"{', '.join(open_order)} hold dates such as 03/04/2024 that read day-first "
                    f"or month-first, and no value settles which",
                    ["dayfirst = true", "dayfirst = false"],
                    "dayfirst=True",
                )
            )

    def values(self) -> None:
        activity = self.tables.get("activity")
        if activity is not None and activity.role == "purchases":
            self.set("business", "purchases", f"{activity.name} is {ROLE_WORDS['purchases']}")
        value = None
        if activity is not None:
            value = next(
                (d for d in activity.decisions.values() if d.target == "value"),
                None,
            )
        kind = None if value is None else value.value_kind
        if kind is not None:
            words = {"amount": "money", "duration": "a duration", "count": "a count"}[kind]
            self.set("value_kind", kind, f"{activity.name}:{value.column} is {words}")
        customers = self.tables.get("customers")
        has_mrr = customers is not None and any(
            d.target == "mrr" for d in customers.decisions.values()
        )
        if kind == "amount" or "payments" in self.tables or has_mrr:
            self.set(
                "currency",
                "",
                'the symbol of the amounts, e.g. "€" or "$" (the data does not say): reasons, '
                'Excel and the report show it; without it they say "amount 1,234"',
                False,
            )

    # ---------------------------------------------------------------- span and rhythm
    def rhythm(self) -> None:
        """The horizon (and cutoff spacing) the events' span and rhythm call for."""
        main = next(
            (self.tables[t] for t in ("activity", "payments", "tickets") if t in self.tables),
            None,
        )
        if main is None or main.times is None or main.frame is None:
            return
        days = _active_days(main)
        if len(days) == 0:
            return
        first, last = days["day"].min(), main.times.max()
        self.as_of = last.normalize() + pd.Timedelta(days=1)
        span = int((last - first) / pd.Timedelta(days=1))
        fits = [h for h in _HORIZONS if h * _SPANS_PER_HORIZON <= span]
        if not fits:
            self.gaps.append(
                Gap(
                    "horizon",
                    f"the events span {span} days: too short to train (at least "
                    f"{_HORIZONS[0] * _SPANS_PER_HORIZON} days are needed for a 7-day horizon)",
                    [],
                    "",
                    blocking=False,
                )
            )
            return
        wanted, why = self._wanted_horizon(_usual_gap(days))
        horizon = min(wanted, fits[-1])
        if horizon < wanted:
            why += f"; the events span {span} days, room for a {horizon}-day horizon"
        self.set("horizon", f"{horizon}D", why)
        self._cutoff_spacing(span, horizon)

    def _wanted_horizon(self, usual: float | None) -> tuple[int, str]:
        """The horizon (days) the customers' rhythm calls for, and why."""
        if self.label_kind == "inactivity" and usual is not None:
            wanted = next((h for h in _HORIZONS if h >= _GAPS_PER_HORIZON * usual), _HORIZONS[-1])
            return wanted, (
                f"a customer's usual gap between active days is {usual:g} days (median), so "
                f"{_GAPS_PER_HORIZON}x that without activity is churn"
            )
        return 28, "the default"

    def _cutoff_spacing(self, span: int, horizon: int) -> None:
        """Cutoffs closer than the default when the default ones do not fit in the span."""
        room = span - horizon
        if room < _DEFAULT_CUTOFFS * _DEFAULT_FREQ_DAYS + _DEFAULT_FREQ_DAYS:
            freq = max(1, room // (_DEFAULT_CUTOFFS + 1))
            self.set(
                "cutoff_freq",
                f"{freq}D",
                f"{_DEFAULT_CUTOFFS} training cutoffs fit in the {span} days only {freq} "
                f"day(s) apart",
            )


_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def _quote(text: str) -> str:
    """A string as a TOML value."""
    return json.dumps(text)


def _positive(values: pd.Series, positive: Any) -> np.ndarray:
    """Which rows of a label column mean churned (the library's own reading)."""
    from .._tables import normalise_label

    return normalise_label("customers", str(values.name), values, positive).to_numpy() == 1


def _separates(values: pd.Series, churned: np.ndarray) -> bool:
    """Whether a column alone ranks churned above stayed customers (or below) near perfectly."""
    n_pos, n_neg = int(churned.sum()), int((~churned).sum())
    if values.isna().any() or min(n_pos, n_neg) < _OUTCOME_MIN_EACH:
        return False
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        ranks = numbers.rank().to_numpy()
    elif values.nunique() <= 10:  # categories: each value's churn rate as its score
        rate = pd.Series(churned.astype(float)).groupby(values.to_numpy()).mean()
        ranks = pd.Series(values.map(rate).to_numpy()).rank().to_numpy()
    else:
        return False
    auc = (ranks[churned].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return max(auc, 1 - auc) >= _OUTCOME_AUC


def _churned(own: FileResult) -> np.ndarray | None:
    """Which customers left (by the label or churned_at), or None when the table cannot say."""
    if own.role == "snapshot":
        label = next(d.column for d in own.decisions.values() if d.target == "label")
        return _positive(own.frame[label], own.positive_label)
    if own.mapped("churned_at") is not None:
        return own.mapped("churned_at").times.notna().to_numpy()
    return None


def _outcome_columns(own: FileResult, churned: np.ndarray) -> dict[str, str]:
    """The feature columns of customers that describe the outcome, each with the reason.

    The training's own check first (a column filled only for those who left), then names
    that say how or when a customer left, then (snapshots) a column that alone separates
    churned from stayed customers.
    """
    frame = own.frame
    id_col = next(d.column for d in own.decisions.values() if d.target == "customer_id")
    features = [d.column for d in own.decisions.values() if d.status == "feature"]
    ids = ids_as_text(frame[id_col])
    customers = pd.DataFrame({"customer_id": ids}).join(frame[features])
    found = {
        c: text.replace(" in training", "")
        for c, text in outcome_columns(customers, features, ids, ids[churned]).items()
    }
    for col in features:
        if col in found:
            continue
        if own.profiles[col].strength("churn_reason", "churn_time", "label"):
            found[col] = "named as an outcome (how or when a customer left)"
        elif own.role == "snapshot" and _separates(frame[col], churned):
            found[col] = (
                "its values alone separate churned from stayed customers (AUC >= 0.99): "
                "the outcome itself or another model's output"
            )
    return found


def _active_days(main: FileResult) -> pd.DataFrame:
    """The (customer id, day) pairs with events, sorted, each once."""
    id_col = next(d.column for d in main.decisions.values() if d.target == "customer_id")
    events = pd.DataFrame(
        {"id": ids_as_text(main.frame[id_col]), "day": main.times.dt.normalize()}
    ).dropna()
    return events.drop_duplicates().sort_values(["id", "day"])


def _usual_gap(days: pd.DataFrame) -> float | None:
    """The median number of days between a customer's active days (None: no one came back)."""
    same = days["id"].to_numpy()[1:] == days["id"].to_numpy()[:-1]
    gaps = (np.diff(days["day"].to_numpy()) / np.timedelta64(1, "D"))[same]
    return float(np.median(gaps)) if len(gaps) else None


def assemble(files: list[FileResult]) -> _Assembler:
    """Every decision across the files, in order (see the module docstring)."""
    assembler = _Assembler(files)
    assembler.assign_tables()
    assembler.customers()
    assembler.outcomes()
    assembler.times()
    assembler.values()
    assembler.rhythm()
    return assembler
