"""Does the first reason name the cause? A second simulated business, unlike the sample's.

The bundled sample (:func:`churnpredict.make_subscription_data`) is the data the reasons were
first tuned on, so it cannot show whether they name causes in general. This script simulates a
different business, :func:`make_cause_data`, whose every churn cause acts *through an activity
decline*, scores it with the default pipeline and counts how often ``reason_group_1`` names the
recorded driver in the top decile of the list (and on the sample, as a guard).

How the generator differs from the sample's:

* **Causes act through usage.** A discount that ends, a problem ticket nobody resolves, a card
  that fails and suspends the account, an onboarding that never took: each first makes the
  customer use the product less, and only weeks later cancel. So an activity decline is
  present in almost every churner, and it is a symptom; the cause is what changed before it.
  The sample's price, payment and ticket stories cancel without touching usage.
* **Other causes and timings.** Prices rise per customer when an introductory discount (25, 40
  or 50% for 3, 6 or 12 months) ends, not for one plan on one date; a third of those customers
  cancel 4-10 weeks later. Tickets: one problem episode whose tickets stay *open* (no rating,
  no priority burst) in 55% of cases, churn 4-9 weeks later. Cards: retries every 4 days, a
  lost card suspends the account and churns 4-6 weeks after the first failure (sample: 18-24
  days, no usage effect). Onboarding failures cancel 6-14 weeks after signup (sample: 10-40
  days), so most are past the first month when scored. Unexplained fading is rare (about 5%
  of churners; the sample's largest story).
* **Confounders.** Seat expansions raise the price of a fifth of team and company accounts
  while their usage *grows*; resolved problem tickets, recovered cards and holidays (one or two
  weeks of little use) give causes and declines that lead nowhere.
* **Other shapes.** Text ids (``u00042``), 30-day billing, no ``mrr`` column, no activity
  ``value``, other event types, a year and a half of data, steady signups.

Run from the repository root::

    python benchmarks/cause_first.py                 # 3 seeds x 3,000 customers + the sample
    python benchmarks/cause_first.py --customers 6000 --seeds 1 2

It prints, per data set, the share of the top decile (customers with a recorded driver) whose
first reason names the driver group, per driver, for the library's reasons with and without
cause-first ordering, and for two other attributions measured on the same contributions.
``tests/test_cause_first.py`` asserts the target on a small instance.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

#: Hidden churn driver -> the driver group whose reasons should name it.
DRIVER_GROUP: dict[str, str | None] = {
    "price": "monetary",
    "tickets": "support",
    "card": "payments",
    "onboarding": "tenure",
    "fade": "engagement",
    "other": None,
}
DRIVERS = tuple(DRIVER_GROUP)

#          price  share  events a day  ordinary tickets a month
PLANS = {
    "solo": (12.0, 0.50, 1.5, 0.15),
    "team": (45.0, 0.35, 2.5, 0.30),
    "company": (160.0, 0.15, 4.0, 0.60),
}
#            share  onboarding failure probability
CHANNELS = {
    "search": (0.40, 0.08),
    "trial_ad": (0.30, 0.18),
    "invite": (0.20, 0.04),
    "partner": (0.10, 0.05),
}
EVENT_TYPES = {"session": 0.55, "upload": 0.20, "comment": 0.15, "share": 0.10}
BILLING_DAYS = 30.0
MONTH = 30.44
DISCOUNT_SHARE, DISCOUNTS, DISCOUNT_MONTHS = 0.45, (0.25, 0.40, 0.50), (3, 6, 12)
PRICE_UNHAPPY = (0.30, 0.60)  # P(reacts) = a + b x discount
PRICE_DECLINE_DAYS, PRICE_CHURN_DAYS = (3, 12), (30, 70)
UPGRADE_SHARE, UPGRADE_MEAN_DAYS, UPGRADE_RISE = 0.20, 200.0, (0.25, 0.60)
PROBLEMS_PER_MONTH, UNRESOLVED = 0.035, 0.55
TICKET_DECLINE_DAYS, TICKET_CHURN_DAYS = (5, 12), (25, 60)
CARD_FAILURE, CARD_RECOVERY, RETRY_DAYS = 0.025, 0.45, np.array([0.0, 4.0, 8.0, 12.0])
CARD_DECLINE_DAYS, CARD_CHURN_DAYS = (2, 8), (28, 45)
ONBOARDING_LEVEL, ONBOARDING_DECLINE_DAYS, ONBOARDING_CHURN_DAYS = 0.7, (3, 8), (40, 95)
FADES_PER_MONTH, FADE_CHURN_DAYS = 0.005, (35, 70)
OTHER_PER_MONTH = 0.003
HOLIDAYS_EVERY_DAYS, HOLIDAY_DAYS, HOLIDAY_LEVEL = 120.0, (7, 16), 0.15
#           e-folding days of each decline
TAU = {"price": 12.0, "tickets": 14.0, "card": 8.0, "onboarding": 5.0, "fade": 20.0}
FLOOR = 0.03  # usage never falls below this share of the customer's normal level
WEEKDAY = np.array([1.15, 1.15, 1.15, 1.15, 1.1, 0.6, 0.6])


def make_cause_data(
    n_customers: int = 3000,
    start: Any = "2022-04-01",
    end: Any = "2023-10-01",
    *,
    random_state: int = 0,
) -> tuple[Any, pd.DataFrame]:
    """Simulate a collaboration app whose churn causes all show first as falling usage.

    Parameters
    ----------
    n_customers : int, default 3000
        Customers signing up (steadily) in ``[start, end)``.
    start, end : timestamp-like
        ``end`` is the export time: every event is before it.
    random_state : int, default 0

    Returns
    -------
    data : churnpredict.EventData
        ``customers`` (text ``customer_id``, ``signup_at``, ``churned_at``, ``churn_type``,
        ``plan``, ``channel``), ``activity`` (``event``), ``payments`` and ``tickets``
        (``resolved_at``, ``priority``, ``csat``).
    truth : pandas.DataFrame
        Indexed by ``customer_id``: ``driver`` (one of :data:`DRIVERS`, missing when no
        churn story has begun by ``end``), ``driver_start`` (when its trace begins),
        ``churn_at`` (possibly after ``end``) and ``group`` (:data:`DRIVER_GROUP`).
    """
    from churnpredict import EventData

    start, end = pd.Timestamp(start), pd.Timestamp(end)
    span = (end - start) / pd.Timedelta(days=1)
    rng = np.random.default_rng(random_state)
    people = _people(rng, n_customers, span)
    story = _stories(rng, people, span)
    exit_ = np.minimum(story["churn_at"], span)
    customers = _customers(start, span, people, story)
    activity = _activity(rng, start, people, story, exit_)
    payments = _payments(rng, start, people, story, exit_)
    tickets = _tickets(rng, start, people, story, exit_)
    data = EventData(customers, activity=activity, payments=payments, tickets=tickets)
    return data, _truth(start, span, people, story)


# ------------------------------------------------------------------ who the customers are
def _people(rng: np.random.Generator, n: int, span: float) -> dict[str, np.ndarray]:
    signup = np.sort(rng.uniform(0, span - 1, n))
    plan = rng.choice(len(PLANS), n, p=[p[1] for p in PLANS.values()])
    channel = rng.choice(len(CHANNELS), n, p=[c[0] for c in CHANNELS.values()])
    usage = np.array([p[2] for p in PLANS.values()])[plan] * rng.lognormal(-0.18, 0.6, n)
    discounted = rng.random(n) < DISCOUNT_SHARE
    discount = np.where(discounted, rng.choice(DISCOUNTS, n), 0.0)
    months = np.where(discounted, rng.choice(DISCOUNT_MONTHS, n), 0)
    # seat expansions: team and company accounts grow; the price rises with their usage
    grows = (plan > 0) & (rng.random(n) < UPGRADE_SHARE)
    upgrade = np.where(grows, signup + rng.exponential(UPGRADE_MEAN_DAYS, n), np.inf)
    return {
        "signup": signup,
        "plan": plan,
        "channel": channel,
        "usage": usage,
        "discount": discount,
        "full_price_at": np.where(discounted, signup + BILLING_DAYS * months, np.inf),
        "upgrade": upgrade,
        "upgrade_rise": np.where(grows, rng.uniform(*UPGRADE_RISE, n), 0.0),
    }


def _stories(rng: np.random.Generator, people: dict, span: float) -> dict[str, Any]:
    """When each churn story starts, when its usage decline starts and when it would churn."""
    n, signup = len(people["signup"]), people["signup"]
    never = np.full(n, np.inf)

    def between(bounds: tuple[float, float]) -> np.ndarray:
        return rng.uniform(bounds[0], bounds[1], n)

    rise = people["full_price_at"]
    unhappy = rng.random(n) < PRICE_UNHAPPY[0] + PRICE_UNHAPPY[1] * people["discount"]
    price = np.where(np.isfinite(rise) & unhappy, rise, never)

    problem = signup + rng.exponential(MONTH / PROBLEMS_PER_MONTH, n)
    unresolved = rng.random(n) < UNRESOLVED

    card, card_log = _lost_card(rng, people, span)

    failure = np.array([c[1] for c in CHANNELS.values()])[people["channel"]]
    onboarding = rng.random(n) < failure

    fade = signup + rng.exponential(MONTH / FADES_PER_MONTH, n)
    other = signup + rng.exponential(MONTH / OTHER_PER_MONTH, n)

    starts = {
        "price": price,
        "tickets": np.where(unresolved, problem, never),
        "card": card,
        "onboarding": np.where(onboarding, signup, never),
        "fade": fade,
        "other": other,
    }
    declines = {
        "price": price + between(PRICE_DECLINE_DAYS),
        "tickets": starts["tickets"] + between(TICKET_DECLINE_DAYS),
        "card": card + between(CARD_DECLINE_DAYS),
        "onboarding": np.where(onboarding, signup + between(ONBOARDING_DECLINE_DAYS), never),
        "fade": fade,
    }
    churns = np.column_stack(
        [
            price + between(PRICE_CHURN_DAYS),
            starts["tickets"] + between(TICKET_CHURN_DAYS),
            card + between(CARD_CHURN_DAYS),
            starts["onboarding"] + between(ONBOARDING_CHURN_DAYS),
            fade + between(FADE_CHURN_DAYS),
            other,
        ]
    )
    driver = churns.argmin(axis=1)
    rows = np.arange(n)
    return {
        "driver": driver,
        "churn_at": churns[rows, driver],
        "driver_start": np.column_stack([starts[d] for d in DRIVERS])[rows, driver],
        "declines": declines,
        "problem": problem,
        "unresolved": unresolved,
        "card": card,
        "card_log": card_log,
    }


def _lost_card(rng: np.random.Generator, people: dict, span: float) -> tuple[np.ndarray, tuple]:
    """Day of the first failed charge that dunning does not recover (inf if none), and every
    failed invoice, lost or recovered: (customer, invoice day, failed attempts, lost)."""
    n, signup = len(people["signup"]), people["signup"]
    k = int(span // BILLING_DAYS) + 1
    invoice = signup[:, None] + BILLING_DAYS * np.arange(k)[None, :]
    fails = (rng.random((n, k)) < CARD_FAILURE) & (invoice < span)
    fails[:, 0] = False  # the card worked at signup
    lost = fails & (rng.random((n, k)) >= CARD_RECOVERY)
    attempts = np.where(lost, len(RETRY_DAYS), rng.integers(1, len(RETRY_DAYS), (n, k)))
    cust, month = np.nonzero(fails)
    log = (cust, invoice[cust, month], attempts[cust, month], lost[cust, month])
    return np.where(lost, invoice, np.inf).min(axis=1), log


# ------------------------------------------------------------------ the tables
def _days_to_stamps(start: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.float64)
    finite = np.isfinite(days)
    ns = np.where(finite, np.floor(np.where(finite, days, 0) * 86_400) * 1e9, 0).astype(np.int64)
    return np.where(finite, (ns + start.value).astype("datetime64[ns]"), np.datetime64("NaT", "ns"))


def _customers(start: pd.Timestamp, span: float, people: dict, story: dict) -> pd.DataFrame:
    n = len(people["signup"])
    churned = story["churn_at"] < span
    card = story["driver"] == DRIVERS.index("card")
    churn_type = np.where(card, "involuntary", "voluntary").astype(object)
    churn_type[~churned] = None
    return pd.DataFrame(
        {
            "customer_id": [f"u{i:05d}" for i in range(1, n + 1)],
            "signup_at": _days_to_stamps(start, people["signup"]),
            "churned_at": _days_to_stamps(start, np.where(churned, story["churn_at"], np.inf)),
            "churn_type": churn_type,
            "plan": pd.Categorical.from_codes(people["plan"], list(PLANS)),
            "channel": pd.Categorical.from_codes(people["channel"], list(CHANNELS)),
        }
    )


def _level(people: dict, story: dict, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Usage level of each (customer, day) relative to the customer's normal."""
    level = np.ones(len(cust))
    for name, tau in TAU.items():
        begin = story["declines"][name][cust]
        level *= np.exp(-np.maximum(day - begin, 0.0) / tau)
    onboarding = np.isfinite(story["declines"]["onboarding"][cust])
    level = np.where(onboarding, level * ONBOARDING_LEVEL, level)
    level = np.maximum(level, FLOOR)
    return np.where(day >= people["upgrade"][cust], level * 1.3, level)


