"""A Dask fit and score on two partitions, in the quick loop: the distributed path end to end.

The slow Dask tests (tests/test_dask.py) compare every step with the single-machine one; this
check keeps the whole route (partitioning, fit by parts, ``xgboost.dask`` training, scoring
on partitions) exercised by every quick run, on data small enough for a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from churnpredict import dask as cpd  # noqa: E402
from churnpredict._model import ChurnModel  # noqa: E402
from churnpredict._pipeline import ChurnPipeline  # noqa: E402
from churnpredict.datasets import make_subscription_data  # noqa: E402

AS_OF = "2024-12-31"
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning:dask")


def _pipeline() -> ChurnPipeline:
    return ChurnPipeline(model=ChurnModel(n_estimators=20, n_jobs=1), n_cutoffs=4)


def test_two_partitions_train_and_score_like_pandas():
    from distributed import Client, LocalCluster

    data = make_subscription_data(n_customers=200, random_state=3)
    local = _pipeline().fit(data, as_of=AS_OF)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        parts = cpd.partition_by_customer(
            data.customers, data.activity, data.payments, data.tickets, npartitions=2
        )
        assert parts.customers.npartitions == 2
        spread = cpd.fit_dask(_pipeline(), parts, as_of=AS_OF, client=client)
        scored = cpd.score_customers_dask(spread, parts, AS_OF, explain=False).compute()
    # the same training plan as the single-machine fit: rows, cutoffs, features
    assert spread.training_summary_ == local.training_summary_
    assert spread.feature_names_ == local.feature_names_
    assert spread.cutoffs_.equals(local.cutoffs_)
    for key in ("n_rows", "n_churned", "base_rate"):
        assert spread.validation_scores_[key] == local.validation_scores_[key], key
    # scoring on partitions gives the Dask-trained pipeline's own pandas scores, row by row
    expected = spread.score(data, AS_OF, explain=False)["churn_probability"]
    got = scored.set_index("customer_id")["churn_probability"]
    assert sorted(got.index) == sorted(expected.index)
    np.testing.assert_allclose(got.loc[expected.index], expected, atol=1e-9, rtol=0)
    # and a model of the data: it ranks much like the single-machine one
    theirs = local.score(data, AS_OF, explain=False)["churn_probability"]
    assert got.corr(theirs.loc[got.index], method="spearman") > 0.7
