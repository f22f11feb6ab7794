"""Regenerate ``data/sample/``, the sample data shipped with churnpredict.

Run from the repository root::

    python benchmarks/make_sample.py           # rewrite data/sample/ (Parquet + README.md)
    python benchmarks/make_sample.py --check   # exit 1 if data/sample/ differs from a fresh run

The tables are ``make_subscription_data(**SAMPLE_PARAMS)`` written with fixed Parquet
options (zstd, no pandas metadata, text stored as ``string``), so the same numpy and
pyarrow versions reproduce the files byte for byte, whatever the pandas version. The
README is generated from the data it describes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from churnpredict._atomic import atomic_write  # noqa: E402
from churnpredict.datasets import SAMPLE_AS_OF, SAMPLE_PARAMS, make_subscription_data  # noqa: E402

TABLES = ("customers", "activity", "payments", "tickets")
COLUMN_NOTES = {
    "customers": {
        "customer_id": "integer id, in signup order",
        "signup_at": "signup time (UTC)",
        "churned_at": "cancellation time; empty while active",
        "churn_type": "`voluntary` or `involuntary` (card failed, dunning gave up); "
        "empty while active",
        "plan": "`basic`, `pro` or `business` (29.00, 79.00 and 249.00 a month; `pro` 15% "
        "more from 2024-07-01)",
        "channel": "acquisition channel: `organic`, `paid_ads`, `referral`, `sales`",
        "mrr": "plan price at export time (a snapshot: not point-in-time, do not use as a feature)",
    },
    "activity": {
        "customer_id": "customer",
        "timestamp": "event time (UTC)",
        "event": "`login`, `feature_use`, `report_created`, `export`, `invite_sent`",
        "value": "minutes spent",
    },
    "payments": {
        "customer_id": "customer",
        "timestamp": "charge attempt time (UTC); monthly on the signup day, retries after "
        "3, 7 and 14 days",
        "amount": "amount charged",
        "status": "`succeeded`, `failed` or `refunded`",
    },
    "tickets": {
        "customer_id": "customer",
        "created_at": "ticket opened (UTC)",
        "resolved_at": "ticket closed; empty = still open at export (or never closed before churn)",
        "priority": "`low`, `normal`, `high`, `urgent`",
        "csat": "satisfaction 1 (worst) .. 5 (best); empty when not rated",
    },
}


def plain_strings(field: pa.Field) -> pa.Field:
    """Store text as ``string`` whatever pandas used (``large_string`` in pandas 3)."""
    kind = field.type
    if pa.types.is_dictionary(kind) and pa.types.is_large_string(kind.value_type):
        return field.with_type(pa.dictionary(kind.index_type, pa.string()))
    return field.with_type(pa.string()) if pa.types.is_large_string(kind) else field


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` with fixed options so reruns give identical bytes."""
    frame = frame.copy()
    for column in ("event", "status", "priority", "plan", "channel"):  # labels as dictionaries
        if column in frame:
            frame[column] = frame[column].astype("category")
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    table = table.cast(pa.schema([plain_strings(f) for f in table.schema]))
    times = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    with atomic_write(path) as tmp:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=9,
            coerce_timestamps="ms",
            use_dictionary=[c for c in table.column_names if c not in times],
            column_encoding={c: "DELTA_BINARY_PACKED" for c in times},
        )


