"""Feature-building benchmark: churnpredict's default features against one DuckDB SQL query.

Generates subscription data (``--customers`` customers, about 250 activity events each at the
default ``--events-per-day``, plus payments and tickets), then, at one cutoff and at
``--cutoffs`` stacked cutoffs 14 days apart:

1. builds the default feature set with :func:`churnpredict.build_features` (population, every
   default family, from a cold cache: the event indexes are built inside the timing);
2. computes the same features with one DuckDB SQL query over the same pandas frames (DuckDB
   reads them directly and uses every core, its default);
3. checks that both agree, column by column (``np.allclose`` with NaN equal to NaN), and
   lists any column that differs;
4. prints wall time, rows per second, the peak memory of each path and the time ratio
   churnpredict / DuckDB.

Peak memory is the rise of the process's resident-set high-water mark (``VmHWM`` in
``/proc/self/status``) over its size before the step; the mark is reset before each step
(``/proc/self/clear_refs``), so each peak belongs to its own step.

Run from the repository root::

    python benchmarks/features.py                      # 200,000 customers (~50M events)
    python benchmarks/features.py --customers 20000    # quick check
    python benchmarks/features.py --ns-timestamps      # activity times at nanosecond resolution

``--ns-timestamps`` adds a random sub-second part to every activity time, so the event index
cannot use a whole-second key; DuckDB compares nanosecond timestamps exactly as well.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from churnpredict import (
    EventData,  # noqa: E402
    make_cutoffs,  # noqa: E402
)
from churnpredict.datasets import make_subscription_data  # noqa: E402
from churnpredict.features import (  # noqa: E402
    EventIndex,  # noqa: E402
    build_features,
    default_builders,
)

DAY_NS = 86_400 * 10**9

# The default feature set's parameters (checked against default_builders() at start-up).
ENGAGEMENT_WINDOWS = (7, 30, 90)
TREND_DAYS = 30
TREND_WEEKS = 8
MAX_EVENT_TYPES = 8
SUPPORT_WINDOWS = (30, 90)
OVERDUE_DAYS = 7
LOW_CSAT = 2
HIGH_PRIORITY = ("high", "urgent", "critical")
HIGH_PRIORITY_MIN = 3
PAYMENT_WINDOWS = (30, 90)
MONETARY_WINDOWS = (30, 90, 180)
PRICE_LOOKBACK = 90
ONBOARDING_DAYS = 30


# --------------------------------------------------------------------------- memory
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measure(func: Callable[[], Any]) -> tuple[Any, float, float, float, bool]:
    """Run ``func``: its result, wall seconds, CPU seconds (all threads), peak RSS rise in
    bytes, and whether the peak belongs to this step alone."""
    gc.collect()
    reset = _reset_peak()
    base = _status_kib("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    out = func()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = (_status_kib("VmHWM") - base) * 1024
    return out, seconds, cpu, float(peak), reset


# --------------------------------------------------------------------------- SQL
def _slug_types(types: list[str]) -> list[tuple[str, str]]:
    from churnpredict.features._engagement import _slugs

    return list(zip(types, _slugs(types), strict=True))


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def feature_sql(types: list[str]) -> str:
    """One query computing every default feature for the population at each cutoff.

    Tables: ``customers``, ``activity``, ``payments`` (with a ``seq`` column, the row
    order that breaks ties between payments at the same time), ``tickets`` and ``cutoffs``
    (one ``cutoff`` column). Windows are ``[cutoff - W, cutoff)`` as in churnpredict.
    """
    typed = _slug_types(types)
    week_ns = 7 * DAY_NS
    k = TREND_WEEKS

    def since(days: int, col: str = "a.timestamp") -> str:
        return f"{col} >= p.cutoff - INTERVAL {days} DAY"

    # Activity: one pass over the events joined to their rows, conditional sums per window.
    # Distinct active days without COUNT(DISTINCT): each event is flagged when it is the first
    # of its customer's UTC day (a window function); a window's active days are its flagged
    # events, plus one when the day of its earliest event began before the window.
    def n(cond: str) -> str:
        return f"sum(({cond})::INTEGER)"

    act_cols = []
    for w in ENGAGEMENT_WINDOWS:
        inside = f"a.ts >= p.cut_ns - {w * DAY_NS}"
        act_cols += [
            f"{n(inside)} AS events_{w}d",
            f"{n(f'{inside} AND a.first_of_day')} + CASE WHEN "
            f"min(a.ts) FILTER (WHERE {inside}) // {DAY_NS} IS DISTINCT FROM "
            f"min(a.ts) FILTER (WHERE {inside} AND a.first_of_day) // {DAY_NS} "
            f"THEN 1 ELSE 0 END AS active_days_{w}d",
            f"coalesce(sum(CASE WHEN {inside} THEN a.value END), 0) AS value_sum_{w}d",
        ]
        act_cols += [
            f"{n(f'{inside} AND a.event = {_quote(t)}')} AS events_{s}_{w}d" for t, s in typed
        ]
    tw = TREND_DAYS
    # week j holds [cutoff - 7(j+1) days, cutoff - 7j days); j = 0 is the latest week
    week = f"((p.cut_ns - a.ts - 1) // {week_ns})"
    act_cols += [
        f"{n(f'a.ts >= p.cut_ns - {2 * tw * DAY_NS} AND a.ts < p.cut_ns - {tw * DAY_NS}')}"
        f" AS prev_{tw}d",
        f"{n(f'{week} < p.weeks')} AS slope_sy",
        f"coalesce(sum(CASE WHEN {week} < p.weeks THEN {k - 1} - {week} END), 0) AS slope_sxy",
    ]
    last_type_cols = ",\n      ".join(
        f"max(a.timestamp) FILTER (WHERE t.event = {_quote(t)}) AS last_{s}" for t, s in typed
    )
    types_values = ", ".join(_quote(t) for t, _ in typed) or "NULL"
    lookback = max(max(ENGAGEMENT_WINDOWS), 2 * tw, 7 * k)

    def days(expr: str) -> str:
        return f"({expr}) / {float(DAY_NS)!r}"

    def observed(start: str, end: str, length_days: int) -> str:
        """Days of [start, end) after signup, at least min(1 day, length); NULL if none."""
        floor = min(length_days, 1) * DAY_NS
        obs = f"(({end}) - greatest({start}, p.signup_ns))"
        return f"((CASE WHEN {obs} > 0 THEN greatest({obs}, {floor}) END) / {float(DAY_NS)!r})"

    eng = [f"{days('p.cut_ns - epoch_ns(la.last_ts)')} AS days_since_last_activity"]
    eng += [f"{days(f'p.cut_ns - epoch_ns(lt.last_{s})')} AS days_since_last_{s}" for _, s in typed]
    for w in ENGAGEMENT_WINDOWS:
        eng += [
            f"coalesce(x.events_{w}d, 0)::DOUBLE AS events_{w}d",
            f"coalesce(x.active_days_{w}d, 0)::DOUBLE AS active_days_{w}d",
            f"coalesce(x.events_{w}d, 0) / "
            f"{observed(f'p.cut_ns - {w * DAY_NS}', 'p.cut_ns', w)} AS events_per_day_{w}d",
            f"coalesce(x.value_sum_{w}d, 0)::DOUBLE AS value_sum_{w}d",
        ]
        eng += [f"coalesce(x.events_{s}_{w}d, 0)::DOUBLE AS events_{s}_{w}d" for _, s in typed]
    last = f"coalesce(x.events_{tw}d, 0)"
    prev = f"coalesce(x.prev_{tw}d, 0)"
    obs_last = observed(f"p.cut_ns - {tw * DAY_NS}", "p.cut_ns", tw)
    obs_prev = observed(f"p.cut_ns - {2 * tw * DAY_NS}", f"p.cut_ns - {tw * DAY_NS}", tw)
    eng += [
        f"CASE WHEN {prev} > 0 THEN ({last} / {obs_last}) / ({prev} / {obs_prev}) END"
        f" AS activity_trend_ratio_{tw}d",
        f"({last} - {prev})::DOUBLE AS activity_trend_diff_{tw}d",
        # least squares over the latest p.weeks weeks: x = k-1 (latest) down to k-weeks
        f"CASE WHEN p.weeks >= 2 THEN (coalesce(x.slope_sxy, 0) - p.sx * "
        f"coalesce(x.slope_sy, 0) / p.weeks) / (p.sxx - p.sx * p.sx / p.weeks) END"
        f" AS weekly_events_slope_{k}w",
    ]

    sup = [f"coalesce(tk.tickets_{w}d, 0)::DOUBLE AS tickets_{w}d" for w in SUPPORT_WINDOWS]
    sl = max(SUPPORT_WINDOWS)
    sup += [
        f"CASE WHEN p.cut_ns > p.signup_ns THEN coalesce(tk.tickets_{sl}d, 0) / "
        f"(least(p.cut_ns - p.signup_ns, {sl * DAY_NS}) / {float(DAY_NS)!r}) * 30.0 END"
        f" AS tickets_per_month_{sl}d"
    ]
    sup += [
        f"coalesce(tk.high_priority_{w}d, 0)::DOUBLE AS high_priority_tickets_{w}d"
        for w in SUPPORT_WINDOWS
    ]
    sup += [
        "coalesce(tk.open_tickets, 0)::DOUBLE AS open_tickets",
        f"coalesce(tk.overdue, 0)::DOUBLE AS overdue_tickets_{OVERDUE_DAYS}d",
        f"tk.resolution_days AS resolution_days_{sl}d",
        f"coalesce(tk.low_csat, 0)::DOUBLE AS low_csat_tickets_{sl}d",
    ]
    hp_words = ", ".join(_quote(w) for w in HIGH_PRIORITY)
    ticket_cols = [
        f"count(*) FILTER (WHERE {since(w, 'k.created_at')}) AS tickets_{w}d"
        for w in SUPPORT_WINDOWS
    ]
    ticket_cols += [
        f"count(*) FILTER (WHERE {since(w, 'k.created_at')} AND k.high) AS high_priority_{w}d"
        for w in SUPPORT_WINDOWS
    ]
    resolved_in = f"k.resolved_at < p.cutoff AND {since(sl, 'k.resolved_at')}"
    ticket_cols += [
        "count(*) FILTER (WHERE k.resolved_at IS NULL OR k.resolved_at >= p.cutoff)"
        " AS open_tickets",
        f"count(*) FILTER (WHERE k.created_at < p.cutoff - INTERVAL {OVERDUE_DAYS} DAY AND "
        f"(k.resolved_at IS NULL OR k.resolved_at >= p.cutoff)) AS overdue",
        f"avg((epoch_ns(k.resolved_at) - epoch_ns(k.created_at)) / {float(DAY_NS)!r})"
        f" FILTER (WHERE {resolved_in}) AS resolution_days",
        f"count(*) FILTER (WHERE {resolved_in} AND k.csat <= {LOW_CSAT}) AS low_csat",
    ]

    pw, pl = PAYMENT_WINDOWS, max(PAYMENT_WINDOWS)
    mw, ml = MONETARY_WINDOWS, max(MONETARY_WINDOWS)
    ok, failed, refund = ("y.status = 'succeeded'", "y.status = 'failed'", "y.status = 'refunded'")
    pay_cols = [
        f"count(*) FILTER (WHERE {failed} AND {since(w, 'y.timestamp')}) AS failed_{w}d" for w in pw
    ]
    pay_cols += [
        f"count(*) FILTER (WHERE y.status <> 'refunded' AND "
        f"{since(w, 'y.timestamp')}) AS attempts_{w}d"
        for w in pw
    ]
    pay_cols += [
        f"max(y.timestamp) FILTER (WHERE {failed}) AS last_failed",
        # the latest attempt's running count of failures since the latest success
        "arg_max(y.fails_in_row, y.attempt_no) FILTER (WHERE y.status <> 'refunded')"
        " AS consecutive",
    ]
    pay_cols += [
        f"sum(y.amount) FILTER (WHERE {ok} AND {since(w, 'y.timestamp')}) AS paid_{w}d" for w in mw
    ]
    pay_cols += [
        f"count(*) FILTER (WHERE {ok} AND {since(ml, 'y.timestamp')}) AS n_paid",
        f"arg_max(y.amount, y.attempt_no) FILTER (WHERE {ok}) AS mrr",
        f"arg_max(y.amount, y.attempt_no) FILTER (WHERE {ok} AND y.timestamp < p.cutoff - "
        f"INTERVAL {PRICE_LOOKBACK} DAY) AS earlier",
    ]
    pay_cols += [
        f"sum(y.amount) FILTER (WHERE {refund} AND {since(w, 'y.timestamp')}) AS refunded_{w}d"
        for w in mw
    ]
    pay_cols += [
        f"count(*) FILTER (WHERE {refund} AND {since(w, 'y.timestamp')}) AS refunds_{w}d"
        for w in mw
    ]

    pays = [f"coalesce(pm.failed_{w}d, 0)::DOUBLE AS failed_payments_{w}d" for w in pw]
    pays += [
        f"CASE WHEN pm.attempts_{w}d > 0 THEN pm.failed_{w}d / pm.attempts_{w}d END"
        f" AS failure_ratio_{w}d"
        for w in pw
    ]
    consecutive = "coalesce(pm.consecutive, 0)"
    pays += [
        f"{days('p.cut_ns - epoch_ns(pm.last_failed)')} AS days_since_failed_payment",
        f"({consecutive} > 0)::DOUBLE AS in_dunning",
        f"{consecutive}::DOUBLE AS consecutive_failed_payments",
        f"(coalesce(pm.failed_{pl}d, 0) - least({consecutive}, coalesce(pm.failed_{pl}d, 0)))"
        f"::DOUBLE AS recovered_failed_payments_{pl}d",
    ]
    mon = [f"coalesce(pm.paid_{w}d, 0) AS paid_{w}d" for w in mw]
    mon += [
        f"coalesce(pm.n_paid, 0)::DOUBLE AS payments_{ml}d",
        f"CASE WHEN pm.n_paid > 0 THEN pm.paid_{ml}d / pm.n_paid END AS avg_payment_{ml}d",
        "pm.mrr AS mrr",
        f"CASE WHEN pm.earlier > 0 THEN pm.mrr / pm.earlier - 1 END"
        f" AS price_change_pct_{PRICE_LOOKBACK}d",
        f"pm.mrr - pm.earlier AS price_change_{PRICE_LOOKBACK}d",
    ]
    mon += [f"coalesce(pm.refunded_{w}d, 0) AS refunded_{w}d" for w in mw]
    mon += [f"coalesce(pm.refunds_{w}d, 0)::DOUBLE AS refunds_{w}d" for w in mw]

    ten = [
        f"{days('p.cut_ns - p.signup_ns')} AS tenure_days",
        f"({days('p.cut_ns - p.signup_ns')} < {ONBOARDING_DAYS})::DOUBLE AS is_new",
        "p.plan AS plan",
        "p.channel AS channel",
    ]
    select = ",\n  ".join(eng + sup + pays + mon + ten)
    sep = ",\n      "
    return f"""
