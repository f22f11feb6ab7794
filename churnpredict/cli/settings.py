"""The TOML config and the flags over it: settings, data, pipeline and at-risk list options.

:func:`load_settings` reads and checks a config (unknown keys are errors: they are usually
typos); the other functions turn the settings plus the command's flags into what the library
takes: the data (:func:`load_data`), an unfitted ``ChurnPipeline`` (:func:`build_pipeline`)
and one checked :class:`~churnpredict._export.ListOptions` (:func:`list_options`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import ChurnDataError
from .._kinds import ACTIVITY_VALUE_KINDS as VALUE_KINDS
from .._kinds import LABEL_KINDS, PAYMENT_STATUSES
from .._pipeline import CONFIG_PARAMETERS, REASON_CONFIG_KEYS
from .._sources import RAW_EXPORT_KEYS
from .inputs import BUSINESS_KINDS, parse_duration
from .session import BadInput, Session

if TYPE_CHECKING:
    from .._export import ListOptions

__all__ = [
    "CONFIG_KEYS",
    "DATA_KEYS",
    "PIPELINE_KEYS",
    "REASON_KEYS",
    "load_settings",
    "load_data",
    "build_pipeline",
    "apply_reason_settings",
    "list_options",
    "check_holdout",
]

# Keys a TOML config may hold, by what reads them.
DATA_KEYS = (
    "columns",
    "status_map",
    "label_column",
    "positive_label",
    "snapshot_at",
    "unknown_customers",
    "date_format",
    "dayfirst",
    "value_kind",
) + RAW_EXPORT_KEYS  # raw exports (churnpredict inspect writes these)
PIPELINE_KEYS = CONFIG_PARAMETERS  # what ChurnPipeline.from_config reads, with the next two
REASON_KEYS = REASON_CONFIG_KEYS
_OTHER_KEYS = ("windows", "model", "actions", "tiers", "score", "report", "drift")
CONFIG_KEYS = DATA_KEYS + PIPELINE_KEYS + _OTHER_KEYS + REASON_KEYS
_SCORE_KEYS = ("top", "min_probability", "rank_by", "extra_columns", "status")
_REPORT_KEYS = ("contact_cost", "save_rate", "top")
_DRIFT_KEYS = ("notice", "warn")
_PAYMENTS_KEYS = ("default_status",)

# ListOptions field -> the flag that sets it and what the flag takes (the exit-2 line).
# tiers, actions and extra_columns come from the config only.
_LIST_FLAGS = {
    "rank_by": ("--rank-by", "use probability or revenue"),
    "top": ("--top", "must be a whole number of at least 1"),
    "min_probability": ("--min-probability", "must be between 0 and 1"),
    "status": ("--status", "use active, lapsed, new or all"),
    "holdout": ("--holdout", "give the control share, between 0 and 1 (e.g. 0.2)"),
    "random_state": (
        "--seed",
        "the seed of the holdout draw: a whole number >= 0, given with --holdout",
    ),
}


def load_settings(
    config: Path | None,
    *,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    value_kind: str | None = None,
) -> dict[str, Any]:
    """Read and check a TOML config; unknown keys are an error (they are usually typos).

    Parameters
    ----------
    config : path or None
    date_format, dayfirst, value_kind : optional
        ``--date-format`` / ``--dayfirst`` / ``--value-kind`` flags; they override the
        config's keys.

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
    if "date_format" in settings and (
        not isinstance(settings["date_format"], str) or "%" not in settings["date_format"]
    ):
        raise ChurnDataError(
            f"{where}: date_format = {settings['date_format']!r}; give a "
            f'strptime format such as "%d/%m/%Y %H:%M"'
        )
    if "dayfirst" in settings and not isinstance(settings["dayfirst"], bool):
        raise ChurnDataError(f"{where}: dayfirst = {settings['dayfirst']!r}; use true or false")
    if value_kind is not None and value_kind not in VALUE_KINDS:
        raise BadInput(f"--value-kind {value_kind!r}; use amount, duration or count")
    if value_kind is not None:
        settings["value_kind"] = value_kind
    if settings.get("value_kind", "amount") not in VALUE_KINDS:
        raise ChurnDataError(
            f"{where}: value_kind = {settings['value_kind']!r}; use amount (money), duration "
            f"(seconds) or count"
        )
    return settings


