"""The retention loop after a list: ``campaign`` (holdout readout) and ``recalibrate``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from .inputs import (
    check_bundle_destination,
    check_model_dir,
    check_output_dir,
    load_pipeline,
    parse_date,
    parse_duration,
)
from .root import (
    ConfigOpt,
    DataArg,
    DateFormatOpt,
    DayfirstOpt,
    DebugOpt,
    ModelOpt,
    QuietOpt,
    open_session,
)
from .session import BadInput, Session, cell, guard, markup
from .settings import load_data, load_settings
from .tables import fmt_money

__all__ = ["campaign", "recalibrate"]

CAMPAIGN_EPILOG = """\
[bold]Example[/bold] (four weeks after a list scored with a holdout)

  churnpredict score data/ --model models/churn --as-of 2024-11-30 \\
      --out lists/2024-11-30.csv --holdout 0.2 --seed 11
  churnpredict campaign lists/2024-11-30.csv data/ --as-of 2024-12-31 \\
      --out readouts/2024-11-30

Compares churn of the treated and control customers within the
list's horizon: writes campaign.json and campaign.html (plots next
to it). An --as-of before the horizon has ended is exit 2.
"""


def campaign(
    ctx: typer.Context,
    list_path: Annotated[
        Path,
        typer.Argument(
            metavar="LIST",
            help="An at-risk list scored with --holdout (.csv with its "
            ".manifest.json, .parquet or .xlsx).",
            show_default=False,
        ),
    ],
    data: DataArg,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Date of the readout (YYYY-MM-DD), on or after the end of the list's horizon.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder for campaign.json, campaign.html and its plots.",
            show_default=False,
        ),
    ],
    horizon: Annotated[
        str | None,
        typer.Option(help="The list's horizon, for a list that does not record it, e.g. 28D."),
    ] = None,
    list_as_of: Annotated[
        str | None,
        typer.Option(
            "--list-as-of", help="The list's as-of date, for a list that does not record it."
        ),
    ] = None,
    override_list_dates: Annotated[
        bool,
        typer.Option(
            "--override-list-dates",
            help="Read out with --list-as-of / --horizon in place of what the list records "
            "(the readout says so).",
        ),
    ] = False,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Read out a campaign: churn of treated vs control customers of a past list."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        check_output_dir(out, "--out", "campaign")
        as_of_ts = parse_date(as_of)
        start = parse_date(list_as_of, "--list-as-of")
        if horizon is not None:
            parse_duration(horizon, "--horizon")
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        if override_list_dates and horizon is None and start is None:
            raise BadInput("--override-list-dates needs --list-as-of and/or --horizon")
        from .._campaign import campaign_readout, read_list, write_campaign

        frame = read_list(list_path)
        dataset = load_data(session, data, settings)
        with session.step("Reading out the campaign"):
            readout = campaign_readout(
                frame,
                dataset,
                as_of_ts,
                horizon=horizon,
                list_as_of=start,
                override=override_list_dates,
            )
            page = write_campaign(readout, out)
        with session.shown():
            _say_campaign(session, readout, page)


def _say_campaign(session: Session, readout: Mapping[str, Any], page: Path) -> None:
    from rich.table import Table

    from .._campaign import MIN_GROUP, TOO_FEW, saved_text

    def pct(value: Any, signed: bool = False) -> str:
        return "n/a" if value is None else (f"{value:+.1%}" if signed else f"{value:.1%}")

    def interval(r: Mapping[str, Any]) -> str:
        if r.get("too_few"):
            return TOO_FEW
        return f"{pct(r['ci_low'], True)} to {pct(r['ci_high'], True)}"

    claim = (
        f"{TOO_FEW} (fewer than {MIN_GROUP} customers in a group)"
        if readout.get("too_few")
        else f"{readout['level']:.0%} interval {interval(readout)}"
    )
    session.say(
        f"Campaign on the list of {markup(readout['list_as_of'])}, churn within "
        f"{markup(readout['horizon'])}, read out on {markup(readout['as_of'])}: retention lift "
        f"[bold]{pct(readout['retention_lift'], True)}[/bold] ({claim}); "
        f"{markup(saved_text(readout))}; revenue saved {fmt_money(readout['revenue_saved'])}"
    )
    table = Table()
    for name in (
        "segment",
        "treated",
        "control",
        "churn treated",
        "churn control",
        "lift",
        "interval",
        "customers saved",
    ):
        table.add_column(name, justify="left" if name == "segment" else "right")
    rows = [("all", readout)] + list(readout.get("tiers", {}).items())
    for name, r in rows:
        saved = r["customers_saved"]
        table.add_row(
            cell(name),
            f"{r['n_treatment']:,}",
            f"{r['n_control']:,}",
            pct(r["churn_rate_treatment"]),
            pct(r["churn_rate_control"]),
            pct(r["retention_lift"], True),
            interval(r),
            "n/a" if saved is None else f"{saved:+,.1f}",
        )
    session.say(table)
    if readout.get("dates", "list") != "list":
        session.notes.append(f"the list's as-of and horizon: {readout['dates']}")
    if readout.get("n_unmatched"):
        session.notes.append(
            f"{readout['n_unmatched']:,} listed customers are not in the "
            f"data's population at the list's as-of; left out"
        )
    session.say(
        f"Readout: [bold]{markup(page)}[/bold] and "
        f"[bold]{markup(page.with_name('campaign.json'))}[/bold]"
    )


RECALIBRATE_EPILOG = """\
[bold]Example[/bold] (churn ran lower this season than the model expects)

  churnpredict recalibrate data/ --model models/churn --as-of 2024-12-31

Refits only the map from the model's score to a probability on the
latest cutoffs whose horizon has ended by --as-of; the trees, hence
the ranking, are unchanged. Saved as a new version of the bundle
with a new model id.
"""


def recalibrate(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="What is known (YYYY-MM-DD); the latest complete cutoff is one horizon before.",
            show_default=False,
        ),
    ],
    cutoffs: Annotated[
        int, typer.Option("--cutoffs", help="How many of the latest complete cutoffs to fit on.")
    ] = 3,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Refit the calibration map of a saved model on recent outcomes (trees unchanged)."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        as_of_ts = parse_date(as_of)
        if cutoffs < 1:
            raise BadInput(f"--cutoffs {cutoffs!r}; must be a whole number of at least 1")
        check_model_dir(model)
        check_bundle_destination(model)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        pipeline = load_pipeline(session, model)
        dataset = load_data(session, data, settings)
        old_id = pipeline.model_id_
        with session.step(f"Recalibrating on cutoffs up to {as_of_ts:%Y-%m-%d}"):
            pipeline.recalibrate(dataset, as_of_ts, n_cutoffs=cutoffs)
        with session.step(f"Saving to {model}"):
            pipeline.save(model)
        info = pipeline.recalibration_
        with session.shown():
            session.say(
                f"Recalibrated on {info['n_rows']:,} rows at {len(info['cutoffs'])} "
                f"cutoff(s) up to {info['cutoffs'][-1][:10]}: observed churn "
                f"{info['observed_rate']:.1%}; mean probability "
                f"{info['mean_probability_before']:.1%} before, "
                f"{info['mean_probability_after']:.1%} after"
            )
            session.say(
                f"Model {markup(old_id)} -> {markup(pipeline.model_id_)} saved to "
                f"[bold]{markup(model)}[/bold] (ranking unchanged)"
            )
