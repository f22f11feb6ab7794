"""``churnpredict train``: fit a pipeline on DATA (here or on Dask) and save the bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .._kinds import LABEL_KINDS
from .inputs import check_bundle_destination, parse_date, parse_duration
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
from .settings import build_pipeline, load_data, load_settings
from .tables import horizon_words

__all__ = ["train", "say_business", "say_learned_nothing"]

TRAIN_EPILOG = """\
[bold]Example[/bold]

  churnpredict train data/ --model models/churn \\
      --as-of 2024-12-01 --horizon 28D --config churn.toml

Stacks up to 12 cutoffs whose labels are complete by --as-of,
fits the model with time-ordered validation, saves it to --model.
"""


def train(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="What is known (YYYY-MM-DD); only labels whose horizon has ended by "
            "then are used. Default: the end of the data.",
        ),
    ] = None,
    horizon: Annotated[
        str | None,
        typer.Option(
            help="How far ahead churn is predicted, e.g. 28D. Default: 28D, or the longest "
            "horizon a short log fits (printed), or the config."
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            help="cancellation (customers.churned_at) or inactivity (no activity in the horizon). "
            "Default: cancellation when churned_at exists."
        ),
    ] = None,
    business: BusinessOpt = None,
    train_sample: Annotated[
        float | None,
        typer.Option(
            "--train-sample",
            help="Train on every churner and this share (0-1] of the other customers at each "
            "training cutoff, weighted so probabilities stay calibrated: for data too big to "
            "train on whole; 1 for every row. Default: auto, a sample only of more than "
            "500,000 training rows (or the config's train_sample).",
        ),
    ] = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    value_kind: ValueKindOpt = None,
    scheduler: SchedulerOpt = None,
    npartitions: PartitionsOpt = None,
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Train a churn model on DATA and save it to --model."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        as_of_ts = parse_date(as_of)
        if label is not None and label not in LABEL_KINDS:
            raise BadInput(f"--label {label!r}; use cancellation or inactivity")
        if horizon is not None:
            parse_duration(horizon, "--horizon")
        check_bundle_destination(model)
        settings = load_settings(
            config, date_format=date_format, dayfirst=dayfirst, value_kind=value_kind
        )
        pipeline = build_pipeline(
            settings, horizon=horizon, label=label, business=business, train_sample=train_sample
        )
        if scheduler is not None:
            if train_sample is not None:
                raise BadInput(
                    "--train-sample trains on this machine; with --scheduler the cluster "
                    "trains on every row (drop one of the two)"
                )
            from ..dask import train_dask

            quiet_dask_logs(debug)
            with session.step("Training on Dask") as progress:
                train_dask(
                    pipeline,
                    data,
                    model,
                    as_of=as_of_ts,
                    scheduler=scheduler,
                    config=settings,
                    npartitions=npartitions,
                    progress=progress,
                )
            with session.shown():
                _say_training_summary(session, pipeline, model)
            return
        dataset = load_data(session, data, settings)
        with session.step("Training") as progress:
            pipeline.fit(dataset, as_of=as_of_ts, progress=progress)
        with session.step(f"Saving to {model}"):
            pipeline.save(model)
        with session.shown():
            _say_training_summary(session, pipeline, model)


def say_business(session: Session, pipeline: Any) -> None:
    """The business kind a fitted pipeline settled on, and why."""
    kind = getattr(pipeline, "business_", None)
    if kind is not None:
        why = getattr(pipeline, "business_reason_", "")
        session.say(f"  business: {kind}" + (f" ({why})" if why else ""))


def _say_training_summary(session: Session, pipeline: Any, path: Path) -> None:
    t = pipeline.training_summary_
    cutoffs = pipeline.cutoffs_
    session.say(f"Model saved to [bold]{markup(path)}[/bold]")
    session.say(
        f"  trained on {t['n_rows']:,} rows ({t['n_customers']:,} customers at "
        f"{t['n_cutoffs']} cutoffs, {cutoffs.min():%Y-%m-%d} to {cutoffs.max():%Y-%m-%d}); "
        f"{pipeline.label_kind_} churn within {horizon_words(pipeline.horizon_)}; "
        f"churn rate {t['positive_rate']:.1%}; {t['n_features']} features"
    )
    if "n_trained_rows" in t:
        session.say(
            f"  sample: {t['n_trained_rows']:,} rows (every churner and a share "
            f"{t['train_sample']:g} of the others at {t['n_sampled_cutoffs']} cutoffs, "
            f"weighted; the latest cutoffs whole)"
        )
    say_business(session, pipeline)
    chosen = getattr(pipeline, "schedule_", {}).get("note")
    if chosen:
        session.say(f"  {markup(chosen)}")
    v = pipeline.validation_scores_
    shown = [
        (name, v.get(key))
        for name, key in (
            ("AUC", "auc"),
            ("average precision", "average_precision"),
            ("Brier", "brier"),
        )
    ]
    shown = [
        f"{name} {value:.3f}"
        for name, value in shown
        if isinstance(value, float) and value == value
    ]
    if shown:
        session.say(f"  validation on the latest cutoffs: {', '.join(shown)}")
    say_learned_nothing(session, pipeline)


def say_learned_nothing(session: Session, pipeline: Any) -> None:
    """A loud line when the model ranks customers no better than chance (details in a note)."""
    if pipeline.training_summary_.get("learned_nothing"):
        session.say(
            "[bold red]warning:[/bold red] the model learned nothing: its ranking is no "
            "better than chance (see the note below for the likely cause)"
        )
