"""Event logs of use: Sparkify and the usage generator, time-ordered, against simple baselines.

Everything runs with the library's defaults (``ChurnPipeline()``: the business kind, the
horizon, the cutoff spacing and the feature windows are chosen from the data), as a new user
would run it:

* **Sparkify** (``churnpredict.datasets.load_sparkify``, the simulated music-service log in
  ``../shared/data``: 97 users, one month). Test cutoffs are the last four days whose
  horizon the log still covers; each model is trained on what was known at its cutoff.
* **The usage generator** (``churnpredict.make_usage_data``: the subscription simulator with
  payments, cancellations, MRR and plans removed), as a complete history and as an export of
  its last five months, at two monthly test cutoffs.

At each test cutoff ``T`` the pipeline is fitted with ``as_of=T`` and the population at
``T`` is scored and labelled over the horizon after it. ``ChurnModel`` is compared with the
recency rule (days since the last event) and BG/NBD's probability of no active day in the
horizon (:class:`~churnpredict._bgnbd.BGNBDBaseline` on the active days before ``T``), on
everyone scored and on the active customers only (active in the lookback: the retention
list; the lapsed ones are trivially at risk). AUCs carry a percentile bootstrap 95% interval,
differences a paired one (the same resampled rows for both scores).

Run from the repository root::

    python benchmarks/event_logs.py                 # data in ../shared/data
    python benchmarks/event_logs.py --only generator
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_data import auc_interval, paired_auc_difference  # noqa: E402

from churnpredict import (  # noqa: E402
    BGNBDBaseline,  # noqa: E402
    ChurnModel,  # noqa: E402
    ChurnModelError,  # noqa: E402
    ChurnPipeline,  # noqa: E402
    classification_metrics,
    recency_rule,
)
from churnpredict._labels import customer_status, label_churn  # noqa: E402
from churnpredict.datasets import (
    load_sparkify,  # noqa: E402
    make_usage_data,  # noqa: E402
)
from churnpredict.features import PurchaseHistoryFeatures, build_features  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPARKIFY = "sparkify-eventsim-log-sample/sparkify_log_data_2018-11.jsonl.gz"


def test_scores(data: Any, as_of: pd.Timestamp, n_jobs: int, seed: int = 0) -> dict[str, Any]:
    """Fit at ``as_of``; score, label and baseline the population at ``as_of``."""
    pipe = ChurnPipeline(model=ChurnModel(n_jobs=n_jobs, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(data, as_of=as_of, progress=False)
        test = label_churn(data, [as_of], pipe.horizon_, **pipe.population_rule())
        X = pipe.align_features(
            build_features(data, test.index, pipe.builders_, fit=False, progress=False)
        )
        summaries = build_features(
            data, test.index, [PurchaseHistoryFeatures(bgnbd=False)], fit=True, progress=False
        )
        try:
            bgnbd = BGNBDBaseline(horizon=pipe.horizon_).fit(summaries).predict_proba(summaries)
            bgnbd = bgnbd[:, 1]
        except ChurnModelError:
            bgnbd = None
    status = customer_status(
        data, test.index, pipe.horizon_, kind=pipe.label_kind_, lookback=pipe.lookback
    )
    return {
        "pipe": pipe,
        "y": test["churned"].to_numpy(),
        "active": (status == "active").to_numpy(),
        "scores": {
            "ChurnModel": pipe.model_.predict_proba(X)[:, 1],
            "recency rule": recency_rule(X).to_numpy(),
            **({} if bgnbd is None else {"BG/NBD P(no use)": bgnbd}),
        },
    }


def rows_for(dataset: str, as_of: pd.Timestamp, result: dict[str, Any]) -> list[dict]:
    """One row per population and score, with intervals and paired differences."""
    out = []
    pipe = result["pipe"]
    for population, mask in (("everyone", None), ("active", result["active"])):
        keep = np.ones(len(result["y"]), dtype=bool) if mask is None else mask
        y = result["y"][keep]
        if y.min() == y.max():
            continue
        model = result["scores"]["ChurnModel"][keep]
        for name, score in result["scores"].items():
            s = score[keep]
            m = classification_metrics(y, s, probability=name != "recency rule")
            lo, hi = auc_interval(y, s)
            row = {
                "dataset": dataset,
                "test cutoff": f"{as_of:%Y-%m-%d}",
                "horizon": f"{pipe.horizon_.days}D",
                "business": pipe.business_,
                "population": population,
                "model": name,
                "n": int(m["n"]),
                "churned": int(m["n_churned"]),
                "AUC": f"{m['auc']:.3f} ({lo:.2f}-{hi:.2f})",
                "AP": f"{m['average_precision']:.3f}",
                "lift": f"{m['top_decile_lift']:.2f}",
                "ChurnModel minus this": "",
            }
            if name != "ChurnModel":
                d, dlo, dhi = paired_auc_difference(y, model, s)
                row["ChurnModel minus this"] = f"{d:+.3f} ({dlo:+.2f} to {dhi:+.2f})"
            out.append(row)
    return out


def markdown(rows: pd.DataFrame) -> str:
    cols = list(rows.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--only", nargs="+", choices=["sparkify", "generator"])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args(argv)
    todo = args.only or ["sparkify", "generator"]
    rows: list[dict] = []
    started = time.perf_counter()
    if "sparkify" in todo:
        path = args.data / SPARKIFY
        if not path.is_file():
            print(f"skipping Sparkify: {path} not found", file=sys.stderr)
        else:
            data = load_sparkify(path)
            end = data.time_range[1]
            for days in (10, 9, 8, 7):
                as_of = end - pd.Timedelta(days=days)
                rows += rows_for("Sparkify", as_of, test_scores(data, as_of, args.n_jobs))
    if "generator" in todo:
        for label, export in (("generator", None), ("generator, export", "2024-08-01")):
            data = make_usage_data(export_from=export, random_state=5)
            for as_of in ("2024-11-04", "2024-12-02"):
                stamp = pd.Timestamp(as_of)
                rows += rows_for(label, stamp, test_scores(data, stamp, args.n_jobs))
    frame = pd.DataFrame(rows)
    text = markdown(frame) + f"\n\nTotal time: {time.perf_counter() - started:.0f} s."
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return frame


if __name__ == "__main__":
    main()
