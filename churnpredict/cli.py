"""The ``churnpredict`` command: demo, train, score, evaluate, metrics, campaign, recalibrate.

Exit codes: 0 success; 2 bad input or configuration (one line on stderr naming the problem,
nothing written); 1 unexpected error. ``--debug`` adds the traceback, ``--quiet`` keeps stdout
and stderr silent on success.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from .exceptions import BundleError, ChurnDataError, ChurnModelError
from .windows import to_naive_utc

__all__ = ["app", "main", "load_settings", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT"]

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT = 0, 1, 2

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx")
PERIOD_ALIASES = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}

# Keys a TOML config may hold, by what reads them.
_DATA_KEYS = ("columns", "status_map", "label_column", "positive_label", "snapshot_at",
              "unknown_customers", "date_format", "dayfirst")
_PIPELINE_KEYS = ("horizon", "label", "n_cutoffs", "cutoff_freq", "lookback", "business")
_OTHER_KEYS = ("windows", "model", "actions", "tiers", "score", "report", "drift")
#: How reasons are written: currency symbol, smallest reason in probability points.
_REASON_KEYS = ("currency", "reason_threshold")
CONFIG_KEYS = _DATA_KEYS + _PIPELINE_KEYS + _OTHER_KEYS + _REASON_KEYS
_SCORE_KEYS = ("top", "min_probability", "rank_by", "extra_columns", "status")
_BUSINESS = ("auto", "subscription", "purchases")
_STATUS = ("all", "active", "lapsed", "new")
_REPORT_KEYS = ("contact_cost", "save_rate", "top")
_DRIFT_KEYS = ("notice", "warn")


class BadInput(ValueError):
    """A command-line value (date, duration, path, option) that cannot be used."""


app = typer.Typer(
    name="churnpredict",
    help="Predict which customers are about to churn, explain why, and rank who to call.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


# ---------------------------------------------------------------------------- session / output
@dataclass
class _Session:
    """Per-invocation output settings and collected notes."""

    quiet: bool = False
    debug: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from rich.console import Console

        self.out = Console(quiet=self.quiet, highlight=False)
        if not self.out.is_terminal:  # logs of batch jobs: do not squeeze tables to 80 columns
            self.out = Console(quiet=self.quiet, highlight=False, width=160)
        self.err = Console(stderr=True, quiet=self.quiet, highlight=False)

    def say(self, *objects: Any) -> None:
        """Print to stdout unless --quiet."""
        self.out.print(*objects)

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[Callable[[str, int, int], None]]:
        """Show a transient progress bar on stderr while a long step runs.

        Yields a ``progress(name, step, total)`` callback that advances the bar.
        """
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
            # progress bars are for people watching; batch-job logs get no control codes
            disable=self.quiet or not self.err.is_terminal,
        )
        task = progress.add_task(_markup(text), total=None, detail="")

        def update(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, detail=_printable(str(name)))

        start = time.perf_counter()
        # a disabled bar is not started at all: some rich releases print an empty line when
        # a disabled transient display stops, which would reach batch-job logs
        with progress if not progress.disable else contextlib.nullcontext():
            yield update
        if self.debug:
            self.err.print(f"[dim]{_markup(text)}: {time.perf_counter() - start:.1f}s[/dim]")

    def flush_notes(self) -> None:
        """Print collected data-quality notes (stderr), once the command has succeeded."""
        with self.shown():
            for note in dict.fromkeys(self.notes):
                self.err.print(f"[yellow]note:[/yellow] {_markup(note)}", markup=True,
                               highlight=False)

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        """Print a summary of outputs already written: a display problem (a closed pipe, a
        console error) becomes a warning on stderr and never changes the exit code."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the work is done; only the display failed
            with contextlib.suppress(Exception):
                sys.stderr.write(f"churnpredict: warning: could not print the summary "
                                 f"({type(exc).__name__}: {_one_line(str(exc))}); the "
                                 f"output was written\n")
                sys.stderr.flush()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """Control characters (which could move the cursor or recolour a terminal) as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _markup(value: Any) -> str:
    """Data or a path, safe to put inside rich markup: printed as it is, never interpreted."""
    from rich.markup import escape

    return escape(_printable(str(value)))


def _cell(value: Any) -> Any:
    """A table cell holding data (ids, reasons, segments): plain text, no markup."""
    from rich.text import Text

    return Text(_printable(str(value)))


def _lines(text: str) -> Any:
    """A table cell of lines already made printable."""
    from rich.text import Text

    return Text(text)


def _one_line(text: str) -> str:
    return _printable(" ".join(str(text).split()))


@contextlib.contextmanager
def _guard(session: _Session) -> Iterator[None]:
    """Turn exceptions into exit codes: 2 for bad input, 1 for anything unexpected."""
    with warnings.catch_warnings(record=True) as caught:
        # data-quality and leakage warnings become notes; other filters stay as they are
        warnings.simplefilter("always", UserWarning)
        try:
            yield
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except (ChurnDataError, BundleError, ChurnModelError, BadInput) as exc:
            _fail(session, exc, EXIT_BAD_INPUT, prefix="error")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            _fail(session, exc, EXIT_BAD_INPUT, prefix="error")  # a path on the command line
        except OSError as exc:  # read-only location, permissions, disk full: not a bug
            _fail(session, _os_problem(exc), EXIT_BAD_INPUT, prefix="error")
        except Exception as exc:  # noqa: BLE001 - the command line reports every failure
            _fail(session, exc, EXIT_UNEXPECTED,
                  prefix=f"unexpected error ({type(exc).__name__})")
    session.notes.extend(_one_line(str(w.message)) for w in caught
                         if issubclass(w.category, UserWarning))
    session.flush_notes()


def _os_problem(exc: OSError) -> BaseException:
    """An OSError met reading or writing a file, as one line naming the file and the fix."""
    from .io import write_fix

    if exc.filename is None or exc.errno is None:
        return exc
    problem = exc.strerror or errno.errorcode.get(exc.errno, str(exc.errno))
    return BadInput(f"{exc.filename}: {problem}; {write_fix(exc)}")


def _fail(session: _Session, exc: BaseException, code: int, *, prefix: str) -> None:
    if session.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    hint = "" if session.debug or code == EXIT_BAD_INPUT else "; rerun with --debug for details"
    # Plain write (no rich wrapping): exactly one line, even on a narrow terminal.
    sys.stderr.write(f"churnpredict: {prefix}: {_one_line(str(exc))}{hint}\n")
    sys.stderr.flush()
    raise typer.Exit(code)


# ---------------------------------------------------------------------------- parsing helpers
_ISO_DATE = (r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
             r"(?:Z|[+-]\d{2}:?\d{2})?)?")


def _parse_date(value: str | None, option: str = "--as-of") -> Any:
    """Parse an ISO date/time option (YYYY-MM-DD[THH:MM[:SS]]) to a naive UTC Timestamp.

    Anything else (``09/09/2011`` could be either of two days) and times outside the range
    pandas can hold raise BadInput.
    """
    import re

    import pandas as pd

    if value is None:
        return None
    text = value.strip()
    stamp = pd.NaT
    from .data import TIME_RANGE

    if re.fullmatch(_ISO_DATE, text):
        try:
            stamp = pd.Timestamp(text)
            stamp = to_naive_utc(stamp)
            stamp = stamp.as_unit("ns")
        except (ValueError, TypeError, OverflowError):  # out of range or no such day
            stamp = pd.NaT
    if pd.isna(stamp) or not TIME_RANGE[0] <= stamp <= TIME_RANGE[1]:
        raise BadInput(f"{option} {value!r} is not a date in ISO form between 1700-01-01 and "
                       f"2199-12-31; use YYYY-MM-DD (or YYYY-MM-DDTHH:MM), e.g. 2024-12-31")
    return stamp


def _parse_duration(value: Any, option: str) -> Any:
    from .windows import parse_window

    try:
        window = parse_window(value)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{option} {value!r} is not a usable duration ({exc}); use e.g. 28D"
                       ) from None
    if window <= window * 0:
        raise BadInput(f"{option} {value!r} must be positive, e.g. 28D")
    return window


def _parse_period(value: str) -> str:
    from pandas.tseries.frequencies import to_offset

    freq = PERIOD_ALIASES.get(value.strip().lower(), value.strip())
    try:
        to_offset(freq)
    except (ValueError, TypeError):
        raise BadInput(
            f"--period {value!r} is not a period; use day, week, month, quarter, year or a "
            f"pandas frequency such as MS or W-MON"
        ) from None
    return freq


def _check_output(path: Path, option: str = "--out") -> Path:
    """Check an output file before any work: supported suffix, writable location."""
    from .io import check_writable

    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise BadInput(
            f"{option} {str(path)!r}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use .csv, .parquet or .xlsx"
        )
    if path.exists() and path.is_dir():
        raise BadInput(f"{option} {str(path)!r} is a directory; give a file name such as "
                       f"at_risk.csv")
    if path.suffix.lower() == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise BadInput("writing .xlsx needs openpyxl: pip install 'churnpredict[excel]', "
                           "or write .csv / .parquet") from None
    return check_writable(path, option)


def _check_output_dir(path: Path, option: str) -> Path:
    """Check an output folder before any work: not a file, can be made, writable."""
    from .io import check_writable

    return check_writable(path, option, directory=True)


def _check_cells(out: Path, frame: Any, what: str) -> None:
    """Refuse, before scoring, input text an .xlsx output could not hold."""
    from .io import check_cells

    check_cells(frame, out, what=what)


def _check_bundle_destination(path: Path) -> Path:
    """``train --model``: refuse, before any work, a destination that is not a bundle."""
    from .bundle import check_destination

    try:
        return check_destination(path)
    except BundleError as exc:
        raise BundleError(f"--model {exc}") from None


def _check_model_dir(path: Path) -> Path:
    if not path.exists():
        raise BundleError(
            f"--model {str(path)!r}: no such directory; train one first with "
            f"'churnpredict train DATA --model {path}'"
        )
    if not path.is_dir():
        raise BundleError(f"--model {str(path)!r} is a file, not a model directory written by "
                          f"'churnpredict train'")
    return path


def load_settings(config: Path | None, *, date_format: str | None = None,
                  dayfirst: bool | None = None) -> dict[str, Any]:
    """Read and check a TOML config; unknown keys are an error (they are usually typos).

    Parameters
    ----------
    config : path or None
    date_format, dayfirst : optional
        ``--date-format`` / ``--dayfirst`` flags; they override the config's keys.

    Returns
    -------
    dict
        The settings (empty without a file or flags).
    """
    settings = _read_settings(config)
    if date_format is not None:
        settings["date_format"] = date_format
    if dayfirst is not None:
        settings["dayfirst"] = dayfirst
    where = f"config {config}" if config is not None else "options"
    if "date_format" in settings and (not isinstance(settings["date_format"], str)
                                      or "%" not in settings["date_format"]):
        raise ChurnDataError(f"{where}: date_format = {settings['date_format']!r}; give a "
                             f"strptime format such as \"%d/%m/%Y %H:%M\"")
    if "dayfirst" in settings and not isinstance(settings["dayfirst"], bool):
        raise ChurnDataError(f"{where}: dayfirst = {settings['dayfirst']!r}; use true or false")
    return settings


def _read_settings(config: Path | None) -> dict[str, Any]:
    if config is None:
        return {}
    from .data import load_config

    settings = load_config(config)
    unknown = sorted(set(settings) - set(CONFIG_KEYS))
    if unknown:
        raise ChurnDataError(
            f"config {config}: unknown key(s) {unknown}; allowed keys are {list(CONFIG_KEYS)}"
        )
    for table, allowed in (("score", _SCORE_KEYS), ("report", _REPORT_KEYS),
                           ("drift", _DRIFT_KEYS)):
        section = settings.get(table, {})
        if not isinstance(section, Mapping):
            raise ChurnDataError(f"config {config}: [{table}] must be a table")
        bad = sorted(set(section) - set(allowed))
        if bad:
            raise ChurnDataError(
                f"config {config}: unknown key(s) {bad} in [{table}]; allowed: {list(allowed)}"
            )
    report = settings.get("report", {})
    checks = {"contact_cost": lambda v: v >= 0, "save_rate": lambda v: 0 <= v <= 1,
              "top": lambda v: isinstance(v, int) and v >= 1}
    for key, ok in checks.items():
        value = report.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not ok(value)):
            raise ChurnDataError(
                f"config {config}: [report] {key} = {value!r}; contact_cost is a cost >= 0, "
                f"save_rate a share between 0 and 1, top a whole number >= 1"
            )
    drift = settings.get("drift", {})
    for key in _DRIFT_KEYS:
        value = drift.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise ChurnDataError(f"config {config}: [drift] {key} = {value!r}; a PSI "
                                 f"threshold >= 0 (defaults: notice 0.1, warn 0.25)")
    if drift.get("notice", 0.1) > drift.get("warn", 0.25):
        raise ChurnDataError(f"config {config}: [drift] notice is above warn; notice <= warn")
    for table in ("model", "actions", "tiers", "columns", "status_map"):
        if table in settings and not isinstance(settings[table], Mapping):
            raise ChurnDataError(f"config {config}: {table} must be a table ([{table}])")
    return settings


def _load_data(session: _Session, data_dir: Path, settings: Mapping[str, Any]) -> Any:
    from .data import EventData

    if not data_dir.exists():
        raise BadInput(f"DATA {str(data_dir)!r}: no such directory")
    with session.step(f"Loading {data_dir}"):
        data = EventData.from_directory(
            data_dir, config={k: settings[k] for k in _DATA_KEYS if k in settings})
    session.notes.extend(data.notes)
    return data


def _build_pipeline(settings: Mapping[str, Any], *, horizon: str | None, label: str | None,
                    business: str | None = None) -> Any:
    """A ChurnPipeline from config settings, command-line flags overriding them."""
    from .model import ChurnModel
    from .pipeline import ChurnPipeline

    params = {k: settings[k] for k in _PIPELINE_KEYS + _REASON_KEYS if k in settings}
    if horizon is not None:
        params["horizon"] = horizon
    if label is not None:
        params["label"] = label
    if business is not None:
        params["business"] = business
    if params.get("business", "auto") not in _BUSINESS:
        raise BadInput(f"business {params['business']!r}; use auto, subscription or purchases")
    if "horizon" in params:
        _parse_duration(params["horizon"], "--horizon")
    for key in ("cutoff_freq", "lookback"):
        if key in params:
            _parse_duration(params[key], key)
    if params.get("label", "auto") not in ("auto", "cancellation", "inactivity"):
        raise BadInput(f"label {params['label']!r}; use cancellation or inactivity")
    try:
        model = ChurnModel(**dict(settings.get("model", {})))
    except TypeError as exc:
        raise ChurnDataError(f"config [model]: {exc}; see ChurnModel for its parameters") from None
    builders = None
    if "windows" in settings:
        windows = settings["windows"]
        if isinstance(windows, (str, int)) or not windows:
            raise ChurnDataError(f"config windows = {windows!r}; give a list such as "
                                 f"[7, 30, 90] or [\"7D\", \"30D\"]")
        for window in windows:
            _parse_duration(window, "windows")
        params["windows"] = tuple(windows)
    return ChurnPipeline(builders=builders, model=model, **params)


# ---------------------------------------------------------------------------- global options
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks and step timings.")]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML file: column mappings, horizon, windows, "
                 "\\[model], \\[actions], \\[score], \\[report], \\[drift]. Flags "
                 "override it."),
]
ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Model directory (bundle).")]
BusinessOpt = Annotated[str | None, typer.Option(
    "--business", help="subscription (MRR, cancellations), purchases (shops: orders, no MRR) "
    "or auto (detected from the data and printed). Default: auto (or the config).")]
DateFormatOpt = Annotated[str | None, typer.Option(
    "--date-format", help="strptime format of non-ISO dates in DATA, e.g. '%d/%m/%Y %H:%M'. "
    "ISO 8601 is always understood.")]
DayfirstOpt = Annotated[bool | None, typer.Option(
    "--dayfirst/--monthfirst", help="Read dates such as 09/10/2011 day-first or month-first. "
    "Default: settled from the data; refused when it cannot be.", show_default=False)]
DataArg = Annotated[
    Path, typer.Argument(help="Folder with customers.csv|parquet and activity / payments / "
                         "tickets tables.", show_default=False)
]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Run on Dask: a scheduler address (tcp://host:8786) or 'local' for a "
    "LocalCluster on this machine. Needs pip install 'churnpredict[dask]'.")]
PartitionsOpt = Annotated[int | None, typer.Option(
    "--npartitions", help="With --scheduler: customer partitions (default: from data size).")]


def _quiet_dask_logs(debug: bool) -> None:
    if not debug:
        logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)


def _session(ctx: typer.Context, quiet: bool, debug: bool) -> _Session:
    root = ctx.find_root().obj or {}
    return _Session(quiet=quiet or root.get("quiet", False),
                    debug=debug or root.get("debug", False))


def _show_version(value: bool) -> None:
    if value:
        from ._version import __version__

        typer.echo(f"churnpredict {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    version: Annotated[bool, typer.Option(
        "--version", help="Show the version and exit.", is_eager=True,
        callback=_show_version)] = False,
) -> None:
    """Predict which customers are about to churn, explain why, and rank who to call."""
    ctx.obj = {"quiet": quiet, "debug": debug}


# ---------------------------------------------------------------------------- summaries
def _fmt_money(value: float) -> str:
    import math

    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:,.0f}"


def _at_risk_table(frame: Any, n: int = 10) -> Any:
    from rich.table import Table

    table = Table(title=f"Top {min(n, len(frame))} at risk", show_lines=True)
    for name, justify in (("rank", "right"), ("customer", "left"), ("probability", "right"),
                          ("tier", "left"), ("revenue at risk", "right"), ("why", "left"),
                          ("suggested action", "left")):
        table.add_column(name, justify=justify)
    for row in frame.head(n).to_dict("records"):
        reasons = [row.get(f"reason_{i}") for i in (1, 2, 3)]
        reasons = "\n".join(_printable(r) for r in reasons if isinstance(r, str) and r)
        table.add_row(str(row["rank"]), _cell(row["customer_id"]),
                      f"{row['churn_probability']:.1%}", _cell(row.get("risk_tier", "")),
                      _fmt_money(row["revenue_at_risk"]), _lines(reasons or "-"),
                      _cell(row.get("suggested_action") or "-"))
    return table


# Evaluation.metrics key -> (label, format)
_EVAL_ROWS = {
    "n": ("customers", "{:,.0f}"),
    "n_churned": ("churned in the horizon", "{:,.0f}"),
    "base_rate": ("churn rate", "{:.1%}"),
    "auc": ("AUC", "{:.3f}"),
    "average_precision": ("average precision", "{:.3f}"),
    "top_decile_lift": ("top-decile lift", "{:.1f}x"),
    "brier": ("Brier score", "{:.4f}"),
    "log_loss": ("log loss", "{:.4f}"),
}


def _metrics_table(evaluation: Any) -> Any:
    """Headline metrics of an Evaluation (plus per churn type when known)."""
    from rich.table import Table

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, (label, fmt) in _EVAL_ROWS.items():
        value = evaluation.metrics.get(key)
        if value is not None:
            table.add_row(label, "n/a" if value != value else fmt.format(value))
    for key, value in evaluation.by_churn_type.items():
        if not isinstance(value, (int, float)) or value != value:
            continue
        kind = key.rsplit("_", 1)[-1]
        if key.startswith("auc_"):
            table.add_row(f"AUC, {kind} churn", f"{value:.3f}")
        elif key.startswith("top_decile_recall_"):
            table.add_row(f"{kind} churners in the top 10%", f"{value:.0%}")
    return table


# churn_metrics column -> (header, format); rates as percentages
_METRIC_COLUMNS = {
    "customers_start": ("customers", "{:,.0f}"),
    "new": ("new", "{:,.0f}"),
    "churned": ("churned", "{:,.0f}"),
    "churned_voluntary": ("voluntary", "{:,.0f}"),
    "churned_involuntary": ("involuntary", "{:,.0f}"),
    "churn_rate": ("churn", "{:.1%}"),
    "retention_rate": ("retention", "{:.1%}"),
    "mrr_start": ("MRR", "{:,.0f}"),
    "mrr_churned": ("MRR lost", "{:,.0f}"),
    "gross_revenue_churn": ("revenue churn", "{:.1%}"),
    "net_revenue_churn": ("net revenue churn", "{:.1%}"),
}


def _metrics_frame_table(frame: Any, title: str) -> Any:
    """The main churn_metrics columns as a rich table (the --out file keeps all columns)."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=_markup(title))
    flat = frame.reset_index()
    keys = [c for c in frame.index.names if c is not None]
    for key in keys:
        table.add_column(_cell(key))
    shown = [c for c in _METRIC_COLUMNS if c in flat.columns and flat[c].notna().any()]
    for col in shown:
        table.add_column(_METRIC_COLUMNS[col][0], justify="right")
    for row in flat.to_dict("records"):
        cells = []
        for key in keys:
            value = row[key]
            cells.append(value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp)
                         else _cell(value))
        for col in shown:
            value = row[col]
            cells.append("" if pd.isna(value) else _METRIC_COLUMNS[col][1].format(value))
        table.add_row(*cells)
    return table