def _read_settings(config: Path | None) -> dict[str, Any]:
    """The config's settings, every key and table checked (see :func:`load_settings`)."""
    if config is None:
        return {}
    from .._reading import load_config

    settings = load_config(config)
    unknown = sorted(set(settings) - set(CONFIG_KEYS))
    if unknown:
        raise ChurnDataError(
            f"config {config}: unknown key(s) {unknown}; allowed keys are {list(CONFIG_KEYS)}"
        )
    _check_tables(settings, config)
    _check_report(settings.get("report", {}), config)
    _check_drift(settings.get("drift", {}), config)
    _check_data_keys(settings, config)
    return settings


def _check_tables(settings: Mapping[str, Any], config: Path) -> None:
    """The config's tables are tables, holding only the keys they take."""
    for table, allowed in (
        ("score", _SCORE_KEYS),
        ("report", _REPORT_KEYS),
        ("drift", _DRIFT_KEYS),
        ("payments", _PAYMENTS_KEYS),
    ):
        section = settings.get(table, {})
        if not isinstance(section, Mapping):
            raise ChurnDataError(f"config {config}: [{table}] must be a table")
        bad = sorted(set(section) - set(allowed))
        if bad:
            raise ChurnDataError(
                f"config {config}: unknown key(s) {bad} in [{table}]; allowed: {list(allowed)}"
            )
    for table in ("model", "actions", "tiers", "columns", "status_map", "tables"):
        if table in settings and not isinstance(settings[table], Mapping):
            raise ChurnDataError(f"config {config}: {table} must be a table ([{table}])")


def _number(value: Any) -> bool:
    """A number that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_report(report: Mapping[str, Any], config: Path) -> None:
    """``[report]``: contact_cost >= 0, save_rate a share, top a whole number >= 1."""
    checks = {
        "contact_cost": lambda v: v >= 0,
        "save_rate": lambda v: 0 <= v <= 1,
        "top": lambda v: isinstance(v, int) and v >= 1,
    }
    for key, ok in checks.items():
        value = report.get(key)
        if value is not None and not (_number(value) and ok(value)):
            raise ChurnDataError(
                f"config {config}: [report] {key} = {value!r}; contact_cost is a cost >= 0, "
                f"save_rate a share between 0 and 1, top a whole number >= 1"
            )


def _check_drift(drift: Mapping[str, Any], config: Path) -> None:
    """``[drift]``: PSI thresholds >= 0, notice at most warn."""
    for key in _DRIFT_KEYS:
        value = drift.get(key)
        if value is not None and not (_number(value) and value >= 0):
            raise ChurnDataError(
                f"config {config}: [drift] {key} = {value!r}; a PSI "
                f"threshold >= 0 (defaults: notice 0.1, warn 0.25)"
            )
    if drift.get("notice", 0.1) > drift.get("warn", 0.25):
        raise ChurnDataError(f"config {config}: [drift] notice is above warn; notice <= warn")


def _check_data_keys(settings: Mapping[str, Any], config: Path) -> None:
    """The data keys' values, before any table is read (EventData checks them again)."""
    value = settings.get("unknown_customers", "warn")
    if value not in ("warn", "drop", "error") or not isinstance(value, str):
        raise ChurnDataError(
            f"config {config}: unknown_customers = {value!r}; use warn, drop or error"
        )
    for table, mapping in dict(settings.get("columns", {})).items():
        if not isinstance(mapping, Mapping) or not all(
            isinstance(v, str) for v in mapping.values()
        ):
            raise ChurnDataError(
                f"config {config}: [columns.{table}] must map your column names to canonical "
                f'names as text, e.g. user_id = "customer_id"'
            )
    statuses = dict(settings.get("status_map", {}))
    bad = {k: v for k, v in statuses.items() if v not in PAYMENT_STATUSES}
    if bad:
        raise ChurnDataError(
            f"config {config}: [status_map] maps to {sorted(map(str, bad.values()))[:3]}; "
            f"map your statuses to succeeded, failed or refunded"
        )
    for key in ("label_column", "snapshot_at"):
        if key in settings and not isinstance(settings[key], str):
            raise ChurnDataError(f"config {config}: {key} = {settings[key]!r}; give text")


