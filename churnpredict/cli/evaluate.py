"""``churnpredict evaluate``: how well a saved model ranked the churners after --as-of."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .inputs import check_business, check_model_dir, check_output_dir, load_pipeline, parse_date
from .root import (
    BusinessOpt,
    ConfigOpt,
    DataArg,
    DateFormatOpt,
    DayfirstOpt,
    DebugOpt,
    ModelOpt,
    QuietOpt,
    ValueKindOpt,
    open_session,
)
from .session import guard, markup
from .settings import load_data, load_settings
from .tables import evaluation_table, horizon_words

__all__ = ["evaluate"]

EVALUATE_EPILOG = """\
[bold]Example[/bold]

  churnpredict evaluate data/ --model models/churn \\
      --as-of 2024-11-01 --report report/

Scores the customers active at --as-of and compares with what
happened in the next horizon (the data must reach that far).
Prints AUC, average precision, top-decile lift and Brier score;
--report writes report/report.html with its plots.
"""


def evaluate(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Cutoff to evaluate (YYYY-MM-DD); the data must cover one horizon after it.",
            show_default=False,
        ),
    ],
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", "-r", help="Also write an HTML report with plots to this directory."
        ),
    ] = None,
    business: BusinessOpt = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    value_kind: ValueKindOpt = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Measure how well a saved model ranks the churners after --as-of."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        if report is not None:
            check_output_dir(report, "--report", "report")
        as_of_ts = parse_date(as_of)
        check_model_dir(model)
        settings = load_settings(
            config, date_format=date_format, dayfirst=dayfirst, value_kind=value_kind
        )
        pipeline = load_pipeline(session, model)
        check_business(pipeline, business)
        dataset = load_data(session, data, settings)
        from .._evaluate import base_rate_check
        from .._report import evaluate_at

        with session.step(f"Evaluating at {as_of_ts:%Y-%m-%d}"):
            evaluation = evaluate_at(pipeline, dataset, as_of_ts, explain=report is not None)
        check = base_rate_check(
            evaluation.scores["churned"], evaluation.scores["churn_probability"]
        )
        with session.shown():
            session.say(
                f"Customers active on {as_of_ts:%Y-%m-%d}, churn within "
                f"{horizon_words(pipeline.horizon_)}:"
            )
            session.say(evaluation_table(evaluation))
            session.say(f"Base rate: {markup(check['message'])}")
        if report is not None:
            from .._report import write_report

            options = dict(settings.get("report", {}))
            with session.step("Writing report"):
                page = write_report(
                    pipeline,
                    dataset,
                    as_of_ts,
                    report,
                    scores=evaluation.scores,
                    evaluation=evaluation,
                    actions=settings.get("actions"),
                    tiers=settings.get("tiers"),
                    **options,
                )
            with session.shown():
                session.say(f"Report: [bold]{markup(page)}[/bold]")
