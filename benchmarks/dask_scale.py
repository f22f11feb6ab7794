"""Scoring (and training) on Dask: data larger than a memory budget, and pandas vs Dask times.

Run from the repository root::

    python benchmarks/dask_scale.py                       # defaults below, a few minutes
    python benchmarks/dask_scale.py --chunks 4 --train    # smaller, and time training too

What it does:

1. Trains a small pipeline on pandas (the model to score with).
2. Writes generated subscription data to Parquet in chunks (never all in memory at once):
   ``--chunks`` independent simulated businesses of ``--chunk-customers`` customers each, with
   distinct customer ids.
3. *Data larger than the budget*: the memory budget is what one process may use,
   ``--worker-memory`` (think of one machine). The pandas path (load the tables, score, write
   the lists) runs in a child process and its peak resident memory is measured; then
   ``score_dask`` runs on a ``LocalCluster`` of ``--workers`` processes, each capped at
   ``--worker-memory`` (Dask pauses a worker at 80% of it and restarts it at 95%), and each
   worker's peak resident memory is read at the end.
4. *Data that fits both*: the first ``--small-chunks`` chunks, scored both ways (and, with
   ``--train``, trained both ways), timed end to end from Parquet to the written list.

Results are printed as a table and written to ``OUT/results.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = "2024-12-31"
ID_STRIDE = 10_000_000  # chunk k's customer ids are k * ID_STRIDE + its own ids


# --------------------------------------------------------------------------- data
def write_data(out: Path, chunks: int, chunk_customers: int) -> dict:
    """Write ``chunks`` simulated businesses as Parquet parts; return sizes."""
    import pandas as pd

    from churnpredict.datasets import make_subscription_data

    for name in ("activity", "payments", "tickets"):
        (out / name).mkdir(parents=True, exist_ok=True)
    customers, rows, nbytes = [], {}, 0
    for k in range(chunks):
        data = make_subscription_data(n_customers=chunk_customers, random_state=100 + k)
        for name, frame in data.tables.items():
            frame = frame.assign(customer_id=frame["customer_id"] + k * ID_STRIDE)
            nbytes += int(frame.memory_usage(deep=True).sum())
            rows[name] = rows.get(name, 0) + len(frame)
            if name == "customers":
                customers.append(frame)
            else:
                frame.to_parquet(out / name / f"part.{k:03d}.parquet", index=False)
        del data
    pd.concat(customers, ignore_index=True).to_parquet(out / "customers.parquet", index=False)
    return {"rows": rows, "pandas_bytes": nbytes}


def subset(source: Path, target: Path, chunks: int) -> None:
    """The first ``chunks`` chunks of ``source`` as their own data directory."""
    import pandas as pd

    target.mkdir(parents=True, exist_ok=True)
    customers = pd.read_parquet(source / "customers.parquet")
    customers = customers[customers["customer_id"] < chunks * ID_STRIDE]
    customers.to_parquet(target / "customers.parquet", index=False)
    for name in ("activity", "payments", "tickets"):
        (target / name).mkdir(exist_ok=True)
        for k in range(chunks):
            part = f"part.{k:03d}.parquet"
            shutil.copy(source / name / part, target / name / part)


def read_dir_pandas(path: Path):
    import pandas as pd

    from churnpredict import EventData

    tables = {name: pd.read_parquet(path / name) for name in ("activity", "payments", "tickets")}
    return EventData(pd.read_parquet(path / "customers.parquet"), **tables)


# --------------------------------------------------------------------------- peak memory
def peak_mb() -> float:
    """This process's peak resident memory (MB) since it started its program.

    Linux's ``VmHWM`` starts afresh at ``exec``; ``getrusage``'s ``ru_maxrss`` would also count
    the parent's memory at spawn time.
    """
    try:
        status = Path("/proc/self/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):  # not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- pandas runs


def pandas_score(data_dir: str, model_dir: str, out: str) -> dict:
    """Child process: load, score, write the top list and the full ranked list."""
    from churnpredict import ChurnPipeline, at_risk_list, write_at_risk

    start = time.perf_counter()
    pipeline = ChurnPipeline.load(model_dir)
    data = read_dir_pandas(Path(data_dir))
    scores = pipeline.score(data, AS_OF)
    ranked = at_risk_list(scores, horizon=pipeline.horizon)
    write_at_risk(ranked.head(1000), out)
    write_at_risk(ranked, Path(out).with_suffix(".parquet"))
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": peak_mb(),
        "customers_scored": len(scores),
    }


def pandas_train(data_dir: str, n_estimators: int) -> dict:
    from churnpredict import ChurnModel, ChurnPipeline

    start = time.perf_counter()
    data = read_dir_pandas(Path(data_dir))
    pipe = ChurnPipeline(model=ChurnModel(n_estimators=n_estimators)).fit(data, as_of=AS_OF)
    return {
        "seconds": time.perf_counter() - start,
        "peak_mb": peak_mb(),
        "rows": pipe.training_summary_["n_rows"],
        "auc": pipe.validation_scores_["auc"],
    }


def in_child(func, *args) -> dict:
    """Run ``func`` in a fresh process, so its peak RSS is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(func, *args).result()


