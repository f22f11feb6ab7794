"""End-to-end benchmark: train and score through the command line, each in its own process.

For each ``--customers`` size, generates subscription data with
:func:`churnpredict.datasets.make_subscription_data` (in parts of at most 250,000 customers,
ids offset, so a million customers need no more memory than 250,000 to generate), writes the
four tables as Parquet, then runs, each as a fresh ``python -m churnpredict`` process:

* ``train DATA --model M --as-of T`` with the defaults (12 cutoffs, 28-day horizon), ``T``
  the data's end minus the horizon, so that the next horizon can be checked;
* ``score DATA --model M --as-of END --out list.csv``: features, probabilities, reasons and
  the ranked list of every customer at the data's end, written as CSV.

Each step's wall time, CPU time (user + system, from the operating system's accounting of the
finished process) and peak memory (its maximum resident set) are printed, the peak also as a
multiple of the input: the four tables in memory as pandas frames, as ``EventData`` holds
them. Then the model's accuracy on the population at ``T`` over the next horizon (ROC AUC and
average precision; the labels training never saw).

Training uses the defaults, ``train_sample="auto"`` included (big data trains on a weighted
sample); ``--train-sample auto 1 0.3`` also trains (and checks) on every row and on a 30%
sample, to see what a sample costs in accuracy. ``--reference DIR`` also runs the same
commands with the churnpredict found in ``DIR`` (another checkout, with its own defaults), in
turn with this one, and prints the ratios this / reference: on a shared machine only ratios
taken in the same run mean much.

Run from the repository root::

    python benchmarks/end_to_end.py --customers 50000              # a few minutes
    python benchmarks/end_to_end.py --customers 200000 1000000     # the README's table
    python benchmarks/end_to_end.py --customers 200000 --train-sample auto 1
    python benchmarks/end_to_end.py --customers 50000 --reference ../old-checkout

The data are kept in ``--workdir`` (default: a folder in the temporary directory) and reused
when they are there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from churnpredict.datasets import make_subscription_data  # noqa: E402

HORIZON = pd.Timedelta("28D")
PART = 250_000  # customers generated at a time
TABLES = ("customers", "activity", "payments", "tickets")


# --------------------------------------------------------------------------- data
def generate(n_customers: int, folder: Path, seed: int = 0) -> dict[str, Any]:
    """Write ``n_customers`` generated customers as Parquet; return sizes (cached in folder)."""
    info_file = folder / "info.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    writers: dict[str, pq.ParquetWriter] = {}
    rows = dict.fromkeys(TABLES, 0)
    memory = 0
    end = None
    start = time.perf_counter()
    for part, first in enumerate(range(0, n_customers, PART)):
        n = min(PART, n_customers - first)
        data = make_subscription_data(n_customers=n, random_state=seed + part)
        end = data.time_range[1] if end is None else max(end, data.time_range[1])
        for name in TABLES:
            frame = getattr(data, name)
            frame = frame.assign(customer_id=frame["customer_id"] + first)
            memory += int(frame.memory_usage(deep=True).sum())
            rows[name] += len(frame)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
            writers[name].write_table(table)
        del data
    for writer in writers.values():
        writer.close()
    info = {
        "customers": n_customers,
        "rows": rows,
        "events": sum(v for k, v in rows.items() if k != "customers"),
        "input_bytes": memory,
        "end": pd.Timestamp(end).isoformat(),
        "generate_seconds": round(time.perf_counter() - start, 1),
    }
    info_file.write_text(json.dumps(info, indent=1))
    return info


# --------------------------------------------------------------------------- processes
def run(args: list[str], reference: Path | None = None) -> dict[str, float]:
    """Run ``python -m churnpredict ARGS`` in its own process: wall, CPU and peak memory.

    CPU (user + system) and peak (maximum resident set) are the operating system's accounting
    of that process, read when it is reaped (``os.wait4``).
    """
    env = dict(os.environ)
    code = ROOT if reference is None else reference
    env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryFile("w+") as log:  # the code under test is the one imported
        start = time.perf_counter()
        proc = subprocess.Popen(  # not run from the repository: "-m" would import it first
            [sys.executable, "-m", "churnpredict", *map(str, args)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tempfile.gettempdir(),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            raise SystemExit(
                f"{' '.join(map(str, args))} failed (exit {proc.returncode}):\n{log.read()}"
            )
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak": usage.ru_maxrss * 1024,  # KiB on Linux
    }


def accuracy(data: Path, model: Path, reference: Path | None = None) -> dict[str, float]:
    """ROC AUC and average precision at the model's as-of, over the next horizon."""
    script = (
        "import json, sys, warnings; warnings.simplefilter('ignore');"
        "from churnpredict import ChurnPipeline, EventData;"
        "p = ChurnPipeline.load(sys.argv[2]); d = EventData.from_directory(sys.argv[1]);"
        "m = p.evaluate(d, p.as_of_, progress=False).metrics;"
        "print(json.dumps({k: float(m[k]) for k in ('auc', 'average_precision', 'brier')}))"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT if reference is None else reference)
    out = subprocess.run(
        [sys.executable, "-c", script, str(data), str(model)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _imported(reference: Path | None) -> str:
    """Where the churnpredict a run uses comes from (and its version)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT if reference is None else reference)
    script = "import churnpredict as c; print(c.__file__, c.__version__)"
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    ).stdout.strip()


# --------------------------------------------------------------------------- one size
def bench_size(n: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    folder = args.workdir / f"customers_{n}"
    info = generate(n, folder / "data")
    data = folder / "data"
    last = pd.Timestamp(info["end"])  # the latest time in the data
    end, as_of = last.ceil("D"), (last - HORIZON).floor("D")  # the next horizon is all known
    inp = info["input_bytes"]
    print(
        f"\n{n:,} customers: {info['events']:,} events, input {inp / 2**20:,.0f} MiB in memory "
        f"(generated in {info['generate_seconds']} s); train --as-of {as_of.date()}, "
        f"score --as-of {end.date()}",
        flush=True,
    )
    rows = []
    codes = [("this", None)] + ([("reference", args.reference)] if args.reference else [])
    for label, code in codes:
        print(f"  {label}: {_imported(code)}", flush=True)
    for share in args.train_sample:
        # the reference runs once, with its own defaults
        for label, code in codes if share == args.train_sample[0] else codes[:1]:
            model = folder / f"model_{label}_{share}"
            train_args = ["train", data, "--model", model, "--as-of", as_of.date(), "-q"]
            if share != "auto" and label == "this":
                train_args += ["--train-sample", share]
            name = "train" if share == "auto" or label != "this" else f"train (sample {share})"
            steps = [(name, train_args)]
            if share == args.train_sample[0]:
                out = folder / f"list_{label}.csv"
                steps.append(
                    (
                        "score + reasons + list",
                        [
                            "score",
                            data,
                            "--model",
                            model,
                            "--as-of",
                            end.date(),
                            "--out",
                            out,
                            "-q",
                        ],
                    )
                )
            for step, cmd in steps:
                figures = run(cmd, code)
                row = {"customers": n, "code": label, "step": step, **figures}
                row["peak_x_input"] = figures["peak"] / inp
                if step.startswith("train"):
                    row.update(accuracy(data, model, code))
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    text = (
        f"  {row['code']:9s} {row['step']:24s} wall {row['wall']:7.1f} s  CPU {row['cpu']:7.1f} s "
        f"({row['cpu'] / row['wall']:.2f}/s)  peak {row['peak'] / 2**20:8,.0f} MiB = "
        f"{row['peak_x_input']:.2f}x input"
    )
    if "auc" in row:
        text += f"  AUC {row['auc']:.4f}  AP {row['average_precision']:.4f}"
    return text


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[200_000])
    parser.add_argument(
        "--train-sample",
        nargs="+",
        default=["auto"],
        help="training samples to run: auto (the default), or a share (1 = every row); "
        "the first is scored and compared with the reference",
    )
    parser.add_argument("--reference", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "cp_e2e")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as CSV")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} processors, Python {sys.version.split()[0]}, numpy {np.__version__}")
    rows = [row for n in args.customers for row in bench_size(n, args)]
    table = pd.DataFrame(rows)
    if args.reference is not None:
        pairs = table.pivot_table(
            index=["customers", "step"], columns="code", values=["wall", "cpu", "peak"]
        ).dropna()
        print("\nthis / reference")
        for (n, step), values in pairs.iterrows():
            ratios = {
                k: values[(k, "this")] / values[(k, "reference")] for k in ("wall", "cpu", "peak")
            }
            print(f"  {n:>9,} {step:24s} " + "  ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    if args.out is not None:
        table.to_csv(args.out, index=False)
    return table


if __name__ == "__main__":
    main()
