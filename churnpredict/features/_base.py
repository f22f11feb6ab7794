"""The feature-builder interface shared by every family, and the rows they are built for."""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._data import EventData
from .._eventindex import EventIndex
from .._jsonstate import JSONStateMixin
from .._labels import population
from .._params import ParameterChecksMixin
from .._windows import horizon_text, parse_window, window_label, window_text

__all__ = [
    "DRIVER_GROUPS",
    "GROUP_ROLES",
    "ROLES",
    "INFO_FIELDS",
    "FeatureBuilder",
    "FeatureInfo",
    "VALUE_KINDS",
    "duration_text",
    "format_value",
    "plural",
    "FeatureRows",
    "as_rows",
    "not_observed",
    "parse_window",
    "recorded_since",
    "window_label",
    "window_text",
    "horizon_text",
]

DRIVER_GROUPS = ("engagement", "support", "payments", "monetary", "tenure", "profile")

#: What a feature is to a churn story (:attr:`FeatureInfo.role`): ``cause`` (something that
#: changed and that a person can act on: failed payments, tickets, a price change, an
#: onboarding that never took), ``symptom`` (the activity decline causes act through) or
#: ``context`` (neither: amounts paid, static attributes).
ROLES = ("cause", "symptom", "context")
#: The role of a feature that declares none, by its driver group. Tenure is a cause only for
#: customers younger than a feature's window (an onboarding that never took; see
#: :func:`churnpredict._explain.explain`).
GROUP_ROLES: dict[str, str] = {
    "engagement": "symptom",
    "support": "cause",
    "payments": "cause",
    "monetary": "context",
    "tenure": "cause",
    "profile": "context",
}


#: How :class:`FeatureInfo` renders ``{value}`` in its templates (see :func:`format_value`).
VALUE_KINDS = (
    "number",
    "count",
    "rate",
    "money",
    "share",
    "days",
    "seconds",
    "change",
    "money_change",
    "share_change",
    "flag",
    "category",
    "rank",
)
#: Kinds whose value is a change: a change that rounds to zero is never stated as a reason.
CHANGE_KINDS = ("change", "money_change", "share_change")


def plural(noun: str, n: float | None = None) -> str:
    """``noun`` in the plural unless the count ``n`` is exactly 1.

    ``noun`` may give its plural after a bar (``"person|people"``); otherwise English rules
    apply to the last word (``ticket -> tickets``, ``reply -> replies``, ``box -> boxes``).

    Examples
    --------
    >>> plural("failed payment", 1), plural("failed payment", 2), plural("reply", 0)
    ('failed payment', 'failed payments', 'replies')
    """
    one, _, many = noun.partition("|")
    if n is not None and n == 1:
        return one
    if many:
        return many
    if one.endswith(("s", "x", "z", "ch", "sh")):
        return one + "es"
    if one.endswith("y") and len(one) > 1 and one[-2] not in "aeiou":
        return one[:-1] + "ies"
    return one + "s"


def _number(value: float, decimals: int = 1) -> str:
    """``1234567.8 -> '1,234,568'``, ``2.25 -> '2.3'``, ``2.0 -> '2'``: digits people read."""
    if abs(value) >= 10_000 or float(value).is_integer():
        return f"{value:,.0f}"
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _amount_text(value: float) -> str:
    """An amount >= 0: whole units from 100 on, else cents unless whole ('1,234', '49.90')."""
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:,.2f}"


def _count_text(value: float) -> str:
    return f"{round(value):,d}" if abs(value - round(value)) < 0.05 else _number(value)


def duration_text(days: float) -> str:
    """A duration in days as people say it: '5 days', '3 weeks', '2 months', '3 years'.

    Examples
    --------
    >>> duration_text(1), duration_text(21), duration_text(62), duration_text(800)
    ('1 day', '3 weeks', '2 months', '2 years')
    """
    days = float(days)
    if abs(days) < 1:
        return "less than a day"
    for limit, size, unit in (
        (14, 1, "day"),
        (60, 7, "week"),
        (730, 30.44, "month"),
        (math.inf, 365.25, "year"),
    ):
        if abs(days) < limit:
            n = int(round(abs(days) / size))
            return f"{n:,d} {plural(unit, n)}"
    raise AssertionError  # pragma: no cover


