"""Features are exact per customer: one customer's events never change another's features.

Random customer tables on an hourly grid; then one customer receives extra activity values,
payments and tickets of any magnitude (zero, subnormal, tiny, ordinary, 1e17, up to 1e300),
dated before, exactly at or after the cutoff and on window edges. Every other customer's
features, through every default family, must stay bit for bit the same.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from churnpredict._data import EventData
from churnpredict._labels import population
from churnpredict.features import build_features, default_builders

BASE = pd.Timestamp("2024-01-01")
HOUR = pd.Timedelta(hours=1)
SPAN_HOURS = 200 * 24
CUTOFF_H = 150 * 24
EVENT_TYPES = ("login", "view", "export")
STATUSES = ("succeeded", "succeeded", "failed", "refunded")
#: hours before the cutoff where window edges fall (negative: after the cutoff)
EDGES = (0, 1, 7 * 24, 14 * 24, 28 * 24, 30 * 24, 60 * 24, 90 * 24, 180 * 24, -1, -24)

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOURS = st.one_of(st.integers(0, SPAN_HOURS), st.sampled_from(EDGES).map(lambda e: CUTOFF_H - e))
MAGNITUDE = st.one_of(
    st.sampled_from([0.0, 5e-324, 1e-300, 1e-9, 0.1, 1.0, 29.99, 1e17, 1e300]),
    st.floats(0, 1e300, allow_nan=False, allow_infinity=False),
)
VALUE = st.one_of(st.just(np.nan), st.floats(0, 100, allow_nan=False))


def _stamp(hours) -> pd.Series:
    return pd.Series(BASE + pd.to_timedelta(np.asarray(hours, dtype=np.int64), unit="h"))


@st.composite
def tables(draw) -> dict[str, pd.DataFrame]:
    """Customers with activity (event, value), payments and tickets on an hourly grid."""
    n = draw(st.integers(3, 6))
    ids = [f"c{i}" for i in range(n)]
    signup = draw(st.lists(st.integers(0, CUTOFF_H - 1), min_size=n, max_size=n))
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": _stamp(signup),
            "plan": draw(st.lists(st.sampled_from(("basic", "pro")), min_size=n, max_size=n)),
            "mrr": draw(st.lists(st.floats(0, 500), min_size=n, max_size=n)),
        }
    )
    acts = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), HOURS, st.sampled_from(EVENT_TYPES), VALUE),
            min_size=n,
            max_size=40,
        )
    )
    acts += [(i, CUTOFF_H - 24, "login", 1.0) for i in range(n)]  # everyone is active
    activity = pd.DataFrame(
        {
            "customer_id": [ids[a[0]] for a in acts],
            "timestamp": _stamp([a[1] for a in acts]),
            "event": [a[2] for a in acts],
            "value": [a[3] for a in acts],
        }
    )
    pays = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                HOURS,
                st.floats(0, 100, allow_nan=False),
                st.sampled_from(STATUSES),
            ),
            min_size=1,
            max_size=25,
        )
    )
    payments = pd.DataFrame(
        {
            "customer_id": [ids[p[0]] for p in pays],
            "timestamp": _stamp([p[1] for p in pays]),
            "amount": [p[2] for p in pays],
            "status": [p[3] for p in pays],
        }
    )
    tix = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                HOURS,
                st.one_of(st.none(), st.integers(0, 30 * 24)),
                st.sampled_from(("low", "high")),
                st.one_of(st.none(), st.integers(1, 5)),
            ),
            min_size=1,
            max_size=15,
        )
    )
    tickets = _tickets(ids, tix)
    return {"customers": customers, "activity": activity, "payments": payments, "tickets": tickets}


def _tickets(ids: list[str], tix: list[tuple]) -> pd.DataFrame:
    resolved = [None if t[2] is None else BASE + (t[1] + t[2]) * HOUR for t in tix]
    return pd.DataFrame(
        {
            "customer_id": [ids[t[0]] for t in tix],
            "created_at": _stamp([t[1] for t in tix]),
            "resolved_at": pd.to_datetime(pd.Series(resolved, dtype=object)),
            "priority": [t[3] for t in tix],
            "csat": pd.Series(
                [None if r is None else t[4] for t, r in zip(tix, resolved, strict=True)],
                dtype="float64",
            ),
        }
    )


@st.composite
def extra_events(draw, n: int) -> tuple[int, dict[str, pd.DataFrame]]:
    """One customer (by position) and extra rows of any magnitude for each event table."""
    who = draw(st.integers(0, n - 1))
    cid = f"c{who}"
    acts = draw(st.lists(st.tuples(HOURS, st.sampled_from(EVENT_TYPES), MAGNITUDE), max_size=6))
    pays = draw(st.lists(st.tuples(HOURS, MAGNITUDE, st.sampled_from(STATUSES)), max_size=6))
    tix = draw(
        st.lists(
            st.tuples(
                st.just(who),
                HOURS,
                st.one_of(st.none(), st.integers(0, 10**6)),
                st.sampled_from(("low", "high")),
                st.one_of(st.none(), st.integers(1, 5)),
            ),
            max_size=4,
        )
    )
    activity = pd.DataFrame(
        {
            "customer_id": [cid] * len(acts),
            "timestamp": _stamp([a[0] for a in acts]),
            "event": [a[1] for a in acts],
            "value": pd.Series([a[2] for a in acts], dtype="float64"),
        }
    )
    payments = pd.DataFrame(
        {
            "customer_id": [cid] * len(pays),
            "timestamp": _stamp([p[0] for p in pays]),
            "amount": pd.Series([p[1] for p in pays], dtype="float64"),
            "status": [p[2] for p in pays],
        }
    )
    ids = [f"c{i}" for i in range(n)]
    return who, {"activity": activity, "payments": payments, "tickets": _tickets(ids, tix)}


def _data(frames: dict[str, pd.DataFrame]) -> EventData:
    return EventData(
        frames["customers"],
        activity=frames["activity"],
        payments=frames["payments"],
        tickets=frames["tickets"],
    )


def _build(data: EventData, rows: pd.MultiIndex, builders) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return build_features(data, rows, builders, fit=False)


def _fitted_builders(data: EventData, rows: pd.MultiIndex) -> list:
    builders = default_builders()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        build_features(data, rows, builders, fit=True)
    return builders


def _assert_bitwise_equal(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Same index, columns and every value bit for bit (NaN equal to NaN)."""
    pd.testing.assert_index_equal(left.index, right.index)
    pd.testing.assert_index_equal(left.columns, right.columns)
    for col in left.columns:
        a, b = left[col], right[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            pd.testing.assert_series_equal(a, b)
            continue
        a64, b64 = a.to_numpy(np.float64), b.to_numpy(np.float64)
        assert np.array_equal(a64, b64, equal_nan=True), f"{col}: {a64} != {b64}"


@pytest.mark.slow
@SETTINGS
@given(hyp=st.data())
def test_one_customers_events_leave_every_other_customer_bit_for_bit_unchanged(hyp):
    base = hyp.draw(tables())
    n = len(base["customers"])
    who, extra = hyp.draw(extra_events(n))
    cutoffs = [BASE + CUTOFF_H * HOUR, BASE + (CUTOFF_H - 13 * 24 - 5) * HOUR]
    data = _data(base)
    rows = population(data, cutoffs, kind="inactivity").index
    builders = _fitted_builders(data, rows)
    changed = _data(
        {
            **base,
            **{
                name: pd.concat([base[name], frame], ignore_index=True)
                for name, frame in extra.items()
            },
        }
    )
    before, after = _build(data, rows, builders), _build(changed, rows, builders)
    others = rows.get_level_values("customer_id") != f"c{who}"
    assert others.any()
    _assert_bitwise_equal(before[others], after[others])


def _two_customers(amount: float, value: float, *, at: str) -> EventData:
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "signup_at": pd.to_datetime(["2023-01-01"] * 3)}
    )
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    rng = np.random.default_rng(0)
    activity = pd.DataFrame(
        {
            "customer_id": np.repeat(["a", "b", "c"], 60),
            "timestamp": np.tile(days, 3),
            "value": rng.random(180) * 10,
        }
    )
    payments = pd.DataFrame(
        {
            "customer_id": np.repeat(["a", "b", "c"], 2),
            "timestamp": pd.to_datetime(["2024-01-05", "2024-02-05"] * 3),
            "amount": [29.99, 29.99, 0.1, 0.2, 0.3, 0.7],
            "status": "succeeded",
        }
    )
    extra_act = pd.DataFrame(
        {"customer_id": ["a"], "timestamp": pd.to_datetime([at]), "value": [value]}
    )
    extra_pay = pd.DataFrame(
        {
            "customer_id": ["a"],
            "timestamp": pd.to_datetime([at]),
            "amount": [amount],
            "status": ["succeeded"],
        }
    )
    return EventData(
        customers,
        activity=pd.concat([extra_act, activity], ignore_index=True),
        payments=pd.concat([extra_pay, payments], ignore_index=True),
    )