# ---------------------------------------------------------------------------- commands
def _list_options(settings: Mapping[str, Any], *, top: int | None = None,
                  min_probability: float | None = None, rank_by: str | None = None,
                  status: str | None = None) -> dict[str, Any]:
    """The at-risk list options: flags over the config's [score] table, checked."""
    options = dict(settings.get("score", {}))
    top = top if top is not None else options.get("top")
    min_probability = (min_probability if min_probability is not None
                       else options.get("min_probability"))
    rank_by = rank_by or options.get("rank_by", "probability")
    if rank_by not in ("probability", "revenue"):
        raise BadInput(f"--rank-by {rank_by!r}; use probability or revenue")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise BadInput(f"--top {top!r}; must be a whole number of at least 1")
    if min_probability is not None and (
            isinstance(min_probability, bool) or not isinstance(min_probability, (int, float))
            or not 0.0 <= float(min_probability) <= 1.0):
        raise BadInput(f"--min-probability {min_probability!r}; must be between 0 and 1")
    extra = options.get("extra_columns", ())
    if isinstance(extra, str):
        extra = (extra,)
    status = status or options.get("status", "all")
    if status not in _STATUS:
        raise BadInput(f"--status {status!r}; use active, lapsed, new or all")
    return {"top": top, "min_probability": min_probability, "rank_by": rank_by,
            "extra_columns": tuple(extra), "status": status}


