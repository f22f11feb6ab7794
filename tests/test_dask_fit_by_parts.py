"""Fitting by parts: statistics per customer part, combined, give the single fit's state.

This is the protocol Dask fits builders with (see ``FeatureBuilder``); it needs no Dask.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import churnpredict as cp
from churnpredict._params import Integer
from churnpredict.features import (
    EngagementFeatures,
    FeatureBuilder,
    FeatureInfo,
    MonetaryFeatures,
    PaymentFeatures,
    ProfileFeatures,
    SupportFeatures,
    TenureFeatures,
    UsageFeatures,
)
from churnpredict.features._monetary import SpendFeatures
from churnpredict.features._purchases import PurchaseHistoryFeatures


class TicketCategories(FeatureBuilder):
    """Counts of tickets per category seen in fit, before each cutoff."""

    tables = ("tickets",)
    group = "support"

    def fit_statistics(self, data, rows=None):
        self.require_tables(data)
        return {"seen": set(data.tickets["category"].dropna().astype(str))}

    @classmethod
    def combine_statistics(cls, parts):
        return {"seen": set().union(*(p["seen"] for p in parts))}

    def fit_from_statistics(self, stats):
        self.categories_ = sorted(stats["seen"])
        return self

    def feature_info(self):
        return [
            FeatureInfo(
                f"tickets_{c}", "support", f"{{value}} '{c}' tickets", kind="count", noun="ticket"
            )
            for c in self.categories_
        ]

    def build(self, data, rows):
        rows = cp.features.as_rows(data, rows)
        tickets = data.tickets
        cust = data.customer_codes(tickets["customer_id"])
        times = tickets["created_at"].to_numpy(dtype="datetime64[ns]")
        out = {}
        for c in self.categories_:  # a handful of categories, vectorised over rows
            mine = (tickets["category"].astype(str) == c).to_numpy()
            keys = pd.MultiIndex.from_arrays([cust[mine], times[mine]])
            frame = pd.DataFrame(
                {"code": keys.get_level_values(0), "t": keys.get_level_values(1)}
            ).sort_values(["code", "t"])
            codes, t = frame["code"].to_numpy(), frame["t"].to_numpy()
            lo = np.searchsorted(codes, rows.codes, side="left")
            hi = np.searchsorted(codes, rows.codes, side="right")
            counts = np.array(
                [
                    np.searchsorted(t[a:b], cut)
                    for a, b, cut in zip(lo, hi, rows.cutoffs, strict=True)
                ],
                dtype=np.float64,
            )
            out[f"tickets_{c}"] = counts
        return pd.DataFrame(out, index=rows.index, columns=self.get_feature_names_out())


def _with_categories(data: cp.EventData) -> cp.EventData:
    """The sample with a ticket category: the first part's customers have only 'bug'."""
    tickets = data.tickets.copy()
    codes = data.customer_codes(tickets["customer_id"])
    tickets["category"] = np.where(
        codes % 3 == 0, "bug", np.where(codes % 2 == 0, "billing", "login")
    )
    return cp.EventData(data.customers, data.activity, data.payments, tickets)


@pytest.fixture(scope="module")
def data():
    return _with_categories(cp.load_sample())


@pytest.fixture(scope="module")
def rows(data):
    cutoffs = cp.training_cutoffs(data, horizon="28D", periods=6)
    return cp.label_churn(data, cutoffs, "28D").index


def _parts(data: cp.EventData, rows: pd.MultiIndex, k: int = 3, seed: int | None = None):
    """The data split into ``k`` parts of customers, each with its events and rows.

    Customers go to parts by position, or shuffled with ``seed``.
    """
    codes = np.arange(len(data.customers))
    if seed is not None:
        codes = np.random.default_rng(seed).permutation(codes)
    out = []
    for i in range(k):
        ids = data.customers["customer_id"][codes % k == i]
        tables = {
            name: frame[frame["customer_id"].isin(ids)]
            for name, frame in data.tables.items()
            if name != "customers"
        }
        part = cp.EventData(data.customers[data.customers["customer_id"].isin(ids)], **tables)
        out.append((part, rows[rows.get_level_values("customer_id").isin(ids)]))
    return out