def format_value(
    value: Any, kind: str = "number", noun: str | None = None, currency: str = ""
) -> str:
    """The text that replaces ``{value}`` in a description, by the feature's ``kind``.

    Parameters
    ----------
    value : number or str
    kind : str, default "number"
        One of :data:`VALUE_KINDS`: ``count`` ("3 failed payments", pluralised ``noun``),
        ``rate`` ("0.4 tickets"), ``money`` ("€1,234", "€49.90"), ``share`` and ``rank``
        ("45%"; a rank is a share of customers), ``days`` (a duration, "3 weeks"),
        ``seconds`` (time of use: "45 minutes", "3.2 hours"), ``change`` / ``money_change`` /
        ``share_change`` (signed, "+3 events", "-€20", "+25%"), ``number`` ("1,234.5"),
        ``flag`` and ``category`` (the value as text, underscores read as spaces).
    noun : str, optional
        Count noun for ``count``, ``rate`` and ``change`` (singular; see :func:`plural`).
    currency : str, default ""
        Symbol put before amounts (``"€"``, ``"$"``). Without one an amount reads
        ``"amount 1,234"``: a bare number is not money.

    Examples
    --------
    >>> format_value(1, "count", "support ticket"), format_value(1234567.8, "money", None, "€")
    ('1 support ticket', '€1,234,568')
    >>> format_value(49.9, "money"), format_value(-20, "money_change")
    ('amount 49.90', 'amount -20')
    >>> format_value(0.456, "share"), format_value(-3, "change", "event"), format_value(45, "days")
    ('46%', '-3 events', '6 weeks')
    """
    if kind in ("category", "flag") or isinstance(value, str):
        return str(value).replace("_", " ")
    return _VALUE_TEXTS.get(kind, _number_text)(float(value), noun, currency)


def _counted(text: str, noun: str | None) -> str:
    """``text`` followed by ``noun`` in the number it says ("3 failed payments")."""
    return f"{text} {plural(noun, float(text.replace(',', '')))}" if noun else text


def _count_value(value: float, noun: str | None, currency: str) -> str:
    return _counted(_count_text(value), noun)


def _rate_value(value: float, noun: str | None, currency: str) -> str:
    return _counted(_number(value, 2 if abs(value) < 1 else 1), noun)


def _money_value(value: float, noun: str | None, currency: str) -> str:
    text = _amount_text(abs(value))
    sign = "-" if value < 0 and text.strip("0.,") else ""
    return f"{sign}{currency}{text}" if currency else f"amount {sign}{text}"


def _money_change_value(value: float, noun: str | None, currency: str) -> str:
    text = _amount_text(abs(value))
    sign = "+" if value > 0 else "-"
    return f"{sign}{currency}{text}" if currency else f"amount {sign}{text}"


def _rank_value(value: float, noun: str | None, currency: str) -> str:
    # a share of customers: never "100%" of them (the customer is one)
    return f"{min(math.floor(value * 100), 99):.0f}%" if value >= 0 else f"{value:.0%}"


def _seconds_value(value: float, noun: str | None, currency: str) -> str:
    for limit, size, unit in ((90, 1, "second"), (5400, 60, "minute"), (math.inf, 3600, "hour")):
        if abs(value) < limit:
            return _counted(_number(value / size), unit)
    return _number(value)  # NaN


def _change_value(value: float, noun: str | None, currency: str) -> str:
    text = _count_text(abs(value))
    sign = "+" if value > 0 else "-"
    return f"{sign}{_counted(text, noun)}"


def _number_text(value: float, noun: str | None, currency: str) -> str:
    return _number(value)


#: How :func:`format_value` writes a number of each kind: ``text(value, noun, currency)``;
#: any other kind (``number``) as a plain number.
_VALUE_TEXTS: dict[str, Callable[[float, str | None, str], str]] = {
    "count": _count_value,
    "rate": _rate_value,
    "money": _money_value,
    "money_change": _money_change_value,
    "rank": _rank_value,
    "share": lambda value, noun, currency: f"{value:.0%}",
    "days": lambda value, noun, currency: duration_text(value),
    "seconds": _seconds_value,
    "change": _change_value,
    "share_change": lambda value, noun, currency: f"{value:+.0%}",
}