def _check_business(pipeline: Any, business: str | None) -> None:
    """--business on a saved model: it must be the kind the model was trained for."""
    if business is None or business == "auto":
        return
    if business not in _BUSINESS:
        raise BadInput(f"--business {business!r}; use auto, subscription or purchases")
    trained = getattr(pipeline, "business_", "subscription")
    if trained != business:
        raise BadInput(
            f"--business {business}: the model was trained for {trained} data; retrain with "
            f"'churnpredict train ... --business {business}' or drop --business"
        )


def _score_list(pipeline: Any, data: Any, as_of: Any, settings: Mapping[str, Any],
                options: Mapping[str, Any], *, session: _Session, holdout: float | None = None,
                seed: int | None = None, drift: bool = False) -> tuple[Any, Any]:
    """Score the population at ``as_of`` and turn it into the ranked at-risk list."""
    from .export import at_risk_list

    with session.step(f"Scoring as of {as_of:%Y-%m-%d}"):
        scores = pipeline.score(data, as_of, explain=True,
                                drift=dict(settings.get("drift", {})) if drift else False)
    frame = at_risk_list(
        scores, horizon=pipeline.horizon_, tiers=settings.get("tiers"),
        actions=settings.get("actions"), customers=data.customers, holdout=holdout,
        random_state=seed, **options,
    )
    return scores, frame