def _holidays(rng: np.random.Generator, people: dict, exit_: np.ndarray) -> tuple:
    """(customer, first day, last day) of each holiday: a week or two of little use."""
    life = np.maximum(exit_ - people["signup"], 0)
    count = rng.poisson(life / HOLIDAYS_EVERY_DAYS)
    cust = np.repeat(np.arange(len(life)), count)
    first = people["signup"][cust] + rng.random(len(cust)) * life[cust]
    return cust, first, first + rng.uniform(*HOLIDAY_DAYS, len(cust))


def _activity(rng, start, people, story, exit_) -> pd.DataFrame:
    """Daily Poisson counts at the customer's level of the day, spread over the day."""
    first = np.floor(people["signup"]).astype(np.int64)
    last = np.ceil(exit_).astype(np.int64)
    ndays = np.maximum(last - first, 0)
    cust = np.repeat(np.arange(len(first)), ndays)
    day = first[cust] + (np.arange(len(cust)) - np.repeat(np.cumsum(ndays) - ndays, ndays))
    mid = day + 0.5
    level = _level(people, story, cust, mid)
    h_cust, h_first, h_last = _holidays(rng, people, exit_)
    if len(h_cust):  # days inside a holiday of their customer
        order = np.lexsort((h_first, h_cust))
        h_cust, h_first, h_last = h_cust[order], h_first[order], h_last[order]
        key = cust * 10_000.0 + mid
        at = np.searchsorted(h_cust * 10_000.0 + h_first, key, side="right") - 1
        ok = at >= 0
        inside = np.zeros(len(cust), dtype=bool)
        inside[ok] = (h_cust[at[ok]] == cust[ok]) & (mid[ok] < h_last[at[ok]])
        level = np.where(inside, level * HOLIDAY_LEVEL, level)
    weekday = WEEKDAY[(start.weekday() + day) % 7]
    count = rng.poisson(people["usage"][cust] * level * weekday)
    who = np.repeat(cust, count)
    when = np.repeat(day, count) + rng.uniform(0.3, 0.95, int(count.sum()))
    keep = (when >= people["signup"][who]) & (when < exit_[who])
    who, when = who[keep], when[keep]
    kinds = rng.choice(len(EVENT_TYPES), len(who), p=list(EVENT_TYPES.values()))
    order = np.lexsort((when, who))
    return pd.DataFrame(
        {
            "customer_id": np.asarray([f"u{i:05d}" for i in range(1, len(first) + 1)])[who[order]],
            "timestamp": _days_to_stamps(start, when[order]),
            "event": pd.Categorical.from_codes(kinds[order], list(EVENT_TYPES)),
        }
    )