def load_data(session: Session, data_dir: Path, settings: Mapping[str, Any]) -> Any:
    """Read DATA into an EventData with the data keys of the settings (column mappings...)."""
    from .._data import EventData

    if not data_dir.exists():
        raise BadInput(f"DATA {str(data_dir)!r}: no such directory")
    with session.step(f"Loading {data_dir}"):
        data = EventData.from_directory(
            data_dir, config={k: settings[k] for k in DATA_KEYS if k in settings}
        )
    session.notes.extend(data.notes)
    return data


def build_pipeline(
    settings: Mapping[str, Any],
    *,
    horizon: str | None,
    label: str | None,
    business: str | None = None,
    train_sample: float | None = None,
) -> Any:
    """:meth:`ChurnPipeline.from_config` of the settings, the command's flags over them.

    A bad flag is a :class:`BadInput` naming it; the config's values are checked by the
    pipeline.
    """
    from .._pipeline import ChurnPipeline

    flags: dict[str, Any] = {}
    if horizon is not None:
        parse_duration(horizon, "--horizon")
        flags["horizon"] = horizon
    if label is not None:
        if label not in ("auto", *LABEL_KINDS):
            raise BadInput(f"--label {label!r}; use cancellation or inactivity")
        flags["label"] = label
    if business is not None:
        if business not in BUSINESS_KINDS:
            raise BadInput(f"--business {business!r}; use auto, subscription, purchases or usage")
        flags["business"] = business
    if train_sample is not None:
        flags["train_sample"] = train_sample
    return ChurnPipeline.from_config(settings, **flags)


def apply_reason_settings(pipeline: Any, settings: Mapping[str, Any], config: Path | None) -> None:
    """Apply the config's ``currency`` and ``reason_threshold`` to a loaded pipeline."""
    from .._pipeline import reason_settings

    try:
        pipeline.set_params(**reason_settings(settings))
    except ChurnDataError as exc:
        raise ChurnDataError(f"config {config}: {exc}") from None


def list_options(
    settings: Mapping[str, Any],
    *,
    top: int | None = None,
    min_probability: float | None = None,
    rank_by: str | None = None,
    status: str | None = None,
    holdout: float | None = None,
    seed: int | None = None,
    config: Path | None = None,
) -> ListOptions:
    """The at-risk list options: flags over the config's ``[score]`` table, ``tiers`` and
    ``actions``, checked once as a :class:`~churnpredict._export.ListOptions`.

    A bad option is a :class:`BadInput` naming its flag (``--top``, ``--rank-by``...) or, for
    options only a config sets, the config. The command line also wants ``--top`` of at
    least 1 (an empty list is no campaign).
    """
    score = dict(settings.get("score", {}))
    given = {
        "rank_by": rank_by or score.get("rank_by", "probability"),
        "top": top if top is not None else score.get("top"),
        "min_probability": (
            min_probability if min_probability is not None else score.get("min_probability")
        ),
        "tiers": settings.get("tiers"),
        "actions": settings.get("actions"),
        "extra_columns": score.get("extra_columns", ()),
        "status": status or score.get("status", "all"),
        "holdout": holdout,
        "random_state": seed,
    }
    options = _checked_options(given, config)
    if options.top is not None and options.top < 1:
        flag, takes = _LIST_FLAGS["top"]
        raise BadInput(f"{flag} {given['top']!r}; {takes}")
    return options


def check_holdout(holdout: float | None, seed: int | None) -> None:
    """``--holdout`` / ``--seed`` alone, checked before anything is read."""
    _checked_options({"holdout": holdout, "random_state": seed}, None)


def _checked_options(given: Mapping[str, Any], config: Path | None) -> ListOptions:
    from .._export import ListOptionError, ListOptions

    try:
        return ListOptions(**given)
    except ListOptionError as exc:
        if exc.option in _LIST_FLAGS:
            flag, takes = _LIST_FLAGS[exc.option]
            raise BadInput(f"{flag} {given.get(exc.option)!r}; {takes}") from None
        raise ChurnDataError(f"config {config}: {exc}") from None