def _check_holdout(holdout: float | None, seed: int | None) -> None:
    if holdout is not None and not 0.0 < holdout < 1.0:
        raise BadInput(f"--holdout {holdout!r}; give the control share, between 0 and 1 "
                       f"(e.g. 0.2)")
    if seed is not None and holdout is None:
        raise BadInput("--seed is the seed of the holdout draw; give --holdout too")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed {seed!r}; must be a whole number >= 0")


def _write_drift(session: _Session, scores: Any, out: Path) -> Path | None:
    """Write drift.json next to the list (None when the model keeps no reference)."""
    from .drift import write_drift

    summary = scores.attrs.get("drift")
    if summary is None:
        session.notes.append("the model keeps no training reference (trained on Dask or by "
                             "an older version), so drift was not measured; retrain on one "
                             "machine to measure it")
        return None
    return write_drift(summary, out.parent / "drift.json", as_of=scores.attrs.get("as_of"),
                       model_id=scores.attrs.get("model_id"))


def _say_drift(session: _Session, scores: Any, path: Path | None) -> None:
    """A short warning naming the features (and score) past the drift thresholds."""
    from .drift import drift_messages

    if path is None:
        return
    for line in drift_messages(scores.attrs["drift"]):
        session.say(f"[yellow]drift:[/yellow] {_markup(line)}")
    session.say(f"Drift against training: [bold]{_markup(path)}[/bold]")