# --------------------------------------------------------------------------- dask runs
def dask_run(
    kind: str, data_dir: Path, model_dir: Path, out: Path, args, chunks: int, repeat: int = 1
) -> dict:
    """A fresh LocalCluster (worker processes, capped memory) running one job ``repeat`` times.

    The first run pays the workers' one-off costs (imports, loading compiled kernels); later
    runs show a warm cluster (``seconds_warm``).
    """
    from distributed import Client, LocalCluster

    from churnpredict import ChurnModel, ChurnPipeline
    from churnpredict import dask as cpd

    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.worker_memory,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(args.workers)
        base = client.run(peak_mb)
        npartitions = args.npartitions or 2 * chunks
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            if kind == "score":
                frame, n = cpd.score_dask(
                    model_dir,
                    data_dir,
                    AS_OF,
                    out,
                    scheduler=client,
                    top=1000,
                    ranked_out=out.with_suffix(".ranked"),
                    npartitions=npartitions,
                )
                result = {"customers_scored": n}
            else:
                pipe = ChurnPipeline(model=ChurnModel(n_estimators=args.n_estimators))
                cpd.train_dask(
                    pipe, data_dir, out, as_of=AS_OF, scheduler=client, npartitions=npartitions
                )
                result = {
                    "rows": pipe.training_summary_["n_rows"],
                    "auc": pipe.validation_scores_["auc"],
                }
            times.append(time.perf_counter() - start)
        result["seconds"] = times[0]
        if repeat > 1:
            result["seconds_warm"] = min(times[1:])
        result["npartitions"] = npartitions
        peaks = client.run(peak_mb)
        result["worker_peak_mb"] = sorted(round(v) for v in peaks.values())
        result["worker_start_mb"] = sorted(round(v) for v in base.values())
    return result


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-customers", type=int, default=4000)
    parser.add_argument("--small-chunks", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="1GiB")
    parser.add_argument(
        "--npartitions", type=int, default=None, help="customer partitions (default: 2 per chunk)"
    )
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--train", action="store_true", help="also time training")
    parser.add_argument(
        "--skip-pandas-big",
        action="store_true",
        help="do not run the pandas path on the large data",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from dask.utils import parse_bytes

    from churnpredict import ChurnModel, ChurnPipeline
    from churnpredict.datasets import make_subscription_data

    out = args.out or Path(tempfile.mkdtemp(prefix="churn-dask-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    budget_mb = parse_bytes(args.worker_memory) / 2**20
    results: dict = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "budget_mb": budget_mb,
    }

    model_dir = out / "model"
    t = time.perf_counter()
    ChurnPipeline(model=ChurnModel(n_estimators=100, n_jobs=1)).fit(
        make_subscription_data(n_customers=1500, random_state=1), as_of=AS_OF
    ).save(model_dir)
    print(f"model trained in {time.perf_counter() - t:.1f}s")

    big, small = out / "big", out / "small"
    t = time.perf_counter()
    results["big_data"] = write_data(big, args.chunks, args.chunk_customers)
    subset(big, small, args.small_chunks)
    print(f"data written in {time.perf_counter() - t:.1f}s: {results['big_data']}")

    # data that fits both ------------------------------------------------------------
    results["small"] = {
        "pandas_score": in_child(
            pandas_score, str(small), str(model_dir), str(out / "small_pandas.csv")
        ),
        "dask_score": dask_run(
            "score", small, model_dir, out / "small_dask.csv", args, args.small_chunks, repeat=2
        ),
    }
    if args.train:
        results["small"]["pandas_train"] = in_child(pandas_train, str(small), args.n_estimators)
        results["small"]["dask_train"] = dask_run(
            "train", small, model_dir, out / "small_model", args, args.small_chunks, repeat=2
        )
    print(json.dumps(results["small"], indent=1))

    # data larger than the budget ------------------------------------------------------
    results["big"] = {}
    if not args.skip_pandas_big:
        results["big"]["pandas_score"] = in_child(
            pandas_score, str(big), str(model_dir), str(out / "big_pandas.csv")
        )
    results["big"]["dask_score"] = dask_run(
        "score", big, model_dir, out / "big_dask.csv", args, args.chunks
    )
    if args.train:
        results["big"]["dask_train"] = dask_run(
            "train", big, model_dir, out / "big_model", args, args.chunks
        )
    print(json.dumps(results["big"], indent=1))
    (out / "results.json").write_text(json.dumps(results, indent=1))

    rows = results["big_data"]["rows"]
    chunks = sum(1 for _ in (small / "activity").iterdir())
    print(
        f"\nsmall data: the first {chunks} chunk(s); budget: {budget_mb:.0f} MB per process "
        f"({args.workers} Dask workers); large data: {rows['customers']:,} "
        f"customers, {rows['activity']:,} activity events "
        f"({results['big_data']['pandas_bytes'] / 2**20:.0f} MB as pandas tables)"
    )
    print("| data | job | engine | time (s) | warm cluster (s) | peak memory (MB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in ("small", "big"):
        for job, res in results[size].items():
            engine, task = job.split("_")
            peak = (
                f"{res['peak_mb']:.0f} (one process)"
                if "peak_mb" in res
                else f"{max(res['worker_peak_mb'])} per worker (max of {res['worker_peak_mb']})"
            )
            warm = f"{res['seconds_warm']:.1f}" if "seconds_warm" in res else ""
            print(f"| {size} | {task} | {engine} | {res['seconds']:.1f} | {warm} | {peak} |")
    print(f"\nresults in {out / 'results.json'}")


if __name__ == "__main__":
    main()
