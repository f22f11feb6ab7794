"""Profile features: static customer attributes such as plan, region or company size.

They are read from the ``customers`` table as it is, so they carry no window; a column that
changes over time (such as ``mrr``) is a snapshot taken when the table was exported and is
handled separately (see :class:`ProfileFeatures`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._data import EventData
from .._exceptions import ChurnDataError, LeakageWarning
from .._params import AnyOf, Constraint, Integer, Options, SequenceOf
from ._base import FeatureBuilder, FeatureInfo, FeatureRows

__all__ = ["ProfileFeatures"]

logger = logging.getLogger(__name__)

#: customers columns that are never profile features under ``columns="auto"``
_NOT_PROFILE = ("customer_id", "signup_at", "churned_at", "churn_type")
#: a text column whose values are all distinct over at least this many customers is an id
_MIN_ID_ROWS = 20
OTHER = "other"


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _as_text(values: pd.Series) -> pd.Series:
    """Values as stripped strings (pandas ``string`` dtype); empty strings become missing.

    A categorical column is converted once per category, not once per customer.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = _as_text(pd.Series(values.cat.categories))
        codes = values.cat.codes.to_numpy()
        return pd.Series(
            categories.array.take(codes, allow_fill=True), index=values.index, name=values.name
        )
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _as_float(values: pd.Series, kind: str) -> np.ndarray:
    """Values as float64 (NaN for missing or, for text, unparsable values)."""
    if kind == "numeric_text" or not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        values = pd.to_numeric(_as_text(values), errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _column_statistics(values: pd.Series) -> dict[str, Any]:
    """What :meth:`ProfileFeatures.fit_from_statistics` needs to know of one column."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return {"kind": "time", "n": len(values)}
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        kind = "bool" if pd.api.types.is_bool_dtype(dtype) else "numeric"
        numbers = _as_float(values, kind)
        present = numbers[~np.isnan(numbers)]
        return {
            "kind": kind,
            "n": len(numbers),
            "present": len(present),
            "min": float(present.min()) if len(present) else np.nan,
            "max": float(present.max()) if len(present) else np.nan,
        }
    counts = _as_text(values).value_counts(dropna=True)
    return {
        "kind": "text",
        "n": len(values),
        "counts": {str(k): int(v) for k, v in counts.items() if v},
    }


def _combine_columns(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One column's statistics over several parts of the customers."""
    kinds = {p["kind"] for p in parts}
    if len(kinds) > 1:
        raise ValueError(
            f"a profile column reads as {sorted(kinds)} in different parts of the "
            f"customers; give it one dtype"
        )
    out: dict[str, Any] = {"kind": parts[0]["kind"], "n": sum(p["n"] for p in parts)}
    if out["kind"] in ("bool", "numeric"):
        out["present"] = sum(p["present"] for p in parts)
        out["min"] = float(np.fmin.reduce([p["min"] for p in parts]))
        out["max"] = float(np.fmax.reduce([p["max"] for p in parts]))
    elif out["kind"] == "text":
        counts: dict[str, int] = {}
        for p in parts:
            for value, n in p["counts"].items():
                counts[value] = counts.get(value, 0) + n
        out["counts"] = counts
    return out


def _numbers_in_text(stats: dict[str, Any]) -> dict[str, Any] | None:
    """The number statistics of a text column whose every value reads as a number, else None."""
    counts = stats["counts"]
    numbers = pd.to_numeric(pd.Series(list(counts), dtype=object), errors="coerce")
    if not (len(counts) and bool(numbers.notna().all())):
        return None
    return {
        "n": stats["n"],
        "present": sum(counts.values()),
        "min": float(numbers.min()),
        "max": float(numbers.max()),
    }


class ProfileFeatures(FeatureBuilder):
    """Static customer attributes as features (plan, region, company size...).

    Profile columns have no window: they are the customer's attributes as stored in
    ``customers``. Event windows elsewhere are ``[cutoff - window, cutoff)``; a column that
    changes over time cannot honour that rule and is treated as described under
    ``time_varying``.

    Parameters
    ----------
    columns : "auto" or sequence of str, default "auto"
        Customer columns to use. ``"auto"`` takes every column except ``customer_id``,
        ``signup_at``, ``churned_at``, ``churn_type`` and a snapshot table's label column.
    exclude : sequence of str, default ()
        Columns never to use.
    time_varying : sequence of str, default ("mrr",)
        Columns whose stored value is a snapshot from export time. With a payments table the
        monetary family gives their point-in-time value, so they are dropped here; without
        one they are kept and :class:`~churnpredict.LeakageWarning` says so once per fit.
        Snapshot tables (``EventData(label_column=...)``) keep them without a warning: every
        column of such a table is a snapshot.
    max_categories : int, default 50
        Text columns keep their ``max_categories - 1`` most frequent values; rarer ones become
        ``"other"``.

    Attributes
    ----------
    columns_ : list of str
        Output columns, in order.
    kinds_ : dict of str -> str
        ``"numeric"``, ``"numeric_text"`` (text holding numbers, e.g. ``" 29.85"``),
        ``"bool"`` or ``"categorical"`` for each output column.
    categories_ : dict of str -> list of str
        Categories of each categorical column (``"other"`` last when rare values were merged).
    other_values_ : dict of str -> list of str
        Values seen in fit that were merged into ``"other"``.
    dropped_ : dict of str -> str
        Columns left out, with the reason (also logged).
    leaky_columns_ : list of str
        Time-varying snapshot columns kept because nothing gives their point-in-time value.

    Notes
    -----
    Numeric and boolean columns become float64; text columns become pandas ``category``
    columns whose categories are learned in :meth:`fit` (a value not seen in fit is NaN at
    build). Columns that are entirely missing or constant in fit are dropped, and so are text
    columns whose values are all distinct (identifiers such as e-mail addresses, over at least
    20 customers); timestamps are dropped too (the tenure family covers signup).
    """

    tables = ("customers",)
    group = "profile"
    row_wise = True
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "columns": AnyOf(
            Options("auto"),
            SequenceOf(str),
            expected="'auto' or a list of column names such as ['plan', 'region']",
        ),
        "exclude": SequenceOf(str, expected="a list of column names"),
        "time_varying": AnyOf(None, SequenceOf(str), expected="a list of column names or None"),
        "max_categories": Integer(min=2),
    }

    def __init__(
        self,
        *,
        columns: str | Sequence[str] = "auto",
        exclude: Sequence[str] = (),
        time_varying: Sequence[str] | None = ("mrr",),
        max_categories: int = 50,
    ) -> None:
        self.columns = columns
        self.exclude = exclude
        self.time_varying = time_varying
        self.max_categories = max_categories

    # ------------------------------------------------------------------ fit
    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """The candidate columns and, per column, what choosing and encoding it needs.

        Parameters
        ----------
        data : EventData
        rows : cutoffs, MultiIndex or FeatureRows, optional
            When given, only the customers in these rows count (each once).

        Returns
        -------
        dict
            ``candidates`` (column names), ``snapshot`` and ``payments`` (the data is a
            snapshot table / has payments) and ``columns``: per column its ``kind``
            (``time``, ``bool``, ``numeric`` or ``text``), the customers counted ``n`` and,
            for numbers, ``present``, ``min`` and ``max``; for text the ``counts`` of each
            value.
        """
        customers = data.customers
        sample = customers
        if rows is not None:
            seen = np.bincount(rows.codes, minlength=len(customers))
            sample = customers.iloc[np.flatnonzero(seen)]  # each customer in rows, once
        candidates = self._candidates(data)
        return {
            "candidates": candidates,
            "snapshot": bool(data.is_snapshot),
            "payments": data.payments is not None,
            "columns": {col: _column_statistics(sample[col]) for col in candidates},
        }

    @classmethod
    def combine_statistics(cls, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Counts, extremes and value counts of each column combined over the parts."""
        parts = list(parts)
        if not parts:
            raise ValueError("ProfileFeatures.combine_statistics needs at least one part")
        first = parts[0]
        columns = {
            col: _combine_columns([p["columns"][col] for p in parts]) for col in first["candidates"]
        }
        return {
            "candidates": list(first["candidates"]),
            "snapshot": first["snapshot"],
            "payments": any(p["payments"] for p in parts),
            "columns": columns,
        }

    def _fit(self, stats: dict[str, Any]) -> None:
        """Choose the columns and learn the categories of text columns.

        Parameters
        ----------
        stats : dict
            See :meth:`fit_statistics`.
        """
        self.dropped_: dict[str, str] = {}
        self.leaky_columns_: list[str] = []
        time_varying = set(self.time_varying or ())
        self.columns_: list[str] = []
        self.kinds_: dict[str, str] = {}
        self.categories_: dict[str, list[str]] = {}
        self.other_values_: dict[str, list[str]] = {}
        for col in stats["candidates"]:
            if col in time_varying and not stats["snapshot"]:
                if stats["payments"]:
                    self._drop(
                        col,
                        "changes over time and the table holds its value at export; "
                        "the monetary family gives its point-in-time value from "
                        "payments",
                    )
                    continue
                self.leaky_columns_.append(col)
            self._learn(col, stats["columns"][col])
        self.leaky_columns_ = [c for c in self.leaky_columns_ if c in self.columns_]
        if self.leaky_columns_:
            names = ", ".join(f"customers.{c}" for c in self.leaky_columns_)
            warnings.warn(
                f"{names} changes over time but the table holds one value, read when it was "
                f"exported, not the value at each cutoff: it can carry information from after the "
                f"cutoff (e.g. an MRR of 0 for customers who have already left). It is used as a "
                f"feature because there is no payments table to give its point-in-time value; add "
                f"payments, or pass ProfileFeatures(exclude={self.leaky_columns_!r})",
                LeakageWarning,
                stacklevel=4,
            )

    def _candidates(self, data: EventData) -> list[str]:
        customers = data.customers
        reserved = {"customer_id"}
        if data.label_column is not None:
            reserved.add(data.label_column)
        exclude = set(self.exclude)
        if isinstance(self.columns, str):  # "auto"
            skip = reserved | set(_NOT_PROFILE) | exclude
            return [c for c in customers.columns if c not in skip]
        missing = [c for c in self.columns if c not in customers.columns]
        if missing:
            raise ChurnDataError(
                f"ProfileFeatures(columns=...) names {missing} but customers has no such "
                f"column; its columns are {list(customers.columns)[:20]}"
            )
        bad = [c for c in self.columns if c in reserved]
        if bad:
            raise ChurnDataError(
                f"ProfileFeatures(columns=...) names {bad}: the customer id and the label "
                f"cannot be features; remove them"
            )
        return [c for c in dict.fromkeys(self.columns) if c not in exclude]

    def _drop(self, col: str, reason: str) -> None:
        self.dropped_[col] = reason
        logger.info("profile column customers.%s not used: %s", col, reason)

    def _learn(self, col: str, stats: dict[str, Any]) -> None:
        """Keep ``col`` (as a number or as categories) or drop it, saying why."""
        kind = stats["kind"]
        if kind == "time":
            self._drop(col, "timestamps are not profile features (tenure covers signup)")
            return
        if kind == "text":
            numeric = _numbers_in_text(stats)
            if numeric is None:
                self._learn_categories(col, stats)
                return
            kind, stats = "numeric_text", numeric
        if stats["present"] == 0:
            self._drop(col, "entirely missing")
        elif stats["present"] == stats["n"] and stats["min"] == stats["max"]:
            self._drop(col, f"constant ({stats['min']:g})")
        else:
            self.columns_.append(col)
            self.kinds_[col] = kind

    def _learn_categories(self, col: str, stats: dict[str, Any]) -> None:
        """Keep a text column's most frequent values as categories (the rest as OTHER), or
        drop the column when it is missing, constant or an identifier."""
        counts = stats["counts"]
        n_present = int(sum(counts.values()))
        if n_present == 0:
            self._drop(col, "entirely missing")
            return
        if len(counts) == 1 and n_present == stats["n"]:
            self._drop(col, f"constant ({next(iter(counts))!r})")
            return
        if n_present >= _MIN_ID_ROWS and len(counts) == n_present:
            self._drop(
                col,
                f"looks like an identifier ({n_present} distinct text values); "
                f"pass it as customer_id or leave it out",
            )
            return
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        if len(ranked) > self.max_categories:
            keep = [str(v) for v, _ in ranked[: self.max_categories - 1]]
            other = [str(v) for v, _ in ranked[self.max_categories - 1 :] if str(v) != OTHER]
            cats = sorted(set(keep) - {OTHER}) + [OTHER]
        else:
            cats, other = sorted(str(v) for v, _ in ranked), []
        self.columns_.append(col)
        self.kinds_[col] = "categorical"
        self.categories_[col] = cats
        self.other_values_[col] = other

    # ------------------------------------------------------------------ metadata
    def _feature_info(self) -> list[FeatureInfo]:
        """Name, group and plain-language description of every column, in column order."""
        infos = []
        for col in self.columns_:
            label = _escape(str(col).replace("_", " "))
            kind = self.kinds_[col]
            if_zero, value_kind = None, "number"
            if kind == "categorical":
                text, value_kind = f"{label} is {{value}}", "category"
            elif kind == "bool":
                text, if_zero, value_kind = f"{label}: yes", f"{label}: no", "flag"
            else:
                text = f"{label} is {{value}}"
            infos.append(FeatureInfo(col, self.group, text, if_zero, kind=value_kind))
        return infos

    # ------------------------------------------------------------------ build
    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:
        """Profile features for every (customer_id, cutoff) row."""
        customers = data.customers
        missing = [c for c in self.columns_ if c not in customers.columns]
        if missing:
            raise ChurnDataError(
                f"customers is missing column(s) {missing} that ProfileFeatures was fitted "
                f"with; add them (missing values are fine) or refit without them"
            )
        codes = rows.codes
        out: dict[str, Any] = {}
        for col in self.columns_:
            kind = self.kinds_[col]
            if kind != "categorical":
                out[col] = _as_float(customers[col], kind)[codes]
                continue
            cats = self.categories_[col]
            other = self.other_values_[col]
            lookup = pd.Index(cats + other)
            position = lookup.get_indexer(
                _as_text(customers[col]).to_numpy(dtype=object, na_value=None)
            )
            if other:
                position = np.where(position >= len(cats), len(cats) - 1, position)
            out[col] = pd.Categorical.from_codes(position[codes], dtype=pd.CategoricalDtype(cats))
        return pd.DataFrame(out, index=rows.index, columns=self.columns_)