def _state(builder: FeatureBuilder) -> str:
    return json.dumps(builder.get_state(), sort_keys=True, default=str)


def _plain(stats: dict) -> str:
    """Statistics as comparable text (sets sorted, NaN as text)."""
    return json.dumps(
        stats, sort_keys=True, default=lambda v: sorted(v) if isinstance(v, set) else str(v)
    )


BUILDERS = [
    EngagementFeatures,
    lambda: EngagementFeatures(max_event_types=2),
    SupportFeatures,
    PaymentFeatures,
    MonetaryFeatures,
    SpendFeatures,
    TenureFeatures,
    ProfileFeatures,
    lambda: ProfileFeatures(max_categories=2),
    lambda: PurchaseHistoryFeatures(ranks=False, bgnbd=False),
    UsageFeatures,
    TicketCategories,
]


@pytest.mark.parametrize("make", BUILDERS)
@pytest.mark.parametrize("with_rows", [True, False])
def test_fit_by_parts_equals_single_fit(data, rows, make, with_rows):
    single = make().fit(data, rows if with_rows else None)
    builder = make()
    stats = [
        builder.fit_statistics(part, part_rows if with_rows else None)
        for part, part_rows in _parts(data, rows)
    ]
    combined = type(builder).combine_statistics(stats)
    # the statistics themselves add up to the whole's (a stricter check than the state)
    assert _plain(combined) == _plain(make().fit_statistics(data, rows if with_rows else None))
    by_parts = builder.fit_from_statistics(combined)
    assert _state(by_parts) == _state(single)


def test_fit_is_the_composition(data, rows):
    builder = ProfileFeatures()
    assert _state(builder.fit(data, rows)) == _state(
        ProfileFeatures().fit_from_statistics(ProfileFeatures().fit_statistics(data, rows))
    )


def test_parts_learn_what_no_single_part_holds(data, rows):
    """Each part alone would learn other types or categories than the whole."""
    parts = _parts(data, rows)
    whole = TicketCategories().fit(data, rows).categories_
    assert whole == ["billing", "bug", "login"]
    alone = [TicketCategories().fit(part, r).categories_ for part, r in parts]
    assert alone[0] == ["bug"] and all(a != whole for a in alone)
    engagement = EngagementFeatures(max_event_types=3)
    stats = [engagement.fit_statistics(part, r) for part, r in parts]
    combined = EngagementFeatures.combine_statistics(stats)
    total = EngagementFeatures.combine_statistics([engagement.fit_statistics(data, rows)])
    assert combined["counts"] == total["counts"]
    assert sum(combined["counts"].values()) == sum(sum(s["counts"].values()) for s in stats) > 0


def test_profile_statistics_add_up(data, rows):
    stats = [ProfileFeatures().fit_statistics(part, r) for part, r in _parts(data, rows)]
    combined = ProfileFeatures.combine_statistics(stats)
    plan = combined["columns"]["plan"]
    n_customers = rows.get_level_values("customer_id").nunique()
    assert plan["kind"] == "text" and plan["n"] == n_customers
    assert sum(plan["counts"].values()) == sum(
        s["columns"]["plan"]["counts"].get(v, 0) for s in stats for v in plan["counts"]
    )


def test_default_combine_accepts_agreeing_parts_and_refuses_others():
    assert FeatureBuilder.combine_statistics([{"a": True}, {"a": True}]) == {"a": True}
    with pytest.raises(ValueError, match="override combine_statistics"):
        FeatureBuilder.combine_statistics([{"a": True}, {"a": False}])
    with pytest.raises(ValueError, match="at least one part"):
        FeatureBuilder.combine_statistics([])


def test_builders_that_override_only_fit_are_marked():
    class FitOnly(FeatureBuilder):
        def fit(self, data, rows=None):
            self.seen_ = len(data.customers)
            return self

    assert not FitOnly.fits_by_parts()
    assert TicketCategories.fits_by_parts() and EngagementFeatures.fits_by_parts()
    assert FeatureBuilder.fits_by_parts()


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    max_types=st.integers(0, 4),
    max_categories=st.integers(2, 4),
)
def test_any_split_of_the_customers_fits_like_the_whole(
    data, rows, k, seed, max_types, max_categories
):
    """Hundreds of customers per part: every part has rows at the latest cutoff."""
    parts = _parts(data, rows, k, seed)
    for make in (
        lambda: EngagementFeatures(max_event_types=max_types),
        lambda: ProfileFeatures(max_categories=max_categories),
        TicketCategories,
        SupportFeatures,
    ):
        builder = make()
        stats = [builder.fit_statistics(part, part_rows) for part, part_rows in parts]
        by_parts = builder.fit_from_statistics(type(builder).combine_statistics(stats))
        assert _state(by_parts) == _state(make().fit(data, rows))


