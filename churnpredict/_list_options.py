"""The at-risk list's columns and its options as one frozen, checked object.

:class:`ListOptions` is shared by :func:`churnpredict._export.at_risk_list`, the report, the
command line and the Dask list, so every list option is validated here, once.
:mod:`churnpredict._export` re-exports every name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ._actions import check_actions
from ._kinds import STATUSES
from ._params import AnyOf, Constraint, Integer, Options, Real, Satisfies

__all__ = [
    "AT_RISK_COLUMNS",
    "DEFAULT_OPTIONS",
    "N_REASONS",
    "PURCHASE_AT_RISK_COLUMNS",
    "USAGE_AT_RISK_COLUMNS",
    "ListOptionError",
    "ListOptions",
    "checked_tiers",
    "options_or_keywords",
]

#: Reasons listed per customer.
N_REASONS = 3
#: The at-risk list's columns, in order (subscriptions).
AT_RISK_COLUMNS: tuple[str, ...] = (
    "rank",
    "customer_id",
    "churn_probability",
    "risk_tier",
    "mrr",
    "revenue_at_risk",
    *(f"reason_{k}" for k in range(1, N_REASONS + 1)),
    *(f"reason_group_{k}" for k in range(1, N_REASONS + 1)),
    "suggested_action",
    "status",
)
#: The list of purchase data: ``expected_spend`` in place of ``mrr``.
PURCHASE_AT_RISK_COLUMNS: tuple[str, ...] = tuple(
    "expected_spend" if c == "mrr" else c for c in AT_RISK_COLUMNS
)
#: The list of an event log of use with no value per customer: no ``mrr``, no
#: ``revenue_at_risk`` (nothing in the log is money).
USAGE_AT_RISK_COLUMNS: tuple[str, ...] = tuple(
    c for c in AT_RISK_COLUMNS if c not in ("mrr", "revenue_at_risk")
)


class ListOptionError(ValueError):
    """A bad at-risk list option; :attr:`option` names it (``"top"``, ``"rank_by"``...).

    The command line uses :attr:`option` to name the flag to fix.
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.number))


@dataclasses.dataclass(frozen=True)
class ListOptions:
    """How an at-risk list is ranked, cut, tiered and annotated: checked once, then fixed.

    One value object shared by :func:`at_risk_list`, the command line (flags over the
    config's ``[score]`` table), the report and the Dask list, so every option is validated
    in one place. The fields are those of :func:`at_risk_list`, which documents them;
    :meth:`from_config` reads them from a config. Each field has one rule in a table
    (:mod:`churnpredict._params` constraints), checked in field order.

    Parameters
    ----------
    rank_by : {"probability", "revenue"}, default "probability"
    top : int, optional
        A non-negative whole number.
    min_probability : float, optional
        In [0, 1].
    tiers : dict of str -> float, optional
        Tier name -> minimum churn probability in [0, 1]; ``"low"`` at 0 is added when no
        threshold is 0. Stored read-only.
    actions : dict, optional
        Suggested-action overrides: ``{group: action}`` for every status and
        ``{status: {group: action}}`` for one (:func:`churnpredict._actions.check_actions`).
        Stored read-only.
    extra_columns : sequence of str, default ()
        Stored as a tuple (one name may be given as a string).
    status : {"all", "active", "lapsed", "new"} or list of them, default "all"
        Stored as ``"all"`` or a tuple of statuses.
    holdout : float, optional
        Control share, strictly between 0 and 1.
    random_state : int, optional
        Seed of the holdout draw; needs ``holdout``.

    Raises
    ------
    ListOptionError
        A ``ValueError`` naming the option, the bad value and what is expected.

    Examples
    --------
    >>> options = ListOptions(top=100, rank_by="revenue", extra_columns="plan")
    >>> options.extra_columns, options.status
    (('plan',), 'all')
    >>> options.replace(top=10).top
    10
    >>> ListOptions(top=-1)
    Traceback (most recent call last):
    ...
    churnpredict._list_options.ListOptionError: top=-1; expected a non-negative integer or None
    """

    rank_by: str = "probability"
    top: int | None = None
    min_probability: float | None = None
    tiers: Mapping[str, float] | None = None
    actions: Mapping[str, str] | None = None
    extra_columns: tuple[str, ...] = ()
    status: str | tuple[str, ...] = "all"
    holdout: float | None = None
    random_state: int | None = None

    def __post_init__(self) -> None:
        for name, check in _OPTION_CHECKS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        for name, clash, message in _JOINT_CHECKS:
            if clash(self):
                raise ListOptionError(name, message)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> ListOptions:
        """The list options a configuration sets, with some given here instead.

        Reads what the command line reads from a TOML config (:func:`churnpredict.load_config`
        gives it as a dict): the ``[score]`` table (``top``, ``min_probability``, ``rank_by``,
        ``extra_columns``, ``status``), the ``[tiers]`` table (tier name -> minimum churn
        probability) and the ``[actions]`` table (driver group -> action, and
        ``[actions.<status>]`` for one status). The config's other keys are not list
        options and are left alone.

        Parameters
        ----------
        config : mapping
            The whole configuration, e.g. ``load_config("churn.toml")``.
        **overrides
            Options given here win over the config's (as command-line flags do); a value of
            None counts as not given. ``holdout`` and ``random_state`` are given only here.

        Returns
        -------
        ListOptions

        Raises
        ------
        ListOptionError
            For a bad option (naming it), for ``[score]`` that is not a table or holds a key
            that is not a list option (option ``"score"``).
        TypeError
            For an override that is not a list option.

        Examples
        --------
        >>> config = {"score": {"top": 500, "rank_by": "revenue"}, "tiers": {"high": 0.5}}
        >>> options = ListOptions.from_config(config, top=100)
        >>> options.top, options.rank_by, dict(options.tiers)
        (100, 'revenue', {'high': 0.5, 'low': 0.0})
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping (load_config output), got {type(config)}")
        score = config.get("score", {})
        if not isinstance(score, Mapping):
            raise ListOptionError("score", f"[score] = {score!r}; expected a table")
        unknown = sorted(map(str, set(score) - set(_SCORE_KEYS)))
        if unknown:
            raise ListOptionError(
                "score",
                f"unknown key(s) {unknown} in [score]; allowed: {list(_SCORE_KEYS)}",
            )
        given = {
            **dict(score),
            "tiers": config.get("tiers"),
            "actions": config.get("actions"),
            **{name: value for name, value in overrides.items() if value is not None},
        }
        return cls(**given)

    def __hash__(self) -> int:
        return hash(tuple(_frozen(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # the read-only mappings do not pickle; the options are rebuilt (and checked) instead
        return (_rebuild, (self.as_dict(),))

    def replace(self, **changes: Any) -> ListOptions:
        """A copy with some options changed (checked again)."""
        return dataclasses.replace(self, **changes)

    @property
    def statuses(self) -> set[str] | None:
        """The statuses to keep, or None for all."""
        return None if self.status == "all" else set(self.status)

    def as_dict(self) -> dict[str, Any]:
        """The options as keyword arguments of :func:`at_risk_list` (plain dicts)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("tiers", "actions"):
            if out[name] is not None:
                out[name] = {
                    k: dict(v) if isinstance(v, Mapping) else v for k, v in out[name].items()
                }
        return out