WITH
cut AS (SELECT DISTINCT CAST(cutoff AS TIMESTAMP_NS) AS cutoff FROM cutoffs),
pop AS (  -- signed up before the cutoff and not churned at it
  SELECT c.customer_id, k.cutoff, c.plan, c.channel,
         epoch_ns(k.cutoff) AS cut_ns, epoch_ns(c.signup_at) AS signup_ns,
         least({k}, (epoch_ns(k.cutoff) - epoch_ns(c.signup_at)) // {week_ns}) AS weeks
  FROM customers c CROSS JOIN cut k
  WHERE c.signup_at < k.cutoff AND (c.churned_at IS NULL OR c.churned_at > k.cutoff)
),
p AS (  -- sum and sum of squares of x = {k} - weeks .. {k - 1} (fully observed weeks)
  SELECT *, ({k - 1} * {k} - ({k} - weeks - 1) * ({k} - weeks)) / 2.0 AS sx,
         ({k - 1} * {k} * {2 * k - 1} - ({k} - weeks - 1) * ({k} - weeks)
          * (2 * ({k} - weeks) - 1)) / 6.0 AS sxx
  FROM pop
),
a AS (  -- activity in [first cutoff - {lookback} days, last cutoff), times as nanoseconds
  SELECT customer_id, epoch_ns(timestamp) AS ts, event, value,
         row_number() OVER (PARTITION BY customer_id, epoch_ns(timestamp) // {DAY_NS}
                            ORDER BY timestamp) = 1 AS first_of_day
  FROM activity
  WHERE timestamp >= (SELECT min(cutoff) FROM cut) - INTERVAL {lookback} DAY
    AND timestamp < (SELECT max(cutoff) FROM cut)
),
act AS (  -- events in [cutoff - {lookback} days, cutoff)
  SELECT p.customer_id, p.cutoff,
      {sep.join(act_cols)}
  FROM p JOIN a ON a.customer_id = p.customer_id
       AND a.ts >= p.cut_ns - {lookback * DAY_NS} AND a.ts < p.cut_ns
  GROUP BY p.customer_id, p.cutoff
),
last_any AS (
  SELECT p.customer_id, p.cutoff, a.timestamp AS last_ts
  FROM p ASOF LEFT JOIN activity a ON a.customer_id = p.customer_id AND p.cutoff > a.timestamp
),
types AS (  -- the learned types, as the activity.event type
  SELECT event FROM (SELECT DISTINCT event FROM activity)
  WHERE event::VARCHAR IN ({types_values})
),
last_type AS (
  SELECT p.customer_id, p.cutoff,
      {last_type_cols}
  FROM (p CROSS JOIN types t) ASOF LEFT JOIN activity a
       ON a.customer_id = p.customer_id AND a.event = t.event AND p.cutoff > a.timestamp
  GROUP BY p.customer_id, p.cutoff
),
attempts AS (  -- payments with, per attempt, failures in a row since the latest success
  SELECT *, sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) OVER (
              PARTITION BY customer_id, ok_run ORDER BY timestamp, seq
              ROWS UNBOUNDED PRECEDING) AS fails_in_row
  FROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY timestamp, seq)
                  AS attempt_no,
               sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) OVER (
                  PARTITION BY customer_id ORDER BY timestamp, seq
                  ROWS UNBOUNDED PRECEDING) AS ok_run
        FROM payments)
),
pm AS (
  SELECT p.customer_id, p.cutoff,
      {sep.join(pay_cols)}
  FROM p JOIN attempts y ON y.customer_id = p.customer_id AND y.timestamp < p.cutoff
  GROUP BY p.customer_id, p.cutoff
),
tk AS (
  SELECT p.customer_id, p.cutoff,
      {sep.join(ticket_cols)}
  FROM p JOIN (SELECT *, (lower(trim(priority::VARCHAR)) IN ({hp_words})
                          OR coalesce(TRY_CAST(priority::VARCHAR AS DOUBLE) >= {HIGH_PRIORITY_MIN},
                                      false)) AS high
               FROM tickets) k
       ON k.customer_id = p.customer_id AND k.created_at < p.cutoff
  GROUP BY p.customer_id, p.cutoff
)
SELECT p.customer_id, p.cutoff,
  {select}