# ---------------------------------------------------------------- the builder's hooks
class HookedCategories(FeatureBuilder):
    """TicketCategories written with the hooks: no checks, no bookkeeping of its own."""

    tables = ("tickets",)
    group = "support"
    _parameter_constraints = {"min_tickets": Integer(min=1)}

    def __init__(self, min_tickets=1):
        self.min_tickets = min_tickets

    def _fit_statistics(self, data, rows):
        counts = data.tickets["category"].dropna().astype(str).value_counts()
        return {"counts": {str(k): int(v) for k, v in counts.items()}}

    @classmethod
    def combine_statistics(cls, parts):
        total = {}
        for part in parts:
            for name, n in part["counts"].items():
                total[name] = total.get(name, 0) + n
        return {"counts": total}

    def _fit(self, stats):
        self.categories_ = sorted(c for c, n in stats["counts"].items() if n >= self.min_tickets)

    def _feature_info(self):
        return [
            FeatureInfo(f"ever_{c}", "support", f"a '{c}' ticket", kind="flag")
            for c in self.categories_
        ]

    def _build(self, data, rows):
        assert isinstance(rows, cp.features.FeatureRows)  # the base class read the rows
        tickets = data.tickets
        out = {}
        for c in self.categories_:
            mine = tickets[tickets["category"].astype(str) == c]
            first = mine.groupby("customer_id")["created_at"].min()
            first = first.reindex(rows.index.get_level_values("customer_id")).to_numpy()
            out[f"ever_{c}"] = (first < rows.cutoffs).astype(np.float64)
        return pd.DataFrame(out, index=rows.index, columns=self.get_feature_names_out())


def test_a_builder_of_hooks_gets_the_checks_and_the_bookkeeping(data, rows):
    from sklearn.exceptions import NotFittedError

    from churnpredict._exceptions import ChurnDataError, ChurnParameterError

    with pytest.raises(NotFittedError):
        HookedCategories().build(data, rows)
    with pytest.raises(NotFittedError):
        HookedCategories().feature_info()
    with pytest.raises(ChurnParameterError, match="^min_tickets=0"):
        HookedCategories(min_tickets=0).fit(data, rows)
    no_tickets = cp.EventData(data.customers, activity=data.activity)
    with pytest.raises(ChurnDataError, match="HookedCategories needs the tickets table"):
        HookedCategories().fit(no_tickets, rows)
    whole = HookedCategories().fit(data, rows)
    assert whole.fitted_ is True and whole.categories_ and HookedCategories.fits_by_parts()
    with pytest.raises(ChurnDataError, match="needs the tickets table"):
        whole.build(no_tickets, rows)
    by_parts = HookedCategories()
    stats = [by_parts.fit_statistics(part, part_rows) for part, part_rows in _parts(data, rows)]
    by_parts.fit_from_statistics(HookedCategories.combine_statistics(stats))
    assert _state(by_parts) == _state(whole)
    X = cp.build_features(data, rows, [whole], fit=False)
    assert list(X.columns) == [f"ever_{c}" for c in whole.categories_]
    assert X.to_numpy().sum() > 0


def test_no_shipped_family_repeats_the_opening_steps():
    """The families fill in the hooks; the public template methods are the base class's."""
    families = [
        EngagementFeatures,
        MonetaryFeatures,
        PaymentFeatures,
        SupportFeatures,
        TenureFeatures,
        ProfileFeatures,
        UsageFeatures,
        SpendFeatures,
        PurchaseHistoryFeatures,
    ]
    for family in families:
        for method in ("fit", "fit_statistics", "fit_from_statistics", "build", "feature_info"):
            assert getattr(family, method) is getattr(FeatureBuilder, method), (family, method)