_TRAIN_EPILOG = """\
[bold]Example[/bold]

  churnpredict train data/ --model models/churn \\
      --as-of 2024-12-01 --horizon 28D --config churn.toml

Stacks up to 12 cutoffs whose labels are complete by --as-of,
fits the model with time-ordered validation, saves it to --model.
"""


@app.command(epilog=_TRAIN_EPILOG)
def train(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="What is known (YYYY-MM-DD); only labels whose horizon has ended by "
        "then are used. Default: the end of the data.")] = None,
    horizon: Annotated[str | None, typer.Option(
        help="How far ahead churn is predicted, e.g. 28D. Default 28D (or the config).")] = None,
    label: Annotated[str | None, typer.Option(
        help="cancellation (customers.churned_at) or inactivity (no activity in the horizon). "
        "Default: cancellation when churned_at exists.")] = None,
    business: BusinessOpt = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    scheduler: SchedulerOpt = None,
    npartitions: PartitionsOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Train a churn model on DATA and save it to --model."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        as_of_ts = _parse_date(as_of)
        if label is not None and label not in ("cancellation", "inactivity"):
            raise BadInput(f"--label {label!r}; use cancellation or inactivity")
        if horizon is not None:
            _parse_duration(horizon, "--horizon")
        _check_bundle_destination(model)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        pipeline = _build_pipeline(settings, horizon=horizon, label=label, business=business)
        if scheduler is not None:
            from .dask import train_dask

            _quiet_dask_logs(debug)
            with session.step("Training on Dask") as progress:
                train_dask(pipeline, data, model, as_of=as_of_ts, scheduler=scheduler,
                           config=settings, npartitions=npartitions, progress=progress)
            _print_training_summary(session, pipeline, model)
            return
        dataset = _load_data(session, data, settings)
        with session.step("Training") as progress:
            pipeline.fit(dataset, as_of=as_of_ts, progress=progress)
        with session.step(f"Saving to {model}"):
            pipeline.save(model)
        _print_training_summary(session, pipeline, model)


def _print_business(session: _Session, pipeline: Any) -> None:
    kind = getattr(pipeline, "business_", None)
    if kind is not None:
        why = getattr(pipeline, "business_reason_", "")
        session.say(f"  business: {kind}" + (f" ({why})" if why else ""))


def _print_training_summary(session: _Session, pipeline: Any, path: Path) -> None:
    with session.shown():
        _say_training_summary(session, pipeline, path)


def _say_training_summary(session: _Session, pipeline: Any, path: Path) -> None:
    t = pipeline.training_summary_
    cutoffs = pipeline.cutoffs_
    session.say(f"Model saved to [bold]{_markup(path)}[/bold]")
    session.say(
        f"  trained on {t['n_rows']:,} rows ({t['n_customers']:,} customers at "
        f"{t['n_cutoffs']} cutoffs, {cutoffs.min():%Y-%m-%d} to {cutoffs.max():%Y-%m-%d}); "
        f"{pipeline.label_kind_} churn within {_horizon_text(pipeline.horizon_)}; "
        f"churn rate {t['positive_rate']:.1%}; {t['n_features']} features"
    )
    _print_business(session, pipeline)
    v = pipeline.validation_scores_
    shown = [(name, v.get(key)) for name, key in (("AUC", "auc"),
             ("average precision", "average_precision"), ("Brier", "brier"))]
    shown = [f"{name} {value:.3f}" for name, value in shown
             if isinstance(value, float) and value == value]
    if shown:
        session.say(f"  validation on the latest cutoffs: {', '.join(shown)}")


_SCORE_EPILOG = """\
[bold]Example[/bold] (nightly)

  churnpredict score data/ --model models/churn \\
      --as-of 2024-12-31 --out at_risk.csv --top 500

Columns: rank, customer_id, churn_probability, risk_tier, mrr,
revenue_at_risk, reason_1..3, reason_group_1..3, suggested_action,
status (active / lapsed / new; purchase data has expected_spend in
place of mrr; --status lapsed writes the win-back list only)
(+ group with --holdout 0.2 --seed 11: treatment / control, drawn
within each risk tier). drift.json next to the list compares the
population with training; a short warning names the features past
the PSI thresholds (exit code stays 0). The file is written
atomically; on bad input nothing is written and the exit code is 2.
"""


