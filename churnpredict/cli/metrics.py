"""``churnpredict metrics``: business churn figures per period, optionally per segment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .inputs import check_cells, check_not_input, check_output, parse_period
from .root import ConfigOpt, DataArg, DateFormatOpt, DayfirstOpt, DebugOpt, QuietOpt, open_session
from .session import BadInput, guard, markup
from .settings import load_data, load_settings
from .tables import metrics_frame_table

__all__ = ["metrics"]

METRICS_EPILOG = """\
[bold]Example[/bold]

  churnpredict metrics data/ --period month --segment plan

Churn rate, retention, MRR churn and net revenue churn per
period, split into voluntary / involuntary churn when known.
"""


def metrics(
    ctx: typer.Context,
    data: DataArg,
    period: Annotated[
        str,
        typer.Option(help="day, week, month, quarter, year, or a pandas frequency (MS, W-MON...)."),
    ] = "month",
    segment: Annotated[
        str | None, typer.Option(help="Split by this customers column, e.g. plan.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the table to .csv, .parquet or .xlsx."),
    ] = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Print business churn metrics per period: churn rate, retention, revenue churn."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        freq = parse_period(period)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        if out is not None:
            check_output(out)
            check_not_input(
                [out], "--out", data=data, inputs=(config,), tables=settings.get("tables")
            )
        dataset = load_data(session, data, settings)
        if segment is not None and segment not in dataset.customers.columns:
            raise BadInput(
                f"--segment {segment!r}: customers has no such column; it has "
                f"{list(dataset.customers.columns)[:20]}"
            )
        if out is not None and segment is not None:
            check_cells(out, dataset.customers[[segment]], "customers")
        from .._metrics import churn_metrics

        with session.step("Computing metrics"):
            table = churn_metrics(dataset, period=freq, segment=segment)
        if out is not None:
            from .._outputs import write_frame

            write_frame(table.reset_index(), out)
        with session.shown():
            session.say(metrics_frame_table(table, f"Churn metrics per {period}"))
            if out is not None:
                session.say(f"Wrote [bold]{markup(out)}[/bold]")