def is_zero_change(value: np.ndarray, kind: str) -> np.ndarray:
    """True where a change-kind value would print as zero (such a change states no risk)."""
    value = np.asarray(value, dtype=np.float64)
    if kind == "share_change":
        return np.abs(value) < 0.005
    if kind == "money_change":
        return np.abs(value) < 0.005
    if kind == "change":
        return np.abs(value) < 0.05
    return np.zeros(value.shape, dtype=bool)


class _Template(string.Formatter):
    """``{value}`` without a spec is rendered by kind; ``{value:.0f}`` etc. format the number."""

    def __init__(self, info: FeatureInfo, currency: str) -> None:
        self.info, self.currency = info, currency

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            return format(value, format_spec)
        return format_value(value, self.info.kind, self.info.noun, self.currency)


#: :class:`FeatureInfo` fields a feature metadata frame holds (besides the feature name).
INFO_FIELDS = (
    "group",
    "description",
    "description_if_zero",
    "description_if_missing",
    "kind",
    "noun",
    "fact",
    "window_days",
    "is_tenure",
    "past_change",
    "past_label",
    "role",
)


@dataclass(frozen=True)
class FeatureInfo:
    """Metadata of one feature column: its driver group and how it reads as a reason.

    Parameters
    ----------
    name : str
        Column name.
    group : str
        Driver group, one of :data:`DRIVER_GROUPS`.
    description : str
        Plain-language template formatted with the customer's value. ``{value}`` without a
        format spec is written by ``kind`` (pluralised count nouns, thousands separators,
        currency, durations in days/weeks/months); ``{value:.0f}`` and other format specs
        format the raw number.
    description_if_zero : str, optional
        Text used instead when the value is 0: lets a 0/1 flag read naturally, e.g.
        ``"latest payment attempt failed"`` / ``"latest payment attempt succeeded"``.
    description_if_missing : str, optional
        Text used when the value is missing (NaN) and that means something, e.g.
        ``"no activity recorded yet"``. When None a missing value is never a reason: it
        describes to ``""``.
    kind : str, default "number"
        How ``{value}`` is written; one of :data:`VALUE_KINDS` (see :func:`format_value`).
        Values of a change kind that round to zero describe to ``""``.
    noun : str, optional
        The count noun (singular) for ``count``, ``rate`` and ``change`` kinds.
    fact : str, optional
        Features with the same fact key state one fact (e.g. every failed-payment feature):
        reasons merge them into one line. Defaults to the feature's name.
    window_days : float, optional
        How far back the feature looks, in days. A customer younger than this has a window
        reaching before signup; reasons then count the contribution as tenure (see
        :func:`churnpredict._explain.explain`).
    is_tenure : bool, default False
        The feature is the customer's tenure (days since signup).
    past_change : str, optional
        Name of a feature holding this value minus the previous period's, so a reason can
        compare the customer with their own past ("3 activity events in the last 30 days,
        down from 14"). ``past_label`` names that period ("the 30 days before").
    past_label : str, optional
    role : {"cause", "symptom", "context"}, optional
        What the feature is to a churn story (:data:`ROLES`); by default its group's role
        (:data:`GROUP_ROLES`). Reasons name a cause before the activity decline it explains
        (see :func:`churnpredict._explain.explain`).

    Examples
    --------
    >>> info = FeatureInfo("in_dunning", "payments", "latest payment attempt failed (in dunning)",
    ...                    "latest payment attempt succeeded")
    >>> info.describe(1.0), info.describe(0.0)
    ('latest payment attempt failed (in dunning)', 'latest payment attempt succeeded')
    >>> FeatureInfo("tickets_30d", "support", "{value} in the last 30 days", kind="count",
    ...             noun="support ticket").describe(1.0)
    '1 support ticket in the last 30 days'
    """

    name: str
    group: str
    description: str
    description_if_zero: str | None = None
    description_if_missing: str | None = None
    kind: str = "number"
    noun: str | None = None
    fact: str | None = None
    window_days: float | None = None
    is_tenure: bool = False
    past_change: str | None = None
    past_label: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        if self.group not in DRIVER_GROUPS:
            raise ValueError(
                f"feature {self.name!r} has group {self.group!r}; expected one of {DRIVER_GROUPS}"
            )
        if self.kind not in VALUE_KINDS:
            raise ValueError(
                f"feature {self.name!r} has kind {self.kind!r}; expected one of {VALUE_KINDS}"
            )
        if self.role is not None and self.role not in ROLES:
            raise ValueError(
                f"feature {self.name!r} has role {self.role!r}; expected one of {ROLES}"
            )

    @property
    def story_role(self) -> str:
        """The declared :attr:`role`, else its driver group's (:data:`GROUP_ROLES`)."""
        return self.role or GROUP_ROLES[self.group]

    @property
    def fact_key(self) -> str:
        """The fact this feature states (``fact``, else its name)."""
        return self.fact or self.name

    def silent(self, values: Any) -> np.ndarray:
        """True where the value makes no reason (meaningless missing value, zero change)."""
        values = pd.Series(values) if not isinstance(values, pd.Series) else values
        missing = values.isna().to_numpy()
        out = missing & (self.description_if_missing is None)
        if self.kind in CHANGE_KINDS:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            out |= ~missing & is_zero_change(numbers, self.kind)
        return out

    def describe(self, value: Any, currency: str = "") -> str:
        """Fill the description template with ``value``; ``""`` when it makes no reason."""
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return self.description_if_missing or ""
        if (
            self.kind in CHANGE_KINDS
            and not isinstance(value, str)
            and bool(is_zero_change(np.asarray([value], dtype=np.float64), self.kind)[0])
        ):
            return ""
        template = self.description
        if self.description_if_zero is not None and not isinstance(value, str) and value == 0:
            template = self.description_if_zero
        try:
            return _Template(self, currency).format(template, value=value)
        except (ValueError, TypeError, KeyError, IndexError):
            return (
                self.name.replace("_", " ") + f" is {format_value(value)}"
                if not isinstance(value, str)
                else f"{self.name.replace('_', ' ')} is {value}"
            )


