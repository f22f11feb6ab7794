"""The typer application, its global options and the options commands share.

Command modules register themselves on :data:`app`; ``churnpredict.cli`` imports them in
the order ``--help`` lists them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from .session import EXIT_OK, Session

__all__ = [
    "app",
    "open_session",
    "quiet_dask_logs",
    "QuietOpt",
    "DebugOpt",
    "ConfigOpt",
    "ModelOpt",
    "BusinessOpt",
    "DateFormatOpt",
    "DayfirstOpt",
    "ValueKindOpt",
    "DataArg",
    "SchedulerOpt",
    "PartitionsOpt",
]

app = typer.Typer(
    name="churnpredict",
    help="Predict which customers are about to churn, explain why, and rank who to call.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

QuietOpt = Annotated[
    int,
    typer.Option(
        "--quiet",
        "-q",
        count=True,
        help="-q: on success print only warnings (drift, base rate, data notes) on stderr, "
        "for cron; -qq: print nothing on success. Errors are always printed.",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks and step timings.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML file: column mappings, horizon, windows, "
        "\\[model], \\[actions], \\[score], \\[report], \\[drift]. Flags "
        "override it.",
    ),
]
ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Model directory (bundle).")]
BusinessOpt = Annotated[
    str | None,
    typer.Option(
        "--business",
        help="subscription (MRR, cancellations), purchases (shops: orders, no MRR), "
        "usage (an app's event log: sessions, active days, no money) or auto (detected "
        "from the data and printed). Default: auto (or the config).",
    ),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of non-ISO dates in DATA, e.g. '%d/%m/%Y %H:%M'. "
        "ISO 8601 is always understood.",
    ),
]
ValueKindOpt = Annotated[
    str | None,
    typer.Option(
        "--value-kind",
        help="What activity.value holds: amount (money), duration (seconds) or count. "
        "Undeclared, it is money only in a shop. Default: the config's value_kind.",
        show_default=False,
    ),
]
DayfirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--dayfirst/--monthfirst",
        help="Read dates such as 09/10/2011 day-first or month-first. "
        "Default: settled from the data; refused when it cannot be.",
        show_default=False,
    ),
]
DataArg = Annotated[
    Path,
    typer.Argument(
        help="Folder with customers.csv|parquet and activity / payments / tickets tables "
        "(or files named in the config's \\[tables]; see churnpredict inspect).",
        show_default=False,
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' for a "
        "LocalCluster on this machine. Needs pip install 'churnpredict[dask]'.",
    ),
]
PartitionsOpt = Annotated[
    int | None,
    typer.Option(
        "--npartitions", help="With --scheduler: customer partitions (default: from data size)."
    ),
]


def open_session(ctx: typer.Context, quiet: int, debug: bool) -> Session:
    """The command's session: its own -q / --debug or the ones given before it (counted)."""
    root = ctx.find_root().obj or {}
    return Session(
        quiet=int(quiet) + int(root.get("quiet", 0)), debug=debug or root.get("debug", False)
    )


def quiet_dask_logs(debug: bool) -> None:
    """Keep Dask's shuffle chatter out of the output unless --debug."""
    if not debug:
        logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)


def _show_version(value: bool) -> None:
    if value:
        import churnpredict

        typer.echo(f"churnpredict {churnpredict.__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    """Predict which customers are about to churn, explain why, and rank who to call."""
    ctx.obj = {"quiet": quiet, "debug": debug}
