"""EventIndex and BitRank: exact answers at any time resolution, checked against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churnpredict._eventindex import BitRank, EventIndex, count_prefix, sums_between

BASE = np.datetime64("2024-01-01T00:00:00", "ns")


@pytest.fixture(autouse=True, params=["every key", "sampled keys"])
def key_sampling(request, monkeypatch):
    """Every test runs twice: with every event keyed (small tables) and with every 4th event
    keyed (big tables keep every 16th), so the short search after the sampled keys is
    checked on data a test can hold."""
    if request.param == "sampled keys":
        import churnpredict._eventindex as index_module

        monkeypatch.setattr(index_module, "_EVERY_KEY", 0)
        monkeypatch.setattr(index_module, "_STRIDE", 4)
    return request.param


def _brute_before(codes, times, q_codes, q_times):
    return np.array(
        [np.sum((codes == c) & (times < t)) for c, t in zip(q_codes, q_times, strict=True)]
    )


def test_nanosecond_times_over_a_century_stay_exact():
    """Nanosecond events over a hundred years for a million customers cannot be keyed by the
    nanosecond: the index keys them by a coarser slot, and queries that fall inside a slot
    (one nanosecond after an event, exactly at an event, random nanoseconds) compare that
    slot's events directly, including a burst of one customer's events within a millisecond."""
    rng = np.random.default_rng(1)
    n_events, n_cust = 3000, 10**6
    who = np.array([0, 7, n_cust - 1])
    codes = rng.choice(who, n_events)
    century = 100 * 365 * 86_400 * 10**9
    times = BASE + rng.integers(0, century, n_events).astype("timedelta64[ns]")
    times[:50] = (
        BASE + np.timedelta64(10**15, "ns") + rng.integers(0, 10**6, 50).astype("timedelta64[ns]")
    )
    codes[:50] = 7
    index = EventIndex(codes, times, n_cust)
    assert index.unit > 1  # a coarse slot was needed
    q_codes = rng.choice(who, 600)
    q_times = BASE + rng.integers(-10, century + 10, 600).astype("timedelta64[ns]")
    q_times[:100] = times[:100]
    q_times[100:200] = times[100:200] + np.timedelta64(1, "ns")
    q_codes[:200] = codes[:200]
    assert (
        index.count_before(q_codes, q_times).tolist()
        == _brute_before(codes, times, q_codes, q_times).tolist()
    )


@pytest.mark.parametrize("resolution", ["D", "s", "ms", "ns"])
def test_unit_follows_the_resolution_of_the_times(resolution):
    """Day-, second- and millisecond-stamped events are keyed by that unit, and queries off
    that grid (half a unit later) still count exactly."""
    rng = np.random.default_rng(3)
    step = np.timedelta64(1, resolution).astype("timedelta64[ns]")
    codes = rng.integers(0, 30, 2000)
    times = BASE + rng.integers(0, 500, 2000) * step
    index = EventIndex(codes, times, 30)
    assert index.unit == max(int(step.astype(np.int64)), 1)
    q_codes = rng.integers(0, 30, 400)
    q_times = BASE + rng.integers(-2, 502, 400) * step
    q_times[200:] += step // 2
    assert (
        index.count_before(q_codes, q_times).tolist()
        == _brute_before(codes, times, q_codes, q_times).tolist()
    )


def test_unsorted_input_with_missing_times_and_scattered_queries():
    """Events in no order, some without a time (left out), and more queries than the sorted
    fast path takes in one go, in random order: counts, sums and sorted values agree."""
    rng = np.random.default_rng(4)
    n_cust, n_events = 500, 70_000
    codes = rng.integers(0, n_cust, n_events)
    times = BASE + rng.integers(0, 10**7, n_events).astype("timedelta64[s]")
    times = times.astype("datetime64[ns]")
    times[::97] = np.datetime64("NaT")
    values = rng.random(n_events)
    index = EventIndex(codes, times, n_cust, values={"v": values})
    assert index.order is not None and index.valid is not None
    ok = ~np.isnat(times)
    order = np.lexsort((times[ok], codes[ok]))
    assert np.array_equal(index.sorted_values(values), values[ok][order])
    q_codes = rng.integers(0, n_cust, 6000)
    q_times = BASE + rng.integers(0, 10**7, 6000).astype("timedelta64[s]")
    got = index.count_before(q_codes, q_times)
    c, t, v = codes[ok], times[ok], values[ok]
    for i in range(0, 6000, 599):  # a sample of the queries, brute force
        mine = (c == q_codes[i]) & (t < q_times[i])
        assert got[i] == mine.sum()
        start = q_times[i] - np.timedelta64(30, "D")
        window = (c == q_codes[i]) & (t >= start) & (t < q_times[i])
        assert index.window_sum("v", q_codes[i : i + 1], np.array([start]), q_times[i : i + 1])[
            0
        ] == pytest.approx(v[window].sum())


def test_no_events():
    """An index without events answers 0 for everyone."""
    index = EventIndex(np.empty(0, dtype=np.int64), np.empty(0, dtype="datetime64[ns]"), 3)
    assert index.count_before(np.array([0, 2]), np.array([BASE, BASE])).tolist() == [0, 0]


@pytest.mark.parametrize("n", [1, 63, 64, 65, 128, 1000])
def test_bitrank_matches_brute_force(n):
    """Flags straddling 64-bit word edges: rank, get, select and last_before."""
    rng = np.random.default_rng(n)
    flags = rng.random(n) < 0.3
    flags[-1] = True
    bits = BitRank(flags)
    pos = np.arange(n + 1)
    prefix = np.concatenate([[0], np.cumsum(flags)])
    assert bits.total == flags.sum()
    assert np.array_equal(bits.rank(pos), prefix)
    assert np.array_equal(bits.get(pos), np.append(flags, False))
    assert np.array_equal(bits.select(np.arange(flags.sum())), np.flatnonzero(flags))
    last = np.array([np.flatnonzero(flags[:p])[-1] if flags[:p].any() else -1 for p in pos])
    assert np.array_equal(bits.last_before(pos), last)


def test_int32_codes_are_kept_and_give_the_same_answers():
    """Customer codes stored as int32 (half the memory of int64) are used as they are."""
    rng = np.random.default_rng(5)
    codes = np.sort(rng.integers(0, 50, 5000))
    times = BASE + rng.integers(0, 10**6, 5000).astype("timedelta64[s]")
    wide = EventIndex(codes, times, 50)
    narrow = EventIndex(codes.astype(np.int32), times, 50)
    assert narrow.codes.dtype == np.int32
    q_codes = rng.integers(0, 50, 300)
    q_times = BASE + rng.integers(0, 10**6, 300).astype("timedelta64[s]")
    assert np.array_equal(
        narrow.count_before(q_codes, q_times), wide.count_before(q_codes, q_times)
    )


# ------------------------------------------------------------------ exact window sums
def test_sums_between_sums_each_window_from_its_own_values():
    """Every window's sum is bit for bit the sum of its values alone, wherever it lies, so
    values outside it (huge ones included) change nothing; empty windows are 0."""
    rng = np.random.default_rng(7)
    n = 20_000
    values = rng.normal(size=n) * 10.0 ** rng.integers(-8, 18, n)
    end = rng.integers(0, n + 1, 3000)
    short = np.maximum(end - rng.integers(0, 40, 3000), 0)
    long = np.maximum(short - rng.integers(0, 400, 3000), 0)
    end[:50] = short[:50]  # empty windows
    got_short, got_long = sums_between(values, end, [short, long])

    def alone(lo: int, hi: int) -> float:
        return np.add.reduceat(values[lo:hi].copy(), [0])[0] if hi > lo else 0.0

    for i in range(0, 3000, 7):
        assert got_short[i] == alone(short[i], end[i])
        assert got_long[i] == alone(long[i], end[i])
    assert np.all(got_short[:50] == 0.0)
    # the same windows with the rest of the array replaced by huge numbers: same bits
    inside = np.zeros(n, dtype=bool)
    for s, e in zip(long, end, strict=True):
        inside[s:e] = True
    noisy = np.where(inside, values, 1e300)
    again_short, again_long = sums_between(noisy, end, [short, long])
    assert np.array_equal(again_short, got_short) and np.array_equal(again_long, got_long)


def test_sums_between_does_not_depend_on_row_order_or_chunking(monkeypatch):
    rng = np.random.default_rng(8)
    values = rng.random(5000) * 1e3
    end = rng.integers(0, 5001, 2000)
    start = np.maximum(end - rng.integers(0, 90, 2000), 0)
    (whole,) = sums_between(values, end, [start])
    perm = rng.permutation(2000)
    (shuffled,) = sums_between(values, end[perm], [start[perm]])
    assert np.array_equal(shuffled, whole[perm])
    import churnpredict._eventindex as index_module

    monkeypatch.setattr(index_module, "_SUM_ROWS", 37)
    (chunked,) = sums_between(values, end, [start])
    assert np.array_equal(chunked, whole)


def test_sums_between_edge_cases():
    assert sums_between(np.empty(0), np.array([0, 0]), [np.array([0, 0])])[0].tolist() == [0, 0]
    assert sums_between(np.ones(3), np.empty(0, dtype=np.int64), [np.empty(0)])[0].size == 0
    (whole,) = sums_between(np.array([1.0, 2.0, 4.0]), np.array([3]), [np.array([0])])
    assert whole.tolist() == [7.0]
    (holes,) = sums_between(np.array([1.0, np.nan, 4.0]), np.array([3, 2]), [np.array([0, 1])])
    assert holes.tolist() == [5.0, 0.0]  # missing values count 0


def test_sums_between_reads_the_values_in_place():
    """A call for a few rows costs memory for their windows, not a copy of every event: feature
    blocks built apart (in parallel) would otherwise each copy the whole table."""
    import tracemalloc

    values = np.arange(4_000_000, dtype=np.float64)
    end = np.array([10, 4_000_000, 2_000_000])
    start = np.array([0, 3_999_990, 2_000_000])
    tracemalloc.start()
    try:
        (sums,) = sums_between(values, end, [start])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sums.tolist() == [45.0, float(sum(range(3_999_990, 4_000_000))), 0.0]
    assert peak < 1 << 20  # the values are 32 MB
    (holes,) = sums_between(
        np.array([np.inf, 1.0, -np.inf, 2.0]), np.array([2, 4]), [np.array([1, 3])]
    )
    assert holes.tolist() == [1.0, 2.0]  # +inf and -inf together: still each window's own sum


def test_window_sum_counts_missing_values_as_zero_and_stays_per_customer():
    codes = np.array([0, 0, 0, 1, 1])
    times = BASE + np.array([0, 1, 2, 0, 1]).astype("timedelta64[D]")
    values = np.array([1e17, np.nan, 0.1, 0.2, 0.3])
    index = EventIndex(codes, times, 2, values={"v": values})
    end = np.array([BASE + np.timedelta64(3, "D")] * 2)
    start = np.array([BASE + np.timedelta64(1, "D")] * 2)
    assert index.window_sum("v", np.array([0, 1]), start, end).tolist() == [0.1, 0.3]
    assert index.window_sum("v", np.array([1]), np.array([BASE]), end[:1]).tolist() == [0.2 + 0.3]


def test_count_prefix_is_exact_integer_running_count():
    flags = np.array([True, False, True, True])
    out = count_prefix(flags)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 1, 2, 3]


def test_window_edges_far_from_the_events_do_not_overflow():
    """A start in 1700 (decades before the events) counts every earlier event, never < 0."""
    times = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15"]).to_numpy()
    index = EventIndex(np.array([0, 0, 0, 1]), times, 2)
    codes = np.array([0, 1, 0])
    start = np.array(["1700-01-01", "1700-01-01", "2024-01-20"], dtype="datetime64[ns]")
    end = np.array(["2024-02-15", "2199-12-31", "2199-12-31"], dtype="datetime64[ns]")
    assert index.count_between(codes, start, end).tolist() == [2, 1, 2]
    assert index.count_before(codes, start).tolist() == [0, 0, 1]
    nat = np.array(["NaT"], dtype="datetime64[ns]")
    assert index.count_before(np.array([0]), nat).tolist() == [3]  # NaT: after every event


@settings(max_examples=150, deadline=None)
@given(
    n_events=st.integers(0, 300),
    n_cust=st.integers(1, 12),
    span_s=st.sampled_from([1, 50, 86_400 * 30]),
    stride=st.sampled_from([1, 2, 3, 16]),
    seed=st.integers(0, 2**32 - 1),
)
def test_positions_equal_brute_force_whatever_is_keyed(n_events, n_cust, span_s, stride, seed):
    """Counts before any time equal a brute-force count, whichever events are keyed: bursts
    of events in one second (longer than the first steps of the search), queries on, between
    and far from the events, NaT, events out of order."""
    import churnpredict._eventindex as index_module

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_cust, n_events)
    times = BASE + rng.integers(0, span_s * 10**9, n_events).astype("timedelta64[ns]")
    times[: n_events // 2] = times[0] if n_events else times[:0]  # a burst at one instant
    q_codes = rng.integers(0, n_cust, 200)
    q_times = BASE + rng.integers(-(10**9), (span_s + 1) * 10**9, 200).astype("timedelta64[ns]")
    if n_events:
        q_times[:50] = times[rng.integers(0, n_events, 50)]
    q_times[-3:] = np.datetime64("NaT")
    old = index_module._EVERY_KEY, index_module._STRIDE
    index_module._EVERY_KEY, index_module._STRIDE = (1 << 22, 16) if stride == 1 else (0, stride)
    try:
        index = EventIndex(codes, times, n_cust)
    finally:
        index_module._EVERY_KEY, index_module._STRIDE = old
    want = _brute_before(codes, times, q_codes, np.where(np.isnat(q_times), BASE + 10**18, q_times))
    assert index.count_before(q_codes, q_times).tolist() == want.tolist()


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 300),
    missing=st.floats(0, 1),
    chunk=st.sampled_from([1, 3, 7, 1 << 20]),
    rows_at_a_time=st.sampled_from([1, 5, 1 << 18]),
    seed=st.integers(0, 2**32 - 1),
)
def test_sums_with_missing_values_equal_each_windows_own_sum(
    n, missing, chunk, rows_at_a_time, seed
):
    """With NaN among the values (summed as 0 over a zero-filled copy of each band of rows'
    events), every window's sum equals ``np.add.reduceat`` over that window alone, bit for
    bit, whatever the band and chunk sizes."""
    import churnpredict._eventindex as index_module

    rng = np.random.default_rng(seed)
    values = rng.normal(size=n) * 10.0 ** rng.integers(0, 12, n)
    values[rng.random(n) < missing] = np.nan
    end = rng.integers(0, n + 1, 40)
    starts = [np.minimum(end, rng.integers(0, n + 1, 40)) for _ in range(2)]
    old = index_module._CHUNK, index_module._SUM_ROWS
    index_module._CHUNK, index_module._SUM_ROWS = chunk, rows_at_a_time
    try:
        got = sums_between(values, end, starts)
    finally:
        index_module._CHUNK, index_module._SUM_ROWS = old
    zeroed = np.where(np.isnan(values), 0.0, values)
    for start, sums in zip(starts, got, strict=True):
        pairs = zip(start, end, strict=True)
        want = [np.add.reduceat(zeroed[a:b], [0])[0] if b > a else 0.0 for a, b in pairs]
        assert sums.tolist() == want