def _price(people: dict, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    base = np.array([p[0] for p in PLANS.values()])[people["plan"][cust]]
    discounted = day < people["full_price_at"][cust]
    price = np.where(discounted, base * (1 - people["discount"][cust]), base)
    grown = day >= people["upgrade"][cust]
    return np.round(np.where(grown, price * (1 + people["upgrade_rise"][cust]), price), 2)


def _payments(rng, start, people, story, exit_) -> pd.DataFrame:
    """An invoice every 30 days; failed ones retried every 4 days; nothing after a lost card."""
    n, signup = len(people["signup"]), people["signup"]
    stop = np.minimum(exit_, story["card"] + 0.5)  # a lost card ends the billing
    k = np.maximum(np.ceil((stop - signup) / BILLING_DAYS), 0).astype(np.int64)
    cust = np.repeat(np.arange(n), k)
    invoice = signup[cust] + BILLING_DAYS * (np.arange(len(cust)) - np.repeat(np.cumsum(k) - k, k))
    f_cust, f_day, f_attempts, f_lost = story["card_log"]
    failed = pd.Series(f_attempts, index=pd.MultiIndex.from_arrays([f_cust, np.round(f_day, 6)]))
    attempts_failed = (
        failed.reindex(pd.MultiIndex.from_arrays([cust, np.round(invoice, 6)]))
        .fillna(0)
        .to_numpy(dtype=np.int64)
    )
    lost = attempts_failed == len(RETRY_DAYS)
    tries = np.where(lost, attempts_failed, attempts_failed + 1)
    row = np.repeat(np.arange(len(cust)), tries)
    attempt = np.arange(len(row)) - np.repeat(np.cumsum(tries) - tries, tries)
    p_cust, p_day = cust[row], invoice[row] + RETRY_DAYS[attempt]
    status = np.where(attempt < attempts_failed[row], "failed", "succeeded").astype(object)
    amount = _price(people, p_cust, invoice[row])
    refund = (status == "succeeded") & (rng.random(len(row)) < 0.005)
    p_cust = np.concatenate([p_cust, p_cust[refund]])
    p_day = np.concatenate([p_day, p_day[refund] + rng.uniform(1, 8, int(refund.sum()))])
    amount = np.concatenate([amount, amount[refund]])
    status = np.concatenate([status, np.full(int(refund.sum()), "refunded", dtype=object)])
    keep = p_day < exit_[p_cust]
    order = np.lexsort((p_day[keep], p_cust[keep]))
    ids = np.asarray([f"u{i:05d}" for i in range(1, n + 1)])
    return pd.DataFrame(
        {
            "customer_id": ids[p_cust[keep][order]],
            "timestamp": _days_to_stamps(start, p_day[keep][order]),
            "amount": amount[keep][order],
            "status": status[keep][order],
        }
    )


def _tickets(rng, start, people, story, exit_) -> pd.DataFrame:
    """Everyday tickets (quickly resolved, rarely rated) and one problem episode each."""
    n, signup = len(people["signup"]), people["signup"]
    life = np.maximum(exit_ - signup, 0)
    rate = np.array([p[3] for p in PLANS.values()])[people["plan"]]
    k = rng.poisson(rate * life / MONTH)
    o_cust = np.repeat(np.arange(n), k)
    o_created = signup[o_cust] + rng.random(len(o_cust)) * life[o_cust]
    o_resolved = o_created + rng.lognormal(np.log(8 / 24), 0.9, len(o_cust))
    o_csat = np.where(
        rng.random(len(o_cust)) < 0.2,
        rng.choice([2.0, 3.0, 4.0, 5.0], len(o_cust), p=[0.05, 0.2, 0.35, 0.4]),
        np.nan,
    )
    o_priority = rng.choice(["low", "normal", "high"], len(o_cust), p=[0.2, 0.7, 0.1])

    has = story["problem"] < exit_
    m = np.where(has, 1 + rng.poisson(np.where(story["unresolved"], 1.0, 0.5)), 0)
    p_cust = np.repeat(np.arange(n), m)
    nth = np.arange(len(p_cust)) - np.repeat(np.cumsum(m) - m, m)
    p_created = story["problem"][p_cust] + np.where(nth == 0, 0.0, rng.uniform(2, 18, len(p_cust)))
    open_ = story["unresolved"][p_cust]
    p_resolved = np.where(open_, np.inf, p_created + rng.uniform(1, 4, len(p_cust)))
    p_csat = np.where(
        ~open_ & (rng.random(len(p_cust)) < 0.6), rng.choice([3.0, 4.0, 5.0], len(p_cust)), np.nan
    )
    p_priority = rng.choice(["normal", "high"], len(p_cust), p=[0.6, 0.4])

    cust = np.concatenate([o_cust, p_cust])
    created = np.concatenate([o_created, p_created])
    resolved = np.concatenate([o_resolved, p_resolved])
    csat = np.concatenate([o_csat, p_csat])
    priority = np.concatenate([o_priority, p_priority])
    keep = created < exit_[cust]
    resolved = np.where(resolved >= exit_[cust], np.inf, resolved)
    csat = np.where(np.isfinite(resolved), csat, np.nan)
    order = np.lexsort((created[keep], cust[keep]))
    ids = np.asarray([f"u{i:05d}" for i in range(1, n + 1)])
    return pd.DataFrame(
        {
            "customer_id": ids[cust[keep][order]],
            "created_at": _days_to_stamps(start, created[keep][order]),
            "resolved_at": _days_to_stamps(start, resolved[keep][order]),
            "priority": priority[keep][order],
            "csat": csat[keep][order],
        }
    )


def _truth(start: pd.Timestamp, span: float, people: dict, story: dict) -> pd.DataFrame:
    visible = story["driver_start"] < span
    driver = np.where(visible, story["driver"], -1)
    groups = [g for g in dict.fromkeys(DRIVER_GROUP.values()) if g]
    group = np.array([groups.index(g) if g else -1 for g in DRIVER_GROUP.values()] + [-1])
    n = len(driver)
    return pd.DataFrame(
        {
            "driver": pd.Categorical.from_codes(driver, list(DRIVERS)),
            "driver_start": _days_to_stamps(
                start, np.where(visible, story["driver_start"], np.inf)
            ),
            "churn_at": _days_to_stamps(start, np.where(visible, story["churn_at"], np.inf)),
            "group": pd.Categorical.from_codes(group[driver], groups),
        },
        index=pd.Index([f"u{i:05d}" for i in range(1, n + 1)], name="customer_id"),
    )


# ------------------------------------------------------------------ the measurement
#: Where each generator's story ends: the scoring date of :func:`first_reason_hits`.
CAUSE_AS_OF = pd.Timestamp("2023-10-01")
SAMPLE_AS_OF = pd.Timestamp("2024-12-31")
#: Cause shares compared (None: reasons ordered by weight only).
SHARES: tuple[float | None, ...] = (None, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def scored_top_decile(data: Any, truth: pd.DataFrame, as_of: Any) -> tuple[Any, pd.DataFrame]:
    """Fit the default pipeline, score at ``as_of``; the top decile's features and truth.

    Returns
    -------
    (pipeline, top)
        ``top``: the top 10% of the list by probability (customers with a recorded driver
        only), with the truth columns; ``attrs["X"]`` holds the features of everyone
        scored and ``attrs["rows"]`` the positions of ``top`` in them.
    """
    import churnpredict as cp

    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_jobs=2)).fit(data, as_of=as_of)
    X = pipe.features(data, as_of)
    proba = pipe.model_.predict_proba(X)[:, 1]
    order = np.argsort(-proba, kind="stable")[: int(np.ceil(0.1 * len(proba)))]
    ids = X.index.get_level_values("customer_id")
    top = truth.reindex(ids[order]).assign(churn_probability=proba[order])
    known = top["group"].notna().to_numpy()
    top.attrs["X"] = X  # everyone scored: the peers and directions reasons compare with
    top.attrs["rows"] = order[known]
    return pipe, top[known]


