"""``churnpredict score``: the ranked, explained at-risk list (here or on Dask), with drift."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .inputs import (
    check_business,
    check_cells,
    check_list_output,
    check_model_dir,
    check_not_input,
    check_output_dir,
    load_pipeline,
    parse_date,
)
from .root import (
    BusinessOpt,
    ConfigOpt,
    DataArg,
    DateFormatOpt,
    DayfirstOpt,
    DebugOpt,
    ModelOpt,
    PartitionsOpt,
    QuietOpt,
    SchedulerOpt,
    ValueKindOpt,
    open_session,
    quiet_dask_logs,
)
from .session import BadInput, Session, guard, markup
from .settings import (
    apply_reason_settings,
    check_holdout,
    list_options,
    load_data,
    load_settings,
)
from .tables import at_risk_table, fmt_money, horizon_words, status_counts
from .train import say_learned_nothing

if TYPE_CHECKING:
    from .._export import ListOptions

__all__ = ["score", "score_list", "say_list_summary"]

SCORE_EPILOG = """\
[bold]Example[/bold] (nightly)

  churnpredict score data/ --model models/churn \\
      --as-of 2024-12-31 --out at_risk.csv --top 500

Columns: rank, customer_id, churn_probability, risk_tier, mrr,
revenue_at_risk, reason_1..3, reason_group_1..3, suggested_action,
status (active / lapsed / new; purchase data has expected_spend in
place of mrr, an app's event log with no MRR has neither value
column; --status lapsed writes the win-back list only)
(+ group with --holdout 0.2 --seed 11: treatment / control, drawn
within each risk tier). <list>.drift.json next to the list compares
the population with training; a short warning names the features
past the PSI thresholds (exit code stays 0; -q keeps it). The files
are written atomically and together; on bad input nothing is written
and the exit code is 2.
"""


def score(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of",
            help="Score the customers active at this date (YYYY-MM-DD).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Output file: .csv, .parquet or .xlsx.", show_default=False
        ),
    ],
    top: Annotated[int | None, typer.Option(help="Keep the first N of the ranked list.")] = None,
    min_probability: Annotated[
        float | None,
        typer.Option(
            "--min-probability", help="Keep customers with at least this churn probability."
        ),
    ] = None,
    rank_by: Annotated[
        str | None,
        typer.Option("--rank-by", help="probability (default) or revenue (revenue at risk)."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Keep customers of this status: active (the retention list), lapsed "
            "(no activity in the lookback: the win-back list), new, or all (default).",
        ),
    ] = None,
    business: BusinessOpt = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    value_kind: ValueKindOpt = None,
    scheduler: SchedulerOpt = None,
    npartitions: PartitionsOpt = None,
    ranked_out: Annotated[
        Path | None,
        typer.Option(
            "--ranked-out",
            help="With --scheduler: also write the whole ranked list as "
            "partitioned Parquet to this directory.",
        ),
    ] = None,
    holdout: Annotated[
        float | None,
        typer.Option(
            "--holdout",
            help="Keep this share of every risk tier out of the campaign as a "
            "control group (column group: treatment / control), e.g. 0.2.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the holdout draw (recorded with the list)."),
    ] = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Write the ranked, explained at-risk list of the customers active at --as-of."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        # every destination first (the list and its side files): nothing is worked out for
        # nothing, and nothing an input
        outputs = check_list_output(out, drift=scheduler is None)
        settings = load_settings(
            config, date_format=date_format, dayfirst=dayfirst, value_kind=value_kind
        )
        tables = settings.get("tables")
        check_not_input(outputs, "--out", data=data, inputs=(config,), model=model, tables=tables)
        check_holdout(holdout, seed)
        if ranked_out is not None:
            if scheduler is None:
                raise BadInput("--ranked-out needs --scheduler (it writes partitioned Parquet)")
            check_output_dir(ranked_out, "--ranked-out", "ranked-list")
            check_not_input(
                [ranked_out / "x"], "--ranked-out", data=data, model=model, tables=tables
            )
        as_of_ts = parse_date(as_of)
        check_model_dir(model)
        options = list_options(
            settings,
            top=top,
            min_probability=min_probability,
            rank_by=rank_by,
            status=status,
            holdout=holdout,
            seed=seed,
            config=config,
        )
        pipeline = load_pipeline(session, model)
        check_business(pipeline, business)
        apply_reason_settings(pipeline, settings, config)
        if scheduler is not None:
            from ..dask import score_dask

            quiet_dask_logs(debug)
            with session.step("Scoring on Dask"):
                frame, n_scored = score_dask(
                    pipeline,
                    data,
                    as_of_ts,
                    out,
                    scheduler=scheduler,
                    options=options,
                    config=settings,
                    ranked_out=ranked_out,
                    npartitions=npartitions,
                )
            with session.shown():
                session.say(
                    f"Scored {n_scored:,} customers; wrote {len(frame):,} rows to "
                    f"[bold]{markup(out)}[/bold]"
                )
            return
        dataset = load_data(session, data, settings)
        extra = [c for c in options.extra_columns if c in dataset.customers.columns]
        check_cells(out, dataset.customers[["customer_id", *extra]], "customers")
        scores, frame = score_list(
            pipeline, dataset, as_of_ts, settings, options, session=session, drift=True
        )
        from .._atomic import output_batch
        from .._export import write_at_risk

        with output_batch():  # the list, its manifest and drift record replace theirs together
            write_at_risk(
                frame,
                out,
                actions=settings.get("actions"),
                currency=str(getattr(pipeline, "currency", "") or ""),
            )
            drift_path = _write_drift(session, scores, out)
        with session.shown():
            say_learned_nothing(session, pipeline)
            say_list_summary(session, scores, frame, out, pipeline.horizon_)
            _say_drift(session, scores, drift_path)


def score_list(
    pipeline: Any,
    data: Any,
    as_of: Any,
    settings: Mapping[str, Any],
    options: ListOptions,
    *,
    session: Session,
    drift: bool = False,
) -> tuple[Any, Any]:
    """Score the population at ``as_of`` and turn it into the ranked at-risk list.

    Returns
    -------
    (scores, list)
        ``ChurnPipeline.score`` output (drift in its ``attrs`` when ``drift``) and the
        ``at_risk_list`` made with ``options``.
    """
    from .._export import at_risk_list

    with session.step(f"Scoring as of {as_of:%Y-%m-%d}") as progress:
        scores = pipeline.score(
            data,
            as_of,
            explain=True,
            drift=dict(settings.get("drift", {})) if drift else False,
            progress=progress,
        )
    frame = at_risk_list(
        scores, horizon=pipeline.horizon_, customers=data.customers, options=options
    )
    return scores, frame


def _write_drift(session: Session, scores: Any, out: Path) -> Path | None:
    """Write ``<list>.drift.json`` next to the list (None when drift was not measured)."""
    from .._drift import write_drift
    from .._outputs import drift_path

    summary = scores.attrs.get("drift")
    if summary is None:
        session.notes.append("no customer was scored, so drift was not measured")
        return None
    return write_drift(
        summary,
        drift_path(out),
        as_of=scores.attrs.get("as_of"),
        model_id=scores.attrs.get("model_id"),
    )


def _say_drift(session: Session, scores: Any, path: Path | None) -> None:
    """A short warning naming the features (and score) past the drift thresholds."""
    from .._drift import drift_messages

    if path is None:
        return
    for line in drift_messages(scores.attrs["drift"]):
        session.warn(f"drift: {line}")  # a warning: kept by -q
    session.say(f"Drift against training: [bold]{markup(path)}[/bold]")


def say_list_summary(session: Session, scores: Any, frame: Any, out: Path, horizon: Any) -> None:
    """How many were scored and listed (by status), the holdout, the expected churn and
    revenue at risk, and the top of the list."""
    valued = "revenue_at_risk" in frame.columns  # a log of use may hold no value
    total = float(frame["revenue_at_risk"].sum(min_count=1)) if len(frame) and valued else 0.0
    expected = float(scores["churn_probability"].sum())
    if "status" in scores.columns and "status" in frame.columns:
        session.say(
            f"Scored {len(scores):,} customers ({status_counts(scores)}); wrote "
            f"{len(frame):,} rows to [bold]{markup(out)}[/bold] "
            f"({status_counts(frame)})"
        )
    else:
        session.say(
            f"Scored {len(scores):,} customers; wrote {len(frame):,} rows to "
            f"[bold]{markup(out)}[/bold]"
        )
    if "group" in frame.columns:
        n_control = int((frame["group"] == "control").sum())
        session.say(
            f"Holdout: {n_control:,} control and {len(frame) - n_control:,} treated "
            f"customers (share {frame.attrs.get('holdout_share', 0):.0%} per risk "
            f"tier, seed {frame.attrs.get('holdout_seed')}); contact the treated only"
        )
    session.say(
        f"Expected to churn within {horizon_words(horizon)}: {expected:,.0f} customers"
        + (f"; revenue at risk in the list: {fmt_money(total)}" if valued else "")
    )
    if not valued and frame.attrs.get("note"):
        session.say(f"  ({markup(frame.attrs['note'])})")
    if len(frame):
        session.say(at_risk_table(frame, 10))