@app.command(epilog=_SCORE_EPILOG)
def score(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[str, typer.Option("--as-of", help="Score the customers active at this "
                                       "date (YYYY-MM-DD).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .csv, .parquet or "
                                      ".xlsx.", show_default=False)],
    top: Annotated[int | None, typer.Option(help="Keep the first N of the ranked list.")] = None,
    min_probability: Annotated[float | None, typer.Option(
        "--min-probability", help="Keep customers with at least this churn probability.")] = None,
    rank_by: Annotated[str | None, typer.Option(
        "--rank-by", help="probability (default) or revenue (revenue at risk).")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="Keep customers of this status: active (the retention list), lapsed "
        "(no activity in the lookback: the win-back list), new, or all (default).")] = None,
    business: BusinessOpt = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    scheduler: SchedulerOpt = None,
    npartitions: PartitionsOpt = None,
    ranked_out: Annotated[Path | None, typer.Option(
        "--ranked-out", help="With --scheduler: also write the whole ranked list as "
        "partitioned Parquet to this directory.")] = None,
    holdout: Annotated[float | None, typer.Option(
        "--holdout", help="Keep this share of every risk tier out of the campaign as a "
        "control group (column group: treatment / control), e.g. 0.2.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the holdout draw (recorded with the list).")] = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the ranked, explained at-risk list of the customers active at --as-of."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        _check_output(out)  # every destination first: nothing is worked out for nothing
        _check_holdout(holdout, seed)
        if scheduler is not None and holdout is not None:
            raise BadInput("--holdout is not available with --scheduler; score without "
                           "--scheduler to draw a control group")
        if ranked_out is not None:
            if scheduler is None:
                raise BadInput("--ranked-out needs --scheduler (it writes partitioned Parquet)")
            _check_output_dir(ranked_out, "--ranked-out")
        as_of_ts = _parse_date(as_of)
        _check_model_dir(model)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        options = _list_options(settings, top=top, min_probability=min_probability,
                                rank_by=rank_by, status=status)
        pipeline = _load_pipeline(session, model)
        _check_business(pipeline, business)
        _reason_settings(pipeline, settings, config)
        if scheduler is not None:
            if options["status"] != "all":
                raise BadInput("--status needs in-memory scoring; drop --scheduler, or filter "
                               "the written list by its status column")
            from .dask import score_dask

            _quiet_dask_logs(debug)
            with session.step("Scoring on Dask"):
                frame, n_scored = score_dask(
                    pipeline, data, as_of_ts, out, scheduler=scheduler,
                    top=options.get("top"), min_probability=options.get("min_probability"),
                    rank_by=options.get("rank_by") or "probability",
                    tiers=settings.get("tiers"), actions=settings.get("actions"),
                    extra_columns=tuple(options.get("extra_columns", ())), config=settings,
                    ranked_out=ranked_out, npartitions=npartitions)
            with session.shown():
                session.say(f"Scored {n_scored:,} customers; wrote {len(frame):,} rows to "
                            f"[bold]{_markup(out)}[/bold]")
            return
        dataset = _load_data(session, data, settings)
        extra = [c for c in options.get("extra_columns", ()) if c in dataset.customers.columns]
        _check_cells(out, dataset.customers[["customer_id", *extra]], "customers")
        scores, frame = _score_list(pipeline, dataset, as_of_ts, settings, options,
                                    session=session, holdout=holdout, seed=seed, drift=True)
        from .export import write_at_risk

        write_at_risk(frame, out, actions=settings.get("actions"),
                      currency=str(getattr(pipeline, "currency", "") or ""))
        drift_path = _write_drift(session, scores, out)
        with session.shown():
            _say_list_summary(session, scores, frame, out, pipeline.horizon_)
            _say_drift(session, scores, drift_path)


def _reason_settings(pipeline: Any, settings: Mapping[str, Any], config: Path | None) -> None:
    """Apply the config's ``currency`` and ``reason_threshold`` to a loaded pipeline."""
    if "currency" in settings:
        if not isinstance(settings["currency"], str) or len(settings["currency"]) > 5:
            raise ChurnDataError(f"config {config}: currency = {settings['currency']!r}; give a "
                                 f"short symbol such as \"€\" or \"$\"")
        pipeline.currency = settings["currency"]
    if "reason_threshold" in settings:
        value = settings["reason_threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0 <= value < 1:
            raise ChurnDataError(f"config {config}: reason_threshold = {value!r}; give "
                                 f"probability points in [0, 1), e.g. 0.01 for one point")
        pipeline.reason_threshold = float(value)


def _load_pipeline(session: _Session, path: Path) -> Any:
    from .pipeline import ChurnPipeline

    _check_model_dir(path)
    with session.step(f"Loading model {path}"):
        return ChurnPipeline.load(path)


def _status_counts(frame: Any) -> str:
    """'700 active, 200 lapsed, 100 new' (statuses in a fixed order, zeros included)."""
    from .export import STATUSES

    counts = frame["status"].value_counts()
    return ", ".join(f"{int(counts.get(s, 0)):,} {s}" for s in STATUSES)


def _print_list_summary(session: _Session, scores: Any, frame: Any, out: Path,
                        horizon: Any) -> None:
    with session.shown():
        _say_list_summary(session, scores, frame, out, horizon)


def _say_list_summary(session: _Session, scores: Any, frame: Any, out: Path,
                      horizon: Any) -> None:
    total = float(frame["revenue_at_risk"].sum(min_count=1)) if len(frame) else float("nan")
    expected = float(scores["churn_probability"].sum())
    if "status" in scores.columns and "status" in frame.columns:
        session.say(f"Scored {len(scores):,} customers ({_status_counts(scores)}); wrote "
                    f"{len(frame):,} rows to [bold]{_markup(out)}[/bold] "
                    f"({_status_counts(frame)})")
    else:
        session.say(f"Scored {len(scores):,} customers; wrote {len(frame):,} rows to "
                    f"[bold]{_markup(out)}[/bold]")
    if "group" in frame.columns:
        n_control = int((frame["group"] == "control").sum())
        session.say(f"Holdout: {n_control:,} control and {len(frame) - n_control:,} treated "
                    f"customers (share {frame.attrs.get('holdout_share', 0):.0%} per risk "
                    f"tier, seed {frame.attrs.get('holdout_seed')}); contact the treated only")
    session.say(f"Expected to churn within {_horizon_text(horizon)}: {expected:,.0f} customers; "
                f"revenue at risk in the list: {_fmt_money(total)}")
    if len(frame):
        session.say(_at_risk_table(frame, 10))


_EVALUATE_EPILOG = """\
[bold]Example[/bold]

  churnpredict evaluate data/ --model models/churn \\
      --as-of 2024-11-01 --report report/

Scores the customers active at --as-of and compares with what
happened in the next horizon (the data must reach that far).
Prints AUC, average precision, top-decile lift and Brier score;
--report writes report/report.html with its plots.
"""


@app.command(epilog=_EVALUATE_EPILOG)
def evaluate(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff to evaluate (YYYY-MM-DD); the "
                                       "data must cover one horizon after it.",
                                       show_default=False)],
    report: Annotated[Path | None, typer.Option(
        "--report", "-r", help="Also write an HTML report with plots to this directory.")] = None,
    business: BusinessOpt = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Measure how well a saved model ranks the churners after --as-of."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        if report is not None:
            _check_output_dir(report, "--report")
        as_of_ts = _parse_date(as_of)
        _check_model_dir(model)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        pipeline = _load_pipeline(session, model)
        _check_business(pipeline, business)
        dataset = _load_data(session, data, settings)
        with session.step(f"Evaluating at {as_of_ts:%Y-%m-%d}"):
            evaluation = _evaluate(pipeline, dataset, as_of_ts, explain=report is not None)
        from .evaluate import base_rate_check

        check = base_rate_check(evaluation.scores["churned"],
                                evaluation.scores["churn_probability"])
        with session.shown():
            session.say(f"Customers active on {as_of_ts:%Y-%m-%d}, churn within "
                        f"{_horizon_text(pipeline.horizon_)}:")
            session.say(_metrics_table(evaluation))
            session.say(f"Base rate: {_markup(check['message'])}")
        if report is not None:
            from .report import write_report

            options = dict(settings.get("report", {}))
            with session.step("Writing report"):
                page = write_report(pipeline, dataset, as_of_ts, report,
                                    scores=evaluation.scores, evaluation=evaluation,
                                    actions=settings.get("actions"),
                                    tiers=settings.get("tiers"), **options)
            with session.shown():
                session.say(f"Report: [bold]{_markup(page)}[/bold]")


