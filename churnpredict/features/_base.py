"""The feature-builder interface shared by every family, and the rows they are built for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..data import EventData
from ..jsonstate import JSONStateMixin
from ._index import EventIndex

__all__ = [
    "DRIVER_GROUPS",
    "FeatureBuilder",
    "FeatureInfo",
    "FeatureRows",
    "as_rows",
    "parse_window",
    "window_label",
]

DRIVER_GROUPS = ("engagement", "support", "payments", "monetary", "tenure", "profile")


@dataclass(frozen=True)
class FeatureInfo:
    """Metadata of one feature column.

    Parameters
    ----------
    name : str
        Column name.
    group : str
        Driver group, one of :data:`DRIVER_GROUPS`.
    description : str
        Plain-language template formatted with the customer's value, e.g.
        ``"{value:.0f} support tickets open longer than 7 days"``. Placeholders: ``{value}``.
    description_if_zero : str, optional
        Text used instead when the value is 0: lets a 0/1 flag read naturally, e.g.
        ``"latest payment attempt failed (in dunning)"`` / ``"latest payment attempt succeeded"``.
    description_if_missing : str, optional
        Text used when the value is missing (NaN), e.g. ``"no activity recorded yet"`` for a
        recency feature; defaults to ``"<name>: no data"``.

    Examples
    --------
    >>> info = FeatureInfo("in_dunning", "payments", "latest payment attempt failed (in dunning)",
    ...                    "latest payment attempt succeeded")
    >>> info.describe(1.0), info.describe(0.0)
    ('latest payment attempt failed (in dunning)', 'latest payment attempt succeeded')
    >>> FeatureInfo("tickets_30d", "support", "{value:.0f} tickets in 30 days").describe(3.0)
    '3 tickets in 30 days'
    """

    name: str
    group: str
    description: str
    description_if_zero: str | None = None
    description_if_missing: str | None = None

    def __post_init__(self) -> None:
        if self.group not in DRIVER_GROUPS:
            raise ValueError(
                f"feature {self.name!r} has group {self.group!r}; expected one of {DRIVER_GROUPS}"
            )

    def describe(self, value: Any) -> str:
        """Fill the description template with ``value`` (NaN reads as "no data")."""
        try:
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                return self.description_if_missing or f"{self.name}: no data"
            if self.description_if_zero is not None and value == 0:
                return self.description_if_zero.format(value=value)
            return self.description.format(value=value)
        except (ValueError, TypeError, KeyError, IndexError):
            return f"{self.name} = {value}"


def parse_window(window: Any) -> pd.Timedelta:
    """Read a window as a Timedelta: ``30`` (days), ``"30D"``, ``"12h"`` or a Timedelta.

    Examples
    --------
    >>> parse_window(30)
    Timedelta('30 days 00:00:00')
    >>> parse_window("2W")
    Timedelta('14 days 00:00:00')
    """
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        out = pd.Timedelta(days=int(window))
    else:
        try:
            out = pd.Timedelta(window)
        except (ValueError, TypeError):
            raise ValueError(
                f"window {window!r} is not a duration; use days (30) or a string such as '30D'"
            ) from None
    if out <= pd.Timedelta(0):
        raise ValueError(f"window {window!r} must be positive")
    return out


def window_label(window: pd.Timedelta) -> str:
    """Short label for column names: 30 days -> '30d', 12 hours -> '12h'."""
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        return f"{window.days}d"
    if window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        return f"{int(window.total_seconds() // 3600)}h"
    return f"{int(window.total_seconds())}s"


@dataclass
class FeatureRows:
    """The (customer_id, cutoff) rows features are built for, with their integer codes.

    Attributes
    ----------
    index : pandas.MultiIndex
        Levels ``customer_id`` and ``cutoff``.
    codes : ndarray of int64
        Position of each row's customer in ``data.customers``.
    cutoffs : ndarray of datetime64[ns]
        Each row's cutoff.
    """

    index: pd.MultiIndex
    codes: np.ndarray
    cutoffs: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_index(cls, data: EventData, index: pd.MultiIndex) -> FeatureRows:
        """Build rows from a (customer_id, cutoff) MultiIndex."""
        codes = data.customer_codes(index.get_level_values(0))
        if (codes < 0).any():
            unknown = index.get_level_values(0)[codes < 0].unique()[:5].tolist()
            raise ValueError(f"rows name customers not in data.customers: {unknown}")
        cutoffs = np.asarray(index.get_level_values(1), dtype="datetime64[ns]")
        return cls(index, codes.astype(np.int64), cutoffs)

    def shifted(self, delta: pd.Timedelta) -> np.ndarray:
        """Cutoffs moved back by ``delta``: ``shifted(window)`` is each window's start."""
        return self.cutoffs - np.timedelta64(int(delta.value), "ns")


