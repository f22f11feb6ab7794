"""EventIndex and BitRank: exact answers at any time resolution, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from churnpredict.features._index import BitRank, EventIndex

BASE = np.datetime64("2024-01-01T00:00:00", "ns")


def _brute_before(codes, times, q_codes, q_times):
    return np.array([np.sum((codes == c) & (times < t)) for c, t in
                     zip(q_codes, q_times, strict=True)])


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
    times[:50] = BASE + np.timedelta64(10**15, "ns") + rng.integers(0, 10**6, 50).astype(
        "timedelta64[ns]")
    codes[:50] = 7
    index = EventIndex(codes, times, n_cust)
    assert index.unit > 1  # a coarse slot was needed
    q_codes = rng.choice(who, 600)
    q_times = BASE + rng.integers(-10, century + 10, 600).astype("timedelta64[ns]")
    q_times[:100] = times[:100]
    q_times[100:200] = times[100:200] + np.timedelta64(1, "ns")
    q_codes[:200] = codes[:200]
    assert index.count_before(q_codes, q_times).tolist() == _brute_before(
        codes, times, q_codes, q_times).tolist()


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
    assert index.count_before(q_codes, q_times).tolist() == _brute_before(
        codes, times, q_codes, q_times).tolist()


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
        assert index.window_sum("v", q_codes[i:i + 1], np.array([start]),
                                q_times[i:i + 1])[0] == pytest.approx(v[window].sum())


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
    assert np.array_equal(narrow.count_before(q_codes, q_times),
                          wide.count_before(q_codes, q_times))