def _horizon_text(horizon: Any) -> str:
    import pandas as pd

    h = pd.Timedelta(horizon)
    return f"{h.days} days" if h == pd.Timedelta(days=h.days) else str(h)


def _evaluate(pipeline: Any, data: Any, as_of: Any, *, explain: bool = False) -> Any:
    from .report import evaluate_at

    return evaluate_at(pipeline, data, as_of, explain=explain)


_METRICS_EPILOG = """\
[bold]Example[/bold]

  churnpredict metrics data/ --period month --segment plan

Churn rate, retention, MRR churn and net revenue churn per
period, split into voluntary / involuntary churn when known.
"""


@app.command(epilog=_METRICS_EPILOG)
def metrics(
    ctx: typer.Context,
    data: DataArg,
    period: Annotated[str, typer.Option(
        help="day, week, month, quarter, year, or a pandas frequency (MS, W-MON...).")] = "month",
    segment: Annotated[str | None, typer.Option(
        help="Split by this customers column, e.g. plan.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write the table to .csv, .parquet or .xlsx.")] = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Print business churn metrics per period: churn rate, retention, revenue churn."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        freq = _parse_period(period)
        if out is not None:
            _check_output(out)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        dataset = _load_data(session, data, settings)
        if segment is not None and segment not in dataset.customers.columns:
            raise BadInput(
                f"--segment {segment!r}: customers has no such column; it has "
                f"{list(dataset.customers.columns)[:20]}"
            )
        if out is not None and segment is not None:
            _check_cells(out, dataset.customers[[segment]], "customers")
        from .metrics import churn_metrics

        with session.step("Computing metrics"):
            table = churn_metrics(dataset, period=freq, segment=segment)
        if out is not None:
            from .io import write_frame

            write_frame(table.reset_index(), out)
        with session.shown():
            session.say(_metrics_frame_table(table, f"Churn metrics per {period}"))
            if out is not None:
                session.say(f"Wrote [bold]{_markup(out)}[/bold]")


_CAMPAIGN_EPILOG = """\
[bold]Example[/bold] (four weeks after a list scored with a holdout)

  churnpredict score data/ --model models/churn --as-of 2024-11-30 \\
      --out lists/2024-11-30.csv --holdout 0.2 --seed 11
  churnpredict campaign lists/2024-11-30.csv data/ --as-of 2024-12-31 \\
      --out readouts/2024-11-30

Compares churn of the treated and control customers within the
list's horizon: writes campaign.json and campaign.html (plots next
to it). An --as-of before the horizon has ended is exit 2.
"""


@app.command(epilog=_CAMPAIGN_EPILOG)
def campaign(
    ctx: typer.Context,
    list_path: Annotated[Path, typer.Argument(
        metavar="LIST", help="An at-risk list scored with --holdout (.csv with its "
        ".manifest.json, .parquet or .xlsx).", show_default=False)],
    data: DataArg,
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the readout (YYYY-MM-DD), on "
                                       "or after the end of the list's horizon.",
                                       show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for campaign.json, "
                                      "campaign.html and its plots.", show_default=False)],
    horizon: Annotated[str | None, typer.Option(
        help="The list's horizon, for a list that does not record it, e.g. 28D.")] = None,
    list_as_of: Annotated[str | None, typer.Option(
        "--list-as-of", help="The list's as-of date, for a list that does not record it.")
    ] = None,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Read out a campaign: churn of treated vs control customers of a past list."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        _check_output_dir(out, "--out")
        as_of_ts = _parse_date(as_of)
        start = _parse_date(list_as_of, "--list-as-of")
        if horizon is not None:
            _parse_duration(horizon, "--horizon")
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        from .campaign import campaign_readout, read_list, write_campaign

        frame = read_list(list_path)
        dataset = _load_data(session, data, settings)
        with session.step("Reading out the campaign"):
            readout = campaign_readout(frame, dataset, as_of_ts, horizon=horizon,
                                       list_as_of=start)
            page = write_campaign(readout, out)
        with session.shown():
            _say_campaign(session, readout, page)


def _say_campaign(session: _Session, readout: Mapping[str, Any], page: Path) -> None:
    from rich.table import Table

    def pct(value: Any, signed: bool = False) -> str:
        return "n/a" if value is None else (f"{value:+.1%}" if signed else f"{value:.1%}")

    session.say(f"Campaign on the list of {_markup(readout['list_as_of'][:10])}, churn within "
                f"{_markup(readout['horizon'])}: retention lift "
                f"[bold]{pct(readout['retention_lift'], True)}[/bold] "
                f"({readout['level']:.0%} interval {pct(readout['ci_low'], True)} to "
                f"{pct(readout['ci_high'], True)}); customers saved "
                f"{readout['customers_saved']:,.1f}; revenue saved "
                f"{_fmt_money(readout['revenue_saved'])}")
    table = Table()
    for name in ("segment", "treated", "control", "churn treated", "churn control", "lift",
                 "interval"):
        table.add_column(name, justify="left" if name == "segment" else "right")
    rows = [("all", readout)] + list(readout.get("tiers", {}).items())
    for name, r in rows:
        table.add_row(_cell(name), f"{r['n_treatment']:,}", f"{r['n_control']:,}",
                      pct(r["churn_rate_treatment"]), pct(r["churn_rate_control"]),
                      pct(r["retention_lift"], True),
                      f"{pct(r['ci_low'], True)} to {pct(r['ci_high'], True)}")
    session.say(table)
    if readout.get("n_unmatched"):
        session.notes.append(f"{readout['n_unmatched']:,} listed customers are not in the "
                             f"data's population at the list's as-of; left out")
    session.say(f"Readout: [bold]{_markup(page)}[/bold] and "
                f"[bold]{_markup(page.with_name('campaign.json'))}[/bold]")


