"""Sorted event index: answers "how many events of customer c before time T" by binary search.

Events are sorted once by (customer, time). A key ``customer * span + (time - t0) // unit``
orders them as one int64; the index keeps the key of every event of a small table (up to
4M events) and of every 16th event of a big one (half a byte per event instead of eight:
a 200,000-customer activity log of 46M events keeps 22 MiB of keys, not 355 MiB). Every
(customer, cutoff, window-edge) question is then a ``np.searchsorted`` over the kept keys,
which brackets the answer between two kept events, and a few halvings over the events'
own times between them (vectorised over every question), so the cost of many cutoffs and
windows stays about one sort of the events. Counts are differences of positions.

Sums of per-event numbers are exact per customer: each window's values are added up on their
own (:func:`sums_between`, one ``np.add.reduceat`` over the windows), never as differences of
running totals over all events, so one customer's values (however large, and whether before or
after a cutoff) cannot change another customer's sums by a single bit. The cost grows with the
number of events inside the windows rather than with the number of events, which at C speed
stays small next to the sort.

The answers are exact whatever the resolution of the times: the key only brackets them, and
the times decide. ``unit`` is the coarsest of a day, an hour, a minute, a second, a
millisecond, a microsecond or a nanosecond that divides a sample of the event times and keeps
``customers x span`` within int64 (nanosecond times over years for many customers do not
fit: then a coarser unit is used). Every event of an earlier slot than ``T``'s is before
``T``, every event of a later slot is not; the events of ``T``'s own slot, usually none or a
handful, are compared with ``T`` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["BitRank", "EventIndex", "count_prefix", "sums_between"]

_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)
_UNIT_NAMES = {
    86_400 * 10**9: "day",
    3_600 * 10**9: "hour",
    60 * 10**9: "minute",
    10**9: "second",
    10**6: "millisecond",
    10**3: "microsecond",
    1: "nanosecond",
}
_MAX_KEY = 2**62
_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds
_SAMPLE = 1 << 16  # event times checked when choosing the unit
_CHUNK = 1 << 20  # events processed at a time: temporaries of a few MB, reused by malloc
_SLICE = 1024  # ascending queries located together (see _searchsorted_ascending)
_SUM_ROWS = 1 << 18  # rows summed at a time by sums_between (bounds its temporaries)
_STRIDE = 16  # every _STRIDE-th event's key is kept (see EventIndex.position)...
_EVERY_KEY = 1 << 22  # ...of an index of more events than this (smaller: every key, 32 MiB)


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

    Attributes
    ----------
    codes : ndarray of int
        Customer code of every indexed event, sorted by (code, time).
    times : ndarray of int64
        Time (nanoseconds) of every indexed event, in the same order.
        When the input was already sorted and had no ``NaT``, these are the input arrays
        themselves (no copy).
    starts : ndarray of int64
        ``starts[c]`` is the position of customer ``c``'s first event (``n_customers + 1``
        entries; ``starts[c + 1] - starts[c]`` events).
    order : ndarray of int64 or None
        The permutation that sorted the (valid) input events, None when already sorted.
    unit : int
        Nanoseconds per key slot.
    stride : int
        Every ``stride``-th event's key is kept: 1 for up to 4M events, else 16.
    sampled_keys : ndarray of int64
        Those keys, ascending.

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
        codes = np.asarray(codes)
        if codes.dtype.kind != "i":  # int32 codes are kept as they are (half the memory)
            codes = codes.astype(np.int64)
        t = np.asarray(times)
        valid = None
        if np.issubdtype(t.dtype, np.datetime64):
            t = t.astype("datetime64[ns]", copy=False).view(np.int64)
            if any(np.any(t[lo : lo + _CHUNK] == _NAT) for lo in range(0, len(t), _CHUNK)):
                valid = t != _NAT
        elif t.dtype != np.int64:
            t = t.astype(np.int64)
        if len(codes) != len(t):
            raise ValueError(f"codes ({len(codes)}) and times ({len(t)}) differ in length")
        self.n_customers = int(n_customers)
        self.valid = valid  # None: every event is indexed
        if valid is not None:
            codes, t = codes[valid], t[valid]
        # missing values stay NaN: sums_between counts them as 0, window by window
        vals = {k: self._select(v, np.float64) for k, v in (values or {}).items()}
        self.t0, self.unit, self.span = _choose_key(t, self.n_customers)
        # Events are usually sorted by (customer, time) already (EventData sorts them); check.
        self.order: np.ndarray | None = None
        if not _sorted_by_code_and_time(codes, t):
            order = np.lexsort((t, codes))
            codes, t = codes[order], t[order]
            vals = {k: v[order] for k, v in vals.items()}
            self.order = order
        self.codes = codes
        self.times = t
        # the key of every event of a small table; of every _STRIDE-th event of a big one
        self.stride = 1 if len(t) <= _EVERY_KEY else _STRIDE
        self.sampled_keys = _make_keys(
            codes[:: self.stride], t[:: self.stride], self.t0, self.unit, self.span
        )
        self._values = vals
        # queries of the codes' own type: int64 queries would make an int64 copy of the codes
        bounds = np.arange(self.n_customers + 1, dtype=np.int64)
        if codes.dtype == np.int32 and self.n_customers < np.iinfo(np.int32).max:
            bounds = bounds.astype(np.int32)
        self.starts = np.searchsorted(codes, bounds, side="left").astype(np.int64, copy=False)

    def describe_key(self) -> str:
        """How times are keyed, e.g. ``'key unit second'``."""
        name = _UNIT_NAMES.get(self.unit, f"{self.unit} ns")
        return f"key unit {name}"

    def _select(self, values: np.ndarray, dtype: type | None = None) -> np.ndarray:
        """Per-event ``values`` (input order) restricted to the indexed events."""
        v = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
        return v if self.valid is None else v[self.valid]

    def position(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Global position of the first event of ``codes`` at or after ``times``.

        Equivalently ``starts[code]`` plus the number of that customer's events before
        ``times``.
        """
        codes = np.asarray(codes, dtype=np.int64)
        t = np.asarray(times)
        if np.issubdtype(t.dtype, np.datetime64):
            t = t.astype("datetime64[ns]", copy=False).view(np.int64)
        t = np.asarray(t, dtype=np.int64)
        # times far before or after the events (e.g. 1700, or NaT as int64's minimum) are
        # first brought next to the key's range, so t - t0 cannot overflow; NaT stays "after
        # every event", as before
        upper = self.t0 + self.span * self.unit
        t = np.where(t == np.iinfo(np.int64).min, upper, np.clip(t, self.t0 - self.unit, upper))
        slot = (t - self.t0) // self.unit
        np.clip(slot, 0, self.span - 1, out=slot)
        query = codes * self.span + slot
        # Kept events keyed below the query's key are before T, those keyed above are not:
        # the answer lies between, among the customer's own events, whose times decide.
        # Queries go in ascending order (a dozen ascending runs, one per cutoff, merge
        # cheaply in a stable sort), so the searches and the comparisons stay in cache.
        order = None if not np.any(query[1:] < query[:-1]) else np.argsort(query, kind="stable")
        if order is not None:
            query, codes, t = query[order], codes[order], t[order]
        lo = _searchsorted(self.sampled_keys, query)
        hi = _searchsorted(self.sampled_keys, query + 1)  # side="right"
        if self.stride > 1:
            np.subtract(lo, 1, out=lo)
            np.multiply(lo, self.stride, out=lo)
            np.add(lo, 1, out=lo)
            np.multiply(hi, self.stride, out=hi)
            np.maximum(lo, self.starts[codes], out=lo)
            np.minimum(hi, self.starts[codes + 1], out=hi)
        # every query's first steps together, then the few with long ranges on their own
        steps = 0 if self.stride == 1 else self.stride.bit_length() + 1
        pos = _bisect(self.times, lo, hi, t, steps)
        if order is None:
            return pos
        out = np.empty_like(pos)
        out[order] = pos
        return out

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
        """Sum of per-event ``values[name]`` over ``[start, end)`` for each customer.

        Missing values count 0. Each sum adds up that customer's values in the window and
        nothing else (see :func:`sums_between`).
        """
        end_pos = self.position(codes, end)
        return sums_between(self._values[name], end_pos, [self.position(codes, start)])[0]

    def last_before(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Sorted position of each customer's last event before ``times``; -1 if none."""
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

    def sorted_values(self, values: np.ndarray) -> np.ndarray:
        """Reorder per-event ``values`` (original row order) into the index's sorted order.

        Without ``NaT`` times and with events already sorted, this is ``values`` itself.
        """
        v = self._select(values)
        return v if self.order is None else v[self.order]


def _choose_key(t: np.ndarray, n_customers: int) -> tuple[int, int, int]:
    """``(t0, unit, span)`` of the key ``code * span + (t - t0) // unit``.

    ``unit`` is the coarsest candidate dividing a sample of the times whose key range fits
    int64; when none does, the finest candidate that fits. ``t0`` is the earliest time
    rounded down to a whole unit (since the epoch), so midnight cutoffs and whole-day windows
    fall on slot edges. Any choice is exact (see :meth:`EventIndex.position`); a unit that
    divides the times keeps queries inside a slot rare.
    """
    if len(t) == 0:
        return 0, 1, 1
    t_min, t_max = int(t.min()), int(t.max())
    slots = n_customers + 1

    def key(unit: int) -> tuple[int, int, int] | None:
        t0 = t_min - t_min % unit
        span = (t_max - t0) // unit + 2
        return (t0, unit, span) if span * slots < _MAX_KEY else None

    step = max(1, len(t) // _SAMPLE)
    sample = np.concatenate([t[:_SAMPLE], t[::step][:_SAMPLE]])
    for unit in _UNITS_NS:
        found = key(unit)
        if found is not None and not np.any(sample % unit):
            return found
    for unit in reversed(_UNITS_NS):
        found = key(unit)
        if found is not None:
            return found
    # Only with ~10**13 customers: a whole number of days per slot.
    day = _UNITS_NS[0]  # pragma: no cover
    unit = day * (-(-((t_max - t_min + day) * slots) // (_MAX_KEY // 4)) // day + 1)
    return key(unit)  # pragma: no cover


def _make_keys(codes: np.ndarray, t: np.ndarray, t0: int, unit: int, span: int) -> np.ndarray:
    """``codes * span + (t - t0) // unit``, built in chunks to keep temporaries small."""
    keys = np.empty(len(t), dtype=np.int64)
    scratch = np.empty(min(len(t), _CHUNK), dtype=np.int64)
    for lo in range(0, len(t), _CHUNK):
        hi = min(lo + _CHUNK, len(t))
        part, tmp = keys[lo:hi], scratch[: hi - lo]
        np.subtract(t[lo:hi], t0, out=part)
        if unit != 1:
            np.floor_divide(part, unit, out=part)
        np.multiply(codes[lo:hi], span, out=tmp, dtype=np.int64)  # int64 on numpy 1.x too
        part += tmp
    return keys


def _sorted_by_code_and_time(codes: np.ndarray, t: np.ndarray) -> bool:
    """True when events are sorted by (code, time), checked a chunk at a time."""
    for lo in range(0, max(len(codes) - 1, 0), _CHUNK):
        hi = min(lo + _CHUNK, len(codes) - 1)
        a, b = codes[lo:hi], codes[lo + 1 : hi + 1]
        if np.any(b < a):
            return False
        same = b == a
        if np.any(t[lo + 1 : hi + 1][same] < t[lo:hi][same]):
            return False
    return True


def _searchsorted(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``np.searchsorted(keys, query, "left")``, fast for millions of keys and queries.

    Queries are sorted first when they are not (a dozen ascending runs, one per cutoff, are
    merged cheaply by a stable sort), then located with :func:`_searchsorted_ascending`.
    """
    n = len(query)
    if n < 4096 or len(keys) < 1 << 16:
        return np.searchsorted(keys, query, side="left")
    if not np.any(query[1:] < query[:-1]):
        return _searchsorted_ascending(keys, query)
    order = np.argsort(query, kind="stable")
    out = np.empty(n, dtype=np.intp)
    out[order] = _searchsorted_ascending(keys, query[order])
    return out


def _searchsorted_ascending(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``np.searchsorted(keys, query)`` for ascending ``query``, in slices.

    Every ``_SLICE``-th query is located over all keys; the queries between two of them are
    then located among the keys between their answers, a short range that stays in cache.
    (numpy's binary search restarts from the end of the array for every query.)
    """
    n = len(query)
    bounds = np.searchsorted(keys, query[::_SLICE], side="left")
    bounds = np.append(bounds, np.searchsorted(keys, query[-1:], side="left"))
    out = np.empty(n, dtype=np.intp)
    for b in range(len(bounds) - 1):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        rows = slice(b * _SLICE, min((b + 1) * _SLICE, n))
        found = out[rows]
        found[:] = np.searchsorted(keys[lo : hi + 1], query[rows], side="left")
        found += lo
    return out


def _bisect(
    times: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray, steps: int = 0
) -> np.ndarray:
    """First position in ``[lo, hi)`` whose time is ``>= t`` (``times`` ascending there).

    ``lo`` and ``hi`` are overwritten (``lo`` is returned). The first ``steps`` halvings run
    over every query at once (``steps`` = 6 settles ranges of up to 63 events); the ranges
    still open after them are narrowed on their own.
    """
    last = len(times) - 1
    if last < 0:
        return lo
    mid = np.empty_like(lo)
    before = np.empty(len(lo), dtype=bool)
    for _ in range(steps):
        np.add(lo, hi, out=mid)
        np.right_shift(mid, 1, out=mid)
        inside = mid < hi
        np.minimum(mid, last, out=mid)
        np.less(times[mid], t, out=before)
        before &= inside
        np.copyto(hi, mid, where=inside & ~before)
        mid += 1
        np.copyto(lo, mid, where=before)
    active = np.flatnonzero(lo < hi)
    while len(active):
        a_lo, a_hi = lo[active], hi[active]
        mid = (a_lo + a_hi) // 2
        before = times[mid] < t[active]
        lo[active] = np.where(before, mid + 1, a_lo)
        hi[active] = np.where(before, a_hi, mid)
        active = active[lo[active] < hi[active]]
    return lo


def count_prefix(flags: np.ndarray) -> np.ndarray:
    """``out[i]`` = number of true ``flags`` among the first ``i`` (int64, exact).

    Differences of these running counts are exact whatever the other customers hold, so
    flag counts over a window (``out[end] - out[start]``) need no per-window summation.
    """
    out = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(np.asarray(flags, dtype=bool), out=out[1:])
    return out


def sums_between(
    values: np.ndarray, end: np.ndarray, starts: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Sum of ``values[start:end]`` for every row and every array of ``starts``.

    Parameters
    ----------
    values : ndarray of float64
        Per-event numbers in the index's sorted order (see :meth:`EventIndex.sorted_values`);
        missing values count 0.
    end : ndarray of int
        Each row's end position (excluded), e.g. :meth:`EventIndex.position` at the cutoff.
    starts : sequence of ndarray of int
        One array of start positions (included) per window, each ``<= end`` row by row.

    Returns
    -------
    list of ndarray of float64
        One array per entry of ``starts``: 0 for an empty window.

    Notes
    -----
    Every window is summed from its own values only, in event order, by ``np.add.reduceat``
    (bit for bit ``np.add.reduceat(values[start:end], [0])``, wherever the window lies in
    memory): the result depends on the values inside the window and on nothing else, not on
    other customers and not on the same customer's events before the window or after the
    cutoff. (A difference of running totals would carry the rounding of every earlier event,
    and one huge value would swamp it.)

    The windows are laid out as ``[start_1, end, start_2, end, ...]`` per row with rows in
    descending ``end``, so the pieces ``reduceat`` forms between one window's end and the next
    window's start run backwards and cost one element each: the work is the number of events
    inside the windows plus a sort of the rows and about one pass over the events. The values
    are read where they are, not copied (only when they hold a NaN, and for the few windows
    that end at the last event), so a call for a few rows costs little more than their windows.

    Examples
    --------
    >>> values = np.array([1.0, 2.0, 1e17, 4.0, 8.0])
    >>> [s.tolist() for s in sums_between(values, np.array([2, 5]), [np.array([0, 3])])]
    [[3.0, 12.0]]
    """
    end = np.asarray(end, dtype=np.intp)
    starts = [np.asarray(s, dtype=np.intp) for s in starts]
    n_rows, k = len(end), len(starts)
    outs = [np.zeros(n_rows, dtype=np.float64) for _ in starts]
    if n_rows == 0 or k == 0 or len(values) == 0:
        return outs
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        suspect = bool(np.isnan(np.add.reduce(values)))  # a NaN, or +inf and -inf: no copy
    order = np.argsort(end, kind="stable")[::-1]  # rows by descending end
    for lo in range(0, n_rows, _SUM_ROWS):
        rows = order[lo : lo + _SUM_ROWS]
        # with missing values, each band of rows sums a zero-filled copy of its own events
        for band in _bands(rows, end) if suspect else [rows]:
            at_end = end[band] == len(values)  # windows reaching the last event
            if at_end.any():
                _add_window_sums(values, band[at_end], end, starts, outs, True, suspect)
                band = band[~at_end]
            if len(band):
                _add_window_sums(values, band, end, starts, outs, False, suspect)
    return outs


def _bands(rows: np.ndarray, end: np.ndarray) -> list[np.ndarray]:
    """``rows`` (by descending end) split where their ends have moved :data:`_CHUNK` events.

    A band's events run from its windows' earliest start to its latest end: about
    :data:`_CHUNK` events plus one window, so a zero-filled copy of them stays small.
    """
    e = end[rows]
    band = (e[0] - e) // _CHUNK
    return np.split(rows, np.flatnonzero(band[1:] != band[:-1]) + 1)


def _add_window_sums(
    values: np.ndarray,
    rows: np.ndarray,
    end: np.ndarray,
    starts: Sequence[np.ndarray],
    outs: list[np.ndarray],
    past_end: bool,
    zero_nan: bool,
) -> None:
    """Write the window sums of ``rows`` (by descending end) into ``outs`` (see sums_between).

    ``reduceat`` needs every position inside the array it reduces: windows ending at
    ``len(values)`` (``past_end``) are summed over a copy of the events they cover with a
    0 appended; the others over a view of ``values`` that ends just after their largest end,
    so that the pieces between one window's end and the next window's start stay short.
    With ``zero_nan`` (``values`` holds NaN: missing values count 0), over a copy of the
    events the windows cover, NaN replaced by 0.
    """
    e = end[rows]
    k = len(starts)
    idx = np.empty((len(rows), k, 2), dtype=np.intp)
    idx[:, :, 1] = e[:, None]
    for w, s in enumerate(starts):
        idx[:, w, 0] = s[rows]
    if past_end or zero_nan:
        base = int(idx[:, :, 0].min())
        stop = len(values) if past_end else int(e[0]) + 1
        view = np.zeros(stop - base + past_end, dtype=np.float64)
        np.copyto(view[: stop - base], values[base:stop])
        if zero_nan:
            view[np.isnan(view)] = 0.0
        idx -= base
    else:
        view = values[: int(e[0]) + 1]
    sums = np.add.reduceat(view, idx.reshape(-1))[0::2].reshape(len(rows), k)
    for w in range(k):
        outs[w][rows] = np.where(idx[:, w, 0] < idx[:, w, 1], sums[:, w], 0.0)


if hasattr(np, "bitwise_count"):  # numpy >= 2.0

    def _popcount(words: np.ndarray) -> np.ndarray:
        return np.bitwise_count(words).astype(np.int64)

else:  # pragma: no cover - numpy 1.x
    _BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)

    def _popcount(words: np.ndarray) -> np.ndarray:
        as_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
        return _BYTE_BITS[as_bytes].reshape(-1, 8).sum(axis=1)


class BitRank:
    """One bit per event: how many flagged events lie before a position, and where the k-th is.

    A compact alternative to a prefix-count array (an eighth of a byte per event instead of
    four or eight): the flags are packed into 64-bit words with the number of flags before
    each word, so :meth:`rank` is two look-ups and a popcount.

    Parameters
    ----------
    flags : ndarray of bool
        One flag per event, in the index's sorted order.

    Examples
    --------
    >>> import numpy as np
    >>> bits = BitRank(np.array([True, False, True, True, False]))
    >>> bits.rank(np.array([0, 1, 3, 5])).tolist()  # flags before each position
    [0, 1, 2, 3]
    >>> bits.select(np.array([0, 1, 2])).tolist()  # positions of the 1st, 2nd, 3rd flag
    [0, 2, 3]
    >>> bits.get(np.array([1, 2, 5])).tolist()
    [False, True, False]
    >>> bits.last_before(np.array([0, 1, 3, 5])).tolist()  # last flag before each position
    [-1, 0, 2, 3]
    """

    def __init__(self, flags: np.ndarray) -> None:
        flags = np.asarray(flags, dtype=bool)
        self._pack(len(flags), lambda lo, hi: flags[lo:hi])

    @classmethod
    def from_chunks(cls, n: int, flags: Callable[[int, int], np.ndarray]) -> BitRank:
        """Build from ``flags(lo, hi)``, the flags of positions ``[lo, hi)``, a chunk at a time
        (no array of ``n`` flags is ever held)."""
        out = cls.__new__(cls)
        out._pack(n, flags)
        return out

    def _pack(self, n: int, flags: Callable[[int, int], np.ndarray]) -> None:
        self.n = n
        words = np.zeros(n // 64 + 1, dtype="<u8")  # a spare word: position n is valid
        as_bytes = words.view(np.uint8)
        for lo in range(0, n, _CHUNK):  # _CHUNK is a multiple of 8: chunks fill whole bytes
            hi = min(lo + _CHUNK, n)
            packed = np.packbits(flags(lo, hi), bitorder="little")
            as_bytes[lo // 8 : lo // 8 + len(packed)] = packed
        self.words = words
        self.before = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(_popcount(words), out=self.before[1:])

    @property
    def total(self) -> int:
        """Number of flagged events."""
        return int(self.before[-1])

    def rank(self, pos: np.ndarray) -> np.ndarray:
        """Number of flagged events before each position ``pos`` (0 .. n)."""
        pos = np.asarray(pos, dtype=np.int64)
        word = pos >> 6
        below = (np.uint64(1) << (pos & 63).astype(np.uint64)) - np.uint64(1)
        return self.before[word] + _popcount(self.words[word] & below)

    def get(self, pos: np.ndarray) -> np.ndarray:
        """The flag at each position (False at position n)."""
        pos = np.asarray(pos, dtype=np.int64)
        bit = (pos & 63).astype(np.uint64)
        return ((self.words[pos >> 6] >> bit) & np.uint64(1)).astype(bool)

    def select(self, k: np.ndarray) -> np.ndarray:
        """Position of the ``k``-th flagged event (0-based); needs ``0 <= k < total``."""
        k = np.asarray(k, dtype=np.int64)
        word = _searchsorted(self.before, k + 1) - 1  # last word with before <= k
        bits = self.words[word]
        wanted = k - self.before[word]
        # the largest bit i whose lower bits hold at most `wanted` flags is the flag itself
        at = np.zeros(len(k), dtype=np.uint64)
        one = np.uint64(1)
        for step in (32, 16, 8, 4, 2, 1):
            lower = _popcount(bits & ((one << (at + np.uint64(step))) - one))
            at += np.uint64(step) * (lower <= wanted)
        return word * 64 + at.astype(np.int64)

    def last_before(self, pos: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
        """Position of the last flagged event before each ``pos``; -1 when there is none.

        ``rank`` (``self.rank(pos)``) may be passed when already known.
        """
        pos = np.asarray(pos, dtype=np.int64)
        rank = self.rank(pos) if rank is None else np.asarray(rank, dtype=np.int64)
        out = np.full(len(pos), -1, dtype=np.int64)
        word = pos >> 6
        below = self.words[word] & ((np.uint64(1) << (pos & 63).astype(np.uint64)) - np.uint64(1))
        near = below != 0  # a flag in pos's own word: its highest bit below pos
        out[near] = word[near] * 64 + _highest_bit(below[near])
        far = np.flatnonzero(~near & (rank > 0))
        out[far] = self.select(rank[far] - 1)
        return out


def _highest_bit(words: np.ndarray) -> np.ndarray:
    """Index of the highest set bit of each non-zero uint64 (exact: 32-bit halves as floats)."""
    high = (words >> np.uint64(32)).astype(np.float64)
    low = (words & np.uint64(0xFFFFFFFF)).astype(np.float64)
    return np.where(high > 0, np.frexp(high)[1] + 31, np.frexp(low)[1] - 1).astype(np.int64)