@dataclass
class FeatureRows:
    """The (customer_id, cutoff) rows features are built for, with their integer codes.

    Attributes
    ----------
    index : pandas.MultiIndex
        Levels ``customer_id`` and ``cutoff``.
    codes : ndarray of int64
        Position of each row's customer in ``data.customers``.
    cutoffs : ndarray of datetime64[ns]
        Each row's cutoff.
    """

    index: pd.MultiIndex
    codes: np.ndarray
    cutoffs: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_index(cls, data: EventData, index: pd.MultiIndex) -> FeatureRows:
        """Build rows from a (customer_id, cutoff) MultiIndex."""
        codes = data.customer_codes(index.get_level_values(0))
        if (codes < 0).any():
            unknown = index.get_level_values(0)[codes < 0].unique()[:5].tolist()
            raise ValueError(f"rows name customers not in data.customers: {unknown}")
        cutoffs = np.asarray(index.get_level_values(1), dtype="datetime64[ns]")
        return cls(index, codes.astype(np.int64), cutoffs)

    def shifted(self, delta: pd.Timedelta) -> np.ndarray:
        """Cutoffs moved back by ``delta``: ``shifted(window)`` is each window's start."""
        return self.cutoffs - np.timedelta64(int(delta.value), "ns")


def as_rows(data: EventData, rows: Any) -> FeatureRows:
    """Accept FeatureRows, a (customer_id, cutoff) MultiIndex/DataFrame, or cutoffs."""
    if isinstance(rows, FeatureRows):
        return rows
    if isinstance(rows, pd.DataFrame):
        rows = rows.index
    if isinstance(rows, pd.MultiIndex):
        return FeatureRows.from_index(data, rows)
    return FeatureRows.from_index(data, population(data, rows).index)


