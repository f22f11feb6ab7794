"""The default features against an independent implementation: one DuckDB SQL query.

``benchmarks/features.py`` computes all 71 default features in SQL (window counts, distinct
active days, per-type counts, recency, trend, slope, monetary, payments, support, tenure,
profile). On generated data both must agree on every row and column, at one cutoff and at
stacked cutoffs, with second and with nanosecond activity times.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from churnpredict._labels import make_cutoffs
from churnpredict.datasets import make_subscription_data
from churnpredict.features import build_features

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "features_benchmark", ROOT / "benchmarks" / "features.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("ns", [False, True], ids=["seconds", "nanoseconds"])
@pytest.mark.parametrize("periods", [1, 4])
def test_sql_and_churnpredict_agree(bench, ns, periods, capsys):
    data = make_subscription_data(400, events_per_day=1.08, random_state=3)
    if ns:
        data = bench._with_ns_timestamps(data, 3)
    cutoffs = make_cutoffs("2024-12-03", periods, "14D")
    ours = build_features(data, cutoffs)
    theirs = bench.run_duckdb(data, cutoffs, threads=1)
    assert len(ours) > 100 and ours.shape[1] == 71
    assert bench.compare(ours, theirs) == [], capsys.readouterr().out
