"""Reading a data directory for Dask: customers in pandas, event tables lazily."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._data import EVENT_TABLES
from .._exceptions import ChurnDataError
from .._reading import find_table, read_json_lines, read_table
from ._frames import numeric_ids, require_dask

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd


def read_lazy(path: str | os.PathLike, id_column: str = "customer_id") -> dd.DataFrame:
    """Open an event table lazily: Parquet file or dataset directory, CSV, TSV or JSON Lines.

    The id column of a CSV/TSV file is read as text, as
    :func:`churnpredict._reading.read_table` does.
    """
    import dask.dataframe as dd

    path = Path(path)
    name = path.name.lower()
    if not path.exists():
        raise ChurnDataError(f"{path}: no such file or directory; check the path")
    if path.is_dir() or name.endswith((".parquet", ".pq")):
        return dd.read_parquet(str(path))
    ids = {id_column: str}
    if name.endswith(".csv.gz"):
        return dd.read_csv(str(path), blocksize=None, compression="gzip", dtype=ids)
    if name.endswith(".csv"):
        return dd.read_csv(str(path), dtype=ids)
    if name.endswith(".tsv"):
        return dd.read_csv(str(path), sep="\t", dtype=ids)
    if name.endswith((".jsonl", ".jsonl.gz")):
        # ids exactly as written, as text (read_json_lines), in every block
        engine = functools.partial(_json_block, id_column=id_column, where=str(path))
        return dd.read_json(
            str(path),
            lines=True,
            blocksize=None if name.endswith(".gz") else 2**26,
            engine=engine,
        )
    raise ChurnDataError(f"{path}: unsupported file type; use Parquet, CSV or JSON Lines")


def _json_block(source: Any, *, id_column: str, where: str, **_: Any) -> pd.DataFrame:
    """One block of a JSON Lines file, ids exact (Dask's ``read_json`` engine)."""
    return read_json_lines(source, id_columns=(id_column,), where=where)


def read_customers(path: str | os.PathLike, id_column: str = "customer_id") -> pd.DataFrame:
    """The customers table in one piece (a Parquet directory, or any table file)."""
    path = Path(path)
    if path.is_dir():
        return pd.read_parquet(path)
    return read_table(path, id_columns=[id_column])


def read_tables(
    path: str | os.PathLike, *, columns: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """Open a data directory: customers in pandas, event tables lazily with Dask.

    The directory holds ``customers.csv`` (or ``.parquet``, or a Parquet directory
    ``customers/``) and any of ``activity``, ``payments``, ``tickets`` as a CSV / Parquet /
    JSON Lines file or a directory of Parquet files (``activity.parquet/`` or ``activity/``),
    found by :func:`churnpredict._reading.find_table`.

    Parameters
    ----------
    path : path-like
    columns : mapping, optional
        Column renames per table (``{table: {your_name: canonical}}``): the id column of
        each table is read under your name.

    Returns
    -------
    dict
        ``customers`` (pandas.DataFrame) and one ``dask.dataframe.DataFrame`` (or None) per
        event table, ready for :func:`~churnpredict.dask.partition_by_customer`.
    """
    require_dask()
    path = Path(path)
    if not path.is_dir():
        raise ChurnDataError(
            f"{path}: not a directory; DATA must be a folder holding customers.csv (or "
            f".parquet) and at least one of activity/payments/tickets"
        )
    source = find_table(path, "customers", datasets=True)
    if source is None:
        raise ChurnDataError(
            f"customers table not found in {path}; add customers.csv or customers.parquet "
            f"(one row per customer_id with signup_at)"
        )
    columns = columns or {}
    id_of = {
        name: customer_source(columns.get(name) or {}) for name in ("customers",) + EVENT_TABLES
    }
    out: dict[str, Any] = {"customers": read_customers(source, id_of["customers"])}
    for name in EVENT_TABLES:
        found = find_table(path, name, datasets=True)
        out[name] = None if found is None else read_lazy(found, id_of[name])
    # numeric Parquet ids next to text ids read from CSV: use their exact text
    if not numeric_ids(out["customers"][id_of["customers"]].dtype):
        for name in EVENT_TABLES:
            frame = out[name]
            if (
                frame is not None
                and id_of[name] in frame.columns
                and pd.api.types.is_integer_dtype(frame[id_of[name]].dtype)
            ):
                out[name] = frame.assign(**{id_of[name]: frame[id_of[name]].astype(str)})
    return out


def customer_source(mapping: Mapping[str, str]) -> str:
    """Your name of the customer id column, given a ``{your_name: canonical}`` mapping."""
    for src, canonical in mapping.items():
        if canonical == "customer_id":
            return src
    return "customer_id"
