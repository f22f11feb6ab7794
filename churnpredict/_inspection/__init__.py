"""From a folder of exported files to a config: which file is which table, which column is
which canonical column, and what settings the data calls for.

:func:`inspect` reads every CSV, TSV, Parquet and JSON Lines file of a folder (gzipped too)
with the library's own readers and returns an :class:`Inspection`: each choice with how sure
it is and why, what could not be placed, and :meth:`Inspection.write_config`, the TOML file
``churnpredict train`` and ``score`` take unchanged. ``churnpredict inspect DATA
--write-config FILE`` prints the same.

Choices come from names (the usual spellings in several languages: ``user_id``,
``CustomerID``, ``client``, ``Kundennummer``, ``ts``, ``event_time``, ``InvoiceDate``...),
types, how many distinct values and their range (a column unique per row is an invoice or
row number, not a customer), never from a file's name alone. A choice two columns could
fill, or that only the values suggest, is left for the user with the alternatives.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._exceptions import ChurnDataError
from .._reading import TABLE_SUFFIXES, read_table
from .._tables import blank_to_missing
from ._assemble import Setting, assemble
from ._files import Gap, place_file
from ._result import Inspection

__all__ = ["Gap", "Inspection", "Setting", "inspect"]


def inspect(path: str | os.PathLike) -> Inspection:
    """Infer which file is which table and which column is which, for a folder of exports.

    Parameters
    ----------
    path : path-like
        A folder of exported files (CSV, TSV, Parquet, JSON Lines; gzipped too). Other files
        (a README, a spreadsheet) are listed as not read.

    Returns
    -------
    Inspection
        The choices with how sure and why, the gaps, and the config
        (:meth:`Inspection.write_config`, :attr:`Inspection.config`,
        :meth:`Inspection.load`).

    Raises
    ------
    ChurnDataError
        When ``path`` is not a folder or holds no file that can be read as a table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"InvoiceNo": [1, 2, 3], "CustomerID": [7, 7, 8],
    ...               "InvoiceDate": ["2024-01-02", "2024-02-03", "2024-01-05"],
    ...               "TotalPrice": [9.5, 12.0, 30.0]}).to_csv(folder / "sales.csv", index=False)
    >>> found = inspect(folder)
    >>> found.tables, found.config["columns"]["activity"]["TotalPrice"]
    ({'activity': 'sales.csv'}, 'value')
    """
    path = Path(path)
    if not path.is_dir():
        raise ChurnDataError(f"{path}: not a directory; give the folder holding the exported files")
    files, skipped = [], {}
    for file in sorted(p for p in path.iterdir() if not p.name.startswith(".")):
        if file.is_dir():
            skipped[file.name] = "a folder (give its files in a folder of their own)"
            continue
        if not file.name.lower().endswith(TABLE_SUFFIXES):
            skipped[file.name] = (
                "not a table file (CSV, TSV, Parquet or JSON Lines, gzipped too)"
                + (
                    "; save a spreadsheet as CSV"
                    if file.suffix.lower() in (".xlsx", ".xls")
                    else ""
                )
            )
            continue
        try:
            frame = blank_to_missing(read_table(file, id_columns=()))
        except ChurnDataError as exc:
            skipped[file.name] = str(exc)
            continue
        files.append(place_file(file.name, frame))
    if not files:
        raise ChurnDataError(
            f"{path} holds no file that reads as a table"
            + (f" ({', '.join(f'{k}: {v}' for k, v in skipped.items())})" if skipped else "")
            + "; export CSV, TSV, Parquet or JSON Lines files"
        )
    return Inspection(path, files, assemble(files), skipped)