class FeatureBuilder(ParameterChecksMixin, JSONStateMixin, BaseEstimator):
    """Base of every feature family: parameters in ``__init__``, ``fit``, ``build``.

    Subclasses set ``tables`` (the tables they need; the family is skipped when one is absent)
    and fill in hooks; the public methods do the rest (template methods):

    * :meth:`build` checks that the builder is fitted and that the data has its tables, reads
      the rows as :class:`FeatureRows`, and calls ``_build(data, rows)``, which returns a
      DataFrame indexed like ``rows.index`` whose columns are :meth:`get_feature_names_out`;
    * :meth:`feature_info` checks that the builder is fitted and calls ``_feature_info()``;
    * :meth:`fit_parameters` checks the ``_parameter_constraints`` table (see
      :mod:`churnpredict._params`; a bad value raises
      :class:`~churnpredict._exceptions.ChurnParameterError`) and calls
      ``_fit_parameters()`` (what follows from the parameters alone, e.g. parsed windows);
    * :meth:`fit_statistics` checks the parameters and the tables and calls
      ``_fit_statistics(data, rows)``; :meth:`fit_from_statistics` checks the parameters,
      calls ``_fit(stats)`` and sets ``fitted_ = True`` (see "Fitting by parts").

    Builders may learn from the data when fitted (e.g. which event types exist); learned
    attributes end in ``_``. A builder may instead override the public methods themselves
    (``fit``, ``build``, ``feature_info``), as builders written before the hooks do: then it
    does its own checks.

    Model bundles store a builder as JSON with :meth:`get_state` (its ``"module:Class"``
    path, ``get_params()`` and every attribute ending in ``_``) and rebuild it with
    ``FeatureBuilder.from_state(state)``, which imports the class's module and checks that
    the class is a ``FeatureBuilder``. A builder whose fitted state is plain data (numbers,
    text, lists, dicts, numpy arrays, pandas indexes and categoricals, timestamps, durations)
    needs no code for this; one holding other objects overrides both methods.

    Every window is ``[cutoff - window, cutoff)``: events exactly at the cutoff are excluded.

    A builder that computes each row from that row alone (its customer's events, its cutoff
    and the fitted state), at a cost that follows the number of rows, sets ``row_wise =
    True``: :func:`~churnpredict.features.build_features` may then build its rows in blocks,
    on several threads, and join them (the same frame, bit for bit). One whose rows read
    something computed over many customers (ranks among the customers of a cutoff, a model
    fitted per cutoff) leaves it False and is built whole: blocks would repeat that work, or
    change it.

    **Fitting by parts (map-reduce).** :meth:`fit` is three steps, so that the same fit runs
    on one machine and on customer partitions (:mod:`churnpredict.dask`):

    1. :meth:`fit_statistics` ``(data, rows) -> dict``: what the builder learns from, computed
       on one part (the customers of a partition, with their events, and the rows of those
       customers). It also checks the data (needed tables and columns).
    2. :meth:`combine_statistics` ``(parts) -> dict`` (a classmethod): the statistics of the
       whole from those of disjoint parts (sums of counts, unions of sets...).
    3. :meth:`fit_from_statistics` ``(stats) -> self``: validate the parameters and set the
       fitted attributes (those ending in ``_``) from the combined statistics.

    A builder fills in step 1 with ``_fit_statistics`` and step 3 with ``_fit`` (the checks
    and the bookkeeping are the base class's), and overrides ``combine_statistics`` when its
    statistics add up.

    ``fit(data, rows)`` is ``fit_from_statistics(fit_statistics(data, rows))``, so a fit on
    the whole data and a fit on partitions (statistics per partition, combined) give the same
    fitted state when the statistics add up. A builder that learns nothing needs none of
    this. A custom builder that learns from the data overrides the three steps (or their
    hooks) instead of :meth:`fit` to be fitted on Dask; one that overrides only :meth:`fit`
    still works on a single machine, and Dask refuses it with a message saying so. Statistics
    travel from the workers to the client: keep them small (counts per category, not rows).

    Examples
    --------
    A builder that learns which ticket categories exist:

    >>> class TicketCategories(FeatureBuilder):
    ...     tables = ("tickets",)
    ...     def _fit_statistics(self, data, rows):
    ...         return {"seen": set(data.tickets["category"].dropna().astype(str))}
    ...     @classmethod
    ...     def combine_statistics(cls, parts):
    ...         return {"seen": set().union(*(p["seen"] for p in parts))}
    ...     def _fit(self, stats):
    ...         self.categories_ = sorted(stats["seen"])
    >>> parts = [{"seen": {"bug"}}, {"seen": {"billing", "bug"}}]
    >>> TicketCategories().fit_from_statistics(TicketCategories.combine_statistics(parts)
    ...                                        ).categories_
    ['billing', 'bug']
    """

    tables: ClassVar[tuple[str, ...]] = ()
    group: ClassVar[str] = "profile"
    row_wise: ClassVar[bool] = False

    def applies_to(self, data: EventData) -> bool:
        """True when every table the family needs is present."""
        return all(getattr(data, t, None) is not None for t in self.tables)

    def require_tables(self, data: EventData) -> None:
        """Raise :class:`ChurnDataError` naming the first table in ``tables`` that is absent."""
        from .._data import SCHEMA
        from .._exceptions import ChurnDataError

        name = type(self).__name__
        for table in self.tables:
            if getattr(data, table, None) is None:
                raise ChurnDataError(
                    f"{name} needs the {table} table ({', '.join(SCHEMA[table].required)}) but "
                    f"the data has none; add {table}, or leave {name} out of the builders"
                )

    def fit(self, data: EventData, rows: Any = None) -> FeatureBuilder:
        """Learn what the builder needs from ``data``.

        ``fit_from_statistics(fit_statistics(data, rows))``; see the class notes.

        Parameters
        ----------
        data : EventData
        rows : cutoffs, MultiIndex or FeatureRows, optional
            The rows the builder is fitted for (e.g. the training rows).

        Returns
        -------
        self
        """
        return self.fit_from_statistics(self.fit_statistics(data, rows))

    def fit_statistics(self, data: EventData, rows: Any = None) -> dict[str, Any]:
        """What fitting learns from one part of the data (its customers and their rows).

        Checks the parameters (:meth:`fit_parameters`) and the tables
        (:meth:`require_tables`), then returns :meth:`_fit_statistics`.

        Parameters
        ----------
        data : EventData
            The whole data, or one part of it (some customers with all their events).
        rows : cutoffs, MultiIndex or FeatureRows, optional
            The rows of those customers.

        Returns
        -------
        dict
            Small, picklable statistics; empty by default (nothing is learned).
        """
        self.fit_parameters()
        self.require_tables(data)
        return self._fit_statistics(data, None if rows is None else as_rows(data, rows))

    def _fit_statistics(self, data: EventData, rows: FeatureRows | None) -> dict[str, Any]:
        """The statistics of one part, parameters and tables already checked (a hook).

        Parameters
        ----------
        data : EventData
        rows : FeatureRows or None

        Returns
        -------
        dict
            Empty by default.
        """
        return {}

    @classmethod
    def combine_statistics(cls, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The statistics of the whole data from those of its parts (disjoint customers).

        The default accepts parts that agree (such as flags of which optional columns a table
        has, the same in every part) and returns the first; a builder whose statistics add up
        (counts, sets) overrides it.

        Parameters
        ----------
        parts : sequence of dict
            :meth:`fit_statistics` of each part.

        Returns
        -------
        dict
        """
        parts = list(parts)
        if not parts:
            raise ValueError(
                f"{cls.__name__}.combine_statistics needs the statistics of at least one part"
            )
        first = parts[0]
        for other in parts[1:]:
            if other.keys() != first.keys() or any(
                not _same_value(first[k], other[k]) for k in first
            ):
                raise ValueError(
                    f"{cls.__name__}: the parts' statistics differ ({first!r} vs {other!r}); "
                    f"override combine_statistics to say how they add up"
                )
        return dict(first)

    def fit_from_statistics(self, stats: dict[str, Any]) -> FeatureBuilder:
        """Validate the parameters and set the fitted attributes from combined statistics.

        Checks the parameters (:meth:`fit_parameters`), calls :meth:`_fit` and marks the
        builder fitted (``fitted_ = True``).

        Parameters
        ----------
        stats : dict
            :meth:`combine_statistics` of the parts (or :meth:`fit_statistics` of the whole).

        Returns
        -------
        self
        """
        self.fit_parameters()
        self._fit(stats)
        self.fitted_ = True
        return self

    def _fit(self, stats: dict[str, Any]) -> None:
        """Set the fitted attributes learned from the data (a hook; nothing by default).

        Parameters
        ----------
        stats : dict
            The combined statistics; the parameters are already checked.
        """

    def fit_parameters(self) -> None:
        """Check the parameters and set the fitted attributes that follow from them alone.

        Checks the class's ``_parameter_constraints`` table (see :mod:`churnpredict._params`),
        then calls :meth:`_fit_parameters` (e.g. windows parsed into Timedeltas).
        :meth:`fit_statistics` and :meth:`fit_from_statistics` call it, so a family that
        learns nothing from the data only declares its table and overrides
        :meth:`_fit_parameters`.

        Raises
        ------
        ChurnParameterError
            Naming a parameter with a bad value (a ``ValueError``).
        """
        self.check_params()
        self._fit_parameters()

    def _fit_parameters(self) -> None:
        """Set what follows from the parameters alone (a hook; nothing by default)."""

    @classmethod
    def fits_by_parts(cls) -> bool:
        """False when the class overrides :meth:`fit` but not the statistics step.

        Such a builder learns in ``fit`` in a way the partitioned fit cannot repeat.
        """
        own_fit = cls.fit is not FeatureBuilder.fit
        own_stats = (
            cls.fit_statistics is not FeatureBuilder.fit_statistics
            or cls._fit_statistics is not FeatureBuilder._fit_statistics
        )
        return own_stats or not own_fit

    def build(self, data: EventData, rows: Any) -> pd.DataFrame:
        """Features for ``rows``: a DataFrame indexed like ``rows.index``.

        Checks that the builder is fitted and that ``data`` has its :attr:`tables`, reads
        ``rows`` as :class:`FeatureRows` (:func:`as_rows`), then returns :meth:`_build`.

        Parameters
        ----------
        data : EventData
        rows : cutoffs, MultiIndex or FeatureRows

        Returns
        -------
        pandas.DataFrame
            Indexed by ``rows.index``; the columns of :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        self.require_tables(data)
        return self._build(data, as_rows(data, rows))

    def _build(self, data: EventData, rows: FeatureRows) -> pd.DataFrame:  # pragma: no cover
        """The features of ``rows`` from a fitted builder (the hook :meth:`build` calls)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither build nor _build")

    def feature_info(self) -> list[FeatureInfo]:
        """Metadata of every output column, in column order (the builder must be fitted)."""
        check_is_fitted(self)
        return self._feature_info()

    def _feature_info(self) -> list[FeatureInfo]:  # pragma: no cover - abstract
        """The :class:`FeatureInfo` of every column of a fitted builder (a hook)."""
        raise NotImplementedError(
            f"{type(self).__name__} implements neither feature_info nor _feature_info"
        )

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """Names of the output columns."""
        return np.asarray([info.name for info in self.feature_info()], dtype=object)

    # Helpers for subclasses ---------------------------------------------------------------
    @staticmethod
    def event_index(
        data: EventData,
        table: str,
        time_column: str | None = None,
        values: dict[str, np.ndarray] | None = None,
        mask: np.ndarray | None = None,
        key: Any = None,
    ) -> EventIndex:
        """Cached :class:`EventIndex` over ``data.<table>``: :meth:`EventData.event_index`.

        Parameters
        ----------
        data : EventData
        table : str
        time_column : str, optional
            Defaults to the table's sort column.
        values : dict, optional
            Per-row numbers (original row order, full table length) for window sums.
        mask : ndarray of bool, optional
            Keep only these rows (e.g. failed payments).
        key : hashable, optional
            Cache key distinguishing subsets; required with ``mask``.
        """
        return data.event_index(table, time_column, values=values, mask=mask, key=key)


# Helpers shared by the families ------------------------------------------------------


def _same_value(a: Any, b: Any) -> bool:
    """Equality that also holds for numpy arrays and pandas objects."""
    if isinstance(a, (np.ndarray, pd.Series, pd.Index)) or isinstance(
        b, (np.ndarray, pd.Series, pd.Index)
    ):
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _parse_windows(windows: Any, param: str) -> tuple[pd.Timedelta, ...]:
    """Windows as sorted, distinct Timedeltas; raise on an empty or invalid list."""
    if isinstance(windows, (str, int, pd.Timedelta)):
        windows = (windows,)
    parsed = sorted({_positive_window(w, param) for w in windows})
    if not parsed:
        raise ValueError(f"{param}={windows!r} is empty; give at least one window, e.g. (30, 90)")
    return tuple(parsed)


def _positive_window(window: Any, param: str) -> pd.Timedelta:
    """:func:`parse_window`, also refusing zero and negative day counts."""
    out = parse_window(window)
    if out <= pd.Timedelta(0):
        raise ValueError(f"{param}: window {window!r} must be positive, e.g. 30 (days) or '30D'")
    return out


def recorded_since(
    data: EventData, table: str, codes: np.ndarray, cutoffs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, since when ``table`` records the customer, and whether that is after signup.

    A log export starts somewhere (:meth:`EventData.record_start`); for a customer who
    signed up before it, the time between signup and the start is not recorded, not quiet.
    Only a start before the row's cutoff counts (what :meth:`EventData.cut` keeps agrees).

    Parameters
    ----------
    data : EventData
    table : str
    codes : ndarray of int
        Customer position of each row.
    cutoffs : ndarray of datetime64[ns]

    Returns
    -------
    since : ndarray of int64
        Nanoseconds: ``max(signup_at, start)`` (``signup_at`` when the start is not before the
        cutoff or the table has no events). Window rates are taken over ``[since, cutoff)``.
    late : ndarray of bool
        The log starts after signup: a window reaching before ``since`` is not observed
        (its counts are NaN, never zero).
    """
    signup = data.customers["signup_at"].to_numpy(dtype="datetime64[ns]")[codes].view(np.int64)
    cut = np.asarray(cutoffs, dtype="datetime64[ns]").view(np.int64)
    start = data.record_start(table)
    if start is None:
        return signup, np.zeros(len(signup), dtype=bool)
    late = (signup < start.value) & (start.value < cut)
    return np.where(late, start.value, signup), late


def not_observed(
    values: np.ndarray, late: np.ndarray, begin: np.ndarray, since: np.ndarray
) -> np.ndarray:
    """``values`` with NaN where a window beginning at ``begin`` reaches before the record.

    ``late`` and ``since`` come from :func:`recorded_since`; ``begin`` is each row's window
    start in int64 nanoseconds.
    """
    out = np.asarray(values, dtype=np.float64).copy()
    out[late & (begin < since)] = np.nan
    return out


def _minus(cutoffs: np.ndarray, window: pd.Timedelta) -> np.ndarray:
    """``cutoffs - window`` as datetime64[ns] (a window's first instant)."""
    return cutoffs - np.timedelta64(int(window.value), "ns")


class _Columns:
    """Feature columns written straight into one float64 block, the returned frame's memory.

    ``cols[name] = values`` fills a column (cast to float64); ``cols[name]`` reads it back;
    :meth:`frame` wraps the block in a DataFrame without copying it.
    """

    def __init__(self, names: list[str], n_rows: int) -> None:
        self.names = list(names)
        self._row = {name: i for i, name in enumerate(self.names)}
        self._filled: set[str] = set()
        self.block = np.empty((len(self.names), n_rows), dtype=np.float64)

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.block[self._row[name]] = values
        self._filled.add(name)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.block[self._row[name]]

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """The columns as a DataFrame indexed by ``index`` (every column must be filled)."""
        missing = [name for name in self.names if name not in self._filled]
        if missing:  # pragma: no cover - a builder bug, not a data problem
            raise RuntimeError(f"feature columns {missing} were never computed")
        return pd.DataFrame(self.block.T, index=index, columns=self.names, copy=False)