@pytest.mark.parametrize("at", ["2023-06-01", "2024-02-10", "2024-03-15"])
@pytest.mark.parametrize("magnitude", [1e17, 1e300, 1e-300])
def test_issue_example_huge_value_of_one_customer(at, magnitude):
    """A 1e17 payment/value of customer "a" (before the windows, inside them, or after the
    cutoff) leaves value_sum_* and paid_* of "b" and "c" exactly as without it, and they equal
    the plain sum of their own window's values."""
    cutoff = pd.Timestamp("2024-03-01")
    plain = _two_customers(0.0, 0.0, at=at)
    huge = _two_customers(magnitude, magnitude, at=at)
    rows = population(plain, [cutoff]).index
    builders = _fitted_builders(plain, rows)
    x_plain, x_huge = _build(plain, rows, builders), _build(huge, rows, builders)
    others = rows.get_level_values("customer_id") != "a"
    _assert_bitwise_equal(x_plain[others], x_huge[others])
    b = x_huge.xs("b", level="customer_id").iloc[0]
    assert b["paid_30d"] == 0.2 and b["paid_90d"] == 0.1 + 0.2
    act = plain.activity
    mine = act.loc[
        (act["customer_id"] == "b")
        & (act["timestamp"] < cutoff)
        & (act["timestamp"] >= cutoff - pd.Timedelta(days=30)),
        "value",
    ]
    assert b["value_sum_30d"] == pytest.approx(mine.sum(), rel=1e-15, abs=0)
    # and "a" itself: a huge value before its windows does not swamp its own window sums
    if at == "2023-06-01":
        a_plain = x_plain.xs("a", level="customer_id").iloc[0]
        a_huge = x_huge.xs("a", level="customer_id").iloc[0]
        assert a_huge["paid_30d"] == a_plain["paid_30d"] == 29.99
        assert a_huge["value_sum_30d"] == a_plain["value_sum_30d"]