def as_rows(data: EventData, rows: Any) -> FeatureRows:
    """Accept FeatureRows, a (customer_id, cutoff) MultiIndex/DataFrame, or cutoffs."""
    if isinstance(rows, FeatureRows):
        return rows
    if isinstance(rows, pd.DataFrame):
        rows = rows.index
    if isinstance(rows, pd.MultiIndex):
        return FeatureRows.from_index(data, rows)
    from ..labels import population

    return FeatureRows.from_index(data, population(data, rows).index)


class FeatureBuilder(JSONStateMixin, BaseEstimator):
    """Base of every feature family: parameters in ``__init__``, ``fit``, ``build``.

    Subclasses set ``tables`` (the tables they need; the family is skipped when one is absent)
    and implement :meth:`build`, returning a DataFrame indexed like ``rows.index`` whose columns
    are :meth:`get_feature_names_out`, and :meth:`feature_info`. Builders may learn from the
    data in :meth:`fit` (e.g. which event types exist); learned attributes end in ``_``.

    Model bundles store a builder as JSON with :meth:`get_state` (its ``"module:Class"``
    path, ``get_params()`` and every attribute ending in ``_``) and rebuild it with
    ``FeatureBuilder.from_state(state)``, which imports the class's module and checks that
    the class is a ``FeatureBuilder``. A builder whose fitted state is plain data (numbers,
    text, lists, dicts, numpy arrays, pandas indexes and categoricals, timestamps, durations)
    needs no code for this; one holding other objects overrides both methods.

    Every window is ``[cutoff - window, cutoff)``: events exactly at the cutoff are excluded.
    """

    tables: ClassVar[tuple[str, ...]] = ()
    group: ClassVar[str] = "profile"

    def applies_to(self, data: EventData) -> bool:
        """True when every table the family needs is present."""
        return all(getattr(data, t, None) is not None for t in self.tables)

    def require_tables(self, data: EventData) -> None:
        """Raise :class:`ChurnDataError` naming the first table in ``tables`` that is absent."""
        from ..data import SCHEMA
        from ..exceptions import ChurnDataError

        name = type(self).__name__
        for table in self.tables:
            if getattr(data, table, None) is None:
                raise ChurnDataError(
                    f"{name} needs the {table} table ({', '.join(SCHEMA[table].required)}) but "
                    f"the data has none; add {table}, or leave {name} out of the builders"
                )

    def fit(self, data: EventData, rows: Any = None) -> FeatureBuilder:
        """Learn what the builder needs from ``data`` (nothing by default)."""
        self.fitted_ = True
        return self

    def build(self, data: EventData, rows: Any) -> pd.DataFrame:  # pragma: no cover - abstract
        """Return features for ``rows``; see the class docstring."""
        raise NotImplementedError

    def feature_info(self) -> list[FeatureInfo]:  # pragma: no cover - abstract
        """Metadata of every output column, in column order."""
        raise NotImplementedError

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the output columns."""
        return np.asarray([info.name for info in self.feature_info()], dtype=object)

    # Helpers for subclasses ---------------------------------------------------------------
    @staticmethod
    def event_index(data: EventData, table: str, time_column: str | None = None,
                    values: dict[str, np.ndarray] | None = None,
                    mask: np.ndarray | None = None, key: Any = None) -> EventIndex:
        """Cached :class:`EventIndex` over ``data.<table>`` (optionally a row subset).

        Parameters
        ----------
        data : EventData
        table : str
        time_column : str, optional
            Defaults to the table's sort column.
        values : dict, optional
            Per-row numbers (original row order, full table length) for window sums.
        mask : ndarray of bool, optional
            Keep only these rows (e.g. failed payments).
        key : hashable, optional
            Cache key distinguishing subsets; required with ``mask``.
        """
        from ..data import SCHEMA

        time_column = time_column or SCHEMA[table].time_column
        cache_key = ("index", table, time_column, key, tuple(sorted(values or {})))
        cached = data._cache.get(cache_key)
        if cached is not None:
            return cached
        frame = getattr(data, table)
        codes = data.event_codes(table)
        times = frame[time_column].to_numpy(dtype="datetime64[ns]")
        vals = dict(values or {})
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            codes, times = codes[mask], times[mask]
            vals = {k: np.asarray(v)[mask] for k, v in vals.items()}
        index = EventIndex(codes, times, len(data.customers), vals)
        data._cache[cache_key] = index
        return index


# Helpers shared by the families ------------------------------------------------------

def _window_text(window: pd.Timedelta) -> str:
    """Plain words for a window: 30 days -> '30 days', 1 day -> 'day', 12 hours -> '12 hours'."""
    if window % pd.Timedelta(days=1) == pd.Timedelta(0):
        n, unit = window.days, "day"
    elif window % pd.Timedelta(hours=1) == pd.Timedelta(0):
        n, unit = int(window.total_seconds() // 3600), "hour"
    else:
        n, unit = int(window.total_seconds()), "second"
    return unit if n == 1 else f"{n} {unit}s"


def _parse_windows(windows: Any, param: str) -> tuple[pd.Timedelta, ...]:
    """Windows as sorted, distinct Timedeltas; raise on an empty or invalid list."""
    if isinstance(windows, (str, int, pd.Timedelta)):
        windows = (windows,)
    parsed = sorted({_positive_window(w, param) for w in windows})
    if not parsed:
        raise ValueError(f"{param}={windows!r} is empty; give at least one window, e.g. (30, 90)")
    return tuple(parsed)


def _positive_window(window: Any, param: str) -> pd.Timedelta:
    """:func:`parse_window`, also refusing zero and negative day counts."""
    out = parse_window(window)
    if out <= pd.Timedelta(0):
        raise ValueError(f"{param}: window {window!r} must be positive, e.g. 30 (days) or '30D'")
    return out


def _minus(cutoffs: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """``cutoffs - window`` as datetime64[ns] (a window's first instant)."""
    return cutoffs - np.timedelta64(int(window.value), "ns")


class _Columns:
    """Feature columns written straight into one float64 block, the returned frame's memory.

    ``cols[name] = values`` fills a column (cast to float64); ``cols[name]`` reads it back;
    :meth:`frame` wraps the block in a DataFrame without copying it.
    """

    def __init__(self, names: list[str], n_rows: int) -> None:
        self.names = list(names)
        self._row = {name: i for i, name in enumerate(self.names)}
        self._filled: set[str] = set()
        self.block = np.empty((len(self.names), n_rows), dtype=np.float64)

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.block[self._row[name]] = values
        self._filled.add(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.block[self._row[name]]

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """The columns as a DataFrame indexed by ``index`` (every column must be filled)."""
        missing = [name for name in self.names if name not in self._filled]
        if missing:  # pragma: no cover - a builder bug, not a data problem
            raise RuntimeError(f"feature columns {missing} were never computed")
        return pd.DataFrame(self.block.T, index=index, columns=self.names, copy=False)
