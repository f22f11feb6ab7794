"""Sample data: a subscription business whose churn has known, learnable causes.

:func:`make_subscription_data` simulates a software-as-a-service company with monthly billing.
Every customer lives through a few competing stories; whichever ends first decides when and
why they leave, and each story leaves its trace in the event tables *weeks before* the
cancellation, as in real life:

* ``onboarding`` (voluntary): the customer never gets going; little activity from day one,
  cancelled 10-40 days after signup (more often when acquired through paid ads).
* ``engagement`` (voluntary): usage starts to fade, halving about every 10 days; the
  customer cancels 4-9 weeks after the fade began.
* ``support`` (voluntary): a burst of high-priority tickets that stay open for days and
  are rated badly; half of these customers cancel 3-8 weeks later.
* ``payments`` (involuntary): the card fails; dunning retries after 3, 7 and 14 days; 60%
  recover, the rest are cancelled 18-24 days after the first failure.
* ``price`` (voluntary): the plan's price rises; some of its customers cancel within a
  month of their first invoice at the new price.
* ``other`` (voluntary): the customer leaves without a trace (closed the business).

Customers sign up throughout the period, more every month (``growth``). Events stop at
cancellation. The ``mrr`` column of ``customers`` is a snapshot taken at export time: the
plan's *current* price, even for customers who left before a price rise, so it must not be
used as a point-in-time feature.

:func:`load_sample` reads the copy shipped with the package (``data/sample`` in the
repository, made by ``python benchmarks/make_sample.py``).

The recipes for public churn data sets (:func:`load_online_retail`, :func:`load_sparkify`,
:func:`load_telco`, :func:`load_bank_churners`, :func:`load_bank_churn`) map each file as
published into the input contract; they double as worked examples of mapping your own tables.
"""

from __future__ import annotations

import atexit
import functools
import importlib.resources
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._data import SCHEMA, EventData
from ._kinds import PAYMENT_STATUSES
from ._recipes import (
    ONLINE_RETAIL_SETTINGS,
    load_bank_churn,
    load_bank_churners,
    load_online_retail,
    load_sparkify,
    load_telco,
)
from ._windows import to_naive_utc

__all__ = [
    "make_subscription_data",
    "make_usage_data",
    "load_sample",
    "sample_path",
    "SAMPLE_AS_OF",
    "SAMPLE_PARAMS",
    "DRIVER_GROUP",
    "ONLINE_RETAIL_SETTINGS",
    "load_online_retail",
    "load_sparkify",
    "load_telco",
    "load_bank_churners",
    "load_bank_churn",
]

#: Arguments of :func:`make_subscription_data` that made the shipped sample.
SAMPLE_PARAMS: dict[str, Any] = {
    "n_customers": 3000,
    "start": "2023-01-01",
    "end": "2024-12-31",
    "events_per_day": 0.6,
    "random_state": 42,
}
#: The export time of the shipped sample: every event in it happened before this moment.
SAMPLE_AS_OF = pd.Timestamp(SAMPLE_PARAMS["end"])

#: Hidden churn driver -> the churnpredict driver group whose features should explain it.
DRIVER_GROUP: dict[str, str | None] = {
    "onboarding": "tenure",
    "engagement": "engagement",
    "support": "support",
    "payments": "payments",
    "price": "monetary",
    "other": None,
}
DRIVERS = tuple(DRIVER_GROUP)

# ------------------------------------------------------------------ the business
MONTH = 30.44  # days: the simulated month (the generated data, hence the demo, depend on it)
#          price  share  usage  tickets/month  usage fades/month
PLANS = {
    "basic": (29.0, 0.55, 0.8, 0.15, 0.014),
    "pro": (79.0, 0.33, 1.1, 0.25, 0.009),
    "business": (249.0, 0.12, 1.6, 0.50, 0.005),
}
#             share  onboarding failure probability
CHANNELS = {
    "organic": (0.45, 0.05),
    "paid_ads": (0.30, 0.12),
    "referral": (0.15, 0.03),
    "sales": (0.10, 0.02),
}
#                 share  median minutes
EVENTS = {
    "login": (0.40, 2.0),
    "feature_use": (0.33, 8.0),
    "report_created": (0.15, 15.0),
    "export": (0.08, 3.0),
    "invite_sent": (0.04, 1.0),
}
WEEKDAY_USAGE = np.array([1.15, 1.15, 1.15, 1.15, 1.1, 0.65, 0.65])  # Monday first
HOUR_USAGE = 0.15 + np.exp(-0.5 * ((np.arange(24) - 14.0) / 3.5) ** 2)  # busiest 14:00 UTC
#                    share of tickets   median hours to resolve
PRIORITIES = {
    "low": (0.35, 30.0),
    "normal": (0.45, 10.0),
    "high": (0.15, 4.0),
    "urgent": (0.05, 1.5),
}
CSAT_HAPPY = np.array([0.02, 0.03, 0.10, 0.30, 0.55])  # P(score 1..5) of ordinary tickets
CSAT_UNHAPPY = np.array([0.45, 0.35, 0.15, 0.04, 0.01])  # ... of a support driver's burst
BURST_PRIORITIES = [0.05, 0.35, 0.40, 0.20]