FROM p
LEFT JOIN act x USING (customer_id, cutoff)
LEFT JOIN last_any la USING (customer_id, cutoff)
LEFT JOIN last_type lt USING (customer_id, cutoff)
LEFT JOIN pm USING (customer_id, cutoff)
LEFT JOIN tk USING (customer_id, cutoff)
"""


TYPES_SQL = f"""
SELECT event::VARCHAR AS event, count(*) AS n FROM activity
WHERE event IS NOT NULL AND timestamp < (SELECT max(CAST(cutoff AS TIMESTAMP_NS)) FROM cutoffs)
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MAX_EVENT_TYPES}
"""  # the most frequent types before the latest cutoff, as EngagementFeatures learns them


def run_duckdb(data: EventData, cutoffs: pd.DatetimeIndex, threads: int | None) -> pd.DataFrame:
    """Learn the event types and compute every feature with DuckDB from the pandas frames."""
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    payments = data.payments
    con.register("customers", data.customers)
    con.register("activity", data.activity)
    con.register("payments", payments.assign(seq=np.arange(len(payments))))
    con.register("tickets", data.tickets)
    con.register("cutoffs", pd.DataFrame({"cutoff": cutoffs}))
    types = [row[0] for row in con.execute(TYPES_SQL).fetchall()]
    out = con.execute(feature_sql(types)).df()
    con.close()
    return out


# --------------------------------------------------------------------------- comparison
def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> list[str]:
    """Columns that differ (np.allclose, NaN == NaN); prints a line for each."""
    theirs = theirs.set_index(["customer_id", "cutoff"])
    theirs.index = theirs.index.set_levels(theirs.index.levels[1].astype("datetime64[ns]"), level=1)
    if len(ours) != len(theirs) or not ours.index.sort_values().equals(theirs.index.sort_values()):
        print(f"  ROWS DIFFER: churnpredict {len(ours):,} rows, DuckDB {len(theirs):,}")
        return ["<rows>"]
    theirs = theirs.reindex(ours.index)
    missing = [c for c in ours.columns if c not in theirs.columns]
    extra = [c for c in theirs.columns if c not in ours.columns]
    if missing or extra:
        print(f"  COLUMNS DIFFER: only churnpredict {missing}, only DuckDB {extra}")
    bad = list(missing)
    for col in ours.columns:
        if col in missing:
            continue
        a, b = ours[col], theirs[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            same = (
                a.astype("string").fillna("<NA>").to_numpy()
                == b.astype("string").fillna("<NA>").to_numpy()
            )
            ok = bool(same.all())
            detail = f"{int((~same).sum())} rows"
        else:
            x = a.to_numpy(dtype=np.float64)
            y = pd.to_numeric(b).to_numpy(dtype=np.float64, na_value=np.nan)
            close = np.isclose(x, y, equal_nan=True)
            ok = bool(close.all())
            with np.errstate(invalid="ignore"):
                worst = (
                    np.nanmax(np.abs(x - y)[~close])
                    if not ok and (~np.isnan(x - y)[~close]).any()
                    else np.nan
                )
            detail = f"{int((~close).sum())} rows, max |diff| {worst:.3g}"
        if not ok:
            bad.append(col)
            print(f"  DIFFERS: {col}: {detail}")
    return bad


# --------------------------------------------------------------------------- main
def build_timed(
    data: EventData, cutoffs: pd.DatetimeIndex, steps: list[tuple[str, float]]
) -> pd.DataFrame:
    """:func:`build_features`, appending (family, time) to ``steps`` after each family."""
    steps.append(("start", time.perf_counter()))
    return build_features(
        data, cutoffs, progress=lambda name, step, total: steps.append((name, time.perf_counter()))
    )


def _check_defaults() -> None:
    b = {type(x).__name__: x for x in default_builders()}
    expected = {
        "EngagementFeatures": {
            "windows": ENGAGEMENT_WINDOWS,
            "trend_window": TREND_DAYS,
            "trend_weeks": TREND_WEEKS,
            "max_event_types": MAX_EVENT_TYPES,
            "event_types": "auto",
        },
        "SupportFeatures": {
            "windows": SUPPORT_WINDOWS,
            "overdue_days": OVERDUE_DAYS,
            "low_csat": LOW_CSAT,
            "high_priority": HIGH_PRIORITY,
            "high_priority_min": HIGH_PRIORITY_MIN,
        },
        "PaymentFeatures": {"windows": PAYMENT_WINDOWS},
        "MonetaryFeatures": {"windows": MONETARY_WINDOWS, "price_change_lookback": PRICE_LOOKBACK},
        "TenureFeatures": {"onboarding_days": ONBOARDING_DAYS},
    }
    for name, params in expected.items():
        got = {k: v for k, v in b[name].get_params().items() if k in params}
        if got != params:
            raise SystemExit(f"{name} defaults changed: {got} != {params}; update the SQL")


def _index_report(data: EventData) -> list[str]:
    lines = []
    for key, value in data._cache.items():
        if isinstance(value, EventIndex):
            table = key[1] if isinstance(key, tuple) and len(key) > 1 else "?"
            subset = f"[{key[3]}]" if isinstance(key, tuple) and len(key) > 3 and key[3] else ""
            key_info = value.describe_key() if hasattr(value, "describe_key") else ""
            lines.append(f"{table}{subset}: {len(value.times):,} events, {key_info}")
    return lines


def _with_ns_timestamps(data: EventData, seed: int) -> EventData:
    """The same tables with a random sub-second part added to every activity time."""
    rng = np.random.default_rng(seed)
    activity = data.activity
    jitter = rng.integers(0, 10**9, len(activity)).astype("timedelta64[ns]")
    activity = activity.assign(timestamp=activity["timestamp"].to_numpy() + jitter)
    return EventData(
        data.customers, activity=activity, payments=data.payments, tickets=data.tickets
    )


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--events-per-day", type=float, default=1.08)
    parser.add_argument("--cutoffs", type=int, default=12, help="stacked cutoffs, 14 days apart")
    parser.add_argument("--last-cutoff", default="2024-12-03")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="DuckDB threads (default: DuckDB's own, every core)",
    )
    parser.add_argument(
        "--ns-timestamps", action="store_true", help="give activity times a random nanosecond part"
    )
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument(
        "--only",
        choices=("one", "stacked"),
        default=None,
        help="run only the single-cutoff or only the stacked case",
    )
    args = parser.parse_args(argv)
    _check_defaults()

    import duckdb

    load = os.getloadavg()[0]
    print(
        f"cores: {os.cpu_count()}, load average {load:.1f}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, duckdb {duckdb.__version__}",
        flush=True,
    )
    start = time.perf_counter()
    data = make_subscription_data(
        args.customers, events_per_day=args.events_per_day, random_state=args.seed
    )
    if args.ns_timestamps:
        data = _with_ns_timestamps(data, args.seed)
    print(f"generated {data} in {time.perf_counter() - start:.1f} s", flush=True)
    input_bytes = sum(
        int(f.memory_usage(deep=True, index=True).sum()) for f in data.tables.values()
    )
    n_events = sum(len(f) for name, f in data.tables.items() if name != "customers")
    print(f"input tables in memory: {_mib(input_bytes)} ({n_events:,} events)", flush=True)

    last = pd.Timestamp(args.last_cutoff)
    cases = {
        "one": ("1 cutoff", make_cutoffs(last, 1)),
        "stacked": (f"{args.cutoffs} cutoffs", make_cutoffs(last, args.cutoffs, "14D")),
    }
    results = []
    for name, (label, cutoffs) in cases.items():
        if args.only and name != args.only:
            continue
        print(
            f"\n== {label} ({cutoffs[0].date()} .. {cutoffs[-1].date()}), load average "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
        data._cache.clear()  # cold: the event indexes are built inside the timing
        steps: list[tuple[str, float]] = []
        ours, sec, cpu, peak, exact_peak = measure(
            lambda c=cutoffs, s=steps: build_timed(data, c, s)
        )
        rows = len(ours)
        print(
            f"  churnpredict: {rows:,} rows x {ours.shape[1]} features in {sec:.2f} s "
            f"(cpu {cpu:.2f} s; {rows / sec:,.0f} rows/s, {n_events / sec / 1e6:.1f}M "
            f"events/s), peak +{_mib(peak)} ({peak / input_bytes:.2f}x input)",
            flush=True,
        )
        parts = [
            f"{name.replace('Features', '').lower()} {t - t_prev:.2f}"
            for (_, t_prev), (name, t) in zip(steps[:-1], steps[1:], strict=True)
        ]
        print(f"    seconds by family (the first includes the population): {', '.join(parts)}")
        for line in _index_report(data):
            print(f"    index {line}")
        data._cache.clear()
        record = {
            "case": label,
            "rows": rows,
            "churnpredict_s": sec,
            "churnpredict_cpu_s": cpu,
            "churnpredict_rows_per_s": rows / sec,
            "churnpredict_peak_mib": peak / 2**20,
            "peak_over_input": peak / input_bytes,
        }
        if not args.skip_duckdb:
            theirs, dsec, dcpu, dpeak, _ = measure(
                lambda c=cutoffs: run_duckdb(data, c, args.threads)
            )
            print(
                f"  DuckDB:       {len(theirs):,} rows in {dsec:.2f} s (cpu {dcpu:.2f} s; "
                f"{len(theirs) / dsec:,.0f} rows/s), peak +{_mib(dpeak)} "
                f"({dpeak / input_bytes:.2f}x input)",
                flush=True,
            )
            bad = compare(ours, theirs)
            print(
                f"  agreement: {'all columns agree' if not bad else f'{len(bad)} differ'}; "
                f"ratio churnpredict / DuckDB = {sec / dsec:.2f}",
                flush=True,
            )
            record.update(
                {
                    "duckdb_s": dsec,
                    "duckdb_cpu_s": dcpu,
                    "duckdb_rows_per_s": len(theirs) / dsec,
                    "duckdb_peak_mib": dpeak / 2**20,
                    "ratio": sec / dsec,
                    "differing_columns": len(bad),
                }
            )
            del theirs
        if not exact_peak:
            print("  (could not reset the high-water mark: peaks include earlier steps)")
        del ours
        results.append(record)
    table = pd.DataFrame(results)
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(f"input tables: {_mib(input_bytes)}; load average at the end: {os.getloadavg()[0]:.1f}")
    return table


if __name__ == "__main__":
    main()
