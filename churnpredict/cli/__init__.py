"""The ``churnpredict`` command: demo, inspect, train, score, evaluate, metrics, campaign,
recalibrate.

Exit codes: 0 success; 2 bad input or configuration (one line on stderr naming the problem,
nothing written); 1 unexpected error. ``--debug`` adds the traceback; ``-q`` prints only
warnings (stderr) on success, for cron, and ``-qq`` nothing; a failure's line is always printed.

The package holds one module per concern: :mod:`~churnpredict.cli.root` (the typer ``app``
and shared options), :mod:`~churnpredict.cli.session` (output, notes, exit codes),
:mod:`~churnpredict.cli.inputs` (dates, durations, outputs, models checked before any work),
:mod:`~churnpredict.cli.settings` (the TOML config and the flags over it),
:mod:`~churnpredict.cli.tables` (rich tables), and one module per command group:
``inspect``, ``train``, ``score``, ``evaluate``, ``metrics``, ``loop`` (campaign, recalibrate),
``demo``.
Commands are registered on ``app`` here, in the order ``--help`` lists them.
"""

from __future__ import annotations

import logging

from . import demo, evaluate, inspect, loop, metrics, score, train
from .demo import run_demo
from .inputs import parse_date as _parse_date  # noqa: F401 (kept importable from here)
from .root import app
from .session import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, BadInput
from .session import Session as _Session  # noqa: F401 (kept importable from here)
from .settings import CONFIG_KEYS, load_settings

__all__ = [
    "app",
    "main",
    "load_settings",
    "run_demo",
    "BadInput",
    "CONFIG_KEYS",
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_BAD_INPUT",
]

for _command, _epilog in (
    (inspect.inspect, inspect.INSPECT_EPILOG),
    (train.train, train.TRAIN_EPILOG),
    (score.score, score.SCORE_EPILOG),
    (evaluate.evaluate, evaluate.EVALUATE_EPILOG),
    (metrics.metrics, metrics.METRICS_EPILOG),
    (loop.campaign, loop.CAMPAIGN_EPILOG),
    (loop.recalibrate, loop.RECALIBRATE_EPILOG),
    (demo.demo, demo.DEMO_EPILOG),
):
    app.command(epilog=_epilog)(_command)
del _command, _epilog


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``churnpredict`` console script."""
    logging.getLogger("churnpredict").addHandler(logging.NullHandler())
    app(args=argv, prog_name="churnpredict")