# ------------------------------------------------------------------ the churn stories
ONBOARDING_USAGE, ONBOARDING_FADE_DAYS, ONBOARDING_CHURN_DAYS = 0.3, 7.0, (10, 40)
FADE_DAYS, FADE_TO_CHURN_DAYS = 14.0, (28, 63)  # usage e-folding time; fade start -> churn
SUPPORT_EPISODES_PER_MONTH, SUPPORT_CHURN_PROB, SUPPORT_TO_CHURN_DAYS = 0.01, 0.5, (21, 56)
SUPPORT_BURST_DAYS, SUPPORT_BURST_HOURS = 21, 140.0  # burst length; median hours to resolve
CARD_FAILURE_PROB, DUNNING_RECOVERY_PROB = 0.025, 0.6
DUNNING_RETRY_DAYS, FAILURE_TO_CHURN_DAYS = np.array([0, 3, 7, 14]), (18, 24)
PRICE_CHURN_PROB, PRICE_TO_CHURN_DAYS = 0.12, (2, 30)
OTHER_CHURN_PER_MONTH = 0.0025
REFUND_PROB = 0.01
_BLOCK = 1 << 21  # activity events drawn at a time


def make_subscription_data(
    n_customers: int = 2000,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    *,
    events_per_day: float = 1.0,
    growth: float = 3.0,
    churn_scale: float = 1.0,
    price_rise_at: Any = "2024-07-01",
    price_rise_plan: str = "pro",
    price_rise_pct: float = 0.15,
    random_state: int | np.random.Generator | None = 0,
    return_truth: bool = False,
) -> EventData | tuple[EventData, pd.DataFrame]:
    """Simulate a subscription business whose churners show why before they leave.

    See the module docstring for the story. All times fall in ``[start, end)``: ``end`` is the
    export time, so scoring ``as_of=end`` sees everything.

    Parameters
    ----------
    n_customers : int, default 2000
        Customers who sign up during the period.
    start, end : timestamp-like
        Signups fall in ``[start, end)``; ``end`` is the export time.
    events_per_day : float, default 1.0
        Activity events per day of an average healthy customer; the activity table has
        about this many events per customer-day. Scales the activity table without changing
        customers, payments or tickets (200,000 customers over the default two years give
        about 47 million events at 1.0).
    growth : float, default 3.0
        Signups per day at ``end`` over signups per day at ``start``.
    churn_scale : float, default 1.0
        Multiplies every churn hazard and probability (2.0 roughly doubles churn).
    price_rise_at : timestamp-like or None, default "2024-07-01"
        Invoices from this time on charge ``price_rise_pct`` more for ``price_rise_plan``.
        ``None`` for no price rise.
    price_rise_plan : {"basic", "pro", "business"}, default "pro"
    price_rise_pct : float, default 0.15
    random_state : int, numpy.random.Generator or None, default 0
        Seed; the same seed gives the same tables.
    return_truth : bool, default False
        Also return the hidden driver of each customer.

    Returns
    -------
    data : EventData
        ``customers`` (``customer_id``, ``signup_at``, ``churned_at``, ``churn_type``,
        ``plan``, ``channel``, ``mrr``), ``activity`` (``event``, ``value`` = minutes),
        ``payments`` (``amount``, ``status``) and ``tickets`` (``resolved_at``,
        ``priority``, ``csat``).
    truth : pandas.DataFrame
        Only with ``return_truth=True``. Indexed by ``customer_id``:

        * ``driver``: one of ``onboarding, engagement, support, payments, price, other``;
          missing when no churn story has started by ``end``;
        * ``driver_start``: when its trace begins (signup, start of the fade, start of the
          ticket burst, first failed charge, first invoice at the new price, or the churn
          itself for ``other``);
        * ``churn_at``: the cancellation the story leads to, possibly after ``end`` (the
          customer is about to churn);
        * ``group``: the driver group that should explain it (:data:`DRIVER_GROUP`).

    Examples
    --------
    >>> data, truth = make_subscription_data(n_customers=300, random_state=1, return_truth=True)
    >>> data
    EventData(customers=300, activity=63661, payments=2608, tickets=594)
    >>> data.customers["churn_type"].value_counts().to_dict()
    {'voluntary': 64, 'involuntary': 23}
    >>> churned = data.customers.set_index("customer_id")["churned_at"].notna()
    >>> truth.loc[churned, "driver"].value_counts().to_dict()
    {'engagement': 25, 'payments': 23, 'onboarding': 14, 'support': 11, 'price': 8, 'other': 6}
    """
    start, end = to_naive_utc(start, "start"), to_naive_utc(end, "end")
    if not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise ValueError(f"n_customers={n_customers!r}; expected a positive integer")
    if end <= start:
        raise ValueError(f"end={end} is not after start={start}; give a later end")
    for name, value in (
        ("events_per_day", events_per_day),
        ("churn_scale", churn_scale),
        ("price_rise_pct", price_rise_pct),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r}; expected a number >= 0")
    if not np.isfinite(growth) or growth <= 0:
        raise ValueError(f"growth={growth!r}; expected a number > 0 (1 = steady signups)")
    if price_rise_plan not in PLANS:
        raise ValueError(f"price_rise_plan={price_rise_plan!r}; expected one of {list(PLANS)}")
    span = (end - start) / pd.Timedelta(days=1)  # every time below is in days since start
    rise = (
        np.inf
        if price_rise_at is None
        else (to_naive_utc(price_rise_at, "price_rise_at") - start) / pd.Timedelta(days=1)
    )
    seeds = np.random.default_rng(random_state).integers(2**63, size=5)
    rng_people, rng_activity, rng_payments, rng_tickets, rng_story = (
        np.random.default_rng(s) for s in seeds
    )

    people = _sign_up(rng_people, n_customers, span, growth)
    charges = _billing_days(start, people["signup"], span)
    bills = _bill(rng_payments, charges, people["plan"], churn_scale)
    story = _churn_stories(rng_story, people, charges, bills, rise, price_rise_plan, churn_scale)
    exit_ = np.minimum(story["churn_at"], span)

    customers = _customers_table(start, span, people, story, rise, price_rise_plan, price_rise_pct)
    activity = _activity(rng_activity, start, people, story, exit_, events_per_day)
    payments = _payments(
        rng_payments, start, people, charges, bills, exit_, rise, price_rise_plan, price_rise_pct
    )
    tickets = _tickets(rng_tickets, start, people, story, exit_)
    data = EventData(customers, activity=activity, payments=payments, tickets=tickets)
    if not return_truth:
        return data
    return data, _truth(start, span, people, story)


