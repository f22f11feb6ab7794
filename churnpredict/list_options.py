"""The at-risk list's columns and its options as one frozen, checked object.

:class:`ListOptions` is shared by :func:`churnpredict.export.at_risk_list`, the report, the
command line and the Dask list, so every list option is validated here, once.
:mod:`churnpredict.export` re-exports every name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from .actions import check_actions
from .kinds import STATUSES

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
    in one place. The fields are those of :func:`at_risk_list`, which documents them.

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
        ``{status: {group: action}}`` for one (:func:`churnpredict.actions.check_actions`).
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
    churnpredict.list_options.ListOptionError: top=-1; expected a non-negative integer or None
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
        def fix(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.rank_by not in ("probability", "revenue"):
            raise ListOptionError(
                "rank_by", f"rank_by={self.rank_by!r}; expected 'probability' or 'revenue'"
            )
        if self.top is not None:
            if (
                isinstance(self.top, bool)
                or not isinstance(self.top, (int, np.integer))
                or self.top < 0
            ):
                raise ListOptionError(
                    "top", f"top={self.top!r}; expected a non-negative integer or None"
                )
            fix("top", int(self.top))
        if self.min_probability is not None:
            if (
                not _is_number(self.min_probability)
                or not 0.0 <= float(self.min_probability) <= 1.0
            ):
                raise ListOptionError(
                    "min_probability",
                    f"min_probability="
                    f"{self.min_probability!r}; expected a probability "
                    f"between 0 and 1, or None",
                )
            fix("min_probability", float(self.min_probability))
        if self.tiers is not None:
            fix("tiers", MappingProxyType(checked_tiers(self.tiers)))
        if self.actions is not None:
            try:
                actions = check_actions(self.actions)
            except ValueError as exc:
                raise ListOptionError("actions", str(exc)) from None
            fix(
                "actions",
                MappingProxyType(
                    {
                        k: MappingProxyType(v) if isinstance(v, dict) else v
                        for k, v in actions.items()
                    }
                ),
            )
        extra = self.extra_columns
        extra = (extra,) if isinstance(extra, str) else tuple(extra)
        if not all(isinstance(c, str) for c in extra):
            raise ListOptionError(
                "extra_columns", f"extra_columns={self.extra_columns!r}; expected column names"
            )
        clash = [c for c in extra if c in AT_RISK_COLUMNS or c in PURCHASE_AT_RISK_COLUMNS]
        if clash:
            raise ListOptionError(
                "extra_columns",
                f"extra_columns {clash} clash with the list's own columns; rename them",
            )
        fix("extra_columns", extra)
        status = self.status
        if status is None or (isinstance(status, str) and status == "all"):
            fix("status", "all")
        else:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            if not wanted or any(s not in STATUSES for s in wanted):
                raise ListOptionError(
                    "status",
                    f"status={status!r}; expected 'all', one of {list(STATUSES)} or a list of them",
                )
            fix("status", wanted)
        if self.holdout is None:
            if self.random_state is not None:
                raise ListOptionError(
                    "random_state", "random_state is the seed of the holdout draw; give holdout too"
                )
        else:
            if not _is_number(self.holdout) or not 0.0 < float(self.holdout) < 1.0:
                raise ListOptionError(
                    "holdout",
                    f"holdout={self.holdout!r}; expected the "
                    f"control share, strictly between 0 and 1 "
                    f"(e.g. 0.2)",
                )
            fix("holdout", float(self.holdout))
            if "group" in extra:
                raise ListOptionError(
                    "extra_columns",
                    "extra column 'group' clashes with the "
                    "holdout's group column; rename it or "
                    "leave holdout out",
                )
        if self.random_state is not None:
            if (
                isinstance(self.random_state, bool)
                or not isinstance(self.random_state, (int, np.integer))
                or self.random_state < 0
            ):
                raise ListOptionError(
                    "random_state",
                    f"random_state={self.random_state!r}; expected a non-negative integer seed",
                )
            fix("random_state", int(self.random_state))

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
