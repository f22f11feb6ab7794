"""``churnpredict inspect``: which exported file is which table, and the config that says so."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .root import DebugOpt, QuietOpt, open_session
from .session import BadInput, Session, cell, guard, markup

__all__ = ["inspect"]

INSPECT_EPILOG = """\
[bold]Example[/bold]

  churnpredict inspect exports/ --write-config churn.toml
  churnpredict train exports/ --model models/churn --config churn.toml

Reads every CSV, TSV, Parquet and JSON Lines file in the folder
(gzipped too), says which table each file is and which canonical
column each of its columns is, how sure and why, and what it could
not place. The config it writes maps the files and columns; open
choices are comments marked TO DO. Nothing is guessed silently.
"""


def inspect(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(help="Folder of exported files (any names).", show_default=False),
    ],
    write_config: Annotated[
        Path | None,
        typer.Option("--write-config", "-w", help="Write the inferred TOML config here."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --write-config file.")
    ] = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Infer which file is which table and which column is which; write the config."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        if write_config is not None:
            if write_config.exists() and not force:
                raise BadInput(
                    f"--write-config {str(write_config)!r} exists (it may hold your edits); "
                    f"choose another file or add --force to replace it"
                )
            if write_config.suffix.lower() != ".toml":
                raise BadInput(f"--write-config {str(write_config)!r}: give a .toml file name")
            from .._outputs import check_writable

            check_writable(write_config, "--write-config")
        if not data.is_dir():
            raise BadInput(f"DATA {str(data)!r}: no such directory")
        from .._inspection import inspect as inspect_folder

        with session.step(f"Inspecting {data}"):
            found = inspect_folder(data)
        if write_config is not None:
            found.write_config(write_config, overwrite=True)
        with session.shown():
            _say(session, found, data, write_config)


def _say(session: Session, found: Any, data: Path, config: Path | None) -> None:
    """What the inspection found: each file and its columns, the settings, notes and gaps."""
    for file, row in found.summary.iterrows():
        _say_file(session, file, row, found.mappings)
    _say_findings(session, found)
    _say_next(session, found, data, config)


def _say_file(session: Session, file: str, row: Any, mappings: Any) -> None:
    """One file: the table it was placed as and why, then how its columns map."""
    from rich.table import Table

    where = (
        f"[bold]{row['table']}[/bold] ({row['how_sure'] or 'open'})"
        if isinstance(row["table"], str)
        else "[bold]not placed[/bold]"
    )
    session.say(f"\n[bold]{markup(file)}[/bold] -> {where}: {markup(row['why'])}")
    columns = mappings[mappings["file"] == file]
    if len(columns) == 0:
        return
    table = Table(show_edge=False, pad_edge=False, box=None)
    for header in ("column", "maps to", "how sure", "why"):
        table.add_column(header, overflow="fold")
    for c in columns.itertuples(index=False):
        target = f"{c.table}.{c.maps_to}" if isinstance(c.maps_to, str) else c.status
        sure = c.how_sure if isinstance(c.how_sure, str) else ""
        table.add_row(cell(c.column), cell(target), cell(sure), cell(c.why))
    session.say(table)


def _say_findings(session: Session, found: Any) -> None:
    """The settings chosen, the notes, and the gaps to fill (to do) or check."""
    if found.settings:
        session.say("\n[bold]settings[/bold]")
        for s in found.settings:
            line = f"{s.key} = {s.value!r}" + ("" if s.written else " (written as a comment)")
            session.say(f"  {markup(line)}: {markup(s.why)}")
    for note in found.notes:
        session.say(f"[yellow]note:[/yellow] {markup(note)}")
    for gap in found.gaps:
        flag = "[red]to do[/red]" if gap.blocking else "[yellow]to check[/yellow]"
        choices = f" (config: {' | '.join(gap.lines)})" if gap.lines else ""
        session.say(f"{flag}: {markup(gap.text + choices)}")


def _say_next(session: Session, found: Any, data: Path, config: Path | None) -> None:
    if config is None:
        session.say("\nAdd --write-config churn.toml to write this as a config file.")
        return
    session.say(f"\nConfig written to [bold]{markup(config)}[/bold]")
    if not found.ready:
        session.say("Not ready to train: settle the lines marked TO DO in it first.")
        return
    as_of = (
        f"{found.as_of:%Y-%m-%d}"
        if found.as_of is not None
        else "YYYY-MM-DD  # a snapshot has one cutoff: any date"
    )
    session.say("Next:")
    for line in (  # whole lines, never wrapped: they are copied into a terminal
        f"  churnpredict train {markup(data)} --model model --config {markup(config)}",
        f"  churnpredict score {markup(data)} --model model --config {markup(config)} "
        f"--as-of {markup(as_of)} --out at_risk.csv",
    ):
        session.out.print(line, soft_wrap=True)