def make_usage_data(
    n_customers: int = 2000,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    *,
    export_from: Any = None,
    events_per_day: float = 1.0,
    churn_scale: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
) -> EventData:
    """An app's event log: :func:`make_subscription_data` with the money and the exits removed.

    What a product team without billing data holds: who signed up and when, every
    ``activity`` event (its type, and a ``value`` in minutes, left undeclared) and the
    support ``tickets``. No payments, no cancellation dates, no MRR or plan: customers who
    left simply stop appearing, so churn can only be read as inactivity. With
    ``export_from``, the log (activity and tickets) starts there, after most customers
    signed up: the usual export of the last weeks of a product's events.

    Parameters
    ----------
    n_customers : int, default 2000
    start, end : timestamp-like
        As in :func:`make_subscription_data`.
    export_from : timestamp-like, optional
        Keep only the events from this time on.
    events_per_day, churn_scale, random_state
        As in :func:`make_subscription_data`.

    Returns
    -------
    EventData
        ``customers`` (``customer_id``, ``signup_at``, ``channel``), ``activity`` and
        ``tickets``.

    Examples
    --------
    >>> from churnpredict._training import business_kind
    >>> data = make_usage_data(n_customers=300, random_state=1)
    >>> data, business_kind(data)[0]
    (EventData(customers=300, activity=63661, tickets=594), 'usage')
    """
    full = make_subscription_data(
        n_customers,
        start,
        end,
        events_per_day=events_per_day,
        churn_scale=churn_scale,
        random_state=random_state,
    )
    customers = full.customers[["customer_id", "signup_at", "channel"]]
    tables = {"activity": full.activity, "tickets": full.tickets}
    if export_from is not None:
        since = to_naive_utc(export_from, "export_from")
        tables = {
            name: frame.loc[frame[SCHEMA[name].time_column] >= since]
            for name, frame in tables.items()
        }
    return EventData(customers, **tables)


