"""Scoring benchmark: predict, rank and write, and exact SHAP at scale.

Generates ``--rows`` synthetic customers x ``--features`` numeric features (with signal and 5%
missing values), trains a model on a sample of them, then times

* churn probabilities for every row;
* building the ranked at-risk list for every row and writing it to CSV;
* exact TreeSHAP + reasons (:func:`churnpredict._explain.explain`) for the ``--top`` riskiest;
* throughput of :func:`churnpredict._explain.shap_values` against ``shap.TreeExplainer`` and
  XGBoost's ``pred_contribs`` on the same model and ``--compare-rows`` rows.

Run from the repository root::

    python benchmarks/scoring.py                 # 1,000,000 rows, ChurnModel defaults
    python benchmarks/scoring.py --rows 100000   # smaller
    python benchmarks/scoring.py --model xgb300  # 300 trees of depth 6
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from churnpredict import at_risk_list, explain, shap_values, write_at_risk  # noqa: E402
from churnpredict.features import DRIVER_GROUPS  # noqa: E402


def make_data(n_rows: int, n_features: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric features; churn log-odds from 8 linear terms, 2 interactions and a threshold."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    coef = rng.normal(0, 0.6, size=8)
    logit = -1.5 + X[:, :8] @ coef + 0.8 * X[:, 8] * X[:, 9] + 1.2 * (X[:, 10] > 1.0)
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    X[rng.random(X.shape, dtype=np.float32) < 0.05] = np.nan
    ids = pd.Index(np.arange(n_rows, dtype=np.int64), name="customer_id")
    return pd.DataFrame(X, columns=[f"f{j:02d}" for j in range(n_features)], index=ids), y


def feature_info(columns: list[str]) -> pd.DataFrame:
    groups = [DRIVER_GROUPS[j % len(DRIVER_GROUPS)] for j in range(len(columns))]
    return pd.DataFrame(
        {"group": groups, "description": [f"{c} at {{value:.2f}}" for c in columns]},
        index=pd.Index(columns, name="feature"),
    )


def train(kind: str, X: pd.DataFrame, y: np.ndarray):
    if kind == "churn":
        from churnpredict import ChurnModel

        return ChurnModel().fit(X, y)
    import xgboost as xgb

    params = {"max_depth": 6, "eta": 0.05, "objective": "binary:logistic", "tree_method": "hist"}
    return xgb.train(params, xgb.DMatrix(X, y), 300)


def timed(label: str, func, results: list, rows: int, target: float | None = None):
    start, cpu = time.perf_counter(), time.process_time()
    out = func()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    results.append(
        {
            "step": label,
            "rows": rows,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "rows_per_s": rows / seconds if seconds > 0 else np.inf,
            "target_s": target,
        }
    )
    print(f"  {label:<46} {rows:>9,} rows {seconds:8.2f} s (cpu {cpu:7.2f} s)", flush=True)
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument(
        "--train-rows", type=int, default=200_000, help="rows used to train (a sample of --rows)"
    )
    parser.add_argument("--top", type=int, default=100_000, help="rows explained exactly")
    parser.add_argument(
        "--compare-rows",
        type=int,
        default=20_000,
        help="rows for the shap.TreeExplainer / pred_contribs comparison",
    )
    parser.add_argument(
        "--model",
        choices=("churn", "xgb300"),
        default="churn",
        help="churn: ChurnModel defaults; xgb300: xgboost, 300 trees of depth 6",
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for the written list")
    args = parser.parse_args(argv)

    import xgboost as xgb

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"cores: {os.cpu_count()}, load average {load:.1f}, xgboost {xgb.__version__}", flush=True
    )
    X, y = make_data(args.rows, args.features)
    n_train = min(args.train_rows, args.rows)
    start = time.perf_counter()
    model = train(args.model, X.iloc[:n_train], y[:n_train])
    booster = getattr(model, "booster_", model)
    trees = booster.num_boosted_rounds()
    print(
        f"model: {args.model}, {trees} trees, trained on {n_train:,} rows in "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    results: list[dict] = []

    def probabilities() -> np.ndarray:
        if hasattr(model, "predict_proba"):
            return model.predict_proba(X)[:, 1]
        return model.predict(xgb.DMatrix(X))

    prob = timed("predict churn probability", probabilities, results, args.rows)
    mrr = np.random.default_rng(1).gamma(2.0, 40.0, args.rows)
    n_top = min(args.top, args.rows)
    top_ids = X.index[np.argsort(-prob, kind="stable")[:n_top]]
    info = feature_info(list(X.columns))
    explain(model, X.iloc[:200], info)  # compile / load the kernels outside the timings

    def tables() -> None:
        from churnpredict._treeshap import _CACHE

        _CACHE.clear()  # parse the booster and rebuild its subset tables
        shap_values(model, X.iloc[:1])

    timed("parse model + subset tables (once per model)", tables, results, 1)

    reasons = timed(
        f"explain top {n_top:,} (SHAP + reasons)",
        lambda: explain(model, X.loc[top_ids], info),
        results,
        n_top,
        30.0,
    )
    timed(
        f"shap_values top {n_top:,}",
        lambda: shap_values(model, X.loc[top_ids]),
        results,
        n_top,
        30.0,
    )

    out_dir = args.out or Path(tempfile.mkdtemp())

    def ranked_list() -> Path:
        scores = pd.DataFrame({"churn_probability": prob, "mrr": mrr}, index=X.index)
        scores = scores.join(
            reasons.drop(columns=[c for c in reasons.columns if c.startswith("shap_")])
        )
        frame = at_risk_list(scores, horizon="28D")
        return write_at_risk(frame, out_dir / "at_risk.csv")

    path = timed("at_risk_list + write_at_risk CSV", ranked_list, results, args.rows, 30.0)
    print(f"  wrote {path} ({path.stat().st_size / 2**20:.0f} MiB)", flush=True)

    n_cmp = min(args.compare_rows, args.rows)
    sample = X.iloc[:n_cmp]
    ours = timed("shap_values (fast TreeSHAP)", lambda: shap_values(model, sample), results, n_cmp)
    contribs = timed(
        "xgboost pred_contribs",
        lambda: booster.predict(xgb.DMatrix(sample), pred_contribs=True),
        results,
        n_cmp,
    )

    def tree_explainer() -> np.ndarray:
        import shap

        return shap.TreeExplainer(booster).shap_values(sample)

    reference = timed("shap.TreeExplainer", tree_explainer, results, n_cmp)
    print(
        f"  max |ours - pred_contribs| = {np.abs(ours - contribs).max():.2e}, "
        f"max |ours - TreeExplainer| = {np.abs(ours[:, :-1] - reference).max():.2e}"
    )

    table = pd.DataFrame(results)
    rate = table.set_index("step")["rows_per_s"]
    print(
        f"\nthroughput ratio vs shap.TreeExplainer: "
        f"{rate['shap_values (fast TreeSHAP)'] / rate['shap.TreeExplainer']:.1f}x; "
        f"vs xgboost pred_contribs: "
        f"{rate['shap_values (fast TreeSHAP)'] / rate['xgboost pred_contribs']:.1f}x"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    if hasattr(os, "getloadavg"):
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return table


if __name__ == "__main__":
    main()