def readme(data, sizes: dict[str, int]) -> str:
    """The README text, with every figure computed from ``data``."""
    c = data.customers
    lines = [
        "# Sample data",
        "",
        "A synthetic subscription business (monthly billing, three plans) whose churn has known",
        "causes, made with `churnpredict.make_subscription_data`. Load it with",
        "`churnpredict.load_sample()` or point the command line at this folder",
        "(`churnpredict train data/sample --model model/`).",
        "",
        "## How it was made",
        "",
        "```bash",
        "python benchmarks/make_sample.py",
        "```",
        "",
        "which writes `make_subscription_data("
        + ", ".join(f"{k}={v!r}" for k, v in SAMPLE_PARAMS.items())
        + ")`",
        f"to Parquet (zstd). Made with numpy {np.__version__} and pyarrow {pa.__version__}, which",
        "fix the bytes; `python benchmarks/make_sample.py --check` verifies the files.",
        "",
        "## What is in it",
        "",
        f"* Period: signups from {c['signup_at'].min():%Y-%m-%d} to "
        f"{c['signup_at'].max():%Y-%m-%d};"
        f" exported at {SAMPLE_AS_OF:%Y-%m-%d} (every event is before it: score with"
        f' `as_of="{SAMPLE_AS_OF:%Y-%m-%d}"`).',
        f"* {len(c):,} customers: {int(c['churned_at'].notna().sum()):,} churned "
        f"({int((c['churn_type'] == 'voluntary').sum()):,} voluntary, "
        f"{int((c['churn_type'] == 'involuntary').sum()):,} involuntary), "
        f"{int(c['churned_at'].isna().sum()):,} active at export.",
        "* Plans: " + ", ".join(f"{k} {v:,}" for k, v in c["plan"].value_counts().items()) + ".",
        "* The `pro` price rises 15% on 2024-07-01; some `pro` customers leave after their first",
        "  invoice at the new price.",
        f"* Total size {sum(sizes.values()) / 1e6:.1f} MB.",
        "",
        "Churn per month (customers lost / customers at the start of the month):",
        "",
        "| month | customers at start | churned | rate |",
        "| --- | ---: | ---: | ---: |",
    ]
    for month in pd.date_range(c["signup_at"].min().normalize(), SAMPLE_AS_OF, freq="MS"):
        until = month + pd.DateOffset(months=1)
        base = (c["signup_at"] < month) & ~(c["churned_at"] < month)
        lost = base & (c["churned_at"] < until)
        if base.sum():
            lines.append(
                f"| {month:%Y-%m} | {int(base.sum()):,} | {int(lost.sum()):,} | "
                f"{lost.sum() / base.sum():.1%} |"
            )
    lines += ["", "## Files and columns", ""]
    for name in TABLES:
        frame = getattr(data, name)
        lines += [
            f"### `{name}.parquet` ({len(frame):,} rows, {sizes[name] / 1e6:.2f} MB)",
            "",
            "| column | meaning |",
            "| --- | --- |",
        ]
        lines += [f"| `{col}` | {COLUMN_NOTES[name][col]} |" for col in frame.columns]
        lines.append("")
    lines += [
        "## The churn stories",
        "",
        "Each churner has one hidden driver that shows in the data weeks before the",
        "cancellation: fading activity (engagement), a burst of slow, badly rated tickets",
        "(support), failed card payments with dunning retries (payments, involuntary), the",
        "price rise (price), a slow start (onboarding), or none (other). The drivers are not",
        "in these files; `make_subscription_data(**SAMPLE_PARAMS, return_truth=True)` returns",
        "them.",
        "",
    ]
    return "\n".join(lines)


def make(folder: Path) -> None:
    """Write the four tables and the README into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = make_subscription_data(**SAMPLE_PARAMS)
    sizes = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        write_parquet(getattr(data, name), path)
        sizes[name] = path.stat().st_size
    with atomic_write(folder / "README.md") as tmp:
        tmp.write_text(readme(data, sizes), encoding="utf-8")
    for path in folder.iterdir():
        path.chmod(0o644)  # temporary files are private; shipped files are not


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh run with --out instead of writing it"
    )
    args = parser.parse_args(argv)
    if not args.check:
        make(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp))
        names = sorted(p.name for p in Path(tmp).iterdir())
        differ = [
            n
            for n in names
            if not (args.out / n).is_file()
            or (args.out / n).read_bytes() != (Path(tmp) / n).read_bytes()
        ]
    for name in differ:
        print(f"{args.out / name} differs from a fresh run", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