# ------------------------------------------------------------------ steps of the story
def _uniform(rng: np.random.Generator, bounds: tuple[float, float], size: int) -> np.ndarray:
    return rng.uniform(bounds[0], bounds[1], size)


def _sign_up(rng: np.random.Generator, n: int, span: float, growth: float) -> dict:
    """Signup day (growing exponentially, in id order), plan, channel, usage level."""
    g = np.log(growth)
    u = np.sort(rng.random(n))
    signup = span * (u if abs(g) < 1e-9 else np.log1p(u * np.expm1(g)) / g)
    plan = rng.choice(len(PLANS), n, p=[p[1] for p in PLANS.values()])
    channel = rng.choice(len(CHANNELS), n, p=[c[0] for c in CHANNELS.values()])
    usage = np.array([p[2] for p in PLANS.values()])[plan] * rng.lognormal(-0.32, 0.8, n)
    return {"signup": signup, "plan": plan, "channel": channel, "usage": usage}


def _billing_days(start: pd.Timestamp, signup: np.ndarray, span: float) -> np.ndarray:
    """Monthly invoice days (n, months): same day of month as the signup; inf after ``end``."""
    first = start + pd.to_timedelta(signup, unit="D")
    months = int(span // 28) + 2
    days = np.column_stack(
        [((first + pd.DateOffset(months=k)) - start) / pd.Timedelta(days=1) for k in range(months)]
    )
    return np.where(days < span, days, np.inf)


def _bill(rng: np.random.Generator, charges: np.ndarray, plan: np.ndarray, scale: float) -> dict:
    """Card failures per invoice: how many attempts fail, whether dunning recovers it."""
    shape = charges.shape
    fails = rng.random(shape) < CARD_FAILURE_PROB * scale
    fails[:, 0] = False  # the card worked at signup
    recovered = rng.random(shape) < DUNNING_RECOVERY_PROB
    n_failed = np.where(
        recovered, rng.choice([1, 2, 3], shape, p=[0.5, 0.3, 0.2]), len(DUNNING_RETRY_DAYS)
    )
    return {"n_failed": np.where(fails, n_failed, 0), "lost": fails & ~recovered}


def _churn_stories(rng, people, charges, bills, rise, rise_plan, scale) -> dict:
    """Start and churn day of each competing story; the earliest churn wins."""
    n, signup, plan = len(people["signup"]), people["signup"], people["plan"]
    never = np.full(n, np.inf)
    onboarding = (
        rng.random(n) < np.array([c[1] for c in CHANNELS.values()])[people["channel"]] * scale
    )
    fade_rate = np.array([p[4] for p in PLANS.values()])[plan] * scale
    fade = signup + rng.exponential(MONTH / np.maximum(fade_rate, 1e-12))
    support = signup + rng.exponential(MONTH / max(SUPPORT_EPISODES_PER_MONTH * scale, 1e-12), n)
    support_churns = rng.random(n) < SUPPORT_CHURN_PROB
    lost_invoice = np.where(bills["lost"], charges, np.inf).min(axis=1)
    raised = (plan == list(PLANS).index(rise_plan)) & (signup < rise)
    new_price = np.where(raised, np.where(charges >= rise, charges, np.inf).min(axis=1), never)
    price_churns = rng.random(n) < PRICE_CHURN_PROB * scale
    other = signup + rng.exponential(MONTH / max(OTHER_CHURN_PER_MONTH * scale, 1e-12), n)

    starts = np.column_stack(
        [np.where(onboarding, signup, never), fade, support, lost_invoice, new_price, other]
    )
    churns = np.column_stack(
        [
            np.where(onboarding, signup + _uniform(rng, ONBOARDING_CHURN_DAYS, n), never),
            fade + _uniform(rng, FADE_TO_CHURN_DAYS, n),
            np.where(support_churns, support + _uniform(rng, SUPPORT_TO_CHURN_DAYS, n), never),
            lost_invoice + _uniform(rng, FAILURE_TO_CHURN_DAYS, n),
            np.where(price_churns, new_price + _uniform(rng, PRICE_TO_CHURN_DAYS, n), never),
            other,
        ]
    )
    driver = churns.argmin(axis=1)
    rows = np.arange(n)
    return {
        "driver": driver,
        "churn_at": churns[rows, driver],
        "driver_start": starts[rows, driver],
        "onboarding": onboarding,
        "fade": fade,
        "support": support,
    }


def _seconds(days: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(days) * 86_400).astype(np.int64)


def _stamps(start: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Days since start -> datetime64[ns] at whole seconds (inf -> NaT)."""
    days = np.asarray(days, dtype=float)
    finite = np.isfinite(days)
    ns = np.where(finite, _seconds(np.where(finite, days, 0)) * 10**9, 0) + start.value
    return np.where(finite, ns.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))


def _price(
    plan: np.ndarray, day: np.ndarray, rise: float, rise_plan: str, pct: float
) -> np.ndarray:
    base = np.array([p[0] for p in PLANS.values()])[plan]
    raised = (plan == list(PLANS).index(rise_plan)) & (day >= rise)
    return np.round(np.where(raised, base * (1 + pct), base), 2)


def _customers_table(start, span, people, story, rise, rise_plan, pct) -> pd.DataFrame:
    churned = story["churn_at"] < span
    churned_at = np.where(churned, story["churn_at"], np.inf)
    involuntary = story["driver"] == DRIVERS.index("payments")
    churn_type = np.where(involuntary, "involuntary", "voluntary").astype(object)
    churn_type[~churned] = None
    n = len(people["signup"])
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype=np.int64),
            "signup_at": _stamps(start, people["signup"]),
            "churned_at": _stamps(start, churned_at),
            "churn_type": churn_type,
            "plan": pd.Categorical.from_codes(people["plan"], list(PLANS)),
            "channel": pd.Categorical.from_codes(people["channel"], list(CHANNELS)),
            "mrr": _price(people["plan"], np.full(n, span), rise, rise_plan, pct),
        }
    )


def _activity(rng, start, people, story, exit_, events_per_day) -> pd.DataFrame | None:
    """Each customer's events: a Poisson process with a weekly and daily rhythm, thinned by
    the fading of the churn stories; then an event type and the minutes spent."""
    signup, n = people["signup"], len(people["signup"])
    # The rhythm: usage per hour relative to an average hour; `clock` is its running total
    # in average days, so a healthy customer expects usage x (clock elapsed) events.
    hours = np.arange(int(np.ceil(exit_.max() * 24)) + 1)
    rhythm = (
        WEEKDAY_USAGE[(start.weekday() + hours // 24) % 7]
        * HOUR_USAGE[hours % 24]
        / HOUR_USAGE.mean()
    )
    clock = np.concatenate([[0.0], np.cumsum(rhythm[:-1]) / 24])
    begin = np.interp(signup * 24, hours, clock)
    length = np.maximum(np.interp(exit_ * 24, hours, clock) - begin, 0)
    count = rng.poisson(events_per_day * people["usage"] * length)
    if count.sum() == 0:
        return None
    # Blocks of customers with about _BLOCK events each keep temporary arrays small; the
    # kept events of each block go straight into the output columns.
    cuts = np.searchsorted(np.cumsum(count), np.arange(_BLOCK, count.sum(), _BLOCK))
    bounds = np.unique(np.concatenate([[0], cuts, [n]]))
    to_hours = _fast_interp(clock, hours)
    shares = np.round(100 * np.array([e[0] for e in EVENTS.values()])).astype(int)
    kinds = np.repeat(np.arange(len(EVENTS), dtype=np.int8), shares)
    median = np.array([e[1] for e in EVENTS.values()], dtype=np.float32)
    out = {
        "customer_id": np.empty(count.sum(), np.int64),
        "timestamp": np.empty(count.sum(), "datetime64[ns]"),
        "event": np.empty(count.sum(), np.int8),
        "value": np.empty(count.sum()),
    }
    filled = 0
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        k = count[lo:hi]
        customer = np.repeat(np.arange(lo, hi), k)
        # Sorted uniform positions per customer: running sums of exponential gaps, each
        # customer's last gap closing the interval.
        running = np.cumsum(rng.standard_exponential(k.sum() + len(k)))
        close = np.cumsum(k + 1) - 1
        base = np.concatenate([[0.0], running[close[:-1]]])
        gap = np.ones(len(running), dtype=bool)
        gap[close] = False
        fraction = (running[gap] - base[customer - lo]) / (running[close] - base)[customer - lo]
        day = to_hours(begin[customer] + fraction * length[customer]) / 24
        # Thinning: a fading customer keeps each event with probability = their usage level.
        level = np.exp(-np.maximum(day - story["fade"][customer], 0) / FADE_DAYS)
        new = story["onboarding"][customer]
        level[new] *= ONBOARDING_USAGE * np.exp(
            -(day[new] - signup[customer[new]]) / ONBOARDING_FADE_DAYS
        )
        seconds = _seconds(day)
        keep = (
            (seconds >= _seconds(signup)[customer])
            & (seconds < _seconds(exit_)[customer])
            & (rng.random(len(day)) < level)
        )
        m = int(keep.sum())
        kind = kinds[rng.integers(0, len(kinds), m)]
        spread = np.exp(np.float32(0.8) * rng.standard_normal(m, dtype=np.float32))
        rows = slice(filled, filled + m)
        out["customer_id"][rows] = customer[keep] + 1
        out["timestamp"][rows] = (seconds[keep] * 10**9 + start.value).view("datetime64[ns]")
        out["event"][rows] = kind
        out["value"][rows] = np.round((median[kind] * spread).astype(np.float64), 1)
        filled += m
    out = {name: column[:filled] for name, column in out.items()}
    out["event"] = pd.Categorical.from_codes(out["event"], list(EVENTS))
    return pd.DataFrame(out, copy=False)


def _fast_interp(xp: np.ndarray, fp: np.ndarray):
    """np.interp(values, xp, fp) for many unordered values: tabulate on an even grid first."""
    step = xp[-1] / (4 * len(xp))
    table = np.interp(np.arange(4 * len(xp) + 2) * step, xp, fp)

    def evaluate(values: np.ndarray) -> np.ndarray:
        position = values / step
        i = position.astype(np.int64)
        return table[i] + (position - i) * (table[i + 1] - table[i])

    return evaluate


def _payments(rng, start, people, charges, bills, exit_, rise, rise_plan, pct) -> pd.DataFrame:
    """One row per charge attempt: dunning retries after failures, a few refunds."""
    cust, month = np.nonzero(np.isfinite(charges))
    invoice = charges[cust, month]
    n_failed = bills["n_failed"][cust, month]
    attempts = np.where(bills["lost"][cust, month], n_failed, n_failed + 1)
    row = np.repeat(np.arange(len(cust)), attempts)
    attempt = np.arange(len(row)) - np.repeat(np.cumsum(attempts) - attempts, attempts)
    cust, day = cust[row], invoice[row] + DUNNING_RETRY_DAYS[attempt]
    status = np.where(attempt < n_failed[row], 1, 0)  # codes of PAYMENT_STATUSES
    amount = _price(people["plan"][cust], invoice[row], rise, rise_plan, pct)
    refund = (status == 0) & (rng.random(len(day)) < REFUND_PROB)
    cust = np.concatenate([cust, cust[refund]])
    day = np.concatenate([day, day[refund] + rng.uniform(1, 10, int(refund.sum()))])
    amount = np.concatenate([amount, amount[refund]])
    status = np.concatenate([status, np.full(int(refund.sum()), 2)])
    keep = np.flatnonzero(day < exit_[cust])
    pick = keep[np.lexsort((day[keep], cust[keep]))]
    return pd.DataFrame(
        {
            "customer_id": cust[pick] + 1,
            "timestamp": _stamps(start, day[pick]),
            "amount": amount[pick],
            "status": pd.Categorical.from_codes(status[pick], PAYMENT_STATUSES),
        }
    )


def _tickets(rng, start, people, story, exit_) -> pd.DataFrame | None:
    """Everyday tickets, plus a burst of slow, badly rated ones for unhappy customers."""
    signup = people["signup"]
    life = np.maximum(exit_ - signup, 0)
    rate = np.array([p[3] for p in PLANS.values()])[people["plan"]]
    n_usual = rng.poisson(rate * life / MONTH)
    n_burst = np.where(story["support"] < exit_, 2 + rng.poisson(1.5, len(signup)), 0)
    cust = np.concatenate(
        [np.repeat(np.arange(len(signup)), n_usual), np.repeat(np.arange(len(signup)), n_burst)]
    )
    burst = np.repeat([False, True], [n_usual.sum(), n_burst.sum()])
    created = np.where(burst, story["support"][cust], signup[cust]) + rng.random(len(cust)) * (
        np.where(burst, SUPPORT_BURST_DAYS, life[cust])
    )
    shares = np.array([p[0] for p in PRIORITIES.values()])
    priority = np.where(
        burst, rng.choice(4, len(cust), p=BURST_PRIORITIES), rng.choice(4, len(cust), p=shares)
    )
    median_hours = np.where(
        burst, SUPPORT_BURST_HOURS, np.array([p[1] for p in PRIORITIES.values()])[priority]
    )
    resolved = created + rng.lognormal(np.log(median_hours), np.where(burst, 0.8, 1.0)) / 24
    scores = np.where(burst[:, None], CSAT_UNHAPPY, CSAT_HAPPY).cumsum(axis=1)
    csat = 1.0 + (rng.random(len(cust))[:, None] > scores).sum(axis=1)
    keep = created < exit_[cust]
    open_ = resolved >= exit_[cust]
    csat = np.where(open_ | (rng.random(len(cust)) < 0.5), np.nan, csat)  # half never rate
    resolved = np.where(open_, np.inf, resolved)
    if not keep.any():
        return None
    keep = np.flatnonzero(keep)
    pick = keep[np.lexsort((created[keep], cust[keep]))]
    return pd.DataFrame(
        {
            "customer_id": cust[pick] + 1,
            "created_at": _stamps(start, created[pick]),
            "resolved_at": _stamps(start, resolved[pick]),
            "priority": pd.Categorical.from_codes(priority[pick], list(PRIORITIES)),
            "csat": csat[pick],
        }
    )


def _truth(start, span, people, story) -> pd.DataFrame:
    visible = story["driver_start"] < span
    driver = np.where(visible, story["driver"], -1)
    groups = [g for g in dict.fromkeys(DRIVER_GROUP.values()) if g]
    group = np.array([groups.index(g) if g else -1 for g in DRIVER_GROUP.values()] + [-1])
    return pd.DataFrame(
        {
            "driver": pd.Categorical.from_codes(driver, list(DRIVERS)),
            "driver_start": _stamps(start, np.where(visible, story["driver_start"], np.inf)),
            "churn_at": _stamps(start, np.where(visible, story["churn_at"], np.inf)),
            "group": pd.Categorical.from_codes(group[driver], groups),
        },
        index=pd.Index(np.arange(1, len(driver) + 1, dtype=np.int64), name="customer_id"),
    )


# ------------------------------------------------------------------ the shipped sample
@functools.lru_cache(maxsize=1)
def sample_path() -> Path:
    """Folder holding the shipped sample tables, usable as ``churnpredict train <folder>``.

    Installed packages carry the sample as ``churnpredict/_sample``; a source checkout reads
    ``data/sample``. When the package is imported from a zip file, the tables are copied to a
    temporary folder first.

    Returns
    -------
    pathlib.Path
    """
    resource = importlib.resources.files("churnpredict") / "_sample"
    if resource.is_dir():
        if isinstance(resource, Path):
            return resource
        folder = Path(tempfile.mkdtemp(prefix="churnpredict-sample-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        for item in resource.iterdir():
            if item.is_file():
                (folder / item.name).write_bytes(item.read_bytes())
        return folder
    checkout = Path(__file__).resolve().parent.parent / "data" / "sample"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the sample data is missing: neither {resource} nor {checkout} exists; reinstall "
        f"churnpredict, or make it with make_subscription_data(**SAMPLE_PARAMS)"
    )


def load_sample() -> EventData:
    """Load the sample subscription business shipped with churnpredict.

    3,000 customers signing up from 2023-01-01 to 2024-12-30, with their activity, payments
    and support tickets, exported at :data:`SAMPLE_AS_OF` (2024-12-31). It is
    ``make_subscription_data(**SAMPLE_PARAMS)``; see ``data/sample/README.md``.

    Returns
    -------
    EventData

    Examples
    --------
    >>> data = load_sample()
    >>> sorted(data.tables)
    ['activity', 'customers', 'payments', 'tickets']
    >>> data.time_range[1] < SAMPLE_AS_OF
    True
    """
    return EventData.from_directory(sample_path())