# --------------------------------------------------------------------------- the checks
#: The keys of a config's ``[score]`` table (:meth:`ListOptions.from_config`).
_SCORE_KEYS = ("top", "min_probability", "rank_by", "extra_columns", "status")


@dataclasses.dataclass(frozen=True)
class _Check:
    """How one option is checked and stored: ``check(name, value) -> stored value``.

    A value the ``rule`` refuses is a :class:`ListOptionError`, ``"name=value; expected
    <rule.expected>"``; an accepted one is stored as ``store(value)``, which may refuse it too
    (naming the option, in its own words; without a ``rule`` only ``store`` checks).
    """

    rule: Constraint | None
    store: Callable[[Any], Any] | None = None

    def __call__(self, name: str, value: Any) -> Any:
        if self.rule is not None and not self.rule.accepts(value):
            raise ListOptionError(name, f"{name}={value!r}; expected {self.rule.expected}")
        return value if self.store is None else self.store(value)


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` of a value given, None of None."""
    return lambda value: None if value is None else convert(value)


def _read_only_tiers(tiers: Any) -> Mapping[str, float] | None:
    """Checked tiers (:func:`checked_tiers`), stored read-only; None stays None."""
    return None if tiers is None else MappingProxyType(checked_tiers(tiers))


def _read_only_actions(actions: Any) -> Mapping[str, Any] | None:
    """Checked action overrides (:func:`~churnpredict._actions.check_actions`), read-only."""
    if actions is None:
        return None
    try:
        checked = check_actions(actions)
    except ValueError as exc:
        raise ListOptionError("actions", str(exc)) from None
    return MappingProxyType(
        {k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in checked.items()}
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    """One name as a 1-tuple, a sequence of them as a tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


def _column_names(value: Any) -> tuple[str, ...]:
    """Extra column names as a tuple; names of the list's own columns are refused."""
    names = _as_tuple(value)
    clash = [c for c in names if c in AT_RISK_COLUMNS or c in PURCHASE_AT_RISK_COLUMNS]
    if clash:
        raise ListOptionError(
            "extra_columns",
            f"extra_columns {clash} clash with the list's own columns; rename them",
        )
    return names


def _statuses(value: Any) -> str | tuple[str, ...]:
    """``"all"`` (also for None), or the statuses to keep as a tuple."""
    return "all" if value is None or value == "all" else _as_tuple(value)


def _are_statuses(value: Any) -> bool:
    if value is None or (isinstance(value, str) and value == "all"):
        return True
    wanted = _as_tuple(value)
    return bool(wanted) and all(s in STATUSES for s in wanted)


#: One check per option, in the order they are checked; the error names the first bad one.
_OPTION_CHECKS: dict[str, _Check] = {
    "rank_by": _Check(Options("probability", "revenue")),
    "top": _Check(
        AnyOf(Integer(min=0), None, expected="a non-negative integer or None"), _optional(int)
    ),
    "min_probability": _Check(
        AnyOf(Real(min=0.0, max=1.0), None, expected="a probability between 0 and 1, or None"),
        _optional(float),
    ),
    "tiers": _Check(None, _read_only_tiers),
    "actions": _Check(None, _read_only_actions),
    "extra_columns": _Check(
        Satisfies(lambda v: all(isinstance(c, str) for c in _as_tuple(v)), expected="column names"),
        _column_names,
    ),
    "status": _Check(
        Satisfies(_are_statuses, expected=f"'all', one of {list(STATUSES)} or a list of them"),
        _statuses,
    ),
    "holdout": _Check(
        AnyOf(
            Real(min=0.0, max=1.0, closed="neither"),
            None,
            expected="the control share, strictly between 0 and 1 (e.g. 0.2)",
        ),
        _optional(float),
    ),
    "random_state": _Check(
        AnyOf(Integer(min=0), None, expected="a non-negative integer seed"), _optional(int)
    ),
}

#: Rules between options, checked after each option's own: (option named, clash, message).
_JOINT_CHECKS: tuple[tuple[str, Callable[[ListOptions], bool], str], ...] = (
    (
        "random_state",
        lambda o: o.holdout is None and o.random_state is not None,
        "random_state is the seed of the holdout draw; give holdout too",
    ),
    (
        "extra_columns",
        lambda o: o.holdout is not None and "group" in o.extra_columns,
        "extra column 'group' clashes with the holdout's group column; rename it or leave "
        "holdout out",
    ),
)


def _frozen(value: Any) -> Any:
    """A hashable stand-in of an option (read-only mappings as sorted item tuples)."""
    if isinstance(value, Mapping):
        return tuple((k, _frozen(v)) for k, v in value.items())
    return value


#: The options of a list made with every default.
def _rebuild(options: dict[str, Any]) -> ListOptions:
    return ListOptions(**options)


DEFAULT_OPTIONS = ListOptions()


def options_or_keywords(options: ListOptions | None, **keywords: Any) -> ListOptions:
    """``options``, or the keyword options as one :class:`ListOptions`: one or the other.

    The rule of every function that takes the list options both ways (:func:`at_risk_list`,
    the report, the Dask list).

    Parameters
    ----------
    options : ListOptions or None
    **keywords
        Fields of :class:`ListOptions`; None values are left at their defaults.

    Returns
    -------
    ListOptions

    Raises
    ------
    ValueError
        When ``options`` is given and a keyword differs from its default.
    """
    given = ListOptions(**{k: v for k, v in keywords.items() if v is not None})
    if options is None:
        return given
    if given != DEFAULT_OPTIONS:
        raise ValueError(
            "pass the list options either as options=ListOptions(...) or as keywords, not both"
        )
    return options


def checked_tiers(tiers: Any) -> dict[str, float]:
    """Tier thresholds as a dict of str -> float, ``"low": 0.0`` added when no tier is 0."""
    if not isinstance(tiers, Mapping) or not tiers:
        raise ListOptionError(
            "tiers",
            f"tiers={tiers!r}; expected None (quantile tiers) or a dict of tier name -> "
            f"minimum churn probability, e.g. {{'high': 0.5, 'medium': 0.2, 'low': 0.0}}",
        )
    items: dict[str, float] = {}
    for name, threshold in tiers.items():
        if not _is_number(threshold) or not 0.0 <= float(threshold) <= 1.0:
            raise ListOptionError(
                "tiers",
                f"tiers[{name!r}]={threshold!r}; thresholds are minimum churn "
                f"probabilities in [0, 1]",
            )
        items[str(name)] = float(threshold)
    if min(items.values()) > 0.0:
        if "low" in items:
            raise ListOptionError(
                "tiers",
                "tiers: every threshold is above 0 and 'low' is taken; add a tier with "
                "threshold 0.0 for the customers below all others",
            )
        items["low"] = 0.0
    # a customer at 50% gets the last tier (in threshold order) starting at or below it
    at_half = [name for name, t in sorted(items.items(), key=lambda i: i[1]) if t <= 0.5][-1]
    if at_half == "low":
        raise ListOptionError(
            "tiers",
            f"tiers={items!r}: customers at 50% churn probability or more would be 'low'; "
            f"start another tier at 0.5 or below, e.g. {{'high': 0.5, 'low': 0.0}}",
        )
    return items
