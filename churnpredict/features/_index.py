"""Sorted event index: answers "how many events of customer c before time T" by binary search.

Events are sorted once by (customer, time) and packed into one int64 key per event,
``customer * span + time``. Every (customer, cutoff, window-edge) question is then one
``np.searchsorted`` over the keys, and window sums are differences of prefix sums, so the cost
of many cutoffs and windows is about one sort of the events.

The key is exact: times are expressed in the coarsest unit that divides every event time
(a day, a second, a millisecond...) and query times are rounded *up* to that unit, which keeps
``event < T`` exact. When customers x span would overflow int64, times are replaced by their
rank among the distinct event times, which is also exact.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EventIndex"]

_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)
_MAX_KEY = 2**62


class EventIndex:
    """Binary-search index over events keyed by (customer code, time).

    Parameters
    ----------
    codes : ndarray of int
        Customer position of every event (0 .. n_customers - 1).
    times : ndarray of datetime64[ns] or int64 nanoseconds
        Event times; ``NaT`` rows are left out of the index.
    n_customers : int
        Number of customers (codes are below it).
    values : dict of str -> ndarray, optional
        Per-event numbers whose window sums are wanted (:meth:`window_sum`).

    Notes
    -----
    Windows are half-open ``[start, end)``: an event exactly at ``end`` (the cutoff) is
    excluded and an event exactly at ``start`` (``cutoff - window``) is included.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([0, 0, 1])
    >>> times = np.array(["2024-01-01", "2024-01-05", "2024-01-02"], dtype="datetime64[ns]")
    >>> index = EventIndex(codes, times, n_customers=2)
    >>> cut = np.array(["2024-01-05", "2024-01-05"], dtype="datetime64[ns]")
    >>> index.count_before(np.array([0, 1]), cut).tolist()  # the event at the cutoff is excluded
    [1, 1]
    """

    def __init__(
        self,
        codes: np.ndarray,
        times: np.ndarray,
        n_customers: int,
        values: dict[str, np.ndarray] | None = None,
    ) -> None:
        codes = np.asarray(codes, dtype=np.int64)
        t = np.asarray(times)
        if np.issubdtype(t.dtype, np.datetime64):
            valid = ~np.isnat(t)
            t = t.astype("datetime64[ns]").view(np.int64)
        else:
            t = t.astype(np.int64)
            valid = np.ones(len(t), dtype=bool)
        self.n_customers = int(n_customers)
        self.valid = valid
        codes, t = codes[valid], t[valid]
        values = {k: np.asarray(v, dtype=np.float64)[valid] for k, v in (values or {}).items()}
        # Events are usually sorted by (customer, time) already (EventData sorts them); check.
        if len(t) > 1 and not _is_sorted(codes, t):
            order = np.lexsort((t, codes))
            codes, t = codes[order], t[order]
            values = {k: v[order] for k, v in values.items()}
            self.order = order
        else:
            self.order = None
        self.codes = codes
        self.times = t
        self._build_keys()
        self._prefix = {k: _prefix(v) for k, v in values.items()}
        self.starts = np.searchsorted(codes, np.arange(self.n_customers + 1), side="left")

    def _build_keys(self) -> None:
        t = self.times
        self.rank_times: np.ndarray | None = None
        if len(t) == 0:
            self.t0, self.unit, self.span = 0, 1, 1
            self.keys = np.empty(0, dtype=np.int64)
            return
        t0 = int(t.min())
        rel = t - t0
        unit = 1
        for candidate in _UNITS_NS:
            if not np.any(rel % candidate):
                unit = candidate
                break
        span = int(rel.max()) // unit + 2
        if span * (self.n_customers + 1) < _MAX_KEY:
            self.t0, self.unit, self.span = t0, unit, span
            self.keys = self.codes * span + rel // unit
        else:  # pragma: no cover - needs > 2**62 customer-time slots
            uniq = np.unique(t)
            self.rank_times = uniq
            self.t0, self.unit, self.span = 0, 1, len(uniq) + 1
            self.keys = self.codes * self.span + np.searchsorted(uniq, t)

    def _query_keys(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        t = np.asarray(times)
        if np.issubdtype(t.dtype, np.datetime64):
            t = t.astype("datetime64[ns]").view(np.int64)
        t = t.astype(np.int64)
        if self.rank_times is not None:  # pragma: no cover
            slot = np.searchsorted(self.rank_times, t, side="left")
        else:
            rel = t - self.t0
            slot = -(-rel // self.unit)  # ceil division keeps "event < T" exact
            np.clip(slot, 0, self.span - 1, out=slot)
        return np.asarray(codes, dtype=np.int64) * self.span + slot

    def position(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Global position of the first event of ``codes`` at or after ``times``.

        Equivalently ``starts[code]`` plus the number of that customer's events before
        ``times``.
        """
        return np.searchsorted(self.keys, self._query_keys(codes, times), side="left")

    def count_before(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Number of events of each customer strictly before each time."""
        codes = np.asarray(codes, dtype=np.int64)
        return self.position(codes, times) - self.starts[codes]

    def count_between(self, codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Number of events of each customer in ``[start, end)``."""
        return self.position(codes, end) - self.position(codes, start)

    def window_sum(
        self, name: str, codes: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> np.ndarray:
        """Sum of per-event ``values[name]`` over ``[start, end)`` for each customer."""
        prefix = self._prefix[name]
        return prefix[self.position(codes, end)] - prefix[self.position(codes, start)]

    def last_before(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Index (into the sorted arrays) of each customer's last event before ``times``; -1 if none."""
        codes = np.asarray(codes, dtype=np.int64)
        pos = self.position(codes, times)
        return np.where(pos > self.starts[codes], pos - 1, -1)

    def last_time_before(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Time (datetime64[ns]) of each customer's last event before ``times``; NaT if none."""
        idx = self.last_before(codes, times)
        out = np.full(len(idx), np.datetime64("NaT"), dtype="datetime64[ns]")
        has = idx >= 0
        out[has] = self.times[idx[has]].view("datetime64[ns]")
        return out

    def add_values(self, name: str, values: np.ndarray) -> None:
        """Register per-event ``values`` (in the original row order) for :meth:`window_sum`."""
        v = np.asarray(values, dtype=np.float64)[self.valid]
        if self.order is not None:
            v = v[self.order]
        self._prefix[name] = _prefix(v)

    def sorted_values(self, values: np.ndarray) -> np.ndarray:
        """Reorder per-event ``values`` (original row order) into the index's sorted order."""
        v = np.asarray(values)[self.valid]
        return v if self.order is None else v[self.order]


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values) + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(np.nan_to_num(values, nan=0.0), out=out[1:])
    return out


def _is_sorted(codes: np.ndarray, times: np.ndarray) -> bool:
    dc = np.diff(codes)
    if np.any(dc < 0):
        return False
    same = dc == 0
    return not np.any(np.diff(times)[same] < 0)
