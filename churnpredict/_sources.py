"""Which file of a data folder holds each table: named after its table, or as ``[tables]`` says."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ._exceptions import ChurnDataError
from ._reading import find_table, ids_as_text, read_table
from ._tables import TABLES, id_kind, mapping_error

__all__ = ["RAW_EXPORT_KEYS", "read_tables", "table_files"]

#: Config keys for exports read as they are (``churnpredict inspect`` writes them,
#: :meth:`churnpredict.EventData.from_directory` reads them): file names, derived customers,
#: epoch times, cancellations, outcome columns and ``[payments] default_status``.
RAW_EXPORT_KEYS = (
    "tables",
    "derive_customers",
    "time_unit",
    "cancel_event",
    "outcome_columns",
    "payments",
)


def table_files(path: Path, tables: Any = None, *, derive: bool = False) -> dict[str, Path]:
    """The file of each table in a data folder: as ``tables`` names them, else by table name.

    Parameters
    ----------
    path : pathlib.Path
        The data folder.
    tables : mapping of str -> str, optional
        Table name -> file name relative to ``path`` (the config's ``[tables]``); then only
        these files are used. Default: ``customers.*``, ``activity.*``... found by
        :func:`churnpredict._reading.find_table`.
    derive : bool, default False
        The customers are derived from the events: no customers file is needed (and one
        found is an error: use it or derive, not both).

    Returns
    -------
    dict of str -> pathlib.Path
        The tables found.

    Raises
    ------
    ChurnDataError
        An unknown table, a file that does not exist, no customers table (unless derived);
        each with the fix as Python arguments and as config lines.
    """
    if tables is not None:
        files = _named_files(path, tables)
    else:
        files = {name: f for name in TABLES if (f := find_table(path, name)) is not None}
    if derive and "customers" in files:
        raise ChurnDataError(
            f"derive_customers is set but {path} has a customers table "
            f"({files['customers'].name}); use the file or derive it, not both"
        )
    if not derive and "customers" not in files:
        raise mapping_error(
            f"customers table not found in {path}",
            "add customers.csv or customers.parquet (one row per customer_id with signup_at), "
            "or derive it from the events with derive_customers=True",
            "add customers.csv or customers.parquet (one row per customer_id with signup_at), "
            'name its file in the config ([tables] customers = "your_file.csv"), or derive it '
            "from the events: derive_customers = true",
        )
    return files


def _named_files(path: Path, tables: Any) -> dict[str, Path]:
    """The files the config's ``[tables]`` names, each checked to exist in ``path``."""
    if not isinstance(tables, Mapping) or any(
        not isinstance(v, str) or not v.strip() for v in tables.values()
    ):
        raise ChurnDataError(
            f"tables={tables!r}; give a mapping of table name to file name",
            config_message=f"[tables] in the config: {tables!r}; give lines such as "
            f'activity = "events.csv"',
        )
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ChurnDataError(
            f"tables= names unknown tables {unknown}; expected among {list(TABLES)}",
            config_message=f"[tables] in the config names unknown tables {unknown}; "
            f"expected among {list(TABLES)}",
        )
    files = {name: path / file for name, file in tables.items()}
    for name, file in files.items():
        if not file.is_file():
            raise ChurnDataError(
                f"{name}: file {file.name!r} (tables=) not found in {path}; check the name",
                config_message=f"{name}: file {file.name!r} ([tables] {name} in the "
                f"config) not found in {path}; check the name",
            )
    return files


def read_tables(
    files: Mapping[str, Path], columns: Mapping[str, Mapping[str, str]]
) -> dict[str, pd.DataFrame | None]:
    """Read each table's file, customer ids as text where files disagree.

    Parameters
    ----------
    files : mapping of str -> pathlib.Path
        Table name -> file (as :func:`table_files` finds them).
    columns : mapping of str -> mapping of str -> str
        The renames per table (``[columns.<table>]``): a column renamed to ``customer_id``
        is read as an id.

    Returns
    -------
    dict of str -> DataFrame or None
        Every table of :data:`churnpredict._tables.TABLES`, ``None`` where no file holds it.
        Ids are text in CSV and JSON files ("007" keeps its zeros and is not "7"); a Parquet
        file keeps numeric ids, which are given as text next to text ids read from CSV/JSON
        (float ids are refused later, naming the tables).
    """

    def id_source(name: str) -> str:
        renames = columns.get(name) or {}
        return next((src for src, dst in renames.items() if dst == "customer_id"), "customer_id")

    tables = {
        name: read_table(file, id_columns=[id_source(name)]) if (file := files.get(name)) else None
        for name in TABLES
    }
    kinds = {
        name: id_kind(frame[id_source(name)])
        for name, frame in tables.items()
        if frame is not None and id_source(name) in frame.columns
    }
    if "text" in kinds.values() and "integer" in kinds.values():
        for name, kind in kinds.items():
            if kind == "integer":
                frame = tables[name].copy(deep=False)
                frame[id_source(name)] = ids_as_text(frame[id_source(name)])
                tables[name] = frame
    return tables