def first_reason_hits(pipe: Any, top: pd.DataFrame) -> dict[str, Any]:
    """Share of ``top`` whose first reason names the driver group, per cause share.

    Also ``group sum``: the driver group with the largest summed contribution (SHAP over
    groups of related features) instead of the reason list.
    """
    from churnpredict import explain
    from churnpredict._training import describe_feature_columns

    X, rows = top.attrs["X"], top.attrs["rows"]
    info = describe_feature_columns(pipe.builders_, pipe.feature_names_)
    truth = top["group"].astype(str).to_numpy()
    out: dict[str, Any] = {"customers": len(top)}
    for share in SHARES:  # everyone is explained, as a score does, and the top decile read
        reasons = explain(
            pipe.model_,
            X,
            info,
            percentiles=pipe.feature_percentiles_,
            facts=pipe.reason_facts_,
            cause_share=share,
        ).iloc[rows]
        hit = reasons["reason_group_1"].to_numpy() == truth
        out["weight only" if share is None else f"cause share {share:g}"] = hit.mean()
        if share == 0.3:
            out["by driver"] = (
                pd.Series(hit).groupby(top["driver"].astype(str).to_numpy()).mean().round(2)
            ).to_dict()
    groups = [c for c in reasons.columns if c.startswith("shap_")]
    best = reasons[groups].to_numpy().argmax(axis=1)
    out["group sum"] = (np.asarray([g[5:] for g in groups])[best] == truth).mean()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--sample",
        nargs="*",
        default=["2500:11", "6000:7", "3000:42"],
        help="sample generator sets as customers:seed (the guard against a drop)",
    )
    args = parser.parse_args(argv)
    import warnings

    import churnpredict as cp

    # every generated business is scored after half a year of cutoffs: the season is unseen
    warnings.filterwarnings("ignore", category=cp.SeasonWarning)

    rows = []
    sets = [("causes", args.customers, seed) for seed in args.seeds]
    sets += [("sample", *map(int, s.split(":"))) for s in args.sample]
    for kind, n, seed in sets:
        started = time.perf_counter()
        if kind == "causes":
            data, truth = make_cause_data(n, random_state=seed)
            as_of = CAUSE_AS_OF
        else:
            data, truth = cp.make_subscription_data(
                n_customers=n, random_state=seed, return_truth=True
            )
            as_of = SAMPLE_AS_OF
        pipe, top = scored_top_decile(data, truth, as_of)
        hits = first_reason_hits(pipe, top)
        by_driver = hits.pop("by driver")
        rows.append({"data": f"{kind} {n:,} / seed {seed}", **hits})
        print(
            f"{kind} {n:,} seed {seed}: {hits['customers']} top-decile customers with a driver, "
            f"first reason right {hits['cause share 0.3']:.1%} (weights only "
            f"{hits['weight only']:.1%}); by driver {by_driver} "
            f"[{time.perf_counter() - started:.0f} s]",
            flush=True,
        )
    table = pd.DataFrame(rows).set_index("data")
    shares = [c for c in table.columns if c != "customers"]
    print()
    print(table.to_string(formatters={c: "{:.1%}".format for c in shares}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
