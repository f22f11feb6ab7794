"""Features built in blocks of rows on several threads are the features built whole.

``build_features(..., n_jobs=n)`` splits the rows of each ``row_wise`` family into ``n``
contiguous blocks, builds them on threads sharing one ``EventData`` (and its cached indexes)
and joins them. A customer's features depend only on that customer's events, so the join
must be the whole frame, bit for bit, whatever ``n``; families that compare rows with each
other (``PurchaseHistoryFeatures``) are built whole.
"""

from __future__ import annotations

import pandas as pd
import pytest

import churnpredict.features as features_module
from churnpredict._labels import make_cutoffs, population
from churnpredict.datasets import make_subscription_data
from churnpredict.features import EngagementFeatures, build_features, default_builders


@pytest.fixture(scope="module")
def data():
    return make_subscription_data(n_customers=700, random_state=5)


@pytest.fixture(scope="module")
def rows(data):
    return population(data, make_cutoffs("2024-11-01", periods=6, freq="30D")).index


@pytest.mark.parametrize("business", ["subscription", "purchases"])
def test_blocks_on_threads_join_into_the_whole_frame(data, rows, business, monkeypatch):
    whole = build_features(data, rows, default_builders(business), n_jobs=1, progress=False)
    monkeypatch.setattr(features_module, "MIN_BLOCK_ROWS", 100)
    builds = []
    original = EngagementFeatures.build

    def counted(self, data, rows):
        builds.append(len(rows))
        return original(self, data, rows)

    monkeypatch.setattr(EngagementFeatures, "build", counted)
    for n_jobs in (2, 3, 8):
        builds.clear()
        blocks = build_features(
            data, rows, default_builders(business), n_jobs=n_jobs, progress=False
        )
        assert len(builds) == n_jobs and sum(builds) == len(rows)  # really built in blocks
        pd.testing.assert_frame_equal(blocks, whole, check_exact=True)
        assert blocks.index is rows or blocks.index.equals(rows)


def test_fitted_builders_score_the_same_on_any_number_of_threads(data, rows, monkeypatch):
    builders = default_builders()
    fitted = build_features(data, rows, builders, progress=False)  # fits them
    monkeypatch.setattr(features_module, "MIN_BLOCK_ROWS", 64)
    again = build_features(data, rows, builders, fit=False, n_jobs=4, progress=False)
    pd.testing.assert_frame_equal(again, fitted, check_exact=True)


@pytest.mark.parametrize("keep_codes", [True, False])
def test_released_caches_give_the_same_features_again(data, rows, keep_codes):
    """``EventData.release_cache`` drops the indexes (and with ``keep_codes=False`` the event
    positions, as scoring does before the reasons): what is built next is rebuilt from the
    tables, and the features are the same, bit for bit."""
    first = build_features(data, rows, default_builders(), n_jobs=1)
    data.release_cache(keep_codes=keep_codes)
    kept = {key for key in data._cache if isinstance(key, tuple) and key[0] == "codes"}
    assert bool(kept) == keep_codes
    assert not any(isinstance(key, tuple) and key[0] == "index" for key in data._cache)
    again = build_features(data, rows, default_builders(), n_jobs=1)
    pd.testing.assert_frame_equal(again, first)