_RECALIBRATE_EPILOG = """\
[bold]Example[/bold] (churn ran lower this season than the model expects)

  churnpredict recalibrate data/ --model models/churn --as-of 2024-12-31

Refits only the map from the model's score to a probability on the
latest cutoffs whose horizon has ended by --as-of; the trees, hence
the ranking, are unchanged. Saved as a new version of the bundle
with a new model id.
"""


@app.command(epilog=_RECALIBRATE_EPILOG)
def recalibrate(
    ctx: typer.Context,
    data: DataArg,
    model: ModelOpt,
    as_of: Annotated[str, typer.Option("--as-of", help="What is known (YYYY-MM-DD); the "
                                       "latest complete cutoff is one horizon before.",
                                       show_default=False)],
    cutoffs: Annotated[int, typer.Option(
        "--cutoffs", help="How many of the latest complete cutoffs to fit on.")] = 3,
    config: ConfigOpt = None,
    date_format: DateFormatOpt = None,
    dayfirst: DayfirstOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Refit the calibration map of a saved model on recent outcomes (trees unchanged)."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        as_of_ts = _parse_date(as_of)
        if cutoffs < 1:
            raise BadInput(f"--cutoffs {cutoffs!r}; must be a whole number of at least 1")
        _check_model_dir(model)
        _check_bundle_destination(model)
        settings = load_settings(config, date_format=date_format, dayfirst=dayfirst)
        pipeline = _load_pipeline(session, model)
        dataset = _load_data(session, data, settings)
        old_id = pipeline.model_id_
        with session.step(f"Recalibrating on cutoffs up to {as_of_ts:%Y-%m-%d}"):
            pipeline.recalibrate(dataset, as_of_ts, n_cutoffs=cutoffs)
        with session.step(f"Saving to {model}"):
            pipeline.save(model)
        info = pipeline.recalibration_
        with session.shown():
            session.say(f"Recalibrated on {info['n_rows']:,} rows at {len(info['cutoffs'])} "
                        f"cutoff(s) up to {info['cutoffs'][-1][:10]}: observed churn "
                        f"{info['observed_rate']:.1%}; mean probability "
                        f"{info['mean_probability_before']:.1%} before, "
                        f"{info['mean_probability_after']:.1%} after")
            session.say(f"Model {_markup(old_id)} -> {_markup(pipeline.model_id_)} saved to "
                        f"[bold]{_markup(model)}[/bold] (ranking unchanged)")


_DEMO_EPILOG = """\
[bold]Example[/bold]

  churnpredict demo --out churnpredict-demo

Trains on the bundled sample, checks the model on the last
complete horizon, scores every active customer at the end of
the sample, and writes at_risk.csv, report/report.html and
model/ under --out.
"""


@app.command(epilog=_DEMO_EPILOG)
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the list, report and "
                                      "model.")] = Path("churnpredict-demo"),
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run the whole flow on the bundled sample data: train, evaluate, score, report."""
    session = _session(ctx, quiet, debug)
    with _guard(session):
        _check_output_dir(out, "--out")
        run_demo(out, session=session)


def run_demo(out: str | os.PathLike, *, session: _Session | None = None,
             pipeline: Any = None) -> dict[str, Path]:
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

    from .datasets import SAMPLE_AS_OF, load_sample
    from .export import write_at_risk
    from .pipeline import ChurnPipeline
    from .report import write_report

    session = session or _Session(quiet=True)
    out = _check_output_dir(Path(out), "out")
    with session.step("Loading the sample"):
        data = load_sample()
    session.notes.extend(data.notes)
    if pipeline is None:
        from .model import ChurnModel

        # One thread: a few seconds on the sample, and no slowdown on a busy machine, where
        # XGBoost's threads would otherwise wait on each other.
        pipeline = ChurnPipeline(model=ChurnModel(n_jobs=1))
    horizon = _parse_duration(pipeline.horizon, "horizon")
    end = pd.Timestamp(SAMPLE_AS_OF)
    # The last complete horizon: outcomes must be known, i.e. inside the data.
    train_as_of = (min(end, data.time_range[1]) - horizon).floor("D")
    with session.step(f"Training (labels known by {train_as_of:%Y-%m-%d})") as progress:
        pipeline.fit(data, as_of=train_as_of, progress=progress)
    with session.step(f"Evaluating at {train_as_of:%Y-%m-%d}"):
        evaluation = _evaluate(pipeline, data, train_as_of)
    scores, frame = _score_list(pipeline, data, end, {}, _list_options({}), session=session)
    paths = {"at_risk": out / "at_risk.csv", "report": out / "report", "model": out / "model"}
    write_at_risk(frame, paths["at_risk"])
    with session.step("Writing report"):
        paths["report"] = write_report(pipeline, data, end, paths["report"], scores=scores,
                                       evaluation=evaluation)
    with session.step("Saving model"):
        pipeline.save(paths["model"])
    with session.shown():
        _say_demo_summary(session, pipeline, data, end, train_as_of, horizon, evaluation,
                          scores, frame, paths)
    return paths


def _say_demo_summary(session: _Session, pipeline: Any, data: Any, end: Any, train_as_of: Any,
                      horizon: Any, evaluation: Any, scores: Any, frame: Any,
                      paths: Mapping[str, Path]) -> None:
    first, last = data.time_range
    session.say(f"[bold]churnpredict demo[/bold]: a sample subscription business, "
                f"{len(data.customers):,} customers, {first:%Y-%m-%d} to {end:%Y-%m-%d}")
    _print_business(session, pipeline)
    session.say(f"Check on the last complete horizon: customers active on "
                f"{train_as_of:%Y-%m-%d}, churn within {_horizon_text(horizon)}:")
    session.say(_metrics_table(evaluation))
    _say_list_summary(session, scores, frame, paths["at_risk"], horizon)
    session.say(f"Report: [bold]{_markup(paths['report'])}[/bold]")
    session.say(f"Model:  [bold]{_markup(paths['model'])}[/bold]")
    try:
        from .datasets import sample_path

        folder = sample_path()
    except FileNotFoundError:
        folder = None
    if folder is not None:
        session.say(f"Score it yourself: churnpredict score {_markup(folder)} --model "
                    f"{_markup(paths['model'])} --as-of {end:%Y-%m-%d} --out at_risk.xlsx")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``churnpredict`` console script."""
    logging.getLogger("churnpredict").addHandler(logging.NullHandler())
    app(args=argv, prog_name="churnpredict")


if __name__ == "__main__":  # pragma: no cover
    main()
