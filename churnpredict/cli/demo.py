"""``churnpredict demo``: the whole flow on the bundled sample (train, evaluate, score, report)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from .._bundle import check_destination
from .._folders import mark_output_folder
from .inputs import check_output_dir, parse_duration
from .root import DebugOpt, QuietOpt, open_session
from .score import say_list_summary, score_list
from .session import Session, guard, markup
from .settings import list_options
from .tables import evaluation_table, horizon_words
from .train import say_business

__all__ = ["demo", "run_demo"]

DEMO_EPILOG = """\
[bold]Example[/bold]

  churnpredict demo --out churnpredict-demo

Trains on the bundled sample, checks the model on the last
complete horizon, scores every active customer at the end of
the sample, and writes at_risk.csv, report/report.html and
model/ under --out.
"""


def demo(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the list, report and model.")
    ] = Path("churnpredict-demo"),
    quiet: QuietOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run the whole flow on the bundled sample data: train, evaluate, score, report."""
    session = open_session(ctx, quiet, debug)
    with guard(session):
        check_output_dir(out, "--out", "demo")
        run_demo(out, session=session)


def run_demo(
    out: str | os.PathLike, *, session: Session | None = None, pipeline: Any = None
) -> dict[str, Path]:
    """Train, evaluate, score and report on the bundled sample; return the written paths.

    Parameters
    ----------
    out : path-like
        Folder for ``at_risk.csv``, ``report/`` and ``model/``.
    session : optional
        Output settings (the command line passes its own).
    pipeline : ChurnPipeline, optional
        Unfitted pipeline to use instead of the default one.

    Returns
    -------
    dict
        ``{"at_risk": ..., "report": ..., "model": ...}``.
    """
    import pandas as pd

    from .._export import write_at_risk
    from .._pipeline import ChurnPipeline
    from .._report import evaluate_at, write_report
    from .._training import training_schedule
    from ..datasets import SAMPLE_AS_OF, load_sample

    session = session or Session(quiet=2)
    out = check_output_dir(Path(out), "out", "demo")
    check_output_dir(out / "report", "out", "report")
    check_destination(out / "model")
    with session.step("Loading the sample"):
        data = load_sample()
    session.notes.extend(data.notes)
    if pipeline is None:
        from .._model import ChurnModel

        # One thread: a few seconds on the sample, and no slowdown on a busy machine, where
        # XGBoost's threads would otherwise wait on each other.
        pipeline = ChurnPipeline(model=ChurnModel(n_jobs=1))
    end = pd.Timestamp(SAMPLE_AS_OF)
    horizon = (
        training_schedule(data, end).horizon
        if pipeline.horizon == "auto"
        else parse_duration(pipeline.horizon, "horizon")
    )
    # The last complete horizon: outcomes must be known, i.e. inside the data.
    train_as_of = (min(end, data.time_range[1]) - horizon).floor("D")
    with session.step(f"Training (labels known by {train_as_of:%Y-%m-%d})") as progress:
        pipeline.fit(data, as_of=train_as_of, progress=progress)
    with session.step(f"Evaluating at {train_as_of:%Y-%m-%d}"):
        evaluation = evaluate_at(pipeline, data, train_as_of)
    scores, frame = score_list(pipeline, data, end, {}, list_options({}), session=session)
    paths = {"at_risk": out / "at_risk.csv", "report": out / "report", "model": out / "model"}
    mark_output_folder(out, "demo")
    write_at_risk(frame, paths["at_risk"])
    with session.step("Writing report"):
        paths["report"] = write_report(
            pipeline, data, end, paths["report"], scores=scores, evaluation=evaluation
        )
    with session.step("Saving model"):
        pipeline.save(paths["model"])
    with session.shown():
        _say_demo_summary(
            session, pipeline, data, end, train_as_of, horizon, evaluation, scores, frame, paths
        )
    return paths


def _say_demo_summary(
    session: Session,
    pipeline: Any,
    data: Any,
    end: Any,
    train_as_of: Any,
    horizon: Any,
    evaluation: Any,
    scores: Any,
    frame: Any,
    paths: Mapping[str, Path],
) -> None:
    first, last = data.time_range
    session.say(
        f"[bold]churnpredict demo[/bold]: a sample subscription business, "
        f"{len(data.customers):,} customers, {first:%Y-%m-%d} to {end:%Y-%m-%d}"
    )
    say_business(session, pipeline)
    session.say(
        f"Check on the last complete horizon: customers active on "
        f"{train_as_of:%Y-%m-%d}, churn within {horizon_words(horizon)}:"
    )
    session.say(evaluation_table(evaluation))
    say_list_summary(session, scores, frame, paths["at_risk"], horizon)
    session.say(f"Report: [bold]{markup(paths['report'])}[/bold]")
    session.say(f"Model:  [bold]{markup(paths['model'])}[/bold]")
    try:
        from ..datasets import sample_path

        folder = sample_path()
    except FileNotFoundError:
        folder = None
    if folder is not None:
        session.say(
            f"Score it yourself: churnpredict score {markup(folder)} --model "
            f"{markup(paths['model'])} --as-of {end:%Y-%m-%d} --out at_risk.xlsx"
        )
